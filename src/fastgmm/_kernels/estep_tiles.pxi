# Included by _em.pyx: the component-major E-step path (ESTEP_TILES).
#
# A chunk is copied feature-major (x^T, d rows of CHUNK_SIZE), so every
# inner loop runs across rows and vectorises: the log-densities through the
# register tiles of tiles.h, then the log-sum-exp, the responsibilities and
# the statistics as sums over rows (register tiles and lane sums).  Scratch: _tile_scratch
# (em_layout.pxi).


cdef inline double _lane_sum(const floating* a, Py_ssize_t n) noexcept nogil:
    """sum_i a_i over i < n in LANES interleaved partial sums (the tail
    i >= n - n % LANES goes to the first), combined pairwise as a fixed
    tree: the order is fixed by the code, not by the compiler or the
    thread count.  float terms are summed in double as well."""
    cdef double s[LANES]
    cdef Py_ssize_t c, i, l, w, nl = n - n % LANES
    for l in range(LANES):
        s[l] = 0.0
    for c in range(n // LANES):
        i = c * LANES
        for l in range(LANES):
            s[l] = s[l] + a[i + l]
    for i in range(nl, n):
        s[0] = s[0] + a[i]
    w = LANES // 2
    while w > 0:
        for l in range(w):
            s[l] = s[l] + s[l + w]
        w //= 2
    return s[0]


cdef inline Py_ssize_t _copy_ld(copy_t* T) noexcept nogil:
    """The feature-major stride of a copy of this type (``T`` only picks it)."""
    if copy_t is float:
        return FEATURE_LD_F
    return FEATURE_LD


cdef void _small_logp(
    int cov_type,
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN full (K, d, d) upper P_k | tied (d, d) | diag (K, d)
                                #    | sph. (K,)
    const floating* shifted,    # IN tied: (K, d) (mu_k - c) P
    const floating* center,     # IN (d,) tied: the centre c of y
    const double* log_norm,     # IN (K,)
    copy_t* T,                  # scratch (_tile_scratch(K, d, _copy_ld(T))); OUT at
                                #   .xt x^T, at .e the log-densities
) noexcept nogil:
    """Weighted log-densities of a chunk, component-major (full and tied:
    d <= SMALL_D; diag and spherical: d <= WIDE_D), in the copy's precision
    (float for float32 data, double for float64).

    Every inner loop runs over the chunk's rows (up to SMALL_D with d a literal), so the
    compiler vectorises across rows: x^T (d x C), then per component the
    log-density E_ki = log w_k + log N(x_i | mu_k, Sigma_k) (full: q_i =
    ||(x_i - mu_k) P_k||^2; tied: ||y_i - s_k||^2 with y = (x - c) P computed
    once per row, s_k = (mu_k - c) P; diag: sum_j ((x_ij - mu_kj) p_kj)^2;
    spherical: p_k^2 ||x_i - mu_k||^2: x - mu_k is exact where |x| >>
    spread).  Rows C..Cp (Cp: C rounded up to ROW_TILE) are zero padding:
    computed, never used.
    """
    cdef Py_ssize_t i, j, k, l, k0, c, nk
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef Py_ssize_t ld = _copy_ld(T)
    cdef copy_t Pk[SMALL_D * SMALL_D]
    cdef copy_t mk[SMALL_D]
    cdef copy_t lnk[QDIAG_KB]
    cdef copy_t sc[QDIAG_KB]
    cdef TileScratch L = _tile_scratch(K, d, ld)
    cdef copy_t* XT = T + L.xt
    cdef copy_t* E = T + L.e
    cdef copy_t* Dm = T + L.dm                      # centres and scales of fg_tile_qdiag
    cdef copy_t* W = T + L.w                        # tied: y

    transpose_chunk(X, C, Cp, d, XT, ld)
    if cov_type == COV_TIED:
        # y = (x - c) P once per row: the components differ by a shift only.
        for l in range(d):
            mk[l] = center[l]
            for j in range(d):
                Pk[l * d + j] = prec[l * d + j]
        if copy_t is float:
            fg_tile_q_f(XT, ld, Pk, mk, Cp, <int> d, 0.0, 1.0, E, W)
        else:
            fg_tile_q(XT, ld, Pk, mk, Cp, <int> d, 0.0, 1.0, E, W)
    elif cov_type == COV_FULL:
        for k in range(K):
            # centre first: (x - mu_k) P_k keeps precision when |x| >> spread
            for l in range(d):
                mk[l] = means[k * d + l]
                for j in range(d):
                    Pk[l * d + j] = prec[k * d * d + l * d + j]
            if copy_t is float:
                fg_tile_q_f(XT, ld, Pk, mk, Cp, <int> d, <float> log_norm[k], 1.0,
                            E + k * CHUNK_SIZE, NULL)
            else:
                fg_tile_q(XT, ld, Pk, mk, Cp, <int> d, log_norm[k], 1.0,
                          E + k * CHUNK_SIZE, NULL)
        return
    # tied (shifts of y), diag, spherical: QDIAG_KB components a call, any
    # d; their centres and diag scales go to Dm.
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> QDIAG_KB, K - k0)
        for c in range(nk):
            k = k0 + c
            lnk[c] = <copy_t> log_norm[k]
            sc[c] = <copy_t> prec[k] * <copy_t> prec[k] if cov_type == COV_SPHERICAL else 1.0
            for l in range(d):
                if cov_type == COV_TIED:
                    Dm[c * d + l] = shifted[k * d + l]
                else:
                    Dm[c * d + l] = means[k * d + l]
                if cov_type == COV_DIAG:
                    Dm[(QDIAG_KB + c) * d + l] = prec[k * d + l]
        if copy_t is float:
            fg_tile_qdiag_f(FG_TILE_SCALE if cov_type == COV_DIAG else FG_TILE_SHIFT,
                            <int> nk, W if cov_type == COV_TIED else XT, ld,
                            Dm + QDIAG_KB * d, Dm, Cp, <int> d, lnk, sc,
                            E + k0 * CHUNK_SIZE, CHUNK_SIZE)
        else:
            fg_tile_qdiag(FG_TILE_SCALE if cov_type == COV_DIAG else FG_TILE_SHIFT,
                          <int> nk, W if cov_type == COV_TIED else XT, ld,
                          Dm + QDIAG_KB * d, Dm, Cp, <int> d, lnk, sc,
                          E + k0 * CHUNK_SIZE, CHUNK_SIZE)
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
    cdef double nk
    cdef double s1[SMALL_D]
    cdef const copy_t* ep[1]
    if d >= GATHER_MIN_FEATURES:
        for i in range(C):
            nz += e[i] != 0.0
    # Gathering pays from GATHER_MIN_FEATURES on (see tuning.h).
    if 2 * nz > C or d < GATHER_MIN_FEATURES:
        for a in range(d):
            for i in range(Cp):
                Dm[a * ld + i] = XT[a * ld + i] - m[a]
        # sum r x = sum r (x - m) + N m: about m, a float sum keeps the
        # digits a large offset would take
        ep[0] = e
        if copy_t is float:
            fg_moments_f(1, ep, Dm, NULL, ld, Cp, <int> d, s1, NULL)
        else:
            fg_moments(1, ep, Dm, NULL, ld, Cp, <int> d, s1, NULL)
        nk = _lane_sum(e, C)
        for a in range(d):
            accS1[a] += s1[a] + nk * <double> m[a]
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
        accN[k] += _lane_sum(e, C)
    return ll


cdef inline bint _far_from_centre(
    int cov_type,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN diag (K, d) / spherical (K,) precision factors
    const floating* center,     # IN (d,) c
    Py_ssize_t k, Py_ssize_t d, bint single,
) noexcept nogil:
    """Whether component k's mean is too far from c, in its own standard
    deviations, for ``_dense_moments`` in this precision (``single``: float
    copies): max_a ((m_ka - c_a) p_ka)^2 > MOMENTS_MAX_SHIFT2(_F)."""
    cdef Py_ssize_t a
    cdef double t, worst = 0.0
    for a in range(d):
        t = (<double> means[k * d + a] - <double> center[a]) * \
            <double> (prec[k * d + a] if cov_type == COV_DIAG else prec[k])
        worst = max(worst, t * t)
    return worst > (MOMENTS_MAX_SHIFT2_F if single else MOMENTS_MAX_SHIFT2)


cdef inline void _dense_moments(
    int ng,
    const copy_t** ep,          # IN (ng,) the groups' s_i r_ik rows (Cp entries)
    const Py_ssize_t* idx,      # IN (ng,) their components
    const copy_t* Y, const copy_t* Y2, Py_ssize_t ld,   # IN (d, ld) x - c, (x - c)^2
    Py_ssize_t C, Py_ssize_t Cp, Py_ssize_t d,
    const floating* means,      # IN (K, d) the centres m_k of S2
    const floating* center,     # IN (d,) c
    double* m1, double* m2,     # scratch (QDIAG_KB * d,) each
    double* accS1,              # IN/OUT (K, d) sum_i r_ik x_i
    double* accS2,              # IN/OUT (K, d) sum_i r_ik (x_i - m_k)^2
) noexcept nogil:
    """The diag/spherical statistics of ``ng`` <= QDIAG_KB components with
    dense responsibilities: the moments about c through the register tiles
    (``fg_moments``, two multiply-adds per row, component and feature),
    then moved to x and to m_k in double, per chunk: with N the chunk's
    sum_i r_ik and delta = m_k - c,
    sum r x = sum r y + N c and sum r (x - m)^2 = sum r y^2 - 2 delta sum r y
    + N delta^2.  c is the mixture's mean, so the data's offset cancels
    first; the shift costs ~eps (delta / sigma)^2 of the variance, which
    ``_far_from_centre`` bounds (the caller sums the others exactly)."""
    cdef Py_ssize_t g, k, a
    cdef double nck, dm
    if copy_t is float:
        fg_moments_f(<int> ng, ep, Y, Y2, ld, Cp, <int> d, m1, m2)
    else:
        fg_moments(<int> ng, ep, Y, Y2, ld, Cp, <int> d, m1, m2)
    for g in range(ng):
        k = idx[g]
        nck = _lane_sum(ep[g], C)
        for a in range(d):
            dm = <double> means[k * d + a] - <double> center[a]
            accS1[k * d + a] += m1[g * d + a] + nck * <double> center[a]
            accS2[k * d + a] += (m2[g * d + a] - 2.0 * dm * m1[g * d + a]) + nck * dm * dm


cdef double _small_estep(
    int cov_type,
    const floating* X,          # IN (C, d)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d) means = centres m_k
    const floating* prec,       # IN as _small_logp
    const floating* shifted,    # IN tied: (K, d) (mu_k - c) P
    const floating* center,     # IN (d,) centre c (as _small_logp)
    const double* log_norm,     # IN (K,)
    copy_t* T,                  # scratch (_tile_scratch(K, d, _copy_ld(T)))
    double* accN,               # IN/OUT (K,)
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT full (K, d(d+1)/2) | tied (d(d+1)/2) packed
                                #        lower triangles | diag/sph. (K, d)
) noexcept nogil:
    """Whole E-step and statistics of a chunk, component-major (the sizes
    of ``_small_logp``), in the copy's precision (float32 data: float
    tiles, twice the rows per SIMD register, and float exp) with every sum
    over rows (N, S1, the scatter and the moments), and the
    log-likelihood, accumulated in double.

    The log-densities from ``_small_logp``, then, across rows, the row
    max, e_ik = exp(lp_ik - max_i), r_ik = s_i e_ik / sum_k e_ik, and the
    statistics over the C real rows: 'full' and 'tied' scatters through
    the scatter tiles (and 'tied' first moments through ``fg_moments``);
    'diag' and 'spherical' components whose
    responsibilities are mostly nonzero through ``_dense_moments``, the
    others row by row over their nonzero rows.
    Returns sum_i s_i log p(x_i).
    """
    cdef Py_ssize_t i, k, a, nz, ng = 0
    cdef Py_ssize_t Cp = (C + ROW_TILE - 1) // ROW_TILE * ROW_TILE
    cdef Py_ssize_t ld = _copy_ld(T)
    cdef double t, ll
    cdef copy_t mk[SMALL_D]
    cdef double s1[WIDE_D]
    cdef double s2[WIDE_D]
    cdef double mw[WIDE_D]
    cdef double m1[QDIAG_KB * WIDE_D]
    cdef double m2[QDIAG_KB * WIDE_D]
    cdef const copy_t* ep[QDIAG_KB]
    cdef Py_ssize_t idx[QDIAG_KB]
    cdef bint squared = False
    cdef TileScratch L = _tile_scratch(K, d, ld)
    cdef copy_t* XT = T + L.xt
    cdef copy_t* E = T + L.e
    cdef copy_t* mx = T + L.mx
    cdef copy_t* tot = T + L.tot
    cdef copy_t* Dm = T + L.dm
    cdef copy_t* Y2 = T + L.w                   # diag/sph.: (x - c)^2 (Dm: x - c)
    cdef copy_t* e

    _small_logp(cov_type, X, C, d, K, means, prec, shifted, center, log_norm, T)
    ll = _chunk_responsibilities(E, mx, tot, sw, C, Cp, K, accN)
    if cov_type == COV_TIED:
        # sum_k r_ik = 1: the tied scatter needs the weights and one centre;
        # the M-step moves it to the new means.
        for a in range(d):
            mk[a] = center[a]
            for i in range(Cp):
                Dm[a * ld + i] = XT[a * ld + i] - mk[a]
        for i in range(Cp):
            mx[i] = (sw[i] if sw != NULL else 1.0) if i < C else 0.0
        if copy_t is float:
            fg_scatter_lower_f(mx, Dm, ld, Cp, <int> d, accS2)
        else:
            fg_scatter_lower(mx, Dm, ld, Cp, <int> d, accS2)
    for k in range(K):
        e = E + k * CHUNK_SIZE
        if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
            nz = 0
            for i in range(C):
                nz += e[i] != 0.0
            if 2 * nz <= C or _far_from_centre(cov_type, means, prec, center, k, d,
                                               copy_t is float):
                # Mostly exact zeros (separated clusters), or a component
                # too far from c for _dense_moments' shift: exactly about
                # m_k, row by row over the nonzero rows, each a vector
                # over features (row-major X).
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
            if not squared:
                # y = x - c (Dm: its centres are used) and y^2, once
                for a in range(d):
                    for i in range(C):
                        Dm[a * ld + i] = XT[a * ld + i] - <copy_t> center[a]
                        Y2[a * ld + i] = Dm[a * ld + i] * Dm[a * ld + i]
                    for i in range(C, Cp):
                        Dm[a * ld + i] = 0.0
                        Y2[a * ld + i] = 0.0
                squared = True
            ep[ng] = e
            idx[ng] = k
            ng += 1
            if ng == QDIAG_KB:
                _dense_moments(<int> ng, ep, idx, Dm, Y2, ld, C, Cp, d, means, center,
                               m1, m2, accS1, accS2)
                ng = 0
            continue
        if cov_type == COV_FULL:
            for a in range(d):
                mk[a] = means[k * d + a]
            _full_statistics(e, XT, ld, X, mk, C, Cp, d, Dm,
                             T + L.w, mx, accS1 + k * d,
                             accS2 + k * _tri(d))
            continue
        # tied: the first moments about c (Dm, the scatter's centred copy:
        # a float sum of raw x would lose the digits a large offset
        # leaves), QDIAG_KB components a pass, moved back by N c in double
        ep[ng] = e
        ng += 1
        if ng == QDIAG_KB or k == K - 1:
            if copy_t is float:
                fg_moments_f(<int> ng, ep, Dm, NULL, ld, Cp, <int> d, m1, m2)
            else:
                fg_moments(<int> ng, ep, Dm, NULL, ld, Cp, <int> d, m1, m2)
            for i in range(ng):
                t = _lane_sum(ep[i], C)
                for a in range(d):
                    accS1[(k + 1 - ng + i) * d + a] += m1[i * d + a] + t * <double> mk[a]
            ng = 0
    if ng > 0:
        _dense_moments(<int> ng, ep, idx, Dm, Y2, ld, C, Cp, d, means, center,
                       m1, m2, accS1, accS2)
    return ll


cdef void _predict_small_chunk(
    copy_t* T,                  # IN the scratch of _small_logp (its log-densities); clobbered
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    Py_ssize_t* lab,            # OUT (C,) or NULL
    double* lpn,                # OUT (C,) or NULL
    floating* rsp,              # OUT (C, K) or NULL
) noexcept nogil:
    """``_predict_rows`` for component-major log-densities: the same
    outputs, with the max, argmax, exp and sums running across rows (they
    vectorise), in the copy's precision; log p(x) is formed in double."""
    cdef Py_ssize_t i, k
    cdef copy_t v
    cdef copy_t* e
    cdef TileScratch L = _tile_scratch(K, d, _copy_ld(T))
    cdef copy_t* E = T + L.e
    cdef copy_t* mx = T + L.mx                  # row max, then the shift used
    cdef copy_t* tot = T + L.tot
    cdef copy_t* best = T + L.dm                # argmax as a number (blends)
    for i in range(C):
        mx[i] = -INFINITY
        best[i] = 0.0
    for k in range(K):
        e = E + k * CHUNK_SIZE
        for i in range(C):
            # NaN is never > mx (as in _predict_rows)
            best[i] = <copy_t> k if e[i] > mx[i] else best[i]
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
            if copy_t is float:
                e[i] = fg_expf(v) if v == v else 0.0
            else:
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
                lpn[i] = <double> mx[i] + log(<double> tot[i])
            if rsp != NULL:
                for k in range(K):
                    rsp[i * K + k] = <floating> (E[k * CHUNK_SIZE + i] / tot[i])
