/* pool.c: max and average 2-d pooling on channels-last images, forward and backward, PyTorch
 * semantics.
 *
 * Design choice: with channels last, a window's taps are runs of C contiguous channels, so
 * every loop runs innermost over the channels, branch-free, and the compiler vectorises it
 * (a data-dependent branch on a maximum mispredicts half the time). Max pooling records the
 * winning input index so that its backward is a scatter with no search. */
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

/* The output pixels of a pooling in order (image n, row oh, column ow), each with its offset
 * o in the output and its window clipped to the input. Walk them with
 *     for (Win w = {.ow = -1}; win_next(g, &w);) ... */
typedef struct {
    int n, oh, ow, h0, h1, w0, w1;
    size_t o;
} Win;

static bool win_next(const PoolGeom *g, Win *w)
{
    if (++w->ow == g->OW) {
        w->ow = 0;
        if (++w->oh == g->OH) {
            w->oh = 0;
            if (++w->n == g->B)
                return false;
        }
    }
    window(g, w->oh, w->ow, &w->h0, &w->h1, &w->w0, &w->w1);
    w->o = ((size_t)(w->n * g->OH + w->oh) * g->OW + w->ow) * g->C;
    return true;
}

/* Channels handled at once: a chunk's running maxima and indices stay in registers or L1. */
#define CHUNK 256

/* The running maximum m (n channels) and its index takes x where x > m or x is NaN (a NaN
 * wins, as in PyTorch): strict > keeps the first of equal maxima. */
static inline void take_greater(float *restrict m, int32_t *restrict best, const float *restrict x,
                                int32_t idx, int n)
{
    for (int c = 0; c < n; c++) {
        bool t = (x[c] > m[c]) | (x[c] != x[c]);
        m[c] = t ? x[c] : m[c];
        best[c] = t ? idx : best[c];
    }
}

/* MaxPool2d(2) whose windows all lie inside the input (not a ceil_mode window past it). */
static bool is_2x2(const PoolGeom *g)
{
    return g->KH == 2 && g->KW == 2 && g->SH == 2 && g->SW == 2 && g->PH == 0 && g->PW == 0 &&
           2 * g->OH <= g->H && 2 * g->OW <= g->W;
}

/* The common MaxPool2d(2) (2x2 windows, stride 2, no padding) apart from the general loop:
 * the four taps of every channel in registers, and the indices written only when wanted. */
static void maxpool_2x2(float *out, int32_t *argmax, const float *in, const PoolGeom *g)
{
    const int C = g->C, W = g->W, OH = g->OH, OW = g->OW;
    size_t in_img = (size_t)g->H * W * C, out_img = (size_t)OH * OW * C;
    for (int n = 0; n < g->B; n++) {
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                const float *restrict r0 = in + n * in_img + ((size_t)2 * oh * W + 2 * ow) * C;
                const float *restrict r1 = r0 + (size_t)W * C;
                size_t o = n * out_img + ((size_t)oh * OW + ow) * C;
                float *restrict y = out + o;
                int32_t ia = 2 * oh * W + 2 * ow;
                if (!argmax) {
                    for (int c = 0; c < C; c++) {
                        float a = r0[c], b = r0[C + c], e = r1[c], d = r1[C + c];
                        float m = ((b > a) | (b != b)) ? b : a;
                        m = ((e > m) | (e != e)) ? e : m;
                        y[c] = ((d > m) | (d != d)) ? d : m;
                    }
                    continue;
                }
                int32_t *restrict am = argmax + o;
                for (int c = 0; c < C; c++) {
                    /* the taps in row-major order, as take_greater does */
                    float a = r0[c], b = r0[C + c], e = r1[c], d = r1[C + c];
                    bool tb = (b > a) | (b != b);
                    float m = tb ? b : a;
                    int32_t best = tb ? ia + 1 : ia;
                    bool te = (e > m) | (e != e);
                    m = te ? e : m;
                    best = te ? ia + W : best;
                    bool td = (d > m) | (d != d);
                    y[c] = td ? d : m;
                    am[c] = td ? ia + W + 1 : best;
                }
            }
        }
    }
}

void maxpool2d_forward(float *out, int32_t *argmax, const float *in, const PoolGeom *g)
{
    if (is_2x2(g)) {
        maxpool_2x2(out, argmax, in, g);
        return;
    }
    const PoolGeom G = *g; /* a local copy: stores to out cannot alias it */
    size_t in_img = (size_t)G.H * G.W * G.C;
    for (Win v = {.ow = -1}; win_next(&G, &v);) {
        const float *x = in + v.n * in_img;
        for (int c0 = 0; c0 < G.C; c0 += CHUNK) {
            int nc = G.C - c0 < CHUNK ? G.C - c0 : CHUNK;
            float m[CHUNK];
            int32_t best[CHUNK];
            for (int c = 0; c < nc; c++)
                m[c] = -INFINITY, best[c] = v.h0 * G.W + v.w0;
            for (int h = v.h0; h < v.h1; h++)
                for (int w = v.w0; w < v.w1; w++)
                    take_greater(m, best, x + ((size_t)h * G.W + w) * G.C + c0, h * G.W + w, nc);
            memcpy(out + v.o + c0, m, (size_t)nc * sizeof(float));
            if (argmax)
                memcpy(argmax + v.o + c0, best, (size_t)nc * sizeof(int32_t));
        }
    }
}

/* MaxPool2d(2)'s backward: windows do not overlap, so each input pixel takes its window's
 * gradient or 0, written once in a loop over the channels with no scatter. (v + 0.0f, as the
 * scatter's 0 + v, turns a -0 gradient into +0.) */
static void maxpool_2x2_backward(float *din, const float *dout, const int32_t *argmax,
                                 const PoolGeom *g)
{
    const int C = g->C, W = g->W, OH = g->OH, OW = g->OW;
    size_t in_img = (size_t)g->H * W * C, out_img = (size_t)OH * OW * C;
    for (int n = 0; n < g->B; n++) {
        float *dx = din + n * in_img;
        if (g->H != 2 * OH || W != 2 * OW) /* a last row or column no window covers */
            memset(dx, 0, in_img * sizeof(float));
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                int32_t ia = 2 * oh * W + 2 * ow;
                size_t o = n * out_img + ((size_t)oh * OW + ow) * C;
                const float *restrict dy = dout + o;
                const int32_t *restrict am = argmax + o;
                float *restrict d0 = dx + (size_t)ia * C, *restrict d1 = d0 + (size_t)W * C;
                for (int c = 0; c < C; c++) {
                    float v = dy[c] + 0.0f;
                    int32_t a = am[c];
                    d0[c] = a == ia ? v : 0.0f;
                    d0[C + c] = a == ia + 1 ? v : 0.0f;
                    d1[c] = a == ia + W ? v : 0.0f;
                    d1[C + c] = a == ia + W + 1 ? v : 0.0f;
                }
            }
        }
    }
}

void maxpool2d_backward(float *din, const float *dout, const int32_t *argmax, const PoolGeom *g)
{
    if (is_2x2(g)) {
        maxpool_2x2_backward(din, dout, argmax, g);
        return;
    }
    size_t in_img = (size_t)g->H * g->W * g->C, out_img = (size_t)g->OH * g->OW * g->C;
    int C = g->C, OHW = g->OH * g->OW;
    for (int n = 0; n < g->B; n++) {
        float *dx = din + n * in_img;
        memset(dx, 0, in_img * sizeof(float));
        /* out = in[argmax], so din[argmax] += dout */
        for (int i = 0; i < OHW; i++) {
            const float *dy = dout + n * out_img + (size_t)i * C;
            const int32_t *am = argmax + n * out_img + (size_t)i * C;
            for (int c = 0; c < C; c++)
                dx[(size_t)am[c] * C + c] += dy[c];
        }
    }
}

/* The divisor of window (oh, ow), as PyTorch's avg_pool2d: with count_include_pad, the
 * window's size clipped to the padded input (a ceil_mode window may run past it), else the
 * number of input pixels it covers. */
static float avg_divisor(const PoolGeom *g, int oh, int ow)
{
    int hs = oh * g->SH - g->PH, ws = ow * g->SW - g->PW;
    int he = hs + g->KH < g->H + g->PH ? hs + g->KH : g->H + g->PH;
    int we = ws + g->KW < g->W + g->PW ? ws + g->KW : g->W + g->PW;
    if (g->exclude_pad) {
        int h0, h1, w0, w1;
        window(g, oh, ow, &h0, &h1, &w0, &w1);
        return (float)((h1 - h0) * (w1 - w0));
    }
    return (float)((he - hs) * (we - ws));
}

/* y = the sum of image x's window (rows [h0,h1), cols [w0,w1); W pixels a row, C channels)
 * / d1 / d2, summed in row-major order as PyTorch's CPU kernels do. */
static void window_mean(float *restrict y, const float *restrict x, int W, int C, int h0, int h1,
                        int w0, int w1, float d1, float d2)
{
    for (int c = 0; c < C; c++)
        y[c] = 0.0f;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            const float *xs = x + ((size_t)h * W + w) * C;
            for (int c = 0; c < C; c++)
                y[c] += xs[c];
        }
    for (int c = 0; c < C; c++)
        y[c] = y[c] / d1 / d2;
}

/* window_mean's backward: every pixel of the window in dx gets dy / d1 / d2 added. The
 * quotients are taken once a window, a block of channels at a time, not once a pixel: two
 * divisions an element made the global pooling's backward of nets/mobilenet.net (7x7x128)
 * cost ten times its forward. */
static void window_spread(float *restrict dx, const float *restrict dy, int W, int C, int h0,
                          int h1, int w0, int w1, float d1, float d2)
{
    enum { CB = 256 };
    float g[CB];
    for (int c0 = 0; c0 < C; c0 += CB) {
        int nc = C - c0 < CB ? C - c0 : CB;
        for (int c = 0; c < nc; c++)
            g[c] = dy[c0 + c] / d1 / d2;
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++) {
                float *d = dx + ((size_t)h * W + w) * C + c0;
                for (int c = 0; c < nc; c++)
                    d[c] += g[c];
            }
    }
}

void avgpool2d_forward(float *out, const float *in, const PoolGeom *g)
{
    const PoolGeom G = *g;
    size_t in_img = (size_t)G.H * G.W * G.C;
    /* x / div / 1 is x / div: division by 1 is exact */
    for (Win v = {.ow = -1}; win_next(&G, &v);)
        window_mean(out + v.o, in + v.n * in_img, G.W, G.C, v.h0, v.h1, v.w0, v.w1,
                    avg_divisor(&G, v.oh, v.ow), 1.0f);
}

void avgpool2d_backward(float *din, const float *dout, const PoolGeom *g)
{
    const PoolGeom G = *g;
    size_t in_img = (size_t)G.H * G.W * G.C;
    memset(din, 0, G.B * in_img * sizeof(float));
    for (Win v = {.ow = -1}; win_next(&G, &v);)
        window_spread(din + v.n * in_img, dout + v.o, G.W, G.C, v.h0, v.h1, v.w0, v.w1,
                      avg_divisor(&G, v.oh, v.ow), 1.0f);
}

/* Adaptive windows, as PyTorch's: output row i covers input rows [floor(i H / OH),
 * ceil((i + 1) H / OH)). */
static int adaptive_start(int i, int in, int out) { return (int)((int64_t)i * in / out); }
static int adaptive_end(int i, int in, int out)
{
    return (int)(((int64_t)(i + 1) * in + out - 1) / out);
}

void adaptive_avgpool2d_forward(float *out, const float *in, int B, int C, int H, int W, int OH,
                                int OW)
{
    size_t in_img = (size_t)H * W * C, out_img = (size_t)OH * OW * C;
    for (int n = 0; n < B; n++) {
        const float *x = in + n * in_img;
        for (int oh = 0; oh < OH; oh++) {
            int h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                window_mean(out + n * out_img + ((size_t)oh * OW + ow) * C, x, W, C, h0, h1, w0, w1,
                            (float)(h1 - h0), (float)(w1 - w0));
            }
        }
    }
}

void adaptive_avgpool2d_backward(float *din, const float *dout, int B, int C, int H, int W, int OH,
                                 int OW)
{
    size_t in_img = (size_t)H * W * C, out_img = (size_t)OH * OW * C;
    for (int n = 0; n < B; n++) {
        float *dx = din + n * in_img;
        memset(dx, 0, in_img * sizeof(float));
        for (int oh = 0; oh < OH; oh++) {
            int h0 = adaptive_start(oh, H, OH), h1 = adaptive_end(oh, H, OH);
            for (int ow = 0; ow < OW; ow++) {
                int w0 = adaptive_start(ow, W, OW), w1 = adaptive_end(ow, W, OW);
                window_spread(dx, dout + n * out_img + ((size_t)oh * OW + ow) * C, W, C, h0, h1, w0,
                              w1, (float)(h1 - h0), (float)(w1 - w0));
            }
        }
    }
}
