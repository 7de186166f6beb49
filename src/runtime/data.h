/* data.h: loading training data: IDX image/label files (MNIST layout, gzip or raw) and PGM
 * images.
 *
 * Design choice: pixels stay as bytes in memory (n x rows x cols uint8, 47 MB for 60k MNIST
 * images instead of 188 MB as floats); the runtime converts one image at a time with
 * dataset_image_to_float when it fills a batch. Every failure returns false/NULL after
 * exactly one diagnostic that names the file and the problem. */
#ifndef NETC_RUNTIME_DATA_H
#define NETC_RUNTIME_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"

/* The most classes a data set has: a label is a byte (IDX, CIFAR), and a CSV table's or an
 * image folder's classes are numbered as bytes too. */
#define DATA_MAX_CLASSES 256
#define DATA_MAX_PARTS 5 /* files of one split (CIFAR-10's data_batch_1..5.bin) */

typedef struct Dataset {
    int n, rows, cols; /* images are n x channels x rows x cols bytes (channels first) */
    int channels;      /* 0 counts as 1 */
    uint8_t *images;   /* owned (malloc); image i at images + i * dataset_image_bytes() */
    uint8_t *labels;   /* owned (malloc); n labels */
    bool view;         /* images and labels belong to another Dataset (dataset_split) */
    char *images_file; /* where the images and labels came from, for messages (owned) */
    char *labels_file;
    /* A table (data csv): records of cols float features (rows and channels 1) in place of
     * images (NULL), and where each came from, for messages. All owned. */
    float *features;
    int *lines;       /* the line of the file each record ends on */
    int label_column; /* the label's column, from 1; 0: none */
    char *label_name; /* its header name */
    /* Files read one after the other (CIFAR-10's five training batches): each one's path
     * (owned) and the record after its last, for messages that name the file a record is
     * in; nparts 0: one file. */
    int nparts;
    char *part[DATA_MAX_PARTS];
    int part_end[DATA_MAX_PARTS];
} Dataset;

/* Loads "<dir>/<split>-images-idx3-ubyte[.gz]" and "<dir>/<split>-labels-idx1-ubyte[.gz]"
 * (split is "train" or "t10k"; the raw name is tried before the .gz one). Checks magic,
 * rank, sizes against the data actually present, and that image and label counts agree; an
 * empty set (n == 0) is an error. On failure *ds is left zeroed. */
bool dataset_load(Dataset *ds, const char *dir, const char *split, Diag *d);

/* CIFAR-10 or CIFAR-100, binary version, in dir (or its cifar-10-batches-bin or
 * cifar-100-binary folder): CIFAR-10's data_batch_1..5.bin (train) or test_batch.bin, a
 * record being a label byte and 3x32x32 pixel bytes (channels first); CIFAR-100's train.bin
 * or test.bin, a record being the coarse label, the fine label and the pixels. coarse picks
 * CIFAR-100's 20 coarse classes (an error for CIFAR-10). Every file must be a whole number
 * of records and every label in range; one message names the file (and record). */
bool dataset_load_cifar(Dataset *ds, const char *dir, bool train, bool coarse, Diag *d);
/* One CIFAR-10 (cifar100 false) or CIFAR-100 file, checked the same way. */
bool dataset_load_cifar_file(Dataset *ds, const char *path, bool cifar100, bool coarse, Diag *d);

/* An image folder data set (torchvision's ImageFolder): dir/train/<class>/ or dir/test/<class>/
 * holding .png, .jpg or .jpeg files, all of one size and of 1 (gray) or 3 (colour) channels
 * (an alpha channel is an error). The classes are the training split's folder names in byte
 * order, their index the label: loading train fills *classes (owned by the caller: free each
 * and the array) and *nclasses; loading test takes them (or, when *classes is NULL, reads
 * them from dir/train) and refuses a folder that is not one of them. Decoded by libpng and
 * libjpeg on every thread; one message names the first file at fault. resize_h > 0: every
 * image of another size is resized to resize_h x resize_w (image_resize) instead of being
 * an error. need_h > 0 (without resize): the size every image must have, the network's
 * input, checked on the first image before the set's memory is taken (its size would be
 * the set's). channels 3: every image colour (a gray one R = G = B), as torchvision's loader
 * converts every image to RGB; 1: every image gray (a colour one is an error that names
 * it); 0: gray when every image is, else colour. */
bool dataset_load_folder(Dataset *ds, const char *dir, bool train, char ***classes, int *nclasses,
                         int resize_h, int resize_w, int need_h, int need_w, int channels, Diag *d);

/* An image folder data set's classes, without its images: the folders in dir/train, in the
 * order dataset_load_folder numbers them (owned by the caller: free each and the array).
 * NULL after a message (no folder, none or too many classes). */
char **dataset_folder_classes(const char *dir, int *n, Diag *d);

/* src (h x w x c bytes, interleaved) resized to oh x ow as PIL's Image.resize((ow, oh),
 * BILINEAR) does it, byte for byte: what torchvision's Resize((oh, ow)) gives on the PIL
 * images ImageFolder loads. Returns oh x ow x c bytes owned by the caller; NULL when out of
 * memory. */
uint8_t *image_resize(const uint8_t *src, int w, int h, int c, int ow, int oh);

/* What a CSV table is read as. */
typedef struct CsvSpec {
    const char *label;   /* the label column's header name */
    bool label_optional; /* a table without that column is features only (--predict) */
    bool skip_labels;    /* that column, when there, is read over, its cells unchecked (the
                            labels left 0: --predict, where they are empty as often as not) */
    /* Label names become classes: learn (the training table) fills *classes (owned by the
     * caller: free each and the array) and *nclasses, in byte order; otherwise they are
     * looked up in *classes, and *classes NULL means the training table's labels were
     * numbers, as these must be then. Labels that are all plain integers are class numbers
     * (0 to 255) and leave *classes NULL. */
    bool learn;
    char ***classes;
    int *nclasses;
    /* The feature columns' header names, in order: learn fills *columns when NULL (owned by
     * the caller, as *classes) and *ncolumns; otherwise a table whose features are not those,
     * in that order, is refused (a model takes its inputs by position). NULL: unchecked. */
    char ***columns;
    int *ncolumns;
    /* Read the header row alone (for its columns); the data set is left empty. */
    bool header_only;
    /* Read the labels alone (for the classes): the features are neither checked nor kept
     * (the data set's features stay NULL). */
    bool labels_only;
} CsvSpec;

/* A CSV table (RFC 4180, gzip or not): a header row naming the columns, then one record a
 * row; the label column by name, every other column a number (a feature, kept as float32).
 * A missing value, a field that is not a finite number, a row with another count of fields,
 * an unknown label column or class: one message naming the file, the line and the column
 * (number and name). */
bool dataset_load_csv(Dataset *ds, const char *path, const CsvSpec *spec, Diag *d);
/* The same from len bytes of text; name is for messages (the fuzz target's entry). */
bool dataset_parse_csv(Dataset *ds, const char *name, const char *text, size_t len,
                       const CsvSpec *spec, Diag *d);

/* Opens path for reading; refuses a directory. -1 after one message naming path. */
struct stat;
int dataset_open_input(const char *path, struct stat *st, Diag *d);
/* After a gzip file (fd, opened by dataset_open_input) was read to its end: whether the file was
 * gzip members (one or more, as `cat a.gz b.gz` makes) and nothing else but zero padding at its
 * end. zlib's gzread passes over bytes after a member that are no gzip header, and stops at zeros:
 * the file is inflated again to find where its members end (about 0.1 s for Fashion-MNIST's 26 MB
 * of training images). A message naming path when not. */
bool dataset_gzip_whole(int fd, const struct stat *st, const char *path, Diag *d);

/* One PNG (png) or JPEG file as image folders read it: h x w x c bytes (interleaved; c 1 or
 * 3), owned by the caller; NULL with the reason in why. */
uint8_t *image_decode(const char *path, bool png, int *w, int *h, int *c, char why[200]);
/* The same, a PNG or a JPEG told by its first bytes as the image folders tell them (PIL's
 * way: a PNG named .jpg is a PNG). */
uint8_t *image_load(const char *path, int *w, int *h, int *c, char why[200]);
/* Whether path names a PNG or a JPEG (.png, .jpg, .jpeg, in any case), as the image
 * folders take them. */
bool image_named(const char *path);

/* One IDX file, gzip or raw. On success the caller owns *images / *labels (free()); on
 * failure the outputs are untouched. Limits: n < 2^31, 1 <= rows, cols <= 32768. */
bool idx_load_images(const char *path, uint8_t **images, int *n, int *rows, int *cols, Diag *d);
bool idx_load_labels(const char *path, uint8_t **labels, int *n, Diag *d);

/* Holds out a validation set: reorders train by a shuffle drawn from seed (in place: no
 * second copy of the images), then moves its last floor(n * share) records into *val, a view
 * into train's arrays (free train after val). share 0 leaves *val empty. An error (after one
 * message) when either part would be empty. */
bool dataset_split(Dataset *train, Dataset *val, double share, uint64_t seed, Diag *d);

/* Frees the arrays (not a view's) and zeroes *ds. Accepts NULL and a zeroed Dataset. */
void dataset_free(Dataset *ds);

static inline int dataset_channels(const Dataset *ds)
{
    return ds->channels > 0 ? ds->channels : 1;
}
/* Bytes of one image: channels x rows x cols. */
static inline size_t dataset_image_bytes(const Dataset *ds)
{
    return (size_t)dataset_channels(ds) * (size_t)ds->rows * (size_t)ds->cols;
}

/* dst (channels x rows x cols floats) = image i scaled to [0,1] (x/255), then, when mean is
 * not NULL, (x - mean[c]) / std[c] for channel c: torchvision's ToTensor and Normalize. A
 * table's record is taken as it is (no /255), then normalised with mean[0] and std[0]. */
void dataset_image_to_float(float *dst, const Dataset *ds, int i, const float *mean,
                            const float *std);

/* Image i as torchvision's RandomCrop(crop, padding=pad) takes it at (top, left) of the
 * padded image (zeros outside the image), mirrored left to right when flip
 * (RandomHorizontalFlip), then ToTensor and, when mean is not NULL, Normalize: dst is
 * channels x crop x crop floats. */
void dataset_image_crop_to_float(float *dst, const Dataset *ds, int i, int crop, int pad, int top,
                                 int left, bool flip, const float *mean, const float *std);

/* PGM P2 (plain) or P5 (raw), maxval 1..65535, '#' comments in the header. Returns h*w
 * floats in [0,1], row-major, owned by the caller (free()); NULL on error: with a maxval
 * below 256 as PIL reads it and ToTensor scales it (round(v / maxval * 255) / 255), with a
 * larger one v / maxval. Only the first image of a multi-image file is read. */
float *pgm_load(const char *path, int *h, int *w, Diag *d);

/* FILE.f32: inputs of `per` little-endian float32 values each, one after another; the file's
 * size gives their count *n (>= 1). Every value must be finite. Returns *n * per floats owned
 * by the caller (free()); NULL after one message naming the file and the byte. */
float *f32_load(const char *path, int64_t per, int *n, Diag *d);

#endif
