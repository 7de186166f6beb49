/* fileio.h: what the runtime's loaders and writers share: errno text for messages, text
 * from a file cut to a readable length before it goes into a message, and replacing a file
 * atomically.
 *
 * Design choice: a file is replaced by writing "<path>.tmp.<pid>" beside it, fsyncing it and
 * renaming it over the path, so a reader sees the old file or the new one, never a part of
 * either. Only a regular file (or nothing) is ever replaced: a directory, a device node, a
 * FIFO or a socket at the path is an error, and a symbolic link is followed to the file it
 * names (but in a run folder, replaced). Temporary files left by processes that are gone (killed
 * while saving) are removed when the next save of the same path begins. */
#ifndef NETC_RUNTIME_FILEIO_H
#define NETC_RUNTIME_FILEIO_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "base.h"

/* strerror(e) with a lower-case first letter, as our messages are lower case. */
const char *io_errstr(int e, char *buf, size_t n);

/* Writes all len bytes (in chunks, retrying after EINTR); false with errno set. */
bool io_write_all(int fd, const void *buf, size_t len);

/* Text from a file, as a message shows it: at most IO_CLIP_MAX bytes of s (cut at a UTF-8
 * character's start, then "..."), control characters as \xNN. Returns buf. */
#define IO_CLIP_MAX 60
#define IO_CLIP_BUF (4 * IO_CLIP_MAX + 8)
const char *io_clip(char buf[IO_CLIP_BUF], const char *s);

/* A file being written to replace another. */
typedef struct SaveFile {
    char *path; /* the file replaced (a symbolic link resolved); owned */
    char *tmp;  /* the temporary file, owned; NULL when writing straight into a stream */
    int fd;
    FILE *f; /* save_stream's, or NULL */
} SaveFile;

/* Names the run folder this process records in: save_begin replaces a symbolic link among
 * its files rather than follow it, whatever the folder holds by then (a copy is kept). */
void io_own_dir(const char *dir);

/* Starts writing path: checks what is there (nothing, a regular file, or, when streams is
 * true, a character device or FIFO such as /dev/stdout, written straight through), removes
 * the stale temporary files of path, creates its own. A symbolic link is followed, except in
 * a run folder (io_own_dir's, or any beside a run.json), where it is the run's own file
 * replaced: a link there may have been planted by whoever else can write the folder. false
 * after one message naming path. */
bool save_begin(SaveFile *s, const char *path, bool streams, Diag *d);
/* A stdio stream on s's file (fdopen), owned by s. NULL after a message. */
FILE *save_stream(SaveFile *s, Diag *d);
/* Flushes, fsyncs, closes and renames the temporary file over the path; on failure removes
 * it (the old file stays) and reports. what names the content for messages ("checkpoint"). */
bool save_commit(SaveFile *s, Diag *d);
/* Closes and removes the temporary file; the old file stays. Accepts a finished s. */
void save_abort(SaveFile *s);
/* save_begin and save_abort: whether a save to path could start now, for a check before a
 * long run. Nothing is left behind. */
bool save_check(const char *path, bool streams, Diag *d);
/* Writes path atomically with len bytes of text (save_begin, a write, save_commit). false
 * after one message. */
bool save_text(const char *path, const char *text, size_t len, Diag *d);
/* Opens a file netrun keeps for itself (a run folder's metrics.jsonl) for reading, or for
 * appending when append (created if absent): a regular file only, so that a read is never
 * pointed at a device or a FIFO, and an append never through a symbolic link, so that a
 * folder someone else can write cannot point it at another file (a read may follow a link:
 * folders kept as links, git-annex's, read as they are). NULL after one message naming
 * path; with quiet_absent, a file that is not there gives NULL with errno ENOENT and no
 * message. */
FILE *io_open_own(const char *path, bool append, bool quiet_absent, Diag *d);

/* getline that keeps at most max bytes of a line (the rest is read and dropped; *cut says
 * so), so that a file without newlines cannot grow the buffer without bound. Returns the
 * bytes kept (> 0), or -1 at the end of the file or on an error. */
ssize_t io_getline_max(char **line, size_t *cap, FILE *f, size_t max, bool *cut);

/* Whether the json text s[0, n) is no denser in objects and arrays than a file of ours
 * (a safetensors header's tensor is about 60 bytes and three of them): at most one for
 * every JSON_BYTES_PER_CONTAINER bytes, and a few more. json-c takes hundreds of bytes for
 * each before anything can be checked, so a 10 MB header of `[{},{},...]` took 2.6 GB. */
#define JSON_BYTES_PER_CONTAINER 16
bool json_not_dense(const char *s, size_t n);

/* A tool's exit status once its standard output is flushed: status, or 1 (after a message
 * naming prog) when the output could not be written (a full disk, /dev/full, a closed
 * pipe's EPIPE) and status was 0, so that a cut result never exits as a success. */
int io_stdout_status(const char *prog, int status);

/* For a signal handler that is about to _exit: removes the temporary file of the save in
 * progress, if any (async-signal-safe). */
void save_abandon(void);

#endif
