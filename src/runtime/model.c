/* model.c: the model's memory plan, parameter initialisation, forward, backward and loss.
 *
 * Threads and determinism: a pass cuts the batch into parts of a few rows (so that a part's
 * activations stay in the core's cache as it goes through every layer) and groups the parts
 * into at most MAX_CHUNKS chunks; both are fixed by the batch size and the net alone. In one
 * parallel region, threads take chunks as they come free (a thread slowed by the machine
 * does not hold the others up) and run them part by part; each chunk writes its own
 * parameter gradients, and the chunks' are added in chunk order, so the result is the same
 * bits whatever the number of threads and whichever thread ran which chunk. Kernels called
 * from inside the region run single-threaded.
 *
 * Memory: one allocation, carved into 64-byte aligned views, holds everything a step
 * touches. Every node's output is kept for backward; activation gradients ping-pong between
 * two buffers per thread of a part of the largest tensor, since backward only needs the
 * gradient of the current node's output and input at once.
 *
 * Layout: images are channels-last inside (as the kernels take them); the input arrives and
 * the output leaves in PyTorch's order, converted by each thread for its own part. */
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

/* Rows a thread runs through the net at once: as many as keep every activation of the part
 * within PART_BYTES, so that each layer finds its input in the core's cache (L2: 1-2 MB per
 * core on current x86); at least one, at most a whole batch. Measured on the seed net
 * (354 KB of activations per image, so 2 rows): parts of 1 to 8 rows train within 5% of
 * each other, all about 5% faster than a layer at a time over 50 rows. */
#define PART_BYTES ((size_t)1 << 20)
/* Chunks of a pass: enough for two or three threads to even out their loads, few enough
 * that their gradient blocks stay small. */
#define MAX_CHUNKS 8
static int part_rows(const Graph *g, int max_batch)
{
    size_t per = (size_t)shape_numel(g->input);
    for (int i = 0; i < g->nodes.len; i++)
        per += (size_t)shape_numel(GRAPH_NODE(g, i)->out);
    size_t rows = PART_BYTES / (sizeof(float) * per);
    if (rows < 1)
        rows = 1;
    return rows < (size_t)max_batch ? (int)rows : max_batch;
}

static bool runs_after_pool(const Graph *g, int i);

/* Whether node i writes its output over its input: it can, its input is not the model's,
 * and the input's producer neither reads its own output in backward nor is a view (whose
 * memory belongs to a node before it), nor is a max pool whose output an activation moved
 * after it (runs_after_pool) reads in backward. */
static bool runs_in_place(const Graph *g, int i)
{
    if (i == 0 || !GRAPH_NODE(g, i)->ops->inplace)
        return false;
    const Node *prev = GRAPH_NODE(g, i - 1);
    return !prev->ops->backward_reads_out && !(prev->ops->view && prev->ops->view(prev)) &&
           !(i >= 2 && runs_after_pool(g, i - 2));
}

/* Whether node i, an activation that commutes with a max pool, runs after the max pool that
 * follows it, on the pool's output: it must run in place (so its input, the memory the pool
 * reads, holds the values before the activation). */
static bool runs_after_pool(const Graph *g, int i)
{
    return i + 1 < g->nodes.len && GRAPH_NODE(g, i)->ops->commutes_with_max &&
           GRAPH_NODE(g, i + 1)->ops->selects_max && runs_in_place(g, i);
}

/* The max pool whose forward node i computes itself (ops->fuses_pool): the node after it,
 * or the one after an activation that runs after the pool. Its index, or -1. */
static int fused_pool_of(const Graph *g, int i)
{
    const Node *n = GRAPH_NODE(g, i);
    int j = i + 1 < g->nodes.len && runs_after_pool(g, i + 1) ? i + 2 : i + 1;
    if (!n->ops->fuses_pool || j >= g->nodes.len || !GRAPH_NODE(g, j)->ops->selects_max)
        return -1;
    return n->ops->fuses_pool(n, GRAPH_NODE(g, j)) > 0 ? j : -1;
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
    m->crng = carve(c, sizeof(Rng) * MAX_CHUNKS);
    m->saved = carve(c, sizeof(float *) * nn);
    m->after_pool = carve(c, sizeof(bool) * nn);
    m->pool_k = carve(c, sizeof(int) * nn);
    m->pool_of = carve(c, sizeof(int) * nn);
    m->pooled = carve(c, sizeof(bool) * nn);
    size_t nparam = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++)
            nparam += align16((size_t)shape_numel(n->params[p].shape));
    }
    m->nparam_floats = nparam;
    m->params = carve(c, sizeof(float) * nparam);
    m->grads = carve(c, sizeof(float) * nparam);
    m->cgrads = carve(c, sizeof(float) * nparam * (MAX_CHUNKS - 1));
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
        /* a view (Flatten) shares its input's memory: no copy forward or backward; an
         * in-place node (ReLU after a convolution) writes over its input */
        bool shared = (n->ops->view && n->ops->view(n)) || runs_in_place(g, (int)i);
        if (c->base) {
            m->after_pool[i] = runs_after_pool(g, (int)i);
            int j = fused_pool_of(g, (int)i);
            m->pool_of[i] = j;
            m->pool_k[i] = j >= 0 ? n->ops->fuses_pool(n, GRAPH_NODE(g, j)) : 0;
            if (j >= 0)
                m->pooled[j] = true;
        }
        float *o = shared ? NULL : carve(c, sizeof(float) * B * numel);
        if (c->base)
            m->out[i] = shared ? (i ? m->out[i - 1] : m->xin) : o;
        size_t sv = n->ops->saved ? n->ops->saved(n) : 0;
        float *s = sv ? carve(c, sizeof(float) * B * sv) : NULL;
        if (c->base)
            m->saved[i] = s;
        size_t sc = n->ops->scratch ? n->ops->scratch(n) : 0;
        for (size_t t = 0; t < T; t++) {
            float *s = sc ? carve(c, sizeof(float) * sc) : NULL;
            if (c->base)
                m->scratch[t * nn + i] = s;
        }
    }
    /* each thread ping-pongs in its own block: threads do not wait for each other between
     * layers, so rows of different layers' sizes must never share memory */
    m->dpart = (size_t)m->part * largest;
    m->dbuf[0] = carve(c, sizeof(float) * m->dpart * T);
    m->dbuf[1] = carve(c, sizeof(float) * m->dpart * T);
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
    m->part = part_rows(g, max_batch);
    m->max_chunks = MAX_CHUNKS;
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

/* The chunks of a pass over `batch` rows: at most m->max_chunks, each a run of whole parts,
 * as even as parts allow. */
static int chunk_count(const Model *m, int batch)
{
    int parts = (batch + m->part - 1) / m->part;
    return parts < m->max_chunks ? (parts > 0 ? parts : 1) : m->max_chunks;
}

/* Rows [*r0, *r1) of chunk c of nc. */
static void chunk_rows(const Model *m, int batch, int c, int nc, int *r0, int *r1)
{
    int parts = (batch + m->part - 1) / m->part;
    *r0 = (int)((int64_t)parts * c / nc) * m->part;
    int end = (int)((int64_t)parts * (c + 1) / nc) * m->part;
    *r1 = end < batch ? end : batch;
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

/* One part of a pass: rows [p0, p0 + pn) of the batch, in chunk c, on thread t. */
typedef struct Part {
    int t, c, p0, pn, row; /* row: p0 within its chunk */
    bool first;            /* the thread's first part of the pass */
    bool last;             /* the last part of its chunk */
} Part;

/* The views of node i for part p. */
static LayerRun part_args(Model *m, int i, const Part *p, bool training)
{
    const Node *n = GRAPH_NODE(m->g, i);
    size_t nn = (size_t)m->g->nodes.len;
    return (LayerRun){
        .batch = p->pn,
        .training = training,
        .first = p->first,
        .last = p->last,
        .row = p->row,
        .in = (i ? m->out[i - 1] : m->xin) + rows(&n->in, p->p0),
        .out = m->out[i] + rows(&n->out, p->p0),
        .params = &m->pview[(size_t)i * NODE_MAX_PARAMS],
        .grads = &m->gview[(size_t)i * NODE_MAX_PARAMS],
        .scratch = m->scratch[(size_t)p->t * nn + (size_t)i],
        .saved = m->saved[i] ? m->saved[i] + (size_t)p->p0 * n->ops->saved(n) : NULL,
        .rng = &m->crng[p->c],
    };
}

/* Rows [b0, b0 + count) of a (B, s) tensor from src to dst, to channels-last or back. */
static void convert_rows(float *dst, const float *src, const Shape *s, int b0, int count,
                         bool to_hwc)
{
    layout_transpose(dst + rows(s, b0), src + rows(s, b0), count, (int)s->d[0],
                     (int)(s->d[1] * s->d[2]), to_hwc);
}

/* Chunk c's gradient views: chunk 0 writes m->grads, the others their own blocks. */
static void chunk_grads(Model *m, int i, int c, float **out)
{
    for (int p = 0; p < NODE_MAX_PARAMS; p++) {
        float *g = m->gview[(size_t)i * NODE_MAX_PARAMS + (size_t)p];
        out[p] = g && c > 0
                     ? m->cgrads + (size_t)(c - 1) * m->nparam_floats + (size_t)(g - m->grads)
                     : g;
    }
}

/* Runs fn on every part of a pass over `batch` rows: one parallel region, in which threads
 * take chunks as they come free and go through each a part at a time. */
static void for_each_part(Model *m, int batch, void (*fn)(Model *m, const Part *p, void *ctx),
                          void *ctx)
{
    int nc = chunk_count(m, batch), nt = m->nthreads < nc ? m->nthreads : nc;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int t = thread_id();
        bool first = true;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (int c = 0; c < nc; c++) {
            int r0, r1;
            chunk_rows(m, batch, c, nc, &r0, &r1);
            for (int p0 = r0; p0 < r1; p0 += m->part) {
                int pn = r1 - p0 < m->part ? r1 - p0 : m->part;
                Part p = {.t = t,
                          .c = c,
                          .p0 = p0,
                          .pn = pn,
                          .row = p0 - r0,
                          .first = first,
                          .last = p0 + pn == r1};
                first = false;
                fn(m, &p, ctx);
            }
        }
    }
}

/* The arguments of activation node a applied to node i's output in place (a runs after the
 * max pool i): a copy of a with i's output shape, and i's output as its input and output. */
static LayerRun late_args(Model *m, int a, int i, const Part *p, bool training, Node *as)
{
    *as = *GRAPH_NODE(m->g, a);
    as->in = as->out = GRAPH_NODE(m->g, i)->out;
    LayerRun r = part_args(m, i, p, training);
    r.in = r.out;
    return r;
}

static void forward_part(Model *m, const Part *p, void *ctx)
{
    bool training = *(const bool *)ctx;
    int nn = m->g->nodes.len;
    if (m->xin != m->input)
        convert_rows(m->xin, m->input, &m->g->input, p->p0, p->pn, true);
    for (int i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        if (m->after_pool[i])
            continue;        /* it runs after node i + 1, on its output */
        if (!m->pooled[i]) { /* else the node before computed this max pool's output */
            LayerRun r = part_args(m, i, p, training);
            if (m->pool_k[i]) {
                LayerRun rp = part_args(m, m->pool_of[i], p, training);
                r.pool_k = m->pool_k[i];
                r.pool_out = rp.out;
                r.pool_argmax = training ? (int32_t *)rp.saved : NULL;
            }
            n->ops->forward(n, &r);
        }
        if (i > 0 && m->after_pool[i - 1]) {
            Node as;
            LayerRun ra = late_args(m, i - 1, i, p, training, &as);
            as.ops->forward(&as, &ra);
        }
    }
    if (m->dlast)
        convert_rows(m->logits, m->out[nn - 1], &GRAPH_NODE(m->g, nn - 1)->out, p->p0, p->pn,
                     false);
}

const float *rt_forward(Model *m, int batch, bool training)
{
    if (training) /* each chunk's dropout stream, drawn in chunk order */
        for (int c = 0; c < chunk_count(m, batch); c++)
            rng_seed(&m->crng[c], rng_next(&m->rng));
    for_each_part(m, batch, forward_part, &training);
    return m->logits;
}

static void backward_part(Model *m, const Part *p, void *ctx)
{
    (void)ctx;
    int nn = m->g->nodes.len;
    const Shape *os = &GRAPH_NODE(m->g, nn - 1)->out;
    const float *dout = m->dlogits + rows(os, p->p0);
    if (m->dlast) {
        convert_rows(m->dlast, m->dlogits, os, p->p0, p->pn, true);
        dout = m->dlast + rows(os, p->p0);
    }
    int which = 0;
    for (int i = nn - 1; i >= 0; i--) {
        const Node *n = GRAPH_NODE(m->g, i);
        if ((n->ops->view && n->ops->view(n)) || m->after_pool[i])
            continue; /* its input's gradient is its output's (a view), or it was taken with
                       * the pool after it */
        if (i > 0 && m->after_pool[i - 1]) { /* the activation that ran on this pool's output */
            Node as;
            LayerRun ra = late_args(m, i - 1, i, p, true, &as);
            ra.dout = dout;
            ra.din = m->dbuf[which] + (size_t)p->t * m->dpart;
            as.ops->backward(&as, &ra);
            dout = ra.din;
            which ^= 1;
        }
        float *grads[NODE_MAX_PARAMS];
        chunk_grads(m, i, p->c, grads);
        LayerRun r = part_args(m, i, p, true);
        r.grads = grads;
        r.dout = dout;
        r.din = i > 0 ? m->dbuf[which] + (size_t)p->t * m->dpart : NULL;
        n->ops->backward(n, &r);
        dout = r.din;
        which ^= 1;
    }
}

void rt_backward(Model *m, int batch)
{
    for_each_part(m, batch, backward_part, NULL);
    /* add the chunks' gradients in chunk order, element-parallel */
    int nc = chunk_count(m, batch), nt = m->nthreads;
    if (nc > 1) {
        size_t n = m->nparam_floats;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
#endif
        for (size_t j = 0; j < n; j++) {
            float s = m->grads[j];
            for (int c = 1; c < nc; c++)
                s += m->cgrads[(size_t)(c - 1) * n + j];
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
    return cross_entropy_forward(grad ? m->dlogits : NULL, logits, m->labels,
                                 m->g->train.label_smoothing, batch, N);
}
