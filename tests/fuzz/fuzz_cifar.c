/* fuzz_cifar.c: libFuzzer target for the CIFAR binary reader: the first byte picks CIFAR-10,
 * CIFAR-100 fine or CIFAR-100 coarse, the rest is the file. A file that loads has every
 * image converted with a per-channel normalisation (every byte of every record read), as
 * training does (see fuzz_io.h). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data + 1, size - 1);
    Dataset ds;
    int kind = data[0] % 3;
    if (dataset_load_cifar_file(&ds, path, kind > 0, kind == 2, &d)) {
        static float x[3 * 32 * 32];
        const float mean[3] = {0.49f, 0.48f, 0.45f}, std[3] = {0.25f, 0.24f, 0.26f};
        for (int i = 0; i < ds.n; i++)
            dataset_image_to_float(x, &ds, i, mean, std);
        dataset_free(&ds);
    }
    return 0;
}
