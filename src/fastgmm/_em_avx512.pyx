# The same kernels as _em.pyx, compiled with AVX-512 (see meson.build);
# fastgmm._dispatch picks this build when the CPU has it.
include "_em.pyx"
