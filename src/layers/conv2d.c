/* conv2d.c: Conv2d, as torch.nn.Conv2d: attributes, shape rule, init, forward, backward and
 * C emitter. Weight [out, in/groups, kh, kw], bias [out]. The runtime runs groups == 1 on
 * conv.c's register tiles, depthwise (groups == in) on dwconv.c and other groups on gconv.c;
 * generated code has a depthwise step of its own and loops over other groups. */
#include <math.h>
#include <string.h>

#include "layer.h"

enum { A_IN, A_OUT, A_KERNEL, A_STRIDE, A_PADDING, A_DILATION, A_GROUPS, A_BIAS, A_INIT };

static const char *const pad_words[] = {"same", "valid", NULL};

static const AttrSpec attrs[] = {
    [A_IN] = {"in", NULL, ATTR_INT, NULL, false, 1, 1 << 20, 1, 1, NULL,
              "input channels (inferred; checked when given)"},
    [A_OUT] = {"out", NULL, ATTR_INT, NULL, true, 1, 1 << 20, 1, 1, NULL, "output channels"},
    [A_KERNEL] = {"kernel", "k", ATTR_INTS, NULL, true, 1, 1024, 1, 2, NULL,
                  "kernel size: k or [kh, kw]"},
    [A_STRIDE] = {"stride", "s", ATTR_INTS, "1", false, 1, 1024, 1, 2, NULL, "stride"},
    [A_PADDING] = {"padding", "p", ATTR_INTS, "0", false, 0, 1024, 1, 2, NULL,
                   "zero padding on each side; same (stride 1: the output keeps the input's "
                   "size) or valid (0), as PyTorch's",
                   .words = pad_words},
    [A_DILATION] = {"dilation", "d", ATTR_INTS, "1", false, 1, 1024, 1, 2, NULL,
                    "spacing between kernel taps"},
    [A_GROUPS] = {"groups", NULL, ATTR_INT, "1", false, 1, 1 << 20, 1, 1, NULL,
                  "channel groups, dividing in and out (in: depthwise)"},
    [A_BIAS] = {"bias", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL, "learnable bias"},
    [A_INIT] = {"init", NULL, ATTR_ENUM, "default", false, 0, 0, 0, 0, ir_init_names,
                "weight initialiser (default: kaiming_uniform a=sqrt(5), as PyTorch)"},
};
static const char *const positional[] = {"out", "kernel", NULL};

static ConvGeom geom(const Node *n, int batch)
{
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE], *p = &n->attrs[A_PADDING],
                  *dl = &n->attrs[A_DILATION];
    return (ConvGeom){
        .B = batch,
        .C = (int)n->in.d[0],
        .H = (int)n->in.d[1],
        .W = (int)n->in.d[2],
        .OC = (int)n->out.d[0],
        .KH = (int)k->i[0],
        .KW = (int)k->i[1],
        .SH = (int)s->i[0],
        .SW = (int)s->i[1],
        .PH = (int)p->i[0],
        .PW = (int)p->i[1],
        .DH = (int)dl->i[0],
        .DW = (int)dl->i[1],
        .OH = (int)n->out.d[1],
        .OW = (int)n->out.d[2],
        .G = (int)n->attrs[A_GROUPS].i[0],
    };
}

static int groups(const Node *n) { return (int)n->attrs[A_GROUPS].i[0]; }
static bool depthwise(const Node *n) { return groups(n) > 1 && groups(n) == n->in.d[0]; }

/* padding=same or valid made numbers, as PyTorch's Conv2d makes them: same pads
 * dilation * (kernel - 1) in all, half on each side, and needs stride 1; where that total is
 * odd PyTorch puts the extra row after, which a padding of one number a side cannot say. */
static bool resolve_padding(Node *n, Diag *d)
{
    AttrVal *p = &n->attrs[A_PADDING];
    if (!p->s)
        return true;
    p->i[0] = p->i[1] = 0;
    if (!strcmp(p->s, "valid"))
        return true;
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE], *dl = &n->attrs[A_DILATION];
    if (s->i[0] != 1 || s->i[1] != 1) {
        diag_error(d, p->loc, "padding=same needs stride 1, as PyTorch's; the stride is %lldx%lld",
                   (long long)s->i[0], (long long)s->i[1]);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        int64_t total = dl->i[i] * (k->i[i] - 1);
        if (total % 2) {
            diag_error(d, p->loc,
                       "padding=same with kernel %lldx%lld%s pads %lld %s, one more after than "
                       "before (as PyTorch does); netc's padding is the same on both sides",
                       (long long)k->i[0], (long long)k->i[1],
                       dl->i[0] > 1 || dl->i[1] > 1 ? " and its dilation" : "", (long long)total,
                       i ? "columns" : "rows");
            diag_hint(d, p->loc, "use an odd kernel, or give the padding as numbers");
            return false;
        }
        if (total / 2 > 1024) {
            diag_error(d, p->loc, "padding=same would pad %lld a side: at most 1024",
                       (long long)(total / 2));
            return false;
        }
        p->i[i] = total / 2;
    }
    return true;
}

/* groups divides both channel counts (c in); else an error with the groups that would. */
static bool check_groups(const Node *n, int64_t c, Diag *d)
{
    int64_t oc = n->attrs[A_OUT].i[0], G = n->attrs[A_GROUPS].i[0];
    if (c % G || oc % G) {
        const AttrVal *gv = &n->attrs[A_GROUPS];
        diag_error(d, gv->set ? gv->loc : n->loc,
                   "'groups' %lld must divide both channel counts: %lld in, %lld out", (long long)G,
                   (long long)c, (long long)oc);
        SrcLoc at = gv->set ? gv->loc : n->loc;
        if (G == c) { /* a depthwise one meant: its out must be a multiple of in */
            int64_t lo = oc / c * c, hi = lo + c;
            if (lo > 0)
                diag_hint(d, at,
                          "a depthwise convolution (groups = the %lld input channels) needs out "
                          "a multiple of %lld: %lld or %lld",
                          (long long)c, (long long)c, (long long)lo, (long long)hi);
            else
                diag_hint(d, at,
                          "a depthwise convolution (groups = the %lld input channels) needs out "
                          "a multiple of %lld: %lld",
                          (long long)c, (long long)c, (long long)hi);
        } else { /* the groups that would do, the depthwise one first when it would */
            StrBuf ok;
            sb_init(&ok);
            int listed = 0;
            if (c > 1 && oc % c == 0)
                sb_printf(&ok, "%lld (depthwise)", (long long)c), listed++;
            for (int64_t g = 2; g < c && listed < 6; g++)
                if (c % g == 0 && oc % g == 0)
                    sb_printf(&ok, "%s%lld", listed++ ? ", " : "", (long long)g);
            if (listed)
                diag_hint(d, at, "groups that divide both: %s", ok.data);
            else
                diag_hint(d, at, "%lld and %lld have no common divisor but 1, so groups must be 1",
                          (long long)c, (long long)oc);
            sb_free(&ok);
        }
        char what[64];
        snprintf(what, sizeof what, "the %lld input channels come", (long long)c);
        ir_note_input(n, what, d);
        return false;
    }
    return true;
}

static void shape(Node *n, Diag *d)
{
    if (!layer_need_image(n, d) || !resolve_padding(n, d))
        return;
    int64_t c = n->in.d[0];
    layer_check_in(n, A_IN, c, d);
    n->attrs[A_IN].i[0] = c;
    n->attrs[A_IN].n = 1;
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE], *p = &n->attrs[A_PADDING],
                  *dl = &n->attrs[A_DILATION];
    if (!check_groups(n, c, d)) /* before the size: the more basic mistake */
        return;
    int64_t out[2];
    for (int i = 0; i < 2; i++)
        out[i] = ir_conv_out(n->in.d[1 + i], k->i[i], s->i[i], p->i[i], dl->i[i]);
    if (out[0] < 1 || out[1] < 1) {
        diag_error(d, n->loc,
                   "'Conv2d' output would be %lldx%lld: input %lldx%lld, kernel %lldx%lld, "
                   "stride %lldx%lld, padding %lldx%lld, dilation %lldx%lld",
                   (long long)out[0], (long long)out[1], (long long)n->in.d[1],
                   (long long)n->in.d[2], (long long)k->i[0], (long long)k->i[1],
                   (long long)s->i[0], (long long)s->i[1], (long long)p->i[0], (long long)p->i[1],
                   (long long)dl->i[0], (long long)dl->i[1]);
        char what[64];
        snprintf(what, sizeof what, "the %lldx%lld input comes", (long long)n->in.d[1],
                 (long long)n->in.d[2]);
        ir_note_input(n, what, d);
        return;
    }
    int64_t oc = n->attrs[A_OUT].i[0], kk = k->i[0] * k->i[1], G = n->attrs[A_GROUPS].i[0];
    c /= G; /* input channels per output channel */
    n->out = shape_make(3, (int64_t[]){oc, out[0], out[1]});
    if (shape_numel(n->out) > SHAPE_MAX_NUMEL || oc * c * kk > SHAPE_MAX_NUMEL) {
        char buf[64], lim[32];
        fmt_thousands(lim, SHAPE_MAX_NUMEL);
        if (shape_numel(n->out) > SHAPE_MAX_NUMEL)
            diag_error(d, n->loc, "'Conv2d' output %s is too large: more than %s values",
                       shape_str(n->out, buf), lim);
        else
            diag_error(d, n->loc,
                       "'Conv2d' weight %lldx%lldx%lldx%lld is too large: more "
                       "than %s values",
                       (long long)oc, (long long)c, (long long)k->i[0], (long long)k->i[1], lim);
        return;
    }
    ir_param_add(n, "weight", shape_make(4, (int64_t[]){oc, c, k->i[0], k->i[1]}), c * kk, oc * kk);
    if (n->attrs[A_BIAS].b)
        ir_param_add(n, "bias", shape_make(1, (int64_t[]){oc}), c * kk, oc * kk);
    n->macs = oc * out[0] * out[1] * c * kk;
    n->shaped = true;
}

static void init(const Node *n, float *const *params, Rng *rng)
{
    layer_init_weight_bias(n, params, rng, n->attrs[A_INIT].e);
}

static size_t scratch(const Node *n)
{
    ConvGeom g = geom(n, 1);
    return depthwise(n)    ? dwconv2d_scratch_floats(&g)
           : groups(n) > 1 ? gconv2d_scratch_floats(&g)
                           : conv2d_scratch_floats(&g);
}

/* The kernel's packed weights and gradient sums live in the thread's scratch: packed on the
 * thread's first part of a pass; the sums written out (and restarted) at a chunk's end. */
static void forward(const Node *n, LayerRun *r)
{
    ConvGeom g = geom(n, r->batch);
    const float *b = n->nparams > 1 ? r->params[1] : NULL;
    if (depthwise(n)) {
        if (r->first)
            dwconv2d_pack(r->scratch, r->params[0], b, &g);
        dwconv2d_forward(r->out, r->in, &g, r->scratch);
    } else if (groups(n) > 1) {
        if (r->first)
            gconv2d_pack_forward(r->scratch, r->params[0], b, &g);
        gconv2d_forward(r->out, r->in, &g, r->scratch);
    } else {
        if (r->first)
            conv2d_pack_forward(r->scratch, r->params[0], b, &g);
        if (r->pool_k)
            conv2d_forward_pool(r->pool_out, r->pool_argmax, r->in, &g, r->pool_k, r->scratch);
        else
            conv2d_forward(r->out, r->in, &g, r->scratch);
    }
}

static void backward(const Node *n, LayerRun *r)
{
    ConvGeom g = geom(n, r->batch);
    float *db = n->nparams > 1 ? r->grads[1] : NULL;
    if (depthwise(n)) {
        if (r->first)
            dwconv2d_pack(r->scratch, r->params[0], n->nparams > 1 ? r->params[1] : NULL, &g);
        dwconv2d_backward(r->din, r->dout, r->in, true, &g, r->scratch);
        if (r->last)
            dwconv2d_grads(r->grads[0], db, &g, r->scratch);
    } else if (groups(n) > 1) {
        if (r->first)
            gconv2d_pack_backward(r->scratch, r->params[0], &g);
        gconv2d_backward(r->din, r->dout, r->in, true, &g, r->scratch);
        if (r->last)
            gconv2d_grads(r->grads[0], db, &g, r->scratch);
    } else {
        if (r->first)
            conv2d_pack_backward(r->scratch, r->params[0], &g);
        conv2d_backward(r->din, r->dout, r->in, true, &g, r->scratch);
        if (r->last)
            conv2d_grads(r->grads[0], db, &g, r->scratch);
    }
}

/* ---- C emitter ----
 * Direct convolution over an HWC input whose zero border already holds the padding. The
 * output channels are vectorised; a block of output pixels (rows and columns of them, or of
 * a fused max pool's windows) is register-blocked: per tap, one load of each weight vector
 * (kept in a register) and one broadcast of each pixel feed (pixels x vectors) independent
 * FMAs. The block's shape comes from a model of the core (conv_block), so that small channel
 * counts and odd image sizes still keep both FMA ports busy. Weights are packed
 * [ky][kx][ic][oc] at generation time. A fused pool takes the max of the raw sums before
 * bias and activation, which equals PyTorch's order because both are non-decreasing. */

typedef struct ConvPlan {
    const Node *n;
    int C, OC, KH, KW, SH, SW, DH, DW, dy, dx; /* dy, dx: border beyond this conv's padding */
    int OH, OW, pk;                            /* pk: fused pool kernel (= stride), 1 if none */
    int inrow, ipx; /* floats per padded input row, and per input pixel */
    int G, Cg, OCg; /* groups, and the input and output channels of each */
    int OCp;        /* OCg, or rounded up to a multiple of 8 (zero weights) for vectors */
} ConvPlan;

/* A core's L1 data cache: 32 KB on most x86 cores (48 on Intel's since Ice Lake). */
#define L1_BYTES 32768

/* Vector registers of a family, and how many a block may keep as accumulators. */
static int vec_regs(int width) { return width >= 16 ? 32 : 16; }
static int acc_budget(int width) { return width >= 16 ? 24 : width == 8 ? 12 : 32; }

/* Cycles of a pass of `fmas` FMAs and `loads` loads on one core with two FMA and two load
 * ports and a 4-cycle FMA latency, each accumulator a chain of `chain` dependent FMAs. */
static double pass_cycles(int fmas, int loads, int chain)
{
    double f = fmas / 2.0, l = loads / 2.0, lat = 4.0 * chain;
    return f > l ? (f > lat ? f : lat) : (l > lat ? l : lat);
}

/* A register block of a convolution: nvc of the output vectors at bh x bw outputs (bh
 * dividing the output's rows; where bw does not divide its columns, each band of rows ends
 * in one narrower block of the tail = columns % bw remaining ones). An output is a pixel, or
 * with a fused max pool a window of pk x pk pixels; the block's pixels are numbered row by
 * row. */
typedef struct ConvBlock {
    int nvc, bh, bw, tail;
} ConvBlock;

/* Cycles of one block of nvc vectors at outs outputs of P pixels each pass: per input channel
 * and tap, nvc weight loads and a broadcast per pixel feed nvc x P FMAs, one per accumulator;
 * the epilogue stores (with a pool, takes the maximum of) each output vector. With weights
 * past L1 (l2), each weight vector comes from L2, at one a cycle: a block of one pixel then
 * waits on them. On Zen 1, a 1x1 convolution 128->128 on 7x7 (64 KB of weights) took 1.5-2
 * times as long with 1 pixel x 8 vectors as with 7 pixels x 1 vector or 4 x 2. */
static double block_cycles(int passes, int nvc, int outs, int pool, bool l2)
{
    int P = outs * pool;
    double pass = pass_cycles(nvc * P, nvc + P, 1);
    if (l2 && pass < nvc)
        pass = nvc;
    return passes * pass + nvc * outs * (1.5 + (pool - 1) / 2.0);
}

/* The block that reaches the largest share of the FMA peak over the whole output (its tail
 * blocks counted), then the one with fewer loads, then the flatter one; one with a tail only
 * where it beats every block without one by a sixth. Odd widths (7, 13) with their weights
 * past L1 thus still get a block of several pixels: on Zen 1, a 1x1 convolution 128->128 on
 * 13x13 took 327 us with 1 pixel x 8 vectors, 214-237 with 3 or 4 pixels and a tail of one.
 * But where a block of one pixel keeps up (weights in L1: 64 channels on 11x11 and 17x17),
 * the tails the model scored a little higher measured a few percent slower. */
static ConvBlock conv_block(const ConvPlan *p, int NV, int VL)
{
    bool whole = p->OCp != p->OCg && VL > 1; /* a partial vector: one chunk of all of them */
    ConvBlock best[2] = {{1, 1, 1, 0}, {1, 1, 1, 0}}; /* without a tail, with one */
    double share[2] = {-1, -1}, loads[2] = {0, 0};
    int rows = p->OH / p->pk, cols = p->OW / p->pk, pool = p->pk * p->pk;
    int passes = p->Cg * p->KH * p->KW;
    bool l2 = (size_t)passes * p->OCp * p->G * sizeof(float) > L1_BYTES;
    for (int nvc = 1; nvc <= NV; nvc++)
        for (int bh = 1; bh <= rows && NV % nvc == 0; bh++)
            for (int bw = 1; bw <= cols && rows % bh == 0; bw++) {
                int outs = bh * bw, P = outs * pool, tail = cols % bw, t = tail > 0;
                if ((whole && nvc != NV) || nvc * P > acc_budget(VL))
                    continue;
                /* one band of bh rows: cols / bw blocks, and a tail block if any */
                double cycles = cols / bw * block_cycles(passes, nvc, outs, pool, l2) +
                                (t ? block_cycles(passes, nvc, bh * tail, pool, l2) : 0);
                double fmas = (double)passes * nvc * bh * cols * pool;
                double s = fmas / 2.0 / cycles,
                       l = (cols / bw * (nvc + P) + (t ? nvc + bh * tail * pool : 0)) * passes /
                           fmas;
                if (s > share[t] + 1e-9 || (s > share[t] - 1e-9 && l < loads[t] - 1e-9)) {
                    best[t] = (ConvBlock){nvc, bh, bw, tail};
                    share[t] = s;
                    loads[t] = l;
                }
            }
    return share[1] > share[0] * 7 / 6 ? best[1] : best[0];
}

/* The blocks of bw outputs of blk.bh rows at columns [x0, x1) (bw dividing x1 - x0): the loops
 * over them and the block itself. */
static void conv_nest(Emit *e, const VecFam *f, const ConvPlan *p, ConvBlock blk, int x0, int x1)
{
    StrBuf *sb = e->code;
    const char *F = f->name;
    int VL = f->width, NV = VL > 1 ? p->OCp / VL : p->OCg;
    int NVC = blk.nvc, pk = p->pk, BW = blk.bw * pk, P = blk.bh * pk * BW, chunks = NV / NVC;
    const CLayout *o = &e->out;
    /* with groups, each runs over its own input channels (gi * Cg) into its own outputs */
    bool grouped = p->G > 1;
    const char *gin = grouped ? arena_printf(e->arena, " + gi * %d", p->Cg) : "";
    const char *gw =
        grouped ? arena_printf(e->arena, " + gi * %d", p->KH * p->KW * p->Cg * p->OCg) : "";
    const char *gout = grouped ? arena_printf(e->arena, " + gi * %d", p->OCg) : "";
    /* oy, ox: the block's first output (a pixel, or a pooled one) */
    sb_printf(sb,
              "    for (int oy = 0; oy < %d; oy += %d)\n    for (int ox = %d; ox < %d; ox += %d)\n",
              p->OH / pk, blk.bh, x0, x1, blk.bw);
    if (chunks > 1)
        sb_printf(sb, "    for (int ob = 0; ob < %d; ob++)\n", chunks);
    sb_puts(sb, "    {\n");
    int rowstep = pk * p->SH * p->inrow, colstep = pk * p->SW * p->ipx;
    sb_printf(sb, "        const float *ip = in + oy * %d + ox * %d + %d%s;\n", rowstep, colstep,
              p->dy * p->inrow + p->dx * p->ipx, gin);
    sb_printf(sb, "        const float *wp = %s_w%s%s;\n", e->name, gw,
              chunks > 1 ? arena_printf(e->arena, " + ob * %d", NVC * VL) : "");
    for (int q = 0; q < P; q++)
        for (int v = 0; v < NVC; v++)
            sb_printf(sb, "        %s a%d_%d = %s_zero();\n", F, q, v, F);
    /* few taps (a 1x1 convolution): U input channels per iteration, so that the loop's own
     * work does not crowd the FMAs */
    int U = 1, K = p->KH * p->KW;
    while (U * 2 * K <= 8 && p->Cg % (U * 2) == 0)
        U *= 2;
    if (U > 1)
        sb_printf(sb, "        for (int ic = 0; ic < %d; ic += %d, wp += %d) {\n", p->Cg, U,
                  U * p->OCp);
    else
        sb_printf(sb, "        for (int ic = 0; ic < %d; ic++, wp += %d) {\n", p->Cg, p->OCp);
    for (int u = 0; u < U; u++)
        for (int ky = 0; ky < p->KH; ky++)
            for (int kx = 0; kx < p->KW; kx++) {
                int tap = (ky * p->KW + kx) * p->Cg * p->OCp + u * p->OCp;
                sb_printf(sb, "            { /* tap %d,%d%s */\n", ky, kx,
                          U > 1 ? arena_printf(e->arena, ", channel ic + %d", u) : "");
                for (int v = 0; v < NVC; v++)
                    sb_printf(sb, "                %s w%d = %s_load(wp + %d);\n", F, v, F,
                              tap + v * VL);
                for (int v = 0; v < NVC && P > 1; v++)
                    sb_printf(sb, "                %s_keep(w%d);\n", F, v);
                for (int q = 0; q < P; q++) {
                    int qy = q / BW, qx = q % BW;
                    int off = (qy * p->SH + ky * p->DH) * p->inrow +
                              (qx * p->SW + kx * p->DW) * p->ipx + u;
                    sb_printf(sb, "                %s x%d = %s_set1(ip[%d + ic]);\n", F, q, F, off);
                }
                for (int q = 0; q < P; q++)
                    for (int v = 0; v < NVC; v++)
                        sb_printf(sb, "                a%d_%d = %s_fma(w%d, x%d, a%d_%d);\n", q, v,
                                  F, v, q, q, v);
                sb_puts(sb, "            }\n");
            }
    sb_puts(sb, "        }\n");
    /* epilogue: (max over the pool window,) bias, the fused add's tensors, activation, store */
    const char *ob = chunks > 1 ? arena_printf(e->arena, " + ob * %d", NVC * VL) : "";
    emit_pixel_ptr(e, "float *op", "out", o, arena_printf(e->arena, "%s%s", gout, ob));
    for (int k = 1; k < e->nin; k++)
        emit_pixel_ptr(e, arena_printf(e->arena, "const float *s%d", k),
                       arena_printf(e->arena, "ins[%d]", k), &e->ins[k],
                       arena_printf(e->arena, "%s%s", gout, ob));
    bool bias = e->params[1] != NULL;
    for (int v = 0; v < NVC; v++) {
        /* the channels of vector v that exist: all but in a padded last vector */
        int lanes = p->OCg - v * VL < VL ? p->OCg - v * VL : VL;
        const char *n = lanes < VL ? arena_printf(e->arena, "_n") : "";
        const char *nl = lanes < VL ? arena_printf(e->arena, ", %d", lanes) : "";
        for (int wy = 0; wy < blk.bh; wy++)
            for (int wx = 0; wx < blk.bw; wx++) { /* an output: the max of its window's pixels */
                for (int q = 0, first = 1; q < P; q++)
                    if (q / BW / pk == wy && q % BW / pk == wx) {
                        sb_printf(sb,
                                  first ? "        {\n            %s r = a%d_%d;\n"
                                        : "            r = %s_maxn(r, a%d_%d);\n",
                                  F, q, v);
                        first = 0;
                    }
                if (bias)
                    sb_printf(sb, "            r = %s_add(r, %s_load(%s_b + %d%s%s));\n", F, F,
                              e->name, v * VL, gout, ob);
                for (int k = 1; k < e->nin; k++)
                    sb_printf(sb, "            r = %s_add(r, %s_load%s(s%d + %d%s));\n", F, F, n, k,
                              wy * clayout_row(&e->ins[k]) + wx * clayout_px(&e->ins[k]) + v * VL,
                              nl);
                emit_act(sb, e->act, f, "r", 12);
                sb_printf(sb, "            %s_store%s(op + %d, r%s);\n        }\n", F, n,
                          wy * clayout_row(o) + wx * clayout_px(o) + v * VL, nl);
            }
    }
    sb_puts(sb, "    }\n");
}

static void conv_body(Emit *e, const VecFam *f, const void *ctx)
{
    const ConvPlan *p = ctx;
    int VL = f->width, NV = VL > 1 ? p->OCp / VL : p->OCg, cols = p->OW / p->pk;
    ConvBlock blk = conv_block(p, NV, VL);
    if (p->G > 1)
        sb_printf(e->code, "    for (int gi = 0; gi < %d; gi++) {\n", p->G);
    conv_nest(e, f, p, blk, 0, cols - blk.tail);
    if (blk.tail) { /* the columns left: one narrower block per band of rows */
        ConvBlock t = blk;
        t.bw = blk.tail;
        conv_nest(e, f, p, t, cols - blk.tail, cols);
    }
    if (p->G > 1)
        sb_puts(e->code, "    }\n");
}

/* Depthwise (groups == channels, one output channel each): the channels are the vector
 * dimension, every tap one multiply-add of a vector of channels, for a row of bw output
 * pixels at a time (bw dividing OW): per kernel row, each input pixel the row's taps read
 * is loaded once and feeds every output pixel that reads it. Weights packed [ky][kx][c]. */
static int dw_block(const ConvPlan *p, int VL)
{
    int best = 1, K = p->KH * p->KW;
    double share = -1;
    for (int bw = 1; bw <= p->OW; bw++) {
        int cols = (bw - 1) * p->SW + (p->KW - 1) * p->DW + 1;
        if (p->OW % bw || bw + p->KW + 2 > vec_regs(VL))
            continue;
        double s = bw * K / 2.0 / (pass_cycles(bw * K, p->KH * (p->KW + cols), K) + bw * 1.5);
        if (s > share + 1e-9) {
            best = bw;
            share = s;
        }
    }
    return best;
}

static void dw_body(Emit *e, const VecFam *f, const void *ctx)
{
    const ConvPlan *p = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    const CLayout *o = &e->out;
    int P = dw_block(p, f->width);
    sb_printf(sb, "    for (int oy = 0; oy < %d; oy++)\n    for (int ox = 0; ox < %d; ox += %d)\n",
              p->OH, p->OW, P);
    sb_printf(sb, "    for (int c = 0; c < %d; c += %d) {\n", p->C, f->width);
    sb_printf(sb, "        const float *ip = in + oy * %d + ox * %d + %d + c;\n", p->SH * p->inrow,
              p->SW * p->ipx, p->dy * p->inrow + p->dx * p->ipx);
    for (int q = 0; q < P; q++)
        sb_printf(sb, "        %s a%d = %s;\n", F, q,
                  e->params[1] ? arena_printf(e->arena, "%s_load(%s_b + c)", F, e->name)
                               : arena_printf(e->arena, "%s_zero()", F));
    int cols = (P - 1) * p->SW + (p->KW - 1) * p->DW + 1;
    for (int ky = 0; ky < p->KH; ky++) {
        sb_puts(sb, "        {\n");
        for (int kx = 0; kx < p->KW; kx++)
            sb_printf(sb, "            %s w%d = %s_load(%s_w + %d + c);\n", F, kx, F, e->name,
                      (ky * p->KW + kx) * p->C);
        for (int j = 0; j < cols; j++) {
            int uses = 0;
            for (int kx = 0; kx < p->KW; kx++) {
                int q = j - kx * p->DW;
                if (q < 0 || q % p->SW || q / p->SW >= P)
                    continue;
                if (uses++ == 0)
                    sb_printf(sb, "            %s x%d = %s_load(ip + %d);\n", F, j, F,
                              ky * p->DH * p->inrow + j * p->ipx);
                if (uses == 2) /* read by two taps: keep it in a register, as conv_body's w */
                    sb_printf(sb, "            %s_keep(x%d);\n", F, j);
                sb_printf(sb, "            a%d = %s_fma(x%d, w%d, a%d);\n", q / p->SW, F, j, kx,
                          q / p->SW);
            }
        }
        sb_puts(sb, "        }\n");
    }
    emit_pixel_ptr(e, "float *op", "out", o, " + c");
    for (int k = 1; k < e->nin; k++)
        emit_pixel_ptr(e, arena_printf(e->arena, "const float *s%d", k),
                       arena_printf(e->arena, "ins[%d]", k), &e->ins[k], " + c");
    for (int q = 0; q < P; q++) {
        for (int k = 1; k < e->nin; k++)
            sb_printf(sb, "        a%d = %s_add(a%d, %s_load(s%d + %d));\n", q, F, q, F, k,
                      q * clayout_px(&e->ins[k]));
        emit_act(sb, e->act, f, arena_printf(e->arena, "a%d", q), 8);
        sb_printf(sb, "        %s_store(op + %d, a%d);\n", F, q * clayout_px(o), q);
    }
    sb_puts(sb, "    }\n");
}

/* The window k of a max pool whose windows tile the conv output (kernel k x k == stride, no
 * padding), or 0 for any other node. */
static int pool_window(const Node *pool)
{
    if (pool->kind != LAYER_MAXPOOL2D)
        return 0;
    const AttrVal *k = &pool->attrs[ir_attr_index(pool->ops, "kernel")];
    const AttrVal *s = &pool->attrs[ir_attr_index(pool->ops, "stride")];
    const AttrVal *pd = &pool->attrs[ir_attr_index(pool->ops, "padding")];
    int64_t kk = k->i[0];
    bool tiles = kk == k->i[1] && s->i[0] == kk && s->i[1] == kk && pd->i[0] == 0 &&
                 pd->i[1] == 0 && pool->out.d[1] * kk <= pool->in.d[1] &&
                 pool->out.d[2] * kk <= pool->in.d[2]; /* no ceil_mode window overhangs */
    return tiles ? (int)kk : 0;
}

/* A step absorbs an activation, a BatchNorm (folded into the weights), an Add (its other
 * inputs added in the epilogue, pixel by pixel) and a max pool whose windows tile the
 * output; the plan keeps their order exact (plan.c). */
static bool fuse(const Node *n, const Node *next)
{
    if (next->ops->emit_act || next->ops->eval_affine || next->kind == LAYER_ADD)
        return true;
    int k = pool_window(next);
    return groups(n) == 1 && k > 0 && k * k <= 12;
}

/* The runtime's kernel pools windows of 2 and 3 itself (conv2d_forward_pool). */
static int fuses_pool(const Node *n, const Node *pool)
{
    int k = pool_window(pool);
    return groups(n) == 1 && (k == 2 || k == 3) ? k : 0;
}

/* ---- Winograd F(2x2, 3x3) ----
 * A 3x3 convolution of stride 1 computes each 2x2 block of outputs (a tile) from the 4x4
 * input patch under it with 16 multiplications per input and output channel instead of 36
 * (Lavin and Gray, 2015): the patch d goes to V = B^T d B, the weights g (at generation
 * time, in double) to U = G g G^T, and the tile is A^T (U . V) A, the product elementwise
 * and summed over input channels. So the step is three passes over a block of tiles in its
 * working memory: the input's transform into V[16][tiles][C], 16 matrix products
 * M[x] = V[x] U[x] (register-blocked as conv_body's), and the output's transform with the
 * epilogue (bias, a fused Add, the activation; with a fused 2x2 max pool, whose windows are
 * the tiles, the maximum of the raw sums first). Every transform adds and subtracts only,
 * so the outputs differ from the direct sums by rounding alone. A tile past the output's
 * edge (an odd one, or a dilated tile's) reads more of the zero border (emit_border asks
 * for it) and stores only its outputs that exist. */
enum { WINO_BUDGET = 16384 }; /* floats of V and M for a block of tiles (64 KiB) */

typedef struct WinoGeom {
    int TY, TX; /* tiles down and across (outputs, or a fused pool's outputs) */
    int R, XB;  /* a block of tiles: R rows of XB */
    int DH, DW; /* dilation: a tile's outputs and its patch's pixels DH rows, DW columns apart */
} WinoGeom;

/* With dilation d, the outputs of a tile are d apart, and tile row t starts at output row
 * (t / d) * 2d + t % d: each run of 2d output rows is d tiles of interleaved rows (d = 1:
 * row 2t). The tiles cover ceil(n / 2d) such runs; the last may reach past the edge. */
static int wino_tiles(int64_t n, int d) { return d * (int)((n + 2 * d - 1) / (2 * d)); }
static int wino_start(int t, int d) { return t / d * 2 * d + t % d; }

/* The zero border one dimension of the input needs for the tiles' patches: pad (the
 * convolution's padding), or more where the last tile's patch reaches past it. */
static int wino_border(int64_t in, int64_t out, int pad, int d)
{
    int last = wino_start(wino_tiles(out, d) - 1, d) + 3 * d; /* padded rows from the first */
    int need = last - (int)in - pad + 1;
    return need > pad ? need : pad;
}

/* Whether n's step (with `pool` fused, or NULL) runs Winograd: a 3x3 stride-1 convolution
 * (dilated or not; with a fused pool, not) of one group whose channel counts fill vectors
 * of 8 and are at least 16 (with fewer, the transforms cost what the products save), where
 * the tiles do not waste a quarter of the multiplications saved on outputs past the edge. */
static bool wino(const Node *n, const Node *pool, WinoGeom *wg)
{
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE], *dl = &n->attrs[A_DILATION];
    int64_t c = n->in.d[0], oc = n->out.d[0], oh = n->out.d[1], ow = n->out.d[2];
    if (k->i[0] != 3 || k->i[1] != 3 || s->i[0] != 1 || s->i[1] != 1 || groups(n) != 1 || c % 8 ||
        oc % 8 || c < 16 || oc < 16 || dl->i[0] > 64 || dl->i[1] > 64)
        return false;
    WinoGeom g = {.DH = (int)dl->i[0], .DW = (int)dl->i[1]};
    if (pool) { /* a fused pool (fuse: it tiles the output): only 2x2, whose windows are tiles */
        if (pool_window(pool) != 2 || g.DH != 1 || g.DW != 1)
            return false;
        g.TY = (int)pool->out.d[1];
        g.TX = (int)pool->out.d[2];
    } else {
        g.TY = wino_tiles(oh, g.DH);
        g.TX = wino_tiles(ow, g.DW);
    }
    if (!pool && 16.0 * g.TY * g.TX > 0.75 * 9.0 * (double)(oh * ow)) /* a pool's tiles fit */
        return false;
    int per_tile = 16 * (int)(c + oc);
    g.XB = WINO_BUDGET / per_tile < 1 ? 1 : WINO_BUDGET / per_tile;
    g.XB = g.XB < g.TX ? g.XB : g.TX;
    g.R = WINO_BUDGET / (per_tile * g.XB);
    g.R = g.R < 1 ? 1 : g.R < g.TY ? g.R : g.TY;
    if (wg)
        *wg = g;
    return true;
}

static size_t emit_scratch(const Node *n, const Node *pool)
{
    WinoGeom g;
    if (!wino(n, pool, &g))
        return 0;
    return (size_t)16 * (size_t)(g.R * g.XB) * (size_t)(n->in.d[0] + n->out.d[0]);
}

/* Winograd embeds U (wino_weights) in place of the kernel: 16 floats for each 9 (an upper
 * bound: weights whose U overflows a float stay direct). */
static size_t emit_weight_floats(const Node *n, const Node *pool)
{
    return wino(n, pool, NULL) ? (size_t)shape_numel(n->params[0].shape) / 9 * 7 : 0;
}

/* U = G g G^T of every pair of channels, packed [x][ic][oc] (x = 4 * row + column of U);
 * NULL if a value does not fit a float. */
static float *wino_weights(Arena *a, const float *w, int C, int OC)
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    float *u = arena_alloc(a, sizeof(float) * 16 * (size_t)C * (size_t)OC);
    for (int oc = 0; oc < OC; oc++)
        for (int ic = 0; ic < C; ic++) {
            const float *g = w + ((size_t)oc * (size_t)C + (size_t)ic) * 9;
            double gg[4][3]; /* G g */
            for (int i = 0; i < 4; i++)
                for (int b = 0; b < 3; b++)
                    gg[i][b] = G[i][0] * g[b] + G[i][1] * g[3 + b] + G[i][2] * g[6 + b];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    double v = gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2];
                    u[((size_t)(4 * i + j) * (size_t)C + (size_t)ic) * (size_t)OC + (size_t)oc] =
                        (float)v;
                }
        }
    /* weights near FLT_MAX whose transform overflows: the direct sums instead */
    for (size_t i = 0; i < (size_t)16 * (size_t)C * (size_t)OC; i++)
        if (!isfinite(u[i]))
            return NULL;
    return u;
}

typedef struct WinoPlan {
    const ConvPlan *p;
    WinoGeom g;
} WinoPlan;

/* The tile counts of the blocks (full, short of rows, of columns, of both): count[i]
 * tiles in each of times[i] blocks. */
static void wino_blocks(const WinoGeom *g, int count[4], int times[4])
{
    int rows[2] = {g->R, g->TY % g->R}, cols[2] = {g->XB, g->TX % g->XB};
    int nrows[2] = {g->TY / g->R, g->TY % g->R != 0},
        ncols[2] = {g->TX / g->XB, g->TX % g->XB != 0};
    for (int i = 0; i < 4; i++) {
        count[i] = rows[i / 2] * cols[i % 2];
        times[i] = nrows[i / 2] * ncols[i % 2];
    }
}

/* The products' register block: nvc output vectors for nt tiles a pass over the input
 * channels, and the tiles a block has past a multiple of nt in one pass of their own; the
 * fewest cycles over all blocks by pass_cycles, with an FMA latency of 5 cycles (AMD's;
 * Intel's 4 needs no more accumulators than that). */
static ConvBlock wino_block(const WinoGeom *g, int NV, int VL)
{
    int count[4], times[4];
    wino_blocks(g, count, times);
    ConvBlock best = {1, 1, 1, 0};
    double least = -1;
    for (int nvc = 1; nvc <= NV; nvc++)
        for (int nt = 1; nt * nvc <= acc_budget(VL) && NV % nvc == 0; nt++) {
            double cycles = 0;
            for (int i = 0; i < 4; i++) {
                int full = count[i] / nt, rest = count[i] % nt;
                double pass = pass_cycles(nvc * nt, nvc + nt, 1);
                double tail = rest ? pass_cycles(nvc * rest, nvc + rest, 1) : 0;
                cycles += (double)times[i] * (NV / nvc) *
                          (full * (pass > 5 ? pass : 5) + (rest ? (tail > 5 ? tail : 5) : 0));
            }
            if (least < 0 || cycles < least - 1e-9) {
                best = (ConvBlock){nvc, 1, nt, 0};
                least = cycles;
            }
        }
    return best;
}

/* The products of nt tiles from tile t on, for nvc vectors of output channels: V's rows
 * from v, U's from u, M's into m (the generated loop's pointers). */
static void wino_product(Emit *e, const VecFam *f, int C, int OCp, int nvc, int nt)
{
    StrBuf *sb = e->code;
    const char *F = f->name;
    int VL = f->width;
    sb_printf(sb, "            {\n                const float *vp = v + t * %d;\n", C);
    for (int q = 0; q < nt; q++)
        for (int j = 0; j < nvc; j++)
            sb_printf(sb, "                %s a%d_%d = %s_zero();\n", F, q, j, F);
    sb_printf(sb, "                for (int ic = 0; ic < %d; ic++) {\n", C);
    for (int j = 0; j < nvc; j++)
        sb_printf(sb, "                    %s w%d = %s_load(u + ic * %d + %d);\n", F, j, F, OCp,
                  j * VL);
    for (int j = 0; j < nvc && nt > 1; j++)
        sb_printf(sb, "                    %s_keep(w%d);\n", F, j);
    for (int q = 0; q < nt; q++) {
        sb_printf(sb, "                    %s x%d = %s_set1(vp[%d + ic]);\n", F, q, F, q * C);
        for (int j = 0; j < nvc; j++)
            sb_printf(sb, "                    a%d_%d = %s_fma(w%d, x%d, a%d_%d);\n", q, j, F, j, q,
                      q, j);
    }
    sb_puts(sb, "                }\n");
    for (int q = 0; q < nt; q++)
        for (int j = 0; j < nvc; j++)
            sb_printf(sb, "                %s_store(m + (t + %d) * %d + %d, a%d_%d);\n", F, q, OCp,
                      j * VL, q, j);
    sb_puts(sb, "            }\n");
}

/* wino_start of tile index t (an expression) with dilation d, as C. */
static const char *wino_start_expr(Arena *a, const char *t, int d)
{
    return d == 1 ? arena_printf(a, "(%s) * 2", t)
                  : arena_printf(a, "(%s) / %d * %d + (%s) %% %d", t, d, 2 * d, t, d);
}

/* `int oy = ..., ox = ...;`: the first output of tile (ty0 + r, tx0 + q) (wino_start). */
static void wino_origin(Emit *e, const WinoGeom *g, const char *indent)
{
    sb_printf(e->code, "%sint oy = %s, ox = %s;\n", indent,
              wino_start_expr(e->arena, "ty0 + r", g->DH),
              wino_start_expr(e->arena, "tx0 + q", g->DW));
}

static void wino_body(Emit *e, const VecFam *f, const void *ctx)
{
    const WinoPlan *wp = ctx;
    const ConvPlan *p = wp->p;
    const WinoGeom *g = &wp->g;
    StrBuf *sb = e->code;
    const char *F = f->name;
    int VL = f->width, C = p->C, OCp = p->OCp, T = g->R * g->XB, pk = p->pk;
    int NV = OCp / VL;
    ConvBlock blk = wino_block(g, NV, VL);
    int nvc = blk.nvc, nt = blk.bw;
    const CLayout *o = &e->out;
    sb_printf(
        sb,
        "    float *restrict wv = scratch, *restrict wm = scratch + %d;\n"
        "    for (int ty0 = 0; ty0 < %d; ty0 += %d)\n"
        "    for (int tx0 = 0; tx0 < %d; tx0 += %d) {\n"
        "        int nr = %d - ty0 < %d ? %d - ty0 : %d, nc = %d - tx0 < %d ? %d - tx0 : %d;\n"
        "        int nt = nr * nc;\n",
        16 * T * C, g->TY, g->R, g->TX, g->XB, g->TY, g->R, g->TY, g->R, g->TX, g->XB, g->TX,
        g->XB);
    /* the input's transform: V = B^T d B, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
    sb_printf(sb,
              "        for (int r = 0, t = 0; r < nr; r++)\n"
              "        for (int q = 0; q < nc; q++, t++)\n"
              "        for (int c = 0; c < %d; c += %d) {\n",
              C, VL);
    wino_origin(e, g, "            ");
    sb_printf(sb, "            const float *ip = in + oy * %d + ox * %d + %d + c;\n", p->inrow,
              p->ipx, p->dy * p->inrow + p->dx * p->ipx);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            sb_printf(sb, "            %s d%d%d = %s_load(ip + %d);\n", F, i, j, F,
                      i * g->DH * p->inrow + j * g->DW * p->ipx);
    for (int j = 0; j < 4; j++)
        sb_printf(sb,
                  "            %s t0%d = %s_sub(d0%d, d2%d), t1%d = %s_add(d1%d, d2%d);\n"
                  "            %s t2%d = %s_sub(d2%d, d1%d), t3%d = %s_sub(d1%d, d3%d);\n",
                  F, j, F, j, j, j, F, j, j, F, j, F, j, j, j, F, j, j);
    for (int i = 0; i < 4; i++) {
        const char *v[4] = {
            arena_printf(e->arena, "%s_sub(t%d0, t%d2)", F, i, i),
            arena_printf(e->arena, "%s_add(t%d1, t%d2)", F, i, i),
            arena_printf(e->arena, "%s_sub(t%d2, t%d1)", F, i, i),
            arena_printf(e->arena, "%s_sub(t%d1, t%d3)", F, i, i),
        };
        for (int j = 0; j < 4; j++)
            sb_printf(sb, "            %s_store(wv + (%d + t) * %d + c, %s);\n", F, (4 * i + j) * T,
                      C, v[j]);
    }
    sb_puts(sb, "        }\n");
    /* the products */
    sb_printf(sb,
              "        for (int x = 0; x < 16; x++)\n"
              "        for (int ob = 0; ob < %d; ob++) {\n"
              "            const float *u = %s_w + x * %d + ob * %d, *v = wv + x * %d;\n"
              "            float *m = wm + x * %d + ob * %d;\n"
              "            int t = 0;\n"
              "            for (; t + %d <= nt; t += %d)\n",
              NV / nvc, e->name, C * OCp, nvc * VL, T * C, T * OCp, nvc * VL, nt, nt);
    wino_product(e, f, C, OCp, nvc, nt);
    /* a block's tiles past a multiple of nt: a pass for each count that occurs */
    int count[4], times[4];
    wino_blocks(g, count, times);
    for (int i = 0; i < 4; i++) {
        int rest = count[i] % nt;
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= times[k] && count[k] % nt == rest;
        if (times[i] && rest && !seen) {
            sb_printf(sb, "            if (nt - t == %d)\n", rest);
            wino_product(e, f, C, OCp, nvc, rest);
        }
    }
    sb_puts(sb, "        }\n");
    /* the output's transform: A^T [m] A, A^T = [1 1 1 0; 0 1 -1 -1] */
    sb_printf(sb,
              "        for (int r = 0, t = 0; r < nr; r++)\n"
              "        for (int q = 0; q < nc; q++, t++)\n"
              "        for (int c = 0; c < %d; c += %d) {\n",
              OCp, VL);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            sb_printf(sb, "            %s m%d%d = %s_load(wm + (%d + t) * %d + c);\n", F, i, j, F,
                      (4 * i + j) * T, OCp);
    for (int j = 0; j < 4; j++)
        sb_printf(sb,
                  "            %s s0%d = %s_add(%s_add(m0%d, m1%d), m2%d);\n"
                  "            %s s1%d = %s_sub(%s_sub(m1%d, m2%d), m3%d);\n",
                  F, j, F, F, j, j, j, F, j, F, F, j, j, j);
    const char *y[4];
    for (int i = 0; i < 2; i++) {
        y[2 * i] = arena_printf(e->arena, "%s_add(%s_add(s%d0, s%d1), s%d2)", F, F, i, i, i);
        y[2 * i + 1] = arena_printf(e->arena, "%s_sub(%s_sub(s%d1, s%d2), s%d3)", F, F, i, i, i);
    }
    if (pk == 1)
        wino_origin(e, g, "            ");
    else
        sb_puts(sb, "            int oy = ty0 + r, ox = tx0 + q;\n");
    emit_pixel_ptr(e, "    float *op", "out", o, " + c");
    for (int k = 1; k < e->nin; k++)
        emit_pixel_ptr(e, arena_printf(e->arena, "    const float *s%d", k),
                       arena_printf(e->arena, "ins[%d]", k), &e->ins[k], " + c");
    if (e->params[1])
        sb_printf(sb, "            %s bias = %s_load(%s_b + c);\n", F, F, e->name);
    if (pk == 2) { /* the pool's window is the tile: its maximum, then the epilogue */
        sb_printf(sb, "            %s v = %s_maxn(%s_maxn(%s, %s), %s_maxn(%s, %s));\n", F, F, F,
                  y[0], y[1], F, y[2], y[3]);
        if (e->params[1])
            sb_printf(sb, "            v = %s_add(v, bias);\n", F);
        emit_act(sb, e->act, f, "v", 12);
        sb_printf(sb, "            %s_store(op, v);\n        }\n    }\n", F);
        return;
    }
    /* the last tiles' start, to know which outputs may lie past the edge */
    int ylast = wino_start(g->TY - 1, g->DH), xlast = wino_start(g->TX - 1, g->DW);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            /* an output past the edge (an odd one, or a dilated tile's) does not exist */
            int ay = i * g->DH, ax = j * g->DW;
            bool cy = ylast + ay >= p->OH, cx = xlast + ax >= p->OW;
            const char *cond = "";
            if (cy || cx)
                cond = arena_printf(e->arena, "if (%s%s%s) ",
                                    cy ? arena_printf(e->arena, "oy + %d < %d", ay, p->OH) : "",
                                    cy && cx ? " && " : "",
                                    cx ? arena_printf(e->arena, "ox + %d < %d", ax, p->OW) : "");
            sb_printf(sb, "            %s{\n                %s v = %s;\n", cond, F, y[2 * i + j]);
            if (e->params[1])
                sb_printf(sb, "                v = %s_add(v, bias);\n", F);
            for (int k = 1; k < e->nin; k++)
                sb_printf(sb, "                v = %s_add(v, %s_load(s%d + %d));\n", F, F, k,
                          ay * clayout_row(&e->ins[k]) + ax * clayout_px(&e->ins[k]));
            emit_act(sb, e->act, f, "v", 16);
            sb_printf(sb, "                %s_store(op + %d, v);\n            }\n", F,
                      ay * clayout_row(o) + ax * clayout_px(o));
        }
    sb_puts(sb, "        }\n    }\n");
}

static int emit_border(const Node *n)
{
    const AttrVal *p = &n->attrs[A_PADDING];
    int pad = (int)(p->i[0] > p->i[1] ? p->i[0] : p->i[1]);
    WinoGeom g;
    if (!wino(n, NULL, &g))
        return pad;
    /* a Winograd tile past the output's edge reads rows or columns beyond the padding */
    int by = wino_border(n->in.d[1], n->out.d[1], (int)p->i[0], g.DH);
    int bx = wino_border(n->in.d[2], n->out.d[2], (int)p->i[1], g.DW);
    return by > bx ? (by > pad ? by : pad) : (bx > pad ? bx : pad);
}

static void emit(const Node *n, Emit *e)
{
    ConvGeom g = geom(n, 1);
    ConvPlan p = {
        .n = n,
        .C = g.C,
        .OC = g.OC,
        .KH = g.KH,
        .KW = g.KW,
        .SH = g.SH,
        .SW = g.SW,
        .DH = g.DH,
        .DW = g.DW,
        .dy = e->in.pad - g.PH,
        .dx = e->in.pad - g.PW,
        .OH = g.OH,
        .OW = g.OW,
        .inrow = clayout_row(&e->in),
        .ipx = clayout_px(&e->in),
        .G = groups(n),
        .Cg = g.C / groups(n),
        .OCg = g.OC / groups(n),
    };
    p.pk = 1;
    if (e->pool)
        p.pk = (int)e->pool->attrs[ir_attr_index(e->pool->ops, "kernel")].i[0];
    bool dw = depthwise(n) && p.OCg == 1;
    /* a few output channels that no vector width divides (LeNet's 6): padded with zero
     * weights to a multiple of 8, so the vector families run, storing only the real lanes */
    p.OCp = p.OCg;
    if (!dw && p.G == 1 && p.OCg % 8 != 0 && p.OCg > 2 && p.OCg < 32)
        p.OCp = (p.OCg + 7) / 8 * 8;
    WinoPlan wp = {.p = &p};
    float *u = wino(n, e->pool, &wp.g) ? wino_weights(e->arena, e->params[0], g.C, g.OC) : NULL;
    if (u) {
        emit_array(e, "w", u, (size_t)16 * g.C * g.OC);
        if (e->params[1])
            emit_array(e, "b", e->params[1], (size_t)g.OC);
        sb_printf(e->code,
                  "/* %s: Conv2d %d->%d k3x3 s1x1 p%dx%d d%dx%d%s -> %dx%dx%d, Winograd "
                  "F(2x2,3x3) in blocks of %dx%d tiles */\n",
                  n->path, g.C, g.OC, g.PH, g.PW, g.DH, g.DW, emit_fused_names(e), e->out.c,
                  e->out.h, e->out.w, wp.g.R, wp.g.XB);
        emit_step_open(e);
        emit_step_body(e, g.C % 16 == 0 ? g.OC : 8, wino_body, &wp);
        return;
    }
    /* weights packed [group][ky][kx][ic][oc] (a depthwise one: [ky][kx][c]) */
    int Cg = p.Cg, OCg = p.OCg, OCp = p.OCp;
    size_t taps = (size_t)g.KH * (size_t)g.KW, nw = (size_t)(g.OC / OCg * OCp) * (size_t)Cg * taps;
    float *packed = arena_alloc(e->arena, sizeof(float) * nw);
    memset(packed, 0, sizeof(float) * nw);
    for (int oc = 0; oc < g.OC; oc++)
        for (int ic = 0; ic < Cg; ic++)
            for (size_t t = 0; t < taps; t++) {
                size_t gi = (size_t)(oc / OCg), o = (size_t)(oc % OCg);
                size_t at = dw ? t * (size_t)g.OC + (size_t)oc
                               : gi * taps * (size_t)Cg * (size_t)OCp +
                                     (t * (size_t)Cg + (size_t)ic) * (size_t)OCp + o;
                packed[at] = e->params[0][((size_t)oc * (size_t)Cg + (size_t)ic) * taps + t];
            }
    emit_array(e, "w", packed, nw);
    if (e->params[1]) {
        float *b = arena_alloc(e->arena, sizeof(float) * (size_t)(g.OC - OCg + OCp));
        memset(b, 0, sizeof(float) * (size_t)(g.OC - OCg + OCp));
        memcpy(b, e->params[1], sizeof(float) * (size_t)g.OC);
        emit_array(e, "b", b, (size_t)(g.OC - OCg + OCp));
    }
    sb_printf(e->code, "/* %s: Conv2d %d->%d k%dx%d s%dx%d p%dx%d d%dx%d g%d%s -> %dx%dx%d */\n",
              n->path, g.C, g.OC, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, p.G,
              emit_fused_names(e), e->out.c, e->out.h, e->out.w);
    emit_step_open(e);
    if (e->scratch) /* planned for Winograd, whose weights did not fit a float */
        sb_puts(e->code, "    (void)scratch;\n");
    if (dw)
        emit_step_body(e, g.C, dw_body, &p);
    else
        emit_step_body(e, OCp, conv_body, &p);
}

const LayerOps layer_conv2d = {
    .kind = LAYER_CONV2D,
    .name = "Conv2d",
    .summary = "2-d convolution over CxHxW (torch.nn.Conv2d)",
    .example = "Conv2d 4 k3 p1",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .has_in_out = true,
    .shape = shape,
    .init = init,
    .scratch = scratch,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .emit_border = emit_border,
    .emit_scratch = emit_scratch,
    .emit_weight_floats = emit_weight_floats,
    .fuse = fuse,
    .fuses_pool = fuses_pool,
};
