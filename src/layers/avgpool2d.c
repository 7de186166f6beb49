/* avgpool2d.c: AvgPool2d, as torch.nn.AvgPool2d (ceil_mode, count_include_pad):
 * attributes, shape rule, forward, backward and C emitter. */
#include "layer.h"

enum { A_KERNEL, A_STRIDE, A_PADDING, A_CEIL, A_COUNT };

static const AttrSpec attrs[] = {
    [A_KERNEL] = {"kernel", "k", ATTR_INTS, NULL, true, 1, 1024, 1, 2, NULL,
                  "window size: k or [kh, kw]"},
    [A_STRIDE] = {"stride", "s", ATTR_INTS, NULL, false, 1, 1024, 1, 2, NULL,
                  "stride (default: the kernel size)"},
    [A_PADDING] = {"padding", "p", ATTR_INTS, "0", false, 0, 512, 1, 2, NULL,
                   "zero padding counted in the average, at most half the kernel"},
    [A_CEIL] = {"ceil_mode", NULL, ATTR_BOOL, "false", false, 0, 0, 0, 0, NULL,
                "round the output size up (a last window may overhang)"},
    [A_COUNT] = {"count_include_pad", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL,
                 "the average counts the zero padding"},
};
static const char *const positional[] = {"kernel", "stride", NULL};

static PoolGeom geom(const Node *n, int batch)
{
    return layer_pool_geom(n, batch, A_KERNEL, A_STRIDE, A_PADDING);
}

static void shape(Node *n, Diag *d) { layer_shape_pool(n, d, A_KERNEL, A_STRIDE, A_PADDING); }

static void forward(const Node *n, LayerRun *r)
{
    PoolGeom g = geom(n, r->batch);
    avgpool2d_forward(r->out, r->in, &g);
}

static void backward(const Node *n, LayerRun *r)
{
    PoolGeom g = geom(n, r->batch);
    if (r->din)
        avgpool2d_backward(r->din, r->dout, &g);
}

static void emit(const Node *n, Emit *e)
{
    PoolGeom g = geom(n, 1);
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
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
