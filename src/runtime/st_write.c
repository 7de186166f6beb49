/* st_write.c: the safetensors writer: the caller's tensors checked, the json header built
 * with json-c, the file replaced atomically (fileio.c's SaveFile).
 *
 * Design choice: the header is padded with spaces so that the data buffer starts at a
 * multiple of 8 bytes, and tensors are written in the order given, contiguous, so a file's
 * offsets follow from the tensors alone. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "safetensors.h"
#include "safetensors_impl.h"

/* Checks the caller's tensors and metadata; reports the first problem. */
static bool check_write_args(const char *path, const StTensor *t, int n, const char *const *meta,
                             Diag *d)
{
    char sb[256];
    if (n < 0 || (n > 0 && !t)) {
        diag_error(d, (SrcLoc){0}, "%s: cannot write %d tensors", path, n);
        return false;
    }
    for (int i = 0; i < n; i++) {
        const char *name = t[i].name ? t[i].name : "(null)";
        if (!t[i].name || strcmp(t[i].name, "__metadata__") == 0) {
            diag_error(d, (SrcLoc){0}, "%s: tensor %d has the reserved or missing name '%s'", path,
                       i, name);
            return false;
        }
        if (!st_dtype_valid(t[i].dtype) || t[i].ndim < 0 || t[i].ndim > ST_MAX_DIMS) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s': bad dtype %d or rank %d", path, name,
                       (int)t[i].dtype, t[i].ndim);
            return false;
        }
        for (int k = 0; k < t[i].ndim; k++) {
            if (t[i].shape[k] < 0) {
                diag_error(d, (SrcLoc){0}, "%s: tensor '%s': negative dimension in shape %s", path,
                           name, st_shape_str(sb, sizeof sb, t[i].shape, t[i].ndim));
                return false;
            }
        }
        uint64_t want;
        if (!st_shape_bytes(t[i].shape, t[i].ndim, st_dtype_size(t[i].dtype), &want) ||
            want != t[i].nbytes) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s': nbytes %zu does not match shape %s of %s",
                       path, name, t[i].nbytes, st_shape_str(sb, sizeof sb, t[i].shape, t[i].ndim),
                       st_dtype_name(t[i].dtype));
            return false;
        }
        if (t[i].nbytes > 0 && !t[i].data) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s' has no data", path, name);
            return false;
        }
    }
    const char **names = malloc(((size_t)n + 1) * sizeof *names);
    if (!names) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
        return false;
    }
    for (int i = 0; i < n; i++)
        names[i] = t[i].name;
    const char *dup = st_find_duplicate(names, n);
    free(names);
    if (dup) {
        diag_error(d, (SrcLoc){0}, "%s: tensor name '%s' occurs twice", path, dup);
        return false;
    }
    int nm = 0;
    while (meta && meta[2 * nm])
        nm++;
    for (int i = 0; i < nm; i++) {
        if (!meta[2 * i + 1]) {
            diag_error(d, (SrcLoc){0}, "%s: metadata '%s' has no value", path, meta[2 * i]);
            return false;
        }
    }
    const char **keys = malloc(((size_t)nm + 1) * sizeof *keys);
    if (!keys) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
        return false;
    }
    for (int i = 0; i < nm; i++)
        keys[i] = meta[2 * i];
    dup = st_find_duplicate(keys, nm);
    free(keys);
    if (dup) {
        diag_error(d, (SrcLoc){0}, "%s: metadata key '%s' occurs twice", path, dup);
        return false;
    }
    return true;
}

/* Builds the JSON header; NULL on allocation failure. The caller puts the result. */
static json_object *build_header(const StTensor *t, int n, const char *const *meta)
{
    json_object *root = json_object_new_object();
    if (!root)
        return NULL;
    bool ok = true;
    if (meta && meta[0]) {
        json_object *m = json_object_new_object();
        ok = m && json_object_object_add(root, "__metadata__", m) == 0;
        for (int i = 0; ok && meta[2 * i]; i++)
            ok = json_object_object_add(m, meta[2 * i], json_object_new_string(meta[2 * i + 1])) ==
                 0;
    }
    uint64_t at = 0;
    for (int i = 0; ok && i < n; i++) {
        json_object *e = json_object_new_object(), *shape = json_object_new_array();
        json_object *off = json_object_new_array();
        ok = e && shape && off;
        if (ok) {
            json_object_object_add(e, "dtype", json_object_new_string(st_dtype_name(t[i].dtype)));
            for (int k = 0; k < t[i].ndim; k++)
                json_object_array_add(shape, json_object_new_int64(t[i].shape[k]));
            json_object_array_add(off, json_object_new_int64((int64_t)at));
            json_object_array_add(off, json_object_new_int64((int64_t)(at + t[i].nbytes)));
            json_object_object_add(e, "shape", shape);
            json_object_object_add(e, "data_offsets", off);
            ok = json_object_object_add(root, t[i].name, e) == 0;
            at += t[i].nbytes;
        } else {
            json_object_put(e);
            json_object_put(shape);
            json_object_put(off);
        }
    }
    if (!ok) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

bool st_write(const char *path, const StTensor *t, int n, const char *const *meta, Diag *d)
{
    char eb[128];
    if (!check_write_args(path, t, n, meta, d))
        return false;
    json_object *root = build_header(t, n, meta);
    const char *json = root ? json_object_to_json_string_ext(
                                  root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : NULL;
    if (!json) {
        json_object_put(root);
        diag_error(d, (SrcLoc){0}, "%s: out of memory building the header", path);
        return false;
    }
    size_t jlen = strlen(json), hlen = (jlen + 7) / 8 * 8;
    char *hdr = malloc(8 + hlen);
    if (!hdr) {
        json_object_put(root);
        diag_error(d, (SrcLoc){0}, "%s: out of memory building the header", path);
        return false;
    }
    uint64_t hl = hlen;
    memcpy(hdr, &hl, 8); /* little-endian host */
    memcpy(hdr + 8, json, jlen);
    memset(hdr + 8 + jlen, ' ', hlen - jlen);
    json_object_put(root);

    SaveFile sf;
    bool ok = save_begin(&sf, path, false, d);
    bool w = ok && io_write_all(sf.fd, hdr, 8 + hlen);
    for (int i = 0; w && i < n; i++)
        w = t[i].nbytes == 0 || io_write_all(sf.fd, t[i].data, t[i].nbytes);
    if (ok && !w) {
        diag_error(d, (SrcLoc){0}, "%s: write of the temporary file %s failed: %s", path, sf.tmp,
                   io_errstr(errno, eb, sizeof eb));
        save_abort(&sf);
        ok = false;
    }
    ok = ok && save_commit(&sf, d);
    free(hdr);
    return ok;
}
