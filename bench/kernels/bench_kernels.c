/* bench_kernels.c: micro-benchmark of the kernels on the seed net's layer shapes, called as
 * the runtime calls them.
 *
 * Usage: OMP_NUM_THREADS=n bench_kernels [batch [part]]
 *   batch defaults to 100; part, the rows per kernel call, defaults to 2, what the runtime's
 *   part_rows picks for the seed net so that a part's activations stay in cache (0: a whole
 *   slice per call).
 *
 * Threads much as in src/runtime/model.c: omp_set_max_active_levels(1), then one parallel
 * region per timed call, in which thread t of T takes the rows [B*t/T, B*(t+1)/T) of the
 * batch and makes single-threaded kernel calls on its slice, part by part, with its own
 * convolution scratch and its own parameter gradients. (The runtime hands out chunks of
 * parts dynamically instead of fixed slices; the kernel calls are the same.) A
 * convolution's packing is timed with it: once per thread per call, as the runtime packs
 * once per pass. The loss runs once on the whole batch outside the parallel region, as
 * rt_loss does.
 *
 * Prints, for every layer of the seed net (Conv2d 1->32 k3 p1, ReLU, MaxPool 2, Conv2d
 * 32->64 k3 p1, ReLU, MaxPool 2, Linear 3136->10, cross-entropy), the time and GFLOPS of
 * forward and backward, and each convolution's backward in its two halves: the input
 * gradient alone, and the weight and bias gradients alone (conv1, the first layer, computes
 * no input gradient in the net; its row times that kernel anyway). Then the whole net's
 * training step (forward, loss, backward, and the sum of the threads' gradients) and
 * inference in images/s; then sgemm alone on the products of the linear layer at one call's
 * rows (the convolutions are direct and use no sgemm).
 *
 * Design choice: each figure is the best of several timed batches of repetitions, each
 * batch lasting at least 0.2 s (20 ms for sgemm alone), so one slow moment (a scheduler
 * hiccup) does not set it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* n floats uniform in [-scale, scale), 64-byte aligned as the runtime's views */
static float *buf_scaled(size_t n, float scale)
{
    void *v = NULL;
    if (posix_memalign(&v, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    float *p = v;
    unsigned s = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        p[i] = scale * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
    return p;
}

static float *buf(size_t n) { return buf_scaled(n, 0.5f); }

/* Weights as PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so activations and
 * gradients keep realistic magnitudes (no denormals to slow the arithmetic). */
static float *weights(size_t n, int fan_in) { return buf_scaled(n, 1.0f / sqrtf((float)fan_in)); }

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---- the seed net at batch B, one slice of it per thread ---- */

/* Floats per image of each activation (channels-last) */
enum { X = 784, A1 = 32 * 784, M1 = 32 * 196, A2 = 64 * 196, M2 = 3136, NOUT = 10 };

/* What one thread owns: its rows, its convolution scratch (one per convolution, as the
 * runtime's per-node scratch) and its parameter gradients (one block, summed after the
 * backward in thread order). */
typedef struct Slice {
    int b0, count;
    float *s1, *s2, *grads;
    float *dw1, *db1, *dw2, *db2, *dw3, *db3;
} Slice;

typedef struct Net {
    int B, T, part; /* batch, threads, rows per kernel call */
    size_t ngrads;  /* floats of a thread's gradient block */
    ConvGeom c1, c2;
    PoolGeom p1, p2; /* B is set per call */
    float *x, *w1, *b1, *a1, *r1, *m1, *w2, *b2, *a2, *r2, *m2, *w3, *b3, *logits;
    int32_t *i1, *i2, *labels;
    /* the activations' gradients; dx, the input's, only for conv1's din-only row */
    float *dlogits, *dm2, *dr2, *da2, *dm1, *dr1, *da1, *dx;
    Slice *sl;
} Net;

static void net_init(Net *n, int B, int T, int part)
{
    n->B = B, n->T = T;
    n->c1 = (ConvGeom){B, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 28, 28, 1};
    n->p1 = (PoolGeom){B, 32, 28, 28, 2, 2, 2, 2, 0, 0, 14, 14, false};
    n->c2 = (ConvGeom){B, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14, 1};
    n->p2 = (PoolGeom){B, 64, 14, 14, 2, 2, 2, 2, 0, 0, 7, 7, false};
    size_t b = (size_t)B;
    n->x = buf(b * X), n->dx = buf(b * X);
    n->w1 = weights(32 * 9, 9), n->b1 = weights(32, 9), n->a1 = buf(b * A1), n->r1 = buf(b * A1),
    n->m1 = buf(b * M1);
    n->w2 = weights(64 * 288, 288), n->b2 = weights(64, 288), n->a2 = buf(b * A2),
    n->r2 = buf(b * A2), n->m2 = buf(b * M2);
    n->w3 = weights(10 * 3136, 3136), n->b3 = weights(10, 3136), n->logits = buf(b * NOUT);
    n->i1 = malloc(b * M1 * sizeof(int32_t)), n->i2 = malloc(b * M2 * sizeof(int32_t));
    n->labels = malloc(b * sizeof(int32_t));
    n->sl = calloc((size_t)T, sizeof(Slice));
    if (!n->i1 || !n->i2 || !n->labels || !n->sl) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < B; i++)
        n->labels[i] = i % 10;
    n->dlogits = buf(b * NOUT), n->dm2 = buf(b * M2), n->dr2 = buf(b * A2), n->da2 = buf(b * A2);
    n->dm1 = buf(b * M1), n->dr1 = buf(b * A1), n->da1 = buf(b * A1);
    size_t sizes[6] = {32 * 9, 32, 64 * 288, 64, 10 * 3136, 10};
    n->ngrads = 0;
    for (int i = 0; i < 6; i++)
        n->ngrads += align16(sizes[i]);
    int most = 0;
    for (int t = 0; t < T; t++) {
        Slice *s = &n->sl[t];
        s->b0 = (int)((int64_t)B * t / T);
        s->count = (int)((int64_t)B * (t + 1) / T) - s->b0;
        most = s->count > most ? s->count : most;
        s->s1 = buf(conv2d_scratch_floats(&n->c1)), s->s2 = buf(conv2d_scratch_floats(&n->c2));
        s->grads = buf(n->ngrads);
        memset(s->grads, 0, n->ngrads * sizeof(float)); /* the padding between the views */
        float **g[6] = {&s->dw1, &s->db1, &s->dw2, &s->db2, &s->dw3, &s->db3};
        size_t off = 0;
        for (int i = 0; i < 6; i++)
            *g[i] = s->grads + off, off += align16(sizes[i]);
    }
    n->part = part > 0 && part < most ? part : most;
}

static void net_free(Net *n)
{
    float *f[] = {n->x,   n->w1,  n->b1,  n->a1,  n->r1,  n->m1,     n->w2,      n->b2,
                  n->a2,  n->r2,  n->m2,  n->w3,  n->b3,  n->logits, n->dlogits, n->dm2,
                  n->dr2, n->da2, n->dm1, n->dr1, n->da1, n->dx};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(f[i]);
    for (int t = 0; t < n->T; t++)
        free(n->sl[t].s1), free(n->sl[t].s2), free(n->sl[t].grads);
    free(n->sl), free(n->i1), free(n->i2), free(n->labels);
}

enum { L_CONV1, L_RELU1, L_POOL1, L_CONV2, L_RELU2, L_POOL2, L_LINEAR, L_LOSS, NLAYERS };
static const char *layer_names[NLAYERS] = {"conv1 1->32 28x28",  "relu1",        "maxpool1 2",
                                           "conv2 32->64 14x14", "relu2",        "maxpool2 2",
                                           "linear 3136->10",    "cross_entropy"};

/* What a call runs: a training forward, the full backward, a convolution's backward with
 * only its input gradient or only its weight and bias gradients, an inference forward. */
enum { FWD, BWD, BWD_DIN, BWD_DW, INFER, FWD_POOL };

/* Layer l forward on the rows [p0, p0 + pn) of thread s; first: the slice's first part. */
static void part_forward(Net *n, Slice *s, int l, int p0, int pn, bool first, bool training)
{
    size_t r = (size_t)p0;
    ConvGeom c1 = n->c1, c2 = n->c2;
    PoolGeom p1 = n->p1, p2 = n->p2;
    c1.B = c2.B = p1.B = p2.B = pn;
    switch (l) {
    case L_CONV1:
        if (first)
            conv2d_pack_forward(s->s1, n->w1, n->b1, &c1);
        conv2d_forward(n->a1 + r * A1, n->x + r * X, &c1, s->s1);
        break;
    case L_RELU1: relu_forward(n->r1 + r * A1, n->a1 + r * A1, (size_t)pn * A1); break;
    case L_POOL1:
        maxpool2d_forward(n->m1 + r * M1, training ? n->i1 + r * M1 : NULL, n->r1 + r * A1, &p1);
        break;
    case L_CONV2:
        if (first)
            conv2d_pack_forward(s->s2, n->w2, n->b2, &c2);
        conv2d_forward(n->a2 + r * A2, n->m1 + r * M1, &c2, s->s2);
        break;
    case L_RELU2: relu_forward(n->r2 + r * A2, n->a2 + r * A2, (size_t)pn * A2); break;
    case L_POOL2:
        maxpool2d_forward(n->m2 + r * M2, training ? n->i2 + r * M2 : NULL, n->r2 + r * A2, &p2);
        break;
    case L_LINEAR:
        linear_forward(n->logits + r * NOUT, n->m2 + r * M2, n->w3, n->b3, pn, 3136, 10);
        break;
    }
}

/* Layer l backward (what: BWD, BWD_DIN or BWD_DW) on the rows [p0, p0 + pn) of thread s;
 * first, last: the slice's first and last parts. */
static void part_backward(Net *n, Slice *s, int l, int what, int p0, int pn, bool first, bool last)
{
    size_t r = (size_t)p0;
    ConvGeom c1 = n->c1, c2 = n->c2;
    PoolGeom p1 = n->p1, p2 = n->p2;
    c1.B = c2.B = p1.B = p2.B = pn;
    bool grads = what != BWD_DIN;
    switch (l) {
    case L_CONV1: /* the net's first layer: the runtime asks for no input gradient */
        if (first)
            conv2d_pack_backward(s->s1, n->w1, &c1);
        conv2d_backward(what == BWD_DIN ? n->dx + r * X : NULL, n->da1 + r * A1, n->x + r * X,
                        grads, &c1, s->s1);
        if (last && grads)
            conv2d_grads(s->dw1, s->db1, &c1, s->s1);
        break;
    case L_RELU1:
        relu_backward(n->da1 + r * A1, n->dr1 + r * A1, n->r1 + r * A1, (size_t)pn * A1);
        break;
    case L_POOL1: maxpool2d_backward(n->dr1 + r * A1, n->dm1 + r * M1, n->i1 + r * M1, &p1); break;
    case L_CONV2:
        if (first)
            conv2d_pack_backward(s->s2, n->w2, &c2);
        conv2d_backward(what == BWD_DW ? NULL : n->dm1 + r * M1, n->da2 + r * A2, n->m1 + r * M1,
                        grads, &c2, s->s2);
        if (last && grads)
            conv2d_grads(s->dw2, s->db2, &c2, s->s2);
        break;
    case L_RELU2:
        relu_backward(n->da2 + r * A2, n->dr2 + r * A2, n->r2 + r * A2, (size_t)pn * A2);
        break;
    case L_POOL2: maxpool2d_backward(n->dr2 + r * A2, n->dm2 + r * M2, n->i2 + r * M2, &p2); break;
    case L_LINEAR: /* as the layer: din per part, dw and db over the slice on its last part */
        linear_backward(n->dm2 + r * M2, NULL, NULL, n->dlogits + r * NOUT, n->m2 + r * M2, n->w3,
                        pn, 3136, 10);
        if (last)
            linear_backward(NULL, s->dw3, s->db3, n->dlogits + (size_t)s->b0 * NOUT,
                            n->m2 + (size_t)s->b0 * M2, n->w3, p0 + pn - s->b0, 3136, 10);
        break;
    }
}

/* Convolution l computing the max pool after it itself (conv2d_forward_pool, with argmax),
 * as the runtime runs the seed net's Conv2d, ReLU, MaxPool2d (ReLU then runs on the pooled
 * values). */
static void part_forward_pool(Net *n, Slice *s, int l, int p0, int pn, bool first)
{
    size_t r = (size_t)p0;
    bool one = l == L_CONV1;
    ConvGeom c = one ? n->c1 : n->c2;
    c.B = pn;
    float *sc = one ? s->s1 : s->s2;
    if (first)
        conv2d_pack_forward(sc, one ? n->w1 : n->w2, one ? n->b1 : n->b2, &c);
    if (one)
        conv2d_forward_pool(n->m1 + r * M1, n->i1 + r * M1, n->x + r * X, &c, 2, sc);
    else
        conv2d_forward_pool(n->m2 + r * M2, n->i2 + r * M2, n->m1 + r * M1, &c, 2, sc);
}

/* Thread s's slice through layer l alone, part by part. */
static void slice_layer(Net *n, Slice *s, int l, int what)
{
    int end = s->b0 + s->count;
    for (int p0 = s->b0; p0 < end; p0 += n->part) {
        int pn = end - p0 < n->part ? end - p0 : n->part;
        if (what == FWD)
            part_forward(n, s, l, p0, pn, p0 == s->b0, true);
        else if (what == FWD_POOL)
            part_forward_pool(n, s, l, p0, pn, p0 == s->b0);
        else
            part_backward(n, s, l, what, p0, pn, p0 == s->b0, p0 + pn == end);
    }
}

/* Thread s's slice through the whole net (what: FWD, INFER or BWD), every layer on a part
 * before the next part, as rt_forward and rt_backward. */
static void slice_net(Net *n, Slice *s, int what, int unused)
{
    (void)unused;
    int end = s->b0 + s->count;
    for (int p0 = s->b0; p0 < end; p0 += n->part) {
        int pn = end - p0 < n->part ? end - p0 : n->part;
        bool first = p0 == s->b0, last = p0 + pn == end;
        if (what == BWD)
            for (int l = L_LINEAR; l >= 0; l--)
                part_backward(n, s, l, BWD, p0, pn, first, last);
        else
            for (int l = 0; l < L_LOSS; l++)
                part_forward(n, s, l, p0, pn, first, what == FWD);
    }
}

/* body(n, its slice, a, b) on every thread, in one parallel region. */
static void in_parallel(Net *n, void (*body)(Net *, Slice *, int, int), int a, int b)
{
#ifdef _OPENMP
#pragma omp parallel num_threads(n->T) if (n->T > 1)
#endif
    {
        Slice *s = &n->sl[thread_id()];
        if (s->count > 0)
            body(n, s, a, b);
    }
}

/* The runtime's loss: the whole batch, on the calling thread. */
static void loss(Net *n) { cross_entropy_forward(n->dlogits, n->logits, n->labels, 0, n->B, 10); }

static void layer_run(Net *n, int l, int what)
{
    if (l != L_LOSS)
        in_parallel(n, slice_layer, l, what);
    else if (what == FWD)
        loss(n);
    /* the loss has no backward: it wrote dlogits in its forward */
}

/* Multiply-accumulates of each layer's forward for one image (conv and linear only). */
static double layer_macs(int l)
{
    switch (l) {
    case L_CONV1: return 32.0 * 784 * 9;
    case L_CONV2: return 64.0 * 196 * 288;
    case L_LINEAR: return 3136.0 * 10;
    default: return 0.0;
    }
}

/* Seconds per call of fn(n, l, what): the best of 5 batches of calls, each batch >= 0.2 s. */
static double time_it(void (*fn)(Net *, int, int), Net *n, int l, int what)
{
    fn(n, l, what);
    int reps = 1;
    double t0 = seconds();
    fn(n, l, what);
    double once = seconds() - t0;
    if (once < 0.2)
        reps = (int)(0.2 / (once > 1e-7 ? once : 1e-7)) + 1;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        t0 = seconds();
        for (int r = 0; r < reps; r++)
            fn(n, l, what);
        double t = (seconds() - t0) / reps;
        best = t < best ? t : best;
    }
    return best;
}

/* Thread 0's gradients += the others', in thread order, element-parallel (rt_backward). */
static void sum_grads(Net *n)
{
    if (n->T < 2)
        return;
    float *g0 = n->sl[0].grads;
    size_t ng = n->ngrads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(n->T) schedule(static)
#endif
    for (size_t j = 0; j < ng; j++) {
        float s = g0[j];
        for (int t = 1; t < n->T; t++)
            s += n->sl[t].grads[j];
        g0[j] = s;
    }
}

static void net_train_step(Net *n, int unused, int unused2)
{
    (void)unused, (void)unused2;
    in_parallel(n, slice_net, FWD, 0);
    loss(n);
    in_parallel(n, slice_net, BWD, 0);
    sum_grads(n);
}

static void net_infer(Net *n, int unused, int unused2)
{
    (void)unused, (void)unused2;
    in_parallel(n, slice_net, INFER, 0);
}

/* ---- sgemm alone ---- */

typedef struct GemmCase {
    const char *what;
    bool ta, tb;
    int M, N, K;
} GemmCase;

static double time_gemm(void (*fn)(bool, bool, int, int, int, float, const float *, int,
                                   const float *, int, float, float *, int),
                        const GemmCase *g, const float *A, const float *B, float *C)
{
    int lda = g->ta ? g->M : g->K, ldb = g->tb ? g->K : g->N;
    double flops = 2.0 * g->M * g->N * g->K;
    int reps = (int)(2e9 / flops) + 1; /* about 20 ms per round */
    double best = 1e30;
    fn(g->ta, g->tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, 0.0f, C, g->N); /* warm up */
    for (int round = 0; round < 5; round++) {
        double t0 = seconds();
        for (int r = 0; r < reps; r++)
            fn(g->ta, g->tb, g->M, g->N, g->K, 1.0f, A, lda, B, ldb, 0.0f, C, g->N);
        double t = (seconds() - t0) / reps;
        best = t < best ? t : best;
    }
    return flops / best * 1e-9;
}

/* One table row; tf < 0 leaves the forward columns blank, f or fb == 0 prints "-". */
static void print_row(const char *name, double tf, double f, double tb, double fb)
{
    char c[4][16] = {"", "", "-", "-"};
    if (tf >= 0.0) {
        snprintf(c[0], sizeof c[0], "%.3f", tf * 1e3);
        snprintf(c[1], sizeof c[1], "-");
        if (f > 0.0)
            snprintf(c[1], sizeof c[1], "%.1f", f / tf * 1e-9);
    }
    if (tb >= 0.0)
        snprintf(c[2], sizeof c[2], "%.3f", tb * 1e3);
    if (tb >= 0.0 && fb > 0.0)
        snprintf(c[3], sizeof c[3], "%.1f", fb / tb * 1e-9);
    printf("%-20s %10s %8s %10s %8s\n", name, c[0], c[1], c[2], c[3]);
}

int main(int argc, char **argv)
{
    /* part 2 by default: what the runtime's part_rows gives the seed net (1 MB of
     * activations a part, at 354 KB an image); 0: whole slices */
    int B = argc > 1 ? atoi(argv[1]) : 100, part = argc > 2 ? atoi(argv[2]) : 2;
    if (B <= 0 || part < 0 || argc > 3) {
        fprintf(stderr, "usage: bench_kernels [batch [part]]\n");
        return 2;
    }
    /* as rt_model_new: kernels called inside the parallel region must not fork again */
#ifdef _OPENMP
    omp_set_max_active_levels(1);
#endif
    int T = kernels_threads();
    T = T > B ? B : T < 1 ? 1 : T;
    Net n;
    net_init(&n, B, T, part);
    char rows[32];
    if (B % T)
        snprintf(rows, sizeof rows, "%d-%d", B / T, B / T + 1);
    else
        snprintf(rows, sizeof rows, "%d", B / T);
    printf("seed net, batch %d, %d thread%s: a slice of %s rows per thread, in calls of up to "
           "%d rows\n\n",
           B, T, T == 1 ? "" : "s", rows, n.part);
    printf("%-20s %10s %8s %10s %8s\n", "layer", "fwd ms", "GFLOPS", "bwd ms", "GFLOPS");
    double total_flops = 0.0;
    for (int l = 0; l < NLAYERS; l++) {
        net_train_step(&n, 0, 0); /* every layer's inputs hold what a real step leaves there */
        double tf = time_it(layer_run, &n, l, FWD), tb = time_it(layer_run, &n, l, BWD);
        double f = 2.0 * layer_macs(l) * B;     /* forward; backward is 2x (dw and din) */
        double fb = l == L_CONV1 ? f : 2.0 * f; /* conv1 needs no din */
        total_flops += f + fb;
        print_row(layer_names[l], tf, f, tb, fb);
        if (l == L_CONV1 || l == L_CONV2) { /* each half of the backward: f flops */
            print_row("  with its max pool", time_it(layer_run, &n, l, FWD_POOL), f, -1.0, 0.0);
            print_row(l == L_CONV1 ? "  din only (unused)" : "  din only", -1.0, 0.0,
                      time_it(layer_run, &n, l, BWD_DIN), f);
            print_row("  dw+db only", -1.0, 0.0, time_it(layer_run, &n, l, BWD_DW), f);
        }
    }
    double ts = time_it(net_train_step, &n, 0, 0), ti = time_it(net_infer, &n, 0, 0);
    printf("\ntraining step (fwd+bwd): %8.3f ms/batch  %8.0f images/s  %6.1f GFLOPS\n", ts * 1e3,
           B / ts, total_flops / ts * 1e-9);
    printf("inference (fwd):         %8.3f ms/batch  %8.0f images/s\n", ti * 1e3, B / ti);
    int part_rows = n.part, slice_rows = (B + T - 1) / T;
    net_free(&n);

    /* the linear layer's products: forward and din on one part's rows, dw on a thread's
     * slice (the layer defers it to the last part); the convolutions are direct */
    const GemmCase gemm_cases[] = {
        {"linear fwd  in.w^T", false, true, part_rows, 10, 3136},
        {"linear din  dout.w", false, false, part_rows, 3136, 10},
        {"linear dw   dout^T.in", true, false, 10, 3136, slice_rows},
        {"square 512", false, false, 512, 512, 512},
    };
    printf("\nsgemm, one thread (GFLOPS)\n%-24s %5s %5s %5s %9s %9s\n", "shape", "M", "N", "K",
           "builtin", "sgemm");
    for (size_t i = 0; i < sizeof gemm_cases / sizeof gemm_cases[0]; i++) {
        const GemmCase *g = &gemm_cases[i];
        float *A = buf((size_t)g->M * g->K), *Bm = buf((size_t)g->K * g->N);
        float *C = buf((size_t)g->M * g->N);
        double own = time_gemm(sgemm_builtin, g, A, Bm, C), disp = time_gemm(sgemm, g, A, Bm, C);
        printf("%-24s %5d %5d %5d %9.1f %9.1f\n", g->what, g->M, g->N, g->K, own, disp);
        free(A), free(Bm), free(C);
    }
    return 0;
}
