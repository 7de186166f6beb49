/* silu.c: SiLU, as torch.nn.SiLU: x * sigmoid(x). Not monotonic (its minimum is -0.28 near
 * x = -1.28) and not in place: backward reads the input. */
#include "layer.h"

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
    .forward = layer_map_forward,
    .backward = layer_map_backward,
    .map_forward = silu_forward,
    .map_backward = silu_backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
};
