/* model.c: the model's memory plan, parameter initialisation, forward, backward and loss.
 *
 * Threads: a pass splits the batch into one contiguous slice per thread and runs every
 * layer on its slice inside a single parallel region, so a step has no barrier between
 * layers (the kernels, called from inside it, run single-threaded). Each thread writes its
 * own parameter gradients; they are summed in thread order afterwards, so a fixed thread
 * count gives the same bits every run.
 *
 * Memory: one allocation, carved into 64-byte aligned views, holds everything a step
 * touches. Every node's output is kept for backward; activation gradients ping-pong between
 * two buffers of the largest tensor's size, since backward only needs the gradient of the
 * current node's output and input at once.
 *
 * Layout: images are channels-last inside (as the kernels take them); the input arrives and
 * the output leaves in PyTorch's order, converted by each thread for its own slice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"
#include "runtime.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Carves views from one block: a first pass with base == NULL only counts. */
typedef struct Carver {
    char *base;
    size_t off;
} Carver;

static void *carve(Carver *c, size_t bytes)
{
    void *p = c->base ? c->base + c->off : NULL;
    c->off += (bytes + 63) & ~(size_t)63;
    return p;
}

static void plan(Model *m, Carver *c)
{
    const Graph *g = m->g;
    size_t B = (size_t)m->max_batch, nn = (size_t)g->nodes.len;
    m->pview = carve(c, sizeof(float *) * nn * NODE_MAX_PARAMS);
    m->gview = carve(c, sizeof(float *) * nn * NODE_MAX_PARAMS);
    m->out = carve(c, sizeof(float *) * nn);
    size_t T = (size_t)m->nthreads;
    m->scratch = carve(c, sizeof(float *) * nn * T);
    m->trng = carve(c, sizeof(Rng) * T);
    size_t nparam = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++)
            nparam += align16((size_t)shape_numel(n->params[p].shape));
    }
    m->nparam_floats = nparam;
    m->params = carve(c, sizeof(float) * nparam);
    m->grads = carve(c, sizeof(float) * nparam);
    m->tgrads = carve(c, sizeof(float) * nparam * (T - 1));
    size_t largest = (size_t)shape_numel(g->input);
    m->input = carve(c, sizeof(float) * B * largest);
    float *xin = layout_differs(g->input) ? carve(c, sizeof(float) * B * largest) : NULL;
    if (c->base)
        m->xin = xin ? xin : m->input;
    size_t off = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++) {
            if (c->base) {
                m->pview[i * NODE_MAX_PARAMS + (size_t)p] = m->params + off;
                m->gview[i * NODE_MAX_PARAMS + (size_t)p] = m->grads + off;
            }
            off += align16((size_t)shape_numel(n->params[p].shape));
        }
        size_t numel = (size_t)shape_numel(n->out);
        if (numel > largest)
            largest = numel;
        /* a view (Flatten) shares its input's memory: no copy forward or backward */
        bool view = n->ops->view && n->ops->view(n);
        float *o = view ? NULL : carve(c, sizeof(float) * B * numel);
        if (c->base)
            m->out[i] = view ? (i ? m->out[i - 1] : m->xin) : o;
        size_t sc = n->ops->scratch ? n->ops->scratch(n, m->slice) : 0;
        for (size_t t = 0; t < T; t++) {
            float *s = sc ? carve(c, sizeof(float) * sc) : NULL;
            if (c->base)
                m->scratch[t * nn + i] = s;
        }
    }
    /* each thread ping-pongs in its own part: threads do not wait for each other between
     * layers, so rows of different layers' sizes must never share memory */
    m->dslice = (size_t)m->slice * largest;
    m->dbuf[0] = carve(c, sizeof(float) * m->dslice * T);
    m->dbuf[1] = carve(c, sizeof(float) * m->dslice * T);
    const Node *last = GRAPH_NODE(g, nn - 1);
    size_t outs = (size_t)shape_numel(last->out);
    bool convert = layout_differs(last->out);
    float *logits = convert ? carve(c, sizeof(float) * B * outs) : NULL;
    float *dlast = convert ? carve(c, sizeof(float) * B * outs) : NULL;
    if (c->base) {
        m->logits = convert ? logits : m->out[nn - 1];
        m->dlast = dlast;
    }
    m->dlogits = carve(c, sizeof(float) * B * outs);
    m->target = carve(c, sizeof(float) * B * outs);
    m->labels = carve(c, sizeof(int32_t) * B);
}

Model *rt_model_new(const Graph *g, int max_batch, Diag *d)
{
    if (!g->shaped || g->nodes.len == 0) {
        diag_error(d, (SrcLoc){0}, "the network did not pass the shape check");
        return NULL;
    }
    Model *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->g = g;
    m->max_batch = max_batch;
    /* kernels called inside the model's parallel region must not fork again */
#ifdef _OPENMP
    omp_set_max_active_levels(1);
#endif
    m->nthreads = kernels_threads();
    if (m->nthreads > max_batch)
        m->nthreads = max_batch;
    if (m->nthreads < 1)
        m->nthreads = 1;
    m->slice = (max_batch + m->nthreads - 1) / m->nthreads;
    Carver count = {0};
    plan(m, &count);
    if (posix_memalign(&m->block, 64, count.off) != 0) {
        free(m);
        goto oom;
    }
    memset(m->block, 0, count.off);
    Carver c = {.base = m->block};
    plan(m, &c);
    return m;
oom:
    diag_error(d, (SrcLoc){0}, "out of memory for the model at batch %d", max_batch);
    return NULL;
}

void rt_model_free(Model *m)
{
    if (!m)
        return;
    free(m->block);
    free(m);
}

void rt_model_init(Model *m, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        if (n->nparams && n->ops->init)
            n->ops->init(n, &m->pview[(size_t)i * NODE_MAX_PARAMS], &rng);
    }
    rng_seed(&m->rng, rng_next(&rng));
}

int64_t rt_outputs(const Model *m)
{
    return shape_numel(GRAPH_NODE(m->g, m->g->nodes.len - 1)->out);
}

/* Rows [*b0, *b0 + return) of a batch for thread t of nt: contiguous, balanced. */
static int slice_of(int batch, int t, int nt, int *b0)
{
    *b0 = (int)((int64_t)batch * t / nt);
    return (int)((int64_t)batch * (t + 1) / nt) - *b0;
}

/* Threads for a pass over `batch` rows: no more than rows, at least one. */
static int pass_threads(const Model *m, int batch)
{
    return batch < m->nthreads ? (batch > 0 ? batch : 1) : m->nthreads;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static size_t rows(const Shape *s, int b) { return (size_t)b * (size_t)shape_numel(*s); }

/* The views of node i for the rows [b0, b0 + count) on thread t. */
static LayerRun run_args(Model *m, int i, int b0, int count, int t, bool training)
{
    const Node *n = GRAPH_NODE(m->g, i);
    size_t nn = (size_t)m->g->nodes.len;
    float *const *grads = &m->gview[(size_t)i * NODE_MAX_PARAMS];
    return (LayerRun){
        .batch = count,
        .training = training,
        .in = (i ? m->out[i - 1] : m->xin) + rows(&n->in, b0),
        .out = m->out[i] + rows(&n->out, b0),
        .params = &m->pview[(size_t)i * NODE_MAX_PARAMS],
        .grads = grads,
        .scratch = m->scratch[(size_t)t * nn + (size_t)i],
        .rng = &m->trng[t],
    };
}

/* Rows [b0, b0 + count) of a (B, s) tensor from src to dst, to channels-last or back. */
static void convert_rows(float *dst, const float *src, const Shape *s, int b0, int count,
                         bool to_hwc)
{
    layout_transpose(dst + rows(s, b0), src + rows(s, b0), count, (int)s->d[0],
                     (int)(s->d[1] * s->d[2]), to_hwc);
}

/* Thread t's gradient views: thread 0 writes m->grads, the others their own blocks. */
static void thread_grads(Model *m, int i, int t, float **out)
{
    for (int p = 0; p < NODE_MAX_PARAMS; p++) {
        float *g = m->gview[(size_t)i * NODE_MAX_PARAMS + (size_t)p];
        out[p] = g && t > 0 ? m->tgrads + (size_t)(t - 1) * m->nparam_floats + (size_t)(g - m->grads)
                            : g;
    }
}

const float *rt_forward(Model *m, int batch, bool training)
{
    int nt = pass_threads(m, batch);
    if (training) /* each thread's dropout stream, drawn in thread order */
        for (int t = 0; t < nt; t++)
            rng_seed(&m->trng[t], rng_next(&m->rng));
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int t = thread_id();
        int b0, count = slice_of(batch, t, nt, &b0), nn = m->g->nodes.len;
        if (m->xin != m->input && count > 0)
            convert_rows(m->xin, m->input, &m->g->input, b0, count, true);
        for (int i = 0; count > 0 && i < nn; i++) {
            const Node *n = GRAPH_NODE(m->g, i);
            LayerRun r = run_args(m, i, b0, count, t, training);
            n->ops->forward(n, &r);
        }
        if (m->dlast && count > 0)
            convert_rows(m->logits, m->out[nn - 1], &GRAPH_NODE(m->g, nn - 1)->out, b0, count,
                         false);
    }
    return m->logits;
}

void rt_backward(Model *m, int batch)
{
    int nt = pass_threads(m, batch);
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int t = thread_id();
        int b0, count = slice_of(batch, t, nt, &b0);
        const Shape *os = &GRAPH_NODE(m->g, m->g->nodes.len - 1)->out;
        const float *dout = m->dlogits + rows(os, b0);
        if (m->dlast && count > 0) {
            convert_rows(m->dlast, m->dlogits, os, b0, count, true);
            dout = m->dlast + rows(os, b0);
        }
        int which = 0;
        for (int i = m->g->nodes.len - 1; count > 0 && i >= 0; i--) {
            const Node *n = GRAPH_NODE(m->g, i);
            float *grads[NODE_MAX_PARAMS];
            thread_grads(m, i, t, grads);
            LayerRun r = run_args(m, i, b0, count, t, true);
            r.grads = grads;
            r.dout = dout;
            if (n->ops->view && n->ops->view(n)) { /* its input's gradient is its output's */
                if (i == 0)
                    break;
                continue;
            }
            r.din = i > 0 ? m->dbuf[which] + (size_t)t * m->dslice : NULL;
            n->ops->backward(n, &r);
            dout = r.din;
            which ^= 1;
        }
    }
    /* sum the threads' gradients in thread order, element-parallel */
    if (nt > 1) {
        size_t n = m->nparam_floats;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static)
#endif
        for (size_t j = 0; j < n; j++) {
            float s = m->grads[j];
            for (int t = 1; t < nt; t++)
                s += m->tgrads[(size_t)(t - 1) * n + j];
            m->grads[j] = s;
        }
    }
}

float rt_loss(Model *m, LossKind loss, int batch, bool grad)
{
    int N = (int)rt_outputs(m);
    const float *logits = m->logits;
    if (loss == LOSS_MSE) {
        memset(m->target, 0, sizeof(float) * (size_t)batch * (size_t)N);
        for (int b = 0; b < batch; b++)
            m->target[(size_t)b * (size_t)N + (size_t)m->labels[b]] = 1.0f;
        return mse_forward(grad ? m->dlogits : NULL, logits, m->target, batch, N);
    }
    return cross_entropy_forward(grad ? m->dlogits : NULL, logits, m->labels, batch, N);
}
