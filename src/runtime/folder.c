/* folder.c: a data set of image files in class folders (torchvision's ImageFolder):
 * DIR/train/<class>/ and DIR/test/<class>/ holding .png, .jpg or .jpeg files, decoded by libpng and
 * libjpeg(-turbo).
 *
 * Design choice: the classes are the training split's folder names in byte order (their
 * index is the label); the first image fixes the size and channels (1: gray, 3: colour) and
 * every other one must match, since the net takes one shape. Files are decoded in parallel
 * (OpenMP), each into its own slot, and the first failure in file order is reported after
 * the loop, so the message does not depend on the thread count. Images are kept as bytes,
 * channels first, as the other loaders keep them. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>

#include "data.h"
#include "fileio.h"

enum { MSG = 200 };

typedef struct Decoded {
    int w, h, c;
    uint8_t *px; /* h x w x c, interleaved, or NULL */
    char why[MSG];
} Decoded;

static bool has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n <= e)
        return false;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)name[n - e + i]) != ext[i])
            return false;
    return true;
}

static bool is_png(const char *name) { return has_ext(name, ".png"); }

static bool is_image(const char *name)
{
    return is_png(name) || has_ext(name, ".jpg") || has_ext(name, ".jpeg");
}

/* libpng's errors: the message kept, then back to decode_png's setjmp. */
typedef struct PngErr {
    jmp_buf jb;
    char msg[MSG];
} PngErr;

static void png_fail(png_structp p, png_const_charp m)
{
    PngErr *e = png_get_error_ptr(p);
    snprintf(e->msg, MSG, "%s", m);
    longjmp(e->jb, 1);
}

static void png_quiet(png_structp p, png_const_charp m)
{
    (void)p, (void)m; /* a warning (a bad ancillary chunk) is not the user's business */
}

/* The samples as the file stores them, as PIL reads them for torchvision: palettes expanded
 * to RGB, gray below 8 bits widened, and no colour management (a gAMA, cHRM, sRGB or iCCP
 * chunk changes nothing; libpng's simplified API would convert to sRGB by it). 16-bit
 * samples have no one reading (PIL keeps a colour image's high bytes but clips a gray one)
 * and are refused, as is an alpha channel. A tRNS chunk (one gray value, colour or palette
 * entries marked transparent) changes no sample: it is dropped, as PIL's convert('RGB')
 * drops it (libpng would otherwise expand it into an alpha channel). */
static void decode_png(FILE *f, Decoded *out)
{
    PngErr err = {.msg = ""};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_fail, png_quiet);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (!info) {
        snprintf(out->why, MSG, "out of memory");
    } else if (setjmp(err.jb)) {
        snprintf(out->why, MSG, "not a PNG libpng can read (cut short or corrupt): %.100s",
                 err.msg);
    } else {
        png_init_io(p, f);
        /* a chunk whose CRC is wrong is damage, ancillary or not: PIL refuses the file
         * (libpng would warn about an ancillary one and drop it) */
        png_set_crc_action(p, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
        png_read_info(p, info);
        png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
        int depth = png_get_bit_depth(p, info), type = png_get_color_type(p, info);
        int c = type & PNG_COLOR_MASK_COLOR ? 3 : 1; /* a palette is colour */
        bool trns = png_get_valid(p, info, PNG_INFO_tRNS) != 0;
        if (type & PNG_COLOR_MASK_ALPHA) {
            snprintf(out->why, MSG,
                     "has an alpha channel; netrun takes gray (1 channel) or colour (3) images");
        } else if (w > 4096 || h > 4096) {
            snprintf(out->why, MSG, "%ux%u pixels; netrun takes at most 4096 a side", w, h);
        } else if (depth == 16) {
            snprintf(out->why, MSG,
                     "has 16 bits a sample; netrun takes 8-bit PNGs (as torchvision reads "
                     "them: PIL has no one 8-bit reading of 16-bit ones)");
        } else {
            bool pal = type == PNG_COLOR_TYPE_PALETTE;
            if (pal && depth < 8) /* an index a byte, expanded below */
                png_set_packing(p);
            else if (depth < 8)
                png_set_expand_gray_1_2_4_to_8(p);
            if (trns && !pal) /* the alpha the expansion would make of it */
                png_set_strip_alpha(p);
            png_set_interlace_handling(p);
            png_read_update_info(p, info);
            size_t row = (size_t)w * (size_t)(pal ? 1 : c);
            if (png_get_rowbytes(p, info) != row)
                png_error(p, "unexpected row size"); /* not reached: the transforms give it */
            px = malloc((size_t)w * c * h);
            rows = malloc(sizeof *rows * h);
            if (!px || !rows) {
                snprintf(out->why, MSG, "out of memory");
            } else {
                for (png_uint_32 y = 0; y < h; y++)
                    rows[y] = px + row * y;
                png_read_image(p, rows);
                png_read_end(p, NULL);
                png_colorp plte = NULL;
                int ncolours = 0;
                if (pal)
                    png_get_PLTE(p, info, &plte, &ncolours);
                /* the indices to RGB, from the last (3i >= i: no index is overwritten before
                 * it is read); one past the palette makes the file invalid (libpng's own
                 * expansion would give black, PIL gray) */
                bool valid = true;
                for (size_t i = pal ? (size_t)w * h : 0; valid && i-- > 0;) {
                    int k = px[i];
                    if (k >= ncolours) {
                        valid = false;
                        snprintf(out->why, MSG,
                                 "an invalid PNG: palette index %d past the palette's %d colours",
                                 k, ncolours);
                        break;
                    }
                    px[3 * i] = plte[k].red, px[3 * i + 1] = plte[k].green;
                    px[3 * i + 2] = plte[k].blue;
                }
                if (valid) {
                    out->px = px, px = NULL;
                    out->w = (int)w, out->h = (int)h, out->c = c;
                }
            }
        }
    }
    png_destroy_read_struct(&p, &info, NULL);
    free(px);
    free(rows);
}

typedef struct JpegErr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *why;
} JpegErr;

static void jpeg_fail(j_common_ptr cinfo)
{
    JpegErr *e = (JpegErr *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    e->pub.format_message(cinfo, msg);
    snprintf(e->why, MSG, "not a JPEG libjpeg can read: %.150s", msg);
    longjmp(e->jump, 1);
}

/* libjpeg's warnings (level -1): corrupt data it would decode around (a cut file: gray
 * rows). The file is refused at the first: decoding on past it cost minutes for a file of
 * ten thousand bogus scans. */
static void jpeg_warning(j_common_ptr cinfo, int level)
{
    JpegErr *e = (JpegErr *)cinfo->err;
    if (level >= 0)
        return;
    char msg[JMSG_LENGTH_MAX];
    e->pub.format_message(cinfo, msg);
    snprintf(e->why, MSG, "a damaged JPEG (cut short or corrupt): %.150s", msg);
    longjmp(e->jump, 1);
}

/* A progressive JPEG's scans each pass over the whole image: a small file of thousands of
 * them would take minutes (libjpeg-turbo's advice: cap them, as djpeg -maxscans does).
 * Encoders write about ten. */
#define JPEG_MAX_SCANS 500

static void jpeg_progress(j_common_ptr cinfo)
{
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    JpegErr *e = (JpegErr *)cinfo->err;
    if (cinfo->is_decompressor && dinfo->input_scan_number > JPEG_MAX_SCANS) {
        snprintf(e->why, MSG, "a progressive JPEG of more than %d scans (encoders write about 10)",
                 JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void decode_jpeg(FILE *f, Decoded *out)
{
    struct jpeg_decompress_struct cinfo;
    JpegErr err;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_warning;
    err.why = out->why;
    struct jpeg_progress_mgr progress = {.progress_monitor = jpeg_progress};
    uint8_t *volatile px = NULL;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        return;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        /* libjpeg makes no RGB of it, and PIL's conversion (with Adobe's inverted CMYK) is
         * not one to guess at */
        snprintf(out->why, MSG,
                 "a CMYK JPEG; netrun reads gray and RGB JPEGs (convert it to RGB, as PIL's "
                 "Image.convert('RGB') does)");
        jpeg_destroy_decompress(&cinfo);
        return;
    }
    int c = cinfo.num_components == 1 ? 1 : 3;
    cinfo.out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if (cinfo.image_width > 4096 || cinfo.image_height > 4096) {
        snprintf(out->why, MSG, "%ux%u pixels; netrun takes at most 4096 a side", cinfo.image_width,
                 cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return;
    }
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * (size_t)c;
    px = malloc(row * cinfo.output_height);
    if (!px) {
        snprintf(out->why, MSG, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW r = px + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_decompress(&cinfo);
    out->w = (int)cinfo.output_width;
    out->h = (int)cinfo.output_height;
    out->c = c;
    out->px = px;
    jpeg_destroy_decompress(&cinfo);
}

/* Opens path once and decodes it as a PNG or a JPEG: by `png`, or with sniff by the file's
 * first bytes, as PIL tells them (a PNG named .jpg is a PNG), and by its name when they are
 * neither, for the decoder's own message. */
static void decode_as(const char *path, bool png, bool sniff, Decoded *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        char eb[128];
        snprintf(out->why, MSG, "cannot open: %s", io_errstr(errno, eb, sizeof eb));
        return;
    }
    if (sniff) {
        unsigned char sig[4] = {0};
        size_t n = fread(sig, 1, sizeof sig, f);
        bool is_jpeg = n >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff;
        png = (n == 4 && !memcmp(sig, "\x89PNG", 4)) || (!is_jpeg && is_png(path));
        rewind(f);
    }
    if (png)
        decode_png(f, out);
    else
        decode_jpeg(f, out);
    fclose(f);
}

static void decode(const char *path, Decoded *out) { decode_as(path, false, true, out); }

/* ---- resize: PIL's Image.resize((w, h), BILINEAR), which torchvision's Resize((h, w)) calls
 * on the PIL images ImageFolder loads ----
 *
 * PIL's algorithm (libImaging/Resample.c), followed step for step so that the bytes are
 * PIL's: a triangle filter widened by the scale when shrinking (antialiasing), coefficients
 * normalised, then turned into 22-bit fixed point; the horizontal pass into an 8-bit
 * intermediate image first, then the vertical pass, each output byte rounded and clipped. */

enum { RESIZE_BITS = 32 - 8 - 2 };

/* For each of out output positions: the first input index (*lo), the count (*cnt) and
 * ksize fixed-point weights. NULL when out of memory. */
static int *resize_coeffs(int in, int out, int **lo, int **cnt, int *ksize_out)
{
    double scale = (double)in / out, fs = scale < 1.0 ? 1.0 : scale, support = fs;
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = malloc(sizeof *k * (size_t)ksize);
    int *kk = malloc(sizeof *kk * (size_t)out * (size_t)ksize);
    *lo = malloc(sizeof **lo * (size_t)out);
    *cnt = malloc(sizeof **cnt * (size_t)out);
    if (!k || !kk || !*lo || !*cnt) {
        free(k);
        free(kk);
        free(*lo);
        free(*cnt);
        return NULL;
    }
    for (int x = 0; x < out; x++) {
        double center = (x + 0.5) * scale, ww = 0.0, ss = 1.0 / fs;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0)
            xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in)
            xmax = in;
        xmax -= xmin;
        for (int i = 0; i < xmax; i++) {
            double t = fabs((i + xmin - center + 0.5) * ss), w = t < 1.0 ? 1.0 - t : 0.0;
            k[i] = w;
            ww += w;
        }
        for (int i = 0; i < ksize; i++) {
            double w = i < xmax && ww != 0.0 ? k[i] / ww : 0.0;
            kk[x * ksize + i] =
                (int)(w < 0 ? -0.5 + w * (1 << RESIZE_BITS) : 0.5 + w * (1 << RESIZE_BITS));
        }
        (*lo)[x] = xmin;
        (*cnt)[x] = xmax;
    }
    free(k);
    *ksize_out = ksize;
    return kk;
}

static uint8_t clip8(int64_t v)
{
    if (v >= (int64_t)1 << RESIZE_BITS << 8)
        return 255;
    if (v <= 0)
        return 0;
    return (uint8_t)(v >> RESIZE_BITS);
}

uint8_t *image_resize(const uint8_t *src, int w, int h, int c, int ow, int oh)
{
    int *xlo, *xn, *ylo, *yn, xk, yk;
    int *kx = resize_coeffs(w, ow, &xlo, &xn, &xk);
    int *ky = kx ? resize_coeffs(h, oh, &ylo, &yn, &yk) : NULL;
    uint8_t *mid = ky ? malloc((size_t)ow * (size_t)h * (size_t)c) : NULL;
    uint8_t *dst = mid ? malloc((size_t)ow * (size_t)oh * (size_t)c) : NULL;
    if (dst) {
        const int64_t half = (int64_t)1 << (RESIZE_BITS - 1);
        for (int y = 0; y < h; y++) /* horizontal: h x ow */
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++) {
                    int64_t s = half;
                    for (int i = 0; i < xn[x]; i++)
                        s += (int64_t)src[((size_t)y * (size_t)w + (size_t)(xlo[x] + i)) * c + ch] *
                             kx[x * xk + i];
                    mid[((size_t)y * (size_t)ow + (size_t)x) * c + ch] = clip8(s);
                }
        for (int y = 0; y < oh; y++) /* vertical: oh x ow */
            for (int x = 0; x < ow; x++)
                for (int ch = 0; ch < c; ch++) {
                    int64_t s = half;
                    for (int i = 0; i < yn[y]; i++)
                        s +=
                            (int64_t)mid[((size_t)(ylo[y] + i) * (size_t)ow + (size_t)x) * c + ch] *
                            ky[y * yk + i];
                    dst[((size_t)y * (size_t)ow + (size_t)x) * c + ch] = clip8(s);
                }
    }
    if (kx) {
        free(kx);
        free(xlo);
        free(xn);
    }
    if (ky) {
        free(ky);
        free(ylo);
        free(yn);
    }
    free(mid);
    return dst;
}

static uint8_t *decoded(const Decoded *dec, int *w, int *h, int *c, char why[200])
{
    *w = dec->w;
    *h = dec->h;
    *c = dec->c;
    memcpy(why, dec->why, MSG);
    return dec->px;
}

uint8_t *image_decode(const char *path, bool png, int *w, int *h, int *c, char why[200])
{
    Decoded dec = {0};
    decode_as(path, png, false, &dec);
    return decoded(&dec, w, h, c, why);
}

uint8_t *image_load(const char *path, int *w, int *h, int *c, char why[200])
{
    Decoded dec = {0};
    decode(path, &dec);
    return decoded(&dec, w, h, c, why);
}

bool image_named(const char *path) { return is_image(path); }

/* The next code point of s at *i as Python reads a file name (UTF-8 with surrogateescape):
 * a well-formed sequence its code point, any other byte b the lone surrogate U+DC00 + b. */
static uint32_t next_code(const unsigned char *s, size_t *i)
{
    unsigned c = s[*i];
    int n = c < 0x80                 ? 0
            : c >= 0xc2 && c <= 0xdf ? 1
            : c >= 0xe0 && c <= 0xef ? 2
            : c >= 0xf0 && c <= 0xf4 ? 3
                                     : -1;
    uint32_t v = n == 0 ? c : n == 1 ? c & 0x1f : n == 2 ? c & 0x0f : c & 0x07;
    for (int k = 1; k <= n; k++) {
        unsigned b = s[*i + (size_t)k];
        /* the second byte's range rules out overlong forms, surrogates and past U+10FFFF */
        unsigned lo = k > 1 ? 0x80 : c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        unsigned hi = k > 1 ? 0xbf : c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        if (b < lo || b > hi) {
            n = -1;
            break;
        }
        v = v << 6 | (b & 0x3f);
    }
    if (n < 0) {
        (*i)++;
        return 0xdc00 + c;
    }
    *i += (size_t)n + 1;
    return v;
}

/* Orders names as Python's sorted() orders them (by code point, an undecodable byte as its
 * surrogate): the order of torchvision's classes and files; bytewise for valid UTF-8. */
static int py_strcmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t i = 0, j = 0;
    while (x[i] && y[j]) {
        uint32_t p = next_code(x, &i), q = next_code(y, &j);
        if (p != q)
            return p < q ? -1 : 1;
    }
    return x[i] ? 1 : y[j] ? -1 : 0;
}

static int by_name(const void *a, const void *b)
{
    return py_strcmp(*(char *const *)a, *(char *const *)b);
}

/* rel/name (name alone when rel is ""), malloc'd; NULL when out of memory. */
static char *join_rel(const char *rel, const char *name)
{
    size_t len = strlen(rel) + strlen(name) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", rel, *rel ? "/" : "", name);
    return s;
}

/* A growing list of names. */
typedef struct Names {
    char **v;
    int n, cap;
} Names;

static bool names_add(Names *l, char *name)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **nv = realloc(l->v, sizeof *nv * (size_t)cap);
        if (!nv) {
            free(name);
            return false;
        }
        l->v = nv;
        l->cap = cap;
    }
    if (!name)
        return false;
    l->v[l->n++] = name;
    return true;
}

static void free_list(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* The list sorted by `order` (its count in *n), or when !ok, NULL with the list freed. */
static char **names_done(Names *l, bool ok, int (*order)(const void *, const void *), int *n)
{
    if (!ok) {
        free_list(l->v, l->n);
        return NULL;
    }
    if (l->n > 1)
        qsort(l->v, (size_t)l->n, sizeof *l->v, order);
    *n = l->n;
    return l->v ? l->v : calloc(1, sizeof *l->v);
}

/* The folders in dir, sorted as Python sorts their names (py_strcmp), leaving out hidden ones. */
static char **list(const char *dir, int *n, Diag *d)
{
    DIR *dp = opendir(dir);
    *n = 0;
    if (!dp) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", dir, io_errstr(errno, eb, sizeof eb));
        return NULL;
    }
    Names l = {0};
    struct dirent *de;
    StrBuf p;
    sb_init(&p);
    bool ok = true;
    while (ok && (de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        p.len = 0;
        sb_printf(&p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p.data, &st) == 0 && S_ISDIR(st.st_mode))
            ok = names_add(&l, strdup(de->d_name));
    }
    sb_free(&p);
    closedir(dp);
    if (!ok)
        diag_error(d, (SrcLoc){0}, "out of memory listing %s", dir);
    return names_done(&l, ok, by_name, n);
}

/* Formats torchvision's ImageFolder takes that netrun does not decode. */
static bool is_foreign_image(const char *name)
{
    static const char *const ext[] = {".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (has_ext(name, ext[i]))
            return true;
    return false;
}

/* Orders paths as torchvision's make_dataset does: sorted(os.walk(...)) takes the folders
 * in the order of their paths, then sorted(files) within each. */
static int by_folder_then_name(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const char *sx = strrchr(x, '/'), *sy = strrchr(y, '/');
    size_t dx = sx ? (size_t)(sx - x) : 0, dy = sy ? (size_t)(sy - y) : 0;
    char *fx = strndup(x, dx), *fy = strndup(y, dy);
    int c = fx && fy ? py_strcmp(fx, fy) : strncmp(x, y, dx < dy ? dx : dy);
    free(fx);
    free(fy);
    return c ? c : py_strcmp(sx ? sx + 1 : x, sy ? sy + 1 : y);
}

#define WALK_DEPTH 32 /* folders below a class folder */
/* folders walked below a class folder: links to folders are followed, so a few folders
 * linking twice to the next make 2^WALK_DEPTH of them (an hour's walk) */
#define WALK_FOLDERS 100000
#define WALK_FILES                                                                                 \
    (1 << 24) /* image files below a class folder: listing them takes memory and                   \
                 time, and links can make 2^32 of a few folders; n is an int */

/* Adds the image files under dir/rel (rel "" for dir itself) to l as paths relative to dir,
 * going into every folder as ImageFolder does (os.walk, following symbolic links), but not
 * into one already on the way down (a link loop) or deeper than WALK_DEPTH. Hidden names
 * are left out, as list() leaves them out; a file in a format ImageFolder would take and
 * netrun cannot read is an error, not a silent gap. */
static bool walk(const char *dir, const char *rel, Names *l, dev_t *dev, ino_t *ino, int depth,
                 int *folders, Diag *d)
{
    StrBuf p;
    sb_init(&p);
    sb_printf(&p, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *dp = opendir(p.data);
    if (!dp) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", p.data, io_errstr(errno, eb, sizeof eb));
        sb_free(&p);
        return false;
    }
    struct stat st;
    if (fstat(dirfd(dp), &st) == 0) {
        dev[depth] = st.st_dev;
        ino[depth] = st.st_ino;
    }
    bool ok = true;
    struct dirent *de;
    size_t base = p.len;
    while (ok && (de = readdir(dp))) {
        if (de->d_name[0] == '.')
            continue;
        p.len = base;
        sb_printf(&p, "/%s", de->d_name);
        if (stat(p.data, &st) != 0) {
            if (is_image(de->d_name)) { /* a broken link: ImageFolder fails on it too */
                char eb[128];
                diag_error(d, (SrcLoc){0}, "%s: cannot read: %s", p.data,
                           io_errstr(errno, eb, sizeof eb));
                ok = false;
            }
            continue;
        }
        char *sub = join_rel(rel, de->d_name);
        if (!sub) {
            diag_error(d, (SrcLoc){0}, "out of memory listing %s", dir);
            ok = false;
        } else if (S_ISDIR(st.st_mode)) {
            bool loop = false;
            for (int k = 0; k <= depth; k++)
                loop = loop || (dev[k] == st.st_dev && ino[k] == st.st_ino);
            if (!loop && depth + 1 >= WALK_DEPTH) {
                diag_error(d, (SrcLoc){0}, "%s: folders nested deeper than %d below %s", p.data,
                           WALK_DEPTH, dir);
                ok = false;
            } else if (!loop && ++*folders > WALK_FOLDERS) {
                diag_error(d, (SrcLoc){0},
                           "%s: more than %d folders below it (a link to a folder counts its "
                           "folders again, as ImageFolder's walk does)",
                           dir, WALK_FOLDERS);
                ok = false;
            } else if (!loop) {
                ok = walk(dir, sub, l, dev, ino, depth + 1, folders, d);
            }
            free(sub);
        } else if (S_ISREG(st.st_mode) && is_image(de->d_name) && l->n >= WALK_FILES) {
            diag_error(d, (SrcLoc){0},
                       "%s: more than %d image files (a link to a folder counts its files again, "
                       "as ImageFolder's walk does)",
                       dir, WALK_FILES);
            free(sub);
            ok = false;
        } else if (S_ISREG(st.st_mode) && is_image(de->d_name)) {
            ok = names_add(l, sub);
            if (!ok)
                diag_error(d, (SrcLoc){0}, "out of memory listing %s", dir);
        } else if (is_image(de->d_name) && !S_ISREG(st.st_mode)) {
            diag_error(d, (SrcLoc){0}, "%s: not a regular file (a device, a FIFO or a socket)",
                       p.data);
            free(sub);
            ok = false;
        } else if (S_ISREG(st.st_mode) && is_foreign_image(de->d_name)) {
            diag_error(d, (SrcLoc){0},
                       "%s: an image torchvision's ImageFolder would read, but netrun reads only "
                       ".png, .jpg and .jpeg; convert it (e.g. 'mogrify -format png') or move it",
                       p.data);
            free(sub);
            ok = false;
        } else {
            free(sub); /* another file, as ImageFolder leaves it out */
        }
    }
    closedir(dp);
    sb_free(&p);
    return ok;
}

/* The image files under class folder dir, as paths relative to it in ImageFolder's order;
 * NULL after reporting. */
static char **list_images(const char *dir, int *n, Diag *d)
{
    Names l = {0};
    dev_t dev[WALK_DEPTH];
    ino_t ino[WALK_DEPTH];
    int folders = 0;
    *n = 0;
    return names_done(&l, walk(dir, "", &l, dev, ino, 0, &folders, d), by_folder_then_name, n);
}

/* The training split's class folders: at least one, at most 256 (labels are bytes). */
static bool class_count_ok(const char *train_dir, int n, Diag *d)
{
    if (n == 0)
        diag_error(d, (SrcLoc){0}, "%s: no class folders (expected %s/<class>/*.png|*.jpg)",
                   train_dir, train_dir);
    else if (n > DATA_MAX_CLASSES)
        diag_error(d, (SrcLoc){0}, "%s: %d class folders; netrun takes at most %d", train_dir, n,
                   DATA_MAX_CLASSES);
    return n >= 1 && n <= DATA_MAX_CLASSES;
}

char **dataset_folder_classes(const char *dir, int *n, Diag *d)
{
    StrBuf tr;
    sb_init(&tr);
    sb_printf(&tr, "%s/train", dir);
    char **cls = list(tr.data, n, d);
    if (cls && !class_count_ok(tr.data, *n, d)) {
        free_list(cls, *n);
        cls = NULL;
    }
    sb_free(&tr);
    return cls;
}

/* dataset_load_folder with channels 0 (the first image's), 1 (a gray net's: a colour image
 * is an error naming it) or 3: 1 when loaded, 0 after a message, 3 when a colour image came
 * after a gray first one (load again as colour). */
static int load_folder(Dataset *ds, const char *dir, bool train, char ***classes, int *nclasses,
                       int resize_h, int resize_w, int need_h, int need_w, int channels, Diag *d)
{
    memset(ds, 0, sizeof *ds);
    StrBuf split;
    sb_init(&split);
    sb_printf(&split, "%s/%s", dir, train ? "train" : "test");
    int ok = 0;
    int nfiles = 0, ncls = 0;
    char **files = NULL, **cls = NULL;
    int *label = NULL;
    Decoded *dec = NULL;
    Dataset t = {0};
    if (train) { /* the classes: the training split's folders */
        if (!(cls = dataset_folder_classes(dir, &ncls, d)))
            goto done;
    } else {             /* the test split's folders must be training classes */
        if (!*classes) { /* the test split alone (--eval): the classes still come from train */
            *classes = dataset_folder_classes(dir, nclasses, d);
            if (!*classes)
                goto done;
        }
        int n;
        char **test = list(split.data, &n, d);
        if (!test)
            goto done;
        for (int i = 0; i < n; i++) {
            bool known = false;
            for (int k = 0; k < *nclasses && !known; k++)
                known = strcmp(test[i], (*classes)[k]) == 0;
            if (!known) {
                diag_error(d, (SrcLoc){0}, "%s/%s: a class the training split does not have",
                           split.data, test[i]);
                free_list(test, n);
                goto done;
            }
        }
        free_list(test, n);
        cls = *classes;
        ncls = *nclasses;
    }
    /* every file, class by class */
    StrBuf p;
    sb_init(&p);
    for (int k = 0; k < ncls; k++) {
        p.len = 0;
        sb_printf(&p, "%s/%s", split.data, cls[k]);
        struct stat st;
        if (!train && stat(p.data, &st) != 0)
            continue; /* a class with no test folder */
        int n;
        char **names = list_images(p.data, &n, d);
        if (!names) {
            sb_free(&p);
            goto done;
        }
        if (n == 0) { /* ImageFolder refuses a class with no file, in either split */
            diag_error(d, (SrcLoc){0}, "%s: an empty class folder (no .png, .jpg or .jpeg)",
                       p.data);
            free_list(names, n);
            sb_free(&p);
            goto done;
        }
        char **nf = realloc(files, sizeof *files * (size_t)(nfiles + n + 1));
        int *nl = nf ? realloc(label, sizeof *label * (size_t)(nfiles + n + 1)) : NULL;
        if (nf)
            files = nf;
        if (nl)
            label = nl;
        for (int i = 0; nl && i < n; i++) {
            size_t len = strlen(p.data) + strlen(names[i]) + 2;
            files[nfiles] = malloc(len);
            if (files[nfiles])
                snprintf(files[nfiles], len, "%s/%s", p.data, names[i]);
            label[nfiles++] = k;
        }
        free_list(names, n);
        if (!nl) {
            diag_error(d, (SrcLoc){0}, "out of memory listing %s", split.data);
            sb_free(&p);
            goto done;
        }
    }
    sb_free(&p);
    if (nfiles == 0) {
        diag_error(d, (SrcLoc){0}, "%s: no images", split.data);
        goto done;
    }
    /* the first image gives the size; the others are decoded in parallel straight into their
     * place (channels first), each thread's decoded pixels freed at once: one copy of the
     * data set in memory, and the first failure in file order is the one reported */
    dec = calloc((size_t)nfiles, sizeof *dec);
    if (!dec) {
        diag_error(d, (SrcLoc){0}, "out of memory for %d images", nfiles);
        goto done;
    }
    if (files[0])
        decode(files[0], &dec[0]);
    if (!dec[0].px) {
        diag_error(d, (SrcLoc){0}, "%s: %s", files[0] ? files[0] : split.data,
                   files[0] ? dec[0].why : "out of memory");
        goto done;
    }
    if (need_h > 0 && resize_h <= 0 && (dec[0].h != need_h || dec[0].w != need_w)) {
        /* before the set's memory, which this size would set */
        diag_error(d, (SrcLoc){0},
                   "%s: %dx%d pixels (rows x columns), the first image of %s, but the network "
                   "takes %dx%d",
                   files[0], dec[0].h, dec[0].w, split.data, need_h, need_w);
        diag_hint(d, (SrcLoc){0},
                  "give the data setting resize=[%d, %d] to resize every image to the "
                  "network's input",
                  need_h, need_w);
        goto done;
    }
    t = (Dataset){.n = nfiles,
                  .rows = resize_h > 0 ? resize_h : dec[0].h,
                  .cols = resize_w > 0 ? resize_w : dec[0].w,
                  .channels = channels ? channels : dec[0].c};
    size_t per = dataset_image_bytes(&t), plane = (size_t)t.rows * (size_t)t.cols;
    t.images = malloc(per * (size_t)nfiles);
    t.labels = malloc((size_t)nfiles);
    if (!t.images || !t.labels) { /* the first image sets the size: say which it was */
        diag_error(d, (SrcLoc){0}, "out of memory for %d images of %dx%dx%d (%zu MB)%s%s", nfiles,
                   t.channels, t.rows, t.cols, (per * (size_t)nfiles + ((size_t)1 << 20) - 1) >> 20,
                   resize_h > 0 ? "" : ": the size of the first, ", resize_h > 0 ? "" : files[0]);
        if (resize_h <= 0)
            diag_hint(d, (SrcLoc){0},
                      "the images of a folder must all have one size; give the train setting "
                      "'resize [H, W]' to resize them to the network's input");
        goto done;
    }
    int *bad = calloc((size_t)nfiles, sizeof *bad); /* 1: failed, 2: another size, 3: colour
                                                       after gray, 4: colour for a gray net */
    if (!bad) {
        diag_error(d, (SrcLoc){0}, "out of memory for %d images", nfiles);
        goto done;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 16)
#endif
    for (int i = 0; i < nfiles; i++) {
        Decoded *di = &dec[i];
        if (i > 0 && files[i])
            decode(files[i], di);
        else if (i > 0)
            snprintf(di->why, MSG, "out of memory");
        if (di->px && resize_h > 0 && (di->w != t.cols || di->h != t.rows)) {
            uint8_t *r = image_resize(di->px, di->w, di->h, di->c, t.cols, t.rows);
            free(di->px);
            di->px = r;
            if (r) {
                di->w = t.cols;
                di->h = t.rows;
            } else {
                snprintf(di->why, MSG, "out of memory resizing");
            }
        }
        if (!di->px) {
            bad[i] = 1;
            continue;
        }
        bool widen = di->c == 1 && t.channels == 3; /* gray in colour: R = G = B, as PIL's
                                                         convert('RGB') for ImageFolder */
        if (di->c == 3 && channels == 1) {
            bad[i] = 4; /* a colour image for a gray net */
        } else if (di->w != t.cols || di->h != t.rows || (di->c != t.channels && !widen)) {
            bad[i] = di->c == 3 && t.channels == 1 ? 3 : 2;
        } else { /* interleaved to channels first */
            uint8_t *dst = t.images + per * (size_t)i;
            for (int c = 0; c < t.channels; c++)
                for (size_t q = 0; q < plane; q++)
                    dst[(size_t)c * plane + q] =
                        di->px[q * (size_t)di->c + (size_t)(widen ? 0 : c)];
        }
        free(di->px);
        di->px = NULL;
    }
    for (int i = 0; i < nfiles && !channels; i++)
        if (bad[i] == 3) { /* a colour image in a set whose first is gray: the set is colour */
            free(bad);
            ok = 3;
            goto done;
        }
    for (int i = 0; i < nfiles; i++) {
        if (bad[i] == 1) {
            diag_error(d, (SrcLoc){0}, "%s: %s", files[i] ? files[i] : split.data, dec[i].why);
        } else if (bad[i] == 4) {
            diag_error(d, (SrcLoc){0},
                       "%s: a colour image (3 channels), but the network takes 1 channel; "
                       "torchvision's ImageFolder loads every image as RGB: give the network "
                       "3 input channels, or make the images gray",
                       files[i]);
        } else if (bad[i]) {
            diag_error(d, (SrcLoc){0},
                       "%s: a %dx%dx%d image (channels x rows x columns), but %s is %dx%dx%d; "
                       "every image needs the net's input size (or give the folder "
                       "resize=[H, W])",
                       files[i], dec[i].c, dec[i].h, dec[i].w, files[0], t.channels, t.rows,
                       t.cols);
        }
        if (bad[i]) {
            free(bad);
            goto done;
        }
        t.labels[i] = (uint8_t)label[i];
    }
    free(bad);
    t.images_file = strdup(split.data);
    t.labels_file = strdup(split.data);
    *ds = t;
    t = (Dataset){0};
    if (train) {
        *classes = cls;
        *nclasses = ncls;
        cls = NULL;
    }
    ok = 1;
done:
    dataset_free(&t);
    for (int i = 0; dec && i < nfiles; i++)
        free(dec[i].px);
    free(dec);
    free_list(files, nfiles);
    free(label);
    if (train)
        free_list(cls, ncls);
    sb_free(&split);
    return ok;
}

bool dataset_load_folder(Dataset *ds, const char *dir, bool train, char ***classes, int *nclasses,
                         int resize_h, int resize_w, int need_h, int need_w, int channels, Diag *d)
{
    int r = load_folder(ds, dir, train, classes, nclasses, resize_h, resize_w, need_h, need_w,
                        channels == 3 || channels == 1 ? channels : 0, d);
    if (r == 3) /* mixed gray and colour: every image colour, as ImageFolder loads them */
        r = load_folder(ds, dir, train, classes, nclasses, resize_h, resize_w, need_h, need_w, 3,
                        d);
    return r == 1;
}
