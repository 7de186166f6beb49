/* yaml_doc.h: the YAML reader's view of a libyaml document, private to the front end
 * (yaml_doc.c): where marks are in the text, a mapping as a list of entries, the walk's
 * guards (alias cycles, the node budget, nesting) and libyaml's own errors as diagnostics.
 * yaml.c maps the document onto the AST with them.
 *
 * Locations: libyaml marks count characters (code points); SrcLoc counts bytes, and lines
 * the way the diagnostic printer does ('\n' only). Every mark goes through its character
 * index: index -> byte offset -> line and column. The input is forced to UTF-8, so the
 * mapping is exact. */
#ifndef NETC_YAML_DOC_H
#define NETC_YAML_DOC_H

#include <string.h>
#include <yaml.h>

#include "ast.h"

/* Node visits allowed on top of the document's own node count: room for aliases. */
#define YAML_ALIAS_BUDGET 100000

/* Collections open at once beyond which no net fits in AST_MAX_DEPTH (a group costs two:
 * its mapping and its list). Generous, so that the walk, which counts exactly, reports
 * nets that are merely too deep; this limit only stops hopeless input early. */
#define YAML_MAX_DEPTH (3 * AST_MAX_DEPTH + 8)

/* What a first pass over the events found in the first two documents. */
typedef struct YamlScan {
    int docs;
    yaml_mark_t doc2_start, doc2_end; /* the second document's `---` */
    int deep_doc; /* document (1 or 2) nested deeper than YAML_MAX_DEPTH, or 0 */
    yaml_mark_t deep_mark;
} YamlScan;

/* One key: value pair of a mapping (ydoc_entries). */
typedef struct YamlEntry {
    yaml_node_t *key, *val;
    const char *name; /* the key's text; NULL if the key is not a scalar or is empty */
    SrcLoc loc;       /* the key's location */
    int dup_of;       /* index of the earlier entry with the same key, or -1 */
} YamlEntry;

/* The state of reading one file. */
typedef struct YamlReader {
    Arena *a;
    const SrcFile *f;
    Diag *d;
    yaml_document_t *doc;
    /* built on first use */
    size_t *line_byte, nlines; /* byte offset of each line's start */
    size_t *ckpt, nckpt;       /* every 64th character's offset */
    unsigned char *on_path;    /* per document node: being walked (alias cycle check) */
    size_t nnodes;
    long budget;            /* node visits left */
    int depth;              /* AST nesting: groups and lists */
    bool stop;              /* nesting or alias limit hit: unwind without further messages */
    const char **templates; /* the file's template names (read as layer kinds) */
    int ntemplates;
    const char *const *known; /* included files' template names, likewise */
    int nknown;
} YamlReader;

/* ---- locations ---- */

/* Location of bytes [off, end), cut at the end of the first line, trailing blanks dropped. */
SrcLoc ydoc_loc_bytes(YamlReader *p, size_t off, size_t end);
SrcLoc ydoc_loc_marks(YamlReader *p, yaml_mark_t s, yaml_mark_t e);
SrcLoc ydoc_loc_node(YamlReader *p, const yaml_node_t *n);
size_t ydoc_byte_of_index(YamlReader *p, size_t idx);
static inline SrcLoc loc_point(SrcLoc l)
{
    l.len = 1;
    return l;
}

/* ---- nodes ---- */

static inline yaml_node_t *node_at(YamlReader *p, int id)
{
    return yaml_document_get_node(p->doc, id);
}

static inline const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static inline bool is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* An empty plain scalar or `~`: "nothing" wherever a value is expected. */
static inline bool is_empty(const yaml_node_t *n)
{
    return is_plain(n) && (!*scalar(n) || !strcmp(scalar(n), "~"));
}

/* YAML's null, where the shape of the file is concerned (`layer1:`, `train: null`). */
static inline bool is_null(const yaml_node_t *n)
{
    if (is_empty(n))
        return true;
    if (!is_plain(n))
        return false;
    const char *s = scalar(n);
    return !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* What a node is, for "found ..." in messages. */
const char *ydoc_describe(YamlReader *p, const yaml_node_t *n);
static inline bool halted(YamlReader *p) { return p->stop || diag_full(p->d); }

/* ---- the walk's guards ---- */

/* Counts a visit of n and, for a collection, marks it as on the current path. Reports an
 * alias cycle (n already on the path) or an exhausted budget. ydoc_leave() undoes it. */
bool ydoc_enter(YamlReader *p, yaml_node_t *n);
void ydoc_leave(YamlReader *p, yaml_node_t *n);
/* One level deeper in the AST (a group's body or a list value); false past AST_MAX_DEPTH. */
bool ydoc_deeper(YamlReader *p, yaml_node_t *n);
/* The entries of mapping m, one per pair, in order; *out in the arena. A key that is not a
 * name-like scalar or repeats an earlier key is marked, and reported by ydoc_entry_ok()
 * when the caller reaches it, so that messages come in source order. */
int ydoc_entries(YamlReader *p, yaml_node_t *m, YamlEntry **out);
/* Whether entry i of e is usable; reports it if not. */
bool ydoc_entry_ok(YamlReader *p, const YamlEntry *e, int i);

/* ---- libyaml ---- */

/* Reports why libyaml could not load the document. */
void ydoc_problem(YamlReader *p, yaml_parser_t *y);
/* A first pass over the events of f: how many documents, and where nesting gets hopeless. */
void ydoc_scan(const SrcFile *f, YamlScan *sc);
/* Honours the document's explicit tags that netc understands (!!str makes a scalar a string;
 * !!seq and !!map on a list and a mapping) and reports every other one at its location, and
 * every scalar holding a NUL (an escape: "\0", "\x00", "\u0000"), which C strings would cut
 * short there; false if it reported any. */
bool ydoc_check_nodes(YamlReader *p);
/* Resolves YAML's merge keys (`<<: *base`, `<<: [*a, *b]`) in every mapping, as PyYAML
 * does: the merged mappings' pairs join it where it lacks their keys, and keep their own
 * locations for messages. Reports a merge of something not a mapping, a mapping merged into
 * itself and a merge past the node budget; false if it reported. */
bool ydoc_merge(YamlReader *p);

#endif
