/* yaml.c: the YAML front end. Reads a net written in YAML into the same AST as parser.y.
 *
 * Design choice: libyaml's document API loads the whole document first (a YAML syntax error
 * is therefore one diagnostic and no AST), then one recursive walk maps YAML shapes onto the
 * uniform AstStmt. Which shape a one-key mapping is (a layer with arguments, a named group,
 * a named layer) is decided by is_kind() alone (a layer kind or a template of the file), and an
 * unknown kind is passed on as a layer head rather than rejected here, so that lowering, which owns
 * the layer list, reports it with its did-you-mean hint exactly as it does for the .net syntax.
 * Aliases share nodes; the walk guards against alias cycles (a node on the current path) and alias
 * bombs (a budget of nodes visited) through yaml_doc.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ir.h"
#include "yaml_doc.h"

/* A layer kind, or a template of this file (used as a layer is: `- basic: [32, 2]`). */
static bool is_kind(YamlReader *p, const char *word)
{
    for (int i = 0; i < p->ntemplates; i++)
        if (!strcmp(p->templates[i], word))
            return true;
    for (int i = 0; i < p->nknown; i++)
        if (!strcmp(p->known[i], word))
            return true;
    return ir_layer_find(word) != NULL;
}

/* Whether a train key names a setting that takes a kind first (`optimizer: {Adam: {...}}`).
 * True for an unknown key too, so that a misspelt `optimiser: {Adam: {...}}` reaches
 * lowering whole and is reported once, as an unknown setting. */
static bool setting_has_kind(const char *key)
{
    const Setting *s = ir_setting_find(key);
    return !s || s->kinds[0].name;
}

/* ---- values ---- */

/* A node where a value is expected. key names the argument for messages (NULL if
 * positional). Returns NULL after reporting an error. */
static AstValue *value(YamlReader *p, yaml_node_t *n, const char *key, SrcLoc key_loc)
{
    if (!ydoc_enter(p, n))
        return NULL;
    SrcLoc loc = ydoc_loc_node(p, n);
    AstValue *v = NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = arena_strndup(p->a, scalar(n), n->data.scalar.length);
        if (is_plain(n) && !strcmp(s, "~")) {
            v = ast_scalar(p->a, "null", loc); /* YAML's null written short: `momentum: ~` */
        } else if (is_empty(n)) {
            if (key)
                diag_error(p->d, key_loc, "expected a value for '%s', found nothing", key);
            else
                diag_error(p->d, loc, "expected a value, found nothing");
        } else if (s[0] == '(' && n->data.scalar.style != YAML_SINGLE_QUOTED_SCALAR_STYLE) {
            /* an expression, plain or double-quoted: "(i == 0 ? 2 : 1)"; single-quoted or
             * tagged !!str (ydoc_check_nodes makes it single-quoted) it is a string */
            SrcLoc at = loc;
            if (!is_plain(n) && at.file)
                at.col++; /* past the quote */
            /* exact when the text is the source's bytes (no escape, fold or line break) */
            size_t off = ydoc_byte_of_index(p, n->start_mark.index),
                   end = ydoc_byte_of_index(p, n->end_mark.index), q = is_plain(n) ? 0 : 1;
            bool exact = end >= off + 2 * q && end - off - 2 * q == strlen(s) &&
                         !memcmp(p->f->text + off + q, s, strlen(s)) &&
                         (is_plain(n) || n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
            if (!exact)
                at = loc;
            v = ast_parse_expr(p->a, s, at, exact, p->d);
            if (!v) /* reported: it still takes its place, so nothing else is "missing" */
                v = ast_bad_value(p->a, at);
        } else if (!is_plain(n)) {
            v = ast_value(p->a, VAL_STRING, loc);
            v->s = s;
        } else {
            v = ast_scalar(p->a, s, loc);
        }
    } else if (n->type == YAML_SEQUENCE_NODE) {
        if (ydoc_deeper(p, n)) {
            v = ast_value(p->a, VAL_LIST, loc);
            for (yaml_node_item_t *i = n->data.sequence.items.start;
                 i < n->data.sequence.items.top && !halted(p); i++) {
                yaml_node_t *item = node_at(p, *i);
                AstValue *iv = item ? value(p, item, NULL, loc) : NULL;
                if (iv)
                    ptrvec_push(p->a, &v->items, iv);
            }
            p->depth--;
        }
    } else {
        if (key)
            diag_error(p->d, loc, "expected a value for '%s', found %s", key, ydoc_describe(p, n));
        else
            diag_error(p->d, loc, "expected a value, found %s", ydoc_describe(p, n));
    }
    ydoc_leave(p, n);
    return v;
}

static void push_positional(YamlReader *p, PtrVec *args, yaml_node_t *n)
{
    AstValue *v = value(p, n, NULL, (SrcLoc){0});
    if (v)
        ptrvec_push(p->a, args, ast_arg(p->a, NULL, (SrcLoc){0}, v, v->loc));
}

/* One keyed argument per entry of mapping m. */
static void keyed_args(YamlReader *p, PtrVec *args, yaml_node_t *m)
{
    if (!ydoc_enter(p, m))
        return;
    YamlEntry *e;
    int n = ydoc_entries(p, m, &e);
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, e, i))
            continue;
        const char *colon = strchr(e[i].name, ':');
        if (colon && colon > e[i].name && colon[1] && is_null(e[i].val)) {
            /* `{out:8}`: YAML's one word, meant as `out: 8`; taken so (no "needs 'out'") */
            char *key = arena_strndup(p->a, e[i].name, (size_t)(colon - e[i].name));
            if (ast_is_name(key, false)) {
                diag_error(p->d, e[i].loc,
                           "'%s' is one word to YAML: a space goes after the ':' ('%s: %s')",
                           e[i].name, key, colon + 1);
                ptrvec_push(
                    p->a, args,
                    ast_arg(p->a, key, e[i].loc, ast_scalar(p->a, colon + 1, e[i].loc), e[i].loc));
                continue;
            }
        }
        if (!ast_is_name(e[i].name, false)) {
            diag_error(p->d, e[i].loc, "expected an argument name, found %s",
                       ydoc_describe(p, e[i].key));
            continue;
        }
        AstValue *v = value(p, e[i].val, e[i].name, e[i].loc);
        if (v)
            ptrvec_push(p->a, args,
                        ast_arg(p->a, e[i].name, e[i].loc, v, loc_span(e[i].loc, v->loc)));
    }
    ydoc_leave(p, m);
}

/* A layer's (or a train setting kind's) arguments from the value of its kind: `{in: 1, out: 32}`
 * gives keyed arguments, `2` one positional, `[2, 2]` one positional per element, `[32, k3,
 * {stride: 2}]` both, in their order, as the .net form reads them (MaxPool2d's `[{kernel: 2},
 * 1]` is `kernel=2 1`: the positional value takes the first attribute not given yet, the
 * stride),
 * nothing none. */
static void layer_args(YamlReader *p, AstStmt *s, yaml_node_t *v)
{
    if (v->type == YAML_MAPPING_NODE) {
        keyed_args(p, &s->args, v);
    } else if (v->type == YAML_SEQUENCE_NODE) {
        if (!ydoc_enter(p, v))
            return;
        for (yaml_node_item_t *i = v->data.sequence.items.start;
             i < v->data.sequence.items.top && !halted(p); i++) {
            yaml_node_t *item = node_at(p, *i);
            if (item && item->type == YAML_MAPPING_NODE)
                keyed_args(p, &s->args, item);
            else if (item)
                push_positional(p, &s->args, item);
        }
        ydoc_leave(p, v);
    } else if (!is_null(v)) {
        push_positional(p, &s->args, v);
    }
}

/* ---- layers ---- */

static void layer_list(YamlReader *p, PtrVec *body, yaml_node_t *seq, bool nested);

static bool check_name(YamlReader *p, const YamlEntry *e, const char *what)
{
    size_t n = strlen(e->name);
    if (ast_is_name(e->name, false) && n > AST_MAX_NAME) {
        diag_error(p->d, e->loc, "a name of %zu characters; names are at most %d", n, AST_MAX_NAME);
        return false;
    }
    if (ast_is_name(e->name, false))
        return true;
    diag_error(p->d, e->loc, "expected %s, found %s", what, ydoc_describe(p, e->key));
    return false;
}

/* The statement's extent: from its start to the end of v's text when that is on the same
 * line (a block collection starts on a later line and is not included). */
static SrcLoc stmt_loc(YamlReader *p, SrcLoc start, yaml_node_t *v)
{
    return loc_span(start, ydoc_loc_node(p, v));
}

/* `K: V` where K is not a layer kind and V a mapping with one entry K2: a named layer
 * `name: {Kind: args}` if K2 is a layer kind (or a misspelt one) or its value is a mapping
 * or nothing;
 * otherwise `UnknownKind: {attr: value}`, left for lowering to report. */
static bool is_named_layer(YamlReader *p, const char *name, yaml_node_t *v, YamlEntry **inner)
{
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return false;
    yaml_node_t *k2 = node_at(p, v->data.mapping.pairs.start->key);
    yaml_node_t *v2 = node_at(p, v->data.mapping.pairs.start->value);
    if (!k2 || !v2 || k2->type != YAML_SCALAR_NODE || is_empty(k2))
        return false;
    /* `fc: {Linaer: 10}`: a kind misspelt (lowering names it), not `Linaer` an attribute of
     * an unknown kind `fc` */
    bool misspelt = ir_layer_suggest(scalar(k2)) && !ir_layer_suggest(name);
    if (!(is_kind(p, scalar(k2)) || v2->type == YAML_MAPPING_NODE || is_null(v2) || misspelt))
        return false;
    if (!ydoc_enter(p, v))
        return true; /* *inner stays NULL: the caller gives up */
    if (ydoc_entries(p, v, inner) != 1 || !ydoc_entry_ok(p, *inner, 0))
        *inner = NULL;
    ydoc_leave(p, v);
    return true;
}

/* `name: {residual: [...]}`, `name: {branch: [...]}` or `name: {join: [...]}`: V a mapping
 * of one key that is a graph word. *inner is that entry (NULL after an error). */
static bool is_graph_entry(YamlReader *p, yaml_node_t *v, YamlEntry **inner)
{
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return false;
    yaml_node_t *k2 = node_at(p, v->data.mapping.pairs.start->key);
    if (!k2 || k2->type != YAML_SCALAR_NODE ||
        !(ast_is_block_word(scalar(k2)) || !strcmp(scalar(k2), AST_JOIN)))
        return false;
    if (!ydoc_enter(p, v))
        return true;
    if (ydoc_entries(p, v, inner) != 1 || !ydoc_entry_ok(p, *inner, 0))
        *inner = NULL;
    ydoc_leave(p, v);
    return true;
}

/* The entries of v, the mapping a form takes, entered (the caller leaves it with
 * ydoc_leave): -1 after an error, which for a node that is not a mapping says "SHAPE, found
 * WHAT" at v (at `at` when v is empty). */
static int form_entries(YamlReader *p, yaml_node_t *v, SrcLoc at, const char *shape, YamlEntry **e)
{
    if (v->type != YAML_MAPPING_NODE) {
        diag_error(p->d, is_empty(v) ? at : ydoc_loc_node(p, v), "%s, found %s", shape,
                   ydoc_describe(p, v));
        return -1;
    }
    return ydoc_enter(p, v) ? ydoc_entries(p, v, e) : -1;
}

/* `{count: N, as: i, layers: [...]}`, the value of `repeat`: s becomes `repeat N as i { ... }`. */
static void repeat_body(YamlReader *p, AstStmt *s, yaml_node_t *v, SrcLoc at)
{
    s->has_block = true;
    YamlEntry *e;
    int n = form_entries(p, v, at, "'repeat' takes {count: N, as: NAME, layers: [...]}", &e);
    if (n < 0)
        return;
    AstArg *count = NULL, *as = NULL;
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, e, i))
            continue;
        if (!strcmp(e[i].name, "count") || !strcmp(e[i].name, "as")) {
            AstValue *val = value(p, e[i].val, e[i].name, e[i].loc);
            if (!val)
                continue;
            AstArg *a = ast_arg(p->a, NULL, (SrcLoc){0}, val, val->loc);
            if (!strcmp(e[i].name, "count"))
                count = a;
            else
                as = a;
        } else if (!strcmp(e[i].name, "layers")) {
            if (e[i].val->type == YAML_SEQUENCE_NODE)
                layer_list(p, &s->body, e[i].val, true);
            else
                diag_error(p->d, ydoc_loc_node(p, e[i].val),
                           "'layers' takes a list of layers, found %s", ydoc_describe(p, e[i].val));
        } else {
            diag_error(p->d, e[i].loc, "'repeat' has no '%s': it takes count, as and layers",
                       e[i].name);
        }
    }
    ydoc_leave(p, v);
    if (count)
        ptrvec_push(p->a, &s->args, count);
    if (as) { /* as the .net syntax writes it: repeat N as i */
        AstValue *w = ast_value(p->a, VAL_IDENT, as->loc);
        w->s = "as";
        ptrvec_push(p->a, &s->args, ast_arg(p->a, NULL, (SrcLoc){0}, w, as->loc));
        ptrvec_push(p->a, &s->args, as);
    }
}

/* `{cond: (c), layers: [...]}`, the value of `if`: s becomes `if (c) { ... }`. */
static void if_body(YamlReader *p, AstStmt *s, yaml_node_t *v, SrcLoc at)
{
    s->has_block = true;
    YamlEntry *e;
    int n = form_entries(p, v, at, "'if' takes {cond: (CONDITION), layers: [...]}", &e);
    if (n < 0)
        return;
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, e, i))
            continue;
        if (!strcmp(e[i].name, "cond")) {
            AstValue *c = value(p, e[i].val, e[i].name, e[i].loc);
            if (c)
                ptrvec_push(p->a, &s->args, ast_arg(p->a, NULL, (SrcLoc){0}, c, c->loc));
        } else if (!strcmp(e[i].name, "layers") && e[i].val->type == YAML_SEQUENCE_NODE) {
            layer_list(p, &s->body, e[i].val, true);
        } else {
            diag_error(p->d, e[i].loc, "'if' takes cond and layers (a list), found '%s'",
                       e[i].name);
        }
    }
    ydoc_leave(p, v);
}

/* `name: {repeat: {...}}`: V a mapping of the one key repeat. */
static bool is_keyword_entry(YamlReader *p, yaml_node_t *v, const char *word, YamlEntry **inner)
{
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return false;
    yaml_node_t *k2 = node_at(p, v->data.mapping.pairs.start->key);
    if (!k2 || k2->type != YAML_SCALAR_NODE || strcmp(scalar(k2), word) != 0)
        return false;
    if (!ydoc_enter(p, v))
        return true;
    if (ydoc_entries(p, v, inner) != 1 || !ydoc_entry_ok(p, *inner, 0))
        *inner = NULL;
    ydoc_leave(p, v);
    return true;
}

/* A list that starts with a number (`Conv: [8, k3]`): the arguments of a layer whose kind
 * is misspelt (a template's too), which no list of layers is; lowering then names the kind
 * with a "did you mean", as for the .net form, not the group's numbers one by one. */
static bool args_list(YamlReader *p, yaml_node_t *v)
{
    yaml_node_item_t *first = v->data.sequence.items.start;
    yaml_node_t *f = first < v->data.sequence.items.top ? node_at(p, *first) : NULL;
    if (!f || f->type != YAML_SCALAR_NODE || is_null(f))
        return false;
    AstValue n;
    return ast_parse_number(&n, scalar(f));
}

/* A one-key layer entry `K: V`. */
static AstStmt *layer_entry(YamlReader *p, const YamlEntry *e)
{
    if (!check_name(p, e, "a layer kind or name"))
        return NULL;
    yaml_node_t *v = e->val;
    AstStmt *s = ast_stmt(p->a, stmt_loc(p, e->loc, v));
    YamlEntry *inner = NULL;
    if (!strcmp(e->name, AST_IF)) {
        s->head = e->name; /* if: {cond: (stride != 1), layers: [...]} */
        s->head_loc = e->loc;
        if_body(p, s, v, e->loc);
    } else if (!strcmp(e->name, AST_REPEAT)) {
        s->head = e->name; /* repeat: {count: 3, layers: [...]} */
        s->head_loc = e->loc;
        repeat_body(p, s, v, e->loc);
    } else if (is_keyword_entry(p, v, AST_REPEAT, &inner) ||
               is_keyword_entry(p, v, AST_IF, &inner)) {
        if (!inner)
            return NULL;
        s->label = e->name; /* stage1: {repeat: {count: 3, as: i, layers: [...]}} */
        s->label_loc = e->loc;
        s->head = inner->name;
        s->head_loc = inner->loc;
        if (!strcmp(inner->name, AST_IF)) /* x: {if: ...}: lowering says an if has no name */
            if_body(p, s, inner->val, inner->loc);
        else
            repeat_body(p, s, inner->val, inner->loc);
    } else if (!strcmp(e->name, AST_JOIN)) {
        s->head = e->name; /* join: [add, a, b] */
        s->head_loc = e->loc;
        layer_args(p, s, v);
    } else if (is_graph_entry(p, v, &inner)) {
        if (!inner)
            return NULL;
        s->label = e->name; /* block1: {residual: [...]}, b1: {branch: [...]}, j: {join: [...]} */
        s->label_loc = e->loc;
        s->head = inner->name;
        s->head_loc = inner->loc;
        if (!strcmp(inner->name, AST_JOIN)) {
            layer_args(p, s, inner->val);
        } else {
            s->has_block = true;
            if (inner->val->type == YAML_SEQUENCE_NODE)
                layer_list(p, &s->body, inner->val, true);
            else if (!is_null(inner->val))
                diag_error(p->d, ydoc_loc_node(p, inner->val),
                           "'%s' takes a list of layers, found %s", inner->name,
                           ydoc_describe(p, inner->val));
        }
    } else if (is_kind(p, e->name)) {
        s->head = e->name; /* Conv2d: {in: 1, out: 32} */
        s->head_loc = e->loc;
        layer_args(p, s, v);
    } else if (v->type == YAML_SEQUENCE_NODE && !args_list(p, v)) {
        s->head = e->name; /* layer1: [...] */
        s->head_loc = e->loc;
        s->has_block = true;
        layer_list(p, &s->body, v, true);
    } else if (is_named_layer(p, e->name, v, &inner)) {
        if (!inner || !check_name(p, inner, "a layer kind"))
            return NULL;
        s->label = e->name; /* fc: {Linear: {out: 10}} */
        s->label_loc = e->loc;
        s->head = inner->name;
        s->head_loc = inner->loc;
        layer_args(p, s, inner->val);
    } else if (v->type == YAML_SCALAR_NODE && ast_is_name(scalar(v), false)) {
        s->label = e->name; /* act: ReLU */
        s->label_loc = e->loc;
        s->head = arena_strdup(p->a, scalar(v));
        s->head_loc = ydoc_loc_node(p, v);
    } else {
        s->head = e->name; /* Conv2dd: {in: 1, out: 32}: lowering reports the kind */
        s->head_loc = e->loc;
        layer_args(p, s, v);
    }
    return s;
}

/* `Conv2d 1->32 k3`: the .net syntax written in YAML. */
static bool first_word_is_kind(YamlReader *p, const char *s)
{
    size_t n = strcspn(s, " \t");
    return s[n] && is_kind(p, arena_strndup(p->a, s, n));
}

/* One item of a layer list: `ReLU`, `Conv2d: {...}`, `layer1: [...]`, `fc: {Linear: ...}`. */
static AstStmt *layer_item(YamlReader *p, yaml_node_t *item)
{
    if (!ydoc_enter(p, item))
        return NULL;
    AstStmt *s = NULL;
    SrcLoc loc = ydoc_loc_node(p, item);
    if (item->type == YAML_SCALAR_NODE) {
        if (is_null(item)) {
            diag_error(p->d, loc, "expected a layer, found nothing");
        } else if (!ast_is_name(scalar(item), true)) { /* dotted, as .net's words: lowering
                                                          tells, unless an if skips it */
            diag_error(p->d, loc, "expected a layer kind or name, found %s",
                       ydoc_describe(p, item));
            if (first_word_is_kind(p, scalar(item)))
                diag_hint(p->d, loc,
                          "give a layer's arguments as a mapping, e.g. "
                          "'Conv2d: {in: 1, out: 32, kernel: 3}'");
        } else {
            s = ast_stmt(p->a, loc);
            s->head = arena_strdup(p->a, scalar(item));
            s->head_loc = loc;
        }
    } else if (item->type == YAML_SEQUENCE_NODE) {
        diag_error(p->d, loc, "expected a layer, found a list");
        diag_hint(p->d, loc, "a group needs a name: '- block1: [...]'");
    } else {
        YamlEntry *e;
        int n = ydoc_entries(p, item, &e);
        if (n == 1) {
            if (ydoc_entry_ok(p, e, 0))
                s = layer_entry(p, &e[0]);
        } else if (n == 0) {
            diag_error(p->d, loc, "expected a layer, found an empty mapping");
        } else {
            diag_error(p->d, loc,
                       "a layer entry has one key (the layer kind or a name), found %d keys", n);
            /* - Linear: {out: 10}
             *   ReLU:       (a second layer without its '- ') */
            int kinds = 0;
            for (int i = 0; i < n && kinds < 2; i++) {
                if (e[i].name && is_kind(p, e[i].name) && ++kinds == 2)
                    diag_hint(p->d, e[i].loc, "start each layer with '- ': '- %s'", e[i].name);
            }
            /* - Conv2d:
             *   in: 1       (arguments not indented under the kind) */
            for (int i = 0; i < n - 1 && kinds < 2; i++) {
                if (e[i].name && is_kind(p, e[i].name) && is_null(e[i].val)) {
                    diag_hint(p->d, e[i].loc, "indent the arguments under '%s:'", e[i].name);
                    break;
                }
            }
        }
    }
    ydoc_leave(p, item);
    return s;
}

/* The items of a layer list: the top-level `layers`, or a group's body (nested). */
static void layer_list(YamlReader *p, PtrVec *body, yaml_node_t *seq, bool nested)
{
    if (!ydoc_enter(p, seq))
        return;
    if (!nested || ydoc_deeper(p, seq)) {
        for (yaml_node_item_t *i = seq->data.sequence.items.start;
             i < seq->data.sequence.items.top && !halted(p); i++) {
            yaml_node_t *item = node_at(p, *i);
            AstStmt *s = item ? layer_item(p, item) : NULL;
            if (s)
                ptrvec_push(p->a, body, s);
        }
        p->depth -= nested;
    }
    ydoc_leave(p, seq);
}

/* ---- train settings ---- */

/* Whether mapping v under setting `key` names two of its kinds (`optimizer: {Adam: {...},
 * SGD: {}}`): the first two into kinds[2]. */
static bool two_kinds(YamlReader *p, const char *key, yaml_node_t *v, const char *kinds[2])
{
    const Setting *st = ir_setting_find(key);
    int found = 0;
    for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
         st && st->kinds[0].name && q < v->data.mapping.pairs.top && found < 2; q++) {
        yaml_node_t *k = node_at(p, q->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        for (int i = 0; i < st->nkinds; i++)
            if (strlen(st->kinds[i].name) == k->data.scalar.length &&
                !strncasecmp(st->kinds[i].name, scalar(k), k->data.scalar.length))
                kinds[found++] = st->kinds[i].name;
    }
    return found == 2;
}

/* A key of a setting's mapping that is another train setting and none of this one's values
 * (`optimizer:` then `Adam: {..}` and `batch: 100` one indentation too deep); NULL when none. */
static yaml_node_t *setting_inside(YamlReader *p, const char *key, yaml_node_t *v)
{
    const Setting *st = ir_setting_find(key);
    for (yaml_node_pair_t *q = v->data.mapping.pairs.start; st && q < v->data.mapping.pairs.top;
         q++) {
        yaml_node_t *k = node_at(p, q->key);
        if (k && k->type == YAML_SCALAR_NODE && ir_setting_find(scalar(k)) &&
            !ir_setting_has_value(st, NULL, scalar(k)))
            return k;
    }
    return NULL;
}

/* Whether list v holds a mapping: then it is arguments, positional and keyed in order. */
static bool has_mapping_item(YamlReader *p, yaml_node_t *v)
{
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *item = node_at(p, *i);
        if (item && item->type == YAML_MAPPING_NODE)
            return true;
    }
    return false;
}

/* Whether a list is the values of setting `key` (a kind-less one whose first value is a
 * number, as clip_grad_norm's: [1, inf] is max_norm and norm_type), not its first value
 * alone (normalize's mean: [0.5, 0.4, 0.3]). */
static bool list_is_values(const char *key)
{
    const Setting *st = ir_setting_find(key);
    if (!st || st->nkinds != 1 || st->kinds[0].name || !st->kinds[0].positional[0])
        return false;
    for (int i = 0; i < st->kinds[0].nvalues; i++) {
        const AttrSpec *a = &st->kinds[0].values[i].spec;
        if (!strcmp(a->name, st->kinds[0].positional[0]))
            return a->type == ATTR_INT || a->type == ATTR_FLOAT || a->type == ATTR_BOOL;
    }
    return false;
}

/* `K: V` in train: `batch: 100`, `milestones: [2, 5]`, `normalize: {mean: .., std: ..}`,
 * and for settings that name a kind, `optimizer: {Adam: {lr: 0.001}}` -> Adam lr=0.001,
 * `schedule: {StepLR: 5}` -> StepLR 5, `schedule: {StepLR: [5, {gamma: 0.5}]}` -> StepLR 5
 * gamma=0.5. */
static AstStmt *train_entry(YamlReader *p, const YamlEntry *e)
{
    if (!check_name(p, e, "a setting name"))
        return NULL;
    yaml_node_t *v = e->val;
    AstStmt *s = ast_stmt(p->a, stmt_loc(p, e->loc, v));
    s->head = e->name;
    s->head_loc = e->loc;
    if (v->type == YAML_MAPPING_NODE) {
        const char *kind2[2];
        if (two_kinds(p, e->name, v, kind2)) {
            diag_error(p->d, stmt_loc(p, e->loc, v), "'%s' takes one kind, got '%s' and '%s'",
                       e->name, kind2[0], kind2[1]);
            return NULL;
        }
        yaml_node_t *slip = setting_inside(p, e->name, v);
        if (slip) {
            diag_error(p->d, ydoc_loc_node(p, slip),
                       "'%s' is a train setting, but it is indented under '%s' and read as "
                       "one of its arguments",
                       scalar(slip), e->name);
            diag_hint(p->d, ydoc_loc_node(p, slip), "indent it as '%s', one setting a line",
                      e->name);
            return NULL;
        }
        if (!setting_has_kind(e->name) ||
            v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1) {
            keyed_args(p, &s->args, v);
            return s;
        }
        if (!ydoc_enter(p, v))
            return s;
        YamlEntry *inner;
        if (ydoc_entries(p, v, &inner) == 1 && ydoc_entry_ok(p, inner, 0)) {
            push_positional(p, &s->args, inner->key);
            yaml_node_t *v2 = inner->val;
            if (v2->type == YAML_MAPPING_NODE) {
                keyed_args(p, &s->args, v2);
            } else if (v2->type == YAML_SEQUENCE_NODE && has_mapping_item(p, v2)) {
                /* [[2, 5], {gamma: 0.5}]: positional and keyed values in order, as a layer's;
                 * a list without a mapping is one value ([2, 5]: milestones) */
                layer_args(p, s, v2);
            } else if (!is_null(v2)) {
                push_positional(p, &s->args, v2);
            }
        }
        ydoc_leave(p, v);
    } else if (v->type == YAML_SEQUENCE_NODE &&
               (has_mapping_item(p, v) || list_is_values(e->name))) {
        layer_args(p, s, v); /* clip_grad_norm: [1, {norm_type: inf}], or [1, inf] */
    } else if (!is_null(v)) {
        push_positional(p, &s->args, v);
    }
    return s;
}

/* ---- the top level ---- */

static const char *const top_keys[] = {"network",   "input",  "params",
                                       "templates", "layers", "train"};

/* `templates: {basic: {params: [planes, {stride: 1}], layers: [...]}}`: each becomes the
 * .net statement `template basic planes stride=1 { ... }`, pushed onto body. */
static void top_templates(YamlReader *p, PtrVec *body, const YamlEntry *e)
{
    YamlEntry *t;
    int n = form_entries(p, e->val, e->loc,
                         "'templates' must be a mapping of names to {params: [...], layers: "
                         "[...]}",
                         &t);
    if (n < 0)
        return;
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, t, i))
            continue;
        AstStmt *s = ast_stmt(p->a, t[i].loc);
        s->head = AST_TEMPLATE;
        s->head_loc = t[i].loc;
        s->has_block = true;
        AstValue *name = ast_value(p->a, VAL_IDENT, t[i].loc);
        name->s = t[i].name;
        ptrvec_push(p->a, &s->args, ast_arg(p->a, NULL, (SrcLoc){0}, name, t[i].loc));
        yaml_node_t *v = t[i].val;
        YamlEntry *f;
        int nf = form_entries(
            p, v, t[i].loc,
            arena_printf(p->a, "template '%s' must be {params: [...], layers: [...]}", t[i].name),
            &f);
        if (nf < 0)
            continue;
        for (int j = 0; j < nf && !halted(p); j++) {
            if (!ydoc_entry_ok(p, f, j))
                continue;
            if (!strcmp(f[j].name, "layers") && f[j].val->type == YAML_SEQUENCE_NODE) {
                layer_list(p, &s->body, f[j].val, true);
            } else if (!strcmp(f[j].name, "params") && f[j].val->type == YAML_SEQUENCE_NODE) {
                /* a name (required), or {name: default} */
                for (yaml_node_item_t *it = f[j].val->data.sequence.items.start;
                     it < f[j].val->data.sequence.items.top; it++) {
                    yaml_node_t *pn = node_at(p, *it);
                    YamlEntry *d;
                    if (pn && pn->type == YAML_MAPPING_NODE && ydoc_enter(p, pn)) {
                        if (ydoc_entries(p, pn, &d) == 1 && ydoc_entry_ok(p, d, 0)) {
                            AstValue *dv = value(p, d[0].val, d[0].name, d[0].loc);
                            if (dv)
                                ptrvec_push(p->a, &s->args,
                                            ast_arg(p->a, d[0].name, d[0].loc, dv,
                                                    loc_span(d[0].loc, dv->loc)));
                        } else {
                            diag_error(p->d, ydoc_loc_node(p, pn),
                                       "a template parameter is a name or {name: default}");
                        }
                        ydoc_leave(p, pn);
                    } else if (pn) {
                        AstValue *nv = value(p, pn, NULL, t[i].loc);
                        if (nv)
                            ptrvec_push(p->a, &s->args,
                                        ast_arg(p->a, NULL, (SrcLoc){0}, nv, nv->loc));
                    }
                }
            } else {
                diag_error(p->d, f[j].loc,
                           "template '%s' takes params (a list) and layers (a list), found '%s'",
                           t[i].name, f[j].name);
            }
        }
        ydoc_leave(p, v);
        ptrvec_push(p->a, body, s);
    }
    ydoc_leave(p, e->val);
}

/* The names of the templates (`templates:` at the top level), known before any layer is
 * read: a use is read as a layer is. */
static void template_names(YamlReader *p, yaml_node_t *root)
{
    for (yaml_node_pair_t *kv = root->data.mapping.pairs.start; kv < root->data.mapping.pairs.top;
         kv++) {
        yaml_node_t *k = node_at(p, kv->key), *v = node_at(p, kv->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE || strcmp(scalar(k), "templates") != 0 ||
            v->type != YAML_MAPPING_NODE)
            continue;
        size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        p->templates = arena_alloc(p->a, sizeof(char *) * (n + 1));
        for (yaml_node_pair_t *t = v->data.mapping.pairs.start; t < v->data.mapping.pairs.top;
             t++) {
            yaml_node_t *tk = node_at(p, t->key);
            if (tk && tk->type == YAML_SCALAR_NODE && !is_empty(tk))
                p->templates[p->ntemplates++] = arena_strdup(p->a, scalar(tk));
        }
        return; /* a second `templates` is a duplicate key, reported as one */
    }
}

/* `params: {width: 16, lr: 0.1}`: the network's parameters, as the .net `params` block (a
 * statement per name, its default the one argument). */
static AstStmt *top_params(YamlReader *p, const YamlEntry *e)
{
    YamlEntry *t;
    int n = form_entries(p, e->val, e->loc,
                         "'params' must be a mapping of names to defaults, like {width: 16}", &t);
    if (n < 0)
        return NULL;
    AstStmt *ps = ast_stmt(p->a, e->loc);
    ps->head = AST_PARAMS;
    ps->head_loc = e->loc;
    ps->has_block = true;
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, t, i))
            continue;
        AstValue *v = value(p, t[i].val, t[i].name, t[i].loc);
        if (!v)
            continue;
        AstStmt *s = ast_stmt(p->a, loc_span(t[i].loc, v->loc));
        s->head = t[i].name;
        s->head_loc = t[i].loc;
        ptrvec_push(p->a, &s->args, ast_arg(p->a, NULL, (SrcLoc){0}, v, v->loc));
        ptrvec_push(p->a, &ps->body, s);
    }
    ydoc_leave(p, e->val);
    return ps;
}

/* What a value is, for "found ..." in messages. */
static const char *describe_value(YamlReader *p, const AstValue *v)
{
    if (v->kind == VAL_LIST)
        return v->items.len ? "a list" : "an empty list";
    return arena_printf(p->a, "'%s'", v->s);
}

/* `input: [1, 28, 28]`, `input: 1x28x28` or `input: 784`: a list of integers. */
static void top_input(YamlReader *p, AstNet *net, const YamlEntry *e)
{
    /* a bad one is still given: the header keeps it (marked), so that lowering does not say
     * the input is missing too */
    AstValue *given = ast_bad_value(p->a, e->loc);
    if (e->val->type == YAML_MAPPING_NODE || is_empty(e->val)) {
        diag_error(p->d, e->val->type == YAML_MAPPING_NODE ? ydoc_loc_node(p, e->val) : e->loc,
                   "'input' must be a shape like [1, 28, 28] or 1x28x28, found %s",
                   ydoc_describe(p, e->val));
        ptrvec_push(p->a, &net->header, ast_arg(p->a, "input", e->loc, given, e->loc));
        return;
    }
    AstValue *v = value(p, e->val, e->name, e->loc);
    if (!v || halted(p)) {
        ptrvec_push(p->a, &net->header, ast_arg(p->a, "input", e->loc, given, e->loc));
        return;
    }
    if (v->kind == VAL_INT) {
        AstValue *list = ast_value(p->a, VAL_LIST, v->loc);
        ptrvec_push(p->a, &list->items, v);
        v = list;
    }
    const AstValue *bad = v->kind == VAL_LIST && v->items.len > 0 ? NULL : v;
    for (int i = 0; !bad && i < v->items.len; i++)
        if (((AstValue *)v->items.items[i])->kind != VAL_INT)
            bad = v->items.items[i];
    if (bad) {
        diag_error(p->d, bad->loc, "'input' must be a shape like [1, 28, 28] or 1x28x28, found %s",
                   describe_value(p, bad));
        if (bad->kind == VAL_STRING)
            diag_hint(p->d, bad->loc, "a quoted scalar is a string: write it without quotes");
        ptrvec_push(p->a, &net->header, ast_arg(p->a, "input", e->loc, given, e->loc));
        return;
    }
    ptrvec_push(p->a, &net->header, ast_arg(p->a, "input", e->loc, v, loc_span(e->loc, v->loc)));
}

static void top_level(YamlReader *p, AstNet *net, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        diag_error(p->d, ydoc_loc_node(p, root),
                   "the top level must be a mapping with 'network', 'input' and 'layers', "
                   "found %s",
                   ydoc_describe(p, root));
        return;
    }
    if (!ydoc_enter(p, root))
        return;
    YamlEntry *e;
    int n = ydoc_entries(p, root, &e);
    bool seen_network = false, seen_layers = false, misspelt_network = false;
    AstStmt *params = NULL;
    PtrVec templates = {0};
    template_names(p, root);
    for (int i = 0; i < n && !halted(p); i++) {
        if (!ydoc_entry_ok(p, e, i))
            continue;
        const char *k = e[i].name;
        yaml_node_t *v = e[i].val;
        if (!strcmp(k, "network")) {
            seen_network = true;
            if (v->type != YAML_SCALAR_NODE || is_empty(v) || !ast_is_name(scalar(v), false)) {
                diag_error(
                    p->d,
                    v->type == YAML_SCALAR_NODE && !is_empty(v) ? ydoc_loc_node(p, v) : e[i].loc,
                    "the network's name must be an identifier, found %s", ydoc_describe(p, v));
                continue;
            }
            net->name = arena_strdup(p->a, scalar(v));
            net->name_loc = ydoc_loc_node(p, v);
        } else if (!strcmp(k, "input")) {
            top_input(p, net, &e[i]);
        } else if (!strcmp(k, "params")) {
            params = top_params(p, &e[i]);
        } else if (!strcmp(k, "templates")) {
            top_templates(p, &templates, &e[i]);
        } else if (!strcmp(k, "include")) { /* include: FILE, or a list of them */
            AstValue *files = value(p, v, k, e[i].loc);
            for (int j = 0; files && j < (files->kind == VAL_LIST ? files->items.len : 1); j++) {
                AstValue *f = files->kind == VAL_LIST ? files->items.items[j] : files;
                if (f->kind == VAL_IDENT) /* a plain blocks.yaml is a file name, written quoted */
                    f->kind = VAL_STRING;
                AstStmt *inc = ast_stmt(p->a, loc_span(e[i].loc, f->loc));
                inc->head = AST_INCLUDE;
                inc->head_loc = e[i].loc;
                ptrvec_push(p->a, &inc->args, ast_arg(p->a, NULL, (SrcLoc){0}, f, f->loc));
                ptrvec_push(p->a, &net->top, inc);
            }
        } else if (!strcmp(k, "layers")) {
            seen_layers = true;
            if (v->type != YAML_SEQUENCE_NODE) {
                diag_error(p->d,
                           v->type == YAML_SCALAR_NODE && is_empty(v) ? e[i].loc
                                                                      : ydoc_loc_node(p, v),
                           "'layers' must be a list of layers, found %s", ydoc_describe(p, v));
                continue;
            }
            layer_list(p, &net->body, v, false);
        } else if (!strcmp(k, "train")) {
            if (v->type != YAML_MAPPING_NODE && !is_null(v)) {
                diag_error(p->d, ydoc_loc_node(p, v),
                           "'train' must be a mapping of settings, found %s", ydoc_describe(p, v));
                continue;
            }
            net->has_train = true;
            net->train_loc = e[i].loc;
            if (v->type != YAML_MAPPING_NODE || !ydoc_enter(p, v))
                continue;
            YamlEntry *t;
            int tn = ydoc_entries(p, v, &t);
            for (int j = 0; j < tn && !halted(p); j++) {
                if (!ydoc_entry_ok(p, t, j))
                    continue;
                AstStmt *s = train_entry(p, &t[j]);
                if (s)
                    ptrvec_push(p->a, &net->train, s);
            }
            ydoc_leave(p, v);
        } else {
            diag_error(p->d, e[i].loc,
                       "unknown top-level key '%s' (expected 'network', 'input', 'params', "
                       "'templates', 'include', 'layers' or 'train')",
                       k);
            Suggest sug;
            suggest_init(&sug, k, false);
            for (size_t j = 0; j < sizeof top_keys / sizeof *top_keys; j++)
                suggest_add(&sug, top_keys[j]);
            diag_suggest(p->d, e[i].loc, &sug);
            /* `netwrk: e`: told once, not again as a missing 'network' */
            misspelt_network |= suggest_best(&sug) && !strcmp(suggest_best(&sug), "network");
        }
    }
    ydoc_leave(p, root);
    if (params || templates.len) { /* first, as the .net syntax has them */
        PtrVec body = {0};
        if (params)
            ptrvec_push(p->a, &body, params);
        for (int i = 0; i < templates.len; i++)
            ptrvec_push(p->a, &body, templates.items[i]);
        for (int i = 0; i < net->body.len; i++)
            ptrvec_push(p->a, &body, net->body.items[i]);
        net->body = body;
    }
    if (halted(p))
        return;
    if (p->f->included_from) /* an included file gives params and templates only */
        return;
    if (!seen_network && !misspelt_network)
        diag_error(p->d, loc_point(net->loc),
                   "missing 'network': expected 'network: NAME' at "
                   "the top level");
    if (!seen_layers)
        diag_error(p->d, loc_point(net->loc),
                   "missing 'layers': expected a list of layers "
                   "under 'layers:' at the top level");
}

AstNet *parse_yaml(Arena *a, const SrcFile *f, Diag *d)
{
    return parse_yaml_with(a, f, NULL, 0, d);
}

AstNet *parse_yaml_with(Arena *a, const SrcFile *f, const char *const *templates, int ntemplates,
                        Diag *d)
{
    AstNet *net = arena_alloc(a, sizeof *net);
    net->file = f;
    net->yaml = true;
    YamlReader p = {.a = a, .f = f, .d = d, .known = templates, .nknown = ntemplates};
    YamlScan sc = {0};
    ydoc_scan(f, &sc);
    if (sc.deep_doc == 1) {
        size_t off = ydoc_byte_of_index(&p, sc.deep_mark.index);
        diag_error(d, loc_point(ydoc_loc_bytes(&p, off, off + 1)), "nesting deeper than %d levels",
                   AST_MAX_DEPTH);
        goto out;
    }
    yaml_parser_t y;
    if (!yaml_parser_initialize(&y)) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory while reading YAML", f->name);
        goto out;
    }
    yaml_parser_set_input_string(&y, (const unsigned char *)f->text, f->len);
    yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
    yaml_document_t doc;
    if (!yaml_parser_load(&y, &doc)) {
        ydoc_problem(&p, &y);
        goto done;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        diag_error(d, (SrcLoc){f, 1, 1, 1}, "empty file: expected a network");
        yaml_document_delete(&doc);
        goto done;
    }
    p.doc = &doc;
    p.nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
    p.budget = (long)p.nnodes + YAML_ALIAS_BUDGET;
    p.on_path = calloc(p.nnodes, 1);
    if (!p.on_path)
        abort();
    net->loc = ydoc_loc_marks(&p, doc.start_mark, doc.end_mark);
    if (ydoc_check_nodes(&p) && ydoc_merge(&p))
        top_level(&p, net, root);
    free(p.on_path);
    yaml_document_delete(&doc);
    p.doc = NULL;
    if (diag_full(d))
        goto done;
    /* a second document */
    if (sc.deep_doc == 2) {
        diag_error(d, ydoc_loc_marks(&p, sc.doc2_start, sc.doc2_end),
                   "a net file holds one YAML document, found a second one");
        goto done;
    }
    if (!yaml_parser_load(&y, &doc)) {
        ydoc_problem(&p, &y);
        goto done;
    }
    if (yaml_document_get_root_node(&doc))
        diag_error(d, ydoc_loc_marks(&p, doc.start_mark, doc.end_mark),
                   "a net file holds one YAML document, found a second one");
    yaml_document_delete(&doc);
done:
    yaml_parser_delete(&y);
out:
    free(p.line_byte);
    free(p.ckpt);
    return net;
}
