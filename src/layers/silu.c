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

/* Lane by lane, as the kernel computes it. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    (void)n;
    sb_printf(sb,
              "{ float t_[%d]; %s_store(t_, %s); for (int l_ = 0; l_ < %d; l_++) "
              "t_[l_] = t_[l_] / (1.0f + expf(-t_[l_])); %s = %s_load(t_); }\n",
              f->width, f->name, var, f->width, var, f->name);
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
