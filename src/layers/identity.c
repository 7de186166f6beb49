/* identity.c: Identity, as torch.nn.Identity: the input as it is. A view: the runtime gives
 * it no memory and skips it, and generated code aliases it. */
#include <string.h>

#include "layer.h"

static bool view(const Node *n)
{
    (void)n;
    return true;
}

/* Never called for a view in a net; kept exact for the hooks' own tests. */
static void forward(const Node *n, LayerRun *r)
{
    if (r->out != r->in)
        memcpy(r->out, r->in, sizeof(float) * layer_run_numel(n, r));
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din && r->din != r->dout)
        memcpy(r->din, r->dout, sizeof(float) * layer_run_numel(n, r));
}

const LayerOps layer_identity = {
    .kind = LAYER_IDENTITY,
    .name = "Identity",
    .summary = "the input, unchanged (torch.nn.Identity)",
    .example = "Identity",
    .shape = layer_shape_same,
    .forward = forward,
    .backward = backward,
    .emit = emit_copy_step,
    .infer_identity = true,
    .view = view,
};
