/* dwconv.c: depthwise 2-d convolution (groups == input channels) on channels-last images,
 * forward and backward.
 *
 * Design choice: with channels last, every output channel of a pixel reads the same pixel
 * of its own input channel, so the channels are the vector dimension of every loop (no
 * reduction across lanes at all) and each tap is one multiply-add of a row of channels. A
 * channel multiplier M = OC / C > 1 is handled by widening the input to OC channels once
 * (channel oc reads input channel oc / M), which turns it into the M = 1 case; the input
 * gradient is then summed back over the M copies. As in conv.c, the weights are repacked
 * once per pass ([tap][oc]), the input gets a zero border in the scratch, the gradient sums
 * live in the scratch across calls, and every sum runs in an order fixed by the geometry. */
#include "kernels_impl.h"

#include <string.h>

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct DwPlan {
    int Hp, Wp, M, taps;
    size_t wp;  /* [tap][OC] packed weights */
    size_t bp;  /* [OC] bias (0 without one) */
    size_t xp;  /* [Hp][Wp][OC] one widened, bordered input image */
    size_t dxp; /* [Hp][Wp][OC] its gradient */
    size_t dwp; /* [tap][OC] weight gradient sums */
    size_t dbp; /* [OC] bias gradient sums */
    size_t total;
} DwPlan;

static DwPlan dw_plan(const ConvGeom *g)
{
    DwPlan p = {
        .Hp = g->H + 2 * g->PH, .Wp = g->W + 2 * g->PW, .M = g->OC / g->C, .taps = g->KH * g->KW};
    size_t img = (size_t)p.Hp * p.Wp * g->OC, off = 0;
    p.wp = off, off += round16((size_t)p.taps * g->OC);
    p.bp = off, off += round16((size_t)g->OC);
    p.xp = off, off += round16(img);
    p.dxp = off, off += round16(img);
    p.dwp = off, off += round16((size_t)p.taps * g->OC);
    p.dbp = off, off += round16((size_t)g->OC);
    p.total = off;
    return p;
}

size_t dwconv2d_scratch_floats(const ConvGeom *g) { return dw_plan(g).total; }

/* Weights w (OC,1,KH,KW) -> [tap][OC]; bias or zeros; the bordered image's border zeroed
 * (only the interior is ever written); the gradient sums restarted. */
void dwconv2d_pack(float *scratch, const float *w, const float *b, const ConvGeom *g)
{
    DwPlan p = dw_plan(g);
    for (int oc = 0; oc < g->OC; oc++)
        for (int t = 0; t < p.taps; t++)
            scratch[p.wp + (size_t)t * g->OC + oc] = w[(size_t)oc * p.taps + t];
    for (int oc = 0; oc < g->OC; oc++)
        scratch[p.bp + oc] = b ? b[oc] : 0.0f;
    size_t img = (size_t)p.Hp * p.Wp * g->OC;
    memset(scratch + p.xp, 0, sizeof(float) * img);
    memset(scratch + p.dwp, 0, sizeof(float) * ((size_t)p.taps * g->OC));
    memset(scratch + p.dbp, 0, sizeof(float) * (size_t)g->OC);
}

/* Image n of in (B,H,W,C) widened to OC channels inside the scratch's zero border. */
static const float *dw_input(const float *in, int n, const ConvGeom *g, const DwPlan *p,
                             float *scratch)
{
    const float *img = in + (size_t)n * g->H * g->W * g->C;
    float *xp = scratch + p->xp;
    for (int y = 0; y < g->H; y++)
        for (int x = 0; x < g->W; x++) {
            const float *s = img + ((size_t)y * g->W + x) * g->C;
            float *d = xp + ((size_t)(y + g->PH) * p->Wp + x + g->PW) * g->OC;
            if (p->M == 1)
                memcpy(d, s, sizeof(float) * (size_t)g->C);
            else
                for (int oc = 0; oc < g->OC; oc++)
                    d[oc] = s[oc / p->M];
        }
    return xp;
}

/* out (B,OH,OW,OC): out(px, oc) = b(oc) + sum over taps of x(px*S + tap*D - P, oc/M) w(oc, tap).
 * The taps are added in row-major order onto the bias, as a direct convolution does. */
void dwconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC;
    const float *wp = scratch + p.wp, *bp = scratch + p.bp;
    for (int n = 0; n < g->B; n++) {
        const float *xp = dw_input(in, n, g, &p, scratch);
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
                float *restrict y = out + (((size_t)n * g->OH + oy) * g->OW + ox) * OC;
                for (int oc = 0; oc < OC; oc++)
                    y[oc] = bp[oc];
                for (int ky = 0; ky < g->KH; ky++)
                    for (int kx = 0; kx < g->KW; kx++) {
                        const float *restrict x = xp + ((size_t)(oy * g->SH + ky * g->DH) * p.Wp +
                                                        ox * g->SW + kx * g->DW) *
                                                           OC;
                        const float *restrict w = wp + (size_t)(ky * g->KW + kx) * OC;
                        for (int oc = 0; oc < OC; oc++)
                            y[oc] += x[oc] * w[oc];
                    }
            }
    }
}

/* din (B,H,W,C) or NULL: the input gradient of dout (B,OH,OW,OC), a scatter of each output
 * pixel's gradient through the taps (so any stride and dilation work), summed over the M
 * copies of each input channel. With grads, adds the weight and bias gradients of these B
 * images to the sums: dw(oc, tap) += sum over pixels of x(px*S + tap*D - P, oc/M) dy(px, oc). */
void dwconv2d_backward(float *din, const float *dout, const float *in, bool grads,
                       const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC;
    const float *wp = scratch + p.wp;
    float *dxp = scratch + p.dxp, *dwp = scratch + p.dwp, *dbp = scratch + p.dbp;
    size_t img = (size_t)p.Hp * p.Wp * OC;
    for (int n = 0; n < g->B; n++) {
        const float *xp = grads ? dw_input(in, n, g, &p, scratch) : NULL;
        if (din)
            memset(dxp, 0, sizeof(float) * img);
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
                const float *restrict dy = dout + (((size_t)n * g->OH + oy) * g->OW + ox) * OC;
                if (grads)
                    for (int oc = 0; oc < OC; oc++)
                        dbp[oc] += dy[oc];
                for (int ky = 0; ky < g->KH; ky++)
                    for (int kx = 0; kx < g->KW; kx++) {
                        size_t at =
                            ((size_t)(oy * g->SH + ky * g->DH) * p.Wp + ox * g->SW + kx * g->DW) *
                            OC;
                        size_t t = (size_t)(ky * g->KW + kx) * OC;
                        if (din) {
                            float *restrict dx = dxp + at;
                            const float *restrict w = wp + t;
                            for (int oc = 0; oc < OC; oc++)
                                dx[oc] += dy[oc] * w[oc];
                        }
                        if (grads) {
                            float *restrict dw = dwp + t;
                            const float *restrict x = xp + at;
                            for (int oc = 0; oc < OC; oc++)
                                dw[oc] += x[oc] * dy[oc];
                        }
                    }
            }
        if (!din)
            continue;
        float *dimg = din + (size_t)n * g->H * g->W * g->C;
        for (int y = 0; y < g->H; y++)
            for (int x = 0; x < g->W; x++) {
                const float *s = dxp + ((size_t)(y + g->PH) * p.Wp + x + g->PW) * OC;
                float *d = dimg + ((size_t)y * g->W + x) * g->C;
                if (p.M == 1) {
                    memcpy(d, s, sizeof(float) * (size_t)g->C);
                    continue;
                }
                for (int c = 0; c < g->C; c++) {
                    float v = 0.0f;
                    for (int m = 0; m < p.M; m++)
                        v += s[c * p.M + m];
                    d[c] = v;
                }
            }
    }
}

/* dw (OC,1,KH,KW) and db (OC), either may be NULL, = the sums since dwconv2d_pack or the
 * last dwconv2d_grads, which restarts them. */
void dwconv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    float *dwp = scratch + p.dwp, *dbp = scratch + p.dbp;
    for (int oc = 0; oc < g->OC; oc++) {
        for (int t = 0; t < p.taps && dw; t++)
            dw[(size_t)oc * p.taps + t] = dwp[(size_t)t * g->OC + oc];
        if (db)
            db[oc] = dbp[oc];
    }
    memset(dwp, 0, sizeof(float) * ((size_t)p.taps * g->OC));
    memset(dbp, 0, sizeof(float) * (size_t)g->OC);
}
