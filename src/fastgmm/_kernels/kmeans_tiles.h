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

/* Transposes of a block of FG_KM_TB x FG_KM_TB elements from rows (S + i ls,
 * contiguous) to feature rows (D + f ld, contiguous): the tile copy's full
 * blocks, in registers (a pure data movement, so the results do not
 * change). */
#if FG_SIMD_LEVEL == 2
static inline void fg_km_transpose8_pd(const double *S, ptrdiff_t ls, double *D, ptrdiff_t ld)
{
    const __m512i lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    const __m512i h0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
    const __m512i h1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
    __m512d r[8], t[8], u[8];
    int i;
    for (i = 0; i < 8; i++)
        r[i] = _mm512_loadu_pd(S + i * ls);
    for (i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);      /* elements 0 2 4 6 */
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);  /* elements 1 3 5 7 */
    }
    /* u[4 h + e]: rows 4h..4h+3 of elements (e: 0 -> 0,4; 1 -> 2,6; 2 -> 1,5;
     * 3 -> 3,7) */
    for (i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm512_permutex2var_pd(t[4 * i], lo, t[4 * i + 2]);
        u[4 * i + 1] = _mm512_permutex2var_pd(t[4 * i], hi, t[4 * i + 2]);
        u[4 * i + 2] = _mm512_permutex2var_pd(t[4 * i + 1], lo, t[4 * i + 3]);
        u[4 * i + 3] = _mm512_permutex2var_pd(t[4 * i + 1], hi, t[4 * i + 3]);
    }
    _mm512_storeu_pd(D + 0 * ld, _mm512_permutex2var_pd(u[0], h0, u[4]));
    _mm512_storeu_pd(D + 4 * ld, _mm512_permutex2var_pd(u[0], h1, u[4]));
    _mm512_storeu_pd(D + 2 * ld, _mm512_permutex2var_pd(u[1], h0, u[5]));
    _mm512_storeu_pd(D + 6 * ld, _mm512_permutex2var_pd(u[1], h1, u[5]));
    _mm512_storeu_pd(D + 1 * ld, _mm512_permutex2var_pd(u[2], h0, u[6]));
    _mm512_storeu_pd(D + 5 * ld, _mm512_permutex2var_pd(u[2], h1, u[6]));
    _mm512_storeu_pd(D + 3 * ld, _mm512_permutex2var_pd(u[3], h0, u[7]));
    _mm512_storeu_pd(D + 7 * ld, _mm512_permutex2var_pd(u[3], h1, u[7]));
}
#elif FG_SIMD_LEVEL == 1
static inline void fg_km_transpose4_pd(const double *S, ptrdiff_t ls, double *D, ptrdiff_t ld)
{
    const __m256d r0 = _mm256_loadu_pd(S), r1 = _mm256_loadu_pd(S + ls);
    const __m256d r2 = _mm256_loadu_pd(S + 2 * ls), r3 = _mm256_loadu_pd(S + 3 * ls);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(D, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(D + ld, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(D + 2 * ld, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(D + 3 * ld, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#endif
#if FG_SIMD_LEVEL > 0
static inline void fg_km_transpose8_ps(const float *S, ptrdiff_t ls, float *D, ptrdiff_t ld)
{
    __m256 r[8], t[8], u[8];
    int i;
    for (i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(S + i * ls);
    for (i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (i = 0; i < 4; i++) {
        _mm256_storeu_ps(D + i * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
        _mm256_storeu_ps(D + (i + 4) * ld, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
}
#endif

/* double */
#define FG_T_FLOAT 0
#define FG_NAME(x) x
#include "simd_vec.h"
#if FG_SIMD_LEVEL == 2
#define FG_KM_TB 8
#define FG_KM_TRANSPOSE fg_km_transpose8_pd
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __mmask8 lt_ = _mm512_cmp_pd_mask((q), (mn), _CMP_LT_OQ);  \
        (mn) = _mm512_mask_mov_pd((mn), lt_, (q));                       \
        (best) = _mm512_mask_mov_pd((best), lt_, (kv));                  \
    } while (0)
#elif FG_SIMD_LEVEL == 1
#define FG_KM_TB 4
#define FG_KM_TRANSPOSE fg_km_transpose4_pd
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __m256d lt_ = _mm256_cmp_pd((q), (mn), _CMP_LT_OQ);        \
        (mn) = _mm256_blendv_pd((mn), (q), lt_);                         \
        (best) = _mm256_blendv_pd((best), (kv), lt_);                    \
    } while (0)
#endif
#include "kmeans_tiles_impl.h"

/* float */
#define FG_T_FLOAT 1
#define FG_NAME(x) x##_f
#include "simd_vec.h"
#if FG_SIMD_LEVEL == 2
#define FG_KM_TB 8
#define FG_KM_TRANSPOSE fg_km_transpose8_ps
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __mmask16 lt_ = _mm512_cmp_ps_mask((q), (mn), _CMP_LT_OQ); \
        (mn) = _mm512_mask_mov_ps((mn), lt_, (q));                       \
        (best) = _mm512_mask_mov_ps((best), lt_, (kv));                  \
    } while (0)
#elif FG_SIMD_LEVEL == 1
#define FG_KM_TB 8
#define FG_KM_TRANSPOSE fg_km_transpose8_ps
#define FG_LT_MOVE(q, mn, best, kv) do {                               \
        const __m256 lt_ = _mm256_cmp_ps((q), (mn), _CMP_LT_OQ);         \
        (mn) = _mm256_blendv_ps((mn), (q), lt_);                         \
        (best) = _mm256_blendv_ps((best), (kv), lt_);                    \
    } while (0)
#endif
#include "kmeans_tiles_impl.h"

#endif
