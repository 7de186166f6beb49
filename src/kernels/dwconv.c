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
 * live in the scratch across calls, and every sum runs in an order fixed by the geometry.
 *
 * Every loop keeps its sums in registers: the forward and the input gradient are one
 * gather (a tile of up to 8 pixels by a vector of channels, summed over a list of taps),
 * the input gradient reading a zero-bordered copy of the output gradient through the taps
 * that reach each input pixel; the weight gradient holds up to 9 taps' sums while it runs
 * over the pixels. Measured on nets/mobilenet.net (Zen 1, AVX2, 2 threads, batch 100): the
 * first depthwise layer's backward went from 17.0 ms to 4.7-5.3 ms when the input gradient
 * stopped being a scatter through memory and the weight gradient's tap loop a runtime count. */
#include "kernels_impl.h"

#include <string.h>

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

typedef struct DwPlan {
    int Hp, Wp, M, taps;
    int BT, BL, Hd, Wd; /* the output gradient's border above and left, and its bordered size */
    size_t wp;          /* [tap][OC] packed weights */
    size_t bp;          /* [OC] bias (0 without one) */
    size_t xp;          /* [Hp][Wp][OC] one widened, bordered input image */
    size_t dyp;         /* [Hd][Wd][OC] one bordered output gradient */
    size_t dxp;         /* [H][W][OC] one widened input gradient (M > 1) */
    size_t dwp;         /* [tap][OC] weight gradient sums */
    size_t dbp;         /* [OC] bias gradient sums */
    size_t toff;        /* [2][taps] ptrdiff_t: tap offsets (see tap_offsets) */
    size_t total;
} DwPlan;

static int imax(int a, int b) { return a > b ? a : b; }

static DwPlan dw_plan(const ConvGeom *g)
{
    DwPlan p = {
        .Hp = g->H + 2 * g->PH, .Wp = g->W + 2 * g->PW, .M = g->OC / g->C, .taps = g->KH * g->KW};
    /* The input gradient gathers, for bordered input row yp in [PH, PH + H), output rows
     * (yp - ky*DH) / SH for every tap: from -ceil(((KH-1)*DH - PH) / SH) up to (PH + H - 1) /
     * SH; the border holds zeros for the rows (and columns) outside the output. */
    p.BT = imax(0, ((g->KH - 1) * g->DH - g->PH + g->SH - 1) / g->SH);
    p.BL = imax(0, ((g->KW - 1) * g->DW - g->PW + g->SW - 1) / g->SW);
    p.Hd = p.BT + imax(g->OH, (g->PH + g->H - 1) / g->SH + 1);
    p.Wd = p.BL + imax(g->OW, (g->PW + g->W - 1) / g->SW + 1);
    size_t img = (size_t)p.Hp * p.Wp * g->OC, off = 0;
    p.wp = off, off += round16((size_t)p.taps * g->OC);
    p.bp = off, off += round16((size_t)g->OC);
    p.xp = off, off += round16(img);
    p.dyp = off, off += round16((size_t)p.Hd * p.Wd * g->OC);
    p.dxp = off, off += p.M > 1 ? round16((size_t)g->H * g->W * g->OC) : 0;
    p.dwp = off, off += round16((size_t)p.taps * g->OC);
    p.dbp = off, off += round16((size_t)g->OC);
    p.toff = off, off += round16((size_t)2 * p.taps * (sizeof(ptrdiff_t) / sizeof(float)));
    p.total = off;
    return p;
}

size_t dwconv2d_scratch_floats(const ConvGeom *g) { return dw_plan(g).total; }

/* Two arrays of taps offsets in the scratch, for the offsets a pass computes once (the
 * scratch is allocated memory, whose type is what was last stored in it; a bordered image
 * may pass 2^31 floats). */
static ptrdiff_t *tap_offsets(float *scratch, const DwPlan *p)
{
    return (ptrdiff_t *)(scratch + p->toff);
}

/* off[t] = tap t's offset in the bordered input, whose pixels are OC floats. */
static void input_tap_offsets(ptrdiff_t *off, const ConvGeom *g, const DwPlan *p)
{
    for (int t = 0; t < p->taps; t++)
        off[t] = ((ptrdiff_t)(t / g->KW) * g->DH * p->Wp + (ptrdiff_t)(t % g->KW) * g->DW) * g->OC;
}

/* Weights w (OC,1,KH,KW) -> [tap][OC]; bias or zeros; the borders of the bordered input and
 * output gradient zeroed (only their interiors are ever written); the gradient sums
 * restarted. */
void dwconv2d_pack(float *scratch, const float *w, const float *b, const ConvGeom *g)
{
    DwPlan p = dw_plan(g);
    for (int oc = 0; oc < g->OC; oc++)
        for (int t = 0; t < p.taps; t++)
            scratch[p.wp + (size_t)t * g->OC + oc] = w[(size_t)oc * p.taps + t];
    for (int oc = 0; oc < g->OC; oc++)
        scratch[p.bp + oc] = b ? b[oc] : 0.0f;
    memset(scratch + p.xp, 0, sizeof(float) * ((size_t)p.Hp * p.Wp * g->OC));
    memset(scratch + p.dyp, 0, sizeof(float) * ((size_t)p.Hd * p.Wd * g->OC));
    memset(scratch + p.dwp, 0, sizeof(float) * ((size_t)p.taps * g->OC));
    memset(scratch + p.dbp, 0, sizeof(float) * (size_t)g->OC);
}

/* Image n of in (B,H,W,C) widened to OC channels inside the scratch's zero border. */
static const float *dw_input(const float *in, int n, const ConvGeom *g, const DwPlan *p,
                             float *scratch)
{
    const float *img = in + (size_t)n * g->H * g->W * g->C;
    float *xp = scratch + p->xp;
    for (int y = 0; y < g->H; y++) {
        float *d = xp + ((size_t)(y + g->PH) * p->Wp + g->PW) * g->OC;
        const float *s = img + (size_t)y * g->W * g->C;
        if (p->M == 1) {
            memcpy(d, s, sizeof(float) * (size_t)g->W * g->C);
            continue;
        }
        for (int x = 0; x < g->W; x++, d += g->OC, s += g->C)
            for (int oc = 0; oc < g->OC; oc++)
                d[oc] = s[oc / p->M];
    }
    return xp;
}

/* ---- the shared tile: P pixels by one vector of channels, over a list of taps ----
 *
 * acc[q] (= init) += sum over the n taps, in order, of a[aoff[t] + q*as] * w[woff[t]]: the
 * forward (a the bordered input, pixels SW*OC apart) and the input gradient (a the bordered
 * output gradient, pixels OC apart) are both this gather, with P a constant so that the
 * accumulators stay in registers; each tap's weight vector is loaded once for all P. */
#define DW_P 8

typedef struct DwTile {
    const float *a;        /* the tile's first pixel, at its channel vector */
    const ptrdiff_t *aoff; /* n tap offsets into a */
    const ptrdiff_t *woff; /* n tap offsets into w */
    int n;                 /* taps */
    size_t as;             /* floats between the tile's pixels in a */
    const float *w;        /* packed weights at the channel vector */
    const float *init;     /* the sums' start (the bias), or NULL for zero */
    float *out;            /* the first pixel's result, at the channel vector */
    size_t os;             /* floats between the tile's pixels in out */
} DwTile;

FULL_WIDTH static ALWAYS_INLINE void dw_tile(int P, const DwTile *d)
{
    vfloat acc[DW_P];
    vfloat init = d->init ? vload(d->init) : (vfloat){0};
#pragma GCC unroll 8
    for (int q = 0; q < P; q++)
        acc[q] = init;
    for (int t = 0; t < d->n; t++) {
        vfloat w = vload(d->w + d->woff[t]);
        const float *a = d->a + d->aoff[t];
#pragma GCC unroll 8
        for (int q = 0; q < P; q++)
            acc[q] += vload(a + (size_t)q * d->as) * w;
    }
#pragma GCC unroll 8
    for (int q = 0; q < P; q++)
        vstore(d->out + (size_t)q * d->os, acc[q]);
}

#define DW_TILE_FN(P)                                                                              \
    FULL_WIDTH static void dw_tile_##P(const DwTile *d) { dw_tile(P, d); }
DW_TILE_FN(1)
DW_TILE_FN(2)
DW_TILE_FN(3)
DW_TILE_FN(4)
DW_TILE_FN(5)
DW_TILE_FN(6)
DW_TILE_FN(7)
DW_TILE_FN(8)
static void (*const dw_tile_tab[DW_P])(const DwTile *) = {
    dw_tile_1, dw_tile_2, dw_tile_3, dw_tile_4, dw_tile_5, dw_tile_6, dw_tile_7, dw_tile_8};

/* np pixels of one tile description (its a, out and channel vector set), in tiles of at most
 * DW_P; the channels past the last whole vector (from CV to OC), one at a time in the same
 * order. */
static void dw_run(DwTile d, int np, int CV, int OC)
{
    DwTile t = d;
    for (int c = 0; c < CV; c += VL) {
        t.a = d.a + c, t.w = d.w + c, t.out = d.out + c, t.init = d.init ? d.init + c : NULL;
        for (int q0 = 0; q0 < np; q0 += DW_P) {
            int len = np - q0 < DW_P ? np - q0 : DW_P;
            DwTile u = t;
            u.a += (size_t)q0 * t.as, u.out += (size_t)q0 * t.os;
            dw_tile_tab[len - 1](&u);
        }
    }
    for (int q = 0; q < np; q++)
        for (int c = CV; c < OC; c++) {
            float acc = d.init ? d.init[c] : 0.0f;
            const float *a = d.a + (size_t)q * d.as + c;
            for (int t = 0; t < d.n; t++)
                acc += a[d.aoff[t]] * d.w[d.woff[t] + c];
            d.out[(size_t)q * d.os + c] = acc;
        }
}

/* out (B,OH,OW,OC): out(px, oc) = b(oc) + sum over taps of x(px*S + tap*D - P, oc/M) w(oc, tap).
 * The taps are added in row-major order onto the bias, as a direct convolution does. */
void dwconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC, CV = OC / VL * VL, taps = p.taps;
    ptrdiff_t *aoff = tap_offsets(scratch, &p), *woff = aoff + taps;
    input_tap_offsets(aoff, g, &p);
    for (int t = 0; t < taps; t++)
        woff[t] = (ptrdiff_t)t * OC;
    for (int n = 0; n < g->B; n++) {
        const float *xp = dw_input(in, n, g, &p, scratch);
        for (int oy = 0; oy < g->OH; oy++) {
            DwTile d = {
                .a = xp + (size_t)oy * g->SH * p.Wp * OC,
                .aoff = aoff,
                .woff = woff,
                .n = taps,
                .as = (size_t)g->SW * OC,
                .w = scratch + p.wp,
                .init = scratch + p.bp,
                .out = out + ((size_t)n * g->OH + oy) * g->OW * OC,
                .os = (size_t)OC,
            };
            dw_run(d, g->OW, CV, OC);
        }
    }
}

/* The weight (and bias) gradient sums of one image over taps [t0, t0 + T) of one vector of
 * channels: T accumulators in registers over every output pixel, each pixel's dy loaded once
 * for them all. */
typedef struct DwGrad {
    const float *x;        /* bordered input at the channel vector */
    const float *dy;       /* output gradient at the channel vector */
    const ptrdiff_t *xoff; /* T tap offsets into x */
    float *dw;             /* the sums of the first tap, at the channel vector */
    float *db;             /* the bias sums at the channel vector, or NULL */
    int OH, OW, OC;
    size_t xrow, xs; /* input floats between output rows, and between output columns */
} DwGrad;

#define DW_T 9 /* taps per pass (a 3x3 kernel in one) */

FULL_WIDTH static ALWAYS_INLINE void dw_grad_taps(int T, const DwGrad *a)
{
    vfloat acc[DW_T], bacc = a->db ? vload(a->db) : (vfloat){0};
#pragma GCC unroll 9
    for (int t = 0; t < T; t++)
        acc[t] = vload(a->dw + (size_t)t * a->OC);
    for (int oy = 0; oy < a->OH; oy++) {
        const float *dy = a->dy + (size_t)oy * a->OW * a->OC;
        const float *x = a->x + (size_t)oy * a->xrow;
        for (int ox = 0; ox < a->OW; ox++, dy += a->OC, x += a->xs) {
            vfloat d = vload(dy);
            bacc += d;
#pragma GCC unroll 9
            for (int t = 0; t < T; t++)
                acc[t] += vload(x + a->xoff[t]) * d;
        }
    }
#pragma GCC unroll 9
    for (int t = 0; t < T; t++)
        vstore(a->dw + (size_t)t * a->OC, acc[t]);
    if (a->db)
        vstore(a->db, bacc);
}

#define DW_GRAD_FN(T)                                                                              \
    FULL_WIDTH static void dw_grad_##T(const DwGrad *a) { dw_grad_taps(T, a); }
DW_GRAD_FN(1)
DW_GRAD_FN(2)
DW_GRAD_FN(3)
DW_GRAD_FN(4)
DW_GRAD_FN(5)
DW_GRAD_FN(6)
DW_GRAD_FN(7)
DW_GRAD_FN(8)
DW_GRAD_FN(9)
static void (*const dw_grad_tab[DW_T])(const DwGrad *) = {dw_grad_1, dw_grad_2, dw_grad_3,
                                                          dw_grad_4, dw_grad_5, dw_grad_6,
                                                          dw_grad_7, dw_grad_8, dw_grad_9};

/* The weight gradient of one image, added to the sums: dw(oc, tap) += sum over output pixels
 * of x(px*S + tap*D, oc) dy(px, oc), in pixel order; db(oc) += sum of dy(px, oc). */
static void dw_weight_grads(const float *xp, const float *dy, const ConvGeom *g, const DwPlan *p,
                            float *dwp, float *dbp, ptrdiff_t *xoff)
{
    const int OC = g->OC, taps = p->taps, CV = OC / VL * VL;
    input_tap_offsets(xoff, g, p);
    size_t xrow = (size_t)g->SH * p->Wp * OC, xs = (size_t)g->SW * OC;
    for (int c = 0; c < CV; c += VL)
        for (int t0 = 0; t0 < taps; t0 += DW_T) {
            int T = taps - t0 < DW_T ? taps - t0 : DW_T;
            DwGrad a = {
                .x = xp + c,
                .dy = dy + c,
                .xoff = xoff + t0,
                .dw = dwp + (size_t)t0 * OC + c,
                .db = t0 == 0 ? dbp + c : NULL,
                .OH = g->OH,
                .OW = g->OW,
                .OC = OC,
                .xrow = xrow,
                .xs = xs,
            };
            dw_grad_tab[T - 1](&a);
        }
    for (int oy = 0; oy < g->OH; oy++) /* the channels past the last whole vector */
        for (int ox = 0; ox < g->OW; ox++) {
            const float *d = dy + ((size_t)oy * g->OW + ox) * OC;
            const float *x = xp + oy * xrow + ox * xs;
            for (int c = CV; c < OC; c++) {
                dbp[c] += d[c];
                for (int t = 0; t < taps; t++)
                    dwp[(size_t)t * OC + c] += x[xoff[t] + c] * d[c];
            }
        }
}

/* The input gradient of one image, a gather: input pixel (y, x) is at yp = y + PH, xp =
 * x + PW in the bordered frame, and tap (ky, kx) reaches it from output pixel ((yp -
 * ky*DH) / SH, (xp - kx*DW) / SW) where both divide exactly. For a row yp those taps' rows
 * are fixed; for the columns xp of one residue r modulo SW, so are their columns, and
 * consecutive such xp read consecutive output columns: a tile of them is dw_tile with the
 * rotated taps. dyb is the bordered output gradient (output pixel (oy, ox) at (oy + BT,
 * ox + BL), zero outside); the sums go to dx (H,W,OC), taps in row-major order. */
static void dw_input_grad(float *dx, const float *dyb, const ConvGeom *g, const DwPlan *p,
                          const float *wp, ptrdiff_t *aoff)
{
    const int OC = g->OC, CV = OC / VL * VL;
    ptrdiff_t *woff = aoff + p->taps;
    for (int y = 0; y < g->H; y++) {
        int yp = y + g->PH;
        for (int r = 0; r < g->SW; r++) {
            /* the first input column of residue r, and the taps that reach it */
            int x0 = ((r - g->PW) % g->SW + g->SW) % g->SW; /* the first x: (x + PW) % SW == r */
            if (x0 >= g->W)
                continue;
            int xp0 = x0 + g->PW, n = 0;
            for (int ky = 0; ky < g->KH; ky++) {
                int dyy = yp - ky * g->DH; /* may be negative: the divisions are exact */
                if (dyy % g->SH)
                    continue;
                int oy = dyy / g->SH;
                for (int kx = 0; kx < g->KW; kx++) {
                    int dxx = xp0 - kx * g->DW;
                    if (dxx % g->SW)
                        continue;
                    int ox = dxx / g->SW;
                    aoff[n] = ((ptrdiff_t)(oy + p->BT) * p->Wd + ox + p->BL) * OC;
                    woff[n] = (ptrdiff_t)(ky * g->KW + kx) * OC;
                    n++;
                }
            }
            int np = (g->W - x0 + g->SW - 1) / g->SW;
            DwTile d = {
                .a = dyb,
                .aoff = aoff,
                .woff = woff,
                .n = n,
                .as = (size_t)OC,
                .w = wp,
                .init = NULL,
                .out = dx + ((size_t)y * g->W + x0) * OC,
                .os = (size_t)g->SW * OC,
            };
            dw_run(d, np, CV, OC);
        }
    }
}

/* din (B,H,W,C) or NULL: the input gradient of dout (B,OH,OW,OC), summed over the M copies of
 * each input channel. With grads, adds the weight and bias gradients of these B images to the
 * sums: dw(oc, tap) += sum over pixels of x(px*S + tap*D - P, oc/M) dy(px, oc). */
void dwconv2d_backward(float *din, const float *dout, const float *in, bool grads,
                       const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC;
    float *dyb = scratch + p.dyp;
    for (int n = 0; n < g->B; n++) {
        const float *dyn = dout + (size_t)n * g->OH * g->OW * OC;
        if (grads)
            dw_weight_grads(dw_input(in, n, g, &p, scratch), dyn, g, &p, scratch + p.dwp,
                            scratch + p.dbp, tap_offsets(scratch, &p));
        if (!din)
            continue;
        for (int oy = 0; oy < g->OH; oy++)
            memcpy(dyb + ((size_t)(oy + p.BT) * p.Wd + p.BL) * OC, dyn + (size_t)oy * g->OW * OC,
                   sizeof(float) * (size_t)g->OW * OC);
        float *dimg = din + (size_t)n * g->H * g->W * g->C;
        if (p.M == 1) {
            dw_input_grad(dimg, dyb, g, &p, scratch + p.wp, tap_offsets(scratch, &p));
            continue;
        }
        float *dxw = scratch + p.dxp; /* widened: summed over the M copies */
        dw_input_grad(dxw, dyb, g, &p, scratch + p.wp, tap_offsets(scratch, &p));
        for (size_t i = 0; i < (size_t)g->H * g->W; i++)
            for (int c = 0; c < g->C; c++) {
                float v = 0.0f;
                for (int m = 0; m < p.M; m++)
                    v += dxw[i * OC + (size_t)c * p.M + m];
                dimg[i * g->C + c] = v;
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
