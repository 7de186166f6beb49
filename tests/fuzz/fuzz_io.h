/* fuzz_io.h: what the runtime's loader targets share. The loaders take a path, so each input
 * is written into one memfd (memory, never the disk) and read back through /proc/self/fd;
 * diagnostics go to /dev/null. A small net (1x4x4 input, a convolution, batch norm, dropout,
 * 3 outputs) is built once: what a loader accepts is checked against it and, when it fits,
 * run through it, so a value a loader let through but the runtime cannot take shows up as a
 * sanitizer report, not only a bad parse. */
#ifndef NETC_FUZZ_IO_H
#define NETC_FUZZ_IO_H

#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frontend.h"
#include "runtime.h"

static const char fuzz_net[] = "network t (input 1x4x4) {\n"
                               "  Conv2d 2 k3 p1\n"
                               "  BatchNorm2d\n"
                               "  ReLU\n"
                               "  MaxPool2d 2\n"
                               "  Flatten\n"
                               "  Dropout 0.5\n"
                               "  fc: Linear 3\n"
                               "}\n"
                               "train {\n"
                               "  optimizer Adam lr=0.01\n"
                               "  batch 2\n"
                               "  epochs 3\n"
                               "}\n";

typedef struct FuzzIo {
    int fd;
    char path[64]; /* /proc/self/fd/N */
    FILE *null;
    Arena *arena;
    Graph *g;
    Model *m;
} FuzzIo;

static FuzzIo fuzz_io;

/* Builds the net and the memfd once; aborts if that fails (a broken target, not a finding). */
static FuzzIo *fuzz_io_get(void)
{
    FuzzIo *f = &fuzz_io;
    if (f->m)
        return f;
    f->null = fopen("/dev/null", "w");
    f->fd = memfd_create("fuzz", 0);
    if (!f->null || f->fd < 0)
        abort();
    snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
    f->arena = arena_new();
    Diag d;
    diag_init(&d, stderr, "fuzz");
    f->g = frontend_load_file(f->arena, src_from_string(f->arena, "t.net", fuzz_net), &d);
    f->m = f->g && !d.errors ? rt_model_new(f->g, f->g->train.batch, &d) : NULL;
    if (!f->m)
        abort();
    rt_set_threads(1);
    return f;
}

/* What each target starts with: the net, the input in the memfd (its path returned) and
 * diagnostics to /dev/null. */
static const char *fuzz_io_begin(FuzzIo **fp, Diag *d, const uint8_t *data, size_t size)
{
    FuzzIo *f = *fp = fuzz_io_get();
    if (ftruncate(f->fd, 0) != 0 || (size && pwrite(f->fd, data, size, 0) != (ssize_t)size))
        abort();
    diag_init(d, f->null, "fuzz");
    return f->path;
}

#endif
