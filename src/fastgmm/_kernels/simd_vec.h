/* The SIMD vector of one element type, for the kernels written once over
 * an element type FG_T (tiles_impl.h, kmeans_tiles_impl.h).  No include
 * guard: included once per instantiation.
 *
 * The includer defines FG_T_FLOAT (1: FG_T is float, 0: double) and
 * includes this header, which defines FG_T and, in the SIMD builds
 * (simd.h), FG_V (__m512d/__m512 with AVX-512, __m256d/__m256 with AVX2),
 * its FG_VL lanes and FG_LOAD, FG_STORE, FG_SET1, FG_ZERO, FG_ADD, FG_SUB,
 * FG_MUL and FG_FMADD.  simd_vec_end.h undefines them all again. */

#if FG_T_FLOAT
#define FG_T float
#if FG_SIMD_LEVEL == 2
#define FG_V __m512
#define FG_VL 16
#define FG_LOAD _mm512_loadu_ps
#define FG_STORE _mm512_storeu_ps
#define FG_SET1 _mm512_set1_ps
#define FG_ZERO _mm512_setzero_ps
#define FG_ADD _mm512_add_ps
#define FG_SUB _mm512_sub_ps
#define FG_MUL _mm512_mul_ps
#define FG_FMADD _mm512_fmadd_ps
#elif FG_SIMD_LEVEL == 1
#define FG_V __m256
#define FG_VL 8
#define FG_LOAD _mm256_loadu_ps
#define FG_STORE _mm256_storeu_ps
#define FG_SET1 _mm256_set1_ps
#define FG_ZERO _mm256_setzero_ps
#define FG_ADD _mm256_add_ps
#define FG_SUB _mm256_sub_ps
#define FG_MUL _mm256_mul_ps
#define FG_FMADD _mm256_fmadd_ps
#endif
#else
#define FG_T double
#if FG_SIMD_LEVEL == 2
#define FG_V __m512d
#define FG_VL 8
#define FG_LOAD _mm512_loadu_pd
#define FG_STORE _mm512_storeu_pd
#define FG_SET1 _mm512_set1_pd
#define FG_ZERO _mm512_setzero_pd
#define FG_ADD _mm512_add_pd
#define FG_SUB _mm512_sub_pd
#define FG_MUL _mm512_mul_pd
#define FG_FMADD _mm512_fmadd_pd
#elif FG_SIMD_LEVEL == 1
#define FG_V __m256d
#define FG_VL 4
#define FG_LOAD _mm256_loadu_pd
#define FG_STORE _mm256_storeu_pd
#define FG_SET1 _mm256_set1_pd
#define FG_ZERO _mm256_setzero_pd
#define FG_ADD _mm256_add_pd
#define FG_SUB _mm256_sub_pd
#define FG_MUL _mm256_mul_pd
#define FG_FMADD _mm256_fmadd_pd
#endif
#endif
