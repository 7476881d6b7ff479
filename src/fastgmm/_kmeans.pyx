"""Chunked, parallel k-means kernels for the 'kmeans' and 'k-means++' inits.

Same determinism scheme as ``_em``: fixed chunks grouped into blocks whose
number depends on the problem size only, one double accumulator per block,
blocks reduced in order, so labels and centres do not depend on the thread
count.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport INFINITY, fma

from ._openmp_helpers cimport omp_get_max_threads

from ._kernels.common cimport (floating, pow2_blocks, stripe_first, stripe_stop,
                               transpose_chunk)
from ._kernels.blas cimport gemm
from ._kernels.tiles cimport FG_TILE_SHIFT, fg_tile_qdiag
from ._kernels.tuning cimport (SIMD_NAME, HAVE_FMA, CHUNK_SIZE, SMALL_D, ROW_TILE, QDIAG_KB,
                               KMEANS_BLOCK_BUDGET_BYTES)

# The build (see _em.SIMD).
SIMD = SIMD_NAME.decode("ascii")


cdef inline Py_ssize_t _n_blocks(Py_ssize_t n_chunks, Py_ssize_t stride) noexcept nogil:
    return pow2_blocks(n_chunks, 8 * stride, KMEANS_BLOCK_BUDGET_BYTES)


cdef void _sq_distances_chunk(
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* centers,    # IN (K, d)
    const double* c_norms,      # IN (K,) ||c_k||^2
    double* dist,               # OUT (C, K) squared distances
    floating* dots,             # scratch (C, K)
) noexcept nogil:
    """Squared distances of a chunk's rows to every centre, for d > SMALL_D
    (smaller d take ``_nearest_small_chunk``): ||x - c||^2 = ||x||^2 - 2 x.c
    + ||c||^2 with x.c from one product, clipped at 0 against
    cancellation."""
    cdef Py_ssize_t i, j, k
    cdef double xx
    cdef const floating* x
    # dots (C, K) = X @ centers^T
    gemm(False, True, <int> C, <int> K, <int> d, X, <int> d, centers, <int> d,
         dots, <int> K)
    for i in range(C):
        x = X + i * d
        xx = 0.0
        for j in range(d):
            xx += <double> x[j] * x[j]
        for k in range(K):
            dist[i * K + k] = max(0.0, xx - 2.0 * dots[i * K + k] + c_norms[k])


cdef struct NearestScratch:
    # Offsets (in doubles) into one thread's scratch of _nearest_small_chunk.
    Py_ssize_t xt       # (d, CHUNK_SIZE) the chunk feature-major
    Py_ssize_t dk       # (QDIAG_KB, CHUNK_SIZE) squared distances of a group
    Py_ssize_t mn       # (CHUNK_SIZE,) OUT distance to the nearest centre
    Py_ssize_t best     # (CHUNK_SIZE,) OUT its index, as a double
    Py_ssize_t size


cdef inline NearestScratch _nearest_scratch(Py_ssize_t d) noexcept nogil:
    cdef NearestScratch s
    s.xt = 0
    s.dk = s.xt + d * CHUNK_SIZE
    s.mn = s.dk + QDIAG_KB * CHUNK_SIZE
    s.best = s.mn + CHUNK_SIZE
    s.size = s.best + CHUNK_SIZE
    return s


cdef void _nearest_small_chunk(
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* centers,    # IN (K, d)
    double* T,                  # scratch (_nearest_scratch(d)); OUT at .mn and .best
) noexcept nogil:
    """Squared distance to the nearest centre and its index (first on ties),
    for d <= SMALL_D, component-major: x^T once, then per group of
    QDIAG_KB centres ||x_i - c_k||^2 across the rows (register tiles),
    and the running minimum as vector blends."""
    cdef Py_ssize_t i, l, k, k0, nk
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef double ck[SMALL_D * QDIAG_KB]
    cdef double zero[QDIAG_KB]
    cdef double minus2[QDIAG_KB]
    cdef NearestScratch L = _nearest_scratch(d)
    cdef double* XT = T + L.xt
    cdef double* dk = T + L.dk
    cdef double* mn = T + L.mn
    cdef double* best = T + L.best
    transpose_chunk(X, C, Cp, d, XT, CHUNK_SIZE)
    for i in range(Cp):
        mn[i] = INFINITY
        best[i] = 0.0
    for k in range(QDIAG_KB):
        zero[k] = 0.0
        minus2[k] = -2.0
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> QDIAG_KB, K - k0)
        for l in range(nk * d):
            ck[l] = centers[k0 * d + l]
        # dk = 0 - 1/2 q (-2) = q (scalings by powers of two: exact unless q
        # is subnormal)
        fg_tile_qdiag(FG_TILE_SHIFT, <int> nk, XT, CHUNK_SIZE, NULL, ck, Cp, <int> d,
                      zero, minus2, dk, CHUNK_SIZE)
        for k in range(k0, k0 + nk):
            for i in range(Cp):
                best[i] = <double> k if dk[(k - k0) * CHUNK_SIZE + i] < mn[i] else best[i]
                mn[i] = (dk[(k - k0) * CHUNK_SIZE + i] if dk[(k - k0) * CHUNK_SIZE + i] < mn[i]
                         else mn[i])
        k0 += nk


cdef inline double _sq_norm(const floating* c, Py_ssize_t d) noexcept nogil:
    """||c||^2 summed over j in order, in double; in the builds with FMA each
    step is one fused multiply-add (stated here so the compiler's own
    contraction or vectorisation choices cannot change the rounding)."""
    cdef Py_ssize_t j
    cdef double s = 0.0
    for j in range(d):
        if HAVE_FMA:
            s = fma(<double> c[j], <double> c[j], s)
        else:
            s = s + <double> c[j] * c[j]
    return s


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
    """Add a stripe of some blocks (``_kernels/common.pxd``'s ``stripe_first``) to ``acc``."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = centers.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = 1 + K + K * d
    cdef bint small = d <= SMALL_D
    cdef NearestScratch near = _nearest_scratch(d)
    cdef Py_ssize_t dstride = near.size if small else CHUNK_SIZE * K
    if block_hi <= block_lo or chunk_hi <= chunk_lo:
        return 0
    # no more threads than blocks: idle team members only cost barrier
    # waits (the block layout, hence the result, does not depend on it)
    n_threads = min(n_threads, block_hi - block_lo)
    cdef double* dscratch = <double*> malloc(n_threads * dstride * sizeof(double))
    cdef floating* fscratch = <floating*> malloc(n_threads * dstride * sizeof(floating))
    cdef double* c_norms = <double*> malloc(K * sizeof(double))
    if dscratch == NULL or fscratch == NULL or c_norms == NULL:
        free(dscratch)
        free(fscratch)
        free(c_norms)
        raise MemoryError("fastgmm: could not allocate k-means scratch buffers")

    cdef Py_ssize_t b, c, c0, c1, i, j, k, i0, C, tid, best
    cdef double* blk
    cdef double* dist
    cdef double mn, wi
    cdef const floating* Xp = &X[0, 0]
    cdef const floating* swp = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef const floating* cp = &centers[0, 0]
    for k in range(K):
        c_norms[k] = _sq_norm(cp + k * d, d)

    with nogil:
        for b in prange(block_lo, block_hi, schedule='dynamic', num_threads=n_threads):
            tid = threadid()
            dist = dscratch + tid * dstride
            blk = acc + b * stride
            c0 = stripe_first(b, n_chunks, n_blocks, chunk_lo)
            c1 = stripe_stop(b, n_chunks, n_blocks, chunk_hi)
            for c in range(c0, c1):
                i0 = c * CHUNK_SIZE
                C = min(i0 + CHUNK_SIZE, n) - i0
                if small:
                    _nearest_small_chunk(Xp + i0 * d, C, d, K, cp, dist)
                else:
                    _sq_distances_chunk(Xp + i0 * d, C, d, K, cp, c_norms,
                                        dist, fscratch + tid * dstride)
                for i in range(C):
                    if small:
                        mn = dist[near.mn + i]
                        best = <Py_ssize_t> dist[near.best + i]
                    else:
                        best = 0
                        mn = dist[i * K]
                        for k in range(1, K):
                            if dist[i * K + k] < mn:
                                mn = dist[i * K + k]
                                best = k
                    if lab != NULL:
                        lab[i0 + i] = <int> best
                    wi = swp[i0 + i] if swp != NULL else 1.0
                    blk[0] += wi * mn
                    blk[1 + best] += wi
                    for j in range(d):
                        blk[1 + K + best * d + j] += wi * Xp[(i0 + i) * d + j]
    free(dscratch)
    free(fscratch)
    free(c_norms)
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
