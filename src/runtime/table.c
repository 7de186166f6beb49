/* table.c: a CSV table as a data set (data csv "FILE" label=NAME): a header row naming the
 * columns, then one record a row; every column but the label's is a numeric feature.
 * Parsed by libcsv (RFC 4180: quoted fields, "" inside quotes, LF, CRLF or CR), read through
 * zlib so that FILE.csv.gz works as well.
 *
 * Design choice: the file is fed to the parser one line at a time, so a callback knows the
 * line it is on and every message names file, line and column (number and header name).
 * Features are kept as float32, row-major (a record is `cols` floats, rows and channels 1);
 * labels are either all non-negative integers (used as the class index) or names, mapped to
 * indices in byte order as torchvision's ImageFolder orders class folders. The test table's
 * names must be among the training table's. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>
#include <zlib.h>

#include "data.h"
#include "fileio.h"

#define TABLE_MAX_COLUMNS (1 << 20)
/* bytes of one record (a line, or the lines of a quoted field): a million columns of 64 */
#define TABLE_MAX_LINE ((size_t)64 << 20)

typedef struct Table {
    const char *path; /* for messages */
    const CsvSpec *spec;
    Diag *d;
    bool failed;
    int line;        /* the line being fed, from 1 */
    size_t line_len; /* the bytes of the record being fed so far (its lines, when a quoted
                        field holds line ends) */
    int rec_line;    /* the line it starts on */
    bool have_head;  /* the header row is read */
    char **col;      /* the header's names (owned) */
    int ncol, label_col;
    int field;          /* fields of the current row so far */
    char pending[1024]; /* the row's first bad field, told at its end unless its field count
                         * is wrong (the likelier cause) */
    bool started;       /* bytes were fed */
    bool cr_end;        /* the last byte fed was a CR that ended a line (an LF may follow) */
    int n;              /* records so far */
    float *x;           /* n x (ncol - has label) features */
    size_t x_cap;
    char *lab; /* the label strings, NUL-separated, in record order */
    size_t lab_len, lab_cap;
    int *lines; /* the line each record ends on */
    int lines_cap;
} Table;

static int features(const Table *t) { return t->ncol - (t->label_col >= 0); }

static void fail(Table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(Table *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    t->failed = true;
    va_list ap;
    va_start(ap, fmt);
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(t->d, (SrcLoc){0}, "%s", msg);
}

/* A bad field: kept until the row's end (the row's first only). */
static void bad_field(Table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad_field(Table *t, const char *fmt, ...)
{
    if (t->pending[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->pending, sizeof t->pending, fmt, ap);
    va_end(ap);
}

/* Grows *p (elements of size sz, capacity *cap) to hold need; false when out of memory. */
static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / sz)
        return false;
    void *q = realloc(*p, c * sz);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* The field's text for a message: clipped, control characters escaped. */
static const char *shown(char buf[IO_CLIP_BUF], const char *s) { return io_clip(buf, s); }

/* " (did you mean 'NAME'?)" for the name of names nearest to word, or "". Returns buf. */
static const char *did_you_mean(char buf[300], const char *word, char *const *names, int n)
{
    Suggest s;
    suggest_init(&s, word, false);
    for (int k = 0; k < n; k++)
        suggest_add(&s, names[k]);
    const char *best = suggest_best(&s);
    buf[0] = 0;
    if (best)
        snprintf(buf, 300, " (did you mean '%.200s'?)", best);
    return buf;
}

static void on_field(void *s, size_t len, void *ctx)
{
    Table *t = ctx;
    if (t->failed)
        return;
    const char *f = s ? s : "";
    if (s && strlen(f) != len) {
        if (!t->have_head)
            fail(t, "%s:%d: column %d: a NUL byte in the header", t->path, t->line, t->ncol + 1);
        else
            bad_field(t, "%s:%d: column %d: a NUL byte in the field", t->path, t->line, ++t->field);
        return;
    }
    if (!t->have_head) { /* a column name */
        if (t->ncol >= TABLE_MAX_COLUMNS) {
            fail(t, "%s:%d: more than %d columns", t->path, t->line, TABLE_MAX_COLUMNS);
            return;
        }
        char **c = realloc(t->col, sizeof *c * (size_t)(t->ncol + 1));
        char *name = c ? strdup(f) : NULL;
        if (c)
            t->col = c;
        if (!name) {
            fail(t, "%s: out of memory for the header", t->path);
            return;
        }
        t->col[t->ncol++] = name;
        return;
    }
    int k = t->field++;
    if (k >= t->ncol)
        return; /* too many fields: the row's end says so */
    char cb[IO_CLIP_BUF];
    if (k == t->label_col) {
        if (t->spec->skip_labels)
            return;
        if (!*f) {
            bad_field(t, "%s:%d: column %d ('%s'): the label is missing", t->path, t->line, k + 1,
                      t->col[k]);
            return;
        }
        if (!grow((void **)&t->lab, &t->lab_cap, t->lab_len + len + 1, 1)) {
            fail(t, "%s: out of memory for the labels", t->path);
            return;
        }
        memcpy(t->lab + t->lab_len, f, len + 1);
        t->lab_len += len + 1;
        return;
    }
    if (t->spec->labels_only)
        return; /* the classes alone: features unread */
    int nf = features(t), j = k - (t->label_col >= 0 && k > t->label_col);
    if (!grow((void **)&t->x, &t->x_cap, ((size_t)t->n + 1) * (size_t)nf, sizeof(float))) {
        fail(t, "%s: out of memory for %d records", t->path, t->n + 1);
        return;
    }
    const char *p = f;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        bad_field(t, "%s:%d: column %d ('%s'): a missing value", t->path, t->line, k + 1,
                  t->col[k]);
        return;
    }
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    /* a decimal, as pandas reads a column of numbers: strtod's hex forms (0x1A, 0x1p3) are
     * text there, and no tensor */
    if (end == p || *end || strpbrk(p, "xX")) {
        bad_field(t, "%s:%d: column %d ('%s'): '%s' is not a number", t->path, t->line, k + 1,
                  t->col[k], shown(cb, f));
        return;
    }
    if (!isfinite(v) || !isfinite((float)v)) {
        bad_field(t, "%s:%d: column %d ('%s'): '%s' is not a finite float32 value", t->path,
                  t->line, k + 1, t->col[k], shown(cb, f));
        return;
    }
    t->x[(size_t)t->n * (size_t)nf + (size_t)j] = (float)v;
}

/* The header is read: finds the label column. */
static void on_header(Table *t)
{
    t->have_head = true;
    t->label_col = -1;
    if (!t->spec->label) {
        return;
    }
    for (int k = 0; k < t->ncol; k++) {
        if (strcmp(t->col[k], t->spec->label) != 0)
            continue;
        if (t->label_col >= 0) {
            fail(t, "%s:%d: columns %d and %d are both named '%s'; the label column must be one",
                 t->path, t->line, t->label_col + 1, k + 1, t->spec->label);
            return;
        }
        t->label_col = k;
    }
    if (t->label_col < 0 && t->spec->label_optional)
        return;
    if (t->label_col >= 0) {
        if (t->ncol < 2)
            fail(t, "%s:%d: the label column '%s' is the only column: no features", t->path,
                 t->line, t->spec->label);
        return;
    }
    StrBuf names;
    sb_init(&names);
    for (int k = 0; k < t->ncol && k < 8; k++)
        sb_printf(&names, "%s'%s'", k ? ", " : "", t->col[k]);
    if (t->ncol > 8)
        sb_printf(&names, " and %d more", t->ncol - 8);
    char hint[300];
    fail(t,
         "%s:%d: no column named '%s'%s; the header names %s; give the label column with "
         "label=NAME",
         t->path, t->line, t->spec->label, did_you_mean(hint, t->spec->label, t->col, t->ncol),
         names.data);
    sb_free(&names);
}

static void free_names(char **names, int n);

/* The header's feature names: kept (the training table), or checked against the training
 * table's, name by name (spec->columns). */
static void match_columns(Table *t)
{
    const CsvSpec *s = t->spec;
    int nf = features(t);
    if (!s->columns || t->failed || (!s->learn && !*s->columns))
        return;
    if (s->learn && !*s->columns) {
        char **names = calloc((size_t)nf + 1, sizeof *names);
        int j = 0;
        for (int k = 0; names && k < t->ncol; k++)
            if (k != t->label_col && !(names[j++] = strdup(t->col[k]))) {
                free_names(names, j);
                names = NULL;
            }
        if (!names) {
            fail(t, "%s: out of memory for the header", t->path);
            return;
        }
        *s->columns = names;
        *s->ncolumns = nf;
        return;
    }
    const char *const *want = (const char *const *)*s->columns;
    for (int k = 0, j = 0; k < t->ncol && j < *s->ncolumns; k++) {
        if (k == t->label_col)
            continue;
        if (strcmp(t->col[k], want[j]) != 0) {
            char cb[IO_CLIP_BUF], wb[IO_CLIP_BUF];
            fail(t,
                 "%s:%d: column %d is '%s' where the training table's feature %d is '%s'; a "
                 "model takes its features by position: the table needs the training table's "
                 "columns, in its order",
                 t->path, t->line, k + 1, shown(cb, t->col[k]), j + 1, shown(wb, want[j]));
            return;
        }
        j++;
    }
    if (nf != *s->ncolumns)
        fail(t, "%s:%d: %d feature columns; the training table has %d", t->path, t->line, nf,
             *s->ncolumns);
}

static void on_row(int c, void *ctx)
{
    (void)c;
    Table *t = ctx;
    t->line_len = 0; /* feed counts the next record's bytes from here */
    if (t->failed)
        return;
    if (!t->have_head) {
        on_header(t);
        match_columns(t);
        return;
    }
    if (t->field != t->ncol) {
        fail(t, "%s:%d: %d field%s, but the header has %d columns", t->path, t->line, t->field,
             t->field == 1 ? "" : "s", t->ncol);
        return;
    }
    if (t->pending[0]) {
        fail(t, "%s", t->pending);
        return;
    }
    if (t->n == INT_MAX) {
        fail(t, "%s:%d: more than %d records", t->path, t->line, INT_MAX - 1);
        return;
    }
    size_t cap = (size_t)t->lines_cap;
    if (!grow((void **)&t->lines, &cap, (size_t)t->n + 1, sizeof(int)) || cap > INT_MAX) {
        fail(t, "%s: out of memory for %d records", t->path, t->n + 1);
        return;
    }
    t->lines_cap = (int)cap;
    t->lines[t->n++] = t->line;
    t->field = 0;
}

/* Feeds len bytes, a line at a time, counting lines (LF, CRLF or CR). */
static void feed(Table *t, struct csv_parser *p, const char *buf, size_t len)
{
    if (!t->started && len) { /* skip the UTF-8 byte order mark spreadsheets write */
        t->started = true;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
            buf += 3, len -= 3;
    }
    if (t->cr_end && len && buf[0] == '\n') { /* the LF of a CRLF cut between two reads */
        t->cr_end = false;
        if (csv_parse(p, buf, 1, on_field, on_row, t) != 1)
            return; /* not reached: libcsv skips the LF of its CRLF */
        buf++, len--;
    }
    while (len && !t->failed && !(t->spec->header_only && t->have_head)) {
        /* a line ends at LF, CRLF or a lone CR (as libcsv's rows do: old Mac files) */
        const char *nl = NULL;
        for (size_t i = 0; i < len && !nl; i++)
            if (buf[i] == '\n' || buf[i] == '\r')
                nl = buf + i;
        if (nl && *nl == '\r' && (size_t)(nl - buf) + 1 < len && nl[1] == '\n')
            nl++;
        t->cr_end = nl && *nl == '\r' && nl == buf + len - 1;
        size_t k = nl ? (size_t)(nl - buf) + 1 : len;
        if (t->line_len == 0)
            t->rec_line = t->line;
        /* /dev/zero, a binary file (no end of line), or a quote never closed: a record's
         * bytes count until its row ends (on_row), across the line ends inside quotes */
        t->line_len += k;
        if (t->line_len > TABLE_MAX_LINE) {
            if (t->rec_line == t->line)
                fail(t, "%s:%d: a line longer than %zu MiB: not a CSV table", t->path, t->line,
                     TABLE_MAX_LINE >> 20);
            else
                fail(t,
                     "%s:%d: a record longer than %zu MiB, to line %d: a quoted field that does "
                     "not close?",
                     t->path, t->rec_line, TABLE_MAX_LINE >> 20, t->line);
            return;
        }
        if (csv_parse(p, buf, k, on_field, on_row, t) != k) {
            fail(t, "%s:%d: %s", t->path, t->line,
                 csv_error(p) == CSV_EPARSE ? "a quote in an unquoted field, or text after a "
                                              "closing quote (quote the field, and double "
                                              "every quote inside it)"
                                            : "out of memory");
            return;
        }
        /* a blank line ends no row (libcsv calls no callback for it): between rows, its
         * bytes are no record's (pstate 0 is libcsv's ROW_NOT_BEGUN) */
        if (nl && p->pstate == 0)
            t->line_len = 0;
        if (nl && t->line == INT_MAX)
            fail(t, "%s: more than %d lines", t->path, INT_MAX - 1);
        else if (nl)
            t->line++;
        buf += k;
        len -= k;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A label as a number: a decimal (digits, a point, an exponent; spaces around) that is a
 * whole number from 0 gives 1 and the number in *v (capped at DATA_MAX_CLASSES: 5, 5.0 and
 * 5e0 are class 5, as pandas' astype(int) makes them); any other decimal (-1, 2.5) gives 0;
 * anything else (a name; also inf, nan and hex) gives -1. */
static int label_value(const char *s, long *v)
{
    while (*s == ' ')
        s++;
    const char *p = s + (*s == '+' || *s == '-');
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        digits += frac;
        p += 1 + frac;
    }
    if (!digits)
        return -1;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1 + (p[1] == '+' || p[1] == '-');
        size_t e = strspn(q, "0123456789");
        if (!e)
            return -1;
        p = q + e;
    }
    while (*p == ' ')
        p++;
    if (*p)
        return -1;
    double x = strtod(s, NULL);
    if (!(x >= 0) || x != floor(x))
        return 0;
    *v = x < DATA_MAX_CLASSES ? (long)x : DATA_MAX_CLASSES;
    return 1;
}

/* A label as a class index when it is a whole number from 0 (label_value); -1 otherwise. */
static long label_number(const char *s)
{
    long v;
    return label_value(s, &v) == 1 ? v : -1;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* The labels: numbers, or names mapped to classes (found from the table when *classes is
 * NULL and learn is set, else looked up in them). */
static bool map_labels(Table *t, uint8_t *labels, const CsvSpec *spec)
{
    bool learn = spec->learn;
    char ***classes = spec->classes;
    int *nclasses = spec->nclasses;
    int n = t->n;
    char **str = malloc(sizeof *str * (size_t)(n ? n : 1));
    if (!str) {
        fail(t, "%s: out of memory for the labels", t->path);
        return false;
    }
    for (size_t i = 0, at = 0; i < (size_t)n; i++, at += strlen(t->lab + at) + 1)
        str[i] = t->lab + at;
    bool numeric = !*classes;
    for (int i = 0; i < n && numeric; i++)
        numeric = label_number(str[i]) >= 0;
    if (!*classes && !numeric) { /* numbers, but one not a class number: not names either */
        long v;
        int i = 0, bad = -1, kind;
        for (; i < n && (kind = label_value(str[i], &v)) >= 0; i++)
            if (bad < 0 && kind == 0)
                bad = i;
        if (i == n && bad >= 0) {
            char cb[IO_CLIP_BUF];
            fail(t,
                 "%s:%d: column %d ('%s'): '%s' is not a class number (0, 1, 2, ...), and every "
                 "label is a number; write class names to have netrun number them",
                 t->path, t->lines[bad], t->label_col + 1, t->spec->label, shown(cb, str[bad]));
            free(str);
            return false;
        }
    }
    if (!*classes && !numeric && !learn) { /* the training table had numbers */
        for (int i = 0; i < n; i++)
            if (label_number(str[i]) < 0) {
                char cb[IO_CLIP_BUF];
                fail(t,
                     "%s:%d: column %d ('%s'): '%s' is not a class number, and the training "
                     "table's labels are numbers",
                     t->path, t->lines[i], t->label_col + 1, t->spec->label, shown(cb, str[i]));
                break;
            }
        free(str);
        return false;
    }
    if (numeric) {
        for (int i = 0; i < n; i++) {
            long v = label_number(str[i]);
            if (v >= DATA_MAX_CLASSES) {
                char cb[IO_CLIP_BUF];
                fail(t, "%s:%d: column %d ('%s'): label %s; netrun takes classes 0 to %d", t->path,
                     t->lines[i], t->label_col + 1, t->spec->label, shown(cb, str[i]),
                     DATA_MAX_CLASSES - 1);
                free(str);
                return false;
            }
            labels[i] = (uint8_t)v;
        }
        free(str);
        return true;
    }
    if (!*classes) { /* the distinct names in byte order */
        char **sorted = malloc(sizeof *sorted * (size_t)n);
        if (!sorted) {
            fail(t, "%s: out of memory for the labels", t->path);
            free(str);
            return false;
        }
        memcpy(sorted, str, sizeof *sorted * (size_t)n);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
        int k = 0;
        for (int i = 0; i < n; i++)
            if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
                sorted[k++] = sorted[i];
        if (k > DATA_MAX_CLASSES) {
            fail(t, "%s: column %d ('%s') names %d classes; netrun takes at most %d", t->path,
                 t->label_col + 1, t->spec->label, k, DATA_MAX_CLASSES);
            free(sorted);
            free(str);
            return false;
        }
        char **names = calloc((size_t)k, sizeof *names);
        for (int i = 0; names && i < k; i++)
            if (!(names[i] = strdup(sorted[i]))) {
                free_names(names, i);
                names = NULL;
            }
        free(sorted);
        if (!names) {
            fail(t, "%s: out of memory for the class names", t->path);
            free(str);
            return false;
        }
        *classes = names;
        *nclasses = k;
    }
    for (int i = 0; i < n; i++) {
        char **hit = bsearch(&str[i], *classes, (size_t)*nclasses, sizeof **classes, cmp_str);
        if (!hit) {
            char cb[IO_CLIP_BUF];
            char hint[300];
            fail(t,
                 "%s:%d: column %d ('%s'): '%s' is not one of the training table's %d "
                 "classes%s",
                 t->path, t->lines[i], t->label_col + 1, t->spec->label, shown(cb, str[i]),
                 *nclasses, did_you_mean(hint, str[i], *classes, *nclasses));
            free(str);
            return false;
        }
        labels[i] = (uint8_t)(hit - *classes);
    }
    free(str);
    return true;
}

static void table_free(Table *t)
{
    free_names(t->col, t->ncol);
    free(t->x);
    free(t->lab);
    free(t->lines);
}

/* Finishes a parsed table into *ds. */
static bool table_finish(Table *t, Dataset *ds, const CsvSpec *spec)
{
    if (!t->failed && !t->have_head)
        fail(t, "%s: empty: no header row naming the columns", t->path);
    if (!t->failed && t->n == 0)
        fail(t, "%s: a header but no records", t->path);
    if (!t->failed && features(t) < 1)
        fail(t, "%s: no feature columns", t->path);
    if (t->failed)
        return false;
    Dataset r = {.n = t->n, .rows = 1, .cols = features(t), .channels = 1};
    r.labels = calloc((size_t)t->n, 1);
    r.images_file = strdup(t->path);
    r.labels_file = strdup(t->path);
    if (!r.labels || !r.images_file || !r.labels_file) {
        fail(t, "%s: out of memory", t->path);
        dataset_free(&r);
        return false;
    }
    if (t->label_col >= 0) {
        r.label_column = t->label_col + 1;
        r.label_name = strdup(t->spec->label);
        if (!r.label_name || (!spec->skip_labels && !map_labels(t, r.labels, spec))) {
            fail(t, "%s: out of memory", t->path);
            dataset_free(&r);
            return false;
        }
    }
    r.features = t->x;
    r.lines = t->lines;
    t->x = NULL;
    t->lines = NULL;
    *ds = r;
    return true;
}

static const int csv_options = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;

/* libcsv grows a field's buffer by a fixed block, 128 bytes unless told: a field of 4 MiB
 * took 80 s under ASan, reallocated 32,000 times. A block of 1 MiB reallocates a field of the
 * longest record (TABLE_MAX_LINE) 64 times. */
static int table_csv_init(struct csv_parser *p)
{
    if (csv_init(p, csv_options) != 0)
        return -1;
    csv_set_blk_size(p, (size_t)1 << 20);
    return 0;
}

/* Ends the parse: the last row, then the records into *ds. */
static bool table_end(Table *t, struct csv_parser *p, Dataset *ds, const CsvSpec *spec)
{
    if (!t->failed && csv_fini(p, on_field, on_row, t) != 0)
        fail(t, "%s:%d: a quoted field with no closing quote", t->path, t->line);
    csv_free(p);
    bool ok = spec->header_only ? !t->failed && t->have_head : table_finish(t, ds, spec);
    table_free(t);
    return ok;
}

bool dataset_parse_csv(Dataset *ds, const char *name, const char *text, size_t len,
                       const CsvSpec *spec, Diag *d)
{
    memset(ds, 0, sizeof *ds);
    Table t = {.path = name, .spec = spec, .d = d, .line = 1, .label_col = -1};
    struct csv_parser p;
    if (table_csv_init(&p) != 0) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory for the CSV parser", name);
        return false;
    }
    feed(&t, &p, text, len);
    return table_end(&t, &p, ds, spec);
}

bool dataset_load_csv(Dataset *ds, const char *path, const CsvSpec *spec, Diag *d)
{
    memset(ds, 0, sizeof *ds);
    struct stat st;
    int fd = dataset_open_input(path, &st, d);
    if (fd < 0)
        return false;
    gzFile gz = gzdopen(fd, "rb");
    struct csv_parser p;
    if (!gz || table_csv_init(&p) != 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot open: out of memory", path);
        if (gz)
            gzclose(gz);
        else
            close(fd);
        return false;
    }
    Table t = {.path = path, .spec = spec, .d = d, .line = 1, .label_col = -1};
    char *buf = malloc(1 << 16);
    if (!buf)
        fail(&t, "%s: out of memory", path);
    unsigned long long bytes = 0;
    while (!t.failed && !(spec->header_only && t.have_head)) {
        int r = gzread(gz, buf, 1 << 16);
        int e = Z_OK;
        const char *m = gzerror(gz, &e);
        if (r < 0) {
            char eb[128];
            fail(&t, "%s: cannot read: %s", path,
                 e == Z_ERRNO ? io_errstr(errno, eb, sizeof eb) : m);
        } else if (r == 0 && e == Z_BUF_ERROR) { /* a gzip stream cut short: no trailer */
            fail(&t, "%s: gzip data is truncated after byte %llu (its trailer is missing)", path,
                 bytes);
        }
        if (r <= 0)
            break;
        bytes += (unsigned long long)r;
        feed(&t, &p, buf, (size_t)r);
    }
    free(buf);
    if (!t.failed && !spec->header_only && !gzdirect(gz) && !dataset_gzip_whole(fd, &st, path, d))
        t.failed = true;
    gzclose(gz);
    return table_end(&t, &p, ds, spec);
}
