/* Branch-free exp of non-positive arguments for the E-step's log-sum-exp
 * terms exp(lp - max) <= 1, written so compilers vectorise the loops that
 * call it (libm's exp is an opaque call that stops vectorisation, and glibc
 * only offers its vector variants under -ffast-math, which fastgmm does not
 * use).
 *
 *   exp(x) = 2^n * exp(r),  n = round(x / ln 2),  r = x - n ln 2  (|r| <= ln2/2)
 *
 * r is formed with a two-part ln 2 (Cody & Waite) so it is exact to double
 * rounding, and exp(r) is its Taylor series to degree 13 (truncation error
 * < 3e-18 relative on |r| <= 0.347), evaluated by Horner's rule with fused multiply-adds.  n is
 * rounded with the 1.5 * 2^52 shifter, whose low mantissa bits then hold n
 * as an integer, so 2^n is built with integer adds and shifts only.
 *
 * Domain: x <= 0 (x = -inf included).  Within 2 ulp of libm's exp on
 * [-708.39, 0] (tests/test_kernels.py checks it against numpy); below
 * -708.39, where exp(x) < DBL_MIN (responsibilities under 1e-308), it
 * returns 0.  Positive or NaN arguments are the caller's to avoid.
 */
#ifndef FASTGMM_VECMATH_H
#define FASTGMM_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

#if FG_SIMD_LEVEL > 0
static inline double fg_exp(double x)
{
    const double log2e = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01;  /* 32 leading bits */
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;         /* 1.5 * 2^52 */
    double xc = x > -708.39 ? x : -708.39;
    double t, n, r, p, scale;
    int64_t bits;

    t = xc * log2e + shifter;
    n = t - shifter;
    r = fma(-n, ln2_hi, xc);   /* exact: n ln2_hi has few bits */
    r = fma(-n, ln2_lo, r);
    p = 1.0 / 6227020800.0;                 /* 1/13! */
    p = fma(p, r, 1.0 / 479001600.0);
    p = fma(p, r, 1.0 / 39916800.0);
    p = fma(p, r, 1.0 / 3628800.0);
    p = fma(p, r, 1.0 / 362880.0);
    p = fma(p, r, 1.0 / 40320.0);
    p = fma(p, r, 1.0 / 5040.0);
    p = fma(p, r, 1.0 / 720.0);
    p = fma(p, r, 1.0 / 120.0);
    p = fma(p, r, 1.0 / 24.0);
    p = fma(p, r, 1.0 / 6.0);
    p = fma(p, r, 0.5);
    p = fma(p, r, 1.0);
    p = fma(p, r, 1.0);
    /* bits(t) = bits(shifter) + n for |n| < 2^51: rebias n to 2^n's exponent. */
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - INT64_C(0x4338000000000000) + 1023) << 52;
    memcpy(&scale, &bits, sizeof scale);
    p = p * scale;
    return x > -708.39 ? p : 0.0;
}

/* The float version (float32 data), the same scheme in single precision:
 * a two-part ln 2 (Cephes' 0.693359375 - 2.12194440e-4: the first has 9
 * bits, so n ln2_hi is exact), exp(r) on |r| <= ln2/2 by Cephes' degree-7
 * minimax polynomial 1 + r + r^2 (p0 + p1 r + ... + p5 r^5), the 1.5 * 2^23
 * shifter for n.  Within 2 ulp of exp rounded to float on [-87.33, 0]
 * (tested); 0 below it (exp(x) < FLT_MIN). */
static inline float fg_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f;
    const float ln2_lo = -2.12194440e-4f;
    const float shifter = 12582912.0f;                 /* 1.5 * 2^23 */
    float xc = x > -87.33f ? x : -87.33f;
    float t, n, r, p, scale;
    int32_t bits;

    t = xc * log2e + shifter;
    n = t - shifter;
    r = fmaf(-n, ln2_hi, xc);
    r = fmaf(-n, ln2_lo, r);
    p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    /* bits(t) = bits(shifter) + n for |n| < 2^22: rebias n to 2^n's exponent. */
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - INT32_C(0x4B400000) + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    p = p * scale;
    return x > -87.33f ? p : 0.0f;
}
#else
/* Without AVX2 + FMA the polynomial runs no faster than libm (measured), so
 * the portable build keeps libm's exp. */
static inline double fg_exp(double x) { return exp(x); }
static inline float fg_expf(float x) { return expf(x); }
#endif

#endif
