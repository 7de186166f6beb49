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

/* Pixels of a row computed at once in the forward: their accumulators stay in registers
 * over every tap, and each tap's weight vector is loaded once for all of them. */
#define DW_P 8

/* out (B,OH,OW,OC): out(px, oc) = b(oc) + sum over taps of x(px*S + tap*D - P, oc/M) w(oc, tap).
 * The taps are added in row-major order onto the bias, as a direct convolution does. */
void dwconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC, CV = OC / VL * VL;
    const float *wp = scratch + p.wp, *bp = scratch + p.bp;
    for (int n = 0; n < g->B; n++) {
        const float *xp = dw_input(in, n, g, &p, scratch);
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox0 = 0; ox0 < g->OW; ox0 += DW_P) {
                int np = g->OW - ox0 < DW_P ? g->OW - ox0 : DW_P;
                float *restrict y = out + (((size_t)n * g->OH + oy) * g->OW + ox0) * OC;
                for (int c = 0; c < CV; c += VL) {
                    vfloat acc[DW_P];
                    for (int q = 0; q < np; q++)
                        acc[q] = vload(bp + c);
                    for (int ky = 0; ky < g->KH; ky++)
                        for (int kx = 0; kx < g->KW; kx++) {
                            vfloat w = vload(wp + (size_t)(ky * g->KW + kx) * OC + c);
                            const float *x = xp +
                                             ((size_t)(oy * g->SH + ky * g->DH) * p.Wp +
                                              ox0 * g->SW + kx * g->DW) *
                                                 OC +
                                             c;
                            for (int q = 0; q < np; q++)
                                acc[q] += vload(x + (size_t)q * g->SW * OC) * w;
                        }
                    for (int q = 0; q < np; q++)
                        vstore(y + (size_t)q * OC + c, acc[q]);
                }
                for (int q = 0; q < np; q++) /* channels past the last whole vector */
                    for (int c = CV; c < OC; c++) {
                        float a = bp[c];
                        for (int ky = 0; ky < g->KH; ky++)
                            for (int kx = 0; kx < g->KW; kx++)
                                a += xp[((size_t)(oy * g->SH + ky * g->DH) * p.Wp +
                                         (ox0 + q) * g->SW + kx * g->DW) *
                                            OC +
                                        c] *
                                     wp[(size_t)(ky * g->KW + kx) * OC + c];
                        y[(size_t)q * OC + c] = a;
                    }
            }
    }
}

/* The weight gradient of one image, added to the sums: for each vector of channels, the taps'
 * sums in registers over every output pixel (each pixel's dy loaded once for all taps). */
static void dw_weight_grads(const float *xp, const float *dy, const ConvGeom *g, const DwPlan *p,
                            float *dwp, float *dbp)
{
    const int OC = g->OC, taps = p->taps, CV = OC / VL * VL;
    for (int c = 0; c < CV; c += VL) {
        vfloat acc[25], bacc = vload(dbp + c);
        int tb = taps <= 25 ? taps : 0; /* larger kernels take the loop below */
        for (int t = 0; t < tb; t++)
            acc[t] = vload(dwp + (size_t)t * OC + c);
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
                vfloat d = vload(dy + ((size_t)oy * g->OW + ox) * OC + c);
                bacc += d;
                const float *x = xp + ((size_t)oy * g->SH * p->Wp + (size_t)ox * g->SW) * OC + c;
                for (int t = 0; t < tb; t++) {
                    int ky = t / g->KW, kx = t % g->KW;
                    acc[t] += vload(x + ((size_t)ky * g->DH * p->Wp + (size_t)kx * g->DW) * OC) * d;
                }
            }
        for (int t = 0; t < tb; t++)
            vstore(dwp + (size_t)t * OC + c, acc[t]);
        vstore(dbp + c, bacc);
    }
    for (int oy = 0; oy < g->OH; oy++) /* what the vectors above left */
        for (int ox = 0; ox < g->OW; ox++) {
            const float *d = dy + ((size_t)oy * g->OW + ox) * OC;
            const float *x = xp + ((size_t)oy * g->SH * p->Wp + (size_t)ox * g->SW) * OC;
            for (int c = CV; c < OC; c++)
                dbp[c] += d[c];
            for (int t = 0; t < taps; t++) {
                int ky = t / g->KW, kx = t % g->KW, c0 = taps <= 25 ? CV : 0;
                const float *xt = x + ((size_t)ky * g->DH * p->Wp + (size_t)kx * g->DW) * OC;
                for (int c = c0; c < OC; c++)
                    dwp[(size_t)t * OC + c] += xt[c] * d[c];
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
    const int OC = g->OC, CV = OC / VL * VL;
    const float *wp = scratch + p.wp;
    float *dxp = scratch + p.dxp;
    size_t img = (size_t)p.Hp * p.Wp * OC;
    for (int n = 0; n < g->B; n++) {
        const float *dyn = dout + (size_t)n * g->OH * g->OW * OC;
        if (grads)
            dw_weight_grads(dw_input(in, n, g, &p, scratch), dyn, g, &p, scratch + p.dwp,
                            scratch + p.dbp);
        if (!din)
            continue;
        memset(dxp, 0, sizeof(float) * img);
        for (int oy = 0; oy < g->OH; oy++)
            for (int ox = 0; ox < g->OW; ox++) {
                const float *restrict dy = dyn + ((size_t)oy * g->OW + ox) * OC;
                for (int ky = 0; ky < g->KH; ky++)
                    for (int kx = 0; kx < g->KW; kx++) {
                        float *restrict dx = dxp + ((size_t)(oy * g->SH + ky * g->DH) * p.Wp +
                                                    ox * g->SW + kx * g->DW) *
                                                       OC;
                        const float *restrict w = wp + (size_t)(ky * g->KW + kx) * OC;
                        int c = 0;
                        for (; c < CV; c += VL)
                            vstore(dx + c, vload(dx + c) + vload(dy + c) * vload(w + c));
                        for (; c < OC; c++)
                            dx[c] += dy[c] * w[c];
                    }
            }
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
