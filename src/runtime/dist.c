/* dist.c: the MPI side of data-parallel training (see dist.h). Only the main thread calls
 * MPI (MPI_THREAD_FUNNELED); the folds it calls may use OpenMP threads. */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>

#include "base.h"

#ifdef NETC_MPI
#include <mpi.h>
#endif

static int rank, size = 1;
static DistStats stats;
#ifdef NETC_MPI
/* NETRUN_MPI_WAIT=1 (bench/mpi.sh): a barrier before every exchange, timed apart, so that
 * the communication time holds the transfers alone and the wait for the slowest process is
 * counted on its own (the barriers cost a little; a normal run has none). */
static bool split_wait;

/* Floats per message of the gradient chain: n / p, between these bounds: big enough that
 * latency is small against it, small enough that the chain's processes work at the same
 * time (a pipeline; with more processes the pipeline is longer and a segment shorter). */
enum { SEGMENT_MIN = 4096, SEGMENT_MAX = 65536 };

static size_t chain_segment(size_t n, int p)
{
    size_t s = (n + (size_t)p - 1) / (size_t)p;
    return s < SEGMENT_MIN ? SEGMENT_MIN : s > SEGMENT_MAX ? SEGMENT_MAX : s;
}
#endif

bool dist_available(void)
{
#ifdef NETC_MPI
    return true;
#else
    return false;
#endif
}

/* Started by a process manager: Open MPI's mpirun (or a PMIx one) sets these. A plain run
 * does not start MPI at all (an MPI singleton costs 0.4 s here and changes nothing). */
bool dist_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int dist_init(int *argc, char ***argv)
{
#ifdef NETC_MPI
    if (dist_launched()) {
        int provided;
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        const char *w = getenv("NETRUN_MPI_WAIT");
        split_wait = w && *w == '1';
    }
#else
    (void)argc;
    (void)argv;
#endif
    return size;
}

void dist_finalize(void)
{
#ifdef NETC_MPI
    int on = 0, off = 0;
    MPI_Initialized(&on);
    MPI_Finalized(&off);
    if (on && !off)
        MPI_Finalize();
#endif
}

_Noreturn void dist_abort(int status)
{
    fflush(stdout);
    fflush(stderr);
#ifdef NETC_MPI
    if (size > 1)
        MPI_Abort(MPI_COMM_WORLD, status);
#endif
    exit(status);
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }

void dist_range(int n, int r, int p, int *a, int *b)
{
    int q = n / p, extra = n % p; /* the first `extra` ranks take one more */
    *a = r * q + (r < extra ? r : extra);
    *b = *a + q + (r < extra);
}

DistStats dist_stats(void) { return stats; }
void dist_stats_reset(void) { stats = (DistStats){0}; }

#ifdef NETC_MPI
static double t_enter;
/* Before an exchange every process makes (the first call of each collective operation). */
static void enter(void)
{
    if (split_wait) {
        double t = now_seconds();
        MPI_Barrier(MPI_COMM_WORLD);
        stats.wait += now_seconds() - t;
    }
    t_enter = now_seconds();
}
/* Before a further exchange of the same operation. */
static void enter_again(void) { t_enter = now_seconds(); }
static void leave(double bytes)
{
    stats.seconds += now_seconds() - t_enter;
    stats.bytes += bytes;
    stats.calls++;
}

/* malloc, or the end of the job: a process that cannot take part in an exchange would leave
 * the others waiting. */
static void *must_alloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (!p) {
        fprintf(stderr, "netrun: process %d: out of memory\n", rank);
        dist_abort(1);
    }
    return p;
}

/* Per-rank counts and displacements for MPI_Allgatherv (made for the job's size once). */
static int *counts, *displs;
static bool gatherv_arrays(void)
{
    if (!counts) {
        counts = must_alloc(sizeof(int) * (size_t)size);
        displs = must_alloc(sizeof(int) * (size_t)size);
    }
    return true;
}
#endif

#ifdef NETC_MPI
/* v combined over every process with op. */
static int64_t allreduce(int64_t v, MPI_Op op)
{
    int64_t r;
    enter();
    MPI_Allreduce(&v, &r, 1, MPI_INT64_T, op, MPI_COMM_WORLD);
    leave(2.0 * sizeof v);
    return r;
}
#endif

bool dist_all(bool ok)
{
#ifdef NETC_MPI
    if (size > 1)
        return allreduce(ok, MPI_LAND);
#endif
    return ok;
}

bool dist_any(bool on)
{
#ifdef NETC_MPI
    if (size > 1)
        return allreduce(on, MPI_LOR);
#endif
    return on;
}

int64_t dist_sum(int64_t v)
{
#ifdef NETC_MPI
    if (size > 1)
        return allreduce(v, MPI_SUM);
#endif
    return v;
}

void dist_bcast(void *p, size_t bytes, int root)
{
#ifdef NETC_MPI
    if (size > 1) {
        enter();
        for (size_t off = 0; off < bytes;) {
            size_t n = bytes - off < (1u << 30) ? bytes - off : (1u << 30);
            MPI_Bcast((char *)p + off, (int)n, MPI_BYTE, root, MPI_COMM_WORLD);
            off += n;
        }
        leave((double)bytes);
    }
#else
    (void)p;
    (void)bytes;
    (void)root;
#endif
}

void dist_gather_blocks(double *buf, int n, const int *off, const int *sz)
{
#ifdef NETC_MPI
    if (size > 1 && gatherv_arrays()) {
        for (int r = 0; r < size; r++) {
            int a, b;
            dist_range(n, r, size, &a, &b);
            displs[r] = a < n ? off[a] : 0;
            counts[r] = 0;
            for (int i = a; i < b; i++)
                counts[r] += sz[i];
        }
        double total = 0;
        for (int r = 0; r < size; r++)
            total += counts[r];
        enter();
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE,
                       MPI_COMM_WORLD);
        leave(total * sizeof(double));
    }
#else
    (void)buf;
    (void)n;
    (void)off;
    (void)sz;
#endif
}

void dist_gather_ranges(double *buf, int n, size_t per)
{
#ifdef NETC_MPI
    if (size > 1 && gatherv_arrays()) {
        for (int r = 0; r < size; r++) {
            int a, b;
            dist_range(n, r, size, &a, &b);
            displs[r] = (int)((size_t)a * per);
            counts[r] = (int)((size_t)(b - a) * per);
        }
        enter();
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE,
                       MPI_COMM_WORLD);
        leave((double)n * (double)per * sizeof(double));
    }
#else
    (void)buf;
    (void)n;
    (void)per;
#endif
}

void dist_chain(float *acc, size_t n, int last_rank, void (*fold)(void *ctx, size_t lo, size_t hi),
                void *ctx)
{
#ifdef NETC_MPI
    if (size > 1) {
        static MPI_Request *req; /* [2 * nseg]: the receives, then the sends */
        static size_t nreq;
        size_t seg = chain_segment(n, size), nseg = (n + seg - 1) / seg;
        if (2 * nseg > nreq) {
            free(req);
            req = must_alloc(sizeof *req * 2 * nseg);
            nreq = 2 * nseg;
        }
        enter();
        double bytes = 0;
        size_t sent = 0;
        if (rank <= last_rank) {
            /* every receive posted at once: segment s + 1 arrives while s is added to */
            for (size_t s = 0; s < nseg && rank > 0; s++) {
                size_t lo = s * seg, hi = lo + seg < n ? lo + seg : n;
                MPI_Irecv(acc + lo, (int)(hi - lo), MPI_FLOAT, rank - 1, (int)s, MPI_COMM_WORLD,
                          &req[s]);
                bytes += (double)(hi - lo) * sizeof(float);
            }
            for (size_t s = 0; s < nseg; s++) {
                size_t lo = s * seg, hi = lo + seg < n ? lo + seg : n;
                if (rank > 0)
                    MPI_Wait(&req[s], MPI_STATUS_IGNORE);
                leave(0);
                fold(ctx, lo, hi);
                enter_again();
                if (rank < last_rank) {
                    MPI_Isend(acc + lo, (int)(hi - lo), MPI_FLOAT, rank + 1, (int)s, MPI_COMM_WORLD,
                              &req[nseg + sent++]);
                    bytes += (double)(hi - lo) * sizeof(float);
                }
            }
            MPI_Waitall((int)sent, req + nseg, MPI_STATUSES_IGNORE);
        }
        leave(bytes);
        dist_bcast(acc, n * sizeof(float), last_rank);
        return;
    }
#else
    (void)acc;
    (void)last_rank;
#endif
    fold(ctx, 0, n);
}
