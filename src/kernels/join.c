/* join.c: the joins of graph networks: a sum of tensors and a concatenation over channels
 * (channels last: every row of a tensor is one pixel's channels, so concatenating channels
 * interleaves rows). */
#include "kernels_impl.h"

#include <string.h>

void add_forward(float *out, const float *const *ins, int k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float s = ins[0][i];
        for (int j = 1; j < k; j++)
            s += ins[j][i]; /* left to right: ((a + b) + c), as a + b + c in PyTorch */
        out[i] = s;
    }
}

void concat_forward(float *out, const float *const *ins, const int *chans, int k, size_t rows)
{
    int total = 0;
    for (int j = 0; j < k; j++)
        total += chans[j];
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * (size_t)total;
        for (int j = 0; j < k; j++) {
            memcpy(o, ins[j] + r * (size_t)chans[j], sizeof(float) * (size_t)chans[j]);
            o += chans[j];
        }
    }
}

void concat_backward(float *const *dins, const float *dout, const int *chans, int k, size_t rows)
{
    int total = 0;
    for (int j = 0; j < k; j++)
        total += chans[j];
    for (size_t r = 0; r < rows; r++) {
        const float *d = dout + r * (size_t)total;
        for (int j = 0; j < k; j++) {
            if (dins[j])
                memcpy(dins[j] + r * (size_t)chans[j], d, sizeof(float) * (size_t)chans[j]);
            d += chans[j];
        }
    }
}
