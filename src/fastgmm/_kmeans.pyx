"""Chunked, parallel k-means kernels for the 'kmeans' and 'k-means++' inits.

Same determinism scheme as ``_em``: fixed chunks grouped into blocks whose
number depends on the problem size only, one double accumulator per block,
blocks reduced in order, so labels and centres do not depend on the thread
count.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free

from ._openmp_helpers cimport omp_get_max_threads

from ._kernels.common cimport floating, pow2_blocks, stripe_first, stripe_stop
from ._kernels.tuning cimport SIMD_NAME, CHUNK_SIZE, KMEANS_BLOCK_BUDGET_BYTES

# The build (see _em.SIMD).
SIMD = SIMD_NAME.decode("ascii")


cdef inline Py_ssize_t _n_blocks(Py_ssize_t n_chunks, Py_ssize_t stride) noexcept nogil:
    return pow2_blocks(n_chunks, 8 * stride, KMEANS_BLOCK_BUDGET_BYTES)


cdef extern from "_kernels/kmeans_tiles.h" nogil:
    # one chunk of the assignment step, added into a block's accumulators
    # (see the header); scratch of fg_km_scratch(d) elements per thread
    Py_ssize_t fg_km_scratch(int d)
    void fg_km_chunk(const double* X, Py_ssize_t C, int d, const double* M, int K,
                     const double* w, double* XT, int* lab, double* blk)
    void fg_km_chunk_f(const float* X, Py_ssize_t C, int d, const float* M, int K,
                       const float* w, float* XT, int* lab, double* blk)


def lloyd_n_blocks(Py_ssize_t n_samples, Py_ssize_t n_features,
                   Py_ssize_t n_clusters):
    """Accumulation blocks of :func:`lloyd_iteration` (problem size only)."""
    return _n_blocks((n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE,
                     1 + n_clusters + n_clusters * n_features)


def min_sq_n_blocks(Py_ssize_t n_samples, Py_ssize_t n_candidates):
    """Accumulation blocks of :func:`min_sq_distances` (problem size only)."""
    return _n_blocks((n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE, n_candidates)


cdef int _lloyd_accumulate(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] centers,      # IN (K, d)
    int* lab,                            # OUT (n,) labels or NULL
    double* acc,                         # IN/OUT (n_blocks, 1 + K + K*d)
    Py_ssize_t n_blocks, Py_ssize_t block_lo, Py_ssize_t block_hi,
    Py_ssize_t chunk_lo, Py_ssize_t chunk_hi, int n_threads,
) except -1:
    """Add a stripe of some blocks (``_kernels/common.pxd``'s ``stripe_first``) to ``acc``.

    Each chunk goes through ``fg_km_chunk`` (``_kernels/kmeans_tiles.h``):
    direct squared distances in the data's precision, register-tiled, the
    nearest centre (first on ties) and the block's sums in row order."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = centers.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = 1 + K + K * d
    cdef Py_ssize_t sstride = fg_km_scratch(<int> d)
    if block_hi <= block_lo or chunk_hi <= chunk_lo:
        return 0
    # no more threads than blocks: idle team members only cost barrier
    # waits (the block layout, hence the result, does not depend on it)
    n_threads = min(n_threads, block_hi - block_lo)
    cdef floating* scratch = <floating*> malloc(n_threads * sstride * sizeof(floating))
    if scratch == NULL:
        raise MemoryError("fastgmm: could not allocate k-means scratch buffers")

    cdef Py_ssize_t b, c, c0, c1, i0, C, tid
    cdef const floating* Xp = &X[0, 0]
    cdef const floating* swp = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef const floating* cp = &centers[0, 0]

    with nogil:
        for b in prange(block_lo, block_hi, schedule='dynamic', num_threads=n_threads):
            tid = threadid()
            c0 = stripe_first(b, n_chunks, n_blocks, chunk_lo)
            c1 = stripe_stop(b, n_chunks, n_blocks, chunk_hi)
            for c in range(c0, c1):
                i0 = c * CHUNK_SIZE
                C = min(i0 + CHUNK_SIZE, n) - i0
                if floating is float:
                    fg_km_chunk_f(Xp + i0 * d, C, <int> d, cp, <int> K,
                                  swp + i0 if swp != NULL else NULL,
                                  scratch + tid * sstride,
                                  lab + i0 if lab != NULL else NULL, acc + b * stride)
                else:
                    fg_km_chunk(Xp + i0 * d, C, <int> d, cp, <int> K,
                                swp + i0 if swp != NULL else NULL,
                                scratch + tid * sstride,
                                lab + i0 if lab != NULL else NULL, acc + b * stride)
    free(scratch)
    return 0


cdef double _lloyd_reduce(const double* acc, Py_ssize_t n_blocks,
                          double[:, ::1] sums, double[::1] weights):
    """Sum the blocks in order; returns the inertia."""
    cdef Py_ssize_t K = sums.shape[0], d = sums.shape[1]
    cdef Py_ssize_t stride = 1 + K + K * d
    cdef Py_ssize_t b, j, k
    cdef const double* blk
    cdef double inertia = 0.0
    sums[:, :] = 0.0
    weights[:] = 0.0
    for b in range(n_blocks):
        blk = acc + b * stride
        inertia += blk[0]
        for k in range(K):
            weights[k] += blk[1 + k]
            for j in range(d):
                sums[k, j] += blk[1 + K + k * d + j]
    return inertia


def _check_lloyd(X, sample_weight, centers, labels):
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if centers.shape[1] != d:
        raise ValueError("centers must match X")
    if sample_weight.shape[0] not in (0, n):
        raise ValueError("sample_weight must be empty or have one entry per row")
    if labels is not None and labels.shape[0] != n:
        raise ValueError("labels must have n_samples entries")


def lloyd_iteration(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] centers,      # IN (K, d)
    double[:, ::1] sums,                 # OUT (K, d) sum of s_i x_i per cluster
    double[::1] weights,                 # OUT (K,) sum of s_i per cluster
    int[::1] labels,                     # OUT (n,) nearest centre, or None
    int n_threads,
):
    """Assign every row to its nearest centre and sum the clusters.

    Returns the inertia ``sum_i s_i ||x_i - c_{label_i}||^2``.  The same, bit
    for bit, as :func:`lloyd_accumulate` over all stripes and
    :func:`lloyd_reduce`.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = centers.shape[0]
    _check_lloyd(X, sample_weight, centers, labels)
    if sums.shape[0] != K or sums.shape[1] != d or weights.shape[0] != K:
        raise ValueError("centers, sums and weights must match X and K")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t n_blocks = lloyd_n_blocks(n, d, K)
    cdef double* acc = <double*> calloc(n_blocks * (1 + K + K * d), sizeof(double))
    if acc == NULL:
        raise MemoryError("fastgmm: could not allocate k-means accumulators")
    try:
        _lloyd_accumulate(X, sample_weight, centers,
                          &labels[0] if labels is not None else NULL,
                          acc, n_blocks, 0, n_blocks, 0, n_chunks, n_threads)
        return _lloyd_reduce(acc, n_blocks, sums, weights)
    finally:
        free(acc)


def lloyd_accumulate(
    const floating[:, ::1] X,            # IN (n, d) the whole data
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] centers,      # IN (K, d)
    double[:, ::1] acc,                  # IN/OUT (lloyd_n_blocks, 1 + K + K*d)
    Py_ssize_t block_lo,
    Py_ssize_t block_hi,
    Py_ssize_t chunk_lo,
    Py_ssize_t chunk_hi,
    int[::1] labels,                     # OUT (n,) or None
    int n_threads,
):
    """One stripe of a :func:`lloyd_iteration` pass (see ``_em.em_accumulate``)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = centers.shape[0]
    _check_lloyd(X, sample_weight, centers, labels)
    cdef Py_ssize_t n_blocks = lloyd_n_blocks(n, d, K)
    if acc.shape[0] != n_blocks or acc.shape[1] != 1 + K + K * d:
        raise ValueError(f"acc must have shape ({n_blocks}, {1 + K + K * d})")
    if block_lo < 0 or block_hi > n_blocks or chunk_lo < 0:
        raise ValueError("block or chunk range out of bounds")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    _lloyd_accumulate(X, sample_weight, centers,
                      &labels[0] if labels is not None else NULL,
                      &acc[0, 0], n_blocks, block_lo, block_hi, chunk_lo, chunk_hi,
                      n_threads)


def lloyd_reduce(
    const double[:, ::1] acc,            # IN (n_blocks, 1 + K + K*d)
    double[:, ::1] sums,                 # OUT (K, d)
    double[::1] weights,                 # OUT (K,)
):
    """Reduce :func:`lloyd_accumulate`'s blocks in order; returns the inertia."""
    cdef Py_ssize_t K = sums.shape[0], d = sums.shape[1]
    if weights.shape[0] != K or acc.shape[1] != 1 + K + K * d:
        raise ValueError("acc, sums and weights do not match")
    return _lloyd_reduce(&acc[0, 0], acc.shape[0], sums, weights)


cdef int _min_sq_accumulate(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] candidates,   # IN (T, d)
    const double* cl,                    # IN (n,) current min squared distances
    double* acc,                         # IN/OUT (n_blocks, T)
    Py_ssize_t n_blocks, Py_ssize_t block_lo, Py_ssize_t block_hi,
    Py_ssize_t chunk_lo, Py_ssize_t chunk_hi, int n_threads,
) except -1 nogil:
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], T = candidates.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t b, c0, c1, i, j, t
    cdef double s, v, wi
    cdef const floating* Xp = &X[0, 0]
    cdef const floating* Cp = &candidates[0, 0]
    cdef const floating* swp = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    if block_hi <= block_lo or chunk_hi <= chunk_lo:
        return 0
    for b in prange(block_lo, block_hi, schedule='dynamic', num_threads=n_threads):
        c0 = stripe_first(b, n_chunks, n_blocks, chunk_lo)
        c1 = stripe_stop(b, n_chunks, n_blocks, chunk_hi)
        for i in range(c0 * CHUNK_SIZE, min(c1 * CHUNK_SIZE, n)):
            wi = swp[i] if swp != NULL else 1.0
            for t in range(T):
                s = 0.0
                for j in range(d):
                    v = <double> Xp[i * d + j] - Cp[t * d + j]
                    s = s + v * v
                acc[b * T + t] += wi * min(s, cl[i])
    return 0


def _check_min_sq(X, sample_weight, candidates, closest):
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if candidates.shape[1] != d or closest.shape[0] != n:
        raise ValueError("candidates, closest and potentials must match X")
    if sample_weight.shape[0] not in (0, n):
        raise ValueError("sample_weight must be empty or have one entry per row")


def min_sq_distances(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] candidates,   # IN (T, d)
    const double[::1] closest,           # IN (n,) current min squared distances
    double[::1] potentials,              # OUT (T,) sum_i s_i min(closest_i, ||x_i - c_t||^2)
    int n_threads,
):
    """k-means++ helper: the potential of adding each candidate centre.

    One pass for all candidates; ``closest`` is only read.  The same, bit for
    bit, as :func:`min_sq_accumulate` over all stripes and :func:`min_sq_reduce`.
    """
    cdef Py_ssize_t n = X.shape[0], T = candidates.shape[0]
    _check_min_sq(X, sample_weight, candidates, closest)
    if potentials.shape[0] != T:
        raise ValueError("candidates, closest and potentials must match X")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t n_blocks = min_sq_n_blocks(n, T)
    # no more threads than blocks: idle team members only cost barrier
    # waits (the block layout, hence the result, does not depend on it)
    n_threads = min(n_threads, n_blocks)
    cdef double* acc = <double*> calloc(n_blocks * T, sizeof(double))
    if acc == NULL:
        raise MemoryError("fastgmm: could not allocate k-means++ buffers")
    with nogil:
        _min_sq_accumulate(X, sample_weight, candidates, &closest[0], acc, n_blocks,
                           0, n_blocks, 0, n_chunks, n_threads)
    _min_sq_reduce(acc, n_blocks, potentials)
    free(acc)


cdef void _min_sq_reduce(const double* acc, Py_ssize_t n_blocks,
                         double[::1] potentials):
    cdef Py_ssize_t b, t, T = potentials.shape[0]
    for t in range(T):
        potentials[t] = 0.0
    for b in range(n_blocks):
        for t in range(T):
            potentials[t] += acc[b * T + t]


def min_sq_accumulate(
    const floating[:, ::1] X,            # IN (n, d) the whole data
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] candidates,   # IN (T, d)
    const double[::1] closest,           # IN (n,)
    double[:, ::1] acc,                  # IN/OUT (min_sq_n_blocks, T)
    Py_ssize_t block_lo,
    Py_ssize_t block_hi,
    Py_ssize_t chunk_lo,
    Py_ssize_t chunk_hi,
    int n_threads,
):
    """One stripe of a :func:`min_sq_distances` pass (see ``_em.em_accumulate``)."""
    cdef Py_ssize_t n = X.shape[0], T = candidates.shape[0]
    _check_min_sq(X, sample_weight, candidates, closest)
    cdef Py_ssize_t n_blocks = min_sq_n_blocks(n, T)
    if acc.shape[0] != n_blocks or acc.shape[1] != T:
        raise ValueError(f"acc must have shape ({n_blocks}, {T})")
    if block_lo < 0 or block_hi > n_blocks or chunk_lo < 0:
        raise ValueError("block or chunk range out of bounds")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    with nogil:
        _min_sq_accumulate(X, sample_weight, candidates, &closest[0], &acc[0, 0],
                           n_blocks, block_lo, block_hi, chunk_lo, chunk_hi, n_threads)


def min_sq_reduce(
    const double[:, ::1] acc,            # IN (n_blocks, T)
    double[::1] potentials,              # OUT (T,)
):
    """Reduce :func:`min_sq_accumulate`'s blocks in order."""
    if acc.shape[1] != potentials.shape[0]:
        raise ValueError("acc and potentials do not match")
    _min_sq_reduce(&acc[0, 0], acc.shape[0], potentials)


def update_min_sq_distances(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] center,          # IN (d,)
    double[::1] closest,                 # IN/OUT (n,) min(closest, ||x - center||^2)
    int n_threads,
):
    """k-means++ helper: fold a newly chosen centre into the distances."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if center.shape[0] != d or closest.shape[0] != n:
        raise ValueError("center and closest must match X")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    # a team only for inputs of several chunks (per-row results either way)
    n_threads = min(n_threads, (n + CHUNK_SIZE - 1) // CHUNK_SIZE)
    cdef Py_ssize_t i, j
    cdef double s, v
    cdef const floating* Xp = &X[0, 0]
    cdef const floating* cp = &center[0]
    cdef double* cl = &closest[0]
    with nogil:
        for i in prange(n, schedule='static', num_threads=n_threads):
            s = 0.0
            for j in range(d):
                v = <double> Xp[i * d + j] - cp[j]
                s = s + v * v
            if s < cl[i]:
                cl[i] = s
