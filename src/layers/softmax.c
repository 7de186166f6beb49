/* softmax.c: Softmax and LogSoftmax, as torch.nn.Softmax(dim) and torch.nn.LogSoftmax(dim):
 * over the features of a flat input (dim 1 or -1), or over one dimension of a CxHxW input (1
 * or -3 the channels, 2 or -2 the rows, 3 or -1 the columns). Dim 0 (and -2 of a flat input,
 * -4 of an image) is the batch: refused. The two kinds differ only in the last step (divide
 * by the sum, or subtract its log), so they share this file. */
#include "layer.h"

enum { A_DIM };

static const AttrSpec attrs[] = {
    [A_DIM] = {"dim", NULL, ATTR_INT, "1", false, -64, 63, 1, 1, NULL,
               "dimension to normalise, as PyTorch counts an (N, ...) batch: flat 1 or -1; "
               "CxHxW 1..3 or -3..-1 (0 is the batch)"},
};
static const char *const positional[] = {"dim", NULL};

/* The dimension normalised, 0-based within a sample (0: channels or features), or -1 when
 * it is not one of the sample's. */
static int sample_dim(const Node *n)
{
    int dim = (int)n->attrs[A_DIM].i[0], rank = n->in.rank;
    if (dim < 0)
        dim += rank + 1;
    return dim >= 1 && dim <= rank ? dim - 1 : -1;
}

static void shape(Node *n, Diag *d)
{
    const AttrVal *dim = &n->attrs[A_DIM];
    SrcLoc at = dim->set ? dim->loc : n->loc;
    int rank = n->in.rank, v = (int)dim->i[0];
    if (v == 0 || v == -rank - 1) { /* torch.nn.Softmax(dim=0) normalises across the batch */
        diag_error(d, at,
                   "%s over dim %d would mix the samples of a batch (dim %d is the "
                   "batch)",
                   n->ops->name, v, v);
        diag_hint(d, at, "'%s' (or -%d) normalises each sample's %s",
                  loc_yaml(at) ? "dim: 1" : "dim=1", rank, rank == 1 ? "features" : "channels");
        return;
    }
    if (sample_dim(n) < 0) {
        char s[64];
        diag_error(d, at,
                   "%s dim %d is out of range for a %s input (a batch of them has "
                   "dimensions 0 to %d, or -%d to -1)",
                   n->ops->name, v, shape_str(n->in, s), rank, rank + 1);
        diag_hint(d, at, "%s",
                  rank == 1 ? (loc_yaml(at) ? "a flat input takes 'dim: 1' (or -1)"
                                            : "a flat input takes 'dim=1' (or -1)")
                            : "a CxHxW input takes dim 1, 2 or 3 (or -3, -2, -1)");
        return;
    }
    layer_shape_same(n, d);
}

/* The runtime's (outer, N, inner) view of a batch: N values normalised together, `inner`
 * apart, in blocks of N * inner (channels-last images: (H, W, C) a sample). */
static void norm_lines(const Node *n, int batch, int *outer, int *N, int *inner)
{
    if (n->in.rank == 1) {
        *outer = batch, *N = (int)n->in.d[0], *inner = 1;
        return;
    }
    int C = (int)n->in.d[0], H = (int)n->in.d[1], W = (int)n->in.d[2];
    switch (sample_dim(n)) {
    case 0: *outer = batch * H * W, *N = C, *inner = 1; break;
    case 1: *outer = batch, *N = H, *inner = W * C; break;
    default: *outer = batch * H, *N = W, *inner = C; break;
    }
}

static bool is_log(const Node *n) { return n->kind == LAYER_LOGSOFTMAX; }

static void forward(const Node *n, LayerRun *r)
{
    int outer, N, inner;
    norm_lines(n, r->batch, &outer, &N, &inner);
    (is_log(n) ? logsoftmax_forward : softmax_forward)(r->out, r->in, outer, N, inner);
}

static void backward(const Node *n, LayerRun *r)
{
    int outer, N, inner;
    norm_lines(n, r->batch, &outer, &N, &inner);
    if (r->din)
        (is_log(n) ? logsoftmax_backward : softmax_backward)(r->din, r->dout, r->out, outer, N,
                                                             inner);
}

/* An image's softmax, scalar: for each pixel (or row, or column), max, exp, sum, scale over
 * the dimension, each element addressed in its (possibly bordered) layout. */
static void image_body(Emit *e, const VecFam *f, const void *ctx)
{
    (void)f;
    const Node *n = ctx;
    StrBuf *sb = e->code;
    static const char *const idx[3][3] = {
        /* y, x, c of element j of the line (a, b) for each dimension normalised */
        {"a", "b", "j"},
        {"j", "a", "b"},
        {"a", "j", "b"},
    };
    int dim = sample_dim(n), C = e->in.c, H = e->in.h, W = e->in.w;
    int A = dim == 1 ? W : H, B = dim == 0 ? W : C, N = dim == 0 ? C : dim == 1 ? H : W;
    const char *const *ix = idx[dim];
    sb_printf(sb, "    for (int a = 0; a < %d; a++)\n        for (int b = 0; b < %d; b++) {\n", A,
              B);
    sb_puts(sb, "            float mx = in[");
    emit_index(sb, &e->in, dim == 1 ? "0" : ix[0], dim == 2 ? "0" : ix[1], dim == 0 ? "0" : ix[2]);
    sb_puts(sb, "], sum = 0.0f;\n");
    sb_printf(sb, "            for (int j = 1; j < %d; j++) {\n                float v = in[", N);
    emit_index(sb, &e->in, ix[0], ix[1], ix[2]);
    sb_puts(sb, "];\n                mx = v > mx ? v : mx;\n            }\n");
    sb_printf(sb, "            for (int j = 0; j < %d; j++) {\n                float v = expf(in[",
              N);
    emit_index(sb, &e->in, ix[0], ix[1], ix[2]);
    sb_puts(sb, "] - mx);\n");
    if (!is_log(n)) {
        sb_puts(sb, "                out[");
        emit_index(sb, &e->out, ix[0], ix[1], ix[2]);
        sb_puts(sb, "] = v;\n");
    }
    sb_puts(sb, "                sum += v;\n            }\n");
    sb_printf(sb, "            for (int j = 0; j < %d; j++)\n                out[", N);
    emit_index(sb, &e->out, ix[0], ix[1], ix[2]);
    if (is_log(n)) { /* x - max - log(sum) */
        sb_puts(sb, "] = in[");
        emit_index(sb, &e->in, ix[0], ix[1], ix[2]);
        sb_puts(sb, "] - mx - logf(sum);\n        }\n");
    } else {
        sb_puts(sb, "] /= sum;\n        }\n");
    }
}

/* Emitted as scalar code: max, exp, sum, scale, as the interpreter's kernel. */
static void emit(const Node *n, Emit *e)
{
    if (n->in.rank == 3) {
        static const char *const what[] = {"channels", "rows", "columns"};
        sb_printf(e->code, "/* %s: %s over the %s of a %dx%dx%d image */\n", n->path, n->ops->name,
                  what[sample_dim(n)], e->in.c, e->in.h, e->in.w);
        emit_step_open(e);
        emit_step_body(e, 1, image_body, n);
        return;
    }
    int N = (int)n->out.d[0];
    if (is_log(n)) {
        sb_printf(e->code,
                  "/* %s: LogSoftmax over %d features */\n"
                  "static void %s(const float *restrict in, float *restrict out)\n{\n"
                  "    float mx = in[0], sum = 0.0f;\n"
                  "    for (int i = 1; i < %d; i++)\n        mx = in[i] > mx ? in[i] : mx;\n"
                  "    for (int i = 0; i < %d; i++)\n        sum += expf(in[i] - mx);\n"
                  "    sum = logf(sum);\n"
                  "    for (int i = 0; i < %d; i++)\n        out[i] = in[i] - mx - sum;\n}\n\n",
                  n->path, N, e->name, N, N, N);
        return;
    }
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
    .summary = "exp(x) / sum(exp(x)) over the features, or one dimension of an image "
               "(torch.nn.Softmax)",
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

const LayerOps layer_logsoftmax = {
    .kind = LAYER_LOGSOFTMAX,
    .name = "LogSoftmax",
    .summary = "x - log(sum(exp(x))) over the features, or one dimension of an image "
               "(torch.nn.LogSoftmax; with loss nll, as torch.nn.NLLLoss takes it)",
    .example = "LogSoftmax",
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .backward_reads_out = true,
    .emit = emit,
};
