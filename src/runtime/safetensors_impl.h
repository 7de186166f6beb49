/* safetensors_impl.h: what the safetensors reader (safetensors.c) and writer
 * (safetensors_write.c) share; private to the runtime. */
#ifndef NETC_RUNTIME_SAFETENSORS_IMPL_H
#define NETC_RUNTIME_SAFETENSORS_IMPL_H

#include <stdio.h>

#include "safetensors.h"

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__)
#error "safetensors needs __BYTE_ORDER__ to check the host's byte order"
#endif
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian and is copied as is: little-endian host only");

bool st_dtype_valid(StDtype t);
/* strerror(e) into buf, lower-cased first letter, for "...: cannot open: no such file". */
const char *st_errstr(int e, char *buf, size_t n);
/* Multiplies out a shape; false on overflow of uint64. */
bool st_shape_bytes(const int64_t *shape, int ndim, size_t elsize, uint64_t *out);
/* "[2, 3, 4]" into buf. */
const char *st_shape_str(char *buf, size_t n, const int64_t *shape, int ndim);
/* A name that occurs twice in names[0..n), or NULL. */
const char *st_find_duplicate(const char **names, int n);

#endif
