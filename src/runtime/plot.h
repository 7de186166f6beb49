/* plot.h: the pictures of runs, written as SVG by netrun itself: the loss and accuracy
 * curves of one run or several (netrun --plot), and a confusion matrix (--confusion).
 *
 * Design choice: plain SVG 1.1 with no script, no CSS and no external font (sans-serif), so
 * every renderer draws it the same (tests render it with rsvg-convert and count the pixels
 * of each run's colour). Runs are read from their metrics.jsonl (record.h), and every value
 * a line gives is checked: a line that does not parse, or a number that is not finite, is an
 * error naming the file and line. */
#ifndef NETC_RUNTIME_PLOT_H
#define NETC_RUNTIME_PLOT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

/* The colour of run i in --plot (of a palette of 10, as RRGGBB), for tests and legends. */
const char *plot_color(int i);
/* Draws the runs (run folders; a sweep's folder stands for its runs, in name order, those
 * that finished no epoch left out with a warning) into out: loss on the left (train solid,
 * val dashed, test dotted, and the loss every --log-every steps as a thin line), accuracy on
 * the right, one colour a run, on shared axes, with a legend. *plotted (may be NULL): the
 * runs drawn. false after one message. */
bool plot_runs(const char *out, const char *const *runs, int n, int *plotted, Diag *d);

/* One metrics.jsonl drawn as a run into out (for the fuzz target). false after a message. */
bool plot_metrics_svg(const char *file, StrBuf *out, Diag *d);

/* cm is n x n counts, cm[true * n + predicted]. Draws it (per-class accuracy beside each
 * row) into out; title says what was evaluated; names (NULL: none) the first nnames classes'
 * names, written beside their rows' numbers. */
bool plot_confusion(const char *out, const int64_t *cm, int n, const char *title,
                    char *const *names, int nnames, Diag *d);
/* The same as a text table: a row per true class, a column per predicted one, then the
 * class's accuracy. */
void confusion_print(FILE *f, const int64_t *cm, int n);

#endif
