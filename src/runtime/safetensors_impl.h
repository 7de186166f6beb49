/* safetensors_impl.h: what the safetensors reader (safetensors.c) and writer (st_write.c)
 * share. Private to the runtime. */
#ifndef NETC_RUNTIME_SAFETENSORS_IMPL_H
#define NETC_RUNTIME_SAFETENSORS_IMPL_H

#include "safetensors.h"

bool st_dtype_valid(StDtype t);
/* Multiplies out a shape times elsize; false on overflow of uint64. */
bool st_shape_bytes(const int64_t *shape, int ndim, size_t elsize, uint64_t *out);
/* "[2, 3, 4]" into buf. */
const char *st_shape_str(char *buf, size_t n, const int64_t *shape, int ndim);
/* A name that occurs twice in names[0..n), or NULL. */
const char *st_find_duplicate(const char **names, int n);

#endif
