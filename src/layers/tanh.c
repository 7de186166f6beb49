/* tanh.c: Tanh, as torch.nn.Tanh. Backward uses the output. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    tanh_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        tanh_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    sb_printf(sb, "%s = %s_tanh(%s);\n", var, f->name, var);
}

const LayerOps layer_tanh = {
    .kind = LAYER_TANH,
    .name = "Tanh",
    .summary = "hyperbolic tangent (torch.nn.Tanh)",
    .example = "Tanh",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
};
