/* fuzz_f32.c: libFuzzer target for the raw float32 reader (--predict FILE.f32): inputs that
 * load are run through the small net (the first two batches), as --predict does (see
 * fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data, size);
    int n = 0;
    size_t per = (size_t)shape_numel(f->g->input);
    float *v = f32_load(path, (int64_t)per, &n, &d);
    /* the first two batches: the reader is what is fuzzed, and a forward per input made the
     * target 8 times slower on large inputs */
    for (int start = 0; v && start < n && start < 2 * f->m->max_batch; start += f->m->max_batch) {
        int count = n - start < f->m->max_batch ? n - start : f->m->max_batch;
        memcpy(f->m->input, v + (size_t)start * per, sizeof(float) * per * (size_t)count);
        rt_forward(f->m, count, false);
    }
    free(v);
    return 0;
}
