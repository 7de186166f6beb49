/* relu.c: ReLU, as torch.nn.ReLU: max(0, x). Backward uses the output's sign. */
#include "layer.h"

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
    .forward = layer_map_forward,
    .backward = layer_map_backward,
    .map_forward = relu_forward,
    .map_backward = relu_backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
    .commutes_with_max = true,
};
