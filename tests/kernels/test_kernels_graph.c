/* test_kernels_graph.c: Criterion tests of the kernels graph networks brought (batch norm's
 * pieces in norm.c, depthwise convolution, ceil-mode, count_include_pad=False and adaptive
 * pooling, GELU and SiLU) against PyTorch's values in tests/reference/graph.ref (written by
 * gen_graph_reference.py). The conventions of test_kernels.c: every case of a kind in the
 * file is run, a value passes when |got - want| <= 1e-5 * max(1, |want|), outputs start as
 * NaN, and images are transposed to channels-last on the way in and back on the way out.
 * Batches run in two calls (parts), as the runtime runs them, wherever a kernel allows. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"

#define TOL 1e-5

static RefFile ref;

static void setup(void) { cr_assert(ref_load(&ref, REF_DIR "/graph.ref")); }
static void teardown(void) { ref_free(&ref); }

TestSuite(graph_kernels, .init = setup, .fini = teardown);

static const RefTensor *get(const char *c, const char *t)
{
    const RefTensor *r = ref_find(&ref, c, t);
    cr_assert(r, "graph.ref has no tensor %s.%s", c, t);
    return r;
}

static float *nan_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    cr_assert(p);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* (B,C,HW) <-> (B,HW,C) into a new buffer */
static float *to_hwc(const float *src, int B, int C, int HW)
{
    float *d = nan_buf((size_t)B * C * HW);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++)
                d[((size_t)b * HW + i) * C + c] = src[((size_t)b * C + c) * HW + i];
    return d;
}

static float *to_chw(const float *src, int B, int C, int HW)
{
    float *d = nan_buf((size_t)B * C * HW);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++)
                d[((size_t)b * C + c) * HW + i] = src[((size_t)b * HW + i) * C + c];
    return d;
}

static void expect_close(const char *c, const char *what, const float *got, const float *want,
                         size_t n)
{
    size_t bad = 0, at = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        if (!(err <= TOL * fmax(1.0, fabs((double)want[i])))) {
            if (!bad || !(err <= worst))
                worst = err, at = i;
            bad++;
        }
    }
    cr_expect(bad == 0, "%s %s: element %zu is %.9g, PyTorch %.9g (%zu of %zu off)", c, what, at,
              bad ? (double)got[at] : 0.0, bad ? (double)want[at] : 0.0, bad, n);
}

/* an image tensor of the case, channels-last (B, HW, C) */
static float *image(const char *c, const char *t, int B, int C, int HW)
{
    return to_hwc(get(c, t)->v, B, C, HW);
}

/* B C H W OC KH KW SH SW PH PW DH DW OH OW [G] */
static ConvGeom conv_geom(const RefTensor *t)
{
    const float *v = t->v;
    return (ConvGeom){(int)v[0],  (int)v[1],  (int)v[2],  (int)v[3],
                      (int)v[4],  (int)v[5],  (int)v[6],  (int)v[7],
                      (int)v[8],  (int)v[9],  (int)v[10], (int)v[11],
                      (int)v[12], (int)v[13], (int)v[14], t->n > 15 ? (int)v[15] : 1};
}

/* ---- batch norm ---- */

Test(graph_kernels, batchnorm)
{
    char cases[16][64];
    int nc = ref_cases(&ref, "bn_", "size", cases, 16);
    cr_assert(nc >= 6);
    for (int k = 0; k < nc; k++) {
        const char *c = cases[k];
        const float *sz = get(c, "size")->v;
        int B = (int)sz[0], C = (int)sz[1], HW = (int)(sz[2] * sz[3]);
        size_t rows = (size_t)B * HW, half = rows / 2, N = rows;
        float *x = image(c, "in", B, C, HW), *dy = image(c, "dout", B, C, HW);
        const float *w = get(c, "weight")->v, *b = get(c, "bias")->v;
        double eps = get(c, "eps")->v[0], mom = get(c, "momentum")->v[0];
        /* statistics in two parts, added in order */
        double *sum = calloc((size_t)C, sizeof(double)), *sq = calloc((size_t)C, sizeof(double));
        batchnorm_stats(sum, sq, x, half, C);
        batchnorm_stats(sum, sq, x + half * C, rows - half, C);
        float *mean = nan_buf((size_t)C), *var = nan_buf((size_t)C), *alpha = nan_buf((size_t)C),
              *beta = nan_buf((size_t)C), *rm = nan_buf((size_t)C), *rv = nan_buf((size_t)C),
              *invstd = nan_buf((size_t)C);
        for (int ch = 0; ch < C; ch++) {
            double m = sum[ch] / (double)N, v = sq[ch] / (double)N - m * m;
            mean[ch] = (float)m;
            var[ch] = (float)v;
            invstd[ch] = (float)(1.0 / sqrt(v + eps));
            alpha[ch] = invstd[ch] * w[ch];
            beta[ch] = b[ch] - mean[ch] * alpha[ch];
            rm[ch] = (float)((1 - mom) * get(c, "rm0")->v[ch] + mom * m);
            rv[ch] =
                (float)((1 - mom) * get(c, "rv0")->v[ch] + mom * v * (double)N / (double)(N - 1));
        }
        expect_close(c, "mean", mean, get(c, "mean")->v, (size_t)C);
        expect_close(c, "var", var, get(c, "var")->v, (size_t)C);
        expect_close(c, "running_mean", rm, get(c, "rm")->v, (size_t)C);
        if (N > 1)
            expect_close(c, "running_var", rv, get(c, "rv")->v, (size_t)C);
        float *y = nan_buf(rows * C);
        batchnorm_apply(y, x, alpha, beta, half, C, false);
        batchnorm_apply(y + half * C, x + half * C, alpha, beta, rows - half, C, false);
        float *yc = to_chw(y, B, C, HW);
        expect_close(c, "out", yc, get(c, "out")->v, rows * C);
        /* backward: the sums in two parts, then dx part by part */
        double *sdy = calloc((size_t)C, sizeof(double)), *sdx = calloc((size_t)C, sizeof(double));
        batchnorm_backward_stats(sdy, sdx, dy, x, mean, half, C, NULL, NULL);
        batchnorm_backward_stats(sdy, sdx, dy + half * C, x + half * C, mean, rows - half, C, NULL,
                                 NULL);
        float *mdy = nan_buf((size_t)C), *kk = nan_buf((size_t)C), *scale = nan_buf((size_t)C),
              *dw = nan_buf((size_t)C), *db = nan_buf((size_t)C);
        for (int ch = 0; ch < C; ch++) {
            mdy[ch] = (float)(sdy[ch] / (double)N);
            kk[ch] = (float)(sdx[ch] * invstd[ch] * invstd[ch] / (double)N);
            scale[ch] = invstd[ch] * w[ch];
            dw[ch] = (float)(sdx[ch] * invstd[ch]);
            db[ch] = (float)sdy[ch];
        }
        float *dx = nan_buf(rows * C);
        batchnorm_backward_dx(dx, dy, x, mean, mdy, kk, scale, half, C, NULL, NULL);
        batchnorm_backward_dx(dx + half * C, dy + half * C, x + half * C, mean, mdy, kk, scale,
                              rows - half, C, NULL, NULL);
        float *dxc = to_chw(dx, B, C, HW);
        expect_close(c, "din", dxc, get(c, "din")->v, rows * C);
        expect_close(c, "dweight", dw, get(c, "dweight")->v, (size_t)C);
        expect_close(c, "dbias", db, get(c, "dbias")->v, (size_t)C);
        /* eval: the running statistics as constants */
        for (int ch = 0; ch < C; ch++) {
            alpha[ch] = (float)(1.0 / sqrt((double)get(c, "rv0")->v[ch] + eps)) * w[ch];
            beta[ch] = b[ch] - get(c, "rm0")->v[ch] * alpha[ch];
        }
        batchnorm_apply(y, x, alpha, beta, rows, C, false);
        free(yc);
        yc = to_chw(y, B, C, HW);
        expect_close(c, "eval_out", yc, get(c, "eval_out")->v, rows * C);
        for (size_t r = 0; r < rows; r++)
            for (int ch = 0; ch < C; ch++)
                dx[r * C + ch] = dy[r * C + ch] * alpha[ch];
        free(dxc);
        dxc = to_chw(dx, B, C, HW);
        expect_close(c, "eval_din", dxc, get(c, "eval_din")->v, rows * C);
        free(x), free(dy), free(sum), free(sq), free(mean), free(var), free(alpha), free(beta);
        free(rm), free(rv), free(invstd), free(y), free(yc), free(sdy), free(sdx), free(mdy);
        free(kk), free(scale), free(dw), free(db), free(dx), free(dxc);
    }
}

/* ---- depthwise convolution ---- */

Test(graph_kernels, dwconv)
{
    char cases[16][64];
    int nc = ref_cases(&ref, "dwconv_", "geom", cases, 16);
    cr_assert(nc >= 12);
    for (int k = 0; k < nc; k++) {
        const char *c = cases[k];
        ConvGeom g = conv_geom(get(c, "geom"));
        int B = g.B;
        const RefTensor *bt = ref_find(&ref, c, "b");
        float *x = image(c, "in", B, g.C, g.H * g.W), *dy = image(c, "dout", B, g.OC, g.OH * g.OW);
        float *scratch = nan_buf(dwconv2d_scratch_floats(&g));
        size_t outn = (size_t)B * g.OH * g.OW * g.OC, inn = (size_t)B * g.H * g.W * g.C;
        float *y = nan_buf(outn), *dx = nan_buf(inn);
        /* two parts: the first image, then the rest */
        ConvGeom g1 = g, g2 = g;
        g1.B = 1, g2.B = B - 1;
        size_t in1 = (size_t)g.H * g.W * g.C, out1 = (size_t)g.OH * g.OW * g.OC;
        dwconv2d_pack(scratch, get(c, "w")->v, bt ? bt->v : NULL, &g);
        dwconv2d_forward(y, x, &g1, scratch);
        if (B > 1)
            dwconv2d_forward(y + out1, x + in1, &g2, scratch);
        float *yc = to_chw(y, B, g.OC, g.OH * g.OW);
        expect_close(c, "out", yc, get(c, "out")->v, outn);
        dwconv2d_pack(scratch, get(c, "w")->v, bt ? bt->v : NULL, &g);
        dwconv2d_backward(dx, dy, x, true, &g1, scratch);
        if (B > 1)
            dwconv2d_backward(dx + in1, dy + out1, x + in1, true, &g2, scratch);
        size_t nw = (size_t)g.OC * g.KH * g.KW;
        float *dw = nan_buf(nw), *db = nan_buf((size_t)g.OC);
        dwconv2d_grads(dw, bt ? db : NULL, &g, scratch);
        float *dxc = to_chw(dx, B, g.C, g.H * g.W);
        expect_close(c, "din", dxc, get(c, "din")->v, inn);
        expect_close(c, "dw", dw, get(c, "dw")->v, nw);
        if (bt)
            expect_close(c, "db", db, get(c, "db")->v, (size_t)g.OC);
        free(x), free(dy), free(scratch), free(y), free(dx), free(yc), free(dw), free(db);
        free(dxc);
    }
}

/* The depthwise kernels against a plain loop with the same order of fused multiply-adds, bit
 * for bit (any NaN as any NaN), on random geometries: strides, dilations and paddings past
 * the kernel, channel multipliers, channel counts past whole vectors, infinite weights (the
 * padding's 0 x inf must give NaN, as PyTorch's zero padding does) and zeros of both signs.
 * The sums' order is what makes the results independent of the parts and threads. */
static uint64_t xs_state = 0x9E3779B97F4A7C15u;
static unsigned xs_next(void)
{
    xs_state ^= xs_state << 13, xs_state ^= xs_state >> 7, xs_state ^= xs_state << 17;
    return (unsigned)(xs_state >> 11);
}
static int xs_int(int lo, int hi) { return lo + (int)(xs_next() % (unsigned)(hi - lo + 1)); }
static float xs_value(void)
{
    unsigned k = xs_next() % 1000;
    if (k == 0)
        return (xs_next() & 1) ? INFINITY : -INFINITY;
    if (k < 30)
        return (k & 1) ? 0.0f : -0.0f;
    return (float)((int)(xs_next() % 2001) - 1000) / 300.0f;
}
/* a + v w, fused (as the kernels' vectors, when the compiler contracts them: -O2 with
 * -ffp-contract=fast, kernels/meson.build) or rounded twice (as at -O0) */
static float mul_add(float v, float w, float a, bool fused)
{
    if (fused)
        return fmaf(v, w, a);
    volatile float p = v * w;
    return a + p;
}

/* The depthwise convolution of x (B,H,W,C, channel multiplier M) as plain loops, with the
 * kernels' order of sums: y, and with dy the gradients dx, dw (zeroed first) and db. */
static void dw_reference(const ConvGeom *g, int M, const float *x, const float *dy, const float *w,
                         const float *b, bool fused, float *y, float *dx, float *dw, float *db)
{
    size_t taps = (size_t)g->KH * g->KW;
    float *wide = nan_buf((size_t)g->H * g->W * g->OC);
    memset(dw, 0, sizeof(float) * taps * g->OC);
    memset(db, 0, sizeof(float) * g->OC);
    for (int n = 0; n < g->B; n++) {
        const float *xi = x + (size_t)n * g->H * g->W * g->C;
        const float *dyi = dy + (size_t)n * g->OH * g->OW * g->OC;
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++)
                for (int oc = 0; oc < g->OC; oc++) {
                    float acc = b ? b[oc] : 0.0f, d = dyi[((size_t)oy * g->OW + ox) * g->OC + oc];
                    db[oc] += d;
                    for (int ky = 0; ky < g->KH; ky++)
                        for (int kx = 0; kx < g->KW; kx++) {
                            int iy = oy * g->SH + ky * g->DH - g->PH;
                            int ix = ox * g->SW + kx * g->DW - g->PW;
                            bool in = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W;
                            float v = in ? xi[((size_t)iy * g->W + ix) * g->C + oc / M] : 0.0f;
                            size_t t = oc * taps + (size_t)ky * g->KW + kx;
                            acc = mul_add(v, w[t], acc, fused);
                            dw[t] = mul_add(v, d, dw[t], fused);
                        }
                    y[(((size_t)n * g->OH + oy) * g->OW + ox) * g->OC + oc] = acc;
                }
        for (int iy = 0; iy < g->H; iy++)
            for (int ix = 0; ix < g->W; ix++)
                for (int oc = 0; oc < g->OC; oc++) {
                    float acc = 0.0f;
                    for (int ky = 0; ky < g->KH; ky++)
                        for (int kx = 0; kx < g->KW; kx++) {
                            int dyy = iy + g->PH - ky * g->DH, dxx = ix + g->PW - kx * g->DW;
                            if (dyy % g->SH || dxx % g->SW)
                                continue;
                            int oy = dyy / g->SH, ox = dxx / g->SW;
                            bool in = oy >= 0 && oy < g->OH && ox >= 0 && ox < g->OW;
                            float v = in ? dyi[((size_t)oy * g->OW + ox) * g->OC + oc] : 0.0f;
                            acc = mul_add(v, w[oc * taps + (size_t)ky * g->KW + kx], acc, fused);
                        }
                    wide[((size_t)iy * g->W + ix) * g->OC + oc] = acc;
                }
        for (size_t i = 0; i < (size_t)g->H * g->W; i++)
            for (int c = 0; c < g->C; c++) {
                float v = wide[i * g->OC + (size_t)c * M];
                if (M > 1) { /* the copies summed from 0 */
                    v = 0.0f;
                    for (int m = 0; m < M; m++)
                        v += wide[i * g->OC + (size_t)c * M + m];
                }
                dx[((size_t)n * g->H * g->W + i) * g->C + c] = v;
            }
    }
    free(wide);
}

/* The first of n values not equal to ref's (any NaN as any NaN), or -1. */
static long first_other(const float *got, const float *ref, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(isnan(got[i]) && isnan(ref[i])) && memcmp(got + i, ref + i, sizeof(float)))
            return (long)i;
    return -1;
}

Test(graph_kernels, dwconv_order)
{
    for (int it = 0; it < 400; it++) {
        ConvGeom g = {.C = xs_int(1, 40),
                      .KH = xs_int(1, 5),
                      .KW = xs_int(1, 5),
                      .SH = xs_int(1, 4),
                      .SW = xs_int(1, 4),
                      .DH = xs_int(1, 3),
                      .DW = xs_int(1, 3),
                      .PH = xs_int(0, 6),
                      .PW = xs_int(0, 6),
                      .H = xs_int(1, 20),
                      .W = xs_int(1, 20),
                      .B = xs_int(1, 3)};
        int M = xs_next() % 3 ? 1 : xs_int(2, 3);
        g.OC = g.C * M, g.G = g.C;
        int eh = (g.KH - 1) * g.DH + 1, ew = (g.KW - 1) * g.DW + 1;
        if (g.H + 2 * g.PH < eh || g.W + 2 * g.PW < ew) {
            it--;
            continue;
        }
        g.OH = (g.H + 2 * g.PH - eh) / g.SH + 1, g.OW = (g.W + 2 * g.PW - ew) / g.SW + 1;
        size_t inn = (size_t)g.B * g.H * g.W * g.C, outn = (size_t)g.B * g.OH * g.OW * g.OC;
        size_t nw = (size_t)g.OC * g.KH * g.KW, oc = (size_t)g.OC;
        bool bias = xs_next() & 1;
        float *x = nan_buf(inn), *dy = nan_buf(outn), *w = nan_buf(nw), *b = nan_buf(oc);
        for (size_t i = 0; i < inn; i++)
            x[i] = xs_value();
        for (size_t i = 0; i < outn; i++)
            dy[i] = xs_value();
        for (size_t i = 0; i < nw; i++)
            w[i] = xs_value();
        for (size_t i = 0; i < oc; i++)
            b[i] = xs_value();
        float *r[2][4]; /* unfused, fused */
        for (int f = 0; f < 2; f++) {
            r[f][0] = nan_buf(outn), r[f][1] = nan_buf(inn), r[f][2] = nan_buf(nw);
            r[f][3] = nan_buf(oc);
            dw_reference(&g, M, x, dy, w, bias ? b : NULL, f, r[f][0], r[f][1], r[f][2], r[f][3]);
        }
        /* the kernels, in two parts as the runtime calls them */
        float *scratch = nan_buf(dwconv2d_scratch_floats(&g));
        float *got[4] = {nan_buf(outn), nan_buf(inn), nan_buf(nw), nan_buf(oc)};
        ConvGeom g1 = g, g2 = g;
        g1.B = g.B / 2, g2.B = g.B - g1.B;
        size_t in1 = (size_t)g1.B * g.H * g.W * g.C, out1 = (size_t)g1.B * g.OH * g.OW * g.OC;
        dwconv2d_pack(scratch, w, bias ? b : NULL, &g);
        if (g1.B)
            dwconv2d_forward(got[0], x, &g1, scratch);
        dwconv2d_forward(got[0] + out1, x + in1, &g2, scratch);
        dwconv2d_pack(scratch, w, bias ? b : NULL, &g);
        if (g1.B)
            dwconv2d_backward(got[1], dy, x, true, &g1, scratch);
        dwconv2d_backward(got[1] + in1, dy + out1, x + in1, true, &g2, scratch);
        dwconv2d_grads(got[2], got[3], &g, scratch);
        static const char *const names[4] = {"out", "din", "dw", "db"};
        size_t len[4] = {outn, inn, nw, oc};
        for (int k = 0; k < 4; k++) {
            /* every result fused, or (a build without contraction) every result not: the
             * vectors and the channels past them alike */
            long at = first_other(got[k], r[1][k], len[k]);
            if (at >= 0 && first_other(got[k], r[0][k], len[k]) < 0)
                at = -1;
            cr_assert(at < 0,
                      "dwconv %s[%ld] = %.9g, not %.9g: C %d M %d k %dx%d s %dx%d d %dx%d "
                      "p %dx%d in %dx%d B %d",
                      names[k], at, at < 0 ? 0.0 : got[k][at], at < 0 ? 0.0 : r[1][k][at], g.C, M,
                      g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PH, g.PW, g.H, g.W, g.B);
        }
        for (int k = 0; k < 4; k++)
            free(r[0][k]), free(r[1][k]), free(got[k]);
        free(x), free(dy), free(w), free(b), free(scratch);
    }
}

/* ---- grouped convolution ---- */

Test(graph_kernels, gconv)
{
    char cases[16][64];
    int nc = ref_cases(&ref, "gconv_", "geom", cases, 16);
    cr_assert(nc >= 4);
    for (int k = 0; k < nc; k++) {
        const char *c = cases[k];
        ConvGeom g = conv_geom(get(c, "geom"));
        int B = g.B;
        const RefTensor *bt = ref_find(&ref, c, "b");
        float *x = image(c, "in", B, g.C, g.H * g.W), *dy = image(c, "dout", B, g.OC, g.OH * g.OW);
        float *scratch = nan_buf(gconv2d_scratch_floats(&g));
        size_t outn = (size_t)B * g.OH * g.OW * g.OC, inn = (size_t)B * g.H * g.W * g.C;
        float *y = nan_buf(outn), *dx = nan_buf(inn);
        ConvGeom g1 = g, g2 = g; /* two parts: the first image, then the rest */
        g1.B = 1, g2.B = B - 1;
        size_t in1 = (size_t)g.H * g.W * g.C, out1 = (size_t)g.OH * g.OW * g.OC;
        gconv2d_pack_forward(scratch, get(c, "w")->v, bt ? bt->v : NULL, &g);
        gconv2d_forward(y, x, &g1, scratch);
        if (B > 1)
            gconv2d_forward(y + out1, x + in1, &g2, scratch);
        float *yc = to_chw(y, B, g.OC, g.OH * g.OW);
        expect_close(c, "out", yc, get(c, "out")->v, outn);
        gconv2d_pack_backward(scratch, get(c, "w")->v, &g);
        gconv2d_backward(dx, dy, x, true, &g1, scratch);
        if (B > 1)
            gconv2d_backward(dx + in1, dy + out1, x + in1, true, &g2, scratch);
        size_t nw = (size_t)g.OC * (g.C / g.G) * g.KH * g.KW;
        float *dw = nan_buf(nw), *db = nan_buf((size_t)g.OC);
        gconv2d_grads(dw, bt ? db : NULL, &g, scratch);
        float *dxc = to_chw(dx, B, g.C, g.H * g.W);
        expect_close(c, "din", dxc, get(c, "din")->v, inn);
        expect_close(c, "dw", dw, get(c, "dw")->v, nw);
        if (bt)
            expect_close(c, "db", db, get(c, "db")->v, (size_t)g.OC);
        free(x), free(dy), free(scratch), free(y), free(dx), free(yc), free(dw), free(db);
        free(dxc);
    }
}

/* ---- pooling ---- */

Test(graph_kernels, pooling_ceil_and_count)
{
    char cases[16][64];
    int nc = ref_cases(&ref, "pool2_", "geom", cases, 16);
    cr_assert(nc >= 6);
    for (int k = 0; k < nc; k++) {
        const char *c = cases[k];
        const float *v = get(c, "geom")->v;
        PoolGeom g = {(int)v[0], (int)v[1], (int)v[2], (int)v[3],  (int)v[4],  (int)v[5], (int)v[6],
                      (int)v[7], (int)v[8], (int)v[9], (int)v[10], (int)v[11], v[14] == 0};
        bool is_max = v[12] != 0;
        size_t outn = (size_t)g.B * g.OH * g.OW * g.C, inn = (size_t)g.B * g.H * g.W * g.C;
        float *x = image(c, "in", g.B, g.C, g.H * g.W),
              *dy = image(c, "dout", g.B, g.C, g.OH * g.OW);
        float *y = nan_buf(outn), *dx = nan_buf(inn);
        int32_t *am = malloc(sizeof(int32_t) * (outn ? outn : 1));
        cr_assert(am);
        if (is_max) {
            maxpool2d_forward(y, am, x, &g);
            maxpool2d_backward(dx, dy, am, &g);
        } else {
            avgpool2d_forward(y, x, &g);
            avgpool2d_backward(dx, dy, &g);
        }
        float *yc = to_chw(y, g.B, g.C, g.OH * g.OW), *dxc = to_chw(dx, g.B, g.C, g.H * g.W);
        expect_close(c, "out", yc, get(c, "out")->v, outn);
        expect_close(c, "din", dxc, get(c, "din")->v, inn);
        free(x), free(dy), free(y), free(dx), free(am), free(yc), free(dxc);
    }
}

Test(graph_kernels, adaptive_avgpool)
{
    char cases[16][64];
    int nc = ref_cases(&ref, "adaptive_", "size", cases, 16);
    cr_assert(nc >= 5);
    for (int k = 0; k < nc; k++) {
        const char *c = cases[k];
        const float *v = get(c, "size")->v;
        int B = (int)v[0], C = (int)v[1], H = (int)v[2], W = (int)v[3], OH = (int)v[4],
            OW = (int)v[5];
        size_t outn = (size_t)B * OH * OW * C, inn = (size_t)B * H * W * C;
        float *x = image(c, "in", B, C, H * W), *dy = image(c, "dout", B, C, OH * OW);
        float *y = nan_buf(outn), *dx = nan_buf(inn);
        adaptive_avgpool2d_forward(y, x, B, C, H, W, OH, OW);
        adaptive_avgpool2d_backward(dx, dy, B, C, H, W, OH, OW);
        float *yc = to_chw(y, B, C, OH * OW), *dxc = to_chw(dx, B, C, H * W);
        expect_close(c, "out", yc, get(c, "out")->v, outn);
        expect_close(c, "din", dxc, get(c, "din")->v, inn);
        free(x), free(dy), free(y), free(dx), free(yc), free(dxc);
    }
}

/* ---- GELU and SiLU ---- */

Test(graph_kernels, gelu_silu)
{
    static const char *const names[] = {"gelu", "gelu_tanh", "silu"};
    for (int k = 0; k < 3; k++) {
        const char *c = names[k];
        const RefTensor *in = get(c, "in");
        size_t n = in->n;
        float *y = nan_buf(n), *dx = nan_buf(n);
        if (k < 2) {
            gelu_forward(y, in->v, n, k == 1);
            gelu_backward(dx, get(c, "dout")->v, in->v, n, k == 1);
        } else {
            silu_forward(y, in->v, n);
            silu_backward(dx, get(c, "dout")->v, in->v, n);
        }
        expect_close(c, "out", y, get(c, "out")->v, n);
        expect_close(c, "din", dx, get(c, "din")->v, n);
        free(y), free(dx);
    }
}

/* ---- depthwise convolution on random geometries, against a direct loop ---- */

/* A small deterministic generator (the tests must not depend on libc's rand). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t next_u32(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33);
}
static int rnd(int lo, int hi) { return lo + (int)(next_u32() % (uint32_t)(hi - lo + 1)); }
static float rndf(void) { return (float)next_u32() / 4294967296.0f * 2.0f - 1.0f; }

/* out, din, dw, db of a depthwise convolution, summed in double by the definition. Tensors are
 * channels-last; w is (OC,1,KH,KW); channel oc reads input channel oc / M. */
static void dw_naive(const ConvGeom *g, const float *x, const float *w, const float *b,
                     const float *dy, double *out, double *din, double *dw, double *db)
{
    int M = g->OC / g->C, taps = g->KH * g->KW;
    size_t nin = (size_t)g->B * g->H * g->W * g->C;
    for (size_t i = 0; i < nin; i++)
        din[i] = 0;
    for (int i = 0; i < g->OC * taps; i++)
        dw[i] = 0;
    for (int oc = 0; oc < g->OC; oc++)
        db[oc] = 0;
    for (int n = 0; n < g->B; n++)
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++)
                for (int oc = 0; oc < g->OC; oc++) {
                    size_t o = (((size_t)n * g->OH + oy) * g->OW + ox) * g->OC + oc;
                    double s = b ? b[oc] : 0.0;
                    db[oc] += dy[o];
                    for (int ky = 0; ky < g->KH; ky++)
                        for (int kx = 0; kx < g->KW; kx++) {
                            int y = oy * g->SH + ky * g->DH - g->PH;
                            int xx = ox * g->SW + kx * g->DW - g->PW;
                            if (y < 0 || y >= g->H || xx < 0 || xx >= g->W)
                                continue;
                            size_t i = (((size_t)n * g->H + y) * g->W + xx) * g->C + oc / M;
                            int t = oc * taps + ky * g->KW + kx;
                            s += (double)x[i] * w[t];
                            din[i] += (double)dy[o] * w[t];
                            dw[t] += (double)dy[o] * x[i];
                        }
                    out[o] = s;
                }
}

static void expect_near(const char *what, int k, const float *got, const double *want, size_t n,
                        int terms)
{
    for (size_t i = 0; i < n; i++) {
        /* float sums of `terms` products of values below 1 in magnitude */
        double tol = 1e-6 * (terms + 1);
        cr_assert(fabs(got[i] - want[i]) <= tol, "geometry %d: %s[%zu] = %.9g, want %.9g", k, what,
                  i, (double)got[i], want[i]);
    }
}

/* Every geometry class the layer accepts: kernels 1..5 on each axis, strides 1..3 (past the
 * kernel too), padding 0..3 (past half the kernel too), dilation 1..3, multipliers 1..3,
 * channels from under one vector to several and a tail, with and without bias; the batch in
 * two calls. */
Test(graph_kernels, dwconv_random_geometries)
{
    int done = 0;
    for (int k = 0; done < 400; k++) {
        ConvGeom g = {.B = rnd(1, 3), .C = rnd(1, 21), .H = rnd(1, 11), .W = rnd(1, 19)};
        int M = rnd(1, 3);
        g.OC = g.C * M, g.KH = rnd(1, 5), g.KW = rnd(1, 5), g.SH = rnd(1, 3), g.SW = rnd(1, 3);
        g.PH = rnd(0, 3), g.PW = rnd(0, 3), g.DH = rnd(1, 3), g.DW = rnd(1, 3), g.G = g.C;
        g.OH = (g.H + 2 * g.PH - g.DH * (g.KH - 1) - 1) / g.SH + 1;
        g.OW = (g.W + 2 * g.PW - g.DW * (g.KW - 1) - 1) / g.SW + 1;
        if (g.H + 2 * g.PH - g.DH * (g.KH - 1) - 1 < 0 ||
            g.W + 2 * g.PW - g.DW * (g.KW - 1) - 1 < 0)
            continue; /* the kernel does not fit: the shape pass refuses it */
        done++;
        bool bias = next_u32() & 1;
        int taps = g.KH * g.KW;
        size_t nin = (size_t)g.B * g.H * g.W * g.C, nout = (size_t)g.B * g.OH * g.OW * g.OC;
        float *x = nan_buf(nin), *dy = nan_buf(nout), *w = nan_buf((size_t)g.OC * taps);
        float *b = nan_buf((size_t)g.OC);
        for (size_t i = 0; i < nin; i++)
            x[i] = rndf();
        for (size_t i = 0; i < nout; i++)
            dy[i] = rndf();
        for (int i = 0; i < g.OC * taps; i++)
            w[i] = rndf();
        for (int i = 0; i < g.OC; i++)
            b[i] = rndf();
        double *out = malloc(sizeof(double) * nout), *din = malloc(sizeof(double) * nin);
        double *dw = malloc(sizeof(double) * (size_t)g.OC * taps);
        double *db = malloc(sizeof(double) * (size_t)g.OC);
        cr_assert(out && din && dw && db);
        dw_naive(&g, x, w, bias ? b : NULL, dy, out, din, dw, db);

        float *scratch = nan_buf(dwconv2d_scratch_floats(&g));
        float *y = nan_buf(nout), *dx = nan_buf(nin), *gw = nan_buf((size_t)g.OC * taps);
        float *gb = nan_buf((size_t)g.OC);
        ConvGeom g1 = g, g2 = g;
        g1.B = 1, g2.B = g.B - 1;
        size_t in1 = (size_t)g.H * g.W * g.C, out1 = (size_t)g.OH * g.OW * g.OC;
        dwconv2d_pack(scratch, w, bias ? b : NULL, &g);
        dwconv2d_forward(y, x, &g1, scratch);
        if (g.B > 1)
            dwconv2d_forward(y + out1, x + in1, &g2, scratch);
        dwconv2d_pack(scratch, w, bias ? b : NULL, &g);
        dwconv2d_backward(dx, dy, x, true, &g1, scratch);
        if (g.B > 1)
            dwconv2d_backward(dx + in1, dy + out1, x + in1, true, &g2, scratch);
        dwconv2d_grads(gw, bias ? gb : NULL, &g, scratch);
        expect_near("out", k, y, out, nout, taps + 1);
        expect_near("din", k, dx, din, nin, taps * M);
        expect_near("dw", k, gw, dw, (size_t)g.OC * taps, g.B * g.OH * g.OW);
        if (bias)
            expect_near("db", k, gb, db, (size_t)g.OC, g.B * g.OH * g.OW);
        free(x), free(dy), free(w), free(b), free(out), free(din), free(dw), free(db);
        free(scratch), free(y), free(dx), free(gw), free(gb);
    }
}

/* ---- batch norm's statistics: the same bits as the plain loop over rows ---- */

Test(graph_kernels, batchnorm_stats_same_bits_as_plain_loop)
{
    for (int k = 0; k < 200; k++) {
        int C = rnd(1, 70);
        size_t rows = (size_t)rnd(1, 300), n = rows * (size_t)C;
        float *x = nan_buf(n), *dy = nan_buf(n), *mean = nan_buf((size_t)C);
        for (size_t i = 0; i < n; i++)
            x[i] = rndf() * 3, dy[i] = rndf();
        for (int c = 0; c < C; c++)
            mean[c] = rndf();
        /* start from nonzero sums, as a later part of a batch does */
        double *s = malloc(sizeof(double) * 4 * (size_t)C),
               *r = malloc(sizeof(double) * 4 * (size_t)C);
        cr_assert(s && r);
        for (int i = 0; i < 4 * C; i++)
            s[i] = r[i] = rndf();
        batchnorm_stats(s, s + C, x, rows, C);
        batchnorm_backward_stats(s + 2 * C, s + 3 * C, dy, x, mean, rows, C, NULL, NULL);
        for (size_t i = 0; i < rows; i++)
            for (int c = 0; c < C; c++) {
                double v = x[i * C + c];
                r[c] += v;
                r[C + c] += v * v;
                r[2 * C + c] += dy[i * C + c];
                r[3 * C + c] += (double)dy[i * C + c] * (double)(x[i * C + c] - mean[c]);
            }
        for (int i = 0; i < 4 * C; i++)
            cr_assert(memcmp(&s[i], &r[i], sizeof(double)) == 0,
                      "C %d, rows %zu: sum %d of 4, channel %d: %.17g, the plain loop %.17g", C,
                      rows, i / C, i % C, s[i], r[i]);
        free(x), free(dy), free(mean), free(s), free(r);
    }
}

/* ---- batch norm with its ReLU fused: the same bits as the two kinds one after the other ----
 * Many values land on the ReLU's edge: x = -beta / alpha, where z = x * alpha + beta is 0 or
 * a rounding error either side of it, so a backward that recomputed z otherwise than the
 * forward made it (a multiply-add fused in one and not the other) would mask other values. */

Test(graph_kernels, batchnorm_fused_relu_same_bits_as_relu_after)
{
    for (int k = 0; k < 200; k++) {
        int C = rnd(1, 70);
        size_t rows = (size_t)rnd(1, 200), n = rows * (size_t)C;
        float *x = nan_buf(n), *dy = nan_buf(n), *y = nan_buf(n), *yf = nan_buf(n);
        float *dm = nan_buf(n), *dx = nan_buf(n), *dxf = nan_buf(n);
        float *al = nan_buf((size_t)C), *be = nan_buf((size_t)C), *mean = nan_buf((size_t)C);
        float *mdy = nan_buf((size_t)C), *kk = nan_buf((size_t)C), *sc = nan_buf((size_t)C);
        for (int c = 0; c < C; c++) {
            al[c] = rndf() * 3, be[c] = rndf() * 2, mean[c] = rndf();
            mdy[c] = rndf(), kk[c] = rndf(), sc[c] = rndf() * 2;
            if (c % 7 == 3)
                al[c] = 0.5f, be[c] = -1.0f; /* x = 2 gives z = 0 exactly */
        }
        int edge = 0;
        for (size_t i = 0; i < n; i++) {
            int c = (int)(i % (size_t)C);
            x[i] = rnd(0, 2) ? rndf() * 3 : -be[c] / al[c];
            dy[i] = rndf();
        }
        if (C >= 4)
            x[3] = 2.0f; /* channel 3 of the first row: z = 0 */
        batchnorm_apply(y, x, al, be, rows, C, false);
        relu_forward(y, y, n);
        batchnorm_apply(yf, x, al, be, rows, C, true);
        for (size_t i = 0; i < n; i++) {
            cr_assert(memcmp(&y[i], &yf[i], sizeof(float)) == 0,
                      "C %d, value %zu: fused %.9g, ReLU after %.9g", C, i, (double)yf[i],
                      (double)y[i]);
            edge += x[i] * al[i % (size_t)C] + be[i % (size_t)C] == 0.0f;
        }
        relu_backward(dm, dy, y, n);
        double *s = calloc(4 * (size_t)C, sizeof(double));
        cr_assert(s);
        batchnorm_backward_stats(s, s + C, dm, x, mean, rows, C, NULL, NULL);
        batchnorm_backward_stats(s + 2 * C, s + 3 * C, dy, x, mean, rows, C, al, be);
        for (int i = 0; i < 2 * C; i++)
            cr_assert(memcmp(&s[i], &s[2 * C + i], sizeof(double)) == 0,
                      "C %d, rows %zu: sum %d, channel %d: fused %.17g, ReLU after %.17g", C, rows,
                      i / C, i % C, s[2 * C + i], s[i]);
        batchnorm_backward_dx(dx, dm, x, mean, mdy, kk, sc, rows, C, NULL, NULL);
        batchnorm_backward_dx(dxf, dy, x, mean, mdy, kk, sc, rows, C, al, be);
        for (size_t i = 0; i < n; i++)
            cr_assert(memcmp(&dx[i], &dxf[i], sizeof(float)) == 0,
                      "C %d, value %zu: fused dx %.9g, ReLU after %.9g", C, i, (double)dxf[i],
                      (double)dx[i]);
        cr_assert(C < 4 || edge > 0, "C %d: no value on the ReLU's edge", C);
        free(x), free(dy), free(y), free(yf), free(dm), free(dx), free(dxf), free(al), free(be);
        free(mean), free(mdy), free(kk), free(sc), free(s);
    }
}

/* ---- SiLU and tanh on vectors: every value alike, wherever it lies; libm's special cases ----
 * They compute on whole vectors, the last values of a call in a padded one: a value must give
 * the same bits at every position and in calls of every length; and the results must keep
 * libm's infinities, NaNs and signed zeros and be within a few ulp elsewhere (sigmoid,
 * through libm, is checked beside them). Tanh's 'monotonic' is the props test's. */

Test(graph_kernels, silu_vector_exp)
{
    static const float special[] = {INFINITY, -INFINITY, NAN,    0.0f,   -0.0f,  1e-30f,  -1e-30f,
                                    88.5f,    -88.5f,    88.8f,  -88.8f, 100.0f, -100.0f, 1e30f,
                                    -1e30f,   20.0f,     -20.0f, 0.5f,   -0.5f,  3.0f,    -3.0f};
    enum { NS = sizeof special / sizeof special[0] };
    float y[3][NS], g[NS], th[NS], ones[NS];
    for (int i = 0; i < NS; i++)
        ones[i] = 1.0f;
    sigmoid_forward(y[0], special, NS);
    silu_forward(y[1], special, NS);
    silu_backward(g, ones, special, NS);
    tanh_forward(th, special, NS);
    for (int i = 0; i < NS; i++) {
        double x = special[i], s = 1.0 / (1.0 + exp(-x)), want[3] = {s, x * s, 0};
        want[2] = s * (1.0 + x * (1.0 - s));
        double t = tanh(x); /* odd, so tanh(-0) is -0 */
        if (isnan(t))
            cr_expect(isnan(th[i]), "tanh(%g) = %g, want NaN", x, (double)th[i]);
        else
            cr_expect(fabs(th[i] - t) <= 2e-7 * fabs(t) && !signbit(th[i]) == !signbit(t),
                      "tanh(%g) = %.9g, want %.9g", x, (double)th[i], t);
        if (isinf(x) && x < 0) /* libm: x / (1 + inf), inf * (1 - 0) ... as PyTorch */
            want[1] = NAN, want[2] = NAN;
        if (isinf(x) && x > 0)
            want[2] = NAN; /* 1 + inf * 0 */
        const float got[3] = {y[0][i], y[1][i], g[i]};
        for (int k = 0; k < 3; k++) {
            const char *what = k == 0 ? "sigmoid" : k == 1 ? "silu" : "silu'";
            if (isnan(want[k])) {
                cr_expect(isnan(got[k]), "%s(%g) = %g, want NaN", what, x, (double)got[k]);
                continue;
            }
            double err =
                isinf(want[k]) ? (got[k] == want[k] ? 0 : INFINITY) : fabs(got[k] - want[k]);
            cr_expect(err <= 1e-6 * fmax(1e-30, fabs(want[k])) || err < 1e-36,
                      "%s(%g) = %.9g, want %.9g", what, x, (double)got[k], want[k]);
            if (want[k] == 0)
                cr_expect(!signbit(got[k]) == !signbit(want[k]), "%s(%g) = %g: the sign of 0", what,
                          x, (double)got[k]);
        }
    }
    /* every value at every offset of calls of every length up to three vectors: the same bits */
    enum { N = 40 };
    float x[N], a[N], b[N];
    for (int i = 0; i < N; i++)
        x[i] = (float)(i * 7 % 23) * 0.37f - 4.0f;
    for (int k = 0; k < 2; k++) {
        void (*f)(float *, const float *, size_t) = k ? tanh_forward : silu_forward;
        const char *name = k ? "tanh" : "silu";
        f(a, x, N);
        for (int len = 1; len <= N; len++)
            for (int off = 0; off + len <= N; off += 3) {
                f(b, x + off, (size_t)len);
                for (int i = 0; i < len; i++)
                    cr_assert(memcmp(&a[off + i], &b[i], sizeof(float)) == 0,
                              "%s of value %d: %.9g alone in a call of %d, %.9g in one of %d", name,
                              off + i, (double)b[i], len, (double)a[off + i], N);
            }
    }
}
