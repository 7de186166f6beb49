/* write_ast.c: a file's syntax tree written back in .net or YAML form, its parameters,
 * expressions, repeats, templates, ifs and includes kept as written (netc --to, for a file
 * that has any of them; write.c writes the expanded IR of the others).
 *
 * Design choice: the statement form is uniform, so the .net writer is one recursive walk;
 * the YAML writer maps each statement onto the YAML shape the reader (yaml.c) turns back
 * into it: a layer's positional arguments as a list (its keyed ones in a last mapping item),
 * a block as a list, repeat and if as mappings of their parts, and the train settings as
 * the settings table names their values. Reading the output gives the same IR (tests:
 * roundtrip.sh). */
#include <string.h>

#include "frontend.h"

/* ---- values ---- */

static void value(StrBuf *sb, const AstValue *v, bool yaml, bool in_expr);

/* An operator's precedence, as both readers bind them (parser.y, expr.c): ?: 0,
 * comparisons 1 (not chained), + - 2, * / // % 3 (all left-associative), unary minus 4; a
 * value 5. */
static int prec(const AstValue *v)
{
    if (v->kind != VAL_EXPR)
        return 5;
    switch (v->op) {
    case OP_COND: return 0;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: return 1;
    case OP_ADD:
    case OP_SUB: return 2;
    case OP_NEG: return 4;
    default: return 3;
    }
}

/* v in parentheses only where its precedence is below min: a chain a + b + c stays flat, as
 * written (fully parenthesised, 101 terms were 101 levels deep, past what a reader takes). */
static void expr_at(StrBuf *sb, const AstValue *v, bool yaml, int min)
{
    if (v->kind != VAL_EXPR) {
        value(sb, v, yaml, true);
        return;
    }
    int p = prec(v);
    if (p < min)
        sb_putc(sb, '(');
    if (v->op == OP_NEG) {
        sb_putc(sb, '-');
        expr_at(sb, v->items.items[0], yaml, 4);
    } else if (v->op == OP_COND) {
        expr_at(sb, v->items.items[0], yaml, 1);
        sb_puts(sb, " ? ");
        expr_at(sb, v->items.items[1], yaml, 1);
        sb_puts(sb, " : ");
        expr_at(sb, v->items.items[2], yaml, 0);
    } else { /* left-associative: the right operand of its own level in parentheses */
        expr_at(sb, v->items.items[0], yaml, p == 1 ? 2 : p);
        sb_printf(sb, " %s ", ast_op_text(v->op));
        expr_at(sb, v->items.items[1], yaml, p + 1);
    }
    if (p < min)
        sb_putc(sb, ')');
}

/* A whole expression: in parentheses in .net (the argument's syntax); YAML's caller quotes. */
static void expr(StrBuf *sb, const AstValue *v, bool yaml, bool top)
{
    if (!top || !yaml)
        sb_putc(sb, '(');
    expr_at(sb, v, yaml, 0);
    if (!top || !yaml)
        sb_putc(sb, ')');
}

/* A string inside a YAML double-quoted expression: \" and \\ escaped twice over. */
static void value(StrBuf *sb, const AstValue *v, bool yaml, bool in_expr)
{
    switch (v->kind) {
    case VAL_STRING:
        if (in_expr && yaml) { /* inside "(...)": the expression's own quotes, escaped */
            sb_puts(sb, "\\\"");
            attr_yaml_chars(sb, v->s, true); /* and line breaks and controls as YAML escapes */
            sb_puts(sb, "\\\"");
        } else {
            attr_quote(sb, v->s, yaml);
        }
        break;
    case VAL_LIST:
        if (v->s) { /* sizes, as written: 1x28x28 */
            sb_puts(sb, v->s);
            break;
        }
        sb_putc(sb, '[');
        for (int i = 0; i < v->items.len; i++) {
            if (i)
                sb_puts(sb, ", ");
            value(sb, v->items.items[i], yaml, in_expr);
        }
        sb_putc(sb, ']');
        break;
    case VAL_EXPR:
        if (yaml && !in_expr) {
            sb_putc(sb, '"');
            sb_putc(sb, '(');
            expr(sb, v, yaml, true);
            sb_putc(sb, ')');
            sb_putc(sb, '"');
        } else {
            expr(sb, v, yaml, false);
        }
        break;
    case VAL_INT:
    case VAL_FLOAT: /* the source text, but YAML's +5, which .net does not read */
        sb_puts(sb, v->s + (v->s[0] == '+'));
        break;
    default:
        if (v->kind == VAL_IDENT && v->in_parens && !in_expr) /* (width) stays an expression */
            sb_printf(sb, yaml ? "\"(%s)\"" : "(%s)", v->s);
        else
            sb_puts(sb, v->s);
        break;
    }
}

/* ---- .net ---- */

static void net_args(StrBuf *sb, const PtrVec *args)
{
    for (int i = 0; i < args->len; i++) {
        const AstArg *a = args->items[i];
        sb_putc(sb, ' ');
        if (a->from_arrow && !strcmp(a->key, "in") && i + 1 < args->len &&
            ((const AstArg *)args->items[i + 1])->from_arrow) {
            value(sb, a->val, false, false);
            sb_puts(sb, "->");
            value(sb, ((const AstArg *)args->items[++i])->val, false, false);
            continue;
        }
        if (a->key)
            sb_printf(sb, "%s=", a->key);
        value(sb, a->val, false, false);
    }
}

static void net_stmts(StrBuf *sb, const PtrVec *stmts, int depth)
{
    for (int i = 0; i < stmts->len; i++) {
        const AstStmt *s = stmts->items[i];
        sb_indent(sb, depth);
        if (s->label)
            sb_printf(sb, "%s: ", s->label);
        sb_puts(sb, s->head);
        net_args(sb, &s->args);
        if (s->has_block) {
            sb_puts(sb, " {\n");
            net_stmts(sb, &s->body, depth + 1);
            sb_indent(sb, depth);
            sb_putc(sb, '}');
        }
        sb_putc(sb, '\n');
    }
}

void write_ast_net(const AstNet *net, StrBuf *sb)
{
    net_stmts(sb, &net->top, 0);
    if (!net->name) { /* a file for include: its params and templates alone */
        net_stmts(sb, &net->body, 0);
        return;
    }
    if (net->top.len)
        sb_putc(sb, '\n');
    sb_printf(sb, "network %s", net->name);
    for (int i = 0; i < net->header.len; i++) {
        const AstArg *a = net->header.items[i];
        sb_printf(sb, "%s%s ", i ? ", " : " (", a->key);
        value(sb, a->val, false, false);
    }
    sb_puts(sb, net->header.len ? ") {\n" : " {\n");
    net_stmts(sb, &net->body, 1);
    sb_puts(sb, "}\n");
    if (net->has_train) {
        sb_puts(sb, "\ntrain {\n");
        net_stmts(sb, &net->train, 1);
        sb_puts(sb, "}\n");
    }
}

/* ---- YAML ---- */

static void yaml_items(StrBuf *sb, const PtrVec *stmts, int depth);

/* A statement's arguments as its value, in their order: positional ones as list items (one
 * alone as itself), each run of keyed ones as a mapping (`MaxPool2d kernel=2 1`, whose 1 is
 * the stride, stays `[{kernel: 2}, 1]`). */
static void yaml_args(StrBuf *sb, const PtrVec *args)
{
    int npos = 0, nkey = 0;
    for (int i = 0; i < args->len; i++)
        ((const AstArg *)args->items[i])->key ? nkey++ : npos++;
    bool list = npos > 1 || (npos == 1 && nkey > 0) ||
                (npos == 1 && ((const AstArg *)args->items[0])->val->kind == VAL_LIST &&
                 !((const AstArg *)args->items[0])->val->s);
    if (list)
        sb_putc(sb, '[');
    for (int i = 0; i < args->len; i++) {
        const AstArg *a = args->items[i];
        bool prev_key = i > 0 && ((const AstArg *)args->items[i - 1])->key;
        bool next_key = i + 1 < args->len && ((const AstArg *)args->items[i + 1])->key;
        if (i && !(a->key && prev_key))
            sb_puts(sb, ", ");
        if (a->key) {
            sb_printf(sb, "%s%s: ", prev_key ? ", " : "{", a->key);
            value(sb, a->val, true, false);
            if (!next_key)
                sb_putc(sb, '}');
        } else {
            value(sb, a->val, true, false);
        }
    }
    if (list)
        sb_putc(sb, ']');
}

/* repeat and if: a mapping of their parts, the body under layers. */
static void yaml_parts(StrBuf *sb, const AstStmt *s, int depth)
{
    sb_putc(sb, '\n');
    sb_indent(sb, depth);
    if (!strcmp(s->head, AST_REPEAT)) {
        sb_puts(sb, "count: ");
        if (s->args.len > 0)
            value(sb, ((const AstArg *)s->args.items[0])->val, true, false);
        if (s->args.len > 2) {
            sb_putc(sb, '\n');
            sb_indent(sb, depth);
            sb_puts(sb, "as: ");
            value(sb, ((const AstArg *)s->args.items[2])->val, true, false);
        }
    } else {
        sb_puts(sb, "cond: ");
        if (s->args.len > 0)
            value(sb, ((const AstArg *)s->args.items[0])->val, true, false);
    }
    sb_putc(sb, '\n');
    sb_indent(sb, depth);
    sb_puts(sb, s->body.len ? "layers:\n" : "layers: []\n");
    yaml_items(sb, &s->body, depth + 1);
}

static void yaml_items(StrBuf *sb, const PtrVec *stmts, int depth)
{
    for (int i = 0; i < stmts->len; i++) {
        const AstStmt *s = stmts->items[i];
        if (!strcmp(s->head, AST_PARAMS) || !strcmp(s->head, AST_TEMPLATE))
            continue; /* at the top level */
        sb_indent(sb, depth);
        sb_puts(sb, "- ");
        bool parts = !strcmp(s->head, AST_REPEAT) || !strcmp(s->head, AST_IF);
        bool graph = ast_is_block_word(s->head);
        if (s->has_block && !parts && !graph) { /* a group `name { }`, or `x: sequential { }`
                                                    (the group x): name: [...] */
            sb_printf(sb, s->body.len ? "%s:\n" : "%s: []\n", s->label ? s->label : s->head);
            yaml_items(sb, &s->body, depth + 1);
            continue;
        }
        int inner = depth + 1;
        if (s->label && (s->has_block || s->args.len || parts)) { /* label:\n  head: ... */
            sb_printf(sb, "%s:\n", s->label);
            sb_indent(sb, depth + 2);
            inner = depth + 2;
        } else if (s->label) { /* act: ReLU */
            sb_printf(sb, "%s: %s\n", s->label, s->head);
            continue;
        }
        if (parts) {
            sb_printf(sb, "%s:", s->head);
            yaml_parts(sb, s, inner + 1);
        } else if (graph) { /* residual: [...] */
            sb_printf(sb, s->body.len ? "%s:\n" : "%s: []\n", s->head);
            yaml_items(sb, &s->body, inner + 1);
        } else if (s->args.len) {
            sb_printf(sb, "%s: ", s->head);
            yaml_args(sb, &s->args);
            sb_putc(sb, '\n');
        } else {
            sb_printf(sb, "%s\n", s->head);
        }
    }
}

/* A train setting: `name: value`, `name: Kind`, `name: {Kind: {k: v}}` or `name: {k: v}`,
 * positional values named by the settings table. */
static void yaml_setting(StrBuf *sb, const AstStmt *s)
{
    const Setting *st = ir_setting_find(s->head);
    const AstArg *first = s->args.len ? s->args.items[0] : NULL;
    const SettingKind *kind = NULL;
    for (int k = 0; st && first && !first->key && first->val->kind == VAL_IDENT && k < st->nkinds;
         k++)
        if (st->kinds[k].name && str_ieq(st->kinds[k].name, first->val->s))
            kind = &st->kinds[k];
    int from = kind ? 1 : 0;
    const char *const *pos = kind                       ? kind->positional
                             : st && !st->kinds[0].name ? st->kinds[0].positional
                                                        : NULL;
    int rest = s->args.len - from, npos = 0;
    for (int i = from; i < s->args.len; i++)
        npos += !((const AstArg *)s->args.items[i])->key;
    sb_printf(sb, "  %s: ", s->head);
    if (rest == 0 && kind) {
        sb_printf(sb, "%s\n", kind->name);
        return;
    }
    if (rest == 1 && npos == 1 && !kind) { /* batch: 100, data: "DIR" */
        value(sb, ((const AstArg *)s->args.items[0])->val, true, false);
        sb_putc(sb, '\n');
        return;
    }
    if (kind)
        sb_printf(sb, "{%s: ", kind->name);
    sb_putc(sb, '{');
    int p = 0, k = 0;
    for (int i = from; i < s->args.len; i++) {
        const AstArg *a = s->args.items[i];
        /* a positional value takes the next name not given by key before it, as lowering
         * does (`normalize mean=0.1 0.3`: 0.3 is the std) */
        for (bool keyed = true; !a->key && pos && pos[p] && keyed;) {
            keyed = false;
            for (int j = from; j < i && !keyed; j++) {
                const AstArg *b = s->args.items[j];
                keyed = b->key && !strcmp(b->key, pos[p]);
            }
            p += keyed;
        }
        const char *key = a->key ? a->key : pos && pos[p] ? pos[p++] : "value";
        sb_printf(sb, "%s%s: ", k++ ? ", " : "", key);
        value(sb, a->val, true, false);
    }
    sb_puts(sb, kind ? "}}\n" : "}\n");
}

/* params and templates from a list of statements (the top level's, then the network's). */
static void yaml_shared(StrBuf *sb, const PtrVec *lists[2])
{
    bool any = false;
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < lists[l]->len; i++) {
            const AstStmt *s = lists[l]->items[i];
            if (strcmp(s->head, AST_PARAMS) != 0)
                continue;
            for (int j = 0; j < s->body.len; j++) {
                const AstStmt *p = s->body.items[j];
                sb_puts(sb, any ? ", " : "params: {");
                any = true;
                sb_printf(sb, "%s: ", p->head);
                if (p->args.len)
                    value(sb, ((const AstArg *)p->args.items[0])->val, true, false);
            }
        }
    if (any)
        sb_puts(sb, "}\n");
    any = false;
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < lists[l]->len; i++) {
            const AstStmt *t = lists[l]->items[i];
            if (strcmp(t->head, AST_TEMPLATE) != 0 || t->args.len == 0)
                continue;
            if (!any)
                sb_puts(sb, "templates:\n");
            any = true;
            sb_printf(sb, "  %s:\n    params: [",
                      ast_value_text(((const AstArg *)t->args.items[0])->val));
            for (int k = 1; k < t->args.len; k++) {
                const AstArg *a = t->args.items[k];
                sb_puts(sb, k > 1 ? ", " : "");
                if (a->key) {
                    sb_printf(sb, "{%s: ", a->key);
                    value(sb, a->val, true, false);
                    sb_putc(sb, '}');
                } else {
                    value(sb, a->val, true, false);
                }
            }
            sb_puts(sb, t->body.len ? "]\n    layers:\n" : "]\n    layers: []\n");
            yaml_items(sb, &t->body, 3);
        }
}

void write_ast_yaml(const AstNet *net, StrBuf *sb)
{
    int ninc = 0;
    for (int i = 0; i < net->top.len; i++) {
        const AstStmt *s = net->top.items[i];
        if (strcmp(s->head, AST_INCLUDE) != 0 || !s->args.len)
            continue;
        sb_puts(sb, ninc++ ? ", " : "include: [");
        value(sb, ((const AstArg *)s->args.items[0])->val, true, false);
    }
    if (ninc)
        sb_puts(sb, "]\n");
    const PtrVec *lists[2] = {&net->top, &net->body};
    if (!net->name) { /* a file for include: its params and templates alone */
        yaml_shared(sb, lists);
        return;
    }
    sb_printf(sb, "network: %s\n", net->name);
    for (int i = 0; i < net->header.len; i++) {
        const AstArg *a = net->header.items[i];
        sb_printf(sb, "%s: ", a->key);
        value(sb, a->val, true, false);
        sb_putc(sb, '\n');
    }
    yaml_shared(sb, lists);
    sb_puts(sb, "layers:\n");
    yaml_items(sb, &net->body, 1);
    if (net->has_train) {
        sb_puts(sb, "train:\n");
        for (int i = 0; i < net->train.len; i++)
            yaml_setting(sb, net->train.items[i]);
    }
}

/* Whether stmts (depth levels down) use a form that expansion removes. */
static bool has_forms(const PtrVec *stmts, int depth)
{
    for (int i = 0; i < stmts->len && depth <= AST_MAX_DEPTH; i++) {
        const AstStmt *s = stmts->items[i];
        if (!strcmp(s->head, AST_PARAMS) || !strcmp(s->head, AST_TEMPLATE) ||
            !strcmp(s->head, AST_REPEAT) || !strcmp(s->head, AST_IF) ||
            !strcmp(s->head, AST_INCLUDE))
            return true;
        for (int k = 0; k < s->args.len; k++)
            if (((const AstArg *)s->args.items[k])->val->kind == VAL_EXPR)
                return true;
        if (has_forms(&s->body, depth + 1))
            return true;
    }
    return false;
}

bool ast_has_forms(const AstNet *net)
{
    return net->top.len || has_forms(&net->body, 0) || has_forms(&net->train, 0);
}
