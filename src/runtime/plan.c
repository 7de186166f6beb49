/* plan.c: the model's memory plan for a graph of nodes (a DAG in execution order): which
 * node writes over its input, which activation runs after its max pool, which convolution
 * computes the pool itself, where every output and every output gradient lives, and where
 * a training pass must wait for the whole batch (batch statistics).
 *
 * Design choice: decisions first (rt_plan_decide, into the NodePlans), memory second
 * (rt_plan_carve, the same two-pass Carver as before: count, then carve one block). Every
 * rule is about the readers of a tensor, counted from the nodes' inputs, not about which
 * node comes next, so branches and skip connections need no special case:
 *   - a node may write over its input only when it is the input's one reader;
 *   - a gradient is written first by the input's last reader in node order (the first in
 *     backward order), which overwrites it; later readers add to it through a temporary, in
 *     backward order, so the sums do not depend on threads;
 *   - a gradient lives in each thread's arena from its first write to its producer's
 *     backward, and the arena's slots are packed by that interval (first fit), unless it must
 *     outlive a barrier (a batch statistic between its first write and its producer), when it
 *     gets a block of the whole batch. */
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"

static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

void *carve(Carver *c, size_t bytes)
{
    void *p = c->base ? c->base + c->off : NULL;
    c->off += (bytes + 63) & ~(size_t)63;
    return p;
}

const RtPlan rt_plan_default = {
    .in_place = true, .after_pool = true, .fused_pool = true, .fused_act = true, .recompute = true};

static const Node *node(const Model *m, int i) { return GRAPH_NODE(m->g, i); }

/* ---- decisions ---- */

/* readers[i]: how many inputs name node i (the last node has one more: the loss); sole[i]:
 * that reader when there is one, else -1. */
static void count_readers(const Model *m, int *readers, int *sole)
{
    int nn = m->g->nodes.len;
    for (int i = 0; i < nn; i++)
        readers[i] = 0, sole[i] = -1;
    readers[nn - 1] = 1;
    for (int j = 0; j < nn; j++)
        for (int k = 0; k < node(m, j)->ninputs; k++) {
            int t = m->plan[j].inputs[k];
            if (t >= 0 && readers[t]++ == 0)
                sole[t] = j;
        }
    for (int i = 0; i < nn; i++)
        if (readers[i] != 1)
            sole[i] = -1;
}

static void decide_flags(Model *m, const int *readers, const int *sole)
{
    const RtPlan *o = &m->opts;
    int nn = m->g->nodes.len;
    for (int i = 0; i < nn; i++)
        m->plan[i].late_act = m->plan[i].pool_of = m->plan[i].act = -1;
    for (int i = 0; i < nn; i++) {
        const Node *n = node(m, i);
        NodePlan *np = &m->plan[i];
        np->view = n->ops->view && n->ops->view(n);
        int t = n->ninputs == 1 ? np->inputs[0] : -1;
        /* the input's memory may take this node's output: this node is its one reader,
         * and its producer owns it and reads neither it nor its own output in backward */
        bool share = t >= 0 && readers[t] == 1 && !m->plan[t].view &&
                     !node(m, t)->ops->backward_reads_out && m->plan[t].late_act < 0;
        if (o->in_place && n->ops->inplace && share)
            np->in_place = true;
        /* an activation its producer applies: its output is the producer's, it runs in no
         * pass of its own, and it is not moved after a pool (fused, it costs nothing) */
        if (o->fused_act && share && node(m, t)->ops->fuses_act && m->plan[t].act < 0 &&
            node(m, t)->ops->fuses_act(node(m, t), n)) {
            np->fused = true;
            m->plan[t].act = i;
            continue;
        }
        int p = sole[i];
        if (o->in_place && o->after_pool && np->in_place && n->ops->commutes_with_max && p >= 0 &&
            node(m, p)->ops->selects_max && node(m, p)->ninputs == 1) {
            np->after_pool = true;
            m->plan[p].late_act = i;
        }
    }
    for (int i = 0; i < nn && o->fused_pool; i++) {
        const Node *n = node(m, i);
        int j = sole[i];
        if (j >= 0 && m->plan[j].after_pool)
            j = sole[j];
        if (!n->ops->fuses_pool || j < 0 || !node(m, j)->ops->selects_max)
            continue;
        int k = n->ops->fuses_pool(n, node(m, j));
        if (k > 0) {
            m->plan[i].pool_of = j;
            m->plan[i].pool_k = k;
            m->plan[j].pooled = true;
        }
    }
}

/* gsrc, first_writer, the segments and which gradients need the whole batch. */
static void decide_gradients(Model *m)
{
    int nn = m->g->nodes.len;
    for (int i = 0; i < nn; i++) {
        NodePlan *np = &m->plan[i];
        int t = np->inputs[0];
        np->gsrc = np->view || np->after_pool || np->fused ? (t >= 0 ? m->plan[t].gsrc : -1) : i;
        np->first_writer = -1;
    }
    for (int j = nn - 1; j >= 0; j--) {
        const NodePlan *np = &m->plan[j];
        if (np->view || np->after_pool || np->fused)
            continue; /* no backward of its own: its readers write its input's gradient */
        for (int k = 0; k < node(m, j)->ninputs; k++) {
            int t = np->inputs[k] >= 0 ? m->plan[np->inputs[k]].gsrc : -1;
            if (t >= 0 && m->plan[t].first_writer < 0)
                m->plan[t].first_writer = j;
        }
    }
    int last = m->plan[nn - 1].gsrc;
    if (last >= 0 && last != nn - 1)
        m->plan[last].first_writer = nn; /* the loss's gradient is copied there first */
    m->nsegments = m->nesegments = 0;
    for (int i = 0; i < nn; i++) {
        const Node *n = node(m, i);
        size_t tr = n->ops->batch_sums ? n->ops->batch_sums(n, true) : 0;
        size_t ev = n->ops->batch_sums ? n->ops->batch_sums(n, false) : 0;
        m->plan[i].nsums = tr > ev ? tr : ev;
        if (tr)
            m->segments[m->nsegments++] = i;
        if (ev)
            m->esegments[m->nesegments++] = i;
    }
}

/* NodePlan.local (see runtime.h): a recomputable training segment s whose output (its fused
 * activation's, if any) is read only by nodes after it and before the next segment (whose
 * forward runs in the next region), none of them a view of it, writing over it or reading
 * earlier parts' rows of it in backward (a Linear's weight gradient); not the
 * last node, whose output the loss reads. Saves, a BatchNorm's: a store of the batch's output
 * in forward, and in backward a cold read of it (the readers' backward reads the slot the
 * forward filled again, and backward_sums then finds the input in the cache). */
static void decide_local(Model *m)
{
    int nn = m->g->nodes.len;
    for (int k = 0; m->opts.recompute && k < m->nsegments; k++) {
        int s = m->segments[k], end = k + 1 < m->nsegments ? m->segments[k + 1] - 1 : nn - 1;
        NodePlan *np = &m->plan[s];
        int o = np->act >= 0 ? np->act : s; /* the node whose output the readers name */
        bool ok = node(m, s)->ops->recomputable && !np->view && !np->in_place && !np->fused &&
                  np->late_act < 0 && np->pool_k == 0 && o != nn - 1;
        for (int j = s + 1; ok && j < nn; j++)
            for (int q = 0; j != o && q < node(m, j)->ninputs; q++) {
                const NodePlan *jp = &m->plan[j];
                if ((jp->inputs[q] == s || jp->inputs[q] == o) &&
                    (j > end || jp->view || jp->in_place || jp->fused || jp->after_pool ||
                     node(m, j)->ops->backward_reads_chunk))
                    ok = false;
            }
        np->local = ok;
        if (ok && o != s)
            m->plan[o].local = true;
    }
}

/* Whether node t's gradient is alive across a barrier: a coupled node b with
 * t <= b < first writer (the barrier of b falls between the write and t's backward). The
 * segments are in node order: the first at or after t decides. */
static bool crosses_barrier(const Model *m, int t)
{
    int a = 0, z = m->nsegments;
    while (a < z) {
        int mid = a + (z - a) / 2;
        if (m->segments[mid] < t)
            a = mid + 1;
        else
            z = mid;
    }
    return a < m->nsegments && m->segments[a] < m->plan[t].first_writer;
}

/* Packs the thread-local gradients into the arena: a gradient occupies its slot from its
 * first write to its producer's backward; slots are placed first fit in the order they come
 * alive in backward (latest first writer first). */
static void decide_slots(Model *m)
{
    int nn = m->g->nodes.len, cnt = 0;
    /* per candidate: its node, its life (node .. first writer), size and place */
    int *cand = malloc(sizeof(int) * (size_t)nn), *order = malloc(sizeof(int) * (size_t)nn);
    int *lo = malloc(sizeof(int) * (size_t)nn), *hi = malloc(sizeof(int) * (size_t)nn);
    size_t *size = malloc(sizeof(size_t) * (size_t)nn), *off = malloc(sizeof(size_t) * (size_t)nn);
    size_t *writer = malloc(sizeof(size_t) * (size_t)nn);
    if (!cand || !order || !lo || !hi || !size || !off || !writer)
        abort();
    for (int t = nn - 1; t >= 0; t--) {
        NodePlan *np = &m->plan[t];
        np->goff = 0;
        if (np->gsrc == t && np->first_writer > t && !crosses_barrier(m, t)) {
            cand[cnt] = t;
            lo[cnt] = t;
            hi[cnt] = np->first_writer;
            writer[cnt] = (size_t)np->first_writer;
            size[cnt] = align16((size_t)m->part * (size_t)shape_numel(node(m, t)->out));
            cnt++;
        }
    }
    order_largest_first(cnt, writer, order);
    /* first writers reach nn: the loss's gradient is copied into the last node's first */
    m->gsize = first_fit(cnt, order, lo, hi, size, nn + 1, off);
    for (int a = 0; a < cnt; a++)
        m->plan[cand[a]].goff = off[a];
    free(cand);
    free(order);
    free(lo);
    free(hi);
    free(size);
    free(off);
    free(writer);
}

bool rt_plan_decide(Model *m)
{
    const Graph *g = m->g;
    int nn = g->nodes.len, ntemp = 1;
    m->plan = calloc((size_t)nn, sizeof(NodePlan));
    m->segments = calloc((size_t)nn + 1, sizeof(int));
    m->esegments = calloc((size_t)nn + 1, sizeof(int));
    int *readers = malloc(sizeof(int) * (size_t)nn), *sole = malloc(sizeof(int) * (size_t)nn);
    bool ok = m->plan && m->segments && m->esegments && readers && sole;
    for (int i = 0; ok && i < nn; i++) {
        const Node *n = node(m, i);
        m->plan[i].inputs = malloc(sizeof(int) * (size_t)n->ninputs);
        ok = m->plan[i].inputs != NULL;
        for (int k = 0; ok && k < n->ninputs; k++)
            m->plan[i].inputs[k] = n->inputs[k] ? n->inputs[k]->id : -1;
        if (n->ninputs + 1 > ntemp)
            ntemp = n->ninputs + 1;
    }
    if (ok) {
        count_readers(m, readers, sole);
        decide_flags(m, readers, sole);
        decide_gradients(m);
        decide_local(m);
        decide_slots(m);
    }
    size_t largest = (size_t)shape_numel(g->input);
    for (int i = 0; i < nn; i++)
        if ((size_t)shape_numel(node(m, i)->out) > largest)
            largest = (size_t)shape_numel(node(m, i)->out);
    m->ntemp = ntemp;
    m->tsize = align16((size_t)m->part * largest);
    free(readers);
    free(sole);
    return ok;
}

void rt_plan_release(Model *m)
{
    if (!m->plan)
        return;
    for (int i = 0; i < m->g->nodes.len; i++)
        free(m->plan[i].inputs);
    free(m->plan);
    free(m->segments);
    free(m->esegments);
}

/* ---- memory ---- */

void rt_plan_carve(Model *m, Carver *c)
{
    const Graph *g = m->g;
    size_t B = (size_t)m->max_batch, nn = (size_t)g->nodes.len, T = (size_t)m->nthreads;
    m->crng = carve(c, sizeof(Rng) * (size_t)m->max_chunks);
    m->chunk_off = carve(c, sizeof(int) * 2 * (size_t)m->max_chunks);
    size_t nparam = 0, nbuf = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = node(m, (int)i);
        for (int p = 0; p < n->nparams; p++) {
            size_t sz = align16((size_t)shape_numel(n->params[p].shape));
            if (n->params[p].buffer)
                nbuf += sz;
            else
                nparam += sz;
        }
    }
    m->nparam_floats = nparam;
    m->nbuf_floats = nbuf;
    m->params = carve(c, sizeof(float) * nparam);
    m->grads = carve(c, sizeof(float) * nparam);
    m->cgrads = carve(c, sizeof(float) * nparam * (size_t)(m->max_chunks - 1));
    m->bufs = carve(c, sizeof(float) * nbuf);
    m->input = carve(c, sizeof(float) * B * (size_t)shape_numel(g->input));
    float *xin = layout_differs(g->input)
                     ? carve(c, sizeof(float) * B * (size_t)shape_numel(g->input))
                     : NULL;
    if (c->base)
        m->xin = xin ? xin : m->input;
    size_t poff = 0, boff = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = node(m, (int)i);
        NodePlan *np = &m->plan[i];
        for (int p = 0; p < n->nparams; p++) {
            size_t sz = align16((size_t)shape_numel(n->params[p].shape));
            if (n->params[p].buffer) {
                np->params[p] = c->base ? m->bufs + boff : NULL;
                np->grads[p] = NULL;
                boff += sz;
            } else {
                np->params[p] = c->base ? m->params + poff : NULL;
                np->grads[p] = c->base ? m->grads + poff : NULL;
                poff += sz;
            }
        }
        size_t numel = (size_t)shape_numel(n->out);
        bool shared = np->view || np->in_place || np->fused;
        size_t rows = np->local ? T * (size_t)m->part : B; /* local: a part per thread */
        float *out = shared ? NULL : carve(c, sizeof(float) * rows * numel);
        if (c->base) {
            int t = np->inputs[0];
            np->out = shared ? (t >= 0 ? m->plan[t].out : m->xin) : out;
        }
        size_t sv = n->ops->saved ? n->ops->saved(n) : 0;
        np->saved = sv ? carve(c, sizeof(float) * B * sv) : NULL;
        size_t sc = n->ops->scratch ? n->ops->scratch(n) : 0;
        float **scratch = carve(c, sizeof(float *) * T);
        if (c->base)
            np->scratch = scratch;
        for (size_t t = 0; t < T; t++) {
            float *s = sc ? carve(c, sizeof(float) * sc) : NULL;
            if (c->base)
                np->scratch[t] = s;
        }
        bool batch_grad =
            np->gsrc == (int)i && np->first_writer > (int)i && crosses_barrier(m, (int)i);
        np->gbatch = batch_grad ? carve(c, sizeof(float) * B * numel) : NULL;
        size_t st = np->nsums ? n->ops->stats(n) : 0, bs = np->nsums;
        np->stats = st ? carve(c, sizeof(float) * st) : NULL;
        /* a block per chunk, and one for the total */
        np->fsums = bs ? carve(c, sizeof(double) * bs * (size_t)(m->max_chunks + 1)) : NULL;
        np->bsums = bs ? carve(c, sizeof(double) * bs * (size_t)(m->max_chunks + 1)) : NULL;
    }
    m->garena = carve(c, sizeof(float) * (m->gsize ? m->gsize : 1) * T);
    m->gtemp = carve(c, sizeof(float) * m->tsize * (size_t)m->ntemp * T);
    const Node *last = node(m, (int)nn - 1);
    size_t outs = (size_t)shape_numel(last->out);
    bool convert = layout_differs(last->out);
    float *logits = convert ? carve(c, sizeof(float) * B * outs) : NULL;
    float *dlast = convert ? carve(c, sizeof(float) * B * outs) : NULL;
    if (c->base) {
        m->logits = convert ? logits : m->plan[nn - 1].out;
        m->dlast = dlast;
    }
    m->dlogits = carve(c, sizeof(float) * B * outs);
    m->target = carve(c, sizeof(float) * B * outs);
    m->labels = carve(c, sizeof(int32_t) * B);
    m->rowloss = carve(c, sizeof(double) * B);
}
