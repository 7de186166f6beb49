/* maxpool2d.c: MaxPool2d, as torch.nn.MaxPool2d (dilation 1; ceil_mode): attributes,
 * shape rule, forward (remembering each window's argmax for backward),
 * backward and C emitter. */
#include "layer.h"

enum { A_KERNEL, A_STRIDE, A_PADDING, A_CEIL };

static const AttrSpec attrs[] = {
    [A_KERNEL] = {"kernel", "k", ATTR_INTS, NULL, true, 1, 1024, 1, 2, NULL,
                  "window size: k or [kh, kw]"},
    [A_STRIDE] = {"stride", "s", ATTR_INTS, NULL, false, 1, 1024, 1, 2, NULL,
                  "stride (default: the kernel size)"},
    [A_PADDING] = {"padding", "p", ATTR_INTS, "0", false, 0, 512, 1, 2, NULL,
                   "implicit -inf padding, at most half the kernel"},
    [A_CEIL] = {"ceil_mode", NULL, ATTR_BOOL, "false", false, 0, 0, 0, 0, NULL,
                "round the output size up (a last window may overhang)"},
};
static const char *const positional[] = {"kernel", "stride", NULL};

static PoolGeom geom(const Node *n, int batch)
{
    return layer_pool_geom(n, batch, A_KERNEL, A_STRIDE, A_PADDING);
}

static void shape(Node *n, Diag *d) { layer_shape_pool(n, d, A_KERNEL, A_STRIDE, A_PADDING); }

static size_t saved(const Node *n)
{
    return (size_t)shape_numel(n->out); /* int32 argmax per output */
}

static void forward(const Node *n, LayerRun *r)
{
    PoolGeom g = geom(n, r->batch);
    maxpool2d_forward(r->out, r->training ? (int32_t *)r->saved : NULL, r->in, &g);
}

static void backward(const Node *n, LayerRun *r)
{
    PoolGeom g = geom(n, r->batch);
    if (r->din)
        maxpool2d_backward(r->din, r->dout, (const int32_t *)r->saved, &g);
}

static void emit(const Node *n, Emit *e)
{
    PoolGeom g = geom(n, 1);
    emit_pool(n, e, &g, true);
}

const LayerOps layer_maxpool2d = {
    .kind = LAYER_MAXPOOL2D,
    .name = "MaxPool2d",
    .summary = "2-d max pooling (torch.nn.MaxPool2d)",
    .example = "MaxPool2d 2",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = shape,
    .saved = saved,
    .selects_max = true,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
