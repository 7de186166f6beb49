/* relu.c: ReLU, as torch.nn.ReLU: max(0, x). Backward uses the output's sign. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    relu_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        relu_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    /* max(0, v): the vector max returns its second operand when one is NaN, so NaN stays */
    sb_printf(sb, "%s = %s_max(%s_zero(), %s);\n", var, f->name, f->name, var);
}

const LayerOps layer_relu = {
    .kind = LAYER_RELU,
    .name = "ReLU",
    .summary = "max(0, x) (torch.nn.ReLU)",
    .example = "ReLU",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
    .commutes_with_max = true,
};
