/* gemm.c: single-precision matrix multiply (row-major): the built-in sgemm and the dispatch
 * between it and OpenBLAS.
 *
 * Design choice: one register-tiled micro-kernel, written with GCC/clang vector extensions,
 * computes every MR x NR tile of C with its accumulators in registers, reading A and B
 * through strides. The small products a convolution makes per image feed it straight from
 * the caller's matrices (only ragged edges are copied); large ones first pack op(A) and op(B)
 * into contiguous strips (the Goto/BLIS scheme) to stay in cache; A.B^T with a narrow B
 * becomes dot products. Blocking is fixed, so each element of C is summed in an order that
 * depends only on the shapes: results are reproducible. */
#include "kernels_impl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef NETC_HAVE_BLAS
#include <cblas.h>
#endif

int kernels_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* The micro-kernel tile is MR rows by NR = NV*VL columns (VL: kernels_impl.h). */
#if VL == 16
#define MR 8
#elif VL == 8
#define MR 6
#else
#define MR 4
#endif
#define NV 2
#define NR (NV * VL)
#define KC 384       /* depth of a packed block: an A strip (MR x KC) stays in L1 */
#define MC (MR * 24) /* rows of A packed at once: the A block (MC x KC) stays in L2 */
#define NC 1024      /* columns of B packed at once */

/* ---- per-thread packing buffer ---- */

#define PACK_A_FLOATS ((size_t)MC * KC)
#define PACK_B_FLOATS ((size_t)KC * NC)

static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static _Thread_local float *pack_buf;

static void pack_key_create(void)
{
    pthread_key_create(&pack_key, free); /* frees a thread's buffer when the thread exits */
}

static float *pack_buffer(void)
{
    if (!pack_buf) {
        pthread_once(&pack_once, pack_key_create);
        pack_buf = aligned_alloc(64, (PACK_A_FLOATS + PACK_B_FLOATS) * sizeof(float));
        if (!pack_buf)
            abort(); /* out of memory, as arena_alloc does */
        pthread_setspecific(pack_key, pack_buf);
    }
    return pack_buf;
}

/* ---- packing ---- */

/* dst (ceil(mc/MR) strips, each kc x MR) <- rows [0,mc) and columns [0,kc) of op(A), where
 * a points at op(A)(0,0). Rows past mc are zero. */
static void pack_a(float *dst, const float *a, int lda, bool ta, int mc, int kc)
{
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int m = mc - i0 < MR ? mc - i0 : MR;
        for (int p = 0; p < kc; p++) {
            for (int i = 0; i < m; i++)
                dst[i] = ta ? a[(size_t)p * lda + i0 + i] : a[(size_t)(i0 + i) * lda + p];
            for (int i = m; i < MR; i++)
                dst[i] = 0.0f;
            dst += MR;
        }
    }
}

/* dst (ceil(nc/NR) strips, each kc x NR) <- rows [0,kc) and columns [0,nc) of op(B), where
 * b points at op(B)(0,0). Columns past nc are zero. */
static void pack_b(float *dst, const float *b, int ldb, bool tb, int kc, int nc)
{
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int n = nc - j0 < NR ? nc - j0 : NR;
        for (int p = 0; p < kc; p++) {
            if (tb) {
                for (int j = 0; j < n; j++)
                    dst[j] = b[(size_t)(j0 + j) * ldb + p];
                for (int j = n; j < NR; j++)
                    dst[j] = 0.0f;
            } else {
                /* one loop, not memcpy + fill: short rows are common, and a library call (or
                 * rep movs) per row costs more than the copy */
                const float *src = b + (size_t)p * ldb + j0;
                for (int j = 0; j < NR; j++)
                    dst[j] = j < n ? src[j] : 0.0f;
            }
            dst += NR;
        }
    }
}

/* ---- micro-kernel ---- */

/* c (m,n) with row stride ldc, m <= MR, n <= nv*VL: c = alpha * a.b + beta * c, where
 * a (MR,kc) has element (i,p) at a[i*rsa + p*csa] and b (kc,nv*VL) has element (p,j) at
 * b[p*rsb + j]: a packed strip (rsa 1, csa MR; rsb NR) or the caller's matrix itself.
 * beta == 0 does not read c. Called with a constant nv (NV, or 1 for a narrow last strip),
 * so the compiler makes one register-resident version of each. */
FULL_WIDTH static inline void micro_tile(int nv, int kc, const float *restrict a, int rsa, int csa,
                                         const float *restrict b, int rsb, float *c, int ldc, int m,
                                         int n, float alpha, float beta)
{
    vfloat acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++)
            acc[i][v] = (vfloat){0};
    for (int p = 0; p < kc; p++) {
        vfloat bv[NV];
        for (int v = 0; v < nv; v++)
            memcpy(&bv[v], b + (size_t)p * rsb + v * VL, sizeof(vfloat));
        for (int i = 0; i < MR; i++) {
            float ai = a[(size_t)i * rsa + (size_t)p * csa];
            for (int v = 0; v < nv; v++)
                acc[i][v] += ai * bv[v];
        }
    }
    if (m == MR && n == NR) {
        for (int i = 0; i < MR; i++) {
            for (int v = 0; v < NV; v++) {
                float *cp = c + (size_t)i * ldc + v * VL;
                vfloat r = alpha * acc[i][v];
                if (beta != 0.0f) {
                    vfloat old;
                    memcpy(&old, cp, sizeof old);
                    r += beta * old;
                }
                memcpy(cp, &r, sizeof r);
            }
        }
        return;
    }
    for (int i = 0; i < m; i++) {
        float row[NR];
        float *cp = c + (size_t)i * ldc;
        memcpy(row, acc[i], sizeof row);
        for (int j = 0; j < n; j++)
            cp[j] = beta != 0.0f ? alpha * row[j] + beta * cp[j] : alpha * row[j];
    }
}

/* micro_tile on a strip of B at most NR wide (its columns past n may be anything readable). */
static void micro_kernel(int kc, const float *a, int rsa, int csa, const float *b, int rsb,
                         float *c, int ldc, int m, int n, float alpha, float beta)
{
    if (n <= VL)
        micro_tile(1, kc, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
    else
        micro_tile(NV, kc, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
}

/* c (M,N) = beta * c, without reading c when beta == 0. */
static void scale_c(float *c, int ldc, int M, int N, float beta)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            c[(size_t)i * ldc + j] = beta != 0.0f ? beta * c[(size_t)i * ldc + j] : 0.0f;
}

/* sum over the VL lanes of v, in lane order */
FULL_WIDTH static float lane_sum(vfloat v)
{
    float l[VL], s = 0.0f;
    memcpy(l, &v, sizeof l);
    for (int i = 0; i < VL; i++)
        s += l[i];
    return s;
}

/* The variant for A (M,K) . B^T with B (N,K), N small: every C element is a dot product of
 * two unit-stride rows, computed a DM x DN block at a time with vector accumulators along K
 * (a register tile along N would be mostly padding). */
#define DM 4
#define DN 3
FULL_WIDTH static void gemm_dot(int M, int N, int K, float alpha, const float *A, int lda,
                                const float *B, int ldb, float beta, float *C, int ldc)
{
    int kv = K / VL * VL;
    for (int i0 = 0; i0 < M; i0 += DM) {
        for (int j0 = 0; j0 < N; j0 += DN) {
            int m = M - i0 < DM ? M - i0 : DM, n = N - j0 < DN ? N - j0 : DN;
            /* rows past the edge repeat the last one: computed, never stored */
            const float *a[DM], *b[DN];
            for (int i = 0; i < DM; i++)
                a[i] = A + (size_t)(i0 + (i < m ? i : m - 1)) * lda;
            for (int j = 0; j < DN; j++)
                b[j] = B + (size_t)(j0 + (j < n ? j : n - 1)) * ldb;
            vfloat acc[DM][DN];
            for (int i = 0; i < DM; i++)
                for (int j = 0; j < DN; j++)
                    acc[i][j] = (vfloat){0};
            for (int p = 0; p < kv; p += VL) {
                vfloat av[DM], bv[DN];
                for (int i = 0; i < DM; i++)
                    memcpy(&av[i], a[i] + p, sizeof(vfloat));
                for (int j = 0; j < DN; j++)
                    memcpy(&bv[j], b[j] + p, sizeof(vfloat));
                for (int i = 0; i < DM; i++)
                    for (int j = 0; j < DN; j++)
                        acc[i][j] += av[i] * bv[j];
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    float s = lane_sum(acc[i][j]);
                    for (int p = kv; p < K; p++)
                        s += a[i][p] * b[j][p];
                    float *c = C + (size_t)(i0 + i) * ldc + j0 + j;
                    *c = beta != 0.0f ? alpha * s + beta * *c : alpha * s;
                }
            }
        }
    }
}

/* The unpacked variant for op(B) = B: full MR x NR tiles read A and B where they are; only
 * the last, partial strips of A and B are copied (zero-padded) into pa and pb. */
static void gemm_direct(bool ta, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc, float *pa,
                        float *pb)
{
    int kblocks = (K + KC - 1) / KC;
    int kstep = (K + kblocks - 1) / kblocks;
    int mfull = M / MR * MR, nfull = N / NR * NR;
    for (int pc = 0; pc < K; pc += kstep) {
        int kc = K - pc < kstep ? K - pc : kstep;
        float bt = pc == 0 ? beta : 1.0f;
        if (mfull < M)
            pack_a(pa, ta ? A + (size_t)pc * lda + mfull : A + (size_t)mfull * lda + pc, lda, ta,
                   M - mfull, kc);
        for (int jr = 0; jr < N; jr += NR) {
            int n = N - jr < NR ? N - jr : NR;
            const float *b = B + (size_t)pc * ldb + jr;
            int rsb = ldb;
            if (jr >= nfull) {
                pack_b(pb, b, ldb, false, kc, n);
                b = pb, rsb = NR;
            }
            for (int ir = 0; ir < M; ir += MR) {
                int m = M - ir < MR ? M - ir : MR;
                float *c = C + (size_t)ir * ldc + jr;
                if (ir >= mfull)
                    micro_kernel(kc, pa, 1, MR, b, rsb, c, ldc, m, n, alpha, bt);
                else if (ta)
                    micro_kernel(kc, A + (size_t)pc * lda + ir, 1, lda, b, rsb, c, ldc, m, n, alpha,
                                 bt);
                else
                    micro_kernel(kc, A + (size_t)ir * lda + pc, lda, 1, b, rsb, c, ldc, m, n, alpha,
                                 bt);
            }
        }
    }
}

void sgemm_builtin(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(C, ldc, M, N, beta);
        return;
    }
    if (tb && !ta && N <= 16) {
        gemm_dot(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    float *pa = pack_buffer();
    float *pb = pa + PACK_A_FLOATS;
    /* Measured on this project's AVX-512 machine: reading in place wins while A is short
     * (M < 128), K is short, or the whole of B is narrow; past that, packing wins by keeping
     * the panels in cache and TLB. op(B) = B^T always packs, to read it with unit stride. */
    if (!tb && (M < 128 || K < 128 || (N < 512 && !ta))) {
        gemm_direct(ta, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pa, pb);
        return;
    }
    /* Split K into equal blocks of at most KC so that no block is a thin remainder. */
    int kblocks = (K + KC - 1) / KC;
    int kstep = (K + kblocks - 1) / kblocks;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += kstep) {
            int kc = K - pc < kstep ? K - pc : kstep;
            float bt = pc == 0 ? beta : 1.0f;
            const float *bp = tb ? B + (size_t)jc * ldb + pc : B + (size_t)pc * ldb + jc;
            pack_b(pb, bp, ldb, tb, kc, nc);
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                const float *ap = ta ? A + (size_t)pc * lda + ic : A + (size_t)ic * lda + pc;
                pack_a(pa, ap, lda, ta, mc, kc);
                for (int jr = 0; jr < nc; jr += NR) {
                    int n = nc - jr < NR ? nc - jr : NR;
                    for (int ir = 0; ir < mc; ir += MR) {
                        int m = mc - ir < MR ? mc - ir : MR;
                        micro_kernel(kc, pa + (size_t)ir * kc, 1, MR, pb + (size_t)jr * kc, NR,
                                     C + (size_t)(ic + ir) * ldc + jc + jr, ldc, m, n, alpha, bt);
                    }
                }
            }
        }
    }
}

#ifdef NETC_HAVE_BLAS
#define BLAS_MIN_DIM 256 /* OpenBLAS is used only when M, N and K all reach this */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static bool blas_wins;

/* The kernels parallelise over the batch themselves, so OpenBLAS must run in the caller's
 * thread. It beats sgemm_builtin (by 5-10%) only on large products and only with its AVX-512
 * kernels; the core it picked depends on the CPU it recognises (OPENBLAS_CORETYPE sets it),
 * and with a pre-AVX one it runs 4x slower than the built-in. */
static void blas_setup(void)
{
    openblas_set_num_threads(1);
    const char *core = openblas_get_corename();
    blas_wins = core && (strstr(core, "SkylakeX") || strstr(core, "Cooperlake") ||
                         strstr(core, "SapphireRapids"));
}
#endif

void sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
           const float *B, int ldb, float beta, float *C, int ldc)
{
#ifdef NETC_HAVE_BLAS
    pthread_once(&blas_once, blas_setup);
    if (blas_wins && M >= BLAS_MIN_DIM && N >= BLAS_MIN_DIM && K >= BLAS_MIN_DIM) {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    sgemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
