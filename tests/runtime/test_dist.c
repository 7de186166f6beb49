/* test_dist.c: who runs what in a data-parallel job, without MPI: the ranges of chunks
 * (dist_range) and the rows each process of a model runs (rt_local_rows), for every item
 * count, process count and batch size in a range. Together they must cover every chunk and
 * row once, in rank order, whole parts each, with the low ranks working first; the bytes
 * themselves are compared under mpirun (mpi.sh). */
#include <criterion/criterion.h>

#include "dist.h"
#include "frontend.h"
#include "runtime.h"

Test(dist, ranges_cover_in_rank_order)
{
    for (int n = 1; n <= 64; n++)
        for (int p = 1; p <= 70; p++) {
            int next = 0, small = n / p, prev_size = n;
            for (int r = 0; r < p; r++) {
                int a, b;
                dist_range(n, r, p, &a, &b);
                cr_assert_eq(a, next, "n %d p %d rank %d starts at %d, not %d", n, p, r, a, next);
                cr_assert(b >= a && b - a >= small && b - a <= small + 1,
                          "n %d p %d rank %d: [%d, %d)", n, p, r, a, b);
                cr_assert(b - a <= prev_size, "n %d p %d: rank %d has more than rank %d", n, p, r,
                          r - 1);
                prev_size = b - a;
                next = b;
            }
            cr_assert_eq(next, n, "n %d p %d: %d covered", n, p, next);
        }
}

Test(dist, local_rows_cover_the_batch)
{
    static const char text[] = "network t (input 1x8x8) {\n"
                               "  Conv2d 4 k3 p1; ReLU; MaxPool2d 2\n"
                               "  Flatten; Linear 3\n"
                               "}\n"
                               "train { batch 70 }\n";
    Arena *a = arena_new();
    Diag d;
    diag_init(&d, stderr, "test_dist");
    Graph *g = frontend_load_file(a, src_from_string(a, "t.net", text), &d);
    cr_assert(g && !d.errors);
    Model *m = rt_model_new(g, 70, &d);
    cr_assert(m);
    for (int p = 1; p <= 12; p++)
        for (int batch = 1; batch <= 70; batch++) {
            int next = 0;
            for (int r = 0; r < p; r++) {
                rt_model_distribute(m, r, p);
                int r0, r1;
                rt_local_rows(m, batch, &r0, &r1);
                if (r0 == r1)
                    continue; /* no chunk for this process */
                cr_assert_eq(r0, next, "p %d batch %d rank %d starts at row %d, not %d", p, batch,
                             r, r0, next);
                cr_assert(r0 % m->part == 0, "p %d batch %d rank %d: row %d is inside a part", p,
                          batch, r, r0);
                next = r1;
            }
            cr_assert_eq(next, batch, "p %d batch %d: rows [0, %d) covered", p, batch, next);
        }
    rt_model_free(m);
    arena_free(a);
}
