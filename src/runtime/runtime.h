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

#include "data.h"
#include "ir.h"
#include "safetensors.h"

/* ---- model ---- */

typedef struct Model {
    const Graph *g; /* not owned */
    int max_batch;
    size_t nparam_floats;
    float *params;    /* all parameters, node order, each 16-float aligned */
    float *grads;     /* same layout */
    float **pview;    /* [node * NODE_MAX_PARAMS + p] -> view into params */
    float **gview;    /* same into grads */
    float *input;     /* (max_batch, input), in PyTorch's order */
    float *xin;       /* the input channels-last, as the first layer takes it (or input) */
    float **out;      /* [node] -> (max_batch, node out), images channels-last */
    float *logits;    /* the last node's output in PyTorch's order (or its out) */
    float *dlast;     /* dlogits channels-last, when the last node outputs an image */
    float *dbuf[2];   /* ping-pong activation gradients: per thread, dpart floats each */
    size_t dpart;     /* rows of a part x the largest tensor */
    float **scratch;  /* [thread * nodes + node] -> ops->scratch(node) floats, or NULL */
    float **saved;    /* [node] -> (max_batch, ops->saved(node)), or NULL */
    bool *after_pool; /* [node]: an activation run after the max pool that follows it */
    int *pool_k;      /* [node]: the window of the max pool whose output the node computes
                         in its forward (ops->fuses_pool), or 0 */
    int *pool_of;     /* [node]: that max pool's index, or -1 */
    bool *pooled;     /* [node]: a max pool whose output the node before computes */
    int nthreads;     /* threads of a pass (at most; never more than chunks) */
    int part;         /* rows a thread runs through the net at once (may be lowered after
                         rt_model_new, never raised) */
    int max_chunks;   /* parts are grouped into at most this many chunks, each with its own
                         gradients (may be lowered after rt_model_new) */
    float *cgrads;    /* gradients of chunks 1.. (chunk 0 writes grads), same layout */
    Rng *crng;        /* each chunk's dropout RNG, drawn from rng at every forward */
    float *dlogits;   /* (max_batch, outputs) */
    int32_t *labels;  /* (max_batch) */
    float *target;    /* (max_batch, outputs): one-hot for mse */
    void *block;      /* the one allocation all of the above live in */
    Rng rng;          /* dropout */
} Model;

/* Plans and allocates the memory for batches of up to max_batch. NULL (after a message)
 * when the graph is not shaped or memory runs out. */
Model *rt_model_new(const Graph *g, int max_batch, Diag *d);
void rt_model_free(Model *m);
/* Initialises every parameter with its layer's initialiser from one seeded RNG, in node
 * order, and seeds the dropout RNG from the same stream. */
void rt_model_init(Model *m, uint64_t seed);
int64_t rt_outputs(const Model *m); /* features of the last node */
/* Runs the net on m->input (batch rows); returns the last node's output. */
const float *rt_forward(Model *m, int batch, bool training);
/* Backward from m->dlogits through every layer, filling the gradients. */
void rt_backward(Model *m, int batch);
/* Loss of the last forward against m->labels (cross-entropy with the train section's
 * label_smoothing); fills m->dlogits when grad is true. */
float rt_loss(Model *m, LossKind loss, int batch, bool grad);

/* ---- optimisers and schedules ---- */

typedef struct Optim {
    OptKind kind;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    bool nesterov;
    int64_t step; /* optimiser steps taken (Adam's t) */
    size_t n;     /* floats */
    float *m, *v; /* Adam moments, or SGD momentum buffer in m; owned */
} Optim;

Optim *optim_new(const TrainConfig *t, size_t n);
void optim_free(Optim *o);
/* One step over all n parameters: p -= update(grad) with learning rate lr (and momentum or
 * beta1 override when >= 0, for OneCycleLR's cycling). */
void optim_step(Optim *o, float *params, const float *grads, double lr, double momentum);

typedef struct Schedule {
    const TrainConfig *t;
    int total_steps; /* OneCycleLR */
} Schedule;

/* The lr for a given epoch (0-based) and global step (0-based), as torch.optim.lr_scheduler
 * computes it: epoch-wise schedules use `epoch`, OneCycleLR and warm-up use `step`. */
double sched_lr(const Schedule *s, int epoch, int64_t step);
/* OneCycleLR's cycled momentum (SGD momentum or Adam beta1) at `step`, or -1 if none. */
double sched_momentum(const Schedule *s, int64_t step);

/* ---- checkpoints ---- */

/* Training position stored with a checkpoint so --resume continues exactly. */
typedef struct TrainPos {
    int epoch;     /* epoch in progress (0-based) */
    int batch;     /* batches of it already done */
    int64_t step;  /* optimiser steps so far */
    Rng epoch_rng; /* shuffle RNG at the start of the epoch (its order derives from it) */
    Rng drop_rng;  /* the model's dropout RNG now */
} TrainPos;

/* Writes the weights under their state_dict names (and, when o and pos are given, the
 * optimiser state under "optim." and the position in the metadata), atomically. */
bool ckpt_save(const char *path, const Model *m, const Optim *o, const TrainPos *pos, Diag *d);
/* Loads weights by name; every parameter must be present with its shape as F32, and no
 * other tensor may be present except "optim.*" ones. */
bool ckpt_load(const char *path, Model *m, Diag *d);
/* Loads weights, optimiser state and position for --resume. */
bool ckpt_resume(const char *path, Model *m, Optim *o, TrainPos *pos, Diag *d);

/* ---- training, evaluation, prediction ---- */

typedef struct RunOptions {
    int threads;       /* 0: the kernels' default */
    int64_t max_steps; /* stop after this many optimiser steps in all (0: no limit) */
    const char *save;  /* checkpoint path, or NULL */
    bool progress;     /* a live progress bar (stdout is a terminal) */
    bool quiet;
    FILE *out; /* where progress and results go */
} RunOptions;

typedef struct EvalResult {
    double loss, accuracy;
    int n;
} EvalResult;

/* Checks that a data set fits the net: image size against the input, labels against the
 * outputs. Reports with the file (images or labels, the names to show) and record. */
bool rt_check_dataset(const Model *m, const Dataset *ds, const char *images, const char *labels,
                      Diag *d);
/* The same with one name for both (images whose labels are not a file, as --predict's). */
bool rt_check_data(const Model *m, const Dataset *ds, const char *what, Diag *d);
/* Trains with g->train (already merged with command-line overrides). pos is the starting
 * position (zeroed, or from ckpt_resume with o). Returns false on a data problem or a
 * loss that is not finite (the last checkpoint stays). */
bool rt_train(Model *m, Optim *o, TrainPos *pos, const Dataset *train, const Dataset *test,
              const RunOptions *ro, Diag *d);
EvalResult rt_evaluate(Model *m, const Dataset *ds, int batch, const TrainConfig *t);

/* Threads for the kernels (0: leave the default). */
void rt_set_threads(int n);
int rt_threads(void);

#endif
