/* linear.c: fully connected layer forward and backward on sgemm.
 *
 * Design choice: no scratch; each product is one sgemm over the whole batch, so every element
 * of dw and db is summed over the batch in one fixed order. */
#include "kernels_impl.h"

#include <string.h>

void linear_forward(float *out, const float *in, const float *w, const float *b, int B, int IN,
                    int OUT)
{
    if (b)
        for (int r = 0; r < B; r++)
            memcpy(out + (size_t)r * OUT, b, (size_t)OUT * sizeof(float));
    /* out (B,OUT) = in (B,IN) . w^T (IN,OUT) [+ out holding the bias] */
    sgemm(false, true, B, OUT, IN, 1.0f, in, IN, w, IN, b ? 1.0f : 0.0f, out, OUT);
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int B, int IN, int OUT)
{
    /* out = in . w^T, so din (B,IN) = dout (B,OUT) . w (OUT,IN) */
    if (din)
        sgemm(false, false, B, IN, OUT, 1.0f, dout, OUT, w, IN, 0.0f, din, IN);
    /* and dw (OUT,IN) = dout^T (OUT,B) . in (B,IN) */
    if (dw)
        sgemm(true, false, OUT, IN, B, 1.0f, dout, OUT, in, IN, 0.0f, dw, IN);
    if (db) {
        /* out = ... + b, so db (OUT) = dout summed over the batch */
        for (int o = 0; o < OUT; o++) {
            float s = 0.0f;
            for (int r = 0; r < B; r++)
                s += dout[(size_t)r * OUT + o];
            db[o] = s;
        }
    }
}

/* On channels-last rows each product is one small sgemm per row (OUT x C = w . IN x C), the
 * rows in order, so dw and db are summed in one fixed order as above. */
void linear_hwc_forward(float *out, const float *in, const float *w, const float *b, int S, int IN,
                        int OUT, int C)
{
    for (int s = 0; s < S; s++) {
        float *y = out + (size_t)s * OUT * C;
        if (b)
            for (int o = 0; o < OUT; o++)
                for (int c = 0; c < C; c++)
                    y[(size_t)o * C + c] = b[o];
        sgemm(false, false, OUT, C, IN, 1.0f, w, IN, in + (size_t)s * IN * C, C, b ? 1.0f : 0.0f, y,
              C);
    }
}

void linear_hwc_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                         const float *w, int S, int IN, int OUT, int C)
{
    if (db)
        memset(db, 0, sizeof(float) * (size_t)OUT);
    for (int s = 0; s < S; s++) {
        const float *dy = dout + (size_t)s * OUT * C, *x = in + (size_t)s * IN * C;
        /* y_s = w . x_s, so dx_s (IN,C) = w^T (IN,OUT) . dy_s (OUT,C) */
        if (din)
            sgemm(true, false, IN, C, OUT, 1.0f, w, IN, dy, C, 0.0f, din + (size_t)s * IN * C, C);
        /* and dw (OUT,IN) += dy_s (OUT,C) . x_s^T (C,IN) */
        if (dw)
            sgemm(false, true, OUT, IN, C, 1.0f, dy, C, x, C, s ? 1.0f : 0.0f, dw, IN);
        if (db)
            for (int o = 0; o < OUT; o++) {
                float t = 0.0f;
                for (int c = 0; c < C; c++)
                    t += dy[(size_t)o * C + c];
                db[o] += t;
            }
    }
}
