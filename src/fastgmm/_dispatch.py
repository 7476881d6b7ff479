"""Pick the kernel build for this CPU.

Each kernel module is compiled twice: for the portable x86-64 (or other)
baseline and, on x86-64, with AVX2 + FMA.  The AVX2 build is used when the
CPU has both features (as NumPy detects them); ``FASTGMM_DISABLE_AVX2=1``
forces the baseline.  Within one build the results are bitwise identical for
any thread count; the two builds may differ in the last bits (FMA rounding).
"""

import os


def _cpu_has_avx2_fma():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # pragma: no cover - older or future numpy layout
        return False
    return bool(__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3"))


def _load():
    if os.environ.get("FASTGMM_DISABLE_AVX2", "") not in ("", "0") \
            or not _cpu_has_avx2_fma():
        from . import _em, _kmeans

        return _em, _kmeans, "baseline"
    try:
        from . import _em_avx2 as _em, _kmeans_avx2 as _kmeans
    except ImportError:  # not built (non-x86 platform or compiler without AVX2)
        from . import _em, _kmeans

        return _em, _kmeans, "baseline"
    return _em, _kmeans, "avx2"


em, kmeans, variant = _load()
