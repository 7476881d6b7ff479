# The same kernels as _kmeans.pyx, compiled with AVX2 + FMA (see meson.build);
# fastgmm._dispatch picks this build when the CPU has both.
include "_kmeans.pyx"
