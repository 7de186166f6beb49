/* gconv.c: grouped 2-d convolution (1 < groups < input channels) on channels-last images,
 * as one ordinary convolution per group.
 *
 * Design choice: a group's input channels are a run of each pixel's channels, so it is
 * gathered into a contiguous image of its own, convolved by conv.c's kernels (each group
 * keeps its own packed weights and gradient sums in its part of the scratch), and its
 * output channels scattered back into their run of the output; backward the same way round.
 * Depthwise convolutions (groups == channels) have their own kernel (dwconv.c). */
#include "kernels_impl.h"

#include <string.h>

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* One group's geometry: one image, C/G input and OC/G output channels. */
static ConvGeom sub_geom(const ConvGeom *g)
{
    ConvGeom s = *g;
    s.B = 1;
    s.C = g->C / g->G;
    s.OC = g->OC / g->G;
    s.G = 1;
    return s;
}

typedef struct GPlan {
    ConvGeom sub;
    size_t per;                 /* floats of one group's conv scratch */
    size_t x, y, dy, dx, total; /* the gathered image, output, output gradient, input gradient */
} GPlan;

static GPlan gplan(const ConvGeom *g)
{
    GPlan p = {.sub = sub_geom(g)};
    p.per = round16(conv2d_scratch_floats(&p.sub));
    size_t off = p.per * (size_t)g->G;
    size_t img = (size_t)g->H * g->W * p.sub.C, oimg = (size_t)g->OH * g->OW * p.sub.OC;
    p.x = off, off += round16(img);
    p.y = off, off += round16(oimg);
    p.dy = off, off += round16(oimg);
    p.dx = off, off += round16(img);
    p.total = off;
    return p;
}

size_t gconv2d_scratch_floats(const ConvGeom *g) { return gplan(g).total; }

void gconv2d_pack_forward(float *scratch, const float *w, const float *b, const ConvGeom *g)
{
    GPlan p = gplan(g);
    size_t wg = (size_t)p.sub.OC * p.sub.C * g->KH * g->KW;
    for (int k = 0; k < g->G; k++)
        conv2d_pack_forward(scratch + p.per * (size_t)k, w + wg * (size_t)k,
                            b ? b + (size_t)k * p.sub.OC : NULL, &p.sub);
}

void gconv2d_pack_backward(float *scratch, const float *w, const ConvGeom *g)
{
    GPlan p = gplan(g);
    size_t wg = (size_t)p.sub.OC * p.sub.C * g->KH * g->KW;
    for (int k = 0; k < g->G; k++)
        conv2d_pack_backward(scratch + p.per * (size_t)k, w + wg * (size_t)k, &p.sub);
}

/* dst (pixels, n) = channels [c0, c0 + n) of src (pixels, stride); or back when scatter */
static void channels(float *dst, const float *src, size_t pixels, int n, int stride, int c0,
                     bool scatter)
{
    for (size_t px = 0; px < pixels; px++) {
        if (scatter)
            memcpy(dst + px * (size_t)stride + c0, src + px * (size_t)n, sizeof(float) * (size_t)n);
        else
            memcpy(dst + px * (size_t)n, src + px * (size_t)stride + c0, sizeof(float) * (size_t)n);
    }
}

void gconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    GPlan p = gplan(g);
    size_t pix = (size_t)g->H * g->W, opix = (size_t)g->OH * g->OW;
    for (int n = 0; n < g->B; n++)
        for (int k = 0; k < g->G; k++) {
            channels(scratch + p.x, in + (size_t)n * pix * g->C, pix, p.sub.C, g->C, k * p.sub.C,
                     false);
            conv2d_forward(scratch + p.y, scratch + p.x, &p.sub, scratch + p.per * (size_t)k);
            channels(out + (size_t)n * opix * g->OC, scratch + p.y, opix, p.sub.OC, g->OC,
                     k * p.sub.OC, true);
        }
}

void gconv2d_backward(float *din, const float *dout, const float *in, bool grads, const ConvGeom *g,
                      float *scratch)
{
    GPlan p = gplan(g);
    size_t pix = (size_t)g->H * g->W, opix = (size_t)g->OH * g->OW;
    for (int n = 0; n < g->B; n++)
        for (int k = 0; k < g->G; k++) {
            channels(scratch + p.x, in + (size_t)n * pix * g->C, pix, p.sub.C, g->C, k * p.sub.C,
                     false);
            channels(scratch + p.dy, dout + (size_t)n * opix * g->OC, opix, p.sub.OC, g->OC,
                     k * p.sub.OC, false);
            conv2d_backward(din ? scratch + p.dx : NULL, scratch + p.dy, scratch + p.x, grads,
                            &p.sub, scratch + p.per * (size_t)k);
            if (din)
                channels(din + (size_t)n * pix * g->C, scratch + p.dx, pix, p.sub.C, g->C,
                         k * p.sub.C, true);
        }
}

void gconv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch)
{
    GPlan p = gplan(g);
    size_t wg = (size_t)p.sub.OC * p.sub.C * g->KH * g->KW;
    for (int k = 0; k < g->G; k++)
        conv2d_grads(dw ? dw + wg * (size_t)k : NULL, db ? db + (size_t)k * p.sub.OC : NULL, &p.sub,
                     scratch + p.per * (size_t)k);
}
