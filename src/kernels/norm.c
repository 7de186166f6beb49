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
 * so the results are the same bits; but with the sums in registers: channels in blocks of
 * NB (vectors of 4 doubles), rows in blocks of NR, the first block of channels prefetching
 * the rest of each row. Kept in memory, each row's sums waited on the last row's store.
 * Measured on Zen 1 (one thread, 5 MB of activations, C = 16..128): batchnorm_stats 1.3-1.55
 * ms -> 0.93-1.02 ms, batchnorm_backward_stats 1.9-2.0 ms -> 1.28-1.76 ms. */
#define NB 16
#define NR 64
typedef float f4 __attribute__((vector_size(16)));
typedef double d4 __attribute__((vector_size(32)));
typedef int i4 __attribute__((vector_size(16)));

static inline d4 load_d4(const double *p)
{
    d4 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
static inline void store_d4(double *p, d4 v) { __builtin_memcpy(p, &v, sizeof v); }
static inline d4 widen(const float *p)
{
    f4 v;
    __builtin_memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, d4);
}

void batchnorm_stats(double *sum, double *sumsq, const float *x, size_t rows, int C)
{
    int CB = C / NB * NB;
    for (size_t r0 = 0; r0 < rows; r0 += NR) {
        size_t r1 = rows - r0 < NR ? rows : r0 + NR;
        for (int c0 = 0; c0 < CB; c0 += NB) {
            d4 s[NB / 4], q[NB / 4];
            for (int j = 0; j < NB / 4; j++)
                s[j] = load_d4(sum + c0 + 4 * j), q[j] = load_d4(sumsq + c0 + 4 * j);
            for (size_t r = r0; r < r1; r++) {
                const float *xr = x + r * (size_t)C + c0;
                if (c0 == 0)
                    for (int c = NB; c < C; c += 16)
                        __builtin_prefetch(xr + c);
                for (int j = 0; j < NB / 4; j++) {
                    d4 v = widen(xr + 4 * j);
                    s[j] += v;
                    q[j] += v * v;
                }
            }
            for (int j = 0; j < NB / 4; j++)
                store_d4(sum + c0 + 4 * j, s[j]), store_d4(sumsq + c0 + 4 * j, q[j]);
        }
        for (size_t r = r0; r < r1; r++) { /* the channels past the last whole block */
            const float *xr = x + r * (size_t)C;
            for (int c = CB; c < C; c++) {
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
static inline f4 bn_z4(f4 x, f4 a, f4 b) { return x * a + b; }
/* dy where the ReLU passed z (z > 0, or NaN, as relu_backward), else 0 */
static inline f4 relu_mask4(f4 dy, f4 z) { return (f4)((i4)dy & ~(z <= (f4){0, 0, 0, 0})); }

void batchnorm_apply(float *out, const float *x, const float *alpha, const float *beta, size_t rows,
                     int C, bool relu)
{
    int CV = C / 4 * 4;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)C;
        float *yr = out + r * (size_t)C;
        for (int c = 0; c < CV; c += 4) {
            f4 xv, av, bv;
            __builtin_memcpy(&xv, xr + c, sizeof xv);
            __builtin_memcpy(&av, alpha + c, sizeof av);
            __builtin_memcpy(&bv, beta + c, sizeof bv);
            f4 z = bn_z4(xv, av, bv);
            if (relu) /* relu_forward's max(0, z): NaN stays */
                z = relu_mask4(z, z);
            __builtin_memcpy(yr + c, &z, sizeof z);
        }
        for (int c = CV; c < C; c++) {
            float z = bn_z(xr[c], alpha[c], beta[c]);
            yr[c] = relu && z <= 0.0f ? 0.0f : z;
        }
    }
}

/* With ra (the fused ReLU's alpha and beta, ra and rb), dy is the gradient of max(0, z), z =
 * x * ra + rb, and counts as 0 where z <= 0 (relu_backward's rule, on the recomputed z). */
static ALWAYS_INLINE void backward_stats(double *sum_dy, double *sum_dy_xmu, const float *dy,
                                         const float *x, const float *mean, size_t rows, int C,
                                         const float *ra, const float *rb, bool relu, int nb)
{
    int CB = C / nb * nb;
    for (size_t r0 = 0; r0 < rows; r0 += NR) {
        size_t r1 = rows - r0 < NR ? rows : r0 + NR;
        for (int c0 = 0; c0 < CB; c0 += nb) {
            d4 s[NB / 4], q[NB / 4];
            f4 mu[NB / 4], av[NB / 4], bv[NB / 4];
            for (int j = 0; j < nb / 4; j++) {
                s[j] = load_d4(sum_dy + c0 + 4 * j), q[j] = load_d4(sum_dy_xmu + c0 + 4 * j);
                __builtin_memcpy(&mu[j], mean + c0 + 4 * j, sizeof mu[j]);
                if (relu) {
                    __builtin_memcpy(&av[j], ra + c0 + 4 * j, sizeof av[j]);
                    __builtin_memcpy(&bv[j], rb + c0 + 4 * j, sizeof bv[j]);
                }
            }
            for (size_t r = r0; r < r1; r++) {
                const float *dr = dy + r * (size_t)C + c0, *xr = x + r * (size_t)C + c0;
                if (c0 == 0)
                    for (int c = nb; c < C; c += 16) {
                        __builtin_prefetch(dr + c);
                        __builtin_prefetch(xr + c);
                    }
                for (int j = 0; j < nb / 4; j++) {
                    f4 xv, dv;
                    __builtin_memcpy(&xv, xr + 4 * j, sizeof xv);
                    __builtin_memcpy(&dv, dr + 4 * j, sizeof dv);
                    if (relu)
                        dv = relu_mask4(dv, bn_z4(xv, av[j], bv[j]));
                    d4 d = __builtin_convertvector(dv, d4);
                    s[j] += d;
                    q[j] += d * __builtin_convertvector(xv - mu[j], d4);
                }
            }
            for (int j = 0; j < nb / 4; j++)
                store_d4(sum_dy + c0 + 4 * j, s[j]), store_d4(sum_dy_xmu + c0 + 4 * j, q[j]);
        }
        for (size_t r = r0; r < r1; r++) { /* the channels past the last whole block */
            const float *dr = dy + r * (size_t)C, *xr = x + r * (size_t)C;
            for (int c = CB; c < C; c++) {
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
    /* the ReLU's factors take registers: blocks of 8 channels, so that nothing spills */
    if (ra)
        backward_stats(sum_dy, sum_dy_xmu, dy, x, mean, rows, C, ra, rb, true, 8);
    else
        backward_stats(sum_dy, sum_dy_xmu, dy, x, mean, rows, C, NULL, NULL, false, NB);
}

void batchnorm_backward_dx(float *dx, const float *dy, const float *x, const float *mean,
                           const float *mean_dy, const float *k, const float *scale, size_t rows,
                           int C, const float *ra, const float *rb)
{
    int CV = ra ? C / 4 * 4 : 0;
    for (size_t r = 0; r < rows; r++) {
        const float *dr = dy + r * (size_t)C, *xr = x + r * (size_t)C;
        float *o = dx + r * (size_t)C;
        if (!ra) {
            const float *restrict d1 = dr, *restrict x1 = xr;
            float *restrict o1 = o;
            for (int c = 0; c < C; c++)
                o1[c] = (d1[c] - mean_dy[c] - (x1[c] - mean[c]) * k[c]) * scale[c];
            continue;
        }
        for (int c = 0; c < CV; c += 4) {
            f4 xv, dv, av, bv, mu, md, kv, sv;
            __builtin_memcpy(&xv, xr + c, sizeof xv);
            __builtin_memcpy(&dv, dr + c, sizeof dv);
            __builtin_memcpy(&av, ra + c, sizeof av);
            __builtin_memcpy(&bv, rb + c, sizeof bv);
            __builtin_memcpy(&mu, mean + c, sizeof mu);
            __builtin_memcpy(&md, mean_dy + c, sizeof md);
            __builtin_memcpy(&kv, k + c, sizeof kv);
            __builtin_memcpy(&sv, scale + c, sizeof sv);
            dv = relu_mask4(dv, bn_z4(xv, av, bv));
            f4 v = (dv - md - (xv - mu) * kv) * sv;
            __builtin_memcpy(o + c, &v, sizeof v);
        }
        for (int c = CV; c < C; c++) {
            float d = bn_z(xr[c], ra[c], rb[c]) <= 0.0f ? 0.0f : dr[c];
            o[c] = (d - mean_dy[c] - (xr[c] - mean[c]) * k[c]) * scale[c];
        }
    }
}
