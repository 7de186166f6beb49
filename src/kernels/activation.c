/* activation.c: elementwise activations, dropout and softmax, forward and backward.
 *
 * Design choice: each backward takes whichever forward tensor makes it cheapest (relu,
 * sigmoid and tanh their output, leaky_relu its input), so callers keep exactly one tensor
 * per activation; the loops are branch-free so the compiler vectorises them. */
#include "kernels_impl.h"

#include <math.h>

void relu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] <= 0.0f ? 0.0f : in[i]; /* NaN stays NaN, as in PyTorch */
}

void relu_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] <= 0.0f ? 0.0f : dout[i]; /* NaN passes the gradient, as in PyTorch */
}

void leaky_relu_forward(float *out, const float *in, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
}

void leaky_relu_backward(float *din, const float *dout, const float *in, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        din[i] = in[i] > 0.0f ? dout[i] : slope * dout[i];
}

void sigmoid_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 1.0f / (1.0f + expf(-in[i]));
}

void sigmoid_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * out[i] * (1.0f - out[i]);
}

void tanh_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void tanh_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * (1.0f - out[i] * out[i]);
}

void dropout_forward(float *out, const float *in, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * mask[i];
}

void dropout_backward(float *din, const float *dout, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * mask[i];
}

void softmax_forward(float *out, const float *in, int B, int N)
{
    for (int b = 0; b < B; b++) {
        const float *x = in + (size_t)b * N;
        float *y = out + (size_t)b * N;
        float m = -INFINITY;
        for (int j = 0; j < N; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0;
        for (int j = 0; j < N; j++) {
            y[j] = expf(x[j] - m);
            s += y[j];
        }
        float inv = (float)(1.0 / s);
        for (int j = 0; j < N; j++)
            y[j] *= inv;
    }
}

void softmax_backward(float *din, const float *dout, const float *out, int B, int N)
{
    for (int b = 0; b < B; b++) {
        const float *dy = dout + (size_t)b * N, *y = out + (size_t)b * N;
        float *dx = din + (size_t)b * N;
        /* y_j = e^x_j / sum e^x, so dx_j = y_j (dy_j - sum_k dy_k y_k) */
        double s = 0.0;
        for (int j = 0; j < N; j++)
            s += (double)dy[j] * y[j];
        for (int j = 0; j < N; j++)
            dx[j] = y[j] * (dy[j] - (float)s);
    }
}
