/* softmax.c: Softmax over the features of a flat input, as torch.nn.Softmax(dim=1), or
 * dim=-1, the same dimension of a flat [batch, features] input. */
#include "layer.h"

enum { A_DIM };

static const AttrSpec attrs[] = {
    [A_DIM] = {"dim", NULL, ATTR_INT, "1", false, -1, 1, 1, 1, NULL,
               "dimension to normalise (1 or -1: the features of a flat input)"},
};
static const char *const positional[] = {"dim", NULL};

static void shape(Node *n, Diag *d)
{
    const AttrVal *dim = &n->attrs[A_DIM];
    if (dim->i[0] == 0) { /* torch.nn.Softmax(dim=0) normalises across the batch's samples */
        diag_error(d, dim->set ? dim->loc : n->loc,
                   "Softmax over dim 0 would mix the samples of a batch (dim 0 is the batch)");
        diag_hint(d, dim->set ? dim->loc : n->loc,
                  "'dim=1' (or -1) normalises each sample's features");
        return;
    }
    if (!layer_need_flat(n, d))
        return;
    layer_shape_same(n, d);
}

static void forward(const Node *n, LayerRun *r)
{
    softmax_forward(r->out, r->in, r->batch, (int)n->out.d[0]);
}

static void backward(const Node *n, LayerRun *r)
{
    if (r->din)
        softmax_backward(r->din, r->dout, r->out, r->batch, (int)n->out.d[0]);
}

/* Emitted as scalar code: max, exp, sum, scale, as the interpreter's kernel. */
static void emit(const Node *n, Emit *e)
{
    int N = (int)n->out.d[0];
    sb_printf(e->code,
              "/* %s: Softmax over %d features */\n"
              "static void %s(const float *restrict in, float *restrict out)\n{\n"
              "    float mx = in[0], sum = 0.0f;\n"
              "    for (int i = 1; i < %d; i++)\n        mx = in[i] > mx ? in[i] : mx;\n"
              "    for (int i = 0; i < %d; i++) {\n        out[i] = expf(in[i] - mx);\n"
              "        sum += out[i];\n    }\n"
              "    for (int i = 0; i < %d; i++)\n        out[i] /= sum;\n}\n\n",
              n->path, N, e->name, N, N, N);
}

const LayerOps layer_softmax = {
    .kind = LAYER_SOFTMAX,
    .name = "Softmax",
    .summary = "exp(x) / sum(exp(x)) over the features (torch.nn.Softmax(dim=1), or dim=-1)",
    .example = "Softmax",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .backward_reads_out = true,
    .emit = emit,
};
