/* model.c: the model's passes: parameter initialisation, forward, backward and loss.
 *
 * Threads and determinism: a pass cuts the batch into parts of a few rows (so that a part's
 * activations stay in the core's cache as it goes through every layer) and groups the parts
 * into at most max_chunks chunks (the train setting `chunks`); all are fixed by the batch size,
 * the net and its settings alone. In one
 * parallel region, threads take chunks as they come free (a thread slowed by the machine
 * does not hold the others up) and run them part by part; each chunk writes its own
 * parameter gradients, and the chunks' are added in chunk order, so the result is the same
 * bits whatever the number of threads and whichever thread ran which chunk. Kernels called
 * from inside the region run single-threaded.
 *
 * Graphs: nodes run in their order (a topological one); a node reads any earlier outputs
 * (LayerRun.ins), and in backward each reader writes or adds its share of an input's
 * gradient (plan.c decides who writes first and where each gradient lives).
 *
 * Batch statistics (BatchNorm in training) need every sample of the batch: a training pass
 * is then cut into regions at each such node; each region is one parallel pass over the
 * parts, which ends with that node's partial sums per chunk; the chunks' sums are added in
 * chunk order, and the next region starts by applying them. The results still do not
 * depend on the thread count.
 *
 * Memory: one allocation, carved into 64-byte aligned views (plan.c), holds everything a
 * step touches. Every node's output is kept for backward, but a BatchNorm's (a recomputable
 * node's, NodePlan.local) whose readers all run in its region: that lives a part at a time
 * in the thread's slot, and the region's backward starts by running its forward again;
 * output gradients live in each thread's arena, a part's rows at a time, from their first
 * write to their producer's backward.
 *
 * Layout: images are channels-last inside (as the kernels take them); the input arrives and
 * the output leaves in PyTorch's order, converted by each thread for its own part. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <math.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "model_impl.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Rows a thread runs through the net at once: as many as keep every activation of the part
 * within PART_BYTES, so that each layer finds its input in the core's cache (L2: 1-2 MB per
 * core on current x86); at least one, at most a whole batch. Measured on the seed net
 * (354 KB of activations per image, so 2 rows): parts of 1 to 8 rows train within 5% of
 * each other, all about 5% faster than a layer at a time over 50 rows. */
#define PART_BYTES ((size_t)1 << 20)
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

Model *rt_model_new(const Graph *g, int max_batch, Diag *d)
{
    return rt_model_new_opts(g, max_batch, &rt_plan_default, d);
}

/* Faults in every page of [p, end) and keeps its contents. */
static void touch_pages(char *p, char *end)
{
    for (volatile char *q = p; q < end; q += 4096)
        *q = *q;
}

Model *rt_model_new_opts(const Graph *g, int max_batch, const RtPlan *opts, Diag *d)
{
    if (!g->shaped || g->nodes.len == 0) {
        diag_error(d, (SrcLoc){0}, "the network did not pass the shape check");
        return NULL;
    }
    double block_bytes = 0; /* the block's size, when allocating it failed */
    Model *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->g = g;
    m->max_batch = max_batch;
    m->opts = *opts;
    /* kernels called inside the model's parallel region must not fork again */
#ifdef _OPENMP
    omp_set_max_active_levels(1);
#endif
    m->nthreads = kernels_threads();
    if (m->nthreads > max_batch)
        m->nthreads = max_batch;
    if (m->nthreads < 1)
        m->nthreads = 1;
    m->part = opts->part > 0 ? (opts->part < max_batch ? opts->part : max_batch)
                             : part_rows(g, max_batch);
    m->max_chunks = g->train.chunks > 0 ? g->train.chunks : MAX_CHUNKS;
    m->nranks = 1;
    if (!rt_plan_decide(m))
        goto oom_free;
    Carver count = {0};
    rt_plan_carve(m, &count);
    /* calloc: zero pages that cost no memory until touched. The gradients (m->grads, then
     * the chunks' m->cgrads) stay so until a run trains: a model that only infers (netc, a
     * big net's --predict) never pays for them. Everything else is touched here, so that
     * its page faults do not land in the first timed pass (on two threads they serialise). */
    m->block = calloc(1, count.off + 64);
    if (!m->block) {
        block_bytes = (double)count.off;
        goto oom_free;
    }
#ifdef MADV_HUGEPAGE
    /* Transparent huge pages for the block's whole 2 MiB pages, where the kernel gives them
     * only when asked (THP "madvise", Debian's default): a training step streams tens of MB
     * of activations, and 4 KiB pages cost a TLB miss every 4 KiB of each stream. Measured
     * (netrun --profile, 2 threads, 3 runs each): nets/mobilenet.net 37.9 -> 35.9 ms a step,
     * nets/resnet.net 35.6 -> 34.5 ms; the seed net and nets/inception.net within noise. A
     * hint: refused or unsupported, nothing changes. */
    {
        uintptr_t a = ((uintptr_t)m->block + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1),
                  e = ((uintptr_t)m->block + count.off) & ~(uintptr_t)((2u << 20) - 1);
        if (e > a)
            (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
    }
#endif
    Carver c = {.base = (void *)(((uintptr_t)m->block + 63) & ~(uintptr_t)63)};
    rt_plan_carve(m, &c);
    char *base = c.base, *g0 = (char *)m->grads,
         *g1 = (char *)(m->cgrads + m->nparam_floats * (size_t)(m->max_chunks - 1));
    touch_pages(base, g0);
    touch_pages(g1, base + count.off); /* keeps the pointers the carving wrote there */
    return m;
oom_free:
    rt_plan_release(m);
    free(m);
oom:
    if (block_bytes > 0) /* what it asked for, and what to change */
        diag_error(d, (SrcLoc){0},
                   "out of memory for the model at batch %d: its parameters, activations and "
                   "gradients take %.1f GB; a smaller --batch (or the train section's batch) "
                   "needs less",
                   max_batch, block_bytes / 1e9);
    else
        diag_error(d, (SrcLoc){0}, "out of memory for the model at batch %d", max_batch);
    if (g->train.chunks > MAX_CHUNKS) /* each chunk past the first has its own gradients */
        diag_note(d, (SrcLoc){0},
                  "'chunks %d' keeps %d copies of the %lld parameters' gradients; fewer chunks "
                  "need less",
                  g->train.chunks, g->train.chunks - 1, (long long)g->nparams);
    return NULL;
}

void rt_model_free(Model *m)
{
    if (!m)
        return;
    rt_plan_release(m);
    free(m->block);
    free(m->prof_t);
    free(m->prof_w);
    free(m);
}

void rt_model_init(Model *m, uint64_t seed)
{
    Rng rng;
    rng_seed(&rng, seed);
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        if (n->nparams && n->ops->init)
            n->ops->init(n, m->plan[i].params, &rng);
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

void rt_model_distribute(Model *m, int rank, int nranks)
{
    m->rank = rank;
    m->nranks = nranks;
}

/* This process's chunks [*a, *b) of nc. */
static void local_chunks(const Model *m, int nc, int *a, int *b)
{
    dist_range(nc, m->rank, m->nranks, a, b);
}

void rt_local_rows(const Model *m, int batch, int *r0, int *r1)
{
    int nc = chunk_count(m, batch), a, b, e;
    local_chunks(m, nc, &a, &b);
    if (a >= b) {
        *r0 = *r1 = 0;
        return;
    }
    chunk_rows(m, batch, a, nc, r0, &e);
    chunk_rows(m, batch, b - 1, nc, &e, r1);
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* One part of a pass: rows [p0, p0 + pn) of the batch, in chunk c, on thread t. */
typedef struct Part {
    int t, c, p0, pn, row; /* row: p0 within its chunk */
    bool first;            /* the thread's first part of the region */
    bool last;             /* the last part of its chunk */
} Part;

/* The most inputs a join may have (lowering refuses more). */
#define MAX_INS IR_MAX_JOIN

/* Node i's output rows for part p: the part's rows of the batch, or of a local output the
 * thread's slot. */
static float *out_rows(const Model *m, int i, const Part *p)
{
    const NodePlan *np = &m->plan[i];
    const Shape *s = &GRAPH_NODE(m->g, i)->out;
    return np->out + rows_of(s, np->local ? p->t * m->part : p->p0);
}

/* Input k of node i for part p: its producer's output rows, or the network's input. */
static const float *input_rows(const Model *m, int i, int k, const Part *p)
{
    int t = m->plan[i].inputs[k];
    if (t >= 0)
        return out_rows(m, t, p);
    return m->xin + rows_of(&m->g->input, p->p0);
}

/* The views of node i for part p; ins (MAX_INS) receives its inputs. */
static LayerRun part_args(Model *m, int i, const Part *p, bool training, const float **ins)
{
    const Node *n = GRAPH_NODE(m->g, i);
    const NodePlan *np = &m->plan[i];
    for (int k = 0; k < n->ninputs; k++)
        ins[k] = input_rows(m, i, k, p);
    return (LayerRun){
        .batch = p->pn,
        .training = training,
        .first = p->first,
        .last = p->last,
        .row = p->row,
        .in = ins[0],
        .ins = ins,
        .out = out_rows(m, i, p),
        .params = np->params,
        .grads = np->grads,
        .scratch = np->scratch[p->t],
        .saved = np->saved ? np->saved + (size_t)p->p0 * n->ops->saved(n) : NULL,
        .rng = &m->crng[p->c],
        .stats = np->stats,
        .sums = np->bsums ? np->bsums + (size_t)p->c * np->nsums : NULL,
        .act = np->act >= 0 ? GRAPH_NODE(m->g, np->act) : NULL,
    };
}

/* Rows [b0, b0 + count) of a (B, s) tensor from src to dst, to channels-last or back. */
static void convert_rows(float *dst, const float *src, const Shape *s, int b0, int count,
                         bool to_hwc)
{
    layout_transpose(dst + rows_of(s, b0), src + rows_of(s, b0), count, (int)s->d[0],
                     (int)(s->d[1] * s->d[2]), to_hwc);
}

/* Chunk c's gradient views: chunk 0 writes m->grads, the others their own blocks. */
static void chunk_grads(Model *m, int i, int c, float **out)
{
    for (int p = 0; p < NODE_MAX_PARAMS; p++) {
        float *g = m->plan[i].grads[p];
        out[p] = g && c > 0
                     ? m->cgrads + (size_t)(c - 1) * m->nparam_floats + (size_t)(g - m->grads)
                     : g;
    }
}

/* A region of a pass: nodes [lo, hi] (forward: up; backward: down), and the coupled node
 * whose partial sums close it (or -1). */
typedef struct Region {
    int lo, hi, sums;
    bool training;
} Region;

bool rt_profile_enable(Model *m)
{
    size_t nn = (size_t)m->g->nodes.len;
    m->prof_t = calloc((size_t)m->nthreads * nn * 2, sizeof(double));
    m->prof_w = calloc(nn * 2, sizeof(double));
    return m->prof_t && m->prof_w;
}

/* --profile: adds the seconds since t0 to node i's phase (0 forward, 1 backward) on thread t */
static void prof_add(Model *m, int t, int i, int phase, double t0)
{
    if (m->prof_t)
        m->prof_t[((size_t)t * (size_t)m->g->nodes.len + (size_t)i) * 2 + (size_t)phase] +=
            now_seconds() - t0;
}

static double prof_start(const Model *m) { return m->prof_t ? now_seconds() : 0; }

/* --profile: after a region that took `wall` seconds, shares that time out among the nodes
 * by their threads' seconds in it (so waiting and the region's own cost go with the work),
 * and clears the threads' seconds for the next region. */
static void prof_region(Model *m, double wall)
{
    size_t nn = (size_t)m->g->nodes.len, n = nn * 2;
    double total = 0;
    for (size_t t = 0; t < (size_t)m->nthreads; t++)
        for (size_t k = 0; k < n; k++)
            total += m->prof_t[t * n + k];
    for (size_t t = 0; total > 0 && t < (size_t)m->nthreads; t++)
        for (size_t k = 0; k < n; k++)
            m->prof_w[k] += wall * m->prof_t[t * n + k] / total;
    memset(m->prof_t, 0, sizeof(double) * n * (size_t)m->nthreads);
}

/* Runs fn on every part of a pass over `batch` rows: one parallel region, in which threads
 * take chunks as they come free and go through each a part at a time. */
static void for_each_part(Model *m, int batch, void (*fn)(Model *m, const Part *p, const Region *r),
                          const Region *r)
{
    int nc = chunk_count(m, batch), a, b;
    local_chunks(m, nc, &a, &b);
    if (a >= b) /* more processes than chunks: this one has none */
        return;
    int nt = m->nthreads < b - a ? m->nthreads : b - a;
#ifdef _OPENMP
#pragma omp parallel num_threads(nt) if (nt > 1)
#endif
    {
        int t = thread_id();
        bool first = true;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (int c = a; c < b; c++) {
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
                fn(m, &p, r);
            }
        }
    }
}

/* The arguments of activation node a applied to the output of max pool i in place (a runs
 * after it): a copy of a with i's output shape, and i's output as its input and output. */
static LayerRun late_args(Model *m, int a, int i, const Part *p, bool training, Node *as,
                          const float **ins)
{
    *as = *GRAPH_NODE(m->g, a);
    as->in = as->out = GRAPH_NODE(m->g, i)->out;
    LayerRun r = part_args(m, i, p, training, ins);
    r.in = ins[0] = r.out;
    return r;
}

/* ---- forward ---- */

static void forward_part(Model *m, const Part *p, const Region *rg)
{
    const Graph *g = m->g;
    int nn = g->nodes.len;
    const float *ins[MAX_INS];
    if (rg->lo == 0 && m->xin != m->input)
        convert_rows(m->xin, m->input, &g->input, p->p0, p->pn, true);
    for (int i = rg->lo; i <= rg->hi; i++) {
        const Node *n = GRAPH_NODE(g, i);
        const NodePlan *np = &m->plan[i];
        if (np->after_pool || np->view || np->fused)
            continue; /* it runs after its max pool, on its output, or in the node before it;
                         a view needs no pass */
        double t0 = prof_start(m);
        if (!np->pooled) { /* else the node that feeds it computed this max pool's output */
            LayerRun r = part_args(m, i, p, rg->training, ins);
            if (np->pool_k) {
                const float *pins[MAX_INS];
                LayerRun rp = part_args(m, np->pool_of, p, rg->training, pins);
                r.pool_k = np->pool_k;
                r.pool_out = rp.out;
                r.pool_argmax = rg->training ? (int32_t *)rp.saved : NULL;
            }
            n->ops->forward(n, &r);
        }
        if (np->late_act >= 0) {
            Node as;
            LayerRun ra = late_args(m, np->late_act, i, p, rg->training, &as, ins);
            as.ops->forward(&as, &ra);
        }
        prof_add(m, p->t, i, 0, t0);
    }
    if (rg->sums >= 0) {
        double t0 = prof_start(m);
        const Node *n = GRAPH_NODE(g, rg->sums);
        LayerRun r = part_args(m, rg->sums, p, true, ins);
        n->ops->forward_sums(n, &r,
                             m->plan[rg->sums].fsums + (size_t)p->c * m->plan[rg->sums].nsums);
        prof_add(m, p->t, rg->sums, 0, t0);
    }
    if (rg->hi == nn - 1 && m->dlast)
        convert_rows(m->logits, m->plan[nn - 1].out, &GRAPH_NODE(g, nn - 1)->out, p->p0, p->pn,
                     false);
}

/* After a region: coupled node b's chunks' partial sums added in chunk order, then its
 * finish hook. */
static void finish_sums(Model *m, int b, int batch, bool backward)
{
    const Node *n = GRAPH_NODE(m->g, b);
    NodePlan *np = &m->plan[b];
    size_t k = np->nsums;
    double *sums = backward ? np->bsums : np->fsums, *tot = sums + (size_t)m->max_chunks * k;
    int nc = chunk_count(m, batch);
    if (m->nranks > 1) /* every process adds every chunk's sums, in chunk order */
        dist_gather_ranges(sums, nc, k);
    for (size_t j = 0; j < k; j++) {
        double s = 0;
        for (int c = 0; c < nc; c++)
            s += sums[(size_t)c * k + j];
        tot[j] = s;
    }
    Shape in = ir_input_shape(n, 0);
    int64_t count = (int64_t)batch * (in.rank == 3 ? in.d[1] * in.d[2] : 1);
    if (backward)
        n->ops->backward_finish(n, tot, count, np->params, np->stats);
    else
        n->ops->forward_finish(n, tot, count, np->params, np->stats);
}

const float *rt_forward(Model *m, int batch, bool training)
{
    int nn = m->g->nodes.len;
    if (training) /* each chunk's dropout stream, drawn in chunk order */
        for (int c = 0; c < chunk_count(m, batch); c++)
            rng_seed(&m->crng[c], rng_next(&m->rng));
    /* a region up to each node that needs batch statistics, whose sums close it */
    const int *seg = training ? m->segments : m->esegments;
    int nseg = training ? m->nsegments : m->nesegments, lo = 0;
    for (int s = 0; s <= nseg; s++) {
        int b = s < nseg ? seg[s] : -1;
        Region r = {.lo = lo, .hi = b >= 0 ? b - 1 : nn - 1, .sums = b, .training = training};
        if (b >= 0)
            memset(m->plan[b].fsums, 0, sizeof(double) * m->plan[b].nsums * (size_t)m->max_chunks);
        double t0 = prof_start(m);
        for_each_part(m, batch, forward_part, &r);
        if (m->prof_t)
            prof_region(m, now_seconds() - t0);
        if (b >= 0) {
            t0 = prof_start(m);
            finish_sums(m, b, batch, false);
            if (m->prof_w)
                m->prof_w[(size_t)b * 2] += now_seconds() - t0;
        }
        lo = b;
    }
    return m->logits;
}

/* ---- backward ---- */

/* Part p's rows of node t's output gradient. */
static float *grad_rows(Model *m, int t, const Part *p)
{
    const NodePlan *np = &m->plan[t];
    const Shape *s = &GRAPH_NODE(m->g, t)->out;
    if (np->gbatch)
        return np->gbatch + rows_of(s, p->p0);
    return m->garena + (size_t)p->t * m->gsize + np->goff;
}

static float *temp_rows(Model *m, int k, const Part *p)
{
    return m->gtemp + ((size_t)p->t * (size_t)m->ntemp + (size_t)k) * m->tsize;
}

/* The loss's gradient for part p, channels-last when the last node outputs an image. */
static const float *loss_rows(Model *m, const Part *p)
{
    int nn = m->g->nodes.len;
    const Shape *os = &GRAPH_NODE(m->g, nn - 1)->out;
    if (!m->dlast)
        return m->dlogits + rows_of(os, p->p0);
    convert_rows(m->dlast, m->dlogits, os, p->p0, p->pn, true);
    return m->dlast + rows_of(os, p->p0);
}

static void backward_node(Model *m, int j, const Part *p, const float *dlast_rows)
{
    const Graph *g = m->g;
    int nn = g->nodes.len;
    const Node *n = GRAPH_NODE(g, j);
    const NodePlan *np = &m->plan[j];
    const float *ins[MAX_INS];
    const float *dout = j == nn - 1 ? dlast_rows : grad_rows(m, j, p);
    if (np->late_act >= 0) { /* the activation that ran on this pool's output */
        Node as;
        LayerRun ra = late_args(m, np->late_act, j, p, true, &as, ins);
        ra.dout = dout;
        ra.din = temp_rows(m, m->ntemp - 1, p);
        as.ops->backward(&as, &ra);
        dout = ra.din;
    }
    float *dins[MAX_INS];
    int target[MAX_INS];
    bool direct[MAX_INS];
    for (int k = 0; k < n->ninputs; k++) {
        int t = np->inputs[k] >= 0 ? m->plan[np->inputs[k]].gsrc : -1;
        bool first = t >= 0 && m->plan[t].first_writer == j;
        for (int q = 0; q < k && first; q++)
            first = target[q] != t;
        target[k] = t;
        direct[k] = first;
        dins[k] = t < 0 ? NULL : first ? grad_rows(m, t, p) : temp_rows(m, k, p);
    }
    float *grads[NODE_MAX_PARAMS];
    chunk_grads(m, j, p->c, grads);
    LayerRun r = part_args(m, j, p, true, ins);
    r.grads = grads;
    r.dout = dout;
    r.din = dins[0];
    r.dins = dins;
    n->ops->backward(n, &r);
    for (int k = 0; k < n->ninputs; k++) { /* a later reader adds its share */
        if (target[k] < 0 || direct[k])
            continue;
        float *dst = grad_rows(m, target[k], p);
        const float *src = dins[k];
        size_t cnt = rows_of(&GRAPH_NODE(g, target[k])->out, p->pn);
        for (size_t e = 0; e < cnt; e++)
            dst[e] += src[e];
    }
}

static void backward_part(Model *m, const Part *p, const Region *rg)
{
    int nn = m->g->nodes.len;
    const float *dl = NULL;
    if (rg->hi == nn - 1) {
        dl = loss_rows(m, p);
        int last = m->plan[nn - 1].gsrc;
        if (last >= 0 && last != nn - 1) /* a view ends the net: its input takes the loss's */
            memcpy(grad_rows(m, last, p), dl,
                   sizeof(float) * rows_of(&GRAPH_NODE(m->g, nn - 1)->out, p->pn));
    }
    if (rg->sums >= 0 && m->plan[rg->sums].local) { /* the readers' input, again */
        double t0 = prof_start(m);
        const Node *n = GRAPH_NODE(m->g, rg->sums);
        const float *ins[MAX_INS];
        LayerRun r = part_args(m, rg->sums, p, true, ins);
        n->ops->forward(n, &r);
        prof_add(m, p->t, rg->sums, 1, t0);
    }
    for (int j = rg->hi; j >= rg->lo; j--)
        if (!m->plan[j].view && !m->plan[j].after_pool && !m->plan[j].fused) {
            double t0 = prof_start(m);
            backward_node(m, j, p, dl);
            prof_add(m, p->t, j, 1, t0);
        }
    if (rg->sums >= 0) {
        double t0 = prof_start(m);
        const Node *n = GRAPH_NODE(m->g, rg->sums);
        const float *ins[MAX_INS];
        LayerRun r = part_args(m, rg->sums, p, true, ins);
        r.dout = rg->sums == nn - 1 ? dl : grad_rows(m, rg->sums, p);
        n->ops->backward_sums(n, &r,
                              m->plan[rg->sums].bsums + (size_t)p->c * m->plan[rg->sums].nsums);
        prof_add(m, p->t, rg->sums, 1, t0);
    }
}

/* Chunks [a, b) of nc's gradients added into m->grads[lo, hi), which holds chunk 0's or
 * the sum of the chunks before a. */
typedef struct Fold {
    Model *m;
    int nc, a, b;
} Fold;

static void fold_chunks(void *ctx, size_t lo, size_t hi)
{
    const Fold *f = ctx;
    Model *m = f->m;
    size_t n = m->nparam_floats;
    int c0 = f->a > 1 ? f->a : 1, nt = m->nthreads;
    if (c0 >= f->b)
        return;
#ifdef _OPENMP
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && hi - lo > 4096)
#endif
    for (size_t j = lo; j < hi; j++) {
        float s = m->grads[j];
        for (int c = c0; c < f->b; c++)
            s += m->cgrads[(size_t)(c - 1) * n + j];
        m->grads[j] = s;
    }
}

void rt_backward(Model *m, int batch)
{
    int nn = m->g->nodes.len;
    /* regions from the top down: each ends at a coupled node, whose sums close it; the next
     * starts with that node's own backward */
    int hi = nn - 1;
    for (int s = m->nsegments - 1; s >= -1; s--) {
        int b = s >= 0 ? m->segments[s] : -1;
        Region r = {.lo = b + 1, .hi = hi, .sums = b, .training = true};
        if (b >= 0)
            memset(m->plan[b].bsums, 0, sizeof(double) * m->plan[b].nsums * (size_t)m->max_chunks);
        double t0 = prof_start(m);
        for_each_part(m, batch, backward_part, &r);
        if (m->prof_t)
            prof_region(m, now_seconds() - t0);
        if (b >= 0) {
            t0 = prof_start(m);
            finish_sums(m, b, batch, true);
            if (m->prof_w)
                m->prof_w[(size_t)b * 2 + 1] += now_seconds() - t0;
        }
        hi = b;
    }
    /* add the chunks' gradients in chunk order, element-parallel; over processes, down the
     * chain of ranks (dist_chain), each adding its own chunks */
    int nc = chunk_count(m, batch);
    if (nc > 1 || m->nranks > 1) {
        Fold f = {.m = m, .nc = nc};
        local_chunks(m, nc, &f.a, &f.b);
        int last = 0;
        for (int r = 0; r < m->nranks; r++) {
            int a, b;
            dist_range(nc, r, m->nranks, &a, &b);
            if (a < b)
                last = r;
        }
        double t0 = prof_start(m);
        dist_chain(m->grads, m->nparam_floats, last, fold_chunks, &f);
        if (m->prof_t)
            m->prof_fold += now_seconds() - t0;
    }
}

float rt_loss(Model *m, LossKind loss, int batch, bool grad)
{
    int N = (int)rt_outputs(m), r0, r1;
    rt_local_rows(m, batch, &r0, &r1);
    const float *logits = m->logits;
    if (loss == LOSS_MSE) {
        size_t row = (size_t)N;
        memset(m->target + r0 * row, 0, sizeof(float) * (size_t)(r1 - r0) * row);
        for (int b = r0; b < r1; b++)
            m->target[(size_t)b * row + (size_t)m->labels[b]] = 1.0f;
        mse_rows(grad ? m->dlogits : NULL, logits, m->target, batch, N, r0, r1, m->rowloss);
    } else if (loss == LOSS_NLL) {
        nll_rows(grad ? m->dlogits : NULL, logits, m->labels, batch, N, r0, r1, m->rowloss);
    } else {
        cross_entropy_rows(grad ? m->dlogits : NULL, logits, m->labels, m->g->train.label_smoothing,
                           batch, N, r0, r1, m->rowloss);
    }
    if (m->nranks > 1) { /* every process gets every row's loss */
        int nc = chunk_count(m, batch), *off = m->chunk_off, *size = off + nc;
        for (int c = 0; c < nc; c++) {
            int e;
            chunk_rows(m, batch, c, nc, &off[c], &e);
            size[c] = e - off[c];
        }
        dist_gather_blocks(m->rowloss, nc, off, size);
    }
    double sum = 0;
    for (int b = 0; b < batch; b++)
        sum += m->rowloss[b];
    return (float)(sum / (loss == LOSS_MSE ? (double)batch * N : batch));
}
