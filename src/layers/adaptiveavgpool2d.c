/* adaptiveavgpool2d.c: AdaptiveAvgPool2d, as torch.nn.AdaptiveAvgPool2d: an output of the
 * size asked for, output row i averaging input rows [floor(i H / OH), ceil((i + 1) H / OH))
 * (and columns likewise); `AdaptiveAvgPool2d 1` is the global average of each channel. */
#include "layer.h"

enum { A_SIZE };

static const AttrSpec attrs[] = {
    [A_SIZE] = {"output_size", NULL, ATTR_INTS, NULL, true, 1, 1 << 20, 1, 2, NULL,
                "output height and width: n or [h, w]"},
};
static const char *const positional[] = {"output_size", NULL};

static int64_t out_dim(const Node *n, int i) { return n->attrs[A_SIZE].i[i]; }

static void shape(Node *n, Diag *d)
{
    if (!layer_need_image(n, d))
        return;
    n->out = shape_make(3, (int64_t[]){n->in.d[0], out_dim(n, 0), out_dim(n, 1)});
    n->macs = 0;
    n->shaped = true;
}

static void forward(const Node *n, LayerRun *r)
{
    adaptive_avgpool2d_forward(r->out, r->in, r->batch, (int)n->in.d[0], (int)n->in.d[1],
                               (int)n->in.d[2], (int)n->out.d[1], (int)n->out.d[2]);
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        adaptive_avgpool2d_backward(r->din, r->dout, r->batch, (int)n->in.d[0], (int)n->in.d[1],
                                    (int)n->in.d[2], (int)n->out.d[1], (int)n->out.d[2]);
}

/* ---- C emitter: each output's window bounds as the kernel computes them, the channels in
 * vectors; the sum divided by the window's rows, then by its columns, as PyTorch does ---- */

static void body(Emit *e, const VecFam *f, const void *ctx)
{
    const Node *n = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    const CLayout *i = &e->in, *o = &e->out;
    int H = (int)n->in.d[1], W = (int)n->in.d[2], OH = (int)n->out.d[1], OW = (int)n->out.d[2];
    sb_printf(sb, "    for (int oy = 0; oy < %d; oy++)\n    for (int ox = 0; ox < %d; ox++) {\n",
              OH, OW);
    /* in 64 bits: (oy + 1) * H passes 2^31 for a tall input and output */
    sb_printf(sb,
              "        int y0 = (int)(oy * %dLL / %d), y1 = (int)(((oy + 1) * %dLL + %d) / %d);\n"
              "        int x0 = (int)(ox * %dLL / %d), x1 = (int)(((ox + 1) * %dLL + %d) / %d);\n",
              H, OH, H, OH - 1, OH, W, OW, W, OW - 1, OW);
    sb_printf(sb, "        for (int c = 0; c < %d; c += %d) {\n", i->c, f->width);
    sb_printf(sb, "            %s r = %s_zero();\n", F, F);
    sb_puts(sb, "            for (int y = y0; y < y1; y++)\n"
                "                for (int x = x0; x < x1; x++)\n");
    sb_printf(sb, "                    r = %s_add(r, %s_load(in + ", F, F);
    emit_index(sb, i, "y", "x", "c");
    sb_puts(sb, "));\n");
    sb_printf(sb,
              "            r = %s_mul(r, %s_set1(1.0f / (float)(y1 - y0)));\n"
              "            r = %s_mul(r, %s_set1(1.0f / (float)(x1 - x0)));\n",
              F, F, F, F);
    emit_act(sb, e->act, f, "r", 12);
    sb_printf(sb, "            %s_store(out + ", F);
    emit_index(sb, o, "oy", "ox", "c");
    sb_puts(sb, ", r);\n");
    sb_puts(sb, "        }\n    }\n");
}

static void emit(const Node *n, Emit *e)
{
    sb_printf(e->code, "/* %s: AdaptiveAvgPool2d %dx%d -> %dx%d%s%s */\n", n->path, (int)n->in.d[1],
              (int)n->in.d[2], (int)n->out.d[1], (int)n->out.d[2], e->act ? " + " : "",
              e->act ? e->act->ops->name : "");
    sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
              e->name);
    emit_step_body(e, (int)n->in.d[0], body, n);
}

const LayerOps layer_adaptiveavgpool2d = {
    .kind = LAYER_ADAPTIVEAVGPOOL2D,
    .name = "AdaptiveAvgPool2d",
    .summary = "averages windows that give the output size asked for "
               "(torch.nn.AdaptiveAvgPool2d)",
    .example = "AdaptiveAvgPool2d 2",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
