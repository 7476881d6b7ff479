/* The kernels of tiles.h for one element type, included once per type.
 *
 * The includer defines FG_NAME(x), the name of kernel x for this type (x,
 * or x##_f), includes simd_vec.h for the element type FG_T (rows, factors
 * and log-densities) and, when FG_SIMD_LEVEL > 0, its vector FG_V, and
 * defines FG_HSUM (a vector's lanes summed in double, in a fixed order).
 * All of them are undefined at the end of this file.
 * Scatter sums always land in double S; the order of every sum is fixed by
 * this code (see tiles.h). */

FG_ALWAYS_INLINE void FG_NAME(fg_tile_q_generic_d)(const FG_T *A, ptrdiff_t ld,
                                                   const FG_T *P, const FG_T *m,
                                                   ptrdiff_t Cp, int d, FG_T lnk,
                                                   FG_T scale, FG_T *e, FG_T *Y)
{
    FG_T Pl[FG_SMALL_D * FG_SMALL_D], ml[FG_SMALL_D];
    FG_T yv[FG_GENERIC_TILE], qv[FG_GENERIC_TILE];
    int j, l, ii;
    ptrdiff_t i0;
    for (j = 0; j < d; j++)
        ml[j] = m[j];
    for (j = 0; j < d * d; j++)
        Pl[j] = P[j];
    for (i0 = 0; i0 < Cp; i0 += FG_GENERIC_TILE) {
        for (ii = 0; ii < FG_GENERIC_TILE; ii++)
            qv[ii] = 0;
        for (j = 0; j < d; j++) {
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                yv[ii] = (A[i0 + ii] - ml[0]) * Pl[j];
            for (l = 1; l <= j; l++)
                for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                    yv[ii] = yv[ii] + (A[l * ld + i0 + ii] - ml[l]) * Pl[l * d + j];
            if (Y != NULL)
                for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                    Y[j * ld + i0 + ii] = yv[ii];
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                qv[ii] = qv[ii] + yv[ii] * yv[ii];
        }
        for (ii = 0; ii < FG_GENERIC_TILE; ii++)
            e[i0 + ii] = lnk - (FG_T) 0.5 * qv[ii] * scale;
    }
}

/* fg_tile_qdiag for nk <= FG_QDIAG_KB components: component c has centre
 * m + c d, scales P + c d (SCALE only), lnk[c], scale[c] and output
 * e + c lde. */
FG_ALWAYS_INLINE void FG_NAME(fg_tile_qdiag_generic_k)(
    int mode, int nk, const FG_T *A, ptrdiff_t ld, const FG_T *P, const FG_T *m,
    ptrdiff_t Cp, int d, const FG_T *lnk, const FG_T *scale, FG_T *e, ptrdiff_t lde)
{
    FG_T qv[FG_QDIAG_KB][FG_GENERIC_TILE];
    int j, c, ii;
    ptrdiff_t i0;
    for (i0 = 0; i0 < Cp; i0 += FG_GENERIC_TILE) {
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                qv[c][ii] = 0;
        for (j = 0; j < d; j++)
            for (c = 0; c < nk; c++)
                for (ii = 0; ii < FG_GENERIC_TILE; ii++) {
                    FG_T t = A[j * ld + i0 + ii] - m[c * d + j];
                    if (mode == FG_TILE_SCALE)
                        t = t * P[c * d + j];
                    qv[c][ii] = qv[c][ii] + t * t;
                }
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                e[c * lde + i0 + ii] = lnk[c] - (FG_T) 0.5 * qv[c][ii] * scale[c];
    }
}

/* fg_tile_qdiag_masked for nk <= FG_QDIAG_KB components (rows with
 * missing coordinates, 'diag'/'spherical'): with the observed mask O
 * (1 or 0, feature-major as A, whose missing entries hold any finite value)
 *   e[c lde + i] = lnk[c] - 1/2 sum_j O_ji (((A_ji - m_cj) p_cj)^2 + L_cj),
 * component c's centre, scales and per-coordinate constants at m + c d,
 * P + c d and L + c d; sums over j in increasing order. */
FG_ALWAYS_INLINE void FG_NAME(fg_tile_qdiag_masked_generic_k)(
    int nk, const FG_T *A, const FG_T *O, ptrdiff_t ld, const FG_T *P, const FG_T *m,
    const FG_T *L, ptrdiff_t Cp, int d, const FG_T *lnk, FG_T *e, ptrdiff_t lde)
{
    FG_T qv[FG_QDIAG_KB][FG_GENERIC_TILE];
    int j, c, ii;
    ptrdiff_t i0;
    for (i0 = 0; i0 < Cp; i0 += FG_GENERIC_TILE) {
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                qv[c][ii] = 0;
        for (j = 0; j < d; j++)
            for (c = 0; c < nk; c++)
                for (ii = 0; ii < FG_GENERIC_TILE; ii++) {
                    FG_T t = (A[j * ld + i0 + ii] - m[c * d + j]) * P[c * d + j];
                    qv[c][ii] = qv[c][ii] + O[j * ld + i0 + ii] * (t * t + L[c * d + j]);
                }
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_GENERIC_TILE; ii++)
                e[c * lde + i0 + ii] = lnk[c] - (FG_T) 0.5 * qv[c][ii];
    }
}

/* fg_moments for nk <= FG_QDIAG_KB weight rows e[c] (Cp entries, 0 on
 * padding rows): for every feature a < d
 *   s1[c d + a] = sum_i e[c][i] Y[a ld + i],  s2[c d + a] = sum_i e[c][i] Y2[a ld + i],
 * written, not added (s2 only when Y2 is not NULL).  Each is summed in FG_GENERIC_TILE partial sums of
 * FG_T, combined in double as a fixed pairwise tree. */
FG_ALWAYS_INLINE void FG_NAME(fg_moments_generic_k)(
    int nk, const FG_T *const *e, const FG_T *Y, const FG_T *Y2, ptrdiff_t ld,
    ptrdiff_t Cp, int d, double *s1, double *s2)
{
    FG_T p1[FG_QDIAG_KB][FG_GENERIC_TILE], p2[FG_QDIAG_KB][FG_GENERIC_TILE];
    int a, c, ii, w;
    ptrdiff_t i0;
    for (a = 0; a < d; a++) {
        for (c = 0; c < nk; c++)
            for (ii = 0; ii < FG_GENERIC_TILE; ii++) {
                p1[c][ii] = 0;
                p2[c][ii] = 0;
            }
        for (i0 = 0; i0 < Cp; i0 += FG_GENERIC_TILE)
            for (c = 0; c < nk; c++)
                for (ii = 0; ii < FG_GENERIC_TILE; ii++) {
                    p1[c][ii] = p1[c][ii] + e[c][i0 + ii] * Y[a * ld + i0 + ii];
                    if (Y2 != NULL)
                        p2[c][ii] = p2[c][ii] + e[c][i0 + ii] * Y2[a * ld + i0 + ii];
                }
        for (c = 0; c < nk; c++) {
            double q1[FG_GENERIC_TILE], q2[FG_GENERIC_TILE];
            for (ii = 0; ii < FG_GENERIC_TILE; ii++) {
                q1[ii] = p1[c][ii];
                q2[ii] = p2[c][ii];
            }
            for (w = FG_GENERIC_TILE / 2; w > 0; w /= 2)
                for (ii = 0; ii < w; ii++) {
                    q1[ii] = q1[ii] + q1[ii + w];
                    q2[ii] = q2[ii] + q2[ii + w];
                }
            s1[c * d + a] = q1[0];
            if (Y2 != NULL)
                s2[c * d + a] = q2[0];
        }
    }
}

/* Packed lower triangle S += sum_i e_i D_i D_i^T over Cp rows (a multiple of
 * FG_ROW_TILE, which FG_GENERIC_TILE and the SIMD versions' FG_VL divide;
 * padding rows must have e = 0): S[a(a+1)/2 + b] += sum_i (e_i D_ai) D_bi for b <= a.  Here
 * the entries b <= a of each a are summed together in FG_SCATTER_LANES interleaved
 * partial sums, combined in double as ((s0 + s1) + (s2 + s3)); the SIMD
 * versions use FG_VL lanes (fg_hsum). */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_lower_generic_d)(const FG_T *e, const FG_T *D,
                                                          ptrdiff_t ld, ptrdiff_t Cp,
                                                          int d, double *S)
{
    FG_T acc[FG_SMALL_D][FG_SCATTER_LANES];
    int a, b, ll;
    ptrdiff_t i;
    for (a = 0; a < d; a++) {
        for (b = 0; b <= a; b++)
            for (ll = 0; ll < FG_SCATTER_LANES; ll++)
                acc[b][ll] = 0;
        for (i = 0; i < Cp; i += FG_SCATTER_LANES)
            for (b = 0; b <= a; b++)
                for (ll = 0; ll < FG_SCATTER_LANES; ll++)
                    acc[b][ll] = acc[b][ll] + (e[i + ll] * D[a * ld + i + ll]) * D[b * ld + i + ll];
        for (b = 0; b <= a; b++)
            S[a * (a + 1) / 2 + b] += ((double) acc[b][0] + (double) acc[b][1])
                                      + ((double) acc[b][2] + (double) acc[b][3]);
    }
}

/* The scatter of a few rows stored row-major (the rows with r_ik != 0 when
 * they are few: separated clusters): with D_t = G[t ldg ..], centred rows
 * padded with zeros to ldg >= d,
 *   S[a(a+1)/2 + b] += sum_{t < nz} D_ta (r_t D_tb),  b <= a,
 * each summed over t in order.  Each row is a vector or two and updates
 * the whole triangle, where the feature-major kernels need the rows
 * transposed and a lane sum per entry. */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_rows_generic_d)(const FG_T *G, ptrdiff_t ldg,
                                                         const FG_T *r, int nz, int d,
                                                         double *S)
{
    FG_T acc[FG_SMALL_D][FG_SMALL_D];
    int a, b, t;
    for (a = 0; a < d; a++)
        for (b = 0; b <= a; b++)
            acc[a][b] = 0;
    for (t = 0; t < nz; t++)
        for (a = 0; a < d; a++)
            for (b = 0; b <= a; b++)
                acc[a][b] = acc[a][b] + G[t * ldg + a] * (r[t] * G[t * ldg + b]);
    for (a = 0; a < d; a++)
        for (b = 0; b <= a; b++)
            S[a * (a + 1) / 2 + b] += acc[a][b];
}

#if FG_SIMD_LEVEL > 0
/* SIMD versions of the same kernels (the portable build keeps the loops
 * above; the builds may differ in the last bits). */

/* fg_tile_q, FG_TILE_TRI: FG_VL rows per register and their d centred
 * features, so each P_lj is one broadcast and one FMA; q sums the even and
 * the odd j separately (two dependency chains), then adds them.
 * FG_TILE_SHIFT/SCALE: fg_tile_qdiag_simd_k. */
FG_ALWAYS_INLINE void FG_NAME(fg_tile_q_simd_d)(const FG_T *A, ptrdiff_t ld,
                                                const FG_T *P, const FG_T *m,
                                                ptrdiff_t Cp, int d, FG_T lnk,
                                                FG_T scale, FG_T *e, FG_T *Y)
{
    FG_T Pl[FG_SMALL_D * FG_SMALL_D], ml[FG_SMALL_D];
    const FG_V vlnk = FG_SET1(lnk), vscale = FG_SET1(scale);
    const FG_V half = FG_SET1((FG_T) 0.5);
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
    for (i0 = 0; i0 < Cp; i0 += FG_VL) {
        FG_V a[FG_SMALL_D], q[2];
        int j0, jj;
        q[0] = FG_ZERO();
        q[1] = FG_ZERO();
#pragma GCC unroll 16
        for (l = 0; l < d; l++)
            a[l] = FG_SUB(FG_LOAD(A + l * ld + i0), FG_SET1(ml[l]));
#pragma GCC unroll 16
        for (j0 = 0; j0 < d; j0 += JB) {
            FG_V y[4];
#pragma GCC unroll 16
            for (l = 0; l < j0 + JB && l < d; l++) {
#pragma GCC unroll 4
                for (jj = 0; jj < JB; jj++) {
                    j = j0 + jj;
                    if (j < d && l <= j)
                        y[jj] = l == 0 ? FG_MUL(a[0], FG_SET1(Pl[j]))
                                       : FG_FMADD(a[l], FG_SET1(Pl[l * d + j]), y[jj]);
                }
            }
#pragma GCC unroll 4
            for (jj = 0; jj < JB; jj++) {
                j = j0 + jj;
                if (j < d) {
                    if (Y != NULL)
                        FG_STORE(Y + j * ld + i0, y[jj]);
                    q[j & 1] = FG_FMADD(y[jj], y[jj], q[j & 1]);
                }
            }
        }
        FG_STORE(e + i0, FG_SUB(vlnk, FG_MUL(
            FG_MUL(half, FG_ADD(q[0], q[1])), vscale)));
    }
}

/* fg_tile_qdiag: FG_VL rows per register; each A_j load feeds the nk
 * components' sums (independent dependency chains). */
FG_ALWAYS_INLINE void FG_NAME(fg_tile_qdiag_simd_k)(
    int mode, int nk, const FG_T *A, ptrdiff_t ld, const FG_T *P, const FG_T *m,
    ptrdiff_t Cp, int d, const FG_T *lnk, const FG_T *scale, FG_T *e, ptrdiff_t lde)
{
    const FG_V half = FG_SET1((FG_T) 0.5);
    int j, c;
    ptrdiff_t i;
    for (i = 0; i < Cp; i += FG_VL) {
        FG_V q[FG_QDIAG_KB];
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            q[c] = FG_ZERO();
        for (j = 0; j < d; j++) {
            const FG_V x = FG_LOAD(A + j * ld + i);
#pragma GCC unroll 4
            for (c = 0; c < nk; c++) {
                FG_V t = FG_SUB(x, FG_SET1(m[c * d + j]));
                if (mode == FG_TILE_SCALE)
                    t = FG_MUL(t, FG_SET1(P[c * d + j]));
                q[c] = FG_FMADD(t, t, q[c]);
            }
        }
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            FG_STORE(e + c * lde + i, FG_SUB(FG_SET1(lnk[c]), FG_MUL(
                FG_MUL(half, q[c]), FG_SET1(scale[c]))));
    }
}

/* fg_tile_qdiag_masked (see the portable loop): FG_VL rows per register. */
FG_ALWAYS_INLINE void FG_NAME(fg_tile_qdiag_masked_simd_k)(
    int nk, const FG_T *A, const FG_T *O, ptrdiff_t ld, const FG_T *P, const FG_T *m,
    const FG_T *L, ptrdiff_t Cp, int d, const FG_T *lnk, FG_T *e, ptrdiff_t lde)
{
    const FG_V half = FG_SET1((FG_T) 0.5);
    int j, c;
    ptrdiff_t i;
    for (i = 0; i < Cp; i += FG_VL) {
        FG_V q[FG_QDIAG_KB];
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            q[c] = FG_ZERO();
        for (j = 0; j < d; j++) {
            const FG_V x = FG_LOAD(A + j * ld + i);
            const FG_V o = FG_LOAD(O + j * ld + i);
#pragma GCC unroll 4
            for (c = 0; c < nk; c++) {
                FG_V t = FG_MUL(FG_SUB(x, FG_SET1(m[c * d + j])), FG_SET1(P[c * d + j]));
                q[c] = FG_FMADD(o, FG_FMADD(t, t, FG_SET1(L[c * d + j])), q[c]);
            }
        }
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            FG_STORE(e + c * lde + i, FG_SUB(FG_SET1(lnk[c]), FG_MUL(half, q[c])));
    }
}

/* fg_moments, fb <= FG_MOMENTS_FB features from a0: 2 nk fb accumulators of
 * FG_VL lanes (nk fb without the second moments, two = 0), so each load of
 * e[c] serves fb features and each load of Y and Y2 all nk components. */
FG_ALWAYS_INLINE void FG_NAME(fg_moments_simd_kf)(
    int nk, int fb, int two, int a0, const FG_T *const *e, const FG_T *Y, const FG_T *Y2,
    ptrdiff_t ld, ptrdiff_t Cp, int d, double *s1, double *s2)
{
    FG_V p1[FG_QDIAG_KB][FG_MOMENTS_FB], p2[FG_QDIAG_KB][FG_MOMENTS_FB];
    int a, c;
    ptrdiff_t i;
#pragma GCC unroll 4
    for (c = 0; c < nk; c++)
#pragma GCC unroll 4
        for (a = 0; a < fb; a++) {
            p1[c][a] = FG_ZERO();
            p2[c][a] = FG_ZERO();
        }
    for (i = 0; i < Cp; i += FG_VL) {
        FG_V ev[FG_QDIAG_KB];
#pragma GCC unroll 4
        for (c = 0; c < nk; c++)
            ev[c] = FG_LOAD(e[c] + i);
#pragma GCC unroll 4
        for (a = 0; a < fb; a++) {
            const FG_V y = FG_LOAD(Y + (a0 + a) * ld + i);
            const FG_V y2 = two ? FG_LOAD(Y2 + (a0 + a) * ld + i) : y;
#pragma GCC unroll 4
            for (c = 0; c < nk; c++) {
                p1[c][a] = FG_FMADD(ev[c], y, p1[c][a]);
                if (two)
                    p2[c][a] = FG_FMADD(ev[c], y2, p2[c][a]);
            }
        }
    }
#pragma GCC unroll 4
    for (c = 0; c < nk; c++)
#pragma GCC unroll 4
        for (a = 0; a < fb; a++) {
            s1[c * d + a0 + a] = FG_HSUM(p1[c][a]);
            if (two)
                s2[c * d + a0 + a] = FG_HSUM(p2[c][a]);
        }
}

/* fg_moments (see the portable loop): whole blocks of FG_MOMENTS_FB
 * features, then one at a time. */
FG_ALWAYS_INLINE void FG_NAME(fg_moments_simd_k2)(
    int nk, int two, const FG_T *const *e, const FG_T *Y, const FG_T *Y2, ptrdiff_t ld,
    ptrdiff_t Cp, int d, double *s1, double *s2)
{
    int a0 = 0;
    for (; a0 + FG_MOMENTS_FB <= d; a0 += FG_MOMENTS_FB)
        FG_NAME(fg_moments_simd_kf)(nk, FG_MOMENTS_FB, two, a0, e, Y, Y2, ld, Cp, d,
                                    s1, s2);
    for (; a0 < d; a0++)
        FG_NAME(fg_moments_simd_kf)(nk, 1, two, a0, e, Y, Y2, ld, Cp, d, s1, s2);
}

FG_ALWAYS_INLINE void FG_NAME(fg_moments_simd_k)(
    int nk, const FG_T *const *e, const FG_T *Y, const FG_T *Y2, ptrdiff_t ld,
    ptrdiff_t Cp, int d, double *s1, double *s2)
{
    if (Y2 != NULL)
        FG_NAME(fg_moments_simd_k2)(nk, 1, e, Y, Y2, ld, Cp, d, s1, s2);
    else
        FG_NAME(fg_moments_simd_k2)(nk, 0, e, Y, Y2, ld, Cp, d, s1, s2);
}

/* fg_scatter_lower, triangle part: rows a and dim-1-a of the triangle of
 * features off..off+dim-1 (dim <= 8) together: dim + 1 accumulators of
 * FG_VL lanes each, so the FMAs of one pass over the rows are independent
 * and each D_b is loaded once for both rows. */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_tri_simd)(const FG_T *e, const FG_T *D,
                                                   ptrdiff_t ld, ptrdiff_t Cp, int off,
                                                   int dim, double *S)
{
    int a, a2, b, nb;
    ptrdiff_t i;
#pragma GCC unroll 4
    for (a = 0; a < (dim + 1) / 2; a++) {
        FG_V acc[9];
        a2 = dim - 1 - a;
        nb = a2 == a ? a + 1 : dim + 1;   /* b <= a, then b <= a2 */
#pragma GCC unroll 9
        for (b = 0; b < nb; b++)
            acc[b] = FG_ZERO();
        for (i = 0; i < Cp; i += FG_VL) {
            const FG_V ei = FG_LOAD(e + i);
            const FG_V w = FG_MUL(ei, FG_LOAD(D + (off + a) * ld + i));
            const FG_V w2 = FG_MUL(ei, FG_LOAD(D + (off + a2) * ld + i));
#pragma GCC unroll 8
            for (b = 0; b <= a2; b++) {
                const FG_V db = FG_LOAD(D + (off + b) * ld + i);
                if (b <= a && a2 != a)
                    acc[b] = FG_FMADD(w, db, acc[b]);
                acc[(a2 == a ? 0 : a + 1) + b] = FG_FMADD(
                    w2, db, acc[(a2 == a ? 0 : a + 1) + b]);
            }
        }
#pragma GCC unroll 9
        for (b = 0; b < nb; b++) {
            int row = off + (b <= a && a2 != a ? a : a2);
            int col = off + (b <= a && a2 != a ? b : b - (a2 == a ? 0 : a + 1));
            S[row * (row + 1) / 2 + col] += FG_HSUM(acc[b]);
        }
    }
}

/* fg_scatter_lower, rectangle part: entries (a, 0..7) of one row a >= 8. */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_rect_simd)(const FG_T *e, const FG_T *D,
                                                    ptrdiff_t ld, ptrdiff_t Cp, int a,
                                                    double *S)
{
    FG_V acc[8];
    int b;
    ptrdiff_t i;
#pragma GCC unroll 8
    for (b = 0; b < 8; b++)
        acc[b] = FG_ZERO();
    for (i = 0; i < Cp; i += FG_VL) {
        const FG_V w = FG_MUL(FG_LOAD(e + i), FG_LOAD(D + a * ld + i));
#pragma GCC unroll 8
        for (b = 0; b < 8; b++)
            acc[b] = FG_FMADD(w, FG_LOAD(D + b * ld + i), acc[b]);
    }
#pragma GCC unroll 8
    for (b = 0; b < 8; b++)
        S[a * (a + 1) / 2 + b] += FG_HSUM(acc[b]);
}

/* Features 0..7 as one triangle; from 8 on, the rectangle rows and the
 * triangle of features 8..d-1. */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_lower_simd_d)(const FG_T *e, const FG_T *D,
                                                       ptrdiff_t ld, ptrdiff_t Cp, int d,
                                                       double *S)
{
    int a;
    if (d <= 8) {
        FG_NAME(fg_scatter_tri_simd)(e, D, ld, Cp, 0, d, S);
        return;
    }
    FG_NAME(fg_scatter_tri_simd)(e, D, ld, Cp, 0, 8, S);
#pragma GCC unroll 8
    for (a = 8; a < d; a++)
        FG_NAME(fg_scatter_rect_simd)(e, D, ld, Cp, a, S);
    FG_NAME(fg_scatter_tri_simd)(e, D, ld, Cp, 8, d - 8, S);
}
/* fg_scatter_rows: row a of the triangle is a/FG_VL + 1 vectors of lanes
 * b = 0, 1, ... (lanes past a are computed and dropped), so with d a
 * literal the accumulators stay in registers; each row costs one broadcast
 * and up to d/FG_VL + 1 FMAs per feature. */
FG_ALWAYS_INLINE void FG_NAME(fg_scatter_rows_simd_d)(const FG_T *G, ptrdiff_t ldg,
                                                      const FG_T *r, int nz, int d,
                                                      double *S)
{
    FG_V acc[FG_SMALL_D][FG_SMALL_D / FG_VL];
    FG_T out[FG_SMALL_D];
    int a, b, t, v;
#pragma GCC unroll 16
    for (a = 0; a < d; a++)
#pragma GCC unroll 4
        for (v = 0; v <= a / FG_VL; v++)
            acc[a][v] = FG_ZERO();
    for (t = 0; t < nz; t++) {
        FG_V w[FG_SMALL_D / FG_VL];
        const FG_V rt = FG_SET1(r[t]);
#pragma GCC unroll 4
        for (v = 0; v <= (d - 1) / FG_VL; v++)
            w[v] = FG_MUL(rt, FG_LOAD(G + t * ldg + v * FG_VL));
#pragma GCC unroll 16
        for (a = 0; a < d; a++) {
            const FG_V da = FG_SET1(G[t * ldg + a]);
#pragma GCC unroll 4
            for (v = 0; v <= a / FG_VL; v++)
                acc[a][v] = FG_FMADD(da, w[v], acc[a][v]);
        }
    }
#pragma GCC unroll 16
    for (a = 0; a < d; a++) {
#pragma GCC unroll 4
        for (v = 0; v <= a / FG_VL; v++)
            FG_STORE(out + v * FG_VL, acc[a][v]);
        for (b = 0; b <= a; b++)
            S[a * (a + 1) / 2 + b] += out[b];
    }
}

#define FG_TILE_Q_D FG_NAME(fg_tile_q_simd_d)
#define FG_TILE_QDIAG_K FG_NAME(fg_tile_qdiag_simd_k)
#define FG_MOMENTS_K FG_NAME(fg_moments_simd_k)
#define FG_TILE_QDIAG_MASKED_K FG_NAME(fg_tile_qdiag_masked_simd_k)
#define FG_SCATTER_LOWER_D FG_NAME(fg_scatter_lower_simd_d)
#define FG_SCATTER_ROWS_D FG_NAME(fg_scatter_rows_simd_d)
#else
#define FG_TILE_Q_D FG_NAME(fg_tile_q_generic_d)
#define FG_TILE_QDIAG_K FG_NAME(fg_tile_qdiag_generic_k)
#define FG_MOMENTS_K FG_NAME(fg_moments_generic_k)
#define FG_TILE_QDIAG_MASKED_K FG_NAME(fg_tile_qdiag_masked_generic_k)
#define FG_SCATTER_LOWER_D FG_NAME(fg_scatter_lower_generic_d)
#define FG_SCATTER_ROWS_D FG_NAME(fg_scatter_rows_generic_d)
#endif

/* FG_TILE_TRI, one component; d <= FG_SMALL_D (callers check: a larger d
 * would run as 16). */
static void FG_NAME(fg_tile_q)(const FG_T *A, ptrdiff_t ld, const FG_T *P,
                               const FG_T *m, ptrdiff_t Cp, int d, FG_T lnk,
                               FG_T scale, FG_T *e, FG_T *Y)
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
static void FG_NAME(fg_tile_qdiag)(int mode, int nk, const FG_T *A, ptrdiff_t ld,
                                   const FG_T *P, const FG_T *m, ptrdiff_t Cp, int d,
                                   const FG_T *lnk, const FG_T *scale, FG_T *e,
                                   ptrdiff_t lde)
{
    switch (nk) {
    case 1: FG_TILE_QDIAG_K(mode, 1, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    case 2: FG_TILE_QDIAG_K(mode, 2, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    case 3: FG_TILE_QDIAG_K(mode, 3, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    default: FG_TILE_QDIAG_K(mode, 4, A, ld, P, m, Cp, d, lnk, scale, e, lde); break;
    }
}

/* fg_tile_qdiag_masked, 1 <= nk <= FG_QDIAG_KB components. */
static void FG_NAME(fg_tile_qdiag_masked)(int nk, const FG_T *A, const FG_T *O,
                                          ptrdiff_t ld, const FG_T *P, const FG_T *m,
                                          const FG_T *L, ptrdiff_t Cp, int d,
                                          const FG_T *lnk, FG_T *e, ptrdiff_t lde)
{
    switch (nk) {
    case 1: FG_TILE_QDIAG_MASKED_K(1, A, O, ld, P, m, L, Cp, d, lnk, e, lde); break;
    case 2: FG_TILE_QDIAG_MASKED_K(2, A, O, ld, P, m, L, Cp, d, lnk, e, lde); break;
    case 3: FG_TILE_QDIAG_MASKED_K(3, A, O, ld, P, m, L, Cp, d, lnk, e, lde); break;
    default: FG_TILE_QDIAG_MASKED_K(4, A, O, ld, P, m, L, Cp, d, lnk, e, lde); break;
    }
}

/* First and second moments of 1 <= nk <= FG_QDIAG_KB weight rows. */
static void FG_NAME(fg_moments)(int nk, const FG_T *const *e, const FG_T *Y,
                                const FG_T *Y2, ptrdiff_t ld, ptrdiff_t Cp, int d,
                                double *s1, double *s2)
{
    switch (nk) {
    case 1: FG_MOMENTS_K(1, e, Y, Y2, ld, Cp, d, s1, s2); break;
    case 2: FG_MOMENTS_K(2, e, Y, Y2, ld, Cp, d, s1, s2); break;
    case 3: FG_MOMENTS_K(3, e, Y, Y2, ld, Cp, d, s1, s2); break;
    default: FG_MOMENTS_K(4, e, Y, Y2, ld, Cp, d, s1, s2); break;
    }
}

static void FG_NAME(fg_scatter_lower)(const FG_T *e, const FG_T *D, ptrdiff_t ld,
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

/* fg_scatter_rows, d <= FG_SMALL_D; ldg >= d and, in the SIMD builds, a
 * multiple of FG_VL that covers d (padding columns zero). */
static void FG_NAME(fg_scatter_rows)(const FG_T *G, ptrdiff_t ldg, const FG_T *r,
                                     int nz, int d, double *S)
{
    switch (d) {
    case 1: FG_SCATTER_ROWS_D(G, ldg, r, nz, 1, S); break;
    case 2: FG_SCATTER_ROWS_D(G, ldg, r, nz, 2, S); break;
    case 3: FG_SCATTER_ROWS_D(G, ldg, r, nz, 3, S); break;
    case 4: FG_SCATTER_ROWS_D(G, ldg, r, nz, 4, S); break;
    case 5: FG_SCATTER_ROWS_D(G, ldg, r, nz, 5, S); break;
    case 6: FG_SCATTER_ROWS_D(G, ldg, r, nz, 6, S); break;
    case 7: FG_SCATTER_ROWS_D(G, ldg, r, nz, 7, S); break;
    case 8: FG_SCATTER_ROWS_D(G, ldg, r, nz, 8, S); break;
    case 9: FG_SCATTER_ROWS_D(G, ldg, r, nz, 9, S); break;
    case 10: FG_SCATTER_ROWS_D(G, ldg, r, nz, 10, S); break;
    case 11: FG_SCATTER_ROWS_D(G, ldg, r, nz, 11, S); break;
    case 12: FG_SCATTER_ROWS_D(G, ldg, r, nz, 12, S); break;
    case 13: FG_SCATTER_ROWS_D(G, ldg, r, nz, 13, S); break;
    case 14: FG_SCATTER_ROWS_D(G, ldg, r, nz, 14, S); break;
    case 15: FG_SCATTER_ROWS_D(G, ldg, r, nz, 15, S); break;
    default: FG_SCATTER_ROWS_D(G, ldg, r, nz, 16, S); break;
    }
}

#undef FG_TILE_Q_D
#undef FG_TILE_QDIAG_K
#undef FG_MOMENTS_K
#undef FG_TILE_QDIAG_MASKED_K
#undef FG_SCATTER_LOWER_D
#undef FG_SCATTER_ROWS_D
/* the includer's parameters, so the next instantiation can set its own */
#undef FG_NAME
#undef FG_HSUM
#include "simd_vec_end.h"
