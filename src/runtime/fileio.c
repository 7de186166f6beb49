/* fileio.c: errno text, clipped names, and atomic replacement of files (see fileio.h).
 *
 * Design choice: the only global state is the name of the temporary file being written, kept
 * in a static buffer so that a signal handler can remove it before the process exits
 * (save_abandon); everything else lives in the caller's SaveFile. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h" /* record_is_run: what a run folder is */

const char *io_errstr(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

const char *io_clip(char buf[IO_CLIP_BUF], const char *s)
{
    size_t len = strlen(s), keep = len;
    if (len > IO_CLIP_MAX) { /* room for "...", and never half a UTF-8 character */
        keep = IO_CLIP_MAX - 3;
        while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
            keep--;
    }
    size_t k = 0;
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            k += (size_t)snprintf(buf + k, 5, "\\x%02x", c);
        else
            buf[k++] = (char)c;
    }
    strcpy(buf + k, keep < len ? "..." : "");
    return buf;
}

bool io_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        ssize_t r = write(fd, p, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false;
        if (r == 0) {
            errno = EIO;
            return false;
        }
        p += r;
        len -= (size_t)r;
    }
    return true;
}

/* ---- atomic replacement ---- */

/* The temporary file being written, for save_abandon. */
static char pending_tmp[PATH_MAX + 32];
static volatile sig_atomic_t pending;

void save_abandon(void)
{
    if (pending)
        unlink(pending_tmp);
}

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* Removes "<path>.tmp.<pid>" files whose process no longer exists: what a process killed
 * while saving path left behind. A live process's (or one we may not signal) stays. */
static void remove_stale(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    DIR *dp = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        const char *p = e->d_name + bl + 5;
        if (strncmp(e->d_name, base, bl) != 0 || strncmp(e->d_name + bl, ".tmp.", 5) != 0 ||
            *p < '1' || *p > '9' || strlen(p) > 9 || strspn(p, "0123456789") != strlen(p))
            continue;
        pid_t pid = (pid_t)atol(p);
        struct stat st;
        if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH ||
            fstatat(dirfd(dp), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        char *full = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (full)
            sprintf(full, "%s/%s", dir, e->d_name);
        if (full && !io_read_as(full)) /* not a file this run reads, whatever its name */
            unlinkat(dirfd(dp), e->d_name, 0);
        free(full);
    }
    if (dp)
        closedir(dp);
    free(dir);
}

/* fsync the directory holding path, so the rename itself is durable. Best effort. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

static void save_free(SaveFile *s)
{
    if (s->tmp && pending && strcmp(s->tmp, pending_tmp) == 0)
        pending = 0;
    free(s->path);
    free(s->tmp);
    s->path = s->tmp = NULL;
    s->f = NULL;
    s->fd = -1;
}

/* Writing straight into a stream, no temporary file: a dup of fd, or path opened when fd is
 * -1. false after a message ("PATH: <fail>: reason"). */
static bool begin_stream(SaveFile *s, const char *path, int fd, const char *fail, Diag *d)
{
    char eb[128];
    s->path = strdup(path);
    s->fd = !s->path ? -1 : fd >= 0 ? dup(fd) : open(path, O_WRONLY | O_CLOEXEC);
    if (s->fd < 0) {
        diag_error(d, (SrcLoc){0}, "%s: %s: %s", path, fail,
                   io_errstr(s->path ? errno : ENOMEM, eb, sizeof eb));
        save_free(s);
        return false;
    }
    return true;
}

/* The descriptor of this process that path names (/dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N), or -1. Such a path may lead to a regular file (stdout redirected with
 * > or >>): replacing that file by a temporary one would lose what the shell had written
 * there, and all that is written to it after. */
static int named_fd(const char *path)
{
    if (!strcmp(path, "/dev/stdout"))
        return 1;
    if (!strcmp(path, "/dev/stderr"))
        return 2;
    const char *p = !strncmp(path, "/dev/fd/", 8)          ? path + 8
                    : !strncmp(path, "/proc/self/fd/", 14) ? path + 14
                                                           : NULL;
    if (!p || *p < '0' || *p > '9')
        return -1;
    char *end;
    long n = strtol(p, &end, 10);
    return *end || n > INT_MAX ? -1 : (int)n;
}

static char *own_dir; /* io_own_dir's */

void io_own_dir(const char *dir)
{
    free(own_dir);
    own_dir = dir ? strdup(dir) : NULL;
}

/* Whether path's folder is a run folder: the one this process records in (named as it was
 * given), or any other (record_is_run). */
static bool in_run_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (own_dir && slash && (size_t)(slash - path) == strlen(own_dir) &&
        !strncmp(path, own_dir, strlen(own_dir)))
        return true;
    char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    bool yes = dir && record_is_run(*dir ? dir : "/");
    free(dir);
    return yes;
}

bool save_begin(SaveFile *s, const char *path, bool streams, Diag *d)
{
    char eb[128];
    memset(s, 0, sizeof *s);
    s->fd = -1;
    if (!io_output_ok(path, d->prog ? d->prog : "this run", d)) /* --logits at --predict's... */
        return false;
    int nfd = named_fd(path);
    if (nfd >= 0 && !streams) {
        diag_error(d, (SrcLoc){0},
                   "%s: is this process's descriptor %d; a save writes a file: give its name", path,
                   nfd);
        return false;
    }
    if (nfd >= 0) { /* written through the descriptor, after what was written to it before */
        fflush(stdout);
        fflush(stderr);
        return begin_stream(s, path, nfd, "cannot write", d);
    }
    struct stat st, lst;
    bool link = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
    if (link && in_run_folder(path)) {
        /* a run folder's files are the run's own: a link there (planted in a folder someone
         * else can write, at any time before the save) is replaced, never written through */
        s->path = strdup(path);
        link = false;
        goto named;
    }
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        if (streams && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
            return begin_stream(s, path, -1, "cannot open for writing", d);
        diag_error(d, (SrcLoc){0}, "%s: is %s; a save replaces only a regular file", path,
                   file_kind(st.st_mode));
        return false;
    }
    if (link && !exists) {
        diag_error(d, (SrcLoc){0}, "%s: is a symbolic link to a file that cannot be reached: %s",
                   path, io_errstr(errno, eb, sizeof eb));
        return false;
    }
    s->path = link ? realpath(path, NULL) : strdup(path);
named:
    s->tmp = s->path ? malloc(strlen(s->path) + 32) : NULL;
    if (!s->tmp) {
        diag_error(d, (SrcLoc){0}, "%s: cannot write: %s", path,
                   io_errstr(link ? errno : ENOMEM, eb, sizeof eb));
        save_free(s);
        return false;
    }
    remove_stale(s->path);
    sprintf(s->tmp, "%s.tmp.%ld", s->path, (long)getpid());
    if (!pending && strlen(s->tmp) < sizeof pending_tmp) {
        strcpy(pending_tmp, s->tmp);
        pending = 1;
    }
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (s->fd < 0 && errno == EEXIST) { /* a stale temp file of an earlier process with our pid */
        unlink(s->tmp);
        s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    }
    if (s->fd < 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot create the temporary file %s: %s", path, s->tmp,
                   io_errstr(errno, eb, sizeof eb));
        save_free(s);
        return false;
    }
    return true;
}

FILE *save_stream(SaveFile *s, Diag *d)
{
    if (!s->f && !(s->f = fdopen(s->fd, "w"))) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "%s: cannot write: %s", s->tmp ? s->tmp : s->path,
                   io_errstr(errno, eb, sizeof eb));
    }
    return s->f;
}

bool save_commit(SaveFile *s, Diag *d)
{
    char eb[128];
    const char *what = "write";
    bool ok = !s->f || (fflush(s->f) == 0 && !ferror(s->f));
    if (ok && s->tmp) {
        what = "fsync";
        ok = fsync(s->fd) == 0;
    }
    int err = errno;
    if ((s->f ? fclose(s->f) : close(s->fd)) != 0 && ok) {
        what = "close";
        err = errno;
        ok = false;
    }
    s->f = NULL;
    s->fd = -1;
    if (ok && s->tmp) {
        what = "rename";
        ok = rename(s->tmp, s->path) == 0;
        err = errno;
    }
    if (!ok && s->tmp) {
        diag_error(d, (SrcLoc){0}, "%s: %s of the temporary file %s failed: %s", s->path, what,
                   s->tmp, io_errstr(err, eb, sizeof eb));
        unlink(s->tmp);
    } else if (!ok) {
        diag_error(d, (SrcLoc){0}, "%s: cannot write: %s", s->path, io_errstr(err, eb, sizeof eb));
    } else if (s->tmp) {
        sync_parent_dir(s->path);
    }
    save_free(s);
    return ok;
}

void save_abort(SaveFile *s)
{
    if (s->f)
        fclose(s->f);
    else if (s->fd >= 0)
        close(s->fd);
    if (s->tmp)
        unlink(s->tmp);
    save_free(s);
}

bool save_check(const char *path, bool streams, Diag *d)
{
    SaveFile s;
    if (!save_begin(&s, path, streams, d))
        return false;
    save_abort(&s);
    return true;
}

bool save_text(const char *path, const char *text, size_t len, Diag *d)
{
    SaveFile s;
    if (!save_begin(&s, path, false, d))
        return false;
    if (!io_write_all(s.fd, text, len)) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "%s: cannot write: %s", s.path, io_errstr(errno, eb, sizeof eb));
        save_abort(&s);
        return false;
    }
    return save_commit(&s, d);
}

FILE *io_open_own(const char *path, bool append, bool quiet_absent, Diag *d)
{
    char eb[128];
    int fd = open(path,
                  (append ? O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW : O_RDONLY | O_NONBLOCK) |
                      O_CLOEXEC,
                  0666);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT && quiet_absent)
            return NULL;
        if (e == ELOOP && append)
            diag_error(d, (SrcLoc){0},
                       "%s: is a symbolic link; netrun appends to its own files only as regular "
                       "files, never through a link",
                       path);
        else
            diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", path, io_errstr(e, eb, sizeof eb));
        errno = e;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        diag_error(d, (SrcLoc){0}, "%s: not a regular file", path);
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    if (!append) /* blocking reads from here on */
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, append ? "a" : "r");
    if (!f) {
        diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", path, io_errstr(errno, eb, sizeof eb));
        close(fd);
    }
    return f;
}

ssize_t io_getline_max(char **line, size_t *cap, FILE *f, size_t max, bool *cut)
{
    size_t n = 0;
    int c;
    *cut = false;
    while ((c = getc(f)) != EOF) {
        if (n < max) {
            if (n + 2 > *cap) {
                size_t want = *cap ? *cap * 2 : 256;
                if (want > max + 2)
                    want = max + 2;
                char *p = realloc(*line, want);
                if (!p)
                    return -1;
                *line = p, *cap = want;
            }
            (*line)[n++] = (char)c;
        } else {
            *cut = true;
        }
        if (c == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (ssize_t)n;
}

int io_stdout_status(const char *prog, int status)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    if (!bad || status != 0)
        return status;
    char eb[128];
    fprintf(stderr, "%s: error: standard output: cannot write%s%s\n", prog, errno ? ": " : "",
            errno ? io_errstr(errno, eb, sizeof eb) : "");
    return 1;
}

bool json_not_dense(const char *s, size_t n)
{
    /* json-c's tokener outside strict mode also takes 'single-quoted' strings and comments:
     * a bracket in either counts for nothing */
    size_t count = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        if (quote) {
            if (s[i] == '\\')
                i++; /* the escaped character, a quote too */
            else if (s[i] == quote)
                quote = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            quote = s[i];
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            for (i += 2; i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'); i++)
                ;
            i++; /* at the comment's '/' (or past the text) */
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            const char *end = memchr(s + i, '\n', n - i);
            i = end ? (size_t)(end - s) : n;
        } else if (s[i] == '{' || s[i] == '[') {
            count++;
        }
    }
    return count <= n / JSON_BYTES_PER_CONTAINER + 64;
}
