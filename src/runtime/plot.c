/* plot.c: loss and accuracy curves of runs, and confusion matrices, as SVG (see plot.h). */
#include "plot.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fileio.h"
#include "record.h"

static const char *const palette[10] = {"1f77b4", "d62728", "2ca02c", "ff7f0e", "9467bd",
                                        "8c564b", "e377c2", "17becf", "bcbd22", "7f7f7f"};

const char *plot_color(int i) { return palette[i % 10]; }

/* ---- the runs' numbers ---- */

typedef struct Series {
    double *x, *y;
    int n, cap;
} Series;

enum { TRAIN, VAL, TEST, NPARTS };
typedef struct Run {
    char *label;
    char *longer; /* the label with its parent folder's name: runs/mlp-sweep-1/width=4 is
                     mlp-sweep-1/width=4, for two runs of one label */
    Series loss[NPARTS], acc[NPARTS], steps; /* epoch lines; the step lines' loss */
    double per_epoch; /* steps an epoch, from the first epoch line (its step / its epoch) */
    /* the last end line (a run stopped by --steps inside an epoch): its step, and its train
     * and test loss and accuracy (NAN: absent) */
    double end_step, end_loss[NPARTS], end_acc[NPARTS];
} Run;

static bool add(Series *s, double x, double y)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        double *nx = realloc(s->x, sizeof(double) * (size_t)cap);
        if (nx)
            s->x = nx;
        double *ny = nx ? realloc(s->y, sizeof(double) * (size_t)cap) : NULL;
        if (!ny)
            return false;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return true;
}

static void run_free(Run *r)
{
    Series *all[] = {&r->loss[0], &r->loss[1], &r->loss[2], &r->acc[0],
                     &r->acc[1],  &r->acc[2],  &r->steps};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(all[i]->x);
        free(all[i]->y);
    }
    free(r->label);
    free(r->longer);
    memset(r, 0, sizeof *r); /* ready to be read into again */
}

/* A number field of a metrics line: false when absent; *bad when present but not a finite
 * number. */
static bool num(json_object *o, const char *key, double *v, bool *bad)
{
    json_object *f;
    if (!json_object_object_get_ex(o, key, &f) || !f) /* absent, or null: not a number */
        return false;
    if (!json_object_is_type(f, json_type_double) && !json_object_is_type(f, json_type_int)) {
        *bad = true;
        return false;
    }
    *v = json_object_get_double(f);
    if (!isfinite(*v)) {
        *bad = true;
        return false;
    }
    return true;
}

/* Reads one line into r: an epoch line's values at x = its epoch, a step line's loss at x = its
 * step (read_run makes it epochs). false after a message naming the file and line. */
/* torn: the file's last line, cut short (no newline): a killed run's, skipped when it is not
 * whole, as a resume cuts it */
static bool read_line(Run *r, const char *file, int lineno, const char *line, size_t len, bool torn,
                      Diag *d)
{
    json_object *o = record_parse_line(line, len);
    bool whole = o != NULL;
    if (torn && !whole) {
        json_object_put(o);
        return true;
    }
    json_object *type;
    const char *t = whole && json_object_object_get_ex(o, "type", &type) &&
                            json_object_is_type(type, json_type_string)
                        ? json_object_get_string(type)
                        : NULL;
    bool bad = !t, ok = true;
    double epoch = 0, step = 0, v;
    if (t && strcmp(t, "end") == 0) { /* where a --steps run stopped, and its numbers there */
        static const char *const lk[NPARTS] = {"loss", "val_loss", "test_loss"};
        static const char *const ak[NPARTS] = {"acc", "val_acc", "test_acc"};
        bad = !num(o, "step", &step, &bad) || step < 0 || bad;
        r->end_step = bad ? -1 : step;
        for (int p = 0; p < NPARTS; p++) {
            r->end_loss[p] = !bad && num(o, lk[p], &v, &bad) ? v : NAN;
            r->end_acc[p] = !bad && num(o, ak[p], &v, &bad) ? v : NAN;
        }
    } else if (t && (strcmp(t, "epoch") == 0 || strcmp(t, "step") == 0)) {
        bad = !num(o, "epoch", &epoch, &bad) || !num(o, "step", &step, &bad) || epoch < 1 ||
              step < 0 || bad;
        static const char *const lk[NPARTS] = {"loss", "val_loss", "test_loss"};
        static const char *const ak[NPARTS] = {"acc", "val_acc", "test_acc"};
        if (!bad && strcmp(t, "step") == 0) {
            ok = !num(o, "loss", &v, &bad) || add(&r->steps, step, v);
        } else if (!bad) {
            if (r->per_epoch == 0)
                r->per_epoch = step / epoch;
            for (int p = 0; p < NPARTS && ok; p++) {
                if (num(o, lk[p], &v, &bad))
                    ok = add(&r->loss[p], epoch, v);
                if (ok && num(o, ak[p], &v, &bad))
                    ok = add(&r->acc[p], epoch, v);
            }
        }
    }
    json_object_put(o);
    if (!ok)
        diag_error(d, (SrcLoc){0}, "out of memory reading %s", file);
    else if (bad)
        diag_error(d, (SrcLoc){0},
                   "%s:%d: not a metrics line: expected a JSON object with a \"type\", and for "
                   "epoch and step lines an epoch from 1, a step from 0 and finite numbers",
                   file, lineno);
    return ok && !bad;
}

/* Steps an epoch from a run folder's run.json (the training images and the batch), for a
 * run no epoch line of which says it; 0 when it does not tell. */
static double run_per_epoch(const char *dir)
{
    size_t n = strlen(dir) + 16;
    char *file = malloc(n);
    if (!file)
        return 0;
    snprintf(file, n, "%s/run.json", dir);
    /* a regular file of ours, at most RECORD_LINE_MAX bytes (a run.json is a few KB; a link
     * to /dev/zero must not be read for ever) */
    Diag quiet;
    diag_init_quiet(&quiet, "netrun");
    FILE *f = io_open_own(file, false, true, &quiet);
    free(file);
    char *text = f ? malloc(RECORD_LINE_MAX + 1) : NULL;
    size_t len = text ? fread(text, 1, RECORD_LINE_MAX + 1, f) : 0;
    if (f)
        fclose(f);
    json_object *o = NULL, *images, *train, *settings;
    if (text && len <= RECORD_LINE_MAX && json_not_dense(text, len)) {
        text[len] = 0;
        o = json_tokener_parse(text);
    }
    free(text);
    double per = 0, images_n = 0, batch = 0;
    if (o && json_object_object_get_ex(o, "images", &images) &&
        json_object_object_get_ex(images, "train", &train) &&
        json_object_is_type(train, json_type_int))
        images_n = (double)json_object_get_int64(train);
    if (o && json_object_object_get_ex(o, "settings", &settings) &&
        json_object_is_type(settings, json_type_array))
        for (size_t i = 0; i < json_object_array_length(settings); i++) {
            json_object *e = json_object_array_get_idx(settings, i);
            const char *text =
                json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
            long long b;
            char tail;
            if (sscanf(text, "batch %lld%c", &b, &tail) == 1 && b > 0)
                batch = (double)b;
        }
    if (images_n > 0 && batch > 0)
        per = ceil(images_n / batch);
    json_object_put(o);
    return per;
}

/* A metrics.jsonl into r: every line checked; an epoch line, or a --steps run's step or
 * end lines and its run.json (which says the steps of an epoch). */
static bool read_metrics(Run *r, const char *file, const char *dir, Diag *d)
{
    for (int p = 0; p < NPARTS; p++)
        r->end_loss[p] = r->end_acc[p] = NAN;
    r->end_step = -1;
    FILE *f = io_open_own(file, false, false, d);
    if (!f)
        return false;
    io_note_read(file);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool ok = true, cut;
    for (int lineno = 1; ok && (len = io_getline_max(&line, &cap, f, RECORD_LINE_MAX, &cut)) > 0;
         lineno++)
        ok = read_line(r, file, lineno, line, (size_t)len, line[len - 1] != '\n' && !cut, d);
    free(line);
    fclose(f);
    if (ok && r->per_epoch == 0 && (r->steps.n || r->end_step >= 0))
        r->per_epoch = run_per_epoch(dir);            /* no epoch line says it */
    if (ok && r->end_step >= 0 && r->per_epoch > 0) { /* a --steps run's last numbers */
        double x = r->end_step / r->per_epoch;
        for (int p = 0; p < NPARTS && ok; p++) {
            if (!isnan(r->end_loss[p]) && (r->loss[p].n == 0 || r->loss[p].x[r->loss[p].n - 1] < x))
                ok = add(&r->loss[p], x, r->end_loss[p]);
            if (ok && !isnan(r->end_acc[p]) &&
                (r->acc[p].n == 0 || r->acc[p].x[r->acc[p].n - 1] < x))
                ok = add(&r->acc[p], x, r->end_acc[p]);
        }
        if (!ok)
            diag_error(d, (SrcLoc){0}, "out of memory reading %s", file);
    }
    if (ok && r->loss[TRAIN].n == 0 && r->steps.n == 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: no epoch has finished yet and no step was logged: nothing "
                   "to plot",
                   file);
        ok = false;
    } else if (ok && r->loss[TRAIN].n == 0 && r->per_epoch == 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: no epoch has finished yet, and its steps have no place in epochs: the "
                   "run.json beside it does not give the training images and the batch",
                   file);
        ok = false;
    }
    for (int i = 0; ok && r->per_epoch > 0 && i < r->steps.n; i++)
        r->steps.x[i] /= r->per_epoch; /* in epochs, as the epoch lines */
    return ok;
}

/* Legend labels that tell the runs apart: a label two runs share (width=4 of two sweeps)
 * takes its parent folder's name; one still shared (a run given twice) a number, " #2". */
static void distinct_labels(Run *r, int m)
{
    for (int i = 0; i < m; i++) { /* shared among the labels as read: longer is still set */
        bool shared = false;
        for (int j = 0; j < m && !shared; j++)
            shared = j != i && !strcmp(r[i].label, r[j].label);
        if (!shared) {
            free(r[i].longer);
            r[i].longer = NULL;
        }
    }
    for (int i = 0; i < m; i++)
        if (r[i].longer) {
            free(r[i].label);
            r[i].label = r[i].longer;
            r[i].longer = NULL;
        }
    for (int i = m - 1; i > 0; i--) { /* from the last: the labels before i are as read */
        int seen = 1;
        for (int j = 0; j < i; j++)
            seen += !strcmp(r[i].label, r[j].label);
        size_t n = strlen(r[i].label) + 16;
        char *numbered = seen > 1 ? malloc(n) : NULL;
        if (numbered) {
            snprintf(numbered, n, "%s #%d", r[i].label, seen);
            free(r[i].label);
            r[i].label = numbered;
        }
    }
}

/* The start of the last name in path[0, *end), *end moved back over the slashes ending it. */
static size_t name_start(const char *path, size_t *end)
{
    while (*end > 1 && path[*end - 1] == '/')
        (*end)--;
    size_t start = *end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    return start;
}

static bool read_run(Run *r, const char *dir, Diag *d)
{
    if (!record_is_run(dir)) {
        diag_error(d, (SrcLoc){0}, "%s: not a run folder (it has no run.json)", dir);
        return false;
    }
    /* the folder's own name ("runs/mlp-3/" is mlp-3), and with its parent's
     * (runs/mlp-sweep-1/width=4 is mlp-sweep-1/width=4) */
    size_t end = strlen(dir), start = name_start(dir, &end), pend = start;
    size_t pstart = name_start(dir, &pend);
    r->label = strndup(dir + start, end - start);
    r->longer =
        strndup(dir + (pend > pstart ? pstart : start), end - (pend > pstart ? pstart : start));
    size_t n = strlen(dir) + 16;
    char *file = malloc(n);
    if (!file || !r->label || !r->longer) {
        free(file);
        diag_error(d, (SrcLoc){0}, "out of memory");
        return false;
    }
    snprintf(file, n, "%s/metrics.jsonl", dir);
    bool ok = read_metrics(r, file, dir, d);
    free(file);
    return ok;
}

/* ---- drawing ---- */

typedef struct Axis {
    double lo, hi, step; /* ticks at lo, lo + step, ... hi */
} Axis;

static Axis nice_axis(double lo, double hi, int ticks)
{
    if (!isfinite(lo) || !isfinite(hi) || fabs(lo) > 1e300 || fabs(hi) > 1e300)
        lo = 0, hi = 1;      /* no finite axis holds them: the values were checked finite */
    if (!(hi - lo > 1e-300)) /* also a range of denormals, whose tenth is no number */
        hi = lo + fmax(1, fabs(lo));
    double raw = (hi - lo) / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    return (Axis){floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step};
}

typedef struct Panel {
    double x0, y0, w, h; /* the plotting area */
    Axis x, y;
    int id; /* its clip path: the curves are cut at its frame ("panel<id>") */
} Panel;

/* A coordinate, kept near the panel: a value far outside the axis (above 1e300, which no
 * axis holds) would otherwise be written as inf or nan, which is no SVG number. */
static double near(double v, double lo, double len)
{
    return fmin(fmax(v, lo - len), lo + 2 * len);
}

static double px(const Panel *p, double x)
{
    return near(p->x0 + (x - p->x.lo) / (p->x.hi - p->x.lo) * p->w, p->x0, p->w);
}
static double py(const Panel *p, double y)
{
    return near(p->y0 + p->h - (y - p->y.lo) / (p->y.hi - p->y.lo) * p->h, p->y0, p->h);
}

/* Bytes of the UTF-8 character at s that XML takes (not U+FFFE or U+FFFF), or 0 when
 * there is none there (a byte of another encoding, a cut or overlong sequence). */
static int xml_utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80                    ? 1
            : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
            : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
            : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                           : 0;
    unsigned lo = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80;
    unsigned hi = s[0] == 0xED ? 0x9F : s[0] == 0xF4 ? 0x8F : 0xBF;
    for (int k = 1; k < n; k++)
        if (s[k] < (k == 1 ? lo : 0x80) || s[k] > (k == 1 ? hi : 0xBF))
            return 0;
    if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE)
        return 0;
    return n;
}

/* s as XML character data: markup escaped, controls left out, and a byte that is not
 * UTF-8 (a folder named in Latin-1) as U+FFFD, so that the file stays well-formed */
static void xml_text(StrBuf *sb, const char *s)
{
    for (; *s; s++) {
        int n = xml_utf8_len((const unsigned char *)s);
        if (n != 1) {
            if (n == 0)
                sb_puts(sb, "\xEF\xBF\xBD");
            else
                for (int k = 0; k < n; k++)
                    sb_putc(sb, s[k]);
            s += n ? n - 1 : 0;
            continue;
        }
        switch (*s) {
        case '&': sb_puts(sb, "&amp;"); break;
        case '<': sb_puts(sb, "&lt;"); break;
        case '>': sb_puts(sb, "&gt;"); break;
        case '"': sb_puts(sb, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20)
                sb_putc(sb, *s);
        }
    }
}

static void frame(StrBuf *sb, const Panel *p, const char *title, const char *xlabel,
                  const char *ylabel)
{
    int ny = (int)fmin(100, llround((p->y.hi - p->y.lo) / p->y.step));
    for (int k = 0; k <= ny; k++) {
        double v = p->y.lo + k * p->y.step;
        double y = py(p, v);
        sb_printf(sb,
                  "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#dddddd'/>\n"
                  "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%g</text>\n",
                  p->x0, y, p->x0 + p->w, y, p->x0 - 6, y + 4, fabs(v) < 1e-12 ? 0 : v);
    }
    int nx = (int)fmin(100, llround((p->x.hi - p->x.lo) / p->x.step));
    for (int k = 0; k <= nx; k++) {
        double v = p->x.lo + k * p->x.step;
        double x = px(p, v);
        sb_printf(sb,
                  "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#eeeeee'/>\n"
                  "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%g</text>\n",
                  x, p->y0, x, p->y0 + p->h, x, p->y0 + p->h + 16, v);
    }
    /* the clip leaves a dot's radius and a line's width beyond the frame: a point on the
     * frame (the last epoch, an accuracy of 1) is drawn whole */
    sb_printf(
        sb,
        "<clipPath id='panel%d'><rect x='%.1f' y='%.1f' width='%.1f' height='%.1f'/></clipPath>\n",
        p->id, p->x0 - 4, p->y0 - 4, p->w + 8, p->h + 8);
    sb_printf(sb,
              "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444444'/>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='14' "
              "font-weight='bold'>%s</text>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>%s</text>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12' "
              "transform='rotate(-90 %.1f %.1f)'>%s</text>\n",
              p->x0, p->y0, p->w, p->h, p->x0 + p->w / 2, p->y0 - 10, title, p->x0 + p->w / 2,
              p->y0 + p->h + 34, xlabel, p->x0 - 44, p->y0 + p->h / 2, p->x0 - 44, p->y0 + p->h / 2,
              ylabel);
}

static const char *const dashes[NPARTS] = {"", " stroke-dasharray='7 4'",
                                           " stroke-dasharray='2 3'"};

static void curve(StrBuf *sb, const Panel *p, const Series *s, const char *color, const char *dash,
                  double width, double opacity, bool dots)
{
    if (s->n == 0)
        return;
    sb_printf(sb,
              "<polyline clip-path='url(#panel%d)' fill='none' stroke='#%s' stroke-width='%.1f'%s "
              "stroke-opacity='%.2f' points='",
              p->id, color, width, dash, opacity);
    for (int i = 0; i < s->n; i++)
        sb_printf(sb, "%s%.1f,%.1f", i ? " " : "", px(p, s->x[i]), py(p, s->y[i]));
    sb_puts(sb, "'/>\n");
    for (int i = 0; dots && i < s->n && s->n <= 60; i++)
        sb_printf(sb,
                  "<circle clip-path='url(#panel%d)' cx='%.1f' cy='%.1f' r='2.5' fill='#%s'/>\n",
                  p->id, px(p, s->x[i]), py(p, s->y[i]), color);
}

static void range(const Series *s, double *lo, double *hi)
{
    for (int i = 0; i < s->n; i++) {
        *lo = fmin(*lo, s->y[i]);
        *hi = fmax(*hi, s->y[i]);
    }
}

/* The SVG of runs r[0..n) into sb. */
static void draw_runs(const Run *r, int n, StrBuf *sb)
{
    double xmax = 1, llo = 0, lhi = 0, alo = 1, ahi = 0;
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < NPARTS; p++) {
            range(&r[i].loss[p], &llo, &lhi);
            range(&r[i].acc[p], &alo, &ahi);
            for (int k = 0; k < r[i].loss[p].n; k++)
                xmax = fmax(xmax, r[i].loss[p].x[k]);
        }
    }
    for (int i = 0; i < n; i++)
        range(&r[i].steps, &llo, &lhi);
    /* losses from 0 up, or from below 0 when one is negative (nll of raw scores) */
    Panel pl = {70, 50, 400, 300, nice_axis(0, xmax, 6), nice_axis(fmin(0, llo), lhi, 5), 0};
    /* accuracies all alike (1.0 on easy data): a band below them, not an axis of no height;
     * capped at 1, with the ticks still on the step's grid from the top */
    double a0 = fmin(alo, ahi), a1 = fmax(ahi, alo);
    if (a1 <= 1 && a1 - a0 < 1e-9) {
        a0 = a1 - 0.1;
        if (a0 < 0) /* all 0: a band above them, not an axis below 0 */
            a0 = 0, a1 = 0.1;
    }
    Panel pa = {570, 50, 400, 300, pl.x, nice_axis(a0, a1, 5), 1};
    if (pa.y.hi > 1 && a1 <= 1) {
        pa.y.hi = 1;
        pa.y.lo = 1 - ceil((1 - pa.y.lo) / pa.y.step - 1e-9) * pa.y.step;
    }
    int lh = 50 + 300 + 60, legend_rows = (n + 2) / 3;
    int height = lh + 24 * legend_rows + 40;
    sb_printf(sb,
              "<?xml version='1.0' encoding='UTF-8'?>\n"
              "<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='%d' viewBox='0 0 1000 "
              "%d' font-family='sans-serif'>\n<rect width='1000' height='%d' fill='white'/>\n",
              height, height, height);
    frame(sb, &pl, "loss", "epoch", "loss");
    frame(sb, &pa, "accuracy", "epoch", "accuracy");
    for (int i = 0; i < n; i++) {
        const char *c = plot_color(i);
        curve(sb, &pl, &r[i].steps, c, "", 1, 0.35, false);
        for (int p = 0; p < NPARTS; p++) {
            curve(sb, &pl, &r[i].loss[p], c, dashes[p], 2, 1, true);
            curve(sb, &pa, &r[i].acc[p], c, dashes[p], 2, 1, true);
        }
    }
    /* the legend: a colour a run, then the line styles */
    for (int i = 0; i < n; i++) {
        double x = 70 + (i % 3) * 300, y = lh + 24 * (i / 3);
        sb_printf(sb,
                  "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#%s' stroke-width='4'/>\n"
                  "<text x='%.0f' y='%.0f' font-size='12'>",
                  x, y, x + 26, y, plot_color(i), x + 32, y + 4);
        xml_text(sb, r[i].label);
        sb_puts(sb, "</text>\n");
    }
    static const char *const names[NPARTS] = {"train", "val", "test"};
    double y = lh + 24 * legend_rows + 10;
    for (int p = 0; p <= NPARTS; p++) {
        double x = 70 + p * 160;
        sb_printf(sb,
                  "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='#333333' "
                  "stroke-width='%d'%s%s/>\n<text x='%.0f' y='%.0f' font-size='12'>%s</text>\n",
                  x, y, x + 26, y, p < NPARTS ? 2 : 1, p < NPARTS ? dashes[p] : "",
                  p < NPARTS ? "" : " stroke-opacity='0.35'", x + 32, y + 4,
                  p < NPARTS ? names[p] : "train loss every --log-every steps");
    }
    sb_puts(sb, "</svg>\n");
}

/* The run folders inside dir (a sweep's folder, runs/NAME-sweep-N), in name order, added to
 * *list (n of them so far, growing); how many were added. */
static int add_sweep_runs(const char *dir, char ***list, int *n)
{
    struct dirent **ents = NULL;
    int k = scandir(dir, &ents, NULL, alphasort), added = 0;
    for (int i = 0; i < k; i++) {
        size_t len = strlen(dir) + strlen(ents[i]->d_name) + 2;
        char *p = ents[i]->d_name[0] == '.' ? NULL : malloc(len);
        if (p)
            snprintf(p, len, "%s/%s", dir, ents[i]->d_name);
        char **grown =
            p && record_is_run(p) ? realloc(*list, sizeof **list * (size_t)(*n + 1)) : NULL;
        if (grown) {
            *list = grown;
            (*list)[(*n)++] = p;
            added++;
        } else {
            free(p);
        }
        free(ents[i]);
    }
    free(ents);
    return added;
}

bool plot_runs(const char *out, const char *const *runs, int n, int *plotted, Diag *d)
{
    /* the folders: each run folder given, and a sweep's folder for its runs */
    char **dirs = NULL;
    bool *swept = NULL;
    int nd = 0;
    bool oom = false;
    for (int i = 0; i < n; i++) {
        int before = nd, added = record_is_run(runs[i]) ? 0 : add_sweep_runs(runs[i], &dirs, &nd);
        if (added == 0) { /* a run folder, or what read_run will say is none */
            char **grown = realloc(dirs, sizeof *dirs * (size_t)(nd + 1));
            if (grown)
                dirs = grown, dirs[nd++] = strdup(runs[i]);
            oom = oom || !grown;
        }
        bool *sg = realloc(swept, sizeof *swept * (size_t)(nd > 0 ? nd : 1));
        if (sg) {
            swept = sg;
            for (int j = before; j < nd; j++)
                swept[j] = added > 0;
        }
        oom = oom || !sg;
    }
    Run *r = calloc((size_t)(nd > 0 ? nd : 1), sizeof *r);
    bool ok = r != NULL && !oom;
    if (!ok)
        diag_error(d, (SrcLoc){0}, "out of memory");
    int m = 0; /* runs read */
    for (int i = 0; ok && i < nd; i++) {
        if (!dirs[i]) {
            diag_error(d, (SrcLoc){0}, "out of memory");
            ok = false;
        } else if (!swept[i]) {
            ok = read_run(&r[m++], dirs[i], d);
        } else { /* a run of a sweep that finished no epoch (interrupted) is left out */
            Diag quiet;
            diag_init_quiet(&quiet, "netrun");
            if (read_run(&r[m], dirs[i], &quiet)) {
                m++;
            } else {
                run_free(&r[m]);
                diag_warning(d, (SrcLoc){0},
                             "%s: left out: it finished no epoch, or its record does not read",
                             dirs[i]);
            }
        }
    }
    if (ok && m == 0) {
        diag_error(d, (SrcLoc){0}, "no run of the sweep finished an epoch: nothing to plot");
        ok = false;
    }
    if (ok)
        distinct_labels(r, m);
    if (ok) {
        StrBuf sb;
        sb_init(&sb);
        draw_runs(r, m, &sb);
        ok = record_file_ok(out, d) && save_text(out, sb.data, sb.len, d);
        sb_free(&sb);
    }
    for (int i = 0; r && i < m; i++)
        run_free(&r[i]);
    free(r);
    for (int i = 0; i < nd; i++)
        free(dirs[i]);
    free(dirs);
    free(swept);
    if (plotted)
        *plotted = m;
    return ok;
}

bool plot_metrics_svg(const char *file, StrBuf *out, Diag *d)
{
    Run r = {.label = strdup("run")};
    const char *slash = strrchr(file, '/'); /* its run.json beside it */
    char *dir = slash ? strndup(file, (size_t)(slash - file)) : strdup(".");
    bool ok = r.label && dir && read_metrics(&r, file, dir, d);
    free(dir);
    if (ok)
        draw_runs(&r, 1, out);
    run_free(&r);
    return ok;
}

/* ---- the confusion matrix ---- */

static int64_t row_total(const int64_t *cm, int n, int t)
{
    int64_t s = 0;
    for (int p = 0; p < n; p++)
        s += cm[(size_t)t * (size_t)n + (size_t)p];
    return s;
}

/* A class name as a row label shows: at most CM_NAME_CHARS characters, then "...". */
#define CM_NAME_CHARS 16

bool plot_confusion(const char *out, const int64_t *cm, int n, const char *title,
                    char *const *names, int nnames, Diag *d)
{
    size_t longest = 0; /* characters of the longest name shown */
    for (int t = 0; t < nnames && t < n; t++) {
        size_t c = 0;
        for (const char *q = names[t]; *q; q++)
            c += ((unsigned char)*q & 0xC0) != 0x80;
        longest = c > longest ? c : longest;
    }
    longest = longest > CM_NAME_CHARS ? CM_NAME_CHARS + 3 : longest;
    double cell = n <= 15 ? 36 : fmax(4, 540.0 / n), x0 = 90 + 6.5 * (double)longest, y0 = 80;
    double side = cell * n, width = x0 + side + 90, height = y0 + side + 50;
    /* wide enough for the title (bold 14 px: about 8.5 px a character), which a matrix of
     * a few classes is narrower than */
    size_t chars = strlen(": accuracy 0.0000");
    for (const char *c = title; *c; c++)
        chars += ((unsigned char)*c & 0xC0) != 0x80;
    if (8.5 * (double)chars + 24 > width) { /* the matrix centred under the title */
        x0 += (8.5 * (double)chars + 24 - width) / 2;
        width = 8.5 * (double)chars + 24;
    }
    int64_t right = 0, all = 0;
    for (int t = 0; t < n; t++) {
        right += cm[(size_t)t * (size_t)n + (size_t)t];
        all += row_total(cm, n, t);
    }
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb,
              "<?xml version='1.0' encoding='UTF-8'?>\n"
              "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' viewBox='0 0 "
              "%.0f %.0f' font-family='sans-serif'>\n<rect width='%.0f' height='%.0f' "
              "fill='white'/>\n<text x='%.0f' y='24' text-anchor='middle' font-size='14' "
              "font-weight='bold'>",
              width, height, width, height, width, height, width / 2);
    xml_text(&sb, title);
    sb_printf(&sb,
              ": accuracy %.4f</text>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>predicted</text>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12' "
              "transform='rotate(-90 %.1f %.1f)'>true</text>\n"
              "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>accuracy</text>\n",
              all ? (double)right / (double)all : 0, x0 + side / 2, y0 - 30,
              x0 - 50 - 6.5 * (double)longest, y0 + side / 2, x0 - 50 - 6.5 * (double)longest,
              y0 + side / 2, x0 + side + 45, y0 - 10);
    bool labels = cell >= 14;
    for (int t = 0; t < n; t++) {
        int64_t total = row_total(cm, n, t);
        double y = y0 + t * cell;
        if (labels) {
            sb_printf(&sb, "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>", x0 - 6,
                      y + cell / 2 + 4);
            if (t < nnames) { /* "rose 3": the name, clipped, then the number */
                size_t c = 0;
                const char *q = names[t];
                for (; *q; q++) /* to the first byte of character CM_NAME_CHARS + 1 */
                    if (((unsigned char)*q & 0xC0) != 0x80 && c++ == CM_NAME_CHARS)
                        break;
                char *shown = strndup(names[t], (size_t)(q - names[t]));
                xml_text(&sb, shown ? shown : "");
                free(shown);
                sb_puts(&sb, *q ? "... " : " ");
            }
            sb_printf(&sb,
                      "%d</text>\n"
                      "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%d</text>\n",
                      t, x0 + t * cell + cell / 2, y0 - 8, t);
        }
        for (int p = 0; p < n; p++) {
            int64_t v = cm[(size_t)t * (size_t)n + (size_t)p];
            double f = total ? (double)v / (double)total : 0;
            /* white to blue (31, 119, 180) by the share of the true class */
            int rr = (int)lround(255 - f * (255 - 31)), gg = (int)lround(255 - f * (255 - 119)),
                bb = (int)lround(255 - f * (255 - 180));
            double x = x0 + p * cell;
            sb_printf(&sb,
                      "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='#%02x%02x%02x' "
                      "stroke='#ffffff' stroke-width='0.5'/>\n",
                      x, y, cell, cell, rr, gg, bb);
            if (labels && v)
                sb_printf(&sb,
                          "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='%.0f' "
                          "fill='%s'>%lld</text>\n",
                          x + cell / 2, y + cell / 2 + 4, fmin(12, cell * 0.32),
                          f > 0.5 ? "#ffffff" : "#000000", (long long)v);
        }
        if (labels)
            sb_printf(&sb,
                      "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%s</text>\n",
                      x0 + side + 45, y + cell / 2 + 4, total ? "" : "-");
        if (labels && total)
            sb_printf(&sb,
                      "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%.1f%%</text>\n",
                      x0 + side + 45, y + cell / 2 + 4,
                      100.0 * (double)cm[(size_t)t * (size_t)n + (size_t)t] / (double)total);
    }
    sb_puts(&sb, "</svg>\n");
    bool ok = save_text(out, sb.data, sb.len, d);
    sb_free(&sb);
    return ok;
}

void confusion_print(FILE *f, const int64_t *cm, int n)
{
    int64_t most = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
        most = cm[i] > most ? cm[i] : most;
    int w = snprintf(NULL, 0, "%lld", (long long)most);
    if (w < 3)
        w = 3;
    fprintf(f, "confusion (rows: true class, columns: predicted)\n%5s", "");
    for (int p = 0; p < n; p++)
        fprintf(f, " %*d", w, p);
    fprintf(f, "  %7s\n", "acc");
    for (int t = 0; t < n; t++) {
        fprintf(f, "%5d", t);
        for (int p = 0; p < n; p++)
            fprintf(f, " %*lld", w, (long long)cm[(size_t)t * (size_t)n + (size_t)p]);
        int64_t total = row_total(cm, n, t);
        if (total)
            fprintf(f, "  %6.2f%%\n",
                    100.0 * (double)cm[(size_t)t * (size_t)n + (size_t)t] / (double)total);
        else
            fprintf(f, "  %7s\n", "-");
    }
}
