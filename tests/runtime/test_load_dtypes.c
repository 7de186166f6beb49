/* test_load_dtypes.c: weights files in every dtype PyTorch saves load as PyTorch's
 * load_state_dict converts them (Tensor.copy_ into the float32 model), class by class:
 *   - F32, F64 (rounded to nearest), F16 and BF16 (exact), over random bit patterns of each
 *     width (subnormals, signed zeros, infinities, extremes), into every parameter and
 *     BatchNorm statistic of a net;
 *   - num_batches_tracked as I64, I32, I16, I8 and U8, and missing (0, as PyTorch's
 *     BatchNorm fills it in);
 *   - integer and BOOL weights, and a floating-point count, convert as Tensor.copy_ does, and
 *     a 1-d tensor is taken for a scalar (its first element), as load_state_dict does;
 *   - what does not convert (a count out of range or not a number, another shape) is
 *     refused with one message naming the tensor;
 *   - values that make no sense are refused the same way, in every tensor and dtype: an
 *     infinity or a NaN anywhere (also a double too large for a float), a negative variance
 *     (running_var); a negative mean or weight, and -0 variance, load.
 * The expected floats come from the compiler's double-to-float conversion and from moving
 * bits (half and bfloat16), not from the loader's arithmetic. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"
#include "testutil.h"

static const char net_text[] = "network d (input 2x5x5) {\n"
                               "  Conv2d 3 k3\n"
                               "  BatchNorm2d\n"
                               "  ReLU\n"
                               "  Flatten\n"
                               "  BatchNorm1d affine=false\n"
                               "  fc: Linear 4\n"
                               "}\n";

static char *tmp;
static Cap cap;
static Arena *arena;
static Model *m;
static char path[1024];

static void setup(void)
{
    tmp = tmpdir_new();
    cap_init(&cap);
    snprintf(path, sizeof path, "%s/w.safetensors", tmp);
    arena = arena_new();
    Diag d;
    diag_init(&d, stderr, "test");
    Graph *g = frontend_load_file(arena, src_from_string(arena, "d.net", net_text), &d);
    cr_assert(g && d.errors == 0, "the test's net does not load");
    m = rt_model_new(g, 2, &cap.d);
    cr_assert(m);
    rt_model_init(m, 3);
}

static void teardown(void)
{
    rt_model_free(m);
    arena_free(arena);
    cap_fini(&cap);
    tmpdir_free(tmp);
}

TestSuite(dtypes, .init = setup, .fini = teardown);

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Bits for element i of a float dtype: the first few are the edge cases, then random. */
static uint64_t float_bits(StDtype t, size_t i)
{
    static const uint16_t h_edges[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x7bff,
                                       0xfbff, 0x7c00, 0xfc00, 0x3c00, 0x8001};
    static const uint16_t b_edges[] = {0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x7f7f,
                                       0xff7f, 0x7f80, 0xff80, 0x3f80, 0x8001};
    static const uint64_t d_edges[] = {0x0000000000000000u, 0x8000000000000000u,
                                       0x0000000000000001u, 0x3ff0000000000001u,
                                       0x47efffffe0000000u, /* FLT_MAX */
                                       0x47efffffefffffffu, /* below the tie: FLT_MAX */
                                       0x36a0000000000000u, /* 2^-149: the least subnormal */
                                       0x3690000000000000u, /* 2^-150: a tie, to zero */
                                       0x3fb999999999999au};
    uint64_t r = next();
    switch (t) {
    case ST_F16:
        if (i < sizeof h_edges / sizeof h_edges[0])
            return h_edges[i];
        r &= 0xffff;
        return (r & 0x7c00) == 0x7c00 ? r & 0x83ff : r; /* no NaN: it has no value to compare */
    case ST_BF16:
        if (i < sizeof b_edges / sizeof b_edges[0])
            return b_edges[i];
        r &= 0xffff;
        return (r & 0x7f80) == 0x7f80 ? r & 0x807f : r;
    case ST_F64:
        if (i < sizeof d_edges / sizeof d_edges[0])
            return d_edges[i];
        return ((r >> 1) & 0x000fffffffffffffu) | ((uint64_t)(0x380 + r % 0xf0) << 52) |
               (r & 1) << 63; /* exponents around float's range */
    default:
        if (i < 3)
            return (uint32_t[]){0x00000000u, 0x80000001u, 0x7f7fffffu}[i];
        r &= 0xffffffffu;
        return (r & 0x7f800000u) == 0x7f800000u ? r & 0x807fffffu : r;
    }
}

/* The float32 PyTorch's copy_ makes of those bits. */
static float expected(StDtype t, uint64_t bits)
{
    switch (t) {
    case ST_F16: { /* by moving bits, where the loader computes: two ways to one value */
        uint32_t sign = (uint32_t)(bits & 0x8000) << 16, e = (bits >> 10) & 31, mant = bits & 1023;
        uint32_t u = sign | (e + 112) << 23 | mant << 13; /* a normal half */
        if (e == 31) {
            u = sign | 0x7f800000u | mant << 13;
        } else if (e == 0 && mant == 0) {
            u = sign;
        } else if (e == 0) { /* a subnormal half is a normal float */
            for (e = 113; !(mant & 1024); e--)
                mant <<= 1;
            u = sign | e << 23 | (mant & 1023) << 13;
        }
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case ST_BF16: {
        uint32_t u = (uint32_t)bits << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    case ST_F64: {
        double x;
        memcpy(&x, &bits, sizeof x);
        return (float)x;
    }
    default: {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    }
}

#define MAX_TENSORS 32

typedef struct File {
    StTensor t[MAX_TENSORS];
    void *data[MAX_TENSORS];
    float *want[MAX_TENSORS]; /* what each parameter must hold after loading */
    float *dst[MAX_TENSORS];
    size_t numel[MAX_TENSORS];
    int n;
} File;

/* Every parameter and buffer of m as a tensor: floats in dtype ft, counts in ct with value
 * count (or left out when omit_count). */
static void build(File *f, StDtype ft, StDtype ct, int64_t count, bool omit_count)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        for (int p = 0; p < n->nparams; p++) {
            cr_assert(f->n < MAX_TENSORS);
            int k = f->n;
            bool integer = n->params[p].integer;
            if (integer && omit_count) {
                m->plan[i].params[p][0] = 77.0f; /* must become 0 */
                f->want[k] = calloc(1, sizeof(float));
                f->dst[k] = m->plan[i].params[p];
                f->numel[k] = 1;
                f->n++; /* counted for the check, not written */
                f->t[k].name = NULL;
                continue;
            }
            StDtype dt = integer ? ct : ft;
            size_t numel = (size_t)shape_numel(n->params[p].shape), es = st_dtype_size(dt);
            unsigned char *data = calloc(numel ? numel : 1, es);
            float *want = calloc(numel ? numel : 1, sizeof(float));
            for (size_t e = 0; e < numel; e++) {
                if (integer) {
                    memcpy(data + e * es, &count, es); /* little-endian: the low bytes */
                    want[e] = (float)count;
                } else {
                    uint64_t bits = float_bits(dt, e);
                    if (!isfinite(expected(dt, bits))) /* refused: values_refused below */
                        bits = float_bits(dt, 0);
                    if (n->params[p].nonneg && expected(dt, bits) < 0) /* refused too */
                        bits &= ~((uint64_t)1 << (8 * es - 1));
                    memcpy(data + e * es, &bits, es);
                    want[e] = expected(dt, bits);
                }
            }
            f->t[k] = (StTensor){.name = n->params[p].name,
                                 .dtype = dt,
                                 .ndim = n->params[p].shape.rank,
                                 .nbytes = numel * es,
                                 .data = data};
            for (int r = 0; r < f->t[k].ndim; r++)
                f->t[k].shape[r] = n->params[p].shape.d[r];
            f->data[k] = data;
            f->want[k] = want;
            f->dst[k] = m->plan[i].params[p];
            f->numel[k] = numel;
            f->n++;
        }
    }
}

static void write_st(const File *f)
{
    StTensor t[MAX_TENSORS];
    int nt = 0;
    for (int k = 0; k < f->n; k++)
        if (f->t[k].name)
            t[nt++] = f->t[k];
    const char *meta[] = {"format", "pt", NULL};
    io_may_rewrite(path); /* read by the last case: this test replaces it on purpose */
    cr_assert(st_write(path, t, nt, meta, &cap.d), "%s", cap_text(&cap));
}

static void release(File *f)
{
    for (int k = 0; k < f->n; k++) {
        free(f->data[k]);
        free(f->want[k]);
    }
}

static void expect_loaded(StDtype ft, StDtype ct, int64_t count, bool omit_count)
{
    File f;
    build(&f, ft, ct, count, omit_count);
    write_st(&f);
    cap_fini(&cap);
    cap_init(&cap);
    cr_assert(ckpt_load(path, m, &cap.d), "%s / %s refused:\n%s", st_dtype_name(ft),
              st_dtype_name(ct), cap_text(&cap));
    for (int k = 0; k < f.n; k++)
        for (size_t e = 0; e < f.numel[k]; e++) {
            float got = f.dst[k][e], want = f.want[k][e];
            cr_assert(memcmp(&got, &want, sizeof got) == 0,
                      "%s from %s, element %zu: got %a, want %a", f.t[k].name ? f.t[k].name : "?",
                      st_dtype_name(ft), e, (double)got, (double)want);
        }
    release(&f);
}

Test(dtypes, every_float_width_converts_as_pytorch)
{
    const StDtype fts[] = {ST_F32, ST_F64, ST_F16, ST_BF16};
    for (int rep = 0; rep < 20; rep++)
        for (int i = 0; i < 4; i++)
            expect_loaded(fts[i], ST_I64, rep, false);
}

Test(dtypes, every_integer_width_is_a_count)
{
    const StDtype cts[] = {ST_I64, ST_I32, ST_I16, ST_I8, ST_U8};
    const int64_t counts[] = {0, 1, 100, 127};
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < 4; c++)
            expect_loaded(ST_F32, cts[i], counts[c], false);
    expect_loaded(ST_F32, ST_I32, 1 << 24, false);
}

Test(dtypes, a_missing_count_is_zero)
{
    expect_loaded(ST_F32, ST_I64, 0, true);
    expect_loaded(ST_F16, ST_I64, 0, true);
}

/* A good file (F32 weights, I64 counts of 1) with one tensor changed to dtype dt, every
 * element the bytes of v (a weight: the first tensor; a count: the first count), and its
 * shape to [dim] when dim >= 0 (a count: 1-d). Returns the tensor's index. */
static int change(File *f, bool count, StDtype dt, int64_t v, int dim)
{
    build(f, ST_F32, ST_I64, 1, false);
    int k = 0;
    while (count && f->t[k].dtype != ST_I64)
        k++;
    size_t numel = dim >= 0 ? (size_t)dim : f->numel[k], es = st_dtype_size(dt);
    unsigned char *data = calloc(numel + 1, es);
    for (size_t e = 0; e < numel; e++)
        memcpy(data + e * es, &v, es < sizeof v ? es : sizeof v);
    free(f->data[k]);
    f->data[k] = data;
    f->t[k].data = data;
    f->t[k].dtype = dt;
    f->t[k].nbytes = numel * es;
    if (dim >= 0)
        f->t[k].ndim = 1, f->t[k].shape[0] = dim;
    write_st(f);
    cap_fini(&cap);
    cap_init(&cap);
    return k;
}

/* The load must fail with one message naming the tensor, with want in the text. */
static void expect_refused_shaped(bool count, StDtype dt, int64_t v, int dim, const char *want)
{
    File f;
    int k = change(&f, count, dt, v, dim);
    cr_assert_not(ckpt_load(path, m, &cap.d), "%s as %s accepted", f.t[k].name, st_dtype_name(dt));
    expect_error(&cap, path, f.t[k].name, want);
    release(&f);
}
static void expect_refused(bool count, StDtype dt, int64_t v, const char *want)
{
    expect_refused_shaped(count, dt, v, -1, want);
}

/* The load must take the tensor, every element of it as want. */
static void expect_converted(bool count, StDtype dt, int64_t v, int dim, float want)
{
    File f;
    int k = change(&f, count, dt, v, dim);
    cr_assert(ckpt_load(path, m, &cap.d), "%s as %s refused:\n%s", f.t[k].name, st_dtype_name(dt),
              cap_text(&cap));
    for (size_t e = 0; e < f.numel[k]; e++)
        cr_assert(f.dst[k][e] == want, "%s as %s, element %zu: got %a, want %a", f.t[k].name,
                  st_dtype_name(dt), e, (double)f.dst[k][e], (double)want);
    release(&f);
}

/* The bits of a double, a float and a half, for change()'s v. */
static int64_t f64_bits(double x)
{
    int64_t v;
    memcpy(&v, &x, sizeof v);
    return v;
}
static int64_t f32_bits(float x)
{
    int32_t v;
    memcpy(&v, &x, sizeof v);
    return (int64_t)(uint32_t)v;
}

/* Tensor.copy_ converts any dtype: integer and BOOL weights into float32 (rounded to
 * nearest), and a floating-point count into an integer (truncated toward zero); and
 * load_state_dict takes a 1-d tensor for a scalar (its first element). */
Test(dtypes, integer_weights_and_float_counts_convert_as_pytorch)
{
    expect_converted(false, ST_I64, -3, -1, -3.0f);
    expect_converted(false, ST_I64, ((int64_t)1 << 40) + 1, -1, 0x1p40f);
    expect_converted(false, ST_I32, 16777217, -1, 16777216.0f);
    expect_converted(false, ST_I16, -32768, -1, -32768.0f);
    expect_converted(false, ST_I8, 0xfb, -1, -5.0f);
    expect_converted(false, ST_U8, 0xfb, -1, 251.0f);
    expect_converted(false, ST_BOOL, 7, -1, 1.0f);
    expect_converted(false, ST_BOOL, 0, -1, 0.0f);
    expect_converted(true, ST_F32, f32_bits(3.75f), -1, 3.0f);
    expect_converted(true, ST_F32, f32_bits(16777216.0f), -1, 16777216.0f);
    expect_converted(true, ST_F32, f32_bits(-0.5f), -1, 0.0f);
    expect_converted(true, ST_F64, f64_bits(2.9999999999), -1, 2.0f);
    expect_converted(true, ST_F16, 0x4500, -1, 5.0f); /* 5.0 */
    expect_converted(true, ST_BF16, 0x40a0, -1, 5.0f);
    expect_converted(true, ST_BOOL, 1, -1, 1.0f);
    expect_converted(true, ST_I64, 9, 1, 9.0f); /* [1] for a scalar */
    expect_converted(true, ST_I64, 9, 3, 9.0f); /* [3]: its first element */
}

Test(dtypes, what_does_not_convert_is_refused)
{
    expect_refused(true, ST_I64, -1, "is -1; netc takes 0 to 16,777,216");
    /* a count as an integer, not as a float's digits */
    expect_refused(true, ST_I64, (uint64_t)1 << 62, "is 4611686018427387904; netc takes");
    expect_refused(true, ST_I32, (1 << 24) + 1, "netc takes 0 to 16,777,216");
    expect_refused(true, ST_I8, 0xfb, "is -5");
    expect_refused(true, ST_F32, f32_bits(-1.0f), "is -1; netc takes 0 to 16,777,216");
    expect_refused(true, ST_F32, f32_bits(NAN), "is nan; netc takes 0 to 16,777,216");
    expect_refused(true, ST_F64, f64_bits(16777217.5), "is 16777217.5; netc takes 0 to");
    /* past int64's range: refused before any truncation (the cast would be undefined) */
    expect_refused(true, ST_F64, f64_bits(6.7185e203), "e+203; netc takes 0 to");
    expect_refused(true, ST_F64, f64_bits(-1e300), "e+300; netc takes 0 to");
    expect_refused(true, ST_F32, f32_bits(3e38f), "netc takes 0 to 16,777,216");
    expect_refused_shaped(true, ST_I64, 9, 0,
                          "has shape 0; the network needs [] (a scalar)"); /* no first element */
}

Test(dtypes, another_shape_is_refused_in_any_dtype)
{
    const StDtype fts[] = {ST_F32, ST_F64, ST_F16, ST_BF16};
    for (int i = 0; i < 4; i++) {
        File f;
        build(&f, fts[i], ST_I64, 1, false);
        f.t[0].shape[0] += 1; /* the first weight, one output more */
        f.t[0].nbytes += f.t[0].nbytes / (size_t)(f.t[0].shape[0] - 1);
        void *grown = calloc(1, f.t[0].nbytes);
        f.t[0].data = grown;
        write_st(&f);
        free(grown);
        cap_fini(&cap);
        cap_init(&cap);
        cr_assert_not(ckpt_load(path, m, &cap.d));
        expect_error(&cap, "has shape 4x2x3x3; the network needs 3x2x3x3");
        release(&f);
    }
}

/* A good file in dtype dt (every float tensor finite, variances not negative) with element e
 * of the tensor named `name` set to the bits of v (a double, converted to dt by its bits):
 * refused with one message naming the tensor and want, or loaded when want is NULL. */
static void expect_value(StDtype dt, const char *name, size_t e, uint64_t bits, const char *want)
{
    File f;
    build(&f, dt, ST_I64, 1, false);
    int k = 0;
    while (k < f.n && !(f.t[k].name && strcmp(f.t[k].name, name) == 0))
        k++;
    cr_assert(k < f.n, "no tensor %s", name);
    size_t es = st_dtype_size(dt);
    memcpy((unsigned char *)f.data[k] + e * es, &bits, es);
    write_st(&f);
    cap_fini(&cap);
    cap_init(&cap);
    bool ok = ckpt_load(path, m, &cap.d);
    if (want) {
        cr_assert_not(ok, "%s[%zu] = %s in %s accepted", name, e, want, st_dtype_name(dt));
        expect_error(&cap, path, name, want);
    } else {
        cr_assert(ok, "%s[%zu] in %s refused:\n%s", name, e, st_dtype_name(dt), cap_text(&cap));
    }
    release(&f);
}

Test(dtypes, values_that_make_no_sense_are_refused)
{
    const StDtype fts[] = {ST_F32, ST_F64, ST_F16, ST_BF16};
    /* +inf, -inf, NaN, -1 and -0 in each dtype's bits */
    const uint64_t bits[4][5] = {{0x7f800000u, 0xff800000u, 0x7fc00000u, 0xbf800000u, 0x80000000u},
                                 {0x7ff0000000000000u, 0xfff0000000000000u, 0x7ff8000000000000u,
                                  0xbff0000000000000u, 0x8000000000000000u},
                                 {0x7c00, 0xfc00, 0x7e00, 0xbc00, 0x8000},
                                 {0x7f80, 0xff80, 0x7fc0, 0xbf80, 0x8000}};
    const char *const holds[3] = {"holds inf", "holds -inf", "holds nan"};
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < m->g->nodes.len; t++) {
            const Node *n = GRAPH_NODE(m->g, t);
            for (int p = 0; p < n->nparams; p++) {
                if (n->params[p].integer)
                    continue;
                size_t last = (size_t)shape_numel(n->params[p].shape) - 1;
                for (int v = 0; v < 3; v++)
                    expect_value(fts[i], n->params[p].name, v == 1 ? last : 0, bits[i][v],
                                 holds[v]);
                bool var = strstr(n->params[p].name, "running_var") != NULL;
                cr_assert_eq(var, n->params[p].nonneg, "%s", n->params[p].name);
                expect_value(fts[i], n->params[p].name, last, bits[i][3],
                             var ? "holds -1 at index" : NULL);
                expect_value(fts[i], n->params[p].name, 0, bits[i][4], NULL);
            }
        }
    /* a double past float's range becomes an infinity, refused saying what the file held */
    expect_value(ST_F64, "fc.bias", 1, 0x47effffff0000000u,
                 "holds 3.40282e+38 at index 1; past float32's range"); /* a tie */
    expect_value(ST_F64, "fc.bias", 1, f64_bits(1e300), "holds 1e+300 at index 1; past float32");
    expect_value(ST_F64, "fc.bias", 1, f64_bits(INFINITY), "holds inf at index 1; weights and");
    expect_value(ST_F64, "fc.bias", 1, 0x47efffffefffffffu, NULL); /* FLT_MAX */
}
