/* elu.c: ELU, as torch.nn.ELU: x if x > 0 else alpha * (exp(x) - 1), for any alpha (a
 * negative one too, as PyTorch's: then it is not monotonic). Not in place: backward reads
 * the input. */
#include "layer.h"

enum { A_ALPHA };

static const AttrSpec attrs[] = {
    [A_ALPHA] = {"alpha", NULL, ATTR_FLOAT, "1.0", false, -1e6, 1e6, 1, 1, NULL,
                 "the value approached as x goes to -infinity is -alpha"},
};
static const char *const positional[] = {"alpha", NULL};

static void forward(const Node *n, LayerRun *r)
{
    elu_forward(r->out, r->in, layer_run_numel(n, r), (float)n->attrs[A_ALPHA].f[0]);
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        elu_backward(r->din, r->dout, r->in, layer_run_numel(n, r), (float)n->attrs[A_ALPHA].f[0]);
}

/* max(x, 0) + (exp(min(x, 0)) - 1) * alpha: one of the two terms is an exact 0, so it is
 * the interpreter's x > 0 ? x : (exp(x) - 1) * alpha; the vector max and min return x
 * when it is NaN. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    char a[32];
    fmt_c_float(a, sizeof a, (float)n->attrs[A_ALPHA].f[0]);
    const char *F = f->name;
    sb_printf(sb,
              "%s = %s_add(%s_max(%s_zero(), %s), "
              "%s_mul(%s_sub(%s_exp(%s_min(%s_zero(), %s)), %s_set1(1.0f)), %s_set1(%s)));\n",
              var, F, F, F, var, F, F, F, F, F, var, F, F, a);
}

static bool monotonic_if(const Node *n) { return n->attrs[A_ALPHA].f[0] >= 0; }

const LayerOps layer_elu = {
    .kind = LAYER_ELU,
    .name = "ELU",
    .summary = "x for x > 0, alpha * (exp(x) - 1) otherwise (torch.nn.ELU)",
    .example = "ELU",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
    .monotonic = true,
    .monotonic_if = monotonic_if,
};
