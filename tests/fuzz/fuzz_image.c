/* fuzz_image.c: libFuzzer target for the image folders' decoders (libpng's simplified API and
 * libjpeg with our error and warning handlers): the first byte picks PNG or JPEG, the rest is
 * the file. A decoded image has every byte read (see fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data + 1, size - 1);
    int w, h, c;
    char why[200];
    uint8_t *px = image_decode(path, data[0] & 1, &w, &h, &c, why);
    if (px) {
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)w * (size_t)h * (size_t)c; i++)
            sum += px[i];
        if (sum == 0xdeadbeef)
            fprintf(f->null, "%u", sum);
        free(px);
    }
    return 0;
}
