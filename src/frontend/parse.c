/* parse.c: the driver of the .net parser and the helpers the lexer's actions call
 * (positions, literal values, nesting limit, lexical errors). */
#include <stdarg.h>
#include <string.h>

#include "ir.h"
#include "parse_state.h"
#include "lexer.h"

void lex_advance(LexState *st, YYLTYPE *loc, const char *text, int len)
{
    loc->first_line = st->line;
    loc->first_column = st->col;
    st->tok_off = st->off;
    st->tok_len = len;
    for (int i = 0; i < len; i++) {
        if (text[i] == '\n') {
            st->line++;
            st->col = 1;
        } else {
            st->col++;
        }
    }
    st->off += (size_t)len;
    loc->last_line = st->line;
    loc->last_column = st->col;
}

SrcLoc lex_loc(const LexState *st, YYLTYPE loc)
{
    SrcLoc l = {st->file, loc.first_line, loc.first_column, 1};
    if (loc.last_line == loc.first_line && loc.last_column > loc.first_column)
        l.len = loc.last_column - loc.first_column;
    return l;
}

AstValue *lex_value(LexState *st, ValKind k, const char *text, int len, YYLTYPE loc)
{
    AstValue *v = ast_value(st->arena, k, lex_loc(st, loc));
    char *s = arena_strndup(st->arena, text, (size_t)len);
    if (k == VAL_IDENT)
        v->s = s;
    else
        ast_parse_number(v, s);
    return v;
}

AstValue *lex_string(LexState *st, const char *text, int len, YYLTYPE loc)
{
    AstValue *v = ast_value(st->arena, VAL_STRING, lex_loc(st, loc));
    int end = len > 1 && text[len - 1] == '"' ? len - 1 : len;
    v->s = ast_unescape(st->arena, text + 1, end - 1);
    return v;
}

void lex_error(LexState *st, YYLTYPE loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vmsg(st->diag, DIAG_ERROR, lex_loc(st, loc), fmt, ap);
    va_end(ap);
}

void lex_bad_char(LexState *st, YYLTYPE loc, char c)
{
    unsigned char u = (unsigned char)c;
    if (u >= 32 && u < 127)
        lex_error(st, loc, "unexpected character '%c'", c);
    else
        lex_error(st, loc, "unexpected byte 0x%02x (is this a text file?)", u);
    if (st->diag->errors >= 5 && u < 32 && u != '\t')
        st->fatal = true; /* binary garbage: one screen of errors is enough */
}

void lex_bad_utf8(LexState *st, YYLTYPE loc, const char *text, int len)
{
    int n = 0; /* the first non-ASCII character's bytes (UTF-8) */
    while (n < len && (unsigned char)text[n] < 0x80)
        n++;
    int m = n + 1;
    while (m < len && ((unsigned char)text[m] & 0xC0) == 0x80)
        m++;
    if (n == 0 && m == len) /* the character alone */
        lex_error(st, loc, "unexpected character '%.*s': names and words are ASCII", len, text);
    else
        lex_error(st, loc, "'%.*s' holds the character '%.*s': names and words are ASCII", len,
                  text, m - n, text + n);
}

/* The column of the first non-blank byte on the line holding byte off; *first tells
 * whether that byte is off itself. */
static int line_indent(const LexState *st, size_t off, bool *first)
{
    const char *t = st->file->text;
    size_t b = off;
    while (b > 0 && t[b - 1] != '\n')
        b--;
    size_t i = b;
    while (i < off && (t[i] == ' ' || t[i] == '\t'))
        i++;
    *first = i == off;
    return (int)(i - b) + 1;
}

/* Whether s is a short form's prefix of some layer's attribute (k of k3), not any letter
 * (`1e`, `3x` are no short forms backwards). */
static bool is_short_prefix(const char *s)
{
    for (int k = 0; k < LAYER__COUNT; k++)
        for (int i = 0; i < ir_layers[k]->nattrs; i++)
            if (ir_layers[k]->attrs[i].shortp && !strcmp(ir_layers[k]->attrs[i].shortp, s))
                return true;
    return false;
}

void lex_long_name(LexState *st, YYLTYPE loc, int len)
{
    if (len > AST_MAX_NAME)
        lex_error(st, loc, "a name of %d characters; names are at most %d", len, AST_MAX_NAME);
}

void lex_bad_word(LexState *st, YYLTYPE loc, const char *text)
{
    lex_error(st, loc, "'%s' is not a number or a name", text);
    size_t nd = strspn(text, "0123456789");
    size_t nl = strspn(text + nd, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (nl > 0 && nl <= 2 && !text[nd + nl] && is_short_prefix(text + nd)) /* `3k` */
        diag_hint(st->diag, lex_loc(st, loc), "a short form puts the letter first: '%s%.*s'",
                  text + nd, (int)nd, text);
}

bool lex_brace_next(LexState *st)
{
    const char *t = st->file->text;
    size_t i = st->off;
    int line = st->line, col = st->col;
    if (st->ws_end > st->ws_from && st->ws_from <= i && i <= st->ws_end) {
        i = st->ws_end; /* inside the whitespace scanned at an earlier newline */
        line = st->ws_line, col = st->ws_col;
    } else {
        for (; i < st->file->len && strchr(" \t\r\n", t[i]); i++) {
            if (t[i] == '\n')
                line++, col = 1;
            else
                col++;
        }
        st->ws_from = st->off, st->ws_end = i, st->ws_line = line, st->ws_col = col;
    }
    if (i >= st->file->len || t[i] != '{')
        return false;
    if (st->brace_next_off == i + 1)
        return true; /* a blank line between: reported at the first newline */
    st->brace_next_off = i + 1;
    SrcLoc at = {st->file, line, col, 1};
    diag_error(st->diag, at, "a '{' must end the line of the statement it opens");
    diag_hint(st->diag, at, "move it to the end of line %d", st->line - 1);
    return true;
}

bool lex_open(LexState *st, YYLTYPE loc, bool brace)
{
    if (brace && st->depth > 0 && st->depth <= AST_MAX_DEPTH + 1) {
        bool first;
        st->open[st->depth - 1] = lex_loc(st, loc);
        st->open_indent[st->depth - 1] = line_indent(st, st->tok_off, &first);
    }
    if (!brace && st->paren == 1) {
        st->paren_open = lex_loc(st, loc);
        st->paren_char = st->file->text[st->tok_off];
    }
    if (st->depth + st->paren <= AST_MAX_DEPTH)
        return false;
    lex_error(st, loc, "nesting deeper than %d levels", AST_MAX_DEPTH);
    st->fatal = true;
    return true;
}

/* Remembers the first '}' that starts its line but is not indented like the line of the
 * '{' it closes: when a '}' is missing, that is usually where. */
void lex_close(LexState *st, YYLTYPE loc)
{
    if (st->depth < 1 || st->depth > AST_MAX_DEPTH + 1 || st->misclosed.file)
        return;
    bool first;
    int indent = line_indent(st, st->tok_off, &first);
    if (first && indent != st->open_indent[st->depth - 1]) {
        st->misclosed = lex_loc(st, loc);
        st->misclosed_line = st->open[st->depth - 1].line;
    }
}

AstNet *parse_net(Arena *a, const SrcFile *f, Diag *d)
{
    AstNet *net = arena_alloc(a, sizeof *net);
    net->file = f;
    LexState st = {.arena = a, .diag = d, .file = f, .net = net, .line = 1, .col = 1};
    yyscan_t scanner;
    if (netyylex_init_extra(&st, &scanner) != 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot start the lexer", f->name);
        return net;
    }
    YY_BUFFER_STATE buf = netyy_scan_bytes(f->text, (int)f->len, scanner);
    netyyparse(scanner, &st);
    netyy_delete_buffer(buf, scanner);
    netyylex_destroy(scanner);
    if (!net->name && !st.fatal && d->errors == 0 && !f->included_from)
        diag_error(d, (SrcLoc){f, 1, 1, 1},
                   f->len == 0 ? "empty file: expected 'network NAME (input CxHxW) { ... }'"
                               : "no network in this file: expected 'network NAME (input "
                                 "CxHxW) { ... }'");
    return net;
}
