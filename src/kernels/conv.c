/* conv.c: 2-d convolution forward and backward as im2col + sgemm, one image at a time.
 *
 * Design choice: the OpenMP threads take images (forward) or fixed chunks of the batch
 * (backward) as they come free, each unfolding into its own slice of the caller's scratch and
 * calling the single-threaded sgemm. Each chunk sums its weight and bias gradients into its
 * own partial, and the partials are added in chunk order: the chunks depend on B alone, so
 * results are bit-identical from run to run and for any number of threads, while a thread
 * slowed by the machine does not hold the others up. The forward unfolds the input as col
 * (C*KH*KW, OH*OW); the weight gradient unfolds it transposed (im2row), so that both
 * products read their operands with unit stride. */
#include "kernels_impl.h"

#include <string.h>

/* The batch is cut into at most MAX_CHUNKS chunks of equal size (the last may be short),
 * fixed by B alone; each chunk sums its weight gradient into its own partial. */
#define MAX_CHUNKS 32

static int chunk_size(const ConvGeom *g)
{
    return g->B > MAX_CHUNKS ? (g->B + MAX_CHUNKS - 1) / MAX_CHUNKS : 1;
}
static int chunk_count(const ConvGeom *g) { return (g->B + chunk_size(g) - 1) / chunk_size(g); }

/* Scratch layout: one unfolded image per thread, then one (dw, db) partial per chunk; each
 * part rounded up to a 64-byte multiple. */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }
static size_t col_floats(const ConvGeom *g)
{
    return round16((size_t)g->C * g->KH * g->KW * g->OH * g->OW);
}
static size_t dw_floats(const ConvGeom *g) { return round16((size_t)g->OC * g->C * g->KH * g->KW); }
static size_t part_floats(const ConvGeom *g) { return dw_floats(g) + round16((size_t)g->OC); }

size_t conv2d_scratch_floats(const ConvGeom *g)
{
    return col_floats(g) * (size_t)kernels_threads() + part_floats(g) * (size_t)chunk_count(g);
}

/* Up to this many weights per output channel, the weight gradient uses the dot-product form
 * of sgemm (dout . col^T) rather than unfolding col^T: a narrow product wastes a register
 * tile. */
#define NARROW_CKK 16

/* A 1x1 convolution with unit stride and no padding multiplies by the input as it is. */
static bool conv_is_pointwise(const ConvGeom *g)
{
    return g->KH == 1 && g->KW == 1 && g->SH == 1 && g->SW == 1 && g->PH == 0 && g->PW == 0;
}

/* The output columns [*lo, *hi) of a row whose input column ow*S + off lies in [0, n). */
static void valid_cols(int OW, int S, int off, int n, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + S - 1) / S;
    int b = n - off <= 0 ? 0 : (n - off + S - 1) / S;
    *lo = a < OW ? a : OW;
    *hi = b < OW ? b : OW;
    if (*hi < *lo)
        *hi = *lo;
}

/* col (C*KH*KW, OH*OW) <- the receptive fields of img (C,H,W); padding reads as 0.
 * Row (c,kh,kw) of col holds, for every output pixel, the input pixel that kernel tap meets. */
static void im2col(float *col, const float *img, const ConvGeom *g)
{
    int OHW = g->OH * g->OW;
    for (int c = 0; c < g->C; c++) {
        for (int kh = 0; kh < g->KH; kh++) {
            for (int kw = 0; kw < g->KW; kw++) {
                float *dst = col + (size_t)((c * g->KH + kh) * g->KW + kw) * OHW;
                int woff = kw * g->DW - g->PW;
                int lo, hi;
                valid_cols(g->OW, g->SW, woff, g->W, &lo, &hi);
                for (int oh = 0; oh < g->OH; oh++) {
                    float *d = dst + (size_t)oh * g->OW;
                    int ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H) {
                        memset(d, 0, (size_t)g->OW * sizeof(float));
                        continue;
                    }
                    const float *s = img + ((size_t)c * g->H + ih) * g->W + woff;
                    for (int ow = 0; ow < lo; ow++)
                        d[ow] = 0.0f;
                    if (g->SW == 1) {
                        memcpy(d + lo, s + lo, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int ow = lo; ow < hi; ow++)
                            d[ow] = s[(size_t)ow * g->SW];
                    }
                    for (int ow = hi; ow < g->OW; ow++)
                        d[ow] = 0.0f;
                }
            }
        }
    }
}

/* row (OH*OW, C*KH*KW) <- im2col transposed: one row per output pixel holding its receptive
 * field, so that the weight gradient dout . row needs no transposed operand. Filled one
 * output row at a time, whose OW destination rows stay in L1 while the input is read in
 * runs as im2col does. */
static void im2row(float *row, const float *img, const ConvGeom *g)
{
    const ConvGeom G = *g;
    size_t CKK = (size_t)G.C * G.KH * G.KW;
    for (int oh = 0; oh < G.OH; oh++) {
        float *r = row + (size_t)oh * G.OW * CKK;
        for (int c = 0; c < G.C; c++) {
            for (int kh = 0; kh < G.KH; kh++) {
                int ih = oh * G.SH - G.PH + kh * G.DH;
                bool in_rows = ih >= 0 && ih < G.H;
                const float *src = img + ((size_t)c * G.H + (in_rows ? ih : 0)) * G.W;
                for (int kw = 0; kw < G.KW; kw++) {
                    size_t k = ((size_t)c * G.KH + kh) * G.KW + kw;
                    int woff = kw * G.DW - G.PW, lo = 0, hi = 0;
                    if (in_rows)
                        valid_cols(G.OW, G.SW, woff, G.W, &lo, &hi);
                    for (int ow = 0; ow < lo; ow++)
                        r[ow * CKK + k] = 0.0f;
                    for (int ow = lo; ow < hi; ow++)
                        r[ow * CKK + k] = src[ow * G.SW + woff];
                    for (int ow = hi; ow < G.OW; ow++)
                        r[ow * CKK + k] = 0.0f;
                }
            }
        }
    }
}

/* img (C,H,W) = the sum of col (C*KH*KW, OH*OW) folded back onto the input pixels each entry
 * came from: the adjoint of im2col. Entries that came from padding are dropped. */
static void col2im(float *img, const float *col, const ConvGeom *g)
{
    int OHW = g->OH * g->OW;
    memset(img, 0, (size_t)g->C * g->H * g->W * sizeof(float));
    for (int c = 0; c < g->C; c++) {
        for (int kh = 0; kh < g->KH; kh++) {
            for (int kw = 0; kw < g->KW; kw++) {
                const float *src = col + (size_t)((c * g->KH + kh) * g->KW + kw) * OHW;
                int woff = kw * g->DW - g->PW;
                int lo, hi;
                valid_cols(g->OW, g->SW, woff, g->W, &lo, &hi);
                for (int oh = 0; oh < g->OH; oh++) {
                    int ih = oh * g->SH - g->PH + kh * g->DH;
                    if (ih < 0 || ih >= g->H)
                        continue;
                    const float *s = src + (size_t)oh * g->OW;
                    float *d = img + ((size_t)c * g->H + ih) * g->W + woff;
                    for (int ow = lo; ow < hi; ow++)
                        d[(size_t)ow * g->SW] += s[ow];
                }
            }
        }
    }
}

void conv2d_forward(float *out, const float *in, const float *w, const float *b, const ConvGeom *g,
                    float *scratch)
{
    int OHW = g->OH * g->OW, CKK = g->C * g->KH * g->KW;
    size_t in_img = (size_t)g->C * g->H * g->W, out_img = (size_t)g->OC * OHW;
    OMP_PARALLEL(g->B > 1)
    {
        float *col = scratch + (size_t)team_rank() * col_floats(g);
        OMP_FOR_DYNAMIC
        for (int n = 0; n < g->B; n++) {
            const float *x = in + n * in_img;
            float *y = out + n * out_img;
            if (!conv_is_pointwise(g)) {
                im2col(col, x, g);
                x = col;
            }
            if (b) {
                for (int oc = 0; oc < g->OC; oc++)
                    for (int i = 0; i < OHW; i++)
                        y[(size_t)oc * OHW + i] = b[oc];
            }
            /* y (OC,OHW) = w (OC,CKK) . col (CKK,OHW) [+ y holding the bias] */
            sgemm(false, false, g->OC, OHW, CKK, 1.0f, w, CKK, x, OHW, b ? 1.0f : 0.0f, y, OHW);
        }
    }
}

void conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, const ConvGeom *g, float *scratch)
{
    int OHW = g->OH * g->OW, CKK = g->C * g->KH * g->KW;
    int csize = chunk_size(g), chunks = chunk_count(g);
    size_t in_img = (size_t)g->C * g->H * g->W, out_img = (size_t)g->OC * OHW;
    size_t nw = (size_t)g->OC * CKK, part = part_floats(g);
    float *parts = scratch + col_floats(g) * (size_t)kernels_threads();
    bool pointwise = conv_is_pointwise(g);
    OMP_PARALLEL(g->B > 1)
    {
        float *col = scratch + (size_t)team_rank() * col_floats(g);
        OMP_FOR_DYNAMIC
        for (int k = 0; k < chunks; k++) {
            float *dw_part = parts + (size_t)k * part, *db_part = dw_part + dw_floats(g);
            int n0 = k * csize, n1 = n0 + csize < g->B ? n0 + csize : g->B;
            for (int n = n0; n < n1; n++) {
                const float *x = in + n * in_img;
                const float *dy = dout + n * out_img;
                float beta = n == n0 ? 0.0f : 1.0f; /* a chunk's first image overwrites */
                if (dw && CKK <= NARROW_CKK) {
                    /* out = w . col, so dw (OC,CKK) += dout (OC,OHW) . col^T (OHW,CKK) */
                    im2col(col, x, g);
                    sgemm(false, true, g->OC, CKK, OHW, 1.0f, dy, OHW, col, OHW, beta, dw_part,
                          CKK);
                } else if (dw) {
                    /* the same product, with col^T unfolded as such */
                    im2row(col, x, g);
                    sgemm(false, false, g->OC, CKK, OHW, 1.0f, dy, OHW, col, CKK, beta, dw_part,
                          CKK);
                }
                if (db) {
                    /* out = ... + b, so db (OC) += dout summed over the pixels */
                    for (int oc = 0; oc < g->OC; oc++) {
                        float s = sum_floats(dy + (size_t)oc * OHW, (size_t)OHW);
                        db_part[oc] = n == n0 ? s : db_part[oc] + s;
                    }
                }
                if (din) {
                    /* out = w . col, so dcol (CKK,OHW) = w^T (CKK,OC) . dout (OC,OHW); then
                     * the adjoint of im2col sums dcol back onto the input pixels */
                    float *dx = din + n * in_img;
                    sgemm(true, false, CKK, OHW, g->OC, 1.0f, w, CKK, dy, OHW, 0.0f,
                          pointwise ? dx : col, OHW);
                    if (!pointwise)
                        col2im(dx, col, g);
                }
            }
        }
        /* The loop above ends in a barrier, so every partial is complete: add them up in
         * chunk order, each thread over its own range of elements (in this loop order, so
         * that it vectorises over the elements). */
        int lo, hi;
        if (dw) {
            split_range((int)nw, team_rank(), team_size(), &lo, &hi);
            for (int i = lo; i < hi; i++)
                dw[i] = 0.0f;
            for (int k = 0; k < chunks; k++)
                for (int i = lo; i < hi; i++)
                    dw[i] += parts[(size_t)k * part + i];
        }
        if (db) {
            const float *dbp = parts + dw_floats(g);
            split_range(g->OC, team_rank(), team_size(), &lo, &hi);
            for (int oc = lo; oc < hi; oc++)
                db[oc] = 0.0f;
            for (int k = 0; k < chunks; k++)
                for (int oc = lo; oc < hi; oc++)
                    db[oc] += dbp[(size_t)k * part + oc];
        }
    }
}
