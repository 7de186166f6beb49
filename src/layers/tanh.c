/* tanh.c: Tanh, as torch.nn.Tanh. Backward uses the output. */
#include "layer.h"

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    emit_act_call(sb, f, var, "tanh");
}

const LayerOps layer_tanh = {
    .kind = LAYER_TANH,
    .name = "Tanh",
    .summary = "hyperbolic tangent (torch.nn.Tanh)",
    .example = "Tanh",
    .shape = layer_shape_same,
    .forward = layer_map_forward,
    .backward = layer_map_backward,
    .map_forward = tanh_forward,
    .map_backward = tanh_backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
};
