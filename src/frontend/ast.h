/* ast.h: the syntax tree both front ends build (.net via flex/bison, .yaml via libyaml).
 *
 * Design choice: the AST is deliberately uniform. Every line of a net or train section is
 * one AstStmt: an optional label, a head word, arguments (positional or key=value) and an
 * optional block of nested statements. A layer, a named group, a train setting and, later,
 * `repeat N { ... }` or a residual block all have this shape, so the grammar never needs to
 * know the layer kinds; lowering (lower.c) gives statements their meaning through the
 * layer registry. Everything lives in the compilation's arena. */
#ifndef NETC_AST_H
#define NETC_AST_H

#include "base.h"

/* Deepest nesting of groups/lists either front end accepts. */
#define AST_MAX_DEPTH 100
/* The longest name, in bytes: one becomes a YAML key, which libyaml reads up to 1,024 */
#define AST_MAX_NAME 255
#define AST_EXPR_MAX_DEPTH 200 /* an expression's levels, evaluated (and read from YAML) */

typedef enum {
    VAL_INT,    /* 32, -1 */
    VAL_FLOAT,  /* 0.001, 1e-3 */
    VAL_IDENT,  /* relu, xavier_uniform, true, k3 */
    VAL_STRING, /* "data/mnist-mini" (YAML: any quoted scalar, or a plain one that is a path) */
    VAL_LIST,   /* [1, 28, 28], (3, 5), 1x28x28 */
    VAL_EXPR,   /* (width * 2): op, its operands in items (evaluated when lowered) */
} ValKind;

/* The operators of an expression in parentheses, loosest binding first. */
typedef enum {
    OP_COND, /* c ? a : b */
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,  /* / : always a float, as Python's */
    OP_IDIV, /* // : floor division */
    OP_MOD,  /* % : the divisor's sign, as Python's */
    OP_NEG,  /* unary - */
} ExprOp;

typedef struct AstValue {
    ValKind kind;
    SrcLoc loc;
    int64_t i;          /* VAL_INT */
    bool overflow;      /* VAL_INT that did not fit in int64, VAL_FLOAT past DBL_MAX (1e400) */
    double f;           /* VAL_FLOAT (and VAL_INT's value as double) */
    const char *s;      /* VAL_IDENT, VAL_STRING; the source text for numbers */
    PtrVec items;       /* VAL_LIST: AstValue*; VAL_EXPR: its operands */
    ExprOp op;          /* VAL_EXPR */
    bool bad;           /* stands for a value whose error was reported: every check skips it */
    bool in_parens;     /* VAL_IDENT written `(name)`: an expression, whose name must be known */
    const char *define; /* the -D NAME=VALUE it came from (a note on its errors), or NULL */
} AstValue;

typedef struct AstArg {
    const char *key; /* NULL for a positional argument */
    SrcLoc loc;      /* the whole argument: `k3`, `kernel=3`, `1->32` */
    SrcLoc key_loc;
    AstValue *val;
    bool from_arrow; /* key "in" or "out" written as `in->out` */
} AstArg;

typedef struct AstStmt {
    SrcLoc loc;        /* from the label (or head) to the end of the arguments */
    const char *label; /* `fc` in `fc: Linear 10`; NULL if none */
    SrcLoc label_loc;
    const char *head; /* `Linear`, `layer1` (a group), `optimizer` (a train setting) */
    SrcLoc head_loc;
    PtrVec args;    /* AstArg* */
    bool has_block; /* `head { ... }` */
    PtrVec body;    /* AstStmt* inside the block */
} AstStmt;

typedef struct AstNet {
    const SrcFile *file;
    bool yaml;        /* read by parse_yaml (hints name that syntax) */
    const char *name; /* NULL if the file has no network */
    SrcLoc name_loc;
    SrcLoc loc;
    PtrVec header; /* AstArg*: `input 1x28x28` and, later, other header facts */
    PtrVec body;   /* AstStmt*: layers and groups */
    bool has_train;
    SrcLoc train_loc;
    PtrVec train; /* AstStmt*: one per setting */
    PtrVec top;   /* AstStmt*: statements outside network and train (include, params,
                   * template), an included file's first */
} AstNet;

/* Parses a .net file. Always returns an AstNet (possibly partial); errors go to d. */
AstNet *parse_net(Arena *a, const SrcFile *f, Diag *d);
/* Parses a YAML net file (yaml.c). Same contract. */
AstNet *parse_yaml(Arena *a, const SrcFile *f, Diag *d);
/* The same, knowing the templates included files define: a use of one reads as a layer's
 * (`- basic: [32, 2]`), not as a group. */
AstNet *parse_yaml_with(Arena *a, const SrcFile *f, const char *const *templates, int ntemplates,
                        Diag *d);

/* An expression's text as YAML gives it ("(width * 2)", parentheses included), parsed with
 * the .net grammar's operators and precedence; loc is the text's (one line). NULL after an
 * error reported to d. */
/* exact: text is loc's source byte for byte (one line, no escapes), so a message points at
 * its part; otherwise (a YAML scalar with escapes, folded or on several lines) every message
 * points at loc, the scalar's start. */
AstValue *ast_parse_expr(Arena *a, const char *text, SrcLoc loc, bool exact, Diag *d);
/* An operator as written ("//"). */
const char *ast_op_text(ExprOp op);
/* An expression's text for messages, from its operands' ("width * 2", inner expressions
 * in parentheses). */
const char *ast_expr_text(Arena *a, const AstValue *v);

/* Constructors shared by both front ends. */
AstValue *ast_value(Arena *a, ValKind k, SrcLoc loc);
AstArg *ast_arg(Arena *a, const char *key, SrcLoc key_loc, AstValue *val, SrcLoc loc);
AstStmt *ast_stmt(Arena *a, SrcLoc loc);
/* Parses a numeric literal's text into v (VAL_INT or VAL_FLOAT, with overflow flagged).
 * Returns false if text is not a number. */
bool ast_parse_number(AstValue *v, const char *text);
/* A string literal's body, the n bytes between its quotes, with its escapes undone (\n, \t,
 * \xHH for bytes 01 to 7F, and a backslash before any other byte, which stands for that
 * byte): the .net lexer's rule,
 * also for strings inside an expression that YAML holds. */
char *ast_unescape(Arena *a, const char *body, int n);
/* The stand-in for a value whose error is reported (`bad`, the word "?"): it keeps its place
 * (an argument, a parameter) so that nothing after it says the value is missing or wrong. */
AstValue *ast_bad_value(Arena *a, SrcLoc loc);
/* Whether s is a name: [A-Za-z_][A-Za-z0-9_]*, and dots too when `dots` (the .net lexer's
 * words; dots separate parameter names, so names of layers and groups may not have them). */
bool ast_is_name(const char *s, bool dots);
/* The words that open a graph block (`residual`, `branch`) or make a join (`join`): not layer
 * kinds, not names of groups. */
#define AST_RESIDUAL "residual"
#define AST_BRANCH "branch"
#define AST_JOIN "join"
#define AST_SHORTCUT "shortcut"
#define AST_PARAMS "params"            /* the network's parameters (params.c) */
#define AST_REPEAT "repeat"            /* repeat N [as i] { ... } */
#define AST_SEQUENTIAL "sequential"    /* a group named by its label or its index */
#define AST_MAX_REPEAT 100000          /* the largest repeat count */
#define AST_TEMPLATE "template"        /* template NAME p1 p2=default { ... } */
#define AST_INCLUDE "include"          /* include "FILE" (outside network and train) */
#define AST_IF "if"                    /* if (COND) { ... } */
bool ast_is_block_word(const char *s); /* residual, branch */
/* A bare word as YAML's plain scalars and netrun's flags read it: a number if it reads as
 * one, sizes (3x5), a name (dots allowed), else a string. Keeps text (no copy). */
AstValue *ast_scalar(Arena *a, const char *text, SrcLoc loc);
/* Reads sizes, decimal integers joined by 'x' (`3x5`, `1x28x28`; one integer alone too),
 * into a VAL_LIST of VAL_INT, each located at its own digits within loc (text's location),
 * with s = text. NULL if text is not of that form. The lexer's `1x28x28`, YAML's plain
 * scalar `3x5` and the short form `k3x5` all read through here. */
AstValue *ast_sizes(Arena *a, const char *text, SrcLoc loc);
/* A value as messages quote it: its source text (`1x28x28`), the string, or "a list". */
const char *ast_value_text(const AstValue *v);
/* The location spanning from a to the end of b (same file, a before b). */
SrcLoc loc_span(SrcLoc a, SrcLoc b);

#endif
