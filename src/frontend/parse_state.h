/* parse_state.h: what the flex lexer and the bison parser of the .net language share:
 * the scanner's state (position, nesting depth, the arena and diagnostics sink) and the
 * helpers the lexer's actions call. Private to the front end. */
#ifndef NETC_PARSE_STATE_H
#define NETC_PARSE_STATE_H

#include "ast.h"

typedef struct LexState {
    Arena *arena;
    Diag *diag;
    const SrcFile *file;
    AstNet *net;
    int line, col;                      /* position of the next byte, 1-based */
    int depth;                          /* open '{' */
    SrcLoc open[AST_MAX_DEPTH + 2];     /* where each open '{' is, for "not closed" notes */
    int open_indent[AST_MAX_DEPTH + 2]; /* column of the first non-blank of each '{' line */
    SrcLoc misclosed;   /* the first '}' not indented like the line of the '{' it closes */
    int misclosed_line; /* the line of that '{' */
    int paren;          /* open '(' and '[' (newlines inside are not statement ends) */
    SrcLoc paren_open;  /* the outermost open '(' or '[' */
    char paren_char;
    size_t brace_next_off; /* 1 + the offset of a '{' reported by lex_brace_next */
    /* lex_brace_next's last scan: the whitespace from ws_from to ws_end (exclusive), and
     * the line and column at ws_end; a newline inside it reuses the scan, so a run of blank
     * lines costs linear time, not quadratic. */
    size_t ws_from, ws_end;
    int ws_line, ws_col;
    bool fatal;     /* a limit was hit: stop without further messages */
    size_t off;     /* byte offset of the next byte */
    size_t tok_off; /* the last token's text, for "found '...'" */
    int tok_len;
} LexState;

#include "parser.h"

#define YYSTYPE NETYYSTYPE
#define YYLTYPE NETYYLTYPE

void lex_advance(LexState *st, YYLTYPE *loc, const char *text, int len);
AstValue *lex_value(LexState *st, ValKind k, const char *text, int len, YYLTYPE loc);
AstValue *lex_string(LexState *st, const char *text, int len, YYLTYPE loc);
/* Counts an opening bracket ('{' when brace); returns true (and reports) when nesting is
 * too deep. lex_close is called for each '}' before the depth drops. */
bool lex_open(LexState *st, YYLTYPE loc, bool brace);
void lex_close(LexState *st, YYLTYPE loc);
void lex_bad_char(LexState *st, YYLTYPE loc, char c);
/* A character outside ASCII (the file is checked to be UTF-8 before it is lexed): one error
 * naming it, not one a byte. */
void lex_bad_utf8(LexState *st, YYLTYPE loc, const char *text, int len);
/* At a newline: when the next non-blank byte is a '{', reports it (a '{' ends the line of
 * its statement) and returns true, so the newline is skipped and the block still parses. */
bool lex_brace_next(LexState *st);
/* `3k`: digits then letters. Lowering skips such a word silently (reported here). */
void lex_bad_word(LexState *st, YYLTYPE loc, const char *text);
/* A name past AST_MAX_NAME bytes is an error (its own token still goes on). */
void lex_long_name(LexState *st, YYLTYPE loc, int len);
void lex_error(LexState *st, YYLTYPE loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
SrcLoc lex_loc(const LexState *st, YYLTYPE loc);

#endif
