/* Every size and tuning threshold of the compiled kernels, defined once.
 * The C kernels include this header; Cython declares it in tuning.pxd; the
 * values Python needs are exposed by the extension modules (_em, _kmeans,
 * _utils).  None of them may depend on the thread count: the chunk and
 * block layout fixes the summation order, hence the results. */
#ifndef FASTGMM_TUNING_H
#define FASTGMM_TUNING_H

#include "simd.h"

/* ---- Chunks and accumulation blocks (all kernels) -------------------- */

/* Rows per chunk.  Fixed, so the grouping of rows (and hence the rounding)
 * never depends on the thread count; 256 rows keep a chunk's scratch in
 * L2. */
#define FG_CHUNK_SIZE 256
/* Row stride (in elements) of a chunk copied feature-major: one cache line
 * more than a chunk, so its d feature rows do not all map to the same two
 * L1 sets (a 2 KiB stride thrashes them from ~24 features on). */
#define FG_FEATURE_LD (FG_CHUNK_SIZE + 8)
/* The same for float copies: 17 cache lines (a stride of 16.5 would split
 * every other row's vector loads across two lines). */
#define FG_FEATURE_LD_F (FG_CHUNK_SIZE + 16)
/* Upper bound on per-block accumulators (more blocks = better balance). */
#define FG_MAX_BLOCKS 64

/* ---- EM (_em) -------------------------------------------------------- */

/* Per-block accumulators may use this much memory, or 1/FRACTION of the
 * input if that is larger: fit's extra memory must stay a few percent of
 * the input (the fitted model itself is K d^2 numbers per array). */
#define FG_EM_BLOCK_BUDGET_BYTES (1024 * 1024)
#define FG_EM_BLOCK_BUDGET_FRACTION 32
/* ... but at least this many blocks (rows permitting), so two threads
 * always have work to share whatever the budget.  Not more: with large
 * full models four blocks (plus the model) took a fit past the input +
 * 10% it must stay within. */
#define FG_EM_MIN_BLOCKS 2
/* Up to this many features (without BLAS) the E-step runs component-major
 * through the register-tiled kernels of tiles.h, one copy per literal d. */
#define FG_SMALL_D 16
/* diag and spherical run component-major up to this many features whatever
 * use_blas says (their tiles take any d; BLAS only ever served their first
 * moments). */
#define FG_WIDE_D 64
/* Rows the component-major E-step keeps in registers at once (one AVX-512
 * register of floats, two of doubles); its scratch is padded to a multiple
 * of it. */
#define FG_ROW_TILE 16
/* The small-d 'full' scatter gathers the rows with r_ik != 0 from this many
 * features on (when they are at most half of the chunk): below it the
 * gathering costs more than the zero terms it skips. */
#define FG_GATHER_MIN_FEATURES 10
/* Elements of the per-chunk product block (X - c) [P_1 .. P_G] (kept in
 * L2). */
#define FG_GEMM_BLOCK_ELEMS 32768
/* 'full' with BLAS: below this many features one product (X - c)
 * [P_1 .. P_G] per group beats K small triangular products (their call and
 * packing overhead dominates); from it on, trmm's half-as-many flops win. */
#define FG_TRMM_MIN_FEATURES 32
/* Interleaved partial sums of the component-major lane sums: four
 * independent 8-wide SIMD chains with AVX-512 (eight with AVX2), so the
 * sum runs at FMA throughput, not latency. */
#define FG_LANES 32
/* From this many features on, the estimator asks for the BLAS per-chunk
 * products (trmm/syrk/gemm).  The SIMD builds' register tiles beat BLAS for
 * every covariance type and both dtypes up to FG_SMALL_D features; the
 * portable build's loops lose to BLAS from about 9 features. */
#if FG_SIMD_LEVEL > 0
#define FG_BLAS_MIN_FEATURES (FG_SMALL_D + 1)
#else
#define FG_BLAS_MIN_FEATURES 9
#endif

/* ---- Register tiles (tiles.h) ----------------------------------------- */

/* Rows per tile of the portable loops (divides FG_ROW_TILE). */
#define FG_GENERIC_TILE 8
/* Partial sums per scatter entry. */
#define FG_SCATTER_LANES 4
/* Components per fg_tile_qdiag call, at most (each load of a feature row
 * then serves all of them). */
#define FG_QDIAG_KB 4
/* diag/spherical components with dense responsibilities take their
 * second moments about the mixture mean c (fg_moments) and move them to
 * their own mean m_k per chunk, which costs ~eps * (m_k - c)^2 / sigma^2 of
 * the variance: components where that ratio (largest over the features)
 * exceeds this bound, in the copy's precision, are summed exactly about
 * m_k row by row instead (a cluster far from the rest). */
#define FG_MOMENTS_MAX_SHIFT2 65536.0
#define FG_MOMENTS_MAX_SHIFT2_F 32.0
/* Features per register tile of fg_moments (its 2 * FG_QDIAG_KB *
 * FG_MOMENTS_FB accumulators plus FG_QDIAG_KB weight vectors must fit the
 * vector registers: 32 with AVX-512, 16 with AVX2). */
#if FG_SIMD_LEVEL == 2
#define FG_MOMENTS_FB 3
#else
#define FG_MOMENTS_FB 1
#endif

/* ---- k-means (_kmeans) ------------------------------------------------ */

/* Memory the per-block accumulators may use. */
#define FG_KMEANS_BLOCK_BUDGET_BYTES (8 * 1024 * 1024)
/* Register tile of the nearest-centre search (kmeans_tiles.h): each pass
 * over a tile's features updates FG_KMEANS_KB centres' distances for
 * FG_KMEANS_ROW_VECS SIMD vectors of rows (AVX-512: 16 accumulators of its
 * 32 registers; AVX2: 8 of 16); the portable loops take FG_KMEANS_ROWS
 * rows.  Tiles never exceed FG_KMEANS_MAX_TILE_ROWS rows (a divisor of
 * FG_CHUNK_SIZE), which sizes the per-thread scratch. */
#if FG_SIMD_LEVEL == 2
#define FG_KMEANS_ROW_VECS 4
#define FG_KMEANS_KB 4
#elif FG_SIMD_LEVEL == 1
#define FG_KMEANS_ROW_VECS 2
#define FG_KMEANS_KB 4
#else
#define FG_KMEANS_ROW_VECS 1
#define FG_KMEANS_KB 4
#endif
#define FG_KMEANS_ROWS 8
#define FG_KMEANS_MAX_TILE_ROWS 64

/* ---- Input validation (_utils) ---------------------------------------- */

/* Rows per task of the finiteness scan. */
#define FG_SCAN_CHUNK 4096

#endif
