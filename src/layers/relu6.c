/* relu6.c: ReLU6, as torch.nn.ReLU6 (Hardtanh(0, 6), MobileNetV2's activation):
 * min(max(x, 0), 6). Monotonic, and in place: backward reads the output, which lies strictly
 * between 0 and 6 exactly where the gradient passes. */
#include "layer.h"

/* The activation on one vector variable of the generated code: the vector max and min
 * return their second operand when one is NaN (NaN stays) and when both are zeros (-0
 * stays, as PyTorch's clamp keeps it). */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    sb_printf(sb, "%s = %s_min(%s_set1(6.0f), %s_max(%s_zero(), %s));\n", var, f->name, f->name,
              f->name, f->name, var);
}

const LayerOps layer_relu6 = {
    .kind = LAYER_RELU6,
    .name = "ReLU6",
    .summary = "min(max(0, x), 6) (torch.nn.ReLU6)",
    .example = "ReLU6",
    .shape = layer_shape_same,
    .forward = layer_map_forward,
    .backward = layer_map_backward,
    .map_forward = relu6_forward,
    .map_backward = relu6_backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .inplace = true,
    .backward_reads_out = true,
    .commutes_with_max = true,
};
