/* test_settings.c: Criterion tests of the train-settings table (src/ir/settings.c) and of
 * what is made from it: every entry well formed (members that fit their types, defaults
 * that parse, unique names and flags), the defaults, and every value of every kind going
 * through the train section in both formats.
 *
 * Design choice: like the layer registry's test, these walk the table, so a new setting is
 * checked with no edit here; a failure names the setting, the kind and the value. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "capture.h"

TestSuite(settings, .init = capture_setup, .fini = capture_teardown);

/* Loads text as file `name` (its suffix picks the front end) with a fresh sink. */
static Graph *load(const char *name, const char *text)
{
    capture_reset();
    Graph *g = frontend_load_file(arena, src_from_string(arena, name, text), &diag);
    fflush(mem);
    return g;
}

static const char *kind_name(const SettingKind *k) { return k->name ? k->name : "-"; }

/* Calls f for every kind of every setting, with the kind's values (the common ones first). */
static void for_each_kind(void (*f)(const Setting *, const SettingKind *,
                                    const SettingValue *const *, int))
{
    for (int i = 0; i < ir_nsettings; i++)
        for (int k = 0; k < ir_settings[i].nkinds; k++) {
            /* ir_setting_values fills an array of SETTING_MAX_VALUES (and so does the front
             * end): a kind with more would write past it */
            cr_assert_leq(ir_settings[i].ncommon + ir_settings[i].kinds[k].nvalues,
                          SETTING_MAX_VALUES, "%s %s: more values than SETTING_MAX_VALUES",
                          ir_settings[i].name, kind_name(&ir_settings[i].kinds[k]));
            const SettingValue *vals[SETTING_MAX_VALUES];
            int n = ir_setting_values(&ir_settings[i], &ir_settings[i].kinds[k], vals);
            f(&ir_settings[i], &ir_settings[i].kinds[k], vals, n);
        }
}

/* The size a value's member must have for its type. */
static size_t member_size(const AttrSpec *s)
{
    switch (s->type) {
    case ATTR_INT: return 0; /* int or int64_t: checked apart */
    case ATTR_FLOAT: return sizeof(double);
    case ATTR_FLOATS: return sizeof(double) * (size_t)s->max_len; /* NaN after the values given */
    case ATTR_INTS: return sizeof(IntList);
    case ATTR_BOOL: return sizeof(bool);
    case ATTR_ENUM: return sizeof(int);
    case ATTR_STRING: return sizeof(const char *);
    }
    return 1;
}

static void check_value(const Setting *s, const SettingKind *k, const SettingValue *v,
                        bool needs_default)
{
    const AttrSpec *a = &v->spec;
    const char *kn = kind_name(k);
    cr_expect(a->name && a->help && *a->help, "%s %s: a value without name or help", s->name, kn);
    if (a->type == ATTR_INT)
        cr_expect(v->field.size == sizeof(int) || v->field.size == sizeof(int64_t),
                  "%s %s %s: an int member of %zu bytes", s->name, kn, a->name, v->field.size);
    else
        cr_expect_eq(v->field.size, member_size(a), "%s %s %s: member of %zu bytes, want %zu",
                     s->name, kn, a->name, v->field.size, member_size(a));
    cr_expect(v->field.off + v->field.size <= sizeof(TrainConfig), "%s %s %s: member outside",
              s->name, kn, a->name);
    AttrVal def;
    if (a->def)
        cr_expect(attr_parse_default(a, &def), "%s %s %s: default '%s' does not parse", s->name, kn,
                  a->name, a->def);
    else
        cr_expect(!needs_default, "%s %s %s: no default, but the kind can be chosen without it",
                  s->name, kn, a->name);
    cr_expect(!a->shortp, "%s %s %s: short forms are for layers", s->name, kn, a->name);
    if (v->flag)
        cr_expect(!strncmp(v->flag, "--", 2) && strlen(v->flag) < 30, "%s %s %s: flag '%s'",
                  s->name, kn, a->name, v->flag);
}

Test(settings, every_entry_is_well_formed)
{
    cr_assert_leq(ir_nsettings, SETTING_MAX);
    const char *flags[64];
    int nflags = 0;
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        cr_expect(s->help && *s->help, "%s: no help", s->name);
        for (int j = 0; j < i; j++)
            cr_expect(strcmp(s->name, ir_settings[j].name), "'%s' twice", s->name);
        cr_assert(s->nkinds >= 1, "%s: no kind", s->name);
        bool named = s->kinds[0].name != NULL;
        cr_expect(named || (s->nkinds == 1 && s->ncommon == 0 && !s->flag && !s->kind.size),
                  "%s: a setting without kinds has one unnamed kind, nothing else", s->name);
        cr_expect(s->kind.size == 0 || s->kind.size == sizeof(int), "%s: kind member", s->name);
        cr_expect(s->kind.size || s->nkinds == 1, "%s: kinds need a member for the kind", s->name);
        cr_expect(s->def_kind >= -1 && s->def_kind < s->nkinds, "%s: def_kind", s->name);
        cr_expect(s->string_kind >= -1 && s->string_kind < s->nkinds, "%s: string_kind", s->name);
        if (s->flag)
            flags[nflags++] = s->flag;
        for (int c = 0; c < s->ncommon; c++) {
            /* kept over a kind chosen by a flag, or reached by default: a default is needed
             * then (data has neither: --data itself gives its path) */
            check_value(s, &s->kinds[0], &s->common[c], s->def_kind >= 0 || s->flag);
            if (s->common[c].flag)
                flags[nflags++] = s->common[c].flag;
        }
        for (int k = 0; k < s->nkinds; k++) {
            const SettingKind *kd = &s->kinds[k];
            cr_expect(!named || (kd->name && kd->help), "%s: a kind without name or help", s->name);
            for (int j = 0; j < k; j++)
                cr_expect(kd->id != s->kinds[j].id &&
                              (!named || strcmp(kd->name, s->kinds[j].name)),
                          "%s: kind %s twice", s->name, kind_name(kd));
            const SettingValue *vals[SETTING_MAX_VALUES];
            cr_assert_leq(s->ncommon + kd->nvalues, SETTING_MAX_VALUES);
            int n = ir_setting_values(s, kd, vals);
            /* a kind reached without a statement (a default, or a netrun flag) takes every
             * value's default */
            bool chosen_bare = k == s->def_kind || s->flag;
            for (int v = 0; v < kd->nvalues; v++) {
                check_value(s, kd, &kd->values[v], chosen_bare);
                if (kd->values[v].flag)
                    flags[nflags++] = kd->values[v].flag;
            }
            for (int a = 0; a < n; a++)
                for (int b = 0; b < a; b++)
                    cr_expect(strcmp(vals[a]->spec.name, vals[b]->spec.name), "%s %s: '%s' twice",
                              s->name, kind_name(kd), vals[a]->spec.name);
            for (int p = 0; kd->positional[p]; p++) {
                bool found = false;
                for (int a = 0; a < n; a++)
                    found = found || !strcmp(vals[a]->spec.name, kd->positional[p]);
                cr_expect(found, "%s %s: positional '%s' is not a value", s->name, kind_name(kd),
                          kd->positional[p]);
            }
        }
    }
    for (int a = 0; a < nflags; a++)
        for (int b = 0; b < a; b++)
            cr_expect(strcmp(flags[a], flags[b]), "flag '%s' twice", flags[a]);
    /* and netrun gets them all (a bool value's twice: --X, --no-X) */
    SettingFlag listed[SETTING_MAX_FLAGS];
    int nlisted = ir_setting_flags(listed), nbool = 0;
    for (int i = 0; i < nlisted; i++)
        nbool += listed[i].negated;
    cr_expect(nlisted - nbool == nflags && nlisted < SETTING_MAX_FLAGS,
              "%d flags in the table, %d listed (%d --no-X)", nflags, nlisted, nbool);
}

/* The defaults are the table's: each setting that has a default kind is that kind with
 * every value at its default; the others are absent. */
Test(settings, defaults_come_from_the_table)
{
    TrainConfig t;
    ir_train_defaults(&t);
    cr_expect_eq(t.given, 0u);
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        const SettingKind *k = ir_setting_kind(s, &t);
        if (s->def_kind < 0) {
            cr_expect_null(k, "%s: present by default", s->name);
            continue;
        }
        cr_assert_eq(k, &s->kinds[s->def_kind], "%s: default kind", s->name);
        const SettingValue *vals[SETTING_MAX_VALUES];
        int n = ir_setting_values(s, k, vals);
        for (int v = 0; v < n; v++) {
            AttrVal got, want;
            ir_setting_get(vals[v], &t, &got);
            attr_parse_default(&vals[v]->spec, &want);
            StrBuf a, b;
            sb_init(&a);
            sb_init(&b);
            attr_format(&a, &vals[v]->spec, &got);
            attr_format(&b, &vals[v]->spec, &want);
            cr_expect_str_eq(a.data, b.data, "%s %s: %s by default, want %s", s->name,
                             vals[v]->spec.name, a.data, b.data);
            sb_free(&a);
            sb_free(&b);
        }
    }
    /* and the members the runtime reads, as PyTorch's defaults */
    cr_expect(t.opt == OPT_ADAM && t.lr == 1e-3 && t.betas[0] == 0.9 && t.betas[1] == 0.999 &&
              t.eps == 1e-8 && t.loss == LOSS_CROSS_ENTROPY && t.batch == 64 && t.epochs == 1 &&
              t.shuffle && t.sched == SCHED_NONE && t.std[0] == 0 && !t.data_dir);
}

/* Every value of every kind written bare in a train section, in both formats, is reported
 * as a value without its value (issue 9's class of `Conv2d 8 k3 stride`). */
static void bare_values(const Setting *s, const SettingKind *kd, const SettingValue *const *vals,
                        int n)
{
    for (int v = 0; v < n; v++) {
        const char *name = vals[v]->spec.name, *kn = kd->name ? kd->name : "";
        char want[160], net[256], yaml[256];
        if (kd->name)
            snprintf(want, sizeof want, "error: %s '%s': '%s' needs a value", s->name, kn, name);
        else if (strcmp(name, "value") == 0) /* `batch value` */
            snprintf(want, sizeof want, "error: '%s' needs a value", s->name);
        else
            snprintf(want, sizeof want, "error: '%s': '%s' needs a value", s->name, name);
        snprintf(net, sizeof net, "network x (input 4) {\n  Linear 2\n}\ntrain {\n  %s %s %s\n}\n",
                 s->name, kn, name);
        if (kd->name)
            snprintf(yaml, sizeof yaml,
                     "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  %s: {%s: %s}\n", s->name,
                     kn, name);
        else
            snprintf(yaml, sizeof yaml,
                     "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  %s: %s\n", s->name,
                     name);
        load("t.net", net);
        cr_expect(strstr(msgs, want), "%s\nwant \"%s\", got:\n%s", net, want, msgs);
        load("t.yaml", yaml);
        cr_expect(strstr(msgs, want), "%s\nwant \"%s\", got:\n%s", yaml, want, msgs);
    }
}

Test(settings, every_bare_value_needs_a_value) { for_each_kind(bare_values); }

/* A sample of a value that is not its default: a quarter into its range (a list: a few
 * such), the other truth value, a string. */
static void sample(StrBuf *sb, const AttrSpec *a, bool keep_bool)
{
    AttrVal v, def;
    memset(&v, 0, sizeof v);
    attr_parse_default(a, &def);
    v.n = a->type == ATTR_INTS || a->type == ATTR_FLOATS ? a->min_len : 1;
    if (v.n < 2 && (a->type == ATTR_INTS || a->type == ATTR_FLOATS))
        v.n = 2;
    for (int i = 0; i < v.n; i++) {
        v.f[i] = a->min + (a->max - a->min) / 4 * (i + 1) / v.n;
        v.i[i] = (int64_t)a->min + 1 + i;
    }
    if (a->type == ATTR_INT)
        v.i[0] = (int64_t)v.f[0];
    v.b = keep_bool ? def.b : !def.b;
    v.s = "dir \"x\"";
    attr_format(sb, a, &v);
}

/* Every kind of every setting, its values all away from their defaults, reads back the
 * same from both writers' output (the kind's check may forbid a combination: then its
 * booleans keep their defaults). */
static void both_writers(const Setting *s, const SettingKind *kd, const SettingValue *const *vals,
                         int n)
{
    Graph *g = NULL;
    StrBuf text;
    for (int keep_bool = 0; keep_bool < 2 && !g; keep_bool++) {
        sb_init(&text);
        sb_printf(&text, "network x (input 4) {\n  Linear 2\n}\ntrain {\n  %s %s", s->name,
                  kd->name ? kd->name : "");
        for (int v = 0; v < n; v++) {
            sb_printf(&text, " %s=", vals[v]->spec.name);
            sample(&text, &vals[v]->spec, keep_bool);
        }
        sb_puts(&text, "\n}\n");
        g = load("t.net", text.data);
        if (!g || diag.errors) {
            cr_assert(kd->check && !keep_bool, "%s", msgs);
            g = NULL;
            sb_free(&text);
        }
    }
    StrBuf want, defaults;
    sb_init(&want);
    sb_init(&defaults);
    ir_train_write(&want, &g->train, TRAIN_DUMP);
    TrainConfig t;
    ir_train_defaults(&t);
    ir_train_write(&defaults, &t, TRAIN_DUMP);
    if (n > 0 || kd - s->kinds != s->def_kind) /* else: `loss cross_entropy` */
        cr_expect_str_neq(want.data, defaults.data, "%s: the defaults", text.data);
    for (int yaml = 0; yaml < 2; yaml++) {
        StrBuf out, got;
        sb_init(&out);
        sb_init(&got);
        (yaml ? write_yaml : write_net)(g, &out);
        Graph *back = load(yaml ? "w.yaml" : "w.net", out.data);
        cr_assert(back && diag.errors == 0, "%s\nwritten as\n%s\nreads back with:\n%s", text.data,
                  out.data, msgs);
        ir_train_write(&got, &back->train, TRAIN_DUMP);
        cr_expect_str_eq(got.data, want.data, "%s\nwritten as\n%s", text.data, out.data);
        sb_free(&out);
        sb_free(&got);
    }
    sb_free(&want);
    sb_free(&defaults);
    sb_free(&text);
}

Test(settings, every_kind_survives_both_writers) { for_each_kind(both_writers); }

/* ---- netrun's flags ---- */

/* The train part of the dump of t. */
static char *dump(const TrainConfig *t)
{
    StrBuf sb;
    sb_init(&sb);
    ir_train_write(&sb, t, TRAIN_DUMP);
    return sb.data; /* the caller frees */
}

/* The first error message in msgs, from "error: " to the end of its line. */
static char *first_error(void)
{
    const char *e = msgs ? strstr(msgs, "error: ") : NULL;
    if (!e)
        return strdup("(no error)");
    return strndup(e, strcspn(e, "\n"));
}

/* msg with the flag's name replaced by the name the file's message gives the value. */
static char *as_in_file(const char *msg, const SettingFlag *f)
{
    const char *name =
        strcmp(f->value->spec.name, "value") ? f->value->spec.name : f->setting->name; /* batch */
    const char *p = strstr(msg, f->name);
    StrBuf sb;
    sb_init(&sb);
    if (p)
        sb_printf(&sb, "%.*s%s%s", (int)(p - msg), msg, name, p + strlen(f->name));
    else
        sb_puts(&sb, msg);
    return sb.data;
}

/* The kind a statement setting v names: v's own, or the default one for a common value. */
static const SettingKind *value_kind(const Setting *s, const SettingValue *v)
{
    const SettingKind *k = ir_setting_kind_of(s, v);
    return k ? k : &s->kinds[s->def_kind >= 0 ? s->def_kind : 0];
}

/* Every flag sets what the train section's statement would, over the defaults: a value's
 * flag what `setting [kind] value=X` sets, a kind's flag what `setting KIND` sets. */
Test(settings, every_flag_sets_what_the_file_would)
{
    SettingFlag flags[SETTING_MAX_FLAGS];
    int n = ir_setting_flags(flags);
    cr_assert_gt(n, 0);
    for (int i = 0; i < n; i++) {
        const SettingFlag *f = &flags[i];
        const Setting *s = f->setting;
        for (int k = 0; k < (f->value ? 1 : s->nkinds); k++) {
            const SettingKind *kd = f->value ? value_kind(s, f->value) : &s->kinds[k];
            StrBuf text, stmt;
            sb_init(&text);
            sb_init(&stmt);
            if (!f->value) {
                sb_puts(&text, kd->name);
            } else if (f->value->spec.type == ATTR_STRING) {
                sb_puts(&text, "dir x");
            } else if (f->value->spec.type != ATTR_BOOL) {
                sample(&text, &f->value->spec, false);
            }
            sb_printf(&stmt, "%s", s->name);
            if (kd && kd->name)
                sb_printf(&stmt, " %s", kd->name);
            if (f->value) {
                sb_printf(&stmt, " %s=", f->value->spec.name);
                if (f->value->spec.type == ATTR_BOOL)
                    sb_puts(&stmt, f->negated ? "false" : "true");
                else if (f->value->spec.type == ATTR_STRING)
                    sb_puts(&stmt, "\"dir x\"");
                else
                    sb_puts(&stmt, text.data);
            }
            TrainConfig t;
            ir_train_defaults(&t);
            capture_reset();
            bool ok =
                train_flag(&t, f, f->value && f->value->spec.type == ATTR_BOOL ? NULL : text.data,
                           arena, &diag);
            fflush(mem);
            cr_assert(ok, "%s %s: %s", f->name, text.data, msgs);
            char file[512];
            snprintf(file, sizeof file, "network x (input 4) {\n  Linear 2\n}\ntrain {\n  %s\n}\n",
                     stmt.data);
            Graph *g = load("t.net", file);
            cr_assert(g && diag.errors == 0, "%s: %s", stmt.data, msgs);
            char *a = dump(&t), *b = dump(&g->train);
            cr_expect_str_eq(a, b, "%s %s, and the statement '%s'", f->name, text.data, stmt.data);
            free(a);
            free(b);
            sb_free(&text);
            sb_free(&stmt);
        }
    }
}

/* A bad value for a flag gets the file's message, naming the flag (compared with YAML,
 * which can write a control character into a string). */
Test(settings, every_flag_is_checked_as_the_file_is)
{
    SettingFlag flags[SETTING_MAX_FLAGS];
    int n = ir_setting_flags(flags);
    for (int i = 0; i < n; i++) {
        const SettingFlag *f = &flags[i];
        const Setting *s = f->setting;
        if (f->value && f->value->spec.type == ATTR_BOOL)
            continue; /* --X and --no-X take no value */
        const char *bad = "nonsense", *yaml_bad = "nonsense";
        char below[64];
        if (f->value && (f->value->spec.type == ATTR_INT || f->value->spec.type == ATTR_FLOAT)) {
            snprintf(below, sizeof below, "%.17g", f->value->spec.min - 1);
            bad = yaml_bad = below;
        } else if (f->value && f->value->spec.type == ATTR_STRING) {
            bad = "a\x01z"; /* a control character */
            yaml_bad = "\"a\\x01z\"";
        }
        const SettingKind *kd = f->value ? value_kind(s, f->value) : NULL;
        char yaml[512];
        int len = snprintf(yaml, sizeof yaml,
                           "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  %s: ", s->name);
        if (!f->value)
            snprintf(yaml + len, sizeof yaml - (size_t)len, "%s\n", yaml_bad);
        else if (kd && kd->name)
            snprintf(yaml + len, sizeof yaml - (size_t)len, "{%s: {%s: %s}}\n", kd->name,
                     f->value->spec.name, yaml_bad);
        else
            snprintf(yaml + len, sizeof yaml - (size_t)len, "{%s: %s}\n", f->value->spec.name,
                     yaml_bad);
        TrainConfig t;
        ir_train_defaults(&t);
        capture_reset();
        cr_expect(!train_flag(&t, f, bad, arena, &diag), "%s %s accepted", f->name, bad);
        fflush(mem);
        char *got = first_error(), *flag_msg = f->value ? as_in_file(got, f) : strdup(got);
        free(got);
        load("t.yaml", yaml);
        char *file_msg = first_error();
        cr_expect_str_eq(flag_msg, file_msg, "%s %s: '%s', and\n%s: '%s'", f->name, bad, flag_msg,
                         yaml, file_msg);
        free(flag_msg);
        free(file_msg);
    }
}

static const SettingFlag *flag_named(const char *name)
{
    static SettingFlag flags[SETTING_MAX_FLAGS];
    int n = ir_setting_flags(flags);
    for (int i = 0; i < n; i++)
        if (strcmp(flags[i].name, name) == 0)
            return &flags[i];
    cr_assert_fail("no flag %s", name);
    return NULL;
}

/* A kind's flag naming another kind resets that kind's values but the common ones
 * (--optimizer keeps lr, as netrun always did); naming the present kind changes nothing. */
Test(settings, a_new_kind_keeps_only_the_common_values)
{
    Graph *g = load("t.net", "network x (input 4) {\n  Linear 2\n}\ntrain {\n"
                             "  optimizer SGD lr=0.05 momentum=0.9 weight_decay=0.1\n}\n");
    cr_assert(g && diag.errors == 0, "%s", msgs);
    TrainConfig *t = &g->train;
    cr_assert(train_flag(t, flag_named("--optimizer"), "sgd", arena, &diag));
    cr_expect(t->opt == OPT_SGD && t->lr == 0.05 && t->momentum == 0.9 && t->weight_decay == 0.1,
              "the same kind changed its values");
    cr_assert(train_flag(t, flag_named("--optimizer"), "AdamW", arena, &diag));
    cr_expect(t->opt == OPT_ADAMW && t->lr == 0.05 && t->weight_decay == 0.01 &&
                  t->betas[0] == 0.9 && t->betas[1] == 0.999 && t->eps == 1e-8,
              "AdamW: lr %g (want 0.05 kept), weight_decay %g (want its default 0.01)", t->lr,
              t->weight_decay);
    /* a flag of an absent setting makes it present: --data */
    cr_expect_null(t->data_dir);
    cr_assert(train_flag(t, flag_named("--data"), "some dir", arena, &diag));
    cr_expect_str_eq(t->data_dir, "some dir");
    cr_expect_not_null(ir_setting_kind(ir_setting_find("data"), t));
}

/* Each optimizer's lr default is torch.optim's (RMSprop and Adagrad 0.01, Adadelta 1, Adam's
 * 0.001 for the rest), in both formats; a flag naming another kind takes the new kind's
 * default over the old kind's, and keeps an lr the file wrote. */
Test(settings, each_optimizer_takes_its_own_lr_default)
{
    static const struct {
        const char *kind;
        double lr, eps;
    } want[] = {{"SGD", 1e-3, 0},        {"Adam", 1e-3, 1e-8},     {"AdamW", 1e-3, 1e-8},
                {"RMSprop", 1e-2, 1e-8}, {"Adagrad", 1e-2, 1e-10}, {"Adadelta", 1.0, 1e-6}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (int yaml = 0; yaml < 2; yaml++) {
            char text[256];
            snprintf(text, sizeof text,
                     yaml ? "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  optimizer: %s\n"
                          : "network x (input 4) {\n  Linear 2\n}\ntrain {\n  optimizer %s\n}\n",
                     want[i].kind);
            Graph *g = load(yaml ? "t.yaml" : "t.net", text);
            cr_assert(g && diag.errors == 0, "%s: %s", text, msgs);
            cr_expect(g->train.lr == want[i].lr, "%s: lr %g, PyTorch's %g", want[i].kind,
                      g->train.lr, want[i].lr);
            if (want[i].eps)
                cr_expect(g->train.eps == want[i].eps, "%s: eps %g, PyTorch's %g", want[i].kind,
                          g->train.eps, want[i].eps);
        }
    Graph *g =
        load("t.net", "network x (input 4) {\n  Linear 2\n}\ntrain {\n  optimizer Adadelta\n}\n");
    cr_assert(g && diag.errors == 0, "%s", msgs);
    cr_expect(g->train.rho == 0.9 && g->train.weight_decay == 0 && !g->train.maximize);
    TrainConfig *t = &g->train;
    cr_assert(train_flag(t, flag_named("--optimizer"), "SGD", arena, &diag));
    cr_expect(t->opt == OPT_SGD && t->lr == 1e-3, "--optimizer SGD over Adadelta: lr %g", t->lr);
    cr_assert(train_flag(t, flag_named("--optimizer"), "RMSprop", arena, &diag));
    cr_expect(t->opt == OPT_RMSPROP && t->lr == 1e-2 && t->alpha == 0.99,
              "--optimizer RMSprop over SGD: lr %g", t->lr);
    g = load("t.net",
             "network x (input 4) {\n  Linear 2\n}\ntrain {\n  optimizer Adam lr=0.05\n}\n");
    cr_assert(g && diag.errors == 0, "%s", msgs);
    t = &g->train;
    cr_assert(train_flag(t, flag_named("--optimizer"), "Adadelta", arena, &diag));
    cr_expect(t->opt == OPT_ADADELTA && t->lr == 0.05, "the file's lr=0.05 not kept: %g", t->lr);
    /* written is what counts, not the value: lr=0.01 is Adagrad's default, but was written */
    for (int yaml = 0; yaml < 2; yaml++) {
        g = load(yaml ? "t.yaml" : "t.net",
                 yaml ? "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  optimizer: "
                        "{Adagrad: {lr: 0.01}}\n"
                      : "network x (input 4) {\n  Linear 2\n}\ntrain {\n  optimizer Adagrad "
                        "lr=0.01\n}\n");
        cr_assert(g && diag.errors == 0, "%s", msgs);
        t = &g->train;
        cr_assert(train_flag(t, flag_named("--optimizer"), "Adam", arena, &diag));
        cr_expect(t->opt == OPT_ADAM && t->lr == 0.01,
                  "%s: the written lr=0.01 (Adagrad's default) not kept: %g",
                  yaml ? "YAML" : ".net", t->lr);
    }
    /* an lr set by --lr is kept too, whichever flag comes first */
    g = load("t.net", "network x (input 4) {\n  Linear 2\n}\ntrain {\n  optimizer Adam\n}\n");
    cr_assert(g && diag.errors == 0, "%s", msgs);
    t = &g->train;
    cr_assert(train_flag(t, flag_named("--lr"), "0.001", arena, &diag));
    cr_assert(train_flag(t, flag_named("--optimizer"), "Adadelta", arena, &diag));
    cr_expect(t->opt == OPT_ADADELTA && t->lr == 0.001, "--lr 0.001 then --optimizer: lr %g",
              t->lr);
}

/* OneCycleLR cycles a momentum or beta1; Adagrad and Adadelta have neither, which PyTorch's
 * OneCycleLR refuses; whichever statement comes last says so (and cycle_momentum=false runs). */
Test(settings, onecycle_needs_a_momentum_to_cycle)
{
    static const char *const orders[] = {
        "  optimizer %s\n  schedule OneCycleLR 0.1%s\n",
        "  schedule OneCycleLR 0.1%2$s\n  optimizer %1$s\n",
    };
    static const char *const kinds[] = {"Adagrad", "Adadelta", "RMSprop", "SGD"};
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 4; k++)
            for (int off = 0; off < 2; off++) {
                char body[160], text[320];
                snprintf(body, sizeof body, orders[o], kinds[k],
                         off ? " cycle_momentum=false" : "");
                snprintf(text, sizeof text, "network x (input 4) {\n  Linear 2\n}\ntrain {\n%s}\n",
                         body);
                load("t.net", text);
                bool refused = k < 2 && !off;
                cr_expect_eq(diag.errors, refused ? 1 : 0, "%s:\n%s", text, msgs);
                if (refused)
                    cr_expect(strstr(msgs, "OneCycleLR cycles the optimizer's momentum, and ") &&
                                  strstr(msgs, kinds[k]) && strstr(msgs, "cycle_momentum=false"),
                              "%s:\n%s", text, msgs);
            }
    /* RMSprop's momentum raised from max_momentum=0: PyTorch's step fails at the second */
    for (int o = 0; o < 2; o++) {
        char body[200], text[360];
        snprintf(body, sizeof body, orders[o], "RMSprop momentum=0.5",
                 " base_momentum=0.9 max_momentum=0");
        snprintf(text, sizeof text, "network x (input 4) {\n  Linear 2\n}\ntrain {\n%s}\n", body);
        load("t.net", text);
        cr_expect(diag.errors == 1 && strstr(msgs, "start RMSprop's momentum at max_momentum=0"),
                  "%s:\n%s", text, msgs);
    }
}
