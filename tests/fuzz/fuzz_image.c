/* fuzz_image.c: libFuzzer target for the image folders' decoders (libpng's read API and
 * libjpeg with our error and warning handlers): the first byte picks PNG or JPEG, the rest is
 * the file. A decoded image has every byte read (see fuzz_io.h), and is resized (PIL's
 * bilinear, as `resize` does) to a size the first byte's other bits pick: 1x1 up to 64 a side,
 * shrinking and growing. */
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
        int ow = 1 + (data[0] >> 1 & 7) * 9, oh = 1 + (data[0] >> 4) * 4;
        uint8_t *r = image_resize(px, w, h, c, ow, oh);
        for (size_t i = 0; r && i < (size_t)ow * (size_t)oh * (size_t)c; i++)
            sum += r[i];
        if (sum == 0xdeadbeef)
            fprintf(f->null, "%u", sum);
        free(r);
        free(px);
    }
    return 0;
}
