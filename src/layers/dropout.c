/* dropout.c: Dropout and Dropout2d, as torch.nn's: in training, Dropout zeroes each element
 * with probability p and Dropout2d each channel of an image (every pixel of it), and both
 * scale the rest by 1/(1-p); identity in evaluation. The mask (an element's factor, or a
 * channel's) is drawn from the run's seeded RNG, sample by sample, and kept for backward.
 * The draws are not PyTorch's (its generator is its own); the rule is. */
#include <string.h>

#include "layer.h"

enum { A_P };

static const AttrSpec attrs[] = {
    [A_P] = {"p", NULL, ATTR_FLOAT, "0.5", false, 0, 1, 1, 1, NULL,
             "probability of zeroing an element, in [0, 1]"},
};
static const char *const positional[] = {"p", NULL};

static size_t saved(const Node *n) { return (size_t)shape_numel(n->out); /* the mask */ }

/* PyTorch: bernoulli(1 - p).div_(1 - p), a float32 division by the rounded 1 - p */
static float keep_scale(double p) { return p < 1 ? 1.0f / (float)(1.0 - p) : 0.0f; }

static void forward(const Node *n, LayerRun *r)
{
    size_t cnt = layer_run_numel(n, r);
    double p = n->attrs[A_P].f[0];
    if (!r->training || p == 0) {
        if (r->out != r->in)
            memcpy(r->out, r->in, sizeof(float) * cnt);
        return;
    }
    float scale = keep_scale(p);
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

/* ---- Dropout2d: a factor a channel of each image (the runtime's images are channels
 * last: pixel after pixel of C values) ---- */

static void shape2d(Node *n, Diag *d)
{
    if (!layer_need_image(n, d)) {
        diag_hint(d, n->head_loc, "for a flat input, use 'Dropout'");
        return;
    }
    layer_shape_same(n, d);
}

static size_t saved2d(const Node *n) { return (size_t)n->in.d[0]; /* a channel's factor */ }

/* out = in times its channel's factor, image by image (in place when out == in) */
static void scale_channels(float *out, const float *in, const float *mask, const Node *n, int batch)
{
    size_t C = (size_t)n->in.d[0], pix = (size_t)(n->in.d[1] * n->in.d[2]);
    for (int b = 0; b < batch; b++)
        for (size_t q = 0; q < pix; q++) {
            size_t at = ((size_t)b * pix + q) * C;
            for (size_t c = 0; c < C; c++)
                out[at + c] = in[at + c] * mask[(size_t)b * C + c];
        }
}

static void forward2d(const Node *n, LayerRun *r)
{
    double p = n->attrs[A_P].f[0];
    if (!r->training || p == 0) {
        if (r->out != r->in)
            memcpy(r->out, r->in, sizeof(float) * layer_run_numel(n, r));
        return;
    }
    float scale = keep_scale(p);
    for (size_t i = 0; i < (size_t)r->batch * (size_t)n->in.d[0]; i++)
        r->saved[i] = rng_uniform(r->rng) < p ? 0.0f : scale;
    scale_channels(r->out, r->in, r->saved, n, r->batch);
}

static void backward2d(const Node *n, LayerRun *r)
{
    if (!r->din)
        return;
    if (n->attrs[A_P].f[0] == 0)
        memcpy(r->din, r->dout, sizeof(float) * layer_run_numel(n, r));
    else
        scale_channels(r->din, r->dout, r->saved, n, r->batch);
}

const LayerOps layer_dropout2d = {
    .kind = LAYER_DROPOUT2D,
    .name = "Dropout2d",
    .summary = "zeroes whole channels of an image with probability p while training "
               "(torch.nn.Dropout2d)",
    .example = "Dropout2d 0.25",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = shape2d,
    .saved = saved2d,
    .forward = forward2d,
    .backward = backward2d,
    .inplace = true,
    .emit = emit_copy_step,
    .infer_identity = true,
};
