/* avgpool2d.c: AvgPool2d, as torch.nn.AvgPool2d (ceil_mode, count_include_pad):
 * attributes, shape rule, forward, backward and C emitter. */
#include "layer.h"

enum { A_COUNT = POOL_A_OWN };

static const AttrSpec attrs[] = {
    POOL_ATTRS("zero padding counted in the average, at most half the kernel"),
    [A_COUNT] = {"count_include_pad", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL,
                 "the average counts the zero padding"},
};
static const char *const positional[] = {"kernel", "stride", NULL};

static void forward(const Node *n, LayerRun *r)
{
    PoolGeom g = layer_pool_geom(n, r->batch);
    avgpool2d_forward(r->out, r->in, &g);
}

static void backward(const Node *n, LayerRun *r)
{
    PoolGeom g = layer_pool_geom(n, r->batch);
    if (r->din)
        avgpool2d_backward(r->din, r->dout, &g);
}

static void emit(const Node *n, Emit *e)
{
    PoolGeom g = layer_pool_geom(n, 1);
    emit_pool(n, e, &g, false);
}

const LayerOps layer_avgpool2d = {
    .kind = LAYER_AVGPOOL2D,
    .name = "AvgPool2d",
    .summary = "2-d average pooling (torch.nn.AvgPool2d)",
    .example = "AvgPool2d 2",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = layer_shape_pool,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
