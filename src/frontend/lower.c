/* lower.c: AST -> IR. Gives statements their meaning: layer kinds and attributes through
 * the layer registry, train settings through the table below, PyTorch's state_dict names
 * through the tree walk.
 *
 * Design choice: attributes of layers and of train settings are checked by one function
 * (lower_args) against AttrSpec tables, so short forms (`k3`), positional arguments,
 * `in->out`, types, ranges, duplicates and did-you-mean hints behave the same everywhere. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "frontend.h"

typedef struct Lower {
    Arena *arena;
    Diag *diag;
    Graph *g;
    const char *setting; /* the train setting being lowered: names its attribute 'value' */
} Lower;

/* ---- train settings ---- */

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

bool ast_is_layer_kind(const char *word) { return ir_layer_find(word) != NULL; }

/* ---- attribute values ---- */

static const char *val_text(const AstValue *v)
{
    switch (v->kind) {
    case VAL_LIST: return v->s ? v->s : "a list";
    case VAL_STRING: return v->s;
    default: return v->s ? v->s : "?";
    }
}

static const char *type_desc(const AttrSpec *s)
{
    switch (s->type) {
    case ATTR_INT: return "an integer";
    case ATTR_INTS:
        return s->max_len == 2 ? "an integer or a pair like [3, 5]" : "a list of integers";
    case ATTR_FLOAT: return "a number";
    case ATTR_FLOATS: return "a list of numbers";
    case ATTR_BOOL: return "true or false";
    case ATTR_ENUM: return "a name";
    case ATTR_STRING: return "a string";
    }
    return "?";
}

/* The attribute's name in messages: `batch 0` is about 'batch', not its 'value'. */
static const char *aname(const Lower *L, const AttrSpec *s)
{
    return L->setting && strcmp(s->name, "value") == 0 ? L->setting : s->name;
}

static bool check_range(Lower *L, const AttrSpec *s, const AstValue *v, double x)
{
    if (x < s->min || x > s->max || (v->kind == VAL_INT && v->overflow)) {
        char lo[32], hi[32];
        if (s->type == ATTR_INT || s->type == ATTR_INTS) {
            fmt_thousands(lo, (int64_t)s->min);
            fmt_thousands(hi, (int64_t)s->max);
        } else {
            snprintf(lo, sizeof lo, "%g", s->min);
            snprintf(hi, sizeof hi, "%g", s->max);
        }
        diag_error(L->diag, v->loc, "'%s' must be between %s and %s, got %s", aname(L, s), lo, hi,
                   val_text(v));
        return false;
    }
    return true;
}

static bool type_error(Lower *L, const AttrSpec *s, const AstValue *v)
{
    if (v->kind == VAL_LIST)
        diag_error(L->diag, v->loc, "'%s' must be %s, got a list", aname(L, s), type_desc(s));
    else if (v->kind == VAL_STRING)
        diag_error(L->diag, v->loc, "'%s' must be %s, got the string \"%s\"", aname(L, s),
                   type_desc(s), v->s);
    else
        diag_error(L->diag, v->loc, "'%s' must be %s, got '%s'", aname(L, s), type_desc(s),
                   val_text(v));
    AstValue num = {0};
    if (v->kind == VAL_STRING && s->type != ATTR_STRING && s->type != ATTR_ENUM &&
        ast_parse_number(&num, v->s))
        diag_hint(L->diag, v->loc, "drop the quotes: %s", v->s);
    return false;
}

static bool set_number(Lower *L, const AttrSpec *s, AttrVal *out, int i, const AstValue *v)
{
    bool want_int = s->type == ATTR_INT || s->type == ATTR_INTS;
    if (v->kind != VAL_INT && !(v->kind == VAL_FLOAT && !want_int))
        return type_error(L, s, v);
    double x = v->kind == VAL_INT ? (double)v->i : v->f;
    if (!check_range(L, s, v, x))
        return false;
    out->i[i] = v->kind == VAL_INT ? v->i : (int64_t)v->f;
    out->f[i] = x;
    return true;
}

static bool parse_bool(const char *s, bool *b)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (str_ieq(s, yes[i]))
            return *b = true, true;
        if (str_ieq(s, no[i]))
            return *b = false, true;
    }
    return false;
}

/* Checks v against s and stores it in out. */
static bool set_attr(Lower *L, const AttrSpec *s, AttrVal *out, const AstValue *v, SrcLoc loc)
{
    if (v->kind == VAL_IDENT && isdigit((unsigned char)v->s[0]))
        return false; /* `3k`: the lexer reported it */
    AttrVal nv = *out;
    nv.set = true;
    nv.loc = loc;
    switch (s->type) {
    case ATTR_INT:
    case ATTR_FLOAT:
        if (!set_number(L, s, &nv, 0, v))
            return false;
        nv.n = 1;
        break;
    case ATTR_INTS:
    case ATTR_FLOATS: {
        int n = v->kind == VAL_LIST ? v->items.len : 1; /* a scalar counts as one value */
        if (n < s->min_len || n > s->max_len) {
            if (s->min_len == s->max_len)
                diag_error(L->diag, v->loc, "'%s' takes %d values, got %d", aname(L, s), s->min_len,
                           n);
            else
                diag_error(L->diag, v->loc, "'%s' takes %d to %d values, got %d", aname(L, s),
                           s->min_len, s->max_len, n);
            return false;
        }
        for (int i = 0; i < n; i++)
            if (!set_number(L, s, &nv, i, v->kind == VAL_LIST ? v->items.items[i] : v))
                return false;
        nv.n = n;
        attr_fill_pair(s, &nv);
        break;
    }
    case ATTR_BOOL:
        if (v->kind == VAL_INT && (v->i == 0 || v->i == 1))
            nv.b = v->i == 1;
        else if (v->kind != VAL_IDENT || !parse_bool(v->s, &nv.b))
            return type_error(L, s, v);
        break;
    case ATTR_ENUM: {
        if (v->kind != VAL_IDENT && v->kind != VAL_STRING)
            return type_error(L, s, v);
        for (int i = 0; s->choices[i]; i++) {
            if (str_ieq(s->choices[i], v->s)) {
                nv.e = i;
                nv.s = s->choices[i];
                goto done;
            }
        }
        StrBuf sb;
        sb_init(&sb);
        Suggest sug;
        suggest_init(&sug, v->s, false);
        for (int i = 0; s->choices[i]; i++) {
            sb_printf(&sb, "%s%s", i ? ", " : "", s->choices[i]);
            suggest_add(&sug, s->choices[i]);
        }
        diag_error(L->diag, v->loc, "unknown %s '%s': expected one of %s", s->name, v->s, sb.data);
        sb_free(&sb);
        diag_suggest(L->diag, v->loc, &sug);
        return false;
    }
    case ATTR_STRING:
        if (v->kind != VAL_STRING && v->kind != VAL_IDENT)
            return type_error(L, s, v);
        /* control characters other than tab and line breaks have no place in a name or path,
         * and a .net file could not hold them (found by fuzzing a YAML "\b" escape) */
        for (const unsigned char *c = (const unsigned char *)v->s; *c; c++)
            if ((*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') || *c == 0x7f) {
                diag_error(L->diag, v->loc, "'%s' contains the control character 0x%02x",
                           aname(L, s), *c);
                return false;
            }
        nv.s = v->s;
        break;
    }
done:
    *out = nv;
    return true;
}

/* The index of the attribute called name, or -1. */
static int spec_index(const AttrSpec *specs, int nspecs, const char *name)
{
    for (int i = 0; i < nspecs; i++)
        if (strcmp(specs[i].name, name) == 0)
            return i;
    return -1;
}

/* The index of the attribute `word` is a short form of, its value in *out (`k3`: kernel=3,
 * `k3x5`: kernel=[3, 5]), or -1 if it is none. */
static int short_form(Lower *L, const AttrSpec *specs, int nspecs, const AstValue *word,
                      AstValue **out)
{
    size_t pl = 0;
    while (isalpha((unsigned char)word->s[pl]))
        pl++;
    for (int i = 0; pl > 0 && i < nspecs; i++) {
        if (specs[i].shortp && strlen(specs[i].shortp) == pl &&
            strncmp(specs[i].shortp, word->s, pl) == 0) {
            SrcLoc loc = word->loc; /* the digits */
            loc.col += (int)pl;
            loc.len -= (int)pl;
            AstValue *v = ast_sizes(L->arena, word->s + pl, loc);
            if (!v)
                return -1;
            *out = v->items.len == 1 ? v->items.items[0] : v;
            return i;
        }
    }
    return -1;
}

static const char *suggest_attr(const AttrSpec *specs, int n, const char *key)
{
    Suggest s;
    suggest_init(&s, key, false);
    for (int i = 0; i < n; i++)
        suggest_add(&s, specs[i].name);
    return suggest_best(&s);
}

/* "'MaxPool2d' takes 2 positional arguments (kernel, stride); '2' is one too many" */
static void positional_error(Lower *L, const char *what, const AttrSpec *specs, int nspecs,
                             const char *const *positional, const AstValue *v, SrcLoc loc)
{
    int npos = 0;
    while (positional && positional[npos])
        npos++;
    if (nspecs == 0) {
        diag_error(L->diag, loc, "%s takes no arguments, got '%s'", what, val_text(v));
    } else if (npos == 0) {
        diag_error(L->diag, loc, "%s takes no positional arguments, got '%s'", what, val_text(v));
        if (v->kind == VAL_INT || v->kind == VAL_FLOAT)
            diag_hint(L->diag, loc, "name it, as in '%s=%s'", specs[0].name, val_text(v));
    } else if (npos == 1 && strcmp(positional[0], "value") == 0) {
        diag_error(L->diag, loc, "%s takes one value; '%s' is one too many", what, val_text(v));
    } else {
        StrBuf sb;
        sb_init(&sb);
        for (int i = 0; i < npos; i++)
            sb_printf(&sb, "%s%s", i ? ", " : "", positional[i]);
        diag_error(L->diag, loc, "%s takes %d positional argument%s (%s); '%s' is one too many",
                   what, npos, npos == 1 ? "" : "s", sb.data, val_text(v));
        sb_free(&sb);
    }
}

/* Applies args[first..] to vals (nspecs of them, spec order). `what` names the owner in
 * messages ("'Conv2d'", "optimizer 'Adam'"). Reports every problem; returns false if any. */
static bool lower_args(Lower *L, const char *what, const AttrSpec *specs, int nspecs,
                       const char *const *positional, bool has_in_out, const PtrVec *args,
                       int first, AttrVal *vals, SrcLoc head_loc)
{
    bool ok = true;
    int pos = 0;
    for (int ai = first; ai < args->len; ai++) {
        const AstArg *a = args->items[ai];
        int idx = -1;
        const AstValue *v = a->val;
        AstValue *sv;
        if (a->key) {
            if (a->from_arrow && !has_in_out) {
                diag_error(L->diag, a->loc, "%s takes no 'in->out' sizes", what);
                ok = false;
                if (strcmp(a->key, "in") == 0)
                    ai++; /* one message for the pair */
                continue;
            }
            idx = spec_index(specs, nspecs, a->key);
            if (idx < 0) {
                diag_error(L->diag, a->key_loc, "%s has no attribute '%s'", what, a->key);
                const char *s = suggest_attr(specs, nspecs, a->key);
                if (s)
                    diag_hint(L->diag, a->key_loc, "did you mean '%s'?", s);
                ok = false;
                continue;
            }
        } else if (v->kind == VAL_IDENT && (idx = short_form(L, specs, nspecs, v, &sv)) >= 0) {
            v = sv;
        } else if (v->kind == VAL_IDENT && (idx = spec_index(specs, nspecs, v->s)) >= 0) {
            /* `Conv2d 8 k3 stride`: a keyed attribute written without its value */
            if (L->setting && strcmp(v->s, "value") == 0)
                diag_error(L->diag, a->loc, "%s needs a value", what);
            else
                diag_error(L->diag, a->loc, "%s: '%s' needs a value", what, v->s);
            vals[idx].set = true; /* reported; not "missing" too */
            vals[idx].loc = a->loc;
            ok = false;
            continue;
        } else {
            idx = -1;
            for (int i = 0; positional && positional[i] && idx < 0; i++) {
                int k = -1;
                for (int j = 0; j < nspecs; j++)
                    if (strcmp(specs[j].name, positional[i]) == 0)
                        k = j;
                if (k >= 0 && !vals[k].set && i >= pos) {
                    idx = k;
                    pos = i + 1;
                }
            }
            if (idx < 0) {
                positional_error(L, what, specs, nspecs, positional, v, a->loc);
                if (v->kind == VAL_IDENT && (ir_layer_find(v->s) || ir_layer_suggest(v->s)))
                    diag_hint(L->diag, a->loc,
                              "put each layer on its own line (or separate with ';')");
                ok = false;
                continue;
            }
        }
        if (vals[idx].set) {
            diag_error(L->diag, a->loc, "%s: '%s' is given twice", what, aname(L, &specs[idx]));
            diag_note(L->diag, vals[idx].loc, "first given here");
            ok = false;
            continue;
        }
        if (!set_attr(L, &specs[idx], &vals[idx], v, a->loc)) {
            vals[idx].set = true; /* reported; not "missing" too */
            vals[idx].loc = a->loc;
            ok = false;
        }
    }
    for (int i = 0; i < nspecs; i++)
        if (specs[i].required && !vals[i].set) {
            if (L->setting && strcmp(specs[i].name, "value") == 0)
                diag_error(L->diag, head_loc, "%s needs a value (%s)", what, specs[i].help);
            else
                diag_error(L->diag, head_loc, "%s needs '%s' (%s)", what, specs[i].name,
                           specs[i].help);
            ok = false;
        }
    return ok;
}

/* ---- network body ---- */

static bool valid_name(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static void lower_body(Lower *L, Item *parent, const PtrVec *stmts, int depth);

static const char *child_path(Lower *L, const Item *parent, const char *local)
{
    return *parent->path ? arena_printf(L->arena, "%s.%s", parent->path, local)
                         : arena_strdup(L->arena, local);
}

/* The .net syntax's keywords: a name from YAML must not be one, or --to net could not
 * write it. */
static bool is_keyword(const char *s) { return !strcmp(s, "network") || !strcmp(s, "train"); }

/* Checks an explicit name against its siblings'. */
static bool check_name(Lower *L, const Item *parent, const char *name, SrcLoc loc)
{
    if (is_keyword(name)) {
        diag_error(L->diag, loc, "'%s' is a keyword of the .net syntax; use another name", name);
        return false;
    }
    if (!valid_name(name)) {
        diag_error(L->diag, loc,
                   "'%s' is not a valid name: use letters, digits and '_', "
                   "starting with a letter",
                   name);
        return false;
    }
    for (int i = 0; i < parent->children.len; i++) {
        const Item *sib = parent->children.items[i];
        if (sib->name && strcmp(sib->name, name) == 0) {
            diag_error(L->diag, loc, "duplicate name '%s'", name);
            diag_note(L->diag, sib->loc, "'%s' is first defined here", name);
            return false;
        }
    }
    return true;
}

static void lower_layer(Lower *L, Item *parent, const AstStmt *s)
{
    const LayerOps *ops = ir_layer_find(s->head);
    if (!ops) {
        diag_error(L->diag, s->head_loc, "unknown layer '%s'", s->head);
        const char *sug = ir_layer_suggest(s->head);
        if (sug)
            diag_hint(L->diag, s->head_loc, "did you mean '%s'?", sug);
        return;
    }
    Item *it = arena_alloc(L->arena, sizeof *it);
    it->loc = s->loc;
    if (s->label && ir_layer_find(s->label)) {
        /* YAML could not tell `Flatten: {Linear: ...}` from a Flatten with arguments */
        diag_error(L->diag, s->label_loc, "'%s' is a layer kind; name the layer something else",
                   s->label);
    } else if (s->label) {
        if (check_name(L, parent, s->label, s->label_loc))
            it->name = s->label;
    }
    char idx[16];
    snprintf(idx, sizeof idx, "%d", parent->children.len);
    it->path = child_path(L, parent, it->name ? it->name : idx);
    Node *n = ir_node_add(L->g, ops->kind, s->loc);
    n->head_loc = s->head_loc;
    n->path = it->path;
    it->node = n;
    ptrvec_push(L->arena, &parent->children, it);
    char what[64];
    snprintf(what, sizeof what, "'%s'", ops->name);
    lower_args(L, what, ops->attrs, ops->nattrs, ops->positional, ops->has_in_out, &s->args, 0,
               n->attrs, s->head_loc);
}

static void lower_group(Lower *L, Item *parent, const AstStmt *s, int depth)
{
    if (ir_layer_find(s->head)) {
        diag_error(L->diag, s->head_loc, "'%s' is a layer kind; a group needs a name of its own",
                   s->head);
        diag_hint(L->diag, s->head_loc, "write 'block1 { ... }'");
        return;
    }
    if (s->label)
        diag_error(L->diag, s->label_loc, "a group is named by its own word; drop '%s:'", s->label);
    if (s->args.len > 0) {
        const AstArg *a = s->args.items[0];
        diag_error(L->diag, a->loc, "group '%s' takes no arguments", s->head);
    }
    Item *it = arena_alloc(L->arena, sizeof *it);
    it->is_group = true;
    it->loc = s->head_loc;
    if (check_name(L, parent, s->head, s->head_loc))
        it->name = s->head;
    char idx[16];
    snprintf(idx, sizeof idx, "%d", parent->children.len);
    it->path = child_path(L, parent, it->name ? it->name : idx);
    ptrvec_push(L->arena, &parent->children, it);
    if (s->body.len == 0 && L->diag->errors == 0) /* else the parser may have cut it short */
        diag_warning(L->diag, s->head_loc, "group '%s' is empty", s->head);
    lower_body(L, it, &s->body, depth + 1);
}

static void lower_body(Lower *L, Item *parent, const PtrVec *stmts, int depth)
{
    if (depth > AST_MAX_DEPTH)
        return; /* the parsers stop before this; a guard for hand-made ASTs */
    for (int i = 0; i < stmts->len && !diag_full(L->diag); i++) {
        const AstStmt *s = stmts->items[i];
        if (s->has_block)
            lower_group(L, parent, s, depth);
        else
            lower_layer(L, parent, s);
    }
}

/* ---- header and train ---- */

static bool is_yaml(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

static void lower_header(Lower *L, const AstNet *net)
{
    Graph *g = L->g;
    bool have_input = false;
    for (int i = 0; i < net->header.len; i++) {
        const AstArg *a = net->header.items[i];
        if (strcmp(a->key, "input") != 0) {
            diag_error(L->diag, a->key_loc, "unknown network header '%s': expected 'input'",
                       a->key);
            have_input = true; /* no "has no input" on top */
            continue;
        }
        have_input = true;
        g->input_loc = a->loc;
        const AstValue *v = a->val;
        if (v->kind == VAL_INT) { /* `input 784` */
            g->input = shape_make(1, &v->i);
            if (v->i < 1 || v->i > (1 << 20) || v->overflow) {
                diag_error(L->diag, v->loc,
                           "input sizes must be integers from 1 to 1048576, "
                           "got %s",
                           v->s);
                g->input = (Shape){0};
            }
            continue;
        }
        if (v->kind != VAL_LIST || (v->items.len != 1 && v->items.len != 3)) {
            diag_error(L->diag, v->loc, "input must be CxHxW (like 1x28x28) or a size N, got %s",
                       v->kind == VAL_LIST && !v->s ? "a list" : val_text(v));
            if (v->kind == VAL_LIST && v->items.len == 2 &&
                ((AstValue *)v->items.items[0])->kind == VAL_INT &&
                ((AstValue *)v->items.items[1])->kind == VAL_INT)
                diag_hint(L->diag, v->loc, "for one channel, write '1x%s'",
                          v->s ? v->s
                               : arena_printf(L->arena, "%sx%s", ((AstValue *)v->items.items[0])->s,
                                              ((AstValue *)v->items.items[1])->s));
            continue;
        }
        int64_t d[3];
        bool ok = true;
        for (int k = 0; k < v->items.len; k++) {
            const AstValue *e = v->items.items[k];
            if (e->kind != VAL_INT || e->overflow || e->i < 1 || e->i > (1 << 20)) {
                diag_error(L->diag, e->loc,
                           "input sizes must be integers from 1 to 1048576, "
                           "got %s",
                           e->kind == VAL_LIST ? "a list" : val_text(e));
                ok = false;
                break;
            }
            d[k] = e->i;
        }
        if (ok)
            g->input = shape_make(v->items.len, d);
        if (ok && shape_numel(g->input) > SHAPE_MAX_NUMEL) {
            char buf[64], num[32], lim[32];
            diag_error(L->diag, v->loc, "input %s is too large: %s values per sample, at most %s",
                       shape_str(g->input, buf), fmt_thousands(num, shape_numel(g->input)),
                       fmt_thousands(lim, SHAPE_MAX_NUMEL));
            g->input = (Shape){0};
        }
    }
    if (!have_input && net->name)
        diag_error(L->diag, net->loc, "network '%s' has no input shape", net->name);
    if (!have_input && net->name && is_yaml(net->file->name))
        diag_hint(L->diag, net->loc, "add 'input: [1, 28, 28]' at the top level");
    else if (!have_input && net->name)
        diag_hint(L->diag, net->loc, "write 'network %s (input 1x28x28) {'", net->name);
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

static void lower_train(Lower *L, const AstNet *net)
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

/* ---- entry ---- */

Graph *lower_net(Arena *a, const AstNet *net, Diag *d)
{
    Lower L = {.arena = a, .diag = d, .g = ir_graph_new(a)};
    Graph *g = L.g;
    g->name = net->name;
    g->name_loc = net->name_loc;
    if (net->name && !valid_name(net->name))
        diag_error(d, net->name_loc, "'%s' is not a valid network name", net->name);
    else if (net->name && is_keyword(net->name))
        diag_error(d, net->name_loc, "'%s' is a keyword of the .net syntax; use another name",
                   net->name);
    lower_header(&L, net);
    lower_body(&L, g->root, &net->body, 0);
    if (net->name && g->nodes.len == 0 && d->errors == 0) /* else the layers had errors */
        diag_error(d, net->name_loc, "network '%s' has no layers", net->name);
    lower_train(&L, net);
    return g;
}

Graph *frontend_load(Arena *a, const char *path, Diag *d)
{
    SrcFile *f = src_read(a, path);
    if (!f) {
        diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    return frontend_load_file(a, f, d);
}

/* The first byte that is NUL, a control character other than tab/CR/LF, or not valid
 * UTF-8; its offset is returned in .len. .file is NULL when the text is clean. */
static SrcLoc text_check(const SrcFile *f)
{
    const unsigned char *p = (const unsigned char *)f->text;
    int line = 1, col = 1;
    for (size_t i = 0; i < f->len;) {
        unsigned c = p[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        bool ok = n > 0 && i + n <= f->len && !(c < 32 && c != '\t' && c != '\n' && c != '\r') &&
                  c != 0x7f && !(n == 2 && c < 0xc2) && c < 0xf5;
        for (size_t k = 1; ok && k < n; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        /* no overlong forms, surrogates or code points past U+10FFFF (RFC 3629) */
        if (ok && n > 2) {
            unsigned c1 = p[i + 1];
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 > 0x9f) &&
                 !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 > 0x8f);
        }
        if (!ok)
            return (SrcLoc){f, line, col, (int)i};
        if (c == '\n')
            line++, col = 1;
        else
            col++;
        i += n;
    }
    return (SrcLoc){0};
}

Graph *frontend_load_file(Arena *a, const SrcFile *f, Diag *d)
{
    if (f->len > (64u << 20)) {
        diag_error(d, (SrcLoc){0}, "%s: file too large for a net (%zu bytes)", f->name, f->len);
        return NULL;
    }
    SrcLoc bad = text_check(f);
    if (bad.file) {
        unsigned char c = (unsigned char)f->text[bad.len];
        bad.len = 1;
        diag_error(d, (SrcLoc){0},
                   c < 0x80 ? "%s:%d:%d: not a text file (control byte 0x%02x)"
                            : "%s:%d:%d: not a text file (byte 0x%02x is not UTF-8)",
                   f->name, bad.line, bad.col, c);
        return NULL;
    }
    if (f->len >= 3 && memcmp(f->text, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        SrcFile *rest = arena_alloc(a, sizeof *rest);
        *rest = *f;
        rest->text += 3;
        rest->len -= 3;
        f = rest;
    }
    bool yaml = is_yaml(f->name);
    int before = d->errors;
    AstNet *net = yaml ? parse_yaml(a, f, d) : parse_net(a, f, d);
    if (!net->name && d->errors > before)
        return NULL;
    Graph *g = lower_net(a, net, d);
    /* Shapes only of a net that lowered cleanly: a skipped layer would make its successors'
     * shapes wrong and their errors noise. */
    if (d->errors == before)
        ir_shape(g, d);
    return g;
}
