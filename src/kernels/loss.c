/* loss.c: the losses, each returning its value and writing the gradient of that value.
 *
 * Design choice: a loss computes its gradient in the same pass as its value (there is no
 * separate backward), because both need the same intermediates; sums are kept in double so
 * the mean over a large batch loses nothing. Gradients below FLT_MIN are written as 0: a
 * confident classifier's softmax underflows into denormals, which would slow every
 * multiply of the backward pass many times over. */
#include "kernels_impl.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

void cross_entropy_rows(float *dlogits, const float *logits, const int32_t *labels,
                        double label_smoothing, int B, int N, int b0, int b1, double *row_loss)
{
    /* With e = label_smoothing, as torch.nn.CrossEntropyLoss, per sample
     *   loss = (1 - e) (lse - x[label]) + e mean_j (lse - x_j) = lse - (1 - e) x[label] - e mean(x)
     * (lse = log sum_j exp x_j), so dx_j = softmax_j - ((1 - e) [j == label] + e / N), over B.
     * Every term is taken relative to the largest logit m, as PyTorch's log_softmax does
     * ((x - m) - log s): m + log s would lose log s to rounding for logits past 1e16. */
    const double e = label_smoothing;
    for (int b = b0; b < b1; b++) {
        const float *x = logits + (size_t)b * N;
        float m = -INFINITY;
        for (int j = 0; j < N; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0, sum_d = 0.0; /* sum_d: of x_j - m */
        for (int j = 0; j < N; j++) {
            s += exp((double)x[j] - m);
            sum_d += (double)x[j] - m;
        }
        double ls = log(s), nll = ls - ((double)x[labels[b]] - m);
        row_loss[b] = e > 0 ? (1 - e) * nll + e * (ls - sum_d / N) : nll;
        if (dlogits) {
            float *dx = dlogits + (size_t)b * N;
            for (int j = 0; j < N; j++) {
                double target = (j == labels[b]) * (1 - e) + e / N;
                double d = (exp(((double)x[j] - m) - ls) - target) / B;
                dx[j] = fabs(d) < FLT_MIN ? 0.0f : (float)d; /* no denormals downstream */
            }
        }
    }
}

void mse_rows(float *dpred, const float *pred, const float *target, int B, int N, int b0, int b1,
              double *row_loss)
{
    double n = (double)B * N;
    for (int b = b0; b < b1; b++) {
        double loss = 0.0;
        for (size_t i = (size_t)b * N; i < (size_t)(b + 1) * N; i++) {
            double d = (double)pred[i] - target[i];
            loss += d * d;
            /* loss = sum d^2 / n, so dpred = 2 d / n */
            if (dpred)
                dpred[i] = (float)(2.0 * d / n);
        }
        row_loss[b] = loss;
    }
}

void nll_rows(float *dlogp, const float *logp, const int32_t *labels, int B, int N, int b0, int b1,
              double *row_loss)
{
    for (int b = b0; b < b1; b++) {
        const float *x = logp + (size_t)b * N;
        row_loss[b] = -(double)x[labels[b]]; /* torch.nn.NLLLoss: -input[label], mean */
        if (dlogp) {
            float *dx = dlogp + (size_t)b * N;
            for (int j = 0; j < N; j++)
                dx[j] = j == labels[b] ? (float)(-1.0 / B) : 0.0f;
        }
    }
}

/* The whole batch at once: its rows' losses added in row order. */
static float row_mean(const double *row_loss, int B, double n)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++)
        loss += row_loss[b];
    return (float)(loss / n);
}

float cross_entropy_forward(float *dlogits, const float *logits, const int32_t *labels,
                            double label_smoothing, int B, int N)
{
    double *rows = malloc(sizeof(double) * (size_t)(B > 0 ? B : 1));
    if (!rows)
        return NAN;
    cross_entropy_rows(dlogits, logits, labels, label_smoothing, B, N, 0, B, rows);
    float loss = row_mean(rows, B, B);
    free(rows);
    return loss;
}

float mse_forward(float *dpred, const float *pred, const float *target, int B, int N)
{
    double *rows = malloc(sizeof(double) * (size_t)(B > 0 ? B : 1));
    if (!rows)
        return NAN;
    mse_rows(dpred, pred, target, B, N, 0, B, rows);
    float loss = row_mean(rows, B, (double)B * N);
    free(rows);
    return loss;
}
