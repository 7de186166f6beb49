/* checkpoint.c: weights and training state as safetensors. Weights go under their PyTorch
 * state_dict names, so files load into PyTorch and PyTorch's files load here; optimiser
 * moments go under "optim.m.<name>" / "optim.v.<name>"; the training position (epoch, batch,
 * step, RNG states) goes into the metadata as decimal strings. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static StTensor param_tensor(const Node *n, int p, const char *name, const float *data)
{
    StTensor t = {.name = name, .dtype = ST_F32, .ndim = n->params[p].shape.rank, .data = data};
    for (int k = 0; k < t.ndim; k++)
        t.shape[k] = n->params[p].shape.d[k];
    t.nbytes = sizeof(float) * (size_t)shape_numel(n->params[p].shape);
    return t;
}

static int count_params(const Model *m)
{
    int k = 0;
    for (int i = 0; i < m->g->nodes.len; i++)
        k += GRAPH_NODE(m->g, i)->nparams;
    return k;
}

static void rng_str(char *buf, const Rng *r)
{
    sprintf(buf, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, r->s[0], r->s[1], r->s[2],
            r->s[3]);
}

static bool rng_parse(const char *s, Rng *r)
{
    if (!s || strlen(s) != 64)
        return false;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, s + 16 * i, 16);
        part[16] = 0;
        char *end;
        r->s[i] = strtoull(part, &end, 16);
        if (*end)
            return false;
    }
    return true;
}

bool ckpt_save(const char *path, const Model *m, const Optim *o, const TrainPos *pos, Diag *d)
{
    int np = count_params(m), per = o ? 3 : 1;
    StTensor *t = calloc((size_t)(np * per) + 1, sizeof *t);
    char **names = calloc((size_t)(np * per) + 1, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
        return false;
    }
    /* integer buffers (num_batches_tracked) are int64 in the file, as in PyTorch */
    int64_t *ints = calloc((size_t)np + 1, sizeof *ints);
    int k = 0, ki = 0;
    for (int i = 0; ints && i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        for (int p = 0; p < n->nparams; p++) {
            const float *w = m->plan[i].params[p];
            t[k++] = param_tensor(n, p, n->params[p].name, w);
            if (n->params[p].integer) {
                ints[ki] = (int64_t)w[0];
                t[k - 1].dtype = ST_I64;
                t[k - 1].nbytes = sizeof(int64_t);
                t[k - 1].data = &ints[ki++];
            }
            if (o && !n->params[p].buffer) {
                size_t at = (size_t)(w - m->params);
                names[k] = malloc(strlen(n->params[p].name) + 16);
                sprintf(names[k], "optim.m.%s", n->params[p].name);
                t[k] = param_tensor(n, p, names[k], o->m + at);
                k++;
                names[k] = malloc(strlen(n->params[p].name) + 16);
                sprintf(names[k], "optim.v.%s", n->params[p].name);
                t[k] = param_tensor(n, p, names[k], o->v + at);
                k++;
            }
        }
    }
    char epoch[32], batch[32], bsize[32], step[32], ostep[32], r1[80], r3[80];
    const char *meta[32];
    int mk = 0;
    meta[mk++] = "format";
    meta[mk++] = "pt";
    meta[mk++] = "netc.network";
    meta[mk++] = m->g->name;
    if (o && pos) {
        snprintf(epoch, sizeof epoch, "%d", pos->epoch);
        snprintf(batch, sizeof batch, "%d", pos->batch);
        snprintf(bsize, sizeof bsize, "%d", m->g->train.batch);
        snprintf(step, sizeof step, "%" PRId64, pos->step);
        snprintf(ostep, sizeof ostep, "%" PRId64, o->step);
        rng_str(r1, &pos->epoch_rng);
        rng_str(r3, &pos->drop_rng);
        const char *kv[] = {"netc.epoch",       epoch, "netc.batch",     batch,
                            "netc.batch_size",  bsize, "netc.step",      step,
                            "netc.optim_step",  ostep, "netc.epoch_rng", r1,
                            "netc.dropout_rng", r3};
        for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
            meta[mk++] = kv[i];
    }
    meta[mk] = NULL;
    bool ok = ints && st_write(path, t, k, meta, d);
    if (!ints)
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
    for (int i = 0; i < k; i++)
        free(names[i]);
    free(names);
    free(t);
    free(ints);
    return ok;
}

/* Checks one tensor against a parameter's name and shape; copies it into dst. Only the first
 * problem of a file is reported (*problems counts them all), so a file written for another
 * network gives one error, not one per tensor. */
static bool take(const char *path, const StFile *f, const char *name, const Node *n, int p,
                 float *dst, int *problems, Diag *d)
{
    const StTensor *t = st_find(f, name);
    StDtype want_type = n->params[p].integer ? ST_I64 : ST_F32;
    bool same = t && t->dtype == want_type && t->ndim == n->params[p].shape.rank;
    for (int k = 0; same && k < t->ndim; k++)
        same = t->shape[k] == n->params[p].shape.d[k];
    if (same && want_type == ST_I64) { /* a count, kept as a float: exact below 2^24 */
        int64_t v;
        memcpy(&v, t->data, sizeof v);
        if (v >= 0 && v <= (1 << 24)) {
            dst[0] = (float)v;
            return true;
        }
        if (++*problems == 1)
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is %lld; netc takes 0 to 16,777,216", path,
                       name, (long long)v);
        return false;
    }
    if (same) {
        memcpy(dst, t->data, t->nbytes);
        return true;
    }
    if (++*problems > 1)
        return false;
    char want[64];
    shape_str(n->params[p].shape, want);
    if (!t) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s' (%s) is missing", path, name, want);
    } else if (t->dtype != want_type) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is %s; netc needs %s", path, name,
                   st_dtype_name(t->dtype), st_dtype_name(want_type));
    } else {
        char got[128] = "", *q = got;
        for (int k = 0; k < t->ndim; k++)
            q += snprintf(q, 24, k ? "x%" PRId64 : "%" PRId64, t->shape[k]);
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s' has shape %s; the network needs %s", path, name,
                   t->ndim ? got : "[] (a scalar)", want);
    }
    return false;
}

static bool load_into(const char *path, const StFile *f, Model *m, Optim *o, Diag *d)
{
    int problems = 0;
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        for (int p = 0; p < n->nparams; p++) {
            float *w = m->plan[i].params[p];
            take(path, f, n->params[p].name, n, p, w, &problems, d);
            if (o && !n->params[p].buffer) {
                size_t at = (size_t)(w - m->params);
                char name[512];
                snprintf(name, sizeof name, "optim.m.%s", n->params[p].name);
                take(path, f, name, n, p, o->m + at, &problems, d);
                snprintf(name, sizeof name, "optim.v.%s", n->params[p].name);
                take(path, f, name, n, p, o->v + at, &problems, d);
            }
        }
    }
    /* a tensor the network does not have means the file is for another network */
    for (int k = 0; k < st_count(f); k++) {
        const char *name = st_tensor(f, k)->name;
        if (strncmp(name, "optim.", 6) == 0)
            continue;
        bool known = false;
        for (int i = 0; i < m->g->nodes.len && !known; i++) {
            const Node *n = GRAPH_NODE(m->g, i);
            for (int p = 0; p < n->nparams; p++)
                known = known || strcmp(n->params[p].name, name) == 0;
        }
        if (!known && ++problems == 1)
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is not a parameter of network '%s'", path,
                       name, m->g->name);
    }
    if (problems > 1)
        diag_note(d, (SrcLoc){0}, "%d more tensor%s of %s do%s not fit network '%s'", problems - 1,
                  problems > 2 ? "s" : "", path, problems > 2 ? "" : "es", m->g->name);
    const char *saved_from = st_meta(f, "netc.network");
    if (problems && saved_from && strcmp(saved_from, m->g->name) != 0)
        diag_note(d, (SrcLoc){0}, "%s was saved from network '%s'", path, saved_from);
    return problems == 0;
}

bool ckpt_load(const char *path, Model *m, Diag *d)
{
    StFile *f = st_read(path, d);
    if (!f)
        return false;
    bool ok = load_into(path, f, m, NULL, d);
    st_free(f);
    return ok;
}

static bool meta_int(const char *path, const StFile *f, const char *key, int64_t *out, Diag *d)
{
    const char *s = st_meta(f, key);
    char *end;
    if (s) {
        long long v = strtoll(s, &end, 10);
        if (!*end && *s) {
            *out = v;
            return true;
        }
    }
    diag_error(d, (SrcLoc){0}, "%s: not a training checkpoint: metadata '%s' is %s", path, key,
               s ? "not a number" : "missing");
    return false;
}

bool ckpt_resume(const char *path, Model *m, Optim *o, TrainPos *pos, Diag *d)
{
    StFile *f = st_read(path, d);
    if (!f)
        return false;
    int64_t epoch = 0, batch = 0, step = 0, ostep = 0;
    bool ok =
        meta_int(path, f, "netc.epoch", &epoch, d) && meta_int(path, f, "netc.batch", &batch, d) &&
        meta_int(path, f, "netc.step", &step, d) && meta_int(path, f, "netc.optim_step", &ostep, d);
    if (ok && (!rng_parse(st_meta(f, "netc.epoch_rng"), &pos->epoch_rng) ||
               !rng_parse(st_meta(f, "netc.dropout_rng"), &m->rng))) {
        diag_error(d, (SrcLoc){0}, "%s: not a training checkpoint: bad RNG state", path);
        ok = false;
    }
    /* inside an epoch, the position counts batches of the size it was trained with */
    int64_t bsize = 0;
    if (ok && batch > 0 && st_meta(f, "netc.batch_size") &&
        meta_int(path, f, "netc.batch_size", &bsize, d) && bsize != m->g->train.batch) {
        diag_error(d, (SrcLoc){0},
                   "%s: stopped after batch %lld of epoch %lld with batches of %lld; resuming "
                   "inside that epoch needs the same batch size, not %d",
                   path, (long long)batch, (long long)epoch + 1, (long long)bsize,
                   m->g->train.batch);
        ok = false;
    }
    ok = ok && load_into(path, f, m, o, d);
    if (ok) {
        pos->epoch = (int)epoch;
        pos->batch = (int)batch;
        pos->step = step;
        pos->drop_rng = m->rng;
        o->step = ostep;
    }
    st_free(f);
    return ok;
}
