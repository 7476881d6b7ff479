# Included by _em.pyx: the row-major E-step path (ESTEP_ROWS) and the
# row-major pieces the BLAS path (estep_blas.pxi) shares: log-densities row
# by row into a (C, K) block, the log-sum-exp per row, the statistics from
# the (C, K) responsibilities, prediction outputs.  Scratch: _row_scratch
# (em_layout.pxi).


cdef inline void _full_stats_rows(
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d) centres m_k
    const floating* R,          # IN (C, K) s_i r_ik
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT (K, d(d+1)/2) packed lower triangles
) noexcept nogil:
    """S1_k += r x, S2_k += r (x - m_k)(x - m_k)^T; inlined with constant d."""
    cdef Py_ssize_t i, k, a, b
    cdef double diff[SMALL_D]
    cdef double r, ra
    cdef double* S
    for i in range(C):
        for k in range(K):
            r = R[i * K + k]
            if r == 0.0:
                continue
            S = accS2 + k * _tri(d)
            for a in range(d):
                diff[a] = <double> X[i * d + a] - means[k * d + a]
                accS1[k * d + a] += r * X[i * d + a]
            for a in range(d):
                ra = r * diff[a]
                for b in range(a + 1):
                    S[_tri(a) + b] += ra * diff[b]


cdef void _full_small_stats(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means, const floating* R, double* accS1, double* accS2,
) noexcept nogil:
    """``_full_stats_rows`` with d as a literal for the smallest d, so each
    case is unrolled by the compiler."""
    if d == 1:
        _full_stats_rows(X, C, 1, K, means, R, accS1, accS2)
    elif d == 2:
        _full_stats_rows(X, C, 2, K, means, R, accS1, accS2)
    elif d == 3:
        _full_stats_rows(X, C, 3, K, means, R, accS1, accS2)
    elif d == 4:
        _full_stats_rows(X, C, 4, K, means, R, accS1, accS2)
    else:
        _full_stats_rows(X, C, d, K, means, R, accS1, accS2)


cdef inline double _sq_dist(const floating* a, const floating* b,
                            Py_ssize_t d) noexcept nogil:
    """sum_j (a_j - b_j)^2, or sum_j a_j^2 if ``b`` is NULL (terms in the
    data's precision, summed in double).  Eight interleaved partial sums
    combined in a fixed tree, as ``_lane_sum``: a sequential sum over j is
    one dependency chain of d additions (at d = 64 it cost more than the
    BLAS product before it)."""
    cdef double s[8]
    cdef floating t
    cdef Py_ssize_t j, l, d8 = d - d % 8
    for l in range(8):
        s[l] = 0.0
    if b == NULL:
        for j in range(0, d8, 8):
            for l in range(8):
                t = a[j + l]
                s[l] = s[l] + t * t
        for j in range(d8, d):
            t = a[j]
            s[0] = s[0] + t * t
    else:
        for j in range(0, d8, 8):
            for l in range(8):
                t = a[j + l] - b[j + l]
                s[l] = s[l] + t * t
        for j in range(d8, d):
            t = a[j] - b[j]
            s[0] = s[0] + t * t
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))


cdef inline void _sq_norms(const floating* D, Py_ssize_t C, Py_ssize_t d,
                           const double* log_norm_k, double* logp,
                           Py_ssize_t K) noexcept nogil:
    """logp[i K] = log_norm_k - ||D_i||^2 / 2 for the C rows of D (C, d).

    For float data: four rows at a time, each in 16 interleaved partial sums
    in float (one AVX-512 register), combined as a fixed pairwise tree in
    double: independent chains instead of one per row, whose FMA latency
    dominated.  Double data keep ``_sq_dist`` per row, which measured faster
    for them."""
    cdef floating s[4][16]
    cdef double t2[16]
    cdef floating t
    cdef Py_ssize_t i0, r, nr, j, l, w, dl = d - d % 16
    for i0 in range(0, C, 4):
        nr = min(4, C - i0)
        for r in range(4):
            for l in range(16):
                s[r][l] = 0.0
        if nr == 4:
            for j in range(0, dl, 16):
                for r in range(4):
                    for l in range(16):
                        t = D[(i0 + r) * d + j + l]
                        s[r][l] = s[r][l] + t * t
        else:
            for r in range(nr):
                for j in range(0, dl, 16):
                    for l in range(16):
                        t = D[(i0 + r) * d + j + l]
                        s[r][l] = s[r][l] + t * t
        for r in range(nr):
            for j in range(dl, d):
                t = D[(i0 + r) * d + j]
                s[r][0] = s[r][0] + t * t
            for l in range(16):
                t2[l] = s[r][l]
            w = 8
            while w > 0:
                for l in range(w):
                    t2[l] = t2[l] + t2[l + w]
                w //= 2
            logp[(i0 + r) * K] = log_norm_k[0] - 0.5 * t2[0]


cdef inline void _triangular_rows(
    floating* D,            # IN/OUT (C, d): each row y := y @ P
    const floating* P,      # IN (d, d) upper triangular
    Py_ssize_t C, Py_ssize_t d, bint use_blas,
    floating* y,            # scratch (d,)
) noexcept nogil:
    """Each row of D times the upper-triangular P: trmm on the BLAS path,
    else loops."""
    cdef Py_ssize_t i, j, l
    cdef floating dl
    if use_blas:
        times_upper(D, P, <int> C, <int> d)
        return
    # y_j = sum_{l <= j} D_l P[l, j], as axpy over j (vectorisable).
    for i in range(C):
        for j in range(d):
            y[j] = 0.0
        for l in range(d):
            dl = D[i * d + l]
            for j in range(l, d):
                y[j] += dl * P[l * d + j]
        for j in range(d):
            D[i * d + j] = y[j]


cdef inline void _tied_logp(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, bint use_blas,
    const floating* prec,       # IN (d, d) upper P
    const floating* shifted,    # IN (K, d) (mu_k - c) P
    const floating* center,     # IN (d,) the centre c
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K)
    floating* D,                # scratch (C, d)
    double* q,                  # scratch (d,)
) noexcept nogil:
    """'tied' log-densities: (x - c) P once per row (large offsets cancel
    first); then y_k = (x - c) P - (mu_k - c) P."""
    cdef Py_ssize_t i, j, k
    cdef floating* y
    for i in range(C):
        for j in range(d):
            D[i * d + j] = X[i * d + j] - center[j]
    _triangular_rows(D, prec, C, d, use_blas, <floating*> q)
    for i in range(C):
        y = D + i * d
        for k in range(K):
            logp[i * K + k] = log_norm[k] - 0.5 * _sq_dist(y, shifted + k * d, d)


cdef inline void _full_logp(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, bint use_blas,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN (K, d, d) upper P_k
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K)
    floating* D,                # scratch (C, d)
    double* q,                  # scratch (d,)
) noexcept nogil:
    """'full' log-densities one component at a time: ||(x - mu_k) P_k||^2."""
    cdef Py_ssize_t i, j, k
    cdef const floating* mu
    cdef const floating* P
    for k in range(K):
        mu = means + k * d
        P = prec + k * d * d
        # Centre first: (x - mu) P keeps precision when |x| >> spread.
        for i in range(C):
            for j in range(d):
                D[i * d + j] = X[i * d + j] - mu[j]
        _triangular_rows(D, P, C, d, use_blas, <floating*> q)
        if floating is float:
            _sq_norms(D, C, d, log_norm + k, logp + k, K)
        else:
            for i in range(C):
                logp[i * K + k] = log_norm[k] - 0.5 * _sq_dist(D + i * d, <floating*> NULL, d)


cdef inline void _diag_logp(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, int cov_type,
    const floating* meansT,     # IN (d, K)
    const floating* prec,       # IN diag: (d, K) | spherical: (K,)
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K)
    double* q,                  # scratch (K,)
) noexcept nogil:
    """'diag' and 'spherical' log-densities (both row-major paths).

    Loop order j-outer, k-inner: independent sums per component that the
    compiler vectorises, each summed over j in order (exact same rounding
    as a scalar loop)."""
    cdef Py_ssize_t i, j, k
    cdef const floating* x
    cdef floating t
    for i in range(C):
        x = X + i * d
        for k in range(K):
            q[k] = 0.0
        if cov_type == COV_DIAG:
            for j in range(d):
                for k in range(K):
                    t = (x[j] - meansT[j * K + k]) * prec[j * K + k]
                    q[k] += t * t
            for k in range(K):
                logp[i * K + k] = log_norm[k] - 0.5 * q[k]
        else:
            for j in range(d):
                for k in range(K):
                    t = x[j] - meansT[j * K + k]
                    q[k] += t * t
            for k in range(K):
                logp[i * K + k] = log_norm[k] - 0.5 * q[k] * prec[k] * prec[k]


cdef void _log_prob_rows(
    const floating* X,          # IN (C, d) rows of the chunk
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, int cov_type,
    const floating* means,      # IN (K, d)
    const floating* meansT,     # IN (d, K) (diag/spherical)
    const floating* prec,       # IN full (K,d,d) | tied (d,d) | diag (d,K)^T | sph (K,)
    const floating* shifted,    # IN tied: (K, d) = (mu_k - c) @ P
    const floating* center,     # IN tied: (d,)
    const double* log_norm,     # IN (K,) log w_k + log|P_k| - d/2 log(2 pi)
    double* logp,               # OUT (C, K) weighted log-densities
    floating* D,                # scratch (C, d)
    double* q,                  # scratch (max(K, d),)
) noexcept nogil:
    """Weighted log-densities of a chunk, row-major loops (ESTEP_ROWS)."""
    if cov_type == COV_TIED:
        _tied_logp(X, C, d, K, False, prec, shifted, center, log_norm, logp, D, q)
    elif cov_type == COV_FULL:
        _full_logp(X, C, d, K, False, means, prec, log_norm, logp, D, q)
    else:
        _diag_logp(X, C, d, K, cov_type, meansT, prec, log_norm, logp, q)


cdef double _responsibilities_chunk(
    double* logp,               # IN (C, K) weighted log-densities; clobbered
    const floating* sw,         # IN (C,) sample weights or NULL
    Py_ssize_t C, Py_ssize_t K,
    floating* R,                # OUT (C, K) s_i r_ik
    double* accN,               # IN/OUT (K,) += sum_i s_i r_ik
) noexcept nogil:
    """Log-sum-exp per row; returns sum_i s_i log p(x_i) for the chunk."""
    cdef Py_ssize_t i, k
    cdef double mx, tot, lse, wi, r, ll = 0.0
    cdef double* lp
    for i in range(C):
        lp = logp + i * K
        mx = lp[0]
        for k in range(1, K):
            if lp[k] > mx:
                mx = lp[k]
        wi = sw[i] if sw != NULL else 1.0
        if mx == -INFINITY:
            # No component gives this row any density: it cannot inform the
            # update, and its log-likelihood is -inf.
            for k in range(K):
                R[i * K + k] = 0.0
            ll += -INFINITY if wi > 0 else 0.0
            continue
        # Separate loops: the exp and the per-component updates vectorise;
        # the sum over components stays sequential.
        for k in range(K):
            lp[k] = fg_exp(lp[k] - mx)
        tot = 0.0
        for k in range(K):
            tot += lp[k]
        lse = mx + log(tot)
        if wi != 0.0:
            ll += wi * lse
        for k in range(K):
            r = wi * lp[k] / tot
            accN[k] += r
            R[i * K + k] = <floating> r
    return ll


cdef void _given_responsibilities(
    int mode,
    const int* labels,          # IN (C,) or NULL
    const floating* resp,       # IN (C, K) or NULL
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t K,
    floating* R,                # OUT (C, K) s_i r_ik
    double* accN,               # IN/OUT (K,)
) noexcept nogil:
    cdef Py_ssize_t i, k
    cdef double wi, r
    for i in range(C):
        wi = sw[i] if sw != NULL else 1.0
        for k in range(K):
            if mode == RESP_LABELS:
                r = wi if labels[i] == k else 0.0
            else:
                r = wi * resp[i * K + k]
            accN[k] += r
            R[i * K + k] = <floating> r


cdef void _predict_rows(
    double* logp,               # IN (C, K) weighted log-densities; clobbered
    Py_ssize_t C, Py_ssize_t K,
    Py_ssize_t* lab,            # OUT (C,) or NULL: first k of the largest log-density
    double* lpn,                # OUT (C,) or NULL: log p(x_i)
    floating* rsp,              # OUT (C, K) or NULL: responsibilities
) noexcept nogil:
    """Prediction outputs of a chunk from row-major log-densities."""
    cdef Py_ssize_t i, k, best
    cdef double mx, tot
    cdef double* lp
    for i in range(C):
        lp = logp + i * K
        # Far from every component a float32 product can overflow to inf
        # (-inf log-density) or inf - inf (NaN): both count as a zero
        # density (NaN is never > mx).
        best = 0
        mx = -INFINITY
        for k in range(K):
            if lp[k] > mx:
                mx = lp[k]
                best = k
        if lab != NULL:
            lab[i] = best
        if lpn == NULL and rsp == NULL:
            continue
        if mx == -INFINITY:
            # every density underflows: log p = -inf, and no component is
            # preferred
            if lpn != NULL:
                lpn[i] = -INFINITY
            if rsp != NULL:
                for k in range(K):
                    rsp[i * K + k] = <floating> (1.0 / K)
            continue
        tot = 0.0
        for k in range(K):
            lp[k] = exp(lp[k] - mx) if lp[k] > -INFINITY else 0.0
            tot = tot + lp[k]
        if lpn != NULL:
            lpn[i] = mx + log(tot)
        if rsp != NULL:
            # exp(lp - mx) / tot, not exp(lp - lse): at |log p| > 2**52
            # (queries far from the model) lse is rounded to a multiple of
            # 0.5 or more and the rows would not sum to 1.
            for k in range(K):
                rsp[i * K + k] = <floating> (lp[k] / tot)


cdef inline void _rank1_lower(
    double* S, double r, const floating* x, const floating* m, Py_ssize_t d,
    floating* diff,             # scratch (d,)
) noexcept nogil:
    """S += r (x - m)(x - m)^T on a packed lower triangle."""
    cdef Py_ssize_t a, b
    cdef double ra
    for a in range(d):
        diff[a] = x[a] - m[a]
    for a in range(d):
        ra = r * diff[a]
        for b in range(a + 1):
            S[_tri(a) + b] += ra * diff[b]


cdef inline void _diag_stats(
    const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d) centres m_k
    const floating* R,          # IN (C, K) s_i r_ik
    double* accS2,              # IN/OUT (K, d)
) noexcept nogil:
    """'diag'/'spherical' S2_k += r (x - m_k)**2 (both row-major paths)."""
    cdef Py_ssize_t i, j, k
    cdef const floating* x
    cdef const floating* m
    cdef double r
    cdef double* S
    for i in range(C):
        x = X + i * d
        for k in range(K):
            r = R[i * K + k]
            if r == 0.0:
                continue
            m = means + k * d
            S = accS2 + k * d
            for j in range(d):
                S[j] += r * (x[j] - m[j]) * (x[j] - m[j])


cdef void _statistics_rows(
    const floating* X,          # IN (C, d)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K, int cov_type,
    const floating* means,      # IN (K, d) centres m_k
    const floating* center,     # IN (d,) tied centre c
    const floating* R,          # IN (C, K) s_i r_ik
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT full (K, d(d+1)/2) | tied (d(d+1)/2) packed lower
                                #        triangles | diag/sph. (K, d)
    floating* W,                # scratch (d,)
) noexcept nogil:
    """The statistics of a chunk from its responsibilities, row-major loops."""
    cdef Py_ssize_t i, j, k
    cdef const floating* x
    cdef double r, wi

    if cov_type == COV_FULL and d <= SMALL_D:
        _full_small_stats(X, C, d, K, means, R, accS1, accS2)
        return
    # S1_k += sum_i R_ik x_i
    for i in range(C):
        x = X + i * d
        for k in range(K):
            r = R[i * K + k]
            if r != 0.0:
                for j in range(d):
                    accS1[k * d + j] += r * x[j]

    if cov_type == COV_FULL:
        for i in range(C):
            for k in range(K):
                r = R[i * K + k]
                if r != 0.0:
                    _rank1_lower(accS2 + k * _tri(d), r, X + i * d,
                                 means + k * d, d, W)
    elif cov_type == COV_TIED:
        # sum_k r_ik = 1, so the tied scatter needs one centre and the
        # sample weights only; the M-step moves it to the new means.
        for i in range(C):
            wi = sw[i] if sw != NULL else 1.0
            if wi != 0.0:
                _rank1_lower(accS2, wi, X + i * d, center, d, W)
    else:
        _diag_stats(X, C, d, K, means, R, accS2)
