/* The kernels of kmeans_tiles.h for one element type, included once per
 * type.  The includer defines FG_NAME(x), includes simd_vec.h (FG_T and,
 * when FG_SIMD_LEVEL > 0, its vector FG_V of FG_VL elements with its
 * operations) and defines FG_LT_MOVE(q, mn, best, kv) (where q < mn:
 * mn = q, best = kv) and FG_KM_TRANSPOSE, a register transpose of
 * FG_KM_TB x FG_KM_TB blocks (FG_KM_TB divides the tile's rows).  All of
 * them are undefined at the end of this file.
 *
 * Centre indices travel as FG_T (exact below 2^24 centres for float). */

#if FG_SIMD_LEVEL > 0
#define FG_KM_RV FG_KMEANS_ROW_VECS
#define FG_KM_R (FG_KMEANS_ROW_VECS * FG_VL)

/* Distances of the tile's FG_KM_R rows (A[j * FG_KM_R + i], feature-major)
 * to the nk <= FG_KMEANS_KB centres M[c * d ..] (indices k0 + c), folded
 * into the running minimum mn and its index best.  Each feature row of the
 * tile is loaded once for all nk centres; nk * FG_KM_RV independent FMA
 * chains. */
FG_ALWAYS_INLINE void FG_NAME(fg_km_group)(const int nk, const FG_T *A, int d,
                                           const FG_T *M, int k0, FG_V *mn, FG_V *best)
{
    FG_V q[FG_KMEANS_KB][FG_KM_RV];
    int j, c, r;
#pragma GCC unroll 12
    for (c = 0; c < nk; c++)
#pragma GCC unroll 4
        for (r = 0; r < FG_KM_RV; r++)
            q[c][r] = FG_ZERO();
    for (j = 0; j < d; j++) {
        FG_V x[FG_KM_RV];
#pragma GCC unroll 4
        for (r = 0; r < FG_KM_RV; r++)
            x[r] = FG_LOAD(A + j * FG_KM_R + r * FG_VL);
#pragma GCC unroll 12
        for (c = 0; c < nk; c++) {
            const FG_V m = FG_SET1(M[c * d + j]);
#pragma GCC unroll 4
            for (r = 0; r < FG_KM_RV; r++) {
                const FG_V t = FG_SUB(x[r], m);
                q[c][r] = FG_FMADD(t, t, q[c][r]);
            }
        }
    }
#pragma GCC unroll 12
    for (c = 0; c < nk; c++) {
        const FG_V kv = FG_SET1((FG_T) (k0 + c));
#pragma GCC unroll 4
        for (r = 0; r < FG_KM_RV; r++)
            FG_LT_MOVE(q[c][r], mn[r], best[r], kv);
    }
}

/* Nearest of the K centres M (K x d, row-major) for a tile's rows: the
 * minima to mnl and their indices to bl (FG_KM_R each). */
FG_ALWAYS_INLINE void FG_NAME(fg_km_tile)(const FG_T *A, int d, const FG_T *M, int K,
                                          FG_T *mnl, FG_T *bl)
{
    FG_V mn[FG_KM_RV], best[FG_KM_RV];
    int k0, r;
#pragma GCC unroll 4
    for (r = 0; r < FG_KM_RV; r++) {
        mn[r] = FG_SET1((FG_T) INFINITY);
        best[r] = FG_ZERO();
    }
    for (k0 = 0; k0 + FG_KMEANS_KB <= K; k0 += FG_KMEANS_KB)
        FG_NAME(fg_km_group)(FG_KMEANS_KB, A, d, M + (ptrdiff_t) k0 * d, k0, mn, best);
    /* the last group: nk = K - k0 < FG_KMEANS_KB, a literal */
    switch (K - k0) {
#define FG_KM_CASE(nk) case nk: \
        FG_NAME(fg_km_group)(nk, A, d, M + (ptrdiff_t) k0 * d, k0, mn, best); break;
    FG_KM_CASE(1)
    FG_KM_CASE(2)
    FG_KM_CASE(3)
#if FG_KMEANS_KB > 4
    FG_KM_CASE(4)
    FG_KM_CASE(5)
    FG_KM_CASE(6)
    FG_KM_CASE(7)
#endif
#if FG_KMEANS_KB > 8
    FG_KM_CASE(8)
    FG_KM_CASE(9)
    FG_KM_CASE(10)
    FG_KM_CASE(11)
#endif
#undef FG_KM_CASE
    default: break;
    }
#pragma GCC unroll 4
    for (r = 0; r < FG_KM_RV; r++) {
        FG_STORE(mnl + r * FG_VL, mn[r]);
        FG_STORE(bl + r * FG_VL, best[r]);
    }
}

#else
/* Portable loops, FG_KMEANS_ROWS rows and up to FG_KMEANS_KB centres per
 * pass; the same sums (without FMA). */
#define FG_KM_R FG_KMEANS_ROWS

static inline void FG_NAME(fg_km_tile)(const FG_T *A, int d, const FG_T *M, int K,
                                       FG_T *mnl, FG_T *bl)
{
    FG_T q[FG_KMEANS_KB][FG_KM_R];
    int j, c, ii, k0, nk;
    for (ii = 0; ii < FG_KM_R; ii++) {
        mnl[ii] = (FG_T) INFINITY;
        bl[ii] = 0;
    }
    for (k0 = 0; k0 < K; k0 += nk) {
        nk = K - k0 < FG_KMEANS_KB ? K - k0 : FG_KMEANS_KB;
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_KM_R; ii++)
                q[c][ii] = 0;
        for (j = 0; j < d; j++)
            for (c = 0; c < nk; c++) {
                const FG_T m = M[(ptrdiff_t) (k0 + c) * d + j];
                for (ii = 0; ii < FG_KM_R; ii++) {
                    const FG_T t = A[j * FG_KM_R + ii] - m;
                    q[c][ii] = q[c][ii] + t * t;
                }
            }
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_KM_R; ii++)
                if (q[c][ii] < mnl[ii]) {
                    mnl[ii] = q[c][ii];
                    bl[ii] = (FG_T) (k0 + c);
                }
    }
}
#endif

#if FG_KM_R > FG_KMEANS_MAX_TILE_ROWS
#error "k-means tile larger than FG_KMEANS_MAX_TILE_ROWS"
#endif

/* One chunk of Lloyd's assignment step: rows X (C x d, row-major), centres
 * M (K x d), sample weights w (C,) or NULL.  Writes lab[i] (if not NULL)
 * and adds, row by row in order, into the block's accumulators
 *   blk[0] += w_i q_i,  blk[1 + k] += w_i,  blk[1 + K + k d + j] += w_i x_ij
 * (k = lab[i], q_i the distance to it), all in double.  XT: scratch of
 * fg_km_scratch(d) elements. */
static void FG_NAME(fg_km_chunk)(const FG_T *FG_KM_RESTRICT X, ptrdiff_t C, int d,
                                 const FG_T *FG_KM_RESTRICT M, int K, const FG_T *FG_KM_RESTRICT w,
                                 FG_T *FG_KM_RESTRICT XT, int *FG_KM_RESTRICT lab,
                                 double *FG_KM_RESTRICT blk)
{
    FG_T mnl[FG_KM_R], bl[FG_KM_R];
    ptrdiff_t i0, i, n;
    int ii, j, k;
    for (i0 = 0; i0 < C; i0 += FG_KM_R) {
        n = C - i0 < FG_KM_R ? C - i0 : FG_KM_R;
        /* the tile feature-major; padding rows 0 */
        j = 0;
#ifdef FG_KM_TRANSPOSE
        if (n == FG_KM_R) {
            for (; j + FG_KM_TB <= d; j += FG_KM_TB)
                for (ii = 0; ii < FG_KM_R; ii += FG_KM_TB)
                    FG_KM_TRANSPOSE(X + (i0 + ii) * d + j, d, XT + j * FG_KM_R + ii,
                                    FG_KM_R);
        }
#endif
        for (ii = 0; ii < n; ii++)
            for (k = j; k < d; k++)
                XT[k * FG_KM_R + ii] = X[(i0 + ii) * d + k];
        for (j = 0; j < d; j++)
            for (ii = (int) n; ii < FG_KM_R; ii++)
                XT[j * FG_KM_R + ii] = 0;
        FG_NAME(fg_km_tile)(XT, d, M, K, mnl, bl);
        for (ii = 0; ii < n; ii++) {
            const FG_T *FG_KM_RESTRICT x = X + (i0 + ii) * d;
            double *FG_KM_RESTRICT s;
            double wi;
            i = i0 + ii;
            k = (int) bl[ii];
            if (lab != NULL)
                lab[i] = k;
            s = blk + 1 + K + (ptrdiff_t) k * d;
            if (w != NULL) {
                wi = (double) w[i];
                blk[0] += wi * (double) mnl[ii];
                blk[1 + k] += wi;
                for (j = 0; j < d; j++)
                    s[j] += wi * (double) x[j];
            } else {
                blk[0] += (double) mnl[ii];
                blk[1 + k] += 1.0;
                for (j = 0; j < d; j++)
                    s[j] += (double) x[j];
            }
        }
    }
}

#undef FG_KM_RV
#undef FG_KM_R
/* the includer's parameters, so the next instantiation can set its own */
#undef FG_NAME
#undef FG_LT_MOVE
#undef FG_KM_TB
#undef FG_KM_TRANSPOSE
#include "simd_vec_end.h"
