/* load.c: the front end's driver: reads a file, rejects what is not UTF-8 text, picks the
 * parser by the file's suffix, lowers, and runs the shape pass on a net that lowered
 * cleanly. */
#include <errno.h>
#include <string.h>

#include "frontend.h"

static bool is_yaml(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

Graph *frontend_load(Arena *a, const char *path, Diag *d)
{
    return frontend_load_opts(a, path, NULL, d);
}

Graph *frontend_load_opts(Arena *a, const char *path, const FrontendOptions *opt, Diag *d)
{
    SrcFile *f = src_read(a, path);
    if (!f) {
        diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", path, strerror(errno));
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

Graph *frontend_load_file(Arena *a, const SrcFile *f, Diag *d)
{
    return frontend_load_file_opts(a, f, NULL, d);
}

Graph *frontend_load_file_opts(Arena *a, const SrcFile *f, const FrontendOptions *opt, Diag *d)
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
        return NULL;
    }
    if (f->len >= 3 && memcmp(f->text, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        SrcFile *rest = arena_alloc(a, sizeof *rest);
        *rest = *f;
        rest->text += 3;
        rest->len -= 3;
        f = rest;
    }
    bool yaml = is_yaml(f->name);
    int before = d->errors;
    AstNet *net = yaml ? parse_yaml(a, f, d) : parse_net(a, f, d);
    if (!net->name && d->errors > before)
        return NULL;
    Graph *g = lower_net(a, net, opt, d);
    /* Shapes only of a net that lowered cleanly: a skipped layer would make its successors'
     * shapes wrong and their errors noise. */
    if (d->errors == before)
        ir_shape(g, d);
    return g;
}
