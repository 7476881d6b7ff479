/* Register-tiled inner loops of the component-major E-step (_em), on
 * chunk rows stored feature-major (A[l * ld + i] is feature l of row i);
 * k-means has its own (kmeans_tiles.h).
 *
 * The triangular product and the scatter (d <= FG_SMALL_D) are written
 * once for a generic d and instantiated with d a compile-time literal
 * 1..FG_SMALL_D by their dispatchers (always inlined, so
 * the compiler unrolls the feature loops and keeps a tile of FG_ROW_TILE rows'
 * partial sums in SIMD registers; Cython cannot force that inlining, and
 * without it the loops run with a variable d at about half the speed).
 *
 * Every sum has an order fixed by this code: results do not depend on the
 * thread count or on how the compiler vectorises.
 */
#ifndef FASTGMM_TILES_H
#define FASTGMM_TILES_H

#include <stddef.h>

/* The kernels are written once (tiles_impl.h) over an element type and,
 * in the SIMD builds (simd.h), a vector of FG_VL of them (simd_vec.h):
 * __m512d/__m512 in the AVX-512 build, __m256d/__m256 in the AVX2 build.  The double
 * kernels are fg_tile_q, fg_tile_qdiag, fg_moments and fg_scatter_lower;
 * the float ones (float32 data, computed in float) end in _f and keep
 * their scatter and moment sums in double.  Sizes (FG_SMALL_D,
 * FG_ROW_TILE, FG_GENERIC_TILE, FG_SCATTER_LANES, FG_QDIAG_KB,
 * FG_MOMENTS_FB) come from tuning.h. */
#include "tuning.h"

enum { FG_TILE_TRI = 0, FG_TILE_SHIFT = 1, FG_TILE_SCALE = 2 };

/* Log-densities over Cp rows (a multiple of FG_ROW_TILE):
 *
 *   e_i = lnk - scale / 2 * q_i, with q_i =
 *     FG_TILE_TRI    ||(A_i - m) P||^2, P (d x d) upper triangular, row-major;
 *                    y_ij = sum_{l <= j} (A_il - m_l) P_lj (to Y if not NULL);
 *                    one component, d <= FG_SMALL_D (fg_tile_q)
 *     FG_TILE_SHIFT  ||A_i - m||^2                          any d
 *     FG_TILE_SCALE  ||(A_i - m) * p||^2 (elementwise p = P[0..d)), any d;
 *                    up to FG_QDIAG_KB components per call (fg_tile_qdiag),
 *                    so each load of A_j serves all of them
 *
 * sums over l and j run in increasing order. */
#if FG_SIMD_LEVEL > 0
/* Lane sums in a fixed order, in double: lanes i and i + VL/2 added (float
 * lanes converted to double first), then halves added down to one, as
 * vector adds (the scatter and moment tiles do one lane sum per entry
 * every chunk, so a scalar tree through memory would cost a third of
 * their time). */
#if FG_SIMD_LEVEL == 2
static inline double fg_hsum_pd(__m512d v)
{
    __m256d t = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

static inline double fg_hsum_ps(__m512 v)
{
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m512d s = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                              _mm512_cvtps_pd(hi));
    __m256d t = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd(t, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}
#else
static inline double fg_hsum_pd(__m256d v)
{
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

static inline double fg_hsum_ps(__m256 v)
{
    __m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                              _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}
#endif
#endif

/* double */
#define FG_T_FLOAT 0
#define FG_NAME(x) x
#include "simd_vec.h"
#define FG_HSUM fg_hsum_pd
#include "tiles_impl.h"

/* float */
#define FG_T_FLOAT 1
#define FG_NAME(x) x##_f
#include "simd_vec.h"
#define FG_HSUM fg_hsum_ps
#include "tiles_impl.h"

#endif
