# Cython's names for the constants of tuning.h and simd.h, where each one
# is defined (once) and explained.

cdef extern from "_kernels/tuning.h" nogil:
    const char* SIMD_NAME "FG_SIMD_NAME"    # "avx512", "avx2" or "baseline"
    enum:
        SIMD_LEVEL "FG_SIMD_LEVEL"          # 2 AVX-512, 1 AVX2, 0 portable
        HAVE_FMA "FG_HAVE_FMA"
        # chunks and blocks
        CHUNK_SIZE "FG_CHUNK_SIZE"
        FEATURE_LD "FG_FEATURE_LD"
        FEATURE_LD_F "FG_FEATURE_LD_F"
        MAX_BLOCKS "FG_MAX_BLOCKS"
        # EM
        EM_BLOCK_BUDGET_BYTES "FG_EM_BLOCK_BUDGET_BYTES"
        EM_BLOCK_BUDGET_FRACTION "FG_EM_BLOCK_BUDGET_FRACTION"
        EM_MIN_BLOCKS "FG_EM_MIN_BLOCKS"
        SMALL_D "FG_SMALL_D"
        WIDE_D "FG_WIDE_D"
        ROW_TILE "FG_ROW_TILE"
        GATHER_MIN_FEATURES "FG_GATHER_MIN_FEATURES"
        GEMM_BLOCK_ELEMS "FG_GEMM_BLOCK_ELEMS"
        TRMM_MIN_FEATURES "FG_TRMM_MIN_FEATURES"
        LANES "FG_LANES"
        BLAS_MIN_FEATURES "FG_BLAS_MIN_FEATURES"
        # register tiles
        QDIAG_KB "FG_QDIAG_KB"
    const double MOMENTS_MAX_SHIFT2 "FG_MOMENTS_MAX_SHIFT2"
    const double MOMENTS_MAX_SHIFT2_F "FG_MOMENTS_MAX_SHIFT2_F"
    enum:
        # k-means
        KMEANS_BLOCK_BUDGET_BYTES "FG_KMEANS_BLOCK_BUDGET_BYTES"
        KMEANS_ROW_VECS "FG_KMEANS_ROW_VECS"
        KMEANS_KB "FG_KMEANS_KB"
        KMEANS_ROWS "FG_KMEANS_ROWS"
        KMEANS_MAX_TILE_ROWS "FG_KMEANS_MAX_TILE_ROWS"
        # input validation
        SCAN_CHUNK "FG_SCAN_CHUNK"
