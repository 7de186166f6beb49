/* dwconv.c: depthwise 2-d convolution (groups == input channels) on channels-last images,
 * forward and backward.
 *
 * Design choice: with channels last, every output channel of a pixel reads the same pixel
 * of its own input channel, so the channels are the vector dimension of every loop (no
 * reduction across lanes at all) and each tap is one multiply-add of a row of channels. A
 * channel multiplier M = OC / C > 1 is handled by widening the input to OC channels once
 * (channel oc reads input channel oc / M), which turns it into the M = 1 case; the input
 * gradient is then summed back over the M copies. As in conv.c, the weights are repacked
 * once per pass ([tap][oc]), the gradient sums live in the scratch across calls, and every
 * sum runs in an order fixed by the geometry.
 *
 * Every loop keeps its sums in registers: the forward and the input gradient are one
 * gather (a tile of up to 8 pixels by a vector of channels, summed over a list of taps),
 * the input gradient through the taps that reach each input pixel; the weight gradient
 * holds up to 9 taps' sums while it runs over a row's pixels. Measured on nets/mobilenet.net
 * (Zen 1, AVX2, 2 threads, batch 100): the first depthwise layer's backward went from 17.0
 * ms to 4.7-5.3 ms when the input gradient stopped being a scatter through memory and the
 * weight gradient's tap loop a runtime count.
 *
 * Padding: no bordered copy of the input or of the output gradient. Each row of pixels is
 * cut into runs that read the same taps (the interior, where every tap is inside the image,
 * and each pixel near an edge on its own), and a tap that falls in the padding reads a row
 * of zeros in the scratch instead: the same products, in the same order, as a zero border
 * gives (0 x inf is NaN, as in PyTorch's padded convolution), without copying every image
 * into one. Measured on the MobileNet's four depthwise geometries (Xeon, AVX-512, one
 * thread, parts of 2 images): the copies were a third of the kernels' time. */
#include "kernels_impl.h"

#include <string.h>

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* floats that hold n objects of size bytes, rounded as the rest */
static size_t floats_for(size_t n, size_t size)
{
    return round16((n * size + sizeof(float) - 1) / sizeof(float));
}

typedef struct DwPlan {
    int M, taps;
    int oxl, oxr; /* output columns [oxl, oxr): every tap's input column inside the image */
    size_t wp;    /* [tap][OC] packed weights */
    size_t bp;    /* [OC] bias (0 without one) */
    size_t xp;    /* [H][W][OC] one widened input image (M > 1) */
    size_t dxp;   /* [H][W][OC] one widened input gradient (M > 1) */
    size_t dwp;   /* [tap][OC] weight gradient sums */
    size_t dbp;   /* [OC] bias gradient sums */
    size_t rp;    /* [W][OC] one row of the input gradient (SW > 1) */
    size_t zp;    /* zeros: what a tap in the padding reads, along a whole run */
    size_t zlen;
    size_t tp; /* [taps] const float *: where each tap of a run reads its first pixel */
    size_t wo; /* [taps] ptrdiff_t: their weights' offsets */
    size_t ti; /* int: the input gradient's [2][taps] taps' output rows and first columns,
                  and [2][KW] a residue's columns' kx and first output column */
    size_t total;
} DwPlan;

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

static DwPlan dw_plan(const ConvGeom *g)
{
    DwPlan p = {.M = g->OC / g->C, .taps = g->KH * g->KW};
    /* ox*SW + kx*DW - PW inside [0, W) for every kx: ox >= PW / SW (rounded up) and
     * ox*SW <= W - 1 + PW - (KW-1)*DW */
    int last = g->W - 1 + g->PW - (g->KW - 1) * g->DW;
    p.oxl = imin((g->PW + g->SW - 1) / g->SW, g->OW);
    p.oxr = last < 0 ? p.oxl : imax(p.oxl, imin(last / g->SW + 1, g->OW));
    /* a run reads at most OW pixels SW*OC floats apart (forward, weight gradient) or W
     * pixels OC apart (input gradient) */
    size_t zpix = (size_t)g->OW * g->SW > (size_t)g->W ? (size_t)g->OW * g->SW : (size_t)g->W;
    size_t img = (size_t)g->H * g->W * g->OC, off = 0;
    p.zlen = zpix * g->OC;
    p.wp = off, off += round16((size_t)p.taps * g->OC);
    p.bp = off, off += round16((size_t)g->OC);
    p.xp = off, off += p.M > 1 ? round16(img) : 0;
    p.dxp = off, off += p.M > 1 ? round16(img) : 0;
    p.dwp = off, off += round16((size_t)p.taps * g->OC);
    p.dbp = off, off += round16((size_t)g->OC);
    p.rp = off, off += g->SW > 1 ? round16((size_t)g->W * g->OC) : 0;
    p.zp = off, off += round16(p.zlen);
    p.tp = off, off += floats_for((size_t)p.taps, sizeof(const float *));
    p.wo = off, off += floats_for((size_t)p.taps, sizeof(ptrdiff_t));
    p.ti = off, off += floats_for((size_t)2 * p.taps + (size_t)2 * g->KW, sizeof(int));
    p.total = off;
    return p;
}

size_t dwconv2d_scratch_floats(const ConvGeom *g) { return dw_plan(g).total; }

/* The tap arrays in the scratch (allocated memory, whose type is what was last stored in
 * it; a pass fills them before reading them). */
static const float **tap_ptrs(float *scratch, const DwPlan *p)
{
    return (const float **)(void *)(scratch + p->tp);
}
static ptrdiff_t *tap_woffs(float *scratch, const DwPlan *p)
{
    return (ptrdiff_t *)(void *)(scratch + p->wo);
}
static int *tap_ints(float *scratch, const DwPlan *p) { return (int *)(void *)(scratch + p->ti); }

/* Weights w (OC,1,KH,KW) -> [tap][OC]; bias or zeros; the zero row; the gradient sums
 * restarted. */
void dwconv2d_pack(float *scratch, const float *w, const float *b, const ConvGeom *g)
{
    DwPlan p = dw_plan(g);
    for (int oc = 0; oc < g->OC; oc++)
        for (int t = 0; t < p.taps; t++)
            scratch[p.wp + (size_t)t * g->OC + oc] = w[(size_t)oc * p.taps + t];
    for (int oc = 0; oc < g->OC; oc++)
        scratch[p.bp + oc] = b ? b[oc] : 0.0f;
    memset(scratch + p.zp, 0, sizeof(float) * p.zlen);
    memset(scratch + p.dwp, 0, sizeof(float) * ((size_t)p.taps * g->OC));
    memset(scratch + p.dbp, 0, sizeof(float) * (size_t)g->OC);
}

/* Image n of in (B,H,W,C) with OC channels a pixel: itself, or (M > 1) widened in the
 * scratch. */
static const float *dw_image(const float *in, int n, const ConvGeom *g, const DwPlan *p,
                             float *scratch)
{
    const float *img = in + (size_t)n * g->H * g->W * g->C;
    if (p->M == 1)
        return img;
    float *xw = scratch + p->xp;
    size_t pix = (size_t)g->H * g->W;
    for (size_t i = 0; i < pix; i++)
        for (int oc = 0; oc < g->OC; oc++)
            xw[i * g->OC + oc] = img[i * g->C + oc / p->M];
    return xw;
}

/* The run of output row oy that starts at column ox: returns its end, and sets where taps
 * [t0, t0 + T) (tap t is (t / KW, t % KW)) read for the run's first pixel: img (H,W,OC) at
 * (oy*SH + ky*DH - PH, ox*SW + kx*DW - PW), or the zero row for a tap in the padding. A run
 * is the interior [oxl, oxr), or one pixel. */
static ALWAYS_INLINE int out_run(const float **tp, const float *img, const float *zero,
                                 const ConvGeom *g, const DwPlan *p, int oy, int ox, int t0, int T)
{
    int ky = t0 / g->KW, kx = t0 % g->KW;
    for (int j = 0; j < T; j++) {
        int iy = oy * g->SH + ky * g->DH - g->PH, ix = ox * g->SW + kx * g->DW - g->PW;
        tp[j] = iy >= 0 && iy < g->H && ix >= 0 && ix < g->W
                    ? img + ((size_t)iy * g->W + (size_t)ix) * g->OC
                    : zero;
        if (++kx == g->KW)
            kx = 0, ky++;
    }
    return ox >= p->oxl && ox < p->oxr ? p->oxr : ox + 1;
}

/* ---- the shared tile: P pixels by one vector of channels, over a list of taps ----
 *
 * acc[q] (= init) += sum over the n taps, in order, of ap[t][q*as] * w[woff[t]]: the
 * forward (pixels SW*OC apart in the input) and the input gradient (pixels OC apart in the
 * output gradient) are both this gather, with P a constant so that the accumulators stay in
 * registers; each tap's weight vector is loaded once for all P. */
#define DW_P 8

typedef struct DwTile {
    const float *const *ap; /* n taps: where the run's first pixel reads, at channel 0 */
    const ptrdiff_t *woff;  /* n tap offsets into w */
    int n;                  /* taps */
    size_t as;              /* floats between the run's pixels in each tap's reads */
    const float *w;         /* packed weights, at channel 0 */
    const float *init;      /* the sums' start (the bias), or NULL for zero */
    float *out;             /* the run's first pixel's result, at channel 0 */
    size_t os;              /* floats between the run's pixels in out */
} DwTile;

/* pixels [q0, q0 + P) of the run, channels [c, c + VL) */
FULL_WIDTH static ALWAYS_INLINE void dw_tile(int P, const DwTile *d, int c, int q0)
{
    vfloat acc[DW_P];
    vfloat init = d->init ? vload(d->init + c) : (vfloat){0};
#pragma GCC unroll 8
    for (int q = 0; q < P; q++)
        acc[q] = init;
    size_t a0 = (size_t)q0 * d->as + (size_t)c;
    for (int t = 0; t < d->n; t++) {
        vfloat w = vload(d->w + d->woff[t] + c);
        const float *a = d->ap[t] + a0;
#pragma GCC unroll 8
        for (int q = 0; q < P; q++)
            acc[q] += vload(a + (size_t)q * d->as) * w;
    }
    float *o = d->out + (size_t)q0 * d->os + c;
#pragma GCC unroll 8
    for (int q = 0; q < P; q++)
        vstore(o + (size_t)q * d->os, acc[q]);
}

#define DW_TILE_FN(P)                                                                              \
    FULL_WIDTH static void dw_tile_##P(const DwTile *d, int c, int q0) { dw_tile(P, d, c, q0); }
DW_TILE_FN(1)
DW_TILE_FN(2)
DW_TILE_FN(3)
DW_TILE_FN(4)
DW_TILE_FN(5)
DW_TILE_FN(6)
DW_TILE_FN(7)
static void (*const dw_tile_tab[DW_P - 1])(const DwTile *, int, int) = {
    dw_tile_1, dw_tile_2, dw_tile_3, dw_tile_4, dw_tile_5, dw_tile_6, dw_tile_7};

/* np pixels of a run: tiles of DW_P pixels by a vector of channels, the last one shorter;
 * the channels past the last whole vector (from CV to OC), one at a time in the same order. */
FULL_WIDTH static void dw_run(const DwTile *d, int np, int CV, int OC)
{
    int full = np - np % DW_P;
    for (int c = 0; c < CV; c += VL) {
        for (int q0 = 0; q0 < full; q0 += DW_P)
            dw_tile(DW_P, d, c, q0);
        if (full < np)
            dw_tile_tab[np - full - 1](d, c, full);
    }
    if (CV == OC)
        return;
    /* the sums in out, tap by tap: a loop over the taps would be an in-order reduction,
     * which GCC vectorises as products and then adds, not contracted as the vectors are */
    for (int q = 0; q < np; q++)
        for (int c = CV; c < OC; c++)
            d->out[(size_t)q * d->os + c] = d->init ? d->init[c] : 0.0f;
    for (int t = 0; t < d->n; t++)
        for (int q = 0; q < np; q++) {
            const float *a = d->ap[t] + (size_t)q * d->as, *w = d->w + d->woff[t];
            float *o = d->out + (size_t)q * d->os;
            for (int c = CV; c < OC; c++)
                o[c] += a[c] * w[c];
        }
}

/* out (B,OH,OW,OC): out(px, oc) = b(oc) + sum over taps of x(px*S + tap*D - P, oc/M) w(oc, tap).
 * The taps are added in row-major order onto the bias, as a direct convolution does. */
void dwconv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    DwPlan p = dw_plan(g);
    const int OC = g->OC, CV = OC / VL * VL;
    const float **tp = tap_ptrs(scratch, &p), *zero = scratch + p.zp;
    ptrdiff_t *woff = tap_woffs(scratch, &p);
    for (int t = 0; t < p.taps; t++)
        woff[t] = (ptrdiff_t)t * OC;
    for (int n = 0; n < g->B; n++) {
        const float *img = dw_image(in, n, g, &p, scratch);
        for (int oy = 0; oy < g->OH; oy++) {
            float *row = out + ((size_t)n * g->OH + oy) * g->OW * OC;
            for (int ox = 0; ox < g->OW;) {
                int end = out_run(tp, img, zero, g, &p, oy, ox, 0, p.taps);
                DwTile d = {
                    .ap = tp,
                    .woff = woff,
                    .n = p.taps,
                    .as = (size_t)g->SW * OC,
                    .w = scratch + p.wp,
                    .init = scratch + p.bp,
                    .out = row + (size_t)ox * OC,
                    .os = (size_t)OC,
                };
                dw_run(&d, end - ox, CV, OC);
                ox = end;
            }
        }
    }
}

/* The weight (and bias) gradient sums of one image over taps [t0, t0 + T) of one vector of
 * channels: T accumulators in registers over every output pixel, run by run, each pixel's dy
 * loaded once for them all. */
typedef struct DwGrad {
    const float *img, *zero; /* the input image (OC channels a pixel), the zero row */
    const float *dy;         /* the image's output gradient */
    const ConvGeom *g;
    const DwPlan *p;
    float *dw; /* the sums of tap t0, at channel 0 */
    float *db; /* the bias sums at channel 0, or NULL */
    int c, t0; /* the vector's first channel, the first tap */
} DwGrad;

#define DW_T 9 /* taps per pass (a 3x3 kernel in one) */

FULL_WIDTH static ALWAYS_INLINE void dw_grad_taps(int T, const DwGrad *a)
{
    const ConvGeom *g = a->g;
    const int c = a->c, OC = g->OC;
    const size_t xs = (size_t)g->SW * OC;
    const float *xp[DW_T];
    vfloat acc[DW_T], bacc = a->db ? vload(a->db + c) : (vfloat){0};
#pragma GCC unroll 9
    for (int t = 0; t < T; t++)
        acc[t] = vload(a->dw + (size_t)t * OC + c);
    for (int oy = 0; oy < g->OH; oy++)
        for (int ox = 0; ox < g->OW;) {
            int end = out_run(xp, a->img, a->zero, g, a->p, oy, ox, a->t0, T);
            const float *dy = a->dy + ((size_t)oy * g->OW + ox) * OC + c;
            for (int q = 0; q < end - ox; q++, dy += OC) {
                vfloat d = vload(dy);
                size_t xo = (size_t)q * xs + (size_t)c;
                bacc += d;
#pragma GCC unroll 9
                for (int t = 0; t < T; t++)
                    acc[t] += vload(xp[t] + xo) * d;
            }
            ox = end;
        }
#pragma GCC unroll 9
    for (int t = 0; t < T; t++)
        vstore(a->dw + (size_t)t * OC + c, acc[t]);
    if (a->db)
        vstore(a->db + c, bacc);
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

/* The weight gradient of one image (img its input, OC channels a pixel), added to the sums:
 * dw(oc, tap) += sum over output pixels of x(px*S + tap*D - P, oc) dy(px, oc), in pixel
 * order; db(oc) += sum of dy(px, oc). */
static void dw_weight_grads(const float *img, const float *dy, const ConvGeom *g, const DwPlan *p,
                            float *scratch)
{
    const int OC = g->OC, taps = p->taps, CV = OC / VL * VL;
    const float **tp = tap_ptrs(scratch, p), *zero = scratch + p->zp;
    float *dwp = scratch + p->dwp, *dbp = scratch + p->dbp;
    for (int c = 0; c < CV; c += VL)
        for (int t0 = 0; t0 < taps; t0 += DW_T) {
            DwGrad a = {
                .img = img,
                .zero = zero,
                .dy = dy,
                .g = g,
                .p = p,
                .dw = dwp + (size_t)t0 * OC,
                .db = t0 == 0 ? dbp : NULL,
                .c = c,
                .t0 = t0,
            };
            dw_grad_tab[imin(taps - t0, DW_T) - 1](&a);
        }
    if (CV == OC)
        return;
    size_t xs = (size_t)g->SW * OC;
    for (int oy = 0; oy < g->OH; oy++) /* the channels past the last whole vector */
        for (int ox = 0; ox < g->OW;) {
            int end = out_run(tp, img, zero, g, p, oy, ox, 0, taps);
            const float *dr = dy + ((size_t)oy * g->OW + ox) * OC;
            for (int q = 0; q < end - ox; q++)
                for (int c = CV; c < OC; c++) {
                    float d = dr[(size_t)q * OC + c];
                    dbp[c] += d;
                    for (int t = 0; t < taps; t++)
                        dwp[(size_t)t * OC + c] += tp[t][(size_t)q * xs + c] * d;
                }
            ox = end;
        }
}

/* The input gradient of one image, a gather: input pixel (y, x) is at yp = y + PH, xp =
 * x + PW in the padded frame, and tap (ky, kx) reaches it from output pixel ((yp -
 * ky*DH) / SH, (xp - kx*DW) / SW) where both divide exactly. For a row yp those taps' rows
 * are fixed; for the columns xp of one residue r modulo SW, so are their columns, and
 * consecutive such xp read consecutive output columns: runs of them are dw_tile with the
 * rotated taps, a tap outside the output reading the zero row. The sums go to dx (H,W,OC),
 * taps in row-major order.
 *
 * With a stride, a row is written in SW interleaved passes (every SW-th pixel each), which
 * is slow where dx is not in the cache: measured on nets/mobilenet.net (Xeon, AVX-512, one
 * thread), its first stride-2 layer's input gradient took 4.1 ms a step written in place
 * into the batch's gradient, 0.8 ms into a row in the cache plus 2.0 ms copying the rows
 * out. So such a row is summed in the scratch, then copied to dx whole. Row y goes to row
 * (W,OC). */
static void dw_input_row(float *row, const float *dy, const ConvGeom *g, const DwPlan *p,
                         float *scratch, int y)
{
    const int OC = g->OC, CV = OC / VL * VL;
    const float **tp = tap_ptrs(scratch, p), *zero = scratch + p->zp;
    ptrdiff_t *woff = tap_woffs(scratch, p);
    int *toy = tap_ints(scratch, p), *tox = toy + p->taps, *ckx = tox + p->taps, *cox = ckx + g->KW;
    int yp = y + g->PH;
    for (int r = 0; r < g->SW; r++) {
        /* the first input column of residue r, and the columns kx of the taps that reach it */
        int x0 = ((r - g->PW) % g->SW + g->SW) % g->SW; /* the first x: (x + PW) % SW == r */
        if (x0 >= g->W)
            continue;
        int xp0 = x0 + g->PW, nk = 0;
        for (int kx = 0; kx < g->KW; kx++) {
            int dxx = xp0 - kx * g->DW; /* may be negative: the divisions are exact */
            if (dxx % g->SW)
                continue;
            ckx[nk] = kx;
            cox[nk++] = dxx / g->SW;
        }
        int np = (g->W - x0 + g->SW - 1) / g->SW, n = 0;
        for (int ky = 0; ky < g->KH; ky++) {
            int dyy = yp - ky * g->DH;
            if (g->SH > 1 && dyy % g->SH)
                continue;
            for (int j = 0; j < nk; j++, n++) {
                toy[n] = g->SH > 1 ? dyy / g->SH : dyy;
                tox[n] = cox[j];
                woff[n] = (ptrdiff_t)(ky * g->KW + ckx[j]) * OC;
            }
        }
        /* pixel q of the run reads output column tox[t] + q: [qlo, qhi) is where every tap
         * with its row inside the output has its column inside too */
        int qlo = 0, qhi = np;
        for (int t = 0; t < n; t++)
            if (toy[t] >= 0 && toy[t] < g->OH) {
                qlo = imax(qlo, -tox[t]);
                qhi = imin(qhi, g->OW - tox[t]);
            }
        for (int q = 0; q < np;) {
            int end = q >= qlo && q < qhi ? qhi : q + 1;
            for (int t = 0; t < n; t++) {
                int ox = tox[t] + q;
                tp[t] = toy[t] >= 0 && toy[t] < g->OH && ox >= 0 && ox < g->OW
                            ? dy + ((size_t)toy[t] * g->OW + (size_t)ox) * OC
                            : zero;
            }
            DwTile d = {
                .ap = tp,
                .woff = woff,
                .n = n,
                .as = (size_t)OC,
                .w = scratch + p->wp,
                .init = NULL,
                .out = row + ((size_t)x0 + (size_t)q * g->SW) * OC,
                .os = (size_t)g->SW * OC,
            };
            dw_run(&d, end - q, CV, OC);
            q = end;
        }
    }
}

/* The input gradient of one image into dx (H,W,OC), row by row. */
static void dw_input_grad(float *dx, const float *dy, const ConvGeom *g, const DwPlan *p,
                          float *scratch)
{
    const size_t rowf = (size_t)g->W * g->OC;
    float *rowbuf = g->SW > 1 ? scratch + p->rp : NULL;
    for (int y = 0; y < g->H; y++) {
        dw_input_row(rowbuf ? rowbuf : dx + (size_t)y * rowf, dy, g, p, scratch, y);
        if (rowbuf)
            memcpy(dx + (size_t)y * rowf, rowbuf, sizeof(float) * rowf);
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
    for (int n = 0; n < g->B; n++) {
        const float *dyn = dout + (size_t)n * g->OH * g->OW * OC;
        if (grads)
            dw_weight_grads(dw_image(in, n, g, &p, scratch), dyn, g, &p, scratch);
        if (!din)
            continue;
        float *dimg = din + (size_t)n * g->H * g->W * g->C;
        if (p.M == 1) {
            dw_input_grad(dimg, dyn, g, &p, scratch);
            continue;
        }
        float *dxw = scratch + p.dxp; /* widened: summed over the M copies */
        dw_input_grad(dxw, dyn, g, &p, scratch);
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
