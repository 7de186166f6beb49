/* ref.h: the PyTorch reference files of tests/reference (*.ref, written by its generators):
 * named tensors of floats, read once and looked up by case and tensor name.
 *
 * Format: '#' starts a comment line; a tensor is a header line `name ndim d0 ... dn-1`
 * followed by d0*...*dn-1 values. Names are '<case>.<tensor>'. */
#ifndef NETC_REF_H
#define NETC_REF_H

#include <stddef.h>

typedef struct RefTensor {
    char name[64];
    int ndim, dims[8];
    size_t n;
    float *v;
} RefTensor;

typedef struct RefFile {
    const char *path;
    RefTensor *t;
    int n;
} RefFile;

/* Reads path; on failure prints why to stderr and returns 0 (f is then empty). */
int ref_load(RefFile *f, const char *path);
void ref_free(RefFile *f);
/* The tensor '<c>.<t>', or NULL when the case has none (e.g. no bias). */
const RefTensor *ref_find(const RefFile *f, const char *c, const char *t);
/* The names of every case with a tensor '<prefix>*.<tensor>' (e.g. "conv2d_", "geom"). */
int ref_cases(const RefFile *f, const char *prefix, const char *tensor, char cases[][64], int max);

#endif
