/* pool.c: max and average 2-d pooling, forward and backward, PyTorch semantics.
 *
 * Design choice: each (image, channel) plane is independent, so planes are split over the
 * threads; max pooling records the winning input index so that its backward is a scatter
 * with no search, and windows that overlap (stride < kernel) accumulate within one plane,
 * which one thread owns. */
#include "kernels_impl.h"

#include <math.h>
#include <string.h>

/* The window of output pixel (oh,ow) clipped to the input: rows [*h0,*h1), cols [*w0,*w1). */
static void window(const PoolGeom *g, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    int hs = oh * g->SH - g->PH, ws = ow * g->SW - g->PW;
    *h0 = hs > 0 ? hs : 0;
    *w0 = ws > 0 ? ws : 0;
    *h1 = hs + g->KH < g->H ? hs + g->KH : g->H;
    *w1 = ws + g->KW < g->W ? ws + g->KW : g->W;
}

/* (*m, *best) = (v, i) when v > *m or v is NaN (a NaN wins, as in PyTorch), as bit masks:
 * the outcome is data-dependent, so a branch here mispredicts half the time. */
static inline void take_if_greater(float *m, int *best, float v, int i)
{
    uint32_t mb, vb, t = -(uint32_t)((v > *m) | (v != v));
    memcpy(&mb, m, sizeof mb);
    memcpy(&vb, &v, sizeof vb);
    mb = (mb & ~t) | (vb & t);
    memcpy(m, &mb, sizeof mb);
    *best = (int)(((uint32_t)*best & ~t) | ((uint32_t)i & t));
}

/* One output row of MaxPool2d(2) (2x2 windows, stride 2, no padding): y (OW) and am (OW)
 * from input rows r0 and r1 (2*OW), whose first element has plane index i0 (so r1's has
 * i0 + W). Branch-free so that it vectorises: a data-dependent branch here mispredicts
 * half the time. */
static void maxpool_2x2_row(float *restrict y, int32_t *restrict am, const float *restrict r0,
                            const float *restrict r1, int i0, int W, int OW)
{
    for (int ow = 0; ow < OW; ow++) {
        float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        int ia = i0 + 2 * ow;
        /* the taps in row-major order; strict > keeps the first of equal maxima, and a NaN
         * (v != v) wins as in PyTorch */
        bool tb = (b > a) | (b != b);
        float m = tb ? b : a;
        int best = tb ? ia + 1 : ia;
        bool tc = (c > m) | (c != c);
        m = tc ? c : m;
        best = tc ? ia + W : best;
        bool td = (d > m) | (d != d);
        m = td ? d : m;
        best = td ? ia + W + 1 : best;
        y[ow] = m;
        am[ow] = best;
    }
}

/* The common MaxPool2d(2), apart from the general loop so that the compiler can vectorise it.
 * Without argmax, each row's indices go to a small buffer and are dropped. */
static void maxpool_2x2(float *out, int32_t *argmax, const float *in, const PoolGeom *g)
{
    enum { CHUNK = 256 };
    int planes = g->B * g->C, W = g->W, HW = g->H * g->W, OH = g->OH, OW = g->OW, OHW = OH * OW;
    OMP_PARALLEL_FOR((size_t)planes * HW >= PARALLEL_MIN_ELEMS)
    for (int p = 0; p < planes; p++) {
        int32_t scratch[CHUNK];
        for (int oh = 0; oh < OH; oh++) {
            const float *r0 = in + (size_t)p * HW + (size_t)2 * oh * W;
            float *y = out + (size_t)p * OHW + (size_t)oh * OW;
            if (argmax) {
                maxpool_2x2_row(y, argmax + (size_t)p * OHW + (size_t)oh * OW, r0, r0 + W,
                                2 * oh * W, W, OW);
                continue;
            }
            for (int o = 0; o < OW; o += CHUNK)
                maxpool_2x2_row(y + o, scratch, r0 + 2 * o, r0 + W + 2 * o, 0, W,
                                OW - o < CHUNK ? OW - o : CHUNK);
        }
    }
}

void maxpool2d_forward(float *out, int32_t *argmax, const float *in, const PoolGeom *g)
{
    if (g->KH == 2 && g->KW == 2 && g->SH == 2 && g->SW == 2 && g->PH == 0 && g->PW == 0) {
        maxpool_2x2(out, argmax, in, g);
        return;
    }
    const PoolGeom G = *g; /* a local copy: stores to out cannot alias it */
    int planes = G.B * G.C, HW = G.H * G.W, OHW = G.OH * G.OW;
    OMP_PARALLEL_FOR((size_t)planes * HW >= PARALLEL_MIN_ELEMS)
    for (int p = 0; p < planes; p++) {
        const float *x = in + (size_t)p * HW;
        float *y = out + (size_t)p * OHW;
        int32_t *am = argmax ? argmax + (size_t)p * OHW : NULL;
        for (int oh = 0; oh < G.OH; oh++) {
            for (int ow = 0; ow < G.OW; ow++) {
                int h0, h1, w0, w1;
                window(&G, oh, ow, &h0, &h1, &w0, &w1);
                int best = h0 * G.W + w0;
                float m = -INFINITY;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        take_if_greater(&m, &best, x[h * G.W + w], h * G.W + w);
                y[oh * G.OW + ow] = m;
                if (am)
                    am[oh * G.OW + ow] = best;
            }
        }
    }
}

void maxpool2d_backward(float *din, const float *dout, const int32_t *argmax, const PoolGeom *g)
{
    int planes = g->B * g->C, HW = g->H * g->W, OHW = g->OH * g->OW;
    OMP_PARALLEL_FOR((size_t)planes * HW >= PARALLEL_MIN_ELEMS)
    for (int p = 0; p < planes; p++) {
        float *dx = din + (size_t)p * HW;
        const float *dy = dout + (size_t)p * OHW;
        const int32_t *am = argmax + (size_t)p * OHW;
        memset(dx, 0, (size_t)HW * sizeof(float));
        /* out = in[argmax], so din[argmax] += dout */
        for (int i = 0; i < OHW; i++)
            dx[am[i]] += dy[i];
    }
}

void avgpool2d_forward(float *out, const float *in, const PoolGeom *g)
{
    int planes = g->B * g->C, HW = g->H * g->W, OHW = g->OH * g->OW;
    float scale = 1.0f / (float)(g->KH * g->KW);
    OMP_PARALLEL_FOR((size_t)planes * HW >= PARALLEL_MIN_ELEMS)
    for (int p = 0; p < planes; p++) {
        const float *x = in + (size_t)p * HW;
        for (int oh = 0; oh < g->OH; oh++) {
            for (int ow = 0; ow < g->OW; ow++) {
                int h0, h1, w0, w1;
                window(g, oh, ow, &h0, &h1, &w0, &w1);
                float s = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        s += x[h * g->W + w];
                out[(size_t)p * OHW + oh * g->OW + ow] = s * scale;
            }
        }
    }
}

void avgpool2d_backward(float *din, const float *dout, const PoolGeom *g)
{
    int planes = g->B * g->C, HW = g->H * g->W, OHW = g->OH * g->OW;
    float scale = 1.0f / (float)(g->KH * g->KW);
    OMP_PARALLEL_FOR((size_t)planes * HW >= PARALLEL_MIN_ELEMS)
    for (int p = 0; p < planes; p++) {
        float *dx = din + (size_t)p * HW;
        memset(dx, 0, (size_t)HW * sizeof(float));
        for (int oh = 0; oh < g->OH; oh++) {
            for (int ow = 0; ow < g->OW; ow++) {
                int h0, h1, w0, w1;
                window(g, oh, ow, &h0, &h1, &w0, &w1);
                /* out = scale * (sum of the window), so each input in it gets scale * dout */
                float d = dout[(size_t)p * OHW + oh * g->OW + ow] * scale;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        dx[h * g->W + w] += d;
            }
        }
    }
}
