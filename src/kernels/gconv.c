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

/* Image n of src (pixels, all channels): its channels of group k (sub of them) to dst (pixels,
 * sub); scatter does the reverse, from src (pixels, sub) into image n of dst. */
static void gather(float *dst, const float *src, size_t pixels, int sub, int all, int n, int k)
{
    src += (size_t)n * pixels * all + (size_t)k * sub;
    for (size_t px = 0; px < pixels; px++)
        memcpy(dst + px * sub, src + px * all, sizeof(float) * (size_t)sub);
}

static void scatter(float *dst, const float *src, size_t pixels, int sub, int all, int n, int k)
{
    dst += (size_t)n * pixels * all + (size_t)k * sub;
    for (size_t px = 0; px < pixels; px++)
        memcpy(dst + px * all, src + px * sub, sizeof(float) * (size_t)sub);
}

void gconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    GPlan p = gplan(g);
    size_t pix = (size_t)g->H * g->W, opix = (size_t)g->OH * g->OW;
    for (int n = 0; n < g->B; n++)
        for (int k = 0; k < g->G; k++) {
            gather(scratch + p.x, in, pix, p.sub.C, g->C, n, k);
            conv2d_forward(scratch + p.y, scratch + p.x, &p.sub, scratch + p.per * (size_t)k);
            scatter(out, scratch + p.y, opix, p.sub.OC, g->OC, n, k);
        }
}

void gconv2d_backward(float *din, const float *dout, const float *in, bool grads, const ConvGeom *g,
                      float *scratch)
{
    GPlan p = gplan(g);
    size_t pix = (size_t)g->H * g->W, opix = (size_t)g->OH * g->OW;
    for (int n = 0; n < g->B; n++)
        for (int k = 0; k < g->G; k++) {
            gather(scratch + p.x, in, pix, p.sub.C, g->C, n, k);
            gather(scratch + p.dy, dout, opix, p.sub.OC, g->OC, n, k);
            conv2d_backward(din ? scratch + p.dx : NULL, scratch + p.dy, scratch + p.x, grads,
                            &p.sub, scratch + p.per * (size_t)k);
            if (din)
                scatter(din, scratch + p.dx, pix, p.sub.C, g->C, n, k);
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
