/* What the compiler was told the CPU has: the one place the kernels' C code
 * (tiles.h, vecmath.h) and, through tuning.pxd, the Python side learn the
 * instruction set of the build they are in.
 *
 *   FG_SIMD_LEVEL  2: AVX-512 (F) with FMA, 1: AVX2 with FMA, 0: portable
 *   FG_SIMD_NAME   "avx512", "avx2" or "baseline" (as _dispatch names builds)
 *   FG_HAVE_FMA    1 when fused multiply-adds are compiled in
 *
 * GCC and Clang define __FMA__ under -mfma; MSVC never defines it, but its
 * /arch:AVX2 (and /arch:AVX512) also allow FMA instructions, so there
 * __AVX2__ implies FMA. */
#ifndef FASTGMM_SIMD_H
#define FASTGMM_SIMD_H

#if defined(__FMA__) || (defined(_MSC_VER) && !defined(__clang__) && defined(__AVX2__))
#define FG_HAVE_FMA 1
#else
#define FG_HAVE_FMA 0
#endif

#if FG_HAVE_FMA && defined(__AVX512F__)
#define FG_SIMD_LEVEL 2
#define FG_SIMD_NAME "avx512"
#elif FG_HAVE_FMA && defined(__AVX2__)
#define FG_SIMD_LEVEL 1
#define FG_SIMD_NAME "avx2"
#else
#define FG_SIMD_LEVEL 0
#define FG_SIMD_NAME "baseline"
#endif

#if FG_SIMD_LEVEL > 0
#include <immintrin.h>
#endif

#if defined(__GNUC__)
#define FG_ALWAYS_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FG_ALWAYS_INLINE static __forceinline
#else
#define FG_ALWAYS_INLINE static inline
#endif

#endif
