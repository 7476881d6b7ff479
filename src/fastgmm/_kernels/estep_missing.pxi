# Included by _em.pyx: rows with missing coordinates (NaN entries).
#
# A row x with observed coordinates o and missing coordinates m is scored by
# the marginal density of x_o (exact EM for data missing at random,
# Ghahramani & Jordan 1994).  With a component's precision P = Sigma^-1:
#
#     E[x_m | x_o]   = mu_m - P_mm^-1 P_mo (x_o - mu_o)
#     Cov[x_m | x_o] = P_mm^-1
#     (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = e^T P e,    e = xhat - mu
#     log det Sigma_oo = log det Sigma + log det P_mm
#
# where xhat is x with its missing coordinates replaced by the conditional
# mean.  A row thus needs the Cholesky factor G of the small |m| x |m| block
# P_mm only; the quadratic form is the sum of squares ||e^T U||^2 through the
# upper factor U of the precision (P = U U^T, the complete-row kernels'
# ``prec_chol``).  'tied' shares G between the components.  For 'diag' and
# 'spherical' the coordinates decouple: the density of the observed
# coordinates, E[x_m] = mu_m, Var[x_m] = sigma_m^2.
#
# The M-step statistics of a row add, per component k with w = s_i r_ik,
#
#     N_k  += w,   S1_k += w xhat_k,
#     S2_k += w ((xhat_k - c_k)(xhat_k - c_k)^T + [0 0; 0 P_mm^-1])
#
# (centred on the pass's centres c_k, as the complete rows' statistics;
# 'tied' sums over k about one centre and adds s_i P_mm^-1 once; 'diag' and
# 'spherical' keep the diagonal).  Everything is in double, whatever the
# data's type.  'full'/'tied' statistics run per chunk (_miss_chunk_matrix):
# the conditional means row by row, then per component one product E_k U_k
# for the quadratic forms and one Gram matrix (syrk) of the weighted
# deviations for the scatter, as the complete rows' BLAS path; 'diag' and
# 'spherical' up to WIDE_D features through the component-major tiles
# (_miss_chunk_diag: the gaps as 0 with an observed mask), unless a
# component lies too far from the mixture mean for their shifted moments;
# the other 'diag'/'spherical' cases, and every prediction, row by row
# (_miss_row).  The rows are
# cut into chunks and blocks as in ``_accumulate`` (n_blocks_for), each
# block summed sequentially into its own accumulator and the blocks reduced
# in order: bitwise the same for any thread count.

cdef double _LOG_2PI = 1.8378770664093453


cdef inline Py_ssize_t _miss_split(
    const floating* x,          # IN (d,) one row
    Py_ssize_t d,
    int* oidx,                  # OUT (d,) observed coordinates, ascending
    int* midx,                  # OUT (d,) missing coordinates, ascending
) noexcept nogil:
    """Split a row's coordinates; returns the number of missing ones."""
    cdef Py_ssize_t j, nm = 0, no = 0
    for j in range(d):
        if x[j] != x[j]:
            midx[nm] = <int> j
            nm += 1
        else:
            oidx[no] = <int> j
            no += 1
    return nm


cdef inline int _chol_small(double* A, Py_ssize_t n) noexcept nogil:
    """In place lower Cholesky factor G of the (n, n) row-major SPD matrix A
    (its lower triangle is read and written), with the *reciprocals* of
    G's diagonal stored on the diagonal (the solves multiply instead of
    dividing); -1 if A is not positive definite."""
    cdef Py_ssize_t i, j, l
    cdef double s, t, r
    for j in range(n):
        s = A[j * n + j]
        for l in range(j):
            s -= A[j * n + l] * A[j * n + l]
        if not s > 0.0:
            return -1
        r = 1.0 / sqrt(s)
        A[j * n + j] = r
        for i in range(j + 1, n):
            t = A[i * n + j]
            for l in range(j):
                t -= A[i * n + l] * A[j * n + l]
            A[i * n + j] = t * r
    return 0


cdef inline void _chol_solve(const double* G, Py_ssize_t n, double* z) noexcept nogil:
    """z <- (G G^T)^-1 z for the factor of ``_chol_small`` (diagonal
    reciprocals)."""
    cdef Py_ssize_t i, l
    cdef double t
    for i in range(n):
        t = z[i]
        for l in range(i):
            t -= G[i * n + l] * z[l]
        z[i] = t * G[i * n + i]
    for i in range(n - 1, -1, -1):
        t = z[i]
        for l in range(i + 1, n):
            t -= G[l * n + i] * z[l]
        z[i] = t * G[i * n + i]


cdef inline void _chol_inverse(const double* G, Py_ssize_t n, double* C,
                               double* L) noexcept nogil:
    """Lower triangle of C (n, n) row-major <- (G G^T)^-1 = G^-T G^-1 for the
    factor of ``_chol_small``, through the inverse L (n, n) of G (scratch)."""
    cdef Py_ssize_t a, b, l
    cdef double t
    for b in range(n):
        L[b * n + b] = G[b * n + b]
        for a in range(b + 1, n):
            t = 0.0
            for l in range(b, a):
                t -= G[a * n + l] * L[l * n + b]
            L[a * n + b] = t * G[a * n + a]
    for a in range(n):
        for b in range(a + 1):
            t = 0.0
            for l in range(a, n):
                t += L[l * n + a] * L[l * n + b]
            C[a * n + b] = t


cdef inline double _log_det_factor(const double* G, Py_ssize_t n) noexcept nogil:
    """log det G = sum_a log G[a, a] for the factor of ``_chol_small`` (whose
    diagonal holds reciprocals), through products of the diagonal (one log
    per factor of range, not one per entry)."""
    cdef Py_ssize_t a
    cdef double prod = 1.0, s = 0.0
    for a in range(n):
        prod *= G[a * n + a]
        if prod > 1e150 or prod < 1e-150:
            s -= log(prod)
            prod = 1.0
    return s - log(prod)


cdef inline double _dot(const double* a, const double* b, Py_ssize_t n) noexcept nogil:
    """sum_j a_j b_j in four interleaved partial sums (a fixed order; the
    additions overlap instead of waiting on each other)."""
    cdef Py_ssize_t j, n4 = n - n % 4
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    for j in range(0, n4, 4):
        s0 += a[j] * b[j]
        s1 += a[j + 1] * b[j + 1]
        s2 += a[j + 2] * b[j + 2]
        s3 += a[j + 3] * b[j + 3]
    for j in range(n4, n):
        s0 += a[j] * b[j]
    return (s0 + s1) + (s2 + s3)


cdef inline double _sumsq_scaled(const double* e, const double* u,
                                 Py_ssize_t n) noexcept nogil:
    """sum_j (e_j u_j)^2 (u NULL: sum_j e_j^2), four partial sums as _dot."""
    cdef Py_ssize_t j, n4 = n - n % 4
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, t0, t1, t2, t3
    if u == NULL:
        return _dot(e, e, n)
    for j in range(0, n4, 4):
        t0 = e[j] * u[j]
        t1 = e[j + 1] * u[j + 1]
        t2 = e[j + 2] * u[j + 2]
        t3 = e[j + 3] * u[j + 3]
        s0 += t0 * t0
        s1 += t1 * t1
        s2 += t2 * t2
        s3 += t3 * t3
    for j in range(n4, n):
        t0 = e[j] * u[j]
        s0 += t0 * t0
    return (s0 + s1) + (s2 + s3)


cdef inline double _upper_quadratic(const double* e, const double* U, Py_ssize_t d,
                                    double* t) noexcept nogil:
    """||e^T U||^2 for the upper-triangular U (d, d) row-major; t: scratch (d,)."""
    cdef Py_ssize_t j, l
    cdef double q = 0.0, el
    for j in range(d):
        t[j] = 0.0
    for l in range(d):
        el = e[l]
        for j in range(l, d):
            t[j] += el * U[l * d + j]
    for j in range(d):
        q += t[j] * t[j]
    return q


cdef int _miss_row(
    int cov_type, const floating* x, Py_ssize_t d, Py_ssize_t K,
    const double* means,        # IN (K, d)
    const double* U,            # IN factors: full (K,d,d), tied (d,d), diag (K,d), sph (K,)
    const double* aux,          # IN full (K,d,d)/tied (d,d) precisions; diag/sph [log U, 1/U^2]
    const double* lw,           # IN (K,) log w_k + log|U_k| (full, tied); log w_k (diag, sph)
    bint want_cov,
    double* logp,               # OUT (K,) log w_k + log N(x_o | mu_ko, Sigma_koo)
    double* E,                  # OUT (K, d) xhat_k - mu_k
    double* Cm,                 # OUT full (K, d*d), tied (d*d): P_mm^-1 (nm x nm) if want_cov
    double* G,                  # scratch (2*d*d)
    double* y,                  # scratch (d,)
    double* t,                  # scratch (d,)
    const int* oidx, const int* midx, Py_ssize_t nm,
) noexcept nogil:
    """Log-densities and conditional means of one incomplete row; -1 when a
    block P_mm is not numerically positive definite."""
    cdef Py_ssize_t no = d - nm
    cdef Py_ssize_t k, a, b, j
    cdef const double* mu
    cdef const double* P
    cdef double* e
    cdef double s, logdet_g, q
    cdef bint tied = cov_type == COV_TIED
    if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
        # the row with its gaps as 0 (y) and the observed mask (t, 1 or 0):
        # contiguous loops over all coordinates instead of gathers
        for j in range(d):
            if x[j] == x[j]:
                y[j] = x[j]
                t[j] = 1.0
            else:
                y[j] = 0.0
                t[j] = 0.0
        for k in range(K):
            mu = means + k * d
            e = E + k * d
            for j in range(d):
                e[j] = (y[j] - mu[j]) * t[j]
            if cov_type == COV_DIAG:
                q = _sumsq_scaled(e, U + k * d, d)
                s = _dot(t, aux + k * d, d)
            else:
                q = _sumsq_scaled(e, NULL, d) * (U[k] * U[k])
                s = no * aux[k]
            logp[k] = lw[k] + s - 0.5 * no * _LOG_2PI - 0.5 * q
        return 0
    logdet_g = 0.0
    for k in range(K):
        mu = means + k * d
        e = E + k * d
        P = aux if tied else aux + k * d * d
        if k == 0 or not tied:
            for a in range(nm):
                for b in range(a + 1):
                    G[a * nm + b] = P[midx[a] * d + midx[b]]
            if _chol_small(G, nm) != 0:
                return -1
            logdet_g = _log_det_factor(G, nm)
            if want_cov:
                _chol_inverse(G, nm, Cm if tied else Cm + k * d * d, G + nm * nm)
        # y = P_mo e_o (a whole row of P against e with e_m = 0), then
        # z = P_mm^-1 y and e_m = -z
        for j in range(d):
            e[j] = x[j] - mu[j]
        for a in range(nm):
            e[midx[a]] = 0.0
        for a in range(nm):
            y[a] = _dot(P + midx[a] * d, e, d)
        _chol_solve(G, nm, y)
        for a in range(nm):
            e[midx[a]] = -y[a]
        q = _upper_quadratic(e, U if tied else U + k * d * d, d, t)
        logp[k] = lw[k] - logdet_g - 0.5 * no * _LOG_2PI - 0.5 * q
    return 0


cdef inline double _miss_posterior(double* logp, Py_ssize_t K) noexcept nogil:
    """logp <- responsibilities exp(logp - lse) in place (the kernels' own
    exp, as the complete rows'); returns the log-sum-exp (with the row
    maximum subtracted)."""
    cdef Py_ssize_t k
    cdef double mx = logp[0], s = 0.0, lse
    for k in range(1, K):
        if logp[k] > mx:
            mx = logp[k]
    for k in range(K):
        s += fg_exp(logp[k] - mx)
    lse = mx + log(s)
    for k in range(K):
        logp[k] = fg_exp(logp[k] - lse)
    return lse


cdef inline void _diag_row_stats(
    Py_ssize_t d, double w,
    const double* xz, const double* om, const double* mu, const double* c,
    const double* var,          # IN (d,)
    double* S1,                 # IN/OUT (d,)
    double* S2,                 # IN/OUT (d,)
) noexcept nogil:
    """S1 += w xhat, S2 += w ((xhat - c)^2 + var on the missing coordinates)."""
    cdef Py_ssize_t j
    cdef double v, dv
    for j in range(d):
        v = xz[j] + (1.0 - om[j]) * mu[j]
        S1[j] += w * v
        dv = v - c[j]
        S2[j] += w * (dv * dv + (1.0 - om[j]) * var[j])


cdef inline void _miss_accumulate_diag(
    int cov_type, double sw, Py_ssize_t d, Py_ssize_t K,
    const double* means,        # IN (K, d)
    const double* var,          # IN diag (K, d) / spherical (K,) variances
    const double* centers,      # IN (K, d) centres of S2
    const double* resp,         # IN (K,) responsibilities
    const double* xz,           # IN (d,) the row with its gaps as 0
    const double* om,           # IN (d,) 1 where observed, 0 where missing
    double* blk,                # IN/OUT [ll, N (K), S1 (K*d), S2 (K*d)]
) noexcept nogil:
    """Add one incomplete row's 'diag'/'spherical' statistics to a block
    accumulator: xhat_j = x_j where observed, mu_kj where missing, and the
    missing coordinates' variances added to S2 (branch-free loops)."""
    cdef Py_ssize_t k, j
    cdef double w, v, dv, vk
    cdef double* Nk = blk + 1
    cdef double* S1 = blk + 1 + K
    cdef double* S2 = blk + 1 + K + K * d
    cdef const double* mu
    cdef const double* c
    for k in range(K):
        w = sw * resp[k]
        if w == 0.0:
            continue
        Nk[k] += w
        mu = means + k * d
        c = centers + k * d
        if cov_type == COV_DIAG:
            _diag_row_stats(d, w, xz, om, mu, c, var + k * d, S1 + k * d, S2 + k * d)
        else:
            vk = var[k]
            for j in range(d):
                v = xz[j] + (1.0 - om[j]) * mu[j]
                S1[k * d + j] += w * v
                dv = v - c[j]
                S2[k * d + j] += w * (dv * dv + (1.0 - om[j]) * vk)


# The parameter planes of _miss_chunk_diag, each (K, d).
cdef enum:
    _MD_DELTA = 0       # mu_k - c
    _MD_SCALE = 1       # precision factors p_kj
    _MD_CONST = 2       # log(2 pi) - 2 log p_kj
    _MD_CENTRE = 3      # the pass's centres of S2 minus c
    _MD_VAR = 4         # variances 1 / p_kj^2
    _MD_PLANES = 5


cdef double _miss_chunk_diag(
    const floating* X,          # IN (C, d) rows, NaN where missing
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const double* par,          # IN (5, K, d) _miss_diag_params
    const double* lw,           # IN (K,) log w_k
    const double* center,       # IN (d,) the mixture mean c
    double* T,                  # scratch (_tile_scratch(K, d, FEATURE_LD))
    double* accN,               # IN/OUT (K,)
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT (K, d) about the pass's centres
) noexcept nogil:
    """'diag'/'spherical' statistics of a chunk of incomplete rows (d <=
    WIDE_D), component-major as the complete rows' ``_small_estep``: the
    chunk feature-major as y = x - c with its gaps as 0 and the observed
    mask o; the log-densities of the observed coordinates through
    ``fg_tile_qdiag_masked``; the moments sum r o y, sum r o y^2 and
    sum r o through ``fg_moments``; then, per component, with N its
    chunk sum of r, delta = mu_k - c and g = (centre of S2) - c,

        S1 += sum r o y + delta (N - sum r o) + N c
        S2 += sum r o (y - g)^2 + ((delta - g)^2 + sigma^2) (N - sum r o)

    (x_m's conditional mean is mu_m and its variance sigma_m^2).  Returns
    sum_i s_i log p(x_io)."""
    cdef Py_ssize_t i, k, a, l, k0, nk, g
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef Py_ssize_t ld = FEATURE_LD
    cdef Py_ssize_t Kd = K * d
    cdef TileScratch L = _tile_scratch(K, d, ld)
    cdef double* Y = T + L.xt
    cdef double* E = T + L.e
    cdef double* mx = T + L.mx
    cdef double* tot = T + L.tot
    cdef double* O = T + L.dm
    cdef double* Y2 = T + L.w
    cdef double m1[QDIAG_KB * WIDE_D]
    cdef double m2[QDIAG_KB * WIDE_D]
    cdef double mo[QDIAG_KB * WIDE_D]
    cdef const double* ep[QDIAG_KB]
    cdef double v, ll, nck, dm, dc, nmiss
    for i in range(C):
        for l in range(d):
            v = X[i * d + l]
            if v == v:
                Y[l * ld + i] = v - center[l]
                O[l * ld + i] = 1.0
            else:
                Y[l * ld + i] = 0.0
                O[l * ld + i] = 0.0
    for l in range(d):
        for i in range(C, Cp):
            Y[l * ld + i] = 0.0
            O[l * ld + i] = 0.0
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> QDIAG_KB, K - k0)
        fg_tile_qdiag_masked(<int> nk, Y, O, ld, par + _MD_SCALE * Kd + k0 * d,
                             par + _MD_DELTA * Kd + k0 * d, par + _MD_CONST * Kd + k0 * d,
                             Cp, <int> d, lw + k0, E + k0 * CHUNK_SIZE, CHUNK_SIZE)
        k0 += nk
    ll = _chunk_responsibilities(E, mx, tot, sw, C, Cp, K, accN)
    for a in range(d):
        for i in range(Cp):
            Y2[a * ld + i] = Y[a * ld + i] * Y[a * ld + i]
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> QDIAG_KB, K - k0)
        for g in range(nk):
            ep[g] = E + (k0 + g) * CHUNK_SIZE
        fg_moments(<int> nk, ep, Y, Y2, ld, Cp, <int> d, m1, m2)
        fg_moments(<int> nk, ep, O, NULL, ld, Cp, <int> d, mo, NULL)
        for g in range(nk):
            k = k0 + g
            nck = _lane_sum(ep[g], C)
            for a in range(d):
                dm = par[_MD_DELTA * Kd + k * d + a]
                dc = par[_MD_CENTRE * Kd + k * d + a]
                nmiss = nck - mo[g * d + a]
                accS1[k * d + a] += (m1[g * d + a] + dm * nmiss) + nck * center[a]
                accS2[k * d + a] += ((m2[g * d + a] - 2.0 * dc * m1[g * d + a])
                                     + dc * dc * mo[g * d + a]) \
                    + ((dm - dc) * (dm - dc) + par[_MD_VAR * Kd + k * d + a]) * nmiss
        k0 += nk
    return ll


cdef void _miss_diag_params(
    int cov_type, Py_ssize_t K, Py_ssize_t d,
    const double* means,        # IN (K, d)
    const double* U,            # IN diag (K, d) / spherical (K,) precision factors
    const double* centers,      # IN (K, d) centres of S2
    const double* center,       # IN (d,) c
    double* par,                # OUT (_MD_PLANES, K, d)
) noexcept nogil:
    """The parameter planes of ``_miss_chunk_diag`` ('spherical' factors
    repeated along the features)."""
    cdef Py_ssize_t k, a, Kd = K * d
    cdef double p
    for k in range(K):
        for a in range(d):
            p = U[k * d + a] if cov_type == COV_DIAG else U[k]
            par[_MD_DELTA * Kd + k * d + a] = means[k * d + a] - center[a]
            par[_MD_SCALE * Kd + k * d + a] = p
            par[_MD_CONST * Kd + k * d + a] = _LOG_2PI - 2.0 * log(p)
            par[_MD_CENTRE * Kd + k * d + a] = centers[k * d + a] - center[a]
            par[_MD_VAR * Kd + k * d + a] = 1.0 / (p * p)


cdef bint _miss_diag_far(const double* par, Py_ssize_t K, Py_ssize_t d) noexcept nogil:
    """Whether some component's mean or centre is too far from c, in its own
    standard deviations, for ``_miss_chunk_diag``'s shifted moments (as the
    complete rows' ``_far_from_centre``)."""
    cdef Py_ssize_t j, Kd = K * d
    cdef double p, t, worst = 0.0
    for j in range(Kd):
        p = par[_MD_SCALE * Kd + j]
        t = max(abs(par[_MD_DELTA * Kd + j]), abs(par[_MD_CENTRE * Kd + j])) * p
        worst = max(worst, t * t)
    return worst > MOMENTS_MAX_SHIFT2


cdef int _miss_chunk_matrix(
    int cov_type, const floating* X, const floating* sw, Py_ssize_t C,
    Py_ssize_t d, Py_ssize_t K,
    const double* means,        # IN (K, d)
    const double* U,            # IN full (K, d, d) / tied (d, d) upper factors
    const double* P,            # IN full (K, d, d) / tied (d, d) precisions
    const double* lw,           # IN (K,) log w_k + log|U_k|
    const double* centers,      # IN (K, d) centres of S2 ('full')
    const double* center,       # IN (d,) centre of S2 ('tied')
    double* E,                  # scratch (K, CHUNK_SIZE, d): xhat_ik - mu_k
    double* T,                  # scratch full (CHUNK_SIZE, d), tied (K * CHUNK_SIZE, d)
    double* lp,                 # scratch (CHUNK_SIZE, K)
    double* G,                  # scratch (2 d, d)
    double* Cm,                 # scratch (d, d)
    double* tmp,                # scratch (d, d)
    double* y,                  # scratch (d,)
    int* idx,                   # scratch (CHUNK_SIZE, 2 d): observed, then missing
    int* nms,                   # scratch (CHUNK_SIZE,) missing counts
    double* blk,                # IN/OUT [ll, N (K), S1 (K*d), S2 packed]
) noexcept nogil:
    """'full' / 'tied' statistics of a chunk of C incomplete rows, the d x d
    work through BLAS: per component, the quadratic forms as one product
    E_k U_k and the scatter as one Gram matrix of the weighted deviations
    (as the complete rows' BLAS path); the conditional means and
    covariances per row on the small missing blocks.  Returns -1 when a
    block P_mm is not numerically positive definite."""
    cdef bint tied = cov_type == COV_TIED
    cdef Py_ssize_t i, k, a, b, j, nm, no, nz
    cdef const floating* x
    cdef const double* mu
    cdef const double* Pk
    cdef const double* c
    cdef int* oi
    cdef int* mi
    cdef double* e
    cdef double s, w, sr, v, q, logdet_g = 0.0
    cdef double* Nk = blk + 1
    cdef double* S1 = blk + 1 + K
    cdef double* S2 = blk + 1 + K + K * d
    # conditional means and the normalisers, row by row
    for i in range(C):
        x = X + i * d
        oi = idx + i * 2 * d
        mi = oi + d
        nm = _miss_split(x, d, oi, mi)
        nms[i] = <int> nm
        no = d - nm
        for k in range(K):
            Pk = P if tied else P + k * d * d
            if k == 0 or not tied:
                for a in range(nm):
                    for b in range(a + 1):
                        G[a * nm + b] = Pk[mi[a] * d + mi[b]]
                if _chol_small(G, nm) != 0:
                    return -1
                logdet_g = _log_det_factor(G, nm)
            e = E + (k * CHUNK_SIZE + i) * d
            mu = means + k * d
            for j in range(d):
                e[j] = x[j] - mu[j]
            for a in range(nm):
                e[mi[a]] = 0.0
            for a in range(nm):
                y[a] = _dot(Pk + mi[a] * d, e, d)
            _chol_solve(G, nm, y)
            for a in range(nm):
                e[mi[a]] = -y[a]
            lp[i * K + k] = lw[k] - logdet_g - 0.5 * no * _LOG_2PI
    # the quadratic forms ||e_ik^T U_k||^2, one product per component
    for k in range(K):
        for a in range(C * d):
            T[a] = E[k * CHUNK_SIZE * d + a]
        times_upper(T, U if tied else U + k * d * d, <int> C, <int> d)
        for i in range(C):
            q = 0.0
            for j in range(d):
                q += T[i * d + j] * T[i * d + j]
            lp[i * K + k] -= 0.5 * q
    for i in range(C):
        s = sw[i] if sw != NULL else 1.0
        blk[0] += s * _miss_posterior(lp + i * K, K)
    # N, S1 and the scatter of xhat about the centres
    nz = 0
    for k in range(K):
        if not tied:
            nz = 0
        c = center if tied else centers + k * d
        for i in range(C):
            s = sw[i] if sw != NULL else 1.0
            w = s * lp[i * K + k]
            if w == 0.0:
                continue
            Nk[k] += w
            sr = sqrt(w)
            x = X + i * d
            e = E + (k * CHUNK_SIZE + i) * d
            for j in range(d):
                v = x[j]
                if v != v:
                    v = means[k * d + j] + e[j]
                S1[k * d + j] += w * v
                T[nz * d + j] = sr * (v - c[j])
            nz += 1
        if not tied and nz > 0:
            gram_lower(T, tmp, <int> nz, <int> d)
            _add_lower(S2 + k * _tri(d), tmp, d)
    if tied and nz > 0:
        gram_lower(T, tmp, <int> nz, <int> d)
        _add_lower(S2, tmp, d)
    # the conditional covariances P_mm^-1 of the missing blocks
    for i in range(C):
        s = sw[i] if sw != NULL else 1.0
        nm = nms[i]
        mi = idx + i * 2 * d + d
        for k in range(1 if tied else K):
            w = s if tied else s * lp[i * K + k]
            if w == 0.0:
                continue
            Pk = P if tied else P + k * d * d
            for a in range(nm):
                for b in range(a + 1):
                    G[a * nm + b] = Pk[mi[a] * d + mi[b]]
            _chol_small(G, nm)
            _chol_inverse(G, nm, Cm, G + nm * nm)
            for a in range(nm):
                for b in range(a + 1):
                    S2[(0 if tied else k * _tri(d)) + _tri(mi[a]) + mi[b]] += \
                        w * Cm[a * nm + b]
    return 0


cdef void _miss_impute_row(
    const floating* x, Py_ssize_t d, Py_ssize_t K,
    const double* means,        # IN (K, d)
    const double* resp,         # IN (K,) p(k | x_o)
    const double* E,            # IN (K, d) xhat_k - mu_k
    const int* midx, Py_ssize_t nm,
    floating* out,              # OUT (d,) x with x_m <- sum_k r_k xhat_km
) noexcept nogil:
    cdef Py_ssize_t j, a, k
    cdef double v
    for j in range(d):
        out[j] = x[j]
    for a in range(nm):
        j = midx[a]
        v = 0.0
        for k in range(K):
            v += resp[k] * (means[k * d + j] + E[k * d + j])
        out[j] = <floating> v


cdef struct MissScratch:
    # Offsets (in doubles, then ints) into one thread's scratch, and sizes:
    # the row-by-row layout (logp .. dev; oidx, midx) and, for the chunked
    # 'full'/'tied' statistics (chunk), the chunk layout after it (cE ..
    # ctmp; cidx, cnm).
    Py_ssize_t logp, E, Cm, G, y, t, dev, cE, cT, clp, ctmp, dsize
    Py_ssize_t oidx, midx, cidx, cnm, isize


cdef MissScratch _miss_scratch(int cov_type, Py_ssize_t K, Py_ssize_t d,
                               bint chunk) noexcept:
    cdef MissScratch s
    cdef bint matrix = cov_type == COV_FULL or cov_type == COV_TIED
    s.logp = 0
    s.E = K
    s.Cm = s.E + K * d
    s.G = s.Cm + (K * d * d if cov_type == COV_FULL
                  else d * d if cov_type == COV_TIED else 0)
    s.y = s.G + 2 * d * d   # the factor and its inverse
    s.t = s.y + d
    s.dev = s.t + d
    s.cE = s.dev + d
    chunk = chunk and matrix
    s.cT = s.cE + (K * CHUNK_SIZE * d if chunk else 0)
    s.clp = s.cT + ((K if cov_type == COV_TIED else 1) * CHUNK_SIZE * d if chunk
                    else 0)
    s.ctmp = s.clp + (CHUNK_SIZE * K if chunk else 0)
    s.dsize = s.ctmp + (d * d if chunk else 0)
    s.oidx = 0
    s.midx = d
    s.cidx = 2 * d
    s.cnm = s.cidx + (CHUNK_SIZE * 2 * d if chunk else 0)
    s.isize = s.cnm + (CHUNK_SIZE if chunk else 0)
    return s


def _check_missing_args(X, means, U, aux, lw, int cov_type):
    cdef Py_ssize_t d = X.shape[1], K = means.shape[0]
    if cov_type < COV_FULL or cov_type > COV_SPHERICAL:
        raise ValueError(f"unknown covariance type code {cov_type}")
    if means.shape[1] != d or K < 1 or d < 1:
        raise ValueError("means do not match X's number of features")
    sizes = {COV_FULL: (K * d * d, K * d * d), COV_TIED: (d * d, d * d),
             COV_DIAG: (K * d, 2 * K * d), COV_SPHERICAL: (K, 2 * K)}[cov_type]
    if U.shape[0] != sizes[0] or aux.shape[0] != sizes[1]:
        raise ValueError(f"prec_chol and aux must have {sizes[0]} and {sizes[1]} "
                         "entries")
    if lw.shape[0] != K:
        raise ValueError("lw must have n_components entries")


def em_missing_statistics(
    const floating[:, ::1] X,            # IN (n, d) rows with NaN entries
    const floating[::1] sample_weight,   # IN (n,) or (0,)
    const double[:, ::1] means,          # IN (K, d)
    const double[::1] prec_chol,         # IN flat, as em_statistics (in double)
    const double[::1] aux,               # IN full/tied: P; diag/sph: [log prec_chol, variances]
    const double[::1] lw,                # IN (K,) see _miss_row
    const double[:, ::1] centers,        # IN (K, d) centres of S2
    const double[::1] center,            # IN (d,) tied centre
    int cov_type,
    int n_threads,
    double[::1] N,                       # OUT (K,)
    double[:, ::1] S1,                   # OUT (K, d)
    double[::1] S2,                      # OUT flat, as em_statistics
):
    """E-step statistics of incomplete rows from their observed coordinates.

    The same outputs as :func:`em_statistics` (``S2`` centred on
    ``centers``/``center``), with the conditional expectations of the missing
    coordinates in ``S1`` and ``S2`` and their conditional covariances added
    to ``S2``; returns ``sum_i s_i log p(x_io)`` (the observed-data
    log-likelihood).  Rows without a NaN are valid input too.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    _check_missing_args(X, means, prec_chol, aux, lw, cov_type)
    if centers.shape[0] != K or centers.shape[1] != d or center.shape[0] != d:
        raise ValueError("centers/center do not match means")
    if sample_weight.shape[0] not in (0, n):
        raise ValueError("sample_weight must be empty or have one entry per row")
    if N.shape[0] != K or S1.shape[0] != K or S1.shape[1] != d \
            or S2.shape[0] != _s2_size(cov_type, K, d):
        raise ValueError("N, S1 and S2 do not match")
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    cdef Py_ssize_t stride = em_stride(d, K, cov_type)
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t n_blocks = n_blocks_for(n, d, K, cov_type, sizeof(floating)) \
        if n > 0 else 1
    cdef MissScratch sc = _miss_scratch(cov_type, K, d, True)
    cdef bint matrix = cov_type == COV_FULL or cov_type == COV_TIED
    n_threads = max(1, min(n_threads, n_blocks))
    cdef double* acc = <double*> calloc(n_blocks * stride, sizeof(double))
    cdef double* dscr = <double*> malloc(n_threads * sc.dsize * sizeof(double))
    cdef int* iscr = <int*> malloc(n_threads * sc.isize * sizeof(int))
    cdef int bad = 0
    cdef int* badp = &bad
    if acc == NULL or dscr == NULL or iscr == NULL:
        free(acc)
        free(dscr)
        free(iscr)
        raise MemoryError("fastgmm: could not allocate missing-value EM buffers")
    cdef const floating* Xp = &X[0, 0] if n > 0 else NULL
    cdef const floating* swp = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef const double* mp = &means[0, 0]
    cdef const double* up = &prec_chol[0]
    cdef const double* ap = &aux[0]
    cdef const double* lwp = &lw[0]
    cdef const double* cp = &centers[0, 0]
    cdef const double* ccp = &center[0]
    cdef Py_ssize_t b, c, i, c0, c1, i1, tid, nm
    cdef double* ds
    cdef int* ints
    cdef double* blk
    # 'diag'/'spherical' up to WIDE_D features: whole chunks through the
    # component-major tiles (_miss_chunk_diag) instead of row by row
    # (unless a component is too far from the centre for their shifted
    # moments: _miss_diag_far)
    cdef bint tiles = not matrix and d <= WIDE_D
    cdef Py_ssize_t tsize = _tile_scratch(K, d, FEATURE_LD).size
    cdef double* par = NULL
    cdef double* tscr = NULL
    if tiles:
        par = <double*> malloc(_MD_PLANES * K * d * sizeof(double))
        if par != NULL:
            _miss_diag_params(cov_type, K, d, mp, up, cp, ccp, par)
            if _miss_diag_far(par, K, d):
                free(par)
                par = NULL
                tiles = False
    if tiles:
        tscr = <double*> malloc(n_threads * tsize * sizeof(double))
        if par == NULL or tscr == NULL:
            free(par)
            free(tscr)
            free(acc)
            free(dscr)
            free(iscr)
            raise MemoryError("fastgmm: could not allocate missing-value EM buffers")
    cdef double lse, s
    with nogil:
        for b in prange(n_blocks, schedule='dynamic', num_threads=n_threads):
            tid = threadid()
            ds = dscr + tid * sc.dsize
            ints = iscr + tid * sc.isize
            blk = acc + b * stride
            c0 = stripe_first(b, n_chunks, n_blocks, 0)
            c1 = stripe_stop(b, n_chunks, n_blocks, n_chunks)
            for c in range(c0, c1):
                i1 = min((c + 1) * CHUNK_SIZE, n)
                if tiles:
                    blk[0] += _miss_chunk_diag(
                        Xp + c * CHUNK_SIZE * d,
                        swp + c * CHUNK_SIZE if swp != NULL else NULL,
                        i1 - c * CHUNK_SIZE, d, K, par, lwp, ccp, tscr + tid * tsize,
                        blk + 1, blk + 1 + K, blk + 1 + K + K * d)
                    continue
                if matrix:
                    if _miss_chunk_matrix(
                            cov_type, Xp + c * CHUNK_SIZE * d,
                            swp + c * CHUNK_SIZE if swp != NULL else NULL,
                            i1 - c * CHUNK_SIZE, d, K, mp, up, ap, lwp, cp, ccp,
                            ds + sc.cE, ds + sc.cT, ds + sc.clp, ds + sc.G,
                            ds + sc.Cm, ds + sc.ctmp, ds + sc.y, ints + sc.cidx,
                            ints + sc.cnm, blk) != 0:
                        badp[0] = 1
                    continue
                for i in range(c * CHUNK_SIZE, i1):
                    s = swp[i] if swp != NULL else 1.0
                    nm = _miss_split(Xp + i * d, d, ints + sc.oidx, ints + sc.midx)
                    if _miss_row(cov_type, Xp + i * d, d, K, mp, up, ap, lwp, True,
                                 ds + sc.logp, ds + sc.E, ds + sc.Cm, ds + sc.G,
                                 ds + sc.y, ds + sc.t, ints + sc.oidx,
                                 ints + sc.midx, nm) != 0:
                        badp[0] = 1
                        continue
                    lse = _miss_posterior(ds + sc.logp, K)
                    blk[0] += s * lse
                    _miss_accumulate_diag(cov_type, s, d, K, mp,
                                          ap + (K * d if cov_type == COV_DIAG else K),
                                          cp, ds + sc.logp, ds + sc.y, ds + sc.t, blk)
    free(par)
    free(tscr)
    free(dscr)
    free(iscr)
    try:
        if bad:
            raise ValueError(
                "fastgmm: a precision block of the missing coordinates is not "
                "positive definite; increase reg_covar.")
        return _reduce(acc, n_blocks, K, d, cov_type, N, S1, S2, acc)
    finally:
        free(acc)


def predict_missing(
    const floating[:, ::1] X,            # IN (n, d) rows with NaN entries
    const double[:, ::1] means,          # IN (K, d)
    const double[::1] prec_chol,         # IN flat, as em_missing_statistics
    const double[::1] aux,               # IN as em_missing_statistics
    const double[::1] lw,                # IN (K,)
    int cov_type,
    int n_threads,
    double[::1] log_prob_norm=None,      # OUT (n,) log p(x_io)
    floating[:, ::1] resp=None,          # OUT (n, K) p(k | x_io)
    Py_ssize_t[::1] labels=None,         # OUT (n,) argmax_k p(k | x_io)
    floating[:, ::1] imputed=None,       # OUT (n, d) x with x_m <- E[x_m | x_o]
):
    """Prediction of incomplete rows from their observed coordinates: fills
    whichever outputs are given.  ``imputed`` keeps the observed entries and
    replaces each missing one by ``sum_k p(k | x_o) E[x_m | x_o, k]``."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    _check_missing_args(X, means, prec_chol, aux, lw, cov_type)
    if log_prob_norm is not None and log_prob_norm.shape[0] != n:
        raise ValueError("log_prob_norm must have n_samples entries")
    if resp is not None and (resp.shape[0] != n or resp.shape[1] != K):
        raise ValueError("resp must have shape (n_samples, n_components)")
    if labels is not None and labels.shape[0] != n:
        raise ValueError("labels must have n_samples entries")
    if imputed is not None and (imputed.shape[0] != n or imputed.shape[1] != d):
        raise ValueError("imputed must have the shape of X")
    if n == 0:
        return
    if n_threads < 1:
        n_threads = omp_get_max_threads()
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    n_threads = max(1, min(n_threads, n_chunks))
    cdef MissScratch sc = _miss_scratch(cov_type, K, d, False)
    cdef double* dscr = <double*> malloc(n_threads * sc.dsize * sizeof(double))
    cdef int* iscr = <int*> malloc(n_threads * sc.isize * sizeof(int))
    cdef int bad = 0
    cdef int* badp = &bad
    if dscr == NULL or iscr == NULL:
        free(dscr)
        free(iscr)
        raise MemoryError("fastgmm: could not allocate missing-value buffers")
    cdef const floating* Xp = &X[0, 0]
    cdef const double* mp = &means[0, 0]
    cdef const double* up = &prec_chol[0]
    cdef const double* ap = &aux[0]
    cdef const double* lwp = &lw[0]
    cdef double* lpn = &log_prob_norm[0] if log_prob_norm is not None else NULL
    cdef floating* rsp = &resp[0, 0] if resp is not None else NULL
    cdef Py_ssize_t* lab = &labels[0] if labels is not None else NULL
    cdef floating* imp = &imputed[0, 0] if imputed is not None else NULL
    cdef Py_ssize_t c, i, i1, k, tid, nm, best
    cdef double* ds
    cdef double* lp
    cdef int* ints
    cdef double lse
    with nogil:
        for c in prange(n_chunks, schedule='static', num_threads=n_threads):
            tid = threadid()
            ds = dscr + tid * sc.dsize
            ints = iscr + tid * sc.isize
            lp = ds + sc.logp
            i1 = min((c + 1) * CHUNK_SIZE, n)
            for i in range(c * CHUNK_SIZE, i1):
                nm = _miss_split(Xp + i * d, d, ints + sc.oidx, ints + sc.midx)
                if _miss_row(cov_type, Xp + i * d, d, K, mp, up, ap, lwp, False,
                             lp, ds + sc.E, ds + sc.Cm, ds + sc.G, ds + sc.y,
                             ds + sc.t, ints + sc.oidx, ints + sc.midx, nm) != 0:
                    badp[0] = 1
                    continue
                if lab != NULL:
                    best = 0
                    for k in range(1, K):
                        if lp[k] > lp[best]:
                            best = k
                    lab[i] = best
                lse = _miss_posterior(lp, K)
                if lpn != NULL:
                    lpn[i] = lse
                if rsp != NULL:
                    for k in range(K):
                        rsp[i * K + k] = <floating> lp[k]
                if imp != NULL:
                    _miss_impute_row(Xp + i * d, d, K, mp, lp, ds + sc.E,
                                     ints + sc.midx, nm, imp + i * d)
    free(dscr)
    free(iscr)
    if bad:
        raise ValueError(
            "fastgmm: a precision block of the missing coordinates is not "
            "positive definite; increase reg_covar.")
