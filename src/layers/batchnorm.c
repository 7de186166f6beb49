/* batchnorm.c: BatchNorm1d and BatchNorm2d, as torch.nn's: normalise each channel (feature)
 * over the batch (and the pixels), then scale and shift. The two kinds differ only in the
 * input they take, so they share this file.
 *
 * Training uses the batch's mean and biased variance and updates the running statistics
 * with the unbiased one (momentum m: r = (1 - m) r + m x, in double as PyTorch's CPU code;
 * momentum none: m = 1 / num_batches_tracked, counting this batch, as PyTorch's None);
 * evaluation uses the running statistics, unless track_running_stats is off, when it too
 * uses the batch's. The batch statistics cross the runtime's parts and threads through the
 * LayerOps barrier hooks (batch_sums...): forward_sums / backward_sums add a part's sums,
 * the finish hooks turn the whole batch's into per-channel factors (the stats block), and
 * forward / backward apply them. Parameters: weight and bias (affine); buffers running_mean,
 * running_var, num_batches_tracked (track_running_stats), PyTorch's names and layouts. */
#include <math.h>
#include <string.h>

#include "layer.h"

enum { A_FEATURES, A_EPS, A_MOMENTUM, A_AFFINE, A_TRACK };

static const AttrSpec attrs[] = {
    [A_FEATURES] = {"features", NULL, ATTR_INT, NULL, false, 1, 1 << 24, 1, 1, NULL,
                    "channels (num_features; inferred, checked when given)"},
    [A_EPS] = {"eps", NULL, ATTR_FLOAT, "1e-05", false, 0, 1e6, 1, 1, NULL,
               "added to the variance"},
    [A_MOMENTUM] = {"momentum", NULL, ATTR_FLOAT, "0.1", false, 0, 1, 1, 1, NULL,
                    "weight of the batch in the running statistics (none: their cumulative "
                    "average, 1 / batches seen); PyTorch takes any value, but past [0, 1] the "
                    "running variance can go negative, which no loader takes back",
                    true},
    [A_AFFINE] = {"affine", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL,
                  "learnable weight and bias"},
    [A_TRACK] = {"track_running_stats", NULL, ATTR_BOOL, "true", false, 0, 0, 0, 0, NULL,
                 "keep running statistics for evaluation"},
};
static const char *const positional[] = {"features", NULL};

/* The stats block: per channel, in this order. */
enum { S_MEAN, S_INVSTD, S_ALPHA, S_BETA, S_MEANDY, S_K, S_SCALE, S__COUNT };

static int channels(const Node *n) { return (int)n->in.d[0]; }
static size_t positions(const Node *n)
{
    return n->in.rank == 3 ? (size_t)(n->in.d[1] * n->in.d[2]) : 1;
}
static bool affine(const Node *n) { return n->attrs[A_AFFINE].b; }
static bool track(const Node *n) { return n->attrs[A_TRACK].b; }
static float *stat(float *stats, const Node *n, int which)
{
    return stats + (size_t)which * channels(n);
}

static void shape(Node *n, Diag *d)
{
    bool two_d = n->kind == LAYER_BATCHNORM2D;
    if (two_d ? !layer_need_image(n, d) : !layer_need_flat(n, d)) {
        diag_hint(d, n->head_loc,
                  two_d ? "for a flat input, use 'BatchNorm1d'"
                        : "for a CxHxW input, use 'BatchNorm2d'");
        return;
    }
    int64_t c = n->in.d[0];
    if (!layer_check_in(n, A_FEATURES, c, d))
        return;
    n->attrs[A_FEATURES].i[0] = c;
    n->attrs[A_FEATURES].n = 1;
    Shape vec = shape_make(1, &c);
    if (affine(n)) {
        ir_param_add(n, "weight", vec, c, c);
        ir_param_add(n, "bias", vec, c, c);
    }
    if (track(n)) {
        ir_buffer_add(n, "running_mean", vec, false);
        ir_buffer_add(n, "running_var", vec, false);
        n->params[n->nparams - 1].nonneg = true; /* a variance: sqrt(var + eps) */
        ir_buffer_add(n, "num_batches_tracked", shape_make(0, NULL), true);
        /* PyTorch's BatchNorm fills it in as 0 for a state_dict without it (one written
         * before the buffer existed, or safetensors' load_file, which has no version) */
        n->params[n->nparams - 1].zero_if_missing = true;
    }
    n->out = n->in;
    n->macs = 2 * shape_numel(n->in);
    n->shaped = true;
}

/* weight 1, bias 0, running mean 0, running variance 1, no batches yet (PyTorch's) */
static void init(const Node *n, float *const *params, Rng *rng)
{
    (void)rng;
    int C = channels(n), p = 0;
    if (affine(n)) {
        for (int c = 0; c < C; c++)
            params[0][c] = 1.0f, params[1][c] = 0.0f;
        p = 2;
    }
    if (track(n)) {
        for (int c = 0; c < C; c++)
            params[p][c] = 0.0f, params[p + 1][c] = 1.0f;
        params[p + 2][0] = 0.0f;
    }
}

/* Batch statistics in training, and in evaluation too without running statistics. */
static size_t batch_sums(const Node *n, bool training)
{
    return training || !track(n) ? 2 * (size_t)channels(n) : 0;
}

static size_t stats_floats(const Node *n) { return S__COUNT * (size_t)channels(n); }

/* alpha, beta from a mean and 1/std: y = x alpha + beta = (x - mean) invstd weight + bias */
static void factors(const Node *n, float *const *params, float *stats)
{
    float *mean = stat(stats, n, S_MEAN), *invstd = stat(stats, n, S_INVSTD);
    float *alpha = stat(stats, n, S_ALPHA), *beta = stat(stats, n, S_BETA);
    for (int c = 0; c < channels(n); c++) {
        alpha[c] = affine(n) ? invstd[c] * params[0][c] : invstd[c];
        beta[c] = (affine(n) ? params[1][c] : 0.0f) - mean[c] * alpha[c];
    }
}

static void forward_sums(const Node *n, const LayerRun *r, double *sums)
{
    batchnorm_stats(sums, sums + channels(n), r->in, (size_t)r->batch * positions(n), channels(n));
}

static void forward_finish(const Node *n, const double *sums, int64_t count, float *const *params,
                           float *stats)
{
    int C = channels(n), p = affine(n) ? 2 : 0;
    double mom = n->attrs[A_MOMENTUM].f[0], eps = n->attrs[A_EPS].f[0];
    if (isnan(mom) && track(n)) /* none: the cumulative average, 1 / batches seen with this one */
        mom = 1.0 / ((double)params[p + 2][0] + 1.0);
    float *mean = stat(stats, n, S_MEAN), *invstd = stat(stats, n, S_INVSTD);
    for (int c = 0; c < C; c++) {
        double mu = sums[c] / (double)count, var = sums[C + c] / (double)count - mu * mu;
        if (var < 0)
            var = 0; /* rounding of a constant channel */
        mean[c] = (float)mu;
        invstd[c] = (float)(1.0 / sqrt(var + eps));
        if (track(n)) {
            double unbiased = count > 1 ? var * (double)count / (double)(count - 1) : var;
            params[p][c] = (float)(mom * mu + (1 - mom) * params[p][c]);
            params[p + 1][c] = (float)(mom * unbiased + (1 - mom) * params[p + 1][c]);
        }
    }
    if (track(n))
        params[p + 2][0] += 1.0f;
    factors(n, params, stats);
}

/* Evaluation with running statistics: the factors from them, in the thread's scratch. */
static size_t scratch(const Node *n) { return stats_floats(n); }

static void forward(const Node *n, LayerRun *r)
{
    float *stats = r->stats;
    if (!r->training && track(n)) {
        int C = channels(n), p = affine(n) ? 2 : 0;
        stats = r->scratch;
        if (r->first) {
            double eps = n->attrs[A_EPS].f[0];
            for (int c = 0; c < C; c++) {
                stat(stats, n, S_MEAN)[c] = r->params[p][c];
                stat(stats, n, S_INVSTD)[c] =
                    (float)(1.0 / sqrt((double)r->params[p + 1][c] + eps));
            }
            factors(n, r->params, stats);
        }
    }
    batchnorm_apply(r->out, r->in, stat(stats, n, S_ALPHA), stat(stats, n, S_BETA),
                    (size_t)r->batch * positions(n), channels(n), r->act != NULL);
}

/* A ReLU after it: applied by forward, its mask recomputed by backward from the input and
 * the forward's factors (no pass of the ReLU's own, and no read of the output). Not the
 * other elementwise kinds: their derivatives cost an exp or a tanh a value, which backward
 * would compute twice (for the sums and for dx); measured with SiLU on nets/mobilenet.net
 * when SiLU still called libm's expf a value, a step took 290 ms fused against 220 unfused. */
static bool takes_relu(const Node *n, const Node *act)
{
    (void)n;
    return act->kind == LAYER_RELU;
}

/* The fused ReLU's factors for the backward kernels (the forward's alpha and beta), or NULL. */
static const float *relu_alpha(const Node *n, const LayerRun *r)
{
    return r->act ? stat(r->stats, n, S_ALPHA) : NULL;
}
static const float *relu_beta(const Node *n, const LayerRun *r)
{
    return r->act ? stat(r->stats, n, S_BETA) : NULL;
}

static void backward_sums(const Node *n, const LayerRun *r, double *sums)
{
    batchnorm_backward_stats(sums, sums + channels(n), r->dout, r->in, stat(r->stats, n, S_MEAN),
                             (size_t)r->batch * positions(n), channels(n), relu_alpha(n, r),
                             relu_beta(n, r));
}

/* dx = (dy - mean(dy) - (x - mean) k) invstd weight, k = sum(dy (x - mean)) invstd^2 / N */
static void backward_finish(const Node *n, const double *sums, int64_t count, float *const *params,
                            float *stats)
{
    int C = channels(n);
    const float *invstd = stat(stats, n, S_INVSTD);
    float *mdy = stat(stats, n, S_MEANDY), *k = stat(stats, n, S_K),
          *scale = stat(stats, n, S_SCALE);
    for (int c = 0; c < C; c++) {
        mdy[c] = (float)(sums[c] / (double)count);
        k[c] = (float)(sums[C + c] * (double)invstd[c] * (double)invstd[c] / (double)count);
        scale[c] = affine(n) ? invstd[c] * params[0][c] : invstd[c];
    }
}

/* The input gradient part by part; the chunk's weight and bias gradients on its last part,
 * from its own sums: dweight = sum(dy (x - mean)) invstd, dbias = sum(dy). */
static void backward(const Node *n, LayerRun *r)
{
    int C = channels(n);
    if (r->din)
        batchnorm_backward_dx(r->din, r->dout, r->in, stat(r->stats, n, S_MEAN),
                              stat(r->stats, n, S_MEANDY), stat(r->stats, n, S_K),
                              stat(r->stats, n, S_SCALE), (size_t)r->batch * positions(n), C,
                              relu_alpha(n, r), relu_beta(n, r));
    if (r->last && affine(n)) {
        const float *invstd = stat(r->stats, n, S_INVSTD);
        for (int c = 0; c < C; c++) {
            r->grads[0][c] = (float)(r->sums[C + c] * (double)invstd[c]);
            r->grads[1][c] = (float)r->sums[c];
        }
    }
}

/* ---- C emitter: evaluation, y = x alpha + beta per channel (folded into a convolution or
 * Linear before it by the code generator when there is one) ---- */

typedef struct BnPlan {
    const Node *n;
    int C;
} BnPlan;

static void bn_body(Emit *e, const VecFam *f, const void *ctx)
{
    const BnPlan *p = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    const CLayout *i = &e->in, *o = &e->out;
    bool image = i->rank == 3;
    int H = image ? i->h : 1, W = image ? i->w : 1;
    sb_printf(sb, "    for (int y = 0; y < %d; y++)\n    for (int x = 0; x < %d; x++)\n", H, W);
    sb_printf(sb, "    for (int c = 0; c < %d; c += %d) {\n", p->C, f->width);
    sb_printf(sb, "        %s v = %s_load(in + ", F, F);
    image ? emit_index(sb, i, "y", "x", "c") : sb_puts(sb, "c");
    sb_puts(sb, ");\n");
    sb_printf(sb, "        v = %s_fma(v, %s_load(%s_a + c), %s_load(%s_b + c));\n", F, F, e->name,
              F, e->name);
    emit_act(sb, e->act, f, "v", 8);
    sb_printf(sb, "        %s_store(out + ", F);
    image ? emit_index(sb, o, "y", "x", "c") : sb_puts(sb, "c");
    sb_puts(sb, ", v);\n    }\n");
}

/* The evaluation factors of a node from its parameters and running statistics (its
 * eval_affine hook: the code generator folds them into a convolution or Linear before it). */
static void eval_factors(const Node *n, const float *const *params, float *alpha, float *beta)
{
    int C = channels(n), p = affine(n) ? 2 : 0;
    double eps = n->attrs[A_EPS].f[0];
    for (int c = 0; c < C; c++) {
        float mean = track(n) ? params[p][c] : 0.0f;
        float invstd = (float)(1.0 / sqrt((track(n) ? (double)params[p + 1][c] : 1.0) + eps));
        alpha[c] = affine(n) ? invstd * params[0][c] : invstd;
        beta[c] = (affine(n) ? params[1][c] : 0.0f) - mean * alpha[c];
    }
}

static void emit(const Node *n, Emit *e)
{
    BnPlan p = {.n = n, .C = channels(n)};
    float *a = arena_alloc(e->arena, sizeof(float) * (size_t)p.C);
    float *b = arena_alloc(e->arena, sizeof(float) * (size_t)p.C);
    eval_factors(n, e->params, a, b);
    if (e->in.rank == 1 && e->in.perm) { /* a flattened HWC image: the factors in its order */
        float *t = arena_alloc(e->arena, sizeof(float) * 2 * (size_t)p.C);
        int pix = e->in.ph * e->in.pw;
        for (int i = 0; i < p.C; i++) {
            int src = i % e->in.pc * pix + i / e->in.pc;
            t[i] = a[src];
            t[p.C + i] = b[src];
        }
        a = t;
        b = t + p.C;
    }
    emit_array(e, "a", a, (size_t)p.C);
    emit_array(e, "b", b, (size_t)p.C);
    sb_printf(e->code, "/* %s: %s (evaluation: x * a + b per channel)%s%s */\n", n->path,
              n->ops->name, e->act ? " + " : "", e->act ? e->act->ops->name : "");
    sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
              e->name);
    emit_step_body(e, p.C, bn_body, &p);
}

/* Without running statistics, evaluation normalises with the batch's own statistics, which
 * a program of one sample at a time does not have (PyTorch refuses a BatchNorm1d batch of
 * one, and a BatchNorm2d one would normalise each image by itself). */
static bool emit_check(const Node *n, Diag *d)
{
    if (track(n))
        return true;
    const AttrVal *a = &n->attrs[A_TRACK];
    diag_error(d, a->set ? a->loc : n->head_loc,
               "netc cannot compile '%s' with track_running_stats=false: in evaluation it "
               "normalises with each batch's statistics, and the generated program runs one "
               "sample at a time",
               n->ops->name);
    diag_hint(d, n->head_loc,
              "train with track_running_stats=true (the default), so that evaluation uses "
              "the running statistics");
    return false;
}

#define BATCHNORM_OPS                                                                              \
    .attrs = attrs, .nattrs = sizeof attrs / sizeof attrs[0], .positional = positional,            \
    .shape = shape, .init = init, .scratch = scratch, .forward = forward, .backward = backward,    \
    .emit = emit, .emit_check = emit_check, .fuse = fuse_act, .eval_affine = eval_factors,         \
    .fuses_act = takes_relu, .batch_sums = batch_sums, .stats = stats_floats,                      \
    .forward_sums = forward_sums, .forward_finish = forward_finish, .recomputable = true,          \
    .backward_sums = backward_sums, .backward_finish = backward_finish

const LayerOps layer_batchnorm1d = {
    .kind = LAYER_BATCHNORM1D,
    .name = "BatchNorm1d",
    .summary = "normalises each feature over the batch (torch.nn.BatchNorm1d)",
    .example = "BatchNorm1d",
    BATCHNORM_OPS,
};

const LayerOps layer_batchnorm2d = {
    .kind = LAYER_BATCHNORM2D,
    .name = "BatchNorm2d",
    .summary = "normalises each channel over the batch and the pixels (torch.nn.BatchNorm2d)",
    .example = "BatchNorm2d",
    BATCHNORM_OPS,
};
