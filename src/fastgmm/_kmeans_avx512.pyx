# The same kernels as _kmeans.pyx, compiled with AVX-512 (see meson.build);
# fastgmm._dispatch picks this build when the CPU has it.
include "_kmeans.pyx"
