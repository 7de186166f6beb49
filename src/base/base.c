/* base.c: arena, source files, the diagnostic sink, string buffers and small helpers.
 * The diagnostic printer is the one place that knows how a message looks on screen. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* realpath */
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- arena ---- */

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

Arena *arena_new(void)
{
    Arena *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    return a;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    for (ArenaBlock *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *arena_alloc(Arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ArenaBlock *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            abort();
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void ptrvec_push(Arena *a, PtrVec *v, void *item)
{
    if (v->len == v->cap) {
        int cap = v->cap ? v->cap * 2 : 8;
        void **items = arena_alloc(a, sizeof(void *) * (size_t)cap);
        if (v->len)
            memcpy(items, v->items, sizeof(void *) * (size_t)v->len);
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
}

/* ---- the files a run reads ---- */

typedef struct ReadFile {
    dev_t dev;
    ino_t ino;
    char *path;
} ReadFile;
static ReadFile *reads;
static size_t nreads, capreads;

static ReadFile *read_entry(const struct stat *st)
{
    for (size_t i = 0; i < nreads; i++)
        if (reads[i].dev == st->st_dev && reads[i].ino == st->st_ino)
            return &reads[i];
    return NULL;
}

void io_note_read(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || read_entry(&st))
        return;
    if (nreads == capreads) {
        size_t cap = capreads ? 2 * capreads : 16;
        ReadFile *grown = realloc(reads, cap * sizeof *grown);
        if (!grown)
            return; /* the check is a safeguard: without memory, it is skipped */
        reads = grown, capreads = cap;
    }
    char *copy = strdup(path);
    if (copy)
        reads[nreads++] = (ReadFile){st.st_dev, st.st_ino, copy};
}

void io_may_rewrite(const char *path)
{
    struct stat st;
    ReadFile *r = stat(path, &st) == 0 ? read_entry(&st) : NULL;
    if (r) {
        free(r->path);
        *r = reads[--nreads];
    }
}

const char *io_read_as(const char *path)
{
    struct stat st;
    ReadFile *r = stat(path, &st) == 0 ? read_entry(&st) : NULL;
    return r ? r->path : NULL;
}

bool io_output_ok(const char *path, const char *who, Diag *d)
{
    const char *input = io_read_as(path);
    if (!input)
        return true;
    if (strcmp(input, path) == 0)
        diag_error(d, (SrcLoc){0},
                   "%s: is a file %s reads; writing there would destroy it: "
                   "name another file",
                   path, who);
    else
        diag_error(d, (SrcLoc){0},
                   "%s: is %s, a file %s reads; writing there would destroy it: "
                   "name another file",
                   path, input, who);
    return false;
}

/* path with its directory resolved (realpath), malloc'ed; NULL if the directory cannot be */
static char *resolved(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    const char *base = slash ? slash + 1 : path;
    char *out = real ? malloc(strlen(real) + strlen(base) + 2) : NULL;
    if (out)
        sprintf(out, "%s/%s", real, base);
    free(real);
    return out;
}

bool io_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *ra = resolved(a), *rb = resolved(b);
    bool same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

bool name_is_yaml(const char *name)
{
    return str_has_suffix(name, ".yaml") || str_has_suffix(name, ".yml");
}

bool loc_yaml(SrcLoc loc) { return loc.file && name_is_yaml(loc.file->name); }

/* ---- source files ---- */

/* A CR not followed by LF (an old Mac file's line end) made LF: the lexer, YAML's lines and
 * every message's line numbers then see the lines the editor shows; CRLF stays. */
static char *lone_cr_to_lf(char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] == '\r' && (i + 1 == n || t[i + 1] != '\n'))
            t[i] = '\n';
    return t;
}

SrcFile *src_read(Arena *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    io_note_read(path);
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f); /* fopen opens a directory; reading it would say "Input/output error" */
        errno = EISDIR;
        return NULL;
    }
    StrBuf sb;
    sb_init(&sb);
    char buf[65536];
    size_t n;
    int err = 0;
    while (!err && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (sb.len + n > SRC_MAX_BYTES) { /* /dev/zero, or a file that is no net */
            err = EFBIG;
            break;
        }
        if (sb.len + n + 1 > sb.cap) {
            size_t cap = sb.cap ? sb.cap : 4096;
            while (sb.len + n + 1 > cap)
                cap *= 2;
            char *grown = realloc(sb.data, cap);
            if (!grown) {
                err = ENOMEM;
                break;
            }
            sb.data = grown, sb.cap = cap;
        }
        memcpy(sb.data + sb.len, buf, n);
        sb.len += n;
        sb.data[sb.len] = 0;
    }
    if (!err && ferror(f))
        err = EIO;
    fclose(f);
    if (err) {
        sb_free(&sb);
        errno = err;
        return NULL;
    }
    SrcFile *sf = arena_alloc(a, sizeof *sf);
    sf->name = arena_strdup(a, path);
    sf->text = lone_cr_to_lf(arena_strndup(a, sb.data ? sb.data : "", sb.len), sb.len);
    sf->len = sb.len;
    sb_free(&sb);
    return sf;
}

SrcFile *src_from_string(Arena *a, const char *name, const char *text)
{
    SrcFile *sf = arena_alloc(a, sizeof *sf);
    sf->name = arena_strdup(a, name);
    sf->len = strlen(text);
    sf->text = lone_cr_to_lf(arena_strdup(a, text), sf->len);
    return sf;
}

/* ---- diagnostics ---- */

void diag_init(Diag *d, FILE *out, const char *prog)
{
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
    d->prog = prog;
    d->max_errors = 20;
}

void diag_init_quiet(Diag *d, const char *prog)
{
    diag_init(d, NULL, prog);
    d->silent = true;
}

bool diag_full(const Diag *d) { return d->errors >= d->max_errors; }

/* Terminal columns of the UTF-8 character at s (of at most n bytes): 2 for East Asian wide
 * and full-width ones (CJK, Hangul, full-width forms, most emoji), 0 for combining marks,
 * else 1; so that the caret under a line with such characters stands under its column. */
static int char_columns(const unsigned char *s, size_t n)
{
    static const uint32_t wide[][2] = {
        {0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF}, {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F},
        {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD},
    };
    static const uint32_t combining[][2] = {
        {0x0300, 0x036F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}};
    int len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    if (len == 1 || (size_t)len > n)
        return 1;
    uint32_t cp = s[0] & (0x7f >> len);
    for (int i = 1; i < len; i++)
        cp = cp << 6 | (s[i] & 0x3f);
    for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    for (size_t i = 0; i < sizeof combining / sizeof *combining; i++)
        if (cp >= combining[i][0] && cp <= combining[i][1])
            return 0;
    return 1;
}

/* Prints the source line of loc and a caret line under the marked text. Tabs are kept in
 * the caret line so the caret stays aligned; other control bytes print as '?'. */
static void print_excerpt(FILE *out, SrcLoc loc)
{
    const SrcFile *f = loc.file;
    const char *p = f->text, *end = f->text + f->len;
    for (int line = 1; line < loc.line && p < end; p++)
        if (*p == '\n')
            line++;
    const char *eol = p;
    while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
    /* Long lines: show a window of at most 120 bytes that holds the caret. */
    size_t linelen = (size_t)(eol - p), col = (size_t)(loc.col > 0 ? loc.col - 1 : 0);
    size_t start = 0;
    if (linelen > 120 && col > 60)
        start = col - 60 < linelen - 120 ? col - 60 : linelen - 120;
    size_t shown = linelen - start > 120 ? 120 : linelen - start;
    /* the window's edges between UTF-8 characters; the padding and the underline count
     * characters, not bytes */
#define CONT(i) (((unsigned char)p[i] & 0xc0) == 0x80)
    while (start > 0 && CONT(start))
        start--, shown++;
    while (start + shown < linelen && shown > 0 && CONT(start + shown))
        shown--;
    bool more_left = start > 0, more_right = start + shown < linelen;
    fprintf(out, "%5d | %s", loc.line, more_left ? "..." : "");
    for (size_t i = start; i < start + shown; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' || (c >= 32 && c < 127) || c >= 128 ? c : '?', out);
    }
    fprintf(out, "%s\n      | %s", more_right ? "..." : "", more_left ? "   " : "");
    for (size_t i = start; i < col && i < start + shown; i++)
        if (p[i] == '\t')
            fputc('\t', out);
        else if (!CONT(i))
            for (int w = char_columns((const unsigned char *)p + i, linelen - i); w > 0; w--)
                fputc(' ', out);
    fputc('^', out);
    size_t len = loc.len > 0 ? (size_t)loc.len : 1;
    if (col + len > start + shown)
        len = start + shown > col ? start + shown - col : 1;
    /* the first character's columns past the caret's one, then every later one's */
    int first = col < linelen ? char_columns((const unsigned char *)p + col, linelen - col) : 1;
    for (int w = first; w > 1; w--)
        fputc('~', out);
    for (size_t i = col + 1; i < col + len && i < linelen; i++)
        if (!CONT(i))
            for (int w = char_columns((const unsigned char *)p + i, linelen - i); w > 0; w--)
                fputc('~', out);
    fputc('\n', out);
#undef CONT
}

/* Writes a message with every word longer than DIAG_WORD_MAX bytes (a name, a path: a run
 * without spaces or quotes) cut to its first 80 and last 40 bytes around "...", so a
 * megabyte of name in a file does not become a megabyte of message, while any path a
 * person types stays whole. Cuts fall between UTF-8 characters. */
#define DIAG_WORD_MAX 128
static void put_shortened(FILE *out, const char *msg)
{
    const char *p = msg;
    while (*p) {
        size_t w = strcspn(p, " \t\n'\"");
        if (w > DIAG_WORD_MAX) {
            size_t head = 80, tail = 40;
            while (head > 0 && ((unsigned char)p[head] & 0xc0) == 0x80)
                head--;
            while (tail > 0 && ((unsigned char)p[w - tail] & 0xc0) == 0x80)
                tail--;
            fprintf(out, "%.*s...%.*s", (int)head, p, (int)tail, p + w - tail);
        } else {
            fwrite(p, 1, w, out);
        }
        p += w;
        if (*p)
            fputc(*p++, out);
    }
}

/* Whether the same error or warning was said at the same place among the last ones (FNV-1a
 * over the location and the text); remembers it if not. */
static bool said_before(Diag *d, SrcLoc loc, const char *fmt, va_list ap)
{
    char msg[512];
    va_list ap2;
    va_copy(ap2, ap);
    vsnprintf(msg, sizeof msg, fmt, ap2);
    va_end(ap2);
    uint64_t h = 1469598103934665603u;
    uint64_t where[4] = {(uint64_t)(uintptr_t)loc.file, (uint64_t)loc.line, (uint64_t)loc.col,
                         (uint64_t)loc.len};
    for (int k = 0; k < 4; k++)
        h = (h ^ where[k]) * 1099511628211u;
    for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
        h = (h ^ *c) * 1099511628211u;
    int n = d->nsaid < 16 ? d->nsaid : 16;
    for (int i = 0; i < n; i++)
        if (d->said[i] == h)
            return true;
    d->said[d->nsaid++ % 16] = h;
    return false;
}

void diag_vmsg(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, va_list ap)
{
    static const char *names[] = {"error", "warning", "note", "hint"};
    if ((lvl == DIAG_ERROR || lvl == DIAG_WARNING) && loc.file && said_before(d, loc, fmt, ap)) {
        lvl == DIAG_ERROR ? d->errors++ : d->warnings++; /* counted: the caller failed again */
        d->last_shown = false;                           /* its notes and hints go too */
        return;
    }
    if (lvl == DIAG_ERROR) {
        d->errors++;
        if (d->errors > d->max_errors) {
            d->last_shown = false;
            return;
        }
    } else if (lvl == DIAG_WARNING) {
        d->warnings++;
    } else if (!d->last_shown) {
        return; /* notes and hints belong to a message that was not shown */
    }
    if (lvl == DIAG_ERROR || lvl == DIAG_WARNING)
        d->last_shown = true;
    if (d->silent)
        return;
    FILE *out = d->out;
    if (loc.file)
        fprintf(out, "%s:%d:%d: ", loc.file->name, loc.line, loc.col);
    else if (d->prog && lvl != DIAG_HINT && lvl != DIAG_NOTE)
        fprintf(out, "%s: ", d->prog);
    fprintf(out, "%s: ", names[lvl]);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *msg = malloc((size_t)(n > 0 ? n : 0) + 1);
    if (!msg)
        abort();
    vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap2);
    va_end(ap2);
    put_shortened(out, msg);
    free(msg);
    fputc('\n', out);
    if (loc.file && loc.line > 0 && lvl != DIAG_HINT)
        print_excerpt(out, loc);
    /* gcc's "In file included from": each include on the way to the file, innermost first */
    for (const SrcLoc *inc = loc.file && (lvl == DIAG_ERROR || lvl == DIAG_WARNING)
                                 ? loc.file->included_from
                                 : NULL;
         inc && inc->file; inc = inc->file->included_from)
        fprintf(out, "%s:%d:%d: note: in file included from here\n", inc->file->name, inc->line,
                inc->col);
    if (lvl == DIAG_ERROR && d->errors == d->max_errors) {
        fprintf(out, "%s: error: too many errors (%d), stopping\n", d->prog ? d->prog : "netc",
                d->max_errors);
        d->last_shown = false;
    }
}

#define DIAG_FN(fn, lvl)                                                                           \
    void fn(Diag *d, SrcLoc loc, const char *fmt, ...)                                             \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        diag_vmsg(d, lvl, loc, fmt, ap);                                                           \
        va_end(ap);                                                                                \
    }
DIAG_FN(diag_error, DIAG_ERROR)
DIAG_FN(diag_warning, DIAG_WARNING)
DIAG_FN(diag_note, DIAG_NOTE)
DIAG_FN(diag_hint, DIAG_HINT)

/* ---- string buffer ---- */

void sb_init(StrBuf *sb) { memset(sb, 0, sizeof *sb); }

void sb_free(StrBuf *sb)
{
    free(sb->data);
    memset(sb, 0, sizeof *sb);
}

static void sb_reserve(StrBuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (sb->len + extra + 1 > cap)
        cap *= 2;
    sb->data = realloc(sb->data, cap);
    if (!sb->data)
        abort();
    sb->cap = cap;
}

void sb_putc(StrBuf *sb, char c)
{
    sb_reserve(sb, 1);
    sb->data[sb->len++] = c;
    sb->data[sb->len] = 0;
}

void sb_write(StrBuf *sb, const void *p, size_t n)
{
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = 0;
}

void sb_puts(StrBuf *sb, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(sb, n);
    memcpy(sb->data + sb->len, s, n + 1);
    sb->len += n;
}

void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    sb_reserve(sb, (size_t)n);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    sb->len += (size_t)n;
}

void sb_indent(StrBuf *sb, int depth)
{
    for (int i = 0; i < depth; i++)
        sb_puts(sb, "  ");
}

void sb_printf(StrBuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

char *fmt_thousands(char *buf, int64_t n)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)(n < 0 ? -n : n));
    char *p = buf;
    if (n < 0)
        *p++ = '-';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            *p++ = ',';
        *p++ = tmp[i];
    }
    *p = 0;
    return buf;
}

/* ---- random numbers ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rng_key(uint64_t h, uint64_t v)
{
    uint64_t x = h + v * 0xd1b54a32d192ed03ull;
    return splitmix64(&x);
}

void rng_seed(Rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(Rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

double rng_normal(Rng *r)
{
    double u1 = 1.0 - rng_uniform(r); /* (0, 1] */
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t rng_below(Rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = rng_next(r);
    while (x >= limit);
    return x % n;
}

/* ---- utilities ---- */

bool str_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

bool str_has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && str_ieq(s + n - m, suf);
}

/* Damerau-free Levenshtein distance, case-insensitive, capped at 'cap'. */
static int edit_distance(const char *a, const char *b, int cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = prev + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
        }
    }
    return row[lb] < cap ? row[lb] : cap;
}

void suggest_init(Suggest *s, const char *word, bool by_start)
{
    *s = (Suggest){.word = word, .by_start = by_start, .near_d = 3, .start_len = 3};
}

void suggest_add(Suggest *s, const char *name)
{
    int d = edit_distance(s->word, name, 3);
    if (d < s->near_d) {
        s->near_d = d;
        s->near = name;
    }
    int p = 0;
    while (s->word[p] && tolower((unsigned char)s->word[p]) == tolower((unsigned char)name[p]))
        p++;
    if (p > s->start_len) {
        s->start_len = p;
        s->start = name;
    }
}

const char *suggest_best(const Suggest *s)
{
    return s->near ? s->near : s->by_start ? s->start : NULL;
}

void diag_suggest(Diag *d, SrcLoc loc, const Suggest *s)
{
    const char *best = suggest_best(s);
    if (best)
        diag_hint(d, loc, "did you mean '%s'?", best);
}

void fmt_float(char *buf, size_t n, float v)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            return;
    }
}

void fmt_c_float(char *buf, size_t n, float v)
{
    char g[32];
    fmt_float(g, sizeof g, v);
    snprintf(buf, n, "%s%sf", g, strpbrk(g, ".e") ? "" : ".0");
}

void fmt_double(char *buf, size_t n, double v)
{
    if (v == 0 && signbit(v)) { /* "-0" would read back as the integer 0 */
        snprintf(buf, n, "-0.0");
        return;
    }
    int prec = 1;
    while (prec < 17 && (snprintf(buf, n, "%.*e", prec - 1, v), strtod(buf, NULL) != v))
        prec++;
    const char *e = isfinite(v) ? strchr(buf, 'e') : NULL;
    int exp10 = e ? atoi(e + 1) : 0;
    /* as Python's repr: positional from 1e-4 to below 1e16 (10.0, not 1e+01), else
     * scientific */
    if (e && exp10 >= -4 && exp10 < 16)
        snprintf(buf, n, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
    else
        snprintf(buf, n, "%.*g", prec, v);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- memory planning ---- */

typedef struct Span {
    size_t off, end;
} Span;

static int span_cmp(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

typedef struct Keyed {
    size_t key;
    int i;
} Keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const Keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

size_t first_fit(int n, const int *order, const int *lo, const int *hi, const size_t *size,
                 int nsteps, size_t *off)
{
    /* live[start[s] .. start[s + 1]): the blocks alive at step s (the lifetimes' sum may
     * pass INT_MAX in a net made to: then the allocation fails, it does not wrap) */
    size_t *start = xcalloc((size_t)nsteps + 1, sizeof(size_t));
    for (int i = 0; i < n; i++)
        for (int s = lo[i]; s <= hi[i]; s++)
            start[s + 1]++;
    for (int s = 0; s < nsteps; s++)
        start[s + 1] += start[s];
    size_t *fill = xcalloc((size_t)nsteps + 1, sizeof(size_t));
    memcpy(fill, start, sizeof(size_t) * (size_t)nsteps);
    int *live = xcalloc(start[nsteps], sizeof(int));
    for (int i = 0; i < n; i++)
        for (int s = lo[i]; s <= hi[i]; s++)
            live[fill[s]++] = i;
    /* seen[b]: 1 + the place in order of the last block that met b (0: none yet) */
    int *seen = xcalloc((size_t)n, sizeof(int));
    bool *placed = xcalloc((size_t)n, sizeof(bool));
    Span *spans = xcalloc((size_t)n, sizeof(Span));
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        int i = order ? order[k] : k, nc = 0;
        for (int s = lo[i]; s <= hi[i]; s++)
            for (size_t e = start[s]; e < start[s + 1]; e++) {
                int b = live[e];
                if (placed[b] && seen[b] != k + 1) {
                    seen[b] = k + 1;
                    spans[nc++] = (Span){off[b], off[b] + size[b]};
                }
            }
        qsort(spans, (size_t)nc, sizeof *spans, span_cmp);
        size_t at = 0;
        for (int c = 0; c < nc && spans[c].off < at + size[i]; c++)
            if (spans[c].end > at)
                at = spans[c].end;
        off[i] = at;
        placed[i] = true;
        if (at + size[i] > top)
            top = at + size[i];
    }
    free(start);
    free(fill);
    free(live);
    free(seen);
    free(placed);
    free(spans);
    return top;
}

void order_largest_first(int n, const size_t *key, int *order)
{
    Keyed *k = xcalloc((size_t)n, sizeof *k);
    for (int i = 0; i < n; i++)
        k[i] = (Keyed){key[i], i};
    qsort(k, (size_t)n, sizeof *k, keyed_cmp);
    for (int i = 0; i < n; i++)
        order[i] = k[i].i;
    free(k);
}
