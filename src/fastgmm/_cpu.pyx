"""The running CPU's SIMD features, for the choice of kernel build.

Compiled for the portable baseline only (see meson.build), so it can run on
any CPU; the detection itself is in ``_kernels/cpu_features.h``.
"""

cdef extern from "_kernels/cpu_features.h" nogil:
    enum:
        FG_CPU_AVX2
        FG_CPU_FMA3
        FG_CPU_AVX512F
        FG_CPU_AVX512CD
        FG_CPU_AVX512BW
        FG_CPU_AVX512DQ
        FG_CPU_AVX512VL
    int fg_cpu_features()

# Feature names as NumPy spells them in ``numpy.show_runtime()``.
_FEATURES = (("AVX2", FG_CPU_AVX2), ("FMA3", FG_CPU_FMA3),
             ("AVX512F", FG_CPU_AVX512F), ("AVX512CD", FG_CPU_AVX512CD),
             ("AVX512BW", FG_CPU_AVX512BW), ("AVX512DQ", FG_CPU_AVX512DQ),
             ("AVX512VL", FG_CPU_AVX512VL))


def cpu_features():
    """``{name: bool}`` for the x86 features the SIMD builds need (usable:
    the OS saves their registers); all False on other architectures."""
    cdef int f = fg_cpu_features()
    return {name: bool(f & bit) for name, bit in _FEATURES}
