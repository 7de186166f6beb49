/* prelude.h (netc's src/codegen/): the start of every program netc generates, copied in
 * verbatim: the headers the program needs, and the vector families its steps are written
 * in: vf16 (AVX-512), vf8 (AVX2 + FMA) and vf1 (portable C), the widest the compiler's
 * target allows; define NETC_NO_SIMD to force the portable code. Every family has the same
 * helpers (load, store, set1, zero, fma, add, mul, max, min, hsum, sigmoid, tanh, keep), so an
 * emitter writes a step's body once and instantiates it per family (src/layers/
 * emit_util.c). tests/codegen/prelude_test.c checks every helper against plain C. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX512F__) && !defined(NETC_NO_SIMD)
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
#else
#define NETC_FN static inline
#endif

typedef float vf1;
NETC_FN vf1 vf1_load(const float *p) { return *p; }
NETC_FN void vf1_store(float *p, vf1 v) { *p = v; }
NETC_FN vf1 vf1_set1(float x) { return x; }
NETC_FN vf1 vf1_zero(void) { return 0.0f; }
NETC_FN vf1 vf1_fma(vf1 a, vf1 b, vf1 c) { return a * b + c; }
NETC_FN vf1 vf1_add(vf1 a, vf1 b) { return a + b; }
NETC_FN vf1 vf1_mul(vf1 a, vf1 b) { return a * b; }
NETC_FN vf1 vf1_max(vf1 a, vf1 b) { return a > b ? a : b; }
NETC_FN vf1 vf1_min(vf1 a, vf1 b) { return a < b ? a : b; }
NETC_FN float vf1_hsum(vf1 v) { return v; }
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
/* No vector exp or tanh: the wider families' sigmoid and tanh go lane by lane through vf1's
 * (no semicolon after a use: it is a function definition). */
#define NETC_LANEWISE(F, W, op)                                                                    \
    NETC_FN F F##_##op(F v)                                                                        \
    {                                                                                              \
        float t[W];                                                                                \
        F##_store(t, v);                                                                           \
        for (int i = 0; i < W; i++)                                                                \
            t[i] = vf1_##op(t[i]);                                                                 \
        return F##_load(t);                                                                        \
    }
#if NETC_VL >= 8
typedef __m256 vf8;
NETC_FN vf8 vf8_load(const float *p) { return _mm256_loadu_ps(p); }
NETC_FN void vf8_store(float *p, vf8 v) { _mm256_storeu_ps(p, v); }
NETC_FN vf8 vf8_set1(float x) { return _mm256_set1_ps(x); }
NETC_FN vf8 vf8_zero(void) { return _mm256_setzero_ps(); }
NETC_FN vf8 vf8_fma(vf8 a, vf8 b, vf8 c) { return _mm256_fmadd_ps(a, b, c); }
NETC_FN vf8 vf8_add(vf8 a, vf8 b) { return _mm256_add_ps(a, b); }
NETC_FN vf8 vf8_mul(vf8 a, vf8 b) { return _mm256_mul_ps(a, b); }
NETC_FN vf8 vf8_max(vf8 a, vf8 b) { return _mm256_max_ps(a, b); }
NETC_FN vf8 vf8_min(vf8 a, vf8 b) { return _mm256_min_ps(a, b); }
#define vf8_keep(v) NETC_KEEP(v)
NETC_FN float vf8_hsum(vf8 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
NETC_LANEWISE(vf8, 8, sigmoid)
NETC_LANEWISE(vf8, 8, tanh)
#endif
#if NETC_VL >= 16
typedef __m512 vf16;
NETC_FN vf16 vf16_load(const float *p) { return _mm512_loadu_ps(p); }
NETC_FN void vf16_store(float *p, vf16 v) { _mm512_storeu_ps(p, v); }
NETC_FN vf16 vf16_set1(float x) { return _mm512_set1_ps(x); }
NETC_FN vf16 vf16_zero(void) { return _mm512_setzero_ps(); }
NETC_FN vf16 vf16_fma(vf16 a, vf16 b, vf16 c) { return _mm512_fmadd_ps(a, b, c); }
NETC_FN vf16 vf16_add(vf16 a, vf16 b) { return _mm512_add_ps(a, b); }
NETC_FN vf16 vf16_mul(vf16 a, vf16 b) { return _mm512_mul_ps(a, b); }
NETC_FN vf16 vf16_max(vf16 a, vf16 b) { return _mm512_max_ps(a, b); }
NETC_FN vf16 vf16_min(vf16 a, vf16 b) { return _mm512_min_ps(a, b); }
#define vf16_keep(v) NETC_KEEP(v)
NETC_FN float vf16_hsum(vf16 v)
{
    return vf8_hsum(
        _mm256_add_ps(_mm512_castps512_ps256(v),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}
NETC_LANEWISE(vf16, 16, sigmoid)
NETC_LANEWISE(vf16, 16, tanh)
#endif
