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

float cross_entropy_forward(float *dlogits, const float *logits, const int32_t *labels,
                            double label_smoothing, int B, int N)
{
    /* With e = label_smoothing, as torch.nn.CrossEntropyLoss, per sample
     *   loss = (1 - e) (lse - x[label]) + e mean_j (lse - x_j) = lse - (1 - e) x[label] - e mean(x)
     * (lse = log sum_j exp x_j), so dx_j = softmax_j - ((1 - e) [j == label] + e / N), over B. */
    const double e = label_smoothing;
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *x = logits + (size_t)b * N;
        float m = -INFINITY;
        for (int j = 0; j < N; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0, sum_x = 0.0;
        for (int j = 0; j < N; j++) {
            s += exp((double)x[j] - m);
            sum_x += x[j];
        }
        double lse = m + log(s), nll = lse - x[labels[b]];
        loss += e > 0 ? (1 - e) * nll + e * (lse - sum_x / N) : nll;
        if (dlogits) {
            float *dx = dlogits + (size_t)b * N;
            for (int j = 0; j < N; j++) {
                double target = (j == labels[b]) * (1 - e) + e / N;
                double d = (exp((double)x[j] - lse) - target) / B;
                dx[j] = fabs(d) < FLT_MIN ? 0.0f : (float)d; /* no denormals downstream */
            }
        }
    }
    return (float)(loss / B);
}

float mse_forward(float *dpred, const float *pred, const float *target, int B, int N)
{
    size_t n = (size_t)B * N;
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        loss += d * d;
        /* loss = sum d^2 / n, so dpred = 2 d / n */
        if (dpred)
            dpred[i] = (float)(2.0 * d / (double)n);
    }
    return (float)(loss / (double)n);
}
