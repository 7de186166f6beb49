/* sweep.c: netrun NET --train --sweep NAME=V1,V2 [--sweep ...]: a grid of training runs, one
 * after another, each recorded in its own run folder, and a table of their results.
 *
 * Design choice: each point of the grid is a child netrun (the same executable) with the
 * point's values as `-D NAME=V` (a parameter of the net) or as the train setting's flag
 * (`--lr V`), and `--record SWEEP/LABEL`; the parent reads each child's metrics.jsonl. A
 * process per run keeps runs as independent as separate commands would be (nothing of one
 * run's model, threads or RNG reaches the next), and Ctrl-C needs nothing new: the child is
 * in a process group of its own, the parent forwards the signal to it, the child stops after
 * its step and saves as any run does, and the parent stops the grid with the finished runs
 * and their table kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "frontend.h"
#include "record.h"
#include "sweep.h"

typedef struct Axis {
    char *name;
    char *list; /* the values' text, cut at the commas */
    char **values;
    int n;
    bool param; /* a parameter of the net (-D), else a train setting's flag */
    char *flag;
    bool text; /* a flag that takes a path or a name: 1 and 01 are two values */
} Axis;

static void axes_free(Axis *ax, int n)
{
    for (int a = 0; a < n; a++) {
        free(ax[a].name);
        free(ax[a].list);
        free(ax[a].values);
        free(ax[a].flag);
    }
}

typedef struct Result {
    char *label, *dir;
    int status; /* the child's: 0 done, 128 + SIGINT or SIGTERM interrupted, else failed */
    bool have;  /* metrics read */
    double loss, test_acc, best_acc, seconds, img_per_s;
    int64_t params, macs;
} Result;

static volatile sig_atomic_t stop_sweep;
static volatile pid_t child_pid;

static void on_signal(int sig)
{
    stop_sweep = sig;
    if (child_pid > 0)
        kill(child_pid, sig); /* the child stops after its step and saves */
}

/* The last epoch (or end) line's numbers, and the best accuracy of the epoch lines (val's,
 * or test's without val; none: the table shows the last test accuracy). */
static bool read_results(Result *r)
{
    char *file = NULL;
    if (asprintf(&file, "%s/metrics.jsonl", r->dir) < 0)
        return false;
    Diag quiet;
    diag_init_quiet(&quiet, "netrun");
    FILE *f = io_open_own(file, false, true, &quiet);
    free(file);
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool cut;
    r->best_acc = -1;
    while ((n = io_getline_max(&line, &cap, f, RECORD_LINE_MAX, &cut)) > 0) {
        json_object *o = cut ? NULL : record_parse_line(line, (size_t)n), *v;
        if (!o)
            continue;
        bool end = false; /* an end line has no validation: it gives no best accuracy */
        if (json_object_object_get_ex(o, "type", &v) && json_object_is_type(v, json_type_string) &&
            (!strcmp(json_object_get_string(v), "epoch") ||
             (end = !strcmp(json_object_get_string(v), "end")))) {
            r->have = true;
#define GET(key, field)                                                                            \
    if (json_object_object_get_ex(o, key, &v))                                                     \
        r->field = v ? json_object_get_double(v) : NAN; /* null: not finite */
            GET("loss", loss)
            GET("test_acc", test_acc)
            GET("img_per_s", img_per_s)
            GET("wall", seconds)
#undef GET
            double acc;
            if (!end &&
                (json_object_object_get_ex(o, "val_acc", &v) ||
                 json_object_object_get_ex(o, "test_acc", &v)) &&
                v && (acc = json_object_get_double(v)) > r->best_acc)
                r->best_acc = acc;
        }
        json_object_put(o);
    }
    free(line);
    fclose(f);
    return r->have;
}

/* s[0, n) as one table cell: CSV (RFC 4180: quoted when it holds a comma, a quote or a
 * line break, its quotes doubled) or Markdown ('|' escaped, line breaks as spaces, '<' and
 * '&' as entities, so that a value stays one cell of text). */
static void cell(StrBuf *sb, const char *s, size_t n, bool md)
{
    bool quote = !md && strcspn(s, ",\"\r\n") < n;
    if (quote)
        sb_putc(sb, '"');
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (md)
            sb_puts(sb, c == '|'                 ? "\\|"
                        : c == '\n' || c == '\r' ? " "
                        : c == '<'               ? "&lt;"
                        : c == '&'               ? "&amp;"
                                                 : (char[]){c, 0});
        else
            sb_puts(sb, c == '"' ? "\"\"" : (char[]){c, 0});
    }
    if (quote)
        sb_putc(sb, '"');
}

/* Which value of axis a point k takes: the last axis varies fastest. */
static int pick_of(int k, int a, const Axis *ax, int nax)
{
    for (int b = nax - 1; b > a; b--)
        k /= ax[b].n;
    return k % ax[a].n;
}

/* The table: markdown (md) or CSV. */
static void table(StrBuf *sb, const Axis *ax, int nax, const Result *res, int nres, bool md)
{
    const char *sep = md ? " | " : ",";
    static const char *const cols[] = {"params",     "MACs",     "test acc", "best acc",
                                       "train loss", "time (s)", "img/s",    "run"};
    sb_puts(sb, md ? "| " : "");
    for (int a = 0; a < nax; a++)
        sb_printf(sb, "%s%s", ax[a].name, sep);
    for (int c = 0; c < 8; c++)
        sb_printf(sb, "%s%s", cols[c], c < 7 ? sep : md ? " |\n" : "\n");
    if (md) {
        for (int c = 0; c < nax + 8; c++)
            sb_puts(sb, c ? "---|" : "|---|");
        sb_putc(sb, '\n');
    }
    for (int i = 0; i < nres; i++) {
        const Result *r = &res[i];
        sb_puts(sb, md ? "| " : "");
        for (int a = 0; a < nax; a++) { /* the values as given */
            const char *v = ax[a].values[pick_of(i, a, ax, nax)];
            cell(sb, v, strlen(v), md);
            sb_puts(sb, sep);
        }
        sb_printf(sb, "%lld%s%lld%s", (long long)r->params, sep, (long long)r->macs, sep);
        if (r->have)
            sb_printf(sb, "%.4f%s%.4f%s%.4f%s%.2f%s%.0f%s", r->test_acc, sep,
                      r->best_acc < 0 ? r->test_acc : r->best_acc, sep, r->loss, sep, r->seconds,
                      sep, r->img_per_s, sep);
        else
            for (int c = 0; c < 5; c++)
                sb_printf(sb, "%s%s", md ? "-" : "", sep);
        const char *what = r->status == 0 ? ""
                           : r->status == 128 + SIGINT || r->status == 128 + SIGTERM
                               ? " (interrupted)"
                               : " (failed)";
        StrBuf run;
        sb_init(&run);
        sb_printf(&run, "%s%s", r->dir, what);
        cell(sb, run.data, run.len, md);
        sb_puts(sb, md ? " |\n" : "\n");
        sb_free(&run);
    }
}

/* The command line's own -D values, which every point's net takes too (checked by netrun
 * before the sweep starts). */
static const char *const *user_defines;
static int user_ndefines;

void sweep_defines(const char *const *defines, int ndefines)
{
    user_defines = defines;
    user_ndefines = ndefines;
}

/* defs[0, user_ndefines) = the command line's -D values; returns that count. */
static int with_user_defines(const char **defs)
{
    for (int i = 0; i < user_ndefines; i++)
        defs[i] = user_defines[i];
    return user_ndefines;
}

/* Whether -D NAME=VALUE reads as a parameter of the net's type: false with *undeclared set
 * when the net declares no NAME. The messages go to d only when out is true; an error of the
 * net itself at this value (width 0) is not the value's: that point fails when it runs. */
static bool define_reads(const char *net, const char *name, const char *value, bool *undeclared,
                         bool out, Diag *d)
{
    char *def = NULL;
    if (asprintf(&def, "%s=%s", name, value) < 0)
        return false;
    const char *defs[NETC_MAX_DEFINES + 1];
    int nd = with_user_defines(defs);
    defs[nd++] = def;
    bool bad = false;
    FrontendOptions fo = {
        .defines = defs, .ndefines = nd, .bad_define = &bad, .undeclared = undeclared};
    Diag quiet;
    diag_init_quiet(&quiet, "netrun");
    Arena *arena = arena_new();
    frontend_load_opts(arena, net, &fo, out ? d : &quiet);
    arena_free(arena);
    free(def);
    return !bad;
}

/* The text of spec's ("NAME=V1,V2") value i, the values cut at the commas outside brackets
 * and parentheses, in arena memory; NULL past its last value. */
static const char *nth_value(Arena *arena, const char *spec, int i)
{
    const char *v = strchr(spec, '=');
    if (!v || v == spec)
        return NULL;
    for (v++; *v; i--) {
        int depth = 0;
        const char *end = v;
        for (; *end && (*end != ',' || depth > 0); end++)
            depth += (*end == '[' || *end == '(') - (*end == ']' || *end == ')');
        if (i == 0)
            return end > v ? arena_printf(arena, "%.*s", (int)(end - v), v) : NULL;
        v = *end ? end + 1 : end;
    }
    return NULL;
}

/* Points of the grid sweep_load tries, in the grid's order, when the net does not build at
 * the command line's values. */
#define SWEEP_LOAD_TRIES 64

Graph *sweep_load(Arena *arena, const char *net, const char *const *specs, int nspecs,
                  bool *bad_define, Diag *d)
{
    const char *defs[NETC_MAX_DEFINES + SWEEP_MAX];
    int nd = with_user_defines(defs);
    Diag quiet;
    diag_init_quiet(&quiet, "netrun");
    FrontendOptions fo = {.defines = defs, .ndefines = nd, .bad_define = bad_define};
    Graph *g = frontend_load_opts(arena, net, &fo, &quiet);
    if (*bad_define) { /* a -D the net does not read: its message */
        frontend_load_opts(arena, net, &fo, d);
        return NULL;
    }
    if (g && !quiet.errors)
        return g;
    /* the grid's points, in order: its axes that the net declares as parameters, each at
     * its values (the last varying fastest), until one builds */
    const char *name[SWEEP_MAX];
    int count[SWEEP_MAX], np = 0;
    for (int a = 0; a < nspecs && a < SWEEP_MAX; a++) {
        const char *v = nth_value(arena, specs[a], 0), *eq = strchr(specs[a], '=');
        bool undeclared = false;
        if (!v || user_ndefines >= NETC_MAX_DEFINES - np)
            continue;
        name[np] = arena_printf(arena, "%.*s", (int)(eq - specs[a]), specs[a]);
        if (!define_reads(net, name[np], v, &undeclared, false, d) || undeclared)
            continue;
        count[np] = 0;
        while (count[np] < 10000 && nth_value(arena, specs[a], count[np]))
            count[np]++;
        name[np] = arena_printf(arena, "%s\n%s", name[np], specs[a]); /* name, then spec */
        np++;
    }
    for (int k = 0; np > 0 && k < SWEEP_LOAD_TRIES; k++) {
        int rest = k, n = user_ndefines;
        for (int j = np - 1; j >= 0; j--) {
            const char *nl = strchr(name[j], '\n');
            defs[n++] = arena_printf(arena, "%.*s=%s", (int)(nl - name[j]), name[j],
                                     nth_value(arena, nl + 1, rest % count[j]));
            rest /= count[j];
        }
        if (rest > 0) /* past the grid's last point */
            break;
        Diag q;
        diag_init_quiet(&q, "netrun");
        bool bad = false;
        FrontendOptions at = {.defines = defs, .ndefines = n, .bad_define = &bad};
        Graph *gk = frontend_load_opts(arena, net, &at, &q);
        if (gk && !q.errors && !bad)
            return gk;
    }
    frontend_load_opts(arena, net, &fo, d); /* no point builds: the command line's messages */
    return NULL;
}

/* Whether ax names a parameter of the net (-D) or a train setting's flag, and every value
 * reads as it: a value that does not is an error before the first run, with the message
 * `-D NAME=VALUE` or `--flag VALUE` would give and a note naming the sweep. */
static bool classify(Axis *ax, const char *net, const char *const *specs, int nspecs, Diag *d)
{
    bool undeclared = false;
    define_reads(net, ax->name, ax->values[0], &undeclared, false, d);
    if (!undeclared) { /* a parameter: each value as -D would read it */
        ax->param = true;
        for (int i = 0; i < ax->n; i++)
            if (!define_reads(net, ax->name, ax->values[i], &undeclared, false, d)) {
                define_reads(net, ax->name, ax->values[i], &undeclared, true, d);
                diag_note(d, (SrcLoc){0}, "in --sweep %s: its value %d, '%s'", ax->name, i + 1,
                          ax->values[i]);
                return false;
            }
        return true;
    }
    SettingFlag flags[SETTING_MAX_FLAGS];
    int nf = ir_setting_flags(flags);
    char want[64];
    snprintf(want, sizeof want, "--%s", ax->name);
    for (char *c = want; *c; c++)
        *c = *c == '_' ? '-' : *c;
    const SettingFlag *f = NULL;
    for (int i = 0; i < nf && !f; i++)
        if (!strcmp(flags[i].name, want))
            f = &flags[i];
    if (!f) {
        diag_error(d, (SrcLoc){0},
                   "--sweep %s: %s declares no parameter '%s', and no train setting has a flag "
                   "%s",
                   ax->name, net, ax->name, want);
        return false;
    }
    if (f->value && f->value->spec.type == ATTR_BOOL) {
        diag_error(d, (SrcLoc){0},
                   "--sweep %s: %s is a switch (%s, --no-%s), not a flag with a value; sweep a "
                   "bool parameter of the net instead (params { %s true })",
                   ax->name, want, want, want + 2, ax->name);
        return false;
    }
    /* each value applied to the file's train section, as netrun applies the flag (with the
     * command line's other flags a point may still fail as a whole: then it runs and fails) */
    Arena *arena = arena_new();
    bool bad_define = false;
    Graph *g = sweep_load(arena, net, specs, nspecs, &bad_define, d);
    bool ok = g != NULL;
    for (int i = 0; ok && i < ax->n; i++) {
        TrainConfig t = g->train;
        ok = train_flag(&t, f, ax->values[i], arena, d);
        if (!ok)
            diag_note(d, (SrcLoc){0}, "in --sweep %s: its value %d, '%s'", ax->name, i + 1,
                      ax->values[i]);
    }
    arena_free(arena);
    if (ok)
        ax->flag = strdup(want);
    ax->text = !f->value || f->value->spec.type == ATTR_STRING || f->value->spec.type == ATTR_ENUM;
    return ok;
}

/* The sweep's folder: runs/NAME-sweep-N, the next N. */
static char *sweep_dir(const char *name, Diag *d)
{
    if (mkdir("runs", 0777) != 0 && errno != EEXIST) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "runs: cannot create: %s", io_errstr(errno, eb, sizeof eb));
        return NULL;
    }
    for (int n = 1; n < 100000; n++) {
        char *dir = NULL;
        if (asprintf(&dir, "runs/%s-sweep-%d", name, n) < 0)
            return NULL;
        if (mkdir(dir, 0777) == 0)
            return dir;
        int e = errno;
        free(dir);
        if (e != EEXIST) {
            char eb[128];
            diag_error(d, (SrcLoc){0}, "runs/%s-sweep-%d: cannot create: %s", name, n,
                       io_errstr(e, eb, sizeof eb));
            return NULL;
        }
    }
    return NULL;
}

static const char dash_d[] = "-D"; /* the child's -D words, told from the user's by address */

/* Whether word w is option opt ("--sweep") as getopt_long takes it: the name or a prefix of
 * it of at least min characters (getopt refuses an ambiguous one before we get here), and
 * *joined whether its value is in the word (--sweep=...). */
static bool option_word(const char *w, const char *opt, size_t min, bool *joined)
{
    size_t len = strcspn(w, "=");
    *joined = w[len] == '=';
    return len >= min && len <= strlen(opt) && !strncmp(w, opt, len);
}

/* Whether x and y are one string when characters p and q count as one ('/' and '_' in a
 * folder name; '_' and '-' in a flag's). */
static bool same_but(const char *x, const char *y, char p, char q)
{
    while (*x && (*x == *y || (*x == p && *y == q) || (*x == q && *y == p)))
        x++, y++;
    return !*x && !*y;
}

/* Whether two values of an axis are one run: the same number written otherwise (4 and 04,
 * 0.5 and .50; not 4 and 4.0, an int and a float). */
static bool same_number(const char *x, const char *y)
{
    AstValue a = {0}, b = {0};
    return ast_parse_number(&a, x) && ast_parse_number(&b, y) && a.kind == b.kind && !a.overflow &&
           !b.overflow && (a.kind == VAL_INT ? a.i == b.i : a.f == b.f);
}

/* The child's words: the program, the point's values and its folder, then argv without
 * --sweep (before the user's words: after a `--` they would be file names). */
static char **child_argv(int argc, char **argv, const Axis *ax, int nax, const int *pick,
                         const char *dir)
{
    char **out = calloc((size_t)argc + 2 * (size_t)nax + 4, sizeof *out);
    int n = 0;
    if (out)
        out[n++] = argv[0];
    for (int a = 0; out && a < nax; a++) {
        if (ax[a].param) {
            out[n++] = (char *)dash_d;
            if (asprintf(&out[n++], "%s=%s", ax[a].name, ax[a].values[pick[a]]) < 0)
                return NULL;
        } else {
            out[n++] = (char *)ax[a].flag;
            out[n++] = ax[a].values[pick[a]];
        }
    }
    if (out) {
        out[n++] = "--record";
        out[n++] = (char *)dir;
    }
    bool joined, options = true;
    for (int i = 1; out && i < argc; i++) {
        if (options && option_word(argv[i], "--sweep", 4, &joined)) { /* --sw on */
            i += !joined;
            continue;
        }
        options = options && strcmp(argv[i], "--") != 0;
        out[n++] = argv[i];
    }
    return out;
}

static bool save_tables(const char *dir, const Axis *ax, int nax, const Result *res, int n, Diag *d)
{
    bool ok = true;
    for (int md = 0; md < 2; md++) {
        StrBuf sb;
        sb_init(&sb);
        table(&sb, ax, nax, res, n, md);
        char *file = NULL;
        if (asprintf(&file, "%s/results.%s", dir, md ? "md" : "csv") >= 0)
            ok &= save_text(file, sb.data, sb.len, d);
        free(file);
        sb_free(&sb);
    }
    return ok;
}

int sweep_run(int argc, char **argv, const char *net, const char *net_name,
              const char *const *specs, int nspecs, const char *const *defines, int ndefines,
              bool quiet)
{
    user_defines = defines;
    user_ndefines = ndefines;
    Diag d;
    diag_init(&d, stderr, "netrun");
    const char *name = strdup(net_name); /* it names the sweep */
    if (!name)
        return EXIT_BAD_INPUT;
    Axis ax[SWEEP_MAX] = {{0}};
    int total = 1, status = EXIT_OK;
    for (int a = 0; a < nspecs && status == EXIT_OK; a++) {
        const char *eq = strchr(specs[a], '=');
        if (!eq || eq == specs[a] || !eq[1]) {
            fprintf(stderr, "netrun: error: --sweep %s: write --sweep NAME=V1,V2,...\n", specs[a]);
            status = EXIT_USAGE;
            break;
        }
        ax[a].name = strndup(specs[a], (size_t)(eq - specs[a]));
        ax[a].list = strdup(eq + 1);
        for (char *v = ax[a].list, *next; v; v = next) {
            /* the next comma outside brackets and parentheses: a list value (k=[1,3],[3,3]
             * or k=(1,3),(3,3), as -D takes them) is one value */
            int depth = 0;
            for (next = v; *next && (*next != ',' || depth > 0); next++)
                depth += (*next == '[' || *next == '(') - (*next == ']' || *next == ')');
            if (*next)
                *next++ = '\0';
            else
                next = NULL;
            if (!*v) {
                fprintf(stderr,
                        "netrun: error: --sweep %s: an empty value (two commas, or one at "
                        "an end)\n",
                        specs[a]);
                status = EXIT_USAGE;
                break;
            }
            char **nv = realloc(ax[a].values, sizeof(char *) * (size_t)(ax[a].n + 1));
            if (!nv)
                break;
            ax[a].values = nv;
            ax[a].values[ax[a].n++] = v;
        }
        if (status != EXIT_OK)
            break;
        if (ax[a].n == 0 || total > 10000 / ax[a].n) {
            char cb[IO_CLIP_BUF]; /* 10,000 values need not be said again */
            fprintf(stderr, "netrun: error: --sweep %s: %s\n", io_clip(cb, specs[a]),
                    ax[a].n ? "more than 10,000 runs" : "no values");
            status = EXIT_USAGE;
            break;
        }
        total *= ax[a].n;
        /* a value twice is the same run twice, and the same folder ('/' becomes '_') */
        for (int i = 0; i < ax[a].n && status == EXIT_OK; i++)
            for (int j = 0; j < i && status == EXIT_OK; j++) {
                const char *vi = ax[a].values[i], *vj = ax[a].values[j];
                if (same_but(vi, vj, '/', '_')) {
                    fprintf(stderr, "netrun: error: --sweep %s: '%s' is given twice%s\n", specs[a],
                            vi, strcmp(vi, vj) ? " (as a folder name)" : "");
                    status = EXIT_USAGE;
                }
            }
        for (int b = 0; b < a && status == EXIT_OK; b++) /* label_smoothing, label-smoothing */
            if (same_but(ax[a].name, ax[b].name, '_', '-')) {
                fprintf(stderr, "netrun: error: --sweep %s is given twice%s\n", ax[a].name,
                        strcmp(ax[a].name, ax[b].name) ? " (as a flag)" : "");
                status = EXIT_USAGE;
            }
        for (int i = 1; i < argc && status == EXIT_OK; i++) { /* -D NAME= would win */
            const char *def = !strcmp(argv[i], "-D") && i + 1 < argc ? argv[i + 1]
                              : !strncmp(argv[i], "-D", 2)           ? argv[i] + 2
                                                                     : NULL;
            size_t n = strlen(ax[a].name);
            if (def && !strncmp(def, ax[a].name, n) && def[n] == '=') {
                fprintf(stderr, "netrun: error: --sweep %s and -D %s: give the values once\n",
                        ax[a].name, def);
                status = EXIT_USAGE;
            }
        }
        if (status == EXIT_OK && !classify(&ax[a], net, specs, nspecs, &d))
            status = EXIT_USAGE;
        /* a number twice, written otherwise (4 and 04): the same run (a path or a name, 1 and
         * 01, are two) */
        for (int i = 0; i < ax[a].n && status == EXIT_OK && !ax[a].text; i++)
            for (int j = 0; j < i && status == EXIT_OK; j++)
                if (same_number(ax[a].values[i], ax[a].values[j])) {
                    fprintf(stderr, "netrun: error: --sweep %s: '%s' is given twice (as '%s')\n",
                            specs[a], ax[a].values[i], ax[a].values[j]);
                    status = EXIT_USAGE;
                }
        /* --lr 5, or --bat 10 as getopt_long takes a prefix (it refuses an ambiguous one):
         * one of the values would win silently */
        for (int i = 1; ax[a].flag && i < argc && status == EXIT_OK; i++) {
            bool joined;
            if (!strcmp(argv[i], "--"))
                break;
            if (option_word(argv[i], ax[a].flag, 3, &joined)) {
                fprintf(stderr, "netrun: error: --sweep %s and %s: give the values once\n",
                        ax[a].name, argv[i]);
                status = EXIT_USAGE;
            }
        }
    }
    char *dir = status == EXIT_OK ? sweep_dir(name, &d) : NULL;
    if (!dir) {
        axes_free(ax, nspecs);
        free((char *)name);
        return status == EXIT_OK ? EXIT_BAD_INPUT : status;
    }
    Result *res = calloc((size_t)total, sizeof *res);
    int pick[SWEEP_MAX] = {0}, done = 0;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (!quiet)
        printf("sweep of %d runs into %s/\n", total, dir);
    const char *test_stop = getenv("NETRUN_TEST_SWEEP_SIGNAL"); /* tests: after run K */
    for (int k = 0; k < total && !stop_sweep && res; k++) {
        /* the point: the last name varies fastest */
        for (int a = nspecs - 1, q = k; a >= 0; a--) {
            pick[a] = q % ax[a].n;
            q /= ax[a].n;
        }
        Result *r = &res[k];
        StrBuf lb;
        sb_init(&lb);
        for (int a = 0; a < nspecs; a++)
            sb_printf(&lb, "%s%s=%s", a ? "," : "", ax[a].name, ax[a].values[pick[a]]);
        r->label = lb.data;
        if (asprintf(&r->dir, "%s/%s", dir, lb.data) < 0)
            break;
        for (char *c = r->dir + strlen(dir) + 1; *c; c++)
            *c = *c == '/' ? '_' : *c;
        /* params and MACs of the point's net: the command line's -D values, and the point's */
        const char *defs[NETC_MAX_DEFINES + SWEEP_MAX];
        int nd = with_user_defines(defs), nuser = nd;
        for (int a = 0; a < nspecs; a++)
            if (ax[a].param &&
                asprintf((char **)&defs[nd], "%s=%s", ax[a].name, ax[a].values[pick[a]]) >= 0)
                nd++;
        FrontendOptions fo = {.defines = defs, .ndefines = nd};
        Arena *arena = arena_new();
        Diag quiet_d;
        diag_init_quiet(&quiet_d, "netrun");
        Graph *g = frontend_load_opts(arena, net, &fo, &quiet_d);
        if (g && !quiet_d.errors)
            r->params = g->nparams, r->macs = g->macs;
        arena_free(arena);
        for (int i = nuser; i < nd; i++)
            free((char *)defs[i]);
        if (!quiet) {
            printf("\n== sweep run %d of %d: %s\n", k + 1, total, lb.data);
            fflush(stdout);
        }
        char **cargv = child_argv(argc, argv, ax, nspecs, pick, r->dir);
        pid_t pid = cargv ? fork() : -1;
        if (pid == 0) {
            setpgid(0, 0); /* Ctrl-C reaches the parent alone, which forwards it once */
            execv("/proc/self/exe", cargv);
            execvp(argv[0], cargv);
            _exit(127);
        }
        if (pid < 0) {
            diag_error(&d, (SrcLoc){0}, "cannot start a run: %s", strerror(errno));
            status = EXIT_INTERNAL;
            break;
        }
        child_pid = pid;
        int ws = 0;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        child_pid = 0;
        r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        for (int i = 0; cargv[i]; i++)
            if (cargv[i] == dash_d)
                free(cargv[i + 1]);
        free(cargv);
        read_results(r);
        done = k + 1;
        if (r->status == 128 + SIGINT || r->status == 128 + SIGTERM)
            stop_sweep = stop_sweep ? stop_sweep : r->status - 128;
        save_tables(dir, ax, nspecs, res, done, &d);
        if (test_stop && atoi(test_stop) == k + 1)
            raise(SIGINT);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    StrBuf sb;
    sb_init(&sb);
    table(&sb, ax, nspecs, res, done, true);
    printf("\n%s", sb.data);
    sb_free(&sb);
    int finished = 0;
    for (int k = 0; k < done; k++)
        finished += res[k].status == 0;
    printf("sweep: %d of %d runs finished%s; results in %s/results.md and results.csv\n", finished,
           total, stop_sweep ? " (stopped by a signal: the finished runs are kept)" : "", dir);
    if (stop_sweep) /* the signal's own status, as a run stopped by it exits */
        status = 128 + stop_sweep;
    else if (finished < total && status == EXIT_OK)
        status = EXIT_BAD_INPUT;
    for (int k = 0; res && k < total; k++) {
        free(res[k].label);
        free(res[k].dir);
    }
    free(res);
    free(dir);
    free((char *)name);
    axes_free(ax, nspecs);
    return status;
}
