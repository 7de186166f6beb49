/* linear.c: Linear, as torch.nn.Linear on a flat input: attributes, shape rule, init,
 * forward, backward and C emitter. Weight [out, in], bias [out]. */
#include "layer.h"

enum { A_IN, A_OUT, A_BIAS, A_INIT };

static const AttrSpec attrs[] = {
    [A_IN] = {"in", NULL, ATTR_INT, NULL, false, 1, 1 << 28, 1, 1, NULL,
              "input features (inferred; checked when given)"},
    [A_OUT] = {"out", NULL, ATTR_INT, NULL, true, 1, 1 << 24, 1, 1, NULL, "output features"},
    [A_BIAS] = {"bias", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL, "learnable bias"},
    [A_INIT] = {"init", NULL, ATTR_ENUM, "default", false, 0, 0, 0, 0, ir_init_names,
                "weight initialiser (default: kaiming_uniform a=sqrt(5), as PyTorch)"},
};
static const char *const positional[] = {"out", NULL};

static void shape(Node *n, Diag *d)
{
    if (!layer_need_flat(n, d))
        return;
    int64_t in = n->in.d[0], out = n->attrs[A_OUT].i[0];
    layer_check_in(n, A_IN, in, d);
    n->attrs[A_IN].i[0] = in;
    n->attrs[A_IN].n = 1;
    n->out = shape_make(1, &out);
    ir_param_add(n, "weight", shape_make(2, (int64_t[]){out, in}), in, out);
    if (n->attrs[A_BIAS].b)
        ir_param_add(n, "bias", shape_make(1, &out), in, out);
    n->macs = in * out;
    n->shaped = true;
}

static void init(const Node *n, float *const *params, Rng *rng)
{
    layer_init_weight_bias(n, params, rng, n->attrs[A_INIT].e);
}

static void forward(const Node *n, LayerRun *r)
{
    linear_forward(r->out, r->in, r->params[0], n->nparams > 1 ? r->params[1] : NULL, r->batch,
                   (int)n->in.d[0], (int)n->out.d[0]);
}

static void backward(const Node *n, LayerRun *r)
{
    linear_backward(r->din, r->grads[0], n->nparams > 1 ? r->grads[1] : NULL, r->dout, r->in,
                    r->params[0], r->batch, (int)n->in.d[0], (int)n->out.d[0]);
}

const LayerOps layer_linear = {
    .kind = LAYER_LINEAR,
    .name = "Linear",
    .summary = "fully connected layer on a flat input (torch.nn.Linear)",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .has_in_out = true,
    .shape = shape,
    .init = init,
    .forward = forward,
    .backward = backward,
};
