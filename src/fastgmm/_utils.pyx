"""Small chunked kernels used by input validation."""

from cython.parallel cimport prange
from libc.math cimport isnan, isinf

from ._kernels.common cimport floating
from ._kernels.tuning cimport SCAN_CHUNK


def finite_status(const floating[:, ::1] X,    # IN (n, d)
                  int n_threads):
    """Return 0 if every value is finite, 1 if some value is NaN, else 2 (inf).

    A chunked parallel scan that allocates nothing (``np.isfinite(X)`` would
    allocate an n_samples x n_features boolean array).
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t n_chunks = (n + SCAN_CHUNK - 1) // SCAN_CHUNK
    cdef Py_ssize_t c, i, j, i1
    cdef int has_nan = 0, has_inf = 0
    cdef floating v
    if n == 0 or d == 0:
        return 0
    with nogil:
        for c in prange(n_chunks, schedule='static',
                        num_threads=max(1, min(n_threads, n_chunks))):
            i1 = min((c + 1) * SCAN_CHUNK, n)
            for i in range(c * SCAN_CHUNK, i1):
                for j in range(d):
                    v = X[i, j]
                    # v - v is 0 for finite v and NaN for NaN and +-inf
                    if v - v != 0:
                        if isnan(v):
                            has_nan |= 1
                        else:
                            has_inf |= 1
    if has_nan:
        return 1
    if has_inf:
        return 2
    return 0


def finite_status_1d(const floating[::1] x):    # IN (n,)
    """As :func:`finite_status` for a vector."""
    cdef Py_ssize_t i
    cdef int status = 0
    for i in range(x.shape[0]):
        if isnan(x[i]):
            return 1
        if isinf(x[i]):
            status = 2
    return status
