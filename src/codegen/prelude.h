/* prelude.h (netc's src/codegen/): the start of every program netc generates, copied in
 * verbatim: the headers the program needs, and the vector families its steps are written
 * in: vf16 (AVX-512), vf8 (AVX2 + FMA) and vf1 (portable C), the widest the compiler's
 * target allows; define NETC_NO_SIMD to force the portable code. Every family has the same
 * helpers (load, store, load_n, store_n, set1, zero, fma, add, sub, mul, max, min, hsum, exp,
 * sigmoid, tanh, keep), so an emitter writes a step's body once and instantiates it per family
 * (src/layers/emit_util.c). tests/codegen/prelude_test.c checks every helper against plain C. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* AVX-512 with FMA: the vf8 helpers it also defines use AVX2's FMA (gcc's -mavx512f alone
 * turns AVX2 on but not FMA; every -march with AVX-512 has both) */
#if defined(__AVX512F__) && defined(__FMA__) && !defined(NETC_NO_SIMD)
#include <immintrin.h>
#define NETC_VL 16
#elif defined(__AVX2__) && defined(__FMA__) && !defined(NETC_NO_SIMD)
#include <immintrin.h>
#define NETC_VL 8
#else
#define NETC_VL 1
#endif
#if defined(__GNUC__)
#define NETC_FN static inline __attribute__((unused))
/* the arena and the weights start on a cache line: a vector of 16 floats is then never split
 * across two (the arena's block, 32-byte aligned by default, cost nets/mobilenet.net 10%) */
#define NETC_ALIGN __attribute__((aligned(64)))
#else
#define NETC_FN static inline
#define NETC_ALIGN
#endif

typedef float vf1;
NETC_FN vf1 vf1_load(const float *p) { return *p; }
NETC_FN void vf1_store(float *p, vf1 v) { *p = v; }
NETC_FN vf1 vf1_set1(float x) { return x; }
NETC_FN vf1 vf1_zero(void) { return 0.0f; }
NETC_FN vf1 vf1_fma(vf1 a, vf1 b, vf1 c) { return a * b + c; }
NETC_FN vf1 vf1_add(vf1 a, vf1 b) { return a + b; }
NETC_FN vf1 vf1_sub(vf1 a, vf1 b) { return a - b; }
NETC_FN vf1 vf1_mul(vf1 a, vf1 b) { return a * b; }
NETC_FN vf1 vf1_max(vf1 a, vf1 b) { return a > b ? a : b; }
/* F_maxn: a max pool's running maximum a with b, keeping a NaN of either, as PyTorch's
 * max_pool2d does (F_max drops a NaN seen before a number); -ffast-math voids it. */
NETC_FN vf1 vf1_maxn(vf1 a, vf1 b) { return a != a ? a : (b > a || b != b) ? b : a; }
NETC_FN vf1 vf1_min(vf1 a, vf1 b) { return a < b ? a : b; }
NETC_FN float vf1_hsum(vf1 v) { return v; }
/* F_load_n, F_store_n: the first n lanes (0 < n <= width), the others read as 0 and left as
 * they are; for a last vector of channels that only partly exists. */
NETC_FN vf1 vf1_load_n(const float *p, int n) { return (void)n, *p; }
NETC_FN void vf1_store_n(float *p, vf1 v, int n) { (void)n, *p = v; }
NETC_FN vf1 vf1_exp(vf1 v) { return expf(v); }
NETC_FN vf1 vf1_sigmoid(vf1 v) { return 1.0f / (1.0f + expf(-v)); }
NETC_FN vf1 vf1_tanh(vf1 v) { return tanhf(v); }
/* F_keep(v): v stays in a register from here on. GCC otherwise reloads a vector used
 * several times (a convolution's weights) from its memory at each use, folding the load
 * into every FMA, and the register block becomes load-bound (mnist's second convolution:
 * 87% of the FMA peak instead of all of it); an empty asm statement that the value passes
 * through hides where it came from. A no-op for the portable family and other compilers. */
#define vf1_keep(v) ((void)(v))
#if defined(__GNUC__) && defined(__AVX512F__)
#define NETC_KEEP(v) __asm__("" : "+v"(v))
#elif defined(__GNUC__)
#define NETC_KEEP(v) __asm__("" : "+x"(v))
#else
#define NETC_KEEP(v) ((void)(v))
#endif
/* The wider families' exp, and sigmoid and tanh through it, from a few primitives each
 * family has (div, floor, pow2i: 2^n of an integral n, copysign, select_lt: a < b ? x : y).
 * exp is Cephes' expf (v = n ln2 + r, a degree-6 polynomial for e^r, about 1 ulp; +inf past
 * 88.72 and 0 below -103.97, where expf overflows and underflows, so that a sigmoid of a
 * large negative number is 0, not e^-88, as the interpreter's and PyTorch's), tanh
 * Cephes' tanhf (an odd polynomial below 0.625, 1 - 2 / (e^2|v| + 1) above); NaN stays
 * NaN (min and max return their second operand when one is NaN). The portable family
 * calls libm, as the interpreter does; these agree with it within a few ulp. */
#define NETC_VMATH(F)                                                                              \
    NETC_FN F F##_exp(F x)                                                                         \
    {                                                                                              \
        F v = F##_max(F##_set1(-87.3f), F##_min(F##_set1(88.0f), x));                              \
        F n = F##_floor(F##_fma(v, F##_set1(1.44269504088896341f), F##_set1(0.5f)));               \
        F r = F##_fma(n, F##_set1(-0.693359375f), v);                                              \
        r = F##_fma(n, F##_set1(2.12194440e-4f), r);                                               \
        F p = F##_fma(F##_set1(1.9875691500e-4f), r, F##_set1(1.3981999507e-3f));                  \
        p = F##_fma(p, r, F##_set1(8.3334519073e-3f));                                             \
        p = F##_fma(p, r, F##_set1(4.1665795894e-2f));                                             \
        p = F##_fma(p, r, F##_set1(1.6666665459e-1f));                                             \
        p = F##_fma(p, r, F##_set1(5.0000001201e-1f));                                             \
        p = F##_fma(p, F##_mul(r, r), F##_add(r, F##_set1(1.0f)));                                 \
        p = F##_mul(p, F##_pow2i(n));                                                              \
        p = F##_select_lt(F##_set1(88.7228394f), x, F##_set1(INFINITY), p);                        \
        return F##_select_lt(x, F##_set1(-103.972084f), F##_zero(), p);                            \
    }                                                                                              \
    NETC_FN F F##_sigmoid(F v)                                                                     \
    {                                                                                              \
        F one = F##_set1(1.0f);                                                                    \
        return F##_div(one, F##_add(one, F##_exp(F##_mul(v, F##_set1(-1.0f)))));                   \
    }                                                                                              \
    NETC_FN F F##_tanh(F v)                                                                        \
    {                                                                                              \
        F a = F##_copysign(v, F##_zero()), z = F##_mul(v, v);                                      \
        F s = F##_fma(F##_set1(-5.70498872745e-3f), z, F##_set1(2.06390887954e-2f));               \
        s = F##_fma(s, z, F##_set1(-5.37397155531e-2f));                                           \
        s = F##_fma(s, z, F##_set1(1.33314422036e-1f));                                            \
        s = F##_fma(s, z, F##_set1(-3.33332819422e-1f));                                           \
        s = F##_fma(F##_mul(s, z), v, v);                                                          \
        F q = F##_div(F##_set1(2.0f), F##_add(F##_exp(F##_add(a, a)), F##_set1(1.0f)));            \
        F l = F##_copysign(F##_fma(q, F##_set1(-1.0f), F##_set1(1.0f)), v);                        \
        return F##_select_lt(a, F##_set1(0.625f), s, l);                                           \
    }
#if NETC_VL >= 8
typedef __m256 vf8;
NETC_FN vf8 vf8_load(const float *p) { return _mm256_loadu_ps(p); }
NETC_FN void vf8_store(float *p, vf8 v) { _mm256_storeu_ps(p, v); }
NETC_FN vf8 vf8_set1(float x) { return _mm256_set1_ps(x); }
NETC_FN vf8 vf8_zero(void) { return _mm256_setzero_ps(); }
NETC_FN vf8 vf8_fma(vf8 a, vf8 b, vf8 c) { return _mm256_fmadd_ps(a, b, c); }
NETC_FN vf8 vf8_add(vf8 a, vf8 b) { return _mm256_add_ps(a, b); }
NETC_FN vf8 vf8_sub(vf8 a, vf8 b) { return _mm256_sub_ps(a, b); }
NETC_FN vf8 vf8_mul(vf8 a, vf8 b) { return _mm256_mul_ps(a, b); }
NETC_FN vf8 vf8_max(vf8 a, vf8 b) { return _mm256_max_ps(a, b); }
NETC_FN vf8 vf8_maxn(vf8 a, vf8 b) /* max_ps gives b where either is NaN; a's NaN kept */
{
    return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}
NETC_FN vf8 vf8_min(vf8 a, vf8 b) { return _mm256_min_ps(a, b); }
#define vf8_keep(v) NETC_KEEP(v)
NETC_FN __m256i vf8_lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
NETC_FN vf8 vf8_load_n(const float *p, int n) { return _mm256_maskload_ps(p, vf8_lanes(n)); }
NETC_FN void vf8_store_n(float *p, vf8 v, int n) { _mm256_maskstore_ps(p, vf8_lanes(n), v); }
NETC_FN float vf8_hsum(vf8 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
NETC_FN vf8 vf8_div(vf8 a, vf8 b) { return _mm256_div_ps(a, b); }
NETC_FN vf8 vf8_floor(vf8 a) { return _mm256_floor_ps(a); }
NETC_FN vf8 vf8_pow2i(vf8 n)
{
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
NETC_FN vf8 vf8_copysign(vf8 a, vf8 b)
{
    vf8 sign = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign, a), _mm256_and_ps(sign, b));
}
NETC_FN vf8 vf8_select_lt(vf8 a, vf8 b, vf8 x, vf8 y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
NETC_VMATH(vf8)
#endif
#if NETC_VL >= 16
typedef __m512 vf16;
NETC_FN vf16 vf16_load(const float *p) { return _mm512_loadu_ps(p); }
NETC_FN void vf16_store(float *p, vf16 v) { _mm512_storeu_ps(p, v); }
NETC_FN vf16 vf16_set1(float x) { return _mm512_set1_ps(x); }
NETC_FN vf16 vf16_zero(void) { return _mm512_setzero_ps(); }
NETC_FN vf16 vf16_fma(vf16 a, vf16 b, vf16 c) { return _mm512_fmadd_ps(a, b, c); }
NETC_FN vf16 vf16_add(vf16 a, vf16 b) { return _mm512_add_ps(a, b); }
NETC_FN vf16 vf16_sub(vf16 a, vf16 b) { return _mm512_sub_ps(a, b); }
NETC_FN vf16 vf16_mul(vf16 a, vf16 b) { return _mm512_mul_ps(a, b); }
NETC_FN vf16 vf16_max(vf16 a, vf16 b) { return _mm512_max_ps(a, b); }
NETC_FN vf16 vf16_maxn(vf16 a, vf16 b) /* max_ps gives b where either is NaN; a's NaN kept */
{
    return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}
NETC_FN vf16 vf16_min(vf16 a, vf16 b) { return _mm512_min_ps(a, b); }
#define vf16_keep(v) NETC_KEEP(v)
NETC_FN vf16 vf16_load_n(const float *p, int n)
{
    return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
}
NETC_FN void vf16_store_n(float *p, vf16 v, int n)
{
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), v);
}
NETC_FN float vf16_hsum(vf16 v)
{
    return vf8_hsum(
        _mm256_add_ps(_mm512_castps512_ps256(v),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}
NETC_FN vf16 vf16_div(vf16 a, vf16 b) { return _mm512_div_ps(a, b); }
NETC_FN vf16 vf16_floor(vf16 a)
{
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}
NETC_FN vf16 vf16_pow2i(vf16 n)
{
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}
NETC_FN vf16 vf16_copysign(vf16 a, vf16 b)
{
    __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign, _mm512_castps_si512(a)),
                                               _mm512_and_si512(sign, _mm512_castps_si512(b))));
}
NETC_FN vf16 vf16_select_lt(vf16 a, vf16 b, vf16 x, vf16 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
NETC_VMATH(vf16)
#endif
