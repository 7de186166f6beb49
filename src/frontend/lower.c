/* lower.c: AST -> IR. Walks the network's statements: a statement with a block is a group,
 * one without is a layer whose kind and attributes come from the layer registry; names
 * follow PyTorch's state_dict rule (a named item contributes its name, an unnamed one its
 * position among all its siblings). The train section is lower_train's (lower_train.c).
 *
 * Design choice: lowering reports every bad statement and goes on; a statement it cannot
 * make sense of adds no node, and the shape pass runs only on a net that lowered cleanly. */
#include <string.h>

#include "lower.h"

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
    if (!ast_is_name(name, false)) {
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
                       v->kind == VAL_LIST && !v->s ? "a list" : ast_value_text(v));
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
                           e->kind == VAL_LIST ? "a list" : ast_value_text(e));
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
    if (!have_input && net->name && net->yaml)
        diag_hint(L->diag, net->loc, "add 'input: [1, 28, 28]' at the top level");
    else if (!have_input && net->name)
        diag_hint(L->diag, net->loc, "write 'network %s (input 1x28x28) {'", net->name);
}

Graph *lower_net(Arena *a, const AstNet *net, Diag *d)
{
    Lower L = {.arena = a, .diag = d, .g = ir_graph_new(a)};
    Graph *g = L.g;
    g->name = net->name;
    g->name_loc = net->name_loc;
    if (net->name && !ast_is_name(net->name, false))
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
