/* test_props.c: property tests that walk the layer registry through whole nets. For every
 * kind, tests/common/kind_nets.c puts the kind's example statement at every position a net
 * allows (first, between a convolution and a max pool, after a pool, between two layers
 * with parameters, last; image and flat), and each net must pass:
 *   - a gradient check of every parameter of the whole net through the runtime (rt_forward,
 *     rt_backward), against central differences;
 *   - the same bits, outputs and gradients, with the runtime's plan (in place, an activation
 *     moved after its max pool, the pool fused into the convolution, a ReLU run inside the
 *     BatchNorm before it) and without;
 *   - every property the kind declares in its LayerOps, on random values, ties and NaN:
 *     'monotonic' (a <= b gives f(a) <= f(b), ties give equal outputs, NaN stays NaN) and
 *     'commutes_with_max' (the runtime's reordering of the kind after a max pool gives the
 *     same bits as the written order).
 * A kind that declares a property it does not have fails here, by name; a new kind needs
 * no edit of this file.
 *
 * Gradient check: loss L = sum(out * r) for a fixed random r (so every output matters, as in
 * test_grad.c), numeric derivative (L(w + eps) - L(w - eps)) / 2 eps in float forwards with
 * L summed in double, eps = 1e-3. The nets hold ReLUs and max pools, whose kinks a step may
 * cross (a first-layer weight moves 128 values; behind a BatchNorm, every value of its
 * channel): a step that changes any of the forward's decisions (an elementwise node's output
 * signs, a max pool's argmax, anything a node saves) crossed a kink, and the element is
 * skipped; at most a third of a net's checked elements may be, and every tensor keeps one.
 * Comparing two step sizes instead misses a kink much closer than both, which behind a
 * BatchNorm happens often. Tolerance: |analytic - numeric| <= atol + 1e-2 * max(|analytic|,
 * |numeric|), atol = 3e-4 or, when larger, the float rounding of L divided by 2 eps
 * (net_atol); the worst element measured uses 32% of its tolerance (GRAD_VERBOSE=1 prints
 * the share per tensor). A Flatten backward transposing the wrong way fails every net it is
 * in; a BatchNorm bias gradient 3% off fails. Large tensors are sampled (48 elements each)
 * to keep the suite quick. Nets with batch statistics run a batch of 8. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "kind_nets.h"
#include "layer.h"
#include "runtime.h"

#define BATCH 2
/* Nets with batch statistics run a batch of 8: BatchNorm1d over two samples normalises
 * every feature to about +-1 whatever its input, too flat a function to difference. */
#define COUPLED_BATCH 8
#define EPS 1e-3
#define ATOL 3e-4
#define RTOL 1e-2
#define SAMPLE 48

static bool verbose(void)
{
    const char *v = getenv("GRAD_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

typedef struct Net {
    Arena *arena;
    Graph *g;
    Model *m;
} Net;

/* chunks: the train setting's value for this model, or 0 for the net's */
static void net_load_chunks(Net *n, const char *text, const char *what, const RtPlan *opts,
                            int chunks)
{
    n->arena = arena_new();
    Diag d;
    diag_init(&d, stderr, "test_props");
    n->g = frontend_load_file(n->arena, src_from_string(n->arena, "props.net", text), &d);
    cr_assert(n->g && n->g->shaped && d.errors == 0, "%s does not build:\n%s", what, text);
    if (chunks > 0)
        n->g->train.chunks = chunks;
    n->m = rt_model_new_opts(n->g, COUPLED_BATCH, opts, &d);
    cr_assert(n->m, "rt_model_new failed for %s", what);
    rt_model_init(n->m, 77);
}

static void net_load_opts(Net *n, const char *text, const char *what, const RtPlan *opts)
{
    net_load_chunks(n, text, what, opts, 0);
}

static void net_load(Net *n, const char *text, const char *what)
{
    net_load_opts(n, text, what, &rt_plan_default);
}

static void net_free(Net *n)
{
    rt_model_free(n->m);
    arena_free(n->arena);
}

static void fill_uniform(float *x, size_t n, Rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(rng_uniform(rng) * 2 - 1);
}

/* ---- whole-net gradients ---- */

typedef struct GradNet {
    Model *m;
    const float *r; /* dL/dout, (BATCH, outputs) in PyTorch's order */
    size_t nout;
    Rng drop; /* the dropout RNG every forward starts from */
    int batch;
    uint64_t pattern; /* the unperturbed forward's decisions */
} GradNet;

/* The batch a net runs in the tests. */
static int net_batch(const Graph *g)
{
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        if (n->ops->batch_sums && n->ops->batch_sums(n, true))
            return COUPLED_BATCH;
    }
    return BATCH;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

/* The discrete decisions of the last forward, hashed: the sign of every elementwise node's
 * output (a ReLU's zeros, a LeakyReLU's branch; for an activation moved after its max pool,
 * the pool's output it wrote) and every byte a node saved for backward (a max pool's
 * argmax, a dropout mask). A step that changes them crossed a kink, however close to the
 * point the kink is (which two step sizes cannot tell when it is much closer than both). */
static uint64_t decisions(const Model *m, int batch)
{
    uint64_t h = 1469598103934665603ull;
    const Graph *g = m->g;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        const NodePlan *np = &m->plan[i];
        if (n->ops->emit_act) {
            int at = i;
            for (int j = i + 1; np->after_pool && j < g->nodes.len; j++)
                if (m->plan[j].late_act == i)
                    at = j;
            const float *o = m->plan[at].out;
            size_t cnt = (size_t)batch * (size_t)shape_numel(GRAPH_NODE(g, at)->out);
            for (size_t k = 0; k < cnt; k++) {
                char sgn = o[k] > 0 ? 1 : o[k] < 0 ? 2 : 0;
                h = fnv(h, &sgn, 1);
            }
        }
        if (np->saved && n->ops->saved)
            h = fnv(h, np->saved, sizeof(float) * n->ops->saved(n) * (size_t)batch);
    }
    return h;
}

static double loss_at(GradNet *gn, uint64_t *pattern)
{
    gn->m->rng = gn->drop;
    const float *out = rt_forward(gn->m, gn->batch, true);
    double L = 0;
    for (size_t i = 0; i < gn->nout; i++)
        L += (double)out[i] * (double)gn->r[i];
    if (pattern)
        *pattern = decisions(gn->m, gn->batch);
    return L;
}

/* The central difference at w, or NAN when a step changes the forward's decisions. */
static double numeric(GradNet *gn, float *w, double eps)
{
    uint64_t ph, pl;
    float keep = *w;
    *w = keep + (float)eps;
    double hi = *w, Lp = loss_at(gn, &ph);
    *w = keep - (float)eps;
    double lo = *w, Lm = loss_at(gn, &pl);
    *w = keep;
    return ph == gn->pattern && pl == gn->pattern ? (Lp - Lm) / (hi - lo) : NAN;
}

/* Whether a and b agree within the tolerance, whose absolute part is atol. */
static bool close_enough(double a, double b, double atol)
{
    return fabs(a - b) <= atol + RTOL * fmax(fabs(a), fabs(b));
}

/* The absolute part of the tolerance for a net: ATOL, or more when the float rounding of L
 * (2^-24 of sum |out r|, each output rounded once more at least) divided by 2 eps is larger:
 * a net with batch statistics moves every output when one weight moves, and a gradient
 * that is 0 by construction (a bias before a BatchNorm) then reads as that noise. */
static double net_atol(const GradNet *gn)
{
    const float *out = gn->m->logits;
    double sum = 0;
    for (size_t i = 0; i < gn->nout; i++)
        sum += fabs((double)out[i] * (double)gn->r[i]);
    double noise = 4 * sum * 0x1p-24 / (2 * EPS);
    return noise > ATOL ? noise : ATOL;
}

static void check_net_grads(const KindNet *kn, const char *kind)
{
    Net net;
    /* decisions() reads every output of the batch, which a local one does not keep
     * (check_plans_agree shows that recomputing changes no bit) */
    RtPlan kept = rt_plan_default;
    kept.recompute = false;
    net_load_opts(&net, kn->text, kind, &kept);
    Model *m = net.m;
    int batch = net_batch(net.g);
    Rng rng;
    rng_seed(&rng, 1000 + (uint64_t)kn->pos);
    fill_uniform(m->input, (size_t)batch * (size_t)shape_numel(net.g->input), &rng);
    size_t nout = (size_t)batch * (size_t)rt_outputs(m);
    float *r = malloc(sizeof(float) * nout);
    cr_assert(r);
    fill_uniform(r, nout, &rng);
    GradNet gn = {.m = m, .r = r, .nout = nout, .batch = batch};
    rng_seed(&gn.drop, 5);

    loss_at(&gn, NULL);
    memcpy(m->dlogits, r, sizeof(float) * nout);
    rt_backward(m, batch);
    float *analytic = malloc(sizeof(float) * (m->nparam_floats + 1));
    cr_assert(analytic);
    memcpy(analytic, m->grads, sizeof(float) * m->nparam_floats);
    loss_at(&gn, &gn.pattern); /* after backward, which wrote what some nodes save */
    double atol = net_atol(&gn);

    size_t net_checks = 0, net_kinks = 0;
    for (int i = 0; i < net.g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(net.g, i);
        for (int p = 0; p < n->nparams; p++) {
            if (n->params[p].buffer)
                continue; /* saved, not trained: no gradient */
            float *w = m->plan[i].params[p];
            const float *a = analytic + (w - m->params);
            size_t cnt = (size_t)shape_numel(n->params[p].shape);
            size_t checks = cnt < SAMPLE ? cnt : SAMPLE;
            int bad = 0, kinks = 0;
            double worst = 0, worst_ok = 0; /* worst_ok: the largest share of its tolerance */
            size_t at = 0;
            double wa = 0, wn = 0;
            for (size_t s = 0; s < checks; s++) {
                size_t k = cnt <= SAMPLE ? s : (size_t)rng_below(&rng, cnt);
                double n1 = numeric(&gn, &w[k], EPS);
                if (isnan(n1)) { /* a step crossed a kink */
                    kinks++;
                    continue;
                }
                double err = fabs(a[k] - n1);
                double used = err / (atol + RTOL * fmax(fabs(a[k]), fabs(n1)));
                worst_ok = used > worst_ok && close_enough(a[k], n1, atol) ? used : worst_ok;
                if (!close_enough(a[k], n1, atol)) {
                    bad++;
                    if (!(err <= worst))
                        worst = err, at = k, wa = a[k], wn = n1;
                }
            }
            if (verbose())
                fprintf(stderr,
                        "props grad %-10s %-16s %-9s n=%-3zu kinks %2d, %.0f%% of tolerance\n",
                        kind, kn->tag, n->params[p].name, checks, kinks, 100 * worst_ok);
            cr_expect(bad == 0,
                      "%s at position '%s': gradient of %s element %zu: analytic %.9g, numeric "
                      "%.9g (%d of %zu checked elements off)\n%s",
                      kind, kn->tag, n->params[p].name, at, wa, wn, bad, checks, kn->text);
            cr_expect((size_t)kinks < checks,
                      "%s at position '%s': every checked element of %s gave two different "
                      "numeric derivatives (kinks, or a forward that is not a function of its "
                      "input)\n%s",
                      kind, kn->tag, n->params[p].name, kn->text);
            net_checks += checks;
            net_kinks += (size_t)kinks;
        }
    }
    cr_expect(net_kinks * 3 <= net_checks,
              "%s at position '%s': %zu of %zu elements gave two different numeric derivatives "
              "(kinks, or a forward that is not a function of its input)\n%s",
              kind, kn->tag, net_kinks, net_checks, kn->text);
    free(analytic);
    free(r);
    net_free(&net);
}

/* ---- the memory plan's liberties ---- */

/* One training step's output and parameter gradients (new arrays) under a plan. */
static void step_under(const KindNet *kn, const char *kind, const RtPlan *opts, bool ties,
                       float **out, float **grads, size_t *nout, size_t *ngrads)
{
    Net net;
    /* one chunk of parts of one row (opts->part): a thread runs several parts of a chunk, so
     * that a part's output kept in its slot is overwritten before backward needs it, and a
     * kind whose backward reads the chunk's earlier rows (Linear) finds them */
    net_load_chunks(&net, kn->text, kind, opts, 1);
    Model *m = net.m;
    Rng rng;
    rng_seed(&rng, 2000 + (uint64_t)kn->pos);
    size_t nin = (size_t)BATCH * (size_t)shape_numel(net.g->input);
    fill_uniform(m->input, nin, &rng);
    if (ties) /* a grid of 5 values, ties everywhere (max pools pick the first) */
        for (size_t i = 0; i < nin; i++)
            m->input[i] = (float)((int)(m->input[i] * 2.5f)) * 0.4f;
    *nout = (size_t)BATCH * (size_t)rt_outputs(m);
    *ngrads = m->nparam_floats;
    *out = malloc(sizeof(float) * *nout);
    *grads = malloc(sizeof(float) * (*ngrads + 1));
    cr_assert(*out && *grads);
    m->rng = (Rng){{1, 2, 3, 4}};
    memcpy(*out, rt_forward(m, BATCH, true), sizeof(float) * *nout);
    fill_uniform(m->dlogits, *nout, &rng);
    rt_backward(m, BATCH);
    memcpy(*grads, m->grads, sizeof(float) * *ngrads);
    net_free(&net);
}

static size_t first_difference(const float *a, const float *b, size_t n)
{
    size_t k = 0;
    while (k < n && (!memcmp(&a[k], &b[k], sizeof(float)) || (isnan(a[k]) && isnan(b[k]))))
        k++;
    return k;
}

/* In place on and off, the ReLU moved after its max pool or not, the pool fused into the
 * convolution or not, the ReLU run inside the BatchNorm before it or not: the same bits, outputs
 * and gradients, on random inputs and on inputs full of ties. A kind that declares 'inplace' while
 * its backward reads its input, or that reads its own output in backward without saying so, fails
 * here. */
static void check_plans_agree(const KindNet *kn, const char *kind)
{
    /* parts of one row: a thread runs several, so that a part's output kept in the
     * thread's slot (NodePlan.local) is overwritten before backward needs it again */
    static const RtPlan off = {.part = 1};
    RtPlan on = rt_plan_default;
    on.part = 1;
    for (int ties = 0; ties < 2; ties++) {
        float *o0, *g0, *o1, *g1;
        size_t no, ng;
        step_under(kn, kind, &on, ties, &o0, &g0, &no, &ng);
        step_under(kn, kind, &off, ties, &o1, &g1, &no, &ng);
        size_t ko = first_difference(o0, o1, no), kg = first_difference(g0, g1, ng);
        cr_expect(ko == no && kg == ng,
                  "%s at position '%s'%s: the runtime's plan (in place, reordered, fused, "
                  "recomputed) gives "
                  "%s %zu = %.9g, the plain order %.9g\n%s",
                  kind, kn->tag, ties ? " (inputs with ties)" : "", ko < no ? "output" : "gradient",
                  ko < no ? ko : kg,
                  ko < no   ? (double)o0[ko]
                  : kg < ng ? (double)g0[kg]
                            : 0,
                  ko < no   ? (double)o1[ko]
                  : kg < ng ? (double)g1[kg]
                            : 0,
                  kn->text);
        free(o0), free(g0), free(o1), free(g1);
    }
}

/* ---- declared properties ---- */

/* Values with every awkward case: signed zeros, ties, tiny and huge magnitudes, infinities,
 * then random ones. */
static size_t probe_values(float *x, size_t cap, Rng *rng)
{
    static const float fixed[] = {0.0f,  -0.0f,  1e-40f, -1e-40f, 1e-20f,   -1e-20f,
                                  0.5f,  -0.5f,  1.0f,   -1.0f,   3.0f,     -3.0f,
                                  40.0f, -40.0f, 1e30f,  -1e30f,  INFINITY, -INFINITY};
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && n < cap; i++)
        x[n++] = fixed[i];
    while (n < cap)
        x[n++] = (float)((rng_uniform(rng) * 2 - 1) * (rng_uniform(rng) < 0.5 ? 1 : 8));
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The kind's forward on one flat sample of n values (its example, on input n). */
static void run_elementwise(const LayerOps *ops, const float *in, float *out, size_t n)
{
    char text[256];
    snprintf(text, sizeof text, "network p (input %zu) {\n  %s\n}\n", n, ops->example);
    Net net;
    net_load(&net, text, ops->name);
    const Node *node = GRAPH_NODE(net.g, 0);
    cr_assert_eq(node->ops, ops, "%s: its example builds a '%s'", ops->name, node->ops->name);
    memcpy(net.m->input, in, sizeof(float) * n);
    memcpy(out, rt_forward(net.m, 1, false), sizeof(float) * n);
    net_free(&net);
}

static void check_monotonic(const LayerOps *ops)
{
    enum { N = 256 };
    float x[N + 1], y[N + 1];
    Rng rng;
    rng_seed(&rng, 31);
    size_t n = probe_values(x, N, &rng);
    qsort(x, n, sizeof x[0], cmp_float);
    x[n] = NAN;
    run_elementwise(ops, x, y, n + 1);
    for (size_t i = 1; i < n; i++) {
        cr_expect(!(y[i] < y[i - 1]),
                  "%s declares 'monotonic' but f(%.9g) = %.9g is less than f(%.9g) = %.9g",
                  ops->name, (double)x[i], (double)y[i], (double)x[i - 1], (double)y[i - 1]);
        if (x[i] == x[i - 1])
            cr_expect(y[i] == y[i - 1] || (isnan(y[i]) && isnan(y[i - 1])),
                      "%s declares 'monotonic' but equal inputs %.9g, %.9g give %.9g and %.9g",
                      ops->name, (double)x[i - 1], (double)x[i], (double)y[i - 1], (double)y[i]);
    }
    cr_expect(isnan(y[n]), "%s declares 'monotonic' but f(NaN) = %.9g, not NaN", ops->name,
              (double)y[n]);
    /* runs of consecutive floats at several magnitudes: an approximation's rounding can break
     * the order by an ulp at a few places in ten thousand, which random probes rarely meet (a
     * vector exp made sigmoid decrease at 330,819 of the 2.2e9 floats in [-95, 95]) */
    enum { RUN = 16384 };
    static const float starts[] = {-30.0f, -4.0f, -0.5f, -1e-3f, 0.0f, 0.3f, 1.0f, 7.0f};
    float *a = malloc(sizeof(float) * RUN), *b = malloc(sizeof(float) * RUN);
    cr_assert(a && b);
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        a[0] = starts[s];
        for (int i = 1; i < RUN; i++)
            a[i] = nextafterf(a[i - 1], INFINITY);
        run_elementwise(ops, a, b, RUN);
        int bad = 0;
        for (int i = 1; i < RUN; i++)
            bad += b[i] < b[i - 1];
        cr_expect(bad == 0,
                  "%s declares 'monotonic' but decreases at %d of %d consecutive floats from %g",
                  ops->name, bad, RUN, (double)starts[s]);
    }
    free(a);
    free(b);
}

/* One window through `Conv2d 1 k1` (the identity), the kind and `MaxPool2d 2`, in the
 * runtime's order (the kind moved after the pool, the pool fused into the convolution) or
 * in the written order: the output and the convolution's weight and bias gradients for an
 * output gradient of 1. The weight gradient is the input value the pool's gradient reaches,
 * times the kind's derivative there, so it shows which element the pool picked. */
static void pool_window(const LayerOps *ops, const float win[4], bool reorder, float res[3])
{
    char text[256];
    snprintf(text, sizeof text,
             "network p (input 1x2x2) {\n  Conv2d 1 k1\n  %s\n  MaxPool2d 2\n}\n", ops->example);
    /* the written order: neither moved after the pool nor fused into the conv */
    RtPlan written = rt_plan_default;
    written.after_pool = written.fused_pool = false;
    Net net;
    net_load_opts(&net, text, ops->name, reorder ? &rt_plan_default : &written);
    Model *m = net.m;
    int moved = 0;
    for (int i = 0; i < net.g->nodes.len; i++)
        moved += m->plan[i].after_pool;
    cr_assert_eq(moved, reorder,
                 "%s declares 'commutes_with_max' but the runtime does not move it after the "
                 "max pool",
                 ops->name);
    m->plan[0].params[0][0] = 1;
    m->plan[0].params[1][0] = 0;
    memcpy(m->input, win, sizeof(float) * 4);
    res[0] = rt_forward(m, 1, true)[0];
    m->dlogits[0] = 1;
    rt_backward(m, 1);
    res[1] = m->plan[0].grads[0][0];
    res[2] = m->plan[0].grads[1][0];
    net_free(&net);
}

/* Pairs a < b that the kind maps to one float, f(a) == f(b) (a ReLU's negatives, a Tanh's
 * saturation), as {a, b, f(a)}: found by sweeping the kind over [-40, 40], one pair per tied
 * output value. Returns how many (at most max). */
static int tie_pairs(const LayerOps *ops, float (*pairs)[3], int max)
{
    enum { N = 80001 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    cr_assert(x && y);
    for (int i = 0; i < N; i++)
        x[i] = (float)(-40.0 + 80.0 * i / (N - 1));
    run_elementwise(ops, x, y, N);
    int n = 0; /* one pair per tied output value: a saturating kind ties at several */
    for (int i = 1; i < N && n < max; i++)
        if (y[i] == y[i - 1] && (n == 0 || y[i] != pairs[n - 1][2])) {
            pairs[n][0] = x[i - 1];
            pairs[n][1] = x[i];
            pairs[n][2] = y[i];
            n++;
        }
    free(x);
    free(y);
    return n;
}

/* The runtime's reordering of the kind after a max pool against the written order, value
 * and gradients, window by window: pairs of distinct values the kind maps to one float
 * (pooling after the kind picks the first of the tie, pooling before picks the larger, and
 * where the kind's derivative is not 0 there, as in a saturated Tanh, the gradient reaches
 * another input), ties in the input, random windows and a NaN in each place. */
static void check_commutes_with_max(const LayerOps *ops)
{
    float pairs[64][3];
    int npairs = tie_pairs(ops, pairs, 64);
    Rng rng;
    rng_seed(&rng, 17);
    for (int c = 0; c < npairs + 24; c++) {
        float win[4];
        if (c < npairs) { /* the smaller of the tie first, so the two orders disagree */
            win[0] = pairs[c][0], win[1] = pairs[c][1];
            win[2] = win[3] = pairs[c][0] - 1;
        } else {
            for (int k = 0; k < 4; k++) /* a grid of 5 values: ties in the input */
                win[k] = (float)((int)rng_below(&rng, 5) - 2) * 0.5f;
            if (c >= npairs + 20)
                win[c - npairs - 20] = NAN;
        }
        float a[3], b[3];
        pool_window(ops, win, false, a);
        pool_window(ops, win, true, b);
        for (int k = 0; k < 3; k++)
            cr_expect(!memcmp(&a[k], &b[k], sizeof(float)) || (isnan(a[k]) && isnan(b[k])),
                      "%s declares 'commutes_with_max' but moved after a max pool it gives %s "
                      "%.9g, in the written order %.9g (window %.9g %.9g %.9g %.9g)",
                      ops->name,
                      k == 0   ? "output"
                      : k == 1 ? "weight gradient"
                               : "bias gradient",
                      (double)b[k], (double)a[k], (double)win[0], (double)win[1], (double)win[2],
                      (double)win[3]);
    }
}

/* ---- the registry walk ---- */

ParameterizedTestParameters(props, every_kind)
{
    static int kinds[LAYER__COUNT];
    for (int k = 0; k < LAYER__COUNT; k++)
        kinds[k] = k;
    return cr_make_param_array(int, kinds, LAYER__COUNT);
}

ParameterizedTest(int *kind, props, every_kind, .timeout = 300)
{
    const LayerOps *ops = ir_layers[*kind];
    KindNet nets[32];
    int n = kind_nets(ops, nets, 32);
    bool seen[POS__COUNT] = {false};
    for (int i = 0; i < n; i++) {
        seen[nets[i].pos] = true;
        check_net_grads(&nets[i], ops->name);
        check_plans_agree(&nets[i], ops->name);
    }
    cr_expect(seen[POS_FIRST] && seen[POS_LAST] &&
                  (seen[POS_BEFORE_POOL] || seen[POS_AFTER_POOL] || seen[POS_MIDDLE]),
              "%s ('%s') is not placed at the first, a middle and the last position of a net: "
              "see tests/common/kind_nets.c",
              ops->name, ops->example);
    kind_nets_free(nets, n);
    if (ops->monotonic)
        check_monotonic(ops);
    if (ops->commutes_with_max)
        check_commutes_with_max(ops);
}

/* Which BatchNorm outputs the plan keeps a part at a time (NodePlan.local): those read only
 * before the next BatchNorm's barrier, by nodes that do not write over them. The bits are
 * check_plans_agree's; this shows that the saving happens where it should, and not where a
 * reader runs in a later region or the loss reads the output. */
Test(props, local_outputs)
{
    static const struct {
        const char *body;
        int node;   /* the BatchNorm */
        bool local; /* expected */
    } cases[] = {
        {"Conv2d 4 k3 p1\nBatchNorm2d\nReLU\nConv2d 3 k3\nFlatten\nLinear 5", 1, true},
        {"Conv2d 4 k3 p1\nBatchNorm2d\nMaxPool2d 2\nFlatten\nLinear 5", 1, true},
        /* a Linear's backward reads the chunk's earlier rows of its input */
        {"Flatten\nLinear 8\nBatchNorm1d\nLinear 5", 2, false},
        {"Conv2d 4 k3 p1\nBatchNorm2d\nLinear 3\nFlatten\nLinear 5", 1, false},
        /* the loss reads it */
        {"Conv2d 4 k3 p1\nBatchNorm2d", 1, false},
        {"Flatten\nLinear 8\nBatchNorm1d\nReLU", 2, false},
        /* read by the next BatchNorm, whose forward runs after the barrier */
        {"Conv2d 4 k3 p1\nBatchNorm2d\nBatchNorm2d\nFlatten\nLinear 5", 1, false},
        /* a residual's input, read by the add after the body's BatchNorm */
        {"Conv2d 4 k3 p1\nBatchNorm2d\nReLU\nr: residual { Conv2d 4 k3 p1; BatchNorm2d }\n"
         "Flatten\nLinear 5",
         1, false},
        /* the body's last BatchNorm, read by the add in its own region */
        {"Conv2d 4 k3 p1\nr: residual { Conv2d 4 k3 p1; BatchNorm2d }\nFlatten\nLinear 5", 2, true},
        /* a Dropout written over it */
        {"Flatten\nLinear 8\nBatchNorm1d\nDropout 0.5\nLinear 5", 2, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char text[512];
        snprintf(text, sizeof text, "network l (input 3x8x8) {\n%s\n}\n", cases[k].body);
        Net net;
        net_load(&net, text, "local_outputs");
        cr_expect_eq(net.m->plan[cases[k].node].local, cases[k].local,
                     "node %d of this net is %skept a part at a time:\n%s", cases[k].node,
                     net.m->plan[cases[k].node].local ? "" : "not ", text);
        net_free(&net);
    }
}
