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

/* The size a value's member must have for its type. */
static size_t member_size(const AttrSpec *s)
{
    switch (s->type) {
    case ATTR_INT: return 0; /* int or int64_t: checked apart */
    case ATTR_FLOAT: return sizeof(double);
    case ATTR_FLOATS: return s->min_len == s->max_len ? sizeof(double) * (size_t)s->max_len : 1;
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
            check_value(s, &s->kinds[0], &s->common[c], true);
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
    cr_expect(t.opt == OPT_ADAM && t.lr == 1e-3 && t.beta1 == 0.9 && t.beta2 == 0.999 &&
              t.eps == 1e-8 && t.loss == LOSS_CROSS_ENTROPY && t.batch == 64 && t.epochs == 1 &&
              t.shuffle && t.sched == SCHED_NONE && t.std == 0 && !t.data_dir);
}

/* Every value of every kind written bare in a train section, in both formats, is reported
 * as a value without its value (issue 9's class of `Conv2d 8 k3 stride`). */
Test(settings, every_bare_value_needs_a_value)
{
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        for (int k = 0; k < s->nkinds; k++) {
            const SettingKind *kd = &s->kinds[k];
            const SettingValue *vals[SETTING_MAX_VALUES];
            int n = ir_setting_values(s, kd, vals);
            for (int v = 0; v < n; v++) {
                const char *name = vals[v]->spec.name, *kn = kd->name ? kd->name : "";
                char want[160], net[256], yaml[256];
                if (kd->name)
                    snprintf(want, sizeof want, "error: %s '%s': '%s' needs a value", s->name, kn,
                             name);
                else if (strcmp(name, "value") == 0) /* `batch value` */
                    snprintf(want, sizeof want, "error: '%s' needs a value", s->name);
                else
                    snprintf(want, sizeof want, "error: '%s': '%s' needs a value", s->name, name);
                snprintf(net, sizeof net,
                         "network x (input 4) {\n  Linear 2\n}\ntrain {\n  %s %s %s\n}\n", s->name,
                         kn, name);
                if (kd->name)
                    snprintf(yaml, sizeof yaml,
                             "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  %s: {%s: %s}\n",
                             s->name, kn, name);
                else
                    snprintf(yaml, sizeof yaml,
                             "network: x\ninput: 4\nlayers: [Linear: 2]\ntrain:\n  %s: %s\n",
                             s->name, name);
                load("t.net", net);
                cr_expect(strstr(msgs, want), "%s\nwant \"%s\", got:\n%s", net, want, msgs);
                load("t.yaml", yaml);
                cr_expect(strstr(msgs, want), "%s\nwant \"%s\", got:\n%s", yaml, want, msgs);
            }
        }
    }
}
