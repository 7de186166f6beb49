/* checkpoint.c: weights and training state as safetensors. Weights go under their PyTorch
 * state_dict names, so files load into PyTorch and PyTorch's files load here. A weights file
 * holds those alone (PyTorch's strict load_state_dict takes it); a training checkpoint adds
 * the optimiser's state under "optim.<key>.<name>" (optim_states: m, v, and vmax or grad_avg when
 * kept) and the training position (epoch, batch, step, RNG states) in the metadata as decimal
 * strings. */
#include <ctype.h>
#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
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

/* An RNG state as rng_str writes it: 64 hex digits, not all zero (xoshiro256's one state
 * that never changes). */
static bool rng_parse(const char *s, Rng *r)
{
    if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
        return false;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, s + 16 * i, 16);
        part[16] = 0;
        r->s[i] = strtoull(part, NULL, 16);
    }
    return r->s[0] | r->s[1] | r->s[2] | r->s[3];
}

/* The training position's integers in the metadata, in the order they are written, with the
 * range a file's value must be in before anything uses it. The ranges keep every later
 * computation in its type (epoch + 1, batch * batch size as an index, step + 1, beta**step);
 * the values are then checked against the run (rt_train: the batches of an epoch, the
 * epochs asked for; ckpt_resume: the batch size). */
enum { P_EPOCH, P_BATCH, P_BSIZE, P_STEP, P_OSTEP, P_NINTS };
static const struct {
    const char *key;
    int64_t lo, hi;
    bool required; /* netc.batch_size came later: older checkpoints lack it */
} pos_keys[P_NINTS] = {
    [P_EPOCH] = {"netc.epoch", 0, INT32_MAX - 1, true},
    [P_BATCH] = {"netc.batch", 0, INT32_MAX - 1, true},
    [P_BSIZE] = {"netc.batch_size", 1, INT32_MAX, false},
    [P_STEP] = {"netc.step", 0, CKPT_MAX_STEP, true},
    [P_OSTEP] = {"netc.optim_step", 0, CKPT_MAX_STEP, true},
};
static const char *const rng_keys[2] = {"netc.epoch_rng", "netc.dropout_rng"};
/* The best accuracy so far and its epoch: written once an epoch has been evaluated; older
 * checkpoints lack them. */
static const char *const best_keys[2] = {"netc.best_accuracy", "netc.best_epoch"};
/* The epoch's sums so far and the loss since the last record line (TrainPos): written when
 * not zero; older checkpoints lack them. */
enum { S_LOSS, S_CORRECT, S_SEEN, S_LOG_LOSS, S_LOG_STEPS, S_N };
/* ReduceLROnPlateau's state (TrainPos.plateau_*): written once it has started, all four;
 * the best is "none" before any epoch was judged (PyTorch's +-inf) */
enum { PL_LR, PL_BEST, PL_BAD, PL_COOLDOWN, PL_N };
static const char *const plateau_keys[PL_N] = {"netc.plateau_lr", "netc.plateau_best",
                                               "netc.plateau_bad", "netc.plateau_cooldown"};
static const char *const sum_keys[S_N] = {"netc.epoch_loss_sum", "netc.epoch_correct",
                                          "netc.epoch_seen", "netc.log_loss", "netc.log_steps"};

/* The run the position is a position in (older checkpoints lack them): its seed (the
 * validation split and augmentation come from it) and validation share, whether it
 * shuffles, the training images of an epoch, OneCycleLR's cycle in steps, and the sums of
 * its network and training set (TrainPos.layers and .data). */
enum { R_SEED, R_VAL, R_SHUFFLE, R_IMAGES, R_CYCLE, R_LAYERS, R_DATA, R_N };
static const char *const run_keys[R_N] = {"netc.seed",   "netc.val",   "netc.shuffle",
                                          "netc.images", "netc.cycle", "netc.layers",
                                          "netc.data"};

/* A decimal integer as ckpt_save writes it (an optional '-', then digits only) within
 * [lo, hi], where lo >= -hi. */
static bool int_parse(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    bool neg = *s == '-';
    const char *p = s + neg;
    if (!*p || strspn(p, "0123456789") != strlen(p))
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (uint64_t)hi / 10 || v * 10 + digit > (uint64_t)hi)
            return false; /* past hi (and -lo); v * 10 + digit <= hi + 9 cannot wrap */
        v = v * 10 + digit;
    }
    int64_t x = neg ? -(int64_t)v : (int64_t)v;
    if (x < lo)
        return false;
    *out = x;
    return true;
}

/* The hint for optimizer state a run keeps only with a setting (optim.vmax.*: amsgrad), when
 * the file has it and the run does not (has) or the other way round; NULL for other state. */
static const char *state_hint(const char *name, bool has)
{
    if (strncmp(name, "optim.vmax.", 11) == 0)
        return has ? "AMSGrad's state: the checkpoint was saved by a run with amsgrad=true; "
                     "resume with the optimizer it was saved with"
                   : "AMSGrad's state: the checkpoint was saved by a run without amsgrad=true; "
                     "resume with the optimizer it was saved with";
    if (strncmp(name, "optim.grad_avg.", 15) == 0)
        return has ? "RMSprop's centered state: the checkpoint was saved by a run with "
                     "centered=true; resume with the optimizer it was saved with"
                   : "RMSprop's centered state: the checkpoint was saved by a run without "
                     "centered=true; resume with the optimizer it was saved with";
    return NULL;
}

/* A dump line's setting name (its first word): where it starts, and its length. */
static size_t setting_word(const char *line, const char **word)
{
    *word = line + strspn(line, " ");
    return strcspn(*word, " \n");
}

/* The train settings a resumed run should share with its checkpoint (netc.train):
 * ir_train_write's dump, a line a setting, without the epochs (a run is resumed to train
 * longer), the data (its images are checked by netc.data) and the seed and val (their own
 * keys, checked by read_run): a checkpoint does not change with those. */
static void train_dump(StrBuf *sb, const TrainConfig *t)
{
    static const char *const own_check[] = {"epochs", "data", "seed", "val"};
    StrBuf all;
    sb_init(&all);
    ir_train_write(&all, t, TRAIN_DUMP);
    for (const char *l = all.data; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) + 1 : strlen(l);
        const char *name;
        size_t nlen = setting_word(l, &name);
        bool keep = true;
        for (size_t i = 0; i < sizeof own_check / sizeof *own_check; i++)
            keep = keep && !(strlen(own_check[i]) == nlen && !strncmp(name, own_check[i], nlen));
        if (keep)
            sb_printf(sb, "%.*s", (int)len, l);
        l += len;
    }
    sb_free(&all);
}

/* The optimizer's name in the net's train section, as the language writes it (Adam). */
static const char *optim_name(const Graph *g)
{
    return ir_setting_kind(ir_setting_find("optimizer"), &g->train)->name;
}

bool ckpt_save(const char *path, const Model *m, const Optim *o, const TrainPos *pos, Diag *d)
{
    OptimState st[OPTIM_MAX_STATES];
    int ns = o ? optim_states(o, st) : 0;
    int np = count_params(m), per = 1 + ns;
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
                for (int j = 0; j < ns; j++, k++) {
                    names[k] = malloc(strlen(n->params[p].name) + 16);
                    sprintf(names[k], "optim.%s.%s", st[j].key, n->params[p].name);
                    t[k] = param_tensor(n, p, names[k], st[j].a + at);
                }
            }
        }
    }
    char nums[P_NINTS][32], rngs[2][80], best[2][40], sums[S_N][40], run[R_N][40];
    char plateau[PL_N][40];
    const char *meta[4 + 2 * (2 + P_NINTS + 4 + S_N + R_N + PL_N) + 1];
    StrBuf train;
    sb_init(&train);
    int mk = 0;
    meta[mk++] = "format";
    meta[mk++] = "pt";
    meta[mk++] = "netc.network";
    meta[mk++] = m->g->name;
    char split[2][40];
    if (!(o && pos) && m->g->train.present) { /* weights: the split their validation used */
        snprintf(split[0], sizeof split[0], "%" PRIu64, m->g->train.seed);
        snprintf(split[1], sizeof split[1], "%.17g", m->g->train.val);
        meta[mk++] = run_keys[R_SEED];
        meta[mk++] = split[0];
        meta[mk++] = run_keys[R_VAL];
        meta[mk++] = split[1];
    }
    if (o && pos) {
        meta[mk++] = "netc.optimizer"; /* whose state optim.* is: resume refuses another's */
        meta[mk++] = optim_name(m->g);
        train_dump(&train, &m->g->train); /* a resume with other settings is told */
        meta[mk++] = "netc.train";
        meta[mk++] = train.data;
        const TrainConfig *t = &m->g->train; /* what the position is a position in */
        snprintf(run[R_SEED], sizeof run[0], "%" PRIu64, t->seed);
        snprintf(run[R_VAL], sizeof run[0], "%.17g", t->val);
        snprintf(run[R_SHUFFLE], sizeof run[0], "%s", t->shuffle ? "true" : "false");
        snprintf(run[R_IMAGES], sizeof run[0], "%" PRId64, pos->images);
        snprintf(run[R_CYCLE], sizeof run[0], "%" PRId64, pos->cycle);
        snprintf(run[R_LAYERS], sizeof run[0], "%" PRId64, pos->layers);
        snprintf(run[R_DATA], sizeof run[0], "%" PRId64, pos->data);
        for (int i = 0; i < R_N; i++)
            if ((i != R_IMAGES || pos->images) && (i != R_CYCLE || pos->cycle) &&
                (i != R_LAYERS || pos->layers) && (i != R_DATA || pos->data)) {
                meta[mk++] = run_keys[i];
                meta[mk++] = run[i];
            }
        const int64_t v[P_NINTS] = {[P_EPOCH] = pos->epoch,
                                    [P_BATCH] = pos->batch,
                                    [P_BSIZE] = m->g->train.batch,
                                    [P_STEP] = pos->step,
                                    [P_OSTEP] = o->step};
        for (int i = 0; i < P_NINTS; i++) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, v[i]);
            meta[mk++] = pos_keys[i].key;
            meta[mk++] = nums[i];
        }
        rng_str(rngs[0], &pos->epoch_rng);
        rng_str(rngs[1], &pos->drop_rng);
        for (int i = 0; i < 2; i++) {
            meta[mk++] = rng_keys[i];
            meta[mk++] = rngs[i];
        }
        snprintf(sums[S_LOSS], sizeof sums[0], "%.17g", pos->loss_sum);
        snprintf(sums[S_CORRECT], sizeof sums[0], "%" PRId64, pos->correct);
        snprintf(sums[S_SEEN], sizeof sums[0], "%" PRId64, pos->seen);
        snprintf(sums[S_LOG_LOSS], sizeof sums[0], "%.17g", pos->log_loss);
        snprintf(sums[S_LOG_STEPS], sizeof sums[0], "%" PRId64, pos->log_steps);
        for (int i = 0; i < S_N && (pos->seen || pos->log_steps); i++) {
            meta[mk++] = sum_keys[i];
            meta[mk++] = sums[i];
        }
        if (pos->plateau_on) {
            snprintf(plateau[PL_LR], sizeof plateau[0], "%.17g", pos->plateau_lr);
            if (isinf(pos->plateau_best))
                snprintf(plateau[PL_BEST], sizeof plateau[0], "none");
            else
                snprintf(plateau[PL_BEST], sizeof plateau[0], "%.17g", pos->plateau_best);
            snprintf(plateau[PL_BAD], sizeof plateau[0], "%d", pos->plateau_bad);
            snprintf(plateau[PL_COOLDOWN], sizeof plateau[0], "%d", pos->plateau_cooldown);
            for (int i = 0; i < PL_N; i++) {
                meta[mk++] = plateau_keys[i];
                meta[mk++] = plateau[i];
            }
        }
        if (pos->best_epoch > 0) {
            snprintf(best[0], sizeof best[0], "%.17g", pos->best);
            snprintf(best[1], sizeof best[1], "%d", pos->best_epoch);
            for (int i = 0; i < 2; i++) {
                meta[mk++] = best_keys[i];
                meta[mk++] = best[i];
            }
        }
    }
    meta[mk] = NULL;
    bool ok = ints && st_write(path, t, k, meta, d);
    sb_free(&train);
    if (!ints)
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
    for (int i = 0; i < k; i++)
        free(names[i]);
    free(names);
    free(t);
    free(ints);
    return ok;
}

/* IEEE binary16 bits as a float (exact: every half is a float). */
static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0    ? ldexpf((float)m, -24)              /* zero, subnormal */
              : e == 31 ? (m ? NAN : INFINITY)               /* inf, NaN */
                        : ldexpf((float)(m | 1024), e - 25); /* normal */
    return h & 0x8000 ? -v : v;
}

static bool is_float(StDtype t)
{
    return t == ST_F32 || t == ST_F64 || t == ST_F16 || t == ST_BF16;
}

/* Element i of t (a float dtype) as float32: rounded to nearest from F64, exact from the
 * narrower ones, as PyTorch's copy_ gives. */
static float float_at(const StTensor *t, size_t i)
{
    const unsigned char *b = t->data;
    uint16_t u16;
    uint32_t u32;
    float f;
    double x;
    switch (t->dtype) {
    case ST_F64: memcpy(&x, b + 8 * i, sizeof x); return (float)x;
    case ST_F16: memcpy(&u16, b + 2 * i, sizeof u16); return half_to_float(u16);
    case ST_BF16:
        memcpy(&u16, b + 2 * i, sizeof u16);
        u32 = (uint32_t)u16 << 16;
        memcpy(&f, &u32, sizeof f);
        return f;
    default: memcpy(&f, b + 4 * i, sizeof f); return f;
    }
}

/* Element i of t, an F64 tensor. */
static double double_at(const StTensor *t, size_t i)
{
    double x;
    memcpy(&x, (const unsigned char *)t->data + 8 * i, sizeof x);
    return x;
}

/* Element i of t (an integer dtype, or BOOL as 0 or 1). */
static int64_t int_at(const StTensor *t, size_t i)
{
    const unsigned char *b = t->data;
    int64_t v64;
    int32_t v32;
    int16_t v16;
    switch (t->dtype) {
    case ST_I32: memcpy(&v32, b + 4 * i, sizeof v32); return v32;
    case ST_I16: memcpy(&v16, b + 2 * i, sizeof v16); return v16;
    case ST_I8: return (int8_t)b[i];
    case ST_U8: return b[i];
    case ST_BOOL: return b[i] != 0;
    default: memcpy(&v64, b + 8 * i, sizeof v64); return v64;
    }
}

/* Whether the values a file gave a parameter (or its optimiser state) make sense: finite, and
 * not negative where they never are (nonneg: a variance, Adam's squared-gradient averages);
 * a value that is not would make every output NaN with nothing to say where it came from. */
static bool values_valid(const char *path, const char *name, const float *v, int64_t count,
                         bool nonneg, const StTensor *src, int *problems, Diag *d)
{
    for (int64_t i = 0; i < count; i++) {
        if (isfinite(v[i]) && !(nonneg && v[i] < 0))
            continue;
        /* a float64 past float32's range is finite in the file: say what it was */
        double x = src && src->dtype == ST_F64 ? double_at(src, (size_t)i) : v[i];
        if (++*problems == 1)
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' holds %g at index %lld; %s", path, name, x,
                       (long long)i,
                       isfinite(v[i])
                           ? "it holds variances (or averages of squares), never negative"
                       : isfinite(x) ? "past float32's range (3.4e+38), which the weights are in"
                                     : "weights and training state must be finite");
        return false;
    }
    return true;
}

/* Checks one tensor against a parameter's name and shape; copies it into dst, converting its
 * dtype as PyTorch's load_state_dict would (Tensor.copy_: any dtype into float32, rounded to
 * nearest; a count from any, a float truncated toward zero), and taking the first element of
 * a 1-d tensor for a scalar (its rule for files from PyTorch 0.3). A missing tensor its kind
 * marks zero_if_missing (BatchNorm's num_batches_tracked) is 0, as PyTorch's module makes it.
 * Only the first problem of a file is reported (*problems counts them all), so a file written
 * for another network gives one error, not one per tensor. */
static bool take(const char *path, const StFile *f, const char *name, const Node *n, int p,
                 bool nonneg, float *dst, int *problems, int *missing, Diag *d)
{
    const StTensor *t = st_find(f, name);
    bool integer = n->params[p].integer;
    if (!t && n->params[p].zero_if_missing && strcmp(name, n->params[p].name) == 0) {
        memset(dst, 0, sizeof(float) * (size_t)shape_numel(n->params[p].shape));
        return true;
    }
    *missing += !t;
    Shape want = n->params[p].shape;
    bool scalar_of_1d = t && want.rank == 0 && t->ndim == 1 && t->shape[0] >= 1;
    bool same = t && (t->ndim == want.rank || scalar_of_1d);
    for (int k = 0; same && !scalar_of_1d && k < t->ndim; k++)
        same = t->shape[k] == want.d[k];
    if (same && integer) { /* a count, kept as a float: exact below 2^24 */
        double x = t->dtype == ST_F64 ? double_at(t, 0) : is_float(t->dtype) ? float_at(t, 0) : 0;
        int64_t v = is_float(t->dtype) ? 0 : int_at(t, 0);
        /* the range first: a float past int64's (6.7e203) has no truncation to take */
        if (is_float(t->dtype) ? x > -1 && x < (1 << 24) + 1 : v >= 0 && v <= (1 << 24)) {
            dst[0] = is_float(t->dtype) ? (float)(int64_t)x : (float)v;
            return true;
        }
        if (++*problems == 1 && is_float(t->dtype))
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is %.17g; netc takes 0 to 16,777,216", path,
                       name, x);
        else if (*problems == 1)
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is %" PRId64 "; netc takes 0 to 16,777,216",
                       path, name, v);
        return false;
    }
    if (same) {
        size_t count = (size_t)shape_numel(want);
        if (t->dtype == ST_F32)
            memcpy(dst, t->data, sizeof(float) * count);
        else
            for (size_t i = 0; i < count; i++)
                dst[i] = is_float(t->dtype) ? float_at(t, i) : (float)int_at(t, i);
        return values_valid(path, name, dst, (int64_t)count, nonneg, t, problems, d);
    }
    if (++*problems > 1)
        return false;
    char buf[64];
    const char *w = want.rank ? shape_str(want, buf) : "[] (a scalar)";
    if (!t) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s' (%s) is missing", path, name, w);
        if (state_hint(name, false))
            diag_hint(d, (SrcLoc){0}, "%s", state_hint(name, false));
    } else {
        char got[ST_MAX_DIMS * 21 + 1] = ""; /* 'x' and 20 characters a dimension */
        size_t q = 0;
        for (int k = 0; k < t->ndim && q < sizeof got; k++)
            q += (size_t)snprintf(got + q, sizeof got - q, k ? "x%" PRId64 : "%" PRId64,
                                  t->shape[k]);
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s' has shape %s; the network needs %s", path, name,
                   t->ndim ? got : "[] (a scalar)", w);
    }
    return false;
}

static bool load_into(const char *path, const StFile *f, Model *m, Optim *o, Diag *d)
{
    int problems = 0, missing = 0, unexpected = 0;
    OptimState st[OPTIM_MAX_STATES];
    int ns = o ? optim_states(o, st) : 0;
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(m->g, i);
        for (int p = 0; p < n->nparams; p++) {
            float *w = m->plan[i].params[p];
            take(path, f, n->params[p].name, n, p, n->params[p].nonneg, w, &problems, &missing, d);
            if (o && !n->params[p].buffer) {
                size_t at = (size_t)(w - m->params);
                char name[IR_MAX_PARAM_NAME + 32]; /* "optim.<key>." and the name */
                for (int j = 0; j < ns; j++) {
                    snprintf(name, sizeof name, "optim.%s.%s", st[j].key, n->params[p].name);
                    take(path, f, name, n, p, st[j].nonneg, st[j].a + at, &problems, &missing, d);
                }
            }
        }
    }
    /* a tensor the network does not have means the file is for another network; optimiser
     * state this run does not keep, that it was saved by another optimizer (weights alone,
     * for --load, ignore the state) */
    for (int k = 0; k < st_count(f); k++) {
        const char *name = st_tensor(f, k)->name, *param = name;
        bool state = strncmp(name, "optim.", 6) == 0, known = false;
        if (state && !o)
            continue;
        for (int j = 0; state && j < ns && param == name; j++) {
            size_t len = strlen(st[j].key);
            if (strncmp(name + 6, st[j].key, len) == 0 && name[6 + len] == '.')
                param = name + 7 + len;
        }
        for (int i = 0; i < m->g->nodes.len && !known && (!state || param != name); i++) {
            const Node *n = GRAPH_NODE(m->g, i);
            for (int p = 0; p < n->nparams; p++)
                known = known ||
                        (strcmp(n->params[p].name, param) == 0 && !(state && n->params[p].buffer));
        }
        char nb[IO_CLIP_BUF];
        unexpected += !known;
        if (known || ++problems > 1)
            continue;
        if (!state) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' is not a parameter of network '%s'", path,
                       io_clip(nb, name), m->g->name);
            continue;
        }
        diag_error(d, (SrcLoc){0},
                   "%s: tensor '%s' is optimizer state that this run's %s does not keep", path,
                   io_clip(nb, name), optim_name(m->g));
        if (state_hint(name, true))
            diag_hint(d, (SrcLoc){0}, "%s", state_hint(name, true));
    }
    if (problems > 1) { /* the whole difference, as PyTorch's missing and unexpected keys */
        int other = problems - missing - unexpected;
        char parts[3][80];
        int np = 0;
        if (missing)
            snprintf(parts[np++], sizeof parts[0], "%d the network needs %s missing", missing,
                     missing == 1 ? "is" : "are");
        if (unexpected)
            snprintf(parts[np++], sizeof parts[0], "%d in the file %s not the network's",
                     unexpected, unexpected == 1 ? "is" : "are");
        if (other > 0)
            snprintf(parts[np++], sizeof parts[0], "%d %s another shape or value", other,
                     other == 1 ? "has" : "have");
        diag_note(d, (SrcLoc){0}, "%s and network '%s' differ in %d tensors: %s%s%s%s%s", path,
                  m->g->name, problems, parts[0], np > 1 ? (np > 2 ? ", " : " and ") : "",
                  np > 1 ? parts[1] : "", np > 2 ? " and " : "", np > 2 ? parts[2] : "");
    }
    const char *saved_from = st_meta(f, "netc.network");
    char nb[IO_CLIP_BUF];
    if (problems && saved_from && strcmp(saved_from, m->g->name) != 0)
        diag_note(d, (SrcLoc){0}, "%s was saved from network '%s'", path, io_clip(nb, saved_from));
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

/* A metadata value of a training checkpoint; NULL after a message when it is missing. */
static const char *meta_get(const char *path, const StFile *f, const char *key, Diag *d)
{
    const char *s = st_meta(f, key);
    if (!s)
        diag_error(d, (SrcLoc){0}, "%s: not a training checkpoint: metadata '%s' is missing", path,
                   key);
    return s;
}

/* The training position in f's metadata, every value checked (pos_keys, rng_parse); v[P_BSIZE]
 * is 0 when the file does not say. */
static bool read_pos(const char *path, const StFile *f, int64_t v[P_NINTS], Rng rng[2], Diag *d)
{
    char vb[IO_CLIP_BUF];
    bool state = false; /* any training state at all: a weights file has none */
    for (int i = 0; i < P_NINTS && !state; i++)
        state = st_meta(f, pos_keys[i].key) != NULL;
    for (int k = 0; k < st_count(f) && !state; k++)
        state = strncmp(st_tensor(f, k)->name, "optim.", 6) == 0;
    if (!state) {
        diag_error(d, (SrcLoc){0},
                   "%s: not a training checkpoint: it holds weights only, and --resume needs the "
                   "optimizer state and position too",
                   path);
        diag_note(d, (SrcLoc){0},
                  "training writes them to a checkpoint beside its weights (W.safetensors: "
                  "W.ckpt.safetensors); --load starts a new run from weights");
        return false;
    }
    for (int i = 0; i < P_NINTS; i++) {
        v[i] = 0;
        if (!pos_keys[i].required && !st_meta(f, pos_keys[i].key))
            continue;
        const char *s = meta_get(path, f, pos_keys[i].key, d);
        if (!s)
            return false;
        if (!int_parse(s, pos_keys[i].lo, pos_keys[i].hi, &v[i])) {
            diag_error(d, (SrcLoc){0},
                       "%s: bad training position: metadata '%s' is '%s'; expected a whole "
                       "number from %" PRId64 " to %" PRId64,
                       path, pos_keys[i].key, io_clip(vb, s), pos_keys[i].lo, pos_keys[i].hi);
            return false;
        }
    }
    for (int i = 0; i < 2; i++) {
        const char *s = meta_get(path, f, rng_keys[i], d);
        if (!s)
            return false;
        if (!rng_parse(s, &rng[i])) {
            diag_error(d, (SrcLoc){0},
                       "%s: bad training position: metadata '%s' is '%s'; expected an RNG state "
                       "(64 hex digits, not all zero)",
                       path, rng_keys[i], io_clip(vb, s));
            return false;
        }
    }
    return true;
}

/* A double as ckpt_save writes it (%.17g), finite, within [lo, hi]. */
static bool double_parse(const char *s, double lo, double hi, double *out)
{
    /* as "%.17g" writes: no blank, no hex, no inf or nan (strtod takes them all) */
    if (!(isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '.') ||
        strspn(s, "0123456789.eE+-") != strlen(s))
        return false;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* The best accuracy and its epoch, both or neither: an accuracy from 0 to 1 and an epoch from
 * 1 to the epochs done (*epoch 0 when the file has neither). */
static bool read_best(const char *path, const StFile *f, int64_t epochs_done, double *best,
                      int64_t *epoch, Diag *d)
{
    const char *a = st_meta(f, best_keys[0]), *e = st_meta(f, best_keys[1]);
    *best = 0;
    *epoch = 0;
    if (!a && !e)
        return true;
    char vb[IO_CLIP_BUF];
    double v = 0;
    if (!a || !e) { /* one of the pair: the other is the one missing */
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: metadata '%s' is missing (it goes with '%s')", path,
                   best_keys[a ? 1 : 0], best_keys[a ? 0 : 1]);
        return false;
    }
    if (!double_parse(a, 0, 1, &v)) {
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: metadata '%s' is '%s'; expected a number from 0 "
                   "to 1",
                   path, best_keys[0], io_clip(vb, a));
        return false;
    }
    if (!int_parse(e, 1, epochs_done < 1 ? 1 : epochs_done, epoch) || epochs_done < 1) {
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: metadata '%s' is '%s'; expected an epoch from 1 "
                   "to the %" PRId64 " done",
                   path, best_keys[1], io_clip(vb, e), epochs_done);
        return false;
    }
    *best = v;
    return true;
}

/* ReduceLROnPlateau's state, all four keys or none (an older checkpoint, or another
 * schedule: the run starts the state afresh): an lr from 0 to 1e6, a finite best or "none",
 * counts from 0 to 2^30. */
static bool read_plateau(const char *path, const StFile *f, TrainPos *pos, Diag *d)
{
    const char *v[PL_N];
    int given = 0;
    for (int i = 0; i < PL_N; i++)
        given += (v[i] = st_meta(f, plateau_keys[i])) != NULL;
    if (given == 0)
        return true;
    for (int i = 0; i < PL_N; i++)
        if (!v[i]) {
            diag_error(d, (SrcLoc){0},
                       "%s: bad training position: metadata '%s' is missing (it goes with '%s')",
                       path, plateau_keys[i], plateau_keys[i ? 0 : 1]);
            return false;
        }
    int64_t bad = 0, cool = 0;
    double lr = 0, best = INFINITY;
    static const char *const want[PL_N] = {"a number from 0 to 1e6", "a number, or none",
                                           "a count from 0 to 2^30", "a count from 0 to 2^30"};
    bool ok[PL_N] = {
        double_parse(v[PL_LR], 0, 1e6, &lr),
        !strcmp(v[PL_BEST], "none") || double_parse(v[PL_BEST], -DBL_MAX, DBL_MAX, &best),
        int_parse(v[PL_BAD], 0, 1 << 30, &bad), int_parse(v[PL_COOLDOWN], 0, 1 << 30, &cool)};
    for (int i = 0; i < PL_N; i++)
        if (!ok[i]) {
            char vb[IO_CLIP_BUF];
            diag_error(d, (SrcLoc){0},
                       "%s: bad training position: metadata '%s' is '%s'; expected %s", path,
                       plateau_keys[i], io_clip(vb, v[i]), want[i]);
            return false;
        }
    pos->plateau_on = true;
    pos->plateau_lr = lr;
    pos->plateau_best = best; /* "none": +inf here, -inf for mode max (ckpt_resume) */
    pos->plateau_bad = (int)bad;
    pos->plateau_cooldown = (int)cool;
    return true;
}

/* The epoch's sums and the record's loss since its last line, all or none: counts in range
 * (correct <= seen = the images of the batches done, log_steps <= step) and sums that are
 * finite and not negative (both losses are). */
static bool read_sums(const char *path, const StFile *f, const int64_t v[P_NINTS], TrainPos *pos,
                      Diag *d)
{
    int given = 0;
    for (int i = 0; i < S_N; i++)
        given += st_meta(f, sum_keys[i]) != NULL;
    if (given == 0)
        return true;
    int64_t seen_max = v[P_BATCH] * (v[P_BSIZE] ? v[P_BSIZE] : INT32_MAX);
    for (int i = 0; i < S_N; i++) {
        const char *s = st_meta(f, sum_keys[i]);
        bool ok = s != NULL;
        if (ok && (i == S_LOSS || i == S_LOG_LOSS))
            ok = double_parse(s, 0, 1e300, i == S_LOSS ? &pos->loss_sum : &pos->log_loss);
        else if (ok && i == S_SEEN)
            ok = int_parse(s, 0, seen_max, &pos->seen) && (!v[P_BSIZE] || pos->seen == seen_max);
        else if (ok && i == S_CORRECT)
            ok = int_parse(s, 0, seen_max, &pos->correct);
        else if (ok)
            ok = int_parse(s, 0, v[P_STEP], &pos->log_steps);
        if (!ok) {
            char vb[IO_CLIP_BUF];
            diag_error(d, (SrcLoc){0},
                       "%s: bad training position: metadata '%s' is '%s'; it does not fit batch "
                       "%" PRId64 " of the epoch and step %" PRId64,
                       path, sum_keys[i], s ? io_clip(vb, s) : "(missing)", v[P_BATCH], v[P_STEP]);
            return false;
        }
    }
    if ((pos->seen == 0 && pos->loss_sum != 0) || (pos->log_steps == 0 && pos->log_loss != 0)) {
        /* a sum of no losses is 0: a line from these would print a loss of no steps */
        int k = pos->seen == 0 && pos->loss_sum != 0 ? S_LOSS : S_LOG_LOSS;
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: metadata '%s' is %g, but '%s' is 0: a sum of no "
                   "losses is 0",
                   path, sum_keys[k], k == S_LOSS ? pos->loss_sum : pos->log_loss,
                   sum_keys[k == S_LOSS ? S_SEEN : S_LOG_STEPS]);
        return false;
    }
    if (pos->correct > pos->seen) {
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: metadata '%s' (%" PRId64
                   ") is more than '%s' (%" PRId64 ")",
                   path, sum_keys[S_CORRECT], pos->correct, sum_keys[S_SEEN], pos->seen);
        return false;
    }
    return true;
}

/* The run's settings the file names (run_keys), against this run's: the seed and the
 * validation share always (a resumed run that drew another split would validate on images
 * it trained on), shuffling inside an epoch (its order); the images and the cycle are
 * checked by rt_train, which knows the data, and the sums by netrun (each 0 in *got when
 * not given). */
static bool read_run(const char *path, const StFile *f, const TrainConfig *t, bool inside,
                     TrainPos *got, Diag *d)
{
    char vb[IO_CLIP_BUF];
    got->images = got->cycle = got->layers = got->data = 0;
    for (int i = 0; i < R_N; i++) {
        const char *s = st_meta(f, run_keys[i]);
        if (!s)
            continue;
        int64_t n = 0;
        double x = 0;
        bool ok = i == R_SEED      ? int_parse(s, 0, INT64_MAX, &n)
                  : i == R_VAL     ? double_parse(s, 0, TRAIN_VAL_MAX, &x)
                  : i == R_SHUFFLE ? !strcmp(s, "true") || !strcmp(s, "false")
                  : i == R_IMAGES  ? int_parse(s, 1, INT32_MAX, &got->images)
                  : i == R_CYCLE   ? int_parse(s, 1, CKPT_MAX_STEP, &got->cycle)
                  : i == R_LAYERS  ? int_parse(s, 1, (int64_t)1 << 32, &got->layers)
                                   : int_parse(s, 1, (int64_t)1 << 32, &got->data);
        if (!ok) {
            diag_error(d, (SrcLoc){0}, "%s: bad training position: metadata '%s' is '%s'", path,
                       run_keys[i], io_clip(vb, s));
            return false;
        }
        if (i == R_SEED && (uint64_t)n != t->seed) {
            diag_error(d, (SrcLoc){0},
                       "%s: the run's seed is %" PRId64 ", not %" PRIu64
                       ": its validation split and augmentation come from it; resume with "
                       "--seed %" PRId64 ", or start a new run",
                       path, n, t->seed, n);
            return false;
        }
        if (i == R_VAL && x != t->val) {
            diag_error(d, (SrcLoc){0},
                       "%s: the run holds out %g of its training set for validation, not %g: "
                       "another share would validate on images it trained on; resume with --val "
                       "%g, or start a new run",
                       path, x, t->val, x);
            return false;
        }
        if (i == R_SHUFFLE && inside && !strcmp(s, "true") != t->shuffle) {
            diag_error(d, (SrcLoc){0},
                       "%s: stopped inside an epoch %s; resuming inside it needs the same "
                       "order: resume with %s",
                       path, t->shuffle ? "in file order" : "in shuffled order",
                       t->shuffle ? "--no-shuffle" : "--shuffle");
            return false;
        }
    }
    return true;
}

bool ckpt_check_split(const char *path, const TrainConfig *t, Diag *d)
{
    StFile *f = st_read(path, d);
    if (!f)
        return false;
    const char *s = st_meta(f, run_keys[R_SEED]), *v = st_meta(f, run_keys[R_VAL]);
    int64_t seed = 0;
    double val = 0;
    bool ok = true;
    if (!s && !v) { /* weights from elsewhere (PyTorch's) say nothing of a split */
    } else if (!s || !v || !int_parse(s, 0, INT64_MAX, &seed) ||
               !double_parse(v, 0, TRAIN_VAL_MAX, &val)) {
        char sb[IO_CLIP_BUF], vb[IO_CLIP_BUF];
        diag_error(d, (SrcLoc){0},
                   "%s: its metadata %s = %s and %s = %s are not a seed and a validation "
                   "share; the file is damaged",
                   path, run_keys[R_SEED], s ? io_clip(sb, s) : "(missing)", run_keys[R_VAL],
                   v ? io_clip(vb, v) : "(missing)");
        ok = false;
    } else if (val == 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: trained on every training image (no validation share): any validation "
                   "split holds images it trained on",
                   path);
        ok = false;
    } else if ((uint64_t)seed != t->seed || val != t->val) {
        char vs[32];
        for (int prec = 6; prec <= 17; prec++) /* the shortest text that reads back as val */
            if (snprintf(vs, sizeof vs, "%.*g", prec, val), strtod(vs, NULL) == val)
                break;
        diag_error(d, (SrcLoc){0},
                   "%s: trained with seed %" PRId64 " holding out %s for validation; this split "
                   "(seed %" PRIu64 ", val %g) holds images it trained on: evaluate with --seed "
                   "%" PRId64 " --val %s",
                   path, seed, vs, t->seed, t->val, seed, vs);
        ok = false;
    }
    st_free(f);
    return ok;
}

/* The settings a resumed run takes from its flags and file against those its checkpoint was
 * trained with (train_dump's lines, in netc.train): a warning, and a note for each that
 * differs (PyTorch's optimizer.load_state_dict would have restored the optimizer's). Older
 * checkpoints say nothing. */
static void tell_other_settings(const char *path, const char *saved, const TrainConfig *t, Diag *d)
{
    if (!saved)
        return;
    StrBuf now;
    sb_init(&now);
    train_dump(&now, t);
    int told = 0;
    for (const char *l = now.data; *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        const char *name;
        size_t nlen = setting_word(l, &name);
        /* the saved line of the same setting */
        const char *was = NULL;
        size_t wlen = 0;
        for (const char *q = saved; *q && !was;) {
            const char *qe = strchr(q, '\n');
            size_t ql = qe ? (size_t)(qe - q) : strlen(q);
            const char *qn;
            if (setting_word(q, &qn) == nlen && !strncmp(qn, name, nlen))
                was = q, wlen = ql;
            q += ql + (qe != NULL);
        }
        /* a setting a checkpoint of an older build has no line for, and this run does not
         * use either (clip_grad_norm none), is no difference */
        bool unused = len - (size_t)(name - l) == nlen + 5 && !strncmp(name + nlen, " none", 5);
        if (!(was ? wlen == len && !strncmp(was, l, len) : unused)) {
            if (!told++)
                diag_warning(d, (SrcLoc){0},
                             "%s: this run's train settings are not those the checkpoint was "
                             "trained with; it goes on with this run's",
                             path);
            char wt[320]; /* the file's line, its control characters made '?' */
            size_t n = 0;
            const char *wn = was ? was + strspn(was, " ") : "";
            size_t wl = was ? wlen - (size_t)(wn - was) : 0;
            for (size_t i = 0; i < wl && n + 1 < sizeof wt; i++) {
                unsigned char ch = (unsigned char)wn[i];
                wt[n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
            }
            wt[n] = '\0';
            diag_note(d, (SrcLoc){0}, "now '%.*s', trained with '%s'",
                      (int)(len - (size_t)(name - l)), name, was ? wt : "(none)");
        }
        l += len + (end != NULL);
    }
    if (told)
        diag_hint(d, (SrcLoc){0},
                  "to continue the run exactly, give the flags it was started with (the "
                  "command its interruption printed)");
    sb_free(&now);
}

bool ckpt_resume(const char *path, Model *m, Optim *o, TrainPos *pos, Diag *d)
{
    StFile *f = st_read(path, d);
    if (!f)
        return false;
    io_may_rewrite(path); /* the run goes on in the checkpoint it resumes */
    int64_t v[P_NINTS], best_epoch = 0;
    Rng rng[2];
    double best = 0;
    TrainPos sums = {0}, run = {0}, plateau = {0};
    bool ok = read_pos(path, f, v, rng, d) &&
              read_best(path, f, v[P_EPOCH], &best, &best_epoch, d) &&
              read_sums(path, f, v, &sums, d) &&
              read_run(path, f, &m->g->train, v[P_BATCH] > 0, &run, d) &&
              read_plateau(path, f, &plateau, d);
    /* every batch is a step, and every epoch at least one; the optimiser counts them all */
    if (ok && (v[P_STEP] < v[P_EPOCH] + v[P_BATCH] || v[P_OSTEP] != v[P_STEP])) {
        diag_error(d, (SrcLoc){0},
                   "%s: bad training position: step %" PRId64 " (optimizer step %" PRId64
                   ") after batch %" PRId64 " of epoch %" PRId64
                   "; a run takes a step a batch, and its optimizer counts the same steps",
                   path, v[P_STEP], v[P_OSTEP], v[P_BATCH], v[P_EPOCH] + 1);
        ok = false;
    }
    /* inside an epoch, the position counts batches of the size it was trained with */
    if (ok && v[P_BATCH] > 0 && v[P_BSIZE] && v[P_BSIZE] != m->g->train.batch) {
        diag_error(d, (SrcLoc){0},
                   "%s: stopped after batch %" PRId64 " of epoch %" PRId64
                   " with batches of %" PRId64 "; resuming inside that epoch needs the same "
                   "batch size, not %d",
                   path, v[P_BATCH], v[P_EPOCH] + 1, v[P_BSIZE], m->g->train.batch);
        ok = false;
    }
    const char *saved_opt = st_meta(f, "netc.optimizer"); /* older checkpoints lack it */
    if (ok && !saved_opt)
        diag_warning(d, (SrcLoc){0},
                     "%s: the checkpoint does not say which optimizer wrote its state "
                     "(netc.optimizer): it is taken as %s's",
                     path, optim_name(m->g));
    if (ok && saved_opt && strcmp(saved_opt, optim_name(m->g)) != 0) {
        /* the name goes into a command to copy: only an optimizer's */
        const Setting *os = ir_setting_find("optimizer");
        bool known = false;
        for (int k = 0; os && k < os->nkinds && !known; k++)
            known = os->kinds[k].name && strcmp(os->kinds[k].name, saved_opt) == 0;
        char vb[IO_CLIP_BUF];
        if (known)
            diag_error(d, (SrcLoc){0},
                       "%s: the optimizer state is %s's, and this run's optimizer is %s: resume "
                       "with --optimizer %s, or start a new run from its weights with --load",
                       path, saved_opt, optim_name(m->g), saved_opt);
        else
            diag_error(d, (SrcLoc){0},
                       "%s: its metadata netc.optimizer = '%s' names no optimizer netc has; the "
                       "file is damaged (start a new run from its weights with --load)",
                       path, io_clip(vb, saved_opt));
        ok = false;
    }
    ok = ok && load_into(path, f, m, o, d);
    if (ok)
        tell_other_settings(path, st_meta(f, "netc.train"), &m->g->train, d);
    if (ok) {
        pos->epoch = (int)v[P_EPOCH];
        pos->batch = (int)v[P_BATCH];
        pos->step = v[P_STEP];
        pos->epoch_rng = rng[0];
        pos->drop_rng = m->rng = rng[1];
        o->step = v[P_OSTEP];
        pos->best = best;
        pos->best_epoch = (int)best_epoch;
        pos->loss_sum = sums.loss_sum;
        pos->correct = sums.correct;
        pos->seen = sums.seen;
        pos->log_loss = sums.log_loss;
        pos->log_steps = sums.log_steps;
        pos->images = run.images;
        pos->cycle = run.cycle;
        pos->layers = run.layers;
        pos->data = run.data;
        /* a run resumed under ReduceLROnPlateau goes on from its state (another schedule's
         * run, or an older checkpoint's: started afresh) */
        const TrainConfig *t = &m->g->train;
        pos->plateau_on = plateau.plateau_on && t->sched == SCHED_PLATEAU;
        pos->plateau_lr = plateau.plateau_lr;
        pos->plateau_best = isinf(plateau.plateau_best) && t->plateau_mode
                                ? -INFINITY
                                : plateau.plateau_best; /* "none" for mode max */
        pos->plateau_bad = plateau.plateau_bad;
        pos->plateau_cooldown = plateau.plateau_cooldown;
    }
    st_free(f);
    return ok;
}
