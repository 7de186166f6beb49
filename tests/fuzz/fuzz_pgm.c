/* fuzz_pgm.c: libFuzzer target for the PGM reader (P2 and P5, 8 and 16 bits): an image that
 * loads is checked against the small net's 1x4x4 input and, when it fits, run through it, as
 * --predict does (see fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data, size);
    int h, w;
    float *px = pgm_load(path, &h, &w, &d);
    if (px && rt_check_image(f->m, 1, h, w, "x", &d)) {
        memcpy(f->m->input, px, sizeof(float) * (size_t)h * (size_t)w);
        rt_forward(f->m, 1, false);
    }
    free(px);
    return 0;
}
