/* linear.c: fully connected layer forward and backward on sgemm.
 *
 * Design choice: no scratch and no reduction. The forward and din split the batch rows over
 * the threads; dw splits its columns (the input features), so each thread owns whole
 * elements of dw and every element is summed over the batch in one fixed order. */
#include "kernels_impl.h"

#include <string.h>

/* Column blocks of dw are multiples of this, so no thread gets a sliver of a GEMM tile. */
#define COL_ALIGN 64

void linear_forward(float *out, const float *in, const float *w, const float *b, int B, int IN,
                    int OUT)
{
    OMP_PARALLEL((size_t)B * IN * OUT >= PARALLEL_MIN_ELEMS)
    {
        int r0, r1;
        split_range(B, team_rank(), team_size(), &r0, &r1);
        if (r1 > r0) {
            float *y = out + (size_t)r0 * OUT;
            if (b)
                for (int r = r0; r < r1; r++)
                    memcpy(out + (size_t)r * OUT, b, (size_t)OUT * sizeof(float));
            /* y (rows,OUT) = in (rows,IN) . w^T (IN,OUT) [+ y holding the bias] */
            sgemm(false, true, r1 - r0, OUT, IN, 1.0f, in + (size_t)r0 * IN, IN, w, IN,
                  b ? 1.0f : 0.0f, y, OUT);
        }
    }
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int B, int IN, int OUT)
{
    OMP_PARALLEL((size_t)B * IN * OUT >= PARALLEL_MIN_ELEMS)
    {
        int T = team_size(), t = team_rank(), lo, hi;
        if (din) {
            /* out = in . w^T, so din (rows,IN) = dout (rows,OUT) . w (OUT,IN) */
            split_range(B, t, T, &lo, &hi);
            if (hi > lo)
                sgemm(false, false, hi - lo, IN, OUT, 1.0f, dout + (size_t)lo * OUT, OUT, w, IN,
                      0.0f, din + (size_t)lo * IN, IN);
        }
        if (dw) {
            /* out = in . w^T, so dw (OUT,cols) = dout^T (OUT,B) . in (B,cols) */
            int blocks = (IN + COL_ALIGN - 1) / COL_ALIGN;
            split_range(blocks, t, T, &lo, &hi);
            lo *= COL_ALIGN;
            hi = hi * COL_ALIGN < IN ? hi * COL_ALIGN : IN;
            if (hi > lo)
                sgemm(true, false, OUT, hi - lo, B, 1.0f, dout, OUT, in + lo, IN, 0.0f, dw + lo,
                      IN);
        }
        if (db) {
            /* out = ... + b, so db (OUT) = dout summed over the batch */
            split_range(OUT, t, T, &lo, &hi);
            for (int o = lo; o < hi; o++) {
                float s = 0.0f;
                for (int r = 0; r < B; r++)
                    s += dout[(size_t)r * OUT + o];
                db[o] = s;
            }
        }
    }
}
