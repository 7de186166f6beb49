/* maxpool2d.c: MaxPool2d, as torch.nn.MaxPool2d (dilation 1; ceil_mode): attributes,
 * shape rule, forward (remembering each window's argmax for backward),
 * backward and C emitter. */
#include "layer.h"

static const AttrSpec attrs[] = {
    POOL_ATTRS("implicit -inf padding, at most half the kernel"),
};
static const char *const positional[] = {"kernel", "stride", NULL};

static size_t saved(const Node *n)
{
    return (size_t)shape_numel(n->out); /* int32 argmax per output */
}

static void forward(const Node *n, LayerRun *r)
{
    PoolGeom g = layer_pool_geom(n, r->batch);
    maxpool2d_forward(r->out, r->training ? (int32_t *)r->saved : NULL, r->in, &g);
}

static void backward(const Node *n, LayerRun *r)
{
    PoolGeom g = layer_pool_geom(n, r->batch);
    if (r->din)
        maxpool2d_backward(r->din, r->dout, (const int32_t *)r->saved, &g);
}

static void emit(const Node *n, Emit *e)
{
    PoolGeom g = layer_pool_geom(n, 1);
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
    .shape = layer_shape_pool,
    .saved = saved,
    .selects_max = true,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
