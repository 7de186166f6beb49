/* fma_peak.c: the machine's single-core float FMA peak, measured: 24 (AVX-512) or 12
 * independent chains of vector FMAs (enough to cover the latency of two FMA pipes) held in
 * registers, the widest vectors the
 * compiler targets (-march=native). Prints "GFLOPS <value>" (2 flops per lane per FMA), the
 * best of 5 runs of about 0.2 s each. bench/graph.sh and bench/run.sh divide a net's
 * 2 x MACs by it for the "FMA limit" of a run.
 *   cc -O2 -march=native bench/fma_peak.c -o fma_peak && ./fma_peak */
#define _POSIX_C_SOURCE 200112L
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX2__) || defined(__AVX__)
#define VL 8
#else
#define VL 4
#endif
typedef float vf __attribute__((vector_size(VL * 4)));
#if VL == 16
#define CHAINS 24 /* of 32 vector registers */
#else
#define CHAINS 12 /* of 16 */
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    volatile float seed = 1.0f;
    vf acc[CHAINS], a, b;
    for (int l = 0; l < VL; l++) {
        a[l] = seed * 0.999999f;
        b[l] = seed * 1e-7f;
    }
    for (int c = 0; c < CHAINS; c++)
        acc[c] = a * (float)c;
    double best = 0;
    long iters = 2000000;
    for (int run = 0; run < 5; run++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
#pragma GCC unroll 24
            for (int c = 0; c < CHAINS; c++)
                acc[c] = acc[c] * a + b; /* one FMA under -march=native (-ffp-contract=fast) */
        }
        double t = now() - t0, g = 2.0 * VL * CHAINS * (double)iters / t / 1e9;
        if (g > best)
            best = g;
    }
    float sink = 0;
    for (int c = 0; c < CHAINS; c++)
        for (int l = 0; l < VL; l++)
            sink += acc[c][l];
    printf("GFLOPS %.1f\nwidth %d floats, checksum %g\n", best, VL, (double)sink);
    return 0;
}
