/* test_kernels.c: Criterion tests of src/kernels against PyTorch reference values, plus
 * sgemm against a naive product and run-to-run reproducibility.
 *
 * Design choice: the reference cases live in tests/reference/kernels.ref (written by
 * gen_reference.py, found through REF_DIR) and the tests walk every case of a kind found
 * there, so a new geometry is one line in the generator and no C. A value passes when
 * |got - want| <= 1e-5 * max(1, |want|); every output buffer is filled with NaN before the
 * call, so a kernel that leaves an element unwritten (or accumulates into it) fails. The
 * reference images are PyTorch's (B,C,H,W); the kernels take channels-last (B,H,W,C), so the
 * tests transpose on the way in and out. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define TOL 1e-5

/* ---- the reference file ---- */

typedef struct RefTensor {
    char name[64];
    int ndim, dims[8];
    size_t n;
    float *v;
} RefTensor;

static RefTensor *refs;
static int nrefs;

static void refs_load(void)
{
    const char *path = REF_DIR "/kernels.ref";
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s (generate it with tests/reference/gen_reference.py)", path);
    int cap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (nrefs == cap) {
            cap = cap ? 2 * cap : 256;
            refs = realloc(refs, (size_t)cap * sizeof *refs);
            cr_assert(refs);
        }
        RefTensor *t = &refs[nrefs++];
        int used = 0;
        cr_assert(sscanf(line, "%63s %d%n", t->name, &t->ndim, &used) == 2 && t->ndim <= 8,
                  "%s: bad tensor header: %s", path, line);
        t->n = 1;
        char *p = line + used;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = (int)strtol(p, &p, 10);
            t->n *= (size_t)t->dims[d];
        }
        t->v = malloc((t->n ? t->n : 1) * sizeof(float));
        cr_assert(t->v);
        for (size_t i = 0; i < t->n; i++)
            cr_assert(fscanf(f, "%f", &t->v[i]) == 1, "%s: %s: value %zu missing", path, t->name,
                      i);
    }
    fclose(f);
}

static void refs_free(void)
{
    for (int i = 0; i < nrefs; i++)
        free(refs[i].v);
    free(refs);
}

/* The tensor '<c>.<t>', or NULL when the case has none (e.g. no bias). */
static const RefTensor *ref_find(const char *c, const char *t)
{
    char name[sizeof refs[0].name];
    if (snprintf(name, sizeof name, "%s.%s", c, t) >= (int)sizeof name)
        return NULL; /* longer than any name in the file */
    for (int i = 0; i < nrefs; i++)
        if (!strcmp(refs[i].name, name))
            return &refs[i];
    return NULL;
}

static const RefTensor *ref_get(const char *c, const char *t)
{
    const RefTensor *r = ref_find(c, t);
    cr_assert(r, "kernels.ref has no tensor %s.%s", c, t);
    return r;
}

/* The names of every case with a tensor '<prefix>*.<tensor>' (e.g. "conv2d_", "geom"). */
static int ref_cases(const char *prefix, const char *tensor, char cases[][64], int max)
{
    int n = 0;
    size_t lp = strlen(prefix), lt = strlen(tensor);
    for (int i = 0; i < nrefs && n < max; i++) {
        const char *nm = refs[i].name;
        size_t ln = strlen(nm);
        if (!strncmp(nm, prefix, lp) && ln > lt + 1 && nm[ln - lt - 1] == '.' &&
            !strcmp(nm + ln - lt, tensor)) {
            memcpy(cases[n], nm, ln - lt - 1);
            cases[n][ln - lt - 1] = '\0';
            n++;
        }
    }
    return n;
}

/* ---- helpers ---- */

static float *nan_buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    cr_assert(p);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* Expects got (n) to match the reference '<c>.<t>' element by element. */
static void expect_close(const char *c, const char *t, const float *got, size_t n)
{
    const RefTensor *want = ref_get(c, t);
    cr_assert_eq(want->n, n, "%s.%s: kernel gives %zu elements, reference has %zu", c, t, n,
                 want->n);
    size_t bad = 0, first = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want->v[i]);
        if (!(d <= TOL * fmax(1.0, fabs(want->v[i])))) {
            if (!bad++)
                first = i;
        }
        if (d > worst || isnan(d))
            worst = d;
    }
    cr_expect(bad == 0,
              "%s.%s[%zu]: got %.9g, want %.9g, |diff| %.3g > %.0e * max(1,|want|) "
              "(%zu of %zu elements off, largest |diff| %.3g)",
              c, t, first, bad ? got[first] : 0.0f, bad ? want->v[first] : 0.0f,
              bad ? fabs((double)got[first] - want->v[first]) : 0.0, TOL, bad, n, worst);
}

/* A new (B,H,W,C) copy of the (B,C,H,W) tensor src of 4-byte elements, or the reverse
 * (to_chw): the layout change between PyTorch's images and the kernels'. */
static void *transpose_image(const void *src, int B, int C, int H, int W, bool to_chw)
{
    size_t n = (size_t)B * C * H * W;
    char *dst = malloc((n ? n : 1) * 4);
    cr_assert(dst);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (size_t i = 0; i < (size_t)H * W; i++) {
                size_t chw = ((size_t)b * C + c) * H * W + i, hwc = ((size_t)b * H * W + i) * C + c;
                memcpy(dst + 4 * (to_chw ? chw : hwc), (const char *)src + 4 * (to_chw ? hwc : chw),
                       4);
            }
    return dst;
}
static float *hwc_of(const float *chw, int B, int C, int H, int W)
{
    return transpose_image(chw, B, C, H, W, false);
}
/* Replaces the (B,H,W,C) buffer *p (freed) with its (B,C,H,W) transpose. */
static void to_chw(void *p, int B, int C, int H, int W)
{
    void **pp = p, *t = transpose_image(*pp, B, C, H, W, true);
    free(*pp);
    *pp = t;
}

static ConvGeom conv_geom(const RefTensor *t)
{
    const float *v = t->v;
    return (ConvGeom){(int)v[0],  (int)v[1],  (int)v[2],  (int)v[3], (int)v[4],  (int)v[5],
                      (int)v[6],  (int)v[7],  (int)v[8],  (int)v[9], (int)v[10], (int)v[11],
                      (int)v[12], (int)v[13], (int)v[14], 1};
}

static PoolGeom pool_geom(const RefTensor *t)
{
    const float *v = t->v;
    return (PoolGeom){(int)v[0], (int)v[1], (int)v[2], (int)v[3],  (int)v[4],  (int)v[5], (int)v[6],
                      (int)v[7], (int)v[8], (int)v[9], (int)v[10], (int)v[11], false};
}

TestSuite(kernels, .init = refs_load, .fini = refs_free);

/* ---- reference tests ---- */

Test(kernels, conv2d_reference)
{
    char cases[64][64];
    int ncases = ref_cases("conv2d_", "geom", cases, 64);
    cr_assert(ncases >= 8, "kernels.ref has only %d conv2d cases", ncases);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        ConvGeom g = conv_geom(ref_get(c, "geom"));
        const RefTensor *b = ref_find(c, "b");
        size_t nin = ref_get(c, "in")->n, nout = ref_get(c, "out")->n, nw = ref_get(c, "w")->n;
        float *in = hwc_of(ref_get(c, "in")->v, g.B, g.C, g.H, g.W);
        float *dout = hwc_of(ref_get(c, "dout")->v, g.B, g.OC, g.OH, g.OW);
        const float *w = ref_get(c, "w")->v;
        float *out = nan_buf(nout), *din = nan_buf(nin), *dw = nan_buf(nw), *db = nan_buf(g.OC);
        float *scratch = nan_buf(conv2d_scratch_floats(&g));
        conv2d_pack_forward(scratch, w, b ? b->v : NULL, &g);
        conv2d_forward(out, in, &g, scratch);
        conv2d_pack_backward(scratch, w, &g);
        conv2d_backward(din, dout, in, true, &g, scratch);
        conv2d_grads(dw, b ? db : NULL, &g, scratch);
        /* Each gradient alone gives the same values (the kernel skips what is not asked). */
        float *dw2 = nan_buf(nw), *din2 = nan_buf(nin);
        conv2d_pack_backward(scratch, w, &g);
        conv2d_backward(NULL, dout, in, true, &g, scratch);
        conv2d_grads(dw2, NULL, &g, scratch);
        conv2d_pack_backward(scratch, w, &g);
        conv2d_backward(din2, dout, in, false, &g, scratch);
        cr_expect(!memcmp(dw, dw2, nw * sizeof(float)), "%s: dw differs when din is NULL", c);
        cr_expect(!memcmp(din, din2, nin * sizeof(float)), "%s: din differs when dw is NULL", c);
        /* The batch run in two parts (the first image, then the rest) gives the same bits:
         * the gradient sums carry over from one call to the next, in image order. */
        if (g.B > 1) {
            float *out3 = nan_buf(nout), *din3 = nan_buf(nin), *dw3 = nan_buf(nw);
            float *db3 = nan_buf(g.OC);
            ConvGeom g1 = g, g2 = g;
            g1.B = 1, g2.B = g.B - 1;
            size_t xi = nin / g.B, yi = nout / g.B;
            conv2d_pack_forward(scratch, w, b ? b->v : NULL, &g1);
            conv2d_forward(out3, in, &g1, scratch);
            conv2d_forward(out3 + yi, in + xi, &g2, scratch);
            conv2d_pack_backward(scratch, w, &g1);
            conv2d_backward(din3, dout, in, true, &g1, scratch);
            conv2d_backward(din3 + xi, dout + yi, in + xi, true, &g2, scratch);
            conv2d_grads(dw3, db3, &g1, scratch);
            cr_expect(!memcmp(out, out3, nout * sizeof(float)), "%s: out differs in parts", c);
            cr_expect(!memcmp(din, din3, nin * sizeof(float)), "%s: din differs in parts", c);
            cr_expect(!memcmp(dw, dw3, nw * sizeof(float)), "%s: dw differs in parts", c);
            cr_expect(!b || !memcmp(db, db3, (size_t)g.OC * sizeof(float)),
                      "%s: db differs in parts", c);
            free(out3), free(din3), free(dw3), free(db3);
        }
        to_chw(&out, g.B, g.OC, g.OH, g.OW);
        to_chw(&din, g.B, g.C, g.H, g.W);
        expect_close(c, "out", out, nout);
        expect_close(c, "din", din, nin);
        expect_close(c, "dw", dw, nw);
        if (b)
            expect_close(c, "db", db, (size_t)g.OC);
        free(in), free(dout), free(out), free(din), free(dw), free(db), free(scratch), free(dw2),
            free(din2);
    }
}

/* conv2d_forward_pool gives the bits of conv2d_forward then maxpool2d_forward, values and
 * argmax, on every reference geometry with windows of 2 and 3: on the reference's random
 * inputs, on inputs and weights rounded to a few levels (so that windows tie), and with a
 * NaN in the input (a NaN wins its windows). */
static void check_conv_pool(const char *c, const ConvGeom *g, const float *in, const float *w,
                            const float *b, int K, const char *what)
{
    if (g->OH < K || g->OW < K)
        return;
    PoolGeom pg = {g->B, g->OC, g->OH, g->OW, K, K, K, K, 0, 0, g->OH / K, g->OW / K, false};
    size_t nconv = (size_t)g->B * g->OH * g->OW * g->OC;
    size_t npool = (size_t)g->B * pg.OH * pg.OW * g->OC;
    float *scratch = nan_buf(conv2d_scratch_floats(g)), *conv = nan_buf(nconv);
    float *want = nan_buf(npool), *got = nan_buf(npool);
    int32_t *am_want = malloc(npool * sizeof(int32_t)), *am_got = malloc(npool * sizeof(int32_t));
    conv2d_pack_forward(scratch, w, b, g);
    conv2d_forward(conv, in, g, scratch);
    maxpool2d_forward(want, am_want, conv, &pg);
    conv2d_forward_pool(got, am_got, in, g, K, scratch);
    size_t k = 0;
    while (k < npool && !memcmp(&got[k], &want[k], sizeof(float)) && am_got[k] == am_want[k])
        k++;
    cr_expect(k == npool, "%s, MaxPool2d %d, %s: element %zu is %.9g at %d fused, %.9g at %d not",
              c, K, what, k, k < npool ? got[k] : 0.0f, k < npool ? am_got[k] : 0,
              k < npool ? want[k] : 0.0f, k < npool ? am_want[k] : 0);
    float *got2 = nan_buf(npool);
    conv2d_forward_pool(got2, NULL, in, g, K, scratch);
    cr_expect(!memcmp(got, got2, npool * sizeof(float)), "%s: pooled out differs without argmax",
              c);
    free(scratch), free(conv), free(want), free(got), free(got2), free(am_want), free(am_got);
}

Test(kernels, conv2d_forward_pool_is_conv_then_maxpool)
{
    char cases[64][64];
    int ncases = ref_cases("conv2d_", "geom", cases, 64);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        ConvGeom g = conv_geom(ref_get(c, "geom"));
        const RefTensor *b = ref_find(c, "b");
        size_t nin = ref_get(c, "in")->n, nw = ref_get(c, "w")->n;
        float *in = hwc_of(ref_get(c, "in")->v, g.B, g.C, g.H, g.W);
        float *w = malloc(nw * sizeof(float)), *qin = malloc(nin * sizeof(float));
        for (size_t i = 0; i < nw; i++) /* a few levels, so that sums are exact and tie */
            w[i] = roundf(ref_get(c, "w")->v[i] * 2.0f) * 0.5f;
        for (size_t i = 0; i < nin; i++)
            qin[i] = roundf(in[i] * 2.0f) * 0.5f;
        for (int K = 2; K <= 3; K++) {
            check_conv_pool(c, &g, in, ref_get(c, "w")->v, b ? b->v : NULL, K, "random");
            check_conv_pool(c, &g, qin, w, NULL, K, "ties");
            qin[nin / 2] = NAN;
            check_conv_pool(c, &g, qin, w, NULL, K, "a NaN");
            qin[nin / 2] = 0.0f;
        }
        free(in), free(w), free(qin);
    }
}

Test(kernels, linear_reference)
{
    char cases[16][64];
    int ncases = ref_cases("linear_", "size", cases, 16);
    cr_assert(ncases >= 2);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        const float *sz = ref_get(c, "size")->v;
        int B = (int)sz[0], IN = (int)sz[1], OUT = (int)sz[2];
        const RefTensor *b = ref_find(c, "b");
        float *out = nan_buf((size_t)B * OUT), *din = nan_buf((size_t)B * IN);
        float *dw = nan_buf((size_t)OUT * IN), *db = nan_buf((size_t)OUT);
        linear_forward(out, ref_get(c, "in")->v, ref_get(c, "w")->v, b ? b->v : NULL, B, IN, OUT);
        expect_close(c, "out", out, (size_t)B * OUT);
        linear_backward(din, dw, b ? db : NULL, ref_get(c, "dout")->v, ref_get(c, "in")->v,
                        ref_get(c, "w")->v, B, IN, OUT);
        expect_close(c, "din", din, (size_t)B * IN);
        expect_close(c, "dw", dw, (size_t)OUT * IN);
        if (b)
            expect_close(c, "db", db, (size_t)OUT);
        free(out), free(din), free(dw), free(db);
    }
}

Test(kernels, maxpool2d_reference)
{
    char cases[16][64];
    int ncases = ref_cases("maxpool_", "geom", cases, 16);
    cr_assert(ncases >= 4);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        PoolGeom g = pool_geom(ref_get(c, "geom"));
        size_t nin = ref_get(c, "in")->n, nout = ref_get(c, "out")->n;
        float *in = hwc_of(ref_get(c, "in")->v, g.B, g.C, g.H, g.W);
        float *dout = hwc_of(ref_get(c, "dout")->v, g.B, g.C, g.OH, g.OW);
        float *out = nan_buf(nout), *out2 = nan_buf(nout), *din = nan_buf(nin);
        int32_t *am = malloc(nout * sizeof *am);
        maxpool2d_forward(out, am, in, &g);
        maxpool2d_forward(out2, NULL, in, &g);
        cr_expect(!memcmp(out, out2, nout * sizeof(float)), "%s: out differs without argmax", c);
        maxpool2d_backward(din, dout, am, &g);
        to_chw(&out, g.B, g.C, g.OH, g.OW);
        to_chw(&am, g.B, g.C, g.OH, g.OW);
        to_chw(&din, g.B, g.C, g.H, g.W);
        expect_close(c, "out", out, nout);
        const RefTensor *want = ref_get(c, "argmax");
        for (size_t i = 0; i < nout; i++)
            if (am[i] != (int32_t)want->v[i]) {
                cr_expect_fail("%s.argmax[%zu]: got %d, want %d", c, i, am[i], (int)want->v[i]);
                break;
            }
        expect_close(c, "din", din, nin);
        free(in), free(dout), free(out), free(out2), free(din), free(am);
    }
}

Test(kernels, avgpool2d_reference)
{
    char cases[16][64];
    int ncases = ref_cases("avgpool_", "geom", cases, 16);
    cr_assert(ncases >= 3);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        PoolGeom g = pool_geom(ref_get(c, "geom"));
        size_t nin = ref_get(c, "in")->n, nout = ref_get(c, "out")->n;
        float *in = hwc_of(ref_get(c, "in")->v, g.B, g.C, g.H, g.W);
        float *dout = hwc_of(ref_get(c, "dout")->v, g.B, g.C, g.OH, g.OW);
        float *out = nan_buf(nout), *din = nan_buf(nin);
        avgpool2d_forward(out, in, &g);
        avgpool2d_backward(din, dout, &g);
        to_chw(&out, g.B, g.C, g.OH, g.OW);
        to_chw(&din, g.B, g.C, g.H, g.W);
        expect_close(c, "out", out, nout);
        expect_close(c, "din", din, nin);
        free(in), free(dout), free(out), free(din);
    }
}

Test(kernels, activations_reference)
{
    const char *names[] = {"relu", "leaky_relu", "leaky_relu_big", "sigmoid", "tanh"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *c = names[k];
        const RefTensor *in = ref_get(c, "in"), *dout = ref_get(c, "dout");
        const RefTensor *slope = ref_find(c, "slope");
        size_t n = in->n;
        float *out = nan_buf(n), *din = nan_buf(n);
        if (slope) {
            leaky_relu_forward(out, in->v, n, slope->v[0]);
            leaky_relu_backward(din, dout->v, in->v, n, slope->v[0]);
        } else if (!strcmp(c, "relu")) {
            relu_forward(out, in->v, n);
            relu_backward(din, dout->v, out, n);
        } else if (!strcmp(c, "sigmoid")) {
            sigmoid_forward(out, in->v, n);
            sigmoid_backward(din, dout->v, out, n);
        } else {
            tanh_forward(out, in->v, n);
            tanh_backward(din, dout->v, out, n);
        }
        expect_close(c, "out", out, n);
        expect_close(c, "din", din, n);
        free(out), free(din);
    }
}

Test(kernels, softmax_reference)
{
    const float *sz = ref_get("softmax", "size")->v;
    int B = (int)sz[0], N = (int)sz[1];
    float *out = nan_buf((size_t)B * N), *din = nan_buf((size_t)B * N);
    softmax_forward(out, ref_get("softmax", "in")->v, B, N, 1);
    expect_close("softmax", "out", out, (size_t)B * N);
    softmax_backward(din, ref_get("softmax", "dout")->v, out, B, N, 1);
    expect_close("softmax", "din", din, (size_t)B * N);
    free(out), free(din);
}

Test(kernels, log_softmax_reference)
{
    static const char *const cases[] = {"log_softmax", "log_softmax_large"};
    for (int c = 0; c < 2; c++) {
        const float *sz = ref_get(cases[c], "size")->v;
        int B = (int)sz[0], N = (int)sz[1];
        float *out = nan_buf((size_t)B * N), *din = nan_buf((size_t)B * N);
        logsoftmax_forward(out, ref_get(cases[c], "in")->v, B, N, 1);
        expect_close(cases[c], "out", out, (size_t)B * N);
        logsoftmax_backward(din, ref_get(cases[c], "dout")->v, out, B, N, 1);
        expect_close(cases[c], "din", din, (size_t)B * N);
        free(out), free(din);
    }
}

Test(kernels, nll_reference)
{
    const float *sz = ref_get("nll", "size")->v;
    int B = (int)sz[0], N = (int)sz[1];
    const float *lf = ref_get("nll", "labels")->v;
    int32_t labels[64];
    cr_assert(B <= 64);
    for (int b = 0; b < B; b++)
        labels[b] = (int32_t)lf[b];
    float *d = nan_buf((size_t)B * N);
    double rows[64], sum = 0;
    nll_rows(d, ref_get("nll", "logp")->v, labels, B, N, 0, B, rows);
    for (int b = 0; b < B; b++)
        sum += rows[b];
    float loss = (float)(sum / B);
    expect_close("nll", "loss", &loss, 1);
    expect_close("nll", "dlogp", d, (size_t)B * N);
    free(d);
}

Test(kernels, cross_entropy_reference)
{
    char cases[8][64];
    int ncases = ref_cases("cross_entropy_", "size", cases, 8);
    cr_assert(ncases >= 5, "%d cross_entropy cases, want the 2 plain and 3 smoothed", ncases);
    for (int k = 0; k < ncases; k++) {
        const char *c = cases[k];
        const float *sz = ref_get(c, "size")->v;
        int B = (int)sz[0], N = (int)sz[1];
        int32_t labels[64];
        cr_assert(B <= 64);
        for (int i = 0; i < B; i++)
            labels[i] = (int32_t)ref_get(c, "labels")->v[i];
        const RefTensor *ls = ref_find(c, "label_smoothing"); /* absent: none */
        double e = ls ? ls->v[0] : 0;
        float *dl = nan_buf((size_t)B * N);
        float loss = cross_entropy_forward(dl, ref_get(c, "logits")->v, labels, e, B, N);
        expect_close(c, "loss", &loss, 1);
        expect_close(c, "dlogits", dl, (size_t)B * N);
        float loss2 = cross_entropy_forward(NULL, ref_get(c, "logits")->v, labels, e, B, N);
        cr_expect_eq(loss, loss2, "%s: loss %.9g without dlogits, %.9g with", c, loss2, loss);
        free(dl);
    }
}

/* Logits far past 1e16 (PyTorch computes (x - m) - log s): ten equal ones of 3e38 lose
 * nothing, log 10 each, with or without smoothing; the gradient is softmax - target. */
Test(kernels, cross_entropy_huge_logits)
{
    float x[2 * 10], dl[2 * 10];
    int32_t labels[2] = {3, 7};
    for (int i = 0; i < 20; i++)
        x[i] = 3e38f;
    x[10 + 7] = -3e38f; /* row 2: its label's logit far below the rest: 6e38 + log 9 */
    for (int k = 0; k < 2; k++) {
        double e = k ? 0.1 : 0.0;
        float loss = cross_entropy_forward(dl, x, labels, e, 1, 10);
        cr_expect(fabsf(loss - (float)log(10.0)) < 1e-6f, "e=%g: loss %.9g, want log 10", e, loss);
        for (int j = 0; j < 10; j++) {
            double want = 0.1 - ((j == 3) * (1 - e) + e / 10);
            cr_expect(fabs(dl[j] - want) < 1e-7, "e=%g: dlogits[%d] %.9g, want %.9g", e, j, dl[j],
                      want);
        }
    }
    float loss = cross_entropy_forward(NULL, x + 10, labels + 1, 0, 1, 10);
    cr_expect(isinf(loss) && loss > 0, "a label 6e38 below the rest: loss %.9g, want inf", loss);
}

Test(kernels, mse_reference)
{
    const float *sz = ref_get("mse", "size")->v;
    int B = (int)sz[0], N = (int)sz[1];
    float *dp = nan_buf((size_t)B * N);
    float loss = mse_forward(dp, ref_get("mse", "pred")->v, ref_get("mse", "target")->v, B, N);
    expect_close("mse", "loss", &loss, 1);
    expect_close("mse", "dpred", dp, (size_t)B * N);
    cr_expect_eq(loss,
                 mse_forward(NULL, ref_get("mse", "pred")->v, ref_get("mse", "target")->v, B, N));
    free(dp);
}

/* ---- hand-made cases ---- */

Test(kernels, maxpool2d_ties_take_the_first)
{
    /* one 4x4 plane of equal values but one: every 2x2 window ties except where 5 is */
    float in[16], out[4], din[16], dout[4] = {1, 2, 3, 4};
    int32_t am[4];
    for (int i = 0; i < 16; i++)
        in[i] = 1.0f;
    in[11] = 5.0f; /* row 2, col 3: in the bottom-right window */
    PoolGeom g = {1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 2, 2, false};
    maxpool2d_forward(out, am, in, &g);
    int32_t want[4] = {0, 2, 8, 11};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(am[i], want[i], "window %d: argmax %d, want %d", i, am[i], want[i]);
    maxpool2d_backward(din, dout, am, &g);
    for (int i = 0; i < 16; i++) {
        float w = i == 0 ? 1 : i == 2 ? 2 : i == 8 ? 3 : i == 11 ? 4 : 0;
        cr_expect_eq(din[i], w, "din[%d] = %g, want %g", i, din[i], w);
    }
}

Test(kernels, dropout)
{
    float in[5] = {1, -2, 3, -4, 5}, mask[5] = {0, 2, 2, 0, 2}, out[5], din[5];
    dropout_forward(out, in, mask, 5);
    dropout_backward(din, in, mask, 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(out[i], in[i] * mask[i]);
        cr_expect_eq(din[i], in[i] * mask[i]);
    }
}

/* ---- sgemm against a naive product ---- */

static unsigned rng_state = 12345u;
static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

typedef void (*GemmFn)(bool, bool, int, int, int, float, const float *, int, const float *, int,
                       float, float *, int);

/* Checks fn on C(M,N) = alpha op(A) op(B) + beta C with padded leading dimensions, against a
 * double-precision triple loop; tolerance 1e-5 * max(1, sum of the magnitudes of the terms). */
static void check_gemm(const char *fname, GemmFn fn, bool ta, bool tb, int M, int N, int K,
                       float alpha, float beta)
{
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + 3, ldb = bc + 1, ldc = N + 2;
    float *A = malloc((size_t)ar * lda * sizeof(float)),
          *B = malloc((size_t)br * ldb * sizeof(float));
    float *C = malloc((size_t)M * ldc * sizeof(float)),
          *C0 = malloc((size_t)M * ldc * sizeof(float));
    for (size_t i = 0; i < (size_t)ar * lda; i++)
        A[i] = frand();
    for (size_t i = 0; i < (size_t)br * ldb; i++)
        B[i] = frand();
    for (size_t i = 0; i < (size_t)M * ldc; i++)
        C0[i] = beta == 0.0f ? NAN : frand(); /* beta == 0 must not read C */
    memcpy(C, C0, (size_t)M * ldc * sizeof(float));
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    int bad = 0;
    for (int i = 0; i < M && bad < 1; i++) {
        for (int j = 0; j < N && bad < 1; j++) {
            double s = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double want = alpha * s, c0 = C0[(size_t)i * ldc + j];
            mag = fabs(alpha) * mag;
            if (beta != 0.0f) {
                want += beta * c0;
                mag += fabs(beta * c0);
            }
            double got = C[(size_t)i * ldc + j];
            if (!(fabs(got - want) <= TOL * fmax(1.0, mag))) {
                bad++;
                cr_expect_fail("%s(ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g): C[%d][%d] = %.9g, "
                               "want %.9g, |diff| %.3g",
                               fname, ta, tb, M, N, K, alpha, beta, i, j, got, want,
                               fabs(got - want));
            }
        }
    }
    /* The padding columns of C are left alone. */
    for (int i = 0; i < M && !bad; i++)
        for (int j = N; j < ldc; j++)
            if (memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float))) {
                bad++;
                cr_expect_fail("%s: wrote C[%d][%d], past N=%d", fname, i, j, N);
                break;
            }
    free(A), free(B), free(C), free(C0);
}

Test(kernels, sgemm_against_naive)
{
    static const int sizes[][3] = {
        {1, 1, 1},     {7, 13, 5},   {33, 17, 65}, {64, 196, 288}, {5, 3, 700},     {130, 70, 400},
        {3, 1100, 20}, {200, 9, 31}, {19, 31, 1},  {17, 33, 97},   {300, 260, 270}, {150, 600, 130},
    };
    static const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t k = 0; k < sizeof ab / sizeof ab[0]; k++) {
                const int *z = sizes[s];
                if (k > 0 && (double)z[0] * z[1] * z[2] > 1e7)
                    continue; /* the large shapes once: the naive product is slow under ASan */
                check_gemm("sgemm_builtin", sgemm_builtin, t & 1, t & 2, z[0], z[1], z[2], ab[k][0],
                           ab[k][1]);
                check_gemm("sgemm", sgemm, t & 1, t & 2, z[0], z[1], z[2], ab[k][0], ab[k][1]);
            }
}

Test(kernels, sgemm_degenerate)
{
    /* K == 0 or alpha == 0: C = beta C, and beta == 0 clears C without reading it */
    float C[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, D[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    sgemm_builtin(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.0f, C, 3);
    sgemm_builtin(false, false, 2, 3, 1, 0.0f, A, 1, B, 3, 2.0f, D, 3);
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(C[i], 0.0f);
        cr_expect_eq(D[i], 2.0f * (float)(i + 1));
    }
}

/* ---- reproducibility ---- */

static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof(float));
    cr_assert(p);
    for (size_t i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

/* The seed net's second convolution and its classifier, forward and backward, at batch 13,
 * on fixed random inputs: res receives out, din, dw, db of the convolution, then of the
 * linear layer. Inputs are drawn before any kernel runs, so that several threads can run
 * the kernels at once on their own outputs (seed_compute). */
enum { NRES = 8, NIN = 8 };
static const char *res_name[NRES] = {"conv2d out", "conv2d din", "conv2d dw", "conv2d db",
                                     "linear out", "linear din", "linear dw", "linear db"};
static const ConvGeom seed_g = {13, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, 1};
enum { SB = 13, SIN = 3136, SOUT = 10 };

static void seed_sizes(size_t sizes[NRES])
{
    const ConvGeom g = seed_g;
    size_t nin = (size_t)g.B * g.C * g.H * g.W, nout = (size_t)g.B * g.OC * g.OH * g.OW;
    size_t sz[NRES] = {nout,
                       nin,
                       (size_t)g.OC * g.C * g.KH * g.KW,
                       (size_t)g.OC,
                       (size_t)SB * SOUT,
                       (size_t)SB * SIN,
                       (size_t)SOUT * SIN,
                       (size_t)SOUT};
    memcpy(sizes, sz, sizeof sz);
}

/* in: conv input, weight, bias, dout; linear input, weight, bias, dout */
static void seed_inputs(float *in[NIN])
{
    size_t sizes[NRES];
    seed_sizes(sizes);
    rng_state = 777u;
    size_t n[NIN] = {sizes[1], sizes[2], sizes[3], sizes[0],
                     sizes[5], sizes[6], sizes[7], sizes[4]};
    for (int i = 0; i < NIN; i++)
        in[i] = rand_buf(n[i]);
}

static void seed_compute(float *res[NRES], float *const in[NIN])
{
    size_t sizes[NRES];
    seed_sizes(sizes);
    for (int i = 0; i < NRES; i++)
        res[i] = nan_buf(sizes[i]);
    float *scratch = nan_buf(conv2d_scratch_floats(&seed_g));
    conv2d_pack_forward(scratch, in[1], in[2], &seed_g);
    conv2d_forward(res[0], in[0], &seed_g, scratch);
    conv2d_pack_backward(scratch, in[1], &seed_g);
    conv2d_backward(res[1], in[3], in[0], true, &seed_g, scratch);
    conv2d_grads(res[2], res[3], &seed_g, scratch);
    linear_forward(res[4], in[4], in[5], in[6], SB, SIN, SOUT);
    linear_backward(res[5], res[6], res[7], in[7], in[4], in[5], SB, SIN, SOUT);
    free(scratch);
}

static void run_seed_layers(float *res[NRES], size_t sizes[NRES])
{
    float *in[NIN];
    seed_inputs(in);
    seed_sizes(sizes);
    seed_compute(res, in);
    for (int i = 0; i < NIN; i++)
        free(in[i]);
}

static void expect_same_bits(float *a[NRES], float *b[NRES], const size_t sizes[NRES],
                             const char *how)
{
    for (int i = 0; i < NRES; i++) {
        size_t k = 0;
        while (k < sizes[i] && !memcmp(&a[i][k], &b[i][k], sizeof(float)))
            k++;
        cr_expect(k == sizes[i], "%s[%zu] differs %s: %.9g vs %.9g", res_name[i], k, how,
                  k < sizes[i] ? a[i][k] : 0.0f, k < sizes[i] ? b[i][k] : 0.0f);
        free(a[i]), free(b[i]);
    }
}

Test(kernels, conv2d_linear_bit_identical_across_runs)
{
    float *r1[NRES], *r2[NRES];
    size_t sizes[NRES];
    run_seed_layers(r1, sizes);
    run_seed_layers(r2, sizes);
    char how[64];
    snprintf(how, sizeof how, "between two runs on %d threads", kernels_threads());
    expect_same_bits(r1, r2, sizes, how);
}

/* Kernels called from three threads at once, each on its own outputs (as the runtime calls
 * them), give the bits of a call on one thread: no shared state (sgemm's packing buffers are
 * per thread). */
Test(kernels, conv2d_linear_bit_identical_on_concurrent_threads)
{
#ifdef _OPENMP
    float *r1[NRES], *in[NIN], *rt[3][NRES];
    size_t sizes[NRES];
    run_seed_layers(r1, sizes);
    seed_inputs(in);
#pragma omp parallel num_threads(3)
    seed_compute(rt[omp_get_thread_num()], in);
    for (int t = 0; t < 3; t++) {
        float *copy[NRES];
        for (int i = 0; i < NRES; i++) {
            copy[i] = malloc(sizes[i] * sizeof(float));
            memcpy(copy[i], r1[i], sizes[i] * sizeof(float));
        }
        char how[64];
        snprintf(how, sizeof how, "on thread %d of 3 running at once", t);
        expect_same_bits(copy, rt[t], sizes, how);
    }
    for (int i = 0; i < NRES; i++)
        free(r1[i]);
    for (int i = 0; i < NIN; i++)
        free(in[i]);
#else
    cr_skip_test("built without OpenMP");
#endif
}
