/* test_optim.c: the optimisers and learning-rate schedules against PyTorch's values in
 * tests/reference/optim.ref (written by tests/reference/gen_reference.py; read at run time
 * from REF_DIR, no Python needed).
 *
 * Design choice: each case is configured the way a user would, by a train section in net-file
 * text read through the front end, so the settings' defaults (betas, eps, pct_start,
 * div_factor...) are checked against PyTorch's too; then optim_step, sched_lr and
 * sched_momentum run exactly as the training loop calls them.
 *
 * Tolerance: |got - want| <= 1e-5 * |want| + 1e-9. The reference (optim, the schedules) is
 * float64; ours is float32
 * per element (as torch's own float32 optimisers), so after 3 steps the weights carry a few
 * ulp (~1e-7 relative); the 1e-9 floor only matters for values that are exactly 0 (the cosine
 * schedule at T_max), where our closed form gives ~1e-18.
 *
 * The float32 cases (optim32, 25 steps over every argument at its extremes) are what
 * torch.optim computes on a float32 model: |got - want| <= 1e-5 * max(1, |want|) (absolute
 * for weights of order 1, relative beyond), and, beyond that, the same float32 bits. optim.c
 * performs the same IEEE operations in the same order with the same scalars rounded once
 * from double (fmaf where ATen fuses, correctly rounded everywhere), so any difference is a
 * defect: scalars formed from betas already rounded to float were off by up to 3.2e-3 here
 * (Adam lr 3) and 8.8e-4 with betas (0.9, 0.99999), and an unfused SGD update by a few ulp,
 * which only the bit check sees. OPTIM_VERBOSE=1 prints every case's worst difference. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"

#define RTOL 1e-5
#define ATOL 1e-9
#define F32_TOL 1e-5

/* ---- the reference file (format: see its header) ---- */

typedef struct RefTensor {
    char name[64];
    int ndim, dims[8];
    size_t n;
    double *v;
} RefTensor;

static RefTensor *refs;
static int nrefs;

static void refs_load(void)
{
    const char *path = REF_DIR "/optim.ref";
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s (generate it with tests/reference/gen_reference.py)", path);
    int cap = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (nrefs == cap) {
            cap = cap ? 2 * cap : 64;
            refs = realloc(refs, (size_t)cap * sizeof *refs);
            cr_assert(refs);
        }
        RefTensor *t = &refs[nrefs++];
        int used = 0;
        cr_assert(sscanf(line, "%63s %d%n", t->name, &t->ndim, &used) == 2 && t->ndim >= 0 &&
                      t->ndim <= 8,
                  "%s: bad tensor header: %s", path, line);
        t->n = 1;
        char *p = line + used;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = (int)strtol(p, &p, 10);
            t->n *= (size_t)t->dims[d];
        }
        t->v = malloc((t->n ? t->n : 1) * sizeof(double));
        cr_assert(t->v);
        for (size_t i = 0; i < t->n; i++)
            cr_assert(fscanf(f, "%lf", &t->v[i]) == 1, "%s: %s: value %zu missing", path, t->name,
                      i);
    }
    fclose(f);
}

static void refs_free(void)
{
    for (int i = 0; i < nrefs; i++)
        free(refs[i].v);
    free(refs);
    refs = NULL;
    nrefs = 0;
}

static const RefTensor *ref(const char *name)
{
    for (int i = 0; i < nrefs; i++)
        if (!strcmp(refs[i].name, name))
            return &refs[i];
    cr_assert_fail("optim.ref has no tensor '%s' (regenerate it?)", name);
    return NULL;
}

static bool close_to(double got, double want)
{
    return fabs(got - want) <= RTOL * fabs(want) + ATOL;
}

/* ---- a TrainConfig from a train section ---- */

typedef struct Cfg {
    Arena *arena;
    Graph *g;
} Cfg;

static const TrainConfig *cfg_load(Cfg *c, const char *train)
{
    c->arena = arena_new();
    char *text =
        arena_printf(c->arena, "network o (input 10) {\n  Linear 1\n}\ntrain {\n%s\n}\n", train);
    Diag d;
    diag_init(&d, stderr, "test_optim");
    c->g = frontend_load_file(c->arena, src_from_string(c->arena, "optim.net", text), &d);
    cr_assert(c->g && d.errors == 0, "the train section does not load:\n%s", text);
    return &c->g->train;
}

static void cfg_free(Cfg *c) { arena_free(c->arena); }

/* ---- optimisers ---- */

typedef struct OptCase {
    const char *name;  /* the case in optim.ref */
    const char *train; /* the train section that configures it */
} OptCase;

/* Against float64 PyTorch (<name>.w): 3 steps from optim.w0 with optim.grads. */
static const OptCase opt_cases[] = {
    {"sgd", "optimizer SGD lr=0.1"},
    {"sgd_momentum", "optimizer SGD lr=0.1 momentum=0.9"},
    {"sgd_nesterov", "optimizer SGD lr=0.1 momentum=0.9 nesterov=true"},
    {"sgd_dampening", "optimizer SGD lr=0.1 momentum=0.9 dampening=0.1"},
    {"sgd_weight_decay", "optimizer SGD lr=0.1 weight_decay=0.01"},
    {"adam", "optimizer Adam lr=0.001"},
    {"adam_weight_decay", "optimizer Adam lr=0.001 weight_decay=0.01"},
    {"adamw", "optimizer AdamW lr=0.001 weight_decay=0.01"},
};

/* Against float32 PyTorch (<name>.w32): 25 steps from optim32.w0 with optim32.grads, every
 * argument at its extremes. */
#define ONECYCLE(max_lr) "\nschedule OneCycleLR max_lr=" max_lr " total_steps=25"
static const OptCase opt32_cases[] = {
    {"adam_f32", "optimizer Adam lr=0.001"},
    {"adam_betas_99999", "optimizer Adam lr=0.1 betas=[0.9, 0.99999]"},
    {"adam_betas_5_9", "optimizer Adam lr=0.01 betas=[0.5, 0.9]"},
    {"adam_betas_0_0", "optimizer Adam lr=0.001 betas=[0.0, 0.0]"},
    {"adam_betas_99_999999", "optimizer Adam lr=0.001 betas=[0.99, 0.999999]"},
    {"adam_eps_tiny", "optimizer Adam lr=0.001 eps=1e-12"},
    {"adam_eps_one", "optimizer Adam lr=0.001 eps=1.0"},
    {"adam_wd_small", "optimizer Adam lr=0.001 weight_decay=1e-4"},
    {"adam_wd_large", "optimizer Adam lr=0.001 weight_decay=0.5 betas=[0.8, 0.99999]"},
    {"adam_lr_tiny", "optimizer Adam lr=1e-7"},
    {"adam_lr_large", "optimizer Adam lr=3.0 betas=[0.9, 0.9999]"},
    {"adamw_f32", "optimizer AdamW lr=0.001"},
    {"adamw_betas_99999", "optimizer AdamW lr=0.1 betas=[0.9, 0.99999]"},
    {"adamw_betas_0_0", "optimizer AdamW lr=0.001 betas=[0.0, 0.0]"},
    {"adamw_betas_99_999999", "optimizer AdamW lr=0.001 betas=[0.99, 0.999999]"},
    {"adamw_eps_tiny", "optimizer AdamW lr=0.001 eps=1e-12"},
    {"adamw_eps_one", "optimizer AdamW lr=0.001 eps=1.0"},
    {"adamw_wd_0", "optimizer AdamW lr=0.001 weight_decay=0"},
    {"adamw_wd_large", "optimizer AdamW lr=0.1 weight_decay=0.5"},
    {"adamw_lr_large", "optimizer AdamW lr=1.5 weight_decay=0.3 betas=[0.7, 0.9999]"},
    {"sgd_f32", "optimizer SGD lr=0.1"},
    {"sgd_lr_tiny", "optimizer SGD lr=1e-6"},
    {"sgd_lr_large", "optimizer SGD lr=7.0 momentum=0.9"},
    {"sgd_momentum_9", "optimizer SGD lr=0.1 momentum=0.9"},
    {"sgd_momentum_999", "optimizer SGD lr=0.1 momentum=0.999"},
    {"sgd_dampening_5", "optimizer SGD lr=0.1 momentum=0.9 dampening=0.5"},
    {"sgd_dampening_1", "optimizer SGD lr=0.1 momentum=0.9 dampening=1"},
    {"sgd_nesterov_9", "optimizer SGD lr=0.1 momentum=0.9 nesterov=true"},
    {"sgd_nesterov_999_wd", "optimizer SGD lr=0.05 momentum=0.999 nesterov=true weight_decay=0.01"},
    {"sgd_wd_small", "optimizer SGD lr=0.1 weight_decay=1e-4"},
    {"sgd_wd_large", "optimizer SGD lr=0.1 momentum=0.7 dampening=0.3 weight_decay=0.5"},
    {"adam_onecycle", "optimizer Adam lr=0.001 betas=[0.9, 0.99999]" ONECYCLE("0.01")},
    {"adamw_onecycle", "optimizer AdamW lr=0.001 weight_decay=0.1" ONECYCLE("0.01")},
    {"sgd_onecycle", "optimizer SGD lr=0.1 momentum=0.9" ONECYCLE("2")},
    {"sgd_onecycle_nesterov", "optimizer SGD lr=0.1 momentum=0.9 nesterov=true" ONECYCLE("2")},
    {"sgd_onecycle_no_momentum", "optimizer SGD lr=0.1" ONECYCLE("2")},
    {"adam_amsgrad", "optimizer Adam lr=0.01 amsgrad=true"},
    {"adam_amsgrad_betas_5_9", "optimizer Adam lr=0.01 betas=[0.5, 0.9] amsgrad=true"},
    {"adam_amsgrad_wd_eps",
     "optimizer Adam lr=0.001 betas=[0.0, 0.0] eps=1e-12 weight_decay=0.5 amsgrad=true"},
    {"adamw_amsgrad", "optimizer AdamW lr=0.1 weight_decay=0.5 amsgrad=true"},
    {"adamw_amsgrad_betas_99_999999",
     "optimizer AdamW lr=0.001 betas=[0.99, 0.999999] eps=1.0 amsgrad=true"},
    {"adam_amsgrad_onecycle",
     "optimizer Adam lr=0.001 betas=[0.9, 0.99] amsgrad=true" ONECYCLE("0.01")},
    {"sgd_maximize",
     "optimizer SGD lr=0.1 momentum=0.9 nesterov=true weight_decay=0.01 maximize=true"},
    {"sgd_maximize_dampening", "optimizer SGD lr=0.05 momentum=0.5 dampening=0.3 maximize=true"},
    {"adam_maximize", "optimizer Adam lr=0.01 weight_decay=0.1 amsgrad=true maximize=true"},
    {"adamw_maximize", "optimizer AdamW lr=0.01 weight_decay=0.5 maximize=true"},
    {"adamw_maximize_onecycle", "optimizer AdamW lr=0.001 maximize=true" ONECYCLE("0.01")},
    {"sgd_lr_0", "optimizer SGD lr=0 momentum=0.9"},
    {"adam_lr_0", "optimizer Adam lr=0"},
    {"adam_eps_0", "optimizer Adam lr=0.001 eps=0"},
    {"sgd_momentum_1_5", "optimizer SGD lr=0.01 momentum=1.5 dampening=2"},
    {"sgd_wd_huge", "optimizer SGD lr=0.01 weight_decay=50"},
    {"sgd_onecycle_three_phase",
     "optimizer SGD lr=0.1 momentum=0.9" ONECYCLE("2") " three_phase=true"},
    {"adam_onecycle_linear", "optimizer Adam lr=0.001" ONECYCLE("0.01") " anneal_strategy=linear"},
    {"adamw_onecycle_three_phase_linear",
     "optimizer AdamW lr=0.001 weight_decay=0.1" ONECYCLE(
         "0.01") " three_phase=true anneal_strategy=linear pct_start=0.2"},
    {"sgd_onecycle_no_cycle",
     "optimizer SGD lr=0.1 momentum=0.3" ONECYCLE("2") " cycle_momentum=false"},
    {"adam_onecycle_no_cycle",
     "optimizer Adam lr=0.001 betas=[0.7, 0.99]" ONECYCLE("0.01") " cycle_momentum=false"},
    {"sgd_onecycle_momenta",
     "optimizer SGD lr=0.1 nesterov=true momentum=0.5" ONECYCLE(
         "1") " base_momentum=0.5 max_momentum=1.5 div_factor=3 final_div_factor=7"},
    {"adam_onecycle_momenta",
     "optimizer Adam lr=0.001" ONECYCLE("0.01") " base_momentum=0 max_momentum=0.6 pct_start=0.5"},
    {"sgd_onecycle_momentum_from_0", "optimizer SGD lr=0.1 momentum=0.7 dampening=0.5" ONECYCLE(
                                         "0.5") " base_momentum=0.9 max_momentum=0"},
    /* the defaults are PyTorch's: lr 0.01 (RMSprop, Adagrad) and 1 (Adadelta), not Adam's */
    {"rmsprop_f32", "optimizer RMSprop"},
    {"rmsprop_alpha_0", "optimizer RMSprop lr=0.001 alpha=0"},
    {"rmsprop_alpha_1", "optimizer RMSprop lr=0.001 alpha=1 eps=1e-3"},
    {"rmsprop_alpha_5_eps_0", "optimizer RMSprop lr=0.001 alpha=0.5 eps=0"},
    {"rmsprop_eps_one", "optimizer RMSprop lr=0.1 eps=1"},
    {"rmsprop_centered", "optimizer RMSprop lr=0.001 centered=true"},
    {"rmsprop_centered_momentum",
     "optimizer RMSprop lr=0.001 centered=true momentum=0.9 weight_decay=0.1"},
    {"rmsprop_momentum_999", "optimizer RMSprop lr=1e-4 momentum=0.999"},
    {"rmsprop_momentum_1_5", "optimizer RMSprop lr=1e-5 momentum=1.5 alpha=0.9"},
    {"rmsprop_wd_large", "optimizer RMSprop lr=0.01 weight_decay=0.5"},
    {"rmsprop_lr_large", "optimizer RMSprop lr=3 alpha=0.9"},
    {"rmsprop_lr_0", "optimizer RMSprop lr=0 momentum=0.5"},
    {"rmsprop_maximize",
     "optimizer RMSprop lr=0.001 centered=true momentum=0.5 weight_decay=0.01 maximize=true"},
    {"rmsprop_onecycle", "optimizer RMSprop lr=0.001 momentum=0.9" ONECYCLE("0.01")},
    {"rmsprop_onecycle_no_momentum", "optimizer RMSprop lr=0.001 centered=true" ONECYCLE("0.01")},
    {"adagrad_f32", "optimizer Adagrad"},
    {"adagrad_lr_decay", "optimizer Adagrad lr=0.1 lr_decay=0.5"},
    {"adagrad_lr_decay_huge", "optimizer Adagrad lr=0.1 lr_decay=1e4"},
    {"adagrad_initial", "optimizer Adagrad lr=0.1 initial_accumulator_value=0.7"},
    {"adagrad_eps_0", "optimizer Adagrad lr=0.01 eps=0"},
    {"adagrad_eps_one", "optimizer Adagrad lr=0.1 eps=1"},
    {"adagrad_wd", "optimizer Adagrad lr=0.05 weight_decay=0.3 lr_decay=0.01"},
    {"adagrad_lr_large", "optimizer Adagrad lr=5"},
    {"adagrad_maximize",
     "optimizer Adagrad lr=0.1 weight_decay=0.1 initial_accumulator_value=0.1 maximize=true"},
    {"adagrad_onecycle", "optimizer Adagrad lr=0.01" ONECYCLE("0.5") " cycle_momentum=false"},
    {"adadelta_f32", "optimizer Adadelta"},
    {"adadelta_rho_0", "optimizer Adadelta rho=0"},
    {"adadelta_rho_1", "optimizer Adadelta rho=1"},
    {"adadelta_rho_99", "optimizer Adadelta lr=0.5 rho=0.99"},
    {"adadelta_eps_tiny", "optimizer Adadelta eps=1e-12"},
    {"adadelta_eps_one", "optimizer Adadelta lr=0.1 eps=1"},
    {"adadelta_eps_0", "optimizer Adadelta eps=0 weight_decay=0.1"},
    {"adadelta_wd_large", "optimizer Adadelta lr=2 weight_decay=0.5"},
    {"adadelta_maximize", "optimizer Adadelta lr=0.5 rho=0.8 maximize=true"},
    {"adadelta_onecycle",
     "optimizer Adadelta" ONECYCLE("3") " cycle_momentum=false anneal_strategy=linear"},
};

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static bool verbose(void)
{
    const char *v = getenv("OPTIM_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

/* Runs case oc from the data set `set` ("optim" or "optim32") as the training loop does:
 * the lr and the cycled momentum from the schedule, then optim_step, and compares the
 * weights after each step the reference holds. f32: the reference is float32 PyTorch. */
static void run_opt_case(const OptCase *oc, const char *set, bool f32)
{
    char name[96];
    snprintf(name, sizeof name, "%s.w0", set);
    const RefTensor *w0 = ref(name);
    snprintf(name, sizeof name, "%s.grads", set);
    const RefTensor *g = ref(name);
    snprintf(name, sizeof name, "%s.%s", oc->name, f32 ? "w32" : "w");
    const RefTensor *want = ref(name);
    size_t n = w0->n;
    int steps = g->ndim == 2 ? g->dims[0] : 0, kept = want->ndim == 2 ? want->dims[0] : 0;
    int at[32]; /* the steps (1-based) whose weights the reference keeps, in order */
    if (f32) {
        snprintf(name, sizeof name, "%s.at", set);
        const RefTensor *a = ref(name);
        cr_assert(a->n == (size_t)kept && kept <= 32, "%s: %s.at does not list its rows", set, set);
        for (int k = 0; k < kept; k++)
            at[k] = (int)a->v[k];
    } else {
        cr_assert(kept <= 32);
        for (int k = 0; k < kept; k++)
            at[k] = k + 1;
    }
    cr_assert(g->n == (size_t)steps * n && want->n == (size_t)kept * n && at[kept - 1] <= steps,
              "%s: unexpected sizes in optim.ref", oc->name);
    Cfg c;
    const TrainConfig *t = cfg_load(&c, oc->train);
    Schedule s = {.t = t, .total_steps = t->total_steps ? t->total_steps : steps};
    Optim *o = optim_new(t, n);
    cr_assert(o);
    float *w = malloc(n * sizeof(float)), *grad = malloc(n * sizeof(float));
    cr_assert(w && grad);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)w0->v[i];
    double worst = 0, worst_rel = 0; /* |diff|, and |diff| / max(1, |want|) */
    int bits = 0, k = 0;
    for (int step = 0; step < steps && k < kept; step++) {
        for (size_t i = 0; i < n; i++)
            grad[i] = (float)g->v[(size_t)step * n + i];
        optim_step(o, w, grad, sched_lr(&s, 0, step), sched_momentum(&s, step));
        if (step + 1 != at[k])
            continue;
        for (size_t i = 0; i < n; i++) {
            /* a float32 reference prints exactly (%.9g): take it back to its float */
            double exp = want->v[(size_t)k * n + i];
            exp = f32 ? (double)(float)exp : exp;
            double diff = fabs(w[i] - exp);
            bool bad = f32 ? !(diff <= F32_TOL * fmax(1, fabs(exp))) : !close_to(w[i], exp);
            worst = fmax(worst, diff);
            worst_rel = fmax(worst_rel, diff / fmax(1, fabs(exp)));
            bits += w[i] != (float)exp;
            cr_expect(!bad, "%s (%s): step %d, weight %zu: got %.9g, PyTorch %.9g (diff %.3g)",
                      oc->name, oc->train, step + 1, i, (double)w[i], exp, diff);
        }
        k++;
    }
    if (verbose())
        fprintf(stderr,
                "optim %-26s worst |diff| %.3g (/max(1,|want|): %.3g), %d of %zu weights not "
                "PyTorch's%s\n",
                oc->name, worst, worst_rel, bits, (size_t)kept * n, f32 ? " float32 bits" : "");
    if (f32)
        cr_expect(bits == 0,
                  "%s (%s): %d weights are within tolerance but not the float32 bits PyTorch "
                  "computes (worst |diff| %.3g): an operation or a rounding in optim.c differs "
                  "from torch.optim's",
                  oc->name, oc->train, bits, worst);
    cr_expect_eq(o->step, steps, "%s: optimiser step count %lld after %d steps", oc->name,
                 (long long)o->step, steps);
    free(w);
    free(grad);
    optim_free(o);
    cfg_free(&c);
}

/* Whether case `name` (the part of a reference name before its dot) is in cases[]. */
static bool listed(const OptCase *cases, size_t ncases, const char *name, size_t len)
{
    for (size_t k = 0; k < ncases; k++)
        if (strlen(cases[k].name) == len && strncmp(name, cases[k].name, len) == 0)
            return true;
    return false;
}

Test(optim, every_case_in_the_reference, .init = refs_load, .fini = refs_free)
{
    for (size_t i = 0; i < NCASES(opt_cases); i++)
        run_opt_case(&opt_cases[i], "optim", false);
    for (size_t i = 0; i < NCASES(opt32_cases); i++)
        run_opt_case(&opt32_cases[i], "optim32", true);
    /* every optimiser case the reference holds is checked here */
    for (int i = 0; i < nrefs; i++) {
        const char *dot = strrchr(refs[i].name, '.');
        size_t len = dot ? (size_t)(dot - refs[i].name) : 0;
        if (dot && !strcmp(dot, ".w"))
            cr_expect(listed(opt_cases, NCASES(opt_cases), refs[i].name, len),
                      "optim.ref case '%s' has no entry in opt_cases[] of test_optim.c",
                      refs[i].name);
        if (dot && !strcmp(dot, ".w32"))
            cr_expect(listed(opt32_cases, NCASES(opt32_cases), refs[i].name, len),
                      "optim.ref case '%s' has no entry in opt32_cases[] of test_optim.c",
                      refs[i].name);
    }
}

/* ---- gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_) ----
 *
 * Float32 PyTorch's clipped gradients of `Linear 5; ReLU; Linear 3` (optim.ref's clip.*):
 * every norm_type, a limit above the norm, and gradients whose squares overflow or underflow
 * float32, or that hold a NaN or an inf. Within 2 ulp (ATen's float sum of squares runs in
 * its own lanes and order; the other norms are the same bits), a zero with its sign, a NaN
 * where PyTorch's is. */
typedef struct ClipCase {
    const char *name, *set, *train;
} ClipCase;

static const ClipCase clip_cases[] = {
    {"clip_norm_2", "normal", "clip_grad_norm 0.5"},
    {"clip_norm_2_above", "normal", "clip_grad_norm 100"},
    {"clip_norm_1", "normal", "clip_grad_norm 0.5 norm_type=1"},
    {"clip_norm_3", "normal", "clip_grad_norm 0.5 norm_type=3"},
    {"clip_norm_2_5", "normal", "clip_grad_norm 0.5 norm_type=2.5"},
    {"clip_norm_inf", "normal", "clip_grad_norm max_norm=0.1 norm_type=inf"},
    /* a p past float32's range is inf to ATen, as to torch.norm(x, 1e39) */
    {"clip_norm_inf", "normal", "clip_grad_norm max_norm=0.1 norm_type=1e39"},
    {"clip_norm_2_tiny_max", "normal", "clip_grad_norm 1e-30"},
    {"clip_norm_2_big", "big", "clip_grad_norm 1"},
    {"clip_norm_1_big", "big", "clip_grad_norm 1 1"},
    {"clip_norm_inf_big", "big", "clip_grad_norm 1 INF"},
    {"clip_norm_2_tiny", "tiny", "clip_grad_norm 1e-3 norm_type=2"},
    {"clip_norm_3_tiny", "tiny", "clip_grad_norm 1e-3 norm_type=3"},
    {"clip_norm_2_nan", "nan", "clip_grad_norm 1"},
    {"clip_norm_inf_nan", "nan", "clip_grad_norm 1 norm_type=inf"},
    {"clip_norm_2_inf", "inf", "clip_grad_norm 1"},
    {"clip_value", "normal", "clip_grad_value 0.05"},
    {"clip_value_big", "big", "clip_grad_value 1e6"},
    {"clip_value_nan", "nan", "clip_grad_value value=0.05"},
    {"clip_value_inf", "inf", "clip_grad_value 0.05"},
};

static void run_clip_case(const ClipCase *cc)
{
    Arena *a = arena_new();
    char *text = arena_printf(a,
                              "network c (input 6) {\n  Linear 5\n  ReLU\n  Linear 3\n}\n"
                              "train {\n  %s\n  batch 2\n}\n",
                              cc->train);
    Diag d;
    diag_init(&d, stderr, "test_optim");
    Graph *g = frontend_load_file(a, src_from_string(a, "clip.net", text), &d);
    cr_assert(g && d.errors == 0, "%s: the net does not load:\n%s", cc->name, text);
    Model *m = rt_model_new(g, 2, &d);
    cr_assert(m);
    char name[96];
    snprintf(name, sizeof name, "clip.%s", cc->set);
    const RefTensor *in = ref(name);
    snprintf(name, sizeof name, "%s.clipped", cc->name);
    const RefTensor *want = ref(name);
    size_t k = 0;
    for (int i = 0; i < g->nodes.len; i++) /* the gradients in state_dict order */
        for (int q = 0; q < GRAPH_NODE(g, i)->nparams; q++)
            for (int64_t e = 0; e < shape_numel(GRAPH_NODE(g, i)->params[q].shape); e++, k++) {
                cr_assert(k < in->n, "%s: more gradients than clip.%s", cc->name, cc->set);
                m->plan[i].grads[q][e] = (float)in->v[k];
            }
    cr_assert(k == in->n && k == want->n, "%s: %zu gradients, the reference %zu", cc->name, k,
              want->n);
    grad_clip(m, &g->train);
    k = 0;
    for (int i = 0; i < g->nodes.len; i++)
        for (int q = 0; q < GRAPH_NODE(g, i)->nparams; q++)
            for (int64_t e = 0; e < shape_numel(GRAPH_NODE(g, i)->params[q].shape); e++, k++) {
                float got = m->plan[i].grads[q][e], w = (float)want->v[k];
                bool ok = w != w   ? got != got
                          : w == 0 ? got == 0 && signbit(got) == signbit(w)
                                   : fabsf(got - w) <= 2 * FLT_EPSILON * fabsf(w);
                cr_expect(ok, "%s (%s): gradient %zu is %.9g, PyTorch's %.9g", cc->name, cc->train,
                          k, (double)got, (double)w);
            }
    rt_model_free(m);
    arena_free(a);
}

Test(clip, every_case_in_the_reference, .init = refs_load, .fini = refs_free)
{
    for (size_t i = 0; i < NCASES(clip_cases); i++)
        run_clip_case(&clip_cases[i]);
    for (int i = 0; i < nrefs; i++) { /* every clipping case the reference holds is here */
        const char *dot = strrchr(refs[i].name, '.');
        if (!dot || strcmp(dot, ".clipped") != 0)
            continue;
        bool found = false;
        for (size_t k = 0; k < NCASES(clip_cases); k++)
            found |= strlen(clip_cases[k].name) == (size_t)(dot - refs[i].name) &&
                     !strncmp(refs[i].name, clip_cases[k].name, (size_t)(dot - refs[i].name));
        cr_expect(found, "optim.ref case '%s' has no entry in clip_cases[] of test_optim.c",
                  refs[i].name);
    }
}

/* ---- ReduceLROnPlateau against PyTorch's lr at each of 40 epochs of a metric ---- */

static const OptCase plateau_cases[] = {
    {"plateau_default", ""},
    {"plateau_patience_0", "patience=0"},
    {"plateau_patience_2_half", "patience=2 factor=0.5"},
    {"plateau_abs", "patience=1 threshold=0.01 threshold_mode=abs"},
    {"plateau_rel_big", "patience=0 threshold=0.1"},
    {"plateau_max", "max patience=1"},
    {"plateau_max_abs", "mode=max patience=0 threshold=0.05 threshold_mode=abs"},
    {"plateau_cooldown", "patience=0 cooldown=3 factor=0.5"},
    {"plateau_min_lr", "patience=0 factor=0.2 min_lr=0.01"},
    {"plateau_eps", "patience=0 factor=0.9 eps=0.03"},
    {"plateau_factor_0", "patience=1 factor=0"},
    {"plateau_threshold_0", "patience=0 threshold=0"},
};

Test(sched, plateau_every_case_in_the_reference, .init = refs_load, .fini = refs_free)
{
    const RefTensor *metric = ref("plateau.metric");
    for (size_t i = 0; i < NCASES(plateau_cases); i++) {
        char train[256], name[96];
        snprintf(train, sizeof train, "optimizer SGD lr=0.5\nschedule ReduceLROnPlateau %s",
                 plateau_cases[i].train);
        Cfg c;
        const TrainConfig *t = cfg_load(&c, train);
        snprintf(name, sizeof name, "%s.lr", plateau_cases[i].name);
        const RefTensor *want = ref(name);
        cr_assert_eq(want->n, metric->n);
        TrainPos pos = {0};
        Schedule s = {.t = t, .total_steps = 100, .pos = &pos};
        sched_plateau_start(t, &pos);
        for (size_t e = 0; e < metric->n; e++) {
            double lr = sched_lr(&s, (int)e, (int64_t)e);
            cr_expect(close_to(lr, want->v[e]), "%s, epoch %zu: lr %.9g, PyTorch's %.9g",
                      plateau_cases[i].name, e, lr, want->v[e]);
            sched_plateau_step(t, &pos, metric->v[e]);
        }
        cfg_free(&c);
    }
    for (int i = 0; i < nrefs; i++) { /* every plateau case the reference holds is here */
        const char *dot = strrchr(refs[i].name, '.');
        if (dot && !strcmp(dot, ".lr") && !strncmp(refs[i].name, "plateau_", 8))
            cr_expect(listed(plateau_cases, NCASES(plateau_cases), refs[i].name,
                             (size_t)(dot - refs[i].name)),
                      "optim.ref case '%s' has no entry in plateau_cases[]", refs[i].name);
    }
}

/* The optimiser reads its lr from the call (the schedule's), not from its config. */
Test(optim, lr_comes_from_the_call, .init = refs_load, .fini = refs_free)
{
    Cfg c;
    const TrainConfig *t = cfg_load(&c, "optimizer SGD lr=0.1");
    Optim *o = optim_new(t, 1);
    float w = 1.0f, g = 2.0f;
    optim_step(o, &w, &g, 0.25, -1);
    cr_expect(w == 0.5f, "SGD step with lr 0.25 and grad 2 from 1: got %g, want 0.5", (double)w);
    optim_free(o);
    cfg_free(&c);
}

/* PyTorch counts steps in a float32 tensor, which stays at 2^24 once there: Adagrad's
 * decayed lr and Adam's bias corrections are those of step 2^24 from then on, and still
 * move below it. One step from each count, from the same state. */
Test(optim, step_count_stops_at_2_24, .init = refs_load, .fini = refs_free)
{
    static const char *const opts[] = {"optimizer Adagrad lr=0.1 lr_decay=1e-7",
                                       "optimizer Adam lr=0.1 betas=[0.9, 0.9999999]"};
    static const int64_t counts[] = {(1 << 24) - 1000, (1 << 24) - 1, (1 << 24) + 1000};
    for (int k = 0; k < 2; k++) {
        Cfg c;
        const TrainConfig *t = cfg_load(&c, opts[k]);
        float w[3];
        for (int j = 0; j < 3; j++) {
            Optim *o = optim_new(t, 1);
            float g = 0.5f;
            w[j] = 1.0f;
            o->step = counts[j]; /* the step taken is count + 1 */
            optim_step(o, &w[j], &g, 0.1, -1);
            optim_free(o);
        }
        cr_expect(w[1] == w[2], "%s: step 2^24 and step 2^24 + 1001 differ: %.9g, %.9g", opts[k],
                  (double)w[1], (double)w[2]);
        cr_expect(w[0] != w[1], "%s: steps 2^24 - 999 and 2^24 give the same %.9g", opts[k],
                  (double)w[0]);
        cfg_free(&c);
    }
}

/* Resuming at a step as large as a checkpoint may hold (2^50: a forged one) answers at
 * once where no schedule cycles the momentum: the buffer exists after any step with one. */
Test(optim, resume_far_step, .timeout = 20)
{
    static const char *const opts[] = {"optimizer Adam", "optimizer SGD momentum=0.9",
                                       "optimizer SGD"};
    for (int k = 0; k < 3; k++) {
        Cfg c;
        const TrainConfig *t = cfg_load(&c, opts[k]);
        Schedule s = {.t = t, .total_steps = 100};
        Optim *o = optim_new(t, 1);
        o->step = (int64_t)1 << 50;
        optim_resume(o, &s);
        cr_expect_eq(o->buf_made, k == 1, "%s: momentum buffer %d", opts[k], o->buf_made);
        optim_free(o);
        cfg_free(&c);
    }
}

/* ---- schedules ---- */

typedef struct SchedCase {
    const char *name;
    const char *train;
    bool per_batch; /* stepped per optimiser step (OneCycleLR) rather than per epoch */
} SchedCase;

static const SchedCase sched_cases[] = {
    {"steplr", "optimizer SGD lr=0.1\nschedule StepLR step_size=3 gamma=0.5", false},
    {"multisteplr", "optimizer SGD lr=0.1\nschedule MultiStepLR milestones=[2, 5, 9] gamma=0.1",
     false},
    {"exponentiallr", "optimizer SGD lr=0.1\nschedule ExponentialLR gamma=0.9", false},
    {"cosine", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR T_max=10", false},
    {"cosine_eta_min", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR T_max=10 eta_min=0.01",
     false},
    {"onecycle", "optimizer SGD lr=0.1\nschedule OneCycleLR max_lr=0.1 total_steps=12", true},
    {"linearlr", "optimizer SGD lr=0.1\nschedule LinearLR start_factor=0.1 total_iters=4", false},
    {"linearlr_default", "optimizer SGD lr=0.1\nschedule LinearLR", false},
    /* every argument at its extremes, and past the schedule's own end */
    {"steplr_1_gamma0", "optimizer SGD lr=0.1\nschedule StepLR 1 gamma=0", false},
    {"steplr_gamma_up", "optimizer SGD lr=0.1\nschedule StepLR 5 gamma=3.5", false},
    {"steplr_past_end", "optimizer SGD lr=0.1\nschedule StepLR 1000000000", false},
    {"multisteplr_repeats", "optimizer SGD lr=0.1\nschedule MultiStepLR [7, 0, 3, 3] gamma=0.5",
     false},
    {"multisteplr_gamma0", "optimizer SGD lr=0.1\nschedule MultiStepLR [1, 30] gamma=0", false},
    {"multisteplr_gamma_up",
     "optimizer SGD lr=0.1\nschedule MultiStepLR [2, 4, 6, 8, 10, 11] gamma=7", false},
    {"exponentiallr_0", "optimizer SGD lr=0.1\nschedule ExponentialLR 0", false},
    {"exponentiallr_1", "optimizer SGD lr=0.1\nschedule ExponentialLR 1", false},
    {"exponentiallr_up", "optimizer SGD lr=0.1\nschedule ExponentialLR 2.5", false},
    {"cosine_tmax1", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR 1 eta_min=0.02", false},
    {"cosine_past_end", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR 4", false},
    {"cosine_eta_above", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR 7 eta_min=0.5", false},
    {"cosine_long", "optimizer SGD lr=0.1\nschedule CosineAnnealingLR 1000000000 eta_min=1e-6",
     false},
    {"onecycle_pct0", "optimizer SGD lr=0.1\nschedule OneCycleLR 0.5 total_steps=12 pct_start=0",
     true},
    {"onecycle_pct1", "optimizer SGD lr=0.1\nschedule OneCycleLR 0.5 total_steps=12 pct_start=1",
     true},
    {"onecycle_pct_small",
     "optimizer SGD lr=0.1\nschedule OneCycleLR 0.5 total_steps=12 pct_start=0.05", true},
    {"onecycle_factors",
     "optimizer SGD lr=0.1\nschedule OneCycleLR 2 total_steps=12 pct_start=0.5 div_factor=1 "
     "final_div_factor=1e12",
     true},
    {"onecycle_factors_small",
     "optimizer SGD lr=0.1\nschedule OneCycleLR 0.001 total_steps=12 pct_start=0.7 "
     "div_factor=1e-9 final_div_factor=1e-9",
     true},
    {"onecycle_short", "optimizer SGD lr=0.1\nschedule OneCycleLR 0.3 total_steps=1", true},
    {"onecycle_long", "optimizer SGD lr=0.1\nschedule OneCycleLR 0.3 total_steps=1000000000", true},
    {"linearlr_down",
     "optimizer SGD lr=0.1\nschedule LinearLR start_factor=1 end_factor=0 total_iters=1", false},
    {"linearlr_tiny",
     "optimizer SGD lr=0.1\nschedule LinearLR start_factor=1e-9 end_factor=0.5 total_iters=20",
     false},
    {"linearlr_flat",
     "optimizer SGD lr=0.1\nschedule LinearLR start_factor=0.25 end_factor=0.25 total_iters=3",
     false},
};

/* Epoch-wise schedules are asked in the middle of an epoch of 5 steps (step = 5 e + 3), so a
 * schedule that used the step where it should use the epoch fails; per-batch ones get the
 * step and an epoch that does not match it. */
#define STEPS_PER_EPOCH 5

static void run_sched_case(const SchedCase *sc)
{
    char name[96];
    snprintf(name, sizeof name, "%s.lr", sc->name);
    const RefTensor *want = ref(name);
    Cfg c;
    const TrainConfig *t = cfg_load(&c, sc->train);
    Schedule s = {.t = t,
                  .total_steps = t->total_steps ? t->total_steps : t->epochs * STEPS_PER_EPOCH};
    for (size_t i = 0; i < want->n; i++) {
        int epoch = sc->per_batch ? (int)i / STEPS_PER_EPOCH : (int)i;
        int64_t step = sc->per_batch ? (int64_t)i : (int64_t)i * STEPS_PER_EPOCH + 3;
        double lr = sched_lr(&s, epoch, step);
        cr_expect(close_to(lr, want->v[i]), "%s (%s): lr at %s %zu: got %.9g, PyTorch %.9g",
                  sc->name, sc->train, sc->per_batch ? "step" : "epoch", i, lr, want->v[i]);
    }
    snprintf(name, sizeof name, "%s.momentum", sc->name);
    bool has_mom = false;
    for (int i = 0; i < nrefs; i++)
        has_mom = has_mom || !strcmp(refs[i].name, name);
    if (has_mom) {
        const RefTensor *mom = ref(name);
        for (size_t i = 0; i < mom->n; i++) {
            double m = sched_momentum(&s, (int64_t)i);
            cr_expect(close_to(m, mom->v[i]),
                      "%s (%s): momentum at step %zu: got %.9g, PyTorch %.9g", sc->name, sc->train,
                      i, m, mom->v[i]);
        }
    } else {
        cr_expect_eq(sched_momentum(&s, 0), -1, "%s cycles no momentum", sc->name);
    }
    cfg_free(&c);
}

Test(sched, every_case_in_the_reference, .init = refs_load, .fini = refs_free)
{
    for (size_t i = 0; i < sizeof sched_cases / sizeof sched_cases[0]; i++)
        run_sched_case(&sched_cases[i]);
    for (int i = 0; i < nrefs; i++) {
        const char *dot = strrchr(refs[i].name, '.');
        if (!dot || strcmp(dot, ".lr") != 0 || !strncmp(refs[i].name, "plateau_", 8))
            continue; /* (the plateau cases: sched.plateau_every_case_in_the_reference) */
        bool known = false;
        for (size_t k = 0; k < sizeof sched_cases / sizeof sched_cases[0]; k++)
            known = known ||
                    (strlen(sched_cases[k].name) == (size_t)(dot - refs[i].name) &&
                     strncmp(refs[i].name, sched_cases[k].name, (size_t)(dot - refs[i].name)) == 0);
        cr_expect(known,
                  "optim.ref schedule '%s' has no entry in sched_cases[] of "
                  "test_optim.c",
                  refs[i].name);
    }
}

/* No schedule: the lr stays the optimiser's, whatever the epoch and step. */
Test(sched, none_keeps_the_lr)
{
    Cfg c;
    const TrainConfig *t = cfg_load(&c, "optimizer Adam lr=0.003");
    Schedule s = {.t = t, .total_steps = 70};
    for (int e = 0; e < 10; e++)
        cr_expect(sched_lr(&s, e, (int64_t)e * 7 + 2) == 0.003);
    cr_expect_eq(sched_momentum(&s, 3), -1);
    cfg_free(&c);
}

/* Linear warm-up over N steps multiplies the lr by (step + 1) / N for the first N steps, as
 * LambdaLR(lambda s: min(1, (s + 1) / N)) stepped per batch would. */
Test(sched, warmup_ramps_per_step)
{
    Cfg c;
    const TrainConfig *t = cfg_load(&c, "optimizer SGD lr=0.1\nwarmup 4");
    Schedule s = {.t = t, .total_steps = 30};
    const double want[] = {0.025, 0.05, 0.075, 0.1, 0.1, 0.1};
    for (int i = 0; i < 6; i++)
        cr_expect(close_to(sched_lr(&s, i / 3, i), want[i]), "warm-up step %d: got %.9g, want %g",
                  i, sched_lr(&s, i / 3, i), want[i]);
    cfg_free(&c);
}

/* ---- BatchNorm's momentum none: the running statistics' cumulative average ----
 *
 * PyTorch's momentum=None makes the running statistics the plain average of every batch's
 * (r_n = r_{n-1} + (x_n - r_{n-1}) / n, factor 1 / num_batches_tracked after this batch).
 * The batch statistics do not feed back into training, so a run with momentum 1 (running =
 * the last batch's) sees the same batches: the average of its k one-step-more results is
 * what momentum none must hold after k steps, and after one step both are the same bits. */
static const char bn_net[] = "network b (input 2x3x3) {\n"
                             "  Conv2d 3 k1\n"
                             "  BatchNorm2d momentum=%s\n"
                             "  Flatten\n"
                             "  fc: Linear 3\n"
                             "}\n"
                             "train {\n"
                             "  optimizer SGD lr=0.1\n"
                             "  batch 4\n"
                             "  shuffle false\n"
                             "  seed 3\n"
                             "  epochs 4\n"
                             "}\n";

/* running_mean and running_var (6 floats) after k steps of bn_net with this momentum */
static void bn_running(const char *momentum, int k, float out[6])
{
    char text[1024];
    snprintf(text, sizeof text, bn_net, momentum);
    Diag d;
    diag_init(&d, stderr, "test");
    Arena *a = arena_new();
    Graph *g = frontend_load_file(a, src_from_string(a, "b.net", text), &d);
    cr_assert(g && d.errors == 0);
    Model *m = rt_model_new(g, g->train.batch, &d);
    Optim *o = optim_new(&g->train, m->nparam_floats);
    cr_assert(m && o);
    rt_model_init(m, 3);
    static uint8_t images[16 * 18], labels[16];
    for (int i = 0; i < 16 * 18; i++)
        images[i] = (uint8_t)(i * 97 + i / 7);
    for (int i = 0; i < 16; i++)
        labels[i] = (uint8_t)(i % 3);
    Dataset ds = {.n = 16, .rows = 3, .cols = 3, .channels = 2, .images = images, .labels = labels};
    TrainPos pos = {0};
    rng_seed(&pos.epoch_rng, 1);
    pos.drop_rng = m->rng;
    RunOptions ro = {.max_steps = k, .quiet = true};
    cr_assert(rt_train(m, o, &pos, &ds, NULL, &ro, &d).ok);
    const Node *bn = GRAPH_NODE(g, 1);
    cr_assert_str_eq(bn->params[2].suffix, "running_mean");
    memcpy(out, m->plan[1].params[2], sizeof(float) * 3);
    memcpy(out + 3, m->plan[1].params[3], sizeof(float) * 3);
    cr_assert_eq(m->plan[1].params[4][0], (float)k, "num_batches_tracked %g, not %d",
                 (double)m->plan[1].params[4][0], k);
    optim_free(o);
    rt_model_free(m);
    arena_free(a);
}

Test(batchnorm, momentum_none_is_the_cumulative_average)
{
    float none[6], one[6], sum[6] = {0};
    bn_running("none", 1, none);
    bn_running("1", 1, one);
    cr_assert(memcmp(none, one, sizeof none) == 0, "one step: momentum none is not momentum 1");
    for (int k = 1; k <= 7; k++) {
        bn_running("1", k, one);
        for (int i = 0; i < 6; i++)
            sum[i] += one[i];
        bn_running("none", k, none);
        for (int i = 0; i < 6; i++)
            cr_assert(fabsf(none[i] - sum[i] / (float)k) <= 1e-6f * fmaxf(1.0f, fabsf(sum[i] / k)),
                      "after %d steps, %s[%d] is %.9g, the batches' average %.9g", k,
                      i < 3 ? "running_mean" : "running_var", i % 3, (double)none[i],
                      (double)(sum[i] / (float)k));
    }
    float tenth[6];
    bn_running("0.1", 7, tenth);
    cr_assert(fabsf(tenth[0] - none[0]) > 1e-3f, "momentum none is momentum 0.1");
}
