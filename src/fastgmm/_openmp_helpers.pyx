"""Python access to the OpenMP runtime (or its one-thread fallback)."""
from ._openmp_helpers cimport FASTGMM_HAVE_OPENMP, omp_get_max_threads


def openmp_enabled():
    """Return True when the extension modules were compiled with OpenMP."""
    return bool(FASTGMM_HAVE_OPENMP)


def openmp_max_threads():
    """Threads an OpenMP region would use by default.

    This honours ``OMP_NUM_THREADS`` and limits set through threadpoolctl
    (``threadpool_limits(user_api='openmp')``); it is 1 without OpenMP.
    """
    return omp_get_max_threads()
