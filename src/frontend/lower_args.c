/* lower_args.c: the attribute checker. Layers and train settings both give their arguments
 * to lower_args() with their AttrSpec table, so short forms (`k3`), positional arguments,
 * `in->out`, types, ranges, duplicates, bare names and did-you-mean hints behave the same
 * everywhere.
 *
 * Design choice: every problem is reported and checking goes on; a value that was reported
 * counts as given, so a bad `kernel=-3` does not also make "needs 'kernel'". */
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "lower.h"

static const char *type_desc(const AttrSpec *s)
{
    switch (s->type) {
    case ATTR_INT: return "an integer";
    case ATTR_INTS:
        return s->max_len == 2 ? "an integer or a pair like [3, 5]" : "a list of integers";
    case ATTR_FLOAT:
        return s->none ? "a number or none" : isinf(s->max) ? "a number or inf" : "a number";
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
    if (L->flag)
        return L->flag; /* `--lr -1`: about the flag the user wrote */
    return L->setting_def && strcmp(s->name, "value") == 0 ? L->setting_def->name : s->name;
}

static bool check_range(Lower *L, const AttrSpec *s, const AstValue *v, double x)
{
    if (x < s->min || x > s->max || v->overflow) { /* 1e400: no number, not inf */
        char lo[32], hi[32];
        if (s->type == ATTR_INT || s->type == ATTR_INTS) {
            fmt_thousands(lo, (int64_t)s->min);
            fmt_thousands(hi, (int64_t)s->max);
        } else {
            snprintf(lo, sizeof lo, "%g", s->min);
            snprintf(hi, sizeof hi, "%g", s->max);
        }
        if (isinf(s->max))
            diag_error(L->diag, v->loc, "'%s' must be %s or more (or inf), got %s", aname(L, s), lo,
                       ast_value_text(v));
        else
            diag_error(L->diag, v->loc, "'%s' must be between %s and %s, got %s", aname(L, s), lo,
                       hi, ast_value_text(v));
        return false;
    }
    return true;
}

/* The bool word a misspelt one is near (flase: false), or NULL. */
static const char *bool_suggest(const char *word)
{
    Suggest sg;
    suggest_init(&sg, word, false);
    suggest_add(&sg, "true");
    suggest_add(&sg, "false");
    return suggest_best(&sg);
}

static bool type_error(Lower *L, const AttrSpec *s, const AstValue *v)
{
    if (v->kind == VAL_LIST && v->s) /* sizes: 3x8, or 0x10 (numbers are decimal) */
        diag_error(L->diag, v->loc, "'%s' must be %s, got the sizes '%s' (numbers are decimal)",
                   aname(L, s), type_desc(s), v->s);
    else if (v->kind == VAL_LIST)
        diag_error(L->diag, v->loc, "'%s' must be %s, got a list", aname(L, s), type_desc(s));
    else if (v->kind == VAL_STRING)
        diag_error(L->diag, v->loc, "'%s' must be %s, got the string \"%s\"", aname(L, s),
                   type_desc(s), v->s);
    else
        diag_error(L->diag, v->loc, "'%s' must be %s, got '%s'", aname(L, s), type_desc(s),
                   ast_value_text(v));
    AstValue num = {0};
    long long cin, cout;
    char tail;
    const char *yf = v->kind == VAL_STRING ? v->s + (v->s[0] == '-' || v->s[0] == '+') : "";
    if ((!strcasecmp(yf, ".inf") || !strcasecmp(yf, ".nan")) && isinf(s->max))
        diag_hint(L->diag, v->loc, "'%s' takes .inf, and no other value that is not finite",
                  aname(L, s));
    else if (!strcasecmp(yf, ".inf") || !strcasecmp(yf, ".nan"))
        diag_hint(L->diag, v->loc,
                  "YAML's %s is not finite: every value netc takes is a finite "
                  "number",
                  v->s);
    else if (v->kind == VAL_STRING && sscanf(v->s, "%lld->%lld%c", &cin, &cout, &tail) == 2)
        diag_hint(L->diag, v->loc,
                  "'IN->OUT' is the .net form; in YAML give both: {in: %lld, "
                  "out: %lld}",
                  cin, cout);
    else if (v->kind == VAL_STRING && s->type != ATTR_STRING && s->type != ATTR_ENUM &&
             ast_parse_number(&num, v->s))
        diag_hint(L->diag, v->loc, "write the number bare, without quotes or a !!str tag: %s",
                  v->s);
    else if (v->kind == VAL_IDENT && s->type == ATTR_BOOL && bool_suggest(v->s))
        diag_hint(L->diag, v->loc, "did you mean '%s'?", bool_suggest(v->s)); /* bias=flase */
    else if (v->kind == VAL_IDENT) /* a parameter misspelled: `Linear widht` */
        lower_params_suggest(L, v->s, v->loc);
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

bool lower_parse_bool(const char *s, bool *b)
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

const char *lower_reserved_name(const char *name)
{
    bool b;
    return ir_layer_find(name)          ? " (it is a layer kind)"
           : lower_parse_bool(name, &b) ? " (it reads as a bool)"
                                        : NULL;
}

/* The index of v's word among words (case aside), or -1 after reporting it: the message's
 * fmt takes the attribute's name, the word and the list of words, in that order, then a
 * "did you mean". */
static int word_index(Lower *L, const char *const *words, const AstValue *v, const char *fmt,
                      const char *name)
{
    for (int i = 0; words[i]; i++)
        if (str_ieq(words[i], v->s))
            return i;
    StrBuf sb;
    sb_init(&sb);
    Suggest sug;
    suggest_init(&sug, v->s, false);
    for (int i = 0; words[i]; i++) {
        sb_printf(&sb, "%s%s", i ? ", " : "", words[i]);
        suggest_add(&sug, words[i]);
    }
    diag_error(L->diag, v->loc, fmt, name, v->s, sb.data);
    sb_free(&sb);
    diag_suggest(L->diag, v->loc, &sug);
    return -1;
}

/* A word an ATTR_INTS may be (s->words): out holds it, its numbers zero. */
static bool set_word(Lower *L, const AttrSpec *s, AttrVal *out, const AstValue *v)
{
    int i =
        word_index(L, s->words, v, "'%s' takes a number, two, or a word; got '%s' (the words: %s)",
                   aname(L, s));
    if (i < 0)
        return false;
    out->s = s->words[i];
    out->n = 1;
    out->i[0] = out->i[1] = 0;
    return true;
}

/* Checks v against s and stores it in out. */
static bool set_attr(Lower *L, const AttrSpec *s, AttrVal *out, const AstValue *v, SrcLoc loc)
{
    if (v->bad || (v->kind == VAL_IDENT && isdigit((unsigned char)v->s[0])))
        return false; /* reported: an expression's error, or `3k` by the lexer */
    AttrVal nv = *out;
    nv.set = true;
    nv.loc = loc;
    switch (s->type) {
    case ATTR_INT:
    case ATTR_FLOAT:
        if (s->none && v->kind == VAL_IDENT && (str_ieq(v->s, "none") || str_ieq(v->s, "null"))) {
            /* PyTorch's None, also as YAML writes it */
            nv.f[0] = NAN;
            nv.n = 1;
            break;
        }
        if (s->type == ATTR_FLOAT && isinf(s->max) &&
            (v->kind == VAL_IDENT || v->kind == VAL_STRING) &&
            (str_ieq(v->s, "inf") || str_ieq(v->s, ".inf"))) { /* norm_type=inf, 'inf', .inf */
            nv.f[0] = INFINITY;
            nv.n = 1;
            break;
        }
        if (!set_number(L, s, &nv, 0, v))
            return false;
        nv.n = 1;
        break;
    case ATTR_INTS:
    case ATTR_FLOATS: {
        if (s->words && (v->kind == VAL_IDENT || v->kind == VAL_STRING) &&
            !isdigit((unsigned char)v->s[0])) { /* padding=same */
            if (!set_word(L, s, &nv, v))
                return false;
            break;
        }
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
        else if (v->kind != VAL_IDENT || !lower_parse_bool(v->s, &nv.b))
            return type_error(L, s, v);
        break;
    case ATTR_ENUM: {
        if (v->kind != VAL_IDENT && v->kind != VAL_STRING)
            return type_error(L, s, v);
        int i = word_index(L, s->choices, v, "unknown %s '%s': expected one of %s", s->name);
        if (i < 0)
            return false;
        nv.e = i;
        nv.s = s->choices[i];
        break;
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
    /* PyTorch's names for attributes netc names otherwise (Conv2d's kernel_size is kernel) */
    static const char *const torch_names[][2] = {
        {"kernel_size", "kernel"},
        {"in_channels", "in"},
        {"out_channels", "out"},
        {"in_features", "in"},
        {"out_features", "out"},
        {"num_features", "features"},
        {"rate", "p"},
        {"drop", "p"},
        {"step", "step_size"},
        {"momentum", "betas"},
        {"slope", "negative_slope"},
    };
    for (size_t t = 0; t < sizeof torch_names / sizeof *torch_names; t++)
        if (!strcmp(key, torch_names[t][0]))
            for (int i = 0; i < n; i++)
                if (!strcmp(specs[i].name, torch_names[t][1]))
                    return specs[i].name;
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
        diag_error(L->diag, loc, "%s takes no arguments, got '%s'", what, ast_value_text(v));
    } else if (npos == 0) {
        diag_error(L->diag, loc, "%s takes no positional arguments, got '%s'", what,
                   ast_value_text(v));
        if (v->kind == VAL_INT || v->kind == VAL_FLOAT)
            diag_hint(L->diag, loc,
                      loc_yaml(loc) ? "name it, as in '{%s: %s}'" : "name it, as in '%s=%s'",
                      specs[0].name, ast_value_text(v));
    } else if (npos == 1 && strcmp(positional[0], "value") == 0) {
        diag_error(L->diag, loc, "%s takes one value; '%s' is one too many", what,
                   ast_value_text(v));
    } else {
        StrBuf sb;
        sb_init(&sb);
        for (int i = 0; i < npos; i++)
            sb_printf(&sb, "%s%s", i ? ", " : "", positional[i]);
        diag_error(L->diag, loc, "%s takes %d positional argument%s (%s); '%s' is one too many",
                   what, npos, npos == 1 ? "" : "s", sb.data, ast_value_text(v));
        sb_free(&sb);
    }
}

/* Applies args[first..] to vals (nspecs of them, spec order). `what` names the owner in
 * messages ("'Conv2d'", "optimizer 'Adam'"). Reports every problem; returns false if any. */
bool lower_args(Lower *L, const char *what, const AttrSpec *specs, int nspecs,
                const char *const *positional, bool has_in_out, const PtrVec *args, int first,
                AttrVal *vals, SrcLoc head_loc)
{
    bool ok = true;
    int pos = 0;
    uint64_t meant = 0; /* required attributes an unknown key's hint named: not "needs" too */
    for (int ai = first; ai < args->len; ai++) {
        const AstArg *a = args->items[ai];
        int idx = -1;
        const AstValue *v = lower_value(L, a->val); /* parameters and expressions */
        AstValue *sv;
        if (!v) { /* reported: it still takes its place, so nothing else is "missing" */
            v = ast_bad_value(L->arena, a->val->loc);
            ok = false;
        }
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
                for (int j = 0; j < nspecs; j++) /* `p=same`: a short form's prefix as a key */
                    if (specs[j].shortp && strcmp(specs[j].shortp, a->key) == 0)
                        s = specs[j].name;
                if (s)
                    diag_hint(L->diag, a->key_loc, "did you mean '%s'?", s);
                else if (L->setting_def)
                    lower_train_arg_hint(L, a->key, v, a->key_loc);
                int j = s ? spec_index(specs, nspecs, s) : -1;
                if (j >= 0 && j < 64)
                    meant |= (uint64_t)1 << j;
                ok = false;
                continue;
            }
        } else if (v->kind == VAL_IDENT && (idx = short_form(L, specs, nspecs, v, &sv)) >= 0) {
            v = sv;
        } else if (v->kind == VAL_IDENT && (idx = spec_index(specs, nspecs, v->s)) >= 0) {
            /* `Conv2d 8 k3 stride`: a keyed attribute written without its value */
            if (L->setting_def && strcmp(v->s, "value") == 0)
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
        int before = L->diag->errors;
        if (!set_attr(L, &specs[idx], &vals[idx], v, a->loc)) {
            if (v->define && L->diag->errors > before) /* the file's text is not at fault */
                diag_note(L->diag, (SrcLoc){0}, "the value is -D %s", v->define);
            vals[idx].set = true; /* reported; not "missing" too */
            vals[idx].loc = a->loc;
            ok = false;
        }
    }
    for (int i = 0; i < nspecs; i++)
        if (specs[i].required && !vals[i].set && !(i < 64 && (meant >> i & 1))) {
            if (L->setting_def && strcmp(specs[i].name, "value") == 0)
                diag_error(L->diag, head_loc, "%s needs a value (%s)", what, specs[i].help);
            else
                diag_error(L->diag, head_loc, "%s needs '%s' (%s)", what, specs[i].name,
                           specs[i].help);
            ok = false;
        }
    return ok;
}
