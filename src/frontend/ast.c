/* ast.c: constructors and literal parsing shared by the .net and YAML front ends. */
#include "ast.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

AstValue *ast_value(Arena *a, ValKind k, SrcLoc loc)
{
    AstValue *v = arena_alloc(a, sizeof *v);
    v->kind = k;
    v->loc = loc;
    return v;
}

AstArg *ast_arg(Arena *a, const char *key, SrcLoc key_loc, AstValue *val, SrcLoc loc)
{
    AstArg *g = arena_alloc(a, sizeof *g);
    g->key = key;
    g->key_loc = key_loc;
    g->val = val;
    g->loc = loc;
    return g;
}

AstStmt *ast_stmt(Arena *a, SrcLoc loc)
{
    AstStmt *s = arena_alloc(a, sizeof *s);
    s->loc = loc;
    return s;
}

AstValue *ast_bad_value(Arena *a, SrcLoc loc)
{
    AstValue *v = ast_value(a, VAL_IDENT, loc);
    v->s = "?";
    v->bad = true;
    return v;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

char *ast_unescape(Arena *a, const char *body, int n)
{
    char *s = arena_alloc(a, (size_t)n + 1), *o = s;
    for (int i = 0; i < n; i++) {
        int hi, lo;
        if (body[i] == '\\' && i + 3 < n && body[i + 1] == 'x' &&
            (hi = hex_digit(body[i + 2])) >= 0 && (lo = hex_digit(body[i + 3])) >= 0 &&
            hi * 16 + lo > 0 && hi * 16 + lo < 0x80) { /* \x01 to \x7F: that byte */
            *o++ = (char)(hi * 16 + lo);
            i += 3;
        } else if (body[i] == '\\' && i + 1 < n) {
            i++;
            *o++ = body[i] == 'n' ? '\n' : body[i] == 't' ? '\t' : body[i];
        } else {
            *o++ = body[i];
        }
    }
    *o = 0;
    return s;
}

bool ast_parse_number(AstValue *v, const char *text)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    if (!(*p >= '0' && *p <= '9') && !(*p == '.' && p[1] >= '0' && p[1] <= '9'))
        return false;
    /* decimal only: strtod would also read C's hexadecimal floats (0x1e3 is 483) */
    if (strpbrk(p, "xX"))
        return false;
    bool is_float = strpbrk(p, ".eE") != NULL;
    char *end;
    errno = 0;
    if (!is_float) {
        long long i = strtoll(text, &end, 10);
        if (*end)
            return false;
        v->kind = VAL_INT;
        v->overflow = errno == ERANGE;
        v->i = i;
        v->f = strtod(text, NULL);
    } else {
        double f = strtod(text, &end);
        if (*end)
            return false;
        v->kind = VAL_FLOAT;
        v->overflow = errno == ERANGE && isinf(f); /* 1e400 (not an underflow to 0) */
        v->f = f;
    }
    v->s = text;
    return true;
}

bool ast_is_name(const char *s, bool dots)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && !(dots && *s == '.'))
            return false;
    return true;
}

AstValue *ast_scalar(Arena *a, const char *text, SrcLoc loc)
{
    AstValue *v = ast_value(a, VAL_INT, loc);
    if (ast_parse_number(v, text))
        return v;
    if ((v = ast_sizes(a, text, loc)))
        return v;
    v = ast_value(a, ast_is_name(text, true) ? VAL_IDENT : VAL_STRING, loc);
    v->s = text;
    return v;
}

AstValue *ast_sizes(Arena *a, const char *text, SrcLoc loc)
{
    for (const char *p = text;; p++) {
        if (*p < '0' || *p > '9')
            return NULL;
        p += strspn(p, "0123456789");
        if (!*p)
            break;
        if (*p != 'x')
            return NULL;
    }
    AstValue *v = ast_value(a, VAL_LIST, loc);
    v->s = arena_strdup(a, text);
    for (const char *p = text; *p;) {
        size_t n = strspn(p, "0123456789");
        SrcLoc dl = loc; /* each size marks its own digits */
        dl.col += (int)(p - text);
        dl.len = (int)n;
        AstValue *d = ast_value(a, VAL_INT, dl);
        ast_parse_number(d, arena_strndup(a, p, n));
        ptrvec_push(a, &v->items, d);
        p += n + (p[n] == 'x');
    }
    return v;
}

const char *ast_value_text(const AstValue *v)
{
    switch (v->kind) {
    case VAL_LIST: return v->s ? v->s : "a list";
    case VAL_STRING: return v->s;
    default: return v->s ? v->s : "?";
    }
}

SrcLoc loc_span(SrcLoc a, SrcLoc b)
{
    if (!a.file)
        return b;
    if (b.file == a.file && b.line == a.line && b.col + b.len > a.col)
        a.len = b.col + b.len - a.col;
    return a;
}

bool ast_is_block_word(const char *s) { return !strcmp(s, AST_RESIDUAL) || !strcmp(s, AST_BRANCH); }
