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

void batchnorm_stats(double *sum, double *sumsq, const float *x, size_t rows, int C)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            double v = xr[c];
            sum[c] += v;
            sumsq[c] += v * v;
        }
    }
}

void batchnorm_apply(float *out, const float *x, const float *alpha, const float *beta, size_t rows,
                     int C)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * (size_t)C;
        float *restrict yr = out + r * (size_t)C;
        for (int c = 0; c < C; c++)
            yr[c] = xr[c] * alpha[c] + beta[c];
    }
}

void batchnorm_backward_stats(double *sum_dy, double *sum_dy_xmu, const float *dy, const float *x,
                              const float *mean, size_t rows, int C)
{
    for (size_t r = 0; r < rows; r++) {
        const float *dr = dy + r * (size_t)C, *xr = x + r * (size_t)C;
        for (int c = 0; c < C; c++) {
            sum_dy[c] += dr[c];
            sum_dy_xmu[c] += (double)dr[c] * (double)(xr[c] - mean[c]);
        }
    }
}

void batchnorm_backward_dx(float *dx, const float *dy, const float *x, const float *mean,
                           const float *mean_dy, const float *k, const float *scale, size_t rows,
                           int C)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict dr = dy + r * (size_t)C, *restrict xr = x + r * (size_t)C;
        float *restrict o = dx + r * (size_t)C;
        for (int c = 0; c < C; c++)
            o[c] = (dr[c] - mean_dy[c] - (xr[c] - mean[c]) * k[c]) * scale[c];
    }
}
