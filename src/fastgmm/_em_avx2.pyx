# The same kernels as _em.pyx, compiled with AVX2 + FMA (see meson.build);
# fastgmm._dispatch picks this build when the CPU has both.
include "_em.pyx"
