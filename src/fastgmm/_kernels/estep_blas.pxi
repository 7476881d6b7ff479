# Included by _em.pyx: the row-major E-step path with BLAS products
# (ESTEP_BLAS): trmm for the triangular products, one gemm per group of
# 'full' components below TRMM_MIN_FEATURES, gemm for the first moments and
# syrk for the scatters.  The row-major pieces are in estep_rows.pxi; the
# wrappers in blas.pxd.


cdef inline void _full_logp_grouped(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* precT,      # IN [P_1 .. P_K] as a (d, K*d) row-major block
    const floating* shifted,    # IN (K, d) (mu_k - c) P_k
    const floating* center,     # IN (d,) the mixture mean c
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K)
    floating* D,                # scratch (C, d)
    floating* Y,                # scratch (C, G*d)
) noexcept nogil:
    """'full' log-densities through one product per group of G components:
    y_k = (x - c) P_k - (mu_k - c) P_k (large offsets cancel first)."""
    cdef Py_ssize_t i, j, k, g0, g1, G, M
    for i in range(C):
        for j in range(d):
            D[i * d + j] = X[i * d + j] - center[j]
    G = _group_size(K, d)
    g0 = 0
    while g0 < K:
        g1 = min(K, g0 + G)
        M = (g1 - g0) * d
        # Y (C, M) = D @ [P_g0 .. P_g1)
        gemm(False, False, <int> C, <int> M, <int> d, D, <int> d, precT + g0 * d,
             <int> (K * d), Y, <int> M)
        for i in range(C):
            for k in range(g0, g1):
                logp[i * K + k] = log_norm[k] - 0.5 * _sq_dist(
                    Y + i * M + (k - g0) * d, shifted + k * d, d)
        g0 = g1


cdef void _log_prob_blas(
    const floating* X,          # IN (C, d) rows of the chunk
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, int cov_type,
    const floating* means,      # IN (K, d)
    const floating* meansT,     # IN (d, K) (diag/spherical)
    const floating* prec,       # IN as _log_prob_rows; full below TRMM_MIN_FEATURES:
                                #    [P_1 .. P_K] as a (d, K*d) row-major block
    const floating* shifted,    # IN tied, full below TRMM_MIN_FEATURES: (K, d)
                                #    (mu_k - c) P_k
    const floating* center,     # IN tied and grouped full: (d,)
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K) weighted log-densities
    floating* D,                # scratch (C, d)
    floating* Y,                # scratch (C, G*d) grouped 'full' products
    double* q,                  # scratch (max(K, d),)
) noexcept nogil:
    """Weighted log-densities of a chunk, row-major with BLAS products
    (ESTEP_BLAS)."""
    if cov_type == COV_TIED:
        _tied_logp(X, C, d, K, True, prec, shifted, center, log_norm, logp, D, q)
    elif cov_type == COV_FULL:
        if _full_gemm(cov_type, True, d):
            _full_logp_grouped(X, C, d, K, prec, shifted, center, log_norm, logp, D, Y)
        else:
            _full_logp(X, C, d, K, True, means, prec, log_norm, logp, D, q)
    else:
        _diag_logp(X, C, d, K, cov_type, meansT, prec, log_norm, logp, q)


cdef inline void _add_lower(double* S, const floating* G, Py_ssize_t d) noexcept nogil:
    """Packed lower triangle S += the row-major lower triangle of G (where
    syrk wrote it)."""
    cdef Py_ssize_t a, b
    for a in range(d):
        for b in range(a + 1):
            S[_tri(a) + b] += G[a * d + b]


cdef inline void _uncentre_S1(
    const double* accN,         # IN (K,) the block's N_k
    double* accS1,              # IN/OUT (K, d) the block's S1, centred on c
    const floating* center,     # IN (d,) c
    Py_ssize_t K, Py_ssize_t d,
) noexcept nogil:
    """S1_k += N_k c: a block's ``_statistics_blas`` sums back to sum r x,
    once per block (in double) rather than once per chunk."""
    cdef Py_ssize_t j, k
    for k in range(K):
        for j in range(d):
            accS1[k * d + j] += accN[k] * center[j]


cdef void _statistics_blas(
    const floating* X,          # IN (C, d)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, int cov_type,
    const floating* means,      # IN (K, d) centres m_k
    const floating* center,     # IN (d,) centre c of S1 and the tied scatter
    const floating* R,          # IN (C, K) s_i r_ik
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT as _statistics_rows
    floating* W,                # scratch (C, d)
    floating* tmp,              # scratch (max(K*d, d*d),)
) noexcept nogil:
    """The statistics of a chunk from its responsibilities, with BLAS:
    S1 centred on c, R^T (X - c), in one product (the caller adds N_k c once
    per block: ``_uncentre_S1``), the scatters as Gram matrices (syrk)."""
    cdef Py_ssize_t i, j, k, nz
    cdef const floating* m
    cdef double r
    cdef floating sr

    # S1_k += sum_i R_ik (x_i - c): tmp (K, d) = R^T (X - c) in the data's
    # precision.  Uncentred, a float32 product over rows far from the origin
    # keeps only the digits the offset leaves (S1 / N off by ~eps32 |x|
    # sqrt(C), many times the spread's float32 resolution); x - c is exact
    # where |x| >> spread.
    for i in range(C):
        for j in range(d):
            W[i * d + j] = X[i * d + j] - center[j]
    gemm(True, False, <int> K, <int> d, <int> C, R, <int> K, W, <int> d, tmp, <int> d)
    for j in range(K * d):
        accS1[j] += tmp[j]

    if cov_type == COV_FULL:
        # Only rows with r_ik != 0 go into the product: the others add
        # exact zeros, and on separated clusters most r_ik underflow to
        # 0, so the scatter shrinks to about C/K rows per component.
        for k in range(K):
            m = means + k * d
            nz = 0
            for i in range(C):
                r = R[i * K + k]
                if r != 0.0:
                    sr = <floating> sqrt(r)
                    for j in range(d):
                        W[nz * d + j] = sr * (X[i * d + j] - m[j])
                    nz += 1
            if nz > 0:
                gram_lower(W, tmp, <int> nz, <int> d)
                _add_lower(accS2 + k * _tri(d), tmp, d)
    elif cov_type == COV_TIED:
        # sum_k r_ik = 1, so the tied scatter needs one centre and the
        # sample weights only; the M-step moves it to the new means.
        for i in range(C):
            sr = <floating> sqrt(<double> sw[i]) if sw != NULL else 1.0
            for j in range(d):
                W[i * d + j] = sr * (X[i * d + j] - center[j])
        gram_lower(W, tmp, <int> C, <int> d)
        _add_lower(accS2, tmp, d)
    else:
        _diag_stats(X, C, d, K, means, R, accS2)
