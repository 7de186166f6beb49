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

/* GELU, as torch.nn.GELU: approximate 'none' is x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)),
 * 'tanh' is 0.5 x (1 + tanh(beta (x + kappa x^3))) with beta = sqrt(2 / pi), kappa = 0.044715;
 * the constants and the order of operations are PyTorch's (aten/native/cpu/Activation.cpp). */

void gelu_forward(float *out, const float *in, size_t n, bool tanh_approx)
{
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        if (tanh_approx)
            out[i] = 0.5f * x * (1.0f + tanhf(GELU_BETA * (x + GELU_KAPPA * (x * x * x))));
        else
            out[i] = x * 0.5f * (1.0f + erff(x * GELU_ALPHA));
    }
}

/* none: d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
 * tanh: with t = tanh(u), u = beta (x + kappa x^3):
 *       d/dx 0.5 x (1 + t) = 0.5 (1 + t) + 0.5 x (1 - t^2) beta (1 + 3 kappa x^2). */
void gelu_backward(float *din, const float *dout, const float *in, size_t n, bool tanh_approx)
{
    for (size_t i = 0; i < n; i++) {
        float x = in[i], d;
        if (tanh_approx) {
            float t = tanhf(GELU_BETA * (x + GELU_KAPPA * (x * x * x)));
            d = 0.5f * (1.0f + t) +
                0.5f * x * (1.0f - t * t) * (GELU_BETA * (1.0f + 3.0f * GELU_KAPPA * (x * x)));
        } else {
            d = 0.5f * (1.0f + erff(x * GELU_ALPHA)) + x * (GELU_PDF * expf(-0.5f * (x * x)));
        }
        din[i] = dout[i] * d;
    }
}

/* SiLU, as torch.nn.SiLU: x * sigmoid(x), computed x / (1 + exp(-x)) as PyTorch does. */
void silu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] / (1.0f + expf(-in[i]));
}

/* d/dx x s(x) = s(x) + x s(x) (1 - s(x)) = s(x) (1 + x (1 - s(x))), s = sigmoid. */
void silu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float x = in[i], sg = 1.0f / (1.0f + expf(-x));
        din[i] = dout[i] * (sg * (1.0f + x * (1.0f - sg)));
    }
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
