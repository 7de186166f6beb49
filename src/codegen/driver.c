/* driver.c (netc's src/codegen/): the command-line driver `netc --main` appends to a
 * generated program, copied in verbatim after the NETC_MAIN_* macros that name the network:
 *   PROGRAM IMAGES-idx3-ubyte [LABELS-idx1-ubyte]  the class of every image, or with labels
 *                                                  the accuracy; the time per image
 *   PROGRAM IMAGE.pgm                              the class and its probability
 * A network whose output is an image (no class scores) prints every output of every image
 * instead, a CSV row an image in C, H, W order, as `netrun --predict --logits` writes it.
 * An image is read as netrun reads it: x/255 (x/maxval for PGM), then the train section's
 * normalisation, in the same operations, so both give the same outputs. A file that does
 * not fit the network (size, channels, labels) is refused with one message and exit 1.
 *
 * Design choice: the driver knows the network only through these macros, so it is compiled
 * and tested as C on its own (tests/codegen/driver.sh, against a stub network):
 *   NETC_MAIN_NAME      the network's name, a string, for messages
 *   NETC_MAIN_FORWARD   its forward function: void f(const float *in, float *out)
 *   NETC_MAIN_IN_SIZE   floats in, NETC_MAIN_OUT_SIZE floats out
 *   NETC_MAIN_IN_C, _H, _W   the input image's channels, height and width (0 for a flat
 *                       input, which takes any image of NETC_MAIN_IN_SIZE pixels)
 *   NETC_MAIN_MEAN, NETC_MAIN_STD   the normalisation (std 0: none)
 *   NETC_MAIN_SCORES    1 if the output is a vector of class scores, 0 for an image of
 *                       shape NETC_MAIN_OUT_SHAPE (a string, "3x13x13") or one value
 *   NETC_MAIN_PROBS     1 if those scores are probabilities already (the net ends in
 *                       Softmax): printed as they are, not through a softmax
 *   NETC_MAIN_VALUES    1 if they are an activation's values (Sigmoid's...): printed as
 *                       they are, and not as probabilities */
#ifndef _POSIX_C_SOURCE /* for clock_gettime (netc defines it at the top of the program) */
#define _POSIX_C_SOURCE 200112L
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef NETC_MAIN_SCORES
#define NETC_MAIN_SCORES 1
#define NETC_MAIN_OUT_SHAPE ""
#endif
#ifndef NETC_MAIN_PROBS
#define NETC_MAIN_PROBS 0
#endif
#ifndef NETC_MAIN_VALUES
#define NETC_MAIN_VALUES 0
#endif

void NETC_MAIN_FORWARD(const float *in, float *out);

/* Every output as a CSV row (an image output: no class to print). */
static void netc_print_outputs(const float *out)
{
    for (int k = 0; k < NETC_MAIN_OUT_SIZE; k++)
        printf(k ? ",%.9g" : "%.9g", (double)out[k]);
    putchar('\n');
}

static double netc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints "NAME: path: message" and returns 1, the exit code of bad input. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
netc_fail(const char *path, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: %s: ", NETC_MAIN_NAME, path);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* The whole file, malloc'ed (NULL after a message if it cannot be read). */
static unsigned long netc_be32(const unsigned char *p);

/* The file at path, whole; NULL after a message. An IDX file is read up to one byte past
 * the size its header gives (that byte is trailing data, refused by the caller), anything
 * else up to 2 GiB: an endless stream (a FIFO) is not read into all the memory there is.
 * head (or NULL) sees the first 16 bytes (fewer in a shorter file) before the rest is
 * read, and refuses the file by returning 0 after a message: a header that does not fit
 * the network is not read on for gigabytes. */
typedef int (*netc_head_fn)(const char *path, const unsigned char *d, size_t n, unsigned long arg);
static unsigned char *netc_read_file(const char *path, size_t *len, netc_head_fn head,
                                     unsigned long arg)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0, got, limit = (size_t)1 << 31;
    int seen = head == NULL;
    if (!f) {
        netc_fail(path, "cannot open");
        return NULL;
    }
    do {
        if (n == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : (size_t)1 << 16;
            nb = (unsigned char *)realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                netc_fail(path, "out of memory");
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, (cap - n < limit + 1 - n ? cap - n : limit + 1 - n), f);
        n += got;
        if (!seen && (n >= 16 || got == 0)) {
            seen = 1;
            if (!head(path, buf, n, arg)) {
                free(buf);
                fclose(f);
                return NULL;
            }
        }
        if (n >= 16 && limit == (size_t)1 << 31) { /* an IDX header: its size, if sane */
            unsigned long magic = netc_be32(buf), count = netc_be32(buf + 4);
            double bytes = (double)count * (double)netc_be32(buf + 8) * (double)netc_be32(buf + 12);
            if (magic == 0x803 && bytes < (double)((size_t)1 << 31))
                limit = 16 + (size_t)bytes;
            else if (magic == 0x801)
                limit = 8 + (size_t)count;
        }
    } while (got > 0 && n <= limit);
    if (ferror(f)) {
        free(buf);
        fclose(f);
        netc_fail(path, "read error (a directory?)");
        return NULL;
    }
    fclose(f);
    if (n > limit && limit == (size_t)1 << 31) {
        free(buf);
        netc_fail(path, "larger than 2 GiB: not an input this driver reads");
        return NULL;
    }
    *len = n;
    return buf;
}

static unsigned long netc_be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int netc_argmax(const float *v)
{
    int best = 0;
    for (int i = 1; i < NETC_MAIN_OUT_SIZE; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static const double netc_mean = NETC_MAIN_MEAN, netc_std = NETC_MAIN_STD;

/* An IDX byte as netrun reads it: x/255, then (x - mean)/std, in float. */
static float netc_idx_pixel(unsigned char v)
{
    float x = (float)v / 255.0f;
    return netc_std > 0 ? (x - (float)netc_mean) / (float)netc_std : x;
}

/* A PGM sample as netrun reads it: with a maxval below 256, PIL's 8-bit value
 * round(v / maxval * 255) (half to even) over 255, else v / maxval, in float; then
 * (x - mean) / std in float. */
static float netc_pgm_pixel(unsigned long v, unsigned long maxval)
{
    float x = maxval < 256 ? (float)nearbyint((double)v / (double)maxval * 255.0) / 255.0f
                           : (float)v / (float)maxval;
    return netc_std > 0 ? (x - (float)netc_mean) / (float)netc_std : x;
}

/* Whether one-channel images of w x h pixels fit the network's input; if not, says why and
 * returns 0. idx: the images of an IDX file, else a PGM image. */
static int netc_fits(const char *path, int idx, unsigned long w, unsigned long h)
{
    const char *are = idx ? "images are" : "image is";
    if (NETC_MAIN_IN_C > 1) {
        netc_fail(path, "%s one-channel; the network takes %dx%dx%d (CxHxW)", are, NETC_MAIN_IN_C,
                  NETC_MAIN_IN_H, NETC_MAIN_IN_W);
        return 0;
    }
    if (NETC_MAIN_IN_C == 0 && w * h != NETC_MAIN_IN_SIZE) {
        netc_fail(path, "%s %lux%lu (%lu values); the network takes %d values", are, w, h, w * h,
                  NETC_MAIN_IN_SIZE);
        return 0;
    }
    if (NETC_MAIN_IN_C == 1 && (w != NETC_MAIN_IN_W || h != NETC_MAIN_IN_H)) {
        netc_fail(path, "%s %lux%lu (width x height); the network takes %dx%d", are, w, h,
                  NETC_MAIN_IN_W, NETC_MAIN_IN_H);
        return 0;
    }
    return 1;
}

/* ---- PGM (netpbm's P5, and plain P2) ---- */

static int netc_pgm_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips white space and comments, then reads a decimal number ending at white space, a
 * comment or the end of the file. Returns 0 if there is none, or it has over 7 significant
 * digits (no field we accept is that large; leading zeros do not count, as netrun's). */
static int netc_pgm_number(const unsigned char *d, size_t len, size_t *pos, unsigned long *v)
{
    int digits = 0, significant = 0; /* leading zeros are read as netrun reads them */
    while (*pos < len && (netc_pgm_space(d[*pos]) || d[*pos] == '#'))
        if (d[*pos] == '#')
            while (*pos < len && d[*pos] != '\n' && d[*pos] != '\r')
                ++*pos;
        else
            ++*pos;
    *v = 0;
    for (; *pos < len && d[*pos] >= '0' && d[*pos] <= '9'; ++*pos, digits++) {
        if (*v == 0 && d[*pos] == '0')
            continue;
        if (++significant > 7)
            return 0;
        *v = *v * 10 + (unsigned long)(d[*pos] - '0');
    }
    return digits > 0 && (*pos == len || netc_pgm_space(d[*pos]) || d[*pos] == '#');
}

static int netc_pgm(const char *path, const unsigned char *d, size_t len)
{
    static const char *const field[3] = {"width", "height", "maxval"};
    /* not on the stack: an image output can be larger than a stack */
    static float img[NETC_MAIN_IN_SIZE], out[NETC_MAIN_OUT_SIZE];
    unsigned long v[3], px;
    size_t pos = 2, bytes;
    int plain = d[1] == '2', best;
    double mx, sum = 0;
    if (pos < len && !netc_pgm_space(d[pos]) && d[pos] != '#')
        return netc_fail(path, "not a PGM: expected white space after 'P%c'", d[1]);
    for (int k = 0; k < 3; k++)
        if (!netc_pgm_number(d, len, &pos, &v[k]))
            return netc_fail(path, "expected the %s (a number) at byte %lu", field[k],
                             (unsigned long)pos);
    if (v[2] < 1 || v[2] > 65535)
        return netc_fail(path, "maxval %lu is out of range (expected 1..65535)", v[2]);
    if (!netc_fits(path, 0, v[0], v[1]))
        return 1;
    /* P5: one white-space byte, then the samples, two bytes each (big-endian) from maxval
     * 256 on */
    bytes = v[2] < 256 ? 1 : 2;
    if (!plain && pos < len && !netc_pgm_space(d[pos])) /* netrun's rule too */
        return netc_fail(path,
                         "byte %lu: a comment right after maxval, where one white-space byte "
                         "must come before the raster",
                         (unsigned long)pos);
    if (!plain && (++pos > len || len - pos < (size_t)NETC_MAIN_IN_SIZE * bytes))
        return netc_fail(path, "truncated: %d pixels need %lu bytes after the header, %lu left",
                         NETC_MAIN_IN_SIZE, (unsigned long)(NETC_MAIN_IN_SIZE * bytes),
                         pos < len ? (unsigned long)(len - pos) : 0ul);
    for (int i = 0; i < NETC_MAIN_IN_SIZE; i++) {
        if (!plain) {
            px = bytes == 1
                     ? d[pos + (size_t)i]
                     : (unsigned long)d[pos + 2 * (size_t)i] << 8 | d[pos + 2 * (size_t)i + 1];
        } else if (!netc_pgm_number(d, len, &pos, &px)) {
            return netc_fail(path, "expected pixel %d of %d (a number) at byte %lu", i,
                             NETC_MAIN_IN_SIZE, (unsigned long)pos);
        }
        if (px > v[2])
            return netc_fail(path, "pixel %d is %lu, above maxval %lu", i, px, v[2]);
        img[i] = netc_pgm_pixel(px, v[2]);
    }
    NETC_MAIN_FORWARD(img, out);
    if (!NETC_MAIN_SCORES) {
        netc_print_outputs(out);
        return 0;
    }
    best = netc_argmax(out);
    mx = (double)out[best];
    for (int i = 0; i < NETC_MAIN_OUT_SIZE; i++)
        sum += exp((double)out[i] - mx);
    if (NETC_MAIN_VALUES)
        printf("%d  (out=%.4g)\n", best, (double)out[best]);
    else
        printf("%d  (p=%.3f)\n", best, NETC_MAIN_PROBS ? (double)out[best] : 1.0 / sum);
    return 0;
}

/* ---- IDX ---- */

static const char *netc_thousands(unsigned long v, char *buf)
{
    char tmp[32];
    int len = sprintf(tmp, "%lu", v), k = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = 0;
    return buf;
}

/* The timed pass over n images (px: n x NETC_MAIN_IN_SIZE bytes): converted first, a
 * warm-up, then every image once; then the accuracy against labels, or every class. */
static int netc_classify(const char *path, const unsigned char *px, unsigned long n,
                         const unsigned char *labels)
{
    static float out[NETC_MAIN_OUT_SIZE]; /* not on the stack: an image output can be large */
    float *imgs;
    int *pred;
    unsigned long correct = 0;
    double t0, t1;
    char nb[32];
    if (n > (size_t)-1 / sizeof(float) / NETC_MAIN_IN_SIZE)
        return netc_fail(path, "out of memory");
    imgs = (float *)malloc(sizeof(float) * (size_t)n * NETC_MAIN_IN_SIZE);
    pred = (int *)malloc(sizeof(int) * (size_t)n);
    if (!imgs || !pred) {
        free(imgs);
        free(pred);
        return netc_fail(path, "out of memory");
    }
    for (size_t i = 0; i < (size_t)n * NETC_MAIN_IN_SIZE; i++)
        imgs[i] = netc_idx_pixel(px[i]);
    /* warm-up: caches and predictors as a long-running program has them */
    for (unsigned long i = 0; i < n && i < 64; i++)
        NETC_MAIN_FORWARD(imgs + i * NETC_MAIN_IN_SIZE, out);
    t0 = netc_now();
    for (unsigned long i = 0; i < n; i++) {
        NETC_MAIN_FORWARD(imgs + i * NETC_MAIN_IN_SIZE, out);
        pred[i] = netc_argmax(out);
    }
    t1 = netc_now();
    for (unsigned long i = 0; i < n && !NETC_MAIN_SCORES; i++) { /* every output, untimed */
        NETC_MAIN_FORWARD(imgs + i * NETC_MAIN_IN_SIZE, out);
        netc_print_outputs(out);
    }
    for (unsigned long i = 0; i < n && NETC_MAIN_SCORES; i++) {
        if (labels)
            correct += pred[i] == labels[i];
        else
            printf("%lu %d\n", i, pred[i]);
    }
    if (labels)
        printf("accuracy %.4f (%s images), %.1f us/image\n", (double)correct / (double)n,
               netc_thousands(n, nb), (t1 - t0) * 1e6 / (double)n);
    else
        fprintf(stderr, "%s images, %.1f us/image\n", netc_thousands(n, nb),
                (t1 - t0) * 1e6 / (double)n);
    free(imgs);
    free(pred);
    return 0;
}

/* An IDX label file's count against the n images, from its header */
static int netc_labels_head(const char *path, const unsigned char *d, size_t len, unsigned long n)
{
    if (len >= 8 && netc_be32(d) == 0x801 && netc_be32(d + 4) != n) {
        netc_fail(path, "holds %lu labels for %lu images", netc_be32(d + 4), n);
        return 0;
    }
    return 1;
}

/* The labels of n images from an IDX label file (magic 0x00000801), checked against the
 * network's outputs; NULL after a message. The caller frees *file. */
static const unsigned char *netc_labels(const char *path, unsigned long n, unsigned char **file)
{
    size_t len = 0;
    unsigned char *d = *file = netc_read_file(path, &len, netc_labels_head, n);
    if (!d)
        return NULL;
    if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b) {
        netc_fail(path, "gzip file: decompress it first (gunzip -k)");
        return NULL;
    }
    if (len < 8 || netc_be32(d) != 0x801) {
        netc_fail(path, "not an IDX label file (which starts 00 00 08 01)");
        return NULL;
    }
    if (netc_be32(d + 4) != n) {
        netc_fail(path, "holds %lu labels for %lu images", netc_be32(d + 4), n);
        return NULL;
    }
    if (len - 8 != n) { /* as netrun: a count that disagrees with the file is no count */
        if (len - 8 < n)
            netc_fail(path, "truncated: %lu labels need %lu bytes, the file has %lu", n, n + 8,
                      (unsigned long)len);
        else
            netc_fail(path, "unexpected data after byte %lu (%lu labels)", n + 8, n);
        return NULL;
    }
    for (unsigned long i = 0; i < n; i++) {
        unsigned long label = d[8 + i];
        if (label >= NETC_MAIN_OUT_SIZE) {
            netc_fail(path, "label %lu of record %lu is beyond the network's %d outputs", label, i,
                      NETC_MAIN_OUT_SIZE);
            return NULL;
        }
    }
    return d + 8;
}

/* An IDX image file (magic 0x00000803: n x rows x cols bytes) and optional labels. */
static int netc_idx(const char *path, const unsigned char *d, size_t len, const char *lpath)
{
    unsigned long n, rows, cols;
    unsigned char *lfile = NULL;
    const unsigned char *labels = NULL;
    int status;
    if (len < 16 || netc_be32(d) != 0x803)
        return netc_fail(path, "neither an IDX image file (which starts 00 00 08 03) nor a PGM");
    n = netc_be32(d + 4);
    rows = netc_be32(d + 8);
    cols = netc_be32(d + 12);
    if (!netc_fits(path, 1, cols, rows))
        return 1;
    if (n == 0)
        return netc_fail(path, "holds no images");
    if ((len - 16) / NETC_MAIN_IN_SIZE < n)
        return netc_fail(path, "truncated: %lu images of %d bytes need %lu bytes, the file has %lu",
                         n, NETC_MAIN_IN_SIZE, 16 + n * NETC_MAIN_IN_SIZE, (unsigned long)len);
    if (len - 16 != n * NETC_MAIN_IN_SIZE) /* as netrun: the header's count is the file's */
        return netc_fail(path, "unexpected data after byte %lu (%lu images of %d bytes)",
                         16 + n * NETC_MAIN_IN_SIZE, n, NETC_MAIN_IN_SIZE);
    if (lpath && !(labels = netc_labels(lpath, n, &lfile))) {
        free(lfile);
        return 1;
    }
    status = netc_classify(path, d + 16, n, labels);
    free(lfile);
    return status;
}

/* An IDX image file's size against the network's input, from its header */
static int netc_images_head(const char *path, const unsigned char *d, size_t len,
                            unsigned long unused)
{
    (void)unused;
    return len < 16 || netc_be32(d) != 0x803 ||
           netc_fits(path, 1, netc_be32(d + 12), netc_be32(d + 8));
}

int main(int argc, char **argv)
{
    size_t len = 0;
    unsigned char *d;
    int status;
    if (argc < 2 || argc > 3) {
        fprintf(stderr,
                "usage: %s IMAGES-idx3-ubyte [LABELS-idx1-ubyte] | IMAGE.pgm\n"
                "runs the %s network (input %d values, %d outputs%s%s%s)\n",
                argv[0], NETC_MAIN_NAME, NETC_MAIN_IN_SIZE, NETC_MAIN_OUT_SIZE,
                NETC_MAIN_SCORES ? "" : ": an image of ",
                NETC_MAIN_SCORES ? "" : NETC_MAIN_OUT_SHAPE,
                NETC_MAIN_SCORES ? "" : ", printed as a CSV row an image");
        return 2;
    }
    if (argc == 3 && !NETC_MAIN_SCORES)
        return netc_fail(argv[2],
                         "labels need class scores, but the %s network's output is an image "
                         "(%s)",
                         NETC_MAIN_NAME, NETC_MAIN_OUT_SHAPE);
    d = netc_read_file(argv[1], &len, netc_images_head, 0);
    if (!d)
        return 1;
    if (len >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '2'))
        status = argc == 3 ? netc_fail(argv[2], "labels go with IDX images, not with a PGM")
                           : netc_pgm(argv[1], d, len);
    else if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b)
        status = netc_fail(argv[1], "gzip file: decompress it first (gunzip -k)");
    else
        status = netc_idx(argv[1], d, len, argc == 3 ? argv[2] : NULL);
    free(d);
    return status;
}
