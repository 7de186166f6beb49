/* fuzz_csv.c: libFuzzer target for the CSV table reader (data csv). The first byte picks what
 * the table is read as: a training table (its label names become the classes), a test table
 * against the classes a, b and c, a test table whose labels must be numbers, or a table whose
 * label column may be absent (--predict); the rest is the file, read through zlib as netrun
 * reads it. A table that loads is split (the records shuffled in place with their labels and
 * lines), every record converted with a normalisation, and, when its 16 features fit the small
 * net's input, its first records evaluated (see fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data + 1, size - 1);
    static char *abc[] = {"a", "b", "c"}; /* sorted, as learnt classes are */
    int mode = data[0] % 4, n = mode == 1 ? 3 : 0;
    char **cls = mode == 1 ? abc : NULL;
    CsvSpec spec = {.label = "label",
                    .label_optional = mode == 3,
                    .learn = mode == 0,
                    .classes = &cls,
                    .nclasses = &n};
    Dataset ds;
    if (!dataset_load_csv(&ds, path, &spec, &d))
        return 0;
    if (mode == 0) {
        for (int k = 0; k < n; k++)
            free(cls[k]);
        free(cls);
    }
    Dataset val = {0}; /* empty when the table is too small to split */
    if (ds.n >= 2 && !dataset_split(&ds, &val, 0.5, 7, &d))
        abort(); /* two records or more always split */
    float *x = malloc(sizeof(float) * (size_t)ds.cols);
    const float mean[1] = {0.5f}, std[1] = {0.25f};
    for (int i = 0; x && i < ds.n + val.n; i++)
        dataset_image_to_float(x, &ds, i, mean, std);
    free(x);
    if (rt_check_data(f->m, &ds, "x", &d)) {
        Dataset few = ds;
        few.n = ds.n < 8 ? ds.n : 8;
        rt_evaluate(f->m, &few, f->m->max_batch, &f->g->train);
    }
    dataset_free(&ds);
    return 0;
}
