/* dist.h: data-parallel training over MPI: which process runs which chunks of a batch, and
 * the few collective operations the runtime needs to give the same bits as one process.
 *
 * Design choice: a batch is already cut into chunks fixed by the batch size and the net
 * alone (model.c), and one process adds the chunks' gradients in chunk order. Several
 * processes each run a contiguous range of those chunks, and the gradients travel down a
 * chain of processes in rank order, each adding its own chunks to the running sum before
 * passing it on (in segments, so the chain is a pipeline), and the last process broadcasts
 * the total: the additions are the same ones in the same order, so the model after every
 * step is the same bytes for any number of processes and threads. Batch statistics and
 * per-row losses are gathered whole and added in order by every process. Without MPI
 * (the `mpi` build option off, or netrun not started by mpirun) every call is the
 * one-process case and costs nothing. */
#ifndef NETC_DIST_H
#define NETC_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts MPI when this process was started by mpirun (and the build has MPI); returns the
 * number of processes (1 otherwise). Call before anything else reads argv. */
int dist_init(int *argc, char ***argv);
/* Ends MPI (a no-op without it). */
void dist_finalize(void);
/* Ends every process of the job at once with this exit status (after a message). */
_Noreturn void dist_abort(int status);
int dist_rank(void);
int dist_size(void);
/* Whether a process manager (mpirun) started this process. */
bool dist_launched(void);
/* Whether the build has MPI. */
bool dist_available(void);

/* The range [*a, *b) of n items (chunks) that process r of p runs: contiguous, in rank
 * order, as even as n allows, and the low ranks first when n < p. */
void dist_range(int n, int r, int p, int *a, int *b);

/* Logical and / or of every process's ok. */
bool dist_all(bool ok);
bool dist_any(bool on);
/* The sum of every process's v. */
int64_t dist_sum(int64_t v);
/* bytes from process root to every other. */
void dist_bcast(void *p, size_t bytes, int root);
/* buf holds n items of `per` doubles, process r's range (dist_range(n, r, size)) filled in;
 * afterwards every process has all of them. */
void dist_gather_ranges(double *buf, int n, size_t per);
/* The same with item i of size[i] doubles starting at off[i] (rows of different sizes). */
void dist_gather_blocks(double *buf, int n, const int *off, const int *size);

/* The gradient chain. Every process calls dist_chain with its fold: fold(ctx, lo, hi) adds
 * the process's own chunks into acc[lo, hi). A process after the first receives the running
 * sum of the chunks before its own into acc first; the last process with chunks ends with
 * the total, which it broadcasts to every process. n floats in all; last_rank is the last
 * process that runs any chunk. */
void dist_chain(float *acc, size_t n, int last_rank, void (*fold)(void *ctx, size_t lo, size_t hi),
                void *ctx);

/* Communication since the last dist_stats_reset: bytes this process sent and received, and
 * seconds it spent inside communication calls (waiting for the others included). With
 * NETRUN_MPI_WAIT=1 in the environment, every exchange starts with a barrier whose time is
 * counted in wait instead: seconds then holds the transfers alone. */
typedef struct DistStats {
    double bytes, seconds, wait;
    int64_t calls;
} DistStats;
DistStats dist_stats(void);
void dist_stats_reset(void);

#endif
