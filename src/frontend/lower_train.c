/* lower_train.c: the train section: each statement is one setting of the table below, its
 * kind (`optimizer Adam`) chosen first, its values checked by lower_args like a layer's
 * attributes, then stored in the graph's TrainConfig. */
#include <string.h>

#include "lower.h"

typedef struct SettingKind {
    const char *name;
    const AttrSpec *attrs;
    int nattrs;
    const char *const *positional;
} SettingKind;

typedef struct Setting {
    const char *name;
    const char *help;
    const SettingKind *kinds; /* NULL: the setting takes `value` directly */
    int nkinds;
    const AttrSpec *attrs; /* when kinds == NULL */
    int nattrs;
    const char *const *positional;
} Setting;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const pos_value[] = {"value", NULL};
static const char *const pos_path[] = {"path", NULL};
static const char *const pos_none[] = {NULL};

static const AttrSpec data_idx[] = {
    {"path", NULL, ATTR_STRING, NULL, true, 0, 0, 0, 0, NULL, "directory of the IDX files"},
};
static const AttrSpec sgd_attrs[] = {
    {"lr", NULL, ATTR_FLOAT, "0.001", false, 0, 1e6, 1, 1, NULL, "learning rate"},
    {"momentum", NULL, ATTR_FLOAT, "0", false, 0, 1e6, 1, 1, NULL, "momentum factor"},
    {"dampening", NULL, ATTR_FLOAT, "0", false, 0, 1, 1, 1, NULL, "dampening for momentum"},
    {"weight_decay", NULL, ATTR_FLOAT, "0", false, 0, 1e6, 1, 1, NULL, "L2 penalty"},
    {"nesterov", NULL, ATTR_BOOL, "false", false, 0, 0, 0, 0, NULL, "Nesterov momentum"},
};
static const AttrSpec adam_attrs[] = {
    {"lr", NULL, ATTR_FLOAT, "0.001", false, 0, 1e6, 1, 1, NULL, "learning rate"},
    {"betas", NULL, ATTR_FLOATS, "[0.9, 0.999]", false, 0, 1, 2, 2, NULL, "moment decay rates"},
    {"eps", NULL, ATTR_FLOAT, "1e-08", false, 0, 1, 1, 1, NULL, "denominator term"},
    {"weight_decay", NULL, ATTR_FLOAT, "0", false, 0, 1e6, 1, 1, NULL, "L2 penalty"},
};
static const AttrSpec adamw_attrs[] = {
    {"lr", NULL, ATTR_FLOAT, "0.001", false, 0, 1e6, 1, 1, NULL, "learning rate"},
    {"betas", NULL, ATTR_FLOATS, "[0.9, 0.999]", false, 0, 1, 2, 2, NULL, "moment decay rates"},
    {"eps", NULL, ATTR_FLOAT, "1e-08", false, 0, 1, 1, 1, NULL, "denominator term"},
    {"weight_decay", NULL, ATTR_FLOAT, "0.01", false, 0, 1e6, 1, 1, NULL, "decoupled decay"},
};
static const AttrSpec step_attrs[] = {
    {"step_size", NULL, ATTR_INT, NULL, true, 1, 1e9, 1, 1, NULL, "epochs between decays"},
    {"gamma", NULL, ATTR_FLOAT, "0.1", false, 0, 1e6, 1, 1, NULL, "decay factor"},
};
static const AttrSpec multistep_attrs[] = {
    {"milestones", NULL, ATTR_INTS, NULL, true, 0, 1e9, 1, ATTR_MAX_LIST, NULL,
     "epochs at which to decay"},
    {"gamma", NULL, ATTR_FLOAT, "0.1", false, 0, 1e6, 1, 1, NULL, "decay factor"},
};
static const AttrSpec exp_attrs[] = {
    {"gamma", NULL, ATTR_FLOAT, NULL, true, 0, 1e6, 1, 1, NULL, "decay factor per epoch"},
};
static const AttrSpec cos_attrs[] = {
    {"T_max", NULL, ATTR_INT, NULL, true, 1, 1e9, 1, 1, NULL, "epochs of the half cosine"},
    {"eta_min", NULL, ATTR_FLOAT, "0", false, 0, 1e6, 1, 1, NULL, "smallest lr"},
};
static const AttrSpec onecycle_attrs[] = {
    {"max_lr", NULL, ATTR_FLOAT, NULL, true, 0, 1e6, 1, 1, NULL, "peak lr"},
    {"total_steps", NULL, ATTR_INT, "0", false, 0, 1e9, 1, 1, NULL,
     "batches in the cycle (0: epochs x batches per epoch)"},
    {"pct_start", NULL, ATTR_FLOAT, "0.3", false, 0, 1, 1, 1, NULL, "fraction spent rising"},
    {"div_factor", NULL, ATTR_FLOAT, "25", false, 1e-9, 1e9, 1, 1, NULL,
     "initial lr = max_lr / div_factor"},
    {"final_div_factor", NULL, ATTR_FLOAT, "10000", false, 1e-9, 1e12, 1, 1, NULL,
     "final lr = initial lr / final_div_factor"},
};
static const AttrSpec linear_attrs[] = {
    {"start_factor", NULL, ATTR_FLOAT, "0.333333343", false, 1e-9, 1, 1, 1, NULL,
     "first multiplier of lr"},
    {"end_factor", NULL, ATTR_FLOAT, "1", false, 0, 1, 1, 1, NULL, "last multiplier of lr"},
    {"total_iters", NULL, ATTR_INT, "5", false, 1, 1e9, 1, 1, NULL, "epochs of the ramp"},
};

static const SettingKind data_kinds[] = {{"idx", data_idx, N(data_idx), pos_path}};
static const SettingKind loss_kinds[] = {{"cross_entropy", NULL, 0, pos_none},
                                         {"mse", NULL, 0, pos_none}};
static const SettingKind opt_kinds[] = {{"SGD", sgd_attrs, N(sgd_attrs), pos_none},
                                        {"Adam", adam_attrs, N(adam_attrs), pos_none},
                                        {"AdamW", adamw_attrs, N(adamw_attrs), pos_none}};
static const char *const pos_step[] = {"step_size", NULL};
static const char *const pos_gamma[] = {"gamma", NULL};
static const char *const pos_tmax[] = {"T_max", NULL};
static const char *const pos_maxlr[] = {"max_lr", NULL};
static const char *const pos_milestones[] = {"milestones", NULL};
/* In SchedKind order, after SCHED_NONE. */
static const SettingKind sched_kinds[] = {
    {"StepLR", step_attrs, N(step_attrs), pos_step},
    {"MultiStepLR", multistep_attrs, N(multistep_attrs), pos_milestones},
    {"ExponentialLR", exp_attrs, N(exp_attrs), pos_gamma},
    {"CosineAnnealingLR", cos_attrs, N(cos_attrs), pos_tmax},
    {"OneCycleLR", onecycle_attrs, N(onecycle_attrs), pos_maxlr},
    {"LinearLR", linear_attrs, N(linear_attrs), pos_none},
};

static const AttrSpec batch_attrs[] = {
    {"value", NULL, ATTR_INT, NULL, true, 1, 1 << 20, 1, 1, NULL, "samples per step"}};
static const AttrSpec epochs_attrs[] = {
    {"value", NULL, ATTR_INT, NULL, true, 0, 1 << 20, 1, 1, NULL, "passes over the data"}};
static const AttrSpec seed_attrs[] = {
    {"value", NULL, ATTR_INT, NULL, true, 0, 9.2e18, 1, 1, NULL, "fixes init, order, dropout"}};
static const AttrSpec shuffle_attrs[] = {
    {"value", NULL, ATTR_BOOL, NULL, true, 0, 0, 0, 0, NULL, "reshuffle every epoch"}};
static const AttrSpec warmup_attrs[] = {
    {"value", NULL, ATTR_INT, NULL, true, 0, 1e9, 1, 1, NULL, "batches of linear warm-up"}};
static const AttrSpec norm_attrs[] = {
    {"mean", NULL, ATTR_FLOAT, NULL, true, -1e6, 1e6, 1, 1, NULL, "subtracted after /255"},
    {"std", NULL, ATTR_FLOAT, NULL, true, 1e-9, 1e6, 1, 1, NULL, "divides after the mean"},
};
static const char *const pos_norm[] = {"mean", "std", NULL};

static const Setting settings[] = {
    {"data", "where the IDX files are", data_kinds, N(data_kinds), NULL, 0, NULL},
    {"loss", "cross_entropy or mse", loss_kinds, N(loss_kinds), NULL, 0, NULL},
    {"optimizer", "SGD, Adam or AdamW", opt_kinds, N(opt_kinds), NULL, 0, NULL},
    {"schedule", "lr schedule", sched_kinds, N(sched_kinds), NULL, 0, NULL},
    {"batch", "batch size", NULL, 0, batch_attrs, 1, pos_value},
    {"epochs", "epochs", NULL, 0, epochs_attrs, 1, pos_value},
    {"seed", "seed", NULL, 0, seed_attrs, 1, pos_value},
    {"shuffle", "shuffle", NULL, 0, shuffle_attrs, 1, pos_value},
    {"warmup", "linear warm-up", NULL, 0, warmup_attrs, 1, pos_value},
    {"normalize", "mean/std", NULL, 0, norm_attrs, N(norm_attrs), pos_norm},
};

/* True for an unknown key too, so that a misspelt `optimiser: {Adam: {...}}` reaches
 * lowering whole and is reported once, as an unknown setting. */
bool ast_setting_has_kind(const char *key)
{
    for (int i = 0; i < N(settings); i++)
        if (strcmp(settings[i].name, key) == 0)
            return settings[i].kinds != NULL;
    return true;
}

static const Setting *find_setting(const char *name)
{
    for (int i = 0; i < N(settings); i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

static double fv(const AttrVal *v) { return v->f[0]; }

static void apply_setting(TrainConfig *t, const Setting *st, int kind, const AttrVal *v, SrcLoc loc)
{
    const char *name = st->name;
    if (strcmp(name, "data") == 0) {
        t->data_dir = v[0].s;
        t->data_loc = loc;
    } else if (strcmp(name, "loss") == 0) {
        t->loss = kind == 1 ? LOSS_MSE : LOSS_CROSS_ENTROPY;
    } else if (strcmp(name, "optimizer") == 0) {
        t->opt = (OptKind)kind;
        t->lr = fv(&v[0]);
        if (kind == OPT_SGD) {
            t->momentum = fv(&v[1]);
            t->dampening = fv(&v[2]);
            t->weight_decay = fv(&v[3]);
            t->nesterov = v[4].b;
        } else {
            t->beta1 = v[1].f[0];
            t->beta2 = v[1].f[1];
            t->eps = fv(&v[2]);
            t->weight_decay = fv(&v[3]);
        }
    } else if (strcmp(name, "schedule") == 0) {
        t->sched = (SchedKind)(kind + 1);
        switch (t->sched) {
        case SCHED_STEP:
            t->step_size = (int)v[0].i[0];
            t->gamma = fv(&v[1]);
            break;
        case SCHED_MULTISTEP:
            t->nmilestones = v[0].n;
            memcpy(t->milestones, v[0].i, sizeof t->milestones);
            t->gamma = fv(&v[1]);
            break;
        case SCHED_EXPONENTIAL: t->gamma = fv(&v[0]); break;
        case SCHED_COSINE:
            t->t_max = (int)v[0].i[0];
            t->eta_min = fv(&v[1]);
            break;
        case SCHED_ONECYCLE:
            t->max_lr = fv(&v[0]);
            t->total_steps = (int)v[1].i[0];
            t->pct_start = fv(&v[2]);
            t->div_factor = fv(&v[3]);
            t->final_div_factor = fv(&v[4]);
            break;
        case SCHED_LINEAR:
            t->start_factor = fv(&v[0]);
            t->end_factor = fv(&v[1]);
            t->total_iters = (int)v[2].i[0];
            break;
        case SCHED_NONE: break;
        }
    } else if (strcmp(name, "batch") == 0) {
        t->batch = (int)v[0].i[0];
    } else if (strcmp(name, "epochs") == 0) {
        t->epochs = (int)v[0].i[0];
    } else if (strcmp(name, "seed") == 0) {
        t->seed = (uint64_t)v[0].i[0];
    } else if (strcmp(name, "shuffle") == 0) {
        t->shuffle = v[0].b;
    } else if (strcmp(name, "warmup") == 0) {
        t->warmup = (int)v[0].i[0];
    } else if (strcmp(name, "normalize") == 0) {
        t->mean = fv(&v[0]);
        t->std = fv(&v[1]);
    }
}

void train_defaults(TrainConfig *t)
{
    memset(t, 0, sizeof *t);
    t->loss = LOSS_CROSS_ENTROPY;
    t->opt = OPT_ADAM;
    t->lr = 1e-3;
    t->beta1 = 0.9;
    t->beta2 = 0.999;
    t->eps = 1e-8;
    t->batch = 64;
    t->epochs = 1;
    t->shuffle = true;
}

void lower_train(Lower *L, const AstNet *net)
{
    TrainConfig *t = &L->g->train;
    train_defaults(t);
    if (!net->has_train)
        return;
    t->present = true;
    t->loc = net->train_loc;
    SrcLoc seen[N(settings)] = {{0}};
    for (int i = 0; i < net->train.len && !diag_full(L->diag); i++) {
        const AstStmt *s = net->train.items[i];
        const Setting *st = find_setting(s->head);
        if (!st || s->has_block || s->label) {
            if (!st) {
                diag_error(L->diag, s->head_loc, "unknown train setting '%s'", s->head);
                Suggest sug;
                suggest_init(&sug, s->head, false);
                for (int k = 0; k < N(settings); k++)
                    suggest_add(&sug, settings[k].name);
                diag_suggest(L->diag, s->head_loc, &sug);
            } else {
                diag_error(L->diag, s->head_loc, "train setting '%s' takes no %s", s->head,
                           s->has_block ? "block" : "label");
            }
            continue;
        }
        int si = (int)(st - settings);
        L->setting = st->name;
        if (seen[si].file) {
            diag_error(L->diag, s->head_loc, "train setting '%s' is given twice", s->head);
            diag_note(L->diag, seen[si], "first given here");
            continue;
        }
        seen[si] = s->head_loc;
        const AttrSpec *specs = st->attrs;
        int nspecs = st->nattrs, kind = 0, first = 0;
        const char *const *positional = st->positional;
        char what[96];
        snprintf(what, sizeof what, "'%s'", st->name);
        if (st->kinds) {
            const AstArg *a0 = s->args.len ? s->args.items[0] : NULL;
            bool implicit = strcmp(st->name, "data") == 0 && a0 && !a0->key &&
                            a0->val->kind == VAL_STRING; /* data "dir": idx is the default */
            if (!implicit) {
                if (!a0 || a0->key || a0->val->kind != VAL_IDENT) {
                    StrBuf sb;
                    sb_init(&sb);
                    for (int k = 0; k < st->nkinds; k++)
                        sb_printf(&sb, "%s%s", k ? ", " : "", st->kinds[k].name);
                    diag_error(L->diag, a0 ? a0->loc : s->head_loc,
                               "'%s' needs a kind first: one of %s", st->name, sb.data);
                    sb_free(&sb);
                    continue;
                }
                kind = -1;
                for (int k = 0; k < st->nkinds; k++)
                    if (str_ieq(st->kinds[k].name, a0->val->s))
                        kind = k;
                if (kind < 0) {
                    StrBuf sb;
                    sb_init(&sb);
                    Suggest sug; /* `CosineLR`: a long enough common start will do */
                    suggest_init(&sug, a0->val->s, true);
                    for (int k = 0; k < st->nkinds; k++) {
                        sb_printf(&sb, "%s%s", k ? ", " : "", st->kinds[k].name);
                        suggest_add(&sug, st->kinds[k].name);
                    }
                    diag_error(L->diag, a0->loc, "unknown %s '%s': expected one of %s", st->name,
                               a0->val->s, sb.data);
                    sb_free(&sb);
                    diag_suggest(L->diag, a0->loc, &sug);
                    continue;
                }
                first = 1;
            }
            const SettingKind *sk = &st->kinds[kind];
            specs = sk->attrs;
            nspecs = sk->nattrs;
            positional = sk->positional;
            snprintf(what, sizeof what, "%s '%s'", st->name, sk->name);
        }
        AttrVal *vals = arena_alloc(L->arena, sizeof(AttrVal) * (size_t)(nspecs + 1));
        for (int k = 0; k < nspecs; k++)
            attr_parse_default(&specs[k], &vals[k]);
        if (lower_args(L, what, specs, nspecs, positional, false, &s->args, first, vals,
                       s->head_loc))
            apply_setting(t, st, kind, vals, s->loc);
        if (strcmp(st->name, "optimizer") == 0 && kind == OPT_SGD && t->nesterov &&
            (t->momentum <= 0 || t->dampening != 0)) {
            SrcLoc at = vals[4].set ? vals[4].loc : s->loc;
            if (t->momentum <= 0) {
                diag_error(L->diag, at, "'nesterov' needs a momentum > 0, got momentum %g",
                           t->momentum);
                diag_hint(L->diag, at, "add a momentum, e.g. 'momentum=0.9'");
            } else {
                diag_error(L->diag, at, "'nesterov' needs dampening 0, got dampening %g",
                           t->dampening);
                diag_hint(L->diag, at, "drop 'dampening=%g'", t->dampening);
            }
        }
    }
}
