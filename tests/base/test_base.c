/* test_base.c: first_fit, the memory planner both the runtime (gradient slots) and the code
 * generator (the arena) use, against the plain quadratic first fit it replaced: the same
 * offsets for every block, on random lifetimes, sizes and orders; and fmt_c_float, the float
 * literals of generated code. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "base.h"

/* The definition: each block in order at the lowest offset that overlaps no block placed
 * before it and alive at a common step, found by moving past every overlap until none is
 * left. */
static size_t quadratic_fit(int n, const int *order, const int *lo, const int *hi,
                            const size_t *size, size_t *off)
{
    size_t top = 0;
    for (int k = 0; k < n; k++) {
        int i = order[k];
        size_t at = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < k; j++) {
                int b = order[j];
                if (hi[b] < lo[i] || hi[i] < lo[b])
                    continue;
                if (at < off[b] + size[b] && off[b] < at + size[i]) {
                    at = off[b] + size[b];
                    moved = true;
                }
            }
        }
        off[i] = at;
        if (at + size[i] > top)
            top = at + size[i];
    }
    return top;
}

Test(first_fit, equals_the_quadratic_definition)
{
    Rng r;
    rng_seed(&r, 7);
    for (int round = 0; round < 400; round++) {
        int n = 1 + (int)rng_below(&r, 60), nsteps = 1 + (int)rng_below(&r, 40);
        int lo[60], hi[60], order[60];
        size_t size[60], want[60], got[60];
        for (int i = 0; i < n; i++) {
            lo[i] = (int)rng_below(&r, (uint64_t)nsteps);
            /* mostly short lives, as in a chain; some long, as across a skip connection */
            int span = rng_below(&r, 4) ? (int)rng_below(&r, 3) : (int)rng_below(&r, 40);
            hi[i] = lo[i] + span < nsteps ? lo[i] + span : nsteps - 1;
            size[i] = 16 * (1 + rng_below(&r, round % 2 ? 3 : 50)); /* many equal sizes, or few */
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) { /* a random order, or the identity (NULL) */
            int j = (int)rng_below(&r, (uint64_t)i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        bool identity = round % 3 == 0;
        if (identity)
            for (int i = 0; i < n; i++)
                order[i] = i;
        size_t top_want = quadratic_fit(n, order, lo, hi, size, want);
        size_t top_got = first_fit(n, identity ? NULL : order, lo, hi, size, nsteps, got);
        cr_assert_eq(top_got, top_want, "round %d: size %zu, want %zu", round, top_got, top_want);
        for (int i = 0; i < n; i++)
            cr_assert_eq(got[i], want[i], "round %d block %d: offset %zu, want %zu", round, i,
                         got[i], want[i]);
        /* and what it promises: blocks alive together never share memory */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                if (!(hi[i] < lo[j] || hi[j] < lo[i]))
                    cr_assert(got[i] + size[i] <= got[j] || got[j] + size[j] <= got[i],
                              "round %d: blocks %d and %d overlap", round, i, j);
    }
}

Test(first_fit, a_long_chain_reuses_two_slots)
{
    enum { N = 100000 };
    int *lo = malloc(sizeof(int) * N), *hi = malloc(sizeof(int) * N);
    size_t *size = malloc(sizeof(size_t) * N), *off = malloc(sizeof(size_t) * N);
    for (int i = 0; i < N; i++) {
        lo[i] = i;
        hi[i] = i + 1 < N ? i + 1 : i; /* written by step i, read by step i + 1 */
        size[i] = 64;
    }
    cr_assert_eq(first_fit(N, NULL, lo, hi, size, N, off), 128);
    for (int i = 0; i < N; i++)
        cr_assert_eq(off[i], (size_t)(i % 2) * 64);
    free(lo);
    free(hi);
    free(size);
    free(off);
}

Test(order_largest_first, is_stable)
{
    size_t key[] = {3, 7, 3, 9, 7, 0, 3};
    int order[7], want[] = {3, 1, 4, 0, 2, 6, 5};
    order_largest_first(7, key, order);
    for (int i = 0; i < 7; i++)
        cr_assert_eq(order[i], want[i], "place %d: %d, want %d", i, order[i], want[i]);
}

/* Generated code spells constants (a LeakyReLU's slope, a template's alpha) with
 * fmt_c_float: each must be a C float literal that reads back as the same float, whole
 * numbers included ("3f" is not C). */
Test(fmt_c_float, is_a_c_literal_that_round_trips)
{
    const float vals[] = {0.0f,   -0.0f,  1.0f,  3.0f,    0.01f, 1.5f,     1e6f,
                          1e-12f, 100.0f, -7.0f, 0.3333f, 1e30f, -2.5e-7f, 16777216.0f};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[48];
        fmt_c_float(buf, sizeof buf, vals[i]);
        size_t n = strlen(buf);
        cr_assert(n >= 2 && buf[n - 1] == 'f', "%s: no f suffix", buf);
        cr_assert(strpbrk(buf, ".e"), "%s: an integer constant with an f suffix is not C", buf);
        char *end;
        float back = strtof(buf, &end);
        cr_assert(end == buf + n - 1, "%s: not a number before the suffix", buf);
        cr_assert(back == vals[i] && signbit(back) == signbit(vals[i]), "%s is not %.9g", buf,
                  (double)vals[i]);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Keys of (seed, epoch, image) tuples, as augment draws its crops: 41 seeds x 4 epochs x 256
 * images, every one its own stream (seed ^ epoch << 32 ^ image gave 256 distinct keys out of
 * 41,984: seed s's image i had seed s''s image i ^ s ^ s' crops). */
Test(rng_key, tuples_do_not_meet)
{
    enum { SEEDS = 41, EPOCHS = 4, IMAGES = 256, N = SEEDS * EPOCHS * IMAGES };
    uint64_t *k = malloc(sizeof *k * N);
    cr_assert(k);
    size_t n = 0;
    for (uint64_t s = 0; s < SEEDS; s++)
        for (uint64_t e = 0; e < EPOCHS; e++)
            for (uint64_t i = 0; i < IMAGES; i++)
                k[n++] = rng_key(rng_key(rng_key(s, 0x4155474d454e54ull), e), i);
    qsort(k, n, sizeof *k, cmp_u64);
    size_t same = 0;
    for (size_t j = 1; j < n; j++)
        same += k[j] == k[j - 1];
    cr_expect_eq(same, 0, "%zu of %d (seed, epoch, image) keys repeat another", same, N);
    free(k);
}
