/* fuzz_safetensors.c: libFuzzer target for the safetensors reader and the checkpoint reader
 * behind --load and --resume (see fuzz_io.h). Every tensor the reader accepts is read whole;
 * a file that resumes into the small net then trains two steps from the position it holds,
 * so a position the reader let through but the training loop cannot take is a finding.
 *
 * A custom mutator keeps the 8-byte header length right while it mutates the json text:
 * libFuzzer's own mutations change the text's length nearly every time, and the reader then
 * refuses the framing before it reads a single value (with only those, 1.4 million inputs
 * did not find the heap overflow a position of batch -1 caused). */
#include "fuzz_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Three times in four, when the input is framed (its length covers a header), mutates the
 * header alone and writes its new length; otherwise the bytes as they are. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t hlen = 0;
    if (size >= 8)
        memcpy(&hlen, data, 8);
    if (size < 8 || seed % 4 == 0 || hlen > size - 8)
        return LLVMFuzzerMutate(data, size, max_size);
    size_t rest = size - 8 - (size_t)hlen; /* the tensors' bytes */
    if (max_size < 8 + rest + 2)
        return LLVMFuzzerMutate(data, size, max_size);
    uint8_t *tail = malloc(rest + 1);
    if (!tail)
        abort();
    memcpy(tail, data + 8 + hlen, rest);
    size_t n = LLVMFuzzerMutate(data + 8, (size_t)hlen, max_size - 8 - rest);
    memcpy(data + 8 + n, tail, rest);
    free(tail);
    hlen = n;
    memcpy(data, &hlen, 8);
    return 8 + n + rest;
}

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
