/* testutil.h: helpers shared by the runtime I/O tests: a Diag that captures its output, a
 * scratch directory per test, and small file writers.
 *
 * Design choice: bad inputs are made at test time from bytes written in the test, in a
 * mkdtemp directory, so each case carries its input next to its expected message. */
#ifndef NETC_TEST_RUNTIME_IO_UTIL_H
#define NETC_TEST_RUNTIME_IO_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base.h"

/* A Diag writing into memory. */
typedef struct Cap {
    Diag d;
    FILE *f;
    char *buf;
    size_t len;
} Cap;

static inline void cap_init(Cap *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    cr_assert(c->f != NULL, "open_memstream failed");
    diag_init(&c->d, c->f, "netrun");
}

static inline const char *cap_text(Cap *c)
{
    fflush(c->f);
    return c->buf ? c->buf : "";
}

static inline void cap_fini(Cap *c)
{
    if (c->f)
        fclose(c->f);
    free(c->buf);
    c->f = NULL;
    c->buf = NULL;
}

/* Asserts exactly one error was reported, as "netrun: error: ..." on one line, and that it
 * contains every string of subs (NULL-terminated). NETC_SHOW_MESSAGES=1 prints them all. */
static inline void expect_error_(Cap *c, const char *const *subs, int line)
{
    const char *t = cap_text(c);
    if (getenv("NETC_SHOW_MESSAGES")) /* to review every message: NETC_SHOW_MESSAGES=1 */
        fprintf(stderr, "%s", t);
    cr_assert_eq(c->d.errors, 1, "line %d: expected exactly one error, got %d:\n%s", line,
                 c->d.errors, t);
    cr_assert(strncmp(t, "netrun: error: ", 15) == 0, "line %d: unexpected format:\n%s", line, t);
    const char *nl = strchr(t, '\n');
    cr_assert(nl && nl[1] == '\0', "line %d: expected a single line:\n%s", line, t);
    for (; *subs; subs++)
        cr_assert(strstr(t, *subs) != NULL, "line %d: message lacks '%s':\n%s", line, *subs, t);
}
#define expect_error(c, ...) expect_error_((c), (const char *const[]){__VA_ARGS__, NULL}, __LINE__)

/* The same for an error followed by notes into the net file: its first line holds every
 * string of subs, and a later line holds `note`. */
static inline void expect_error_noted_(Cap *c, const char *note, const char *const *subs, int line)
{
    const char *t = cap_text(c);
    cr_assert_eq(c->d.errors, 1, "line %d: expected exactly one error, got %d:\n%s", line,
                 c->d.errors, t);
    cr_assert(strncmp(t, "netrun: error: ", 15) == 0, "line %d: unexpected format:\n%s", line, t);
    const char *nl = strchr(t, '\n');
    cr_assert(nl && strstr(nl, note) != NULL, "line %d: no '%s' after the error:\n%s", line, note,
              t);
    for (; *subs; subs++) {
        const char *at = strstr(t, *subs);
        cr_assert(at != NULL && at < nl, "line %d: the error lacks '%s':\n%s", line, *subs, t);
    }
}
#define expect_error_noted(c, note, ...)                                                           \
    expect_error_noted_((c), (note), (const char *const[]){__VA_ARGS__, NULL}, __LINE__)

static inline void expect_no_error(Cap *c)
{
    cr_assert_eq(c->d.errors, 0, "unexpected error:\n%s", cap_text(c));
}

/* ---- scratch directory ---- */

static inline char *tmpdir_new(void)
{
    const char *base = getenv("TMPDIR");
    char buf[512];
    snprintf(buf, sizeof buf, "%s/netc-io-XXXXXX", base && *base ? base : "/tmp");
    char *t = strdup(buf);
    cr_assert(t && mkdtemp(t), "mkdtemp failed");
    return t;
}

static inline void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *dir = opendir(path);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            char *sub = malloc(n);
            snprintf(sub, n, "%s/%s", path, e->d_name);
            rm_rf(sub);
            free(sub);
        }
        if (dir)
            closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static inline void tmpdir_free(char *dir)
{
    if (dir)
        rm_rf(dir);
    free(dir);
}

/* Number of entries in a directory, . and .. excluded. */
static inline int dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    if (dir)
        closedir(dir);
    return n;
}

/* ---- files ---- */

static inline void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static inline void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    cr_assert(g, "cannot create %s", path);
    if (len)
        cr_assert_eq(gzwrite(g, data, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(g), Z_OK);
}

/* Reads a whole file; the caller frees. */
static inline unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    size_t cap = 4096, n = 0;
    unsigned char *p = malloc(cap);
    size_t r;
    while ((r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    *len = n;
    return p;
}

/* Reads a whole gzip (or raw) file; the caller frees. */
static inline unsigned char *read_gz(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    cr_assert(g, "cannot open %s", path);
    size_t cap = 1 << 20, n = 0;
    unsigned char *p = malloc(cap);
    int r;
    while ((r = gzread(g, p + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)r;
        if (n == cap)
            p = realloc(p, cap *= 2);
    }
    cr_assert_geq(r, 0, "gzread failed on %s", path);
    gzclose(g);
    *len = n;
    return p;
}

static inline void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

#endif
