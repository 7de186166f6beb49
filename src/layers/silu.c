/* silu.c: SiLU, as torch.nn.SiLU: x * sigmoid(x). Not monotonic (its minimum is -0.28 near
 * x = -1.28) and not in place: backward reads the input. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    silu_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        silu_backward(r->din, r->dout, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

/* x * sigmoid(x), through the family's sigmoid (libm's for the portable one). */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    sb_printf(sb, "%s = %s_mul(%s, %s_sigmoid(%s));\n", var, f->name, var, f->name, var);
}

const LayerOps layer_silu = {
    .kind = LAYER_SILU,
    .name = "SiLU",
    .summary = "x * sigmoid(x) (torch.nn.SiLU)",
    .example = "SiLU",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
};
