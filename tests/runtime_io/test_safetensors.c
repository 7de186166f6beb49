/* test_safetensors.c: safetensors write/read round trips, the atomic-write guarantees, every
 * malformed header we reject, and a file written from a PyTorch state_dict (fixture made by
 * fixtures/gen_torch_safetensors.py).
 *
 * Design choice: malformed files are built here from a JSON header string and a data length,
 * so each case shows exactly what is wrong with it. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "safetensors.h"
#include "testutil.h"

static char *tmp;
static Cap cap;
static char path[1024];

static void setup(void)
{
    tmp = tmpdir_new();
    cap_init(&cap);
    snprintf(path, sizeof path, "%s/w.safetensors", tmp);
}

static void teardown(void)
{
    cap_fini(&cap);
    tmpdir_free(tmp);
}

TestSuite(st, .init = setup, .fini = teardown);

/* Writes <8-byte header length><json><data_len bytes 0,1,2...> to path. */
static void write_st_raw(uint64_t hlen, const char *json, size_t data_len)
{
    size_t jl = strlen(json);
    unsigned char *buf = malloc(8 + jl + data_len + 1);
    memcpy(buf, &hlen, 8);
    memcpy(buf + 8, json, jl);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + jl + i] = (unsigned char)i;
    write_file(path, buf, 8 + jl + data_len);
    free(buf);
}

static void write_st(const char *json, size_t data_len)
{
    write_st_raw(strlen(json), json, data_len);
}

/* Asserts st_read fails on path with one error naming the file and containing want. */
#define expect_read_error(...)                                                                     \
    do {                                                                                           \
        StFile *f_ = st_read(path, &cap.d);                                                        \
        cr_assert_null(f_, "st_read accepted a bad file");                                         \
        expect_error(&cap, path, __VA_ARGS__);                                                     \
    } while (0)

/* ---- round trips ---- */

Test(st, round_trip)
{
    float w[6] = {1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 65504.0f};
    int64_t steps[4] = {0, -1, INT64_MAX, INT64_MIN};
    uint8_t flag = 1;
    double big[1] = {3.141592653589793};
    uint8_t mask[3] = {1, 0, 1};
    uint16_t half[3] = {0x3c00, 0xc000, 0x7bff};
    StTensor t[] = {
        {.name = "layer1.0.weight",
         .dtype = ST_F32,
         .ndim = 2,
         .shape = {2, 3},
         .nbytes = 24,
         .data = w},
        {.name = "opt.step", .dtype = ST_I64, .ndim = 1, .shape = {4}, .nbytes = 32, .data = steps},
        {.name = "scalar", .dtype = ST_U8, .ndim = 0, .nbytes = 1, .data = &flag},
        {.name = "empty", .dtype = ST_BF16, .ndim = 2, .shape = {0, 5}, .nbytes = 0, .data = NULL},
        {.name = "deep",
         .dtype = ST_F64,
         .ndim = 8,
         .shape = {1, 1, 1, 1, 1, 1, 1, 1},
         .nbytes = 8,
         .data = big},
        {.name = "mask", .dtype = ST_BOOL, .ndim = 1, .shape = {3}, .nbytes = 3, .data = mask},
        {.name = "h \"quoted\" / \\ \xc3\xa9",
         .dtype = ST_F16,
         .ndim = 1,
         .shape = {3},
         .nbytes = 6,
         .data = half},
    };
    int n = (int)(sizeof t / sizeof t[0]);
    const char *meta[] = {"format", "pt", "epoch", "3", "note", "caf\xc3\xa9 \"x\"\n\\", NULL};
    cr_assert(st_write(path, t, n, meta, &cap.d), "%s", cap_text(&cap));
    cr_assert_eq(dir_entries(tmp), 1, "a temporary file was left behind");

    size_t flen;
    unsigned char *raw = read_file(path, &flen);
    uint64_t hlen;
    memcpy(&hlen, raw, 8);
    cr_assert_eq((8 + hlen) % 8, 0, "data buffer not 8-aligned: header length %llu",
                 (unsigned long long)hlen);
    cr_assert_eq(flen, 8 + hlen + 24 + 32 + 1 + 0 + 8 + 3 + 6);
    const char *head = "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":\"3\",";
    cr_assert(strncmp((const char *)raw + 8, head, strlen(head)) == 0, "header: %.*s", (int)hlen,
              raw + 8);
    char *json = strndup((const char *)raw + 8, hlen);
    cr_assert(strstr(json, "\"layer1.0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                           "\"data_offsets\":[0,24]}") != NULL,
              "header: %s", json);
    free(json);
    free(raw);

    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    expect_no_error(&cap);
    cr_assert_eq(st_count(f), n);
    for (int i = 0; i < n; i++) {
        const StTensor *r = st_tensor(f, i);
        cr_assert_str_eq(r->name, t[i].name, "tensor %d", i);
        cr_assert_eq(r->dtype, t[i].dtype, "tensor %d", i);
        cr_assert_eq(r->ndim, t[i].ndim, "tensor %d", i);
        for (int k = 0; k < r->ndim; k++)
            cr_assert_eq(r->shape[k], t[i].shape[k], "tensor %d dim %d", i, k);
        cr_assert_eq(r->nbytes, t[i].nbytes, "tensor %d", i);
        cr_assert_eq((uintptr_t)r->data % 64, 0, "tensor %d not aligned", i);
        if (r->nbytes)
            cr_assert(memcmp(r->data, t[i].data, r->nbytes) == 0, "tensor %d bytes differ", i);
        cr_assert_eq(st_find(f, t[i].name), r);
    }
    cr_assert_null(st_find(f, "layer1.0.bias"));
    cr_assert_null(st_tensor(f, -1));
    cr_assert_null(st_tensor(f, n));
    cr_assert_str_eq(st_meta(f, "format"), "pt");
    cr_assert_str_eq(st_meta(f, "epoch"), "3");
    cr_assert_str_eq(st_meta(f, "note"), "caf\xc3\xa9 \"x\"\n\\");
    cr_assert_null(st_meta(f, "missing"));
    st_free(f);
    st_free(NULL);
}

Test(st, empty_file_round_trip)
{
    cr_assert(st_write(path, NULL, 0, NULL, &cap.d), "%s", cap_text(&cap));
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_eq(st_count(f), 0);
    cr_assert_null(st_meta(f, "format"));
    st_free(f);
}

Test(st, dtypes)
{
    const char *names[] = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
    const size_t sizes[] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
    for (int i = 0; i < 10; i++) {
        StDtype t;
        cr_assert_str_eq(st_dtype_name((StDtype)i), names[i]);
        cr_assert_eq(st_dtype_size((StDtype)i), sizes[i]);
        cr_assert(st_dtype_parse(names[i], &t));
        cr_assert_eq(t, (StDtype)i);
    }
    StDtype t;
    cr_assert_not(st_dtype_parse("f32", &t));
    cr_assert_not(st_dtype_parse("U16", &t));
}

Test(st, overwrite_replaces)
{
    float a[2] = {1, 2}, b[3] = {4, 5, 6};
    StTensor ta = {.name = "x", .dtype = ST_F32, .ndim = 1, .shape = {2}, .nbytes = 8, .data = a};
    StTensor tb = {.name = "y", .dtype = ST_F32, .ndim = 1, .shape = {3}, .nbytes = 12, .data = b};
    cr_assert(st_write(path, &ta, 1, NULL, &cap.d));
    cr_assert(st_write(path, &tb, 1, NULL, &cap.d));
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_eq(st_count(f), 1);
    cr_assert_null(st_find(f, "x"));
    cr_assert(memcmp(st_find(f, "y")->data, b, 12) == 0);
    st_free(f);
    cr_assert_eq(dir_entries(tmp), 1);
}

/* Reads a file written in an unusual but valid way: tensors listed out of offset order,
 * unaligned offsets, extra fields, no padding, whitespace after the object. */
Test(st, foreign_layout)
{
    write_st("{\"b\":{\"data_offsets\":[3,11],\"shape\":[2],\"dtype\":\"F32\",\"extra\":1},"
             " \"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
             "\"__metadata__\":null} \n",
             11);
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_eq(st_count(f), 2);
    cr_assert_str_eq(st_tensor(f, 0)->name, "a");
    cr_assert_str_eq(st_tensor(f, 1)->name, "b");
    const unsigned char *b = st_tensor(f, 1)->data;
    cr_assert_eq((uintptr_t)b % 64, 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(b[i], 3 + i);
    st_free(f);
}

/* ---- atomic writes ---- */

static const unsigned char old_bytes[] = "previous checkpoint, must survive";

static void write_old(const char *p) { write_file(p, old_bytes, sizeof old_bytes); }

static void expect_old(const char *p)
{
    size_t len;
    unsigned char *b = read_file(p, &len);
    cr_assert(len == sizeof old_bytes && memcmp(b, old_bytes, len) == 0,
              "%s was modified by a failed write", p);
    free(b);
}

Test(st, write_into_unwritable_directory)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ro", tmp);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/ro/w.safetensors", tmp);
    write_old(path);
    cr_assert_eq(chmod(dir, 0555), 0);
    if (access(dir, W_OK) == 0)
        cr_skip_test("running as root: a read-only directory is still writable");
    float x = 1;
    StTensor t = {.name = "x", .dtype = ST_F32, .ndim = 0, .nbytes = 4, .data = &x};
    cr_assert_not(st_write(path, &t, 1, NULL, &cap.d));
    expect_error(&cap, path, "cannot create the temporary file", "permission denied");
    expect_old(path);
    cr_assert_eq(dir_entries(dir), 1);
}

Test(st, write_to_missing_directory)
{
    snprintf(path, sizeof path, "%s/nodir/w.safetensors", tmp);
    float x = 1;
    StTensor t = {.name = "x", .dtype = ST_F32, .ndim = 0, .nbytes = 4, .data = &x};
    cr_assert_not(st_write(path, &t, 1, NULL, &cap.d));
    expect_error(&cap, path, "cannot create the temporary file", "no such file or directory");
}

Test(st, write_to_directory_path)
{
    float x = 1;
    StTensor t = {.name = "x", .dtype = ST_F32, .ndim = 0, .nbytes = 4, .data = &x};
    char old[1024];
    snprintf(old, sizeof old, "%s/keep", tmp);
    write_old(old);
    cr_assert_not(st_write(tmp, &t, 1, NULL, &cap.d));
    expect_error(&cap, tmp, "is a directory");
    expect_old(old);
    cr_assert_eq(dir_entries(tmp), 1);
}

/* A write that fails half-way (file size limit: EFBIG) leaves the old file and no temp. */
Test(st, write_failure_keeps_old_file)
{
    write_old(path);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    size_t n = 16384;
    float *big = calloc(n, sizeof *big);
    StTensor t = {.name = "big",
                  .dtype = ST_F32,
                  .ndim = 1,
                  .shape = {(int64_t)n},
                  .nbytes = n * sizeof *big,
                  .data = big};
    bool ok = st_write(path, &t, 1, NULL, &cap.d);
    free(big);
    rl.rlim_cur = RLIM_INFINITY;
    setrlimit(RLIMIT_FSIZE, &rl);
    cr_assert_not(ok);
    expect_error(&cap, path, "write of the temporary file", "file too large");
    expect_old(path);
    cr_assert_eq(dir_entries(tmp), 1, "the temporary file was left behind");
}

Test(st, write_rejects_bad_arguments)
{
    float x[2] = {1, 2};
    StTensor t[2] = {
        {.name = "a", .dtype = ST_F32, .ndim = 1, .shape = {2}, .nbytes = 8, .data = x},
        {.name = "a", .dtype = ST_F32, .ndim = 1, .shape = {2}, .nbytes = 8, .data = x},
    };
    write_old(path);
    cr_assert_not(st_write(path, t, 2, NULL, &cap.d));
    expect_error(&cap, path, "tensor name 'a' occurs twice");
    cap_fini(&cap);
    cap_init(&cap);
    t[1].name = "b";
    t[1].nbytes = 12;
    cr_assert_not(st_write(path, t, 2, NULL, &cap.d));
    expect_error(&cap, path, "tensor 'b': nbytes 12 does not match shape [2] of F32");
    cap_fini(&cap);
    cap_init(&cap);
    t[1].nbytes = 8;
    const char *meta[] = {"k", "1", "k", "2", NULL};
    cr_assert_not(st_write(path, t, 2, meta, &cap.d));
    expect_error(&cap, path, "metadata key 'k' occurs twice");
    cap_fini(&cap);
    cap_init(&cap);
    t[1].name = "__metadata__";
    cr_assert_not(st_write(path, t, 2, NULL, &cap.d));
    expect_error(&cap, path, "reserved");
    expect_old(path);
}

/* ---- malformed files ---- */

Test(st, not_found_and_directory)
{
    expect_read_error("cannot open", "no such file or directory");
    cap_fini(&cap);
    cap_init(&cap);
    cr_assert_null(st_read(tmp, &cap.d));
    expect_error(&cap, tmp, "is a directory");
}

Test(st, empty_and_tiny)
{
    write_file(path, "", 0);
    expect_read_error("file is empty");
    cap_fini(&cap);
    cap_init(&cap);
    write_file(path, "\x10\0\0", 3);
    expect_read_error("truncated at byte 3 (expected at least 8 bytes");
}

Test(st, truncated_data)
{
    float x[4] = {1, 2, 3, 4};
    StTensor t = {.name = "w", .dtype = ST_F32, .ndim = 1, .shape = {4}, .nbytes = 16, .data = x};
    cr_assert(st_write(path, &t, 1, NULL, &cap.d));
    size_t len;
    unsigned char *b = read_file(path, &len);
    write_file(path, b, len - 5);
    free(b);
    expect_read_error("tensor 'w': data_offsets [0, 16] are out of range", "11 bytes",
                      "truncated at byte");
}

Test(st, truncated_header)
{
    write_st_raw(100, "{\"a\":", 0);
    expect_read_error("header length 100 runs past the end of the file (13 bytes)");
}

Test(st, header_too_large)
{
    write_st_raw(1ull << 40, "{}", 0);
    expect_read_error("header length 1099511627776 is larger than the limit of 100000000 bytes");
}

Test(st, header_too_small)
{
    write_st_raw(0, "", 0);
    expect_read_error("header length 0 is too small");
}

Test(st, bad_json)
{
    write_st("{\"a\": 1,}", 0);
    expect_read_error("bad json in the header at byte 16");
}

Test(st, incomplete_json)
{
    write_st("{\"a\": {\"dtype\": \"F32\",", 0);
    expect_read_error("bad json in the header", "before the json value is complete");
}

Test(st, trailing_garbage)
{
    write_st("{} x", 0);
    expect_read_error("bad json in the header at byte 11");
    cap_fini(&cap);
    cap_init(&cap);
    /* NUL padding is not JSON white space */
    unsigned char b[12] = {4, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, 0};
    write_file(path, b, sizeof b);
    expect_read_error("trailing data after the json object");
}

/* json-c builds every object and array before anything is checked, hundreds of bytes each:
 * a header far denser in them than tensors can be is refused before it is parsed, and one of
 * as many short tensors as fit (the densest a real file is) is read */
Test(st, dense_header)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "{\"__metadata__\":{\"a\":[{}");
    for (int i = 0; i < 20000; i++)
        sb_puts(&sb, ",{}");
    sb_puts(&sb, "]}}");
    write_st(sb.data, 0);
    expect_read_error("more json objects and arrays than", "not a safetensors header");
    cap_fini(&cap);
    cap_init(&cap);
    sb.len = 0;
    sb_puts(&sb, "{");
    for (int i = 0; i < 2000; i++)
        sb_printf(&sb, "%s\"%c%d\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[%d,%d]}",
                  i ? "," : "", 'a' + i % 26, i / 26, 4 * i, 4 * i + 4);
    sb_puts(&sb, "}");
    write_st(sb.data, 8000);
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "2000 scalar tensors: %s", cap_text(&cap));
    cr_assert_eq(st_count(f), 2000);
    st_free(f);
    sb_free(&sb);
}

Test(st, invalid_utf8)
{
    write_st("{\"\xff\xfe\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
    expect_read_error("bad json in the header");
}

Test(st, root_not_object)
{
    write_st("[1, 2]", 0);
    expect_read_error("the header must be a json object, found array");
}

Test(st, missing_fields)
{
    write_st("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': missing \"dtype\"");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': missing \"shape\"");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4);
    expect_read_error("tensor 'w': missing \"data_offsets\"");
}

Test(st, wrong_types)
{
    write_st("{\"w\":[1]}", 0);
    expect_read_error("tensor 'w': expected an object", "found array");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': \"dtype\" must be a string, found int");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': \"shape\" must be an array, found string");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': shape dimension 0 is not an integer");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4);
    expect_read_error("tensor 'w': \"data_offsets\" must be an array [begin, end]");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"__metadata__\":{\"epoch\":3}}",
             4);
    expect_read_error("metadata 'epoch' must be a string, found int");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"__metadata__\":[]}", 0);
    expect_read_error("\"__metadata__\" must be an object of strings, found array");
}

Test(st, bad_shapes)
{
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': shape dimension 1 is negative");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': rank 9 exceeds the limit of 8");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
             "\"data_offsets\":[0,4]}}",
             4);
    expect_read_error("tensor 'w': shape [4294967296, 4294967296, 4294967296] of F32 is too large");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}",
             4);
    expect_read_error("tensor 'w': shape dimension 0 is too large");
    cap_fini(&cap);
    cap_init(&cap);
    /* no bytes, but dimensions whose product overflows: refused in either order */
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,1000000000000000000,1000000000000000000,"
             "1000000000000000000,1000000000000000000,1000000000000000000,1000000000000000000,"
             "1000000000000000000],\"data_offsets\":[0,0]}}",
             0);
    expect_read_error("tensor 'w': shape [0, 1000000000000000000", "is too large");
}

/* json-c keeps the last value of a repeated key without a word: a repeated tensor name
 * whose copies share their bytes (so that none is left over), a repeated field inside a
 * tensor's entry, a repeated metadata key, a name repeated through an escape */
Test(st, repeated_keys)
{
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "tensor name 'b' occurs twice in the header"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"\\u0062\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "tensor name 'b' occurs twice in the header"},
        {"{\"b\":{\"dtype\":\"I32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "key 'dtype' occurs twice in one object of the header"},
        {"{\"__metadata__\":{},\"__metadata__\":{},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "the header holds \"__metadata__\" twice"},
        {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "key 'k' occurs twice in one object of the header"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_st(cases[k].json, 4);
        expect_read_error(cases[k].error);
        cap_fini(&cap);
        cap_init(&cap);
    }
    /* the same key in two objects, and in quotes as a value, is no repeat */
    write_st("{\"__metadata__\":{\"dtype\":\"dtype\"},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
             8);
    StFile *f = st_read(path, &cap.d);
    cr_assert(f, "a header without a repeated key was refused: %s", cap_text(&cap));
    st_free(f);
}

Test(st, unknown_dtype)
{
    write_st("{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_read_error("tensor 'w': unknown dtype 'F33'");
}

Test(st, offsets_out_of_range)
{
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
    expect_read_error("tensor 'w': data_offsets [0, 16] are out of range", "has 8 bytes");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
    expect_read_error("tensor 'w': data_offsets [8, 4] end before they begin");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8);
    expect_read_error("tensor 'w': data offset begin is negative");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}",
             8);
    expect_read_error("tensor 'w': data offset end is too large");
}

Test(st, product_mismatch)
{
    write_st("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    expect_read_error("tensor 'w': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");
}

Test(st, overlapping)
{
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             12);
    expect_read_error("tensors 'a' (bytes 0..8) and 'b' (bytes 4..12) overlap");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}",
             8);
    expect_read_error("tensors 'a' (bytes 0..8) and 'b' (bytes 0..8) overlap");
}

Test(st, gaps)
{
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
             12);
    expect_read_error("bytes 4..8 of the data buffer", "belong to no tensor");
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 7);
    expect_read_error("bytes 4..7 of the data buffer", "belong to no tensor");
}

/* ---- a file made from a PyTorch state_dict ---- */

typedef struct Expected {
    char name[64];
    int ndim;
    int64_t shape[8];
    uint32_t first, last;
} Expected;

static float bits_to_float(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

Test(st, torch_fixture)
{
    FILE *ef = fopen(FIXTURE_DIR "/torch_small.expected", "r");
    cr_assert_not_null(ef, "cannot open %s", FIXTURE_DIR "/torch_small.expected");
    Expected ex[8];
    int nex = 0;
    double out_want[3] = {0};
    char line[512];
    while (fgets(line, sizeof line, ef)) {
        if (strncmp(line, "tensor ", 7) == 0) {
            Expected *e = &ex[nex++];
            char *p = line + 7;
            int used;
            cr_assert_eq(sscanf(p, "%63s %d%n", e->name, &e->ndim, &used), 2);
            p += used;
            for (int k = 0; k < e->ndim; k++) {
                long long v;
                cr_assert_eq(sscanf(p, "%lld%n", &v, &used), 1);
                e->shape[k] = v;
                p += used;
            }
            cr_assert_eq(sscanf(p, "%x %x", &e->first, &e->last), 2);
        } else if (strncmp(line, "output ", 7) == 0) {
            cr_assert_eq(sscanf(line + 7, "%lf %lf %lf", &out_want[0], &out_want[1], &out_want[2]),
                         3);
        }
    }
    fclose(ef);
    cr_assert_eq(nex, 4);

    StFile *f = st_read(FIXTURE_DIR "/torch_small.safetensors", &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_eq(st_count(f), 4);
    const char *order[] = {"0.bias", "0.weight", "3.bias", "3.weight"};
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(st_tensor(f, i)->name, order[i]);
    for (int i = 0; i < nex; i++) {
        const StTensor *t = st_find(f, ex[i].name);
        cr_assert_not_null(t, "tensor %s missing", ex[i].name);
        cr_assert_eq(t->dtype, ST_F32);
        cr_assert_eq(t->ndim, ex[i].ndim, "%s", ex[i].name);
        size_t count = 1;
        for (int k = 0; k < t->ndim; k++) {
            cr_assert_eq(t->shape[k], ex[i].shape[k], "%s dim %d", ex[i].name, k);
            count *= (size_t)t->shape[k];
        }
        cr_assert_eq(t->nbytes, count * 4);
        const float *v = t->data;
        cr_assert_eq(v[0], bits_to_float(ex[i].first), "%s[0] = %.9g", ex[i].name, (double)v[0]);
        cr_assert_eq(v[count - 1], bits_to_float(ex[i].last), "%s[last]", ex[i].name);
    }
    cr_assert_str_eq(st_meta(f, "format"), "pt");

    /* The model on an all-ones 1x1x4x4 input: conv (w is [2,1,3,3]) gives 2x2x2, ReLU,
     * flatten in (c, y, x) order, Linear (w is [3,8]). */
    const float *cw = st_find(f, "0.weight")->data, *cb = st_find(f, "0.bias")->data;
    const float *lw = st_find(f, "3.weight")->data, *lb = st_find(f, "3.bias")->data;
    float h[8];
    for (int c = 0; c < 2; c++) {
        float s = cb[c];
        for (int k = 0; k < 9; k++)
            s += cw[c * 9 + k];
        for (int p = 0; p < 4; p++)
            h[c * 4 + p] = s > 0 ? s : 0;
    }
    for (int o = 0; o < 3; o++) {
        float y = lb[o];
        for (int k = 0; k < 8; k++)
            y += lw[o * 8 + k] * h[k];
        cr_assert(fabs(y - out_want[o]) < 1e-6, "output %d: %.9g, pytorch %.9g", o, (double)y,
                  out_want[o]);
    }
    st_free(f);
}

/* ---- names: no nul, a bounded length, shown cut short ---- */

/* A \u0000 anywhere in a string of the header: json-c would cut a tensor name or metadata key
 * there and read the name before it, and a value (dtype) would compare as its prefix. */
Test(st, nul_in_names_and_values)
{
    const char *const cases[] = {
        "{\"fc.bias\\u0000junk\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"\\u0000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"w\":{\"dtype\":\"U8\\u0000x\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"__metadata__\":{\"netc.epoch\\u0000\":\"1\"},"
        "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"__metadata__\":{\"netc.epoch\":\"1\\u0000\"},"
        "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"w\\\\\\u0000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        write_st(cases[i], 1);
        char at[64];
        snprintf(at, sizeof at, "at byte %zu",
                 8 + (size_t)(strstr(cases[i], "\\u0000") - cases[i]));
        expect_read_error("holds a nul character", at);
    }
    /* an escaped backslash before "u0000" is no nul */
    cap_fini(&cap);
    cap_init(&cap);
    write_st("{\"w\\\\u0000\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_str_eq(st_tensor(f, 0)->name, "w\\u0000");
    st_free(f);
}

/* Writes a header with one tensor (or metadata key) whose name is len bytes of c. */
static void write_long_name(size_t len, char c, bool meta)
{
    char *name = malloc(len + 1);
    memset(name, c, len);
    name[len] = 0;
    size_t jl = len + 128;
    char *json = malloc(jl);
    if (meta)
        snprintf(json, jl, "{\"__metadata__\":{\"%s\":\"v\"}}", name);
    else
        snprintf(json, jl, "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                 name);
    write_st(json, meta ? 0 : 1);
    free(name);
    free(json);
}

Test(st, name_length_limit)
{
    write_long_name(1024, 'a', false);
    StFile *f = st_read(path, &cap.d);
    cr_assert_not_null(f, "%s", cap_text(&cap));
    cr_assert_eq(strlen(st_tensor(f, 0)->name), 1024);
    st_free(f);
    write_long_name(1025, 'a', false);
    expect_read_error("tensor name 'aaaa", "...' is 1025 bytes long (the limit is 1024)");
    cap_fini(&cap);
    cap_init(&cap);
    write_long_name(1 << 20, 'b', true);
    expect_read_error("metadata key 'bbbb", "is 1048576 bytes long");
}

/* Every message that shows a name or value from the file shows at most 60 bytes of it, with
 * "..." when cut, and control characters escaped: a megabyte of name is not echoed whole. */
Test(st, names_in_messages_are_cut)
{
    size_t n = 1000;
    char *name = malloc(n + 1);
    memset(name, 'n', n);
    name[n] = 0;
    name[1] = '\x1b'; /* no terminal escape sequences from a file */
    char *json = malloc(4 * n);
    const char *const forms[] = {
        "{\"%s\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"%s\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,1]}}",
        "{\"%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,9]}}",
        "{\"%s\":7}",
        "{\"w\":{\"dtype\":\"%s\",\"shape\":[1],\"data_offsets\":[0,1]}}",
        "{\"__metadata__\":{\"%s\":7}}",
    };
    /* the name as JSON: the escape character written as \u001b */
    char *jname = malloc(n + 8);
    snprintf(jname, n + 8, "n\\u001b%s", name + 2);
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        snprintf(json, 4 * n, forms[i], jname);
        write_st(json, 1);
        StFile *f = st_read(path, &cap.d);
        cr_assert_null(f, "form %zu accepted", i);
        const char *t = cap_text(&cap);
        cr_assert_eq(cap.d.errors, 1, "%s", t);
        cr_assert_lt(strlen(t), strlen(path) + 300, "form %zu: %zu bytes:\n%s", i, strlen(t), t);
        cr_assert(strstr(t, "n\\x1bnnn") && strstr(t, "nnn...'"), "form %zu:\n%s", i, t);
        cr_assert_null(strchr(t, '\x1b'), "form %zu: a raw escape character", i);
    }
    free(jname);
    free(json);
    free(name);
}
