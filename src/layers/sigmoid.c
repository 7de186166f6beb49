/* sigmoid.c: Sigmoid, as torch.nn.Sigmoid. Backward uses the output. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    sigmoid_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        sigmoid_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    sb_printf(sb, "%s = %s_sigmoid(%s);\n", var, f->name, var);
}

const LayerOps layer_sigmoid = {
    .kind = LAYER_SIGMOID,
    .name = "Sigmoid",
    .summary = "1 / (1 + exp(-x)) (torch.nn.Sigmoid)",
    .example = "Sigmoid",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
};
