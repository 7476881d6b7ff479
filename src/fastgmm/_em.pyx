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
"""

from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset
from libc.math cimport exp, log, sqrt, INFINITY

from scipy.linalg.cython_blas cimport sgemm, dgemm, ssyrk, dsyrk, strmm, dtrmm

from ._openmp_helpers cimport omp_get_max_threads

from ._common cimport (floating, copy_t, CHUNK_SIZE, FEATURE_LD, FEATURE_LD_F,
                      pow2_blocks, stripe_first, stripe_stop, transpose_chunk)

cdef extern from "_vecmath.h" nogil:
    # exp that vectorises (AVX2+FMA build; libm's exp in the portable one)
    double fg_exp(double x)
    float fg_expf(float x)

from ._tiles cimport (FG_SMALL_D, FG_ROW_TILE, FG_TILE_SHIFT, FG_TILE_SCALE,
                      FG_QDIAG_KB, fg_tile_q, fg_tile_qdiag, fg_scatter_lower,
                      fg_scatter_rows, fg_tile_q_f, fg_scatter_lower_f,
                      fg_scatter_rows_f)

# Per-block accumulators may use this much memory, or 1/BLOCK_BUDGET_FRACTION
# of the input if that is larger: fit's extra memory must stay a few percent
# of the input (the fitted model itself is K d^2 numbers per array).
cdef Py_ssize_t BLOCK_BUDGET_BYTES = 1024 * 1024
cdef Py_ssize_t BLOCK_BUDGET_FRACTION = 32
# ... but at least this many blocks (rows permitting), so two threads
# always have work to share whatever the budget.  Not more: at 100,000 x 64
# with 32 full components a block is 0.55 MB, and four of them (plus the
# model) took a fit past the input + 10% it must stay within.
cdef Py_ssize_t MIN_BLOCKS = 2
# Up to this many features (without BLAS) the E-step runs component-major
# through the register-tiled kernels of _tiles.h, one copy per literal d.
DEF SMALL_D = 16
# The header's kernels are instantiated for d <= FG_SMALL_D: the same bound.
if SMALL_D != FG_SMALL_D:
    raise ImportError("fastgmm: SMALL_D in _em.pyx differs from FG_SMALL_D in _tiles.h")
# diag and spherical run component-major up to this many features whatever
# use_blas says (their tiles take any d; BLAS only ever served their first
# moments).
DEF WIDE_D = 64
# Rows the component-major E-step keeps in registers at once (one AVX-512
# register of floats, two of doubles); its scratch is padded to a multiple
# of it.
DEF ROW_TILE = 16
if ROW_TILE != FG_ROW_TILE:
    raise ImportError("fastgmm: ROW_TILE in _em.pyx differs from FG_ROW_TILE in _tiles.h")
# The small-d 'full' scatter gathers the rows with r_ik != 0 from this many
# features on (when they are at most half of the chunk).
DEF GATHER_MIN_FEATURES = 10
# Elements of the per-chunk product block (X - c) [P_1 .. P_G].
cdef Py_ssize_t GEMM_BLOCK_ELEMS = 32768
# 'full' with BLAS: below this many features one product (X - c) [P_1 .. P_G]
# per group beats K small triangular products (their call and packing
# overhead dominates); from it on, trmm's half-as-many flops win.
cdef Py_ssize_t TRMM_MIN_FEATURES = 32

cdef enum:
    COV_FULL = 0
    COV_TIED = 1
    COV_DIAG = 2
    COV_SPHERICAL = 3

cdef enum:
    RESP_ESTEP = 0   # responsibilities from the current parameters
    RESP_LABELS = 1  # one-hot responsibilities from hard labels
    RESP_GIVEN = 2   # responsibilities given by the caller

COVARIANCE_TYPES = {"full": COV_FULL, "tied": COV_TIED,
                    "diag": COV_DIAG, "spherical": COV_SPHERICAL}
CHUNK = CHUNK_SIZE


# --------------------------------------------------------------------------
# BLAS on row-major blocks.  A row-major (r x c) array is the column-major
# (c x r) array in the same memory, so each call below is the transposed
# column-major form of the row-major product named in its docstring.
# --------------------------------------------------------------------------

cdef inline void _rowmajor_times_upper(
    floating* D,            # IN/OUT (C, d): D := D @ P
    const floating* P,      # IN (d, d) upper triangular, row-major
    int C, int d,
) noexcept nogil:
    """D := D @ P for upper-triangular P (column-major: D^T := P^T D^T)."""
    cdef char side = b'L', uplo = b'L', trans = b'N', diag = b'N'
    cdef floating one = 1.0
    if floating is float:
        strmm(&side, &uplo, &trans, &diag, &d, &C, &one, <float*> P, &d, D, &d)
    else:
        dtrmm(&side, &uplo, &trans, &diag, &d, &C, &one, <double*> P, &d, D, &d)


cdef inline void _gram_lower(
    const floating* W,      # IN (C, d) row-major
    floating* G,            # OUT (d, d): lower triangle (row-major) of W^T W
    int C, int d,
) noexcept nogil:
    """G := W^T W; only G[a, b] with a >= b (row-major) is written."""
    cdef char uplo = b'U', trans = b'N'
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        ssyrk(&uplo, &trans, &d, &C, &one, <float*> W, &d, &zero, G, &d)
    else:
        dsyrk(&uplo, &trans, &d, &C, &one, <double*> W, &d, &zero, G, &d)


cdef inline void _gemm(
    char ta, char tb, int m, int n, int k,
    const floating* A, int lda, const floating* B, int ldb,
    floating* Cm, int ldc,
) noexcept nogil:
    """Column-major C := op(A) op(B) in the data's precision."""
    cdef floating one = 1.0, zero = 0.0
    if floating is float:
        sgemm(&ta, &tb, &m, &n, &k, &one, <float*> A, &lda, <float*> B, &ldb,
              &zero, Cm, &ldc)
    else:
        dgemm(&ta, &tb, &m, &n, &k, &one, <double*> A, &lda, <double*> B, &ldb,
              &zero, Cm, &ldc)


cdef inline void _resp_t_x(
    const floating* R,      # IN (C, K) row-major
    const floating* X,      # IN (C, d) row-major
    floating* out,          # OUT (K, d) = R^T X
    int C, int d, int K,
) noexcept nogil:
    """out := R^T X (column-major: out^T := X^T R)."""
    _gemm(c'N', c'T', d, K, C, X, d, R, K, out, d)


cdef inline void _rows_times_block(
    const floating* D,      # IN (C, d) row-major
    const floating* B,      # IN (d, M) row-major block with leading dimension ldb
    floating* Y,            # OUT (C, M) = D @ B
    int C, int d, int M, int ldb,
) noexcept nogil:
    """Y := D @ B (column-major: Y^T := B^T D^T)."""
    _gemm(c'N', c'N', M, C, d, B, ldb, D, d, Y, M)


cdef inline bint _full_gemm(int cov_type, bint use_blas, Py_ssize_t d) noexcept nogil:
    return cov_type == COV_FULL and use_blas and d < TRMM_MIN_FEATURES


cdef inline bint _component_major(int cov_type, bint use_blas, Py_ssize_t d) noexcept nogil:
    """Whether a chunk's E-step runs component-major (_small_logp)."""
    if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
        return d <= WIDE_D
    return not use_blas and d <= SMALL_D


cdef inline Py_ssize_t _group_size(Py_ssize_t K, Py_ssize_t d) noexcept nogil:
    """Components per product so a chunk's (C x G*d) block stays in L2."""
    return max(1, min(K, GEMM_BLOCK_ELEMS // (CHUNK_SIZE * d)))


# --------------------------------------------------------------------------
# Per-chunk workers
# --------------------------------------------------------------------------

cdef inline void _full_logp_rows(
    const floating* X,          # IN (C, d)
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means,      # IN (K, d)
    const floating* prec,       # IN (K, d, d) upper-triangular P_k
    const double* log_norm,     # IN (K,)
    double* logp,               # OUT (C, K)
) noexcept nogil:
    """q = ||(x - mu_k) P_k||^2 row by row; inlined with constant d."""
    cdef Py_ssize_t i, j, k, l
    cdef double diff[SMALL_D]
    cdef double q, y
    cdef const floating* P
    for i in range(C):
        for k in range(K):
            P = prec + k * d * d
            for l in range(d):
                diff[l] = <double> X[i * d + l] - means[k * d + l]
            q = 0.0
            for j in range(d):
                y = 0.0
                for l in range(j + 1):
                    y = y + diff[l] * P[l * d + j]
                q = q + y * y
            logp[i * K + k] = log_norm[k] - 0.5 * q


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


cdef enum:
    LANE_SUM = 0    # sum_i a_i
    LANE_DOT = 1    # sum_i a_i b_i
    LANE_WSQ = 2    # sum_i a_i (b_i - m)^2

# Interleaved partial sums of _lanes: four independent 8-wide SIMD chains
# with AVX-512 (eight with AVX2), so the sum runs at FMA throughput, not
# latency.
DEF LANES = 32


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
    cdef Py_ssize_t i, l, w, nl = n - n % LANES
    for l in range(LANES):
        s[l] = 0.0
    for i in range(0, nl, LANES):
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
    const floating* prec,       # IN full (K, d, d) upper P_k | tied (d, d) | diag (K, d) | sph. (K,)
    const floating* shifted,    # IN tied: (K, d) (mu_k - c) P
    const floating* center,     # IN tied: (d,) centre c
    const double* log_norm,     # IN (K,)
    double* T,                  # OUT x^T (d, FEATURE_LD), E (K, CHUNK); then scratch (see _small_estep)
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
    cdef double lnk[FG_QDIAG_KB]
    cdef double sc[FG_QDIAG_KB]
    cdef double* XT = T                             # (d, CHUNK) x^T
    cdef double* E = XT + d * FEATURE_LD            # (K, CHUNK) log p
    cdef double* Dm = E + K * CHUNK_SIZE + 2 * CHUNK_SIZE   # (d, CHUNK) x - m_k (tied: x - c)
    cdef double* W = Dm + d * FEATURE_LD            # (d, CHUNK) tied: y

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
    # tied (shifts of y), diag, spherical: FG_QDIAG_KB components a call, any
    # d; their centres and diag scales (in double) go to Dm.
    k0 = 0
    while k0 < K:
        nk = min(<Py_ssize_t> FG_QDIAG_KB, K - k0)
        for c in range(nk):
            k = k0 + c
            lnk[c] = log_norm[k]
            sc[c] = <double> prec[k] * prec[k] if cov_type == COV_SPHERICAL else 1.0
            for l in range(d):
                Dm[c * d + l] = shifted[k * d + l] if cov_type == COV_TIED else means[k * d + l]
                if cov_type == COV_DIAG:
                    Dm[(FG_QDIAG_KB + c) * d + l] = prec[k * d + l]
        fg_tile_qdiag(FG_TILE_SCALE if cov_type == COV_DIAG else FG_TILE_SHIFT, <int> nk,
                      W if cov_type == COV_TIED else XT, FEATURE_LD, Dm + FG_QDIAG_KB * d,
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
    # Gathering pays from about 10 features (measured: separated blobs,
    # 300,000 rows, K=16, float64, one thread, AVX-512: gathering from 4
    # features took d=6 from 26 to 32 ms a pass, d=8 34 -> 40).
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
    double* T,                  # scratch (K + 2 + SMALL_D) * CHUNK_SIZE + 3d * FEATURE_LD
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
    cdef double* XT = T                             # (d, CHUNK) x^T
    cdef double* E = XT + d * FEATURE_LD            # (K, CHUNK) log p, then r
    cdef double* mx = E + K * CHUNK_SIZE            # (CHUNK,) row max
    cdef double* tot = mx + CHUNK_SIZE              # (CHUNK,) sum_k e, then s/sum
    cdef double* Dm = tot + CHUNK_SIZE              # (d, CHUNK) x - m_k (tied: x - c)
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
                             Dm + d * FEATURE_LD, mx, accS1 + k * d,
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
    float* T,                   # scratch (K + 2 + SMALL_D) * CHUNK_SIZE + 2d * FEATURE_LD_F
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
    cdef float* XT = T                              # (d, CHUNK) x^T
    cdef float* E = XT + d * FEATURE_LD_F           # (K, CHUNK) log p, then r
    cdef float* mx = E + K * CHUNK_SIZE             # (CHUNK,) row max
    cdef float* tot = mx + CHUNK_SIZE               # (CHUNK,) sum_k e, then s/sum
    cdef float* Dm = tot + CHUNK_SIZE               # (d, CHUNK) x - m_k
    cdef float* G = Dm + d * FEATURE_LD_F           # (CHUNK, SMALL_D) gathered x - m_k
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


cdef void _full_small(
    bint stats, const floating* X, Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    const floating* means, const floating* prec, const double* log_norm,
    double* logp, const floating* R, double* accS1, double* accS2,
) noexcept nogil:
    """Dispatch with d as a literal so each case is unrolled by the compiler."""
    if d == 1:
        if stats: _full_stats_rows(X, C, 1, K, means, R, accS1, accS2)
        else: _full_logp_rows(X, C, 1, K, means, prec, log_norm, logp)
    elif d == 2:
        if stats: _full_stats_rows(X, C, 2, K, means, R, accS1, accS2)
        else: _full_logp_rows(X, C, 2, K, means, prec, log_norm, logp)
    elif d == 3:
        if stats: _full_stats_rows(X, C, 3, K, means, R, accS1, accS2)
        else: _full_logp_rows(X, C, 3, K, means, prec, log_norm, logp)
    elif d == 4:
        if stats: _full_stats_rows(X, C, 4, K, means, R, accS1, accS2)
        else: _full_logp_rows(X, C, 4, K, means, prec, log_norm, logp)
    else:
        if stats: _full_stats_rows(X, C, d, K, means, R, accS1, accS2)
        else: _full_logp_rows(X, C, d, K, means, prec, log_norm, logp)


cdef inline double _sq_dist(const floating* a, const floating* b,
                            Py_ssize_t d) noexcept nogil:
    """sum_j (a_j - b_j)^2, or sum_j a_j^2 if ``b`` is NULL (terms in the
    data's precision, summed in double).  Eight interleaved partial sums
    combined in a fixed tree, as ``_lanes``: a sequential sum over j is
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
    dominated (100,000 x 64, K = 32, one thread: a float32 pass 280 -> 250
    ms).  Double data keep ``_sq_dist`` per row, which measured faster for
    them (430-440 ms a pass against 460-470)."""
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


cdef void _log_prob_chunk(
    const floating* X,          # IN (C, d) rows of the chunk
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    int cov_type, bint use_blas,
    const floating* means,      # IN (K, d)
    const floating* meansT,     # IN (d, K) (diag/spherical)
    const floating* prec,       # IN full (K,d,d) | tied (d,d) | diag (d,K)^T | sph (K,)
    const floating* shifted,    # IN tied: (K, d) = (mu_k - c) @ P
    const floating* center,     # IN tied: (d,)
    const double* log_norm,     # IN (K,) log w_k + log|P_k| - d/2 log(2 pi)
    double* logp,               # OUT (C, K) weighted log-densities
    floating* D,                # scratch (C, d)
    floating* Y,                # scratch (C, G*d) full+BLAS products
    double* q,                  # scratch (K,)
) noexcept nogil:
    """Weighted log-densities of a chunk.  When ``_full_gemm`` holds,
    ``prec`` is the concatenation [P_1 .. P_K] as a (d, K*d) row-major block."""
    cdef Py_ssize_t i, j, k, g0, g1, G, M
    cdef const floating* x
    cdef const floating* mu
    cdef const floating* P
    cdef floating* y
    cdef floating t
    cdef double s

    if cov_type == COV_FULL or cov_type == COV_TIED:
        if cov_type == COV_TIED or _full_gemm(cov_type, use_blas, d):
            # Both products start from x - c: large offsets cancel first.
            for i in range(C):
                for j in range(d):
                    D[i * d + j] = X[i * d + j] - center[j]
        if cov_type == COV_TIED:
            # (x - c) P once; then y_k = (x - c) P - (mu_k - c) P.
            _triangular_rows(D, prec, C, d, use_blas, <floating*> q)
            for i in range(C):
                y = D + i * d
                for k in range(K):
                    logp[i * K + k] = log_norm[k] - 0.5 * _sq_dist(y, shifted + k * d, d)
            return
        if not use_blas and d <= SMALL_D:
            _full_small(False, X, C, d, K, means, prec, log_norm, logp,
                        NULL, NULL, NULL)
            return
        if _full_gemm(cov_type, use_blas, d):
            # One product per group of G components:
            # y_k = (x - c) P_k - (mu_k - c) P_k with c the mixture mean
            # (shifted = (mu_k - c) P_k).
            G = _group_size(K, d)
            g0 = 0
            while g0 < K:
                g1 = min(K, g0 + G)
                M = (g1 - g0) * d
                _rows_times_block(D, prec + g0 * d, Y, <int> C, <int> d, <int> M,
                                  <int> (K * d))
                for i in range(C):
                    for k in range(g0, g1):
                        logp[i * K + k] = log_norm[k] - 0.5 * _sq_dist(
                            Y + i * M + (k - g0) * d, shifted + k * d, d)
                g0 = g1
            return
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
    else:
        # Loop order j-outer, k-inner: independent sums per component that
        # the compiler vectorises, each summed over j in order (exact same
        # rounding as a scalar loop).
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


cdef inline void _triangular_rows(
    floating* D,            # IN/OUT (C, d): each row y := y @ P
    const floating* P,      # IN (d, d) upper triangular
    Py_ssize_t C, Py_ssize_t d, bint use_blas,
    floating* y,            # scratch (d,)
) noexcept nogil:
    cdef Py_ssize_t i, j, l
    cdef floating dl
    if use_blas:
        _rowmajor_times_upper(D, P, <int> C, <int> d)
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


cdef inline Py_ssize_t _tri(Py_ssize_t a) noexcept nogil:
    """Entries of a packed lower triangle of order a (row a starts there)."""
    return a * (a + 1) // 2


cdef inline void _add_lower(double* S, const floating* G, Py_ssize_t d) noexcept nogil:
    """Packed lower triangle S += the row-major lower triangle of G (where
    syrk wrote it)."""
    cdef Py_ssize_t a, b
    for a in range(d):
        for b in range(a + 1):
            S[_tri(a) + b] += G[a * d + b]


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


cdef void _statistics_chunk(
    const floating* X,          # IN (C, d)
    const floating* sw,         # IN (C,) or NULL
    Py_ssize_t C, Py_ssize_t d, Py_ssize_t K,
    int cov_type, bint use_blas,
    const floating* means,      # IN (K, d) centres m_k
    const floating* center,     # IN (d,) tied centre c
    const floating* R,          # IN (C, K) s_i r_ik
    double* accS1,              # IN/OUT (K, d)
    double* accS2,              # IN/OUT full (K, d(d+1)/2) | tied (d(d+1)/2) packed lower
                                #        triangles | diag/sph. (K, d)
    floating* W,                # scratch (C, d)
    floating* tmp,              # scratch (max(K*d, d*d),)
) noexcept nogil:
    cdef Py_ssize_t i, j, k, nz
    cdef const floating* x
    cdef const floating* m
    cdef double r, wi
    cdef floating sr
    cdef double* S

    if cov_type == COV_FULL and not use_blas and d <= SMALL_D:
        _full_small(True, X, C, d, K, means, NULL, NULL, NULL, R, accS1, accS2)
        return
    # S1_k += sum_i R_ik x_i
    if use_blas:
        _resp_t_x(R, X, tmp, <int> C, <int> d, <int> K)
        for j in range(K * d):
            accS1[j] += tmp[j]
    else:
        for i in range(C):
            x = X + i * d
            for k in range(K):
                r = R[i * K + k]
                if r != 0.0:
                    for j in range(d):
                        accS1[k * d + j] += r * x[j]

    if cov_type == COV_FULL:
        if use_blas:
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
                    _gram_lower(W, tmp, <int> nz, <int> d)
                    _add_lower(accS2 + k * _tri(d), tmp, d)
        else:
            for i in range(C):
                for k in range(K):
                    r = R[i * K + k]
                    if r != 0.0:
                        _rank1_lower(accS2 + k * _tri(d), r, X + i * d,
                                     means + k * d, d, W)
    elif cov_type == COV_TIED:
        # sum_k r_ik = 1, so the tied scatter needs one centre and the
        # sample weights only; the M-step moves it to the new means.
        if use_blas:
            for i in range(C):
                sr = <floating> sqrt(<double> sw[i]) if sw != NULL else 1.0
                for j in range(d):
                    W[i * d + j] = sr * (X[i * d + j] - center[j])
            _gram_lower(W, tmp, <int> C, <int> d)
            _add_lower(accS2, tmp, d)
        else:
            for i in range(C):
                wi = sw[i] if sw != NULL else 1.0
                if wi != 0.0:
                    _rank1_lower(accS2, wi, X + i * d, center, d, W)
    else:
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

    See ``_common.pow2_blocks``: a function of the problem only.
    """
    cdef Py_ssize_t n_chunks = (n_samples + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = 8 * em_stride(n_features, n_components, cov_type)
    cdef Py_ssize_t budget = max(BLOCK_BUDGET_BYTES,
                                 n_samples * n_features * itemsize
                                 // BLOCK_BUDGET_FRACTION,
                                 MIN_BLOCKS * stride)
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
    to their accumulators (see ``_common.stripe_first``)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = means.shape[0]
    cdef Py_ssize_t n_chunks = (n + CHUNK_SIZE - 1) // CHUNK_SIZE
    cdef Py_ssize_t stride = em_stride(d, K, cov_type)
    # per-thread scratch: logp (C*K double), q (max(K,d) double),
    # R (C*K), D/W (C*d), tmp (max(K*d, d*d)), Y (C*G*d) in the data's precision;
    # the component-major E-step uses its own (K + 2 + SMALL_D) C + 3d FEATURE_LD
    # doubles instead (the last SMALL_D C: gathered rows, row-major)
    cdef Py_ssize_t ystride = (CHUNK_SIZE * _group_size(K, d) * d
                               if _full_gemm(cov_type, use_blas, d) else 0)
    cdef bint small = _component_major(cov_type, use_blas, d)
    cdef Py_ssize_t dstride = (CHUNK_SIZE * (K + 2 + SMALL_D) + 3 * d * FEATURE_LD
                               if small else CHUNK_SIZE * K + max(K, d))
    cdef Py_ssize_t fstride = (CHUNK_SIZE * K + CHUNK_SIZE * d + max(K * d, d * d)
                               + ystride)
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
        free(dscratch); free(fscratch)
        free(meansT); free(precT); free(shifted)
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
    cdef floating* R
    cdef floating* D
    cdef floating* tmp
    cdef const floating* prec_used = pp

    if precT != NULL and cov_type != COV_SPHERICAL:
        prec_used = precT

    with nogil:
        for b in prange(block_lo, block_hi, schedule='dynamic', num_threads=n_threads):
            tid = threadid()
            logp = dscratch + tid * dstride
            R = fscratch + tid * fstride
            D = R + CHUNK_SIZE * K
            tmp = D + CHUNK_SIZE * d
            blk = acc + b * stride
            c0 = stripe_first(b, n_chunks, n_blocks, chunk_lo)
            c1 = stripe_stop(b, n_chunks, n_blocks, chunk_hi)
            for c in range(c0, c1):
                i0 = c * CHUNK_SIZE
                i1 = min(i0 + CHUNK_SIZE, n)
                C = i1 - i0
                if floating is float:
                    if mode == RESP_ESTEP and small and cov_type == COV_FULL:
                        blk[0] += _small_estep_full_f(
                            Xp + i0 * d, swp + i0 if swp != NULL else NULL, C, d, K,
                            mp, pp, lnp, <float*> logp, blk + 1, blk + 1 + K,
                            blk + 1 + K + K * d)
                        continue
                if mode == RESP_ESTEP and small:
                    blk[0] += _small_estep(
                        cov_type, Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                        C, d, K, mp, pp, shifted, cp, lnp, logp, blk + 1,
                        blk + 1 + K, blk + 1 + K + K * d)
                    continue
                if mode == RESP_ESTEP:
                    _log_prob_chunk(Xp + i0 * d, C, d, K, cov_type, use_blas,
                                    mp, meansT, prec_used, shifted, cp, lnp,
                                    logp, D, tmp + max(K * d, d * d),
                                    logp + CHUNK_SIZE * K)
                    blk[0] += _responsibilities_chunk(
                        logp, swp + i0 if swp != NULL else NULL, C, K, R, blk + 1)
                else:
                    _given_responsibilities(
                        mode, labp + i0 if labp != NULL else NULL,
                        rp + i0 * K if rp != NULL else NULL,
                        swp + i0 if swp != NULL else NULL, C, K, R, blk + 1)
                _statistics_chunk(Xp + i0 * d, swp + i0 if swp != NULL else NULL,
                                  C, d, K, cov_type, use_blas, mp, cp, R,
                                  blk + 1 + K, blk + 1 + K + K * d, D, tmp)
    free(dscratch); free(fscratch)
    free(meansT); free(precT); free(shifted)
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


cdef void _predict_small_chunk(
    double* E,                  # IN (K, CHUNK_SIZE) log-densities (_small_logp); clobbered;
                                #    followed by 3 (CHUNK_SIZE,) scratch rows
    Py_ssize_t C, Py_ssize_t K,
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
    cdef double* mx = E + K * CHUNK_SIZE        # row max, then the shift used
    cdef double* tot = mx + CHUNK_SIZE
    cdef double* best = tot + CHUNK_SIZE        # argmax as a double (blends)
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
    cdef double[::1] dummy_N = None
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
    # component-major log-densities: (K + 2) C + 3d FEATURE_LD doubles
    cdef bint small = _component_major(cov_type, use_blas, d)
    cdef Py_ssize_t dstride = (CHUNK_SIZE * (K + 2) + 3 * d * FEATURE_LD
                               if small else CHUNK_SIZE * K + max(K, d))
    cdef Py_ssize_t fstride = CHUNK_SIZE * d + (
        CHUNK_SIZE * _group_size(K, d) * d if _full_gemm(cov_type, use_blas, d) else 0)
    cdef double* dscratch = <double*> malloc(n_threads * dstride * sizeof(double))
    cdef floating* fscratch = <floating*> malloc(n_threads * fstride * sizeof(floating))
    cdef floating* meansT
    cdef floating* precT
    cdef floating* shifted
    cdef int status = _prepare_params(cov_type, use_blas, K, d, &means[0, 0],
                                      &prec_chol[0], &center[0], &meansT, &precT,
                                      &shifted)
    if dscratch == NULL or fscratch == NULL or status != 0:
        free(dscratch); free(fscratch); free(meansT); free(precT); free(shifted)
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
            D = fscratch + tid * fstride
            i0 = c * CHUNK_SIZE
            i1 = min(i0 + CHUNK_SIZE, n)
            C = i1 - i0
            if small:
                _small_logp(cov_type, Xp + i0 * d, C, d, K, mp, pp, shifted, cp,
                            lnp, logp)
                _predict_small_chunk(logp + d * FEATURE_LD, C, K,
                                     lab + i0 if lab != NULL else NULL,
                                     lpn + i0 if lpn != NULL else NULL,
                                     rsp + i0 * K if rsp != NULL else NULL)
            else:
                _log_prob_chunk(Xp + i0 * d, C, d, K, cov_type, use_blas, mp, meansT,
                                prec_used, shifted, cp, lnp, logp, D,
                                D + CHUNK_SIZE * d, logp + CHUNK_SIZE * K)
                _predict_rows(logp, C, K, lab + i0 if lab != NULL else NULL,
                              lpn + i0 if lpn != NULL else NULL,
                              rsp + i0 * K if rsp != NULL else NULL)

    free(dscratch); free(fscratch); free(meansT); free(precT); free(shifted)


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
