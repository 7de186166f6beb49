/* kernels_impl.h: private helpers shared by the kernel files (not installed, not for callers).
 *
 * Design choice: OpenMP appears only through the macros below, so every file compiles
 * warning-free without -fopenmp; and no kernel lets the thread count decide how a sum is
 * grouped: threads split work whose elements are computed independently (split_range), or
 * take fixed chunks whose partial sums are combined in a fixed order. */
#ifndef NETC_KERNELS_IMPL_H
#define NETC_KERNELS_IMPL_H

#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#define KERNELS_PRAGMA(x) _Pragma(#x)
/* Run the following block on a team of (at most) kernels_threads() threads when cond holds. */
#define OMP_PARALLEL(cond) KERNELS_PRAGMA(omp parallel if (cond))
/* Split the following for loop statically over a new team when cond holds. */
#define OMP_PARALLEL_FOR(cond) KERNELS_PRAGMA(omp parallel for schedule(static) if (cond))
/* Hand the iterations of the following for loop to the current team's threads as they come
 * free (for work whose result does not depend on which thread does it). */
#define OMP_FOR_DYNAMIC KERNELS_PRAGMA(omp for schedule(dynamic))
static inline int team_rank(void) { return omp_get_thread_num(); }
static inline int team_size(void) { return omp_get_num_threads(); }
#else
#define OMP_PARALLEL(cond)
#define OMP_PARALLEL_FOR(cond)
#define OMP_FOR_DYNAMIC
static inline int team_rank(void) { return 0; }
static inline int team_size(void) { return 1; }
#endif

/* ---- vectors (GCC/clang vector extensions; the width follows the build's -march) ---- */

/* VL floats per vector register; TILE_REGS of the registers may hold a micro-kernel's
 * accumulators (AVX-512 has 32, the others 16). */
#if defined(__AVX512F__)
#define VL 16
#define TILE_REGS 24
#elif defined(__AVX__)
#define VL 8
#define TILE_REGS 12
#else
#define VL 4
#define TILE_REGS 12
#endif

typedef float vfloat __attribute__((vector_size(VL * sizeof(float))));

/* clang splits vfloat into halves when it prefers 256-bit vectors (its default for -march=
 * native on AVX-512 parts) unless a function asks for full width; GCC honours the type. */
#if defined(__clang__) && VL == 16
#define FULL_WIDTH __attribute__((min_vector_width(512)))
#else
#define FULL_WIDTH
#endif

static inline vfloat vload(const float *p)
{
    vfloat v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vfloat v) { __builtin_memcpy(p, &v, sizeof v); }

/* Elementwise loops go parallel only past this many elements: below it a team costs more
 * than it saves. */
#define PARALLEL_MIN_ELEMS ((size_t)1 << 16)

/* The part [*lo, *hi) of [0, n) that member t of a team of T handles: contiguous, in order,
 * sizes differing by at most one, the larger parts first (so with n < T, exactly the members
 * t < n get work). */
static inline void split_range(int n, int t, int T, int *lo, int *hi)
{
    int base = n / T, rem = n % T;
    *lo = t * base + (t < rem ? t : rem);
    *hi = *lo + base + (t < rem);
}

/* The sum of x[0..n), accumulated in 16 interleaved partial sums (which the compiler keeps
 * in one vector register) combined in a fixed order: fast and reproducible. */
static inline float sum_floats(const float *x, size_t n)
{
    float acc[16] = {0};
    size_t n16 = n / 16 * 16;
    for (size_t i = 0; i < n16; i += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += x[i + l];
    for (size_t i = n16; i < n; i++)
        acc[i - n16] += x[i];
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

#endif
