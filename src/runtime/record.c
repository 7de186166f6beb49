/* record.c: a training run's folder (see record.h). */
#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fileio.h"

char *record_path(const Record *r, const char *file)
{
    size_t n = strlen(r->dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", r->dir, file);
    return p;
}

bool record_is_run(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *p = malloc(n);
    if (!p)
        return false;
    snprintf(p, n, "%s/run.json", dir);
    struct stat st;
    bool yes = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return yes;
}

/* mkdir that reports; an existing directory is fine when may_exist (and, for a named
 * folder, empty). */
static bool make_dir(const char *dir, bool may_exist, bool must_be_empty, bool *made, Diag *d)
{
    char eb[128];
    if (mkdir(dir, 0777) == 0) {
        *made = true;
        return true;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && may_exist && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!must_be_empty)
            return true;
        DIR *dp = opendir(dir);
        struct dirent *de;
        int entries = 0;
        while (dp && (de = readdir(dp)))
            entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        if (dp)
            closedir(dp);
        if (dp && entries == 0)
            return true;
        diag_error(d, (SrcLoc){0},
                   "%s: the run folder is not empty; name a new one, or leave out --record to "
                   "get runs/NAME-N",
                   dir);
        return false;
    }
    diag_error(d, (SrcLoc){0}, "%s: cannot create the run folder: %s", dir,
               e == EEXIST   ? "something that is not a folder is there"
               : e == ENOENT ? "the folder it goes in does not exist (--record makes the run "
                               "folder, not its parents)"
                             : io_errstr(e, eb, sizeof eb));
    return false;
}

static bool open_metrics(Record *r, Diag *d)
{
    char *p = record_path(r, "metrics.jsonl");
    r->metrics = p ? io_open_own(p, true, false, d) : NULL;
    if (!p)
        diag_error(d, (SrcLoc){0}, "out of memory");
    free(p);
    return r->metrics != NULL;
}

/* The largest N of parent's entries named "name-N" (0 when none). */
static long last_number(const char *parent, const char *name)
{
    DIR *dp = opendir(parent);
    if (!dp)
        return 0;
    size_t nl = strlen(name);
    long last = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *s = de->d_name;
        if (strncmp(s, name, nl) != 0 || s[nl] != '-' || !s[nl + 1] ||
            strspn(s + nl + 1, "0123456789") != strlen(s + nl + 1) || strlen(s + nl + 1) > 9)
            continue;
        long v = strtol(s + nl + 1, NULL, 10);
        if (v > last)
            last = v;
    }
    closedir(dp);
    return last;
}

bool record_create(Record *r, const char *dir, const char *parent, const char *name, Diag *d)
{
    memset(r, 0, sizeof *r);
    bool made = false, parent_made = false; /* runs/ stays: other runs go there */
    if (dir) {
        if (!make_dir(dir, true, true, &made, d))
            return false;
        r->dir = strdup(dir);
    } else {
        if (!make_dir(parent, true, false, &parent_made, d))
            return false;
        (void)parent_made;
        size_t n = strlen(parent) + strlen(name) + 16;
        char *p = malloc(n);
        /* another run may take the number between the look and the mkdir: take the next */
        for (long k = last_number(parent, name) + 1; p; k++) {
            snprintf(p, n, "%s/%s-%ld", parent, name, k);
            if (mkdir(p, 0777) == 0) {
                made = true;
                break;
            }
            if (errno != EEXIST || k > last_number(parent, name) + 1000) {
                char eb[128];
                diag_error(d, (SrcLoc){0}, "%s: cannot create the run folder: %s", p,
                           io_errstr(errno, eb, sizeof eb));
                free(p);
                return false;
            }
        }
        r->dir = p;
    }
    if (!r->dir) {
        diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    r->made = made;
    r->fresh = true;
    io_own_dir(r->dir);
    if (!open_metrics(r, d)) {
        record_close(r);
        return false;
    }
    return true;
}

void record_discard(Record *r)
{
    if (r->metrics)
        fclose(r->metrics);
    r->metrics = NULL;
    static const char *const files[] = {"metrics.jsonl", "net.net", "run.json"};
    for (size_t i = 0; r->dir && r->fresh && i < sizeof files / sizeof *files; i++) {
        size_t n = strlen(r->dir) + strlen(files[i]) + 2;
        char *p = malloc(n);
        if (p) {
            snprintf(p, n, "%s/%s", r->dir, files[i]);
            unlink(p);
        }
        free(p);
    }
    if (r->dir && r->fresh && r->made)
        rmdir(r->dir); /* fails, harmlessly, when something else is there */
    record_close(r);
}

json_object *record_parse_line(const char *line, size_t len)
{
    json_tokener *tok = len < RECORD_LINE_MAX && json_not_dense(line, len)
                            ? json_tokener_new()
                            : NULL; /* a line is < 1 KB */
    json_object *o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL;
    bool whole = tok && json_tokener_get_error(tok) == json_tokener_success &&
                 json_object_is_type(o, json_type_object);
    for (size_t k = whole ? json_tokener_get_parse_end(tok) : len; k < len; k++)
        whole = whole && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' || line[k] == '\n');
    if (tok)
        json_tokener_free(tok);
    if (!whole) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* The "step" of a metrics line, or -1 when the line is not a JSON object with one; *end:
 * whether it is an "end" line; *wall: its "wall" seconds, when it has them (else left). */
static int64_t line_step(const char *line, size_t len, bool *end, double *wall)
{
    json_object *o = record_parse_line(line, len), *s, *t, *w;
    int64_t step = -1;
    if (o && json_object_object_get_ex(o, "step", &s) && json_object_is_type(s, json_type_int))
        step = json_object_get_int64(s);
    if (o && json_object_object_get_ex(o, "wall", &w) &&
        (json_object_is_type(w, json_type_double) || json_object_is_type(w, json_type_int)) &&
        isfinite(json_object_get_double(w)) && json_object_get_double(w) >= 0)
        *wall = json_object_get_double(w);
    *end = o && json_object_object_get_ex(o, "type", &t) &&
           json_object_is_type(t, json_type_string) &&
           strcmp(json_object_get_string(t), "end") == 0;
    json_object_put(o);
    return step;
}

bool record_reopen(Record *r, const char *dir, int64_t step, Diag *d)
{
    memset(r, 0, sizeof *r);
    r->dir = strdup(dir);
    if (!r->dir) {
        diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    io_own_dir(r->dir);
    char *p = record_path(r, "metrics.jsonl");
    FILE *in = p ? io_open_own(p, false, true, d) : NULL;
    free(p);
    if (!in && errno != ENOENT) {
        record_close(r);
        return false;
    }
    if (in) { /* keep the lines up to the checkpoint's step, but a run's end there: the run
                 goes on (a --steps N run resumed for more steps) */
        StrBuf keep;
        sb_init(&keep);
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        bool cut;
        int unreadable = 0; /* whole lines without a step (a cut last line is the crash's) */
        while ((n = io_getline_max(&line, &cap, in, RECORD_LINE_MAX, &cut)) > 0) {
            bool whole = line[n - 1] == '\n' || cut;
            bool end = false;
            double wall = -1;
            int64_t s = cut ? -1 : line_step(line, (size_t)n, &end, &wall);
            if (s >= 0 && (s < step || (s == step && !end)) && whole) {
                sb_puts(&keep, line);
                r->wall0 = wall > r->wall0 ? wall : r->wall0; /* the time goes on from there */
            }
            unreadable += s < 0 && whole;
        }
        free(line);
        fclose(in);
        if (unreadable)
            diag_warning(d, (SrcLoc){0},
                         "%s/metrics.jsonl: %d line%s without a step left out of the resumed "
                         "record",
                         dir, unreadable, unreadable == 1 ? "" : "s");
        bool ok = record_write(r, "metrics.jsonl", keep.data ? keep.data : "", keep.len, d);
        sb_free(&keep);
        if (!ok) {
            record_close(r);
            return false;
        }
    }
    if (!open_metrics(r, d)) {
        record_close(r);
        return false;
    }
    return true;
}

bool record_file_ok(const char *path, Diag *d)
{
    static const char *const files[] = {"metrics.jsonl",    "run.json",
                                        "net.net",          "weights.safetensors",
                                        "best.safetensors", "checkpoint.safetensors"};
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    bool named = false;
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++)
        named = named || !strcmp(base, files[k]);
    if (!named || io_read_as(path)) /* one this command reads: the save says so */
        return true;
    char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    bool run = dir && record_is_run(dir);
    if (run)
        diag_error(d, (SrcLoc){0},
                   "%s: is the %s of the run folder %s, part of its record; writing there would "
                   "lose it: name another file",
                   path, base, dir);
    free(dir);
    return !run;
}

bool record_write(const Record *r, const char *file, const char *text, size_t len, Diag *d)
{
    char *p = record_path(r, file);
    bool ok = p && save_text(p, text, len, d);
    if (!p)
        diag_error(d, (SrcLoc){0}, "out of memory");
    free(p);
    return ok;
}

static void put_line(Record *r, json_object *o)
{
    if (r->metrics) {
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE),
              r->metrics);
        fputc('\n', r->metrics);
        fflush(r->metrics);
    }
    json_object_put(o);
}

static json_object *line_start(const char *type, int epoch, int64_t step)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type));
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_object_add(o, "time", json_object_new_string(when));
    json_object_object_add(o, "epoch", json_object_new_int(epoch));
    json_object_object_add(o, "step", json_object_new_int64(step));
    return o;
}

void record_line(Record *r, const char *type, int epoch, int64_t step, const char *name, ...)
{
    if (!r || !r->metrics)
        return;
    json_object *o = line_start(type, epoch, step);
    va_list ap;
    va_start(ap, name);
    for (; name; name = va_arg(ap, const char *)) {
        double v = va_arg(ap, double);
        char num[32];              /* 9 significant digits: a float's, and short lines */
        if (!strcmp(name, "wall")) /* a resumed run's time goes on from its kept lines' */
            v += r->wall0;
        snprintf(num, sizeof num, "%.9g", v);
        if (*name) /* JSON has no inf or nan: null (a diverged loss) */
            json_object_object_add(o, name, isfinite(v) ? json_object_new_double_s(v, num) : NULL);
    }
    va_end(ap);
    put_line(r, o);
}

void record_resume(Record *r, int64_t step, int argc, char **argv)
{
    if (!r || !r->metrics)
        return;
    json_object *o = line_start("resume", 0, step), *cmd = json_object_new_array();
    for (int i = 0; i < argc; i++)
        json_object_array_add(cmd, json_object_new_string(argv[i]));
    json_object_object_del(o, "epoch");
    json_object_object_add(o, "command", cmd);
    put_line(r, o);
}

void record_close(Record *r)
{
    if (r->metrics)
        fclose(r->metrics);
    free(r->dir);
    memset(r, 0, sizeof *r);
}
