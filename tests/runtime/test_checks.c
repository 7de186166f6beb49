/* test_checks.c: what the runtime checks before it uses a value from a file, class by class:
 *   - every field of a checkpoint's training position (netc.epoch, netc.batch,
 *     netc.batch_size, netc.step, netc.optim_step, the two RNG states), each at -1, 2^31,
 *     2^32, 2^63, 2^64, non-numbers and empty, and each at the ends of its range;
 *   - positions that are in range but not for this run (a batch beyond the data, a run
 *     already at its end), and a stop request, through rt_train;
 *   - image shapes against the net's input, dimension by dimension, and an empty data set.
 * A checkpoint is written by ckpt_save from a small net, then rewritten with one metadata
 * value changed (st_read, st_write), so each case differs from a good file in one field. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"
#include "testutil.h"

static const char net_text[] = "network c (input 1x4x4) {\n"
                               "  Flatten\n"
                               "  Dropout 0.25\n"
                               "  fc: Linear 3\n"
                               "}\n"
                               "train {\n"
                               "  optimizer SGD lr=0.05 momentum=0.9\n"
                               "  batch 2\n"
                               "  epochs 3\n"
                               "}\n";

/* Every metadata key ckpt_save writes for a training position, in its order. */
static const char *const pos_keys[] = {"netc.epoch",      "netc.batch",      "netc.batch_size",
                                       "netc.step",       "netc.optim_step", "netc.epoch_rng",
                                       "netc.dropout_rng"};
#define NKEYS 7

static char *tmp;
static Cap cap;
static char good[1024], bad[1024];
static Arena *arena;
static Graph *g;
static Model *m;
static Optim *o;
static uint8_t images[5 * 16], labels[5] = {0, 1, 2, 1, 0};
static Dataset ds = {.n = 5, .rows = 4, .cols = 4, .images = images, .labels = labels};

static Graph *load_net(const char *text)
{
    Diag d;
    diag_init(&d, stderr, "test");
    Graph *gr = frontend_load_file(arena, src_from_string(arena, "c.net", text), &d);
    cr_assert(gr && d.errors == 0, "the test's net does not load");
    return gr;
}

static void setup(void)
{
    tmp = tmpdir_new();
    cap_init(&cap);
    snprintf(good, sizeof good, "%s/good.st", tmp);
    snprintf(bad, sizeof bad, "%s/bad.st", tmp);
    arena = arena_new();
    g = load_net(net_text);
    m = rt_model_new(g, g->train.batch, &cap.d);
    o = optim_new(&g->train, m->nparam_floats);
    cr_assert(m && o);
    rt_model_init(m, 7);
    for (int i = 0; i < 5 * 16; i++)
        images[i] = (uint8_t)(i * 37);
    /* a position inside epoch 2: 4 steps of 3 per epoch */
    TrainPos pos = {.epoch = 1, .batch = 1, .step = 4};
    rng_seed(&pos.epoch_rng, 1);
    pos.drop_rng = m->rng;
    o->step = 4;
    cr_assert(ckpt_save(good, m, o, &pos, &cap.d), "%s", cap_text(&cap));
}

static void teardown(void)
{
    optim_free(o);
    rt_model_free(m);
    arena_free(arena);
    cap_fini(&cap);
    tmpdir_free(tmp);
}

TestSuite(checks, .init = setup, .fini = teardown);

/* Writes `bad`: `good` with n metadata keys set to values (NULL: removed). */
static void rewrite_n(int n, const char *const *keys, const char *const *values)
{
    StFile *f = st_read(good, &cap.d);
    cr_assert(f, "%s", cap_text(&cap));
    int nt = st_count(f);
    StTensor *t = calloc((size_t)nt, sizeof *t);
    for (int i = 0; i < nt; i++)
        t[i] = *st_tensor(f, i);
    const char *meta[2 * (NKEYS + 8) + 1];
    int k = 0;
    const char *fixed[] = {"format",   "netc.network", "netc.optimizer", "netc.seed",
                           "netc.val", "netc.shuffle", "netc.images",    "netc.cycle"};
    enum { NFIXED = sizeof fixed / sizeof *fixed };
    for (int i = 0; i < NFIXED + NKEYS; i++) {
        const char *name = i < NFIXED ? fixed[i] : pos_keys[i - NFIXED];
        const char *v = st_meta(f, name);
        for (int j = 0; j < n; j++)
            if (strcmp(name, keys[j]) == 0)
                v = values[j];
        if (v) {
            meta[k++] = name;
            meta[k++] = v;
        }
    }
    meta[k] = NULL;
    cr_assert(st_write(bad, t, nt, meta, &cap.d), "%s", cap_text(&cap));
    free(t);
    st_free(f);
}

static void rewrite(const char *key, const char *value) { rewrite_n(1, &key, &value); }

/* ckpt_resume of `bad` into a fresh optimiser; the position in *pos. */
static bool resume(TrainPos *pos)
{
    Optim *o2 = optim_new(&g->train, m->nparam_floats);
    memset(pos, 0, sizeof *pos);
    bool ok = ckpt_resume(bad, m, o2, pos, &cap.d);
    optim_free(o2);
    return ok;
}

static void expect_rejected(const char *key, const char *value)
{
    cap_fini(&cap);
    cap_init(&cap);
    rewrite(key, value);
    TrainPos pos;
    cr_assert_not(resume(&pos), "%s = '%s' was accepted", key, value);
    char want[80];
    snprintf(want, sizeof want, "'%s'", key);
    expect_error(&cap, bad, want, "bad training position");
}

static void expect_accepted(const char *key, const char *value, TrainPos *pos)
{
    cap_fini(&cap);
    cap_init(&cap);
    rewrite(key, value);
    cr_assert(resume(pos), "%s = '%s' was refused:\n%s", key, value, cap_text(&cap));
}

/* The same, with both step counts at `steps` (a step a batch, and one an epoch at least). */
static void expect_accepted_at(const char *key, const char *value, const char *steps, TrainPos *pos)
{
    cap_fini(&cap);
    cap_init(&cap);
    rewrite_n(3, (const char *[]){key, "netc.step", "netc.optim_step"},
              (const char *[]){value, steps, steps});
    cr_assert(resume(pos), "%s = '%s' was refused:\n%s", key, value, cap_text(&cap));
}

/* Not a whole number, for every integer key; and values past every integer key's range. */
static const char *const not_numbers[] = {"",    "x",   " 1", "1 ", "+1",  "0x10",    "1.5",
                                          "1e3", "--1", "-",  "1-", "0 1", "\xd9\xa1"};
static const char *const too_large_for_all[] = {"-1",
                                                "-2147483648",
                                                "-9223372036854775808",
                                                "9223372036854775807",
                                                "9223372036854775808", /* 2^63 */
                                                "18446744073709551615",
                                                "18446744073709551616",
                                                "99999999999999999999999999999"};

Test(checks, every_integer_key_rejects_non_numbers_and_negatives)
{
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++)
            expect_rejected(pos_keys[k], not_numbers[i]);
        for (size_t i = 0; i < sizeof too_large_for_all / sizeof *too_large_for_all; i++)
            expect_rejected(pos_keys[k], too_large_for_all[i]);
    }
}

Test(checks, epoch_batch_and_batch_size_stay_in_an_int)
{
    const char *const big[] = {"2147483647", "2147483648", "4294967295", "4294967296"};
    for (int k = 0; k < 3; k++)
        for (int i = k == 2 ? 1 : 0; i < 4; i++) /* batch_size may be INT32_MAX */
            expect_rejected(pos_keys[k], big[i]);
    expect_rejected("netc.batch_size", "0");
    TrainPos pos;
    expect_accepted_at("netc.epoch", "2147483646", "4294967296", &pos);
    cr_assert_eq(pos.epoch, 2147483646);
    expect_accepted("netc.epoch", "0", &pos);
    cr_assert_eq(pos.epoch, 0);
    /* rt_train checks it against the data */
    expect_accepted_at("netc.batch", "2147483646", "4294967296", &pos);
    cr_assert_eq(pos.batch, 2147483646);
    expect_accepted("netc.batch", "0", &pos);
    expect_accepted("netc.batch_size", "2", &pos);
    cr_assert_eq(pos.batch, 1);
}

Test(checks, steps_stay_exact_in_a_double)
{
    TrainPos pos;
    for (int k = 3; k < 5; k++)
        expect_rejected(pos_keys[k], "9007199254740993"); /* 2^53 + 1 */
    const char *const fit[] = {"2", "2147483648", "4294967296", "9007199254740992"};
    for (int i = 0; i < 4; i++) {
        expect_accepted_at("netc.epoch", "1", fit[i], &pos);
        cr_assert_eq(pos.step, strtoll(fit[i], NULL, 10));
    }
}

/* A value of a megabyte is shown cut short, and a control character escaped. */
Test(checks, long_values_are_cut_in_messages)
{
    char *v = malloc(1 << 20);
    memset(v, '7', (1 << 20) - 1);
    v[(1 << 20) - 1] = 0;
    v[3] = '\033';
    expect_rejected("netc.epoch", v);
    free(v);
    const char *t = cap_text(&cap);
    cr_assert_lt(strlen(t), 400, "message of %zu bytes:\n%.400s", strlen(t), t);
    cr_assert(strstr(t, "'777\\x1b7777") && strstr(t, "...'"), "%s", t);
}

Test(checks, batch_size_of_another_run_inside_an_epoch)
{
    cap_fini(&cap);
    cap_init(&cap);
    rewrite("netc.batch_size", "3");
    TrainPos pos;
    cr_assert_not(resume(&pos));
    expect_error(&cap, bad, "batches of 3", "same batch size");
}

/* ---- positions in range but not for this run, through rt_train ---- */

static TrainResult train_from(TrainPos *pos, int64_t max_steps, const char *save)
{
    RunOptions ro = {.max_steps = max_steps, .checkpoint = save, .resume = bad, .quiet = true};
    return rt_train(m, o, pos, &ds, NULL, &ro, &cap.d);
}

Test(checks, batch_beyond_the_data)
{
    const char *const beyond[] = {"4", "2147483646"}; /* 3 batches per epoch */
    for (int i = 0; i < 2; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite_n(3, (const char *[]){"netc.batch", "netc.step", "netc.optim_step"},
                  (const char *[]){beyond[i], "4294967296", "4294967296"});
        TrainPos pos;
        cr_assert(resume(&pos), "%s", cap_text(&cap));
        TrainResult r = train_from(&pos, 0, NULL);
        cr_assert_not(r.ok);
        expect_error(&cap, bad, "cannot resume after batch", "3 batches");
    }
}

/* The step counts against the position (a step a batch, at least one an epoch) and against
 * each other (the optimiser counts the same steps); the last step of the run against what a
 * checkpoint can count; the optimizer against the one whose state the file holds. */
Test(checks, step_counts_fit_the_position_and_the_run)
{
    const char *const wrong[][2] = {{"1", "1"}, {"0", "0"}, {"4", "5"}, {"5", "4"}, {"4", "0"}};
    for (int i = 0; i < 5; i++) { /* epoch 2, batch 1: at least 2 steps */
        cap_fini(&cap);
        cap_init(&cap);
        rewrite_n(2, (const char *[]){"netc.step", "netc.optim_step"}, wrong[i]);
        TrainPos pos;
        cr_assert_not(resume(&pos), "step %s, optimizer step %s accepted", wrong[i][0],
                      wrong[i][1]);
        expect_error(&cap, bad, "bad training position", "after batch 1 of epoch 2");
    }
    /* 2 epochs of 3 batches left, less the one done: 5 more steps */
    const char *const ends[] = {"9007199254740987", "9007199254740988"};
    for (int i = 0; i < 2; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite_n(2, (const char *[]){"netc.step", "netc.optim_step"},
                  (const char *[]){ends[i], ends[i]});
        TrainPos pos;
        cr_assert(resume(&pos), "%s", cap_text(&cap));
        TrainResult r = train_from(&pos, 0, NULL);
        if (i == 0) {
            cr_assert(r.ok, "%s", cap_text(&cap));
            cr_assert_eq(pos.step, 9007199254740992);
        } else {
            cr_assert_not(r.ok);
            expect_error(&cap, bad, "cannot resume at step 9007199254740988", "5 more steps");
        }
    }
    cap_fini(&cap);
    cap_init(&cap);
    rewrite("netc.optimizer", "Adam");
    TrainPos pos;
    cr_assert_not(resume(&pos));
    expect_error(&cap, bad, "optimizer state is Adam's", "optimizer is SGD", "--optimizer Adam");
    /* a name no optimizer has is damage, not a command to copy */
    const char *const unknown[] = {"adam", "Foo; rm -rf ~", ""};
    for (int i = 0; i < 3; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite("netc.optimizer", unknown[i]);
        cr_assert_not(resume(&pos));
        expect_error(&cap, bad, "names no optimizer netc has", "damaged");
        cr_assert_null(strstr(cap_text(&cap), "--optimizer"), "%s", cap_text(&cap));
    }
    expect_accepted("netc.optimizer", "SGD", &pos);
    expect_accepted("netc.optimizer", NULL, &pos); /* older checkpoints do not say */
}

Test(checks, rng_states)
{
    const char *const bad_states[] = {
        "",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",   /* 63 */
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", /* 65 */
        "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "-123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        " 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0x23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0000000000000000000000000000000000000000000000000000000000000000", /* never moves */
        "-1",
        "2147483648",
        "4294967296",
        "9223372036854775808",
        "18446744073709551616",
        "x",
    };
    for (int k = 5; k < 7; k++)
        for (size_t i = 0; i < sizeof bad_states / sizeof *bad_states; i++)
            expect_rejected(pos_keys[k], bad_states[i]);
    TrainPos pos;
    expect_accepted("netc.epoch_rng",
                    "0123456789ABCDEF0123456789abcdef0000000000000000000000000000000F", &pos);
    cr_assert_eq(pos.epoch_rng.s[0], 0x0123456789abcdefull);
    cr_assert_eq(pos.epoch_rng.s[3], 0xfull);
}

Test(checks, missing_keys)
{
    for (int k = 0; k < NKEYS; k++) {
        if (strcmp(pos_keys[k], "netc.batch_size") == 0)
            continue;
        cap_fini(&cap);
        cap_init(&cap);
        rewrite(pos_keys[k], NULL);
        TrainPos pos;
        cr_assert_not(resume(&pos), "%s missing was accepted", pos_keys[k]);
        expect_error(&cap, bad, pos_keys[k], "not a training checkpoint", "missing");
    }
    TrainPos pos; /* older checkpoints have no batch size */
    expect_accepted("netc.batch_size", NULL, &pos);
    cr_assert_eq(pos.batch, 1);
}

/* The run a position is a position in: its seed and validation share always (the split
 * comes from them), its order and images inside an epoch; a value that is not one is bad. */
Test(checks, the_run_the_position_is_in)
{
    const char *const refused[][3] = {
        {"netc.seed", "8", "the run's seed is 8, not 0"},
        {"netc.val", "0.25", "holds out 0.25 of its training set for validation, not 0"},
        {"netc.shuffle", "false", "stopped inside an epoch in file order"},
        {"netc.seed", "-1", "bad training position: metadata 'netc.seed'"},
        {"netc.val", "2", "bad training position: metadata 'netc.val'"},
        {"netc.shuffle", "yes", "bad training position: metadata 'netc.shuffle'"},
        {"netc.images", "0", "bad training position: metadata 'netc.images'"},
        {"netc.cycle", "x", "bad training position: metadata 'netc.cycle'"},
        /* 2^64 + 3 and 2^64 wrapped to 3 and 0 (this run's seed): a number past the range
         * is bad, whatever it wraps to */
        {"netc.seed", "18446744073709551616", "bad training position: metadata 'netc.seed'"},
        {"netc.seed", "18446744073709551619", "bad training position: metadata 'netc.seed'"},
        {"netc.seed", "9223372036854775808", "bad training position: metadata 'netc.seed'"},
        /* past --val's own range (0.9), whose hint could not be followed; and numbers
         * "%.17g" never writes */
        {"netc.val", "0.95", "bad training position: metadata 'netc.val'"},
        {"netc.val", " 0", "bad training position: metadata 'netc.val'"},
        {"netc.val", "0x0", "bad training position: metadata 'netc.val'"},
        {"netc.val", "nan", "bad training position: metadata 'netc.val'"}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite(refused[i][0], refused[i][1]);
        TrainPos pos;
        cr_assert_not(resume(&pos), "%s = %s accepted", refused[i][0], refused[i][1]);
        expect_error(&cap, bad, refused[i][2]);
    }
    TrainPos pos;
    expect_accepted("netc.seed", "0", &pos);
    expect_accepted("netc.val", "0", &pos);
    cap_fini(&cap); /* at an epoch's end the order may change */
    cap_init(&cap);
    rewrite_n(2, (const char *[]){"netc.shuffle", "netc.batch"}, (const char *[]){"false", "0"});
    cr_assert(resume(&pos), "%s", cap_text(&cap));
    /* the images: rt_train knows the data (5 images here) */
    const char *const images[] = {"4", "5"};
    for (int i = 0; i < 2; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite("netc.images", images[i]);
        cr_assert(resume(&pos), "%s", cap_text(&cap));
        TrainResult r = train_from(&pos, 5, NULL);
        if (i == 0) {
            cr_assert_not(r.ok);
            expect_error(&cap, bad, "stopped inside an epoch of 4 training images", "has 5");
        } else {
            cr_assert(r.ok, "%s", cap_text(&cap));
        }
    }
}

Test(checks, a_position_at_the_end_trains_and_saves_nothing)
{
    const char *const at_end[] = {"3", "4", "2147483646"}; /* the run has 3 epochs */
    for (int i = 0; i < 3; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        rewrite_n(4, (const char *[]){"netc.epoch", "netc.batch", "netc.step", "netc.optim_step"},
                  (const char *[]){at_end[i], "0", "4294967296", "4294967296"});
        TrainPos pos;
        cr_assert(resume(&pos), "%s", cap_text(&cap));
        size_t n0, n1;
        unsigned char *before = read_file(bad, &n0);
        TrainResult r = train_from(&pos, 0, bad);
        unsigned char *after = read_file(bad, &n1);
        cr_assert(r.ok && r.saves == 0 && !r.interrupted);
        cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "the checkpoint changed");
        cr_assert_eq(cap.d.errors, 0);
        cr_assert_eq(cap.d.warnings, 1);
        cr_assert(strstr(cap_text(&cap), "nothing to train") && strstr(cap_text(&cap), bad), "%s",
                  cap_text(&cap));
        free(before);
        free(after);
    }
    /* and by the step limit */
    cap_fini(&cap);
    cap_init(&cap);
    rewrite("netc.epoch", "1");
    TrainPos pos;
    cr_assert(resume(&pos));
    TrainResult r = train_from(&pos, 4, bad);
    cr_assert(r.ok && r.saves == 0);
    cr_assert(strstr(cap_text(&cap), "nothing to train: 4 steps done"), "%s", cap_text(&cap));
}

/* A stop request after step k: the position saved, and resuming it gives the same bits as
 * not stopping, for k inside an epoch, at its end and before the first step. */
static volatile sig_atomic_t stop_flag;
static void stop_at(void *ctx, int64_t step)
{
    if (step == *(const int64_t *)ctx)
        stop_flag = 1;
}

Test(checks, a_stop_request_saves_a_position_that_resumes_exactly)
{
    char full[1024], part[1024];
    snprintf(full, sizeof full, "%s/full.st", tmp);
    snprintf(part, sizeof part, "%s/part.st", tmp);
    TrainPos start = {0};
    rng_seed(&start.epoch_rng, 3);
    rt_model_init(m, 7);
    start.drop_rng = m->rng;
    TrainPos pos = start;
    RunOptions ro = {.checkpoint = full, .quiet = true};
    Optim *o1 = optim_new(&g->train, m->nparam_floats);
    cr_assert(rt_train(m, o1, &pos, &ds, NULL, &ro, &cap.d).ok);
    optim_free(o1);
    size_t nf, np;
    unsigned char *want = read_file(full, &nf);
    for (int64_t k = 0; k <= 9; k += 1) {
        rt_model_init(m, 7);
        pos = start;
        stop_flag = 0;
        o1 = optim_new(&g->train, m->nparam_floats);
        ro = (RunOptions){
            .checkpoint = part, .quiet = true, .stop = &stop_flag, .on_step = stop_at, .ctx = &k};
        if (k == 0)
            stop_flag = 1;
        TrainResult r = rt_train(m, o1, &pos, &ds, NULL, &ro, &cap.d);
        cr_assert(r.ok && r.interrupted == (k < 9) && r.saves >= 1, "stop after step %lld",
                  (long long)k);
        cr_assert_eq(pos.step, k);
        optim_free(o1);
        o1 = optim_new(&g->train, m->nparam_floats);
        stop_flag = 0;
        cr_assert(ckpt_resume(part, m, o1, &pos, &cap.d), "%s", cap_text(&cap));
        ro = (RunOptions){.checkpoint = part, .quiet = true};
        cr_assert(rt_train(m, o1, &pos, &ds, NULL, &ro, &cap.d).ok || k == 9);
        optim_free(o1);
        unsigned char *got = read_file(part, &np);
        cr_assert(np == nf && memcmp(got, want, nf) == 0,
                  "stopped after step %lld and resumed: the checkpoint differs from one run's",
                  (long long)k);
        free(got);
    }
    free(want);
}

/* ---- images against the input ---- */

Test(checks, image_dimensions_one_by_one)
{
    Graph *g3 = load_net("network c3 (input 3x32x32) {\n  Flatten\n  fc: Linear 2\n}\n");
    Graph *flat = load_net("network f (input 16) {\n  fc: Linear 2\n}\n");
    Model *m3 = rt_model_new(g3, 1, &cap.d), *mf = rt_model_new(flat, 1, &cap.d);
    cr_assert(m3 && mf);
    struct {
        Model *m;
        int c, h, w;
        bool fits;
    } cases[] = {
        {m, 1, 4, 4, true},     {m, 1, 2, 8, false},    {m, 1, 8, 2, false},
        {m, 1, 16, 1, false},   {m, 1, 1, 16, false},   {m, 2, 4, 4, false},
        {m, 1, 4, 5, false},    {m3, 3, 32, 32, true},  {m3, 1, 48, 64, false},
        {m3, 1, 64, 48, false}, {m3, 1, 32, 32, false}, {m3, 3, 16, 64, false},
        {mf, 1, 4, 4, true},    {mf, 1, 2, 8, true},    {mf, 1, 4, 5, false},
        {m, 0, 4, 4, false},    {m, 1, 0, 4, false},    {m, 1, -4, -4, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cap_fini(&cap);
        cap_init(&cap);
        bool fits = rt_check_image(cases[i].m, cases[i].c, cases[i].h, cases[i].w, "img", &cap.d);
        cr_assert_eq(fits, cases[i].fits, "%dx%dx%d into %s", cases[i].c, cases[i].h, cases[i].w,
                     cases[i].m->g->name);
        if (!fits) {
            char shape[64];
            snprintf(shape, sizeof shape, "%dx%dx%d", cases[i].c, cases[i].h, cases[i].w);
            expect_error_noted(&cap, "note: the network's input is declared here",
                               "img: images are", shape, "takes input");
        }
    }
    rt_model_free(m3);
    rt_model_free(mf);
}

Test(checks, data_sets)
{
    Dataset empty = ds;
    empty.n = 0;
    cr_assert_not(rt_check_dataset(m, &empty, "imgs", "labs", false, &cap.d));
    expect_error(&cap, "imgs: contains no images");
    cap_fini(&cap);
    cap_init(&cap);
    uint8_t wide[5] = {0, 1, 3, 0, 0};
    Dataset beyond = ds;
    beyond.labels = wide;
    cr_assert_not(rt_check_dataset(m, &beyond, "imgs", "labs", false, &cap.d));
    expect_error_noted(&cap, "hint: one output a class: Linear 4",
                       "labs: 4 classes (labels 0 to 3), but the network has 3 outputs",
                       "label 3 of record 2");
    cap_fini(&cap);
    cap_init(&cap);
    cr_assert(rt_check_dataset(m, &ds, "imgs", "labs", false, &cap.d), "%s", cap_text(&cap));
}

/* --eval-on val checks the split's metadata: a damaged value is shown clipped (at most
 * IO_CLIP_MAX bytes, control characters escaped), never as the file has it. */
Test(checks, split_metadata_shown_clipped)
{
    char seed[400] = "\x1b[31mRED";
    memset(seed + 8, 'A', 300);
    rewrite_n(2, (const char *[]){"netc.seed", "netc.val"}, (const char *[]){seed, "0.1"});
    TrainConfig t = g->train;
    t.val = 0.1;
    cr_assert_not(ckpt_check_split(bad, &t, &cap.d));
    const char *text = cap_text(&cap);
    expect_error(&cap, bad, "are not a seed and a validation share", "\\x1b[31mRED");
    cr_assert_null(strchr(text, '\x1b'), "%s", text);
    cr_assert_null(strstr(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                   "%s", text);
}
