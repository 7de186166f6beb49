/* sigmoid.c: Sigmoid, as torch.nn.Sigmoid. Backward uses the output. */
#include "layer.h"

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    emit_act_call(sb, f, var, "sigmoid");
}

const LayerOps layer_sigmoid = {
    .kind = LAYER_SIGMOID,
    .name = "Sigmoid",
    .summary = "1 / (1 + exp(-x)) (torch.nn.Sigmoid)",
    .example = "Sigmoid",
    .shape = layer_shape_same,
    .forward = layer_map_forward,
    .backward = layer_map_backward,
    .map_forward = sigmoid_forward,
    .map_backward = sigmoid_backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
};
