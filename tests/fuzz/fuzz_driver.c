/* fuzz_driver.c: libFuzzer target for the generated program's own reader: src/codegen/
 * driver.c, the `netc --main` driver (IDX images and labels, PGM P2 and P5 of 8 and 16
 * bits), assembled as netc assembles a program, around a stand-in network (a 1x4x3 image
 * in, 3 outputs: output k is input value k). The first byte picks what the input is: the
 * images file alone, or images and labels split at the second byte's offset. Anything the
 * reader lets through runs through the network and the classification loop. */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define STUB_C 1
#define STUB_H 4
#define STUB_W 3
#define STUB_OUT 3
void stub_forward(const float *in, float *out);
void stub_forward(const float *in, float *out)
{
    for (int k = 0; k < STUB_OUT; k++)
        out[k] = in[k];
}
#define NETC_MAIN_NAME "stub"
#define NETC_MAIN_FORWARD stub_forward
#define NETC_MAIN_IN_SIZE (STUB_C * STUB_H * STUB_W)
#define NETC_MAIN_OUT_SIZE STUB_OUT
#define NETC_MAIN_IN_C STUB_C
#define NETC_MAIN_IN_H STUB_H
#define NETC_MAIN_IN_W STUB_W
#define NETC_MAIN_MEAN 0.5
#define NETC_MAIN_STD 0.25
#define main netc_driver_main
#include "driver.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One memfd per file, rewritten for every input; its /proc path for the driver. */
static const char *file_of(int *fd, char *path, const uint8_t *data, size_t size)
{
    if (*fd < 0) {
        *fd = memfd_create("fuzz", 0);
        if (*fd < 0)
            abort();
        snprintf(path, 64, "/proc/self/fd/%d", *fd);
    }
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd_img = -1, fd_lab = -1;
    static char p_img[64], p_lab[64];
    static int quiet;
    if (!quiet) { /* the driver prints a line per image (its refusals go to stderr, kept
                     for the sanitizers' reports) */
        quiet = 1;
        if (!freopen("/dev/null", "w", stdout))
            abort();
    }
    if (size < 2)
        return 0;
    int with_labels = data[0] & 1;
    size_t split = with_labels ? (size_t)data[1] * 4 : size - 2;
    data += 2, size -= 2;
    if (split > size)
        split = size;
    char prog[] = "stub";
    char *argv[4] = {prog, (char *)file_of(&fd_img, p_img, data, split), NULL, NULL};
    if (with_labels)
        argv[2] = (char *)file_of(&fd_lab, p_lab, data + split, size - split);
    netc_driver_main(with_labels ? 3 : 2, argv);
    return 0;
}
