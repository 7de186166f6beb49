/* linear.c: Linear, as torch.nn.Linear: attributes, shape rule, init, forward, backward and
 * C emitter. Weight [out, in], bias [out]. On a flat input it maps the features; on a
 * CxHxW input, as PyTorch, only the last dimension: each row's W values become `out`
 * values (CxHxout), the same weights for every channel and row. */
#include <string.h>

#include "layer.h"

enum { A_IN, A_OUT, A_BIAS, A_INIT };

static const AttrSpec attrs[] = {
    [A_IN] = {"in", NULL, ATTR_INT, NULL, false, 1, 1 << 28, 1, 1, NULL,
              "input features (inferred; checked when given)"},
    [A_OUT] = {"out", NULL, ATTR_INT, NULL, true, 1, 1 << 24, 1, 1, NULL, "output features"},
    [A_BIAS] = {"bias", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL, "learnable bias"},
    [A_INIT] = {"init", NULL, ATTR_ENUM, "default", false, 0, 0, 0, 0, ir_init_names,
                "weight initialiser (default: kaiming_uniform a=sqrt(5), as PyTorch)"},
};
static const char *const positional[] = {"out", NULL};

static void shape(Node *n, Diag *d)
{
    int last = n->in.rank - 1;
    int64_t in = n->in.d[last], out = n->attrs[A_OUT].i[0];
    layer_check_in(n, A_IN, in, d);
    n->attrs[A_IN].i[0] = in;
    n->attrs[A_IN].n = 1;
    n->out = n->in;
    n->out.d[last] = out;
    ir_param_add(n, "weight", shape_make(2, (int64_t[]){out, in}), in, out);
    if (n->attrs[A_BIAS].b)
        ir_param_add(n, "bias", shape_make(1, &out), in, out);
    n->macs = shape_numel(n->out) * in;
    n->shaped = true;
}

static void init(const Node *n, float *const *params, Rng *rng)
{
    layer_init_weight_bias(n, params, rng, n->attrs[A_INIT].e);
}

/* Rows of `in` features a sample holds (1 when flat, H of a CxHxW input) and the channels
 * each row's values have (1 when flat). */
static int rows_of(const Node *n) { return n->in.rank == 3 ? (int)n->in.d[1] : 1; }
static int chans_of(const Node *n) { return n->in.rank == 3 ? (int)n->in.d[0] : 1; }

static void forward(const Node *n, LayerRun *r)
{
    int last = n->in.rank - 1, IN = (int)n->in.d[last], OUT = (int)n->out.d[last];
    const float *b = n->nparams > 1 ? r->params[1] : NULL;
    if (n->in.rank == 3)
        linear_hwc_forward(r->out, r->in, r->params[0], b, r->batch * rows_of(n), IN, OUT,
                           chans_of(n));
    else
        linear_forward(r->out, r->in, r->params[0], b, r->batch, IN, OUT);
}

static size_t saved(const Node *n)
{
    return (size_t)shape_numel(n->out); /* the output gradient, kept until the last part */
}

/* The input gradient part by part; the weight gradient once, on a chunk's last part, over
 * the whole chunk (its inputs are still in place, and each part's output gradient was kept
 * in `saved`): one product over 12 rows beats 6 over 2, each reading and writing all of dw. */
static void backward(const Node *n, LayerRun *r)
{
    int last = n->in.rank - 1, IN = (int)n->in.d[last], OUT = (int)n->out.d[last];
    size_t per_in = (size_t)shape_numel(n->in), per_out = (size_t)shape_numel(n->out);
    int R = rows_of(n), C = chans_of(n);
    float *db = n->nparams > 1 ? r->grads[1] : NULL;
    const float *in0 = r->in - (size_t)r->row * per_in,
                *dout0 = r->saved - (size_t)r->row * per_out;
    memcpy(r->saved, r->dout, sizeof(float) * (size_t)r->batch * per_out);
    if (n->in.rank == 3) {
        linear_hwc_backward(r->din, NULL, NULL, r->dout, r->in, r->params[0], r->batch * R, IN, OUT,
                            C);
        if (r->last)
            linear_hwc_backward(NULL, r->grads[0], db, dout0, in0, r->params[0],
                                (r->row + r->batch) * R, IN, OUT, C);
        return;
    }
    linear_backward(r->din, NULL, NULL, r->dout, r->in, r->params[0], r->batch, IN, OUT);
    if (r->last)
        linear_backward(NULL, r->grads[0], db, dout0, in0, r->params[0], r->row + r->batch, IN,
                        OUT);
}

/* ---- C emitter ----
 * One dot product per output, vectorised along the input with four accumulators. When the
 * input is a flattened HWC image, the weight columns are permuted at generation time so
 * the product matches PyTorch's CHW flatten exactly in meaning. */

typedef struct LinPlan {
    const Node *n;
    int in, out;
} LinPlan;

static void linear_body(Emit *e, const VecFam *f, const void *ctx)
{
    const LinPlan *p = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    int VL = f->width, nacc = (p->in / VL) % 4 == 0 ? 4 : (p->in / VL) % 2 == 0 ? 2 : 1;
    sb_printf(sb, "    for (int o = 0; o < %d; o++) {\n", p->out);
    sb_printf(sb, "        const float *w = %s_w + o * %d;\n", e->name, p->in);
    for (int k = 0; k < nacc; k++)
        sb_printf(sb, "        %s s%d = %s_zero();\n", F, k, F);
    sb_printf(sb, "        for (int i = 0; i < %d; i += %d) {\n", p->in, nacc * VL);
    for (int k = 0; k < nacc; k++)
        sb_printf(sb, "            s%d = %s_fma(%s_load(w + i + %d), %s_load(in + i + %d), s%d);\n",
                  k, F, F, k * VL, F, k * VL, k);
    sb_puts(sb, "        }\n");
    for (int k = 1; k < nacc; k++)
        sb_printf(sb, "        s0 = %s_add(s0, s%d);\n", F, k);
    sb_printf(sb, "        vf1 r = %s_hsum(s0)%s;\n", F,
              e->params[1] ? arena_printf(e->arena, " + %s_b[o]", e->name) : "");
    static const VecFam scalar = {"vf1", 1, NULL};
    emit_act(sb, e->act, &scalar, "r", 8);
    sb_puts(sb, "        out[o] = r;\n    }\n");
}

/* On a CxHxW input (HWC in generated code): for each row and output column, the channels
 * as vectors, each the sum over the row's pixels of a broadcast weight times the pixel. */
static void linear_image_body(Emit *e, const VecFam *f, const void *ctx)
{
    const LinPlan *p = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    int C = e->in.c;
    sb_printf(sb, "    for (int y = 0; y < %d; y++)\n", e->in.h);
    sb_printf(sb, "        for (int o = 0; o < %d; o++) {\n", p->out);
    sb_printf(sb, "            const float *w = %s_w + o * %d;\n", e->name, p->in);
    sb_puts(sb, "            const float *row = in + ");
    emit_index(sb, &e->in, "y", "0", "0");
    sb_puts(sb, ";\n            float *dst = out + ");
    emit_index(sb, &e->out, "y", "o", "0");
    sb_printf(sb, ";\n            for (int c = 0; c < %d; c += %d) {\n", C, f->width);
    if (e->params[1])
        sb_printf(sb, "                %s s = %s_set1(%s_b[o]);\n", F, F, e->name);
    else
        sb_printf(sb, "                %s s = %s_zero();\n", F, F);
    sb_printf(sb, "                for (int x = 0; x < %d; x++)\n", p->in);
    sb_printf(sb, "                    s = %s_fma(%s_set1(w[x]), %s_load(row + x * %d + c), s);\n",
              F, F, F, clayout_px(&e->in));
    emit_act(sb, e->act, f, "s", 16);
    sb_printf(sb, "                %s_store(dst + c, s);\n            }\n        }\n", F);
}

/* An activation, and a BatchNorm1d folded into the weights (a BatchNorm2d after a Linear on
 * an image normalises its channels, which the weights do not hold apart: not folded). */
static bool fuse(const Node *n, const Node *next)
{
    return next->ops->emit_act || (next->ops->eval_affine && n->out.rank == 1);
}

static void emit(const Node *n, Emit *e)
{
    int last = n->in.rank - 1;
    LinPlan p = {.n = n, .in = (int)n->in.d[last], .out = (int)n->out.d[last]};
    if (n->in.rank == 3) {
        emit_array(e, "w", e->params[0], (size_t)p.in * (size_t)p.out);
        if (e->params[1])
            emit_array(e, "b", e->params[1], (size_t)p.out);
        sb_printf(e->code, "/* %s: Linear %d->%d on each row of a %dx%dx%d image%s */\n", n->path,
                  p.in, p.out, e->in.c, e->in.h, e->in.w, emit_fused_names(e));
        emit_step_open(e);
        emit_step_body(e, e->in.c, linear_image_body, &p);
        return;
    }
    const float *w = e->params[0];
    float *packed = arena_alloc(e->arena, sizeof(float) * (size_t)p.in * (size_t)p.out);
    for (int o = 0; o < p.out; o++)
        for (int i = 0; i < p.in; i++) {
            int src = i; /* column i of the generated input order, in PyTorch's order */
            if (e->in.perm) {
                int c = i % e->in.pc, pix = i / e->in.pc;
                src = c * e->in.ph * e->in.pw + pix;
            }
            packed[(size_t)o * (size_t)p.in + (size_t)i] =
                w[(size_t)o * (size_t)p.in + (size_t)src];
        }
    emit_array(e, "w", packed, (size_t)p.in * (size_t)p.out);
    if (e->params[1])
        emit_array(e, "b", e->params[1], (size_t)p.out);
    sb_printf(e->code, "/* %s: Linear %d->%d%s%s */\n", n->path, p.in, p.out, emit_fused_names(e),
              e->in.perm ? " (columns in HWC order)" : "");
    emit_step_open(e);
    emit_step_body(e, p.in, linear_body, &p);
}

const LayerOps layer_linear = {
    .kind = LAYER_LINEAR,
    .name = "Linear",
    .summary = "fully connected layer on the features, or on the last dimension of an image "
               "(torch.nn.Linear)",
    .example = "Linear 6",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .has_in_out = true,
    .shape = shape,
    .init = init,
    .saved = saved,
    .forward = forward,
    .backward = backward,
    .backward_reads_chunk = true,
    .emit = emit,
    .fuse = fuse,
};
