/* harness.c: drives a generated network through its header for the parity test.
 *   harness in.f32 out.csv      every output of every input, %.9g, through NET_forward and
 *                               NET_forward_batch (they must agree exactly)
 *   harness --random N SEED f   writes N random inputs in [-1, 2) (a wider range than pixels)
 *   harness --idx IMAGES N f    writes the first N images of a raw IDX file, scaled to [0,1]
 * Built by tests/codegen/parity.sh against net.h / net.c generated with --prefix net. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "harness: %s: %s\n", arg, msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--random") == 0) {
        long n = atol(argv[2]);
        unsigned long long x = strtoull(argv[3], NULL, 10) * 2654435761ull + 1;
        FILE *f = fopen(argv[4], "wb");
        if (!f)
            return fail("cannot write", argv[4]);
        for (long i = 0; i < n * NET_IN_SIZE; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            float v = (float)((x >> 40) / 16777216.0 * 3.0 - 1.0);
            fwrite(&v, sizeof v, 1, f);
        }
        return fclose(f) != 0;
    }
    if (argc == 5 && strcmp(argv[1], "--idx") == 0) {
        FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[4], "wb");
        unsigned char head[16], px[NET_IN_SIZE];
        long n = atol(argv[3]);
        if (!in || !out || fread(head, 1, 16, in) != 16)
            return fail("cannot read IDX or write output", argv[2]);
        for (long i = 0; i < n && fread(px, 1, NET_IN_SIZE, in) == NET_IN_SIZE; i++)
            for (int k = 0; k < NET_IN_SIZE; k++) {
                float v = px[k] / 255.0f;
                fwrite(&v, sizeof v, 1, out);
            }
        fclose(in);
        return fclose(out) != 0;
    }
    if (argc != 3)
        return fail("usage: harness in.f32 out.csv | --random N SEED f | --idx IMAGES N f", "args");
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return fail("cannot open", argv[1]);
    fseek(f, 0, SEEK_END);
    long n = ftell(f) / (long)(sizeof(float) * NET_IN_SIZE);
    fseek(f, 0, SEEK_SET);
    float *in = malloc(sizeof(float) * (size_t)(n * NET_IN_SIZE + 1));
    float *out = malloc(sizeof(float) * (size_t)(n * NET_OUT_SIZE + 1));
    float *batch = malloc(sizeof(float) * (size_t)(n * NET_OUT_SIZE + 1));
    if (!in || !out || !batch ||
        fread(in, sizeof(float), (size_t)(n * NET_IN_SIZE), f) != (size_t)(n * NET_IN_SIZE))
        return fail("cannot read inputs", argv[1]);
    fclose(f);
    for (long i = 0; i < n; i++)
        net_forward(in + i * NET_IN_SIZE, out + i * NET_OUT_SIZE);
    net_forward_batch(in, batch, (int)n);
    if (memcmp(out, batch, sizeof(float) * (size_t)(n * NET_OUT_SIZE)) != 0)
        return fail("net_forward_batch differs from net_forward", argv[1]);
    FILE *o = fopen(argv[2], "w");
    if (!o)
        return fail("cannot write", argv[2]);
    for (long i = 0; i < n; i++)
        for (int k = 0; k < NET_OUT_SIZE; k++)
            fprintf(o, k + 1 < NET_OUT_SIZE ? "%.9g," : "%.9g\n",
                    (double)out[i * NET_OUT_SIZE + k]);
    free(in);
    free(out);
    free(batch);
    return fclose(o) != 0;
}
