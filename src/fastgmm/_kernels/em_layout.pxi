# Included by _em.pyx: codes, the choice of E-step path and the per-thread
# scratch layouts of each path.
#
# A chunk's E-step runs on one of three paths:
#   ESTEP_TILES  component-major, across rows, through the register tiles of
#                tiles.h (estep_tiles.pxi)
#   ESTEP_ROWS   row-major loops (estep_rows.pxi)
#   ESTEP_BLAS   row-major, the per-chunk products through BLAS
#                (estep_blas.pxi, sharing the row-major pieces of
#                estep_rows.pxi)
# Given responsibilities (labels or resp) always take a row-major path.

cdef enum:
    COV_FULL = 0
    COV_TIED = 1
    COV_DIAG = 2
    COV_SPHERICAL = 3

cdef enum:
    RESP_ESTEP = 0   # responsibilities from the current parameters
    RESP_LABELS = 1  # one-hot responsibilities from hard labels
    RESP_GIVEN = 2   # responsibilities given by the caller

cdef enum:
    ESTEP_TILES = 0
    ESTEP_ROWS = 1
    ESTEP_BLAS = 2


cdef inline int _estep_path(int cov_type, bint use_blas, Py_ssize_t d) noexcept nogil:
    """The path of an E-step chunk (see above).  diag and spherical run
    component-major up to WIDE_D features whatever ``use_blas`` says; full
    and tied up to SMALL_D features without BLAS."""
    if cov_type == COV_DIAG or cov_type == COV_SPHERICAL:
        if d <= WIDE_D:
            return ESTEP_TILES
    elif not use_blas and d <= SMALL_D:
        return ESTEP_TILES
    return ESTEP_BLAS if use_blas else ESTEP_ROWS


cdef inline bint _full_gemm(int cov_type, bint use_blas, Py_ssize_t d) noexcept nogil:
    """Whether 'full' on the BLAS path takes one product per group of
    components (below TRMM_MIN_FEATURES) instead of one trmm each."""
    return cov_type == COV_FULL and use_blas and d < TRMM_MIN_FEATURES


cdef inline Py_ssize_t _group_size(Py_ssize_t K, Py_ssize_t d) noexcept nogil:
    """Components per product so a chunk's (C x G*d) block stays in L2."""
    return max(1, min(K, GEMM_BLOCK_ELEMS // (CHUNK_SIZE * d)))


cdef inline Py_ssize_t _tri(Py_ssize_t a) noexcept nogil:
    """Entries of a packed lower triangle of order a (row a starts there)."""
    return a * (a + 1) // 2


cdef struct TileScratch:
    # Offsets (in elements of the copy's type) into one thread's scratch of
    # the component-major path, and its size.
    Py_ssize_t xt       # (d, ld) the chunk feature-major
    Py_ssize_t e        # (K, CHUNK_SIZE) log-densities, then s_i r_ik
    Py_ssize_t mx       # (CHUNK_SIZE,) row max
    Py_ssize_t tot      # (CHUNK_SIZE,) sum_k e, then s_i / sum_k e
    # dm: (d, ld) x - m_k (tied: x - c); before that the centres and
    # scales of fg_tile_qdiag; in predict the argmax
    Py_ssize_t dm
    # w: tied (d, ld) y = (x - c) P; full (CHUNK_SIZE, SMALL_D) the gathered
    # rows x - m_k, row-major
    Py_ssize_t w
    Py_ssize_t size


cdef inline TileScratch _tile_scratch(Py_ssize_t K, Py_ssize_t d,
                                      Py_ssize_t ld) noexcept nogil:
    """The component-major layout for K components, d features and a
    feature-major stride ``ld`` (FEATURE_LD for double copies,
    FEATURE_LD_F for float ones)."""
    cdef TileScratch s
    s.xt = 0
    s.e = s.xt + d * ld
    s.mx = s.e + K * CHUNK_SIZE
    s.tot = s.mx + CHUNK_SIZE
    s.dm = s.tot + CHUNK_SIZE
    s.w = s.dm + d * ld
    s.size = s.w + max(d * ld, CHUNK_SIZE * SMALL_D)
    return s


cdef inline Py_ssize_t _tile_scratch_doubles(Py_ssize_t K, Py_ssize_t d) noexcept nogil:
    """Doubles per thread that hold the component-major scratch in either
    precision (float32 'full' copies run in float)."""
    return max(_tile_scratch(K, d, FEATURE_LD).size,
               (_tile_scratch(K, d, FEATURE_LD_F).size + 1) // 2)


cdef struct RowScratch:
    # Offsets into one thread's scratch of the row-major paths: a double
    # part and one in the data's precision; and their sizes.
    Py_ssize_t logp     # double (CHUNK_SIZE, K) log-densities
    Py_ssize_t q        # double (max(K, d),) per-row sums; tied: y (d,)
    Py_ssize_t dsize
    Py_ssize_t r        # (CHUNK_SIZE, K) s_i r_ik (statistics only)
    Py_ssize_t dd       # (CHUNK_SIZE, d) x - m (BLAS statistics: gathered rows)
    Py_ssize_t tmp      # (max(K d, d d),) product results (statistics only)
    Py_ssize_t y        # (CHUNK_SIZE, G d) grouped products ('full' gemm only)
    Py_ssize_t fsize


cdef inline RowScratch _row_scratch(int cov_type, bint use_blas, Py_ssize_t K,
                                    Py_ssize_t d, bint stats) noexcept nogil:
    """The row-major layout; ``stats``: room for the statistics too (an
    E-step pass, not a prediction)."""
    cdef RowScratch s
    s.logp = 0
    s.q = CHUNK_SIZE * K
    s.dsize = s.q + max(K, d)
    s.r = 0
    s.dd = s.r + (CHUNK_SIZE * K if stats else 0)
    s.tmp = s.dd + CHUNK_SIZE * d
    s.y = s.tmp + (max(K * d, d * d) if stats else 0)
    s.fsize = s.y + (CHUNK_SIZE * _group_size(K, d) * d
                     if _full_gemm(cov_type, use_blas, d) else 0)
    return s
