/* test_grad.c: every layer kind's backward against central differences of its forward, for
 * the input gradient and every parameter gradient, plus whole nets through the runtime
 * (rt_forward, rt_loss, rt_backward).
 *
 * Design choice: the test walks the registry (ir_layers[]) and checks each kind's example
 * statement (LayerOps.example) as a net of one layer, on a CxHxW input or, if the kind needs
 * one, a flat one, with inputs that are distinct and at least 0.1 away from 0 (no kink of
 * ReLU, LeakyReLU or a max pool's argmax is within a step). The recipes below add geometries
 * the examples do not reach (stride, padding, dilation, non-square kernels, no bias, windows
 * that do not tile the input), written as net-file text and read by the front end, so
 * attributes go through the same path a user's do; a new kind needs no recipe. Each runs
 * the layer through its LayerOps hooks with buffers from the runtime's own memory plan
 * (rt_model_new), at batch 2 under a max batch of 3, and checks that the first sample alone
 * (batch 1) gets the same output and input gradient.
 *
 * The loss is L = sum(out * r) for a fixed random r, so dL/dout = r is what backward gets.
 * The numeric derivative of element x is (L(x+eps) - L(x-eps)) / (2 eps), with the forward
 * in float (as the runtime computes it) and L summed in double.
 *
 * Tolerance: eps = 1e-2, and an element passes when
 *     |analytic - numeric| <= 2e-4 + 5e-3 * max(|analytic|, |numeric|).
 * Why: moving one input by eps changes only the outputs that depend on it; the others are
 * recomputed bit for bit and cancel exactly. Each changed output carries a float rounding
 * error of a few ulp of values of order 1 (~1e-7 after a conv's short sums), which the
 * division by 2 eps = 0.02 turns into ~1e-5 per output; the truncation error of the central
 * difference is eps^2/6 * f''' ~ 2e-5 for tanh and sigmoid and 0 for the piecewise-linear
 * kinds. Measured worst case over all recipes: 2.5e-5 (Tanh, the truncation term), all others
 * below 1e-5 (run with GRAD_VERBOSE=1 to see it per tensor); so 2e-4 + 0.5% leaves a margin
 * of 8x while a wrong index, a missing term or a scale off by 1% still fails.
 * Inputs keep clear of kinks: ReLU and LeakyReLU inputs are at least 0.1 away from 0, and
 * MaxPool2d inputs are distinct values 0.05 apart, so no eps step switches a branch or a
 * window's maximum. Dropout reuses the same RNG state for every forward, so the mask is fixed;
 * its mask itself is checked separately. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "layer.h"
#include "runtime.h"

#define EPS 1e-2
#define ATOL 2e-4
#define RTOL 5e-3

typedef enum {
    IN_SMOOTH,   /* uniform in [-1, 1] */
    IN_NO_KINK,  /* uniform in +-[0.1, 1]: no element within eps of 0 */
    IN_DISTINCT, /* a shuffled ramp with steps of 0.05: no ties, no near-ties */
    IN_SAFE,     /* a shuffled ramp of +-(0.1 + 0.05 k): no ties, none near 0 (examples) */
} InGen;

typedef struct Recipe {
    const char *kind;  /* the registry name this recipe tests */
    const char *input; /* the network's input shape */
    const char *layer; /* the one layer statement */
    InGen gen;
} Recipe;

/* Geometries beyond the kinds' examples: stride, padding, dilation, non-square kernels, no
 * bias, and windows that do not tile the input (floor mode). */
static const Recipe recipes[] = {
    {"Conv2d", "2x5x6", "Conv2d 3 k3 p1", IN_SMOOTH},
    {"Conv2d", "2x5x6", "Conv2d 3 k3 s2 p1 d2", IN_SMOOTH},
    {"Conv2d", "2x5x6",
     "Conv2d 4 kernel=[3, 2] stride=[2, 1] padding=[1, 0] dilation=[1, 2] bias=false", IN_SMOOTH},
    {"Conv2d", "1x4x4", "Conv2d 2 k1 s3", IN_SMOOTH},
    {"Conv2d", "2x5x6", "Conv2d 2 k3 p1 groups=2", IN_SMOOTH},       /* depthwise */
    {"Conv2d", "2x5x6", "Conv2d 4 k3 s2 p1 d2 groups=2", IN_SMOOTH}, /* depthwise, x2 */
    {"Conv2d", "4x5x6", "Conv2d 6 kernel=[3, 2] p1 groups=2 bias=false", IN_SMOOTH},
    {"Conv2d", "6x5x5", "Conv2d 3 k3 p1 groups=3", IN_SMOOTH},
    {"MaxPool2d", "2x5x6", "MaxPool2d 3 s2 p1", IN_DISTINCT},
    {"MaxPool2d", "2x5x6", "MaxPool2d kernel=[2, 3] stride=[1, 2] padding=[1, 1]", IN_DISTINCT},
    {"AvgPool2d", "2x5x6", "AvgPool2d 3 s2 p1", IN_SMOOTH},
    {"AvgPool2d", "2x5x6", "AvgPool2d 3 s2 p1 ceil_mode=true count_include_pad=false", IN_SMOOTH},
    {"AvgPool2d", "2x5x7", "AvgPool2d 2 ceil_mode=true", IN_SMOOTH},
    {"MaxPool2d", "2x5x7", "MaxPool2d 2 ceil_mode=true", IN_DISTINCT},
    {"MaxPool2d", "2x6x5", "MaxPool2d 3 s2 p1 ceil_mode=true", IN_DISTINCT},
    {"AvgPool2d", "2x5x6", "AvgPool2d kernel=[2, 3] stride=[1, 2] padding=[1, 1]", IN_SMOOTH},
    {"ReLU", "13", "ReLU", IN_NO_KINK},
    {"LeakyReLU", "2x5x6", "LeakyReLU", IN_NO_KINK},
    {"LeakyReLU", "13", "LeakyReLU 0.2", IN_NO_KINK},
    {"LeakyReLU", "2x5x6", "LeakyReLU -0.5", IN_NO_KINK}, /* PyTorch takes any slope */
    {"LeakyReLU", "13", "LeakyReLU 3", IN_NO_KINK},
    {"Tanh", "13", "Tanh", IN_SMOOTH},
    {"Linear", "7", "Linear 4", IN_SMOOTH},
    {"Linear", "7", "Linear 3 bias=false init=xavier_uniform", IN_SMOOTH},
    {"Dropout", "2x5x6", "Dropout 0.3", IN_SMOOTH},
    {"Dropout", "13", "Dropout p=0", IN_SMOOTH},
    {"LogSoftmax", "2x5x6", "LogSoftmax 1", IN_SMOOTH}, /* each dimension of an image */
    {"LogSoftmax", "2x5x6", "LogSoftmax 2", IN_SMOOTH},
    {"LogSoftmax", "2x5x6", "LogSoftmax -1", IN_SMOOTH},
    {"Softmax", "2x5x6", "Softmax 2", IN_SMOOTH},
};
#define NRECIPES ((int)(sizeof recipes / sizeof recipes[0]))

#define BATCH 2
#define MAX_BATCH 3
/* Kinds with batch statistics see a batch of 8 in the per-kind check: BatchNorm1d over two
 * samples normalises every feature to about +-1 whatever its input, a derivative too flat
 * for central differences. */
#define COUPLED_BATCH 8

static bool verbose(void)
{
    const char *v = getenv("GRAD_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

/* ---- building a net from text ---- */

typedef struct Net {
    Arena *arena;
    Graph *g;
    Model *m;
} Net;

static bool net_build_opts(Net *n, const char *name, const char *input, const char *body,
                           const char *train, const RtPlan *opts)
{
    n->arena = arena_new();
    char *text = arena_printf(n->arena, "network %s (input %s) {\n%s\n}\n%s", name, input, body,
                              train ? train : "");
    Diag d;
    diag_init(&d, stderr, "test_grad");
    n->g = frontend_load_file(n->arena, src_from_string(n->arena, "recipe.net", text), &d);
    cr_assert(n->g && n->g->shaped && d.errors == 0, "the recipe does not build:\n%s", text);
    n->m = rt_model_new_opts(n->g, COUPLED_BATCH, opts, &d);
    cr_assert(n->m, "rt_model_new failed for:\n%s", text);
    rt_model_init(n->m, 1234);
    return true;
}

static bool net_build(Net *n, const char *name, const char *input, const char *body,
                      const char *train)
{
    return net_build_opts(n, name, input, body, train, &rt_plan_default);
}

static void net_free(Net *n)
{
    rt_model_free(n->m);
    arena_free(n->arena);
}

static void fill(float *x, size_t n, InGen gen, Rng *rng)
{
    switch (gen) {
    case IN_SMOOTH:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(rng_uniform(rng) * 2 - 1);
        break;
    case IN_NO_KINK:
        for (size_t i = 0; i < n; i++) {
            double a = 0.1 + 0.9 * rng_uniform(rng);
            x[i] = (float)(rng_uniform(rng) < 0.5 ? -a : a);
        }
        break;
    case IN_DISTINCT:
    case IN_SAFE:
        for (size_t i = 0; i < n; i++)
            x[i] = gen == IN_SAFE ? (float)((i % 2 ? -1 : 1) * (0.1 + 0.05 * (double)(i / 2)))
                                  : (float)(0.05 * ((double)i - (double)n / 2));
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)rng_below(rng, i + 1);
            float t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
        break;
    }
}

static void fill_nan(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

/* ---- one layer through its hooks ---- */

typedef struct Check {
    const Node *node;
    Model *m;
    float *in, *din, *r;
    size_t nin, nout;
    Rng rng0;  /* the dropout RNG state every forward starts from */
    int batch; /* BATCH, or COUPLED_BATCH for a kind with batch statistics */
} Check;

static LayerRun layer_run(Check *c, Rng *rng)
{
    Model *m = c->m;
    return (LayerRun){
        .batch = c->batch,
        .training = true,
        .first = true, /* the whole batch in one part */
        .last = true,
        .in = c->in,
        .out = m->plan[0].out,
        .params = m->plan[0].params,
        .grads = m->plan[0].grads,
        .scratch = m->plan[0].scratch[0],
        .saved = m->plan[0].saved,
        .rng = rng,
        .stats = m->plan[0].stats,
        .sums = m->plan[0].bsums,
    };
}

/* Batch statistics (BatchNorm): the runtime's barrier, for the whole batch as one part. */
static bool coupled(const Node *n) { return n->ops->batch_sums && n->ops->batch_sums(n, true) > 0; }

static int64_t stat_count(const Node *n, int batch)
{
    return (int64_t)batch * (n->in.rank == 3 ? n->in.d[1] * n->in.d[2] : 1);
}

static void run_forward(Check *c, LayerRun *r)
{
    const Node *n = c->node;
    if (coupled(n)) {
        double *sums = c->m->plan[0].fsums;
        size_t k = n->ops->batch_sums(n, true);
        memset(sums, 0, sizeof(double) * k);
        n->ops->forward_sums(n, r, sums);
        n->ops->forward_finish(n, sums, stat_count(n, r->batch), c->m->plan[0].params,
                               c->m->plan[0].stats);
    }
    n->ops->forward(n, r);
}

static void run_backward(Check *c, LayerRun *r)
{
    const Node *n = c->node;
    if (coupled(n)) {
        double *sums = c->m->plan[0].bsums;
        size_t k = n->ops->batch_sums(n, true);
        memset(sums, 0, sizeof(double) * k);
        n->ops->backward_sums(n, r, sums);
        n->ops->backward_finish(n, sums, stat_count(n, r->batch), c->m->plan[0].params,
                                c->m->plan[0].stats);
    }
    n->ops->backward(n, r);
}

/* L = sum(out * r) after a fresh forward. */
static double loss_at(Check *c)
{
    Rng rng = c->rng0;
    LayerRun r = layer_run(c, &rng);
    fill_nan(r.out, c->nout);
    run_forward(c, &r);
    double L = 0;
    for (size_t i = 0; i < c->nout; i++)
        L += (double)r.out[i] * (double)c->r[i];
    return L;
}

typedef struct Worst {
    double err, analytic, numeric;
    size_t at;
    int bad;
} Worst;

/* Compares analytic[0..n) with central differences over the floats x[0..n). Returns
 * true when every element is within tolerance; reports the worst one otherwise. */
static bool compare(Check *c, const char *what_kind, const char *layer, const char *tensor,
                    float *x, const float *analytic, size_t n)
{
    Worst w = {0};
    double worst_abs = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + (float)EPS;
        double hi = (double)x[i];
        double Lp = loss_at(c);
        x[i] = keep - (float)EPS;
        double lo = (double)x[i];
        double Lm = loss_at(c);
        x[i] = keep;
        double num = (Lp - Lm) / (hi - lo);
        double a = analytic[i];
        double err = fabs(a - num);
        double tol = ATOL + RTOL * fmax(fabs(a), fabs(num));
        if (err > worst_abs)
            worst_abs = err;
        if (!(err <= tol)) { /* NaN fails too */
            w.bad++;
            if (!(err <= w.err)) {
                w.err = err;
                w.analytic = a;
                w.numeric = num;
                w.at = i;
            }
        }
    }
    if (verbose())
        fprintf(stderr, "grad %-10s %-60s %-8s n=%-4zu worst |a-n| %.3g\n", what_kind, layer,
                tensor, n, worst_abs);
    cr_expect(w.bad == 0,
              "%s '%s': gradient of %s element %zu: analytic %.9g, numeric %.9g (|diff| %.3g; "
              "%d of %zu elements outside %g + %g*|value|)",
              what_kind, layer, tensor, w.at, w.analytic, w.numeric, w.err, w.bad, n, ATOL, RTOL);
    return w.bad == 0;
}

/* The first sample run alone (batch 1) gives the output and input gradient it had in the
 * batch of 2: a layer that indexes by max_batch, or mixes samples, fails here. Compared
 * within 1e-6 relative, not bit for bit, since a kernel may block a batch of 1 otherwise. */
static void batch_one(Check *c, const Recipe *rc, const float *out2)
{
    size_t in1 = c->nin / (size_t)c->batch, out1 = c->nout / (size_t)c->batch;
    float *want = malloc(sizeof(float) * (out1 + in1));
    cr_assert(want);
    memcpy(want, out2, sizeof(float) * out1);
    memcpy(want + out1, c->din, sizeof(float) * in1);
    Rng drop = c->rng0;
    LayerRun r = layer_run(c, &drop);
    r.batch = 1;
    fill_nan(r.out, c->nout);
    c->node->ops->forward(c->node, &r);
    r.dout = c->r;
    r.din = malloc(sizeof(float) * in1);
    cr_assert(r.din);
    c->node->ops->backward(c->node, &r);
    for (size_t i = 0; i < out1 + in1; i++) {
        float got = i < out1 ? r.out[i] : r.din[i - out1];
        cr_expect(fabsf(got - want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(want[i])),
                  "%s '%s': batch 1 gives %s %zu = %.9g, batch 2 gave %.9g", rc->kind, rc->layer,
                  i < out1 ? "output" : "input gradient", i < out1 ? i : i - out1, (double)got,
                  (double)want[i]);
    }
    free(r.din);
    free(want);
}

static void check_recipe(const Recipe *rc, LayerKind kind)
{
    Net net;
    net_build(&net, "grad", rc->input, rc->layer, NULL);
    cr_assert_eq(net.g->nodes.len, 1, "recipe '%s' should build one node", rc->layer);
    const Node *node = GRAPH_NODE(net.g, 0);
    cr_assert_eq(node->kind, kind, "recipe '%s' for %s builds a '%s'", rc->layer, rc->kind,
                 node->ops->name);
    cr_assert(node->ops->forward && node->ops->backward, "%s has no forward or backward", rc->kind);
    Check c = {.node = node, .m = net.m, .batch = coupled(node) ? COUPLED_BATCH : BATCH};
    c.nin = (size_t)c.batch * (size_t)shape_numel(node->in);
    c.nout = (size_t)c.batch * (size_t)shape_numel(node->out);
    c.in = malloc(sizeof(float) * c.nin);
    c.din = malloc(sizeof(float) * c.nin);
    c.r = malloc(sizeof(float) * c.nout);
    cr_assert(c.in && c.din && c.r);
    Rng rng;
    rng_seed(&rng, 42 + (uint64_t)kind);
    fill(c.in, c.nin, rc->gen, &rng);
    fill(c.r, c.nout, IN_SMOOTH, &rng);
    rng_seed(&c.rng0, 99);

    /* analytic: forward, then backward into NaN-filled gradients (backward overwrites) */
    Rng drop = c.rng0;
    LayerRun r = layer_run(&c, &drop);
    fill_nan(r.out, c.nout);
    run_forward(&c, &r);
    for (size_t i = 0; i < c.nout; i++)
        cr_assert(isfinite(r.out[i]), "%s '%s': forward left output %zu as %g", rc->kind, rc->layer,
                  i, (double)r.out[i]);
    r.dout = c.r;
    r.din = c.din;
    fill_nan(c.din, c.nin);
    for (int p = 0; p < node->nparams; p++)
        if (!node->params[p].buffer)
            fill_nan(net.m->plan[0].grads[p], (size_t)shape_numel(node->params[p].shape));
    run_backward(&c, &r);
    float *gp[NODE_MAX_PARAMS] = {NULL};
    for (int p = 0; p < node->nparams; p++) {
        if (node->params[p].buffer)
            continue; /* saved, not trained: no gradient */
        size_t n = (size_t)shape_numel(node->params[p].shape);
        gp[p] = malloc(sizeof(float) * n);
        cr_assert(gp[p]);
        memcpy(gp[p], net.m->plan[0].grads[p], sizeof(float) * n);
    }

    if (!coupled(node)) /* batch statistics depend on the batch */
        batch_one(&c, rc, r.out);

    compare(&c, rc->kind, rc->layer, "input", c.in, c.din, c.nin);
    for (int p = 0; p < node->nparams; p++) {
        if (!gp[p])
            continue;
        compare(&c, rc->kind, rc->layer, node->params[p].name, net.m->plan[0].params[p], gp[p],
                (size_t)shape_numel(node->params[p].shape));
        free(gp[p]);
    }
    free(c.in);
    free(c.din);
    free(c.r);
    net_free(&net);
}

/* ---- the registry walk ---- */

ParameterizedTestParameters(grad, every_kind)
{
    static int kinds[LAYER__COUNT];
    for (int k = 0; k < LAYER__COUNT; k++)
        kinds[k] = k;
    return cr_make_param_array(int, kinds, LAYER__COUNT);
}

/* The kind's example as a recipe: on a 2x5x6 image if it shapes there, else on 13 values. */
static Recipe example_recipe(const LayerOps *ops)
{
    static const char *const inputs[] = {"2x5x6", "13"};
    Recipe rc = {ops->name, inputs[1], ops->example, IN_SAFE};
    for (int i = 0; i < 2; i++) {
        Arena *a = arena_new();
        FILE *null = fopen("/dev/null", "w");
        Diag d;
        diag_init(&d, null, "test_grad");
        char *text = arena_printf(a, "network e (input %s) {\n  %s\n}\n", inputs[i], ops->example);
        Graph *g = frontend_load_file(a, src_from_string(a, "example.net", text), &d);
        bool ok = g && g->shaped && d.errors == 0;
        fclose(null);
        arena_free(a);
        if (ok) {
            rc.input = inputs[i];
            break;
        }
    }
    return rc;
}

ParameterizedTest(int *kind, grad, every_kind, .timeout = 120)
{
    const LayerOps *ops = ir_layers[*kind];
    cr_assert(ops && ops->name && ops->example, "registry entry %d is incomplete", *kind);
    if (ops->max_inputs)
        return; /* a join's inputs are other nodes' outputs: test_props checks joins in whole
                   nets, from the gradients of the layers on every branch */
    Recipe ex = example_recipe(ops);
    check_recipe(&ex, (LayerKind)*kind);
    for (int i = 0; i < NRECIPES; i++)
        if (strcmp(recipes[i].kind, ops->name) == 0)
            check_recipe(&recipes[i], (LayerKind)*kind);
}

/* A recipe naming a kind that is not registered is a typo that would silently test less. */
Test(grad, recipes_name_registered_kinds)
{
    for (int i = 0; i < NRECIPES; i++)
        cr_expect(ir_layer_find(recipes[i].kind) != NULL,
                  "recipe '%s' names kind '%s', which is not in the registry", recipes[i].layer,
                  recipes[i].kind);
}

/* A training run of the one node of net over BATCH samples of in, drawing from rng. */
static LayerRun node_run(const Net *net, const float *in, Rng *rng)
{
    return (LayerRun){.batch = BATCH,
                      .training = true,
                      .first = true,
                      .last = true,
                      .in = in,
                      .out = net->m->plan[0].out,
                      .params = net->m->plan[0].params,
                      .grads = net->m->plan[0].grads,
                      .scratch = net->m->plan[0].scratch[0],
                      .saved = net->m->plan[0].saved,
                      .rng = rng};
}

/* ---- Dropout2d's mask: whole channels (torch.nn.Dropout2d) ---- */

Test(grad, dropout2d_mask)
{
    Net net;
    net_build(&net, "drop2d", "600x5x3", "Dropout2d 0.3", NULL);
    const Node *node = GRAPH_NODE(net.g, 0);
    const size_t C = 600, pix = 15, n = (size_t)BATCH * C * pix;
    float *in = malloc(sizeof(float) * n), *din = malloc(sizeof(float) * n);
    float *dout = malloc(sizeof(float) * n);
    cr_assert(in && din && dout);
    Rng rng;
    rng_seed(&rng, 6);
    fill(in, n, IN_NO_KINK, &rng);
    fill(dout, n, IN_NO_KINK, &rng);
    Rng a;
    rng_seed(&a, 78);
    LayerRun r = node_run(&net, in, &a);
    node->ops->forward(node, &r);
    const float scale = 1.0f / (float)(1.0 - 0.3);
    size_t dropped = 0;
    for (size_t b = 0; b < (size_t)BATCH; b++) /* channels last: pixel after pixel of C */
        for (size_t c = 0; c < C; c++) {
            bool zero = r.out[(b * pix) * C + c] == 0;
            dropped += zero;
            for (size_t q = 0; q < pix; q++) {
                size_t i = (b * pix + q) * C + c;
                cr_assert(r.out[i] == (zero ? 0.0f : in[i] * scale),
                          "Dropout2d: sample %zu channel %zu pixel %zu is %.9g: a channel is "
                          "kept or dropped whole (want %.9g)",
                          b, c, q, (double)r.out[i], zero ? 0.0 : (double)(in[i] * scale));
            }
        }
    double nc = (double)BATCH * (double)C, expect = 0.3 * nc, sd = sqrt(nc * 0.3 * 0.7);
    cr_expect(fabs((double)dropped - expect) <= 6 * sd,
              "Dropout2d 0.3 dropped %zu of %.0f channels (expected about %.0f)", dropped, nc,
              expect);
    r.dout = dout;
    r.din = din;
    node->ops->backward(node, &r);
    for (size_t i = 0; i < n; i++)
        cr_assert(din[i] == (r.out[i] == 0 ? 0.0f : dout[i] * scale),
                  "Dropout2d backward element %zu: the forward's channel mask", i);
    r.training = false;
    node->ops->forward(node, &r);
    cr_expect(memcmp(in, r.out, sizeof(float) * n) == 0,
              "Dropout2d in evaluation is not the identity");
    free(in);
    free(din);
    free(dout);
    net_free(&net);
}

/* ---- Dropout's mask ---- */

Test(grad, dropout_mask)
{
    Net net;
    net_build(&net, "drop", "50x20x20", "Dropout 0.45", NULL);
    const Node *node = GRAPH_NODE(net.g, 0);
    size_t n = (size_t)BATCH * 20000;
    float *in = malloc(sizeof(float) * n), *out2 = malloc(sizeof(float) * n);
    float *din = malloc(sizeof(float) * n), *dout = malloc(sizeof(float) * n);
    cr_assert(in && out2 && din && dout);
    Rng rng;
    rng_seed(&rng, 5);
    fill(in, n, IN_NO_KINK, &rng); /* no zero inputs: a zero output means a dropped element */
    fill(dout, n, IN_NO_KINK, &rng);
    Rng r0;
    rng_seed(&r0, 77);
    Rng a = r0;
    LayerRun r = node_run(&net, in, &a);
    node->ops->forward(node, &r);
    /* PyTorch's kept value: input * bernoulli(1 - p).div_(1 - p), a float32 1 / (float)(1 - p)
     * (1.8181817f for p = 0.45, where the double 1 / (1 - p) rounds to 1.8181819f) */
    const float scale = 1.0f / (float)(1.0 - 0.45);
    cr_assert_eq(scale, 1.8181817531585693f);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        float o = r.out[i];
        if (o == 0)
            dropped++;
        else
            cr_assert(o == in[i] * scale,
                      "Dropout: kept element %zu is %.9g, want %.9g * 1/(1-p) = %.9g (PyTorch's "
                      "bits)",
                      i, (double)o, (double)in[i], (double)(in[i] * scale));
    }
    /* 40,000 Bernoulli(0.45) draws: sd = sqrt(n p (1-p)) ~ 99; allow 6 sd */
    double expect = 0.45 * (double)n, sd = sqrt((double)n * 0.45 * 0.55);
    cr_expect(fabs((double)dropped - expect) <= 6 * sd,
              "Dropout 0.45 dropped %zu of %zu elements (expected about %.0f)", dropped, n, expect);
    /* backward uses the mask of the forward */
    r.dout = dout;
    r.din = din;
    node->ops->backward(node, &r);
    for (size_t i = 0; i < n; i++) {
        float want = r.out[i] == 0 ? 0.0f : dout[i] * scale;
        cr_assert(din[i] == want,
                  "Dropout backward element %zu: "
                  "%g, want %g (mask of the forward)",
                  i, (double)din[i], (double)want);
    }
    /* the same RNG state gives the same mask; the RNG moves on, so the next mask differs */
    memcpy(out2, r.out, sizeof(float) * n);
    Rng b = r0;
    r.rng = &b;
    node->ops->forward(node, &r);
    cr_expect(memcmp(out2, r.out, sizeof(float) * n) == 0,
              "Dropout: the same RNG state gave a different mask");
    node->ops->forward(node, &r);
    cr_expect(memcmp(out2, r.out, sizeof(float) * n) != 0,
              "Dropout: two consecutive forwards drew the same mask");
    /* evaluation: the identity */
    r.training = false;
    node->ops->forward(node, &r);
    cr_expect(memcmp(in, r.out, sizeof(float) * n) == 0, "Dropout in evaluation is not the "
                                                         "identity");
    free(in);
    free(out2);
    free(din);
    free(dout);
    net_free(&net);
}

/* ---- whole nets through the runtime ---- */

/* Parameter gradients of a whole net through rt_forward, rt_loss and rt_backward: this
 * checks the runtime's plumbing (the ping-pong gradient buffers, per-node scratch, the
 * loss's dlogits and the first layer's din == NULL) rather than any one layer. The nets are
 * smooth (no ReLU or max, whose kinks a weight step could cross). Dropout keeps its mask by
 * restoring the model's RNG before every forward. With part > 0, the batch runs part rows at
 * a time in at most `chunks` chunks, so gradients must add up across the parts of a chunk
 * (one chunk) or across chunks (one part each). */
static double net_loss(Model *m, const Rng *r0, LossKind loss)
{
    m->rng = *r0;
    rt_forward(m, BATCH, true);
    return rt_loss(m, loss, BATCH, true);
}

static void check_net(const char *body, LossKind loss, int part, int chunks)
{
    Net net;
    net_build(&net, "whole", "2x6x6", body, NULL);
    Model *m = net.m;
    if (part > 0) {
        cr_assert(part <= m->part, "the model already runs %d rows at a time", m->part);
        m->part = part;
        m->max_chunks = chunks;
    }
    Rng rng, r0;
    rng_seed(&rng, 8);
    rng_seed(&r0, 9);
    size_t nin = (size_t)BATCH * (size_t)shape_numel(net.g->input);
    fill(m->input, nin, IN_SMOOTH, &rng);
    int outs = (int)rt_outputs(m);
    for (int b = 0; b < BATCH; b++)
        m->labels[b] = (int32_t)rng_below(&rng, (uint64_t)outs);
    net_loss(m, &r0, loss);
    fill_nan(m->grads, m->nparam_floats);
    rt_backward(m, BATCH);
    float *analytic = malloc(sizeof(float) * m->nparam_floats);
    cr_assert(analytic);
    memcpy(analytic, m->grads, sizeof(float) * m->nparam_floats);
    for (int i = 0; i < net.g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(net.g, i);
        for (int p = 0; p < n->nparams; p++) {
            float *w = m->plan[i].params[p];
            const float *a = analytic + (w - m->params);
            size_t cnt = (size_t)shape_numel(n->params[p].shape);
            int bad = 0;
            double worst = 0, wa = 0, wn = 0, worst_abs = 0;
            size_t at = 0;
            for (size_t k = 0; k < cnt; k++) {
                float keep = w[k];
                w[k] = keep + (float)EPS;
                double hi = w[k], Lp = net_loss(m, &r0, loss);
                w[k] = keep - (float)EPS;
                double lo = w[k], Lm = net_loss(m, &r0, loss);
                w[k] = keep;
                double num = (Lp - Lm) / (hi - lo), err = fabs(a[k] - num);
                worst_abs = fmax(worst_abs, err);
                if (!(err <= ATOL + RTOL * fmax(fabs(a[k]), fabs(num)))) {
                    bad++;
                    if (!(err <= worst))
                        worst = err, wa = a[k], wn = num, at = k;
                }
            }
            if (verbose())
                fprintf(stderr, "grad net %-12s %-10s n=%-4zu worst |a-n| %.3g\n",
                        loss == LOSS_MSE ? "mse" : "cross_entropy", n->params[p].name, cnt,
                        worst_abs);
            cr_expect(bad == 0,
                      "whole net (%s loss), %s element %zu: analytic %.9g, numeric %.9g "
                      "(%d of %zu off)\n%s",
                      loss == LOSS_MSE ? "mse" : "cross_entropy", n->params[p].name, at, wa, wn,
                      bad, cnt, body);
        }
    }
    free(analytic);
    net_free(&net);
}

static const char *const smooth_net = "  block {\n"
                                      "    Conv2d 3 k3 s1 p1\n"
                                      "    Tanh\n"
                                      "    AvgPool2d 2\n"
                                      "  }\n"
                                      "  Conv2d 4 k2 d2 bias=false\n"
                                      "  Sigmoid\n"
                                      "  Flatten\n"
                                      "  Dropout 0.25\n"
                                      "  Linear 6\n"
                                      "  Tanh\n"
                                      "  fc: Linear 5\n";

Test(grad, whole_net_cross_entropy, .timeout = 120)
{
    check_net(smooth_net, LOSS_CROSS_ENTROPY, 0, 0);
}

Test(grad, whole_net_mse, .timeout = 120) { check_net(smooth_net, LOSS_MSE, 0, 0); }

/* The batch one row at a time: every layer's parameter gradients summed over the parts of
 * one chunk, then over two chunks of one part. */
Test(grad, whole_net_in_parts, .timeout = 120)
{
    check_net(smooth_net, LOSS_MSE, 1, 1);
    check_net(smooth_net, LOSS_CROSS_ENTROPY, 1, 2);
}

/* A net whose output is a multi-channel image: the runtime turns it (and its gradient)
 * between channels-last and PyTorch's order at its edge. */
Test(grad, whole_net_image_output, .timeout = 120)
{
    check_net("  Conv2d 3 k3 p1\n  Tanh\n  Conv2d 2 k1\n", LOSS_MSE, 0, 0);
}

/* In-place nodes: Tanh writes over the Linear's output, but Dropout must not write over
 * Tanh's, which Tanh's backward reads; nor may the Sigmoid after a view write over it. */
Test(grad, whole_net_in_place_rules, .timeout = 120)
{
    check_net("  Flatten\n  Linear 6\n  Tanh\n  Dropout 0.25\n  Linear 5\n  Sigmoid\n"
              "  Dropout 0.5\n  Linear 4\n",
              LOSS_CROSS_ENTROPY, 0, 0);
    check_net("  Conv2d 1 k3\n  Flatten\n  Sigmoid\n  Linear 3\n", LOSS_MSE, 0, 0);
}

/* A ReLU before a max pool runs after it, on the pooled values (ReLU commutes with max, and
 * its gradient is 0 wherever it merges values), and the convolution before computes the
 * pool's output itself: logits and every gradient must be the same bits as running them in
 * the written order, with neither, with the reordering alone, and with no node in place
 * either. Inputs are uniform in [-1, 1], so windows with all-negative values (ties at 0 in
 * the written order) occur. The Sigmoid after a pool must not write over the pool's output,
 * which the ReLU moved there reads in backward. */
static const char *const relu_pool_net = "  Conv2d 4 k3 p1\n  ReLU\n  MaxPool2d 2\n"
                                         "  Conv2d 3 k3 p1\n  ReLU\n  MaxPool2d 3\n"
                                         "  Sigmoid\n  Flatten\n  Linear 5\n";

/* The logits and the gradients (new arrays of *nl and *ng floats) of one step under the plan
 * options o, checking that the plan reorders and fuses both ReLU-pool pairs when o lets it
 * (a ReLU moves only in place, and a pool fuses into the convolution only once the ReLU
 * between them has moved). */
static void relu_pool_run(const RtPlan *o, float **logits, float **grads, size_t *nl, size_t *ng)
{
    Net net;
    net_build_opts(&net, "relupool", "2x6x7", relu_pool_net, NULL, o);
    Model *m = net.m;
    int reordered = 0, fused = 0;
    for (int i = 0; i < net.g->nodes.len; i++) {
        reordered += m->plan[i].after_pool;
        fused += m->plan[i].pooled;
    }
    bool reorder = o->in_place && o->after_pool, fuse = reorder && o->fused_pool;
    cr_assert_eq(reordered, reorder ? 2 : 0, "the runtime reorders %d ReLUs, not %s", reordered,
                 reorder ? "both" : "none");
    cr_assert_eq(fused, fuse ? 2 : 0, "the runtime fuses %d pools, not %s", fused,
                 fuse ? "both" : "none");
    Rng rng;
    rng_seed(&rng, 21);
    fill(m->input, (size_t)BATCH * (size_t)shape_numel(net.g->input), IN_SMOOTH, &rng);
    for (int b = 0; b < BATCH; b++)
        m->labels[b] = b % 5;
    *nl = (size_t)BATCH * (size_t)rt_outputs(m);
    *ng = m->nparam_floats;
    *logits = malloc(sizeof(float) * *nl);
    *grads = malloc(sizeof(float) * *ng);
    cr_assert(*logits && *grads);
    memcpy(*logits, rt_forward(m, BATCH, true), sizeof(float) * *nl);
    rt_loss(m, LOSS_CROSS_ENTROPY, BATCH, true);
    rt_backward(m, BATCH);
    memcpy(*grads, m->grads, sizeof(float) * *ng);
    net_free(&net);
}

Test(grad, relu_runs_after_max_pool_exactly)
{
    static const struct {
        RtPlan o;
        const char *how;
    } plans[] = {
        {{.in_place = false, .after_pool = true, .fused_pool = true}, "with nothing in place"},
        {{.in_place = true}, "in place"},
        {{.in_place = true, .after_pool = true}, "reordered"},
        {{.in_place = true, .after_pool = true, .fused_pool = true}, "fused and reordered"},
    };
    float *l0, *g0;
    size_t nl, ng;
    relu_pool_run(&(RtPlan){0}, &l0, &g0, &nl, &ng); /* as written */
    for (size_t c = 0; c < sizeof plans / sizeof plans[0]; c++) {
        float *l1, *g1;
        relu_pool_run(&plans[c].o, &l1, &g1, &nl, &ng);
        cr_expect(!memcmp(l1, l0, sizeof(float) * nl), "logits differ %s", plans[c].how);
        size_t k = 0;
        while (k < ng && !memcmp(&g1[k], &g0[k], sizeof(float)))
            k++;
        cr_expect(k == ng, "gradient %zu differs: %.9g %s, %.9g as written", k,
                  k < ng ? g1[k] : 0.0f, plans[c].how, k < ng ? g0[k] : 0.0f);
        free(l1), free(g1);
    }
    free(l0), free(g0);
}

/* With a Softmax ending the net, cross_entropy is taken of its output (as PyTorch's
 * CrossEntropyLoss would be, applied after an explicit Softmax). */
Test(grad, whole_net_softmax_head, .timeout = 120)
{
    check_net("  Flatten\n  Linear 4\n  Softmax\n", LOSS_CROSS_ENTROPY, 0, 0);
}

/* The PyTorch MNIST example's head: LogSoftmax, then nll (torch.nn.NLLLoss); and
 * cross_entropy of a LogSoftmax (log_softmax is idempotent: the same loss as without it). */
Test(grad, whole_net_logsoftmax_nll, .timeout = 120)
{
    check_net("  Flatten\n  Linear 4\n  LogSoftmax\n", LOSS_NLL, 0, 0);
    check_net("  Flatten\n  Linear 4\n  LogSoftmax\n", LOSS_CROSS_ENTROPY, 0, 0);
}
