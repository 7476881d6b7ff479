/* Lloyd's assignment step, register-tiled (_kmeans): for every row of a
 * chunk the nearest centre (first on ties) and the squared distance to it,
 * added straight into a block's accumulators (inertia, weights, sums).
 *
 * Distances are direct, q_ik = sum_j (x_ij - c_kj)^2 summed over j in
 * increasing order (one fused multiply-add per term in the SIMD builds), in
 * the data's precision: no ||x||^2 - 2 x.c + ||c||^2 cancellation, and for
 * float32 data twice the lanes per vector.  Rows are copied tile by tile
 * (FG_KMEANS_ROW_VECS vectors of rows) feature-major into a small scratch;
 * each pass over a tile's features updates FG_KMEANS_KB centres'
 * distances, kept in registers, and the running minimum and its index are
 * vector blends.  Labels are the exact argmin of these q (strict <, centres
 * in increasing order).  Sums over rows stay in row order and in double,
 * so results do not depend on the thread count or on how the compiler
 * vectorises.  Any d and any number of centres.
 */
#ifndef FASTGMM_KMEANS_TILES_H
#define FASTGMM_KMEANS_TILES_H

#include <math.h>
#include <stddef.h>

#include "tuning.h"

#if FG_CHUNK_SIZE % FG_KMEANS_MAX_TILE_ROWS != 0
#error "FG_KMEANS_MAX_TILE_ROWS must divide FG_CHUNK_SIZE"
#endif

/* C99 restrict (MSVC spells it __restrict in every mode). */
#if defined(_MSC_VER) && !defined(__clang__)
#define FG_KM_RESTRICT __restrict
#else
#define FG_KM_RESTRICT restrict
#endif

/* Elements of per-thread scratch fg_km_chunk (and _f) need for d features. */
static inline ptrdiff_t fg_km_scratch(int d)
{
    return (ptrdiff_t) FG_KMEANS_MAX_TILE_ROWS * d;
}

/* double */
#define FG_T double
#define FG_NAME(x) x
#if FG_SIMD_LEVEL == 2
#define FG_V __m512d
#define FG_VL 8
#define FG_LOAD _mm512_loadu_pd
#define FG_STORE _mm512_storeu_pd
#define FG_SET1 _mm512_set1_pd
#define FG_ZERO _mm512_setzero_pd
#define FG_SUB _mm512_sub_pd
#define FG_FMADD _mm512_fmadd_pd
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __mmask8 lt_ = _mm512_cmp_pd_mask((q), (mn), _CMP_LT_OQ);  \
        (mn) = _mm512_mask_mov_pd((mn), lt_, (q));                       \
        (best) = _mm512_mask_mov_pd((best), lt_, (kv));                  \
    } while (0)
#elif FG_SIMD_LEVEL == 1
#define FG_V __m256d
#define FG_VL 4
#define FG_LOAD _mm256_loadu_pd
#define FG_STORE _mm256_storeu_pd
#define FG_SET1 _mm256_set1_pd
#define FG_ZERO _mm256_setzero_pd
#define FG_SUB _mm256_sub_pd
#define FG_FMADD _mm256_fmadd_pd
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __m256d lt_ = _mm256_cmp_pd((q), (mn), _CMP_LT_OQ);        \
        (mn) = _mm256_blendv_pd((mn), (q), lt_);                         \
        (best) = _mm256_blendv_pd((best), (kv), lt_);                    \
    } while (0)
#endif
#include "kmeans_tiles_impl.h"

/* float */
#define FG_T float
#define FG_NAME(x) x##_f
#if FG_SIMD_LEVEL == 2
#define FG_V __m512
#define FG_VL 16
#define FG_LOAD _mm512_loadu_ps
#define FG_STORE _mm512_storeu_ps
#define FG_SET1 _mm512_set1_ps
#define FG_ZERO _mm512_setzero_ps
#define FG_SUB _mm512_sub_ps
#define FG_FMADD _mm512_fmadd_ps
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __mmask16 lt_ = _mm512_cmp_ps_mask((q), (mn), _CMP_LT_OQ); \
        (mn) = _mm512_mask_mov_ps((mn), lt_, (q));                       \
        (best) = _mm512_mask_mov_ps((best), lt_, (kv));                  \
    } while (0)
#elif FG_SIMD_LEVEL == 1
#define FG_V __m256
#define FG_VL 8
#define FG_LOAD _mm256_loadu_ps
#define FG_STORE _mm256_storeu_ps
#define FG_SET1 _mm256_set1_ps
#define FG_ZERO _mm256_setzero_ps
#define FG_SUB _mm256_sub_ps
#define FG_FMADD _mm256_fmadd_ps
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __m256 lt_ = _mm256_cmp_ps((q), (mn), _CMP_LT_OQ);         \
        (mn) = _mm256_blendv_ps((mn), (q), lt_);                         \
        (best) = _mm256_blendv_ps((best), (kv), lt_);                    \
    } while (0)
#endif
#include "kmeans_tiles_impl.h"

#endif
