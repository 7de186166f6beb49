/* norm.c: batch normalisation's pieces on rows of C channels (channels last: a batch of
 * images (B,H,W,C) is B*H*W rows; BatchNorm1d's (B,C) is B rows).
 *
 * Design choice: the statistics need the whole batch, which the runtime runs in parts on
 * several threads; so the kernels are split where a sum over the batch is needed. Each part
 * adds its partial sums (in double, as PyTorch accumulates them on the CPU), the caller adds
 * the parts' sums in a fixed order and derives per-channel factors, and then each part
 * applies them. The forms follow PyTorch's CPU batch_norm: y = x * alpha + beta with
 * alpha = invstd * weight, beta = bias - mean * alpha; and
 * dx = (dy - mean(dy) - (x - mean) * k) * invstd * weight with k = sum(dy * (x - mean)) *
 * invstd^2 / N. */
#include "kernels_impl.h"

/* The statistics' sums run over the rows in order for each channel, as a plain loop would,
 * so the results are the same bits whatever the vector width; but with the sums in
 * registers: channels in blocks of nb (vectors of DW doubles), rows in blocks of NR, the
 * first block of channels prefetching the rest of each row. Kept in memory, each row's sums
 * waited on the last row's store. Measured on Zen 1 (one thread, 5 MB of activations, C =
 * 16..128): batchnorm_stats 1.3-1.55 ms -> 0.93-1.02 ms, batchnorm_backward_stats 1.9-2.0
 * ms -> 1.28-1.76 ms. The widening to double is the work, so with AVX-512 the vectors hold 8
 * doubles (4 with AVX2), and the element-wise kernels take whole vfloats: on a Xeon with
 * AVX-512 (one thread, 64 channels, 256 KB in L2), batchnorm_stats went from 22 to 47 GB/s,
 * batchnorm_backward_stats from 14 to 40, batchnorm_apply from 49 to 88 and
 * batchnorm_backward_dx from 40 to 76 (10 MB from memory: 13 -> 24 and 11 -> 21 for the
 * sums, the others at the memory's pace). */
#if VL >= 16
#define DW 8
#else
#define DW 4
#endif
#define NBMAX (4 * DW) /* channels a block at most */
#define NR 64
/* Floats ahead that the element-wise kernels prefetch their inputs: in training they read
 * the whole batch's convolution outputs and gradients, which come from memory, not the
 * cache. The core's own prefetchers kept one stream at 17 GB/s and two at 14; measured on a
 * Xeon with AVX-512 (one thread, 100 MB of activations), batchnorm_apply went from 17.1 to
 * 20.3 GB/s and batchnorm_backward_dx from 7.2 to 11.1 GB/s of x with 4 KB ahead (2 KB and
 * 8 KB did less), and a nets/mobilenet.net step from 34.5-36.5 to 33.5-34.4 ms. */
#define PFD 1024
typedef float fd __attribute__((vector_size(DW * sizeof(float))));
typedef double dd __attribute__((vector_size(DW * sizeof(double))));
typedef int id __attribute__((vector_size(DW * sizeof(int))));

static inline dd load_dd(const double *p)
{
    dd v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
static inline void store_dd(double *p, dd v) { __builtin_memcpy(p, &v, sizeof v); }
static inline fd load_fd(const float *p)
{
    fd v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
#if DW == 8 && defined(__AVX512F__)
#include <immintrin.h>
/* GCC 12 lowers the generic conversion to two 256-bit halves and an insert */
static inline dd widen(fd v) { return (dd)_mm512_cvtps_pd((__m256)v); }
#else
static inline dd widen(fd v) { return __builtin_convertvector(v, dd); }
#endif

/* Channels [c0, c0 + nb) of rows [r0, r1) into sum and sumsq (nb a multiple of DW). */
static ALWAYS_INLINE void stats_block(double *sum, double *sumsq, const float *x, size_t r0,
                                      size_t r1, int C, int c0, int nb)
{
    dd s[NBMAX / DW], q[NBMAX / DW];
    for (int j = 0; j < nb / DW; j++)
        s[j] = load_dd(sum + c0 + DW * j), q[j] = load_dd(sumsq + c0 + DW * j);
    for (size_t r = r0; r < r1; r++) {
        const float *xr = x + r * (size_t)C + c0;
        if (c0 == 0)
            for (int c = nb; c < C; c += 16)
                __builtin_prefetch(xr + c);
        for (int j = 0; j < nb / DW; j++) {
            dd v = widen(load_fd(xr + DW * j));
            s[j] += v;
            q[j] += v * v;
        }
    }
    for (int j = 0; j < nb / DW; j++)
        store_dd(sum + c0 + DW * j, s[j]), store_dd(sumsq + c0 + DW * j, q[j]);
}

void batchnorm_stats(double *sum, double *sumsq, const float *x, size_t rows, int C)
{
    for (size_t r0 = 0; r0 < rows; r0 += NR) {
        size_t r1 = rows - r0 < NR ? rows : r0 + NR;
        int c0 = 0;
        for (; c0 + NBMAX <= C; c0 += NBMAX)
            stats_block(sum, sumsq, x, r0, r1, C, c0, NBMAX);
        for (; c0 + DW <= C; c0 += DW)
            stats_block(sum, sumsq, x, r0, r1, C, c0, DW);
        for (size_t r = r0; r < r1 && c0 < C; r++) { /* the channels past the last vector */
            const float *xr = x + r * (size_t)C;
            for (int c = c0; c < C; c++) {
                double v = xr[c];
                sum[c] += v;
                sumsq[c] += v * v;
            }
        }
    }
}

/* The normalised value, x * alpha + beta: one expression, written once, so that the forward
 * and the backward of a fused ReLU (which recomputes it for the ReLU's mask) round it alike
 * (the compiler contracts it to a fused multiply-add everywhere or nowhere). */
static inline float bn_z(float x, float a, float b) { return x * a + b; }
static inline fd bn_zd(fd x, fd a, fd b) { return x * a + b; }
static inline vfloat bn_zv(vfloat x, vfloat a, vfloat b) { return x * a + b; }
/* dy where the ReLU passed z (z > 0, or NaN, as relu_backward), else 0 */
static inline fd relu_maskd(fd dy, fd z) { return (fd)((id)dy & ~(z <= (fd){0})); }
typedef int vint __attribute__((vector_size(VL * sizeof(int))));
static inline vfloat relu_maskv(vfloat dy, vfloat z)
{
    return (vfloat)((vint)dy & ~(z <= (vfloat){0}));
}

FULL_WIDTH void batchnorm_apply(float *out, const float *x, const float *alpha, const float *beta,
                                size_t rows, int C, bool relu)
{
    int CV = C / VL * VL;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)C;
        float *yr = out + r * (size_t)C;
        for (int c = 0; c < CV; c += VL) {
            __builtin_prefetch(xr + c + PFD);
            vfloat z = bn_zv(vload(xr + c), vload(alpha + c), vload(beta + c));
            if (relu) /* relu_forward's max(0, z): NaN stays */
                z = relu_maskv(z, z);
            vstore(yr + c, z);
        }
        for (int c = CV; c < C; c++) {
            float z = bn_z(xr[c], alpha[c], beta[c]);
            yr[c] = relu && z <= 0.0f ? 0.0f : z;
        }
    }
}

/* Channels [c0, c0 + nb) of rows [r0, r1): with relu (the fused ReLU's alpha and beta, ra
 * and rb), dy is the gradient of max(0, z), z = x * ra + rb, and counts as 0 where z <= 0
 * (relu_backward's rule, on the recomputed z). */
static ALWAYS_INLINE void bstats_block(double *sum_dy, double *sum_dy_xmu, const float *dy,
                                       const float *x, const float *mean, size_t r0, size_t r1,
                                       int C, int c0, int nb, const float *ra, const float *rb,
                                       bool relu)
{
    dd s[NBMAX / DW], q[NBMAX / DW];
    fd mu[NBMAX / DW], av[NBMAX / DW], bv[NBMAX / DW];
    for (int j = 0; j < nb / DW; j++) {
        s[j] = load_dd(sum_dy + c0 + DW * j), q[j] = load_dd(sum_dy_xmu + c0 + DW * j);
        mu[j] = load_fd(mean + c0 + DW * j);
        if (relu)
            av[j] = load_fd(ra + c0 + DW * j), bv[j] = load_fd(rb + c0 + DW * j);
    }
    for (size_t r = r0; r < r1; r++) {
        const float *dr = dy + r * (size_t)C + c0, *xr = x + r * (size_t)C + c0;
        if (c0 == 0)
            for (int c = nb; c < C; c += 16) {
                __builtin_prefetch(dr + c);
                __builtin_prefetch(xr + c);
            }
        for (int j = 0; j < nb / DW; j++) {
            fd xv = load_fd(xr + DW * j), dv = load_fd(dr + DW * j);
            if (relu)
                dv = relu_maskd(dv, bn_zd(xv, av[j], bv[j]));
            dd d = widen(dv);
            s[j] += d;
            q[j] += d * widen(xv - mu[j]);
        }
    }
    for (int j = 0; j < nb / DW; j++)
        store_dd(sum_dy + c0 + DW * j, s[j]), store_dd(sum_dy_xmu + c0 + DW * j, q[j]);
}

/* With AVX2's 16 registers the ReLU's factors leave room for blocks of 8 channels only (else
 * they spill); AVX-512's 32 hold a block of 32. */
#define NB_RELU (DW == 8 ? NBMAX : 2 * DW)

static ALWAYS_INLINE void backward_stats(double *sum_dy, double *sum_dy_xmu, const float *dy,
                                         const float *x, const float *mean, size_t rows, int C,
                                         const float *ra, const float *rb, bool relu)
{
    const int nb = relu ? NB_RELU : NBMAX;
    for (size_t r0 = 0; r0 < rows; r0 += NR) {
        size_t r1 = rows - r0 < NR ? rows : r0 + NR;
        int c0 = 0;
        for (; c0 + nb <= C; c0 += nb)
            bstats_block(sum_dy, sum_dy_xmu, dy, x, mean, r0, r1, C, c0, nb, ra, rb, relu);
        for (; c0 + DW <= C; c0 += DW)
            bstats_block(sum_dy, sum_dy_xmu, dy, x, mean, r0, r1, C, c0, DW, ra, rb, relu);
        for (size_t r = r0; r < r1 && c0 < C; r++) { /* the channels past the last vector */
            const float *dr = dy + r * (size_t)C, *xr = x + r * (size_t)C;
            for (int c = c0; c < C; c++) {
                float d = relu && bn_z(xr[c], ra[c], rb[c]) <= 0.0f ? 0.0f : dr[c];
                sum_dy[c] += d;
                sum_dy_xmu[c] += (double)d * (double)(xr[c] - mean[c]);
            }
        }
    }
}

void batchnorm_backward_stats(double *sum_dy, double *sum_dy_xmu, const float *dy, const float *x,
                              const float *mean, size_t rows, int C, const float *ra,
                              const float *rb)
{
    if (ra)
        backward_stats(sum_dy, sum_dy_xmu, dy, x, mean, rows, C, ra, rb, true);
    else
        backward_stats(sum_dy, sum_dy_xmu, dy, x, mean, rows, C, NULL, NULL, false);
}

static inline float bdx(float d, float x, float mu, float md, float k, float s)
{
    return (d - md - (x - mu) * k) * s;
}
static inline vfloat bdxv(vfloat d, vfloat x, vfloat mu, vfloat md, vfloat k, vfloat s)
{
    return (d - md - (x - mu) * k) * s;
}

static ALWAYS_INLINE void backward_dx(float *dx, const float *dy, const float *x, const float *mean,
                                      const float *mean_dy, const float *k, const float *scale,
                                      size_t rows, int C, const float *ra, const float *rb,
                                      bool relu)
{
    int CV = C / VL * VL;
    for (size_t r = 0; r < rows; r++) {
        const float *dr = dy + r * (size_t)C, *xr = x + r * (size_t)C;
        float *o = dx + r * (size_t)C;
        for (int c = 0; c < CV; c += VL) {
            __builtin_prefetch(xr + c + PFD);
            __builtin_prefetch(dr + c + PFD);
            vfloat xv = vload(xr + c), dv = vload(dr + c);
            if (relu)
                dv = relu_maskv(dv, bn_zv(xv, vload(ra + c), vload(rb + c)));
            vstore(o + c, bdxv(dv, xv, vload(mean + c), vload(mean_dy + c), vload(k + c),
                               vload(scale + c)));
        }
        for (int c = CV; c < C; c++) {
            float d = relu && bn_z(xr[c], ra[c], rb[c]) <= 0.0f ? 0.0f : dr[c];
            o[c] = bdx(d, xr[c], mean[c], mean_dy[c], k[c], scale[c]);
        }
    }
}

FULL_WIDTH void batchnorm_backward_dx(float *dx, const float *dy, const float *x, const float *mean,
                                      const float *mean_dy, const float *k, const float *scale,
                                      size_t rows, int C, const float *ra, const float *rb)
{
    if (ra)
        backward_dx(dx, dy, x, mean, mean_dy, k, scale, rows, C, ra, rb, true);
    else
        backward_dx(dx, dy, x, mean, mean_dy, k, scale, rows, C, NULL, NULL, false);
}
