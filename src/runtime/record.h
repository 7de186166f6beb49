/* record.h: the record of a training run, in a folder of its own (runs/NAME-N/):
 *
 *   net.net                the net as trained, its train section with every override
 *   run.json               the command line, working directory, start time, threads,
 *                          processes, and every train setting resolved (defaults included)
 *   metrics.jsonl          one JSON object a line: "step" lines every --log-every steps (the
 *                          mean loss since the last one), "epoch" lines (train, val and test
 *                          loss and accuracy, lr, images/s, seconds), "resume" lines, and
 *                          an "end" line for a run stopped inside an epoch (--steps): that
 *                          epoch's loss and accuracy so far and the test's
 *   weights.safetensors    the weights at the end (PyTorch's state_dict)
 *   best.safetensors       the weights of the epoch with the best accuracy
 *   checkpoint.safetensors the training checkpoint, for --resume
 *
 * Design choice: metrics.jsonl is appended a line at a time and flushed, so a run killed
 * midway keeps every finished line; resuming cuts the lines past the checkpoint's step (they
 * describe steps that are trained again) and goes on appending. The other files are written
 * atomically (fileio.h). */
#ifndef NETC_RUNTIME_RECORD_H
#define NETC_RUNTIME_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

typedef struct Record {
    char *dir;     /* the run folder, owned */
    FILE *metrics; /* metrics.jsonl, open for appending */
    bool fresh;    /* record_create's: the folder held nothing of another run */
    bool made;     /* record_create made the folder (it was not there before) */
    double wall0;  /* a resumed run's: the seconds its kept lines reached, added to "wall" */
} Record;

/* A new run folder: dir itself when given (created; it may exist if empty), else
 * parent/NAME-N with N one more than the largest of parent's NAME-<number> folders
 * (parent is created when missing). false after one message. */
bool record_create(Record *r, const char *dir, const char *parent, const char *name, Diag *d);
/* Undoes record_create for a run that never trained (its checks failed): the files a run
 * folder starts with (metrics.jsonl, net.net, run.json) removed, and the folder too when
 * record_create made it and nothing else is in it; then record_close. A folder reopened
 * (record_reopen) is another run's: only closed. */
void record_discard(Record *r);
/* Whether dir is a run folder (holds a run.json). */
bool record_is_run(const char *dir);
/* Reopens a run folder to go on after a checkpoint at `step`: metrics.jsonl keeps its lines
 * up to that step (a line that does not parse, as a torn last one, goes too). Its files
 * are written as the run's own: a symbolic link among them is replaced, never written
 * through (save_begin, io_open_own). */
bool record_reopen(Record *r, const char *dir, int64_t step, Diag *d);
/* dir/file, owned by the caller (free()). */
char *record_path(const Record *r, const char *file);
/* Whether a picture or a table may be written at path: not over a file of a run folder's
 * record (its metrics.jsonl, run.json, net.net, weights, best weights or checkpoint, in a
 * run folder: record_is_run), which would lose the run. A message when not. */
bool record_file_ok(const char *path, Diag *d);
/* Writes dir/file atomically with the text. */
bool record_write(const Record *r, const char *file, const char *text, size_t len, Diag *d);
/* Appends one line: {"type": type, then the fields} (name, value pairs; NULL ends). A pair
 * whose name is "" is left out (no such set); a value that is not finite is null. */
void record_line(Record *r, const char *type, int epoch, int64_t step, const char *name, ...);
/* Appends a "resume" line with the command line. */
void record_resume(Record *r, int64_t step, int argc, char **argv);
/* One line of metrics.jsonl as a JSON object (the caller puts it), or NULL when the line
 * is anything else: not JSON, not an object, or an object with more than blanks after it,
 * or RECORD_LINE_MAX bytes or longer (netrun's lines are under 1 KB). Readers take lines
 * with io_getline_max(..., RECORD_LINE_MAX, ...). */
#define RECORD_LINE_MAX ((size_t)1 << 20)
struct json_object *record_parse_line(const char *line, size_t len);
/* Closes metrics.jsonl and frees; accepts a zeroed Record. */
void record_close(Record *r);

#endif
