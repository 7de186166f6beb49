/* expr.c: expressions in parentheses as the syntax tree holds them (VAL_EXPR): their text for
 * messages, and YAML's reader of them. The .net grammar (parser.y) parses the same operators
 * with the same precedence; lowering evaluates them (params.c).
 *
 * Design choice: YAML gives an expression as one scalar, "(width * 2)", so it is read here by
 * recursive descent, one function per precedence level of parser.y's table, building the
 * same tree; the tests check that both formats give the same IR. */
#include <ctype.h>
#include <string.h>

#include "ast.h"

static const char *const op_text[] = {
    [OP_COND] = "?", [OP_EQ] = "==",   [OP_NE] = "!=", [OP_LT] = "<",  [OP_LE] = "<=",
    [OP_GT] = ">",   [OP_GE] = ">=",   [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*",
    [OP_DIV] = "/",  [OP_IDIV] = "//", [OP_MOD] = "%", [OP_NEG] = "-",
};

const char *ast_op_text(ExprOp op) { return op_text[op]; }

/* An operand's text, cut to 60 bytes: every node keeps its own text, so a long chain of
 * operators costs linear memory, not quadratic. */
static const char *operand_text(Arena *a, const AstValue *v)
{
    const char *t = v->kind == VAL_EXPR && v->op != OP_NEG ? arena_printf(a, "(%s)", v->s)
                    : v->kind == VAL_STRING                ? arena_printf(a, "\"%s\"", v->s)
                                                           : ast_value_text(v);
    return strlen(t) <= 60 ? t : arena_printf(a, "%.56s...", t);
}

const char *ast_expr_text(Arena *a, const AstValue *v)
{
    const AstValue *x = v->items.items[0];
    if (v->op == OP_NEG)
        return arena_printf(a, "-%s", operand_text(a, x));
    const AstValue *y = v->items.items[1];
    if (v->op == OP_COND)
        return arena_printf(a, "%s ? %s : %s", operand_text(a, x), operand_text(a, y),
                            operand_text(a, v->items.items[2]));
    return arena_printf(a, "%s %s %s", operand_text(a, x), op_text[v->op], operand_text(a, y));
}

/* ---- YAML's expressions: recursive descent over one scalar ---- */

typedef struct ExprIn {
    Arena *a;
    Diag *d;
    const char *text, *p;
    SrcLoc loc; /* the scalar's */
    int depth;
    bool failed;
    bool exact; /* text is the source's bytes (ast_parse_expr) */
} ExprIn;

/* The location of text from byte at of the scalar, n bytes long (within its line). */
static SrcLoc at(const ExprIn *in, const char *from, int n)
{
    SrcLoc l = in->loc;
    if (!l.file || !in->exact)
        return l;
    l.col += (int)(from - in->text);
    l.len = n > 0 ? n : 1;
    return l;
}

static void skip(ExprIn *in)
{
    while (*in->p == ' ' || *in->p == '\t')
        in->p++;
}

static void fail(ExprIn *in, const char *from, const char *what)
{
    if (in->failed)
        return;
    in->failed = true;
    skip(in);
    unsigned char c = (unsigned char)*from; /* a UTF-8 character whole, not its first byte */
    int n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    for (int k = 1; k < n; k++)
        if (((unsigned char)from[k] & 0xC0) != 0x80)
            n = 1; /* not UTF-8 after all: the byte alone */
    if (*from)
        diag_error(in->d, at(in, from, n), "expected %s in the expression, found '%.*s'", what, n,
                   from);
    else
        diag_error(in->d, at(in, from, 1), "expected %s in the expression, found its end", what);
}

static AstValue *node(ExprIn *in, ExprOp op, AstValue *x, AstValue *y, AstValue *z,
                      const char *from)
{
    AstValue *v = ast_value(in->a, VAL_EXPR, at(in, from, (int)(in->p - from)));
    v->op = op;
    AstValue *o[3] = {x, y, z};
    for (int i = 0; i < 3 && o[i]; i++)
        ptrvec_push(in->a, &v->items, o[i]);
    v->s = ast_expr_text(in->a, v);
    return v;
}

static AstValue *cond(ExprIn *in);

/* One level deeper (in->depth), or an error a little past AST_EXPR_MAX_DEPTH: the recursion
 * is bounded, and evaluation's own limit (params.c:eval) decides, as it does for .net (this
 * parser counts a parenthesis and its contents as levels of their own). */
static bool deeper(ExprIn *in, const char *from)
{
    if (++in->depth <= AST_EXPR_MAX_DEPTH + 16)
        return true;
    if (!in->failed)
        diag_error(in->d, at(in, from, 1), "expression nested more than %d deep",
                   AST_EXPR_MAX_DEPTH);
    in->failed = true;
    return false;
}

/* A number, a name, a string in double quotes, a parenthesised expression (or list), or a
 * list in brackets (as the .net grammar takes one inside an expression, and --to yaml
 * writes it: `(big ? [k, 5] : [1, 1])`). */
static AstValue *atom(ExprIn *in)
{
    skip(in);
    const char *from = in->p;
    if (!deeper(in, from))
        return NULL;
    AstValue *v = NULL;
    if (*in->p == '(' || *in->p == '[') {
        bool bracket = *in->p == '[';
        in->p++;
        PtrVec items = {0};
        skip(in);
        bool empty = bracket && *in->p == ']'; /* [], as the .net grammar takes it */
        if (!empty)
            do {
                AstValue *e = cond(in);
                if (!e)
                    return NULL;
                ptrvec_push(in->a, &items, e);
                skip(in);
            } while (*in->p == ',' && in->p++);
        if (*in->p != (bracket ? ']' : ')')) {
            fail(in, in->p, bracket ? "']'" : "')'");
            return NULL;
        }
        in->p++;
        if (items.len == 1 && !bracket) {
            v = items.items[0];
            if (v->kind == VAL_IDENT) /* (width): a name, as the .net grammar's paren() */
                v->in_parens = true;
        } else {
            v = ast_value(in->a, VAL_LIST, at(in, from, (int)(in->p - from)));
            v->items = items;
        }
    } else if (*in->p == '"') { /* escapes as the .net lexer takes them (ast_unescape) */
        const char *e = in->p + 1;
        while (*e && *e != '"')
            e += e[0] == '\\' && e[1] ? 2 : 1;
        if (!*e) {
            fail(in, e, "'\"'");
            return NULL;
        }
        v = ast_value(in->a, VAL_STRING, at(in, from, (int)(e + 1 - from)));
        v->s = ast_unescape(in->a, in->p + 1, (int)(e - in->p - 1));
        in->p = e + 1;
    } else if (isalnum((unsigned char)*in->p) || *in->p == '_' || *in->p == '.') {
        while (isalnum((unsigned char)*in->p) || *in->p == '_' || *in->p == '.' ||
               ((*in->p == '+' || *in->p == '-') && (in->p[-1] == 'e' || in->p[-1] == 'E') &&
                isdigit((unsigned char)*from)))
            in->p++;
        char *word = arena_strndup(in->a, from, (size_t)(in->p - from));
        v = ast_scalar(in->a, word, at(in, from, (int)(in->p - from)));
        if (v->kind == VAL_STRING) { /* 3k: neither a number nor a name */
            diag_error(in->d, v->loc, "'%s' is neither a number nor a name", word);
            in->failed = true;
            return NULL;
        }
    } else {
        fail(in, in->p, "a number, a name, '(' or '['");
        return NULL;
    }
    in->depth--;
    return v;
}

static AstValue *unary(ExprIn *in)
{
    skip(in);
    const char *from = in->p;
    if (*in->p == '-') {
        in->p++;
        if (!deeper(in, from))
            return NULL;
        AstValue *x = unary(in);
        in->depth--;
        return x ? node(in, OP_NEG, x, NULL, NULL, from) : NULL;
    }
    return atom(in);
}

/* The binary operators of one precedence level; returns the operator matched at in->p. */
static int match(ExprIn *in, int level)
{
    static const struct {
        const char *text;
        ExprOp op;
        int level;
    } ops[] = {
        {"//", OP_IDIV, 3}, {"==", OP_EQ, 1}, {"!=", OP_NE, 1}, {"<=", OP_LE, 1},
        {">=", OP_GE, 1},   {"<", OP_LT, 1},  {">", OP_GT, 1},  {"+", OP_ADD, 2},
        {"-", OP_SUB, 2},   {"*", OP_MUL, 3}, {"/", OP_DIV, 3}, {"%", OP_MOD, 3},
    };
    skip(in);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(in->p, ops[i].text, n) == 0) {
            if (ops[i].level != level)
                return -1;
            in->p += n;
            return (int)ops[i].op;
        }
    }
    return -1;
}

/* level 3: * / // %; 2: + -; 1: comparisons (not chained, as the .net grammar's %nonassoc) */
static AstValue *binary(ExprIn *in, int level)
{
    const char *from = in->p;
    AstValue *x = level == 3 ? unary(in) : binary(in, level + 1);
    int op;
    while (x && (op = match(in, level)) >= 0) {
        AstValue *y = level == 3 ? unary(in) : binary(in, level + 1);
        if (!y)
            return NULL;
        x = node(in, (ExprOp)op, x, y, NULL, from);
        if (level == 1) {
            const char *save = in->p;
            if (match(in, 1) >= 0) {
                in->p = save;
                fail(in, save, "an end to the comparison (comparisons do not chain)");
                return NULL;
            }
            break;
        }
    }
    return x;
}

static AstValue *cond(ExprIn *in)
{
    skip(in);
    const char *from = in->p;
    AstValue *c = binary(in, 1);
    skip(in);
    if (!c || *in->p != '?')
        return c;
    in->p++;
    AstValue *x = cond(in);
    skip(in);
    if (!x)
        return NULL;
    if (*in->p != ':') {
        fail(in, in->p, "':'");
        return NULL;
    }
    in->p++;
    AstValue *y = cond(in);
    return y ? node(in, OP_COND, c, x, y, from) : NULL;
}

AstValue *ast_parse_expr(Arena *a, const char *text, SrcLoc loc, bool exact, Diag *d)
{
    ExprIn in = {.a = a, .d = d, .text = text, .p = text, .loc = loc, .exact = exact};
    AstValue *v = atom(&in); /* the whole scalar is one parenthesised atom */
    skip(&in);
    if (v && *in.p) {
        fail(&in, in.p, "the end after ')'");
        return NULL;
    }
    return in.failed ? NULL : v;
}
