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

float cross_entropy_forward(float *dlogits, const float *logits, const int32_t *labels, int B,
                            int N)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *x = logits + (size_t)b * N;
        float m = -INFINITY;
        for (int j = 0; j < N; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0;
        for (int j = 0; j < N; j++)
            s += exp((double)x[j] - m);
        double lse = m + log(s);
        loss += lse - x[labels[b]];
        if (dlogits) {
            /* loss = (lse - x[label]) / B, so dx_j = (softmax_j - [j == label]) / B */
            float *dx = dlogits + (size_t)b * N;
            for (int j = 0; j < N; j++) {
                double d = (exp((double)x[j] - lse) - (j == labels[b])) / B;
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
