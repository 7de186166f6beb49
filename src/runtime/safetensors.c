/* safetensors.c: the safetensors reader (the writer is st_write.c).
 *
 * Design choice: the JSON header is parsed and produced with json-c (strict mode, UTF-8
 * checked, explicit length); everything the header claims is validated against the file
 * before any tensor byte is read, and the reader then copies each tensor straight from the
 * file into its own 64-byte-aligned slot, so a StFile never points into unaligned memory.
 * Raw tensor bytes are copied as they are: this file assumes a little-endian host (the
 * format is little-endian), which the static check below enforces. */
#include "safetensors.h"

#include "fileio.h"
#include "safetensors_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__)
#error "safetensors.c needs __BYTE_ORDER__ to check the host's byte order"
#endif
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "safetensors data is little-endian and is copied as is: little-endian host only");

#define ST_MAX_HEADER 100000000ull /* the reference implementation's limit */
#define ST_MAX_NAME 1024           /* bytes in a tensor name or metadata key */
#define ST_ALIGN 64

struct StFile {
    int n;
    StTensor *t;  /* n, sorted by data offset */
    char **names; /* n, owned; t[i].name == names[i] */
    int nmeta;
    char **meta; /* 2 * nmeta: key, value, key, value ... owned */
    void *data;  /* one aligned block holding every tensor */
};

/* ---- dtypes ---- */

static const struct {
    const char *name;
    size_t size;
} dtype_info[] = {
    [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8},   [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},   [ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
#define N_DTYPES ((int)(sizeof dtype_info / sizeof dtype_info[0]))

bool st_dtype_valid(StDtype t) { return (int)t >= 0 && (int)t < N_DTYPES; }

const char *st_dtype_name(StDtype t) { return st_dtype_valid(t) ? dtype_info[t].name : "?"; }

size_t st_dtype_size(StDtype t) { return st_dtype_valid(t) ? dtype_info[t].size : 0; }

bool st_dtype_parse(const char *name, StDtype *t)
{
    for (int i = 0; i < N_DTYPES; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *t = (StDtype)i;
            return true;
        }
    }
    return false;
}

/* ---- small helpers ---- */

/* Reads up to len bytes at off; returns the count read (short only at end of file), or -1. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* The product of the nonzero dimensions must fit too, whatever their order: a shape
 * [0, 10^18, 10^18] holds no bytes, but no loader has a use for its dimensions. */
bool st_shape_bytes(const int64_t *shape, int ndim, size_t elsize, uint64_t *out)
{
    uint64_t n = elsize;
    bool empty = false;
    for (int i = 0; i < ndim; i++) {
        uint64_t s = (uint64_t)shape[i];
        if (s == 0) {
            empty = true;
            continue;
        }
        if (n > UINT64_MAX / s)
            return false;
        n *= s;
    }
    *out = empty ? 0 : n;
    return true;
}

const char *st_shape_str(char *buf, size_t n, const int64_t *shape, int ndim)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *st_find_duplicate(const char **names, int n)
{
    if (n < 2)
        return NULL;
    const char **s = malloc((size_t)n * sizeof *s);
    if (!s)
        return NULL;
    memcpy(s, names, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(s[i - 1], s[i]) == 0)
            dup = s[i];
    free(s);
    return dup;
}

/* ---- reading ---- */

/* The offset in the json text of the first \u0000 escape inside a string, or -1. json-c
 * keeps such a string's length but cuts object keys (tensor names) at the nul, and every C
 * string use of a value stops there, so a name or value holding one is refused as a whole. */
static long nul_escape_at(const char *s, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            in_string = !in_string;
        } else if (in_string && s[i] == '\\') {
            if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
                return (long)i;
            i++; /* the escaped character, which may be a quote */
        }
    }
    return -1;
}

/* The string s[0, n) (a json string with its quotes) decoded, in new memory; NULL: none. */
static char *decode_key(const char *s, size_t n)
{
    if (!memchr(s, '\\', n))
        return strndup(s + 1, n - 2);
    char *raw = strndup(s, n);
    json_object *o = raw ? json_tokener_parse(raw) : NULL;
    char *k = o ? strdup(json_object_get_string(o)) : NULL;
    json_object_put(o);
    free(raw);
    return k;
}

/* A key that occurs twice in one object of the json text s[0, n) (which json-c has taken:
 * it keeps the last value of a repeated key, without a word), in new memory, with the
 * object's depth (1: the header's own keys, the tensor names); NULL if none, or *oom. */
static char *repeated_key(const char *s, size_t n, int *depth, bool *oom)
{
    enum { MAX_DEPTH = 64 }; /* past json-c's default limit, which it has checked */
    size_t start[MAX_DEPTH], nk = 0, cap = 0;
    bool object[MAX_DEPTH], want_key[MAX_DEPTH];
    char **keys = NULL, *dup = NULL;
    int top = -1;
    *oom = false;
    for (size_t i = 0; i < n && !dup && !*oom; i++) {
        char c = s[i];
        if ((c == '{' || c == '[') && top + 1 < MAX_DEPTH) {
            top++;
            object[top] = c == '{', want_key[top] = c == '{', start[top] = nk;
        } else if ((c == '}' || c == ']') && top >= 0) {
            size_t k0 = start[top];
            if (nk - k0 > 1) /* (keys is NULL before a first key: no sort of nothing) */
                qsort(keys + k0, nk - k0, sizeof *keys, cmp_str_ptr);
            for (size_t k = k0 + 1; k < nk && !dup; k++)
                if (strcmp(keys[k - 1], keys[k]) == 0)
                    dup = strdup(keys[k]), *depth = top + 1, *oom = !dup;
            while (nk > k0)
                free(keys[--nk]);
            top--;
        } else if (c == ',' && top >= 0 && object[top]) {
            want_key[top] = true;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            if (j >= n)
                break;
            if (top >= 0 && object[top] && want_key[top]) {
                if (nk == cap) {
                    cap = cap ? 2 * cap : 64;
                    char **nkeys = realloc(keys, cap * sizeof *keys);
                    if (!nkeys) {
                        *oom = true;
                        break;
                    }
                    keys = nkeys;
                }
                keys[nk] = decode_key(s + i, j + 1 - i);
                *oom = !keys[nk++];
                want_key[top] = false;
            }
            i = j;
        }
    }
    while (nk > 0)
        free(keys[--nk]);
    free(keys);
    return dup;
}

typedef struct Entry {
    const char *name; /* json-c key, valid while the JSON lives */
    StDtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;
} Entry;

static int cmp_entry(const void *a, const void *b)
{
    const Entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A non-negative JSON integer; false (and *why set) otherwise. */
static bool json_uint(json_object *o, int64_t *v, const char **why)
{
    if (!json_object_is_type(o, json_type_int)) {
        *why = "is not an integer";
        return false;
    }
    int64_t x = json_object_get_int64(o);
    if (x < 0) {
        *why = "is negative";
        return false;
    }
    if (x == INT64_MAX) { /* json-c saturates larger values here */
        *why = "is too large";
        return false;
    }
    *v = x;
    return true;
}

/* Validates one tensor entry of the header. */
static bool parse_entry(const char *path, const char *name, json_object *val, Entry *e, Diag *d)
{
    json_object *o;
    const char *why;
    char nb[IO_CLIP_BUF], vb[IO_CLIP_BUF];
    const char *shown = io_clip(nb, name);
    memset(e, 0, sizeof *e);
    e->name = name;
    if (!json_object_is_type(val, json_type_object)) {
        diag_error(d, (SrcLoc){0},
                   "%s: tensor '%s': expected an object with dtype, shape and "
                   "data_offsets, found %s",
                   path, shown, json_type_to_name(json_object_get_type(val)));
        return false;
    }
    /* dtype */
    if (!json_object_object_get_ex(val, "dtype", &o)) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': missing \"dtype\"", path, shown);
        return false;
    }
    if (!json_object_is_type(o, json_type_string)) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': \"dtype\" must be a string, found %s", path,
                   shown, json_type_to_name(json_object_get_type(o)));
        return false;
    }
    if (!st_dtype_parse(json_object_get_string(o), &e->dtype)) {
        diag_error(d, (SrcLoc){0},
                   "%s: tensor '%s': unknown dtype '%s' (expected F32, F64, F16, "
                   "BF16, I64, I32, I16, I8, U8 or BOOL)",
                   path, shown, io_clip(vb, json_object_get_string(o)));
        return false;
    }
    /* shape */
    if (!json_object_object_get_ex(val, "shape", &o)) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': missing \"shape\"", path, shown);
        return false;
    }
    if (!json_object_is_type(o, json_type_array)) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': \"shape\" must be an array, found %s", path,
                   shown, json_type_to_name(json_object_get_type(o)));
        return false;
    }
    size_t nd = json_object_array_length(o);
    if (nd > ST_MAX_DIMS) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': rank %zu exceeds the limit of %d", path, shown,
                   nd, ST_MAX_DIMS);
        return false;
    }
    e->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        if (!json_uint(json_object_array_get_idx(o, i), &e->shape[i], &why)) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s': shape dimension %zu %s", path, shown, i,
                       why);
            return false;
        }
    }
    /* data_offsets */
    if (!json_object_object_get_ex(val, "data_offsets", &o)) {
        diag_error(d, (SrcLoc){0}, "%s: tensor '%s': missing \"data_offsets\"", path, shown);
        return false;
    }
    if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 2) {
        diag_error(d, (SrcLoc){0},
                   "%s: tensor '%s': \"data_offsets\" must be an array [begin, end]", path, shown);
        return false;
    }
    int64_t off[2];
    for (size_t i = 0; i < 2; i++) {
        if (!json_uint(json_object_array_get_idx(o, i), &off[i], &why)) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s': data offset %s %s", path, shown,
                       i ? "end" : "begin", why);
            return false;
        }
    }
    e->begin = (uint64_t)off[0];
    e->end = (uint64_t)off[1];
    return true;
}

/* Checks offsets against the buffer and the shapes, then that the sorted tensors tile
 * [0, data_len) exactly, as the reference implementation requires. (json-c keeps the last of
 * two equal keys, so a duplicated tensor name shows up here as bytes belonging to no tensor.) */
static bool check_layout(const char *path, Entry *e, int n, uint64_t data_len, uint64_t data_start,
                         Diag *d)
{
    char sb[256], nb[IO_CLIP_BUF], pb[IO_CLIP_BUF];
    for (int i = 0; i < n; i++) {
        if (e[i].end < e[i].begin) {
            diag_error(d, (SrcLoc){0},
                       "%s: tensor '%s': data_offsets [%llu, %llu] end before they "
                       "begin",
                       path, io_clip(nb, e[i].name), (unsigned long long)e[i].begin,
                       (unsigned long long)e[i].end);
            return false;
        }
        if (e[i].end > data_len) {
            diag_error(d, (SrcLoc){0},
                       "%s: tensor '%s': data_offsets [%llu, %llu] are out of range: "
                       "the data buffer has %llu bytes (the file is truncated at byte %llu, or the "
                       "offsets are wrong)",
                       path, io_clip(nb, e[i].name), (unsigned long long)e[i].begin,
                       (unsigned long long)e[i].end, (unsigned long long)data_len,
                       (unsigned long long)(data_start + data_len));
            return false;
        }
        uint64_t want;
        if (!st_shape_bytes(e[i].shape, e[i].ndim, st_dtype_size(e[i].dtype), &want)) {
            diag_error(d, (SrcLoc){0}, "%s: tensor '%s': shape %s of %s is too large", path,
                       io_clip(nb, e[i].name), st_shape_str(sb, sizeof sb, e[i].shape, e[i].ndim),
                       st_dtype_name(e[i].dtype));
            return false;
        }
        if (want != e[i].end - e[i].begin) {
            diag_error(d, (SrcLoc){0},
                       "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes "
                       "but shape %s of %s needs %llu",
                       path, io_clip(nb, e[i].name), (unsigned long long)e[i].begin,
                       (unsigned long long)e[i].end, (unsigned long long)(e[i].end - e[i].begin),
                       st_shape_str(sb, sizeof sb, e[i].shape, e[i].ndim),
                       st_dtype_name(e[i].dtype), (unsigned long long)want);
            return false;
        }
    }
    qsort(e, (size_t)n, sizeof *e, cmp_entry);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].begin < at) {
            const Entry *p = &e[i - 1]; /* at > 0 means a previous tensor set it */
            diag_error(d, (SrcLoc){0},
                       "%s: tensors '%s' (bytes %llu..%llu) and '%s' (bytes "
                       "%llu..%llu) overlap",
                       path, io_clip(pb, p->name), (unsigned long long)p->begin,
                       (unsigned long long)p->end, io_clip(nb, e[i].name),
                       (unsigned long long)e[i].begin, (unsigned long long)e[i].end);
            return false;
        }
        if (e[i].begin > at) {
            diag_error(d, (SrcLoc){0},
                       "%s: bytes %llu..%llu of the data buffer (file byte %llu) "
                       "belong to no tensor",
                       path, (unsigned long long)at, (unsigned long long)e[i].begin,
                       (unsigned long long)(data_start + at));
            return false;
        }
        at = e[i].end;
    }
    if (at != data_len) {
        diag_error(d, (SrcLoc){0},
                   "%s: bytes %llu..%llu of the data buffer (file byte %llu) "
                   "belong to no tensor",
                   path, (unsigned long long)at, (unsigned long long)data_len,
                   (unsigned long long)(data_start + at));
        return false;
    }
    return true;
}

/* Copies __metadata__ (an object of strings, or null) into f. */
static bool parse_meta(const char *path, json_object *val, StFile *f, Diag *d)
{
    if (json_object_is_type(val, json_type_null))
        return true;
    if (!json_object_is_type(val, json_type_object)) {
        diag_error(d, (SrcLoc){0}, "%s: \"__metadata__\" must be an object of strings, found %s",
                   path, json_type_to_name(json_object_get_type(val)));
        return false;
    }
    int n = json_object_object_length(val);
    f->meta = calloc((size_t)n * 2 + 1, sizeof *f->meta);
    if (!f->meta) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory reading the metadata", path);
        return false;
    }
    char kb[IO_CLIP_BUF];
    json_object_object_foreach(val, key, v)
    {
        if (!json_object_is_type(v, json_type_string)) {
            diag_error(d, (SrcLoc){0}, "%s: metadata '%s' must be a string, found %s", path,
                       io_clip(kb, key), json_type_to_name(json_object_get_type(v)));
            return false;
        }
        if (strlen(key) > ST_MAX_NAME) {
            diag_error(d, (SrcLoc){0}, "%s: metadata key '%s' is %zu bytes long (the limit is %d)",
                       path, io_clip(kb, key), strlen(key), ST_MAX_NAME);
            return false;
        }
        const char *s = json_object_get_string(v); /* no nul inside: see nul_escape_at */
        f->meta[2 * f->nmeta] = strdup(key);
        f->meta[2 * f->nmeta + 1] = strdup(s);
        f->nmeta++;
        if (!f->meta[2 * f->nmeta - 2] || !f->meta[2 * f->nmeta - 1]) {
            diag_error(d, (SrcLoc){0}, "%s: out of memory reading the metadata", path);
            return false;
        }
    }
    return true;
}

StFile *st_read(const char *path, Diag *d)
{
    char eb[128], nb[IO_CLIP_BUF];
    StFile *f = NULL;
    char *hdr = NULL;
    Entry *ents = NULL;
    json_object *root = NULL;
    json_tokener *tok = NULL;
    bool ok = false;

    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot open: %s", path, io_errstr(errno, eb, sizeof eb));
        return NULL;
    }
    io_note_read(path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        diag_error(d, (SrcLoc){0}, "%s: cannot stat: %s", path, io_errstr(errno, eb, sizeof eb));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        diag_error(d, (SrcLoc){0}, "%s: %s, expected a safetensors file", path,
                   S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
        goto done;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (fsize == 0) {
        diag_error(d, (SrcLoc){0}, "%s: file is empty", path);
        goto done;
    }
    uint8_t lenb[8];
    ssize_t r = pread_full(fd, lenb, 8, 0);
    if (r < 0) {
        diag_error(d, (SrcLoc){0}, "%s: read error at byte 0: %s", path,
                   io_errstr(errno, eb, sizeof eb));
        goto done;
    }
    if (r < 8) {
        diag_error(d, (SrcLoc){0},
                   "%s: truncated at byte %zd (expected at least 8 bytes: the "
                   "header length)",
                   path, r);
        goto done;
    }
    uint64_t hlen;
    memcpy(&hlen, lenb, 8); /* little-endian host */
    if (hlen > ST_MAX_HEADER) {
        diag_error(d, (SrcLoc){0},
                   "%s: header length %llu is larger than the limit of %llu bytes "
                   "(not a safetensors file?)",
                   path, (unsigned long long)hlen, ST_MAX_HEADER);
        goto done;
    }
    if (hlen > fsize - 8) {
        diag_error(d, (SrcLoc){0},
                   "%s: header length %llu runs past the end of the file (%llu "
                   "bytes): truncated, or not a safetensors file",
                   path, (unsigned long long)hlen, (unsigned long long)fsize);
        goto done;
    }
    if (hlen < 2) {
        diag_error(d, (SrcLoc){0}, "%s: header length %llu is too small for a json object", path,
                   (unsigned long long)hlen);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        diag_error(d, (SrcLoc){0}, "%s: cannot allocate %llu bytes for the header", path,
                   (unsigned long long)hlen);
        goto done;
    }
    r = pread_full(fd, hdr, hlen, 8);
    if (r < 0 || (uint64_t)r != hlen) {
        diag_error(d, (SrcLoc){0}, "%s: %s at byte %llu while reading the header", path,
                   r < 0 ? io_errstr(errno, eb, sizeof eb) : "truncated",
                   (unsigned long long)(8 + (r < 0 ? 0 : (uint64_t)r)));
        goto done;
    }
    hdr[hlen] = '\0';
    if (!json_not_dense(hdr, hlen)) {
        diag_error(d, (SrcLoc){0},
                   "%s: the header holds more json objects and arrays than %llu bytes of "
                   "tensors could (one in %d bytes): not a safetensors header",
                   path, (unsigned long long)hlen, JSON_BYTES_PER_CONTAINER);
        goto done;
    }

    tok = json_tokener_new();
    if (!tok) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory parsing the header", path);
        goto done;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, hdr, (int)hlen);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (!root || jerr != json_tokener_success) {
        if (jerr == json_tokener_continue)
            diag_error(d, (SrcLoc){0},
                       "%s: bad json in the header: it ends at byte %llu before "
                       "the json value is complete",
                       path, (unsigned long long)(8 + hlen));
        else
            diag_error(d, (SrcLoc){0}, "%s: bad json in the header at byte %llu: %s", path,
                       (unsigned long long)(8 + end), json_tokener_error_desc(jerr));
        goto done;
    }
    for (size_t i = end; i < hlen; i++) {
        if (hdr[i] != ' ' && hdr[i] != '\t' && hdr[i] != '\n' && hdr[i] != '\r') {
            diag_error(d, (SrcLoc){0},
                       "%s: bad json in the header at byte %llu: trailing data "
                       "after the json object",
                       path, (unsigned long long)(8 + i));
            goto done;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        diag_error(d, (SrcLoc){0}, "%s: the header must be a json object, found %s", path,
                   json_type_to_name(json_object_get_type(root)));
        goto done;
    }
    long nul = nul_escape_at(hdr, hlen);
    if (nul >= 0) {
        diag_error(d, (SrcLoc){0},
                   "%s: a string in the header holds a nul character (\\u0000 at byte %llu); "
                   "names and values must not",
                   path, (unsigned long long)(8 + (uint64_t)nul));
        goto done;
    }

    int depth;
    bool oom;
    char *again = repeated_key(hdr, hlen, &depth, &oom);
    if (again || oom) {
        if (oom)
            diag_error(d, (SrcLoc){0}, "%s: out of memory reading the header", path);
        else if (depth == 1 && !strcmp(again, "__metadata__"))
            diag_error(d, (SrcLoc){0}, "%s: the header holds \"__metadata__\" twice", path);
        else if (depth == 1)
            diag_error(d, (SrcLoc){0}, "%s: tensor name '%s' occurs twice in the header", path,
                       io_clip(nb, again));
        else
            diag_error(d, (SrcLoc){0}, "%s: key '%s' occurs twice in one object of the header",
                       path, io_clip(nb, again));
        free(again);
        goto done;
    }

    f = calloc(1, sizeof *f);
    int cap = json_object_object_length(root);
    ents = calloc((size_t)cap + 1, sizeof *ents);
    if (!f || !ents) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory reading the header", path);
        goto done;
    }
    int n = 0;
    json_object_object_foreach(root, key, val)
    {
        if (strlen(key) > ST_MAX_NAME) {
            diag_error(d, (SrcLoc){0}, "%s: tensor name '%s' is %zu bytes long (the limit is %d)",
                       path, io_clip(nb, key), strlen(key), ST_MAX_NAME);
            goto done;
        }
        if (strcmp(key, "__metadata__") == 0) {
            if (!parse_meta(path, val, f, d))
                goto done;
            continue;
        }
        if (!parse_entry(path, key, val, &ents[n], d))
            goto done;
        n++;
    }
    uint64_t data_start = 8 + hlen, data_len = fsize - data_start;
    if (!check_layout(path, ents, n, data_len, data_start, d))
        goto done;

    /* Copy each tensor into its own aligned slot. */
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += (size_t)(ents[i].end - ents[i].begin + ST_ALIGN - 1) / ST_ALIGN * ST_ALIGN;
    f->data = aligned_alloc(ST_ALIGN, total ? total : ST_ALIGN);
    f->t = calloc((size_t)n + 1, sizeof *f->t);
    f->names = calloc((size_t)n + 1, sizeof *f->names);
    if (!f->data || !f->t || !f->names) {
        diag_error(d, (SrcLoc){0}, "%s: cannot allocate %zu bytes for the tensors", path, total);
        goto done;
    }
    size_t slot = 0;
    for (int i = 0; i < n; i++) {
        const Entry *e = &ents[i];
        StTensor *t = &f->t[i];
        f->names[i] = strdup(e->name);
        if (!f->names[i]) {
            diag_error(d, (SrcLoc){0}, "%s: out of memory reading the header", path);
            goto done;
        }
        f->n = i + 1;
        t->name = f->names[i];
        t->dtype = e->dtype;
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof t->shape);
        t->nbytes = (size_t)(e->end - e->begin);
        char *dst = (char *)f->data + slot;
        t->data = dst;
        r = pread_full(fd, dst, t->nbytes, (off_t)(data_start + e->begin));
        if (r < 0 || (size_t)r != t->nbytes) {
            diag_error(d, (SrcLoc){0}, "%s: %s at byte %llu while reading tensor '%s'", path,
                       r < 0 ? io_errstr(errno, eb, sizeof eb) : "truncated",
                       (unsigned long long)(data_start + e->begin + (r < 0 ? 0 : (uint64_t)r)),
                       io_clip(nb, t->name));
            goto done;
        }
        slot += (t->nbytes + ST_ALIGN - 1) / ST_ALIGN * ST_ALIGN;
    }
    const char *dup = st_find_duplicate((const char **)f->names, f->n);
    if (dup) {
        diag_error(d, (SrcLoc){0}, "%s: tensor name '%s' occurs twice", path, io_clip(nb, dup));
        goto done;
    }
    ok = true;
done:
    close(fd);
    free(hdr);
    free(ents);
    json_object_put(root);
    if (tok)
        json_tokener_free(tok);
    if (!ok) {
        st_free(f);
        f = NULL;
    }
    return f;
}

int st_count(const StFile *f) { return f ? f->n : 0; }

const StTensor *st_tensor(const StFile *f, int i)
{
    return f && i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const StTensor *st_find(const StFile *f, const char *name)
{
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *st_meta(const StFile *f, const char *key)
{
    for (int i = 0; f && i < f->nmeta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}

void st_free(StFile *f)
{
    if (!f)
        return;
    if (f->names)
        for (int i = 0; i < f->n; i++)
            free(f->names[i]);
    if (f->meta)
        for (int i = 0; i < 2 * f->nmeta; i++)
            free(f->meta[i]);
    free(f->names);
    free(f->meta);
    free(f->t);
    free(f->data);
    free(f);
}
