/* flatten.c: Flatten, as torch.nn.Flatten (start_dim 1): CxHxW -> C*H*W in PyTorch's order.
 * The runtime keeps images channels-last, so flattening a multi-channel image transposes
 * it (and backward transposes back); otherwise the data is already in order and the node is
 * a view, with no memory or copy of its own. */
#include <string.h>

#include "layer.h"

static void shape(Node *n, Diag *d)
{
    (void)d;
    int64_t numel = shape_numel(n->in);
    n->out = shape_make(1, &numel);
    n->shaped = true;
}

static bool view(const Node *n) { return !layout_differs(n->in); }

static void forward(const Node *n, LayerRun *r)
{
    if (layout_differs(n->in))
        layout_transpose(r->out, r->in, r->batch, (int)n->in.d[0], (int)(n->in.d[1] * n->in.d[2]),
                         false);
    else if (r->out != r->in)
        memcpy(r->out, r->in, sizeof(float) * layer_run_numel(n, r));
}

static void backward(const Node *n, LayerRun *r)
{
    if (!r->din)
        return;
    if (layout_differs(n->in))
        layout_transpose(r->din, r->dout, r->batch, (int)n->in.d[0], (int)(n->in.d[1] * n->in.d[2]),
                         true);
    else if (r->din != r->dout)
        memcpy(r->din, r->dout, sizeof(float) * layer_run_numel(n, r));
}

const LayerOps layer_flatten = {
    .kind = LAYER_FLATTEN,
    .name = "Flatten",
    .summary = "CxHxW -> C*H*W (torch.nn.Flatten)",
    .example = "Flatten",
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit_copy_step,
    .infer_identity = true,
    .view = view,
};
