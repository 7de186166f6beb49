/* parser.y: grammar of the .net language (bison, pure, with locations).
 *
 * Design choice: one statement form serves layers, groups and train settings:
 *     [label ':'] head arg* [ '{' statement* '}' ]
 * so the grammar is independent of the layer kinds and new block forms (repeat, residual)
 * need no grammar change. Errors recover at the end of the statement so one run reports
 * every broken line. The full grammar is in docs/language.md. */
%define api.pure full
%define api.prefix {netyy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {LexState *st}
%expect 1

%code requires {
#include "ast.h"
typedef struct LexState LexState;
}

%code {
#include <ctype.h>
#include <string.h>
#include "parse_state.h"
int netyylex(NETYYSTYPE *lval, NETYYLTYPE *lloc, void *scanner);
static AstValue *op3(LexState *st, ExprOp op, AstValue *a, AstValue *b, AstValue *c, SrcLoc loc)
{
    AstValue *v = ast_value(st->arena, VAL_EXPR, loc);
    v->op = op;
    AstValue *operands[3] = {a, b, c};
    for (int i = 0; i < 3 && operands[i]; i++)
        ptrvec_push(st->arena, &v->items, operands[i]);
    v->s = ast_expr_text(st->arena, v);
    return v;
}

/* (x): x itself, its location and text the parentheses' (an expression keeps its own);
 * (x, y): a list */
static AstValue *paren(LexState *st, PtrVec *items, SrcLoc loc)
{
    if (items->len > 1) {
        AstValue *v = ast_value(st->arena, VAL_LIST, loc);
        v->items = *items;
        return v;
    }
    AstValue *v = items->items[0];
    if (v->kind == VAL_IDENT) /* (width): a name the expression must know, not a word */
        v->in_parens = true;
    return v;
}

static void netyyerror(NETYYLTYPE *loc, void *scanner, LexState *st, const char *msg);
#define L(x) lex_loc(st, x)
static AstStmt *make_stmt(LexState *st, AstValue *label, AstValue *head, PtrVec *args,
                          NETYYLTYPE loc);
static AstValue *op3(LexState *st, ExprOp op, AstValue *a, AstValue *b, AstValue *c, SrcLoc loc);
static AstValue *paren(LexState *st, PtrVec *items, SrcLoc loc);
}

%union {
    AstValue *val;
    AstArg *arg;
    AstStmt *stmt;
    PtrVec *vec;
}

%token NL "end of line"
%token ARROW "'->'"
%token <val> NETWORK "'network'"
%token <val> TRAIN "'train'"
%token <val> IDENT "a name"
%token <val> NUMBER "a number"
%token <val> DIMS "sizes (like 1x28x28)"
%token <val> STRING "a string"
%token IDIV "'//'"
%token EQ "'=='"
%token NE "'!='"
%token LE "'<='"
%token GE "'>='"

/* expressions, loosest first (only inside parentheses) */
%right '?' ':'
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' IDIV '%'
%precedence UMINUS

%type <val> value number expr atom
%type <arg> arg header_arg
%type <stmt> stmt
%type <vec> args body list header header_args block exprs

%%

/* file: { network | train | stmt | end of line }: a statement outside both is `include
 * "FILE"`, or a file's shared `params` and `template`s (lowering says which are allowed) */
file:
    %empty
  | file sep
  | file network
  | file train
  | file stmt sep            { ptrvec_push(st->arena, &st->net->top, $2); }
  | file error sep { yyerrok; }
  ;

sep: NL | ';' ;

/* network: 'network' name [ '(' header_arg { ',' header_arg } ')' ] block */
network:
    NETWORK IDENT header block {
        AstNet *n = st->net;
        if (n->name) {
            diag_error(st->diag, L(@1), "a file holds one network; '%s' is the second", $2->s);
            diag_note(st->diag, n->loc, "the first is '%s', here", n->name);
        } else {
            n->name = $2->s;
            n->name_loc = L(@2);
            n->loc = loc_span(L(@1), L(@2));
            n->header = *$3;
            n->body = *$4;
        }
    }
  | NETWORK error block      { /* reported; the block is parsed for its own errors */ }
  ;

header:
    %empty                   { $$ = arena_alloc(st->arena, sizeof(PtrVec)); }
  | '(' header_args ')'      { $$ = $2; }
  ;

header_args:
    header_arg               { $$ = arena_alloc(st->arena, sizeof(PtrVec)); ptrvec_push(st->arena, $$, $1); }
  | header_args ',' header_arg { $$ = $1; ptrvec_push(st->arena, $$, $3); }
  ;

/* header_arg: name value        e.g. input 1x28x28 */
header_arg:
    IDENT value              { $$ = ast_arg(st->arena, $1->s, L(@1), $2, L(@$)); }
  ;

/* train: 'train' block */
train:
    TRAIN block {
        AstNet *n = st->net;
        if (n->has_train) {
            diag_error(st->diag, L(@1), "a file holds one train section; this is the second");
            diag_note(st->diag, n->train_loc, "the first is here");
        } else {
            n->has_train = true;
            n->train_loc = L(@1);
            n->train = *$2;
        }
    }
  ;

/* block: '{' { stmt sep } [ stmt ] '}' */
block:
    '{' body '}'             { $$ = $2; }
  | '{' body stmt '}'        { $$ = $2; ptrvec_push(st->arena, $$, $3); }
  ;

body:
    %empty                   { $$ = arena_alloc(st->arena, sizeof(PtrVec)); }
  | body sep                 { $$ = $1; }
  | body stmt sep            { $$ = $1; ptrvec_push(st->arena, $$, $2); }
  | body error sep           { $$ = $1; yyerrok; }
  ;

/* stmt: [ name ':' ] name { arg } [ block ] */
stmt:
    IDENT args               { $$ = make_stmt(st, NULL, $1, $2, @$); }
  | IDENT ':' IDENT args     { $$ = make_stmt(st, $1, $3, $4, @$); }
  | IDENT args block         { $$ = make_stmt(st, NULL, $1, $2, @1); $$->has_block = true; $$->body = *$3; }
  | IDENT ':' IDENT args block {
        $$ = make_stmt(st, $1, $3, $4, @3); $$->has_block = true; $$->body = *$5;
    }
  ;

/* args: { arg }; arg: value | name '=' value | value '->' value | '->' value
 * `1->32` is two arguments, in and out, both located at the whole pair. `1 ->32` reads the
 * same: the one expected shift/reduce conflict resolves toward the pair. */
args:
    %empty                   { $$ = arena_alloc(st->arena, sizeof(PtrVec)); }
  | args arg                 { $$ = $1; ptrvec_push(st->arena, $$, $2); }
  | args value ARROW value {
        $$ = $1;
        AstArg *in = ast_arg(st->arena, "in", L(@2), $2, loc_span(L(@2), L(@4)));
        AstArg *out = ast_arg(st->arena, "out", L(@4), $4, loc_span(L(@2), L(@4)));
        in->from_arrow = out->from_arrow = true;
        ptrvec_push(st->arena, $$, in);
        ptrvec_push(st->arena, $$, out);
    }
  ;

arg:
    value                    { $$ = ast_arg(st->arena, NULL, (SrcLoc){0}, $1, L(@$)); }
  | IDENT '=' value          { $$ = ast_arg(st->arena, $1->s, L(@1), $3, L(@$)); }
  | ARROW value {
        $$ = ast_arg(st->arena, "out", L(@2), $2, L(@$));
        $$->from_arrow = true;
    }
  ;

/* value: number | name | string | sizes | '[' [ list ] ']' | '(' list ')' */
value:
    number
  | IDENT
  | STRING
  | DIMS
  | '[' ']'                  { $$ = ast_value(st->arena, VAL_LIST, L(@$)); }
  | '[' list ']'             { $$ = ast_value(st->arena, VAL_LIST, L(@$)); $$->items = *$2; }
  | '(' exprs ')'            { $$ = paren(st, $2, L(@$)); }
  ;

/* '(' expr ')' is the expression, '(' expr ',' ... ')' a list (as Python's tuples) */
exprs:
    expr                     { $$ = arena_alloc(st->arena, sizeof(PtrVec)); ptrvec_push(st->arena, $$, $1); }
  | exprs ',' expr           { $$ = $1; ptrvec_push(st->arena, $$, $3); }
  ;

expr:
    atom
  | expr '?' expr ':' expr   { $$ = op3(st, OP_COND, $1, $3, $5, L(@$)); }
  | expr EQ expr             { $$ = op3(st, OP_EQ, $1, $3, NULL, L(@$)); }
  | expr NE expr             { $$ = op3(st, OP_NE, $1, $3, NULL, L(@$)); }
  | expr '<' expr            { $$ = op3(st, OP_LT, $1, $3, NULL, L(@$)); }
  | expr LE expr             { $$ = op3(st, OP_LE, $1, $3, NULL, L(@$)); }
  | expr '>' expr            { $$ = op3(st, OP_GT, $1, $3, NULL, L(@$)); }
  | expr GE expr             { $$ = op3(st, OP_GE, $1, $3, NULL, L(@$)); }
  | expr '+' expr            { $$ = op3(st, OP_ADD, $1, $3, NULL, L(@$)); }
  | expr '-' expr            { $$ = op3(st, OP_SUB, $1, $3, NULL, L(@$)); }
  | expr '*' expr            { $$ = op3(st, OP_MUL, $1, $3, NULL, L(@$)); }
  | expr '/' expr            { $$ = op3(st, OP_DIV, $1, $3, NULL, L(@$)); }
  | expr IDIV expr           { $$ = op3(st, OP_IDIV, $1, $3, NULL, L(@$)); }
  | expr '%' expr            { $$ = op3(st, OP_MOD, $1, $3, NULL, L(@$)); }
  | '-' expr %prec UMINUS    { $$ = op3(st, OP_NEG, $2, NULL, NULL, L(@$)); }
  ;

atom:
    NUMBER
  | IDENT
  | STRING
  | DIMS
  | '[' ']'                  { $$ = ast_value(st->arena, VAL_LIST, L(@$)); }
  | '[' list ']'             { $$ = ast_value(st->arena, VAL_LIST, L(@$)); $$->items = *$2; }
  | '(' exprs ')'            { $$ = paren(st, $2, L(@$)); }
  ;

number:
    NUMBER
  | '-' NUMBER {
        $$ = $2;
        $$->loc = L(@$);
        $$->i = -$$->i;
        $$->f = -$$->f;
        $$->s = arena_printf(st->arena, "-%s", $2->s);
    }
  ;

list:
    value                    { $$ = arena_alloc(st->arena, sizeof(PtrVec)); ptrvec_push(st->arena, $$, $1); }
  | list ',' value           { $$ = $1; ptrvec_push(st->arena, $$, $3); }
  ;

%%

static AstStmt *make_stmt(LexState *st, AstValue *label, AstValue *head, PtrVec *args,
                          NETYYLTYPE loc)
{
    AstStmt *s = ast_stmt(st->arena, L(loc));
    if (label) {
        s->label = label->s;
        s->label_loc = label->loc;
    }
    s->head = head->s;
    s->head_loc = head->loc;
    s->args = *args;
    return s;
}

static void netyyerror(NETYYLTYPE *loc, void *scanner, LexState *st, const char *msg)
{
    (void)scanner;
    if (st->fatal)
        return;
    if (!strcmp(msg, "memory exhausted")) /* bison's stack: 10,000 states deep */
        diag_error(st->diag, lex_loc(st, *loc),
                   "an expression nested too deep here (signs, brackets or ?: inside one "
                   "another, thousands of levels)");
    else
        diag_error(st->diag, lex_loc(st, *loc), "%s", msg);
}

/* Whether the text before the last token (blanks skipped) ends with the word w. */
static bool after_word(const LexState *st, const char *w)
{
    size_t n = strlen(w), e = st->tok_off;
    const char *t = st->file->text;
    while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == '\t'))
        e--;
    return e >= n && memcmp(t + e - n, w, n) == 0 &&
           (e == n || !isalnum((unsigned char)w[0]) ||
            !(t[e - n - 1] == '_' || isalnum((unsigned char)t[e - n - 1])));
}

/* "expected a value, found end of line", "expected '}', found end of file". The tokens that
 * can start a value are named together as "a value". */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, LexState *st)
{
    (void)scanner;
    if (st->fatal || diag_full(st->diag))
        return 0;
    yysymbol_kind_t expected[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    yysymbol_kind_t tok = yypcontext_token(ctx);
    const NETYYLTYPE *loc = yypcontext_location(ctx);
    static const char *const value_start[] = {"a number", "a name", "a string",
                                              "sizes (like 1x28x28)", "'['", "'('", "'-'"};
    const char *names[YYNTOKENS + 1];
    int nn = 0, nvalue = 0;
    for (int i = 0; i < n; i++) {
        const char *name = yysymbol_name(expected[i]);
        for (int k = 0; k < 7; k++)
            nvalue += strcmp(name, value_start[k]) == 0;
    }
    if (nvalue == 7)
        names[nn++] = "a value";
    for (int i = 0; i < n; i++) {
        const char *name = yysymbol_name(expected[i]);
        bool in_value = false;
        for (int k = 0; k < 7 && nvalue == 7; k++)
            in_value |= strcmp(name, value_start[k]) == 0;
        if (!in_value)
            names[nn++] = name;
    }
    StrBuf sb;
    sb_init(&sb);
    if (tok == YYSYMBOL_YYEOF && st->depth > 0) {
        sb_puts(&sb, "expected '}', ");
    } else if (tok != YYSYMBOL_IDENT && nn == 1 && strcmp(names[0], "a name") == 0 &&
               after_word(st, "network")) {
        sb_puts(&sb, "expected the network's name after 'network', ");
    } else if (tok != YYSYMBOL_IDENT && nn == 1 && strcmp(names[0], "a name") == 0 &&
               after_word(st, ":")) {
        sb_puts(&sb, "expected a layer kind after the label, ");
    } else if (nn > 0 && nn <= 5) {
        sb_puts(&sb, "expected ");
        for (int i = 0; i < nn; i++) {
            if (i)
                sb_puts(&sb, i == nn - 1 ? " or " : ", ");
            sb_puts(&sb, names[i]);
        }
        sb_puts(&sb, ", ");
    } else {
        sb_puts(&sb, "unexpected ");
    }
    if (strncmp(sb.data, "unexpected", 10) != 0)
        sb_puts(&sb, "found ");
    SrcLoc l = lex_loc(st, *loc);
    if (tok == YYSYMBOL_YYEOF)
        sb_puts(&sb, "end of file");
    else if (tok == YYSYMBOL_NL)
        sb_puts(&sb, "end of line");
    else if (st->tok_len > 0 && st->tok_len < 40)
        sb_printf(&sb, "'%.*s'", st->tok_len, st->file->text + st->tok_off);
    else
        sb_puts(&sb, yysymbol_name(tok));
    diag_error(st->diag, l, "%s", sb.data);
    sb_free(&sb);
    if (st->paren > 0 && st->paren_open.file && st->paren_open.line != l.line)
        diag_note(st->diag, st->paren_open, "this '%c' is not closed", st->paren_char);
    if (tok == YYSYMBOL_YYEOF && st->depth > 0 && st->depth <= AST_MAX_DEPTH) {
        diag_note(st->diag, st->open[st->depth - 1], "this '{' is not closed");
        if (st->misclosed.file)
            diag_note(st->diag, st->misclosed,
                      "this '}' closes the '{' on line %d but is not indented like that line; "
                      "is a '}' missing above it?",
                      st->misclosed_line);
    }
    return 0;
}
