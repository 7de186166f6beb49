/* runtime.h: the interpreter of a shape-checked IR: model memory, forward and backward,
 * losses, optimisers, lr schedules, checkpoints and the training loop behind netrun.
 *
 * Design choice: a Model owns a few large blocks sized once from the inferred shapes
 * (parameters, gradients, optimiser state, activations, activation gradients, per-layer
 * scratch); every tensor is a view into them, and forward, backward and the optimiser step
 * allocate nothing. Layers run through their LayerOps hooks, so the runtime never names a
 * layer kind. */
#ifndef NETC_RUNTIME_H
#define NETC_RUNTIME_H

#include <signal.h>

#include "data.h"
#include "ir.h"
#include "safetensors.h"

/* ---- model ---- */

/* What the memory plan may do beyond running the nodes as written, one at a time. Each is
 * exact (the same bits as without it); rt_model_new turns them all on (rt_plan_default), and
 * tests turn them off one by one to check that. */
typedef struct RtPlan {
    bool in_place;   /* a node with ops->inplace may write its output over its input
                        (NodePlan.in_place); off also turns after_pool off, which needs it */
    bool after_pool; /* an activation that commutes with max may run after the max pool
                        that follows it (NodePlan.after_pool) */
    bool fused_pool; /* a node with ops->fuses_pool may compute the max pool after it
                        (NodePlan.pool_k) */
    bool fused_act;  /* a node with ops->fuses_act may apply the activation that follows it
                        (NodePlan.fused, NodePlan.act) */
    bool recompute;  /* a node with ops->recomputable may keep its output a part at a time
                        and run its forward again in backward (NodePlan.local) */
    int part;        /* rows of a part, or 0: as many as fit the cache (tests set a few, so
                        that a thread runs several parts; the chunks, and so the bits, may
                        then differ from the default's) */
} RtPlan;

extern const RtPlan rt_plan_default; /* all on */

/* Everything the runtime decided for one node: its views into the model's blocks, where its
 * output's gradient lives, and the order it runs in (plan.c). */
typedef struct NodePlan {
    float *out;      /* (max_batch, node out), images channels-last; the input's memory
                        when the node is a view or runs in place */
    float *saved;    /* (max_batch, ops->saved(node)), or NULL */
    float **scratch; /* [thread] -> ops->scratch(node) floats, or NULL */
    float *params[NODE_MAX_PARAMS]; /* views into Model.params (Model.bufs for a buffer),
                                       PyTorch layout */
    float *grads[NODE_MAX_PARAMS];  /* the same into Model.grads; NULL for a buffer */
    int *inputs;                    /* [ninputs] the producers' indices; -1: the network's input */
    bool view; /* shares its input's memory (Flatten of one channel, Identity): no copy
                  forward or backward */
    /* Writes its output over its input: it can (ops->inplace), its input is not the
     * model's and has no other reader, and the input's producer neither reads its own
     * output in backward nor is a view (whose memory belongs to a node before it), nor is a
     * max pool whose output an activation moved after it (after_pool) reads in backward. */
    bool in_place;
    /* An activation that commutes with max, whose only reader is a max pool, run after that
     * pool on the pool's output: it must run in place (so its input, the memory the pool
     * reads, holds the values before the activation). The pool's late_act names it. */
    bool after_pool;
    int late_act; /* the activation that runs after this max pool, or -1 */
    /* The window of the max pool whose output the node computes in its forward
     * (ops->fuses_pool), or 0: its only reader, or the only reader of an activation that
     * runs after the pool. pool_of is that max pool's index, or -1. */
    int pool_k, pool_of;
    bool pooled; /* a max pool whose output the node that feeds it computes */
    /* An activation whose producer applies it (ops->fuses_act), in its forward and its
     * backward: its output is its producer's memory (under in_place's conditions but the
     * kind's own .inplace), and it runs in no pass of its own. The producer's act names it
     * (else -1). */
    bool fused;
    int act;
    /* The output lives a part at a time, in each thread's slot (out + thread * part rows),
     * not for the whole batch: a recomputable node (ops->recomputable) all of whose
     * readers run in its region (so between its barrier and the next), none of them writing
     * over it; its forward runs again at the start of that region's backward. Its fused
     * activation's output is local too. */
    bool local;
    /* The gradient of this node's output: the node whose gradient it is (itself, or for a
     * view, a moved or a fused activation its input's gsrc; -1 for the network's input); for a node
     * that is its own gsrc, the node whose backward writes it first (its last reader), and
     * where it lives: a slot of gcount rows at goff floats in each thread's gradient arena,
     * or, when it must outlive a barrier (batch statistics), gbatch (max_batch rows). */
    int gsrc, first_writer;
    size_t goff;
    float *gbatch;
    /* batch statistics (ops->batch_sums): the barrier's per-node memory */
    size_t nsums;          /* doubles per block: the larger of training's and evaluation's */
    float *stats;          /* ops->stats(node) floats */
    double *fsums, *bsums; /* [chunk][ops->batch_sums(node)] partial sums, then the total */
} NodePlan;

typedef struct Model {
    const Graph *g; /* not owned */
    int max_batch;
    RtPlan opts;
    size_t nparam_floats;
    float *params; /* all parameters, node order, each 16-float aligned */
    float *grads;  /* same layout */
    size_t nbuf_floats;
    float *bufs;    /* all buffers (running statistics), node order, 16-float aligned */
    NodePlan *plan; /* [node] */
    float *input;   /* (max_batch, input), in PyTorch's order */
    float *xin;     /* the input channels-last, as the first layer takes it (or input) */
    float *logits;  /* the last node's output in PyTorch's order (or its out) */
    float *dlast;   /* dlogits channels-last, when the last node outputs an image */
    float *garena;  /* per thread: gsize floats of output gradients (NodePlan.goff) */
    size_t gsize;
    float *gtemp; /* per thread: ntemp blocks of tsize floats, for a gradient that adds to
                     one already written, and for a moved activation's */
    size_t tsize;
    int ntemp;
    int *segments; /* the nodes that need batch statistics in a training pass (each cuts
                      it at a barrier), ascending */
    int nsegments;
    int *esegments; /* the same in an evaluation pass */
    int nesegments;
    int nthreads;     /* threads of a pass (at most; never more than chunks) */
    int part;         /* rows a thread runs through the net at once (may be lowered after
                         rt_model_new, never raised) */
    int max_chunks;   /* parts are grouped into at most this many chunks, each with its own
                         gradients (may be lowered after rt_model_new) */
    float *cgrads;    /* gradients of chunks 1.. (chunk 0 writes grads), same layout */
    Rng *crng;        /* each chunk's dropout RNG, drawn from rng at every forward */
    int *chunk_off;   /* [2 * max_chunks] scratch: each chunk's first row and row count */
    float *dlogits;   /* (max_batch, outputs) */
    int32_t *labels;  /* (max_batch) */
    float *target;    /* (max_batch, outputs): one-hot for mse */
    double *rowloss;  /* (max_batch): each row's loss, summed in row order */
    int rank, nranks; /* this process's place in a data-parallel job (dist.h): it runs the
                         rank-th of nranks ranges of each pass's chunks; 0 and 1 alone */
    void *block;      /* the one allocation all of the above live in */
    Rng rng;          /* dropout */
    /* --profile (rt_profile_enable): each thread's seconds in each node's forward [0] and
     * backward [1] during the pass region running now, [thread][node][2]; and the wall time
     * of every region so far, shared out among the nodes by those seconds, [node][2] */
    double *prof_t, *prof_w;
    double prof_fold; /* seconds spent adding the chunks' gradients */
} Model;

/* Plans and allocates the memory for batches of up to max_batch, with every plan option
 * on. NULL (after a message) when the graph is not shaped or memory runs out. */
Model *rt_model_new(const Graph *g, int max_batch, Diag *d);
/* The same with the plan options given. */
Model *rt_model_new_opts(const Graph *g, int max_batch, const RtPlan *opts, Diag *d);
void rt_model_free(Model *m);
/* Makes m one of nranks processes of a data-parallel job (dist.h): its passes run only
 * the rank-th range of chunks, and the losses, batch statistics and gradients are combined
 * so that every process ends each step with the same bits as one process alone. */
void rt_model_distribute(Model *m, int rank, int nranks);
/* The rows [*r0, *r1) of a pass over `batch` rows that this process runs (all of them
 * alone; may be empty when the batch has fewer chunks than processes). */
void rt_local_rows(const Model *m, int batch, int *r0, int *r1);
/* Times every node's forward and backward from now on (rt_profile_* in profile.c). */
bool rt_profile_enable(Model *m);
/* Initialises every parameter with its layer's initialiser from one seeded RNG, in node
 * order, and seeds the dropout RNG from the same stream. */
void rt_model_init(Model *m, uint64_t seed);
int64_t rt_outputs(const Model *m); /* features of the last node */
/* Node i's parameter views (its n->nparams first entries), PyTorch layout. */
static inline float *const *rt_node_params(const Model *m, int i) { return m->plan[i].params; }
/* Runs the net on m->input (batch rows); returns the last node's output. */
const float *rt_forward(Model *m, int batch, bool training);
/* Backward from m->dlogits through every layer, filling the gradients. */
void rt_backward(Model *m, int batch);
/* Loss of the last forward against m->labels (cross-entropy with the train section's
 * label_smoothing); fills m->dlogits (this process's rows) when grad is true. The rows'
 * losses are added in row order, whatever the number of processes. */
float rt_loss(Model *m, LossKind loss, int batch, bool grad);

/* ---- optimisers and schedules ---- */

typedef struct Optim {
    OptKind kind;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    double alpha, rho, lr_decay; /* RMSprop, Adadelta, Adagrad */
    bool nesterov, amsgrad, maximize, centered;
    int64_t step; /* optimiser steps taken (Adam's t) */
    size_t n;     /* floats */
    /* owned state, n floats each: m is Adam's exp_avg, SGD's and RMSprop's momentum_buffer,
     * Adadelta's acc_delta; v is Adam's exp_avg_sq, RMSprop's and Adadelta's square_avg,
     * Adagrad's sum (SGD keeps a v of zeros, as checkpoints have always held it) */
    float *m, *v;
    float *vmax;   /* AMSGrad: the largest v so far (max_exp_avg_sq); NULL without */
    float *gavg;   /* RMSprop centered: grad_avg; NULL without */
    bool buf_made; /* SGD: its momentum buffer exists (from the first step with momentum) */
} Optim;

Optim *optim_new(const TrainConfig *t, size_t n);
void optim_free(Optim *o);

/* The state arrays a checkpoint holds, each as optim.<key>.<parameter>. */
#define OPTIM_MAX_STATES 3
typedef struct OptimState {
    float *a;
    const char *key;
    bool nonneg; /* averages of squares: never negative */
} OptimState;
int optim_states(const Optim *o, OptimState s[OPTIM_MAX_STATES]);
/* One step over all n parameters, as torch.optim takes it on float32 parameters (the same
 * bits), with learning rate lr and, when momentum >= 0, that SGD or RMSprop momentum or Adam
 * beta1 instead of the config's (OneCycleLR's cycling; beta1 also enters the bias
 * correction). */
void optim_step(Optim *o, float *params, const float *grads, double lr, double momentum);
/* The train section's clip_grad_norm or clip_grad_value (neither: nothing) on m->grads, as
 * torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do between backward() and the step. */
void grad_clip(Model *m, const TrainConfig *t);

typedef struct Schedule {
    const TrainConfig *t;
    int64_t total_steps;        /* OneCycleLR */
    const struct TrainPos *pos; /* ReduceLROnPlateau: its lr (NULL: the config's lr) */
} Schedule;

/* Whether the schedule can run `steps` optimiser steps, `epochs` of `per_epoch` batches, as
 * PyTorch's would: OneCycleLR stops with an error past its total_steps, and cannot schedule a
 * rise of one step. Reports at the schedule's statement. */
bool sched_check(const TrainConfig *t, int epochs, int per_epoch, Diag *d);

/* The lr for a given epoch (0-based) and global step (0-based), as torch.optim.lr_scheduler
 * computes it: epoch-wise schedules use `epoch`, OneCycleLR and warm-up use `step`. */
double sched_lr(const Schedule *s, int epoch, int64_t step);
/* ReduceLROnPlateau's step at an epoch's end, as scheduler.step(metric) takes it: the
 * metric (the validation loss, or accuracy with mode max) better than the best by the
 * threshold, or a bad epoch; past patience of them (cooldown not running) the lr times
 * factor, down to min_lr, unless the change is below eps. sched_plateau_start starts the
 * state of a run that has none (the config's lr, no best yet). */
void sched_plateau_step(const TrainConfig *t, struct TrainPos *pos, double metric);
void sched_plateau_start(const TrainConfig *t, struct TrainPos *pos);
/* OneCycleLR's cycled momentum (SGD momentum or Adam beta1) at `step`, or -1 if none. */
double sched_momentum(const Schedule *s, int64_t step);
/* Before training from o's step (a resumed run): the state that follows from the steps
 * taken, not kept in checkpoints (whether SGD's momentum buffer was made yet). */
void optim_resume(Optim *o, const Schedule *s);

/* ---- checkpoints ---- */

/* Training position stored with a checkpoint so --resume continues exactly. */
typedef struct TrainPos {
    int epoch;     /* epoch in progress (0-based) */
    int batch;     /* batches of it already done */
    int64_t step;  /* optimiser steps so far */
    Rng epoch_rng; /* shuffle RNG at the start of the epoch (its order derives from it) */
    Rng drop_rng;  /* the model's dropout RNG now */
    /* the best accuracy an epoch's end reached (validation set, else test set), and that
     * epoch (1-based; 0: none yet): for the best weights and early_stop */
    double best;
    int best_epoch;
    /* the epoch's sums so far (its printed and recorded loss and accuracy), and the loss's
     * sum over the steps since the last "step" line of the record */
    double loss_sum;
    int64_t correct, seen;
    double log_loss;
    int64_t log_steps;
    /* what the position counts in (0: not known, from an older checkpoint): the training
     * images of an epoch, and OneCycleLR's cycle in steps (rt_train sets both) */
    int64_t images, cycle;
    /* what the run trains (0: not known): 1 + the CRC-32 of the network's canonical text
     * without its train section, and of the training set's images and labels (netrun sets
     * both; a resume with another network, or inside an epoch with other images, is refused) */
    int64_t layers, data;
    /* ReduceLROnPlateau's state (sched_plateau_step), once started: the lr it has set, the
     * best value so far (+-inf: none yet), the bad epochs counted and the cooldown's epochs
     * left */
    bool plateau_on;
    double plateau_lr, plateau_best;
    int plateau_bad, plateau_cooldown;
} TrainPos;

/* Writes the weights and buffers under their state_dict names, atomically: with o and pos
 * NULL, a weights file that PyTorch's strict load_state_dict takes as it is; with both, a
 * training checkpoint for --resume, which adds the optimiser state under "optim.m.<name>"
 * and "optim.v.<name>" and the training position in the metadata (docs/architecture.md). */
bool ckpt_save(const char *path, const Model *m, const Optim *o, const TrainPos *pos, Diag *d);
/* The most optimiser steps a checkpoint can count (a double's exact integers: Adam's t). */
#define CKPT_MAX_STEP ((int64_t)1 << 53)
/* Loads weights by name from a weights file or a training checkpoint; every parameter must be
 * present with its shape (in any dtype, converted as Tensor.copy_ converts it), and no other
 * tensor may be present except "optim.*" ones. */
bool ckpt_load(const char *path, Model *m, Diag *d);
/* Whether path (weights or a checkpoint) was trained with t's seed and validation share, when
 * it says (netc.seed, netc.val): --eval-on val on another split would count images it trained
 * on. false after a message. */
bool ckpt_check_split(const char *path, const TrainConfig *t, Diag *d);
/* Loads weights, optimiser state and position from a training checkpoint for --resume; the run
 * may then replace the file (io_may_rewrite), as it goes on in it. */
bool ckpt_resume(const char *path, Model *m, Optim *o, TrainPos *pos, Diag *d);

/* ---- training, evaluation, prediction ---- */

typedef struct RunOptions {
    int threads;            /* 0: the kernels' default */
    int64_t max_steps;      /* stop after this many optimiser steps in all (0: no limit) */
    const char *save;       /* where the weights go (PyTorch's state_dict), or NULL */
    const char *checkpoint; /* where the training checkpoint goes, or NULL */
    const char *resume;     /* the checkpoint the position came from (for messages), or NULL */
    const char *best;       /* where the weights of the best epoch go, or NULL */
    const Dataset *val;     /* the validation set, evaluated after every epoch, or NULL */
    struct Record *record;  /* the run's record (record.h: metrics.jsonl), or NULL */
    const char *banner;     /* printed to out once the run's checks pass (a refused resume
                               prints its error alone), or NULL */
    /* A run resumed into its folder: the command, for the record's "resume" line, written
     * when there is something to train (argc 0: none) */
    int argc;
    char **argv;
    int log_every; /* a "step" line in the record every this many steps (0: none) */
    bool progress; /* a live progress bar (stdout is a terminal) */
    bool quiet;    /* only the final result (the test line) */
    FILE *out;     /* where progress and results go */
    /* When it becomes non-zero (a signal handler sets it), training stops after the step in
     * progress and saves the position. NULL: never. */
    const volatile sig_atomic_t *stop;
    /* Called after every optimiser step with the steps taken so far, or NULL. */
    void (*on_step)(void *ctx, int64_t step);
    void *ctx;
} RunOptions;

typedef struct EvalResult {
    double loss, accuracy;
    int n;
} EvalResult;

/* How a training run ended. */
typedef struct TrainResult {
    bool ok;          /* false: a data problem, a loss that is not finite, or a failed save
                         (reported; the last checkpoint stays) */
    bool interrupted; /* *RunOptions.stop was set: stopped after a step, the position saved */
    bool early_stop;  /* stopped by early_stop after an epoch without a better accuracy */
    int saves;        /* times the weights and checkpoint were written */
    int64_t steps;    /* optimiser steps taken by this call */
    double seconds;   /* the time they took (the steps alone: no evaluation, no saving) */
    double comm_seconds, comm_bytes; /* the processes' exchanges inside those steps */
    double comm_wait;                /* NETRUN_MPI_WAIT=1: their waits for the slowest */
} TrainResult;

/* normalize's mean and std for each of `channels` channels (one value given: for all); false
 * when the train section does not normalize. */
bool rt_norm(const TrainConfig *t, int channels, float mean[NORM_MAX], float std[NORM_MAX]);
/* Checks that images of c channels, h rows and w columns fit the net's input, dimension by
 * dimension: an image input (CxHxW) takes exactly that shape, a vector input of N values
 * any image of N values. Reports with `what` (the file) and both shapes. */
bool rt_check_image(const Model *m, int c, int h, int w, const char *what, Diag *d);
/* Checks that the net's output is a vector of class scores, which a loss, an accuracy or a
 * predicted class needs (an image output is not flattened quietly); reports at the last
 * layer, with a hint. */
bool rt_check_scores(const Model *m, Diag *d);
/* Checks that a data set fits the net for training or evaluation: at least one image,
 * images of the input's size (rt_check_image), an output of class scores (rt_check_scores),
 * labels below the outputs. Reports with the file (images or labels, the names to show) and
 * record. */
bool rt_check_dataset(const Model *m, const Dataset *ds, const char *images, const char *labels,
                      bool cropped, Diag *d);
/* The images' part of it, with one name for both (--predict's inputs, whose labels are not a
 * file): any output shape passes. */
bool rt_check_data(const Model *m, const Dataset *ds, const char *what, Diag *d);
/* Trains with g->train (already merged with command-line overrides). pos is the starting
 * position (zeroed, or from ckpt_resume with o), and afterwards where training stopped.
 * A position already at the end (epochs, max_steps) trains and saves nothing, with a
 * warning. */
TrainResult rt_train(Model *m, Optim *o, TrainPos *pos, const Dataset *train, const Dataset *test,
                     const RunOptions *ro, Diag *d);
/* Whether every layer that normalises with its batch's statistics (BatchNorm in training, or
 * in evaluation without running statistics) sees more than one value per channel in every
 * batch of n samples in batches of `batch` (the short last one only if reaches_last):
 * PyTorch refuses one value ("Expected more than 1 value per channel when training"),
 * where the variance is 0 and the output the bias alone. Reports at the first such layer. */
bool rt_check_batch_stats(const Model *m, int batch, int n, bool reaches_last, bool training,
                          Diag *d);
EvalResult rt_evaluate(Model *m, const Dataset *ds, int batch, const TrainConfig *t);
/* The same, counting every image in cm (outputs x outputs, zeroed by the caller) at
 * cm[label * outputs + the largest output's index]: the confusion matrix. */
EvalResult rt_evaluate_cm(Model *m, const Dataset *ds, int batch, const TrainConfig *t,
                          int64_t *cm);

/* --profile: where a training step's time goes, in mean seconds per step. */
typedef struct Profile {
    int steps, batch;
    double step;              /* a whole step, measured around it */
    double data, loss, optim; /* the batch's images converted; the loss; the update */
    double fold;              /* the chunks' gradients added (rt_backward's end) */
    double *node;             /* [node][2]: forward, backward (owned; free()) */
} Profile;
/* Trains `warmup` steps, then `steps` more timed: full batches of the train section's size
 * from the start of ds in file order (the model and o change as in training). false after
 * a message when memory runs out. */
bool rt_profile(Model *m, Optim *o, const Dataset *ds, int warmup, int steps, Profile *pr, Diag *d);

/* Threads for the kernels (0: leave the default). */
void rt_set_threads(int n);
int rt_threads(void);

#endif
