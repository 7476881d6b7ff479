/* What the running CPU (and its OS) supports, for _dispatch's choice of
 * kernel build.  Compiled only into the baseline module _cpu, so it runs
 * everywhere.
 *
 * GCC and Clang: __builtin_cpu_supports (it checks that the OS saves the
 * AVX and AVX-512 registers too).  MSVC: CPUID leaves 1 and 7 and XGETBV.
 * Other architectures: nothing (the SIMD builds are x86-64 only). */
#ifndef FASTGMM_CPU_FEATURES_H
#define FASTGMM_CPU_FEATURES_H

enum {
    FG_CPU_AVX2 = 1 << 0,
    FG_CPU_FMA3 = 1 << 1,
    FG_CPU_AVX512F = 1 << 2,
    FG_CPU_AVX512CD = 1 << 3,
    FG_CPU_AVX512BW = 1 << 4,
    FG_CPU_AVX512DQ = 1 << 5,
    FG_CPU_AVX512VL = 1 << 6
};

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#include <immintrin.h>

static int fg_cpu_features(void)
{
    int r[4], f = 0;
    unsigned long long xcr0;
    int os_avx, os_avx512;
    __cpuid(r, 0);
    if (r[0] < 7)
        return 0;
    __cpuid(r, 1);
    if (!(r[2] & (1 << 27)))   /* OSXSAVE: XGETBV usable */
        return 0;
    xcr0 = _xgetbv(0);
    os_avx = (xcr0 & 0x6) == 0x6;          /* XMM and YMM state */
    os_avx512 = (xcr0 & 0xe6) == 0xe6;     /* and opmask, ZMM state */
    if (!os_avx)
        return 0;
    if (r[2] & (1 << 12))
        f |= FG_CPU_FMA3;
    __cpuidex(r, 7, 0);
    if (r[1] & (1 << 5))
        f |= FG_CPU_AVX2;
    if (os_avx512) {
        if (r[1] & (1 << 16)) f |= FG_CPU_AVX512F;
        if (r[1] & (1 << 17)) f |= FG_CPU_AVX512DQ;
        if (r[1] & (1 << 28)) f |= FG_CPU_AVX512CD;
        if (r[1] & (1 << 30)) f |= FG_CPU_AVX512BW;
        if (r[1] & (1u << 31)) f |= FG_CPU_AVX512VL;
    }
    return f;
}
#else
static int fg_cpu_features(void)
{
    int f = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= FG_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= FG_CPU_FMA3;
    if (__builtin_cpu_supports("avx512f")) f |= FG_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512cd")) f |= FG_CPU_AVX512CD;
    if (__builtin_cpu_supports("avx512bw")) f |= FG_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512dq")) f |= FG_CPU_AVX512DQ;
    if (__builtin_cpu_supports("avx512vl")) f |= FG_CPU_AVX512VL;
    return f;
}
#endif
#else
static int fg_cpu_features(void) { return 0; }
#endif

#endif
