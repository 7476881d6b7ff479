/* Register-tiled inner loops of the component-major E-step (_em.pyx) and
 * of k-means' nearest-centre search (_kmeans.pyx), on chunk rows stored
 * feature-major (A[l * ld + i] is feature l of row i).
 *
 * The triangular product and the scatter (d <= FG_SMALL_D) are written
 * once for a generic d and instantiated with d a compile-time literal
 * 1..FG_SMALL_D by their dispatchers (always inlined, so
 * the compiler unrolls the feature loops and keeps a tile of ROW_TILE rows'
 * partial sums in SIMD registers; Cython cannot force that inlining, and
 * without it the loops run with a variable d at about half the speed).
 *
 * Every sum has an order fixed by this code: results do not depend on the
 * thread count or on how the compiler vectorises.
 */
#ifndef FASTGMM_TILES_H
#define FASTGMM_TILES_H

#include <stddef.h>

/* The SIMD versions are written once over fg_vec, a vector of FG_VLEN
 * doubles: __m512d in the AVX-512 build, __m256d in the AVX2 build. */
#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
#define FG_TILES_SIMD 1
#define FG_VLEN 8
typedef __m512d fg_vec;
#define fg_vload _mm512_loadu_pd
#define fg_vstore _mm512_storeu_pd
#define fg_vset1 _mm512_set1_pd
#define fg_vzero _mm512_setzero_pd
#define fg_vadd _mm512_add_pd
#define fg_vsub _mm512_sub_pd
#define fg_vmul _mm512_mul_pd
#define fg_vfmadd _mm512_fmadd_pd
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define FG_TILES_SIMD 1
#define FG_VLEN 4
typedef __m256d fg_vec;
#define fg_vload _mm256_loadu_pd
#define fg_vstore _mm256_storeu_pd
#define fg_vset1 _mm256_set1_pd
#define fg_vzero _mm256_setzero_pd
#define fg_vadd _mm256_add_pd
#define fg_vsub _mm256_sub_pd
#define fg_vmul _mm256_mul_pd
#define fg_vfmadd _mm256_fmadd_pd
#endif

#if defined(__GNUC__)
#define FG_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define FG_ALWAYS_INLINE static inline
#endif

#define FG_SMALL_D 16
#define FG_ROW_TILE 8   /* rows per register tile (a multiple of FG_VLEN) */
#define FG_LANES 4      /* partial sums per scatter entry */

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
#define FG_QDIAG_KB 4

FG_ALWAYS_INLINE void fg_tile_q_generic_d(const double *A, ptrdiff_t ld,
                                  const double *P, const double *m,
                                  ptrdiff_t Cp, int d, double lnk, double scale,
                                  double *e, double *Y)
{
    double Pl[FG_SMALL_D * FG_SMALL_D], ml[FG_SMALL_D];
    double yv[FG_ROW_TILE], qv[FG_ROW_TILE];
    int j, l, ii;
    ptrdiff_t i0;
    for (j = 0; j < d; j++)
        ml[j] = m[j];
    for (j = 0; j < d * d; j++)
        Pl[j] = P[j];
    for (i0 = 0; i0 < Cp; i0 += FG_ROW_TILE) {
        for (ii = 0; ii < FG_ROW_TILE; ii++)
            qv[ii] = 0.0;
        for (j = 0; j < d; j++) {
            for (ii = 0; ii < FG_ROW_TILE; ii++)
                yv[ii] = (A[i0 + ii] - ml[0]) * Pl[j];
            for (l = 1; l <= j; l++)
                for (ii = 0; ii < FG_ROW_TILE; ii++)
                    yv[ii] = yv[ii] + (A[l * ld + i0 + ii] - ml[l]) * Pl[l * d + j];
            if (Y != NULL)
                for (ii = 0; ii < FG_ROW_TILE; ii++)
                    Y[j * ld + i0 + ii] = yv[ii];
            for (ii = 0; ii < FG_ROW_TILE; ii++)
                qv[ii] = qv[ii] + yv[ii] * yv[ii];
        }
        for (ii = 0; ii < FG_ROW_TILE; ii++)
            e[i0 + ii] = lnk - 0.5 * qv[ii] * scale;
    }
}

/* fg_tile_qdiag for nk <= FG_QDIAG_KB components: component c has centre
 * m + c d, scales P + c d (SCALE only), lnk[c], scale[c] and output
 * e + c lde. */
FG_ALWAYS_INLINE void fg_tile_qdiag_generic_k(int mode, int nk, const double *A,
                                              ptrdiff_t ld, const double *P,
                                              const double *m, ptrdiff_t Cp, int d,
                                              const double *lnk, const double *scale,
                                              double *e, ptrdiff_t lde)
{
    double qv[FG_QDIAG_KB][FG_ROW_TILE];
    int j, c, ii;
    ptrdiff_t i0;
    for (i0 = 0; i0 < Cp; i0 += FG_ROW_TILE) {
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_ROW_TILE; ii++)
                qv[c][ii] = 0.0;
        for (j = 0; j < d; j++)
            for (c = 0; c < nk; c++)
                for (ii = 0; ii < FG_ROW_TILE; ii++) {
                    double t = A[j * ld + i0 + ii] - m[c * d + j];
                    if (mode == FG_TILE_SCALE)
                        t = t * P[c * d + j];
                    qv[c][ii] = qv[c][ii] + t * t;
                }
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_ROW_TILE; ii++)
                e[c * lde + i0 + ii] = lnk[c] - 0.5 * qv[c][ii] * scale[c];
    }
}


/* Packed lower triangle S += sum_i e_i D_i D_i^T over Cp rows (a multiple of
 * FG_ROW_TILE, which the SIMD versions' FG_VLEN divides; padding rows must
 * have e = 0): S[a(a+1)/2 + b] += sum_i (e_i D_ai) D_bi for b <= a.  Here
 * the entries b <= a of each a are summed together in FG_LANES interleaved
 * partial sums, combined as ((s0 + s1) + (s2 + s3)); the SIMD versions use
 * FG_VLEN lanes (fg_hsum). */
FG_ALWAYS_INLINE void fg_scatter_lower_generic_d(const double *e, const double *D,
                                         ptrdiff_t ld, ptrdiff_t Cp, int d,
                                         double *S)
{
    double acc[FG_SMALL_D][FG_LANES];
    int a, b, ll;
    ptrdiff_t i;
    for (a = 0; a < d; a++) {
        for (b = 0; b <= a; b++)
            for (ll = 0; ll < FG_LANES; ll++)
                acc[b][ll] = 0.0;
        for (i = 0; i < Cp; i += FG_LANES)
            for (b = 0; b <= a; b++)
                for (ll = 0; ll < FG_LANES; ll++)
                    acc[b][ll] = acc[b][ll] + (e[i + ll] * D[a * ld + i + ll]) * D[b * ld + i + ll];
        for (b = 0; b <= a; b++)
            S[a * (a + 1) / 2 + b] += (acc[b][0] + acc[b][1]) + (acc[b][2] + acc[b][3]);
    }
}

#ifdef FG_TILES_SIMD
/* SIMD versions of the same kernels (the portable build keeps the loops
 * above; the builds may differ in the last bits). */

/* The FG_VLEN lanes of v summed as a fixed pairwise tree. */
FG_ALWAYS_INLINE double fg_hsum(fg_vec v)
{
    double l[FG_VLEN];
    fg_vstore(l, v);
#if FG_VLEN == 8
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
#else
    return (l[0] + l[1]) + (l[2] + l[3]);
#endif
}

/* fg_tile_q, FG_TILE_TRI: FG_VLEN rows per register and their d centred
 * features, so each P_lj is one broadcast and one FMA; q sums the even and
 * the odd j separately (two dependency chains), then adds them.
 * FG_TILE_SHIFT/SCALE: fg_tile_qdiag_simd_k. */
FG_ALWAYS_INLINE void fg_tile_q_simd_d(const double *A, ptrdiff_t ld,
                                       const double *P, const double *m,
                                       ptrdiff_t Cp, int d, double lnk,
                                       double scale, double *e, double *Y)
{
    double Pl[FG_SMALL_D * FG_SMALL_D], ml[FG_SMALL_D];
    const fg_vec vlnk = fg_vset1(lnk), vscale = fg_vset1(scale);
    const fg_vec half = fg_vset1(0.5);
    int j, l;
    ptrdiff_t i0;
    for (j = 0; j < d * d; j++)
        Pl[j] = P[j];
    for (j = 0; j < d; j++)
        ml[j] = m[j];
    /* y_j is computed JB columns at a time from the centred tile: with
     * d <= 8 one column (the d features stay in registers), above it
     * four (each A_l load then feeds up to four FMAs).  Either way
     * y_j = A_0 P_0j + A_1 P_1j + ... in increasing l. */
    const int JB = d > 8 ? 4 : 1;
    for (i0 = 0; i0 < Cp; i0 += FG_VLEN) {
        fg_vec a[FG_SMALL_D], q[2];
        int j0, jj;
        q[0] = fg_vzero();
        q[1] = fg_vzero();
#pragma GCC unroll 16
        for (l = 0; l < d; l++)
            a[l] = fg_vsub(fg_vload(A + l * ld + i0), fg_vset1(ml[l]));
#pragma GCC unroll 16
        for (j0 = 0; j0 < d; j0 += JB) {
            fg_vec y[4];
#pragma GCC unroll 16
            for (l = 0; l < j0 + JB && l < d; l++) {
#pragma GCC unroll 4
                for (jj = 0; jj < JB; jj++) {
                    j = j0 + jj;
                    if (j < d && l <= j)
                        y[jj] = l == 0 ? fg_vmul(a[0], fg_vset1(Pl[j]))
                                       : fg_vfmadd(a[l], fg_vset1(Pl[l * d + j]), y[jj]);
                }
            }
#pragma GCC unroll 4
            for (jj = 0; jj < JB; jj++) {
                j = j0 + jj;
                if (j < d) {
                    if (Y != NULL)
                        fg_vstore(Y + j * ld + i0, y[jj]);
                    q[j & 1] = fg_vfmadd(y[jj], y[jj], q[j & 1]);
                }
            }
        }
        fg_vstore(e + i0, fg_vsub(vlnk, fg_vmul(
            fg_vmul(half, fg_vadd(q[0], q[1])), vscale)));
    }
}

/* fg_tile_qdiag: FG_VLEN rows per register; each A_j load feeds the nk
 * components' sums (independent dependency chains). */
FG_ALWAYS_INLINE void fg_tile_qdiag_simd_k(int mode, int nk, const double *A,
                                           ptrdiff_t ld, const double *P,
                                           const double *m, ptrdiff_t Cp, int d,
                                           const double *lnk, const double *scale,
                                           double *e, ptrdiff_t lde)
{
    const fg_vec half = fg_vset1(0.5);
    int j, c;
    ptrdiff_t i;
    for (i = 0; i < Cp; i += FG_VLEN) {
        fg_vec q[FG_QDIAG_KB];
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            q[c] = fg_vzero();
        for (j = 0; j < d; j++) {
            const fg_vec x = fg_vload(A + j * ld + i);
#pragma GCC unroll 4
            for (c = 0; c < nk; c++) {
                fg_vec t = fg_vsub(x, fg_vset1(m[c * d + j]));
                if (mode == FG_TILE_SCALE)
                    t = fg_vmul(t, fg_vset1(P[c * d + j]));
                q[c] = fg_vfmadd(t, t, q[c]);
            }
        }
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            fg_vstore(e + c * lde + i, fg_vsub(fg_vset1(lnk[c]), fg_vmul(
                fg_vmul(half, q[c]), fg_vset1(scale[c]))));
    }
}

/* fg_scatter_lower, triangle part: rows a and dim-1-a of the triangle of
 * features off..off+dim-1 (dim <= 8) together: dim + 1 accumulators of
 * FG_VLEN lanes each, so the FMAs of one pass over the rows are independent
 * and each D_b is loaded once for both rows. */
FG_ALWAYS_INLINE void fg_scatter_tri_simd(const double *e, const double *D,
                                          ptrdiff_t ld, ptrdiff_t Cp, int off,
                                          int dim, double *S)
{
    int a, a2, b, nb;
    ptrdiff_t i;
#pragma GCC unroll 4
    for (a = 0; a < (dim + 1) / 2; a++) {
        fg_vec acc[9];
        a2 = dim - 1 - a;
        nb = a2 == a ? a + 1 : dim + 1;   /* b <= a, then b <= a2 */
#pragma GCC unroll 9
        for (b = 0; b < nb; b++)
            acc[b] = fg_vzero();
        for (i = 0; i < Cp; i += FG_VLEN) {
            const fg_vec ei = fg_vload(e + i);
            const fg_vec w = fg_vmul(ei, fg_vload(D + (off + a) * ld + i));
            const fg_vec w2 = fg_vmul(ei, fg_vload(D + (off + a2) * ld + i));
#pragma GCC unroll 8
            for (b = 0; b <= a2; b++) {
                const fg_vec db = fg_vload(D + (off + b) * ld + i);
                if (b <= a && a2 != a)
                    acc[b] = fg_vfmadd(w, db, acc[b]);
                acc[(a2 == a ? 0 : a + 1) + b] = fg_vfmadd(
                    w2, db, acc[(a2 == a ? 0 : a + 1) + b]);
            }
        }
#pragma GCC unroll 9
        for (b = 0; b < nb; b++) {
            int row = off + (b <= a && a2 != a ? a : a2);
            int col = off + (b <= a && a2 != a ? b : b - (a2 == a ? 0 : a + 1));
            S[row * (row + 1) / 2 + col] += fg_hsum(acc[b]);
        }
    }
}

/* fg_scatter_lower, rectangle part: entries (a, 0..7) of one row a >= 8. */
FG_ALWAYS_INLINE void fg_scatter_rect_simd(const double *e, const double *D,
                                           ptrdiff_t ld, ptrdiff_t Cp, int a,
                                           double *S)
{
    fg_vec acc[8];
    int b;
    ptrdiff_t i;
#pragma GCC unroll 8
    for (b = 0; b < 8; b++)
        acc[b] = fg_vzero();
    for (i = 0; i < Cp; i += FG_VLEN) {
        const fg_vec w = fg_vmul(fg_vload(e + i), fg_vload(D + a * ld + i));
#pragma GCC unroll 8
        for (b = 0; b < 8; b++)
            acc[b] = fg_vfmadd(w, fg_vload(D + b * ld + i), acc[b]);
    }
#pragma GCC unroll 8
    for (b = 0; b < 8; b++)
        S[a * (a + 1) / 2 + b] += fg_hsum(acc[b]);
}

/* Features 0..7 as one triangle; from 8 on, the rectangle rows and the
 * triangle of features 8..d-1. */
FG_ALWAYS_INLINE void fg_scatter_lower_simd_d(const double *e, const double *D,
                                              ptrdiff_t ld, ptrdiff_t Cp, int d,
                                              double *S)
{
    int a;
    if (d <= 8) {
        fg_scatter_tri_simd(e, D, ld, Cp, 0, d, S);
        return;
    }
    fg_scatter_tri_simd(e, D, ld, Cp, 0, 8, S);
#pragma GCC unroll 8
    for (a = 8; a < d; a++)
        fg_scatter_rect_simd(e, D, ld, Cp, a, S);
    fg_scatter_tri_simd(e, D, ld, Cp, 8, d - 8, S);
}
#endif

#ifdef FG_TILES_SIMD
#define FG_TILE_Q_D fg_tile_q_simd_d
#define FG_TILE_QDIAG_K fg_tile_qdiag_simd_k
#define FG_SCATTER_LOWER_D fg_scatter_lower_simd_d
#else
#define FG_TILE_Q_D fg_tile_q_generic_d
#define FG_TILE_QDIAG_K fg_tile_qdiag_generic_k
#define FG_SCATTER_LOWER_D fg_scatter_lower_generic_d
#endif

/* FG_TILE_TRI, one component; d <= FG_SMALL_D (callers check: a larger d
 * would run as 16). */
static void fg_tile_q(const double *A, ptrdiff_t ld, const double *P,
                      const double *m, ptrdiff_t Cp, int d, double lnk,
                      double scale, double *e, double *Y)
{
    switch (d) {
    case 1: FG_TILE_Q_D(A, ld, P, m, Cp, 1, lnk, scale, e, Y); break;
    case 2: FG_TILE_Q_D(A, ld, P, m, Cp, 2, lnk, scale, e, Y); break;
    case 3: FG_TILE_Q_D(A, ld, P, m, Cp, 3, lnk, scale, e, Y); break;
    case 4: FG_TILE_Q_D(A, ld, P, m, Cp, 4, lnk, scale, e, Y); break;
    case 5: FG_TILE_Q_D(A, ld, P, m, Cp, 5, lnk, scale, e, Y); break;
    case 6: FG_TILE_Q_D(A, ld, P, m, Cp, 6, lnk, scale, e, Y); break;
    case 7: FG_TILE_Q_D(A, ld, P, m, Cp, 7, lnk, scale, e, Y); break;
    case 8: FG_TILE_Q_D(A, ld, P, m, Cp, 8, lnk, scale, e, Y); break;
    case 9: FG_TILE_Q_D(A, ld, P, m, Cp, 9, lnk, scale, e, Y); break;
    case 10: FG_TILE_Q_D(A, ld, P, m, Cp, 10, lnk, scale, e, Y); break;
    case 11: FG_TILE_Q_D(A, ld, P, m, Cp, 11, lnk, scale, e, Y); break;
    case 12: FG_TILE_Q_D(A, ld, P, m, Cp, 12, lnk, scale, e, Y); break;
    case 13: FG_TILE_Q_D(A, ld, P, m, Cp, 13, lnk, scale, e, Y); break;
    case 14: FG_TILE_Q_D(A, ld, P, m, Cp, 14, lnk, scale, e, Y); break;
    case 15: FG_TILE_Q_D(A, ld, P, m, Cp, 15, lnk, scale, e, Y); break;
    default: FG_TILE_Q_D(A, ld, P, m, Cp, 16, lnk, scale, e, Y); break;
    }
}

/* FG_TILE_SHIFT or FG_TILE_SCALE, 1 <= nk <= FG_QDIAG_KB components. */
static void fg_tile_qdiag(int mode, int nk, const double *A, ptrdiff_t ld,
                          const double *P, const double *m, ptrdiff_t Cp, int d,
                          const double *lnk, const double *scale, double *e,
                          ptrdiff_t lde)
{
    switch (nk) {
    case 1: FG_TILE_QDIAG_K(mode, 1, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    case 2: FG_TILE_QDIAG_K(mode, 2, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    case 3: FG_TILE_QDIAG_K(mode, 3, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    default: FG_TILE_QDIAG_K(mode, 4, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    }
}

static void fg_scatter_lower(const double *e, const double *D, ptrdiff_t ld,
                             ptrdiff_t Cp, int d, double *S)
{
    switch (d) {
    case 1: FG_SCATTER_LOWER_D(e, D, ld, Cp, 1, S); break;
    case 2: FG_SCATTER_LOWER_D(e, D, ld, Cp, 2, S); break;
    case 3: FG_SCATTER_LOWER_D(e, D, ld, Cp, 3, S); break;
    case 4: FG_SCATTER_LOWER_D(e, D, ld, Cp, 4, S); break;
    case 5: FG_SCATTER_LOWER_D(e, D, ld, Cp, 5, S); break;
    case 6: FG_SCATTER_LOWER_D(e, D, ld, Cp, 6, S); break;
    case 7: FG_SCATTER_LOWER_D(e, D, ld, Cp, 7, S); break;
    case 8: FG_SCATTER_LOWER_D(e, D, ld, Cp, 8, S); break;
    case 9: FG_SCATTER_LOWER_D(e, D, ld, Cp, 9, S); break;
    case 10: FG_SCATTER_LOWER_D(e, D, ld, Cp, 10, S); break;
    case 11: FG_SCATTER_LOWER_D(e, D, ld, Cp, 11, S); break;
    case 12: FG_SCATTER_LOWER_D(e, D, ld, Cp, 12, S); break;
    case 13: FG_SCATTER_LOWER_D(e, D, ld, Cp, 13, S); break;
    case 14: FG_SCATTER_LOWER_D(e, D, ld, Cp, 14, S); break;
    case 15: FG_SCATTER_LOWER_D(e, D, ld, Cp, 15, S); break;
    default: FG_SCATTER_LOWER_D(e, D, ld, Cp, 16, S); break;
    }
}

#endif
