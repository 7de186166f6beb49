/* fuzz_safetensors.c: libFuzzer target for the safetensors reader and the checkpoint reader
 * behind --load and --resume (see fuzz_io.h). Every tensor the reader accepts is read whole;
 * a file that resumes into the small net then trains two steps from the position it holds,
 * so a position the reader let through but the training loop cannot take is a finding. */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink; /* every byte read, so that the reads are not optimised away */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t images[5 * 16], labels[5] = {0, 1, 2, 1, 0};
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data, size);
    StFile *st = st_read(path, &d);
    for (int i = 0; i < st_count(st); i++) {
        const StTensor *t = st_tensor(st, i);
        for (size_t k = 0; k < t->nbytes; k++)
            sink ^= ((const uint8_t *)t->data)[k];
        if (st_find(st, t->name) == NULL)
            abort(); /* every name it lists must be found */
    }
    st_free(st);

    rt_model_init(f->m, 1);
    Optim *o = optim_new(&f->g->train, f->m->nparam_floats);
    TrainPos pos = {0};
    if (!o)
        abort();
    if (ckpt_resume(path, f->m, o, &pos, &d)) {
        for (int i = 0; i < 5 * 16; i++)
            images[i] = (uint8_t)(i * 37);
        Dataset ds = {.n = 5, .rows = 4, .cols = 4, .images = images, .labels = labels};
        RunOptions ro = {.max_steps = pos.step + 2, .quiet = true, .out = f->null};
        rt_train(f->m, o, &pos, &ds, NULL, &ro, &d);
    }
    optim_free(o);
    return 0;
}
