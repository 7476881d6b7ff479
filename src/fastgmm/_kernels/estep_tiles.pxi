# Included by _em.pyx: the component-major E-step path (ESTEP_TILES).
#
# A chunk is copied feature-major (x^T, d rows of CHUNK_SIZE), so every
# inner loop runs across rows and vectorises: the log-densities through the
# register tiles of tiles.h, then the log-sum-exp, the responsibilities and
# the statistics as lane sums over rows.  Scratch: _tile_scratch
# (em_layout.pxi).


cdef enum:
    LANE_SUM = 0    # sum_i a_i
    LANE_DOT = 1    # sum_i a_i b_i
    LANE_WSQ = 2    # sum_i a_i (b_i - m)^2


cdef inline double _lanes(int mode, const floating* a, const floating* b, double m,
                          Py_ssize_t n) noexcept nogil:
    """A sum over i < n (``mode``: LANE_SUM, LANE_DOT or LANE_WSQ) in LANES
    interleaved partial sums (the tail i >= n - n % LANES goes to the
    first), combined pairwise as a fixed tree: the order is fixed by the
    code, not by the compiler or the thread count.  Always inlined with a
    literal ``mode``, so the mode tests compile away.  float terms are
    summed in double as well."""
    cdef double s[LANES]
    cdef double t
    cdef Py_ssize_t c, i, l, w, nl = n - n % LANES
    for l in range(LANES):
        s[l] = 0.0
    for c in range(n // LANES):
        i = c * LANES
        for l in range(LANES):
            if mode == LANE_SUM:
                s[l] = s[l] + a[i + l]
            elif mode == LANE_DOT:
                s[l] = s[l] + <double> a[i + l] * b[i + l]
            else:
                t = b[i + l] - m
                s[l] = s[l] + a[i + l] * t * t
    for i in range(nl, n):
        if mode == LANE_SUM:
            s[0] = s[0] + a[i]
        elif mode == LANE_DOT:
            s[0] = s[0] + <double> a[i] * b[i]
        else:
            t = b[i] - m
            s[0] = s[0] + a[i] * t * t
    w = LANES // 2
    while w > 0:
        for l in range(w):
            s[l] = s[l] + s[l + w]
        w //= 2
    return s[0]


cdef void _small_logp(
    int cov_type,
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN full (K, d, d) upper P_k | tied (d, d) | diag (K, d)
                                #    | sph. (K,)
    const floating* shifted,    # IN tied: (K, d) (mu_k - c) P
    const floating* center,     # IN tied: (d,) centre c
    const double* log_norm,     # IN (K,)
    double* T,                  # scratch (_tile_scratch(K, d, FEATURE_LD)); OUT at .xt
                                #   x^T, at .e the log-densities
) noexcept nogil:
    """Weighted log-densities of a chunk, component-major (full and tied:
    d <= SMALL_D; diag and spherical: d <= WIDE_D).

    Every inner loop runs over the chunk's rows (up to SMALL_D with d a literal), so the
    compiler vectorises across rows: x^T (d x C), then per component the
    log-density E_ki = log w_k + log N(x_i | mu_k, Sigma_k) (full: q_i =
    ||(x_i - mu_k) P_k||^2; tied: ||y_i - s_k||^2 with y = (x - c) P computed
    once per row, s_k = (mu_k - c) P; diag: sum_j ((x_ij - mu_kj) p_kj)^2;
    spherical: p_k^2 ||x_i - mu_k||^2).  Rows C..Cp (Cp: C rounded up to
    ROW_TILE) are zero padding: computed, never used.
    """
    cdef Py_ssize_t i, j, k, l, k0, c, nk
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef double Pk[SMALL_D * SMALL_D]
    cdef double mk[SMALL_D]
    cdef double lnk[QDIAG_KB]
    cdef double sc[QDIAG_KB]
    cdef TileScratch L = _tile_scratch(K, d, FEATURE_LD)
    cdef double* XT = T + L.xt
    cdef double* E = T + L.e
    cdef double* Dm = T + L.dm                      # centres and scales of fg_tile_qdiag
    cdef double* W = T + L.w                        # tied: y

    transpose_chunk(X, C, Cp, d, XT, FEATURE_LD)
    if cov_type == COV_TIED:
        # y = (x - c) P once per row: the components differ by a shift only.
        for l in range(d):
            mk[l] = center[l]
            for j in range(d):
                Pk[l * d + j] = prec[l * d + j]
        fg_tile_q(XT, FEATURE_LD, Pk, mk, Cp, <int> d, 0.0, 1.0, E, W)
    elif cov_type == COV_FULL:
        for k in range(K):
            # centre first: (x - mu_k) P_k keeps precision when |x| >> spread
            for l in range(d):
                mk[l] = means[k * d + l]
                for j in range(d):
                    Pk[l * d + j] = prec[k * d * d + l * d + j]
            fg_tile_q(XT, FEATURE_LD, Pk, mk, Cp, <int> d, log_norm[k], 1.0,
                      E + k * CHUNK_SIZE, NULL)
        return
    # tied (shifts of y), diag, spherical: QDIAG_KB components a call, any
    # d; their centres and diag scales (in double) go to Dm.
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> QDIAG_KB, K - k0)
        for c in range(nk):
            k = k0 + c
            lnk[c] = log_norm[k]
            sc[c] = <double> prec[k] * prec[k] if cov_type == COV_SPHERICAL else 1.0
            for l in range(d):
                Dm[c * d + l] = shifted[k * d + l] if cov_type == COV_TIED else means[k * d + l]
                if cov_type == COV_DIAG:
                    Dm[(QDIAG_KB + c) * d + l] = prec[k * d + l]
        fg_tile_qdiag(FG_TILE_SCALE if cov_type == COV_DIAG else FG_TILE_SHIFT, <int> nk,
                      W if cov_type == COV_TIED else XT, FEATURE_LD, Dm + QDIAG_KB * d,
                      Dm, Cp, <int> d, lnk, sc, E + k0 * CHUNK_SIZE, CHUNK_SIZE)
        k0 += nk


cdef inline void _full_statistics(
    const copy_t* e,            # IN (Cp,) s_i r_ik of one component, 0 on padding
    const copy_t* XT, Py_ssize_t ld,   # IN (d, ld) the chunk feature-major
    const floating* X,          # IN (C, d) the chunk row-major
    const copy_t* m,            # IN (d,) the component's centre m_k
    Py_ssize_t C, Py_ssize_t Cp, Py_ssize_t d,
    copy_t* Dm,                 # scratch (d, ld)
    copy_t* G,                  # scratch (CHUNK_SIZE, SMALL_D)
    copy_t* rg,                 # scratch (CHUNK_SIZE,)
    double* accS1,              # IN/OUT (d,) sum_i r_i x_i
    double* accS2,              # IN/OUT (d(d+1)/2,) packed sum_i r_i (x_i - m)(x_i - m)^T
) noexcept nogil:
    """A 'full' component's first moments and scatter over a chunk of the
    component-major E-step (d <= SMALL_D), in the copy's precision with
    double sums."""
    cdef Py_ssize_t i, a, nz = 0
    cdef double s1[SMALL_D]
    if d >= GATHER_MIN_FEATURES:
        for i in range(C):
            nz += e[i] != 0.0
    # Gathering pays from GATHER_MIN_FEATURES on (see tuning.h).
    if 2 * nz > C or d < GATHER_MIN_FEATURES:
        for a in range(d):
            accS1[a] += _lanes(LANE_DOT, e, XT + a * ld, 0.0, C)
        for a in range(d):
            for i in range(Cp):
                Dm[a * ld + i] = XT[a * ld + i] - m[a]
        if copy_t is float:
            fg_scatter_lower_f(e, Dm, ld, Cp, <int> d, accS2)
        else:
            fg_scatter_lower(e, Dm, ld, Cp, <int> d, accS2)
    elif nz > 0:
        # Most r_ik are exactly 0 (separated clusters): the first moments
        # and the scatter over the other rows only, gathered row-major
        # (their r in rg); the rest would add exact zeros.
        for a in range(d):
            s1[a] = 0.0
        nz = 0
        for i in range(C):
            if e[i] != 0.0:
                rg[nz] = e[i]
                for a in range(d):
                    s1[a] = s1[a] + <double> e[i] * X[i * d + a]
                    G[nz * SMALL_D + a] = X[i * d + a] - m[a]
                for a in range(d, SMALL_D):
                    G[nz * SMALL_D + a] = 0.0
                nz += 1
        for a in range(d):
            accS1[a] += s1[a]
        if copy_t is float:
            fg_scatter_rows_f(G, SMALL_D, rg, <int> nz, <int> d, accS2)
        else:
            fg_scatter_rows(G, SMALL_D, rg, <int> nz, <int> d, accS2)


cdef inline double _chunk_responsibilities(
    copy_t* E,                  # IN/OUT (K, CHUNK) log-densities -> s_i r_ik
    copy_t* mx,                 # OUT (CHUNK,) row max
    copy_t* tot,                # OUT (CHUNK,) s_i / sum_k exp(lp_ik - max_i)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t Cp, Py_ssize_t K,
    double* accN,               # IN/OUT (K,) sum_i s_i r_ik
) noexcept nogil:
    """The log-sum-exp of a component-major chunk (rows C..Cp are padding)
    and its responsibilities, in the copy's precision (fg_expf for float):
    max_i over k, e_ik = exp(lp_ik - max_i), tot_i = s_i / sum_k e_ik,
    E_ik := e_ik tot_i (0 on padding rows and on rows with no density, max
    -inf), and N_k += sum_i E_ik in double.  Returns sum_i s_i (max_i + log
    sum_k e_ik) in double, row by row in order."""
    cdef Py_ssize_t i, k
    cdef double wi, ll = 0.0
    cdef copy_t* e
    for i in range(Cp):
        mx[i] = E[i]
        tot[i] = 0.0
    for k in range(1, K):
        e = E + k * CHUNK_SIZE
        for i in range(Cp):
            mx[i] = e[i] if e[i] > mx[i] else mx[i]
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for i in range(Cp):
            if copy_t is float:
                e[i] = fg_expf(e[i] - mx[i])
            else:
                e[i] = fg_exp(e[i] - mx[i])
            tot[i] = tot[i] + e[i]
    for i in range(C):
        wi = sw[i] if sw != NULL else 1.0
        if mx[i] == -INFINITY:
            # No component gives this row any density: it cannot inform the
            # update, and its log-likelihood is -inf.
            for k in range(K):
                E[k * CHUNK_SIZE + i] = 0.0
            tot[i] = 0.0
            ll += -INFINITY if wi > 0 else 0.0
            continue
        if wi != 0.0:
            ll += wi * (<double> mx[i] + log(<double> tot[i]))
        tot[i] = <copy_t> wi / tot[i]
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for i in range(C):
            e[i] = e[i] * tot[i]
        # Padding rows (x = 0) take no part, even where their own
        # log-sum-exp was NaN (every density zero at the origin).
        for i in range(C, Cp):
            e[i] = 0.0
        accN[k] += _lanes(LANE_SUM, e, <copy_t*> NULL, 0.0, C)
    return ll


cdef double _small_estep(
    int cov_type,
    const floating* X,          # IN (C, d)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d) means = centres m_k
    const floating* prec,       # IN as _small_logp
    const floating* shifted,    # IN tied: (K, d) (mu_k - c) P
    const floating* center,     # IN tied: (d,) centre c
    const double* log_norm,     # IN (K,)
    double* T,                  # scratch (_tile_scratch(K, d, FEATURE_LD))
    double* accN,               # IN/OUT (K,)
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT full (K, d(d+1)/2) | tied (d(d+1)/2) packed
                                #        lower triangles | diag/sph. (K, d)
) noexcept nogil:
    """Whole E-step and statistics of a chunk, component-major (the sizes
    of ``_small_logp``).

    The log-densities from ``_small_logp``, then, across rows, the row
    max, e_ik = exp(lp_ik - max_i), r_ik = s_i e_ik / sum_k e_ik, and the
    statistics as lane sums over the C real rows.
    Returns sum_i s_i log p(x_i).
    """
    cdef Py_ssize_t i, k, a, nz
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef double t, ll
    cdef double mk[SMALL_D]
    cdef double s1[WIDE_D]
    cdef double s2[WIDE_D]
    cdef double mw[WIDE_D]
    cdef TileScratch L = _tile_scratch(K, d, FEATURE_LD)
    cdef double* XT = T + L.xt
    cdef double* E = T + L.e
    cdef double* mx = T + L.mx
    cdef double* tot = T + L.tot
    cdef double* Dm = T + L.dm
    cdef double* e

    _small_logp(cov_type, X, C, d, K, means, prec, shifted, center, log_norm, T)
    ll = _chunk_responsibilities(E, mx, tot, sw, C, Cp, K, accN)
    if cov_type == COV_TIED:
        # sum_k r_ik = 1: the tied scatter needs the weights and one centre;
        # the M-step moves it to the new means.
        for a in range(d):
            mk[a] = center[a]
            for i in range(Cp):
                Dm[a * FEATURE_LD + i] = XT[a * FEATURE_LD + i] - mk[a]
        for i in range(Cp):
            mx[i] = (sw[i] if sw != NULL else 1.0) if i < C else 0.0
        fg_scatter_lower(mx, Dm, FEATURE_LD, Cp, <int> d, accS2)
    for k in range(K):
        e = E + k * CHUNK_SIZE
        if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
            nz = 0
            for i in range(C):
                nz += e[i] != 0.0
            if 2 * nz <= C:
                # Mostly exact zeros (separated clusters): row by row over
                # the other rows, each a vector over features (row-major X).
                # (local sums: they cannot alias X, so the loops vectorise)
                for a in range(d):
                    s1[a] = 0.0
                    s2[a] = 0.0
                    mw[a] = means[k * d + a]
                for i in range(C):
                    if e[i] != 0.0:
                        for a in range(d):
                            t = X[i * d + a] - mw[a]
                            s1[a] = s1[a] + e[i] * X[i * d + a]
                            s2[a] = s2[a] + e[i] * (t * t)
                for a in range(d):
                    accS1[k * d + a] += s1[a]
                    accS2[k * d + a] += s2[a]
                continue
        if cov_type == COV_FULL:
            for a in range(d):
                mk[a] = means[k * d + a]
            _full_statistics(e, XT, FEATURE_LD, X, mk, C, Cp, d, Dm,
                             T + L.w, mx, accS1 + k * d,
                             accS2 + k * _tri(d))
            continue
        for a in range(d):
            accS1[k * d + a] += _lanes(LANE_DOT, e, XT + a * FEATURE_LD, 0.0, C)
        if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
            for a in range(d):
                accS2[k * d + a] += _lanes(LANE_WSQ, e, XT + a * FEATURE_LD,
                                           means[k * d + a], C)
    return ll


cdef double _small_estep_full_f(
    const float* X,             # IN (C, d)
    const float* sw,            # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const float* means,         # IN (K, d) means = centres m_k
    const float* prec,          # IN (K, d, d) upper P_k
    const double* log_norm,     # IN (K,)
    float* T,                   # scratch (_tile_scratch(K, d, FEATURE_LD_F))
    double* accN,               # IN/OUT (K,)
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT (K, d(d+1)/2) packed lower triangles
) noexcept nogil:
    """``_small_estep`` for 'full' float32 data, d <= SMALL_D, in float:
    the same steps on float tiles (twice the rows per SIMD register), with
    float exp; the log-likelihood and every sum over rows (N, S1 and the
    scatter's lane sums) are accumulated in double."""
    cdef Py_ssize_t i, k, a, l
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef double ll
    cdef float Pk[SMALL_D * SMALL_D]
    cdef float mk[SMALL_D]
    cdef TileScratch L = _tile_scratch(K, d, FEATURE_LD_F)
    cdef float* XT = T + L.xt
    cdef float* E = T + L.e
    cdef float* mx = T + L.mx
    cdef float* tot = T + L.tot
    cdef float* Dm = T + L.dm
    cdef float* G = T + L.w
    cdef float* e

    transpose_chunk(X, C, Cp, d, XT, FEATURE_LD_F)
    for k in range(K):
        for l in range(d):
            mk[l] = means[k * d + l]
            for a in range(d):
                Pk[l * d + a] = prec[k * d * d + l * d + a]
        fg_tile_q_f(XT, FEATURE_LD_F, Pk, mk, Cp, <int> d, <float> log_norm[k], 1.0,
                    E + k * CHUNK_SIZE, NULL)
    ll = _chunk_responsibilities(E, mx, tot, sw, C, Cp, K, accN)
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for a in range(d):
            mk[a] = means[k * d + a]
        _full_statistics(e, XT, FEATURE_LD_F, X, mk, C, Cp, d, Dm, G, mx,
                         accS1 + k * d, accS2 + k * _tri(d))
    return ll


cdef void _predict_small_chunk(
    double* T,                  # IN the scratch of _small_logp (its log-densities); clobbered
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    Py_ssize_t* lab,            # OUT (C,) or NULL
    double* lpn,                # OUT (C,) or NULL
    floating* rsp,              # OUT (C, K) or NULL
) noexcept nogil:
    """``_predict_rows`` for component-major log-densities: the same
    outputs, with the max, argmax, exp and sums running across rows (they
    vectorise)."""
    cdef Py_ssize_t i, k
    cdef double v
    cdef double* e
    cdef TileScratch L = _tile_scratch(K, d, FEATURE_LD)
    cdef double* E = T + L.e
    cdef double* mx = T + L.mx                  # row max, then the shift used
    cdef double* tot = T + L.tot
    cdef double* best = T + L.dm                # argmax as a double (blends)
    for i in range(C):
        mx[i] = -INFINITY
        best[i] = 0.0
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for i in range(C):
            # NaN is never > mx (as in _predict_rows)
            best[i] = <double> k if e[i] > mx[i] else best[i]
            mx[i] = e[i] if e[i] > mx[i] else mx[i]
    if lab != NULL:
        for i in range(C):
            lab[i] = <Py_ssize_t> best[i]
    if lpn == NULL and rsp == NULL:
        return
    for i in range(C):
        tot[i] = 0.0
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for i in range(C):
            # rows with no density (mx = -inf) get all zeros here
            v = e[i] - mx[i] if e[i] > -INFINITY else -INFINITY
            e[i] = fg_exp(v) if v == v else 0.0
            tot[i] = tot[i] + e[i]
    for i in range(C):
        if mx[i] == -INFINITY:
            if lpn != NULL:
                lpn[i] = -INFINITY
            if rsp != NULL:
                for k in range(K):
                    rsp[i * K + k] = <floating> (1.0 / K)
        else:
            if lpn != NULL:
                lpn[i] = mx[i] + log(tot[i])
            if rsp != NULL:
                for k in range(K):
                    rsp[i * K + k] = <floating> (E[k * CHUNK_SIZE + i] / tot[i])
