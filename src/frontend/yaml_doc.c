/* yaml_doc.c: the YAML reader's view of a libyaml document (see yaml_doc.h): mark
 * locations, mapping entries with duplicate keys found by hashing, the guards against alias
 * cycles, alias bombs and deep nesting, and libyaml's errors turned into our diagnostics. */
#include <stdlib.h>

#include "yaml_doc.h"

/* ---- locations ---- */

static bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Every CKPT-th character's byte offset, so that a character index maps to bytes in a
 * short walk even on a long line. */
#define CKPT 64

static void build_tables(YamlReader *p)
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
static size_t line_of(YamlReader *p, size_t off)
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

size_t ydoc_byte_of_index(YamlReader *p, size_t idx)
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

SrcLoc ydoc_loc_bytes(YamlReader *p, size_t off, size_t end)
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

SrcLoc ydoc_loc_marks(YamlReader *p, yaml_mark_t s, yaml_mark_t e)
{
    size_t off = ydoc_byte_of_index(p, s.index);
    size_t end = e.index > s.index ? ydoc_byte_of_index(p, e.index) : off;
    return ydoc_loc_bytes(p, off, end);
}

SrcLoc ydoc_loc_node(YamlReader *p, const yaml_node_t *n)
{
    return ydoc_loc_marks(p, n->start_mark, n->end_mark);
}

const char *ydoc_describe(YamlReader *p, const yaml_node_t *n)
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

bool ydoc_enter(YamlReader *p, yaml_node_t *n)
{
    if (halted(p))
        return false;
    if (--p->budget < 0) {
        diag_error(p->d, ydoc_loc_node(p, n), "aliases expand to more than %d extra nodes",
                   YAML_ALIAS_BUDGET);
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
    size_t off = ydoc_byte_of_index(p, n->start_mark.index),
           end = ydoc_byte_of_index(p, n->end_mark.index);
    size_t amp = off;
    while (amp < end && t[amp] != '&' && t[amp] != '\n')
        amp++;
    size_t nlen = 0;
    if (amp < end && t[amp] == '&')
        nlen = strcspn(t + amp + 1, " \t\r\n,[]{}");
    if (nlen == 0 || amp + 1 + nlen > end) {
        diag_error(p->d, ydoc_loc_node(p, n), "an alias is used inside the node it refers to");
        return false;
    }
    const char *name = t + amp + 1;
    SrcLoc at = ydoc_loc_bytes(p, amp, amp + 1 + nlen);
    for (size_t i = amp + 1 + nlen; i + 1 + nlen <= end; i++) {
        if (t[i] == '*' && !memcmp(t + i + 1, name, nlen) &&
            (i + 1 + nlen == p->f->len || strchr(" \t\r\n,[]{}", t[i + 1 + nlen]))) {
            at = ydoc_loc_bytes(p, i, i + 1 + nlen);
            break;
        }
    }
    diag_error(p->d, at, "alias '*%.*s' is used inside its own anchor '&%.*s'", (int)nlen, name,
               (int)nlen, name);
    return false;
}

void ydoc_leave(YamlReader *p, yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        p->on_path[n - p->doc->nodes.start] = 0;
}

bool ydoc_deeper(YamlReader *p, yaml_node_t *n)
{
    if (p->depth >= AST_MAX_DEPTH) {
        if (!p->stop)
            diag_error(p->d, ydoc_loc_node(p, n), "nesting deeper than %d levels", AST_MAX_DEPTH);
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

int ydoc_entries(YamlReader *p, yaml_node_t *m, YamlEntry **out)
{
    yaml_node_pair_t *pairs = m->data.mapping.pairs.start;
    int n = (int)(m->data.mapping.pairs.top - pairs);
    YamlEntry *e = arena_alloc(p->a, (size_t)(n ? n : 1) * sizeof *e);
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
        e[i] = (YamlEntry){k, v, NULL, {0}, -1};
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
        e[i].loc = ydoc_loc_node(p, k);
    }
    free(table);
    *out = e;
    return n;
}

bool ydoc_entry_ok(YamlReader *p, const YamlEntry *e, int i)
{
    if (!e[i].key || !e[i].val)
        return false;
    if (!e[i].name) {
        diag_error(p->d, ydoc_loc_node(p, e[i].key), "expected a key name, found %s",
                   ydoc_describe(p, e[i].key));
        return false;
    }
    if (e[i].dup_of >= 0) {
        const YamlEntry *first = &e[e[i].dup_of];
        diag_error(p->d, e[i].loc, "duplicate key '%s'", e[i].name);
        diag_note(p->d, first->loc, "'%s' first appears here", first->name);
        return false;
    }
    return true;
}

/* ---- merge keys ---- */

/* `<<` written plain: YAML's merge key (a quoted "<<" is an ordinary key). */
static bool is_merge_key(const yaml_node_t *k)
{
    return k && k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           k->data.scalar.length == 2 && !memcmp(k->data.scalar.value, "<<", 2);
}

/* Open addressing over the key names of one mapping (merge_into). */
typedef struct KeySet {
    const yaml_node_t **slot;
    size_t cap;
} KeySet;

/* Adds scalar key k; false if a key of the same text is already there. */
static bool keyset_add(KeySet *ks, const yaml_node_t *k)
{
    const unsigned char *s = k->data.scalar.value;
    size_t len = k->data.scalar.length;
    size_t h = hash_bytes(s, len) & (ks->cap - 1);
    for (; ks->slot[h]; h = (h + 1) & (ks->cap - 1))
        if (ks->slot[h]->data.scalar.length == len &&
            !memcmp(ks->slot[h]->data.scalar.value, s, len))
            return false;
    ks->slot[h] = k;
    return true;
}

/* The mappings a `<<` value v names: one (an alias of a mapping), or a list of them. */
static int merge_count(const yaml_node_t *v)
{
    return v->type == YAML_SEQUENCE_NODE
               ? (int)(v->data.sequence.items.top - v->data.sequence.items.start)
               : 1;
}

/* Mapping j of merge_count(v) as a node id; vid is v's own id. */
static int merge_source(const yaml_node_t *v, int vid, int j)
{
    return v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start[j] : vid;
}

/* Resolves the merge keys of mapping `id` (1-based), after those of the mappings it merges:
 * their pairs whose keys it lacks are appended (keys written in the mapping win, then the
 * earlier of the merged mappings), and its `<<` pairs go. state: per node, 1 while being
 * resolved, 2 done. */
static bool merge_into(YamlReader *p, int id, unsigned char *state)
{
    yaml_node_t *m = node_at(p, id);
    if (state[id - 1])
        return true;
    state[id - 1] = 1;
    int n = (int)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    size_t total = (size_t)n;
    bool any = false;
    for (int i = 0; i < n; i++) {
        yaml_node_pair_t pr = m->data.mapping.pairs.start[i];
        yaml_node_t *k = node_at(p, pr.key), *v = node_at(p, pr.value);
        if (!is_merge_key(k) || !v)
            continue;
        any = true;
        for (int j = 0; j < merge_count(v); j++) {
            int sid = merge_source(v, pr.value, j);
            yaml_node_t *src = node_at(p, sid);
            if (!src || src->type != YAML_MAPPING_NODE) {
                diag_error(p->d, ydoc_loc_node(p, src ? src : k),
                           "the merge key '<<' takes a mapping (an alias '*name' of one) or a "
                           "list of them, found %s",
                           src ? ydoc_describe(p, src) : "nothing");
                return false;
            }
            if (state[sid - 1] == 1) {
                diag_error(p->d, ydoc_loc_node(p, k),
                           "the merge key '<<' merges a mapping into itself");
                return false;
            }
            if (!merge_into(p, sid, state))
                return false;
            total += (size_t)(src->data.mapping.pairs.top - src->data.mapping.pairs.start);
        }
    }
    state[id - 1] = 2;
    if (!any)
        return true;
    KeySet ks = {NULL, 8};
    while (ks.cap < 2 * total)
        ks.cap *= 2;
    ks.slot = calloc(ks.cap, sizeof *ks.slot);
    if (!ks.slot)
        abort();
    for (int i = 0; i < n; i++) {
        yaml_node_t *k = node_at(p, m->data.mapping.pairs.start[i].key);
        if (k && k->type == YAML_SCALAR_NODE && !is_merge_key(k))
            keyset_add(&ks, k);
    }
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        yaml_node_pair_t pr = m->data.mapping.pairs.start[i];
        if (!is_merge_key(node_at(p, pr.key)))
            continue;
        yaml_node_t *v = node_at(p, pr.value);
        for (int j = 0; j < merge_count(v) && ok; j++) {
            int sid = merge_source(v, pr.value, j);
            yaml_node_t *src = node_at(p, sid);
            int ns = (int)(src->data.mapping.pairs.top - src->data.mapping.pairs.start);
            for (int q = 0; q < ns && ok; q++) {
                yaml_node_pair_t sp = src->data.mapping.pairs.start[q];
                yaml_node_t *k = node_at(p, sp.key);
                if (k && k->type == YAML_SCALAR_NODE && !keyset_add(&ks, k))
                    continue;          /* written here, or by an earlier merged mapping */
                if (--p->budget < 0) { /* merges of merges, each copying keys */
                    diag_error(p->d, ydoc_loc_node(p, node_at(p, pr.key)),
                               "too many keys merged by '<<' (more than %d)", YAML_ALIAS_BUDGET);
                    ok = false;
                } else if (!yaml_document_append_mapping_pair(p->doc, id, sp.key, sp.value)) {
                    abort();
                }
                /* the append may move m's pairs */
                m = node_at(p, id);
            }
        }
    }
    free(ks.slot);
    if (!ok)
        return false;
    yaml_node_pair_t *out = m->data.mapping.pairs.start; /* drop the `<<` pairs, in place */
    for (yaml_node_pair_t *in = m->data.mapping.pairs.start; in < m->data.mapping.pairs.top; in++)
        if (!is_merge_key(node_at(p, in->key)))
            *out++ = *in;
    m->data.mapping.pairs.top = out;
    return true;
}

bool ydoc_merge(YamlReader *p)
{
    unsigned char *state = calloc(p->nnodes ? p->nnodes : 1, 1);
    if (!state)
        abort();
    bool ok = true;
    for (size_t i = 0; i < p->nnodes && ok && !diag_full(p->d); i++)
        if (p->doc->nodes.start[i].type == YAML_MAPPING_NODE)
            ok = merge_into(p, (int)i + 1, state);
    free(state);
    return ok;
}

/* ---- libyaml's own errors ---- */

void ydoc_problem(YamlReader *p, yaml_parser_t *y)
{
    const char *problem = y->problem ? y->problem : "unknown error";
    const char *t = p->f->text;
    switch (y->error) {
    case YAML_MEMORY_ERROR:
        diag_error(p->d, (SrcLoc){0}, "%s: out of memory while reading YAML", p->f->name);
        return;
    case YAML_READER_ERROR: {
        SrcLoc loc = ydoc_loc_bytes(p, y->problem_offset, y->problem_offset + 1);
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
    size_t off = ydoc_byte_of_index(p, y->problem_mark.index);
    SrcLoc loc = loc_point(ydoc_loc_bytes(p, off, off + 1));
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
            loc = loc_point(ydoc_loc_bytes(p, off, off + 1));
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
                diag_note(p->d, ydoc_loc_bytes(p, i, i + 1 + nlen),
                          "'&%.*s' is defined here, after its use: an anchor must come first",
                          (int)nlen, t + off + 1);
                break;
            }
        }
        return;
    }
    const char *ctx = y->context;
    size_t coff = ydoc_byte_of_index(p, y->context_mark.index);
    if (y->error == YAML_COMPOSER_ERROR && ctx && !strncmp(ctx, "found duplicate anchor", 22)) {
        size_t nlen = off < p->f->len && t[off] == '&' ? strcspn(t + off + 1, " \t\r\n,[]{}") : 0;
        loc.len = (int)nlen + 1;
        diag_error(p->d, loc, "anchor '&%.*s' is defined twice", (int)nlen, t + off + 1);
        diag_note(p->d, ydoc_loc_bytes(p, coff, coff + 1 + nlen), "first defined here");
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
            diag_note(p->d, loc_point(ydoc_loc_bytes(p, coff, coff + 1)), "the %s starts here",
                      what);
        }
    }
}

/* ---- the pre-scan ---- */

/* libyaml loads a document whole, with no limit on nesting, and its scanner slows down
 * with the square of the flow nesting ([[[[...). The event parser stops as soon as the
 * nesting is hopeless, so this pass runs first. Syntax errors are left to the load, which
 * meets them at the same place. */
void ydoc_scan(const SrcFile *f, YamlScan *sc)
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

/* A node's explicit tag (`!!str 10`, `!foo`): where it is written, or len 0 if it has none.
 * libyaml gives every node a tag, a default one when none is written, so the source is the
 * only witness; a node's start mark is at its properties (an anchor and a tag, in either
 * order). */
static size_t explicit_tag(YamlReader *p, const yaml_node_t *n, size_t *at)
{
    const char *t = p->f->text;
    size_t i = ydoc_byte_of_index(p, n->start_mark.index), end = p->f->len;
    for (int k = 0; k < 2 && i < end; k++) {
        if (t[i] != '&' && t[i] != '!')
            return 0;
        size_t w = strcspn(t + i, " \t\r\n,[]{}");
        if (t[i] == '!') {
            *at = i;
            return w;
        }
        i += w;
        while (i < end && (t[i] == ' ' || t[i] == '\t'))
            i++;
    }
    return 0;
}

bool ydoc_check_nodes(YamlReader *p)
{
    static const struct {
        const char *tag;
        yaml_node_type_t type;
    } honoured[] = {
        {YAML_STR_TAG, YAML_SCALAR_NODE},
        {YAML_SEQ_TAG, YAML_SEQUENCE_NODE},
        {YAML_MAP_TAG, YAML_MAPPING_NODE},
    };
    bool ok = true;
    for (yaml_node_t *n = p->doc->nodes.start; n < p->doc->nodes.top && !diag_full(p->d); n++) {
        if (n->type == YAML_SCALAR_NODE && memchr(n->data.scalar.value, 0, n->data.scalar.length)) {
            diag_error(p->d, ydoc_loc_node(p, n),
                       "a NUL character (written \\0, \\x00 or \\u0000) in a YAML string: "
                       "a name, path or value cannot hold one");
            ok = false;
            continue;
        }
        size_t at = 0, len = explicit_tag(p, n, &at);
        if (!len)
            continue;
        const char *tag = (const char *)n->tag;
        size_t k = 0;
        while (k < sizeof honoured / sizeof *honoured &&
               !(tag && !strcmp(tag, honoured[k].tag) && n->type == honoured[k].type))
            k++;
        if (k < sizeof honoured / sizeof *honoured) {
            /* !!str: the value is a string, as if quoted (`!!str 10` is not the number 10) */
            if (n->type == YAML_SCALAR_NODE)
                n->data.scalar.style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
            continue;
        }
        SrcLoc loc = ydoc_loc_bytes(p, at, at + len);
        diag_error(p->d, loc, "YAML tag '%.*s' is not supported here", (int)len, p->f->text + at);
        diag_hint(p->d, loc,
                  "netc reads each value by the type its setting or attribute takes: remove the "
                  "tag (only !!str, and !!seq and !!map on a list and a mapping, are honoured)");
        ok = false;
    }
    return ok;
}
