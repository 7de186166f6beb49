/* compare.c: the numeric comparer the runtime's shell tests use (so they need no Python).
 *
 *   compare csv GOT WANT TOL   every value of two CSV files of numbers, row by row
 *   compare st GOT WANT TOL    every tensor of the safetensors file WANT against the tensor of
 *                              the same name in GOT (same dtype, F32 or I64, and shape; GOT
 *                              may hold more tensors, e.g. a checkpoint's optimiser state);
 *                              I64 values (counts) must be equal
 *   compare keys GOT WANT      what PyTorch's strict load_state_dict checks: GOT has exactly
 *                              WANT's tensor names, each with WANT's dtype and shape (no
 *                              missing key, no unexpected one)
 *   compare rand COUNT SEED OUT   writes COUNT float32 inputs to OUT (raw, little-endian): value
 *                              i is (splitmix64(SEED + i) >> 40) * 2^-22 - 2, in [-2, 2), so
 *                              gen_torch_random.py makes the same inputs with no file
 *   compare table ROWS COLS CLASSES SEED OUT.csv   a CSV table of ROWS records: a header
 *                              f0,...,label, then COLS features each (value r*COLS + i of
 *                              `rand` with SEED) and a label, splitmix64(SEED + 2^32 + r)
 *                              modulo CLASSES
 *
 * A value passes when |got - want| <= TOL * max(1, |want|): relative for values of magnitude
 * 1 and above, absolute (TOL) below, so values near 0 are not held to a relative bound their
 * float rounding cannot meet. Prints the number of values and the worst one (where, got, want,
 * difference) in either case; exit 0 when all pass, 1 when one does not, 2 on a usage or
 * file error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

typedef struct Worst {
    double ratio; /* |diff| / (TOL * max(1, |want|)): > 1 fails */
    double got, want;
    char where[160];
    long n, bad;
} Worst;

static void see(Worst *w, double tol, double got, double want, const char *where)
{
    double lim = tol * fmax(1.0, fabs(want));
    double ratio = fabs(got - want) / lim;
    if (isnan(ratio))
        ratio = INFINITY;
    w->n++;
    if (ratio > 1)
        w->bad++;
    if (w->n == 1 || ratio > w->ratio) {
        w->ratio = ratio;
        w->got = got;
        w->want = want;
        snprintf(w->where, sizeof w->where, "%s", where);
    }
}

static int report(const Worst *w, const char *got, const char *want, double tol)
{
    if (w->n == 0) {
        fprintf(stderr, "compare: %s has no values\n", want);
        return 2;
    }
    printf("compare: %ld values of %s against %s: %ld outside %g*max(1,|want|); worst at %s: "
           "got %.9g want %.9g diff %.3g\n",
           w->n, got, want, w->bad, tol, w->where, w->got, w->want, fabs(w->got - w->want));
    return w->bad ? 1 : 0;
}

static int compare_csv(const char *got, const char *want, double tol)
{
    FILE *fg = fopen(got, "r"), *fw = fopen(want, "r");
    if (!fg || !fw) {
        fprintf(stderr, "compare: cannot open %s\n", !fg ? got : want);
        if (fg)
            fclose(fg);
        if (fw)
            fclose(fw);
        return 2;
    }
    Worst w = {0};
    char *lg = NULL, *lw = NULL; /* whole rows, however long (an image output's) */
    size_t ng = 0, nw = 0;
    int row = 0, status = 0;
    for (;;) {
        char *a = getline(&lg, &ng, fg) < 0 ? NULL : lg, *b = getline(&lw, &nw, fw) < 0 ? NULL : lw;
        if (!a && !b)
            break;
        row++;
        if (!a || !b) {
            fprintf(stderr, "compare: %s has %s rows than %s (row %d)\n", got,
                    !a ? "fewer" : "more", want, row);
            status = 1;
            break;
        }
        int col = 0;
        char *pa = lg, *pb = lw;
        for (;;) {
            char *ea, *eb;
            double x = strtod(pa, &ea), y = strtod(pb, &eb);
            bool ha = ea != pa, hb = eb != pb;
            if (!ha && !hb)
                break;
            col++;
            if (ha != hb) {
                fprintf(stderr, "compare: row %d: %s has %s values than %s\n", row, got,
                        !ha ? "fewer" : "more", want);
                status = 1;
                break;
            }
            char where[64];
            snprintf(where, sizeof where, "row %d column %d", row, col);
            see(&w, tol, x, y, where);
            pa = ea + (*ea == ',');
            pb = eb + (*eb == ',');
        }
        if (status)
            break;
    }
    free(lg);
    free(lw);
    fclose(fg);
    fclose(fw);
    int r = report(&w, got, want, tol);
    return status ? status : r;
}

/* Reads both safetensors files, or says why not. */
static bool read_pair(const char *got, const char *want, StFile **g, StFile **w)
{
    Diag d;
    diag_init(&d, stderr, "compare");
    *g = st_read(got, &d);
    *w = *g ? st_read(want, &d) : NULL;
    if (!*w)
        st_free(*g);
    return *w != NULL;
}

static int compare_st(const char *got, const char *want, double tol)
{
    StFile *g, *w;
    if (!read_pair(got, want, &g, &w))
        return 2;
    Worst worst = {0};
    int status = 0;
    for (int i = 0; i < st_count(w) && !status; i++) {
        const StTensor *tw = st_tensor(w, i), *tg = st_find(g, tw->name);
        bool typed = tw->dtype == ST_F32 || tw->dtype == ST_I64;
        if (!tg || !typed || tg->dtype != tw->dtype || tg->nbytes != tw->nbytes ||
            tg->ndim != tw->ndim ||
            memcmp(tg->shape, tw->shape, sizeof(int64_t) * (size_t)tw->ndim) != 0) {
            fprintf(stderr, "compare: %s: tensor '%s' is %s\n", got, tw->name,
                    !tg ? "missing" : "not of the same type (F32 or I64) and shape");
            status = 1;
            break;
        }
        size_t n = tw->nbytes / st_dtype_size(tw->dtype);
        for (size_t k = 0; k < n; k++) {
            char where[160];
            snprintf(where, sizeof where, "%s[%zu]", tw->name, k);
            if (tw->dtype == ST_I64) /* counts (num_batches_tracked): exactly */
                see(&worst, tol, (double)((const int64_t *)tg->data)[k] * 1e9,
                    (double)((const int64_t *)tw->data)[k] * 1e9, where);
            else
                see(&worst, tol, ((const float *)tg->data)[k], ((const float *)tw->data)[k], where);
        }
    }
    st_free(g);
    st_free(w);
    int r = report(&worst, got, want, tol);
    return status ? status : r;
}

static int compare_keys(const char *got, const char *want)
{
    StFile *g, *w;
    if (!read_pair(got, want, &g, &w))
        return 2;
    int bad = 0;
    for (int i = 0; i < st_count(w); i++) {
        const StTensor *tw = st_tensor(w, i), *tg = st_find(g, tw->name);
        const char *why = NULL;
        if (!tg)
            why = "missing key";
        else if (tg->dtype != tw->dtype || tg->ndim != tw->ndim ||
                 memcmp(tg->shape, tw->shape, sizeof(int64_t) * (size_t)tw->ndim) != 0)
            why = "another dtype or shape than PyTorch's for";
        if (why) {
            fprintf(stderr, "compare: %s: %s '%s'\n", got, why, tw->name);
            bad++;
        }
    }
    for (int i = 0; i < st_count(g); i++)
        if (!st_find(w, st_tensor(g, i)->name)) {
            fprintf(stderr, "compare: %s: unexpected key '%s'\n", got, st_tensor(g, i)->name);
            bad++;
        }
    printf("compare: %d keys of %s against %s's %d: %d differ\n", st_count(g), got, want,
           st_count(w), bad);
    st_free(g);
    st_free(w);
    return bad ? 1 : 0;
}

/* Steele, Lea and Flood's SplitMix64 output function, applied to SEED + i. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15u;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    return x ^ (x >> 31);
}

static float rand_value(uint64_t s, uint64_t i);

static int write_rand(const char *count, const char *seed, const char *path)
{
    char *e1, *e2;
    long n = strtol(count, &e1, 10);
    unsigned long long s = strtoull(seed, &e2, 10);
    if (*e1 || *e2 || n < 1 || n > 100000000) {
        fprintf(stderr, "compare rand: COUNT (1 to 1e8) and SEED are whole numbers\n");
        return 2;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    for (long i = 0; i < n; i++) {
        /* 24 bits: exact in a float, and in the double Python computes it in */
        float v = rand_value(s, (uint64_t)i);
        unsigned char le[4];
        uint32_t u;
        memcpy(&u, &v, sizeof u);
        for (int k = 0; k < 4; k++)
            le[k] = (unsigned char)(u >> (8 * k));
        fwrite(le, 1, sizeof le, f);
    }
    return fclose(f) == 0 ? 0 : 2;
}

/* The value i of `compare rand` with seed s. */
static float rand_value(uint64_t s, uint64_t i)
{
    return (float)((double)(splitmix64(s + i) >> 40) * 0x1p-22 - 2.0);
}

static int write_table(char **arg)
{
    long v[4];
    for (int k = 0; k < 4; k++) {
        char *e;
        v[k] = strtol(arg[k], &e, 10);
        if (*e || v[k] < 0 || v[k] > 100000000) {
            fprintf(stderr, "compare table: ROWS COLS CLASSES SEED are whole numbers\n");
            return 2;
        }
    }
    long rows = v[0], cols = v[1], classes = v[2];
    if (rows < 1 || cols < 1 || classes < 1) {
        fprintf(stderr, "compare table: ROWS, COLS and CLASSES are at least 1\n");
        return 2;
    }
    FILE *f = fopen(arg[4], "w");
    if (!f) {
        perror(arg[4]);
        return 2;
    }
    for (long i = 0; i < cols; i++)
        fprintf(f, "f%ld,", i);
    fprintf(f, "label\n");
    for (long r = 0; r < rows; r++) {
        for (long i = 0; i < cols; i++)
            fprintf(f, "%.9g,", (double)rand_value((uint64_t)v[3], (uint64_t)(r * cols + i)));
        fprintf(f, "%llu\n",
                (unsigned long long)(splitmix64((uint64_t)v[3] + (1ull << 32) + (uint64_t)r) %
                                     (uint64_t)classes));
    }
    return fclose(f) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "table") == 0)
        return write_table(argv + 2);
    if (argc == 5 && strcmp(argv[1], "rand") == 0)
        return write_rand(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "keys") == 0)
        return compare_keys(argv[2], argv[3]);
    char *end = NULL;
    double tol = argc == 5 ? strtod(argv[4], &end) : 0;
    if (argc != 5 || !end || *end || !(tol > 0) ||
        (strcmp(argv[1], "csv") != 0 && strcmp(argv[1], "st") != 0)) {
        fprintf(stderr, "usage: compare csv|st GOT WANT TOL, compare keys GOT WANT, compare rand "
                        "COUNT SEED OUT, or compare table ROWS COLS CLASSES SEED OUT\n");
        return 2;
    }
    return strcmp(argv[1], "csv") == 0 ? compare_csv(argv[2], argv[3], tol)
                                       : compare_st(argv[2], argv[3], tol);
}
