/* relu.c: ReLU, as torch.nn.ReLU: max(0, x). Backward uses the output's sign. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    relu_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        relu_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

const LayerOps layer_relu = {
    .kind = LAYER_RELU,
    .name = "ReLU",
    .summary = "max(0, x) (torch.nn.ReLU)",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
};
