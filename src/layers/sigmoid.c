/* sigmoid.c: Sigmoid, as torch.nn.Sigmoid. Backward uses the output. */
#include "layer.h"

static void forward(const Node *n, LayerRun *r)
{
    sigmoid_forward(r->out, r->in, (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        sigmoid_backward(r->din, r->dout, r->out, (size_t)r->batch * (size_t)shape_numel(n->out));
}

const LayerOps layer_sigmoid = {
    .kind = LAYER_SIGMOID,
    .name = "Sigmoid",
    .summary = "1 / (1 + exp(-x)) (torch.nn.Sigmoid)",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
};
