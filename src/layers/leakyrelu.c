/* leakyrelu.c: LeakyReLU, as torch.nn.LeakyReLU: x if x >= 0 else slope * x, for any slope
 * (a negative one too, as PyTorch's: then it is not monotonic). */
#include "layer.h"

enum { A_SLOPE };

static const AttrSpec attrs[] = {
    [A_SLOPE] = {"negative_slope", NULL, ATTR_FLOAT, "0.01", false, -1e6, 1e6, 1, 1, NULL,
                 "slope for x < 0"},
};
static const char *const positional[] = {"negative_slope", NULL};

static void forward(const Node *n, LayerRun *r)
{
    leaky_relu_forward(r->out, r->in, layer_run_numel(n, r), (float)n->attrs[A_SLOPE].f[0]);
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        leaky_relu_backward(r->din, r->dout, r->in, layer_run_numel(n, r),
                            (float)n->attrs[A_SLOPE].f[0]);
}

/* The activation on one vector variable of the generated code. */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    char s[32];
    fmt_c_float(s, sizeof s, (float)n->attrs[A_SLOPE].f[0]);
    sb_printf(sb,
              "%s = %s_add(%s_max(%s_zero(), %s), %s_mul(%s_set1(%s), %s_min(%s_zero(), %s)));\n",
              var, f->name, f->name, f->name, var, f->name, f->name, s, f->name, f->name, var);
}

static bool monotonic_if(const Node *n) { return n->attrs[A_SLOPE].f[0] >= 0; }

const LayerOps layer_leakyrelu = {
    .kind = LAYER_LEAKYRELU,
    .name = "LeakyReLU",
    .summary = "x for x >= 0, negative_slope * x otherwise (torch.nn.LeakyReLU)",
    .example = "LeakyReLU 0.1",
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
