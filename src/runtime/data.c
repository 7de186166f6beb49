/* data.c: IDX (MNIST-layout) and PGM loaders.
 *
 * Design choice: an IDX file is read through zlib's gzread whether it is gzip or raw, and
 * every size is validated before anything large is allocated: the declared n x rows x cols
 * is checked against the file's length (exactly for raw files, against deflate's maximum
 * expansion ratio for gzip), so a lying header fails fast instead of allocating gigabytes.
 * After the declared bytes one more read must hit end-of-file, which also makes zlib verify
 * the gzip CRC. */
#include "data.h"

#include "fileio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAX_SIDE 32768        /* rows, cols limit: rows*cols fits in an int */
#define GZIP_MAX_RATIO 1032       /* deflate cannot expand input more than this */
#define PGM_MAX_FILE (1u << 30)   /* largest PGM file we read */
#define PGM_MAX_PIXELS (1u << 28) /* w*h limit */
#define F32_MAX_FILE (1u << 30)   /* largest .f32 file we read */

/* Opens path for reading; refuses directories. On failure reports and returns -1. */
int dataset_open_input(const char *path, struct stat *st, Diag *d)
{
    char eb[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", path, io_errstr(errno, eb, sizeof eb));
        return -1;
    }
    io_note_read(path);
    if (fstat(fd, st) != 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot stat: %s", path, io_errstr(errno, eb, sizeof eb));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st->st_mode)) {
        diag_error(d, (SrcLoc){0}, "%s: is a directory, expected a file", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- IDX ---- */

typedef struct IdxIn {
    const char *path;
    gzFile gz;
    uint64_t pos;      /* uncompressed bytes consumed so far */
    uint64_t expected; /* total uncompressed size once the header is known, else 0 */
    Diag *d;
} IdxIn;

/* The zlib message without the "<fd:N>: " prefix gzdopen puts in front of it. */
static const char *gz_msg(gzFile gz, int *errnum)
{
    const char *m = gzerror(gz, errnum);
    const char *colon = m ? strstr(m, ": ") : NULL;
    return colon ? colon + 2 : (m ? m : "unknown error");
}

/* Reads exactly len bytes. On a short read reports truncation, corruption or an I/O error.
 * The last IDX_TAIL bytes are a read of their own: gzread inflates a read that large
 * straight into the caller's buffer and stops when it is full, before the gzip trailer, and
 * once the file is read to its end a later read cannot tell a missing trailer from the end;
 * a small read goes through zlib's own buffer, where inflate goes on to check the trailer. */
enum { IDX_TAIL = 4096 };
static bool idx_read(IdxIn *in, void *buf, size_t len)
{
    uint8_t *p = buf;
    char eb[128];
    while (len > 0) {
        size_t body = len > IDX_TAIL ? len - IDX_TAIL : len;
        unsigned chunk = body > (1u << 30) ? (1u << 30) : (unsigned)body;
        int r = gzread(in->gz, p, chunk);
        int errnum = Z_OK;
        const char *msg = r <= 0 ? gz_msg(in->gz, &errnum) : NULL;
        if (r < 0 || (r == 0 && errnum != Z_OK && errnum != Z_BUF_ERROR)) {
            if (errnum == Z_ERRNO)
                diag_error(in->d, (SrcLoc){0}, "%s: read error at byte %llu: %s", in->path,
                           (unsigned long long)in->pos, io_errstr(errno, eb, sizeof eb));
            else /* zlib inflates ahead of us: the failing byte is not known precisely */
                diag_error(in->d, (SrcLoc){0}, "%s: gzip data is corrupt (%s)", in->path, msg);
            return false;
        }
        if (r == 0) {
            const char *why = errnum == Z_BUF_ERROR ? "; the gzip stream ends early" : "";
            if (in->pos == 0 && *why) /* a gzip header, cut before any data */
                diag_error(in->d, (SrcLoc){0},
                           "%s: a gzip file cut short: it ends before any data is decompressed",
                           in->path);
            else if (in->pos == 0)
                diag_error(in->d, (SrcLoc){0}, "%s: file is empty", in->path);
            else if (in->expected)
                diag_error(in->d, (SrcLoc){0}, "%s: truncated at byte %llu (expected %llu bytes%s)",
                           in->path, (unsigned long long)in->pos, (unsigned long long)in->expected,
                           why);
            else
                diag_error(in->d, (SrcLoc){0},
                           "%s: truncated at byte %llu, inside the idx header%s", in->path,
                           (unsigned long long)in->pos, why);
            return false;
        }
        p += r;
        len -= (size_t)r;
        in->pos += (uint64_t)r;
    }
    return true;
}

static const char *idx_type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

/* Where the gzip members of fd end: the offset of the first byte after the last whole
 * member that is neither another member nor zero padding (gzip's and Python's rule), or -1
 * when there is none, or when the members cannot be read again (gzread then already said
 * what was wrong). Inflates the file once more, into a scratch buffer. */
static long long gzip_members_end(int fd)
{
    enum { CHUNK = 1 << 16 };
    unsigned char *in = malloc(CHUNK), *out = malloc(CHUNK);
    z_stream z = {0};
    long long at = 0, bad = -1, start = 0; /* at: the file offset of in[0]; start: the member's */
    bool ok = in && out && inflateInit2(&z, 16 + MAX_WBITS) == Z_OK, member = true,
         padding = false; /* zeros seen: only zeros may follow (gzread stops at them) */
    ssize_t n = ok ? pread(fd, in, CHUNK, 0) : -1;
    z.next_in = in, z.avail_in = n > 0 ? (uInt)n : 0;
    while (ok && z.avail_in > 0) {
        if (!member) { /* between members: another, zero padding, or something else */
            if (z.next_in[0] == 0x1f && !padding) {
                start = at + (z.next_in - in);
                member = inflateReset(&z) == Z_OK;
                continue;
            }
            if (z.next_in[0] != 0) {
                bad = at + (z.next_in - in);
                break;
            }
            padding = true;
            uInt k = 1; /* the run of zeros in this chunk at once (a 4 GB pad took 25 s) */
            while (k < z.avail_in && z.next_in[k] == 0)
                k++;
            z.next_in += k, z.avail_in -= k;
        } else {
            z.next_out = out, z.avail_out = CHUNK;
            int r = inflate(&z, Z_NO_FLUSH);
            if (r == Z_STREAM_END)
                member = false;
            else if (r != Z_OK && r != Z_BUF_ERROR) {
                bad = start > 0 ? start : -1; /* no member after all (gzread stopped there) */
                break;
            }
        }
        if (z.avail_in == 0) { /* the next chunk */
            at += (long long)(z.next_in - in);
            n = pread(fd, in, CHUNK, (off_t)at);
            z.next_in = in, z.avail_in = n > 0 ? (uInt)n : 0;
        }
    }
    if (ok && member && start > 0 && bad < 0) /* a member begun and cut: no member after all */
        bad = start;
    if (ok)
        inflateEnd(&z);
    free(in);
    free(out);
    return bad;
}

bool dataset_gzip_whole(int fd, const struct stat *st, const char *path, Diag *d)
{
    /* (the last trailer's size matching the bytes read is no proof: a member after zeros,
     * where gzread stops, may end as the first did) */
    if (!S_ISREG(st->st_mode) || st->st_size < 18) /* a stream: nothing to look back at */
        return true;
    long long bad = gzip_members_end(fd);
    if (bad < 0)
        return true;
    diag_error(d, (SrcLoc){0},
               "%s: data after the gzip stream at byte %lld of %lld (not another gzip member)",
               path, bad, (long long)st->st_size);
    return false;
}

/* A PGM sample in [0, 1] as PIL and torchvision's ToTensor give it: with a maxval below
 * 256, PIL's 8-bit value round(v / maxval * 255) (Python's round: half to even, as
 * nearbyint), divided by 255 in float; with a larger maxval (16-bit, which PIL reads as
 * integers that ToTensor does not scale), v / maxval in float. */
static float pgm_value(uint32_t v, double maxval)
{
    if (maxval < 256)
        return (float)nearbyint((double)v / maxval * 255.0) / 255.0f;
    return (float)v / (float)maxval;
}

/* Loads an IDX file of unsigned bytes with the given rank (3: images, 1: labels).
 * dims[] receives the rank sizes; *out a malloc'd buffer of their product. */
static bool idx_load(const char *path, int rank, const char *what, uint8_t **out, int dims[3],
                     Diag *d)
{
    struct stat st;
    int fd = dataset_open_input(path, &st, d);
    if (fd < 0)
        return false;
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        diag_error(d, (SrcLoc){0}, "%s: cannot open: out of memory", path);
        close(fd);
        return false;
    }
    /* large reads for a data set; a small file gets a small buffer (zlib allocates three) */
    gzbuffer(gz, S_ISREG(st.st_mode) && st.st_size < (1 << 17) ? 8192u : 1u << 17);
    bool ok = false;
    uint8_t *data = NULL;
    IdxIn in = {.path = path, .gz = gz, .d = d};
    int direct = gzdirect(gz); /* 1: not gzip, read as is */

    uint8_t hdr[4 + 4 * 3];
    if (!idx_read(&in, hdr, 4))
        goto done;
    uint32_t magic =
        (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    uint32_t want = 0x0800u | (uint32_t)rank;
    if (hdr[0] != 0 || hdr[1] != 0 || !idx_type_name(hdr[2])) {
        /* what the file looks like instead: damaged gzip, or an image (a netpbm P1..P7) */
        char like[96] = "";
        if (direct && hdr[0] == 0x1f)
            snprintf(like, sizeof like, "; the file looks like damaged gzip");
        else if (hdr[0] == 'P' && hdr[1] >= '1' && hdr[1] <= '7' && isspace(hdr[2]))
            snprintf(like, sizeof like, "; the file looks like a netpbm P%c image, not IDX%s",
                     hdr[1], hdr[1] == '2' || hdr[1] == '5' ? " (name it .pgm)" : "");
        else if (hdr[0] == 0x89 && hdr[1] == 'P' && hdr[2] == 'N' && hdr[3] == 'G')
            snprintf(like, sizeof like, "; the file looks like a PNG image, not IDX");
        else if (hdr[0] == 0xff && hdr[1] == 0xd8 && hdr[2] == 0xff)
            snprintf(like, sizeof like, "; the file looks like a JPEG image, not IDX");
        else if (direct && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size % 3073 == 0 &&
                 hdr[0] < 10)
            snprintf(like, sizeof like,
                     "; the file looks like a CIFAR-10 binary batch (records of 1 + 3072 "
                     "bytes), not IDX");
        diag_error(d, (SrcLoc){0}, "%s: bad magic 0x%08x (expected 0x%08x for %s)%s", path, magic,
                   want, what, like);
        goto done;
    }
    if (hdr[2] != 0x08) {
        diag_error(d, (SrcLoc){0},
                   "%s: element type 0x%02x (%s) is not supported (magic 0x%08x, expected 0x%08x "
                   "for %s of unsigned bytes)",
                   path, hdr[2], idx_type_name(hdr[2]), magic, want, what);
        goto done;
    }
    if (hdr[3] != rank) {
        diag_error(d, (SrcLoc){0}, "%s: rank %d in magic 0x%08x (expected rank %d, 0x%08x, for %s)",
                   path, hdr[3], magic, rank, want, what);
        goto done;
    }
    size_t hlen = 4 + 4 * (size_t)rank;
    if (!idx_read(&in, hdr + 4, 4 * (size_t)rank))
        goto done;
    uint32_t v[3] = {0, 1, 1};
    for (int k = 0; k < rank; k++) {
        const uint8_t *b = hdr + 4 + 4 * k;
        v[k] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    if (v[0] > INT_MAX) {
        diag_error(d, (SrcLoc){0}, "%s: absurd count %u in the header (limit %d)", path, v[0],
                   INT_MAX);
        goto done;
    }
    if (v[1] == 0 || v[1] > IDX_MAX_SIDE || v[2] == 0 || v[2] > IDX_MAX_SIDE) {
        diag_error(d, (SrcLoc){0},
                   "%s: absurd image size %ux%u in the header (each side must be 1..%d)", path,
                   v[1], v[2], IDX_MAX_SIDE);
        goto done;
    }
    for (int k = 0; k < rank; k++)
        dims[k] = (int)v[k];
    uint64_t total = (uint64_t)v[0] * v[1] * v[2]; /* < 2^31 * 2^15 * 2^15: no overflow */
    in.expected = hlen + total;
    if (total > SIZE_MAX - 1) {
        diag_error(d, (SrcLoc){0}, "%s: header declares %llu bytes, more than memory can hold",
                   path, (unsigned long long)total);
        goto done;
    }
    if (S_ISREG(st.st_mode)) {
        uint64_t fsize = (uint64_t)st.st_size;
        if (direct && in.expected > fsize) {
            diag_error(d, (SrcLoc){0}, "%s: truncated at byte %llu (expected %llu bytes)", path,
                       (unsigned long long)fsize, (unsigned long long)in.expected);
            goto done;
        }
        if (!direct && in.expected > fsize * GZIP_MAX_RATIO + 65536) {
            diag_error(d, (SrcLoc){0},
                       "%s: header declares %llu bytes but a %llu-byte gzip file cannot hold that "
                       "many (truncated, or a wrong header)",
                       path, (unsigned long long)in.expected, (unsigned long long)fsize);
            goto done;
        }
    }
    data = malloc(total ? (size_t)total : 1);
    if (!data) {
        diag_error(d, (SrcLoc){0}, "%s: cannot allocate %llu bytes for %s", path,
                   (unsigned long long)total, what);
        goto done;
    }
    if (!idx_read(&in, data, (size_t)total))
        goto done;
    /* One more read must find end-of-file; for gzip it also checks the CRC and length. */
    uint8_t extra;
    int r = gzread(gz, &extra, 1);
    int errnum = Z_OK;
    const char *msg = gz_msg(gz, &errnum);
    if (r < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
        diag_error(d, (SrcLoc){0}, "%s: gzip data is corrupt (%s)", path, msg);
        goto done;
    }
    if (r == 0 && errnum == Z_BUF_ERROR) {
        diag_error(d, (SrcLoc){0},
                   "%s: gzip data is truncated after byte %llu (its trailer is "
                   "missing)",
                   path, (unsigned long long)in.pos);
        goto done;
    }
    if (r > 0) {
        diag_error(d, (SrcLoc){0}, "%s: unexpected data after byte %llu (expected %llu bytes)",
                   path, (unsigned long long)in.pos, (unsigned long long)in.expected);
        goto done;
    }
    if (!direct && !dataset_gzip_whole(fd, &st, path, d))
        goto done;
    *out = data;
    data = NULL;
    ok = true;
done:
    free(data);
    gzclose_r(gz); /* also closes fd */
    return ok;
}

bool idx_load_images(const char *path, uint8_t **images, int *n, int *rows, int *cols, Diag *d)
{
    int dims[3] = {0, 0, 0};
    uint8_t *buf;
    if (!idx_load(path, 3, "images", &buf, dims, d))
        return false;
    *images = buf;
    *n = dims[0];
    *rows = dims[1];
    *cols = dims[2];
    return true;
}

bool idx_load_labels(const char *path, uint8_t **labels, int *n, Diag *d)
{
    int dims[3] = {0, 0, 0};
    uint8_t *buf;
    if (!idx_load(path, 1, "labels", &buf, dims, d))
        return false;
    *labels = buf;
    *n = dims[0];
    return true;
}

/* Finds "<dir>/<base>" or "<dir>/<base>.gz" and leaves the path in sb. */
static bool find_idx(StrBuf *sb, const char *dir, const char *base, Diag *d)
{
    size_t dl = strlen(dir);
    const char *sep = dl == 0 || dir[dl - 1] == '/' ? "" : "/";
    struct stat st;
    for (int gz = 0; gz < 2; gz++) {
        sb->len = 0;
        sb_printf(sb, "%s%s%s%s", dir, sep, base, gz ? ".gz" : "");
        if (stat(sb->data, &st) == 0 || (errno != ENOENT && errno != ENOTDIR))
            return true; /* exists, or exists but unreadable: let open() report it */
    }
    char eb[128];
    if (dl > 0 && stat(dir, &st) != 0)
        diag_error(d, (SrcLoc){0}, "%s: cannot open data directory: %s", dir,
                   io_errstr(errno, eb, sizeof eb));
    else if (dl > 0 && !S_ISDIR(st.st_mode))
        diag_error(d, (SrcLoc){0}, "%s: not a directory (expected a directory of idx files)", dir);
    else
        diag_error(d, (SrcLoc){0}, "%s%s%s: no such file (tried %s and %s.gz)", dir, sep, base,
                   base, base);
    return false;
}

bool dataset_load(Dataset *ds, const char *dir, const char *split, Diag *d)
{
    memset(ds, 0, sizeof *ds);
    StrBuf name, ipath, lpath;
    sb_init(&name);
    sb_init(&ipath);
    sb_init(&lpath);
    bool ok = false;
    Dataset t = {.channels = 1};
    int nl = 0;

    sb_printf(&name, "%s-images-idx3-ubyte", split);
    if (!find_idx(&ipath, dir, name.data, d) ||
        !idx_load_images(ipath.data, &t.images, &t.n, &t.rows, &t.cols, d))
        goto done;
    name.len = 0;
    sb_printf(&name, "%s-labels-idx1-ubyte", split);
    if (!find_idx(&lpath, dir, name.data, d) || !idx_load_labels(lpath.data, &t.labels, &nl, d))
        goto done;
    if (nl != t.n) {
        diag_error(d, (SrcLoc){0}, "%s: has %d labels but %s has %d images", lpath.data, nl,
                   ipath.data, t.n);
        goto done;
    }
    if (t.n == 0) {
        diag_error(d, (SrcLoc){0}, "%s: contains no images", ipath.data);
        goto done;
    }
    t.images_file = strdup(ipath.data);
    t.labels_file = strdup(lpath.data);
    *ds = t;
    ok = true;
done:
    if (!ok)
        dataset_free(&t);
    sb_free(&name);
    sb_free(&ipath);
    sb_free(&lpath);
    return ok;
}

void dataset_image_crop_to_float(float *dst, const Dataset *ds, int i, int crop, int pad, int top,
                                 int left, bool flip, const float *mean, const float *std)
{
    size_t plane = (size_t)ds->rows * (size_t)ds->cols;
    const uint8_t *src = ds->images + (size_t)i * dataset_image_bytes(ds);
    for (int c = 0; c < dataset_channels(ds); c++, src += plane) {
        float m = mean ? mean[c] : 0, s = mean ? std[c] : 1;
        for (int y = 0; y < crop; y++) {
            int sy = top + y - pad; /* the row in the image; outside it, padding */
            for (int x = 0; x < crop; x++) {
                int sx = left + (flip ? crop - 1 - x : x) - pad;
                uint8_t v = sy >= 0 && sy < ds->rows && sx >= 0 && sx < ds->cols
                                ? src[(size_t)sy * (size_t)ds->cols + (size_t)sx]
                                : 0;
                float f = (float)v / 255.0f;
                *dst++ = mean ? (f - m) / s : f;
            }
        }
    }
}

/* ---- CIFAR ---- */

enum { CIFAR_PIXELS = 3 * 32 * 32 };

/* dir/name when it is there, else dir/sub/name when that is, else NULL (nothing said). */
static char *cifar_find(const char *dir, const char *sub, const char *name)
{
    struct stat st;
    StrBuf sb;
    sb_init(&sb);
    for (int k = 0; k < 2; k++) {
        sb.len = 0;
        sb_printf(&sb, "%s/%s%s%s", dir, k ? sub : "", k ? "/" : "", name);
        if (stat(sb.data, &st) == 0)
            return sb.data; /* owned by the caller */
    }
    sb_free(&sb);
    return NULL;
}

/* Appends the records of one file to t (labels[t->n...], images likewise). */
static bool cifar_read(Dataset *t, const char *path, int label_bytes, int pick, Diag *d)
{
    struct stat st;
    int fd = dataset_open_input(path, &st, d);
    if (fd < 0)
        return false;
    size_t rec = (size_t)label_bytes + CIFAR_PIXELS;
    char eb[128];
    bool ok = false;
    uint8_t *buf = NULL;
    if (st.st_size == 0 || (size_t)st.st_size % rec != 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: %lld bytes, not a whole number of %zu-byte records (a label%s and "
                   "3x32x32 pixels): not a CIFAR-%d binary file, or cut short",
                   path, (long long)st.st_size, rec, label_bytes == 2 ? " pair" : "",
                   label_bytes == 2 ? 100 : 10);
        goto done;
    }
    size_t n = (size_t)st.st_size / rec;
    if (n > (size_t)INT32_MAX - (size_t)t->n) {
        diag_error(d, (SrcLoc){0}, "%s: too many records", path);
        goto done;
    }
    uint8_t *images = realloc(t->images, ((size_t)t->n + n) * CIFAR_PIXELS);
    if (images)
        t->images = images;
    uint8_t *labels = images ? realloc(t->labels, (size_t)t->n + n) : NULL;
    if (labels)
        t->labels = labels;
    buf = labels ? malloc(rec * 1024) : NULL;
    if (!buf) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory for %zu images", path, n);
        goto done;
    }
    for (size_t done_n = 0; done_n < n;) {
        size_t want = n - done_n < 1024 ? n - done_n : 1024;
        ssize_t got = read(fd, buf, want * rec);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || (size_t)got % rec != 0) { /* a regular file reads whole records */
            diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", path,
                       got < 0 ? io_errstr(errno, eb, sizeof eb) : "it changed while read");
            goto done;
        }
        for (size_t r = 0; r < (size_t)got / rec; r++) {
            const uint8_t *p = buf + r * rec;
            size_t i = (size_t)t->n + done_n + r;
            /* both of CIFAR-100's labels, the one not taken too: a byte out of its range
             * means the file is not what it says */
            for (int b = 0; b < label_bytes; b++) {
                int lim = label_bytes == 1 ? 10 : b == 0 ? 20 : 100;
                if (p[b] < lim)
                    continue;
                diag_error(d, (SrcLoc){0},
                           "%s: record %zu has label %d; CIFAR-%d's %slabels go from 0 to %d", path,
                           done_n + r, p[b], label_bytes == 2 ? 100 : 10,
                           label_bytes == 1 ? ""
                           : b == 0         ? "coarse "
                                            : "fine ",
                           lim - 1);
                goto done;
            }
            t->labels[i] = p[pick];
            memcpy(t->images + i * CIFAR_PIXELS, p + label_bytes, CIFAR_PIXELS);
        }
        done_n += (size_t)got / rec;
    }
    t->n += (int)n;
    ok = true;
done:
    free(buf);
    close(fd);
    return ok;
}

bool dataset_load_cifar_file(Dataset *ds, const char *path, bool cifar100, bool coarse, Diag *d)
{
    Dataset t = {.rows = 32, .cols = 32, .channels = 3};
    memset(ds, 0, sizeof *ds);
    if (!cifar_read(&t, path, cifar100 ? 2 : 1, cifar100 && !coarse, d)) {
        dataset_free(&t);
        return false;
    }
    t.images_file = strdup(path);
    t.labels_file = strdup(path);
    *ds = t;
    return true;
}

bool dataset_load_cifar(Dataset *ds, const char *dir, bool train, bool coarse, Diag *d)
{
    memset(ds, 0, sizeof *ds);
    Dataset t = {.rows = 32, .cols = 32, .channels = 3};
    char *first = NULL;
    bool ok = false, c10 = (first = cifar_find(dir, "cifar-10-batches-bin", "data_batch_1.bin"));
    StrBuf names;
    sb_init(&names);
    if (c10) {
        if (coarse) {
            diag_error(d, (SrcLoc){0},
                       "%s: CIFAR-10 has no coarse labels; 'labels=coarse' is for CIFAR-100", dir);
            goto done;
        }
        for (int b = 1; b <= (train ? 5 : 1); b++) {
            char name[32];
            snprintf(name, sizeof name, train ? "data_batch_%d.bin" : "test_batch.bin", b);
            char *path = cifar_find(dir, "cifar-10-batches-bin", name);
            if (!path) {
                diag_error(d, (SrcLoc){0},
                           "%s: %s is missing (CIFAR-10 has data_batch_1..5.bin "
                           "and test_batch.bin)",
                           dir, name);
                goto done;
            }
            bool read = cifar_read(&t, path, 1, 0, d);
            if (b == 1) /* messages name them all: DIR/data_batch_1..5.bin */
                sb_printf(&names, "%.*s%s", (int)(strlen(path) - strlen(name)), path,
                          train ? "data_batch_1..5.bin" : name);
            if (read && train) { /* and a record's own file */
                t.part[t.nparts] = path;
                t.part_end[t.nparts++] = t.n;
                path = NULL;
            }
            free(path);
            if (!read)
                goto done;
        }
    } else {
        char *path = cifar_find(dir, "cifar-100-binary", train ? "train.bin" : "test.bin");
        if (!path) {
            struct stat st;
            if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
                diag_error(d, (SrcLoc){0}, "%s: cannot open data directory", dir);
            else
                diag_error(d, (SrcLoc){0},
                           "%s: no CIFAR files: expected CIFAR-10's data_batch_1.bin or "
                           "CIFAR-100's %s (binary versions), here or in cifar-10-batches-bin "
                           "or cifar-100-binary",
                           dir, train ? "train.bin" : "test.bin");
            goto done;
        }
        bool read = cifar_read(&t, path, 2, coarse ? 0 : 1, d);
        sb_puts(&names, path);
        free(path);
        if (!read)
            goto done;
    }
    t.images_file = strdup(names.data);
    t.labels_file = strdup(names.data);
    *ds = t;
    ok = true;
done:
    free(first);
    sb_free(&names);
    if (!ok)
        dataset_free(&t);
    return ok;
}

void dataset_free(Dataset *ds)
{
    if (!ds)
        return;
    if (!ds->view) {
        free(ds->images);
        free(ds->labels);
        free(ds->images_file);
        free(ds->labels_file);
        free(ds->features);
        free(ds->lines);
        free(ds->label_name);
        for (int k = 0; k < ds->nparts; k++)
            free(ds->part[k]);
    }
    memset(ds, 0, sizeof *ds);
}

bool dataset_split(Dataset *train, Dataset *val, double share, uint64_t seed, Diag *d)
{
    memset(val, 0, sizeof *val);
    if (share <= 0)
        return true;
    int nval = (int)floor(train->n * share);
    if (nval < 1 || nval >= train->n) {
        diag_error(d, (SrcLoc){0},
                   "val %g of %d training images holds out %d; both parts need at least one image",
                   share, train->n, nval);
        return false;
    }
    /* a record: an image's bytes, or a table's features */
    size_t per = train->features ? sizeof(float) * (size_t)train->cols : dataset_image_bytes(train);
    uint8_t *base = train->features ? (uint8_t *)train->features : train->images;
    uint8_t *tmp = malloc(per);
    if (!tmp) {
        diag_error(d, (SrcLoc){0}, "out of memory for the validation split");
        return false;
    }
    /* Fisher-Yates on the records themselves: record i swaps with one of 0..i */
    Rng r;
    rng_seed(&r, seed ^ 0x56414c4944415445ull); /* a stream of its own */
    for (int i = train->n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        uint8_t *a = base + (size_t)i * per, *b = base + (size_t)j * per;
        memcpy(tmp, a, per);
        memcpy(a, b, per);
        memcpy(b, tmp, per);
        uint8_t l = train->labels[i];
        train->labels[i] = train->labels[j];
        train->labels[j] = l;
        if (train->lines) {
            int t = train->lines[i];
            train->lines[i] = train->lines[j];
            train->lines[j] = t;
        }
    }
    free(tmp);
    for (int k = 0; k < train->nparts; k++) /* the records left their files' order */
        free(train->part[k]);
    train->nparts = 0;
    train->n -= nval;
    *val = (Dataset){.n = nval,
                     .rows = train->rows,
                     .cols = train->cols,
                     .channels = train->channels,
                     .images = train->images ? train->images + (size_t)train->n * per : NULL,
                     .labels = train->labels + train->n,
                     .features = train->features
                                     ? train->features + (size_t)train->n * (size_t)train->cols
                                     : NULL,
                     .lines = train->lines ? train->lines + train->n : NULL,
                     .label_column = train->label_column,
                     .label_name = train->label_name,
                     .images_file = train->images_file,
                     .labels_file = train->labels_file,
                     .view = true};
    return true;
}

void dataset_image_to_float(float *dst, const Dataset *ds, int i, const float *mean,
                            const float *std)
{
    size_t m = (size_t)ds->rows * (size_t)ds->cols;
    if (ds->features) { /* a table's record as it is */
        const float *x = ds->features + (size_t)i * m;
        for (size_t k = 0; k < m; k++)
            dst[k] = mean ? (x[k] - mean[0]) / std[0] : x[k];
        return;
    }
    const uint8_t *src = ds->images + (size_t)i * dataset_image_bytes(ds);
    /* Same operations, in the same order, as ToTensor (x/255) then Normalize ((x-mean)/std). */
    for (int c = 0; c < dataset_channels(ds); c++, src += m, dst += m) {
        if (mean) {
            for (size_t k = 0; k < m; k++)
                dst[k] = ((float)src[k] / 255.0f - mean[c]) / std[c];
        } else {
            for (size_t k = 0; k < m; k++)
                dst[k] = (float)src[k] / 255.0f;
        }
    }
}

/* ---- PGM ---- */

/* Reads a whole file (at most limit bytes) into a malloc'd buffer. */
static bool read_all(const char *path, uint8_t **buf, size_t *len, size_t limit, Diag *d)
{
    struct stat st;
    int fd = dataset_open_input(path, &st, d);
    if (fd < 0)
        return false;
    char eb[128];
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > limit) { /* refused before it is read */
        diag_error(d, (SrcLoc){0}, "%s: file is larger than the %zu-byte limit", path, limit);
        close(fd);
        return false;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    size_t n = 0;
    uint8_t *p = malloc(cap);
    if (!p) {
        diag_error(d, (SrcLoc){0}, "%s: cannot allocate %zu bytes", path, cap);
        close(fd);
        return false;
    }
    for (;;) {
        if (n == cap) { /* a pipe or a device, or a file that grew: up to limit + 1 bytes */
            if (n > limit) {
                diag_error(d, (SrcLoc){0}, "%s: file is larger than the %zu-byte limit", path,
                           limit);
                goto fail;
            }
            size_t grow = cap * 2 > limit + 1 ? limit + 1 : cap * 2;
            uint8_t *q = realloc(p, grow);
            if (!q) {
                diag_error(d, (SrcLoc){0}, "%s: cannot allocate %zu bytes", path, grow);
                goto fail;
            }
            p = q;
            cap = grow;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            diag_error(d, (SrcLoc){0}, "%s: read error at byte %zu: %s", path, n,
                       io_errstr(errno, eb, sizeof eb));
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *buf = p;
    *len = n;
    return true;
fail:
    free(p);
    close(fd);
    return false;
}

typedef struct PgmCur {
    const uint8_t *p;
    size_t len, pos;
} PgmCur;

static bool pgm_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void pgm_skip(PgmCur *c)
{
    while (c->pos < c->len) {
        if (pgm_space(c->p[c->pos])) {
            c->pos++;
        } else if (c->p[c->pos] == '#') {
            while (c->pos < c->len && c->p[c->pos] != '\n' && c->p[c->pos] != '\r')
                c->pos++;
        } else {
            break;
        }
    }
}

/* Reads a decimal number after optional white space and comments.
 * Returns 1 ok, 0 end of file, -1 not a number, -2 larger than cap. */
static int pgm_uint(PgmCur *c, uint32_t cap, uint32_t *v)
{
    pgm_skip(c);
    if (c->pos >= c->len)
        return 0;
    if (c->p[c->pos] < '0' || c->p[c->pos] > '9')
        return -1;
    uint64_t x = 0;
    while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        x = x * 10 + (uint64_t)(c->p[c->pos] - '0');
        if (x > cap)
            return -2;
        c->pos++;
    }
    if (c->pos < c->len && !pgm_space(c->p[c->pos]) && c->p[c->pos] != '#')
        return -1;
    *v = (uint32_t)x;
    return 1;
}

static bool pgm_header_field(PgmCur *c, const char *path, const char *what, uint32_t lo,
                             uint32_t hi, uint32_t *v, Diag *d)
{
    size_t at;
    pgm_skip(c);
    at = c->pos;
    int r = pgm_uint(c, hi, v);
    if (r == 0)
        diag_error(d, (SrcLoc){0}, "%s: truncated at byte %zu, in the header before the %s", path,
                   at, what);
    else if (r == -1)
        diag_error(d, (SrcLoc){0}, "%s: expected the %s (a number) at byte %zu", path, what, at);
    else if (r == -2 || *v < lo)
        diag_error(d, (SrcLoc){0}, "%s: %s at byte %zu is out of range (expected %u..%u)", path,
                   what, at, lo, hi);
    return r == 1 && *v >= lo;
}

float *pgm_load(const char *path, int *h, int *w, Diag *d)
{
    uint8_t *buf;
    size_t len;
    if (!read_all(path, &buf, &len, PGM_MAX_FILE, d))
        return NULL;
    float *out = NULL;
    PgmCur c = {.p = buf, .len = len, .pos = 0};
    if (len == 0) {
        diag_error(d, (SrcLoc){0}, "%s: file is empty", path);
        goto done;
    }
    if (len < 2 || buf[0] != 'P' || (buf[1] != '2' && buf[1] != '5')) {
        if (len >= 2 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '7')
            diag_error(d, (SrcLoc){0},
                       "%s: bad magic 'P%c' (expected 'P2' or 'P5', a grayscale "
                       "pgm)",
                       path, buf[1]);
        else
            diag_error(d, (SrcLoc){0},
                       "%s: bad magic 0x%02x%02x (expected 'P2' or 'P5', a "
                       "grayscale pgm)%s",
                       path, buf[0], len >= 2 ? buf[1] : 0,
                       len >= 4 && buf[0] == 0x89 && buf[1] == 'P' && buf[2] == 'N' && buf[3] == 'G'
                           ? "; the file looks like a PNG image (name it .png)"
                       : len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff
                           ? "; the file looks like a JPEG image (name it .jpg)"
                           : "");
        goto done;
    }
    bool plain = buf[1] == '2';
    c.pos = 2;
    if (c.pos < len && !pgm_space(buf[c.pos]) && buf[c.pos] != '#') {
        diag_error(d, (SrcLoc){0}, "%s: bad magic (expected white space after 'P%c' at byte 2)",
                   path, buf[1]);
        goto done;
    }
    uint32_t wd, ht, maxval;
    if (!pgm_header_field(&c, path, "width", 1, 1u << 20, &wd, d) ||
        !pgm_header_field(&c, path, "height", 1, 1u << 20, &ht, d) ||
        !pgm_header_field(&c, path, "maxval", 1, 65535, &maxval, d))
        goto done;
    if ((uint64_t)wd * ht > PGM_MAX_PIXELS) {
        diag_error(d, (SrcLoc){0}, "%s: image size %ux%u is too large (limit %u pixels)", path, wd,
                   ht, PGM_MAX_PIXELS);
        goto done;
    }
    size_t npix = (size_t)wd * ht, cap = 0;
    double scale = maxval;
    /* Memory follows what the file holds, not what its header claims (a 24-byte file
     * declaring 554x242554 pixels would otherwise cost 537 MB before the parse finds 3): a
     * raw raster's length is checked before it is allocated, plain values are stored in an
     * array that grows as they are read. */
    if (plain) {
        for (size_t k = 0; k < npix; k++) {
            uint32_t v;
            pgm_skip(&c);
            size_t at = c.pos;
            int r = pgm_uint(&c, 65535, &v);
            if (r == 0) {
                diag_error(d, (SrcLoc){0}, "%s: truncated at byte %zu: %zu of %zu pixel values",
                           path, at, k, npix);
                goto fail;
            }
            if (r < 0 || v > maxval) {
                if (r == -1)
                    diag_error(d, (SrcLoc){0},
                               "%s: expected pixel value %zu (a number) at byte %zu", path, k, at);
                else if (r == -2) /* past 65535, where the number stops being read */
                    diag_error(d, (SrcLoc){0},
                               "%s: pixel %zu at byte %zu has a value above maxval %u", path, k, at,
                               maxval);
                else
                    diag_error(d, (SrcLoc){0},
                               "%s: pixel %zu at byte %zu has value %u, above maxval %u", path, k,
                               at, v, maxval);
                goto fail;
            }
            if (k == cap) {
                cap = cap ? (2 * cap < npix ? 2 * cap : npix) : (npix < 4096 ? npix : 4096);
                float *q = realloc(out, cap * sizeof *out);
                if (!q) {
                    diag_error(d, (SrcLoc){0}, "%s: cannot allocate %zu pixels", path, cap);
                    goto fail;
                }
                out = q;
            }
            out[k] = pgm_value(v, scale);
        }
    } else {
        /* Exactly one white-space byte separates maxval from the raster (a comment there is
         * read three ways by three readers: PIL refuses it, and so do we). */
        if (c.pos >= len) {
            diag_error(d, (SrcLoc){0}, "%s: truncated at byte %zu, before the raster", path, c.pos);
            goto fail;
        }
        if (!pgm_space(buf[c.pos])) {
            diag_error(d, (SrcLoc){0},
                       "%s: byte %zu: a comment right after maxval, where one white-space byte "
                       "must come before the raster",
                       path, c.pos);
            goto fail;
        }
        c.pos++;
        size_t bps = maxval < 256 ? 1 : 2;
        if (len - c.pos < npix * bps) {
            diag_error(d, (SrcLoc){0}, "%s: truncated at byte %zu (expected %zu bytes)", path, len,
                       c.pos + npix * bps);
            goto fail;
        }
        out = malloc(npix * sizeof *out);
        if (!out) {
            diag_error(d, (SrcLoc){0}, "%s: cannot allocate %zu pixels", path, npix);
            goto fail;
        }
        const uint8_t *p = buf + c.pos;
        for (size_t k = 0; k < npix; k++) {
            uint32_t v = bps == 1 ? p[k] : (uint32_t)p[2 * k] << 8 | p[2 * k + 1];
            if (v > maxval) {
                diag_error(d, (SrcLoc){0},
                           "%s: pixel %zu at byte %zu has value %u, above maxval %u", path, k,
                           c.pos + k * bps, v, maxval);
                goto fail;
            }
            out[k] = pgm_value(v, scale);
        }
    }
    *h = (int)ht;
    *w = (int)wd;
    goto done;
fail:
    free(out);
    out = NULL;
done:
    free(buf);
    return out;
}

/* ---- raw float32 ---- */

float *f32_load(const char *path, int64_t per, int *n, Diag *d)
{
    uint8_t *buf;
    size_t len, bytes = (size_t)per * sizeof(float);
    if (!read_all(path, &buf, &len, F32_MAX_FILE, d))
        return NULL;
    if (len == 0 || len % bytes != 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: %zu bytes is not a whole number of inputs of %lld floats (%zu bytes each)",
                   path, len, (long long)per, bytes);
        free(buf);
        return NULL;
    }
    float *v = (float *)(void *)buf; /* malloc's alignment */
    for (size_t k = 0; k < len / sizeof(float); k++) {
        if (!isfinite(v[k])) {
            diag_error(d, (SrcLoc){0},
                       "%s: value %zu of input %zu (byte %zu) is %s; inputs must "
                       "be finite",
                       path, k % (size_t)per, k / (size_t)per, k * sizeof(float),
                       isnan(v[k]) ? "nan" : "infinite");
            free(buf);
            return NULL;
        }
    }
    *n = (int)(len / bytes);
    return v;
}
