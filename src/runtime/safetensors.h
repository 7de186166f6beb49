/* safetensors.h: reading and writing safetensors files (weights and checkpoints).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "value", ...}}, then the data buffer (offsets are relative to it).
 *
 * Design choice: st_read copies every tensor into its own 64-byte-aligned slot of one
 * allocation owned by the StFile, so tensor data can be used as float* directly whatever the
 * file's offsets were; st_write replaces its target atomically (temp file, fsync, rename).
 * Validation follows the reference implementation: the tensors must tile the data buffer
 * exactly (no overlap, no gap, no trailing bytes). Data is little-endian, as is the host. */
#ifndef NETC_RUNTIME_SAFETENSORS_H
#define NETC_RUNTIME_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

typedef enum {
    ST_F32,
    ST_F64,
    ST_F16,
    ST_BF16,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL
} StDtype;

#define ST_MAX_DIMS 8

typedef struct StTensor {
    const char *name;
    StDtype dtype;
    int ndim; /* 0..ST_MAX_DIMS; 0 is a scalar */
    int64_t shape[ST_MAX_DIMS];
    size_t nbytes;    /* product(shape) * st_dtype_size(dtype) */
    const void *data; /* st_read: 64-byte aligned, owned by the StFile; st_write: caller's */
} StTensor;

typedef struct StFile StFile; /* opaque; owns everything it points to */

/* Reads and validates a whole file. NULL (after one diagnostic) on error. */
StFile *st_read(const char *path, Diag *d);
int st_count(const StFile *f);
/* Tensors in the file order of their data offsets; NULL if i is out of range. */
const StTensor *st_tensor(const StFile *f, int i);
const StTensor *st_find(const StFile *f, const char *name); /* NULL if absent */
const char *st_meta(const StFile *f, const char *key);      /* NULL if absent */
void st_free(StFile *f);                                    /* accepts NULL */

const char *st_dtype_name(StDtype t); /* "F32" ... */
size_t st_dtype_size(StDtype t);
/* "F32" -> ST_F32 etc.; false for names this module does not know. */
bool st_dtype_parse(const char *name, StDtype *t);

/* Writes n tensors (data in the given order, contiguous; header keys in the same order,
 * "__metadata__" first) to "<path>.tmp.<pid>", fsyncs it and renames it over path. On any
 * failure the temp file is removed and an existing path is left untouched. meta is NULL or
 * an array of key, value strings terminated by a NULL key. The JSON header is padded with
 * spaces so that the data buffer starts at a multiple of 8 bytes. */
bool st_write(const char *path, const StTensor *t, int n, const char *const *meta, Diag *d);

#endif
