/* conv2d.c: Conv2d, as torch.nn.Conv2d (groups=1): attributes, shape rule, init, forward,
 * backward and C emitter. Weight [out, in, kh, kw], bias [out]. */
#include "layer.h"

enum { A_IN, A_OUT, A_KERNEL, A_STRIDE, A_PADDING, A_DILATION, A_BIAS, A_INIT };

static const AttrSpec attrs[] = {
    [A_IN] = {"in", NULL, ATTR_INT, NULL, false, 1, 1 << 20, 1, 1, NULL,
              "input channels (inferred; checked when given)"},
    [A_OUT] = {"out", NULL, ATTR_INT, NULL, true, 1, 1 << 20, 1, 1, NULL, "output channels"},
    [A_KERNEL] = {"kernel", "k", ATTR_INTS, NULL, true, 1, 1024, 1, 2, NULL,
                  "kernel size: k or [kh, kw]"},
    [A_STRIDE] = {"stride", "s", ATTR_INTS, "1", false, 1, 1024, 1, 2, NULL, "stride"},
    [A_PADDING] = {"padding", "p", ATTR_INTS, "0", false, 0, 1024, 1, 2, NULL,
                   "zero padding on each side"},
    [A_DILATION] = {"dilation", "d", ATTR_INTS, "1", false, 1, 1024, 1, 2, NULL,
                    "spacing between kernel taps"},
    [A_BIAS] = {"bias", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL, "learnable bias"},
    [A_INIT] = {"init", NULL, ATTR_ENUM, "default", false, 0, 0, 0, 0, ir_init_names,
                "weight initialiser (default: kaiming_uniform a=sqrt(5), as PyTorch)"},
};
static const char *const positional[] = {"out", "kernel", NULL};

static ConvGeom geom(const Node *n, int batch)
{
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE],
                  *p = &n->attrs[A_PADDING], *dl = &n->attrs[A_DILATION];
    return (ConvGeom){
        .B = batch, .C = (int)n->in.d[0], .H = (int)n->in.d[1], .W = (int)n->in.d[2],
        .OC = (int)n->out.d[0], .KH = (int)attr_pair(k, 0), .KW = (int)attr_pair(k, 1),
        .SH = (int)attr_pair(s, 0), .SW = (int)attr_pair(s, 1), .PH = (int)attr_pair(p, 0),
        .PW = (int)attr_pair(p, 1), .DH = (int)attr_pair(dl, 0), .DW = (int)attr_pair(dl, 1),
        .OH = (int)n->out.d[1], .OW = (int)n->out.d[2],
    };
}

static void shape(Node *n, Diag *d)
{
    if (!layer_need_image(n, d))
        return;
    int64_t c = n->in.d[0];
    layer_check_in(n, A_IN, c, d);
    n->attrs[A_IN].i[0] = c;
    n->attrs[A_IN].n = 1;
    const AttrVal *k = &n->attrs[A_KERNEL], *s = &n->attrs[A_STRIDE],
                  *p = &n->attrs[A_PADDING], *dl = &n->attrs[A_DILATION];
    int64_t out[2];
    for (int i = 0; i < 2; i++)
        out[i] = ir_conv_out(n->in.d[1 + i], attr_pair(k, i), attr_pair(s, i), attr_pair(p, i),
                             attr_pair(dl, i));
    if (out[0] < 1 || out[1] < 1) {
        diag_error(d, n->loc,
                   "'Conv2d' output would be %lldx%lld: input %lldx%lld, kernel %lldx%lld, "
                   "stride %lldx%lld, padding %lldx%lld, dilation %lldx%lld",
                   (long long)out[0], (long long)out[1], (long long)n->in.d[1],
                   (long long)n->in.d[2], (long long)attr_pair(k, 0), (long long)attr_pair(k, 1),
                   (long long)attr_pair(s, 0), (long long)attr_pair(s, 1),
                   (long long)attr_pair(p, 0), (long long)attr_pair(p, 1),
                   (long long)attr_pair(dl, 0), (long long)attr_pair(dl, 1));
        if (n->inputs[0])
            diag_note(d, n->inputs[0]->loc, "the %lldx%lld input comes from '%s' here",
                      (long long)n->in.d[1], (long long)n->in.d[2], n->inputs[0]->ops->name);
        return;
    }
    int64_t oc = n->attrs[A_OUT].i[0], kk = attr_pair(k, 0) * attr_pair(k, 1);
    n->out = shape_make(3, (int64_t[]){oc, out[0], out[1]});
    if (shape_numel(n->out) > SHAPE_MAX_NUMEL || oc * c * kk > SHAPE_MAX_NUMEL) {
        char buf[64], lim[32];
        fmt_thousands(lim, SHAPE_MAX_NUMEL);
        if (shape_numel(n->out) > SHAPE_MAX_NUMEL)
            diag_error(d, n->loc, "'Conv2d' output %s is too large: more than %s values",
                       shape_str(n->out, buf), lim);
        else
            diag_error(d, n->loc, "'Conv2d' weight %lldx%lldx%lldx%lld is too large: more "
                                  "than %s values",
                       (long long)oc, (long long)c, (long long)attr_pair(k, 0),
                       (long long)attr_pair(k, 1), lim);
        return;
    }
    ir_param_add(n, "weight", shape_make(4, (int64_t[]){oc, c, attr_pair(k, 0), attr_pair(k, 1)}),
                 c * kk, oc * kk);
    if (n->attrs[A_BIAS].b)
        ir_param_add(n, "bias", shape_make(1, (int64_t[]){oc}), c * kk, oc * kk);
    n->macs = oc * out[0] * out[1] * c * kk;
    n->shaped = true;
}

static void init(const Node *n, float *const *params, Rng *rng)
{
    layer_init_weight_bias(n, params, rng, n->attrs[A_INIT].e);
}

static size_t scratch(const Node *n, int batch)
{
    ConvGeom g = geom(n, batch);
    return conv2d_scratch_floats(&g);
}

static void forward(const Node *n, LayerRun *r)
{
    ConvGeom g = geom(n, r->batch);
    conv2d_forward(r->out, r->in, r->params[0], n->nparams > 1 ? r->params[1] : NULL, &g,
                   r->scratch);
}

static void backward(const Node *n, LayerRun *r)
{
    ConvGeom g = geom(n, r->batch);
    conv2d_backward(r->din, r->grads[0], n->nparams > 1 ? r->grads[1] : NULL, r->dout, r->in,
                    r->params[0], &g, r->scratch);
}

const LayerOps layer_conv2d = {
    .kind = LAYER_CONV2D,
    .name = "Conv2d",
    .summary = "2-d convolution over CxHxW (torch.nn.Conv2d)",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .has_in_out = true,
    .shape = shape,
    .init = init,
    .scratch = scratch,
    .forward = forward,
    .backward = backward,
};
