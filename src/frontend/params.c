/* params.c: a net's parameters and the expressions that use them, at lowering time.
 *
 *     network resnet (input 1x28x28) {
 *       params { width 16; drop 0.25 }
 *       Conv2d width k3 p1
 *       Conv2d (width * 2) k3 s2 p1
 *       Dropout drop
 *       ...
 *
 * `params` (first in the network, once) declares names with defaults; a default's literal
 * gives the type (int, float, bool, a word, a string), and may use the names above it.
 * `-D NAME=VALUE` replaces a default, read as that type. A name is usable wherever a value
 * is, in the network and in the train section; an expression in parentheses takes + - * /
 * // %, comparisons and `c ? a : b`, with Python's meaning (/ gives a float, // and % floor).
 *
 * Design choice: values are resolved just before lower_args checks them, into literals
 * located where they are used, so every range and type message of the attribute checker
 * applies to a computed value as to a written one. Integers are int64 and every operation
 * is checked (overflow, division by zero, a float that is not finite): an error at the
 * expression, never a wrapped value. */
#include <math.h>
#include <string.h>

#include "lower.h"

typedef enum { P_INT, P_FLOAT, P_BOOL, P_WORD, P_STRING, P_LIST } PType;

static const char *const ptype_name[] = {"an int", "a float",  "a bool",
                                         "a word", "a string", "a list"};

struct NetParam {
    const char *name;
    SrcLoc loc; /* the declaration's name */
    AstValue *val;
    PType type;
    bool used, defined; /* defined: by -D */
    bool index;         /* a repeat's index variable */
};

static bool is_bool_word(const char *s) { return !strcmp(s, "true") || !strcmp(s, "false"); }

static PType type_of(const AstValue *v)
{
    switch (v->kind) {
    case VAL_INT: return P_INT;
    case VAL_FLOAT: return P_FLOAT;
    case VAL_IDENT: return is_bool_word(v->s) ? P_BOOL : P_WORD;
    case VAL_STRING: return P_STRING;
    default: return P_LIST;
    }
}

/* The innermost binding of name: a template's parameter hides the network's. */
/* Whether name i is seen where lowering is: not a template's caller's. */
static bool in_scope(const Lower *L, int i) { return i >= L->scope || i < L->nnet; }

void lower_params_suggest(Lower *L, const char *word, SrcLoc at)
{
    Suggest s;
    suggest_init(&s, word, false);
    for (int i = 0; i < L->nparams; i++)
        if (in_scope(L, i))
            suggest_add(&s, L->params[i].name);
    if (suggest_best(&s))
        diag_hint(L->diag, at, "did you mean the parameter '%s'?", suggest_best(&s));
}

static NetParam *find(Lower *L, const char *name)
{
    for (int i = L->nparams - 1; i >= 0; i--) {
        if (!in_scope(L, i))
            continue;
        if (!strcmp(L->params[i].name, name))
            return &L->params[i];
    }
    return NULL;
}

bool lower_is_param(Lower *L, const char *name) { return find(L, name) != NULL; }

static AstValue *int_value(Lower *L, int64_t x, SrcLoc loc)
{
    AstValue *v = ast_value(L->arena, VAL_INT, loc);
    v->i = x;
    v->f = (double)x;
    v->s = arena_printf(L->arena, "%lld", (long long)x);
    return v;
}

static AstValue *float_value(Lower *L, double x, SrcLoc loc)
{
    AstValue *v = ast_value(L->arena, VAL_FLOAT, loc);
    char buf[48];
    fmt_double(buf, sizeof buf, x);
    if (!strpbrk(buf, ".eEn")) /* 4.0, not 4: a float where an int goes says so */
        strcat(buf, ".0");
    v->f = x;
    v->s = arena_strdup(L->arena, buf);
    return v;
}

static AstValue *bool_value(Lower *L, bool b, SrcLoc loc)
{
    AstValue *v = ast_value(L->arena, VAL_IDENT, loc);
    v->s = b ? "true" : "false";
    return v;
}

/* A copy of v located at loc (a parameter's value where the name is used). */
static AstValue *relocated(Lower *L, const AstValue *v, SrcLoc loc)
{
    AstValue *c = ast_value(L->arena, v->kind, loc);
    *c = *v;
    c->loc = loc;
    return c;
}

static bool is_number(const AstValue *v) { return v->kind == VAL_INT || v->kind == VAL_FLOAT; }

static const char *kind_name(const AstValue *v) { return ptype_name[type_of(v)]; }

static AstValue *eval(Lower *L, const AstValue *v, int depth, bool in_expr);

static AstValue *type_mismatch(Lower *L, const AstValue *e, const AstValue *x, const char *want)
{
    diag_error(L->diag, x->loc, "'%s' needs %s, but '%s' is %s", ast_op_text(e->op), want,
               ast_value_text(x), kind_name(x));
    return NULL;
}

/* Python's float //, from the remainder as CPython's float_divmod takes it: 1 // 0.1 is 9.0,
 * where floor(1 / 0.1) is 10 (the quotient rounds up to a whole number); so a // b * b +
 * a % b is a, as in Python. b is not 0 (checked before). */
static double py_floordiv(double a, double b)
{
    double mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0)))
        div -= 1.0;
    if (div == 0)
        return copysign(0.0, a / b);
    double fl = floor(div);
    return div - fl > 0.5 ? fl + 1.0 : fl;
}

static AstValue *arith(Lower *L, const AstValue *e, const AstValue *x, const AstValue *y)
{
    if (!is_number(x))
        return type_mismatch(L, e, x, "numbers");
    if (!is_number(y))
        return type_mismatch(L, e, y, "numbers");
    bool ints = x->kind == VAL_INT && y->kind == VAL_INT;
    if ((e->op == OP_DIV || e->op == OP_IDIV || e->op == OP_MOD) &&
        (y->kind == VAL_INT ? y->i == 0 : y->f == 0)) {
        const AstValue *src = e->items.items[1];
        if (src->kind == VAL_INT || src->kind == VAL_FLOAT)
            diag_error(L->diag, y->loc, "division by zero");
        else
            diag_error(L->diag, y->loc, "division by zero: '%s' is 0", ast_value_text(src));
        return NULL;
    }
    if (ints && e->op != OP_DIV) {
        int64_t a = x->i, b = y->i, r = 0;
        bool over = false;
        switch (e->op) {
        case OP_ADD: over = __builtin_add_overflow(a, b, &r); break;
        case OP_SUB: over = __builtin_sub_overflow(a, b, &r); break;
        case OP_MUL: over = __builtin_mul_overflow(a, b, &r); break;
        case OP_IDIV:
        case OP_MOD:
            if (a == INT64_MIN && b == -1) {
                over = e->op == OP_IDIV;
                break;
            }
            r = e->op == OP_IDIV ? a / b : a % b;
            if (e->op == OP_IDIV && (a % b != 0) && ((a < 0) != (b < 0)))
                r--; /* floor, as Python's // */
            if (e->op == OP_MOD && r != 0 && ((r < 0) != (b < 0)))
                r += b; /* the divisor's sign, as Python's % */
            break;
        default: break;
        }
        if (over) {
            diag_error(L->diag, e->loc, "integer overflow: %s does not fit in 64 bits", e->s);
            return NULL;
        }
        return int_value(L, r, e->loc);
    }
    double a = x->kind == VAL_INT ? (double)x->i : x->f,
           b = y->kind == VAL_INT ? (double)y->i : y->f, r = 0;
    switch (e->op) {
    case OP_ADD: r = a + b; break;
    case OP_SUB: r = a - b; break;
    case OP_MUL: r = a * b; break;
    case OP_DIV: r = a / b; break;
    case OP_IDIV: r = py_floordiv(a, b); break;
    case OP_MOD:
        r = fmod(a, b);
        if (r != 0 && ((r < 0) != (b < 0)))
            r += b;
        break;
    default: break;
    }
    if (!isfinite(r)) {
        diag_error(L->diag, e->loc, "overflow: %s is not a finite number", e->s);
        return NULL;
    }
    return float_value(L, r, e->loc);
}

/* Two numbers' order, -1, 0 or 1: as integers when both are, else as doubles. */
/* An int against a (finite) float exactly, as Python compares them: 2^53 + 1 is not
 * 2^53.0, which a conversion of the int to double would make it. */
static int int_float_cmp(int64_t a, double b)
{
    if (b >= 9223372036854775808.0)
        return -1;
    if (b < -9223372036854775808.0)
        return 1;
    int64_t t = (int64_t)b; /* b truncated toward 0: exact in this range */
    if (a != t)
        return (a > t) - (a < t);
    double frac = b - (double)t; /* exact */
    return (frac < 0) - (frac > 0);
}

static int number_cmp(const AstValue *x, const AstValue *y)
{
    if (x->kind == VAL_INT && y->kind == VAL_INT)
        return (x->i > y->i) - (x->i < y->i);
    if (x->kind == VAL_INT)
        return int_float_cmp(x->i, y->f);
    if (y->kind == VAL_INT)
        return -int_float_cmp(y->i, x->f);
    return (x->f > y->f) - (x->f < y->f);
}

/* Whether x and y compare by their text: two words, two strings, or a word and a string
 * (act == "relu": a word parameter against a literal, which a bare relu in an expression
 * would read as a name); a bool and a string do not. */
static bool texts(const AstValue *x, const AstValue *y)
{
    return ((x->kind == VAL_IDENT || x->kind == VAL_STRING) && x->kind == y->kind) ||
           (type_of(x) == P_WORD && y->kind == VAL_STRING) ||
           (x->kind == VAL_STRING && type_of(y) == P_WORD);
}

/* x == y for lists, element by element as Python's: numbers by value (1 == 1.0), words and
 * strings by their text, lists by their elements; values of other kinds differ. */
static bool values_equal(const AstValue *x, const AstValue *y)
{
    if (is_number(x) && is_number(y))
        return number_cmp(x, y) == 0;
    if (texts(x, y))
        return !strcmp(x->s, y->s);
    if (x->kind != VAL_LIST || y->kind != VAL_LIST || x->items.len != y->items.len)
        return false;
    for (int i = 0; i < x->items.len; i++)
        if (!values_equal(x->items.items[i], y->items.items[i]))
            return false;
    return true;
}

static AstValue *compare(Lower *L, const AstValue *e, const AstValue *x, const AstValue *y)
{
    if (x->kind == VAL_LIST && y->kind == VAL_LIST && (e->op == OP_EQ || e->op == OP_NE))
        return bool_value(L, values_equal(x, y) == (e->op == OP_EQ), e->loc);
    if (is_number(x) && is_number(y)) {
        int c = number_cmp(x, y);
        bool r = e->op == OP_EQ   ? c == 0
                 : e->op == OP_NE ? c != 0
                 : e->op == OP_LT ? c < 0
                 : e->op == OP_LE ? c <= 0
                 : e->op == OP_GT ? c > 0
                                  : c >= 0;
        return bool_value(L, r, e->loc);
    }
    if (!texts(x, y) || (e->op != OP_EQ && e->op != OP_NE))
        return type_mismatch(L, e, is_number(x) ? y : x,
                             e->op == OP_EQ || e->op == OP_NE ? "two values of one type"
                                                              : "numbers");
    bool same = !strcmp(x->s, y->s);
    return bool_value(L, e->op == OP_EQ ? same : !same, e->loc);
}

/* An operand that is an integer literal past 64 bits (its value clamped by the lexer) is an
 * error where it is used, as it is as an attribute: never a clamped value computed on. */
static bool fits64(Lower *L, const AstValue *v)
{
    if ((v->kind != VAL_INT && v->kind != VAL_FLOAT) || !v->overflow)
        return true;
    if (v->kind == VAL_FLOAT) /* 1e400: strtod's infinity, not a finite number */
        diag_error(L->diag, v->loc, "overflow: %s is past the largest float (1.8e308)",
                   ast_value_text(v));
    else
        diag_error(L->diag, v->loc, "integer overflow: %s does not fit in 64 bits",
                   ast_value_text(v));
    return false;
}

static AstValue *eval_expr(Lower *L, const AstValue *e, int depth)
{
    AstValue *x = eval(L, e->items.items[0], depth + 1, true);
    if (!x || x->bad || (e->op != OP_COND && !fits64(L, x)))
        return NULL; /* bad: a parameter whose default was in error, reported */
    if (e->op == OP_NEG) {
        if (!is_number(x))
            return type_mismatch(L, e, x, "a number");
        if (x->kind == VAL_INT && x->i == INT64_MIN) {
            diag_error(L->diag, e->loc, "integer overflow: %s does not fit in 64 bits", e->s);
            return NULL;
        }
        return x->kind == VAL_INT ? int_value(L, -x->i, e->loc) : float_value(L, -x->f, e->loc);
    }
    if (e->op == OP_COND) {
        if (x->kind != VAL_IDENT || !is_bool_word(x->s)) {
            diag_error(L->diag, x->loc, "the condition of '?' must be true or false, got '%s' (%s)",
                       ast_value_text(x), kind_name(x));
            return NULL;
        }
        AstValue *r = eval(L, e->items.items[!strcmp(x->s, "true") ? 1 : 2], depth + 1, true);
        return r ? relocated(L, r, e->loc) : NULL;
    }
    AstValue *y = eval(L, e->items.items[1], depth + 1, true);
    if (!y || y->bad || !fits64(L, y))
        return NULL;
    if (e->op >= OP_EQ && e->op <= OP_GE)
        return compare(L, e, x, y);
    return arith(L, e, x, y);
}

/* v with parameters replaced by their values and expressions evaluated; NULL after an
 * error. A bare name that is not a parameter stays a name (relu, k3); inside an
 * expression it must be a parameter, true or false. */
static AstValue *eval(Lower *L, const AstValue *v, int depth, bool in_expr)
{
    if (depth > AST_EXPR_MAX_DEPTH) {
        diag_error(L->diag, v->loc,
                   "expression nested more than %d deep (each operator of a chain, 1 + 1 + ..., "
                   "is a level)",
                   AST_EXPR_MAX_DEPTH);
        return NULL;
    }
    switch (v->kind) {
    case VAL_IDENT: {
        NetParam *p = find(L, v->s);
        if (p) {
            p->used = true;
            return relocated(L, p->val, v->loc);
        }
        if ((!in_expr && !v->in_parens) || is_bool_word(v->s))
            return (AstValue *)v;
        bool b; /* TRUE, Yes, off: the words a bool parameter takes, in any case */
        if (lower_parse_bool(v->s, &b))
            return bool_value(L, b, v->loc);
        diag_error(L->diag, v->loc, "unknown name '%s' in the expression", v->s);
        bool callers = false;
        Suggest s;
        suggest_init(&s, v->s, false);
        for (int i = 0; i < L->nparams; i++) {
            if (in_scope(L, i))
                suggest_add(&s, L->params[i].name);
            else
                callers = callers || !strcmp(L->params[i].name, v->s);
        }
        bool below = false; /* a default using a parameter declared after it */
        for (int b = 0; L->param_blocks && b < L->param_blocks->len && !below; b++) {
            const AstStmt *ps = L->param_blocks->items[b];
            for (int k = 0; k < ps->body.len && !below; k++)
                below = !strcmp(((const AstStmt *)ps->body.items[k])->head, v->s);
        }
        if (L->defining)
            diag_hint(L->diag, v->loc,
                      "a -D value may use the parameters declared before '%s' (not itself)",
                      L->defining);
        else if (below)
            diag_hint(L->diag, v->loc,
                      "'%s' is declared further down: a default may use the parameters "
                      "declared before it",
                      v->s);
        else if (callers)
            diag_hint(L->diag, v->loc,
                      "'%s' is the template's caller's: a template sees the network's "
                      "parameters and its own; give it as a parameter of the template",
                      v->s);
        else if (suggest_best(&s))
            diag_suggest(L->diag, v->loc, &s);
        else if (L->bare_repeats > 0 && loc_yaml(v->loc))
            diag_hint(L->diag, v->loc,
                      "for the copy's index, name it in the repeat: {repeat: {count: N, as: %s, "
                      "layers: [...]}}",
                      v->s);
        else if (L->bare_repeats > 0)
            diag_hint(L->diag, v->loc,
                      "for the copy's index, name it in the repeat: repeat N as %s { ... }", v->s);
        else if (L->nparams == 0 && loc_yaml(v->loc))
            diag_hint(L->diag, v->loc, "declare it first: params: {%s: 1}", v->s);
        else if (L->nparams == 0)
            diag_hint(L->diag, v->loc, "declare it first: params { %s 1 }", v->s);
        return NULL;
    }
    case VAL_EXPR: return eval_expr(L, v, depth);
    case VAL_LIST: {
        AstValue *c = NULL;
        for (int i = 0; i < v->items.len; i++) {
            AstValue *x = eval(L, v->items.items[i], depth + 1, in_expr);
            if (!x)
                return NULL;
            if (x != v->items.items[i] && !c) {
                c = relocated(L, v, v->loc);
                c->items = (PtrVec){0};
                for (int k = 0; k < i; k++)
                    ptrvec_push(L->arena, &c->items, v->items.items[k]);
                c->s = NULL; /* no longer the source's text */
            }
            if (c)
                ptrvec_push(L->arena, &c->items, x);
        }
        return c ? c : (AstValue *)v;
    }
    default: return (AstValue *)v;
    }
}

AstValue *lower_value(Lower *L, const AstValue *v) { return eval(L, v, 0, false); }

/* -D NAME=VALUE read as the parameter's type; NULL after an error. */
static AstValue *define_value(Lower *L, const NetParam *p, const char *text)
{
    if (p->type == P_STRING) { /* any text, as it is: "(1+2)" too */
        AstValue *sv = ast_value(L->arena, VAL_STRING, (SrcLoc){0});
        sv->s = text;
        return sv;
    }
    bool b = false;
    if (p->type == P_BOOL && (lower_parse_bool(text, &b) || !strcmp(text, "0") ||
                              !strcmp(text, "1"))) { /* the words a bool attribute takes */
        b = b || !strcmp(text, "1");
        text = b ? "true" : "false";
    }
    AstValue *v = ast_scalar(L->arena, text, (SrcLoc){0});
    int errors = L->diag->errors;
    bool parsed = text[0] == '(' || text[0] == '['; /* an expression, or a list: [1, 1] */
    if (parsed)
        v = ast_parse_expr(L->arena, text, (SrcLoc){0}, false, L->diag);
    L->defining = p->name;
    if (v)
        v = eval(L, v, 0, parsed);
    L->defining = NULL;
    if (!v) {
        if (L->diag->errors > errors) /* the message has no place of its own: say where */
            diag_note(L->diag, (SrcLoc){0}, "in -D %s=%s", p->name, text);
        return NULL;
    }
    PType t = type_of(v);
    if (t == P_INT && p->type == P_FLOAT)
        v = float_value(L, (double)v->i, v->loc), t = P_FLOAT;
    if (t != p->type || ((v->kind == VAL_INT || v->kind == VAL_FLOAT) && v->overflow)) {
        diag_error(L->diag, (SrcLoc){0}, "-D %s=%s: '%s' is %s (its default is %s), got '%s'",
                   p->name, text, p->name, ptype_name[p->type], ast_value_text(p->val), text);
        diag_note(L->diag, p->loc, "'%s' is declared here", p->name);
        return NULL;
    }
    v = relocated(L, v, v->loc);
    v->define = arena_printf(L->arena, "%s=%s", p->name, text);
    return v;
}

/* The `params` block: first in the network, once. */
static const AstStmt *params_stmt(Lower *L, const AstNet *net)
{
    const AstStmt *found = NULL;
    for (int i = 0; i < net->body.len; i++) {
        const AstStmt *s = net->body.items[i];
        if (strcmp(s->head, AST_PARAMS) != 0 || s->label)
            continue;
        if (found) {
            diag_error(L->diag, s->head_loc,
                       "a network has one 'params' block; this is the second");
            diag_note(L->diag, found->head_loc, "the first is here");
        } else {
            found = s;
        }
    }
    return found;
}

/* The -D of name, or NULL; marks it taken. */
static const char *define_of(const FrontendOptions *opt, const char *name, bool *taken)
{
    for (int i = 0; opt && i < opt->ndefines; i++) {
        const char *d = opt->defines[i], *eq = strchr(d, '=');
        if (eq && (size_t)(eq - d) == strlen(name) && !strncmp(d, name, (size_t)(eq - d))) {
            taken[i] = true;
            return eq + 1;
        }
    }
    return NULL;
}

/* Room for one more name. */
static void room(Lower *L)
{
    if (L->nparams < L->params_cap)
        return;
    NetParam *p = arena_alloc(L->arena, sizeof(NetParam) * (size_t)L->params_cap * 2);
    memcpy(p, L->params, sizeof(NetParam) * (size_t)L->nparams);
    L->params = p;
    L->params_cap *= 2;
}

static void declare(Lower *L, const AstStmt *s, const FrontendOptions *opt, bool *taken, bool *bad);
static void undeclared_defines(Lower *L, const AstNet *net, const FrontendOptions *opt,
                               const bool *taken, bool *bad);

void lower_params(Lower *L, const AstNet *net, const FrontendOptions *opt)
{
    /* the params blocks outside the network (included files' first), then the network's */
    PtrVec blocks = {0};
    int n = 0, nd = opt ? opt->ndefines : 0;
    for (int i = 0; i < net->top.len; i++) {
        const AstStmt *t = net->top.items[i];
        if (!strcmp(t->head, AST_PARAMS) && !t->label) {
            ptrvec_push(L->arena, &blocks, (void *)t);
            n += t->body.len;
        }
    }
    const AstStmt *own = params_stmt(L, net);
    if (own) {
        ptrvec_push(L->arena, &blocks, (void *)own);
        n += own->body.len;
    }
    L->params_cap = n + 16; /* bound names (repeat indices, templates' parameters) grow it */
    L->params = arena_alloc(L->arena, sizeof(NetParam) * (size_t)L->params_cap);
    L->nparams = 0;
    bool *taken = arena_alloc(L->arena, sizeof(bool) * (size_t)(nd ? nd : 1));
    bool bad = false;
    L->param_blocks = &blocks;
    for (int b = 0; b < blocks.len; b++) {
        const AstStmt *ps = blocks.items[b];
        if (!ps->has_block)
            diag_error(L->diag, ps->head_loc,
                       "'params' takes a block: params { width 16; lr 0.1 }");
        for (int i = 0; i < ps->body.len; i++) /* in order: a default may use names above it */
            declare(L, ps->body.items[i], opt, taken, &bad);
    }
    L->param_blocks = NULL;
    undeclared_defines(L, net, opt, taken, &bad);
    L->nnet = L->nparams;
    if (bad && opt && opt->bad_define)
        *opt->bad_define = true;
}

/* One parameter: its default, or its -D. */
static void declare(Lower *L, const AstStmt *s, const FrontendOptions *opt, bool *taken, bool *bad)
{
    if (s->has_block || s->label || s->args.len != 1 || ((const AstArg *)s->args.items[0])->key) {
        diag_error(L->diag, s->loc,
                   "a parameter is a name and its default value: 'width 16', 'lr 0.1'");
        return;
    }
    if (!ast_is_name(s->head, false) || lower_reserved_name(s->head)) {
        const char *why = lower_reserved_name(s->head);
        diag_error(L->diag, s->head_loc, "'%s' is not a valid parameter name%s", s->head,
                   why ? why : "");
        return;
    }
    bool b;
    if (find(L, s->head)) {
        diag_error(L->diag, s->head_loc, "parameter '%s' is declared twice", s->head);
        diag_note(L->diag, find(L, s->head)->loc, "first declared here");
        return;
    }
    const AstArg *a = s->args.items[0];
    AstValue *v = eval(L, a->val, 0, a->val->kind == VAL_EXPR);
    if (!v) { /* reported: declared all the same, so its uses and its -D say nothing more */
        AstValue *bad = ast_bad_value(L->arena, a->val->loc);
        define_of(opt, s->head, taken);
        room(L);
        L->params[L->nparams++] = (NetParam){
            .name = s->head, .loc = s->head_loc, .val = bad, .type = type_of(bad), .used = true};
        return;
    }
    if (v->kind == VAL_IDENT && !is_bool_word(v->s) && lower_parse_bool(v->s, &b)) {
        /* TRUE, yes, off: a bool, as a bool attribute reads them (else a word, which
         * `if` and -D b=false would refuse) */
        AstValue *c = arena_alloc(L->arena, sizeof *c);
        *c = *v;
        c->s = b ? "true" : "false";
        v = c;
    }
    NetParam p = {.name = s->head, .loc = s->head_loc, .val = v, .type = type_of(v)};
    const char *text = define_of(opt, s->head, taken);
    if (text) {
        AstValue *dv = define_value(L, &p, text);
        if (dv)
            p.val = dv, p.defined = true;
        else
            *bad = true;
    }
    room(L);
    L->params[L->nparams++] = p;
}

/* Every -D that named no declared parameter. */
static void undeclared_defines(Lower *L, const AstNet *net, const FrontendOptions *opt,
                               const bool *taken, bool *bad)
{
    for (int i = 0; opt && i < opt->ndefines; i++) {
        if (taken[i])
            continue;
        const char *d = opt->defines[i], *eq = strchr(d, '=');
        const char *name = eq ? arena_strndup(L->arena, d, (size_t)(eq - d)) : d;
        *bad = true;
        if (!eq || !*name) {
            diag_error(L->diag, (SrcLoc){0}, "-D %s: write -D NAME=VALUE", d);
            continue;
        }
        const char *first = NULL; /* an earlier -D of the same name: which value is meant? */
        for (int j = 0; j < i && !first; j++)
            if (!strncmp(opt->defines[j], name, strlen(name)) &&
                opt->defines[j][strlen(name)] == '=')
                first = opt->defines[j];
        if (first) {
            diag_error(L->diag, (SrcLoc){0}, "-D %s: '%s' is given twice (-D %s before)", d, name,
                       first);
            continue;
        }
        if (find(L, name)) /* declared twice, or its default in error: reported */
            continue;
        if (opt->undeclared)
            *opt->undeclared = true;
        diag_error(L->diag, (SrcLoc){0}, "-D %s: %s declares no parameter '%s'", d,
                   net->file ? net->file->name : "the net", name); /* netc -D .. a.net b.net */
        Suggest sg;
        suggest_init(&sg, name, false);
        for (int k = 0; k < L->nparams; k++)
            suggest_add(&sg, L->params[k].name);
        if (suggest_best(&sg))
            diag_hint(L->diag, (SrcLoc){0}, "did you mean '%s'?", suggest_best(&sg));
        else if (L->nparams == 0)
            diag_hint(L->diag, (SrcLoc){0}, "declare it first in the network: params { %s ... }",
                      name);
    }
}

bool lower_params_push(Lower *L, const char *name, SrcLoc loc, int64_t k)
{
    NetParam *p = find(L, name);
    if (p) {
        diag_error(L->diag, loc, "the index '%s' hides %s of that name", name,
                   p->index ? "an outer repeat's index" : "a parameter");
        diag_note(L->diag, p->loc, "'%s' is declared here", name);
        return false;
    }
    room(L);
    L->params[L->nparams++] = (NetParam){.name = name,
                                         .loc = loc,
                                         .val = int_value(L, k, loc),
                                         .type = P_INT,
                                         .used = true,
                                         .index = true};
    return true;
}

void lower_params_pop(Lower *L) { L->nparams--; }

void lower_params_bind(Lower *L, const char *name, SrcLoc loc, const AstValue *v)
{
    room(L);
    L->params[L->nparams++] = (NetParam){
        .name = name, .loc = loc, .val = (AstValue *)v, .type = type_of(v), .used = true};
}

/* Whether name is one of template t's parameters (its arguments after its name). */
static bool template_param(const AstStmt *t, const char *name)
{
    for (int k = 1; t && k < t->args.len; k++) {
        const AstArg *a = t->args.items[k];
        if (!strcmp(a->key ? a->key : a->val->kind == VAL_IDENT ? a->val->s : "", name))
            return true;
    }
    return false;
}

/* Marks every parameter named by an identifier in v (a list's or expression's too), but a
 * name the enclosing template t (or NULL) binds, which hides the parameter there. */
static void mark_named(Lower *L, const AstValue *v, const AstStmt *t)
{
    if (v->kind == VAL_IDENT && !template_param(t, v->s))
        for (int i = 0; i < L->nparams; i++)
            if (!strcmp(L->params[i].name, v->s))
                L->params[i].used = true;
    if (v->kind == VAL_LIST || v->kind == VAL_EXPR)
        for (int i = 0; i < v->items.len; i++)
            mark_named(L, v->items.items[i], t);
}

/* train: the statements are settings, whose first word may be a kind (optimizer adam); t:
 * the template whose body they are, or NULL */
static void mark_stmts(Lower *L, const PtrVec *stmts, bool train, const AstStmt *t)
{
    for (int i = 0; i < stmts->len; i++) {
        const AstStmt *s = stmts->items[i];
        const Setting *st = train ? ir_setting_find(s->head) : NULL;
        bool kinds = st && st->kinds[0].name; /* a setting of named kinds */
        /* a template's bare words are its name and its parameters' names, not uses (its
         * defaults, p=width, are) */
        bool names = !strcmp(s->head, AST_TEMPLATE);
        for (int k = 0; k < s->args.len; k++) {
            const AstArg *a = s->args.items[k];
            if (!(names && !a->key) && !(kinds && k == 0 && !a->key && a->val->kind == VAL_IDENT))
                mark_named(L, a->val, t);
        }
        mark_stmts(L, &s->body, false, names ? s : t);
    }
}

void lower_params_unused(Lower *L, const AstNet *net)
{
    /* a use the lowering did not evaluate (in an if that is false, or a template no one
     * uses) is a use still: the warning is for a name written nowhere */
    mark_stmts(L, &net->top, false, NULL);
    mark_stmts(L, &net->body, false, NULL);
    mark_stmts(L, &net->train, true, NULL);
    for (int i = 0; i < L->nparams; i++)
        if (!L->params[i].used)
            diag_warning(L->diag, L->params[i].loc, "parameter '%s' is never used",
                         L->params[i].name);
}
