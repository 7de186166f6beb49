/* settings.c: the train settings, the one table (see ir.h), and what walks it without
 * knowing any setting by name: defaults, a value's member read and written, a kind chosen.
 *
 * Design choice: a value is an AttrSpec plus the TrainConfig member it fills (offset and
 * size), so the front end checks it with the layers' checker and stores it with
 * ir_setting_put; no code picks a setting's values by position or by name. Numbers follow
 * torch.optim and torch.optim.lr_scheduler; ranges are what those accept. */
#include <math.h>
#include <string.h>

#include "ir.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* One value: name, type, default, required, range, list lengths, help; then the
 * TrainConfig member it fills and netrun's flag for it. FLOAT and INT: a single number,
 * required when it has no default. */
#define V(name, type, def, req, lo, hi, nmin, nmax, help, member, flag)                            \
    {                                                                                              \
        {name, NULL, type, def, req, lo, hi, nmin, nmax, NULL, help, false, NULL},                 \
            TRAIN_FIELD(member), flag                                                              \
    }
#define FLOAT(name, def, lo, hi, help, member)                                                     \
    V(name, ATTR_FLOAT, def, !def, lo, hi, 1, 1, help, member, NULL)
#define INT(name, def, lo, hi, help, member)                                                       \
    V(name, ATTR_INT, def, !def, lo, hi, 1, 1, help, member, NULL)

static const char *const pos_none[] = {NULL};

/* ---- data ---- */

static const char *const pos_path[] = {"path", NULL};
static const SettingValue data_common[] = {
    V("path", ATTR_STRING, NULL, true, 0, 0, 0, 0,
      "the data set's directory (csv: the training table's file)", data_dir, "--data"),
};
static const char *const cifar_label_names[] = {"fine", "coarse", NULL};
static const SettingValue cifar_values[] = {
    {{"labels", NULL, ATTR_ENUM, "fine", false, 0, 0, 0, 0, cifar_label_names,
      "CIFAR-100's 100 fine classes or its 20 coarse ones", false, NULL},
     TRAIN_FIELD(cifar_labels),
     NULL},
};
static const SettingValue csv_values[] = {
    V("label", ATTR_STRING, "label", false, 0, 0, 0, 0,
      "the label column's header name; every other column is a numeric feature", csv_label, NULL),
    V("test", ATTR_STRING, "", false, 0, 0, 0, 0,
      "the test table's file, with the training table's feature columns in their order "
      "(empty: the training table's path with its last 'train' made "
      "'test')",
      csv_test, NULL),
};
static const SettingValue folder_values[] = {
    V("resize", ATTR_INTS, "0", false, 0, 4096, 1, 2,
      "[H, W] (or N for N x N): every image resized so, as torchvision's Resize((H, W)) on "
      "PIL images (bilinear, antialiased); 0: sizes must match",
      resize, NULL),
};
/* resize: N, or [H, W] with both > 0 (0 alone: none) */
static void folder_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    const IntList *r = &t->resize;
    if (r->n == 2 && (r->v[0] == 0) != (r->v[1] == 0)) {
        diag_error(d, at[0], "resize [%lld, %lld]: give both sides (rows, columns), or 0 for none",
                   (long long)r->v[0], (long long)r->v[1]);
    }
}

static const SettingKind data_kinds[] = {
    {"idx", DATA_IDX, "the four IDX files (train-images-idx3-ubyte...), gzip or not", NULL, 0,
     pos_path, NULL, NULL},
    {"folder", DATA_FOLDER,
     "image folders as torchvision's ImageFolder: train/<class>/*.png|*.jpg and test/<class>/",
     folder_values, N(folder_values), pos_path, folder_check, NULL},
    {"cifar", DATA_CIFAR,
     "CIFAR-10 or CIFAR-100, binary version: data_batch_1..5.bin and test_batch.bin, or "
     "train.bin and test.bin",
     cifar_values, N(cifar_values), pos_path, NULL, NULL},
    {"csv", DATA_CSV,
     "a CSV table with a header row: numeric features and a label column (class numbers or "
     "names), gzip or not",
     csv_values, N(csv_values), pos_path, NULL, NULL},
};

/* ---- loss ---- */

static const SettingValue ce_values[] = {
    V("label_smoothing", ATTR_FLOAT, "0", false, 0, 1, 1, 1,
      "share of the target spread over all classes, as torch's", label_smoothing,
      "--label-smoothing"),
};
static const SettingKind loss_kinds[] = {
    {"cross_entropy", LOSS_CROSS_ENTROPY, "mean over the batch of -log_softmax[label]", ce_values,
     N(ce_values), pos_none, NULL, NULL},
    {"nll", LOSS_NLL,
     "mean over the batch of -output[label], as torch.nn.NLLLoss: the output holds "
     "log-probabilities (end the net in LogSoftmax)",
     NULL, 0, pos_none, NULL, NULL},
    {"mse", LOSS_MSE, "mean squared error against the one-hot label", NULL, 0, pos_none, NULL,
     NULL},
};

/* ---- optimizer ---- */

static const SettingValue opt_common[] = {
    V("lr", ATTR_FLOAT, "0.001", false, 0, 1e6, 1, 1, "learning rate", lr, "--lr"),
};
/* maximize=True in torch.optim: each step starts from the negated gradient (exact, so the
 * bits are those of minimising the negated loss). */
#define MAXIMIZE_VALUE                                                                             \
    V("maximize", ATTR_BOOL, "false", false, 0, 0, 0, 0,                                           \
      "ascend the loss: the gradient negated before every other term", maximize, NULL)
enum { SGD_MOMENTUM, SGD_DAMPENING, SGD_WEIGHT_DECAY, SGD_NESTEROV, SGD_MAXIMIZE };
static const SettingValue sgd_values[] = {
    [SGD_MOMENTUM] = FLOAT("momentum", "0", 0, 1e6, "momentum factor", momentum),
    [SGD_DAMPENING] = FLOAT("dampening", "0", 0, 1e6, "dampening for momentum", dampening),
    [SGD_WEIGHT_DECAY] = FLOAT("weight_decay", "0", 0, 1e6, "L2 penalty", weight_decay),
    [SGD_NESTEROV] = V("nesterov", ATTR_BOOL, "false", false, 0, 0, 0, 0,
                       "Nesterov momentum (needs momentum > 0 and dampening 0)", nesterov, NULL),
    [SGD_MAXIMIZE] = MAXIMIZE_VALUE,
};
/* Adam and AdamW differ in what weight_decay means, and its default. */
#define ADAM_VALUES(wd_default, wd_help)                                                           \
    V("betas", ATTR_FLOATS, "[0.9, 0.999]", false, 0, 1, 2, 2, "moment decay rates, each below 1", \
      betas, NULL),                                                                                \
        FLOAT("eps", "1e-08", 0, 1e6, "denominator term", eps),                                    \
        FLOAT("weight_decay", wd_default, 0, 1e6, wd_help, weight_decay),                          \
        V("amsgrad", ATTR_BOOL, "false", false, 0, 0, 0, 0,                                        \
          "AMSGrad: the largest second moment so far in the denominator", amsgrad, NULL),          \
        MAXIMIZE_VALUE
static const SettingValue adam_values[] = {ADAM_VALUES("0", "L2 penalty")};
static const SettingValue adamw_values[] = {ADAM_VALUES("0.01", "decoupled decay")};

/* A beta of 1 is in the value's range but not torch.optim's [0, 1): the moment never moves
 * from 0 (or beta2's bias correction is 1 - 1 = 0), and the step is NaN or infinite. */
static void adam_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    for (int i = 0; i < 2; i++)
        if (t->betas[i] >= 1) {
            diag_error(d, at[0], "'betas' must each be below 1 (as torch.optim's), got beta%d = %g",
                       i + 1, t->betas[i]);
            diag_hint(d, at[0], "%s",
                      i ? "the default beta2 is 0.999" : "the default beta1 is 0.9");
            return;
        }
}

static void sgd_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    if (!t->nesterov)
        return;
    if (t->momentum <= 0) {
        diag_error(d, at[SGD_NESTEROV], "'nesterov' needs a momentum > 0, got momentum %g",
                   t->momentum);
        diag_hint(d, at[SGD_NESTEROV],
                  loc_yaml(at[SGD_NESTEROV]) ? "add a momentum, e.g. 'momentum: 0.9'"
                                             : "add a momentum, e.g. 'momentum=0.9'");
    } else if (t->dampening != 0) {
        diag_error(d, at[SGD_NESTEROV], "'nesterov' needs dampening 0, got dampening %g",
                   t->dampening);
        diag_hint(d, at[SGD_NESTEROV],
                  loc_yaml(at[SGD_NESTEROV]) ? "drop 'dampening: %g'" : "drop 'dampening=%g'",
                  t->dampening);
    }
}

/* RMSprop, Adagrad and Adadelta as torch.optim's (torch 1.13), with its defaults; lr's own
 * default differs from the common one (Adam's 0.001). */
enum { RMS_ALPHA, RMS_EPS, RMS_WEIGHT_DECAY, RMS_MOMENTUM, RMS_CENTERED, RMS_MAXIMIZE };
static const SettingValue rmsprop_values[] = {
    [RMS_ALPHA] = FLOAT("alpha", "0.99", 0, 1,
                        "smoothing constant of the squared gradients' average (PyTorch takes "
                        "any alpha >= 0, but past 1 the average goes negative and every step is "
                        "NaN)",
                        alpha),
    [RMS_EPS] = FLOAT("eps", "1e-08", 0, 1e6, "denominator term", eps),
    [RMS_WEIGHT_DECAY] = FLOAT("weight_decay", "0", 0, 1e6, "L2 penalty", weight_decay),
    [RMS_MOMENTUM] = FLOAT("momentum", "0", 0, 1e6, "momentum factor", momentum),
    [RMS_CENTERED] = V("centered", ATTR_BOOL, "false", false, 0, 0, 0, 0,
                       "divide by the gradient's estimated variance (its squares' average less "
                       "its average's square)",
                       centered, NULL),
    [RMS_MAXIMIZE] = MAXIMIZE_VALUE,
};
static const SettingValue adagrad_values[] = {
    FLOAT("lr_decay", "0", 0, 1e6, "lr / (1 + (step - 1) x lr_decay) at each step", lr_decay),
    FLOAT("weight_decay", "0", 0, 1e6, "L2 penalty", weight_decay),
    FLOAT("initial_accumulator_value", "0", 0, 1e6, "the squared gradients' sum to start from",
          initial_accumulator_value),
    FLOAT("eps", "1e-10", 0, 1e6, "denominator term", eps),
    MAXIMIZE_VALUE,
};
static const SettingValue adadelta_values[] = {
    FLOAT("rho", "0.9", 0, 1, "decay rate of the squared gradients' and updates' averages", rho),
    FLOAT("eps", "1e-06", 0, 1e6, "term inside both square roots", eps),
    FLOAT("weight_decay", "0", 0, 1e6, "L2 penalty", weight_decay),
    MAXIMIZE_VALUE,
};
static const char *const lr_1e2[] = {"0.01"}, *const lr_1[] = {"1"};

/* What OneCycleLR cannot cycle in this optimizer, at the schedule's statement: checked here
 * for a schedule written before the optimizer, by onecycle_check for one after it. */
static bool cycle_unsupported(const TrainConfig *t, SrcLoc at, SrcLoc at_max, Diag *d);
static void cycle_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    (void)at;
    SrcLoc sched = t->at[ir_setting_find("schedule") - ir_settings];
    cycle_unsupported(t, sched, sched, d);
}

static const SettingKind opt_kinds[] = {
    {"SGD", OPT_SGD, "torch.optim.SGD", sgd_values, N(sgd_values), pos_none, sgd_check, NULL},
    {"Adam", OPT_ADAM, "torch.optim.Adam (weight_decay: L2)", adam_values, N(adam_values), pos_none,
     adam_check, NULL},
    {"AdamW", OPT_ADAMW, "torch.optim.AdamW (weight_decay: decoupled)", adamw_values,
     N(adamw_values), pos_none, adam_check, NULL},
    {"RMSprop", OPT_RMSPROP, "torch.optim.RMSprop", rmsprop_values, N(rmsprop_values), pos_none,
     cycle_check, lr_1e2},
    {"Adagrad", OPT_ADAGRAD, "torch.optim.Adagrad", adagrad_values, N(adagrad_values), pos_none,
     cycle_check, lr_1e2},
    {"Adadelta", OPT_ADADELTA, "torch.optim.Adadelta", adadelta_values, N(adadelta_values),
     pos_none, cycle_check, lr_1},
};

/* ---- schedule ---- */

static const SettingValue step_values[] = {
    INT("step_size", NULL, 1, 1e9, "epochs between decays", step_size),
    FLOAT("gamma", "0.1", 0, 1e6, "decay factor", gamma),
};
static const SettingValue multistep_values[] = {
    V("milestones", ATTR_INTS, NULL, true, 0, 1e9, 1, ATTR_MAX_LIST, "epochs at which to decay",
      milestone_list, NULL),
    FLOAT("gamma", "0.1", 0, 1e6, "decay factor", gamma),
};
static const SettingValue exp_values[] = {
    FLOAT("gamma", NULL, 0, 1e6, "decay factor per epoch", gamma),
};
static const SettingValue cos_values[] = {
    INT("T_max", NULL, 1, 1e9, "epochs of the half cosine", t_max),
    FLOAT("eta_min", "0", 0, 1e6, "smallest lr", eta_min),
};
enum {
    OC_MAX_LR,
    OC_TOTAL_STEPS,
    OC_PCT_START,
    OC_DIV_FACTOR,
    OC_FINAL_DIV_FACTOR,
    OC_ANNEAL,
    OC_CYCLE_MOMENTUM,
    OC_BASE_MOMENTUM,
    OC_MAX_MOMENTUM,
    OC_THREE_PHASE
};
static const char *const anneal_names[] = {"cos", "linear", NULL};
static const SettingValue onecycle_values[] = {
    [OC_MAX_LR] = FLOAT("max_lr", NULL, 0, 1e6, "peak lr", max_lr),
    [OC_TOTAL_STEPS] = INT("total_steps", "0", 0, 1e9,
                           "batches in the cycle (0: epochs x batches per epoch; the run may "
                           "not take more)",
                           total_steps),
    [OC_PCT_START] =
        FLOAT("pct_start", "0.3", 0, 1,
              "fraction spent rising (pct_start x total_steps may not be 1, and a run that "
              "reaches total_steps may not leave the last phase no step: PyTorch divides by "
              "zero)",
              pct_start),
    [OC_DIV_FACTOR] =
        FLOAT("div_factor", "25", 1e-9, 1e9, "initial lr = max_lr / div_factor", div_factor),
    [OC_FINAL_DIV_FACTOR] = FLOAT("final_div_factor", "10000", 1e-9, 1e12,
                                  "final lr = initial lr / final_div_factor", final_div_factor),
    [OC_ANNEAL] = {{"anneal_strategy", NULL, ATTR_ENUM, "cos", false, 0, 0, 0, 0, anneal_names,
                    "each phase's curve: a half cosine, or a straight line", false, NULL},
                   TRAIN_FIELD(anneal_strategy),
                   NULL},
    [OC_CYCLE_MOMENTUM] = V("cycle_momentum", ATTR_BOOL, "true", false, 0, 0, 0, 0,
                            "cycle the momentum (Adam: beta1) inversely to the lr, from "
                            "max_momentum (replacing the optimizer's own)",
                            cycle_momentum, NULL),
    [OC_BASE_MOMENTUM] =
        FLOAT("base_momentum", "0.85", 0, 1e6, "the momentum at the lr's peak", base_momentum),
    [OC_MAX_MOMENTUM] = FLOAT("max_momentum", "0.95", 0, 1e6,
                              "the momentum at the cycle's start and end", max_momentum),
    [OC_THREE_PHASE] = V("three_phase", ATTR_BOOL, "false", false, 0, 0, 0, 0,
                         "up to max_lr, back down to the initial lr in as many steps, then to "
                         "the final lr",
                         three_phase, NULL),
};

/* OneCycleLR's cycle_momentum on an optimizer with neither momentum nor betas, which
 * torch.optim's OneCycleLR refuses; checked by whichever of the two statements comes last. */
static bool cycle_unsupported(const TrainConfig *t, SrcLoc at, SrcLoc at_max, Diag *d)
{
    if (t->sched != SCHED_ONECYCLE || !t->cycle_momentum)
        return false;
    if (t->opt == OPT_ADAGRAD || t->opt == OPT_ADADELTA) {
        diag_error(d, at,
                   "OneCycleLR cycles the optimizer's momentum, and %s has none (PyTorch's "
                   "OneCycleLR stops: \"optimizer must support momentum with `cycle_momentum` "
                   "option enabled\")",
                   t->opt == OPT_ADAGRAD ? "Adagrad" : "Adadelta");
        diag_hint(d, at, "add '%s' to the schedule",
                  loc_yaml(at) ? "cycle_momentum: false" : "cycle_momentum=false");
        return true;
    }
    /* RMSprop makes its momentum buffer at its first step only if the momentum is then above
     * 0; OneCycleLR raising it from max_momentum=0 afterwards makes PyTorch's step fail */
    if (t->opt == OPT_RMSPROP && t->max_momentum == 0 && t->base_momentum > 0) {
        diag_error(d, at_max,
                   "OneCycleLR would start RMSprop's momentum at max_momentum=0 and raise it to "
                   "%g, which PyTorch's RMSprop cannot take (it makes its momentum buffer only "
                   "when the first step has a momentum, and fails at the second)",
                   t->base_momentum);
        diag_hint(d, at_max, "take a max_momentum above 0, or %s",
                  loc_yaml(at_max) ? "cycle_momentum: false" : "cycle_momentum=false");
        return true;
    }
    return false;
}

/* With total_steps written, what the runtime checks again for the run's own count
 * (sched_check): PyTorch's rising phase ends at step pct_start x total_steps - 1, and at 0
 * its first step divides by zero. */
static void onecycle_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    /* Adam's beta1 cycled to 1 or past it: bias_correction1 = 1 - 1 = 0, and the steps are
     * NaN or infinite (torch.optim checks betas when the optimizer is made, not after) */
    if (cycle_unsupported(t, at[OC_CYCLE_MOMENTUM], at[OC_MAX_MOMENTUM], d))
        return;
    if (t->cycle_momentum && (t->opt == OPT_ADAM || t->opt == OPT_ADAMW) &&
        fmax(t->base_momentum, t->max_momentum) >= 1) {
        bool base = t->base_momentum >= 1;
        int k = base ? OC_BASE_MOMENTUM : OC_MAX_MOMENTUM;
        diag_error(d, at[k], "'%s' = %g would cycle %s's beta1 to %g; betas must each be below 1",
                   base ? "base_momentum" : "max_momentum",
                   base ? t->base_momentum : t->max_momentum, t->opt == OPT_ADAM ? "Adam" : "AdamW",
                   base ? t->base_momentum : t->max_momentum);
        diag_hint(d, at[k], "take a momentum below 1, or %s",
                  loc_yaml(at[k]) ? "cycle_momentum: false" : "cycle_momentum=false");
        return;
    }
    if (t->total_steps > 0 && t->pct_start * t->total_steps == 1) {
        diag_error(d, at[OC_PCT_START],
                   "OneCycleLR's rise would last pct_start x total_steps = %g x %d = 1 step, "
                   "which PyTorch cannot schedule (it divides by zero)",
                   t->pct_start, t->total_steps);
        diag_hint(d, at[OC_PCT_START], "take a pct_start other than 1/%d", t->total_steps);
    }
}
static const SettingValue linear_values[] = {
    FLOAT("start_factor", "0.3333333333333333", 1e-9, 1, "first multiplier of lr", start_factor),
    FLOAT("end_factor", "1", 0, 1, "last multiplier of lr", end_factor),
    INT("total_iters", "5", 1, 1e9, "epochs of the ramp", total_iters),
};
static const char *const plateau_modes[] = {"min", "max", NULL};
static const char *const threshold_modes[] = {"rel", "abs", NULL};
static const SettingValue plateau_values[] = {
    {{"mode", NULL, ATTR_ENUM, "min", false, 0, 0, 0, 0, plateau_modes,
      "min: watch the validation loss (the test loss without val), max: its accuracy", false, NULL},
     TRAIN_FIELD(plateau_mode),
     NULL},
    FLOAT("factor", "0.1", 0, 1, "lr times factor at each reduction (below 1)", factor),
    INT("patience", "10", 0, 1e9, "epochs without a better value before a reduction", patience),
    FLOAT("threshold", "0.0001", 0, 1e6, "how much better counts as better", threshold),
    {{"threshold_mode", NULL, ATTR_ENUM, "rel", false, 0, 0, 0, 0, threshold_modes,
      "rel: better than best x (1 - threshold) (min; max: 1 + threshold), abs: best -+ "
      "threshold",
      false, NULL},
     TRAIN_FIELD(threshold_mode),
     NULL},
    INT("cooldown", "0", 0, 1e9, "epochs after a reduction that count no bad epoch", cooldown),
    FLOAT("min_lr", "0", 0, 1e6, "the lr goes no lower", min_lr),
    FLOAT("eps", "1e-08", 0, 1e6, "a reduction smaller than this is not made", plateau_eps),
};

/* PyTorch refuses a factor of 1 or more ("Factor should be < 1.0"). */
static void plateau_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    if (t->factor >= 1)
        diag_error(d, at[1],
                   "ReduceLROnPlateau's factor must be below 1, got %g (PyTorch refuses "
                   "it too)",
                   t->factor);
}

static const char *const pos_mode[] = {"mode", NULL};
static const char *const pos_step[] = {"step_size", NULL};
static const char *const pos_gamma[] = {"gamma", NULL};
static const char *const pos_tmax[] = {"T_max", NULL};
static const char *const pos_maxlr[] = {"max_lr", NULL};
static const char *const pos_milestones[] = {"milestones", NULL};
static const SettingKind sched_kinds[] = {
    {"StepLR", SCHED_STEP, "lr times gamma every step_size epochs", step_values, N(step_values),
     pos_step, NULL, NULL},
    {"MultiStepLR", SCHED_MULTISTEP, "lr times gamma at each milestone (epochs)", multistep_values,
     N(multistep_values), pos_milestones, NULL, NULL},
    {"ExponentialLR", SCHED_EXPONENTIAL, "lr times gamma every epoch", exp_values, N(exp_values),
     pos_gamma, NULL, NULL},
    {"CosineAnnealingLR", SCHED_COSINE, "lr down to eta_min along a half cosine of T_max epochs",
     cos_values, N(cos_values), pos_tmax, NULL, NULL},
    {"OneCycleLR", SCHED_ONECYCLE,
     "per batch: up to max_lr and down again, momentum (Adam: beta1) the other way",
     onecycle_values, N(onecycle_values), pos_maxlr, onecycle_check, NULL},
    {"LinearLR", SCHED_LINEAR,
     "lr times a factor going from start_factor to end_factor in total_iters epochs", linear_values,
     N(linear_values), pos_none, NULL, NULL},
    {"ReduceLROnPlateau", SCHED_PLATEAU,
     "lr times factor when the validation loss (mode min; its accuracy: max) has not got better "
     "for patience epochs",
     plateau_values, N(plateau_values), pos_mode, plateau_check, NULL},
};

/* ---- settings of one value, and normalize ---- */

static const char *const pos_value[] = {"value", NULL};
#define ONE_VALUE(name, type, def, lo, hi, member, flag, help)                                     \
    static const SettingValue name##_values[] = {                                                  \
        V("value", type, def, true, lo, hi, 1, 1, help, member, flag)};                            \
    static const SettingKind name##_kinds[] = {                                                    \
        {NULL, 0, NULL, name##_values, 1, pos_value, NULL, NULL}}
ONE_VALUE(batch, ATTR_INT, "64", 1, 1 << 20, batch, "--batch", "samples per step");
ONE_VALUE(epochs, ATTR_INT, "1", 0, 1 << 20, epochs, "--epochs", "passes over the data");
ONE_VALUE(seed, ATTR_INT, "0", 0, 9.2e18, seed, "--seed", "fixes init, order and dropout");
ONE_VALUE(shuffle, ATTR_BOOL, "true", 0, 0, shuffle, "--shuffle", "reshuffle every epoch");
ONE_VALUE(warmup, ATTR_INT, "0", 0, 1e9, warmup, NULL, "batches of linear lr warm-up");
/* clip_grad_norm and clip_grad_value: torch.nn.utils' clip_grad_norm_ and clip_grad_value_,
 * called between backward() and the optimizer's step */
static const char *const pos_clip_norm[] = {"max_norm", "norm_type", NULL};
static const SettingValue clip_norm_values[] = {
    V("max_norm", ATTR_FLOAT, NULL, true, 0, 1e6, 1, 1,
      "the gradients (all of them, as one vector) are scaled down to this norm when theirs is "
      "larger",
      clip_norm, "--clip-grad-norm"),
    V("norm_type", ATTR_FLOAT, "2", false, 1, INFINITY, 1, 1,
      "the p of the p-norm (inf: the largest absolute gradient)", clip_norm_type, NULL),
};

/* A setting that is not written leaves its value 0. Clipping to 0 zeroes every gradient
 * (as PyTorch's does: no training), and the two clippings, one after the other, are no call
 * that PyTorch's training loops make: both refused. */
static void clip_check(const char *what, double v, const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    if ((float)v == 0) /* 0, or as little as float32 makes 0 (1e-300) */
        diag_error(d, at[0], "%s %g would zero every gradient: give a positive %s", what, v,
                   strcmp(what, "clip_grad_norm") ? "value" : "max_norm");
    else if (t->clip_norm > 0 && t->clip_value > 0)
        diag_error(d, at[0], "clip_grad_norm and clip_grad_value are both given: give one");
}

static void clip_norm_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    clip_check("clip_grad_norm", t->clip_norm, t, at, d);
}

static void clip_value_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    clip_check("clip_grad_value", t->clip_value, t, at, d);
}

static const SettingKind clip_norm_kinds[] = {
    {NULL, 0, NULL, clip_norm_values, N(clip_norm_values), pos_clip_norm, clip_norm_check, NULL}};
static const SettingValue clip_value_values[] = {V("value", ATTR_FLOAT, NULL, true, 0, 1e6, 1, 1,
                                                   "every gradient is clamped to [-value, value]",
                                                   clip_value, "--clip-grad-value")};
static const SettingKind clip_value_kinds[] = {
    {NULL, 0, NULL, clip_value_values, 1, pos_value, clip_value_check, NULL}};
ONE_VALUE(chunks, ATTR_INT, "8", 1, 1024, chunks, "--chunks",
          "most chunks a batch is cut into; the bits depend on it, not on threads or processes");
ONE_VALUE(val, ATTR_FLOAT, "0", 0, TRAIN_VAL_MAX, val, "--val",
          "share of the training set held out (seeded) for validation");
ONE_VALUE(early_stop, ATTR_INT, "0", 0, 1 << 20, early_stop, "--early-stop",
          "stop after this many epochs without a better accuracy (0: never)");

static const char *const pos_augment[] = {"crop", "pad", NULL};
static const SettingValue augment_values[] = {
    INT("crop", NULL, 1, 4096,
        "torchvision's RandomCrop: a crop x crop square at a random place (the net's input size)",
        crop),
    INT("pad", "0", 0, 1024, "RandomCrop's padding: zeros on every side before the crop", pad),
    V("flip", ATTR_BOOL, "false", false, 0, 0, 0, 0,
      "RandomHorizontalFlip: mirror half the images, at random", flip, NULL),
};
static const SettingKind augment_kinds[] = {
    {NULL, 0, NULL, augment_values, N(augment_values), pos_augment, NULL, NULL}};

static const char *const pos_norm[] = {"mean", "std", NULL};
static const SettingValue norm_values[] = {
    V("mean", ATTR_FLOATS, NULL, true, -1e6, 1e6, 1, NORM_MAX,
      "subtracted after /255: one for every channel, or one for all", mean, NULL),
    V("std", ATTR_FLOATS, NULL, true, 1e-9, 1e6, 1, NORM_MAX,
      "divides after the mean: one for every channel, or one for all", std, NULL),
};

/* As many standard deviations as means, or one of either for every channel (torchvision's
 * Normalize broadcasts a single value the same way). */
static void norm_check(const TrainConfig *t, const SrcLoc *at, Diag *d)
{
    int nm = ir_norm_count(t->mean), ns = ir_norm_count(t->std);
    if (nm != ns && nm > 1 && ns > 1)
        diag_error(d, at[1],
                   "normalize gives %d means and %d stds; give one for every channel, or one "
                   "for all",
                   nm, ns);
}

static const SettingKind norm_kinds[] = {
    {NULL, 0, NULL, norm_values, N(norm_values), pos_norm, norm_check, NULL}};

int ir_norm_count(const double v[NORM_MAX])
{
    int n = 0;
    while (n < NORM_MAX && !isnan(v[n]))
        n++;
    return n;
}

int ir_norm_values(const TrainConfig *t)
{
    int nm = ir_norm_count(t->mean), ns = ir_norm_count(t->std);
    return t->std[0] > 0 ? (nm > ns ? nm : ns) : 0;
}

/* ---- the table ---- */

#define NONE                                                                                       \
    {                                                                                              \
        0, 0                                                                                       \
    }
const Setting ir_settings[] = {
    {"data", "the data set", data_common, N(data_common), data_kinds, N(data_kinds),
     TRAIN_FIELD(data_kind), -1, 0, NULL, NULL},
    {"loss", "the loss on the net's output, a vector of class scores (not an image)", NULL, 0,
     loss_kinds, N(loss_kinds), TRAIN_FIELD(loss), 0, -1, NULL, NULL},
    {"optimizer", "as torch.optim", opt_common, N(opt_common), opt_kinds, N(opt_kinds),
     TRAIN_FIELD(opt), 1, -1, "--optimizer", NULL},
    {"schedule", "lr schedule, as torch.optim.lr_scheduler (none: constant lr)", NULL, 0,
     sched_kinds, N(sched_kinds), TRAIN_FIELD(sched), -1, -1, NULL, NULL},
    {"batch", "samples per step", NULL, 0, batch_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"epochs", "passes over the data", NULL, 0, epochs_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"seed", "fixes initialisation, order and dropout", NULL, 0, seed_kinds, 1, NONE, 0, -1, NULL,
     NULL},
    {"shuffle", "reshuffle every epoch", NULL, 0, shuffle_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"warmup", "linear lr warm-up over this many batches", NULL, 0, warmup_kinds, 1, NONE, 0, -1,
     NULL, NULL},
    {"clip_grad_norm",
     "torch.nn.utils.clip_grad_norm_ after every backward: the gradients scaled down to a "
     "largest norm",
     NULL, 0, clip_norm_kinds, 1, NONE, -1, -1, NULL, "clip_grad_value"},
    {"clip_grad_value",
     "torch.nn.utils.clip_grad_value_ after every backward: every gradient clamped to a range",
     NULL, 0, clip_value_kinds, 1, NONE, -1, -1, NULL, "clip_grad_norm"},
    {"chunks", "most chunks a batch is cut into (each adds its gradients in chunk order)", NULL, 0,
     chunks_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"val", "a validation set held out of the training set: a seeded shuffle of it, the last share",
     NULL, 0, val_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"early_stop",
     "stop after this many epochs without a better validation accuracy (test accuracy when "
     "there is no val); the best weights are kept",
     NULL, 0, early_stop_kinds, 1, NONE, 0, -1, NULL, NULL},
    {"augment",
     "training images cropped at random and flipped, drawn from the seed, the epoch and the "
     "image (none: as they are)",
     NULL, 0, augment_kinds, 1, NONE, -1, -1, NULL, NULL},
    {"normalize", "after scaling to [0, 1], (x - mean) / std (none: no normalisation)", NULL, 0,
     norm_kinds, 1, NONE, -1, -1, NULL, NULL},
};
const int ir_nsettings = N(ir_settings);

/* ---- walking it ---- */

const Setting *ir_setting_find(const char *name)
{
    for (int i = 0; i < ir_nsettings; i++)
        if (strcmp(ir_settings[i].name, name) == 0)
            return &ir_settings[i];
    return NULL;
}

static uint32_t given_bit(const Setting *s) { return 1u << (s - ir_settings); }

static int64_t get_int(const TrainConfig *t, TrainField f)
{
    const char *p = (const char *)t + f.off;
    if (f.size == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void put_int(TrainConfig *t, TrainField f, int64_t v)
{
    char *p = (char *)t + f.off;
    if (f.size == sizeof(int32_t)) {
        int32_t v32 = (int32_t)v;
        memcpy(p, &v32, sizeof v32);
    } else {
        memcpy(p, &v, sizeof v);
    }
}

bool ir_train_recheck(const TrainConfig *t, Diag *d)
{
    int errors = d->errors;
    /* the first problem only: two settings' checks may see the same one (OneCycleLR's and
     * the optimizer's) */
    for (int i = 0; i < ir_nsettings && d->errors == errors; i++) {
        const SettingKind *k = ir_setting_kind(&ir_settings[i], t);
        if (!k || !k->check)
            continue;
        SrcLoc at[SETTING_MAX_VALUES];
        for (int v = 0; v < SETTING_MAX_VALUES; v++)
            at[v] = t->at[i].file ? t->at[i] : t->loc;
        k->check(t, at, d);
    }
    return d->errors == errors;
}

const SettingKind *ir_setting_kind(const Setting *s, const TrainConfig *t)
{
    if (s->def_kind < 0 && !(t->given & given_bit(s)))
        return NULL;
    if (s->kind.size == 0)
        return &s->kinds[0];
    int64_t id = get_int(t, s->kind);
    for (int k = 0; k < s->nkinds; k++)
        if (s->kinds[k].id == id)
            return &s->kinds[k];
    return NULL;
}

bool ir_setting_has_value(const Setting *s, const SettingKind *k, const char *name)
{
    for (int i = 0; i < s->ncommon; i++)
        if (!strcmp(s->common[i].spec.name, name))
            return true;
    for (int j = 0; j < s->nkinds; j++)
        for (int i = 0; (!k || k == &s->kinds[j]) && i < s->kinds[j].nvalues; i++)
            if (!strcmp(s->kinds[j].values[i].spec.name, name))
                return true;
    return false;
}

int ir_setting_values(const Setting *s, const SettingKind *k, const SettingValue **out)
{
    int n = 0;
    for (int i = 0; i < s->ncommon; i++)
        out[n++] = &s->common[i];
    for (int i = 0; i < k->nvalues; i++)
        out[n++] = &k->values[i];
    return n;
}

void ir_setting_get(const SettingValue *v, const TrainConfig *t, AttrVal *out)
{
    const char *p = (const char *)t + v->field.off;
    memset(out, 0, sizeof *out);
    out->n = 1;
    switch (v->spec.type) {
    case ATTR_INT:
    case ATTR_ENUM:
        out->i[0] = get_int(t, v->field);
        out->f[0] = (double)out->i[0];
        out->e = (int)out->i[0];
        if (v->spec.type == ATTR_ENUM)
            out->s = v->spec.choices[out->e];
        break;
    case ATTR_FLOAT: memcpy(&out->f[0], p, sizeof(double)); break;
    case ATTR_FLOATS: /* the values given, then NaN up to max_len */
        memcpy(out->f, p, sizeof(double) * (size_t)v->spec.max_len);
        out->n = v->spec.max_len;
        while (out->n > v->spec.min_len && isnan(out->f[out->n - 1]))
            out->n--;
        break;
    case ATTR_INTS: {
        IntList l;
        memcpy(&l, p, sizeof l);
        out->n = l.n;
        for (int i = 0; i < l.n; i++) {
            out->i[i] = l.v[i];
            out->f[i] = (double)l.v[i];
        }
        break;
    }
    case ATTR_BOOL: memcpy(&out->b, p, sizeof(bool)); break;
    case ATTR_STRING: memcpy(&out->s, p, sizeof(const char *)); break;
    }
}

void ir_setting_put(const SettingValue *v, TrainConfig *t, const AttrVal *val)
{
    char *p = (char *)t + v->field.off;
    switch (v->spec.type) {
    case ATTR_INT: put_int(t, v->field, val->i[0]); break;
    case ATTR_ENUM: put_int(t, v->field, val->e); break;
    case ATTR_FLOAT: memcpy(p, &val->f[0], sizeof(double)); break;
    case ATTR_FLOATS: {
        double f[ATTR_MAX_LIST];
        for (int i = 0; i < v->spec.max_len; i++)
            f[i] = i < val->n ? val->f[i] : NAN;
        memcpy(p, f, sizeof(double) * (size_t)v->spec.max_len);
        break;
    }
    case ATTR_INTS: {
        IntList l = {.n = val->n};
        memcpy(l.v, val->i, sizeof l.v);
        memcpy(p, &l, sizeof l);
        break;
    }
    case ATTR_BOOL: memcpy(p, &val->b, sizeof(bool)); break;
    case ATTR_STRING: memcpy(p, &val->s, sizeof(const char *)); break;
    }
}

SrcLoc ir_setting_at(const TrainConfig *t, const char *name)
{
    const Setting *s = ir_setting_find(name);
    return s && t->at[s - ir_settings].file ? t->at[s - ir_settings] : t->loc;
}

void ir_setting_unset(const Setting *s, TrainConfig *t)
{
    AttrVal zero = {0};
    for (int k = 0; k < s->nkinds; k++)
        for (int v = 0; v < s->kinds[k].nvalues; v++)
            ir_setting_put(&s->kinds[k].values[v], t, &zero);
    t->given &= ~given_bit(s);
    t->at[s - ir_settings] = (SrcLoc){0};
}

void ir_setting_choose(const Setting *s, const SettingKind *k, TrainConfig *t, bool keep_common)
{
    if (s->kind.size)
        put_int(t, s->kind, k->id);
    t->given |= given_bit(s);
    const SettingValue *vals[SETTING_MAX_VALUES];
    int n = ir_setting_values(s, k, vals);
    for (int i = keep_common ? s->ncommon : 0; i < n; i++) {
        AttrSpec spec = vals[i]->spec;
        AttrVal def;
        spec.def = ir_setting_default(s, k, i);
        attr_parse_default(&spec, &def);
        ir_setting_put(vals[i], t, &def);
    }
}

const char *ir_setting_default(const Setting *s, const SettingKind *k, int i)
{
    if (i < s->ncommon && k->common_defaults && k->common_defaults[i])
        return k->common_defaults[i];
    const SettingValue *vals[SETTING_MAX_VALUES];
    ir_setting_values(s, k, vals);
    return vals[i]->spec.def;
}

void ir_train_defaults(TrainConfig *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        if (s->def_kind >= 0)
            ir_setting_choose(s, &s->kinds[s->def_kind], t, false);
    }
    t->given = 0; /* defaults, not written */
}

/* ---- writing ---- */

static void write_value(StrBuf *sb, const SettingValue *v, const TrainConfig *t, bool yaml)
{
    AttrVal val;
    ir_setting_get(v, t, &val);
    if (v->spec.type == ATTR_STRING)
        attr_quote(sb, val.s ? val.s : "", yaml);
    else
        attr_format(sb, &v->spec, &val);
}

void ir_train_write(StrBuf *sb, const TrainConfig *t, TrainSyntax syn)
{
    bool yaml = syn == TRAIN_YAML;
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        const SettingKind *k = ir_setting_kind(s, t);
        if (!k) {
            if (syn == TRAIN_DUMP)
                sb_printf(sb, "  %s none\n", s->name);
            continue;
        }
        const SettingValue *vals[SETTING_MAX_VALUES];
        int n = ir_setting_values(s, k, vals);
        bool bare = n == 1 && k->positional[0] && !strcmp(k->positional[0], vals[0]->spec.name);
        /* .net:  name [kind] (value | key=value...)
         * YAML:  name: value | {key: value, ...} | kind | {kind: value} | {kind: {...}} */
        sb_printf(sb, yaml ? "  %s:" : "  %s", s->name);
        int open = 0;
        if (k->name && yaml && n > 0)
            sb_printf(sb, " {%s:", k->name), open++;
        else if (k->name)
            sb_printf(sb, " %s", k->name);
        if (yaml && n > 0 && !bare)
            sb_puts(sb, " {"), open++;
        for (int v = 0; v < n; v++) {
            if (bare)
                sb_putc(sb, ' ');
            else if (yaml)
                sb_printf(sb, "%s%s: ", v ? ", " : "", vals[v]->spec.name);
            else
                sb_printf(sb, " %s=", vals[v]->spec.name);
            write_value(sb, vals[v], t, yaml);
        }
        while (open--)
            sb_putc(sb, '}');
        sb_putc(sb, '\n');
    }
}

/* ---- netrun's flags ---- */

static void add_flag(SettingFlag *out, int *n, const Setting *s, const SettingValue *v,
                     const char *flag)
{
    bool two = v && v->spec.type == ATTR_BOOL;
    for (int neg = 0; neg <= two && *n < SETTING_MAX_FLAGS; neg++) {
        SettingFlag *f = &out[(*n)++];
        snprintf(f->name, sizeof f->name, neg ? "--no-%s" : "%s", neg ? flag + 2 : flag);
        f->setting = s;
        f->value = v;
        f->negated = neg;
    }
}

int ir_setting_flags(SettingFlag *out)
{
    int n = 0;
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        if (s->flag)
            add_flag(out, &n, s, NULL, s->flag);
        for (int c = 0; c < s->ncommon; c++)
            if (s->common[c].flag)
                add_flag(out, &n, s, &s->common[c], s->common[c].flag);
        for (int k = 0; k < s->nkinds; k++)
            for (int v = 0; v < s->kinds[k].nvalues; v++)
                if (s->kinds[k].values[v].flag)
                    add_flag(out, &n, s, &s->kinds[k].values[v], s->kinds[k].values[v].flag);
    }
    return n;
}

const SettingKind *ir_setting_kind_of(const Setting *s, const SettingValue *v)
{
    for (int k = 0; k < s->nkinds; k++)
        for (int i = 0; i < s->kinds[k].nvalues; i++)
            if (&s->kinds[k].values[i] == v)
                return &s->kinds[k];
    return NULL;
}

void ir_setting_flags_help(StrBuf *sb)
{
    static const char *const metavar[] = {
        [ATTR_INT] = "N", [ATTR_INTS] = "N,N...", [ATTR_FLOAT] = "X",   [ATTR_FLOATS] = "X,X...",
        [ATTR_BOOL] = "", [ATTR_ENUM] = "NAME",   [ATTR_STRING] = "DIR"};
    SettingFlag flags[SETTING_MAX_FLAGS];
    int n = ir_setting_flags(flags);
    for (int i = 0; i < n; i++) {
        const SettingFlag *f = &flags[i];
        const Setting *s = f->setting;
        if (f->negated) /* listed with the plain one */
            continue;
        StrBuf left, help;
        sb_init(&left);
        sb_init(&help);
        sb_puts(&left, f->name);
        if (!f->value) { /* --optimizer SGD|Adam|AdamW */
            for (int k = 0; k < s->nkinds; k++)
                sb_printf(&left, "%c%s", k ? '|' : ' ', s->kinds[k].name);
            sb_puts(&help, s->help);
            if (s->def_kind >= 0)
                sb_printf(&help, " (default %s)", s->kinds[s->def_kind].name);
            sb_puts(&help, "; a new kind takes its defaults");
            for (int c = 0; c < s->ncommon; c++)
                sb_printf(&help, ", %s kept where the file or a flag wrote it",
                          s->common[c].spec.name);
        } else { /* --lr X: what it sets, where (unless the flag says it), its default */
            const AttrSpec *a = &f->value->spec;
            const SettingKind *k = ir_setting_kind_of(s, f->value);
            if (a->type == ATTR_BOOL)
                sb_printf(&left, ", --no-%s", f->name + 2);
            else
                sb_printf(&left, " %s", metavar[a->type]);
            sb_puts(&help, a->help);
            StrBuf where;
            sb_init(&where);
            if (k && k->name) /* data idx, loss cross_entropy */
                sb_printf(&where, "%s %s", s->name, k->name);
            else if (strcmp(f->name + 2, s->name) != 0) /* optimizer */
                sb_puts(&where, s->name);
            if (a->def)
                sb_printf(&where, "%sdefault %s", where.len ? "; " : "", a->def);
            /* a common value some kinds default otherwise (lr: RMSprop 0.01, Adadelta 1) */
            int ci = -1;
            for (int c = 0; c < s->ncommon; c++)
                if (f->value == &s->common[c])
                    ci = c;
            for (int kk = 0; ci >= 0 && kk < s->nkinds; kk++)
                if (s->kinds[kk].common_defaults && s->kinds[kk].common_defaults[ci])
                    sb_printf(&where, ", %s %s", s->kinds[kk].name,
                              s->kinds[kk].common_defaults[ci]);
            if (where.len)
                sb_printf(&help, " (%s)", where.data);
            sb_free(&where);
        }
        if (left.len > 18) /* the help on a line of its own */
            sb_printf(sb, "  %s\n  %-18s %s\n", left.data, "", help.data);
        else
            sb_printf(sb, "  %-18s %s\n", left.data, help.data);
        sb_free(&left);
        sb_free(&help);
    }
}

/* ---- the docs' table ---- */

/* "int, 1 to 1,048,576", "2 floats, 0 to 1", "bool" */
static void type_text(StrBuf *sb, const AttrSpec *a)
{
    static const char *const names[] = {
        [ATTR_INT] = "int",       [ATTR_INTS] = "ints", [ATTR_FLOAT] = "float",
        [ATTR_FLOATS] = "floats", [ATTR_BOOL] = "bool", [ATTR_ENUM] = "name",
        [ATTR_STRING] = "string"};
    if (a->type == ATTR_INTS || a->type == ATTR_FLOATS) {
        if (a->min_len == a->max_len)
            sb_printf(sb, "%d ", a->max_len);
        else
            sb_printf(sb, "%d to %d ", a->min_len, a->max_len);
    }
    sb_puts(sb, names[a->type]);
    char lo[32], hi[32];
    if (a->type == ATTR_INT || a->type == ATTR_INTS)
        sb_printf(sb, ", %s to %s", fmt_thousands(lo, (int64_t)a->min),
                  fmt_thousands(hi, (int64_t)a->max));
    else if (a->type == ATTR_FLOAT || a->type == ATTR_FLOATS)
        sb_printf(sb, ", %g to %g", a->min, a->max);
}

/* `--lr`, `--shuffle`, `--no-shuffle` */
static void flag_text(StrBuf *sb, const char *flag, bool two)
{
    if (flag)
        sb_printf(sb, two ? "`%s`, `--no-%s`" : "`%s`", flag, flag + 2);
}

/* | setting | kind | value | type | default | flag | meaning | for one value; `value` is
 * the name of a setting's only value (batch), left out */
static void value_row(StrBuf *sb, const char *setting, const SettingValue *v)
{
    const AttrSpec *a = &v->spec;
    sb_printf(sb, "| %s | | ", setting);
    if (strcmp(a->name, "value") != 0)
        sb_printf(sb, "`%s`", a->name);
    sb_puts(sb, " | ");
    type_text(sb, a);
    sb_printf(sb, " | %s | ", a->def ? a->def : "required");
    flag_text(sb, v->flag, a->type == ATTR_BOOL);
    sb_printf(sb, " | %s |\n", a->help);
}

/* "; by position: mean, std" */
static void by_position(StrBuf *sb, const SettingKind *k)
{
    for (int i = 0; k->positional[i]; i++)
        sb_printf(sb, "%s`%s`", i ? ", " : "; by position: ", k->positional[i]);
}

void ir_list_settings(StrBuf *sb)
{
    sb_puts(sb, "| setting | kind | value | type | default | netrun flag | meaning |\n"
                "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < ir_nsettings; i++) {
        const Setting *s = &ir_settings[i];
        char name[64];
        snprintf(name, sizeof name, "`%s`", s->name);
        bool named = s->kinds[0].name != NULL;
        if (!named && s->kinds[0].nvalues == 1 && s->def_kind >= 0) { /* batch: one row */
            value_row(sb, name, &s->kinds[0].values[0]);
            continue;
        }
        sb_printf(sb, "| %s | | | | ", name);
        if (s->def_kind < 0)
            sb_puts(sb, "none");
        else if (named)
            sb_printf(sb, "`%s`", s->kinds[s->def_kind].name);
        sb_puts(sb, " | ");
        flag_text(sb, s->flag, false);
        sb_printf(sb, " | %s", s->help);
        if (!named)
            by_position(sb, &s->kinds[0]);
        if (s->string_kind >= 0)
            sb_printf(sb, "; `%s \"DIR\"` is `%s %s \"DIR\"`", s->name, s->name,
                      s->kinds[s->string_kind].name);
        sb_puts(sb, " |\n");
        for (int c = 0; c < s->ncommon; c++)
            value_row(sb, "", &s->common[c]);
        for (int k = 0; k < s->nkinds; k++) {
            const SettingKind *kd = &s->kinds[k];
            if (kd->name) {
                sb_printf(sb, "| | `%s` | | | | | %s", kd->name, kd->help);
                by_position(sb, kd);
                sb_puts(sb, " |\n");
            }
            for (int c = 0; c < s->ncommon && kd->common_defaults; c++)
                if (kd->common_defaults[c]) { /* its own default for a common value */
                    SettingValue own = s->common[c];
                    own.spec.def = kd->common_defaults[c];
                    value_row(sb, "", &own);
                }
            for (int v = 0; v < kd->nvalues; v++)
                value_row(sb, "", &kd->values[v]);
        }
    }
}
