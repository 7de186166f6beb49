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
