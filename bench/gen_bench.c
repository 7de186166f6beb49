/* gen_bench.c: times the batch entry point of netc's generated C, for bench/run.sh.
 *
 *   netc NET --weights W -o netbench.c --header netbench.h --prefix netbench
 *   cc -O2 -march=native -fopenmp -I. bench/gen_bench.c netbench.c -o gen_bench -lm
 *   OMP_NUM_THREADS=n ./gen_bench IMAGES-idx3-ubyte LABELS-idx1-ubyte [BATCH [MIN_SECONDS]]
 *
 * Pixels x/255 (as netrun and the generated main). One pass over the test images for the
 * accuracy and warm-up, then passes of netbench_forward_batch(…, BATCH) over all of them
 * for at least MIN_SECONDS (and at least 3 passes); the median pass is reported, as
 * bench/torch_mnist.py and bench/ort_bench.js do. Prints "RESULT key value" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "netbench.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (*len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "gen_bench: %s: cannot read\n", path);
        exit(1);
    }
    buf = malloc((size_t)*len + 1);
    if (!buf || fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        fprintf(stderr, "gen_bench: %s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    return buf;
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long ilen, llen, n, correct = 0;
    int batch = argc > 3 ? atoi(argv[3]) : 100;
    double min_time = argc > 4 ? atof(argv[4]) : 2.0;
    if (argc < 3 || batch < 1) {
        fprintf(stderr, "usage: %s IMAGES-idx3-ubyte LABELS-idx1-ubyte [BATCH [MIN_SECONDS]]\n",
                argv[0]);
        return 2;
    }
    unsigned char *img = slurp(argv[1], &ilen), *lab = slurp(argv[2], &llen);
    if (ilen < 16 || be32(img) != 0x803 || be32(img + 8) * be32(img + 12) != NETBENCH_IN_SIZE ||
        llen < 8 || be32(lab) != 0x801) {
        fprintf(stderr, "gen_bench: not raw IDX files of %d-pixel images and labels\n",
                NETBENCH_IN_SIZE);
        return 1;
    }
    n = (long)be32(img + 4);
    if (ilen < 16 + n * NETBENCH_IN_SIZE || (long)be32(lab + 4) != n || llen < 8 + n) {
        fprintf(stderr, "gen_bench: truncated IDX files\n");
        return 1;
    }
    float *x = malloc((size_t)n * NETBENCH_IN_SIZE * sizeof(float));
    float *y = malloc((size_t)n * NETBENCH_OUT_SIZE * sizeof(float));
    if (!x || !y) {
        fprintf(stderr, "gen_bench: out of memory\n");
        return 1;
    }
    for (long i = 0; i < n * NETBENCH_IN_SIZE; i++)
        x[i] = img[16 + i] / 255.0f;

    /* accuracy pass (and warm-up) */
    for (long s = 0; s < n; s += batch) {
        int c = n - s < batch ? (int)(n - s) : batch;
        netbench_forward_batch(x + s * NETBENCH_IN_SIZE, y + s * NETBENCH_OUT_SIZE, c);
    }
    for (long i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < NETBENCH_OUT_SIZE; k++)
            if (y[i * NETBENCH_OUT_SIZE + k] > y[i * NETBENCH_OUT_SIZE + best])
                best = k;
        correct += best == lab[8 + i];
    }

    double rates[50], t_end = now() + min_time;
    int passes = 0;
    while (passes < 50 && (passes < 3 || now() < t_end)) {
        double t0 = now();
        for (long s = 0; s < n; s += batch) {
            int c = n - s < batch ? (int)(n - s) : batch;
            netbench_forward_batch(x + s * NETBENCH_IN_SIZE, y + s * NETBENCH_OUT_SIZE, c);
        }
        rates[passes++] = (double)n / (now() - t0);
    }
    qsort(rates, (size_t)passes, sizeof rates[0], cmp);
#ifdef _OPENMP
    printf("RESULT threads %d\n", omp_get_max_threads());
#else
    printf("RESULT threads 1\n");
#endif
    printf("RESULT test_acc %.4f\n", (double)correct / (double)n);
    printf("RESULT batch_img_s %.1f\n", rates[passes / 2]);
    printf("RESULT batch_passes %d\n", passes);
    free(x);
    free(y);
    free(img);
    free(lab);
    return 0;
}
