/* dropout.c: Dropout, as torch.nn.Dropout: in training, zeroes each element with
 * probability p and scales the rest by 1/(1-p); identity in evaluation. The mask is drawn
 * from the run's seeded RNG and kept for backward. */
#include <string.h>

#include "layer.h"

enum { A_P };

static const AttrSpec attrs[] = {
    [A_P] = {"p", NULL, ATTR_FLOAT, "0.5", false, 0, 1, 1, 1, NULL,
             "probability of zeroing an element, in [0, 1]"},
};
static const char *const positional[] = {"p", NULL};

static size_t saved(const Node *n) { return (size_t)shape_numel(n->out); /* the mask */ }

static void forward(const Node *n, LayerRun *r)
{
    size_t cnt = layer_run_numel(n, r);
    double p = n->attrs[A_P].f[0];
    if (!r->training || p == 0) {
        if (r->out != r->in)
            memcpy(r->out, r->in, sizeof(float) * cnt);
        return;
    }
    /* PyTorch: bernoulli(1 - p).div_(1 - p), a float32 division by the rounded 1 - p */
    float scale = p < 1 ? 1.0f / (float)(1.0 - p) : 0.0f;
    for (size_t i = 0; i < cnt; i++)
        r->saved[i] = rng_uniform(r->rng) < p ? 0.0f : scale;
    dropout_forward(r->out, r->in, r->saved, cnt);
}

static void backward(const Node *n, LayerRun *r)
{
    size_t cnt = layer_run_numel(n, r);
    if (!r->din)
        return;
    if (n->attrs[A_P].f[0] == 0)
        memcpy(r->din, r->dout, sizeof(float) * cnt);
    else
        dropout_backward(r->din, r->dout, r->saved, cnt);
}

const LayerOps layer_dropout = {
    .kind = LAYER_DROPOUT,
    .name = "Dropout",
    .summary = "zeroes elements with probability p while training (torch.nn.Dropout)",
    .example = "Dropout 0.25",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = layer_shape_same,
    .saved = saved,
    .forward = forward,
    .backward = backward,
    .inplace = true,
    .emit = emit_copy_step,
    .infer_identity = true,
};
