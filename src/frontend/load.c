/* load.c: the front end's driver: reads a file, rejects what is not UTF-8 text, picks the
 * parser by the file's suffix, lowers, and runs the shape pass on a net that lowered
 * cleanly. */
#define _GNU_SOURCE /* realpath, memmem */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend.h"

/* Why src_read failed, for a message. */
static const char *read_error(int e)
{
    return e == EFBIG ? "larger than 64 MiB (a net file is text written by hand)" : strerror(e);
}

Graph *frontend_load(Arena *a, const char *path, Diag *d)
{
    return frontend_load_opts(a, path, NULL, d);
}

Graph *frontend_load_opts(Arena *a, const char *path, const FrontendOptions *opt, Diag *d)
{
    SrcFile *f = src_read(a, path);
    if (!f) {
        diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", path, read_error(errno));
        return NULL;
    }
    return frontend_load_file_opts(a, f, opt, d);
}

/* The first byte that is NUL, a control character other than tab/CR/LF, or not valid
 * UTF-8; its offset is returned in .len. .file is NULL when the text is clean. */
static SrcLoc text_check(const SrcFile *f)
{
    const unsigned char *p = (const unsigned char *)f->text;
    int line = 1, col = 1;
    for (size_t i = 0; i < f->len;) {
        unsigned c = p[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        bool ok = n > 0 && i + n <= f->len && !(c < 32 && c != '\t' && c != '\n' && c != '\r') &&
                  c != 0x7f && !(n == 2 && c < 0xc2) && c < 0xf5;
        for (size_t k = 1; ok && k < n; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        /* no overlong forms, surrogates or code points past U+10FFFF (RFC 3629) */
        if (ok && n > 2) {
            unsigned c1 = p[i + 1];
            ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 > 0x9f) &&
                 !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 > 0x8f);
        }
        if (!ok)
            return (SrcLoc){f, line, col, (int)i};
        if (c == '\n')
            line++, col = 1;
        else
            col++;
        i += n;
    }
    return (SrcLoc){0};
}

/* ---- include ---- */

/* The files being included, outermost first: a cycle is one of them again. */
typedef struct IncStack {
    const char *real[AST_MAX_DEPTH + 1];  /* realpath of each */
    const AstStmt *at[AST_MAX_DEPTH + 1]; /* the include that read the next one */
    int n;
    PtrVec done; /* realpaths of every file included so far: each is read once */
} IncStack;

static AstNet *parse_text(Arena *a, const SrcFile *f, Diag *d);
static AstNet *parse_expanded(Arena *a, const SrcFile *f, IncStack *st, Diag *d);
static AstNet *parse_includes(Arena *a, const SrcFile *f, IncStack *st, bool keep, Diag *d);

/* An included file's params and templates, in order (its own includes' first). */
static void take_shared(Arena *a, const AstNet *inc, PtrVec *out)
{
    for (int i = 0; i < inc->top.len; i++)
        ptrvec_push(a, out, inc->top.items[i]);
    for (int i = 0; i < inc->body.len; i++) { /* YAML's params: and templates: */
        const AstStmt *s = inc->body.items[i];
        if (!strcmp(s->head, AST_PARAMS) || !strcmp(s->head, AST_TEMPLATE))
            ptrvec_push(a, out, (void *)s);
    }
}

/* Replaces each `include "FILE"` of net's top level by FILE's params and templates (FILE
 * relative to the including file), recursively; reports a file that cannot be read and a
 * cycle (with a note at each include on it). */
static void expand_includes(Arena *a, AstNet *net, IncStack *st, Diag *d)
{
    PtrVec top = {0};
    for (int i = 0; i < net->top.len; i++) {
        AstStmt *s = net->top.items[i];
        if (strcmp(s->head, AST_INCLUDE) != 0 || s->label) {
            ptrvec_push(a, &top, s);
            continue;
        }
        const AstArg *arg = s->args.len == 1 ? s->args.items[0] : NULL;
        if (!arg || arg->key || s->has_block ||
            (arg->val->kind != VAL_STRING && !(net->yaml && arg->val->kind == VAL_IDENT))) {
            diag_error(d, s->loc, "include takes one file name in quotes: include \"blocks.net\"");
            continue;
        }
        const char *name = arg->val->s, *from = net->file->name, *slash = strrchr(from, '/');
        const char *path = name[0] == '/' || !slash
                               ? arena_strdup(a, name)
                               : arena_printf(a, "%.*s/%s", (int)(slash - from), from, name);
        char *real = realpath(path, NULL);
        if (!real) {
            diag_error(d, arg->loc, "cannot include '%s': %s", path, read_error(errno));
            continue;
        }
        const char *r = arena_strdup(a, real);
        free(real);
        int on = -1;
        for (int k = 0; k < st->n && on < 0; k++)
            if (!strcmp(st->real[k], r))
                on = k;
        if (on >= 0) {
            diag_error(d, arg->loc, "include cycle: '%s' includes itself", name);
            for (int k = st->n - 1; k > on; k--)
                diag_note(d, st->at[k - 1]->loc, "included from here");
            continue;
        }
        if (st->n == AST_MAX_DEPTH) {
            diag_error(d, arg->loc, "includes nested more than %d deep", AST_MAX_DEPTH);
            continue;
        }
        bool again = false; /* a file two includes share (a diamond) gives its names once */
        for (int k = 0; k < st->done.len && !again; k++)
            again = !strcmp(st->done.items[k], r);
        if (again)
            continue;
        ptrvec_push(a, &st->done, (void *)r);
        struct stat sbuf;
        if (stat(path, &sbuf) == 0 &&
            (!S_ISREG(sbuf.st_mode) || (size_t)sbuf.st_size > SRC_MAX_BYTES)) {
            diag_error(d, arg->loc, "cannot include '%s': %s", path,
                       S_ISREG(sbuf.st_mode) ? "larger than 64 MiB" : "not a regular file");
            continue;
        }
        SrcFile *f = src_read(a, path);
        if (!f) {
            diag_error(d, arg->loc, "cannot include '%s': %s", path, read_error(errno));
            continue;
        }
        SrcLoc *at = arena_alloc(a, sizeof *at);
        *at = s->loc;
        f->included_from = at;
        st->at[st->n - 1] = s;
        st->real[st->n++] = r;
        AstNet *inc = parse_expanded(a, f, st, d);
        if (inc) {
            if (inc->name)
                diag_warning(d, inc->name_loc,
                             "an included file gives params and templates; its network '%s' is "
                             "not used",
                             inc->name);
            if (inc->has_train)
                diag_warning(d, inc->train_loc,
                             "an included file gives params and templates; its train section "
                             "is not used");
            take_shared(a, inc, &top);
        }
        st->n--;
    }
    net->top = top;
}

/* Parses f and replaces its includes (expand_includes). YAML reads a use of a template as a
 * layer only when it knows the name, so a YAML file with includes is read twice: once
 * silently to find them, then again knowing the templates they define. */
static AstNet *parse_expanded(Arena *a, const SrcFile *f, IncStack *st, Diag *d)
{
    return parse_includes(a, f, st, false, d);
}

/* parse_expanded, or with keep the includes left as they are (their templates still known
 * to YAML's reader). */
static AstNet *parse_includes(Arena *a, const SrcFile *f, IncStack *st, bool keep, Diag *d)
{
    /* a YAML file without the word include has no includes: read once */
    bool yaml = name_is_yaml(f->name) && memmem(f->text, f->len, AST_INCLUDE, strlen(AST_INCLUDE));
    Diag quiet;
    diag_init_quiet(&quiet, d->prog);
    AstNet *net = parse_text(a, f, yaml ? &quiet : d);
    if (!net)
        return yaml ? parse_text(a, f, d) : NULL; /* now with its message */
    bool includes = false;
    for (int i = 0; i < net->top.len && !includes; i++)
        includes = !strcmp(((const AstStmt *)net->top.items[i])->head, AST_INCLUDE);
    if (yaml && !includes)
        return parse_text(a, f, d); /* now with its messages */
    PtrVec written = net->top;
    expand_includes(a, net, st, d);
    PtrVec expanded = net->top;
    if (keep)
        net->top = written;
    if (!yaml)
        return net;
    const char **names = arena_alloc(a, sizeof(char *) * (size_t)(expanded.len + 1));
    int n = 0;
    for (int i = 0; i < expanded.len; i++) { /* the templates the includes gave */
        const AstStmt *t = expanded.items[i];
        if (!strcmp(t->head, AST_TEMPLATE) && t->args.len > 0 &&
            ((const AstArg *)t->args.items[0])->val->kind == VAL_IDENT)
            names[n++] = ((const AstArg *)t->args.items[0])->val->s;
    }
    AstNet *again = parse_yaml_with(a, f, names, n, d);
    if (!keep)
        again->top = expanded; /* includes replaced */
    return again;
}

static AstNet *source(Arena *a, const char *path, bool part, Diag *d)
{
    SrcFile *f = src_read(a, path);
    if (!f) {
        diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", path, read_error(errno));
        return NULL;
    }
    static const SrcLoc command_line = {0};
    if (part) /* read as an included file is: no network wanted */
        f->included_from = &command_line;
    IncStack st = {.n = 1};
    char *real = realpath(f->name, NULL);
    st.real[0] = arena_strdup(a, real ? real : f->name);
    free(real);
    return parse_includes(a, f, &st, true, d);
}

AstNet *frontend_source(Arena *a, const char *path, Diag *d) { return source(a, path, false, d); }

AstNet *frontend_source_part(Arena *a, const char *path, Diag *d)
{
    return source(a, path, true, d);
}

Graph *frontend_load_file(Arena *a, const SrcFile *f, Diag *d)
{
    return frontend_load_file_opts(a, f, NULL, d);
}

/* Checks the text and parses it by the file's suffix; NULL when it is not text. */
static AstNet *parse_text(Arena *a, const SrcFile *f, Diag *d)
{
    if (f->len > (64u << 20)) {
        diag_error(d, (SrcLoc){0}, "%s: file too large for a net (%zu bytes)", f->name, f->len);
        return NULL;
    }
    SrcLoc bad = text_check(f);
    if (bad.file) {
        unsigned char c = (unsigned char)f->text[bad.len];
        bad.len = 1;
        diag_error(d, (SrcLoc){0},
                   c < 0x80 ? "%s:%d:%d: not a text file (control byte 0x%02x)"
                            : "%s:%d:%d: not a text file (byte 0x%02x is not UTF-8)",
                   f->name, bad.line, bad.col, c);
        if (f->included_from) /* no excerpt of its bytes: the include that read it instead */
            diag_note(d, *f->included_from, "included from here");
        return NULL;
    }
    if (f->len >= 3 && memcmp(f->text, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        SrcFile *rest = arena_alloc(a, sizeof *rest);
        *rest = *f;
        rest->text += 3;
        rest->len -= 3;
        f = rest;
    }
    return name_is_yaml(f->name) ? parse_yaml(a, f, d) : parse_net(a, f, d);
}

Graph *frontend_load_file_opts(Arena *a, const SrcFile *f, const FrontendOptions *opt, Diag *d)
{
    int before = d->errors;
    IncStack st = {.n = 1};
    char *real = realpath(f->name, NULL);
    st.real[0] = arena_strdup(a, real ? real : f->name);
    free(real);
    AstNet *net = parse_expanded(a, f, &st, d);
    if (!net || (!net->name && d->errors > before))
        return NULL;
    Graph *g = lower_net(a, net, opt, d);
    /* Shapes only of a net that lowered cleanly: a skipped layer would make its successors'
     * shapes wrong and their errors noise. */
    if (d->errors == before && ir_shape(g, d) && g->train.present)
        ir_check_train(g, d);
    return g;
}
