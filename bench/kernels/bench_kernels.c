/* bench_kernels.c: micro-benchmark of the kernels on the seed net's layer shapes.
 *
 * Usage: OMP_NUM_THREADS=n bench_kernels [batch]   (batch defaults to 100)
 * Prints, for every layer of the seed net (Conv2d 1->32 k3 p1, ReLU, MaxPool 2, Conv2d
 * 32->64 k3 p1, ReLU, MaxPool 2, Linear 3136->10, cross-entropy), the time and GFLOPS of
 * forward and backward; then the whole net's training step (forward + backward) and
 * inference in images/s; then sgemm alone on the GEMM shapes the convolutions produce.
 *
 * Design choice: each figure is the best of several timed batches of repetitions, each
 * batch lasting at least 0.2 s (20 ms for sgemm alone), so one slow moment (a scheduler
 * hiccup) does not set it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels.h"

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* n floats uniform in [-scale, scale) */
static float *buf_scaled(size_t n, float scale)
{
    float *p = malloc(n * sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        exit(1);
    }
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

/* ---- the seed net at batch B ---- */

typedef struct Net {
    int B;
    ConvGeom c1, c2;
    PoolGeom p1, p2;
    float *x, *w1, *b1, *a1, *r1, *m1, *w2, *b2, *a2, *r2, *m2, *w3, *b3, *logits;
    int32_t *i1, *i2, *labels;
    float *dw1, *db1, *dw2, *db2, *dw3, *db3, *dlogits, *dm2, *dr2, *dm1, *dr1, *scratch;
} Net;

static void net_init(Net *n, int B)
{
    n->B = B;
    n->c1 = (ConvGeom){B, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 28, 28};
    n->p1 = (PoolGeom){B, 32, 28, 28, 2, 2, 2, 2, 0, 0, 14, 14};
    n->c2 = (ConvGeom){B, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14};
    n->p2 = (PoolGeom){B, 64, 14, 14, 2, 2, 2, 2, 0, 0, 7, 7};
    size_t a1 = (size_t)B * 32 * 28 * 28, m1 = (size_t)B * 32 * 14 * 14;
    size_t a2 = (size_t)B * 64 * 14 * 14, m2 = (size_t)B * 3136;
    n->x = buf((size_t)B * 784);
    n->w1 = weights(32 * 9, 9), n->b1 = weights(32, 9), n->a1 = buf(a1), n->r1 = buf(a1),
    n->m1 = buf(m1);
    n->w2 = weights(64 * 288, 288), n->b2 = weights(64, 288), n->a2 = buf(a2), n->r2 = buf(a2),
    n->m2 = buf(m2);
    n->w3 = weights(10 * 3136, 3136), n->b3 = weights(10, 3136), n->logits = buf((size_t)B * 10);
    n->i1 = malloc(m1 * sizeof(int32_t)), n->i2 = malloc(m2 * sizeof(int32_t));
    n->labels = malloc((size_t)B * sizeof(int32_t));
    for (int i = 0; i < B; i++)
        n->labels[i] = i % 10;
    n->dw1 = buf(32 * 9), n->db1 = buf(32), n->dw2 = buf(64 * 288), n->db2 = buf(64);
    n->dw3 = buf(10 * 3136), n->db3 = buf(10), n->dlogits = buf((size_t)B * 10);
    n->dm2 = buf(m2), n->dr2 = buf(a2), n->dm1 = buf(m1), n->dr1 = buf(a1);
    size_t s1 = conv2d_scratch_floats(&n->c1), s2 = conv2d_scratch_floats(&n->c2);
    n->scratch = buf(s1 > s2 ? s1 : s2);
}

static void net_free(Net *n)
{
    float *f[] = {n->x,   n->w1,  n->b1,      n->a1,  n->r1,     n->m1,  n->w2,  n->b2,     n->a2,
                  n->r2,  n->m2,  n->w3,      n->b3,  n->logits, n->dw1, n->db1, n->dw2,    n->db2,
                  n->dw3, n->db3, n->dlogits, n->dm2, n->dr2,    n->dm1, n->dr1, n->scratch};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(f[i]);
    free(n->i1), free(n->i2), free(n->labels);
}

enum { L_CONV1, L_RELU1, L_POOL1, L_CONV2, L_RELU2, L_POOL2, L_LINEAR, L_LOSS, NLAYERS };
static const char *layer_names[NLAYERS] = {"conv1 1->32 28x28",  "relu1",        "maxpool1 2",
                                           "conv2 32->64 14x14", "relu2",        "maxpool2 2",
                                           "linear 3136->10",    "cross_entropy"};

static void layer_forward(Net *n, int l)
{
    size_t a1 = (size_t)n->B * 32 * 784, a2 = (size_t)n->B * 64 * 196;
    switch (l) {
    case L_CONV1: conv2d_forward(n->a1, n->x, n->w1, n->b1, &n->c1, n->scratch); break;
    case L_RELU1: relu_forward(n->r1, n->a1, a1); break;
    case L_POOL1: maxpool2d_forward(n->m1, n->i1, n->r1, &n->p1); break;
    case L_CONV2: conv2d_forward(n->a2, n->m1, n->w2, n->b2, &n->c2, n->scratch); break;
    case L_RELU2: relu_forward(n->r2, n->a2, a2); break;
    case L_POOL2: maxpool2d_forward(n->m2, n->i2, n->r2, &n->p2); break;
    case L_LINEAR: linear_forward(n->logits, n->m2, n->w3, n->b3, n->B, 3136, 10); break;
    case L_LOSS: cross_entropy_forward(n->dlogits, n->logits, n->labels, n->B, 10); break;
    }
}

static void layer_backward(Net *n, int l)
{
    size_t a1 = (size_t)n->B * 32 * 784, a2 = (size_t)n->B * 64 * 196;
    switch (l) {
    case L_CONV1:
        conv2d_backward(NULL, n->dw1, n->db1, n->dr1, n->x, n->w1, &n->c1, n->scratch);
        break;
    case L_RELU1: relu_backward(n->dr1, n->dr1, n->r1, a1); break;
    case L_POOL1: maxpool2d_backward(n->dr1, n->dm1, n->i1, &n->p1); break;
    case L_CONV2:
        conv2d_backward(n->dm1, n->dw2, n->db2, n->dr2, n->m1, n->w2, &n->c2, n->scratch);
        break;
    case L_RELU2: relu_backward(n->dr2, n->dr2, n->r2, a2); break;
    case L_POOL2: maxpool2d_backward(n->dr2, n->dm2, n->i2, &n->p2); break;
    case L_LINEAR:
        linear_backward(n->dm2, n->dw3, n->db3, n->dlogits, n->m2, n->w3, n->B, 3136, 10);
        break;
    case L_LOSS: break; /* the loss wrote dlogits in its forward */
    }
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

/* Seconds per call of fn(n, l): the best of 5 batches of calls, each batch >= 0.2 s. */
static double time_it(void (*fn)(Net *, int), Net *n, int l)
{
    fn(n, l);
    int reps = 1;
    double t0 = seconds();
    fn(n, l);
    double once = seconds() - t0;
    if (once < 0.2)
        reps = (int)(0.2 / (once > 1e-7 ? once : 1e-7)) + 1;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        t0 = seconds();
        for (int r = 0; r < reps; r++)
            fn(n, l);
        double t = (seconds() - t0) / reps;
        best = t < best ? t : best;
    }
    return best;
}

static void net_train_step(Net *n, int unused)
{
    (void)unused;
    for (int l = 0; l < NLAYERS; l++)
        layer_forward(n, l);
    for (int l = NLAYERS - 1; l >= 0; l--)
        layer_backward(n, l);
}

static void net_infer(Net *n, int unused)
{
    (void)unused;
    for (int l = 0; l < L_LOSS; l++)
        layer_forward(n, l);
}

/* ---- sgemm alone ---- */

typedef struct GemmCase {
    const char *what;
    bool ta, tb;
    int M, N, K;
} GemmCase;

static const GemmCase gemm_cases[] = {
    {"conv1 fwd   w.col", false, false, 32, 784, 9},
    {"conv1 dw    dout.col^T", false, true, 32, 9, 784},
    {"conv2 fwd   w.col", false, false, 64, 196, 288},
    {"conv2 dw    dout.row", false, false, 64, 288, 196},
    {"conv2 dcol  w^T.dout", true, false, 288, 196, 64},
    {"linear fwd  in.w^T", false, true, 100, 10, 3136},
    {"linear din  dout.w", false, false, 100, 3136, 10},
    {"linear dw   dout^T.in", true, false, 10, 3136, 100},
    {"square 512", false, false, 512, 512, 512},
};

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

int main(int argc, char **argv)
{
    int B = argc > 1 ? atoi(argv[1]) : 100;
    if (B <= 0) {
        fprintf(stderr, "usage: bench_kernels [batch]\n");
        return 2;
    }
    Net n;
    net_init(&n, B);
    printf("seed net, batch %d, %d thread%s\n\n", B, kernels_threads(),
           kernels_threads() == 1 ? "" : "s");
    printf("%-20s %10s %8s %10s %8s\n", "layer", "fwd ms", "GFLOPS", "bwd ms", "GFLOPS");
    double total_flops = 0.0;
    for (int l = 0; l < NLAYERS; l++) {
        net_train_step(&n, 0); /* every layer's inputs hold what a real step leaves there */
        double tf = time_it(layer_forward, &n, l), tb = time_it(layer_backward, &n, l);
        double f = 2.0 * layer_macs(l) * B;     /* forward; backward is 2x (dw and din) */
        double fb = l == L_CONV1 ? f : 2.0 * f; /* conv1 needs no din */
        total_flops += f + fb;
        if (f > 0.0)
            printf("%-20s %10.3f %8.1f %10.3f %8.1f\n", layer_names[l], tf * 1e3, f / tf * 1e-9,
                   tb * 1e3, fb / tb * 1e-9);
        else
            printf("%-20s %10.3f %8s %10.3f %8s\n", layer_names[l], tf * 1e3, "-", tb * 1e3, "-");
    }
    double ts = time_it(net_train_step, &n, 0), ti = time_it(net_infer, &n, 0);
    printf("\ntraining step (fwd+bwd): %8.3f ms/batch  %8.0f images/s  %6.1f GFLOPS\n", ts * 1e3,
           B / ts, total_flops / ts * 1e-9);
    printf("inference (fwd):         %8.3f ms/batch  %8.0f images/s\n", ti * 1e3, B / ti);
    net_free(&n);

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
