/* fuzz_idx.c: libFuzzer target for the IDX reader, raw and gzip (zlib reads both): the bytes
 * as an images file and as a labels file; images that load are checked against the small
 * net's 1x4x4 input and, when they fit, the first 8 are evaluated (see fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs ds's first 8 images (labels all 0) through the net's evaluation when it fits. */
static void fuzz_io_evaluate(FuzzIo *f, Dataset *ds, Diag *d)
{
    if (rt_check_data(f->m, ds, "x", d)) {
        Dataset few = *ds; /* the first images: the reader is what is fuzzed */
        few.n = ds->n < 8 ? ds->n : 8;
        rt_evaluate(f->m, &few, f->m->max_batch, &f->g->train);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data, size);
    Dataset ds = {0};
    if (idx_load_images(path, &ds.images, &ds.n, &ds.rows, &ds.cols, &d)) {
        ds.labels = calloc((size_t)ds.n + 1, 1);
        if (!ds.labels)
            abort();
        fuzz_io_evaluate(f, &ds, &d);
        dataset_free(&ds);
    }
    uint8_t *labels;
    int n;
    if (idx_load_labels(path, &labels, &n, &d))
        free(labels);
    return 0;
}
