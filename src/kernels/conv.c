/* conv.c: 2-d convolution forward and backward on channels-last images, as direct
 * convolutions with register tiles.
 *
 * Design choice: with channels last, the output channels of a pixel are contiguous, so one
 * vector of output channels times one broadcast input value is the unit of work, and a tile
 * of P pixels by NVB vectors of channels keeps its P x NVB accumulators in registers while it
 * runs over every kernel tap and input channel (oneDNN's "nhwc" direct convolution, and what
 * netc's generated code does). No im2col matrix is built: the only copies are the input with
 * a zero border (so no tap needs a bounds check) and the weights, repacked once per pass as
 * [tap][ic][oc] (or [tap][oc][ic] for the input gradient) with the channels rounded up to a
 * whole vector.
 *   forward   out(px, oc)   = sum over taps, ic  of x(px + tap, ic) * w(tap, ic, oc)
 *   input     dx(px, ic) = sum over taps of (sum over oc of dy(px - tap, oc) * w(tap, ic, oc))
 *             at stride 1: a gather over dy in a zero border of the kernel's extent less
 *             the padding, the sums in registers over every tap, dx written once, straight
 *             into the caller's din; at other strides dx(px + tap, ic) += the same inner
 *             sum, a scatter into a bordered copy of dx, tap by tap. Either way a tap's sum
 *             over oc is made on its own before it is added, as PyTorch's GEMM then col2im
 *             does: one chain over every tap and oc (taps * OC terms) lost 1e-5 to
 *             rounding where the two-level sum does not. The tile is pixels by vectors of ic.
 *             The gather takes inputs of one vector of channels: the tap's sums beside the
 *             totals fit the registers then (12 pixels); with two vectors the tile shrank to
 *             7 pixels and ran at 93 GFLOPS against the scatter's 200 (one core, 32 channels
 *             14x14), while at 16 channels 28x28 it ran at the forward's 157 against the
 *             scatter's 127, which paid a call and a read and write of dx per tap.
 *   weights   dw(tap, ic, oc) = sum over pixels of x(px + tap, ic) * dy(px, oc)  (the tile is
 *             rows (tap, ic) by vectors of oc, with the pixels as the long dimension; with
 *             exactly one vector of input channels, taps by output channels, each a vector
 *             of ic: conv_dwt_image)
 * Every sum runs in an order fixed by the geometry alone, and a call is single-threaded (the
 * runtime gives each thread its own slice of the batch), so results are reproducible. */
#include "kernels_impl.h"

#include <string.h>

#define NVB_MAX 4 /* vectors of channels in a tile */
#define P_MAX 12  /* pixels (or weight rows) in a tile */

static int round_up(int n, int m) { return (n + m - 1) / m * m; }
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* The widest tile of nvb vectors whose accumulators fit the registers, when each
 * accumulator takes `per` of them (2 for the gather: a tap's sum beside the total). */
static int tile_pixels_per(int nvb, int per)
{
    int p = TILE_REGS / (nvb * per);
    return p > P_MAX ? P_MAX : p;
}
static int tile_pixels(int nvb) { return tile_pixels_per(nvb, 1); }

/* Sizes derived from a geometry, and where each part lives in the caller's scratch. */
typedef struct Plan {
    int Hp, Wp;  /* the input with its zero border */
    int Cp, OCp; /* channels rounded up to whole vectors */
    int taps;    /* KH * KW */
    bool gather; /* the input gradient by the gather (see the top) */
    bool dwt;    /* the weight gradient by taps (see conv_dwt_image), kept [tap][oc][VL] */
    int Hq, Wq;  /* dy with the gather's border */
    size_t wp;   /* [tap][ic][OCp] forward weights */
    size_t bp;   /* [OCp] bias */
    size_t wt;   /* [tap][oc][Cp] weights for the input gradient */
    size_t xp;   /* [Hp][Wp][C] one bordered input image */
    size_t dxp;  /* [Hp][Wp][Cp] one bordered input gradient (the scatter) */
    size_t gy;   /* [Hq][Wq][OC] one bordered output gradient (the gather) */
    size_t dwp;  /* [tap][ic][OCp] weight gradient sums ([tap][oc][VL] with dwt: no larger) */
    size_t dbp;  /* [OCp] bias gradient sums */
    size_t dyp;  /* [OH*OW][OCp] one output gradient, when OC is not whole vectors */
    size_t toff; /* [3][taps] ptrdiff_t: each tap's offset in xp, in dxp, then (reversed) in gy
                  * (tap_offsets) */
    size_t total;
} Plan;

static Plan plan_of(const ConvGeom *g)
{
    Plan p = {
        .Hp = g->H + 2 * g->PH,
        .Wp = g->W + 2 * g->PW,
        .Cp = round_up(g->C, VL),
        .OCp = round_up(g->OC, VL),
        .taps = g->KH * g->KW,
        .gather = g->SH == 1 && g->SW == 1 && g->PH <= g->DH * (g->KH - 1) &&
                  g->PW <= g->DW * (g->KW - 1) && g->C <= VL,
        .dwt = g->C == VL && g->KH * g->KW >= 4 && g->OC <= 2 * VL,
        .Hq = g->H + g->DH * (g->KH - 1),
        .Wq = g->W + g->DW * (g->KW - 1),
    };
    size_t off = 0;
    p.wp = off, off += round16((size_t)p.taps * g->C * p.OCp);
    p.bp = off, off += round16((size_t)p.OCp);
    p.wt = off, off += round16((size_t)p.taps * g->OC * p.Cp);
    p.xp = off, off += round16((size_t)p.Hp * p.Wp * g->C);
    p.dxp = off, off += p.gather ? 0 : round16((size_t)p.Hp * p.Wp * p.Cp);
    p.gy = off, off += p.gather ? round16((size_t)p.Hq * p.Wq * g->OC) : 0;
    p.dwp = off, off += round16((size_t)p.taps * g->C * p.OCp);
    p.dbp = off, off += round16((size_t)p.OCp);
    p.dyp = off, off += g->OC % VL ? round16((size_t)g->OH * g->OW * p.OCp) : 0;
    p.toff = off, off += round16((size_t)3 * p.taps * (sizeof(ptrdiff_t) / sizeof(float)));
    p.total = off;
    return p;
}

size_t conv2d_scratch_floats(const ConvGeom *g) { return plan_of(g).total; }

/* The offset of each tap in the bordered input (pixel stride C), in the bordered input
 * gradient (pixel stride Cp), and in the gather's bordered output gradient (pixel stride OC),
 * where dx(y, x) meets tap (ky, kx) at dy's (y + DH*(KH-1-ky), x + DW*(KW-1-kx)); kept in the
 * scratch as ptrdiff_t (the scratch is allocated memory, whose type is what was last stored
 * in it; a bordered image may pass 2^31 floats). */
static ptrdiff_t *tap_offsets(float *scratch, const Plan *pl)
{
    return (ptrdiff_t *)(scratch + pl->toff);
}
static void set_tap_offsets(float *scratch, const ConvGeom *g, const Plan *pl)
{
    ptrdiff_t *toff = tap_offsets(scratch, pl);
    for (int ky = 0; ky < g->KH; ky++)
        for (int kx = 0; kx < g->KW; kx++) {
            int t = ky * g->KW + kx;
            ptrdiff_t at = (ptrdiff_t)ky * g->DH * pl->Wp + (ptrdiff_t)kx * g->DW;
            toff[t] = at * g->C;
            toff[pl->taps + t] = at * pl->Cp;
            toff[2 * pl->taps + t] = ((ptrdiff_t)(g->KH - 1 - ky) * g->DH * pl->Wq +
                                      (ptrdiff_t)(g->KW - 1 - kx) * g->DW) *
                                     g->OC;
        }
}

/* Image n of in (B,H,W,C) as the tiles read it: itself without padding, else copied into
 * the scratch's (Hp,Wp,C) inside a border of PH rows and PW columns. Only the interior is
 * written: the packing functions zero the border once. */
static const float *input_image(const float *in, int n, const ConvGeom *g, const Plan *pl,
                                float *scratch)
{
    size_t row = (size_t)g->W * g->C;
    const float *img = in + (size_t)n * g->H * row;
    if (!g->PH && !g->PW)
        return img;
    float *xp = scratch + pl->xp;
    for (int y = 0; y < g->H; y++)
        memcpy(xp + ((size_t)(y + g->PH) * pl->Wp + g->PW) * g->C, img + (size_t)y * row,
               row * sizeof(float));
    return xp;
}

/* ---- the shared register tile ---- */

/* acc[p][v] += sum over taps t < ntaps and k < K of a[toff[t] + (p/PR)*rs + (p%PR)*ps + k] *
 * w[t*wtap + k*ldw + v*VL]: the tile's pixels are rows of PR (one row when PR == P). Called
 * with constant P, PR and NVB, so the compiler keeps acc in registers. */
FULL_WIDTH static ALWAYS_INLINE void tile_mac_rows(int P, int PR, int NVB,
                                                   vfloat acc[P_MAX][NVB_MAX],
                                                   const float *restrict a, const ptrdiff_t *toff,
                                                   int ntaps, int ps, size_t rs, int K,
                                                   const float *restrict w, size_t wtap, int ldw)
{
    for (int t = 0; t < ntaps; t++) {
        const float *at = a + toff[t], *wk = w + (size_t)t * wtap;
        for (int k = 0; k < K; k++, wk += ldw) {
            vfloat wv[NVB_MAX];
#pragma GCC unroll 4
            for (int v = 0; v < NVB; v++)
                wv[v] = vload(wk + v * VL);
#pragma GCC unroll 12
            for (int p = 0; p < P; p++) {
                float x = at[(size_t)(p / PR) * rs + (size_t)(p % PR) * ps + k];
#pragma GCC unroll 4
                for (int v = 0; v < NVB; v++)
                    acc[p][v] += x * wv[v];
            }
        }
    }
}

FULL_WIDTH static ALWAYS_INLINE void tile_mac(int P, int NVB, vfloat acc[P_MAX][NVB_MAX],
                                              const float *restrict a, const ptrdiff_t *toff,
                                              int ntaps, int ps, int K, const float *restrict w,
                                              size_t wtap, int ldw)
{
    tile_mac_rows(P, P, NVB, acc, a, toff, ntaps, ps, 0, K, w, wtap, ldw);
}

FULL_WIDTH static ALWAYS_INLINE void tile_zero(int P, int NVB, vfloat acc[P_MAX][NVB_MAX])
{
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++)
            acc[p][v] = (vfloat){0};
}

/* Stores vector v of a pixel's channels, of which only `valid` (counted from vector 0) exist. */
FULL_WIDTH static ALWAYS_INLINE void store_part(float *dst, int v, int valid, vfloat x)
{
    if ((v + 1) * VL <= valid) {
        vstore(dst + v * VL, x);
    } else if (v * VL < valid) {
        float l[VL];
        vstore(l, x);
        memcpy(dst + v * VL, l, (size_t)(valid - v * VL) * sizeof(float));
    }
}

/* ---- forward ---- */

typedef struct FwdArgs {
    const float *x;        /* the bordered input at the tile's first pixel */
    const ptrdiff_t *toff; /* tap offsets */
    int ntaps, ps, C;      /* taps, input floats between the tile's pixels, input channels */
    const float *w;        /* packed weights at the tile's first output channel */
    int ldw;               /* OCp */
    const float *bias;     /* padded bias at the tile's first output channel, or NULL */
    float *out;            /* output at the tile's first pixel and channel */
    int os, valid;         /* output floats per pixel (OC); channels that exist from the first */
} FwdArgs;

FULL_WIDTH static ALWAYS_INLINE void fwd_tile(int P, int NVB, const FwdArgs *f)
{
    vfloat acc[P_MAX][NVB_MAX];
    tile_zero(P, NVB, acc);
    tile_mac(P, NVB, acc, f->x, f->toff, f->ntaps, f->ps, f->C, f->w, (size_t)f->C * f->ldw,
             f->ldw);
    if (f->bias) {
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++) {
            vfloat b = vload(f->bias + v * VL);
#pragma GCC unroll 12
            for (int p = 0; p < P; p++)
                acc[p][v] += b;
        }
    }
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++)
            store_part(f->out + (size_t)p * f->os, v, f->valid, acc[p][v]);
}

/* ---- forward with a max pool (window = stride = K, no padding) ---- */

typedef int32_t vint __attribute__((vector_size(VL * sizeof(int32_t))));

/* store_part for a vector of indices */
FULL_WIDTH static ALWAYS_INLINE void store_part_index(int32_t *dst, int v, int valid, vint x)
{
    if ((v + 1) * VL <= valid)
        __builtin_memcpy(dst + v * VL, &x, sizeof x);
    else if (v * VL < valid)
        memcpy(dst + v * VL, &x, (size_t)(valid - v * VL) * sizeof(int32_t));
}

typedef struct PoolArgs {
    FwdArgs f;    /* as the forward, at the first window's top-left pixel; out and os are
                   * the pooled output's */
    size_t rs;    /* input floats between the convolution's output rows (SH * Wp * C) */
    int32_t *am;  /* argmax at the tile's first pooled pixel and channel, or NULL */
    int32_t idx0; /* the index y*OW + x of the first window's top-left pixel */
    int OW;       /* the convolution's output width */
} PoolArgs;

/* Q pooled pixels of K x K windows: the convolution's K rows of Q*K pixels in registers, the
 * bias added, then each window's maximum taken in row-major order (strict >, a NaN wins), as
 * maxpool2d_forward would on the convolution's output, so the result is the same bits. */
FULL_WIDTH static ALWAYS_INLINE void pool_tile(int K, int Q, int NVB, const PoolArgs *a)
{
    const FwdArgs *f = &a->f;
    const int PR = Q * K, P = K * PR;
    vfloat acc[P_MAX][NVB_MAX];
    tile_zero(P, NVB, acc);
    tile_mac_rows(P, PR, NVB, acc, f->x, f->toff, f->ntaps, f->ps, a->rs, f->C, f->w,
                  (size_t)f->C * f->ldw, f->ldw);
#pragma GCC unroll 4
    for (int v = 0; v < NVB; v++) {
        vfloat b = vload(f->bias + v * VL);
#pragma GCC unroll 3
        for (int q = 0; q < Q; q++) {
            vfloat m = acc[q * K][v] + b;
            vint best = (vint){0} + (a->idx0 + q * K);
#pragma GCC unroll 9
            for (int t = 1; t < K * K; t++) {
                int r = t / K, c = t % K;
                vfloat x = acc[r * PR + q * K + c][v] + b;
                vint take = (x > m) | (x != x);
                m = (vfloat)(((vint)x & take) | ((vint)m & ~take));
                vint idx = (vint){0} + (a->idx0 + r * a->OW + q * K + c);
                best = (idx & take) | (best & ~take);
            }
            store_part(f->out + (size_t)q * f->os, v, f->valid, m);
            if (a->am)
                store_part_index(a->am + (size_t)q * f->os, v, f->valid, best);
        }
    }
}

/* ---- input gradient ---- */

typedef struct DxArgs {
    const float *dy; /* output gradient at the tile's first pixel */
    int ps, K;       /* floats between pixels of dy; output channels */
    const float *w;  /* wt at the tap and the tile's first input channel */
    int ldw;         /* Cp */
    float *dx;       /* bordered input gradient where the tile's first pixel meets the tap */
    int ds;          /* floats between the tile's pixels in dx (SW * Cp) */
} DxArgs;

FULL_WIDTH static ALWAYS_INLINE void dx_tile(int P, int NVB, const DxArgs *d)
{
    static const ptrdiff_t zero = 0;
    vfloat acc[P_MAX][NVB_MAX];
    tile_zero(P, NVB, acc);
    tile_mac(P, NVB, acc, d->dy, &zero, 1, d->ps, d->K, d->w, 0, d->ldw);
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++) {
            float *q = d->dx + (size_t)p * d->ds + v * VL;
            vstore(q, vload(q) + acc[p][v]);
        }
}

/* The gather's tile: P pixels of dx by NVB vectors of input channels from the bordered dy
 * (f->x at the tile's first pixel, f->toff the reversed taps), each tap's sum over the
 * output channels made in tmp and then added to acc. */
FULL_WIDTH static ALWAYS_INLINE void dxg_tile(int P, int NVB, const FwdArgs *f)
{
    vfloat acc[P_MAX][NVB_MAX], tmp[P_MAX][NVB_MAX];
    tile_zero(P, NVB, acc);
    for (int t = 0; t < f->ntaps; t++) {
        tile_zero(P, NVB, tmp);
        tile_mac(P, NVB, tmp, f->x, f->toff + t, 1, f->ps, f->C, f->w + (size_t)t * f->C * f->ldw,
                 0, f->ldw);
#pragma GCC unroll 12
        for (int p = 0; p < P; p++)
#pragma GCC unroll 4
            for (int v = 0; v < NVB; v++)
                acc[p][v] += tmp[p][v];
    }
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++)
            store_part(f->out + (size_t)p * f->os, v, f->valid, acc[p][v]);
}

/* ---- weight gradient ---- */

typedef struct DwArgs {
    const float *const *rows; /* P pointers: input (tap, ic) of the first pixel, per row */
    const float *dy;          /* output gradient at the tile's first output channel */
    int dys;                  /* floats per pixel of dy */
    int oy0, oy1, OW;         /* output rows [oy0, oy1), all OW columns */
    size_t xrow;              /* input floats between output rows (SH * Wp * C) */
    int xs;                   /* input floats between output columns (SW * C) */
    float *dw;                /* accumulator rows at the tile's first output channel */
    int ldw;                  /* OCp */
} DwArgs;

FULL_WIDTH static ALWAYS_INLINE void dw_tile(int P, int NVB, const DwArgs *d)
{
    vfloat acc[P_MAX][NVB_MAX];
    const float *r[P_MAX];
#pragma GCC unroll 12
    for (int p = 0; p < P; p++) {
        r[p] = d->rows[p];
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++)
            acc[p][v] = vload(d->dw + (size_t)p * d->ldw + v * VL);
    }
    for (int oy = d->oy0; oy < d->oy1; oy++) {
        size_t xo = (size_t)oy * d->xrow;
        const float *dy = d->dy + (size_t)oy * d->OW * d->dys;
        for (int ox = 0; ox < d->OW; ox++, xo += (size_t)d->xs, dy += d->dys) {
            vfloat g[NVB_MAX];
#pragma GCC unroll 4
            for (int v = 0; v < NVB; v++)
                g[v] = vload(dy + v * VL);
#pragma GCC unroll 12
            for (int p = 0; p < P; p++) {
                float x = r[p][xo];
#pragma GCC unroll 4
                for (int v = 0; v < NVB; v++)
                    acc[p][v] += x * g[v];
            }
        }
    }
#pragma GCC unroll 12
    for (int p = 0; p < P; p++)
#pragma GCC unroll 4
        for (int v = 0; v < NVB; v++)
            vstore(d->dw + (size_t)p * d->ldw + v * VL, acc[p][v]);
}

/* The weight gradient by taps, for inputs of exactly one vector of channels: T taps by O
 * output channels, each accumulator a vector of the input channels, so that a pixel costs T
 * loads of x and O broadcasts of dy for T*O multiply-adds (the tile above pays a broadcast
 * of x for each, when the output channels are one or two vectors). Each sum runs over the
 * pixels in the same order as the tile above, with the same products: the same bits. */
typedef struct DwtArgs {
    const float *x;        /* the bordered input image */
    const ptrdiff_t *toff; /* the tile's first tap's offset in it */
    const float *dy;       /* output gradient at the tile's first output channel */
    int dys;               /* floats per pixel of dy */
    int oy0, oy1, OW;      /* output rows [oy0, oy1), all OW columns */
    size_t xrow;           /* input floats between output rows (SH * Wp * C) */
    int xs;                /* input floats between output columns (SW * C) */
    float *dw;             /* sums at the tile's first tap and output channel */
    int ldt;               /* floats between taps in the sums (OC * VL) */
} DwtArgs;

#define DWT_T 9 /* taps in a tile */
#define DWT_O 3 /* output channels in a tile */

FULL_WIDTH static ALWAYS_INLINE void dwt_tile(int T, int O, const DwtArgs *d)
{
    vfloat acc[DWT_T][DWT_O];
    const float *xt[DWT_T];
#pragma GCC unroll 9
    for (int t = 0; t < T; t++) {
        xt[t] = d->x + d->toff[t];
#pragma GCC unroll 3
        for (int o = 0; o < O; o++)
            acc[t][o] = vload(d->dw + (size_t)t * d->ldt + o * VL);
    }
    for (int oy = d->oy0; oy < d->oy1; oy++) {
        size_t xo = (size_t)oy * d->xrow;
        const float *dy = d->dy + (size_t)oy * d->OW * d->dys;
        for (int ox = 0; ox < d->OW; ox++, xo += (size_t)d->xs, dy += d->dys) {
            vfloat g[DWT_O];
#pragma GCC unroll 3
            for (int o = 0; o < O; o++)
                g[o] = (vfloat){0} + dy[o];
#pragma GCC unroll 9
            for (int t = 0; t < T; t++) {
                vfloat x = vload(xt[t] + xo);
                __asm__("" : "+v"(x)); /* one load for the O products, not O loads */
#pragma GCC unroll 3
                for (int o = 0; o < O; o++)
                    acc[t][o] += x * g[o];
            }
        }
    }
#pragma GCC unroll 9
    for (int t = 0; t < T; t++)
#pragma GCC unroll 3
        for (int o = 0; o < O; o++)
            vstore(d->dw + (size_t)t * d->ldt + o * VL, acc[t][o]);
}

#define DWT_FNS(T)                                                                                 \
    FULL_WIDTH static void dwt_##T##_1(const DwtArgs *a) { dwt_tile(T, 1, a); }                    \
    FULL_WIDTH static void dwt_##T##_2(const DwtArgs *a) { dwt_tile(T, 2, a); }                    \
    FULL_WIDTH static void dwt_##T##_3(const DwtArgs *a) { dwt_tile(T, 3, a); }
DWT_FNS(1)
DWT_FNS(2)
DWT_FNS(3)
DWT_FNS(4)
DWT_FNS(5)
DWT_FNS(6)
DWT_FNS(7)
DWT_FNS(8)
DWT_FNS(9)
#define DWT_ROW(T)                                                                                 \
    {                                                                                              \
        dwt_##T##_1, dwt_##T##_2, dwt_##T##_3                                                      \
    }
static void (*const dwt_tab[DWT_T][DWT_O])(const DwtArgs *) = {DWT_ROW(1), DWT_ROW(2), DWT_ROW(3),
                                                               DWT_ROW(4), DWT_ROW(5), DWT_ROW(6),
                                                               DWT_ROW(7), DWT_ROW(8), DWT_ROW(9)};

/* One function per tile size, in tables indexed [NVB - 1][P - 1]. */
#define TILE_FNS(NVB, P)                                                                           \
    FULL_WIDTH static void fwd_##NVB##_##P(const FwdArgs *a) { fwd_tile(P, NVB, a); }              \
    FULL_WIDTH static void dx_##NVB##_##P(const DxArgs *a) { dx_tile(P, NVB, a); }                 \
    FULL_WIDTH static void dxg_##NVB##_##P(const FwdArgs *a) { dxg_tile(P, NVB, a); }              \
    FULL_WIDTH static void dw_##NVB##_##P(const DwArgs *a) { dw_tile(P, NVB, a); }
/* (clang-format cannot settle on one layout of these macro lines) */
/* clang-format off */
#define TILE_ROW(NVB)                                                                              \
    TILE_FNS(NVB, 1) TILE_FNS(NVB, 2) TILE_FNS(NVB, 3) TILE_FNS(NVB, 4) TILE_FNS(NVB, 5)           \
    TILE_FNS(NVB, 6) TILE_FNS(NVB, 7) TILE_FNS(NVB, 8) TILE_FNS(NVB, 9) TILE_FNS(NVB, 10)          \
    TILE_FNS(NVB, 11) TILE_FNS(NVB, 12)
/* clang-format on */
TILE_ROW(1)
TILE_ROW(2)
TILE_ROW(3)
TILE_ROW(4)
#define TABLE_ROW(K, NVB)                                                                          \
    {                                                                                              \
        K##_##NVB##_1, K##_##NVB##_2, K##_##NVB##_3, K##_##NVB##_4, K##_##NVB##_5, K##_##NVB##_6,  \
            K##_##NVB##_7, K##_##NVB##_8, K##_##NVB##_9, K##_##NVB##_10, K##_##NVB##_11,           \
            K##_##NVB##_12                                                                         \
    }
static void (*const fwd_tab[NVB_MAX][P_MAX])(const FwdArgs *) = {
    TABLE_ROW(fwd, 1), TABLE_ROW(fwd, 2), TABLE_ROW(fwd, 3), TABLE_ROW(fwd, 4)};
static void (*const dx_tab[NVB_MAX][P_MAX])(const DxArgs *) = {TABLE_ROW(dx, 1), TABLE_ROW(dx, 2),
                                                               TABLE_ROW(dx, 3), TABLE_ROW(dx, 4)};
static void (*const dxg_tab[NVB_MAX][P_MAX])(const FwdArgs *) = {
    TABLE_ROW(dxg, 1), TABLE_ROW(dxg, 2), TABLE_ROW(dxg, 3), TABLE_ROW(dxg, 4)};
static void (*const dw_tab[NVB_MAX][P_MAX])(const DwArgs *) = {TABLE_ROW(dw, 1), TABLE_ROW(dw, 2),
                                                               TABLE_ROW(dw, 3), TABLE_ROW(dw, 4)};

/* The pooled tiles: windows of K = 2 (Q = 1..3 pooled pixels) and K = 3 (Q = 1), in a table
 * indexed [K - 2][NVB - 1][Q - 1] (NULL where Q*K*K would pass P_MAX). */
#define POOL_FN(K, NVB, Q)                                                                         \
    FULL_WIDTH static void pool_##K##_##NVB##_##Q(const PoolArgs *a) { pool_tile(K, Q, NVB, a); }
#define POOL_NVB(NVB) POOL_FN(2, NVB, 1) POOL_FN(2, NVB, 2) POOL_FN(2, NVB, 3) POOL_FN(3, NVB, 1)
POOL_NVB(1)
POOL_NVB(2)
POOL_NVB(3)
POOL_NVB(4)
#define POOL_Q_MAX 3
static void (*const pool_tab[2][NVB_MAX][POOL_Q_MAX])(const PoolArgs *) = {
    {{pool_2_1_1, pool_2_1_2, pool_2_1_3},
     {pool_2_2_1, pool_2_2_2, pool_2_2_3},
     {pool_2_3_1, pool_2_3_2, pool_2_3_3},
     {pool_2_4_1, pool_2_4_2, pool_2_4_3}},
    {{pool_3_1_1, NULL, NULL},
     {pool_3_2_1, NULL, NULL},
     {pool_3_3_1, NULL, NULL},
     {pool_3_4_1, NULL, NULL}},
};

/* Cuts n items into the fewest blocks of at most pmax, of sizes differing by at most one:
 * block b starts at *start and has *len items. */
static void block_of(int n, int nblocks, int b, int *start, int *len)
{
    *start = (int)((int64_t)n * b / nblocks);
    *len = (int)((int64_t)n * (b + 1) / nblocks) - *start;
}

/* The register tiles of n items (pixels, or weight rows) by nvec vectors of channels:
 * channel groups of at most NVB_MAX vectors (v0, nvb), and in each the items cut by block_of
 * into blocks of at most tile_pixels(nvb) (start, len). Walk them with
 *     for (Tiles t = tiles(nvec, n); tile_next(&t);) ... */
typedef struct {
    int v0, nvb, start, len; /* the tile */
    int blk, nblocks, nvec, n, per;
} Tiles;

/* (per: registers an accumulator takes, as tile_pixels_per) */
static Tiles tiles_per(int nvec, int n, int per)
{
    return (Tiles){.v0 = -NVB_MAX, .nvec = nvec, .n = n, .per = per};
}
static Tiles tiles(int nvec, int n) { return tiles_per(nvec, n, 1); }

static bool tile_next(Tiles *t)
{
    if (++t->blk >= t->nblocks) {
        t->v0 += NVB_MAX;
        if (t->v0 >= t->nvec)
            return false;
        t->nvb = t->nvec - t->v0 < NVB_MAX ? t->nvec - t->v0 : NVB_MAX;
        int pmax = tile_pixels_per(t->nvb, t->per);
        t->nblocks = (t->n + pmax - 1) / pmax;
        t->blk = 0;
    }
    block_of(t->n, t->nblocks, t->blk, &t->start, &t->len);
    return true;
}

/* ---- the entry points ---- */

void conv2d_pack_forward(float *scratch, const float *w, const float *b, const ConvGeom *g)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC, OCp = pl.OCp, KK = pl.taps;
    float *wp = scratch + pl.wp, *bp = scratch + pl.bp;
    /* w (OC, C, KH, KW) -> wp [tap][ic][OCp], zero-padded */
    for (int t = 0; t < KK; t++)
        for (int ic = 0; ic < C; ic++) {
            float *dst = wp + ((size_t)t * C + ic) * OCp;
            for (int oc = 0; oc < OCp; oc++)
                dst[oc] = oc < OC ? w[((size_t)oc * C + ic) * KK + t] : 0.0f;
        }
    for (int oc = 0; oc < OCp; oc++)
        bp[oc] = b && oc < OC ? b[oc] : 0.0f;
    if (g->PH || g->PW) /* the border of the input copy stays zero */
        memset(scratch + pl.xp, 0, (size_t)pl.Hp * pl.Wp * C * sizeof(float));
    set_tap_offsets(scratch, g, &pl);
}

/* The forward tile's arguments: input pixels from x, output pixels to out, channels from
 * vector v0. */
static FwdArgs fwd_args(const ConvGeom *g, const Plan *pl, float *scratch, const float *x,
                        float *out, int v0)
{
    return (FwdArgs){
        .x = x,
        .toff = tap_offsets(scratch, pl),
        .ntaps = pl->taps,
        .ps = g->SW * g->C,
        .C = g->C,
        .w = scratch + pl->wp + v0 * VL,
        .ldw = pl->OCp,
        .bias = scratch + pl->bp + v0 * VL,
        .out = out + v0 * VL,
        .os = g->OC,
        .valid = g->OC - v0 * VL,
    };
}

void conv2d_forward(float *out, const float *in, const ConvGeom *g, float *scratch)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC;
    int ovec = pl.OCp / VL;
    size_t out_img = (size_t)g->OH * g->OW * OC;
    for (int n = 0; n < g->B; n++) {
        const float *x = input_image(in, n, g, &pl, scratch);
        for (int oy = 0; oy < g->OH; oy++) {
            for (Tiles t = tiles(ovec, g->OW); tile_next(&t);) {
                int ox = t.start;
                FwdArgs a = fwd_args(g, &pl, scratch,
                                     x + ((size_t)oy * g->SH * pl.Wp + (size_t)ox * g->SW) * C,
                                     out + n * out_img + ((size_t)oy * g->OW + ox) * OC, t.v0);
                fwd_tab[t.nvb - 1][t.len - 1](&a);
            }
        }
    }
}

void conv2d_forward_pool(float *out, int32_t *argmax, const float *in, const ConvGeom *g, int K,
                         float *scratch)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC;
    const int POH = g->OH / K, POW = g->OW / K;
    int ovec = pl.OCp / VL;
    /* vectors of channels a tile takes: its K*K pixels by them must fit the registers */
    int nvb_max = TILE_REGS / (K * K);
    nvb_max = nvb_max < 1 ? 1 : nvb_max > NVB_MAX ? NVB_MAX : nvb_max;
    size_t out_img = (size_t)POH * POW * OC;
    for (int n = 0; n < g->B; n++) {
        const float *x = input_image(in, n, g, &pl, scratch);
        for (int py = 0; py < POH; py++) {
            for (int v0 = 0; v0 < ovec; v0 += nvb_max) {
                int nvb = ovec - v0 < nvb_max ? ovec - v0 : nvb_max;
                /* pooled pixels a tile takes: their K*K*nvb accumulators fit, at most 3 */
                int qmax = tile_pixels(nvb) / (K * K);
                qmax = qmax < 1 ? 1 : qmax > POOL_Q_MAX ? POOL_Q_MAX : qmax;
                if (K == 3)
                    qmax = 1;
                int nblocks = (POW + qmax - 1) / qmax;
                for (int blk = 0; blk < nblocks; blk++) {
                    int px, Q;
                    block_of(POW, nblocks, blk, &px, &Q);
                    size_t o = n * out_img + ((size_t)py * POW + px) * OC + v0 * VL;
                    PoolArgs a = {
                        .f = fwd_args(
                            g, &pl, scratch,
                            x + ((size_t)py * K * g->SH * pl.Wp + (size_t)px * K * g->SW) * C,
                            out + o - v0 * VL, v0),
                        .rs = (size_t)g->SH * pl.Wp * C,
                        .am = argmax ? argmax + o : NULL,
                        .idx0 = py * K * g->OW + px * K,
                        .OW = g->OW,
                    };
                    pool_tab[K - 2][nvb - 1][Q - 1](&a);
                }
            }
        }
    }
}

/* The weight gradient sums += those of one image's input x (bordered) and output gradient dy
 * (dys floats per pixel). */
static void conv_dw_image(float *dwp, const float *x, const float *dy, int dys, const ConvGeom *g,
                          const Plan *pl, const ptrdiff_t *toff)
{
    const int C = g->C, M = pl->taps * C, ovec = pl->OCp / VL;
    /* output rows per pass over the weight rows: up to 64 KB of dy (a 14x14x64 image whole).
     * Measured on the seed net's second convolution: passes of 16 KB (4 rows) ran the
     * weight gradient at 250 GFLOPS on two cores, 8 KB at 220, whole images at 272; longer
     * pixel loops and fewer reloads of the accumulators beat staying within L1. */
    int rb = 65536 / (int)(sizeof(float) * (size_t)g->OW * dys);
    rb = rb < 1 ? 1 : rb;
    for (int oy0 = 0; oy0 < g->OH; oy0 += rb) {
        int oy1 = oy0 + rb < g->OH ? oy0 + rb : g->OH;
        for (Tiles tl = tiles(ovec, M); tile_next(&tl);) {
            int r0 = tl.start;
            /* row r is input channel r % C at tap r / C */
            const float *rows[P_MAX];
            for (int p = 0, t = r0 / C, ic = r0 % C; p < tl.len; p++) {
                rows[p] = x + toff[t] + ic;
                if (++ic == C)
                    ic = 0, t++;
            }
            DwArgs a = {
                .rows = rows,
                .dy = dy + tl.v0 * VL,
                .dys = dys,
                .oy0 = oy0,
                .oy1 = oy1,
                .OW = g->OW,
                .xrow = (size_t)g->SH * pl->Wp * C,
                .xs = g->SW * C,
                .dw = dwp + (size_t)r0 * pl->OCp + tl.v0 * VL,
                .ldw = pl->OCp,
            };
            dw_tab[tl.nvb - 1][tl.len - 1](&a);
        }
    }
}

/* conv_dw_image by taps (pl->dwt): the sums kept [tap][oc][VL], in the same passes of rows. */
static void conv_dwt_image(float *dwq, const float *x, const float *dy, int dys, const ConvGeom *g,
                           const Plan *pl, const ptrdiff_t *toff)
{
    const int OC = g->OC;
    int rb = 65536 / (int)(sizeof(float) * (size_t)g->OW * dys); /* as conv_dw_image */
    rb = rb < 1 ? 1 : rb;
    int nob = (OC + DWT_O - 1) / DWT_O;
    for (int oy0 = 0; oy0 < g->OH; oy0 += rb) {
        int oy1 = oy0 + rb < g->OH ? oy0 + rb : g->OH;
        for (int t0 = 0; t0 < pl->taps; t0 += DWT_T) {
            int T = pl->taps - t0 < DWT_T ? pl->taps - t0 : DWT_T;
            for (int b = 0; b < nob; b++) {
                int oc0, O;
                block_of(OC, nob, b, &oc0, &O);
                DwtArgs a = {
                    .x = x,
                    .toff = toff + t0,
                    .dy = dy + oc0,
                    .dys = dys,
                    .oy0 = oy0,
                    .oy1 = oy1,
                    .OW = g->OW,
                    .xrow = (size_t)g->SH * pl->Wp * VL,
                    .xs = g->SW * VL,
                    .dw = dwq + ((size_t)t0 * OC + oc0) * VL,
                    .ldt = OC * VL,
                };
                dwt_tab[T - 1][O - 1](&a);
            }
        }
    }
}

/* The bias gradient sums += one image's output gradient dy summed over its pixels, in pixel
 * order, a few vectors of channels at a time with the sums in registers. */
FULL_WIDTH static void conv_db_image(float *dbp, const float *dy, int dys, int OHW, int OCp)
{
    for (int v0 = 0; v0 < OCp / VL; v0 += NVB_MAX) {
        int nvb = OCp / VL - v0 < NVB_MAX ? OCp / VL - v0 : NVB_MAX;
        vfloat s[NVB_MAX];
        for (int v = 0; v < nvb; v++)
            s[v] = vload(dbp + (v0 + v) * VL);
        for (int i = 0; i < OHW; i++)
            for (int v = 0; v < nvb; v++)
                s[v] += vload(dy + (size_t)i * dys + (v0 + v) * VL);
        for (int v = 0; v < nvb; v++)
            vstore(dbp + (v0 + v) * VL, s[v]);
    }
}

/* dx (bordered) += the input gradient of one image's output gradient dy. */
static void conv_dx_image(float *dxp, const float *dy, int dys, const float *wt, const ConvGeom *g,
                          const Plan *pl, const ptrdiff_t *toff)
{
    const int ivec = pl->Cp / VL;
    for (int oy = 0; oy < g->OH; oy++) {
        for (Tiles tl = tiles(ivec, g->OW); tile_next(&tl);) {
            int ox = tl.start, v0 = tl.v0;
            float *base =
                dxp + ((size_t)oy * g->SH * pl->Wp + (size_t)ox * g->SW) * pl->Cp + v0 * VL;
            for (int t = 0; t < pl->taps; t++) {
                DxArgs a = {
                    .dy = dy + ((size_t)oy * g->OW + ox) * dys,
                    .ps = dys,
                    .K = g->OC,
                    .w = wt + (size_t)t * g->OC * pl->Cp + v0 * VL,
                    .ldw = pl->Cp,
                    .dx = base + toff[t],
                    .ds = g->SW * pl->Cp,
                };
                dx_tab[tl.nvb - 1][tl.len - 1](&a);
            }
        }
    }
}

/* din's image (H,W,C) = the input gradient of one image's output gradient dy (OH,OW,OC), by
 * the gather: dy copied into gy's interior, then the gather's tiles over dx's pixels. */
static void conv_dx_gather_image(float *din, const float *dy, const ConvGeom *g, const Plan *pl,
                                 float *scratch)
{
    const int OC = g->OC, ivec = pl->Cp / VL;
    const int QH = g->DH * (g->KH - 1) - g->PH, QW = g->DW * (g->KW - 1) - g->PW;
    float *gy = scratch + pl->gy;
    size_t row = (size_t)g->OW * OC;
    for (int y = 0; y < g->OH; y++)
        memcpy(gy + ((size_t)(y + QH) * pl->Wq + QW) * OC, dy + (size_t)y * row,
               row * sizeof(float));
    for (int y = 0; y < g->H; y++)
        for (Tiles t = tiles_per(ivec, g->W, 2); tile_next(&t);) {
            FwdArgs a = {
                .x = gy + ((size_t)y * pl->Wq + t.start) * OC,
                .toff = tap_offsets(scratch, pl) + 2 * pl->taps,
                .ntaps = pl->taps,
                .ps = OC,
                .C = OC,
                .w = scratch + pl->wt + t.v0 * VL,
                .ldw = pl->Cp,
                .bias = NULL,
                .out = din + ((size_t)y * g->W + t.start) * g->C + t.v0 * VL,
                .os = g->C,
                .valid = g->C - t.v0 * VL,
            };
            dxg_tab[t.nvb - 1][t.len - 1](&a);
        }
}

void conv2d_pack_backward(float *scratch, const float *w, const ConvGeom *g)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC, KK = pl.taps, Cp = pl.Cp;
    float *wt = scratch + pl.wt;
    /* w (OC, C, KH, KW) -> wt [tap][oc][Cp], zero-padded */
    for (int t = 0; t < KK; t++)
        for (int oc = 0; oc < OC; oc++) {
            float *dst = wt + ((size_t)t * OC + oc) * Cp;
            for (int ic = 0; ic < Cp; ic++)
                dst[ic] = ic < C ? w[((size_t)oc * C + ic) * KK + t] : 0.0f;
        }
    memset(scratch + pl.dwp, 0, (size_t)KK * C * pl.OCp * sizeof(float));
    memset(scratch + pl.dbp, 0, (size_t)pl.OCp * sizeof(float));
    if (g->PH || g->PW)
        memset(scratch + pl.xp, 0, (size_t)pl.Hp * pl.Wp * C * sizeof(float));
    if (pl.gather) /* the border of the gather's output gradient copy stays zero */
        memset(scratch + pl.gy, 0, (size_t)pl.Hq * pl.Wq * OC * sizeof(float));
    if (g->OC % VL) /* the padding channels of the output gradient copy stay zero */
        memset(scratch + pl.dyp, 0, (size_t)g->OH * g->OW * pl.OCp * sizeof(float));
    set_tap_offsets(scratch, g, &pl);
}

void conv2d_backward(float *din, const float *dout, const float *in, bool grads, const ConvGeom *g,
                     float *scratch)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC, KK = pl.taps, Cp = pl.Cp, OCp = pl.OCp;
    const int OHW = g->OH * g->OW;
    float *wt = scratch + pl.wt, *dxp = scratch + pl.dxp;
    float *dwp = scratch + pl.dwp, *dbp = scratch + pl.dbp, *dyp = scratch + pl.dyp;
    bool pad_dy = OC % VL != 0;
    int dys = pad_dy ? OCp : OC;
    const ptrdiff_t *toff_x = tap_offsets(scratch, &pl), *toff_dx = toff_x + KK;
    size_t in_img = (size_t)g->H * g->W * C, out_img = (size_t)OHW * OC;
    for (int n = 0; n < g->B; n++) {
        const float *dy = dout + n * out_img;
        if (pad_dy) {
            for (int i = 0; i < OHW; i++)
                memcpy(dyp + (size_t)i * OCp, dy + (size_t)i * OC, (size_t)OC * sizeof(float));
            dy = dyp;
        }
        if (grads) {
            /* out = ... + b, so db += dout summed over the pixels */
            conv_db_image(dbp, dy, dys, OHW, OCp);
            const float *x = input_image(in, n, g, &pl, scratch);
            if (pl.dwt)
                conv_dwt_image(dwp, x, dy, dys, g, &pl, toff_x);
            else
                conv_dw_image(dwp, x, dy, dys, g, &pl, toff_x);
        }
        if (din && pl.gather) {
            conv_dx_gather_image(din + n * in_img, dout + n * out_img, g, &pl, scratch);
        } else if (din) {
            memset(dxp, 0, (size_t)pl.Hp * pl.Wp * Cp * sizeof(float));
            conv_dx_image(dxp, dy, dys, wt, g, &pl, toff_dx);
            /* the interior of the bordered gradient is din; the border was padding */
            float *dx = din + n * in_img;
            for (int y = 0; y < g->H; y++) {
                const float *src = dxp + ((size_t)(y + g->PH) * pl.Wp + g->PW) * Cp;
                float *dst = dx + (size_t)y * g->W * C;
                if (C == Cp)
                    memcpy(dst, src, (size_t)g->W * C * sizeof(float));
                else
                    for (int xx = 0; xx < g->W; xx++)
                        for (int ic = 0; ic < C; ic++)
                            dst[(size_t)xx * C + ic] = src[(size_t)xx * Cp + ic];
            }
        }
    }
}

void conv2d_grads(float *dw, float *db, const ConvGeom *g, float *scratch)
{
    Plan pl = plan_of(g);
    const int C = g->C, OC = g->OC, KK = pl.taps, OCp = pl.OCp;
    float *dwp = scratch + pl.dwp, *dbp = scratch + pl.dbp;
    if (dw) /* dwp [tap][ic][OCp] (with dwt [tap][oc][VL]) -> dw (OC, C, KH, KW) */
        for (int oc = 0; oc < OC; oc++)
            for (int ic = 0; ic < C; ic++)
                for (int t = 0; t < KK; t++)
                    dw[((size_t)oc * C + ic) * KK + t] = pl.dwt
                                                             ? dwp[((size_t)t * OC + oc) * VL + ic]
                                                             : dwp[((size_t)t * C + ic) * OCp + oc];
    if (db)
        memcpy(db, dbp, (size_t)OC * sizeof(float));
    memset(dwp, 0, (size_t)KK * C * OCp * sizeof(float));
    memset(dbp, 0, (size_t)OCp * sizeof(float));
}
