/* test_table.c: CSV tables as data sets (data csv): features, label names and numbers, the
 * RFC 4180 forms (quotes, doubled quotes, CRLF, a byte order mark), gzip, the test table
 * against the training table's classes, the validation split of a table, and one message
 * naming file, line and column for every malformed table made at test time. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "data.h"
#include "testutil.h"

static char *tmp;
static Cap cap;
static char path[1024];
static char **cls;
static int ncls;

static void setup(void)
{
    tmp = tmpdir_new();
    cap_init(&cap);
    cls = NULL;
    ncls = 0;
}

static void teardown(void)
{
    for (int k = 0; cls && k < ncls; k++)
        free(cls[k]);
    free(cls);
    cap_fini(&cap);
    tmpdir_free(tmp);
}

TestSuite(csv, .init = setup, .fini = teardown);

/* Loads file p as a training table (learn) or a test table, with label column "label". */
static bool load_path(Dataset *ds, const char *p, bool learn)
{
    CsvSpec spec = {.label = "label", .learn = learn, .classes = &cls, .nclasses = &ncls};
    return dataset_load_csv(ds, p, &spec, &cap.d);
}

/* Writes text to tmp/name (gzip when gz) and loads it as load_path does. */
static bool load(Dataset *ds, const char *name, const char *text, bool learn, bool gz)
{
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    if (gz)
        write_gz(path, text, strlen(text));
    else
        write_file(path, text, strlen(text));
    return load_path(ds, path, learn);
}

/* Loads text as a training table and expects one error holding every string given. */
#define BAD(text, ...)                                                                             \
    do {                                                                                           \
        Dataset ds_;                                                                               \
        cr_assert_not(load(&ds_, "t.csv", text, true, false));                                     \
        expect_error(&cap, __VA_ARGS__);                                                           \
        cr_assert_null(ds_.features);                                                              \
        cr_assert_null(ds_.labels);                                                                \
    } while (0)

Test(csv, names_become_classes_in_byte_order)
{
    Dataset ds;
    cr_assert(load(&ds, "t.csv",
                   "a,label,b\n"
                   "1.5,dog,-2\n"
                   "0,cat,3e2\n"
                   "  7 ,bird,0.1\n"
                   "-0.25,cat,1e-3\n",
                   true, false),
              "%s", cap_text(&cap));
    expect_no_error(&cap);
    cr_assert(ds.n == 4 && ds.cols == 2 && ds.rows == 1 && dataset_channels(&ds) == 1);
    cr_assert_null(ds.images);
    cr_assert_eq(ncls, 3);
    cr_assert_str_eq(cls[0], "bird");
    cr_assert_str_eq(cls[1], "cat");
    cr_assert_str_eq(cls[2], "dog");
    const uint8_t want[4] = {2, 1, 0, 1};
    const float x[8] = {1.5f, -2, 0, 300, 7, 0.1f, -0.25f, 1e-3f};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ds.labels[i], want[i], "record %d", i);
    for (int k = 0; k < 8; k++)
        cr_assert_eq(ds.features[k], x[k], "value %d: %g", k, ds.features[k]);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ds.lines[i], i + 2);
    cr_assert_eq(ds.label_column, 2);
    cr_assert_str_eq(ds.label_name, "label");
    /* a table's record is taken as it is (no /255), then normalised with the first value */
    float v[2];
    dataset_image_to_float(v, &ds, 1, NULL, NULL);
    cr_assert(v[0] == 0 && v[1] == 300);
    const float mean[1] = {1}, std[1] = {4};
    dataset_image_to_float(v, &ds, 1, mean, std);
    cr_assert(v[0] == -0.25f && v[1] == (300.0f - 1) / 4);
    dataset_free(&ds);
}

Test(csv, numbers_are_class_indices)
{
    Dataset ds;
    cr_assert(load(&ds, "t.csv", "label,x\n3,1\n0,2\n255,3\n", true, false), "%s", cap_text(&cap));
    cr_assert_null(cls); /* numbers: no names */
    cr_assert(ds.labels[0] == 3 && ds.labels[1] == 0 && ds.labels[2] == 255);
    dataset_free(&ds);
}

Test(csv, quotes_crlf_bom_and_gzip)
{
    Dataset ds;
    cr_assert(load(&ds, "t.csv.gz",
                   "\xEF\xBB\xBF"
                   "\"x, one\",label\r\n"
                   "\"1.25\",\"Iris \"\"setosa\"\"\"\r\n"
                   "2,\"two\nlines\"\r\n"
                   "\r\n"
                   "3,\"Iris \"\"setosa\"\"\"",
                   true, true),
              "%s", cap_text(&cap));
    cr_assert_eq(ds.n, 3);
    cr_assert_eq(ncls, 2);
    cr_assert_str_eq(cls[0], "Iris \"setosa\"");
    cr_assert_str_eq(cls[1], "two\nlines");
    cr_assert(ds.features[0] == 1.25f && ds.features[1] == 2 && ds.features[2] == 3);
    cr_assert(ds.labels[0] == 0 && ds.labels[1] == 1 && ds.labels[2] == 0);
    cr_assert(ds.lines[0] == 2 && ds.lines[1] == 4 && ds.lines[2] == 6, "%d %d %d", ds.lines[0],
              ds.lines[1], ds.lines[2]);
    dataset_free(&ds);
}

Test(csv, test_table_takes_the_training_classes)
{
    Dataset tr, te;
    cr_assert(load(&tr, "train.csv", "x,label\n1,b\n2,a\n3,c\n", true, false));
    cr_assert(load(&te, "test.csv", "x,label\n4,c\n5,c\n6,a\n", false, false), "%s",
              cap_text(&cap));
    cr_assert(te.labels[0] == 2 && te.labels[1] == 2 && te.labels[2] == 0);
    cr_assert_eq(ncls, 3);
    dataset_free(&te);
    cr_assert_not(load(&te, "test2.csv", "x,label\n4,c\n5,dgo\n", false, false));
    expect_error(&cap, "test2.csv:3: column 2 ('label'): 'dgo'", "training table's 3 classes");
    dataset_free(&tr);
}

Test(csv, test_table_near_name_gets_a_hint)
{
    Dataset tr, te;
    cr_assert(load(&tr, "train.csv", "x,label\n1,setosa\n2,virginica\n", true, false));
    cr_assert_not(load(&te, "test.csv", "x,label\n4,virginca\n", false, false));
    expect_error(&cap, "test.csv:2: column 2", "'virginca'", "did you mean 'virginica'?");
    dataset_free(&tr);
}

Test(csv, numeric_training_labels_need_numeric_test_labels)
{
    Dataset tr, te;
    cr_assert(load(&tr, "train.csv", "x,label\n1,0\n2,1\n", true, false));
    cr_assert_null(cls);
    cr_assert(load(&te, "test.csv", "x,label\n1,1\n", false, false), "%s", cap_text(&cap));
    dataset_free(&te);
    cr_assert_not(load(&te, "test2.csv", "x,label\n1,1\n2,cat\n", false, false));
    expect_error(&cap, "test2.csv:3: column 2 ('label'): 'cat' is not a class number");
    dataset_free(&tr);
}

Test(csv, label_optional_reads_features_only)
{
    snprintf(path, sizeof path, "%s/p.csv", tmp);
    write_file(path, "a,b\n1,2\n3,4\n", 12);
    CsvSpec spec = {.label = "label", .label_optional = true, .classes = &cls, .nclasses = &ncls};
    Dataset ds;
    cr_assert(dataset_load_csv(&ds, path, &spec, &cap.d), "%s", cap_text(&cap));
    cr_assert(ds.n == 2 && ds.cols == 2 && ds.label_column == 0);
    cr_assert(ds.features[3] == 4 && ds.labels[1] == 0);
    dataset_free(&ds);
    /* with the label column there, it is skipped */
    write_file(path, "a,label,b\n1,0,2\n", 16);
    cr_assert(dataset_load_csv(&ds, path, &spec, &cap.d), "%s", cap_text(&cap));
    cr_assert(ds.cols == 2 && ds.features[1] == 2);
    dataset_free(&ds);
}

Test(csv, split_moves_features_labels_and_lines_together)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "x,y,label\n");
    for (int i = 0; i < 50; i++)
        sb_printf(&sb, "%d,%d,%d\n", i, -i, i % 7);
    Dataset ds, val;
    cr_assert(load(&ds, "t.csv", sb.data, true, false));
    sb_free(&sb);
    cr_assert(dataset_split(&ds, &val, 0.2, 3, &cap.d), "%s", cap_text(&cap));
    cr_assert(ds.n == 40 && val.n == 10 && val.features && val.lines);
    bool moved = false;
    for (int i = 0; i < 50; i++) { /* record k was line k + 2: x = k, y = -k, label k % 7 */
        const Dataset *p = i < 40 ? &ds : &val;
        int j = i < 40 ? i : i - 40, k = (int)p->features[2 * j];
        cr_assert(p->features[2 * j + 1] == (float)-k && p->labels[j] == k % 7 &&
                      p->lines[j] == k + 2,
                  "record %d", i);
        moved |= k != i;
    }
    cr_assert(moved);
    cr_assert_str_eq(val.images_file, path);
    dataset_free(&ds);
}

Test(csv, missing_value)
{
    BAD("a,b,label\n1,2,x\n3,,y\n", "t.csv:3: column 2 ('b'): a missing value");
}

Test(csv, not_a_number)
{
    BAD("a,b,label\n1,2,x\n3,4x,y\n", "t.csv:3: column 2 ('b'): '4x' is not a number");
}

/* strtod's hex forms are text to pandas, so not numbers here either */
Test(csv, hex_is_not_a_number)
{
    BAD("a,b,label\n1,2,x\n3,0x1A,y\n", "t.csv:3: column 2 ('b'): '0x1A' is not a number");
}

Test(csv, hex_float_is_not_a_number)
{
    BAD("a,b,label\n1, 0X1p3 ,x\n", "t.csv:2: column 2 ('b'): ", "0X1p3", "is not a number");
}

/* A line with no end (a binary file, /dev/zero) stops at 64 MiB, not at the memory's end. */
Test(csv, endless_line)
{
    size_t n = ((size_t)64 << 20) + 2;
    char *text = malloc(n);
    cr_assert(text);
    memcpy(text, "a,", 2);
    memset(text + 2, '7', n - 2);
    Dataset ds;
    CsvSpec spec = {.label = "label", .learn = true, .classes = &cls, .nclasses = &ncls};
    cr_assert_not(dataset_parse_csv(&ds, "long.csv", text, n, &spec, &cap.d));
    expect_error(&cap, "long.csv:1: a line longer than 64 MiB: not a CSV table");
    free(text);
}

/* Nor does a quoted field of line ends, which once started the count again at each of them
 * (a 300 KB gzip made a 300 MiB class name). */
Test(csv, endless_quoted_field)
{
    size_t n = ((size_t)64 << 20) + 64;
    char *text = malloc(n);
    cr_assert(text);
    const char *head = "a,label\n1,\"";
    memcpy(text, head, strlen(head));
    memset(text + strlen(head), '\n', n - strlen(head));
    Dataset ds;
    CsvSpec spec = {.label = "label", .learn = true, .classes = &cls, .nclasses = &ncls};
    cr_assert_not(dataset_parse_csv(&ds, "long.csv", text, n, &spec, &cap.d));
    expect_error(&cap, "long.csv:2: a record longer than 64 MiB, to line ",
                 "a quoted field that does not close?");
    free(text);
}

/* Blank lines are no record's: 64 MiB of them between two records is not a long record (its
 * bytes counted into the next record's, with a message about a quoted field). */
Test(csv, blank_lines_are_no_record)
{
    const char *head = "a,b,label\n", *tail = "1,2,x\n3,4,y\n";
    size_t blank = ((size_t)64 << 20) + 16, n = strlen(head) + blank + strlen(tail);
    char *text = malloc(n);
    cr_assert(text);
    memcpy(text, head, strlen(head));
    memset(text + strlen(head), '\n', blank);
    memcpy(text + strlen(head) + blank, tail, strlen(tail));
    Dataset ds;
    CsvSpec spec = {.label = "label", .learn = true, .classes = &cls, .nclasses = &ncls};
    cr_assert(dataset_parse_csv(&ds, "blank.csv", text, n, &spec, &cap.d), "%s", cap_text(&cap));
    cr_expect_eq(ds.n, 2);
    dataset_free(&ds);
    free(text);
}

Test(csv, not_finite)
{
    BAD("a,label\nnan,x\n", "t.csv:2: column 1 ('a'): 'nan' is not a finite float32 value");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,label\n1e39,x\n", "t.csv:2: column 1 ('a'): '1e39'", "finite float32");
}

Test(csv, wrong_field_count)
{
    BAD("a,b,label\n1,2,x\n3,y\n", "t.csv:3: 2 fields, but the header has 3 columns");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,b,label\n1,2,x,4\n", "t.csv:2: 4 fields, but the header has 3 columns");
}

Test(csv, unknown_label_column)
{
    BAD("sepal,petal,lable\n1,2,x\n", "t.csv:1: no column named 'label'", "did you mean 'lable'?",
        "'sepal', 'petal', 'lable'", "label=NAME");
}

Test(csv, label_column_twice)
{
    BAD("label,a,label\n1,2,3\n", "t.csv:1: columns 1 and 3 are both named 'label'");
}

Test(csv, label_column_alone) { BAD("label\n1\n", "the label column 'label' is the only column"); }

Test(csv, missing_label)
{
    BAD("a,label\n1,\n", "t.csv:2: column 2 ('label'): the label is missing");
}

Test(csv, empty_file_and_header_only)
{
    BAD("", "t.csv: empty: no header row");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,label\n", "t.csv: a header but no records");
}

Test(csv, label_number_too_large)
{
    BAD("a,label\n1,3\n2,256\n", "t.csv:3: column 2 ('label'): label 256", "0 to 255");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,label\n1,3\n2,99999999999999999999999\n", "label 99999999999999999999999; netrun");
}

/* A whole number written as a decimal is that class (as pandas' astype(int) reads 5.0): one
 * such label does not make the column names, renumbering every class in byte order. */
Test(csv, whole_numbers_as_decimals_are_class_numbers)
{
    Dataset ds;
    cr_assert(load(&ds, "t.csv", "label,x\n10,1\n5.0,2\n2e0,3\n 7 ,4\n0,5\n", true, false), "%s",
              cap_text(&cap));
    cr_assert_null(cls); /* numbers: no names */
    cr_assert(ds.labels[0] == 10 && ds.labels[1] == 5 && ds.labels[2] == 2 && ds.labels[3] == 7 &&
                  ds.labels[4] == 0,
              "%d %d %d %d %d", ds.labels[0], ds.labels[1], ds.labels[2], ds.labels[3],
              ds.labels[4]);
    dataset_free(&ds);
}

/* Numbers that are not class numbers (PyTorch's cross-entropy refuses a target of -1) are an
 * error, not names; with one word among them, every label is a name. */
Test(csv, numbers_that_are_not_classes)
{
    BAD("a,label\n1,0\n2,-1\n", "t.csv:3: column 2 ('label'): '-1' is not a class number");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,label\n1,0.5\n2,1\n", "t.csv:2: column 2 ('label'): '0.5' is not a class number");
    Dataset ds;
    cr_assert(load(&ds, "t.csv", "a,label\n1,-1\n2,cat\n3,0x1\n", true, false), "%s",
              cap_text(&cap));
    cr_assert_eq(ncls, 3);
    cr_assert_str_eq(cls[0], "-1");
    cr_assert_str_eq(cls[1], "0x1");
    cr_assert_str_eq(cls[2], "cat");
    dataset_free(&ds);
}

/* A gzip table cut short is refused wherever the cut falls, as Python's gzip refuses it. */
Test(csv, truncated_gzip)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "label,a,b\n");
    for (int i = 0; i < 2000; i++)
        sb_printf(&sb, "%d,%d,%g\n", i % 2, i, i * 7.5);
    snprintf(path, sizeof path, "%s/full.csv.gz", tmp);
    write_gz(path, sb.data, sb.len);
    size_t len;
    unsigned char *gz = read_file(path, &len);
    const size_t cuts[] = {len / 2, len - 9, len - 4, len - 1};
    for (int k = 0; k < 4; k++) {
        char cut[1024];
        snprintf(cut, sizeof cut, "%s/cut%d.csv.gz", tmp, k);
        write_file(cut, gz, cuts[k]);
        cap_fini(&cap);
        cap_init(&cap);
        Dataset ds;
        cr_assert_not(load_path(&ds, cut, true), "cut at %zu of %zu accepted", cuts[k], len);
        expect_error(&cap, cut, "gzip data is truncated");
    }
    free(gz);
    sb_free(&sb);
}

/* header_only reads the columns (for --predict's check) and stops: a damaged record further
 * on is not read, and the data set stays empty. */
Test(csv, header_only_reads_the_columns_alone)
{
    snprintf(path, sizeof path, "%s/h.csv", tmp);
    const char *text = "b,label,a\n0,1,2\n1,x,\"3\n";
    write_file(path, text, strlen(text));
    char **cols = NULL;
    int ncols = 0;
    CsvSpec spec = {.label = "label",
                    .learn = true,
                    .classes = &cls,
                    .nclasses = &ncls,
                    .columns = &cols,
                    .ncolumns = &ncols,
                    .header_only = true};
    Dataset ds;
    cr_assert(dataset_load_csv(&ds, path, &spec, &cap.d), "%s", cap_text(&cap));
    cr_assert_eq(ncols, 2);
    cr_expect_str_eq(cols[0], "b");
    cr_expect_str_eq(cols[1], "a");
    cr_expect_eq(ds.n, 0);
    cr_expect_null(ds.features);
    for (int k = 0; k < ncols; k++)
        free(cols[k]);
    free(cols);
    spec.header_only = false; /* the whole table: its damage is found */
    cols = NULL;
    cr_assert_not(dataset_load_csv(&ds, path, &spec, &cap.d));
    for (int k = 0; k < ncols; k++)
        free(cols[k]);
    free(cols);
}

Test(csv, too_many_class_names)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "a,label\n");
    for (int i = 0; i < 257; i++)
        sb_printf(&sb, "%d,c%d\n", i, i);
    BAD(sb.data, "t.csv: column 2 ('label') names 257 classes", "at most 256");
    sb_free(&sb);
}

Test(csv, bad_quotes)
{
    BAD("a,label\n1,x\"y\n", "t.csv:2: a quote in an unquoted field");
    cap_fini(&cap);
    cap_init(&cap);
    BAD("a,label\n1,\"x\n", "t.csv:3: a quoted field with no closing quote");
}

Test(csv, nul_byte)
{
    Dataset ds;
    snprintf(path, sizeof path, "%s/t.csv", tmp);
    write_file(path, "a,label\n1\0,x\n", 13);
    CsvSpec spec = {.label = "label", .learn = true, .classes = &cls, .nclasses = &ncls};
    cr_assert_not(dataset_load_csv(&ds, path, &spec, &cap.d));
    expect_error(&cap, "t.csv:2: column 1: a NUL byte");
}

Test(csv, not_a_file)
{
    Dataset ds;
    CsvSpec spec = {.label = "label", .learn = true, .classes = &cls, .nclasses = &ncls};
    cr_assert_not(dataset_load_csv(&ds, tmp, &spec, &cap.d));
    expect_error(&cap, "is a directory");
    cap_fini(&cap);
    cap_init(&cap);
    snprintf(path, sizeof path, "%s/none.csv", tmp);
    cr_assert_not(dataset_load_csv(&ds, path, &spec, &cap.d));
    expect_error(&cap, "none.csv: cannot open");
}

Test(csv, parse_from_memory_matches_the_file)
{
    const char *text = "a,label\n1,x\n2,y\n";
    Dataset a, b;
    cr_assert(load(&a, "t.csv", text, true, false));
    char **c2 = NULL;
    int n2 = 0;
    CsvSpec spec = {.label = "label", .learn = true, .classes = &c2, .nclasses = &n2};
    cr_assert(dataset_parse_csv(&b, "mem", text, strlen(text), &spec, &cap.d));
    cr_assert(a.n == b.n && memcmp(a.features, b.features, sizeof(float) * 2) == 0 &&
              memcmp(a.labels, b.labels, 2) == 0 && n2 == 2);
    for (int k = 0; k < n2; k++)
        free(c2[k]);
    free(c2);
    dataset_free(&a);
    dataset_free(&b);
}

/* Lines end at LF, CRLF or a lone CR (old Mac files, which libcsv and pandas read): the
 * line numbers count each once, also when a CRLF is cut between two reads of the file. */
Test(csv, line_numbers_at_cr_and_crlf)
{
    BAD("a,b,label\r1,2,x\r3,4,y\r5,4x,y\r", "t.csv:4: column 2 ('b'): '4x' is not a number");
    cap_fini(&cap), cap_init(&cap);
    BAD("a,b,label\r\n1,2,x\r\n\r\n5,4x,y\r\n", "t.csv:4: column 2 ('b'): '4x' is not a number");
    cap_fini(&cap), cap_init(&cap);
    BAD("a,b,label\r\n1,2,x\r\r\n5,4x,y\r\n", "t.csv:4: column 2 ('b'): '4x' is not a number");
    /* the file is read 64 KiB at a time: a CR at byte 65535, its LF at 65536 */
    size_t cut = (size_t)1 << 16, n = 0;
    char *text = malloc(cut + 64);
    cr_assert(text);
    n += (size_t)sprintf(text, "a,b,label\r\n");
    int lines = 1;
    while (n + 10 + 6 <= cut) /* rows of 8 bytes and CRLF, while a last row fits */
        n += (size_t)sprintf(text + n, "1,2,xyzw\r\n"), lines++;
    size_t pad = cut - n - 6; /* a last row "1,2,x" + pad zeros + CR, ending at 65535 */
    n += (size_t)sprintf(text + n, "1,2,x");
    memset(text + n, '0', pad), n += pad;
    text[n++] = '\r';
    cr_assert_eq(n, cut);
    text[n++] = '\n';
    lines++;
    n += (size_t)sprintf(text + n, "5,4x,y\r\n");
    char want[64];
    snprintf(want, sizeof want, "t.csv:%d: column 2 ('b'): '4x' is not a number", lines + 1);
    cap_fini(&cap), cap_init(&cap);
    BAD(text, want);
    free(text);
}
