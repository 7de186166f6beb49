/* yaml.c: the YAML front end. Reads a net written in YAML into the same AST as parser.y.
 *
 * Design choice: libyaml's document API loads the whole document first (a YAML syntax error
 * is therefore one diagnostic and no AST), then one recursive walk maps YAML shapes onto the
 * uniform AstStmt. Which shape a one-key mapping is (a layer with arguments, a named group,
 * a named layer) is decided by is_layer_kind() alone, and an unknown kind is passed on
 * as a layer head rather than rejected here, so that lowering, which owns the layer list,
 * reports it with its did-you-mean hint exactly as it does for the .net syntax.
 *
 * Locations: libyaml marks count characters (code points); SrcLoc counts bytes, and lines
 * the way the diagnostic printer does ('\n' only). Every mark goes through its character
 * index: index -> byte offset -> line and column. The input is forced to UTF-8, so the
 * mapping is exact. Aliases share nodes; the walk guards against alias cycles (a node on the
 * current path) and alias bombs (a budget of nodes visited). */
#include "ast.h"
#include "ir.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Node visits allowed on top of the document's own node count: room for aliases. */
#define ALIAS_BUDGET 100000

typedef struct Entry {
    yaml_node_t *key, *val;
    const char *name; /* the key's text; NULL if the key is not a scalar or is empty */
    SrcLoc loc;       /* the key's location */
    int dup_of;       /* index of the earlier entry with the same key, or -1 */
} Entry;

typedef struct P {
    Arena *a;
    const SrcFile *f;
    Diag *d;
    yaml_document_t *doc;
    /* built on first use */
    size_t *line_byte, nlines; /* byte offset of each line's start */
    size_t *ckpt, nckpt;       /* see build_tables() */
    unsigned char *on_path;    /* per document node: being walked (alias cycle check) */
    size_t nnodes;
    long budget; /* node visits left */
    int depth;   /* AST nesting: groups and lists */
    bool stop;   /* nesting or alias limit hit: unwind without further messages */
} P;

/* ---- locations ---- */

static bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Every CKPT-th character's byte offset, so that a character index maps to bytes in a
 * short walk even on a long line. */
#define CKPT 64

static void build_tables(P *p)
{
    if (p->line_byte)
        return;
    const unsigned char *t = (const unsigned char *)p->f->text;
    size_t n = p->f->len, lines = 1, chars = 0;
    for (size_t i = 0; i < n; i++) {
        lines += t[i] == '\n';
        chars += !is_cont(t[i]);
    }
    p->line_byte = malloc(lines * sizeof *p->line_byte);
    p->ckpt = malloc((chars / CKPT + 1) * sizeof *p->ckpt);
    if (!p->line_byte || !p->ckpt)
        abort();
    size_t line = 0, c = 0;
    p->line_byte[0] = p->ckpt[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_cont(t[i])) {
            if (c % CKPT == 0)
                p->ckpt[c / CKPT] = i;
            c++;
        }
        if (t[i] == '\n')
            p->line_byte[++line] = i + 1;
    }
    p->nlines = lines;
    p->nckpt = chars / CKPT + 1;
}

/* The last line starting at or before byte off. */
static size_t line_of(P *p, size_t off)
{
    size_t lo = 0, hi = p->nlines;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->line_byte[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t byte_of_index(P *p, size_t idx)
{
    build_tables(p);
    size_t k = idx / CKPT;
    if (k >= p->nckpt)
        return p->f->len;
    size_t off = p->ckpt[k], c = k * CKPT;
    const unsigned char *t = (const unsigned char *)p->f->text;
    for (; off < p->f->len; off++) {
        if (!is_cont(t[off])) {
            if (c == idx)
                break;
            c++;
        }
    }
    return off;
}

/* Location of bytes [off, end), cut at the end of the first line, trailing blanks dropped. */
static SrcLoc loc_bytes(P *p, size_t off, size_t end)
{
    build_tables(p);
    const char *t = p->f->text;
    if (off > p->f->len)
        off = p->f->len;
    if (end > p->f->len)
        end = p->f->len;
    size_t line = line_of(p, off);
    size_t stop = off;
    if (end < off)
        end = off;
    if (end - off > 4096) /* the printer shows 200 at most */
        end = off + 4096;
    while (stop < end && t[stop] != '\n' && t[stop] != '\r')
        stop++;
    while (stop > off && (t[stop - 1] == ' ' || t[stop - 1] == '\t'))
        stop--;
    SrcLoc loc = {p->f, (int)line + 1, (int)(off - p->line_byte[line]) + 1, (int)(stop - off)};
    if (loc.len < 1)
        loc.len = 1;
    return loc;
}

static SrcLoc loc_marks(P *p, yaml_mark_t s, yaml_mark_t e)
{
    size_t off = byte_of_index(p, s.index);
    size_t end = e.index > s.index ? byte_of_index(p, e.index) : off;
    return loc_bytes(p, off, end);
}

static SrcLoc loc_node(P *p, const yaml_node_t *n)
{
    return loc_marks(p, n->start_mark, n->end_mark);
}

static SrcLoc loc_point(SrcLoc l)
{
    l.len = 1;
    return l;
}

/* ---- node helpers ---- */

static bool is_layer_kind(const char *word) { return ir_layer_find(word) != NULL; }

static yaml_node_t *node_at(P *p, int id) { return yaml_document_get_node(p->doc, id); }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static bool is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* An empty plain scalar or `~`: "nothing" wherever a value is expected. */
static bool is_empty(const yaml_node_t *n)
{
    return is_plain(n) && (!*scalar(n) || !strcmp(scalar(n), "~"));
}

/* YAML's null, where the shape of the file is concerned (`layer1:`, `train: null`). */
static bool is_null(const yaml_node_t *n)
{
    if (is_empty(n))
        return true;
    if (!is_plain(n))
        return false;
    const char *s = scalar(n);
    return !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static bool is_alpha_(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* [A-Za-z_][A-Za-z0-9_]* (dots too if allowed: they separate parameter names, so names
 * of layers and groups may not have them). */
static bool is_ident(const char *s, bool dots)
{
    if (!is_alpha_(*s))
        return false;
    for (s++; *s; s++)
        if (!is_alpha_(*s) && !is_digit(*s) && !(dots && *s == '.'))
            return false;
    return true;
}

/* What a node is, for "found ..." in messages. */
static const char *describe(P *p, const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        if (is_empty(n))
            return "nothing";
        const char *s = scalar(n);
        size_t len = strcspn(s, "\r\n");
        bool cut = len > 40 || s[len];
        if (len > 40)
            len = 40;
        return arena_printf(p->a, "'%.*s%s'", (int)len, s, cut ? "..." : "");
    }
    case YAML_SEQUENCE_NODE:
        return n->data.sequence.items.top == n->data.sequence.items.start ? "an empty list"
                                                                          : "a list";
    case YAML_MAPPING_NODE:
        return n->data.mapping.pairs.top == n->data.mapping.pairs.start ? "an empty mapping"
                                                                        : "a mapping";
    default: return "nothing";
    }
}

static bool halted(P *p) { return p->stop || diag_full(p->d); }

/* Counts a visit of n and, for a collection, marks it as on the current path. Reports an
 * alias cycle (n already on the path) or an exhausted budget. leave() undoes it. */
static bool enter(P *p, yaml_node_t *n)
{
    if (halted(p))
        return false;
    if (--p->budget < 0) {
        diag_error(p->d, loc_node(p, n), "aliases expand to more than %d extra nodes",
                   ALIAS_BUDGET);
        p->stop = true;
        return false;
    }
    if (n->type == YAML_SCALAR_NODE)
        return true;
    size_t id = (size_t)(n - p->doc->nodes.start);
    if (!p->on_path[id]) {
        p->on_path[id] = 1;
        return true;
    }
    /* The anchor's name is at the node's start (after a tag, if any); its alias is
     * somewhere inside the node's text. */
    const char *t = p->f->text;
    size_t off = byte_of_index(p, n->start_mark.index), end = byte_of_index(p, n->end_mark.index);
    size_t amp = off;
    while (amp < end && t[amp] != '&' && t[amp] != '\n')
        amp++;
    size_t nlen = 0;
    if (amp < end && t[amp] == '&')
        nlen = strcspn(t + amp + 1, " \t\r\n,[]{}");
    if (nlen == 0 || amp + 1 + nlen > end) {
        diag_error(p->d, loc_node(p, n), "an alias is used inside the node it refers to");
        return false;
    }
    const char *name = t + amp + 1;
    SrcLoc at = loc_bytes(p, amp, amp + 1 + nlen);
    for (size_t i = amp + 1 + nlen; i + 1 + nlen <= end; i++) {
        if (t[i] == '*' && !memcmp(t + i + 1, name, nlen) &&
            (i + 1 + nlen == p->f->len || strchr(" \t\r\n,[]{}", t[i + 1 + nlen]))) {
            at = loc_bytes(p, i, i + 1 + nlen);
            break;
        }
    }
    diag_error(p->d, at, "alias '*%.*s' is used inside its own anchor '&%.*s'", (int)nlen, name,
               (int)nlen, name);
    return false;
}

static void leave(P *p, yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        p->on_path[n - p->doc->nodes.start] = 0;
}

/* One level deeper in the AST (a group's body or a list value). */
static bool deeper(P *p, yaml_node_t *n)
{
    if (p->depth >= AST_MAX_DEPTH) {
        if (!p->stop)
            diag_error(p->d, loc_node(p, n), "nesting deeper than %d levels", AST_MAX_DEPTH);
        p->stop = true;
        return false;
    }
    p->depth++;
    return true;
}

static uint32_t hash_bytes(const unsigned char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

/* The entries of mapping m, one per pair, in order; *out in the arena. A key that is not a
 * name-like scalar or repeats an earlier key is marked, and reported by entry_ok() when the
 * caller reaches it, so that messages come in source order. */
static int map_entries(P *p, yaml_node_t *m, Entry **out)
{
    yaml_node_pair_t *pairs = m->data.mapping.pairs.start;
    int n = (int)(m->data.mapping.pairs.top - pairs);
    Entry *e = arena_alloc(p->a, (size_t)(n ? n : 1) * sizeof *e);
    size_t cap = 8;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    int *table = malloc(cap * sizeof *table); /* index into e, or -1 */
    if (!table)
        abort();
    for (size_t i = 0; i < cap; i++)
        table[i] = -1;
    for (int i = 0; i < n; i++) {
        yaml_node_t *k = node_at(p, pairs[i].key), *v = node_at(p, pairs[i].value);
        e[i] = (Entry){k, v, NULL, {0}, -1};
        if (!k || !v || k->type != YAML_SCALAR_NODE || is_empty(k))
            continue; /* name stays NULL */
        const unsigned char *s = k->data.scalar.value;
        size_t len = k->data.scalar.length;
        size_t h = hash_bytes(s, len) & (cap - 1);
        for (; table[h] >= 0; h = (h + 1) & (cap - 1)) {
            const yaml_node_t *o = e[table[h]].key;
            if (o->data.scalar.length == len && !memcmp(o->data.scalar.value, s, len)) {
                e[i].dup_of = table[h];
                break;
            }
        }
        if (e[i].dup_of < 0)
            table[h] = i;
        e[i].name = arena_strndup(p->a, (const char *)s, len);
        e[i].loc = loc_node(p, k);
    }
    free(table);
    *out = e;
    return n;
}

/* Whether entry i of e is usable; reports it if not. */
static bool entry_ok(P *p, const Entry *e, int i)
{
    if (!e[i].key || !e[i].val)
        return false;
    if (!e[i].name) {
        diag_error(p->d, loc_node(p, e[i].key), "expected a key name, found %s",
                   describe(p, e[i].key));
        return false;
    }
    if (e[i].dup_of >= 0) {
        const Entry *first = &e[e[i].dup_of];
        diag_error(p->d, e[i].loc, "duplicate key '%s'", e[i].name);
        diag_note(p->d, first->loc, "'%s' first appears here", first->name);
        return false;
    }
    return true;
}

/* ---- values ---- */

/* A node where a value is expected. key names the argument for messages (NULL if
 * positional). Returns NULL after reporting an error. */
static AstValue *value(P *p, yaml_node_t *n, const char *key, SrcLoc key_loc)
{
    if (!enter(p, n))
        return NULL;
    SrcLoc loc = loc_node(p, n);
    AstValue *v = NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *s = arena_strndup(p->a, scalar(n), n->data.scalar.length);
        if (is_empty(n)) {
            if (key)
                diag_error(p->d, key_loc, "expected a value for '%s', found nothing", key);
            else
                diag_error(p->d, loc, "expected a value, found nothing");
        } else if (!is_plain(n)) {
            v = ast_value(p->a, VAL_STRING, loc);
            v->s = s;
        } else {
            v = ast_value(p->a, VAL_IDENT, loc); /* a number, sizes (3x5), a name or a string */
            if (!ast_parse_number(v, s) && !(v = ast_sizes(p->a, s, loc))) {
                v = ast_value(p->a, is_ident(s, true) ? VAL_IDENT : VAL_STRING, loc);
                v->s = s;
            }
        }
    } else if (n->type == YAML_SEQUENCE_NODE) {
        if (deeper(p, n)) {
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
            diag_error(p->d, loc, "expected a value for '%s', found %s", key, describe(p, n));
        else
            diag_error(p->d, loc, "expected a value, found %s", describe(p, n));
    }
    leave(p, n);
    return v;
}

static void push_positional(P *p, PtrVec *args, yaml_node_t *n)
{
    AstValue *v = value(p, n, NULL, (SrcLoc){0});
    if (v)
        ptrvec_push(p->a, args, ast_arg(p->a, NULL, (SrcLoc){0}, v, v->loc));
}

/* One keyed argument per entry of mapping m. */
static void keyed_args(P *p, PtrVec *args, yaml_node_t *m)
{
    if (!enter(p, m))
        return;
    Entry *e;
    int n = map_entries(p, m, &e);
    for (int i = 0; i < n && !halted(p); i++) {
        if (!entry_ok(p, e, i))
            continue;
        if (!is_ident(e[i].name, false)) {
            diag_error(p->d, e[i].loc, "expected an argument name, found %s",
                       describe(p, e[i].key));
            continue;
        }
        AstValue *v = value(p, e[i].val, e[i].name, e[i].loc);
        if (v)
            ptrvec_push(p->a, args,
                        ast_arg(p->a, e[i].name, e[i].loc, v, loc_span(e[i].loc, v->loc)));
    }
    leave(p, m);
}

/* A layer's arguments from the value of its kind: `{in: 1, out: 32}` gives keyed arguments,
 * `2` one positional, `[2, 2]` one positional per element, nothing none. */
static void layer_args(P *p, AstStmt *s, yaml_node_t *v)
{
    if (v->type == YAML_MAPPING_NODE) {
        keyed_args(p, &s->args, v);
    } else if (v->type == YAML_SEQUENCE_NODE) {
        if (!enter(p, v))
            return;
        for (yaml_node_item_t *i = v->data.sequence.items.start;
             i < v->data.sequence.items.top && !halted(p); i++) {
            yaml_node_t *item = node_at(p, *i);
            if (item)
                push_positional(p, &s->args, item);
        }
        leave(p, v);
    } else if (!is_null(v)) {
        push_positional(p, &s->args, v);
    }
}

/* ---- layers ---- */

static void layer_list(P *p, PtrVec *body, yaml_node_t *seq, bool nested);

static bool check_name(P *p, const Entry *e, const char *what)
{
    if (is_ident(e->name, false))
        return true;
    diag_error(p->d, e->loc, "expected %s, found %s", what, describe(p, e->key));
    return false;
}

/* The statement's extent: from its start to the end of v's text when that is on the same
 * line (a block collection starts on a later line and is not included). */
static SrcLoc stmt_loc(P *p, SrcLoc start, yaml_node_t *v)
{
    return loc_span(start, loc_node(p, v));
}

/* `K: V` where K is not a layer kind and V a mapping with one entry K2: a named layer
 * `name: {Kind: args}` if K2 is a layer kind or its value is a mapping or nothing;
 * otherwise `UnknownKind: {attr: value}`, left for lowering to report. */
static bool is_named_layer(P *p, yaml_node_t *v, Entry **inner)
{
    if (v->type != YAML_MAPPING_NODE ||
        v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1)
        return false;
    yaml_node_t *k2 = node_at(p, v->data.mapping.pairs.start->key);
    yaml_node_t *v2 = node_at(p, v->data.mapping.pairs.start->value);
    if (!k2 || !v2 || k2->type != YAML_SCALAR_NODE || is_empty(k2))
        return false;
    if (!(is_layer_kind(scalar(k2)) || v2->type == YAML_MAPPING_NODE || is_null(v2)))
        return false;
    if (!enter(p, v))
        return true; /* *inner stays NULL: the caller gives up */
    if (map_entries(p, v, inner) != 1 || !entry_ok(p, *inner, 0))
        *inner = NULL;
    leave(p, v);
    return true;
}

/* A one-key layer entry `K: V`. */
static AstStmt *layer_entry(P *p, const Entry *e)
{
    if (!check_name(p, e, "a layer kind or name"))
        return NULL;
    yaml_node_t *v = e->val;
    AstStmt *s = ast_stmt(p->a, stmt_loc(p, e->loc, v));
    Entry *inner = NULL;
    if (is_layer_kind(e->name)) {
        s->head = e->name; /* Conv2d: {in: 1, out: 32} */
        s->head_loc = e->loc;
        layer_args(p, s, v);
    } else if (v->type == YAML_SEQUENCE_NODE) {
        s->head = e->name; /* layer1: [...] */
        s->head_loc = e->loc;
        s->has_block = true;
        layer_list(p, &s->body, v, true);
    } else if (is_named_layer(p, v, &inner)) {
        if (!inner || !check_name(p, inner, "a layer kind"))
            return NULL;
        s->label = e->name; /* fc: {Linear: {out: 10}} */
        s->label_loc = e->loc;
        s->head = inner->name;
        s->head_loc = inner->loc;
        layer_args(p, s, inner->val);
    } else if (v->type == YAML_SCALAR_NODE && is_ident(scalar(v), false)) {
        s->label = e->name; /* act: ReLU */
        s->label_loc = e->loc;
        s->head = arena_strdup(p->a, scalar(v));
        s->head_loc = loc_node(p, v);
    } else {
        s->head = e->name; /* Conv2dd: {in: 1, out: 32}: lowering reports the kind */
        s->head_loc = e->loc;
        layer_args(p, s, v);
    }
    return s;
}

/* `Conv2d 1->32 k3`: the .net syntax written in YAML. */
static bool first_word_is_kind(P *p, const char *s)
{
    size_t n = strcspn(s, " \t");
    return s[n] && is_layer_kind(arena_strndup(p->a, s, n));
}

/* One item of a layer list: `ReLU`, `Conv2d: {...}`, `layer1: [...]`, `fc: {Linear: ...}`. */
static AstStmt *layer_item(P *p, yaml_node_t *item)
{
    if (!enter(p, item))
        return NULL;
    AstStmt *s = NULL;
    SrcLoc loc = loc_node(p, item);
    if (item->type == YAML_SCALAR_NODE) {
        if (is_null(item)) {
            diag_error(p->d, loc, "expected a layer, found nothing");
        } else if (!is_ident(scalar(item), false)) {
            diag_error(p->d, loc, "expected a layer kind or name, found %s", describe(p, item));
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
        Entry *e;
        int n = map_entries(p, item, &e);
        if (n == 1) {
            if (entry_ok(p, e, 0))
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
                if (e[i].name && is_layer_kind(e[i].name) && ++kinds == 2)
                    diag_hint(p->d, e[i].loc, "start each layer with '- ': '- %s'", e[i].name);
            }
            /* - Conv2d:
             *   in: 1       (arguments not indented under the kind) */
            for (int i = 0; i < n - 1 && kinds < 2; i++) {
                if (e[i].name && is_layer_kind(e[i].name) && is_null(e[i].val)) {
                    diag_hint(p->d, e[i].loc, "indent the arguments under '%s:'", e[i].name);
                    break;
                }
            }
        }
    }
    leave(p, item);
    return s;
}

/* The items of a layer list: the top-level `layers`, or a group's body (nested). */
static void layer_list(P *p, PtrVec *body, yaml_node_t *seq, bool nested)
{
    if (!enter(p, seq))
        return;
    if (!nested || deeper(p, seq)) {
        for (yaml_node_item_t *i = seq->data.sequence.items.start;
             i < seq->data.sequence.items.top && !halted(p); i++) {
            yaml_node_t *item = node_at(p, *i);
            AstStmt *s = item ? layer_item(p, item) : NULL;
            if (s)
                ptrvec_push(p->a, body, s);
        }
        p->depth -= nested;
    }
    leave(p, seq);
}

/* ---- train settings ---- */

/* `K: V` in train: `batch: 100`, `milestones: [2, 5]`, `normalize: {mean: .., std: ..}`,
 * and for settings that name a kind, `optimizer: {Adam: {lr: 0.001}}` -> Adam lr=0.001. */
static AstStmt *train_entry(P *p, const Entry *e)
{
    if (!check_name(p, e, "a setting name"))
        return NULL;
    yaml_node_t *v = e->val;
    AstStmt *s = ast_stmt(p->a, stmt_loc(p, e->loc, v));
    s->head = e->name;
    s->head_loc = e->loc;
    if (v->type == YAML_MAPPING_NODE) {
        if (!ast_setting_has_kind(e->name) ||
            v->data.mapping.pairs.top - v->data.mapping.pairs.start != 1) {
            keyed_args(p, &s->args, v);
            return s;
        }
        if (!enter(p, v))
            return s;
        Entry *inner;
        if (map_entries(p, v, &inner) == 1 && entry_ok(p, inner, 0)) {
            push_positional(p, &s->args, inner->key);
            yaml_node_t *v2 = inner->val;
            if (v2->type == YAML_MAPPING_NODE)
                keyed_args(p, &s->args, v2);
            else if (!is_null(v2))
                push_positional(p, &s->args, v2);
        }
        leave(p, v);
    } else if (!is_null(v)) {
        push_positional(p, &s->args, v);
    }
    return s;
}

/* ---- the top level ---- */

static const char *const top_keys[] = {"network", "input", "layers", "train"};

/* What a value is, for "found ..." in messages. */
static const char *describe_value(P *p, const AstValue *v)
{
    if (v->kind == VAL_LIST)
        return v->items.len ? "a list" : "an empty list";
    return arena_printf(p->a, "'%s'", v->s);
}

/* `input: [1, 28, 28]`, `input: 1x28x28` or `input: 784`: a list of integers. */
static void top_input(P *p, AstNet *net, const Entry *e)
{
    if (e->val->type == YAML_MAPPING_NODE || is_empty(e->val)) {
        diag_error(p->d, e->val->type == YAML_MAPPING_NODE ? loc_node(p, e->val) : e->loc,
                   "'input' must be a shape like [1, 28, 28] or 1x28x28, found %s",
                   describe(p, e->val));
        return;
    }
    AstValue *v = value(p, e->val, e->name, e->loc);
    if (!v || halted(p))
        return;
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
        return;
    }
    ptrvec_push(p->a, &net->header, ast_arg(p->a, "input", e->loc, v, loc_span(e->loc, v->loc)));
}

static void top_level(P *p, AstNet *net, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        diag_error(p->d, loc_node(p, root),
                   "the top level must be a mapping with 'network', 'input' and 'layers', "
                   "found %s",
                   describe(p, root));
        return;
    }
    if (!enter(p, root))
        return;
    Entry *e;
    int n = map_entries(p, root, &e);
    bool seen_network = false, seen_layers = false;
    for (int i = 0; i < n && !halted(p); i++) {
        if (!entry_ok(p, e, i))
            continue;
        const char *k = e[i].name;
        yaml_node_t *v = e[i].val;
        if (!strcmp(k, "network")) {
            seen_network = true;
            if (v->type != YAML_SCALAR_NODE || is_empty(v) || !is_ident(scalar(v), false)) {
                diag_error(p->d,
                           v->type == YAML_SCALAR_NODE && !is_empty(v) ? loc_node(p, v) : e[i].loc,
                           "the network's name must be an identifier, found %s", describe(p, v));
                continue;
            }
            net->name = arena_strdup(p->a, scalar(v));
            net->name_loc = loc_node(p, v);
        } else if (!strcmp(k, "input")) {
            top_input(p, net, &e[i]);
        } else if (!strcmp(k, "layers")) {
            seen_layers = true;
            if (v->type != YAML_SEQUENCE_NODE) {
                diag_error(p->d,
                           v->type == YAML_SCALAR_NODE && is_empty(v) ? e[i].loc : loc_node(p, v),
                           "'layers' must be a list of layers, found %s", describe(p, v));
                continue;
            }
            layer_list(p, &net->body, v, false);
        } else if (!strcmp(k, "train")) {
            if (v->type != YAML_MAPPING_NODE && !is_null(v)) {
                diag_error(p->d, loc_node(p, v), "'train' must be a mapping of settings, found %s",
                           describe(p, v));
                continue;
            }
            net->has_train = true;
            net->train_loc = e[i].loc;
            if (v->type != YAML_MAPPING_NODE || !enter(p, v))
                continue;
            Entry *t;
            int tn = map_entries(p, v, &t);
            for (int j = 0; j < tn && !halted(p); j++) {
                if (!entry_ok(p, t, j))
                    continue;
                AstStmt *s = train_entry(p, &t[j]);
                if (s)
                    ptrvec_push(p->a, &net->train, s);
            }
            leave(p, v);
        } else {
            diag_error(p->d, e[i].loc,
                       "unknown top-level key '%s' (expected 'network', 'input', 'layers' or "
                       "'train')",
                       k);
            Suggest sug;
            suggest_init(&sug, k, false);
            for (size_t j = 0; j < sizeof top_keys / sizeof *top_keys; j++)
                suggest_add(&sug, top_keys[j]);
            diag_suggest(p->d, e[i].loc, &sug);
        }
    }
    leave(p, root);
    if (halted(p))
        return;
    if (!seen_network)
        diag_error(p->d, loc_point(net->loc),
                   "missing 'network': expected 'network: NAME' at "
                   "the top level");
    if (!seen_layers)
        diag_error(p->d, loc_point(net->loc),
                   "missing 'layers': expected a list of layers "
                   "under 'layers:' at the top level");
}

/* ---- libyaml's own errors ---- */

static void yaml_problem(P *p, yaml_parser_t *y)
{
    const char *problem = y->problem ? y->problem : "unknown error";
    const char *t = p->f->text;
    switch (y->error) {
    case YAML_MEMORY_ERROR:
        diag_error(p->d, (SrcLoc){0}, "%s: out of memory while reading YAML", p->f->name);
        return;
    case YAML_READER_ERROR: {
        SrcLoc loc = loc_bytes(p, y->problem_offset, y->problem_offset + 1);
        loc.len = 1;
        if (!strcmp(problem, "control characters are not allowed"))
            diag_error(p->d, loc, "not a text file: found control character 0x%02x",
                       (unsigned)y->problem_value);
        else if (y->problem_value > 0xff)
            diag_error(p->d, loc, "not a UTF-8 text file: found U+%04X (%s)",
                       (unsigned)y->problem_value, problem);
        else if (y->problem_value >= 0)
            diag_error(p->d, loc, "not a UTF-8 text file: found byte 0x%02x (%s)",
                       (unsigned)y->problem_value, problem);
        else
            diag_error(p->d, loc, "not a UTF-8 text file: %s", problem);
        return;
    }
    default: break;
    }
    size_t off = byte_of_index(p, y->problem_mark.index);
    SrcLoc loc = loc_point(loc_bytes(p, off, off + 1));
    if (y->error == YAML_SCANNER_ERROR &&
        (strstr(problem, "tab") || (off < p->f->len && t[off] == '\t'))) {
        if (off >= p->f->len || t[off] != '\t') {
            /* point at the first tab of the line's indentation */
            size_t b = off;
            while (b > 0 && t[b - 1] != '\n')
                b--;
            for (size_t i = b; i < p->f->len && (t[i] == ' ' || t[i] == '\t'); i++) {
                if (t[i] == '\t') {
                    off = i;
                    break;
                }
            }
            loc = loc_point(loc_bytes(p, off, off + 1));
        }
        diag_error(p->d, loc, "tab characters cannot indent YAML");
        diag_hint(p->d, loc, "indent with spaces");
        return;
    }
    if (y->error == YAML_COMPOSER_ERROR && !strcmp(problem, "found undefined alias")) {
        size_t nlen = off < p->f->len && t[off] == '*' ? strcspn(t + off + 1, " \t\r\n,[]{}") : 0;
        loc.len = (int)nlen + 1;
        diag_error(p->d, loc, "anchor '*%.*s' is not defined", (int)nlen, t + off + 1);
        /* defined later? YAML needs the anchor before its aliases */
        for (size_t i = off + 1 + nlen; nlen && i + 1 + nlen <= p->f->len; i++) {
            if (t[i] == '&' && !memcmp(t + i + 1, t + off + 1, nlen) &&
                (i + 1 + nlen == p->f->len || strchr(" \t\r\n,[]{}", t[i + 1 + nlen]))) {
                diag_note(p->d, loc_bytes(p, i, i + 1 + nlen),
                          "'&%.*s' is defined here, after its use: an anchor must come first",
                          (int)nlen, t + off + 1);
                break;
            }
        }
        return;
    }
    const char *ctx = y->context;
    size_t coff = byte_of_index(p, y->context_mark.index);
    if (y->error == YAML_COMPOSER_ERROR && ctx && !strncmp(ctx, "found duplicate anchor", 22)) {
        size_t nlen = off < p->f->len && t[off] == '&' ? strcspn(t + off + 1, " \t\r\n,[]{}") : 0;
        loc.len = (int)nlen + 1;
        diag_error(p->d, loc, "anchor '&%.*s' is defined twice", (int)nlen, t + off + 1);
        diag_note(p->d, loc_bytes(p, coff, coff + 1 + nlen), "first defined here");
        return;
    }
    if (ctx)
        diag_error(p->d, loc, "invalid YAML: %s %s", problem, ctx);
    else
        diag_error(p->d, loc, "invalid YAML: %s", problem);
    /* "while parsing a flow sequence" -> "the flow sequence starts here" */
    if (ctx && coff != off) {
        const char *what = NULL;
        if (!strncmp(ctx, "while parsing ", 14))
            what = ctx + 14;
        else if (!strncmp(ctx, "while scanning ", 15))
            what = ctx + 15;
        if (what) {
            if (!strncmp(what, "a ", 2))
                what += 2;
            else if (!strncmp(what, "an ", 3))
                what += 3;
            diag_note(p->d, loc_point(loc_bytes(p, coff, coff + 1)), "the %s starts here", what);
        }
    }
}

/* ---- entry point ---- */

/* Collections open at once beyond which no net fits in AST_MAX_DEPTH (a group costs two:
 * its mapping and its list). Generous, so that the walk, which counts exactly, reports
 * nets that are merely too deep; this limit only stops hopeless input early. */
#define YAML_MAX_DEPTH (3 * AST_MAX_DEPTH + 8)

/* What a first pass over the events found in the first two documents. */
typedef struct Scan {
    int docs;
    yaml_mark_t doc2_start, doc2_end; /* the second document's `---` */
    int deep_doc; /* document (1 or 2) nested deeper than YAML_MAX_DEPTH, or 0 */
    yaml_mark_t deep_mark;
} Scan;

/* libyaml loads a document whole, with no limit on nesting, and its scanner slows down
 * with the square of the flow nesting ([[[[...). The event parser stops as soon as the
 * nesting is hopeless, so this pass runs first. Syntax errors are left to the load, which
 * meets them at the same place. */
static void scan_events(const SrcFile *f, Scan *sc)
{
    yaml_parser_t y;
    if (!yaml_parser_initialize(&y))
        return;
    yaml_parser_set_input_string(&y, (const unsigned char *)f->text, f->len);
    yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
    int depth = 0;
    for (bool more = true; more;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&y, &ev))
            break;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++sc->docs == 2) {
                sc->doc2_start = ev.start_mark;
                sc->doc2_end = ev.end_mark;
            }
            more = sc->docs <= 2;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > YAML_MAX_DEPTH) {
                sc->deep_doc = sc->docs;
                sc->deep_mark = ev.start_mark;
                more = false;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        case YAML_STREAM_END_EVENT: more = false; break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y);
}

AstNet *parse_yaml(Arena *a, const SrcFile *f, Diag *d)
{
    AstNet *net = arena_alloc(a, sizeof *net);
    net->file = f;
    net->yaml = true;
    P p = {.a = a, .f = f, .d = d};
    Scan sc = {0};
    scan_events(f, &sc);
    if (sc.deep_doc == 1) {
        size_t off = byte_of_index(&p, sc.deep_mark.index);
        diag_error(d, loc_point(loc_bytes(&p, off, off + 1)), "nesting deeper than %d levels",
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
        yaml_problem(&p, &y);
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
    p.budget = (long)p.nnodes + ALIAS_BUDGET;
    p.on_path = calloc(p.nnodes, 1);
    if (!p.on_path)
        abort();
    net->loc = loc_marks(&p, doc.start_mark, doc.end_mark);
    top_level(&p, net, root);
    free(p.on_path);
    yaml_document_delete(&doc);
    p.doc = NULL;
    if (diag_full(d))
        goto done;
    /* a second document */
    if (sc.deep_doc == 2) {
        diag_error(d, loc_marks(&p, sc.doc2_start, sc.doc2_end),
                   "a net file holds one YAML document, found a second one");
        goto done;
    }
    if (!yaml_parser_load(&y, &doc)) {
        yaml_problem(&p, &y);
        goto done;
    }
    if (yaml_document_get_root_node(&doc))
        diag_error(d, loc_marks(&p, doc.start_mark, doc.end_mark),
                   "a net file holds one YAML document, found a second one");
    yaml_document_delete(&doc);
done:
    yaml_parser_delete(&y);
out:
    free(p.line_byte);
    free(p.ckpt);
    return net;
}
