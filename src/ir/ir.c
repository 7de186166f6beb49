/* ir.c: graph construction, the registry table, the shape pass, the IR dump and the
 * summary table. The shape pass only walks nodes; each kind's rule lives in its layer file. */
#include "ir.h"

#include <stdlib.h>
#include <math.h>
#include <string.h>

/* ---- registry ---- */

#define LAYER(id, sym) extern const LayerOps sym;
#include "layers.def"
#undef LAYER

const LayerOps *const ir_layers[LAYER__COUNT] = {
#define LAYER(id, sym) [LAYER_##id] = &sym,
#include "layers.def"
#undef LAYER
};

const char *const ir_init_names[] = {
#define X(id, name) name,
    IR_INITS(X)
#undef X
        NULL,
};

bool ir_monotonic(const Node *n)
{
    return n->ops->monotonic && (!n->ops->monotonic_if || n->ops->monotonic_if(n));
}

OutputRead ir_output_read(const Graph *g)
{
    const Node *n = g->nodes.len ? GRAPH_NODE(g, g->nodes.len - 1) : NULL;
    while (n && n->ops->infer_identity && n->ninputs == 1)
        n = n->inputs[0];
    if (n && n->kind == LAYER_SOFTMAX) {
        int rank = n->in.rank, dim = (int)n->attrs[0].i[0]; /* Softmax's one attribute */
        if (dim < 0)
            dim += rank + 1;
        return dim >= 1 && dim <= rank && n->in.d[dim - 1] == shape_numel(n->in) ? OUT_PROBS
                                                                                 : OUT_VALUES;
    }
    return n && n->ops->emit_act ? OUT_VALUES : OUT_SCORES; /* an elementwise activation */
}

const LayerOps *ir_layer_find(const char *name)
{
    for (int k = 0; k < LAYER__COUNT; k++)
        if (str_ieq(ir_layers[k]->name, name))
            return ir_layers[k];
    return NULL;
}

const char *ir_layer_suggest(const char *name)
{
    Suggest s;
    suggest_init(&s, name, false);
    for (int k = 0; k < LAYER__COUNT; k++)
        suggest_add(&s, ir_layers[k]->name);
    return suggest_best(&s);
}

int ir_attr_index(const LayerOps *ops, const char *name)
{
    for (int i = 0; i < ops->nattrs; i++)
        if (strcmp(ops->attrs[i].name, name) == 0)
            return i;
    return -1;
}

/* ---- shapes ---- */

int64_t shape_numel(Shape s)
{
    int64_t n = 1; /* saturates: a count past int64 reads as INT64_MAX, too large anywhere */
    for (int i = 0; i < s.rank; i++)
        if (__builtin_mul_overflow(n, s.d[i], &n))
            return INT64_MAX;
    return n;
}

char *shape_str(Shape s, char *buf)
{
    char *p = buf;
    *p = 0;
    for (int i = 0; i < s.rank; i++)
        p += sprintf(p, i ? "x%lld" : "%lld", (long long)s.d[i]);
    return buf;
}

Shape shape_make(int rank, const int64_t *d)
{
    Shape s = {.rank = rank};
    for (int i = 0; i < rank; i++)
        s.d[i] = d[i];
    return s;
}

int64_t ir_conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d)
{
    int64_t num = in + 2 * p - d * (k - 1) - 1;
    if (num < 0)
        return 0;
    return num / s + 1;
}

/* ---- attributes ---- */

void attr_fill_pair(const AttrSpec *spec, AttrVal *v)
{
    if (attr_is_pair(spec) && v->n == 1) {
        v->i[1] = v->i[0];
        v->f[1] = v->f[0];
    }
}

bool attr_parse_default(const AttrSpec *spec, AttrVal *v)
{
    const char *t = spec->def;
    memset(v, 0, sizeof *v);
    if (!t)
        return true;
    switch (spec->type) {
    case ATTR_INT:
    case ATTR_INTS:
    case ATTR_FLOAT:
    case ATTR_FLOATS: {
        const char *p = t;
        if (*p == '[')
            p++;
        while (*p && *p != ']') {
            char *end;
            double f = strtod(p, &end);
            if (end == p || v->n == ATTR_MAX_LIST)
                return false;
            v->f[v->n] = f;
            v->i[v->n] = (int64_t)f;
            v->n++;
            p = end;
            while (*p == ',' || *p == ' ')
                p++;
        }
        attr_fill_pair(spec, v);
        return v->n >= 1;
    }
    case ATTR_BOOL: v->b = strcmp(t, "true") == 0; return v->b || strcmp(t, "false") == 0;
    case ATTR_ENUM:
        for (int i = 0; spec->choices[i]; i++)
            if (strcmp(spec->choices[i], t) == 0) {
                v->e = i;
                v->s = spec->choices[i];
                return true;
            }
        return false;
    case ATTR_STRING: v->s = t; return true;
    }
    return false;
}

void attr_format(StrBuf *sb, const AttrSpec *spec, const AttrVal *v)
{
    char buf[32];
    switch (spec->type) {
    case ATTR_INT: sb_printf(sb, "%lld", (long long)v->i[0]); break;
    case ATTR_FLOAT:
        if (isnan(v->f[0])) { /* AttrSpec.none */
            sb_puts(sb, "none");
            break;
        }
        fmt_double(buf, sizeof buf, v->f[0]);
        sb_puts(sb, buf);
        break;
    case ATTR_INTS:
    case ATTR_FLOATS:
        if (spec->words && v->s) { /* padding=same */
            sb_puts(sb, v->s);
            break;
        }
        if (v->n == 1 && (spec->max_len <= 2 || spec->type == ATTR_FLOATS)) {
            if (spec->type == ATTR_INTS)
                sb_printf(sb, "%lld", (long long)v->i[0]);
            else
                sb_puts(sb, (fmt_double(buf, sizeof buf, v->f[0]), buf));
            break;
        }
        sb_putc(sb, '[');
        for (int i = 0; i < v->n; i++) {
            if (i)
                sb_puts(sb, ", ");
            if (spec->type == ATTR_INTS) {
                sb_printf(sb, "%lld", (long long)v->i[i]);
            } else {
                fmt_double(buf, sizeof buf, v->f[i]);
                sb_puts(sb, buf);
            }
        }
        sb_putc(sb, ']');
        break;
    case ATTR_BOOL: sb_puts(sb, v->b ? "true" : "false"); break;
    case ATTR_ENUM: sb_puts(sb, spec->choices[v->e]); break;
    case ATTR_STRING: attr_quote(sb, v->s ? v->s : "", false); break;
    }
}

/* A string in .net syntax: the lexer reads \n, \t, \" and \\, and \xHH for the other
 * control bytes (which a .net file may not hold as they are); every other byte stands for
 * itself inside the quotes. */
static void quote_net(StrBuf *sb, const char *s)
{
    sb_putc(sb, '"');
    for (; *s; s++) {
        if (*s == '\n' || *s == '\t') {
            sb_puts(sb, *s == '\n' ? "\\n" : "\\t");
            continue;
        }
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            sb_printf(sb, "\\x%02X", (unsigned)(unsigned char)*s);
            continue;
        }
        if (*s == '"' || *s == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, *s);
    }
    sb_putc(sb, '"');
}

/* A YAML double-quoted scalar (tagged !!str when it starts with '('): line breaks (CR, LF,
 * NEL, U+2028, U+2029) would fold into
 * spaces, and controls, U+FFFE and U+FFFF are not allowed in YAML text, so those are
 * escaped; the rest is UTF-8 as is. */
static void quote_yaml(StrBuf *sb, const char *s)
{
    if (*s == '(') /* "(...)" would read as an expression: tagged, it stays a string */
        sb_puts(sb, "!!str ");
    sb_putc(sb, '"');
    attr_yaml_chars(sb, s, false);
    sb_putc(sb, '"');
}

void attr_yaml_chars(StrBuf *sb, const char *s, bool in_expr)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if ((*p == '"' || *p == '\\') && in_expr) { /* the expression's escape, then YAML's */
            sb_puts(sb, *p == '"' ? "\\\\\\\"" : "\\\\\\\\");
        } else if (*p == '"' || *p == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            sb_printf(sb, "\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* U+0080..U+009F */
            sb_printf(sb, "\\x%02x", p[1]);
            p++;
        } else if (*p == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            sb_puts(sb, p[2] == 0xa8 ? "\\L" : "\\P");
            p += 2;
        } else if (*p == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            sb_puts(sb, p[2] == 0xbe ? "\\uFFFE" : "\\uFFFF"); /* not printable in YAML */
            p += 2;
        } else {
            sb_putc(sb, (char)*p);
        }
    }
}

void attr_quote(StrBuf *sb, const char *s, bool yaml)
{
    if (yaml)
        quote_yaml(sb, s);
    else
        quote_net(sb, s);
}

/* ---- graph ---- */

Graph *ir_graph_new(Arena *a)
{
    Graph *g = arena_alloc(a, sizeof *g);
    g->arena = a;
    g->root = arena_alloc(a, sizeof *g->root);
    g->root->is_group = true;
    g->root->kind = ITEM_GROUP;
    g->root->path = "";
    return g;
}

Node *ir_node_add(Graph *g, LayerKind k, SrcLoc loc)
{
    Node *n = arena_alloc(g->arena, sizeof *n);
    n->graph = g;
    n->id = g->nodes.len;
    n->kind = k;
    n->ops = ir_layers[k];
    n->loc = loc;
    n->head_loc = loc;
    n->attrs = arena_alloc(g->arena, sizeof(AttrVal) * (size_t)(n->ops->nattrs + 1));
    for (int i = 0; i < n->ops->nattrs; i++)
        attr_parse_default(&n->ops->attrs[i], &n->attrs[i]);
    n->ninputs = 1;
    n->inputs = arena_alloc(g->arena, sizeof(Node *));
    n->inputs[0] = g->nodes.len > 0 ? GRAPH_NODE(g, g->nodes.len - 1) : NULL;
    ptrvec_push(g->arena, &g->nodes, n);
    return n;
}

void ir_node_set_inputs(Node *n, Node *const *inputs, int k)
{
    n->ninputs = k;
    n->inputs = arena_alloc(n->graph->arena, sizeof(Node *) * (size_t)(k > 0 ? k : 1));
    for (int i = 0; i < k; i++)
        n->inputs[i] = inputs[i];
}

Shape ir_input_shape(const Node *n, int k)
{
    return n->inputs[k] ? n->inputs[k]->out : n->graph->input;
}

void ir_param_add(Node *n, const char *suffix, Shape shape, int64_t fan_in, int64_t fan_out)
{
    Param *p = &n->params[n->nparams++];
    p->suffix = suffix;
    p->name =
        n->path && *n->path ? arena_printf(n->graph->arena, "%s.%s", n->path, suffix) : suffix;
    p->shape = shape;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
}

void ir_buffer_add(Node *n, const char *suffix, Shape shape, bool integer)
{
    ir_param_add(n, suffix, shape, 0, 0);
    n->params[n->nparams - 1].buffer = true;
    n->params[n->nparams - 1].integer = integer;
}

void ir_error_input(const Node *n, const AttrVal *given, const char *attr_name,
                    const char *expected_desc, Diag *d)
{
    diag_error(d, given->loc, "'%s' expects %s, got '%s: %lld'", n->ops->name, expected_desc,
               attr_name, (long long)given->i[0]);
    ir_note_input(n, "the input shape comes", d);
}

void ir_note_input(const Node *n, const char *what, Diag *d)
{
    if (n->inputs[0])
        diag_note(d, n->inputs[0]->loc, "%s from '%s' here", what, n->inputs[0]->ops->name);
    else
        diag_note(d, n->graph->input_loc, "the network's input is declared here");
}

bool ir_shape(Graph *g, Diag *d)
{
    SrcLoc told[64]; /* statements in templates and repeats whose errors were told */
    int ntold = 0;
    g->shaped = true;
    g->nparams = 0;
    g->macs = 0;
    for (int i = 0; i < g->nodes.len; i++)
        GRAPH_NODE(g, i)->nuses = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        Node *n = GRAPH_NODE(g, i);
        bool ready = true;
        for (int k = 0; k < n->ninputs; k++) {
            if (n->inputs[k])
                n->inputs[k]->nuses++;
            ready = ready && (!n->inputs[k] || n->inputs[k]->shaped);
        }
        if (!ready) {
            g->shaped = false; /* nothing to infer from: the error was reported upstream */
            continue;
        }
        n->in = ir_input_shape(n, 0);
        n->nparams = 0;
        n->macs = 0;
        n->shaped = false;
        int errors = d->errors;
        /* a statement of a template or a repeat in error is told at its first use or copy
         * only (the note says which): its other nodes' errors still count, unseen */
        bool again = false;
        for (int k = 0; k < ntold && n->ctx && !again; k++)
            again = told[k].file == n->head_loc.file && told[k].line == n->head_loc.line &&
                    told[k].col == n->head_loc.col;
        bool silent = d->silent;
        d->silent = silent || again;
        n->ops->shape(n, d);
        if (n->shaped && shape_numel(n->out) > SHAPE_MAX_NUMEL) {
            char buf[64], lim[32];
            diag_error(d, n->loc, "'%s' output %s is too large: more than %s values", n->ops->name,
                       shape_str(n->out, buf), fmt_thousands(lim, SHAPE_MAX_NUMEL));
            n->shaped = false;
        }
        for (int p = 0; n->shaped && p < n->nparams; p++) {
            size_t len = strlen(n->params[p].name);
            if (len > IR_MAX_PARAM_NAME) { /* nested long names: files could not hold it */
                char clip[48];
                snprintf(clip, sizeof clip, "%.40s", n->params[p].name);
                diag_error(d, n->loc,
                           "the state_dict name of this '%s' %s ('%s...') is %zu bytes; "
                           "weights files take at most %d (nest fewer or shorter names)",
                           n->ops->name, n->params[p].suffix, clip, len, IR_MAX_PARAM_NAME);
                n->shaped = false;
                break;
            }
            if (shape_numel(n->params[p].shape) > SHAPE_MAX_NUMEL) {
                char buf[64], lim[32];
                diag_error(d, n->loc, "'%s' %s %s is too large: more than %s values", n->ops->name,
                           n->params[p].suffix, shape_str(n->params[p].shape, buf),
                           fmt_thousands(lim, SHAPE_MAX_NUMEL));
                n->shaped = false;
            }
        }
        if (d->errors != errors && n->ctx) { /* which use, which copy, at every level */
            for (const ExpCtx *c = n->ctx; c; c = c->outer)
                diag_note(d, c->at, "%s", c->what);
            if (!again && ntold < (int)(sizeof told / sizeof told[0]))
                told[ntold++] = n->head_loc;
        }
        d->silent = silent;
        if (d->errors != errors)
            g->shaped = false;
        if (!n->shaped) {
            g->shaped = false;
            continue;
        }
        bool over_p = false, over_m = __builtin_add_overflow(g->macs, n->macs, &g->macs);
        for (int p = 0; p < n->nparams; p++)
            if (!n->params[p].buffer)
                over_p |= __builtin_add_overflow(g->nparams, shape_numel(n->params[p].shape),
                                                 &g->nparams);
        if (over_p || over_m) { /* checked sums: the layer that passes the limit is blamed */
            char lim[32];
            diag_error(d, n->loc, "the network's %s count passes %s with this '%s'",
                       over_m ? "MAC" : "parameter", fmt_thousands(lim, INT64_MAX), n->ops->name);
            g->shaped = false;
            break;
        }
        if (diag_full(d))
            break;
    }
    /* A layer nothing reads (a join took other tensors after it) would still run: PyTorch
     * gives its parameters no gradient at all, where a runtime of gradient buffers would
     * need a rule of its own for them. It is written by mistake far more often than on
     * purpose, so it is an error, at the layer. */
    bool whole = g->shaped; /* every node's uses were counted */
    for (int i = 0; whole && i + 1 < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        if (n->nuses)
            continue;
        const char *dot = strrchr(n->path, '.');
        diag_error(d, n->head_loc,
                   "the output of '%s' (%s) is never used: no layer or join reads it, and it "
                   "is not the network's output",
                   n->path, n->ops->name);
        const char *name = dot ? dot + 1 : n->path;
        if (strspn(name, "0123456789") == strlen(name) && n->ops->max_inputs) /* a join */
            diag_hint(d, n->head_loc,
                      "name it ('x: %s ...') and take it into the join after it, or remove it",
                      n->ops->example);
        else if (strspn(name, "0123456789") == strlen(name)) /* a position, not a name */
            diag_hint(d, n->head_loc,
                      "name it ('x: %s') and take it into the join after it, or remove it",
                      n->ops->name);
        else
            diag_hint(d, n->head_loc, "take '%s' into the join after it, or remove it", name);
        g->shaped = false;
    }
    return g->shaped;
}

/* ---- dump ---- */

static void dump_node(const Node *n, int depth, StrBuf *sb)
{
    char a[64], b[64];
    sb_indent(sb, depth);
    sb_printf(sb, "%s %s", n->path, n->ops->name);
    for (int i = 0; i < n->ops->nattrs; i++) {
        const AttrSpec *s = &n->ops->attrs[i];
        const AttrVal *v = &n->attrs[i];
        if (!v->set && !s->def && v->n == 0 && s->type != ATTR_BOOL && s->type != ATTR_ENUM)
            continue;
        sb_printf(sb, " %s=", s->name);
        attr_format(sb, s, v);
    }
    if (n->ops->max_inputs) { /* a join: what it reads */
        sb_puts(sb, " from=[");
        for (int k = 0; k < n->ninputs; k++)
            sb_printf(sb, "%s%s", k ? ", " : "", n->inputs[k] ? n->inputs[k]->path : "input");
        sb_putc(sb, ']');
    }
    if (n->shaped)
        sb_printf(sb, " : %s -> %s", shape_str(n->in, a), shape_str(n->out, b));
    for (int p = 0; p < n->nparams; p++)
        sb_printf(sb, " %s[%s]", n->params[p].name, shape_str(n->params[p].shape, a));
    if (n->macs)
        sb_printf(sb, " macs=%lld", (long long)n->macs);
    sb_putc(sb, '\n');
}

static void dump_item(const Item *it, int depth, StrBuf *sb)
{
    if (!it->is_group) {
        dump_node(it->node, depth, sb);
        return;
    }
    static const char *const words[] = {
        [ITEM_GROUP] = "group", [ITEM_BRANCH] = "branch", [ITEM_RESIDUAL] = "residual"};
    sb_indent(sb, depth);
    sb_printf(sb, "%s %s\n", words[it->kind], it->path);
    for (int i = 0; i < it->children.len; i++)
        dump_item(it->children.items[i], depth + 1, sb);
    if (it->kind == ITEM_RESIDUAL && it->node)
        dump_node(it->node, depth + 1, sb);
}

void ir_dump(const Graph *g, StrBuf *sb)
{
    char buf[64];
    sb_printf(sb, "network %s input %s\n", g->name ? g->name : "?", shape_str(g->input, buf));
    for (int i = 0; i < g->root->children.len; i++)
        dump_item(g->root->children.items[i], 1, sb);
    sb_printf(sb, "params %lld macs %lld\n", (long long)g->nparams, (long long)g->macs);
    const TrainConfig *t = &g->train;
    if (!t->present)
        return;
    sb_puts(sb, "train\n");
    ir_train_write(sb, t, TRAIN_DUMP);
}

/* ---- summary ---- */

void ir_summary(const Graph *g, StrBuf *sb)
{
    char a[64], b[32], c[32];
    const char *rule = "------------------------------------------------------------------------"
                       "--------\n";
    sb_printf(sb, "network %s: input %s (%lld values per sample)\n", g->name ? g->name : "?",
              shape_str(g->input, a), (long long)shape_numel(g->input));
    sb_puts(sb, rule);
    sb_printf(sb, "%-24s %-17s %-16s %12s %14s\n", "Layer", "Kind", "Output shape", "Params",
              "MACs");
    sb_puts(sb, rule);
    int64_t acts = shape_numel(g->input);
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        int64_t np = 0;
        for (int p = 0; p < n->nparams; p++)
            if (!n->params[p].buffer)
                np += shape_numel(n->params[p].shape);
        acts += shape_numel(n->out);
        sb_printf(sb, "%-24s %-17s %-16s %12s %14s\n", n->path, n->ops->name, shape_str(n->out, a),
                  np ? fmt_thousands(b, np) : "-", n->macs ? fmt_thousands(c, n->macs) : "-");
    }
    sb_puts(sb, rule);
    sb_printf(sb, "Total params: %s (%.2f KiB as float32)\n", fmt_thousands(b, g->nparams),
              (double)g->nparams * 4 / 1024);
    sb_printf(sb, "Total MACs per image: %s\n", fmt_thousands(b, g->macs));
    sb_printf(sb, "Activations per sample: %s values (%.2f KiB as float32, input included)\n",
              fmt_thousands(c, acts), (double)acts * 4 / 1024);
}

/* ---- --list-layers ---- */

void ir_list_layers(StrBuf *sb)
{
    static const char *const tnames[] = {"int",  "int or pair", "float", "floats",
                                         "bool", "enum",        "string"};
    for (int k = 0; k < LAYER__COUNT; k++) {
        const LayerOps *ops = ir_layers[k];
        sb_printf(sb, "%s: %s\n", ops->name, ops->summary);
        sb_printf(sb, "  example: %s\n", ops->example);
        if (ops->positional && ops->positional[0]) {
            sb_puts(sb, "  positional:");
            for (int i = 0; ops->positional[i]; i++)
                sb_printf(sb, " %s", ops->positional[i]);
            sb_putc(sb, '\n');
        }
        if (ops->has_in_out)
            sb_puts(sb, "  sizes: in->out (in is optional and checked when given)\n");
        for (int i = 0; i < ops->nattrs; i++) {
            const AttrSpec *s = &ops->attrs[i];
            sb_printf(sb, "  %-14s %-11s", s->name, tnames[s->type]);
            if (s->shortp)
                sb_printf(sb, " short %s<n>", s->shortp);
            if (s->required)
                sb_puts(sb, " required");
            else if (s->def)
                sb_printf(sb, " default %s", s->def);
            if (s->type == ATTR_ENUM) {
                sb_puts(sb, " one of");
                for (int j = 0; s->choices[j]; j++)
                    sb_printf(sb, " %s", s->choices[j]);
            }
            sb_printf(sb, "  %s\n", s->help);
        }
    }
}

bool ir_check_train(const Graph *g, Diag *d)
{
    const TrainConfig *t = &g->train;
    const Shape in = g->input;
    char sh[64];
    bool ok = true;
    /* the images' rows and columns, when the input names them (a flat input does not) */
    int64_t h = in.rank == 3 ? in.d[1] : in.rank == 2 ? in.d[0] : 0;
    int64_t w = in.rank == 3 ? in.d[2] : in.rank == 2 ? in.d[1] : 0;
    if (t->crop > 0 && h > 0 && (t->crop != h || t->crop != w)) {
        const Setting *s = ir_setting_find("augment");
        SrcLoc at = s ? t->at[s - ir_settings] : (SrcLoc){0};
        diag_error(d, at,
                   "augment crops %dx%d squares for the network, but network '%s' takes input "
                   "%s",
                   t->crop, t->crop, g->name, shape_str(in, sh));
        if (h == w && loc_yaml(at))
            diag_hint(d, at, "the crop is the input's size: augment: {crop: %lld, pad: %d}",
                      (long long)h, t->pad);
        else if (h == w && t->pad)
            diag_hint(d, at, "the crop is the input's size: augment %lld pad=%d", (long long)h,
                      t->pad);
        else if (h == w)
            diag_hint(d, at, "the crop is the input's size: augment %lld", (long long)h);
        else
            diag_hint(d, at, "RandomCrop's squares need a square input");
        ok = false;
    }
    /* the loss against the last layer, as PyTorch's losses read their input */
    const Node *last = g->nodes.len ? GRAPH_NODE(g, g->nodes.len - 1) : NULL;
    const Setting *ls = ir_setting_find("loss");
    SrcLoc lat = ls ? t->at[ls - ir_settings] : (SrcLoc){0};
    if (last && t->loss == LOSS_NLL && last->kind != LAYER_LOGSOFTMAX) {
        diag_warning(d, lat.file ? lat : last->head_loc,
                     "loss nll reads log-probabilities (torch.nn.NLLLoss), but the network "
                     "ends in %s '%s'",
                     last->ops->name, last->path);
        diag_hint(d, last->head_loc,
                  "end the network in LogSoftmax, or use loss cross_entropy on its scores");
    }
    if (last && t->loss == LOSS_CROSS_ENTROPY && last->kind == LAYER_SOFTMAX) {
        diag_warning(d, lat.file ? lat : last->head_loc,
                     "loss cross_entropy takes scores and applies log_softmax itself: after "
                     "Softmax '%s' it trains on the log of probabilities' softmax",
                     last->path);
        diag_hint(d, last->head_loc,
                  "drop the Softmax (cross_entropy and --predict's probabilities need none), or "
                  "end in LogSoftmax with loss nll");
    }
    int nn = ir_norm_values(t);
    if (nn > 1 && in.rank == 3 && nn != in.d[0]) {
        const Setting *s = ir_setting_find("normalize");
        SrcLoc at = s ? t->at[s - ir_settings] : (SrcLoc){0};
        diag_error(d, at,
                   "normalize gives %d values, but network '%s' takes %lld channel%s (input %s)",
                   nn, g->name, (long long)in.d[0], in.d[0] == 1 ? "" : "s", shape_str(in, sh));
        diag_hint(d, at, "give one mean and one std for every channel, or one for all");
        ok = false;
    }
    return ok;
}
