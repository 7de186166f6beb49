/* model.c: the model's memory plan, parameter initialisation, forward, backward and loss.
 *
 * Design choice: one allocation, carved into 64-byte aligned views, holds everything a step
 * touches. Every node's output is kept for backward; activation gradients ping-pong between
 * two buffers of the largest tensor's size, since backward only needs the gradient of the
 * current node's output and input at once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"
#include "runtime.h"

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
    m->scratch = carve(c, sizeof(float *) * nn);
    size_t nparam = 0;
    for (size_t i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++)
            nparam += align16((size_t)shape_numel(n->params[p].shape));
    }
    m->nparam_floats = nparam;
    m->params = carve(c, sizeof(float) * nparam);
    m->grads = carve(c, sizeof(float) * nparam);
    size_t largest = (size_t)shape_numel(g->input);
    m->input = carve(c, sizeof(float) * B * largest);
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
        float *o = carve(c, sizeof(float) * B * numel);
        size_t sc = n->ops->scratch ? n->ops->scratch(n, m->max_batch) : 0;
        float *s = sc ? carve(c, sizeof(float) * sc) : NULL;
        if (c->base) {
            m->out[i] = o;
            m->scratch[i] = s;
        }
    }
    m->dbuf[0] = carve(c, sizeof(float) * B * largest);
    m->dbuf[1] = carve(c, sizeof(float) * B * largest);
    size_t outs = (size_t)shape_numel(GRAPH_NODE(g, nn - 1)->out);
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

static LayerRun run_args(Model *m, int i, int batch, bool training)
{
    return (LayerRun){
        .batch = batch,
        .training = training,
        .in = i ? m->out[i - 1] : m->input,
        .out = m->out[i],
        .params = &m->pview[(size_t)i * NODE_MAX_PARAMS],
        .grads = &m->gview[(size_t)i * NODE_MAX_PARAMS],
        .scratch = m->scratch[i],
        .rng = &m->rng,
        .dout = NULL,
        .din = NULL,
    };
}

const float *rt_forward(Model *m, int batch, bool training)
{
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        LayerRun r = run_args(m, i, batch, training);
        n->ops->forward(n, &r);
    }
    return m->out[m->g->nodes.len - 1];
}

void rt_backward(Model *m, int batch)
{
    const float *dout = m->dlogits;
    int which = 0;
    for (int i = m->g->nodes.len - 1; i >= 0; i--) {
        const Node *n = GRAPH_NODE(m->g, i);
        LayerRun r = run_args(m, i, batch, true);
        r.dout = dout;
        r.din = i > 0 ? m->dbuf[which] : NULL;
        n->ops->backward(n, &r);
        dout = r.din;
        which ^= 1;
    }
}

float rt_loss(Model *m, LossKind loss, int batch, bool grad)
{
    int N = (int)rt_outputs(m);
    const float *logits = m->out[m->g->nodes.len - 1];
    if (loss == LOSS_MSE) {
        memset(m->target, 0, sizeof(float) * (size_t)batch * (size_t)N);
        for (int b = 0; b < batch; b++)
            m->target[(size_t)b * (size_t)N + (size_t)m->labels[b]] = 1.0f;
        return mse_forward(grad ? m->dlogits : NULL, logits, m->target, batch, N);
    }
    return cross_entropy_forward(grad ? m->dlogits : NULL, logits, m->labels, batch, N);
}
