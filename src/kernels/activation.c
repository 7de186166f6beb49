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

/* ---- exp on vectors, for SiLU ----
 * libm's expf is a call per value, which made SiLU the slowest layer of a net (3 ns a value
 * on Zen 1; a SiLU after each BatchNorm took a third of a MobileNet's step).
 * vexp is Cephes' expf, the generated C's (prelude.h): v = n ln2 + r, a degree-6 polynomial
 * for e^r, 2^n from its bits; within a few ulp of expf on [-87.3, 88]. Outside it: e^88 up
 * to expf's overflow at 88.72, then infinity as expf; e^-87.3 down to -103.97, then 0 (expf
 * gives denormals there). Both only ever meet 1 + e^-x here, where the quotient differs by
 * less than 1e-37. NaN stays NaN. Every value of a call goes through the vector code, the
 * last ones in a vector padded with zeros, so a value's result does not depend on where it
 * lies in the tensor. */
typedef int vint __attribute__((vector_size(VL * sizeof(int))));

static inline vfloat vsel(vint m, vfloat a, vfloat b) /* m ? a : b, lane by lane */
{
    return (vfloat)(((vint)a & m) | ((vint)b & ~m));
}

FULL_WIDTH static inline vfloat vexp(vfloat v)
{
    const vfloat zero = {0};
    vint over = v > 88.7228394f, under = v < -103.972084f, nan = v != v;
    vfloat t = vsel(v > 88.0f, zero + 88.0f, vsel(nan, zero, v)); /* no NaN to convert */
    t = vsel(t < -87.3f, zero - 87.3f, t);
    vfloat h = t * 1.44269504088896341f + 0.5f;
    vfloat tr = __builtin_convertvector(__builtin_convertvector(h, vint), vfloat);
    vfloat n = tr + __builtin_convertvector(tr > h, vfloat); /* floor: -1 where it truncated up */
    vfloat r = n * -0.693359375f + t;
    r = n * 2.12194440e-4f + r;
    vfloat p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + (r + 1.0f);
    vint e = (__builtin_convertvector(n, vint) + 127) << 23;
    vfloat x = p * (vfloat)e;
    x = vsel(over, zero + __builtin_inff(), x);
    return vsel(nan, v, vsel(under, zero, x));
}

/* out[i] = f(x, y) for a vector function f of x = in[i] and y = in2[i], the last values of
 * both padded with zeros (so a value's bits do not depend on where it lies in a call) */
#define VMAP2(out, in, in2, n, f)                                                                  \
    do {                                                                                           \
        size_t i_ = 0;                                                                             \
        for (; i_ + VL <= (n); i_ += VL) {                                                         \
            vfloat x = vload((in) + i_), y = vload((in2) + i_);                                    \
            (void)y;                                                                               \
            vstore((out) + i_, f);                                                                 \
        }                                                                                          \
        if (i_ < (n)) {                                                                            \
            float bx_[VL] = {0}, by_[VL] = {0};                                                    \
            __builtin_memcpy(bx_, (in) + i_, sizeof(float) * ((n)-i_));                            \
            __builtin_memcpy(by_, (in2) + i_, sizeof(float) * ((n)-i_));                           \
            vfloat x = vload(bx_), y = vload(by_);                                                 \
            (void)y;                                                                               \
            vstore(bx_, f);                                                                        \
            __builtin_memcpy((out) + i_, bx_, sizeof(float) * ((n)-i_));                           \
        }                                                                                          \
    } while (0)
/* out[i] = f(x) for x = in[i] */
#define VMAP(out, in, n, f) VMAP2(out, in, in, n, f)

/* libm's expf: Sigmoid declares 'monotonic', which vexp's rounding breaks by an ulp here and
 * there (330,819 decreases among the floats in [-95, 95]; none with expf). */
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
/* Cephes' tanhf, the generated C's: an odd polynomial below 0.625, 1 - 2 / (e^2|v| + 1)
 * above, the sign put back; within 1.5e-7 (relative) of tanh, odd to the bit (tanh(-0) is
 * -0), NaN kept, and never decreasing: checked over every float in [0, 12] (above 9 it is
 * 1), as Tanh's 'monotonic' requires. */
FULL_WIDTH static inline vfloat vtanh(vfloat v)
{
    const vint sign = (vint){0} + (int)0x80000000u;
    vfloat a = (vfloat)((vint)v & ~sign), z = a * a; /* |v|: the result gets v's sign back */
    vfloat s = z * -5.70498872745e-3f + 2.06390887954e-2f;
    s = s * z - 5.37397155531e-2f;
    s = s * z + 1.33314422036e-1f;
    s = s * z - 3.33332819422e-1f;
    s = (s * z) * a + a;
    vfloat l = 1.0f - 2.0f / (vexp(a + a) + 1.0f);
    return (vfloat)((vint)vsel(a < 0.625f, s, l) | ((vint)v & sign));
}

FULL_WIDTH void tanh_forward(float *out, const float *in, size_t n) { VMAP(out, in, n, vtanh(x)); }

FULL_WIDTH void silu_forward(float *out, const float *in, size_t n)
{
    VMAP(out, in, n, x / (1.0f + vexp(-x)));
}

/* dy d/dx x s(x) = dy (s(x) + x s(x) (1 - s(x))) = dy s(x) (1 + x (1 - s(x))), s = sigmoid */
FULL_WIDTH static inline vfloat silu_grad(vfloat x, vfloat dy)
{
    vfloat sg = 1.0f / (1.0f + vexp(-x));
    return dy * (sg * (1.0f + x * (1.0f - sg)));
}

/* ReLU6 = min(max(x, 0), 6), as torch.nn.ReLU6 (Hardtanh(0, 6), a clamp): NaN stays NaN, -0
 * stays -0. Its gradient passes where 0 < x < 6 (and at a NaN), read from the output, which
 * is in (0, 6) exactly there. */
void relu6_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] < 0.0f ? 0.0f : in[i] > 6.0f ? 6.0f : in[i];
}

void relu6_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] = out[i] <= 0.0f || out[i] >= 6.0f ? 0.0f : dout[i];
}

/* ELU as torch.nn.ELU computes it on the CPU: x > 0 ? x : (exp(x) - 1) * alpha (not expm1),
 * NaN staying NaN; through libm's expf, as Sigmoid, for the monotonic property a positive
 * alpha gives (vexp's rounding dips by an ulp here and there). */
void elu_forward(float *out, const float *in, size_t n, float alpha)
{
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] > 0.0f || in[i] != in[i] ? in[i] : (expf(in[i]) - 1.0f) * alpha;
}

/* dy * (x > 0 ? 1 : alpha * exp(x)); a NaN input passes the gradient, as PyTorch's */
void elu_backward(float *din, const float *dout, const float *in, size_t n, float alpha)
{
    for (size_t i = 0; i < n; i++)
        din[i] = in[i] > 0.0f || in[i] != in[i] ? dout[i] : dout[i] * alpha * expf(in[i]);
}

/* din may be dout: each vector is read before it is written */
FULL_WIDTH void silu_backward(float *din, const float *dout, const float *in, size_t n)
{
    VMAP2(din, in, dout, n, silu_grad(x, y));
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

/* The largest of the N values inner apart from x: what both softmaxes subtract. */
static float line_max(const float *x, int N, int inner)
{
    float m = -INFINITY;
    for (int j = 0; j < N; j++)
        m = x[(size_t)j * inner] > m ? x[(size_t)j * inner] : m;
    return m;
}

void softmax_forward(float *out, const float *in, int B, int N, int inner)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < inner; i++) {
            const float *x = in + (size_t)b * N * inner + i;
            float *y = out + (size_t)b * N * inner + i;
            float m = line_max(x, N, inner);
            double s = 0.0;
            for (int j = 0; j < N; j++) {
                y[(size_t)j * inner] = expf(x[(size_t)j * inner] - m);
                s += y[(size_t)j * inner];
            }
            float inv = (float)(1.0 / s);
            for (int j = 0; j < N; j++)
                y[(size_t)j * inner] *= inv;
        }
}

void logsoftmax_forward(float *out, const float *in, int B, int N, int inner)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < inner; i++) {
            const float *x = in + (size_t)b * N * inner + i;
            float *y = out + (size_t)b * N * inner + i;
            float m = line_max(x, N, inner);
            double s = 0.0;
            for (int j = 0; j < N; j++)
                s += expf(x[(size_t)j * inner] - m);
            /* x - max - log(sum exp(x - max)), as ATen's log_softmax */
            float lse = (float)log(s);
            for (int j = 0; j < N; j++)
                y[(size_t)j * inner] = x[(size_t)j * inner] - m - lse;
        }
}

void logsoftmax_backward(float *din, const float *dout, const float *out, int B, int N, int inner)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < inner; i++) {
            size_t o = (size_t)b * N * inner + i;
            const float *dy = dout + o, *y = out + o;
            float *dx = din + o;
            /* y_j = x_j - log sum e^x, so dx_j = dy_j - e^y_j sum_k dy_k */
            double s = 0.0;
            for (int j = 0; j < N; j++)
                s += dy[(size_t)j * inner];
            for (int j = 0; j < N; j++)
                dx[(size_t)j * inner] =
                    dy[(size_t)j * inner] - expf(y[(size_t)j * inner]) * (float)s;
        }
}

void softmax_backward(float *din, const float *dout, const float *out, int B, int N, int inner)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < inner; i++) {
            size_t o = (size_t)b * N * inner + i;
            const float *dy = dout + o, *y = out + o;
            float *dx = din + o;
            /* y_j = e^x_j / sum e^x, so dx_j = y_j (dy_j - sum_k dy_k y_k) */
            double s = 0.0;
            for (int j = 0; j < N; j++)
                s += (double)dy[(size_t)j * inner] * y[(size_t)j * inner];
            for (int j = 0; j < N; j++)
                dx[(size_t)j * inner] = y[(size_t)j * inner] * (dy[(size_t)j * inner] - (float)s);
        }
}
