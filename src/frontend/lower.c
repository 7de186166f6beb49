/* lower.c: AST -> IR. Walks the network's statements: a statement with a block is a group,
 * a branch or a residual, `join` joins named siblings, any other is a layer whose kind and
 * attributes come from the layer registry; names follow PyTorch's state_dict rule (a named
 * item contributes its name, an unnamed one its position among all its siblings, a
 * residual's shortcut none). The walk carries the tensor current at each statement, so a
 * node's inputs are what the structure says, not the node before it. The train section is
 * lower_train's (lower_train.c).
 *
 * Design choice: lowering reports every bad statement and goes on; a statement it cannot
 * make sense of adds no node, and the shape pass runs only on a net that lowered cleanly. */
#include <string.h>

#include "lower.h"

static Node *lower_body(Lower *L, Item *parent, const PtrVec *stmts, int depth, Node *in);
static Node *lower_stmts(Lower *L, Item *parent, const PtrVec *stmts, int depth, Node *in,
                         Node *cur);
static Node *lower_if(Lower *L, Item *parent, const AstStmt *s, int depth, Node *in, Node *cur);
static int decided_count(Lower *L, const PtrVec *stmts, const AstStmt **one);
static const char *label_of(Lower *L, const Item *parent, const AstStmt *s);

static const char *child_path(Lower *L, const Item *parent, const char *local)
{
    return *parent->path ? arena_printf(L->arena, "%s.%s", parent->path, local)
                         : arena_strdup(L->arena, local);
}

/* The .net syntax's keywords: a name from YAML must not be one, or --to net could not
 * write it. */
static bool is_keyword(const char *s)
{
    return !strcmp(s, "network") || !strcmp(s, "train") || !strcmp(s, AST_JOIN) ||
           !strcmp(s, AST_PARAMS) || !strcmp(s, AST_REPEAT) || !strcmp(s, AST_SEQUENTIAL) ||
           !strcmp(s, AST_TEMPLATE) || !strcmp(s, AST_IF) || ast_is_block_word(s);
}

/* The kind that differs from `kind` only by its 1d/2d ending (BatchNorm1d's BatchNorm2d), or
 * NULL: a misspelling near one is near both, and which fits depends on the input. */
static const char *twin_kind(const char *kind)
{
    size_t n = strlen(kind);
    if (n < 3 || kind[n - 1] != 'd' || (kind[n - 2] != '1' && kind[n - 2] != '2'))
        return NULL;
    char other[64];
    if (n >= sizeof other)
        return NULL;
    memcpy(other, kind, n + 1);
    other[n - 2] = kind[n - 2] == '1' ? '2' : '1';
    const LayerOps *ops = ir_layer_find(other);
    return ops ? ops->name : NULL;
}

/* Checks an explicit name against its siblings'. */
static const AstStmt *template_of(const Lower *L, const char *name);

static bool check_name(Lower *L, const Item *parent, const char *name, SrcLoc loc)
{
    if (is_keyword(name)) {
        diag_error(L->diag, loc, "'%s' is a keyword of the .net syntax; use another name", name);
        return false;
    }
    const AstStmt *tpl = template_of(L, name);
    if (tpl) { /* YAML's `- cbr: ...` would read as a use of the template */
        diag_error(L->diag, loc, "'%s' is a template's name; name this something else", name);
        diag_note(L->diag, ((const AstArg *)tpl->args.items[0])->loc,
                  "the template '%s' is defined here", name);
        return false;
    }
    if (!ast_is_name(name, false)) {
        bool told = false; /* a word of non-ASCII letters: the .net lexer reported it */
        for (const char *c = name; *c && !loc_yaml(loc); c++)
            told |= (unsigned char)*c >= 0x80;
        if (!told)
            diag_error(L->diag, loc,
                       "'%s' is not a valid name: use letters, digits and '_', "
                       "starting with a letter",
                       name);
        return false;
    }
    for (int i = 0; i < parent->children.len; i++) {
        const Item *sib = parent->children.items[i];
        if (sib->name && strcmp(sib->name, name) == 0) {
            if (sib->loc.file == loc.file && sib->loc.line == loc.line && sib->loc.col == loc.col) {
                /* one statement made twice (a repeat's copies): not two names written */
                diag_error(L->diag, loc, "every copy of this statement would be named '%s'", name);
                diag_hint(L->diag, loc,
                          "leave it unnamed: a repeat names its copies by their index");
                return false;
            }
            diag_error(L->diag, loc, "duplicate name '%s'", name);
            diag_note(L->diag, sib->loc, "'%s' is first defined here", name);
            return false;
        }
    }
    return true;
}

/* A new child of parent, named or at its position among the siblings that take one (a
 * residual's shortcut does not: the body keeps nn.Sequential's indices). */
static Item *new_item(Lower *L, Item *parent, ItemKind kind, const char *name, SrcLoc loc)
{
    Item *it = arena_alloc(L->arena, sizeof *it);
    it->kind = kind;
    it->is_group = kind == ITEM_GROUP || kind == ITEM_BRANCH || kind == ITEM_RESIDUAL;
    it->loc = loc;
    it->name = name;
    it->is_shortcut = parent->kind == ITEM_RESIDUAL && name && !strcmp(name, AST_SHORTCUT);
    int pos = parent->npos; /* counted, not recounted: a repeat of 100,000 copies */
    parent->npos += !it->is_shortcut;
    char idx[16];
    snprintf(idx, sizeof idx, "%d", pos);
    it->path = child_path(L, parent, name ? name : idx);
    ptrvec_push(L->arena, &parent->children, it);
    return it;
}

/* A context inside the current one (a template's use, a repeat's copy). */
static const ExpCtx *push_ctx(Lower *L, SrcLoc at, const char *what)
{
    ExpCtx *c = arena_alloc(L->arena, sizeof *c);
    *c = (ExpCtx){.at = at, .what = what, .outer = L->ctx};
    return c;
}

static Node *new_node(Lower *L, LayerKind k, const AstStmt *s, const char *path, Node *in)
{
    Node *n = ir_node_add(L->g, k, s->loc);
    n->head_loc = s->head_loc;
    n->path = path;
    n->ctx = L->ctx;
    ir_node_set_inputs(n, &in, 1);
    return n;
}

/* The statement's label, checked; NULL if none or not usable. */
static const char *label_of(Lower *L, const Item *parent, const AstStmt *s)
{
    if (!s->label)
        return NULL;
    if (ir_layer_find(s->label)) {
        /* YAML could not tell `Flatten: {Linear: ...}` from a Flatten with arguments */
        diag_error(L->diag, s->label_loc, "'%s' is a layer kind; name the layer something else",
                   s->label);
        return NULL;
    }
    return check_name(L, parent, s->label, s->label_loc) ? s->label : NULL;
}

static Node *lower_layer(Lower *L, Item *parent, const AstStmt *s, Node *in)
{
    const LayerOps *ops = ir_layer_find(s->head);
    if (!ops) {
        diag_error(L->diag, s->head_loc, "unknown layer '%s'", s->head);
        /* YAML's `- a: Linear 3`: a name, then a layer with its arguments in one string */
        const AstArg *a0 = s->args.len == 1 ? s->args.items[0] : NULL;
        const char *text =
            a0 && !a0->key && (a0->val->kind == VAL_STRING || a0->val->kind == VAL_IDENT)
                ? a0->val->s
                : NULL;
        const char *sp = text ? strchr(text, ' ') : NULL;
        char kind[64] = "";
        if (sp && sp - text < (int)sizeof kind)
            memcpy(kind, text, (size_t)(sp - text)), kind[sp - text] = 0;
        const char *sug = ir_layer_suggest(s->head);
        Suggest tsug; /* a template's name is as good a guess as a kind's */
        suggest_init(&tsug, s->head, false);
        if (sug)
            suggest_add(&tsug, sug);
        for (int i = 0; i < L->ntemplates; i++)
            suggest_add(&tsug, ((const AstArg *)L->templates[i]->args.items[0])->val->s);
        const char *tmpl = suggest_best(&tsug) && (!sug || strcmp(suggest_best(&tsug), sug))
                               ? suggest_best(&tsug)
                               : NULL;
        if (kind[0] && ir_layer_find(kind))
            diag_hint(L->diag, s->head_loc,
                      "to name a layer '%s', give its arguments as its own: '- %s: {%s: %s}'",
                      s->head, s->head, kind, sp + 1);
        else if (tmpl)
            diag_hint(L->diag, s->head_loc, "did you mean '%s' (a template)?", tmpl);
        else if (sug && twin_kind(sug))
            diag_hint(L->diag, s->head_loc,
                      "did you mean '%s' (on CxHxW images) or '%s' (on vectors)?",
                      sug[strlen(sug) - 2] == '2' ? sug : twin_kind(sug),
                      sug[strlen(sug) - 2] == '1' ? sug : twin_kind(sug));
        else if (sug)
            diag_hint(L->diag, s->head_loc, "did you mean '%s'?", sug);
        return in;
    }
    if (ops->max_inputs) {
        diag_error(L->diag, s->head_loc, "'%s' joins several inputs: write 'join %s NAME NAME'",
                   ops->name, ops->example + strlen(AST_JOIN " "));
        return in;
    }
    Item *it = new_item(L, parent, ITEM_LAYER, label_of(L, parent, s), s->loc);
    Node *n = new_node(L, ops->kind, s, it->path, in);
    it->node = it->out = n;
    char what[64];
    snprintf(what, sizeof what, "'%s'", ops->name);
    int errors = L->diag->errors;
    lower_args(L, what, ops->attrs, ops->nattrs, ops->positional, ops->has_in_out, &s->args, 0,
               n->attrs, s->head_loc);
    if (L->diag->errors != errors && L->ctx) { /* in a template's use or a repeat's copy:
                                                   which, at every level, as a shape error */
        for (const ExpCtx *c = L->ctx; c; c = c->outer)
            diag_note(L->diag, c->at, "%s", c->what);
        L->noted = L->diag->errors;
    }
    return n;
}

/* Whether the tree under `it` holds `x` (it itself included). */
static bool holds(const Item *it, const Item *x)
{
    if (it == x)
        return true;
    for (int i = 0; i < it->children.len; i++)
        if (holds(it->children.items[i], x))
            return true;
    return false;
}

/* The first item named `name` in the tree under `it` (as built so far), outside `skip`'s own
 * children; NULL when none. *encloses: it is a block that holds skip. */
static const Item *named_elsewhere(const Item *it, const Item *skip, const char *name,
                                   bool *encloses)
{
    for (int i = 0; i < it->children.len; i++) {
        const Item *c = it->children.items[i];
        if (it != skip && c->name && !strcmp(c->name, name)) {
            *encloses = holds(c, skip);
            return c;
        }
        const Item *r = c->is_group ? named_elsewhere(c, skip, name, encloses) : NULL;
        if (r)
            return r;
    }
    return NULL;
}

/* The earlier sibling of a join named `name`, or NULL after reporting why not. */
static Item *join_ref(Lower *L, const Item *parent, const PtrVec *stmts, int at, const char *name,
                      SrcLoc loc)
{
    for (int i = 0; i < parent->children.len; i++) {
        Item *sib = parent->children.items[i];
        if (sib->name && !strcmp(sib->name, name) && !sib->is_shortcut)
            return sib;
    }
    for (int i = at; i < stmts->len; i++) { /* named later in the block: a cycle */
        const AstStmt *t = stmts->items[i];
        const char *tn = t->label                                      ? t->label
                         : t->has_block && !ast_is_block_word(t->head) ? t->head
                                                                       : NULL;
        if (tn && !strcmp(tn, name)) {
            diag_error(L->diag, loc,
                       i == at ? "a join cannot take its own output ('%s'): that is a cycle"
                               : "'%s' comes after this join: a join takes what is defined "
                                 "before it (the other way round is a cycle)",
                       name);
            if (i != at)
                diag_note(L->diag, t->label ? t->label_loc : t->head_loc, "'%s' is defined here",
                          name);
            return NULL;
        }
    }
    bool encloses = false;
    const Item *far = named_elsewhere(L->g->root, parent, name, &encloses);
    if (far && encloses) { /* `blk { b: ...; join add blk b }` */
        diag_error(L->diag, loc,
                   "a join cannot take the output of the block it is in ('%s'): that is a "
                   "cycle",
                   name);
        diag_note(L->diag, far->loc, "'%s' is here", name);
        return NULL;
    }
    if (far) { /* `a: Conv2d ...; blk { ...; join add a b }` */
        diag_error(L->diag, loc, "nothing named '%s' in this join's block", name);
        diag_note(L->diag, far->loc,
                  "'%s' is here, in another block: a join takes the outputs of its own block's "
                  "statements",
                  name);
        return NULL;
    }
    diag_error(L->diag, loc, "nothing named '%s' before this join", name);
    Suggest sg;
    suggest_init(&sg, name, false);
    for (int i = 0; i < parent->children.len; i++) {
        const Item *sib = parent->children.items[i];
        if (sib->name && !sib->is_shortcut)
            suggest_add(&sg, sib->name);
    }
    diag_suggest(L->diag, loc, &sg);
    return NULL;
}

/* join: [label ':'] 'join' KIND NAME NAME ... */
static Node *lower_join(Lower *L, Item *parent, const PtrVec *stmts, int at, Node *in)
{
    const AstStmt *s = stmts->items[at];
    const AstArg *a0 = s->args.len ? s->args.items[0] : NULL;
    const LayerOps *ops = NULL;
    if (a0 && !a0->key && a0->val->kind == VAL_IDENT) {
        const LayerOps *k = ir_layer_find(a0->val->s);
        ops = k && k->max_inputs ? k : NULL;
    }
    if (!ops) {
        Suggest sg;
        suggest_init(&sg, a0 && a0->val->s ? a0->val->s : "", false);
        for (int k = 0; k < LAYER__COUNT; k++)
            if (ir_layers[k]->max_inputs)
                suggest_add(&sg, ir_layers[k]->example + strlen(AST_JOIN " "));
        diag_error(L->diag, a0 ? a0->loc : s->head_loc,
                   "a join needs its kind first: 'add' or 'concat', got %s",
                   a0 ? arena_printf(L->arena, "'%s'", ast_value_text(a0->val)) : "nothing");
        if (a0)
            diag_suggest(L->diag, a0->loc, &sg);
        parent->bad_join = true;
        return in;
    }
    int k = s->args.len - 1;
    if (k < 2 || k > IR_MAX_JOIN) {
        diag_error(L->diag, s->loc, "a join takes 2 to %d names of what it joins, got %d",
                   IR_MAX_JOIN, k);
        parent->bad_join = true;
        return in;
    }
    Node **ins = arena_alloc(L->arena, sizeof(Node *) * (size_t)k);
    const char **names = arena_alloc(L->arena, sizeof(char *) * (size_t)k);
    SrcLoc *locs = arena_alloc(L->arena, sizeof(SrcLoc) * (size_t)k);
    bool ok = true;
    for (int i = 0; i < k; i++) {
        const AstArg *a = s->args.items[i + 1];
        if (a->key || a->val->kind != VAL_IDENT) {
            diag_error(L->diag, a->loc, "a join takes names of blocks or layers, got '%s'",
                       a->key ? a->key : ast_value_text(a->val));
            ok = false;
            continue;
        }
        int twice = -1; /* a branch once: PyTorch's Join keys its branches by name */
        for (int j = 0; j < i && twice < 0; j++) {
            const AstArg *b = s->args.items[j + 1];
            if (!b->key && b->val->kind == VAL_IDENT && !strcmp(b->val->s, a->val->s))
                twice = j;
        }
        if (twice >= 0) {
            const AstArg *b = s->args.items[twice + 1];
            diag_error(L->diag, a->loc, "'%s' is joined twice: a join takes each branch once",
                       a->val->s);
            diag_note(L->diag, b->loc, "'%s' is first named here", a->val->s);
            ok = false;
            continue;
        }
        Item *ref = join_ref(L, parent, stmts, at, a->val->s, a->loc);
        if (!ref) {
            ok = false;
            continue;
        }
        ref->used = true;
        ins[i] = ref->out;
        names[i] = a->val->s;
        locs[i] = ref->loc;
    }
    const char *label = label_of(L, parent, s);
    if (!ok) {
        parent->bad_join = true;
        return in;
    }
    Item *it = new_item(L, parent, ITEM_JOIN, label, s->loc);
    Node *n = new_node(L, ops->kind, s, it->path, in);
    ir_node_set_inputs(n, ins, k);
    n->in_names = names;
    n->in_locs = locs;
    it->node = it->out = n;
    it->nrefs = k;
    it->refs = names;
    return n;
}

/* A block: a group, a branch or a residual. Returns the tensor current after it. */
static Node *lower_block(Lower *L, Item *parent, const AstStmt *s, int depth, Node *in)
{
    bool block_word = ast_is_block_word(s->head);
    ItemKind kind = !block_word                      ? ITEM_GROUP
                    : !strcmp(s->head, AST_RESIDUAL) ? ITEM_RESIDUAL
                                                     : ITEM_BRANCH;
    const char *name = NULL;
    bool seq = !strcmp(s->head, AST_SEQUENTIAL); /* nn.Sequential: named by its label or index */
    if (seq) {
        name = label_of(L, parent, s);
    } else if (kind == ITEM_GROUP) {
        if (ir_layer_find(s->head)) {
            diag_error(L->diag, s->head_loc,
                       "'%s' is a layer kind; a group needs a name of its own", s->head);
            diag_hint(L->diag, s->head_loc, "write 'block1 { ... }'");
            return in;
        }
        if (s->label)
            diag_error(L->diag, s->label_loc, "a group is named by its own word; drop '%s:'",
                       s->label);
        if (check_name(L, parent, s->head, s->head_loc) || parent->kind == ITEM_RESIDUAL)
            name = s->head;
    } else {
        name = label_of(L, parent, s);
        if (kind == ITEM_BRANCH && !s->label) {
            diag_error(L->diag, s->head_loc, "a branch needs a name, for the join that takes it");
            diag_hint(L->diag, s->head_loc, "write 'b1: branch { ... }'");
        }
    }
    if (s->args.len > 0) {
        const AstArg *a = s->args.items[0];
        diag_error(L->diag, a->loc, "%s '%s' takes no arguments",
                   kind == ITEM_GROUP ? "group" : s->head, name ? name : s->head);
    }
    Item *it = new_item(L, parent, kind, name, kind == ITEM_GROUP ? s->head_loc : s->loc);
    if (kind == ITEM_GROUP && s->body.len == 0 && L->diag->errors == 0)
        diag_warning(L->diag, s->head_loc, "group '%s' is empty", name ? name : s->head);
    Node *out = lower_body(L, it, &s->body, depth + 1, in);
    if (kind == ITEM_BRANCH) { /* its output is named; the flow goes on from its input */
        it->out = out;
        return in;
    }
    if (kind == ITEM_GROUP) {
        it->out = out;
        return out;
    }
    /* residual: the body's output plus the input, or plus the shortcut's output */
    const Item *sc = NULL;
    for (int i = 0; i < it->children.len; i++)
        if (((const Item *)it->children.items[i])->is_shortcut)
            sc = it->children.items[i];
    /* a body that makes nothing (empty, or an `if` that is false): x + x */
    if (out == in && !sc && L->diag->errors == 0 &&
        !(L->empty_warned.file == s->head_loc.file && L->empty_warned.line == s->head_loc.line &&
          L->empty_warned.col == s->head_loc.col)) {
        diag_warning(L->diag, s->head_loc,
                     "residual %s%s%shas an empty body: it adds its input to itself, as an "
                     "empty nn.Sequential would",
                     name ? "'" : "", name ? name : "", name ? "' " : "");
        L->empty_warned = s->head_loc;
    }
    Node *ins[2] = {out, sc ? sc->out : in};
    Node *add = ir_node_add(L->g, LAYER_ADD, s->loc);
    add->head_loc = s->head_loc;
    add->path = it->path;
    ir_node_set_inputs(add, ins, 2);
    const char **names = arena_alloc(L->arena, sizeof(char *) * 2);
    SrcLoc *locs = arena_alloc(L->arena, sizeof(SrcLoc) * 2);
    names[0] = "its body";
    names[1] = sc ? "its shortcut" : "its input";
    locs[0] = s->loc; /* the body's last statement makes its output */
    for (int i = 0; i < it->children.len; i++)
        if (!((const Item *)it->children.items[i])->is_shortcut)
            locs[0] = ((const Item *)it->children.items[i])->loc;
    /* the input: the layer that made it (its statement), else the network's declared input */
    locs[1] = sc ? sc->loc : in ? in->loc : L->g->input_loc.file ? L->g->input_loc : s->head_loc;
    add->in_names = names;
    add->in_locs = locs;
    add->join_what = name ? arena_printf(L->arena, "residual '%s'", name) : "this residual";
    add->join_residual = !sc;
    it->node = it->out = add;
    return add;
}

/* `[label:] repeat N [as i] { body }`: a group of N copies of the body, as
 * nn.Sequential(*[copy for i in range(N)]): a copy of one statement is that statement (named
 * by its index: `stage1.0.conv1`), a copy of several an unnamed group of them (`blocks.0.0`).
 * With `as i`, i is 0, 1, ... in copy i. Returns the tensor current after it. */
static Node *lower_repeat(Lower *L, Item *parent, const AstStmt *s, int depth, Node *in)
{
    int64_t n = 0;
    const char *var = NULL;
    SrcLoc var_loc = {0};
    bool ok = true;
    if (s->args.len < 1 || ((const AstArg *)s->args.items[0])->key) {
        diag_error(L->diag, s->head_loc, "'repeat' needs a count: repeat 3 { ... }");
        ok = false;
    } else {
        const AstArg *a = s->args.items[0];
        const AstValue *v = lower_value(L, a->val);
        if (v && (v->kind != VAL_INT || v->overflow || v->i < 1 || v->i > AST_MAX_REPEAT)) {
            diag_error(L->diag, a->loc, "a repeat count must be an integer from 1 to %d, got %s",
                       AST_MAX_REPEAT, ast_value_text(v));
            ok = false;
        } else if (!v) {
            ok = false;
        } else {
            n = v->i;
        }
    }
    if (s->args.len >= 2) { /* as i */
        const AstArg *as = s->args.items[1], *name = s->args.len > 2 ? s->args.items[2] : NULL;
        bool good = !as->key && as->val->kind == VAL_IDENT && !strcmp(as->val->s, "as") && name &&
                    !name->key && name->val->kind == VAL_IDENT &&
                    ast_is_name(name->val->s, false) && s->args.len == 3;
        if (!good) {
            diag_error(L->diag, as->loc,
                       "after the count, 'repeat' takes 'as NAME' (the copy's index) and nothing "
                       "else");
            ok = false;
        } else if (lower_reserved_name(name->val->s)) { /* bias=true would read the index */
            diag_error(L->diag, name->loc, "'%s' is not a valid index name%s", name->val->s,
                       lower_reserved_name(name->val->s));
            ok = false;
        } else {
            var = name->val->s;
            var_loc = name->loc;
        }
    }
    if (!s->has_block || s->body.len == 0) {
        diag_error(L->diag, s->head_loc, "'repeat' needs a body: repeat 3 { Linear 64; ReLU }");
        ok = false;
    }
    if (s->body.len == 1) {
        const AstStmt *only = s->body.items[0];
        if (only->label) {
            diag_error(L->diag, only->label_loc,
                       "a repeated layer is named by its copy's index; drop '%s:' (or name the "
                       "repeat: '%s: repeat ...')",
                       only->label, only->label);
            ok = false;
        }
    }
    if (!ok)
        return in;
    const char *name = label_of(L, parent, s);
    Item *it = new_item(L, parent, ITEM_GROUP, name, s->head_loc);
    Node *cur = in;
    int errors = L->diag->errors;
    /* the first copy in error stops the rest: one message, not one per copy */
    for (int64_t k = 0; k < n && L->diag->errors == errors && !L->too_big; k++) {
        if (var && !lower_params_push(L, var, var_loc, k))
            return in;
        const ExpCtx *outer = L->ctx; /* the copy a shape error is in */
        L->ctx = push_ctx(
            L, s->head_loc,
            arena_printf(L->arena, "in copy %lld of %lld of this repeat%s%s", (long long)k,
                         (long long)n, var ? ", with " : "",
                         var ? arena_printf(L->arena, "%s = %lld", var, (long long)k) : ""));
        const AstStmt *only;
        L->bare_repeats += !var;
        int count = decided_count(L, &s->body, &only);
        if (count == 0) { /* an empty copy keeps its index, as an empty nn.Sequential would
                             (its body still visited: counted, and its ifs decided) */
            Item *copy = new_item(L, it, ITEM_GROUP, NULL, s->head_loc);
            copy->out = cur = lower_stmts(L, copy, &s->body, depth + 2, cur, cur);
        } else if (count == 1) {
            cur = lower_stmts(L, it, &s->body, depth + 1, cur, cur); /* no rescan of the copies */
        } else {
            Item *copy = new_item(L, it, ITEM_GROUP, NULL, s->head_loc);
            copy->out = cur = lower_body(L, copy, &s->body, depth + 2, cur);
        }
        L->ctx = outer;
        L->bare_repeats -= !var;
        if (var)
            lower_params_pop(L);
    }
    it->out = cur;
    return cur;
}

/* A block's statements in order, from the tensor `in` (NULL: the network's input); returns
 * the tensor current at its end. A shortcut group of a residual runs on the residual's
 * input and leaves the flow as it was. */
/* The template named name, or NULL. */
static const AstStmt *template_of(const Lower *L, const char *name)
{
    for (int i = 0; i < L->ntemplates; i++) {
        const AstStmt *t = L->templates[i];
        if (!strcmp(((const AstArg *)t->args.items[0])->val->s, name))
            return t;
    }
    return NULL;
}

/* A template's parameter i (from 0): its name, and its default (NULL: required). */
static const char *template_param(const AstStmt *t, int i, const AstValue **def)
{
    const AstArg *a = t->args.items[i + 1];
    *def = a->key ? a->val : NULL;
    return a->key ? a->key : a->val->s;
}

/* `[label:] NAME args`, a use of template t: its parameters bound to the arguments (each
 * evaluated where the use is), then its body lowered in their place: one statement as that
 * statement, named by the use's label or index; several as a group so named (nn.Sequential).
 * Returns the tensor current after it. */
static Node *lower_use(Lower *L, Item *parent, const AstStmt *s, const AstStmt *t, int depth,
                       Node *in, Node *cur)
{
    const char *name = ((const AstArg *)t->args.items[0])->val->s;
    for (int i = 0; i < L->ntemplates; i++)
        if (L->templates[i] == t && L->template_refused[i])
            return cur; /* its definition's errors were told */
    for (int i = 0; i < L->nexpanding; i++)
        if (L->expanding[i] == t) {
            diag_error(L->diag, s->head_loc, "template '%s' uses itself", name);
            diag_note(L->diag, t->head_loc, "'%s' is defined here", name);
            return cur;
        }
    if (L->nexpanding == AST_MAX_DEPTH) {
        diag_error(L->diag, s->head_loc, "templates nested more than %d deep", AST_MAX_DEPTH);
        return cur;
    }
    if (s->has_block) {
        diag_error(L->diag, s->head_loc, "a use of template '%s' takes arguments, not a block",
                   name);
        return cur;
    }
    int np = t->args.len - 1;
    const AstValue **val = arena_alloc(L->arena, sizeof *val * (size_t)(np + 1));
    SrcLoc *at = arena_alloc(L->arena, sizeof *at * (size_t)(np + 1));
    bool ok = true;
    int pos = 0;
    for (int i = 0; i < s->args.len; i++) {
        const AstArg *a = s->args.items[i];
        int k = -1;
        const AstValue *def;
        if (a->key) {
            for (int j = 0; j < np && k < 0; j++)
                if (!strcmp(template_param(t, j, &def), a->key))
                    k = j;
            if (k < 0) {
                diag_error(L->diag, a->key_loc, "template '%s' has no parameter '%s'", name,
                           a->key);
                Suggest sg;
                suggest_init(&sg, a->key, false);
                for (int j = 0; j < np; j++)
                    suggest_add(&sg, template_param(t, j, &def));
                diag_suggest(L->diag, a->key_loc, &sg);
                ok = false;
                continue;
            }
        } else {
            while (pos < np && val[pos])
                pos++;
            if (pos == np) {
                diag_error(L->diag, a->loc,
                           "template '%s' takes %d argument%s; '%s' is one too many", name, np,
                           np == 1 ? "" : "s", ast_value_text(a->val));
                ok = false;
                continue;
            }
            k = pos;
        }
        if (val[k]) {
            diag_error(L->diag, a->loc, "template '%s': '%s' is given twice", name,
                       template_param(t, k, &def));
            diag_note(L->diag, at[k], "first given here");
            ok = false;
            continue;
        }
        val[k] = lower_value(L, a->val);
        at[k] = a->loc;
        if (!val[k]) {
            val[k] = a->val; /* reported */
            ok = false;
        }
    }
    for (int j = 0; j < np; j++) {
        const AstValue *def;
        const char *pn = template_param(t, j, &def);
        if (!val[j] && !def) {
            diag_error(L->diag, s->head_loc, "template '%s' needs '%s'", name, pn);
            diag_note(L->diag, t->head_loc, "'%s' is defined here", name);
            ok = false;
        }
    }
    if (!ok)
        return cur;
    for (int i = 0; i < L->ntemplates; i++)
        if (L->templates[i] == t && L->template_failed[i])
            return cur; /* its errors were told at its first use */
    /* the body, and the defaults, see the network's names and the template's own (a default
     * the parameters before it), not the caller's: lexical scope */
    int before = L->nparams, scope = L->scope, errors = L->diag->errors;
    L->scope = L->nparams;
    for (int j = 0; j < np && ok; j++) {
        const AstValue *def;
        const char *pn = template_param(t, j, &def);
        if (!val[j]) {
            val[j] = lower_value(L, def);
            at[j] = s->head_loc;
            ok = val[j] != NULL;
        }
        if (ok)
            lower_params_bind(L, pn, at[j], val[j]);
    }
    if (!ok) { /* a default in error: told once, as an error in the body */
        L->nparams = before;
        L->scope = scope;
        for (int i = 0; i < L->ntemplates; i++)
            if (L->templates[i] == t)
                L->template_failed[i] = true;
        return cur;
    }
    L->expanding[L->nexpanding++] = t;
    const ExpCtx *outer = L->ctx; /* the use a shape error is in */
    L->ctx = push_ctx(L, s->head_loc, arena_printf(L->arena, "in template '%s', used here", name));
    const AstStmt *only = NULL;
    int count = decided_count(L, &t->body, &only);
    if (count == 1 && only->label) {
        /* alone once its ifs are decided, so named by the use: its own label would be lost */
        diag_error(L->diag, only->label_loc,
                   "the statement a template makes is named where it is used; drop '%s:' (with "
                   "its ifs decided, it is the body's only statement)",
                   only->label);
    } else if (count == 1) {
        /* the statement itself, named by the use */
        AstStmt *one = arena_alloc(L->arena, sizeof *one);
        *one = *only;
        one->label = s->label;
        one->label_loc = s->label_loc;
        PtrVec v = {0};
        ptrvec_push(L->arena, &v, one);
        int had = parent->children.len;
        cur = lower_stmts(L, parent, &v, depth, in, cur);
        if (parent->children.len > had) /* its name is defined at the use: a duplicate's
                                            "first defined here" points there */
            ((Item *)parent->children.items[parent->children.len - 1])->loc = s->loc;
    } else {
        Item *it = new_item(L, parent, ITEM_GROUP, label_of(L, parent, s), s->head_loc);
        it->out = cur = lower_body(L, it, &t->body, depth + 1, cur);
    }
    L->nexpanding--;
    L->ctx = outer;
    L->nparams = before;
    L->scope = scope;
    if (L->diag->errors > errors && L->noted != L->diag->errors) /* the body's errors are
                                        told once: say by which use (a layer's said it) */
        diag_note(L->diag, s->head_loc, "in template '%s', used here", name);
    for (int i = 0; i < L->ntemplates && L->diag->errors > errors; i++)
        if (L->templates[i] == t)
            L->template_failed[i] = true;
    return cur;
}

/* `template NAME p1 p2=default ... { body }` at the top of the network: checked and kept
 * (lower_use expands each use). */
static void lower_templates(Lower *L, const AstNet *net)
{
    int n = net->top.len + net->body.len;
    L->templates = arena_alloc(L->arena, sizeof(AstStmt *) * (size_t)(n + 1));
    L->template_failed = arena_alloc(L->arena, sizeof(bool) * (size_t)(n + 1));
    L->template_refused = arena_alloc(L->arena, sizeof(bool) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) { /* outside the network (included ones first), then in it */
        const AstStmt *t = i < net->top.len ? net->top.items[i] : net->body.items[i - net->top.len];
        if (i < net->top.len && strcmp(t->head, AST_TEMPLATE) != 0 &&
            strcmp(t->head, AST_PARAMS) != 0) {
            diag_error(L->diag, t->head_loc,
                       "outside the network a file holds include, params and template; '%s' "
                       "goes in the network",
                       t->head);
            continue;
        }
        if (strcmp(t->head, AST_TEMPLATE) != 0)
            continue;
        const AstArg *a = t->args.len ? t->args.items[0] : NULL;
        if (!a || a->key || a->val->kind != VAL_IDENT || !ast_is_name(a->val->s, false)) {
            diag_error(L->diag, a ? a->loc : t->head_loc,
                       "a template needs a name: template basic planes stride=1 { ... }");
            continue;
        }
        const char *name = a->val->s;
        if (ir_layer_find(name) || is_keyword(name)) {
            diag_error(L->diag, a->loc, "'%s' is a %s; name the template something else", name,
                       ir_layer_find(name) ? "layer kind" : "keyword");
            continue;
        }
        if (template_of(L, name)) {
            diag_error(L->diag, a->loc, "template '%s' is defined twice", name);
            diag_note(L->diag, template_of(L, name)->head_loc, "first defined here");
            continue;
        }
        bool ok = true;
        for (int k = 1; k < t->args.len && ok; k++) {
            const AstArg *p = t->args.items[k];
            const char *pn = p->key ? p->key : p->val->kind == VAL_IDENT ? p->val->s : NULL;
            if (!pn || !ast_is_name(pn, false)) {
                diag_error(L->diag, p->loc,
                           "a template's parameters are names, each with an optional default: "
                           "planes stride=1");
                ok = false;
            } else if (lower_reserved_name(pn)) {
                diag_error(L->diag, p->loc, "'%s' is not a valid parameter name%s", pn,
                           lower_reserved_name(pn));
                ok = false;
            }
            for (int j = 1; j < k && ok; j++) {
                const AstValue *def;
                if (!strcmp(template_param(t, j - 1, &def), pn)) {
                    diag_error(L->diag, p->loc, "parameter '%s' is named twice", pn);
                    ok = false;
                }
            }
        }
        if (!t->has_block || t->body.len == 0) {
            diag_error(L->diag, t->head_loc, "template '%s' needs a body", name);
            ok = false;
        } else if (t->body.len == 1 && ((const AstStmt *)t->body.items[0])->label) {
            const AstStmt *one = t->body.items[0];
            diag_error(L->diag, one->label_loc,
                       "the statement a template makes is named where it is used; drop '%s:'",
                       one->label);
            ok = false;
        }
        /* a refused one is known all the same: its uses say nothing more ("unknown layer") */
        L->template_refused[L->ntemplates] = !ok;
        L->template_failed[L->ntemplates] = !ok;
        L->templates[L->ntemplates++] = t;
    }
}

/* Statements in order, in the block whose input is `in`, from the tensor `cur`; returns the
 * tensor current at their end. A shortcut group of a residual runs on the residual's input
 * and leaves the flow as it was; `if` lowers its body in place when its condition holds. */
static Node *lower_stmts(Lower *L, Item *parent, const PtrVec *stmts, int depth, Node *in,
                         Node *cur)
{
    if (depth > AST_MAX_DEPTH)
        return cur; /* the parsers stop before this; a guard for hand-made ASTs */
    for (int i = 0; i < stmts->len && !diag_full(L->diag) && !L->too_big; i++) {
        const AstStmt *s = stmts->items[i];
        const AstStmt *t;
        if (L->g->nodes.len > L->max_nodes) { /* repeats and templates multiply */
            char max[32];
            diag_error(L->diag, s->head_loc,
                       "the network expands to more than %s layers; is a repeat count too "
                       "large, or a template used inside its own loop?",
                       fmt_thousands(max, L->max_nodes));
            L->too_big = true;
            return cur;
        }
        if (++L->visits > LOWER_VISITS_PER_LAYER * L->max_nodes) {
            char max[32];
            diag_error(L->diag, s->head_loc,
                       "the network expands to more than %s statements; is a repeat count too "
                       "large (a repeat inside a repeat multiplies them), or a template used "
                       "inside its own loop?",
                       fmt_thousands(max, LOWER_VISITS_PER_LAYER * L->max_nodes));
            L->too_big = true;
            return cur;
        }
        if (parent->kind == ITEM_RESIDUAL && s->label && !strcmp(s->label, AST_SHORTCUT)) {
            /* named so, it would be the shortcut and run on the body's output: y + y */
            diag_error(L->diag, s->label_loc,
                       "'shortcut' in a residual is its shortcut group, written without a "
                       "label: 'shortcut { ... }'");
            diag_hint(L->diag, s->label_loc,
                      "write 'shortcut { %s ... }' (in YAML, '- shortcut: [...]' holding the "
                      "layers)",
                      s->head);
            continue;
        }
        if (!strcmp(s->head, AST_INCLUDE) && !s->label && !s->has_block) {
            bool yaml = loc_yaml(s->head_loc);
            diag_error(L->diag, s->head_loc,
                       yaml ? "'include' is a top-level key ('include: FILE'), not a layer: it "
                              "brings a file's params and templates"
                            : "'include' goes outside the network, before it: it brings a "
                              "file's params and templates");
            continue;
        }
        if (!strcmp(s->head, AST_PARAMS) && !s->label) {
            if (depth > 0 || i > 0)
                diag_error(L->diag, s->head_loc,
                           "'params' goes first in the network, outside every block");
            continue; /* declared by lower_params */
        }
        if (!strcmp(s->head, AST_TEMPLATE) && !s->label) {
            if (depth > 0)
                diag_error(L->diag, s->head_loc,
                           "a template is defined at the top of the network, outside every "
                           "block");
            continue; /* kept by lower_templates */
        }
        if (!strcmp(s->head, AST_IF)) {
            if (s->label) /* then lowered as the if it is: no cascade of errors after */
                diag_error(L->diag, s->label_loc,
                           "an 'if' takes no name, as it adds no module of its own; drop '%s:' "
                           "and name the layers in its body",
                           s->label);
            cur = lower_if(L, parent, s, depth, in, cur);
        } else if (!strcmp(s->head, AST_REPEAT)) {
            cur = lower_repeat(L, parent, s, depth, cur);
        } else if ((t = template_of(L, s->head)) != NULL) {
            cur = lower_use(L, parent, s, t, depth, in, cur);
        } else if (s->has_block) {
            bool shortcut =
                parent->kind == ITEM_RESIDUAL && !s->label && !strcmp(s->head, AST_SHORTCUT);
            if (parent->kind == ITEM_RESIDUAL && !s->label && !shortcut) {
                /* `shortcat { ... }`: a group of the body, named so; the sum then takes the
                 * residual's input, silently */
                Suggest sg;
                suggest_init(&sg, s->head, true);
                suggest_add(&sg, AST_SHORTCUT);
                if (suggest_best(&sg)) {
                    diag_warning(L->diag, s->head_loc,
                                 "'%s' is a group in the residual's body, not its shortcut",
                                 s->head);
                    diag_suggest(L->diag, s->head_loc, &sg);
                }
            }
            Node *after = lower_block(L, parent, s, depth, shortcut ? in : cur);
            if (!shortcut)
                cur = after;
        } else if (!strcmp(s->head, AST_JOIN)) {
            cur = lower_join(L, parent, stmts, i, cur);
        } else {
            cur = lower_layer(L, parent, s, cur);
        }
    }
    return cur;
}

/* An `if`'s condition in the scope now: 1 true, 0 false, -1 in error (told). */
static int if_condition(Lower *L, const AstStmt *s)
{
    const AstArg *a = s->args.len == 1 ? s->args.items[0] : NULL;
    if (!a || a->key || !s->has_block) {
        diag_error(L->diag, s->head_loc,
                   "'if' takes a condition and a block: if (stride != 1) { ... }");
        return -1;
    }
    const AstValue *c = lower_value(L, a->val);
    if (!c)
        return -1;
    bool b; /* true or false, or a bool parameter's other words (yes, OFF) */
    if (c->kind != VAL_IDENT || !lower_parse_bool(c->s, &b)) {
        diag_error(L->diag, a->loc, "an 'if' condition must be true or false, got '%s'",
                   ast_value_text(c));
        return -1;
    }
    return b;
}

/* `if (COND) { body }`: the body in place (no group of its own) when COND is true. */
static Node *lower_if(Lower *L, Item *parent, const AstStmt *s, int depth, Node *in, Node *cur)
{
    return if_condition(L, s) == 1 ? lower_stmts(L, parent, &s->body, depth, in, cur) : cur;
}

/* How many statements stmts stand for once their ifs are decided in the scope now (a trial
 * that tells nothing), and *one the statement when it is one: a template's or a repeat's
 * body of one statement is that statement, so a body of one `if` holding two is two (a
 * group), and one holding one is that one. -1 when an if cannot be decided: the body is
 * then lowered as a whole, which tells why. */
static int decided_count(Lower *L, const PtrVec *stmts, const AstStmt **one)
{
    int n = 0;
    for (int i = 0; i < stmts->len; i++) {
        const AstStmt *s = stmts->items[i];
        if (strcmp(s->head, AST_IF)) {
            *one = s;
            n++;
            continue;
        }
        Diag quiet, *real = L->diag;
        diag_init_quiet(&quiet, real->prog);
        L->diag = &quiet;
        int c = if_condition(L, s), k = c == 1 ? decided_count(L, &s->body, one) : 0;
        L->diag = real;
        if (c < 0 || k < 0)
            return -1;
        n += k;
    }
    return n;
}

/* A block's statements in order, from the tensor `in` (NULL: the network's input); returns
 * the tensor current at its end. */
static Node *lower_body(Lower *L, Item *parent, const PtrVec *stmts, int depth, Node *in)
{
    Node *cur = lower_stmts(L, parent, stmts, depth, in, in);
    for (int i = 0; i < parent->children.len; i++) {
        const Item *it = parent->children.items[i];
        if (it->kind == ITEM_BRANCH && !it->used && it->name && !parent->bad_join)
            diag_error(L->diag, it->loc, "branch '%s' is never joined", it->name);
    }
    return cur;
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
        if (have_input && g->input_loc.file) { /* as a layer's attribute given twice */
            diag_error(L->diag, a->key_loc, "'input' is given twice");
            diag_note(L->diag, g->input_loc, "first given here");
            continue;
        }
        have_input = true;
        g->input_loc = a->loc;
        const AstValue *v = a->val;
        if (v->bad)
            continue;             /* reported by the reader: given, not missing */
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

Graph *lower_net(Arena *a, const AstNet *net, const FrontendOptions *opt, Diag *d)
{
    Lower L = {.arena = a, .diag = d, .g = ir_graph_new(a), .max_nodes = LOWER_MAX_NODES};
    if (opt && opt->max_layers > 0 && opt->max_layers < LOWER_MAX_NODES)
        L.max_nodes = opt->max_layers;
    lower_params(&L, net, opt);
    lower_templates(&L, net);
    Graph *g = L.g;
    g->name = net->name;
    g->name_loc = net->name_loc;
    if (net->name && !ast_is_name(net->name, false))
        diag_error(d, net->name_loc, "'%s' is not a valid network name", net->name);
    else if (net->name && is_keyword(net->name))
        diag_error(d, net->name_loc, "'%s' is a keyword of the .net syntax; use another name",
                   net->name);
    lower_header(&L, net);
    lower_body(&L, g->root, &net->body, 0, NULL);
    if (net->name && g->nodes.len == 0 && d->errors == 0) /* else the layers had errors */
        diag_error(d, net->name_loc, "network '%s' has no layers", net->name);
    lower_train(&L, net);
    if (d->errors == 0)
        lower_params_unused(&L, net);
    return g;
}
