/* tanh.c: Tanh, as torch.nn.Tanh. Backward uses the output. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    tanh_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        tanh_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

const LayerOps layer_tanh = {
    .kind = LAYER_TANH,
    .name = "Tanh",
    .summary = "hyperbolic tangent (torch.nn.Tanh)",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
};
