/* gelu.c: GELU, as torch.nn.GELU (approximate 'none': x * Phi(x), or 'tanh'). Neither
 * monotonic (it dips to -0.17 near x = -0.75) nor in place: backward reads the input. */
#include "layer.h"

enum { A_APPROX };

static const char *const approx_names[] = {"none", "tanh", NULL};
static const AttrSpec attrs[] = {
    [A_APPROX] = {"approximate", NULL, ATTR_ENUM, "none", false, 0, 0, 0, 0, approx_names,
                  "'none': x * Phi(x) with erf; 'tanh': PyTorch's tanh approximation"},
};
static const char *const positional[] = {"approximate", NULL};

static bool tanh_approx(const Node *n) { return n->attrs[A_APPROX].e == 1; }

static void forward(const Node *n, LayerRun *r)
{
    gelu_forward(r->out, r->in, layer_run_numel(n, r), tanh_approx(n));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        gelu_backward(r->din, r->dout, r->in, layer_run_numel(n, r), tanh_approx(n));
}

/* The tanh approximation through the family's tanh; erf lane by lane through libm, as the
 * kernel computes it (the prelude has no vector erf). */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    char a[32], b[32], k[32];
    fmt_c_float(a, sizeof a, GELU_ALPHA);
    fmt_c_float(b, sizeof b, GELU_BETA);
    fmt_c_float(k, sizeof k, GELU_KAPPA);
    const char *F = f->name, *x = var;
    if (tanh_approx(n)) { /* 0.5 x (1 + tanh(beta (x + kappa x^3))) */
        sb_printf(sb,
                  "%s = %s_mul(%s_mul(%s_set1(0.5f), %s), %s_add(%s_set1(1.0f), %s_tanh(%s_mul("
                  "%s_set1(%s), %s_fma(%s_mul(%s_set1(%s), %s_mul(%s, %s)), %s, %s)))));\n",
                  x, F, F, F, x, F, F, F, F, F, b, F, F, F, k, F, x, x, x, x);
        return;
    }
    sb_printf(sb,
              "{ float t_[%d]; %s_store(t_, %s); for (int l_ = 0; l_ < %d; l_++) t_[l_] = "
              "t_[l_] * 0.5f * (1.0f + erff(t_[l_] * %s)); %s = %s_load(t_); }\n",
              f->width, F, x, f->width, a, x, F);
}

const LayerOps layer_gelu = {
    .kind = LAYER_GELU,
    .name = "GELU",
    .summary = "x * Phi(x), or its tanh approximation (torch.nn.GELU)",
    .example = "GELU",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise,
    .emit_act = emit_act_fn,
};
