/* sweep.h: netrun's --sweep (sweep.c): a grid of training runs and a table of their results. */
#ifndef NETC_TOOLS_SWEEP_H
#define NETC_TOOLS_SWEEP_H

#include <stdbool.h>

/* The most --sweep names on one command line. */
#define SWEEP_MAX 8

/* Runs net's training once for each point of the grid the specs ("NAME=V1,V2,...") span,
 * the last name varying fastest: each a child netrun with argv's words (without --sweep),
 * the point's values as -D (a parameter of the net) or as the train setting's flag, and
 * --record runs/NETNAME-sweep-N/POINT. Prints and writes (results.md, results.csv) the
 * table. Returns netrun's exit status: 0 when every run finished, 128 + the signal when
 * stopped by SIGINT or SIGTERM (the finished runs kept), 2 for a bad --sweep, 1 when a run
 * failed. net_name is the net's name (NETNAME), defines the command line's -D values, which
 * every point's net takes too; netrun has checked both, and the other flags, before. */
int sweep_run(int argc, char **argv, const char *net, const char *net_name,
              const char *const *specs, int nspecs, const char *const *defines, int ndefines,
              bool quiet);

/* The net as the grid's checks take it: built at the command line's -D values (set by
 * sweep_defines), or, when it does not build there but does at the grid's first point (a
 * default the grid replaces: `Linear (w - 3)` at w=3, swept w=5,6), at that point: each axis
 * that is a parameter of the net at its first value. NULL after the command line's
 * messages into d (*bad_define set when one of its -D is what fails). */
struct Arena;
struct Graph;
struct Diag;
struct Graph *sweep_load(struct Arena *arena, const char *net, const char *const *specs, int nspecs,
                         bool *bad_define, struct Diag *d);
/* The command line's -D values, which every point takes. */
void sweep_defines(const char *const *defines, int ndefines);

#endif
