/* flatten.c: Flatten, as torch.nn.Flatten (start_dim 1): CxHxW -> C*H*W. Data is already
 * contiguous, so forward and backward are copies. */
#include <string.h>

#include "layer.h"

static void shape(Node *n, Diag *d)
{
    (void)d;
    int64_t numel = shape_numel(n->in);
    n->out = shape_make(1, &numel);
    n->shaped = true;
}

static void forward(const Node *n, LayerRun *r)
{
    if (r->out != r->in)
        memcpy(r->out, r->in, sizeof(float) * (size_t)r->batch * (size_t)shape_numel(n->out));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din && r->din != r->dout)
        memcpy(r->din, r->dout, sizeof(float) * (size_t)r->batch * (size_t)shape_numel(n->out));
}

const LayerOps layer_flatten = {
    .kind = LAYER_FLATTEN,
    .name = "Flatten",
    .summary = "CxHxW -> C*H*W (torch.nn.Flatten)",
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit_copy_step,
    .infer_identity = true,
    .view = true,
};
