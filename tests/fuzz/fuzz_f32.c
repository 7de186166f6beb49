/* fuzz_f32.c: libFuzzer target for the raw float32 reader (--predict FILE.f32): inputs that
 * load are run through the small net, a batch at a time, as --predict does (see fuzz_io.h). */
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
    for (int start = 0; v && start < n; start += f->m->max_batch) {
        int count = n - start < f->m->max_batch ? n - start : f->m->max_batch;
        memcpy(f->m->input, v + (size_t)start * per, sizeof(float) * per * (size_t)count);
        rt_forward(f->m, count, false);
    }
    free(v);
    return 0;
}
