/* kernels_impl.h: private helpers shared by the kernel files (not installed, not for callers).
 *
 * Design choice: no kernel forks threads. The runtime runs each thread's slice of a batch
 * through single-threaded kernel calls, so a kernel's sums are grouped the same way whatever
 * the thread count, and no call pays for starting or joining a team. */
#ifndef NETC_KERNELS_IMPL_H
#define NETC_KERNELS_IMPL_H

#include "kernels.h"

/* ---- vectors (GCC/clang vector extensions; the width follows the build's -march) ---- */

/* VL floats per vector register; TILE_REGS of the registers may hold a micro-kernel's
 * accumulators (AVX-512 has 32, the others 16). With AVX-512, 28 accumulators (7 pixels by
 * 4 vectors, one of them spilled by GCC 12) beat 24: the seed net's 14-pixel rows split
 * into two tiles instead of three, and its second convolution went from 318 to 325-357
 * GFLOPS forward and from 265 to 293-317 for the weight gradient on two cores. */
#if defined(__AVX512F__)
#define VL 16
#define TILE_REGS 28
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

#define ALWAYS_INLINE __attribute__((always_inline)) inline

static inline vfloat vload(const float *p)
{
    vfloat v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vfloat v) { __builtin_memcpy(p, &v, sizeof v); }

#endif
