/* prelude_test.c: the generated programs' prelude (src/codegen/prelude.h) as C on its own:
 * every helper of the vector family the compiler's target selects, lane by lane, against
 * plain C, and the portable family's too. Prints the family it checked; exits 1 (naming
 * the helper and the lane) on a difference. Built by tests/codegen/driver.sh with
 * -march=native, -mavx2 -mfma and -DNETC_NO_SIMD. */
#include <stdbool.h>
#include <stdio.h>

#include "prelude.h"

#define CHECK_FAMILY(F, W)                                                                         \
    static int check_##F(void)                                                                     \
    {                                                                                              \
        float a[W], b[W], c[W], r[W];                                                              \
        int bad = 0;                                                                               \
        for (int i = 0; i < W; i++) {                                                              \
            a[i] = (float)i * 0.75f - 3.0f;                                                        \
            b[i] = 2.0f - (float)i * 0.5f;                                                         \
            c[i] = (float)(i % 3) - 1.25f;                                                         \
        }                                                                                          \
        F va = F##_load(a), vb = F##_load(b), vc = F##_load(c);                                    \
        float sum = 0;                                                                             \
        for (int i = 0; i < W; i++)                                                                \
            sum += a[i];                                                                           \
        bad += near(#F "_hsum", 0, F##_hsum(va), sum);                                             \
        F##_store(r, F##_set1(1.5f));                                                              \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_set1", i, r[i], 1.5f);                                                \
        F##_store(r, F##_zero());                                                                  \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_zero", i, r[i], 0.0f);                                                \
        F##_store(r, F##_fma(va, vb, vc));                                                         \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_fma", i, r[i], a[i] * b[i] + c[i]);                                   \
        F##_store(r, F##_add(va, vb));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_add", i, r[i], a[i] + b[i]);                                          \
        F##_store(r, F##_sub(va, vb));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_sub", i, r[i], a[i] - b[i]);                                          \
        F##_store(r, F##_mul(va, vb));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_mul", i, r[i], a[i] * b[i]);                                          \
        F##_store(r, F##_max(va, vb));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_max", i, r[i], a[i] > b[i] ? a[i] : b[i]);                            \
        F##_store(r, F##_min(va, vb));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_min", i, r[i], a[i] < b[i] ? a[i] : b[i]);                            \
        { /* maxn keeps a NaN of either side, as PyTorch's max pool (lanes: a NaN, b NaN) */       \
            float an[W], bn[W];                                                                    \
            for (int i = 0; i < W; i++) {                                                          \
                an[i] = i % 3 == 0 ? NAN : a[i];                                                   \
                bn[i] = i % 3 == 1 ? NAN : b[i];                                                   \
            }                                                                                      \
            F##_store(r, F##_maxn(F##_load(an), F##_load(bn)));                                    \
            for (int i = 0; i < W; i++)                                                            \
                bad += near(#F "_maxn", i, r[i], i % 3 != 2 ? NAN : a[i] > b[i] ? a[i] : b[i]);    \
        }                                                                                          \
        F##_store(r, F##_sigmoid(va));                                                             \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_sigmoid", i, r[i], 1.0f / (1.0f + expf(-a[i])));                      \
        for (int n = 1; n <= W; n++) { /* the first n lanes; the others 0, or as they were */      \
            float t[W];                                                                            \
            F##_store(r, F##_load_n(a, n));                                                        \
            for (int i = 0; i < W; i++)                                                            \
                t[i] = -7.0f;                                                                      \
            F##_store_n(t, va, n);                                                                 \
            for (int i = 0; i < W; i++) {                                                          \
                bad += near(#F "_load_n", i, r[i], i < n ? a[i] : 0.0f);                           \
                bad += near(#F "_store_n", i, t[i], i < n ? a[i] : -7.0f);                         \
            }                                                                                      \
        }                                                                                          \
        F keep = va;                                                                               \
        F##_keep(keep);                                                                            \
        F##_store(r, keep);                                                                        \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_keep", i, r[i], a[i]);                                                \
        F##_store(r, F##_tanh(va));                                                                \
        for (int i = 0; i < W; i++)                                                                \
            bad += near(#F "_tanh", i, r[i], tanhf(a[i]));                                         \
        return bad;                                                                                \
    }

/* Within 1e-6 relative: fma rounds once where plain C rounds twice, hsum adds in another
 * order, and the wider families' exp, sigmoid and tanh are polynomials (a few ulp). NaN
 * must stay NaN. */
static int near(const char *what, int lane, float got, float want)
{
    if (fabsf(got - want) <= 1e-6f * (1.0f + fabsf(want)) || (isnan(got) && isnan(want)))
        return 0;
    printf("%s, lane %d: %.9g, expected %.9g\n", what, lane, (double)got, (double)want);
    return 1;
}

/* exp over the range where it is a normal float; sigmoid and tanh over a wide range, near
 * 0 and the polynomial's edge (0.625), at the infinities and NaN: lanes against libm. */
static float math_arg(int i, bool for_exp)
{
    static const float special[] = {0.0f,   -0.0f,    0.625f,    -0.625f, 0.62499994f,
                                    1e-30f, INFINITY, -INFINITY, NAN};
    int ns = (int)(sizeof special / sizeof special[0]);
    if (for_exp)
        return -87.0f + (float)i * 0.0875f; /* 2000 points in [-87, 88) */
    return i < ns ? special[i] : i % 2 ? -100.0f + (float)i * 0.1f : (float)(i - 1000) * 1e-3f;
}
/* Past exp's overflow and underflow (88.72, -103.97), where libm gives inf and 0 and so a
 * sigmoid exactly 0 or 1: a clamp there left sigmoid(-100) at e^-88 = 6e-39, and a SiLU of
 * -3e38 at -1.8 instead of -0 */
static const float extreme[] = {88.8f,    89.0f,   100.0f, 1e10f,    3.4e38f,   INFINITY,
                                -104.01f, -110.0f, -1e10f, -3.4e38f, -INFINITY, -88.8f,
                                -89.0f,   -100.0f, 104.0f, 200.0f};
#define NEXTREME ((int)(sizeof extreme / sizeof extreme[0]))
static int same(const char *what, float x, float got, float want)
{
    if (got == want || (isnan(got) && isnan(want)))
        return 0;
    printf("%s(%.9g): %.9g, expected %.9g\n", what, (double)x, (double)got, (double)want);
    return 1;
}
#define CHECK_MATH(F, W)                                                                           \
    static int math_##F(void)                                                                      \
    {                                                                                              \
        int bad = 0;                                                                               \
        for (int i = 0; i < 2000; i += W) {                                                        \
            float x[W], e[W], r[W];                                                                \
            for (int l = 0; l < W; l++)                                                            \
                x[l] = math_arg(i + l, false), e[l] = math_arg(i + l, true);                       \
            F##_store(r, F##_exp(F##_load(e)));                                                    \
            for (int l = 0; l < W; l++)                                                            \
                bad += near(#F "_exp", l, r[l], expf(e[l]));                                       \
            F##_store(r, F##_sigmoid(F##_load(x)));                                                \
            for (int l = 0; l < W; l++)                                                            \
                bad += near(#F "_sigmoid", l, r[l], 1.0f / (1.0f + expf(-x[l])));                  \
            F##_store(r, F##_tanh(F##_load(x)));                                                   \
            for (int l = 0; l < W; l++)                                                            \
                bad += near(#F "_tanh", l, r[l], tanhf(x[l]));                                     \
        }                                                                                          \
        for (int i = 0; i < NEXTREME; i += W) { /* where libm's is 0 or inf: exactly that */       \
            float x[W], r[W];                                                                      \
            for (int l = 0; l < W; l++)                                                            \
                x[l] = extreme[(i + l) % NEXTREME];                                                \
            F##_store(r, F##_exp(F##_load(x)));                                                    \
            for (int l = 0; l < W; l++) /* not where expf is subnormal, e^-87.3 here */            \
                if (x[l] > -87.0f || x[l] < -104.0f)                                               \
                    bad += same(#F "_exp", x[l], r[l], expf(x[l]));                                \
            F##_store(r, F##_sigmoid(F##_load(x)));                                                \
            for (int l = 0; l < W; l++)                                                            \
                bad += same(#F "_sigmoid", x[l], r[l], 1.0f / (1.0f + expf(-x[l])));               \
        }                                                                                          \
        return bad;                                                                                \
    }

CHECK_FAMILY(vf1, 1)
CHECK_MATH(vf1, 1)
#if NETC_VL >= 8
CHECK_FAMILY(vf8, 8)
CHECK_MATH(vf8, 8)
#endif
#if NETC_VL >= 16
CHECK_FAMILY(vf16, 16)
CHECK_MATH(vf16, 16)
#endif

int main(void)
{
    int bad = check_vf1() + math_vf1();
#if NETC_VL >= 16
    bad += check_vf16() + math_vf16();
    puts("vf16");
#endif
#if NETC_VL >= 8
    bad += check_vf8() + math_vf8();
    puts("vf8");
#endif
    puts("vf1");
    return bad != 0;
}
