"""Fused one-pass EM kernels.

One call of :func:`em_statistics` reads every row of ``X`` once and, per
chunk of rows, computes

* the weighted log-densities ``log w_k + log N(x | mu_k, Sigma_k)`` through
  the Cholesky factor ``P_k`` of the precision (``Sigma_k^-1 = P_k P_k^T``)::

      log N(x | mu_k, Sigma_k) = log|P_k| - d/2 log(2 pi) - 1/2 ||(x - mu_k) P_k||^2

* the log-sum-exp over components (with the row maximum subtracted) and the
  responsibilities ``r_ik = exp(log p_ik - log p_i)``,
* the sufficient statistics of the M-step, ``N_k = sum_i s_i r_ik``,
  ``S1_k = sum_i s_i r_ik x_i`` and second moments centred on the current
  means ``m_k`` (``s_i`` are sample weights)::

      full       S2_k = sum_i s_i r_ik (x_i - m_k)(x_i - m_k)^T
      tied       S2   = sum_i s_i (x_i - c)(x_i - c)^T          (c: one centre)
      diag/sph.  S2_k = sum_i s_i r_ik (x_i - m_k)**2            (elementwise)

so the n_samples x n_components responsibility matrix is never stored.

Determinism: rows are cut into chunks of ``CHUNK_SIZE`` rows, chunks into
``n_blocks`` contiguous blocks whose number depends only on the problem size.
Each block is summed sequentially into its own double accumulator and the
blocks are reduced in block order, so the result is bitwise identical for any
number of threads.

The kernels live in ``_kernels/``: the three E-step paths (component-major
register tiles, row-major loops, row-major BLAS) and the rows with missing
values (:func:`em_missing_statistics`, :func:`predict_missing`;
``estep_missing.pxi``) in their own ``.pxi`` files, included here so that
each build is one extension module and the compiler can inline across
them; the constants in ``_kernels/tuning.h``.
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.math cimport exp, log, sqrt, INFINITY

from ._openmp_helpers cimport omp_get_max_threads

from ._kernels.common cimport (floating, copy_t, pow2_blocks, stripe_first,
                               stripe_stop, transpose_chunk)
from ._kernels.blas cimport gemm, times_upper, gram_lower
from ._kernels.tiles cimport (FG_TILE_SHIFT, FG_TILE_SCALE, fg_tile_q, fg_tile_qdiag,
                              fg_moments, fg_tile_qdiag_masked, fg_scatter_lower,
                              fg_scatter_rows, fg_tile_q_f, fg_tile_qdiag_f, fg_moments_f,
                              fg_scatter_lower_f, fg_scatter_rows_f, fg_exp, fg_expf)
from ._kernels.tuning cimport (SIMD_NAME, HAVE_FMA, CHUNK_SIZE, FEATURE_LD,
                               FEATURE_LD_F, EM_BLOCK_BUDGET_BYTES,
                               EM_BLOCK_BUDGET_FRACTION, EM_MIN_BLOCKS, SMALL_D,
                               WIDE_D, ROW_TILE, GATHER_MIN_FEATURES,
                               GEMM_BLOCK_ELEMS, TRMM_MIN_FEATURES, LANES,
                               BLAS_MIN_FEATURES as _BLAS_MIN_FEATURES, QDIAG_KB,
                               MOMENTS_MAX_SHIFT2, MOMENTS_MAX_SHIFT2_F)

include "_kernels/em_layout.pxi"
include "_kernels/estep_tiles.pxi"
include "_kernels/estep_rows.pxi"
include "_kernels/estep_blas.pxi"
include "_kernels/estep_missing.pxi"

COVARIANCE_TYPES = {"full": COV_FULL, "tied": COV_TIED,
                    "diag": COV_DIAG, "spherical": COV_SPHERICAL}
CHUNK = CHUNK_SIZE
# What this build was compiled for (simd.h): "avx512", "avx2" or "baseline",
# and whether its kernels use fused multiply-adds.
SIMD = SIMD_NAME.decode("ascii")
FMA = bool(HAVE_FMA)
# From this many features on, callers should pass use_blas=True (see
# tuning.h: where this build's own loops stop beating BLAS).
BLAS_MIN_FEATURES = _BLAS_MIN_FEATURES


# --------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------

cdef Py_ssize_t _s2_size(int cov_type, Py_ssize_t K, Py_ssize_t d):
    """Entries of the S2 output: full (K, d, d), tied (d, d), else (K, d)."""
    if cov_type == COV_FULL:
        return K * d * d
    if cov_type == COV_TIED:
        return d * d
    return K * d


cdef Py_ssize_t _s2_packed(int cov_type, Py_ssize_t K, Py_ssize_t d):
    """Entries of S2 in a block accumulator: symmetric matrices keep only
    their packed lower triangles, which halves the accumulators' memory."""
    if cov_type == COV_FULL:
        return K * _tri(d)
    if cov_type == COV_TIED:
        return _tri(d)
    return K * d


def em_stride(Py_ssize_t n_features, Py_ssize_t n_components, int cov_type):
    """Doubles per block accumulator: [loglik, N (K), S1 (K*d), S2 (packed)]."""
    return 1 + n_components + n_components * n_features + _s2_packed(
        cov_type, n_components, n_features)


def n_blocks_for(Py_ssize_t n_samples, Py_ssize_t n_features,
                 Py_ssize_t n_components, int cov_type, Py_ssize_t itemsize):
    """Number of accumulation blocks for a problem of this size.

    See ``_kernels/common.pxd``'s ``pow2_blocks``: a function of the problem only.
    """
    cdef Py_ssize_t n_chunks = (n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = 8 * em_stride(n_features, n_components, cov_type)
    cdef Py_ssize_t budget = max(<Py_ssize_t> EM_BLOCK_BUDGET_BYTES,
                                 n_samples * n_features * itemsize
                                 // EM_BLOCK_BUDGET_FRACTION,
                                 EM_MIN_BLOCKS * stride)
    return pow2_blocks(n_chunks, stride, budget)


cdef int _accumulate(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] means,        # IN (K, d)
    const floating[::1] prec_chol,       # IN flat precision factors
    const double[::1] log_norm,          # IN (K,)
    const floating[::1] center,          # IN (d,)
    int cov_type, bint use_blas, int n_threads, int mode,
    const int* labp,                     # IN (n,) labels (RESP_LABELS) or NULL
    const floating* rp,                  # IN (n, K) resp (RESP_GIVEN) or NULL
    double* acc,                         # IN/OUT (n_blocks, stride) accumulators
    Py_ssize_t n_blocks, Py_ssize_t block_lo, Py_ssize_t block_hi,
    Py_ssize_t chunk_lo, Py_ssize_t chunk_hi,
) except -1:
    """Add the stripe [chunk_lo, chunk_hi) of blocks [block_lo, block_hi)
    to their accumulators (see ``_kernels/common.pxd``'s ``stripe_first``)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = em_stride(d, K, cov_type)
    # per-thread scratch: the component-major layout (_tile_scratch) or the
    # row-major one's double part; the row-major one's part in the data's
    # precision always (given responsibilities take the row-major path)
    cdef int path = _estep_path(cov_type, use_blas, d)
    cdef RowScratch rows = _row_scratch(cov_type, use_blas, K, d, True)
    cdef Py_ssize_t dstride = (_tile_scratch_doubles(K, d) if path == ESTEP_TILES
                               else rows.dsize)
    cdef Py_ssize_t fstride = rows.fsize
    if block_hi <= block_lo or chunk_hi <= chunk_lo:
        return 0
    # no more threads than blocks: idle team members only cost barrier
    # waits (the block layout, hence the result, does not depend on it)
    n_threads = min(n_threads, block_hi - block_lo)
    cdef double* dscratch = <double*> malloc(n_threads * dstride * sizeof(double))
    cdef floating* fscratch = <floating*> malloc(n_threads * fstride * sizeof(floating))
    cdef floating* meansT
    cdef floating* precT
    cdef floating* shifted
    cdef int status = _prepare_params(cov_type, use_blas, K, d, &means[0, 0],
                                      &prec_chol[0], &center[0], &meansT, &precT,
                                      &shifted)
    if dscratch == NULL or fscratch == NULL or status != 0:
        free(dscratch)
        free(fscratch)
        free(meansT)
        free(precT)
        free(shifted)
        raise MemoryError("fastgmm: could not allocate EM scratch buffers")

    cdef const floating* Xp = &X[0, 0]
    cdef const floating* swp = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef const floating* mp = &means[0, 0]
    cdef const floating* pp = &prec_chol[0]
    cdef const floating* cp = &center[0]
    cdef const double* lnp = &log_norm[0]
    cdef Py_ssize_t b, c, c0, c1, i0, i1, C, tid
    cdef double* blk
    cdef double* logp
    cdef floating* F
    cdef floating* R
    cdef floating* D
    cdef floating* tmp
    cdef floating* Y
    cdef const floating* prec_used = pp

    if precT != NULL and cov_type != COV_SPHERICAL:
        prec_used = precT
    # whether the chunks' statistics go through _statistics_blas (whose S1
    # each block then moves back from the centre)
    cdef bint blas_stats = use_blas and not (mode == RESP_ESTEP and path == ESTEP_TILES)

    with nogil:
        for b in prange(block_lo, block_hi, schedule='dynamic', num_threads=n_threads):
            tid = threadid()
            logp = dscratch + tid * dstride
            F = fscratch + tid * fstride
            R = F + rows.r
            D = F + rows.dd
            tmp = F + rows.tmp
            Y = F + rows.y
            blk = acc + b * stride
            c0 = stripe_first(b, n_chunks, n_blocks, chunk_lo)
            c1 = stripe_stop(b, n_chunks, n_blocks, chunk_hi)
            for c in range(c0, c1):
                i0 = c * CHUNK_SIZE
                i1 = min(i0 + CHUNK_SIZE, n)
                C = i1 - i0
                if mode == RESP_ESTEP and path == ESTEP_TILES:
                    # float32 data: float tiles (the scratch holds either)
                    if floating is float:
                        blk[0] += _small_estep(
                            cov_type, Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                            C, d, K, mp, pp, shifted, cp, lnp, <float*> logp, blk + 1,
                            blk + 1 + K, blk + 1 + K + K * d)
                    else:
                        blk[0] += _small_estep(
                            cov_type, Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                            C, d, K, mp, pp, shifted, cp, lnp, logp, blk + 1,
                            blk + 1 + K, blk + 1 + K + K * d)
                    continue
                if mode == RESP_ESTEP:
                    if path == ESTEP_BLAS:
                        _log_prob_blas(Xp + i0 * d, C, d, K, cov_type, mp, meansT,
                                       prec_used, shifted, cp, lnp, logp, D, Y,
                                       logp + rows.q)
                    else:
                        _log_prob_rows(Xp + i0 * d, C, d, K, cov_type, mp, meansT,
                                       prec_used, shifted, cp, lnp, logp, D,
                                       logp + rows.q)
                    blk[0] += _responsibilities_chunk(
                        logp, swp + i0 if swp != NULL else NULL, C, K, R, blk + 1)
                else:
                    _given_responsibilities(
                        mode, labp + i0 if labp != NULL else NULL,
                        rp + i0 * K if rp != NULL else NULL,
                        swp + i0 if swp != NULL else NULL, C, K, R, blk + 1)
                if use_blas:
                    _statistics_blas(Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                                     C, d, K, cov_type, mp, cp, R, blk + 1 + K,
                                     blk + 1 + K + K * d, D, tmp)
                else:
                    _statistics_rows(Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                                     C, d, K, cov_type, mp, cp, R, blk + 1 + K,
                                     blk + 1 + K + K * d, D)
            if blas_stats:
                _uncentre_S1(blk + 1, blk + 1 + K, cp, K, d)
    free(dscratch)
    free(fscratch)
    free(meansT)
    free(precT)
    free(shifted)
    return 0


cdef double _reduce(const double* acc, Py_ssize_t n_blocks, Py_ssize_t K,
                    Py_ssize_t d, int cov_type, double[::1] N, double[:, ::1] S1,
                    double[::1] S2, double* tot) except? -1.0:
    """Sum the block accumulators in block order (fixed, thread-independent)
    into ``tot`` (``em_stride`` doubles; may be ``acc`` itself, whose first
    block then takes the sum), then unpack the scatter matrices' packed
    triangles."""
    cdef Py_ssize_t stride = em_stride(d, K, cov_type)
    cdef Py_ssize_t b, j, k
    if tot != <double*> acc:
        for j in range(stride):
            tot[j] = acc[j]
    for b in range(1, n_blocks):
        for j in range(stride):
            tot[j] += acc[b * stride + j]
    for k in range(K):
        N[k] = tot[1 + k]
        for j in range(d):
            S1[k, j] = tot[1 + K + k * d + j]
    if cov_type == COV_FULL or cov_type == COV_TIED:
        _unpack_symmetric(tot + 1 + K + K * d, S2, K if cov_type == COV_FULL else 1, d)
    else:
        for j in range(_s2_size(cov_type, K, d)):
            S2[j] = tot[1 + K + K * d + j]
    return tot[0]


cdef int _response_mode(Py_ssize_t n, Py_ssize_t K, labels, resp) except -1:
    if labels is not None:
        if labels.shape[0] != n:
            raise ValueError("labels must have one entry per row")
        return RESP_LABELS
    if resp is not None:
        if resp.shape[0] != n or resp.shape[1] != K:
            raise ValueError("resp must have shape (n_samples, n_components)")
        return RESP_GIVEN
    return RESP_ESTEP


def em_statistics(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[::1] sample_weight,   # IN (n,) or (0,) for unit weights
    const floating[:, ::1] means,        # IN (K, d) means; centres of S2
    const floating[::1] prec_chol,       # IN flat: full K*d*d, tied d*d, diag K*d, sph K
    const double[::1] log_norm,          # IN (K,)
    const floating[::1] center,          # IN (d,) tied centre (any (d,) otherwise)
    int cov_type,
    bint use_blas,
    int n_threads,
    double[::1] N,                       # OUT (K,)
    double[:, ::1] S1,                   # OUT (K, d)
    double[::1] S2,                      # OUT flat; full/tied symmetric
    const int[::1] labels=None,          # IN (n,) hard labels (RESP_LABELS)
    const floating[:, ::1] resp=None,    # IN (n, K) responsibilities (RESP_GIVEN)
):
    """One pass over ``X``: responsibilities and sufficient statistics.

    With neither ``labels`` nor ``resp`` the responsibilities come from the
    parameters (E-step); with ``labels`` they are one-hot; with ``resp`` they
    are taken as given (rows should sum to one).  Returns
    ``sum_i s_i log p(x_i)`` (meaningful for the E-step only).

    The same as :func:`em_accumulate` over all stripes followed by
    :func:`em_reduce`, bit for bit.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    cdef int mode = _response_mode(n, K, labels, resp)
    _check_shapes(X, sample_weight, means, prec_chol, log_norm, center,
                  cov_type, N, S1, S2)
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t n_blocks = n_blocks_for(n, d, K, cov_type, sizeof(floating))
    cdef Py_ssize_t stride = em_stride(d, K, cov_type)
    cdef double* acc = <double*> calloc(n_blocks * stride, sizeof(double))
    if acc == NULL:
        raise MemoryError("fastgmm: could not allocate EM accumulators")
    try:
        _accumulate(X, sample_weight, means, prec_chol, log_norm, center, cov_type,
                    use_blas, n_threads, mode,
                    &labels[0] if mode == RESP_LABELS else NULL,
                    &resp[0, 0] if mode == RESP_GIVEN else NULL,
                    acc, n_blocks, 0, n_blocks, 0, n_chunks)
        # summed in place: a second accumulator-sized buffer would raise the
        # pass's peak memory by a block
        return _reduce(acc, n_blocks, K, d, cov_type, N, S1, S2, acc)
    finally:
        free(acc)


def em_accumulate(
    const floating[:, ::1] X,            # IN (n, d) the whole data
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const floating[:, ::1] means,        # IN (K, d)
    const floating[::1] prec_chol,       # IN flat, as em_statistics
    const double[::1] log_norm,          # IN (K,)
    const floating[::1] center,          # IN (d,)
    int cov_type,
    bint use_blas,
    int n_threads,
    double[:, ::1] acc,                  # IN/OUT (n_blocks, em_stride) accumulators
    Py_ssize_t block_lo,
    Py_ssize_t block_hi,
    Py_ssize_t chunk_lo,
    Py_ssize_t chunk_hi,
    const int[::1] labels=None,          # IN (n,) as em_statistics
    const floating[:, ::1] resp=None,    # IN (n, K) as em_statistics
):
    """Part of an :func:`em_statistics` pass: one stripe of some blocks.

    ``em_statistics`` cuts the rows into ``n_blocks_for(...)`` blocks of
    256-row chunks, sums each block into its own accumulator and reduces the
    blocks in order.  This call adds chunks ``[chunk_lo, chunk_hi)`` (counted
    from each block's first chunk) of blocks ``[block_lo, block_hi)`` to
    ``acc`` (zeroed by the caller before the pass).  Once every chunk of
    every block has been added, in increasing stripes, :func:`em_reduce`
    gives exactly what ``em_statistics`` returns: a pass over a memory-mapped
    file can thus touch a bounded window of rows at a time.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    cdef int mode = _response_mode(n, K, labels, resp)
    _check_shapes(X, sample_weight, means, prec_chol, log_norm, center,
                  cov_type, log_norm, means, None)
    cdef Py_ssize_t n_blocks = n_blocks_for(n, d, K, cov_type, sizeof(floating))
    if acc.shape[0] != n_blocks or acc.shape[1] != em_stride(d, K, cov_type):
        raise ValueError(f"acc must have shape ({n_blocks}, "
                         f"{em_stride(d, K, cov_type)})")
    if block_lo < 0 or block_hi > n_blocks or chunk_lo < 0:
        raise ValueError("block or chunk range out of bounds")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    _accumulate(X, sample_weight, means, prec_chol, log_norm, center, cov_type,
                use_blas, n_threads, mode,
                &labels[0] if mode == RESP_LABELS else NULL,
                &resp[0, 0] if mode == RESP_GIVEN else NULL,
                &acc[0, 0], n_blocks, block_lo, block_hi, chunk_lo, chunk_hi)


def em_reduce(
    const double[:, ::1] acc,            # IN (n_blocks, em_stride)
    int cov_type,
    double[::1] N,                       # OUT (K,)
    double[:, ::1] S1,                   # OUT (K, d)
    double[::1] S2,                      # OUT flat
):
    """Reduce :func:`em_accumulate`'s blocks in order; returns the
    log-likelihood sum, as :func:`em_statistics`."""
    cdef Py_ssize_t K = S1.shape[0], d = S1.shape[1]
    if N.shape[0] != K or S2.shape[0] != _s2_size(cov_type, K, d) \
            or acc.shape[1] != em_stride(d, K, cov_type):
        raise ValueError("acc, N, S1 and S2 do not match")
    cdef double* tot = <double*> malloc(acc.shape[1] * sizeof(double))
    if tot == NULL:
        raise MemoryError("fastgmm: could not allocate the EM reduction")
    try:
        return _reduce(&acc[0, 0], acc.shape[0], K, d, cov_type, N, S1, S2, tot)
    finally:
        free(tot)


cdef int _prepare_params(
    int cov_type, bint use_blas, Py_ssize_t K, Py_ssize_t d,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN flat precision Cholesky factors
    const floating* center,     # IN (d,)
    floating** meansT,          # OUT (d, K) for diag/spherical, else NULL
    floating** precT,           # OUT diag: (d, K); full+BLAS: [P_1 .. P_K] (d, K*d)
    floating** shifted,         # OUT (K, d) (mu_k - c) P_k for tied and full+BLAS
) noexcept nogil:
    """Kernel-friendly layouts of the parameters; returns -1 if out of memory.

    The caller frees the three buffers (NULL where unused).
    """
    cdef Py_ssize_t j, k, l
    cdef floating s
    cdef bint full_blas = _full_gemm(cov_type, use_blas, d)
    meansT[0] = NULL
    precT[0] = NULL
    shifted[0] = NULL
    if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
        meansT[0] = <floating*> malloc(K * d * sizeof(floating))
        precT[0] = <floating*> malloc(K * d * sizeof(floating))
        if meansT[0] == NULL or precT[0] == NULL:
            return -1
        for k in range(K):
            for j in range(d):
                meansT[0][j * K + k] = means[k * d + j]
                if cov_type == COV_DIAG:
                    precT[0][j * K + k] = prec[k * d + j]
        return 0
    if cov_type == COV_TIED or full_blas:
        shifted[0] = <floating*> malloc(K * d * sizeof(floating))
        if shifted[0] == NULL:
            return -1
        for k in range(K):
            for j in range(d):
                s = 0.0
                for l in range(j + 1):
                    if cov_type == COV_TIED:
                        s += (means[k * d + l] - center[l]) * prec[l * d + j]
                    else:
                        s += (means[k * d + l] - center[l]) * prec[k * d * d + l * d + j]
                shifted[0][k * d + j] = s
    if full_blas:
        precT[0] = <floating*> malloc(K * d * d * sizeof(floating))
        if precT[0] == NULL:
            return -1
        for l in range(d):
            for k in range(K):
                for j in range(d):
                    precT[0][l * K * d + k * d + j] = prec[k * d * d + l * d + j]
    return 0


cdef void _unpack_symmetric(const double* packed, double[::1] S2, Py_ssize_t n_mat,
                            Py_ssize_t d) noexcept:
    """n_mat packed lower triangles -> full symmetric (n_mat, d, d) matrices."""
    cdef Py_ssize_t m, a, b
    cdef double v
    for m in range(n_mat):
        for a in range(d):
            for b in range(a + 1):
                v = packed[m * _tri(d) + _tri(a) + b]
                S2[m * d * d + a * d + b] = v
                S2[m * d * d + b * d + a] = v


def _check_shapes(X, sample_weight, means, prec_chol, log_norm, center,
                  int cov_type, N, S1, S2):
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    if cov_type < COV_FULL or cov_type > COV_SPHERICAL:
        raise ValueError(f"unknown covariance type code {cov_type}")
    if n < 1 or d < 1 or K < 1:
        raise ValueError("X and means must be non-empty")
    if means.shape[1] != d or center.shape[0] != d:
        raise ValueError("means/center do not match X's number of features")
    if sample_weight.shape[0] not in (0, n):
        raise ValueError("sample_weight must be empty or have one entry per row")
    expected = {COV_FULL: K * d * d, COV_TIED: d * d,
                COV_DIAG: K * d, COV_SPHERICAL: K}[cov_type]
    if prec_chol.shape[0] != expected:
        raise ValueError(f"prec_chol must have {expected} entries")
    if log_norm.shape[0] != K or N.shape[0] != K:
        raise ValueError("log_norm and N must have n_components entries")
    if S1.shape[0] != K or S1.shape[1] != d:
        raise ValueError("S1 must have shape (n_components, n_features)")
    if S2 is not None and S2.shape[0] != _s2_size(cov_type, K, d):
        raise ValueError("S2 has the wrong size for this covariance type")


def predict(
    const floating[:, ::1] X,            # IN (n, d)
    const floating[:, ::1] means,        # IN (K, d)
    const floating[::1] prec_chol,       # IN flat, as em_statistics
    const double[::1] log_norm,          # IN (K,)
    const floating[::1] center,          # IN (d,) tied centre
    int cov_type,
    bint use_blas,
    int n_threads,
    double[::1] log_prob_norm=None,      # OUT (n,) log p(x_i)
    floating[:, ::1] resp=None,          # OUT (n, K) responsibilities
    Py_ssize_t[::1] labels=None,         # OUT (n,) argmax_k of log w_k + log N
):
    """Chunked, parallel prediction: fills whichever outputs are given.

    Allocates nothing of size n_samples: only per-thread chunk scratch.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    _check_shapes(X, X[:0, 0], means, prec_chol, log_norm, center, cov_type,
                  log_norm, means, None)
    if log_prob_norm is not None and log_prob_norm.shape[0] != n:
        raise ValueError("log_prob_norm must have n_samples entries")
    if resp is not None and (resp.shape[0] != n or resp.shape[1] != K):
        raise ValueError("resp must have shape (n_samples, n_components)")
    if labels is not None and labels.shape[0] != n:
        raise ValueError("labels must have n_samples entries")
    if n_threads < 1:
        n_threads = omp_get_max_threads()

    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    # no more threads than chunks (idle team members only wait)
    n_threads = min(n_threads, n_chunks)
    cdef int path = _estep_path(cov_type, use_blas, d)
    cdef RowScratch rows = _row_scratch(cov_type, use_blas, K, d, False)
    cdef Py_ssize_t dstride = (_tile_scratch_doubles(K, d) if path == ESTEP_TILES
                               else rows.dsize)
    cdef Py_ssize_t fstride = rows.fsize
    cdef double* dscratch = <double*> malloc(n_threads * dstride * sizeof(double))
    cdef floating* fscratch = <floating*> malloc(n_threads * fstride * sizeof(floating))
    cdef floating* meansT
    cdef floating* precT
    cdef floating* shifted
    cdef int status = _prepare_params(cov_type, use_blas, K, d, &means[0, 0],
                                      &prec_chol[0], &center[0], &meansT, &precT,
                                      &shifted)
    if dscratch == NULL or fscratch == NULL or status != 0:
        free(dscratch)
        free(fscratch)
        free(meansT)
        free(precT)
        free(shifted)
        raise MemoryError("fastgmm: could not allocate prediction scratch buffers")

    cdef const floating* Xp = &X[0, 0]
    cdef const floating* mp = &means[0, 0]
    cdef const floating* pp = &prec_chol[0]
    cdef const floating* cp = &center[0]
    cdef const double* lnp = &log_norm[0]
    cdef double* lpn = &log_prob_norm[0] if log_prob_norm is not None else NULL
    cdef floating* rsp = &resp[0, 0] if resp is not None else NULL
    cdef Py_ssize_t* lab = &labels[0] if labels is not None else NULL
    cdef const floating* prec_used = pp
    cdef Py_ssize_t c, i0, i1, C, tid
    cdef double* logp
    cdef floating* D

    if precT != NULL and cov_type != COV_SPHERICAL:
        prec_used = precT

    with nogil:
        for c in prange(n_chunks, schedule='static', num_threads=n_threads):
            tid = threadid()
            logp = dscratch + tid * dstride
            D = fscratch + tid * fstride + rows.dd
            i0 = c * CHUNK_SIZE
            i1 = min(i0 + CHUNK_SIZE, n)
            C = i1 - i0
            if path == ESTEP_TILES:
                if floating is float:
                    _small_logp(cov_type, Xp + i0 * d, C, d, K, mp, pp, shifted, cp,
                                lnp, <float*> logp)
                    _predict_small_chunk(<float*> logp, C, d, K,
                                         lab + i0 if lab != NULL else NULL,
                                         lpn + i0 if lpn != NULL else NULL,
                                         rsp + i0 * K if rsp != NULL else NULL)
                else:
                    _small_logp(cov_type, Xp + i0 * d, C, d, K, mp, pp, shifted, cp,
                                lnp, logp)
                    _predict_small_chunk(logp, C, d, K,
                                         lab + i0 if lab != NULL else NULL,
                                         lpn + i0 if lpn != NULL else NULL,
                                         rsp + i0 * K if rsp != NULL else NULL)
            else:
                if path == ESTEP_BLAS:
                    _log_prob_blas(Xp + i0 * d, C, d, K, cov_type, mp, meansT,
                                   prec_used, shifted, cp, lnp, logp, D,
                                   fscratch + tid * fstride + rows.y, logp + rows.q)
                else:
                    _log_prob_rows(Xp + i0 * d, C, d, K, cov_type, mp, meansT,
                                   prec_used, shifted, cp, lnp, logp, D, logp + rows.q)
                _predict_rows(logp, C, K, lab + i0 if lab != NULL else NULL,
                              lpn + i0 if lpn != NULL else NULL,
                              rsp + i0 * K if rsp != NULL else NULL)

    free(dscratch)
    free(fscratch)
    free(meansT)
    free(precT)
    free(shifted)


def vector_exp(const floating[::1] x, floating[::1] out):
    """out = exp(x) for x <= 0 with the kernels' own exp, float64 or float32
    (``fg_exp``, ``fg_expf``; for tests)."""
    cdef Py_ssize_t i, n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError("out must have the shape of x")
    with nogil:
        for i in range(n):
            if floating is float:
                out[i] = fg_expf(x[i])
            else:
                out[i] = fg_exp(x[i])
