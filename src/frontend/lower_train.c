/* lower_train.c: the train section. Each statement is one setting of the settings table
 * (src/ir/settings.c): its kind first when it names one (`optimizer Adam`), then its values,
 * checked by lower_args like a layer's attributes and stored in the members the table
 * names. Nothing here knows a setting by name. */
#include <string.h>

#include "lower.h"

/* Where a value named `word` lives: the setting, and the kind whose own it is (NULL: a
 * value every kind has, as the optimizer's lr); false when no setting has one so named.
 * `value` names a one-value setting's value (batch 64), never an argument: none. */
static bool value_home(const char *word, const Setting **st, const SettingKind **kind)
{
    for (int i = 0; i < ir_nsettings && strcmp(word, "value") != 0; i++) {
        const Setting *s = &ir_settings[i];
        for (int c = 0; c < s->ncommon; c++)
            if (strcmp(s->common[c].spec.name, word) == 0) {
                *st = s, *kind = NULL;
                return true;
            }
        for (int j = -1; j < s->nkinds; j++) { /* the default kind first (Adam's weight_decay) */
            int k = j < 0 ? s->def_kind : j;
            for (int v = 0; k >= 0 && v < s->kinds[k].nvalues; v++)
                if (strcmp(s->kinds[k].values[v].spec.name, word) == 0) {
                    *st = s, *kind = &s->kinds[k];
                    return true;
                }
        }
    }
    return false;
}

/* The kind the section's own statement of setting st names, when that kind has a value
 * named word (every kind has a common one: lr); NULL otherwise. */
static const char *written_kind(const AstNet *net, const Setting *st, const char *word)
{
    for (int i = 0; i < net->train.len; i++) {
        const AstStmt *t = net->train.items[i];
        const AstArg *a0 = t->args.len ? t->args.items[0] : NULL;
        if (strcmp(t->head, st->name) != 0 || !a0 || a0->key || a0->val->kind != VAL_IDENT)
            continue;
        for (int k = 0; k < st->nkinds; k++) {
            const SettingKind *sk = &st->kinds[k];
            if (sk->name && str_ieq(sk->name, a0->val->s))
                return ir_setting_has_value(st, sk, word) ? sk->name : NULL;
        }
    }
    return NULL;
}

/* "'lr' is set in the optimizer: optimizer Adam lr=0.01" at `at`, in the file's syntax: word
 * is a value of setting home (of its kind `kind`, or NULL: common to every kind), v the
 * value written. The kind shown is the one the section's own statement names, when it has
 * the value. */
static void home_hint(Lower *L, const AstNet *net, SrcLoc at, const char *word, const Setting *home,
                      const SettingKind *kind, const char *v)
{
    const char *kname = written_kind(net, home, word);
    if (!kname)
        kname = kind                  ? kind->name
                : home->def_kind >= 0 ? home->kinds[home->def_kind].name
                                      : home->kinds[0].name;
    if (net->yaml && kname)
        diag_hint(L->diag, at, "'%s' is set in the %s: %s: {%s: {%s: %s}}", word, home->name,
                  home->name, kname, word, v);
    else if (net->yaml) /* a setting of one kind: augment: {crop: 24} */
        diag_hint(L->diag, at, "'%s' is set in the %s: %s: {%s: %s}", word, home->name, home->name,
                  word, v);
    else
        diag_hint(L->diag, at, "'%s' is set in the %s: %s %s%s%s=%s", word, home->name, home->name,
                  kname ? kname : "", kname ? " " : "", word, v);
}

void lower_train_arg_hint(Lower *L, const char *key, const AstValue *v, SrcLoc at)
{
    const Setting *st = L->setting_def;
    StrBuf kinds;
    sb_init(&kinds);
    int n = 0;
    for (int k = 0; k < st->nkinds; k++)
        if (st->kinds[k].name && &st->kinds[k] != L->setting_kind &&
            ir_setting_has_value(st, &st->kinds[k], key))
            sb_printf(&kinds, "%s%s", n++ ? ", " : "", st->kinds[k].name);
    const Setting *home;
    const SettingKind *kind;
    if (n)
        diag_hint(L->diag, at, "'%s' is an argument of %s %s", key, st->name, kinds.data);
    else if (ir_setting_find(key)) /* a YAML setting indented one level too deep */
        diag_hint(L->diag, at,
                  loc_yaml(at) ? "'%s' is a train setting: indent it as '%s', one setting a line"
                               : "'%s' is a train setting: give it a line of its own, as '%s'",
                  key, st->name);
    else if (L->train_net && value_home(key, &home, &kind) && home != st)
        home_hint(L, L->train_net, at, key, home, kind,
                  v->kind == VAL_LIST && !v->s ? "VALUE" : ast_value_text(v));
    sb_free(&kinds);
}

/* The hint at an unknown setting: the setting PyTorch scripts' name means (batch_size is
 * batch), the setting whose argument it is (lr is the optimizer's: optimizer Adam lr=0.01,
 * in the file's syntax), or a setting spelled nearly so. */
static void unknown_setting_hint(Lower *L, const AstNet *net, const AstStmt *s)
{
    static const char *const alias[][2] = {
        {"batch_size", "batch"},    {"num_epochs", "epochs"},     {"n_epochs", "epochs"},
        {"epoch", "epochs"},        {"optim", "optimizer"},       {"optimiser", "optimizer"},
        {"scheduler", "schedule"},  {"lr_scheduler", "schedule"}, {"dataset", "data"},
        {"validation", "val"},      {"val_split", "val"},         {"early_stopping", "early_stop"},
        {"patience", "early_stop"}, {"criterion", "loss"},        {"manual_seed", "seed"},
        {"learning_rate", "lr"},
    };
    const char *word = s->head;
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (str_ieq(word, alias[i][0]))
            word = alias[i][1];
    const Setting *home;
    const SettingKind *kind;
    if (value_home(word, &home, &kind)) {
        const AstArg *a0 = s->args.len ? s->args.items[0] : NULL;
        home_hint(L, net, s->head_loc, word, home, kind,
                  a0 && !a0->key && a0->val->s ? a0->val->s : "VALUE");
        return;
    }
    if (word != s->head) {
        diag_hint(L->diag, s->head_loc, "did you mean '%s'?", word);
        return;
    }
    Suggest sug;
    suggest_init(&sug, s->head, false);
    for (int k = 0; k < ir_nsettings; k++)
        suggest_add(&sug, ir_settings[k].name);
    diag_suggest(L->diag, s->head_loc, &sug);
}

/* The kind a statement of st names with args[0] (*first is then 1), or the one it may
 * leave out before a string (`data "DIR"`); NULL after reporting. */
static const SettingKind *stmt_kind(Lower *L, const Setting *st, const PtrVec *args,
                                    SrcLoc head_loc, int *first)
{
    *first = 0;
    if (!st->kinds[0].name)
        return &st->kinds[0];
    const AstArg *a0 = args->len ? args->items[0] : NULL;
    if (st->string_kind >= 0 && a0 && !a0->key && a0->val->kind == VAL_STRING)
        return &st->kinds[st->string_kind];
    StrBuf names;
    sb_init(&names);
    for (int k = 0; k < st->nkinds; k++)
        sb_printf(&names, "%s%s", k ? ", " : "", st->kinds[k].name);
    const SettingKind *kind = NULL;
    if (!a0 || a0->key || a0->val->kind != VAL_IDENT) {
        diag_error(L->diag, a0 ? a0->loc : head_loc, "'%s' needs a kind first: one of %s", st->name,
                   names.data);
    } else {
        for (int k = 0; k < st->nkinds; k++)
            if (str_ieq(st->kinds[k].name, a0->val->s))
                kind = &st->kinds[k];
        if (!kind) {
            Suggest sug; /* `CosineLR`: a long enough common start will do */
            suggest_init(&sug, a0->val->s, true);
            for (int k = 0; k < st->nkinds; k++)
                suggest_add(&sug, st->kinds[k].name);
            diag_error(L->diag, a0->loc, "unknown %s '%s': expected one of %s", st->name,
                       a0->val->s, names.data);
            if (st->def_kind < 0 && str_ieq(a0->val->s, "none"))
                diag_hint(L->diag, a0->loc, "'%s none' leaves it out, with nothing after it",
                          st->name);
            else if (lower_is_param(L, a0->val->s) && st->flag) /* params { o Adam } */
                diag_hint(L->diag, a0->loc,
                          "'%s' is a parameter, which gives a value, not the kind of a "
                          "setting: write the kind, or sweep it (--sweep %s=%s,%s)",
                          a0->val->s, st->flag + 2, st->kinds[0].name,
                          st->nkinds > 1 ? st->kinds[1].name : st->kinds[0].name);
            else if (lower_is_param(L, a0->val->s))
                diag_hint(L->diag, a0->loc,
                          "'%s' is a parameter, which gives a value, not the kind of a "
                          "setting: write the kind",
                          a0->val->s);
            else
                diag_suggest(L->diag, a0->loc, &sug);
        }
    }
    sb_free(&names);
    *first = kind != NULL;
    return kind;
}

/* Checks args[first..] against kind k of st and stores them in t: over the defaults when
 * from_defaults (a statement), else over t's current values (a flag). */
static bool apply_values(Lower *L, const Setting *st, const SettingKind *k, TrainConfig *t,
                         const PtrVec *args, int first, bool from_defaults, SrcLoc head_loc,
                         SrcLoc stmt_loc)
{
    const SettingValue *vals[SETTING_MAX_VALUES];
    AttrSpec specs[SETTING_MAX_VALUES];
    AttrVal av[SETTING_MAX_VALUES + 1];
    int n = ir_setting_values(st, k, vals);
    for (int i = 0; i < n; i++) {
        specs[i] = vals[i]->spec;
        specs[i].def = ir_setting_default(st, k, i);
        if (from_defaults)
            attr_parse_default(&specs[i], &av[i]);
        else
            ir_setting_get(vals[i], t, &av[i]);
    }
    char what[96];
    if (k->name)
        snprintf(what, sizeof what, "%s '%s'", st->name, k->name);
    else
        snprintf(what, sizeof what, "'%s'", st->name);
    if (!lower_args(L, what, specs, n, k->positional, false, args, first, av, head_loc))
        return false;
    ir_setting_choose(st, k, t, true);
    for (int i = 0; i < n; i++)
        ir_setting_put(vals[i], t, &av[i]);
    for (int i = 0; i < st->ncommon; i++)
        if (av[i].set)
            t->common_given[st - ir_settings] |= (uint8_t)(1u << i);
    if (k->check) {
        SrcLoc at[SETTING_MAX_VALUES];
        for (int i = st->ncommon; i < n; i++)
            at[i - st->ncommon] = av[i].set ? av[i].loc : stmt_loc;
        int errors = L->diag->errors;
        k->check(t, at, L->diag);
        return L->diag->errors == errors;
    }
    return true;
}

void lower_train(Lower *L, const AstNet *net)
{
    TrainConfig *t = &L->g->train;
    ir_train_defaults(t);
    if (!net->has_train)
        return;
    t->present = true;
    t->loc = net->train_loc;
    SrcLoc seen[SETTING_MAX] = {{0}};
    for (int i = 0; i < net->train.len && !diag_full(L->diag); i++) {
        const AstStmt *s = net->train.items[i];
        const Setting *st = ir_setting_find(s->head);
        if (!st) {
            diag_error(L->diag, s->head_loc, "unknown train setting '%s'", s->head);
            unknown_setting_hint(L, net, s);
            continue;
        }
        if (s->has_block || s->label) {
            diag_error(L->diag, s->head_loc, "train setting '%s' takes no %s", s->head,
                       s->has_block ? "block" : "label");
            continue;
        }
        int si = (int)(st - ir_settings);
        if (seen[si].file) {
            diag_error(L->diag, s->head_loc, "train setting '%s' is given twice", s->head);
            diag_note(L->diag, seen[si], "first given here");
            continue;
        }
        seen[si] = s->head_loc;
        t->at[si] = s->head_loc;
        L->setting_def = st;
        const AstArg *a0 = s->args.len == 1 ? s->args.items[0] : NULL;
        if (st->def_kind < 0 && a0 && !a0->key && a0->val->kind == VAL_IDENT &&
            str_ieq(a0->val->s, "none"))
            continue; /* `schedule none`: absent, as a section without it (its default) */
        int first;
        const SettingKind *k = stmt_kind(L, st, &s->args, s->head_loc, &first);
        L->setting_kind = k, L->train_net = net;
        if (k)
            apply_values(L, st, k, t, &s->args, first, true, s->head_loc, s->loc);
    }
    L->setting_def = NULL, L->setting_kind = NULL, L->train_net = NULL;
}

/* A flag naming another kind (--optimizer Adadelta over `optimizer Adam`): the new kind at
 * its defaults, but for the common values (lr) the file or a flag wrote, which are kept; an
 * unwritten one takes the new kind's default (Adam's lr 0.001 is not Adadelta's 1). Written
 * is what counts, not the value: `optimizer Adagrad lr=0.01` is Adagrad's default, but a
 * user who wrote it means it. */
static void switch_kind(const Setting *st, const SettingKind *now, const SettingKind *k,
                        TrainConfig *t)
{
    const SettingValue *vals[SETTING_MAX_VALUES];
    ir_setting_values(st, k, vals);
    ir_setting_choose(st, k, t, true);
    for (int i = 0; i < st->ncommon && now; i++) {
        const char *new_def = ir_setting_default(st, k, i);
        if (!new_def || (t->common_given[st - ir_settings] & (1u << i)))
            continue; /* written (even as the old kind's default): kept */
        AttrSpec spec = vals[i]->spec;
        AttrVal def;
        spec.def = new_def;
        attr_parse_default(&spec, &def);
        ir_setting_put(vals[i], t, &def);
    }
}

bool train_flag(TrainConfig *t, const SettingFlag *f, const char *text, Arena *a, Diag *d)
{
    Lower L = {.arena = a, .diag = d, .setting_def = f->setting, .flag = f->name};
    const Setting *st = f->setting;
    SrcLoc none = {0};
    PtrVec args = {0};
    const SettingKind *now = ir_setting_kind(st, t);
    if (!f->value) { /* --optimizer SGD: as `optimizer SGD` would name it */
        ptrvec_push(a, &args, ast_arg(a, NULL, none, ast_scalar(a, text, none), none));
        int first;
        const SettingKind *k = stmt_kind(&L, st, &args, none, &first);
        if (!k)
            return false;
        if (k != now)
            switch_kind(st, now, k, t);
        return true;
    }
    const SettingKind *owner = ir_setting_kind_of(st, f->value); /* NULL: a common value */
    if (!now) { /* an absent setting (data): the value's kind, at its defaults */
        now = owner ? owner : &st->kinds[0];
        ir_setting_choose(st, now, t, false);
    } else if (owner && owner != now) {
        diag_error(d, none, "%s sets '%s' of %s '%s', but the %s is '%s'", f->name,
                   f->value->spec.name, st->name, owner->name, st->name, now->name);
        return false;
    }
    AstValue *v;
    if (f->value->spec.type == ATTR_BOOL) { /* --shuffle, --no-shuffle */
        v = ast_value(a, VAL_IDENT, none);
        v->s = f->negated ? "false" : "true";
    } else if (f->value->spec.type == ATTR_STRING) { /* a path stays a string */
        v = ast_value(a, VAL_STRING, none);
        v->s = text;
    } else {
        v = ast_scalar(a, text, none);
    }
    ptrvec_push(a, &args, ast_arg(a, f->value->spec.name, none, v, none));
    /* --clip-grad-value over the file's clip_grad_norm: the flag's setting replaces its
     * rival, as --optimizer replaces the file's optimizer */
    if (st->rival)
        ir_setting_unset(ir_setting_find(st->rival), t);
    return apply_values(&L, st, now, t, &args, 0, false, none, none);
}
