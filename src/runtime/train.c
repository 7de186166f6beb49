/* train.c: the training loop, evaluation and the progress display.
 *
 * Design choice: the loop's whole position (epoch, batch, step and the RNG states) lives in
 * one TrainPos that checkpoints store, and each epoch's shuffle is drawn from the RNG state
 * saved at the epoch's start, so training N epochs and training K, stopping and resuming
 * for N-K give the same bits (on any number of threads: see model.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist.h"
#include "kernels.h"
#include "record.h"
#include "runtime.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void rt_set_threads(int n)
{
#ifdef _OPENMP
    if (n > 0)
        omp_set_num_threads(n);
#else
    (void)n;
#endif
}

int rt_threads(void) { return kernels_threads(); }

bool rt_check_image(const Model *m, int c, int h, int w, const char *what, Diag *d)
{
    const Shape in = m->g->input;
    bool fits = c < 1 || h < 1 || w < 1 ? false
                : in.rank == 1          ? in.d[0] == (int64_t)c * h * w
                : in.rank == 2          ? c == 1 && in.d[0] == h && in.d[1] == w
                               : in.rank == 3 && in.d[0] == c && in.d[1] == h && in.d[2] == w;
    if (!fits) {
        char s[64];
        diag_error(d, (SrcLoc){0},
                   "%s: images are %dx%dx%d (channels x rows x columns); network '%s' takes "
                   "input %s",
                   what, c, h, w, m->g->name, shape_str(in, s));
        if (m->g->input_loc.line > 0)
            diag_note(d, m->g->input_loc, "the network's input is declared here");
    }
    return fits;
}

/* Where the network's outputs are made, after a label beyond them: the last layer, and for
 * a Linear the value that fits `classes` (0: not known). */
static void outputs_note(const Model *m, int classes, Diag *d)
{
    const Node *last = m->g->nodes.len ? GRAPH_NODE(m->g, m->g->nodes.len - 1) : NULL;
    while (last && last->ninputs == 1 && last->kind != LAYER_LINEAR && last->out.rank == 1 &&
           last->inputs[0] && last->inputs[0]->out.rank == 1)
        last = last->inputs[0]; /* through a Softmax or a Dropout to the Linear */
    if (!last || last->head_loc.line <= 0)
        return;
    int64_t outs = rt_outputs(m);
    diag_note(d, last->head_loc, "the network's %lld output%s from '%s' here", (long long)outs,
              outs == 1 ? " comes" : "s come", last->ops->name);
    if (classes > 0 && last->kind == LAYER_LINEAR)
        diag_hint(d, last->head_loc,
                  loc_yaml(last->head_loc) ? "one output a class: Linear: %d"
                                           : "one output a class: Linear %d",
                  classes);
}

bool rt_check_scores(const Model *m, Diag *d)
{
    /* both losses score a sample's label against a vector of class scores; PyTorch's
     * cross_entropy on an image output would be a loss per pixel, which labels of one class
     * per sample cannot feed, so netrun does not flatten the image quietly */
    const Node *last = m->g->nodes.len ? GRAPH_NODE(m->g, m->g->nodes.len - 1) : NULL;
    if (last && last->out.rank != 1) {
        char s[64];
        diag_error(d, last->head_loc,
                   "the loss compares each label with one score per class, but the network's "
                   "output (%s '%s') is %s, not a vector",
                   last->ops->name, last->path, shape_str(last->out, s));
        const Node *lin = last; /* a Linear on an image, the usual cause: Flatten forgotten */
        while (lin && lin->kind != LAYER_LINEAR && lin->ninputs == 1)
            lin = lin->inputs[0];
        if (lin && lin->kind == LAYER_LINEAR && lin->in.rank == 3)
            diag_hint(d, lin->head_loc,
                      "'Linear' on %s maps only its last dimension, as torch.nn.Linear does; "
                      "add 'Flatten' before it",
                      shape_str(lin->in, s));
        else if (last->out.rank == 3 && last->out.d[1] * last->out.d[2] == 1)
            diag_hint(d, last->head_loc,
                      "end the network with Flatten: its %lld channels become the scores",
                      (long long)last->out.d[0]);
        else
            diag_hint(d, last->head_loc,
                      "end the network with Flatten and a Linear to the number of classes");
        return false;
    }
    return true;
}

static bool check_dataset(const Model *m, const Dataset *ds, const char *images, const char *labels,
                          bool cropped, bool scored, Diag *d)
{
    if (ds->n <= 0) {
        diag_error(d, (SrcLoc){0}, "%s: contains no images", images);
        return false;
    }
    const TrainConfig *t = &m->g->train;
    if (scored && !rt_check_scores(m, d))
        return false;
    if (ds->features) { /* a table: its features are the net's input */
        if (cropped && t->crop > 0) {
            diag_error(d, (SrcLoc){0},
                       "%s: a table has no images to crop; drop 'augment' from the train "
                       "section",
                       images);
            return false;
        }
        if (shape_numel(m->g->input) != ds->cols) {
            char s[64];
            diag_error(d, (SrcLoc){0},
                       "%s: records of %d features, but network '%s' takes input %s (%lld "
                       "values); write 'input %d'",
                       images, ds->cols, m->g->name, shape_str(m->g->input, s),
                       (long long)shape_numel(m->g->input), ds->cols);
            return false;
        }
    } else if (cropped && t->crop > 0) { /* augment: the net takes the crop */
        if (t->crop > ds->rows + 2 * t->pad || t->crop > ds->cols + 2 * t->pad) {
            diag_error(d, (SrcLoc){0},
                       "%s: images of %dx%d padded by %d are smaller than the crop of %d "
                       "(augment)",
                       images, ds->rows, ds->cols, t->pad, t->crop);
            return false;
        }
        char what[4200];
        snprintf(what, sizeof what, "%.4000s, cropped by augment", images);
        if (!rt_check_image(m, dataset_channels(ds), t->crop, t->crop, what, d))
            return false;
    } else if (!rt_check_image(m, dataset_channels(ds), ds->rows, ds->cols, images, d)) {
        return false;
    }
    int nn = ir_norm_values(t);
    if (nn > 1 && ds->features) { /* a table has no channels */
        diag_error(d, (SrcLoc){0},
                   "%s: a table's features take one normalize mean and std for all, but "
                   "normalize gives %d values",
                   images, nn);
        return false;
    }
    if (nn > 1 && nn != dataset_channels(ds)) {
        diag_error(d, (SrcLoc){0},
                   "%s: images of %d channel%s, but normalize gives %d values; give one for "
                   "every channel, or one for all",
                   images, dataset_channels(ds), dataset_channels(ds) == 1 ? "" : "s", nn);
        return false;
    }
    int64_t outs = rt_outputs(m);
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] >= outs && ds->lines) {
            diag_error(d, (SrcLoc){0},
                       "%s:%d: column %d ('%s'): class %d is beyond the network's %lld outputs",
                       labels, ds->lines[i], ds->label_column, ds->label_name, ds->labels[i],
                       (long long)outs);
            outputs_note(m, 0, d);
            return false;
        } else if (ds->labels[i] >= outs) {
            int top = 0, p = 0, first = 0;
            for (int k = 0; k < ds->n; k++)
                top = ds->labels[k] > top ? ds->labels[k] : top;
            while (p < ds->nparts - 1 && i >= ds->part_end[p]) /* the file it is in */
                first = ds->part_end[p++];
            diag_error(d, (SrcLoc){0},
                       "%s: %d classes (labels 0 to %d), but the network has %lld output%s "
                       "(label %d of record %d%s%s is the first beyond them)",
                       labels, top + 1, top, (long long)outs, outs == 1 ? "" : "s", ds->labels[i],
                       i - first, ds->nparts ? " of " : "", ds->nparts ? ds->part[p] : "");
            outputs_note(m, top + 1, d);
            return false;
        }
    return true;
}

bool rt_check_dataset(const Model *m, const Dataset *ds, const char *images, const char *labels,
                      bool cropped, Diag *d)
{
    return check_dataset(m, ds, images, labels, cropped, true, d);
}

bool rt_check_data(const Model *m, const Dataset *ds, const char *what, Diag *d)
{
    return check_dataset(m, ds, what, what, false, false, d);
}

bool rt_norm(const TrainConfig *t, int channels, float mean[NORM_MAX], float std[NORM_MAX])
{
    int nm = ir_norm_count(t->mean), ns = ir_norm_count(t->std);
    for (int c = 0; c < channels && c < NORM_MAX; c++) {
        mean[c] = (float)t->mean[nm == 1 ? 0 : c];
        std[c] = (float)t->std[ns == 1 ? 0 : c];
    }
    return t->std[0] > 0;
}

/* The batch of `count` images from position start of the order idx (NULL: the data set's
 * order): every label, and the images of this process's rows. In training (epoch >= 0) with
 * augment, image i of the epoch is cropped and flipped as a stream of its own draws it, from
 * the seed, the epoch and i: the same whoever converts it, and again after a resume. */
static void fill_batch(Model *m, const Dataset *ds, const int *idx, int start, int count,
                       const TrainConfig *t, int epoch)
{
    bool aug = epoch >= 0 && t->crop > 0;
    size_t per = aug ? (size_t)dataset_channels(ds) * (size_t)t->crop * (size_t)t->crop
                     : dataset_image_bytes(ds);
    float mean[NORM_MAX], std[NORM_MAX];
    bool norm = rt_norm(t, dataset_channels(ds), mean, std);
    int r0, r1;
    rt_local_rows(m, count, &r0, &r1);
    for (int b = 0; b < count; b++) {
        int i = idx ? idx[start + b] : start + b;
        float *dst = m->input + (size_t)b * per;
        if (b >= r0 && b < r1 && aug) {
            Rng r;
            /* image i's draw in this epoch: its own stream for every seed, epoch and image
             * (seed ^ epoch << 32 ^ i gave seed s image i the crops of seed s' image
             * i ^ s ^ s') */
            rng_seed(&r, rng_key(rng_key(rng_key(t->seed, 0x4155474d454e54ull), (uint64_t)epoch),
                                 (uint64_t)i));
            int top = (int)rng_below(&r, (uint64_t)(ds->rows + 2 * t->pad - t->crop) + 1);
            int left = (int)rng_below(&r, (uint64_t)(ds->cols + 2 * t->pad - t->crop) + 1);
            bool flip = t->flip && (rng_next(&r) >> 63);
            dataset_image_crop_to_float(dst, ds, i, t->crop, t->pad, top, left, flip,
                                        norm ? mean : NULL, norm ? std : NULL);
        } else if (b >= r0 && b < r1) {
            dataset_image_to_float(dst, ds, i, norm ? mean : NULL, norm ? std : NULL);
        }
        m->labels[b] = ds->labels[i];
    }
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Rows of the batch whose largest output is the label, over every process; cm (or NULL)
 * counts this process's rows by label and prediction. */
static int count_correct(const Model *m, const float *logits, int batch, int64_t *cm)
{
    int N = (int)rt_outputs(m), ok = 0, r0, r1;
    rt_local_rows(m, batch, &r0, &r1);
    for (int b = r0; b < r1; b++) {
        int pred = argmax(logits + (size_t)b * (size_t)N, N);
        ok += pred == m->labels[b];
        if (cm)
            cm[(size_t)m->labels[b] * (size_t)N + (size_t)pred]++;
    }
    return m->nranks > 1 ? (int)dist_sum(ok) : ok;
}

EvalResult rt_evaluate(Model *m, const Dataset *ds, int batch, const TrainConfig *t)
{
    return rt_evaluate_cm(m, ds, batch, t, NULL);
}

EvalResult rt_evaluate_cm(Model *m, const Dataset *ds, int batch, const TrainConfig *t, int64_t *cm)
{
    EvalResult r = {0};
    if (batch > m->max_batch)
        batch = m->max_batch;
    double loss = 0;
    int correct = 0;
    for (int start = 0; start < ds->n; start += batch) {
        int count = ds->n - start < batch ? ds->n - start : batch;
        fill_batch(m, ds, NULL, start, count, t, -1);
        const float *logits = rt_forward(m, count, false);
        loss += (double)rt_loss(m, t->loss, count, false) * count;
        correct += count_correct(m, logits, count, cm);
    }
    int64_t N = rt_outputs(m);
    for (int64_t i = 0; cm && m->nranks > 1 && i < N * N; i++)
        cm[i] = dist_sum(cm[i]);
    r.n = ds->n;
    r.loss = ds->n ? loss / ds->n : 0;
    r.accuracy = ds->n ? (double)correct / ds->n : 0;
    return r;
}

static void shuffle(int *idx, int n, Rng *rng)
{
    for (int i = 0; i < n; i++)
        idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1);
        int tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

static void fmt_time(char *buf, double s)
{
    int t = (int)(s + 0.5);
    if (t >= 3600)
        sprintf(buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        sprintf(buf, "%d:%02d", t / 60, t % 60);
}

static void progress(FILE *out, int epoch, int epochs, int done, int total, double loss, double acc,
                     double ips, double eta)
{
    char bar[32], eta_s[16], rate[32];
    int width = 24, fill = total ? done * width / total : width;
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[width] = 0;
    fmt_time(eta_s, eta);
    fprintf(out, "\repoch %d/%d [%s] %d/%d  loss %.3f  acc %.3f  %s img/s  ETA %s \033[K", epoch,
            epochs, bar, done, total, loss, acc, fmt_thousands(rate, (int64_t)ips), eta_s);
    fflush(out);
}

/* Whether a stop was requested (a signal), in any process: all of them agree. */
static bool stop_requested(const Model *m, const RunOptions *ro)
{
    bool on = ro->stop && *ro->stop;
    return m->nranks > 1 ? dist_any(on) : on;
}

/* Whether training stops before the next step: the step limit, or a stop request (which
 * sets *interrupted). */
static bool must_stop(const Model *m, const RunOptions *ro, const TrainPos *pos, bool *interrupted)
{
    if (stop_requested(m, ro))
        *interrupted = true;
    return *interrupted || (ro->max_steps && pos->step >= ro->max_steps);
}

/* Whether the run writes anything: weights, a checkpoint or both. */
static bool saving(const RunOptions *ro) { return ro->save || ro->checkpoint; }

/* A training checkpoint, then weights (either NULL: not that one), each atomically, written
 * by the first process alone; every process learns whether both were. */
static bool save_files(const char *ckpt, const char *weights, const Model *m, const Optim *o,
                       const TrainPos *pos, Diag *d)
{
    bool ok = m->rank > 0 || ((!ckpt || ckpt_save(ckpt, m, o, pos, d)) &&
                              (!weights || ckpt_save(weights, m, NULL, NULL, d)));
    return m->nranks > 1 ? dist_all(ok) : ok;
}

static bool save(const RunOptions *ro, const Model *m, const Optim *o, const TrainPos *pos, Diag *d)
{
    return save_files(ro->checkpoint, ro->save, m, o, pos, d);
}

/* Whether early_stop stops the run once epochs_done epochs are done. */
static bool stops_early(const TrainConfig *t, const TrainPos *pos, int epochs_done)
{
    return t->early_stop > 0 && pos->best_epoch > 0 &&
           epochs_done - pos->best_epoch >= t->early_stop;
}

/* What the run writes, for messages: "W and C", or the one of them. */
static const char *saved_files(char *buf, size_t n, const RunOptions *ro)
{
    if (ro->save && ro->checkpoint)
        snprintf(buf, n, "%s and %s", ro->save, ro->checkpoint);
    else
        snprintf(buf, n, "%s", ro->save ? ro->save : ro->checkpoint ? ro->checkpoint : "");
    return buf;
}

/* A position at or past the end of the run: says so (nothing is trained or saved). */
static bool at_end(const TrainPos *pos, const RunOptions *ro, const TrainConfig *t, Diag *d)
{
    char why[128];
    if (pos->epoch >= t->epochs)
        snprintf(why, sizeof why, "%d epoch%s done, and the run has %d", pos->epoch,
                 pos->epoch == 1 ? "" : "s", t->epochs);
    else if (ro->max_steps && pos->step >= ro->max_steps)
        snprintf(why, sizeof why, "%lld steps done, and the run stops after step %lld",
                 (long long)pos->step, (long long)ro->max_steps);
    else if (pos->batch == 0 && stops_early(t, pos, pos->epoch))
        snprintf(why, sizeof why,
                 "it stopped early after epoch %d, %d epoch%s after its best (%.4f, epoch %d)",
                 pos->epoch, pos->epoch - pos->best_epoch,
                 pos->epoch - pos->best_epoch == 1 ? "" : "s", pos->best, pos->best_epoch);
    else
        return false;
    /* the files there are (a run of 0 epochs has none) */
    RunOptions there = *ro;
    if (there.save && access(there.save, F_OK) != 0)
        there.save = NULL;
    if (there.checkpoint && access(there.checkpoint, F_OK) != 0)
        there.checkpoint = NULL;
    char files[8300];
    saved_files(files, sizeof files, &there);
    diag_warning(d, (SrcLoc){0}, "nothing to train: %s%s%s%s", why, saving(&there) ? "; " : "",
                 files,
                 !saving(&there)                  ? (saving(ro) ? "; nothing is saved" : "")
                 : there.save && there.checkpoint ? " are left as they are"
                                                  : " is left as it is");
    return true;
}

bool rt_check_batch_stats(const Model *m, int batch, int n, bool reaches_last, bool training,
                          Diag *d)
{
    int last = reaches_last ? n % batch : 0;
    const char *when = training ? "in training" : "in evaluation without running statistics";
    for (int i = 0; i < m->g->nodes.len; i++) {
        const Node *nd = GRAPH_NODE(m->g, i);
        if (!nd->ops->batch_sums || !nd->ops->batch_sums(nd, training))
            continue;
        Shape in = ir_input_shape(nd, 0);
        int64_t per = in.rank == 3 ? in.d[1] * in.d[2] : 1; /* values per channel a sample */
        if ((int64_t)batch * per == 1) {
            diag_error(d, nd->head_loc,
                       "%s '%s' normalises each channel over the batch, and a batch of 1 gives "
                       "it one value per channel, which PyTorch refuses %s",
                       nd->ops->name, nd->path, when);
            diag_hint(d, nd->head_loc, "%s",
                      training ? "train with a batch of 2 or more"
                               : "give it running statistics (track_running_stats=true), or "
                                 "take 2 or more samples a batch");
            return false;
        }
        if (per == 1 && last == 1) {
            int better = batch; /* the nearest batch size whose last batch is not 1 */
            int reach = batch > 16 ? batch : 16; /* batch 2 of 163: 3 leaves 1, 4 does not */
            for (int k = 1; k < reach && better == batch; k++)
                better = n % (batch + k) != 1                     ? batch + k
                         : batch - k >= 2 && n % (batch - k) != 1 ? batch - k
                                                                  : batch;
            char ns[32];
            diag_error(d, nd->head_loc,
                       "%s '%s' normalises each channel over the batch, and the last batch "
                       "(%s sample%s in batches of %d) holds 1 sample: one value per channel, "
                       "which PyTorch refuses %s",
                       nd->ops->name, nd->path, fmt_thousands(ns, n), n == 1 ? "" : "s", batch,
                       when);
            if (better != batch)
                diag_hint(d, nd->head_loc,
                          "take a batch size that leaves 0 or at least 2 samples for the last "
                          "batch, e.g. 'batch %d' (--batch %d)",
                          better, better);
            else /* every size near this one leaves 1 */
                diag_hint(d, nd->head_loc,
                          "no batch size near %d leaves more than 1 of %s samples for the "
                          "last batch: %s",
                          batch, ns,
                          training ? "train on more samples, or without this BatchNorm"
                                   : "give it running statistics (track_running_stats=true)");
            return false;
        }
    }
    return true;
}

TrainResult rt_train(Model *m, Optim *o, TrainPos *pos, const Dataset *train, const Dataset *test,
                     const RunOptions *ro, Diag *d)
{
    const TrainConfig *t = &m->g->train;
    FILE *out = ro->out ? ro->out : stdout;
    TrainResult res = {.ok = true};
    int batch = t->batch < m->max_batch ? t->batch : m->max_batch;
    int steps_per_epoch = (train->n + batch - 1) / batch;
    Schedule sched = {.t = t,
                      .total_steps =
                          t->total_steps ? t->total_steps : (int64_t)t->epochs * steps_per_epoch,
                      .pos = pos};
    optim_resume(o, &sched);
    if (t->sched == SCHED_PLATEAU && !test && !ro->val) {
        SrcLoc at = ir_setting_at(t, "schedule");
        diag_error(d, at,
                   "ReduceLROnPlateau watches the validation loss (or the test loss) at each "
                   "epoch's end, and this run has neither set");
        diag_hint(d, at, "hold out a validation set: val 0.1");
        res.ok = false;
        return res;
    }
    sched_plateau_start(t, pos); /* a run that has no state yet (a new one, an older checkpoint) */
    if (pos->epoch < 0 || pos->batch < 0 || pos->step < 0 || pos->batch > steps_per_epoch) {
        /* resuming with other data than it stopped in */
        diag_error(d, (SrcLoc){0},
                   "%s%scannot resume after batch %d of epoch %d: the training data has %d "
                   "batches of %d per epoch (%d images); resume with the data it was trained on",
                   ro->resume ? ro->resume : "", ro->resume ? ": " : "", pos->batch, pos->epoch + 1,
                   steps_per_epoch, batch, train->n);
        res.ok = false;
        return res;
    }
    /* a position inside an epoch counts batches of its images; OneCycleLR's cycle is fixed
     * when the run starts (PyTorch's scheduler refuses to step past it) */
    int64_t cycle = t->sched == SCHED_ONECYCLE ? sched.total_steps : 0;
    const char *rs = ro->resume ? ro->resume : "", *sep = ro->resume ? ": " : "";
    if (pos->batch > 0 && pos->images && pos->images != train->n) {
        diag_error(d, (SrcLoc){0},
                   "%s%sstopped inside an epoch of %lld training images, but the training data "
                   "has %d; resume with the data it was trained on",
                   rs, sep, (long long)pos->images, train->n);
        res.ok = false;
        return res;
    }
    if (pos->step > 0 && pos->cycle && cycle && pos->cycle != cycle && t->total_steps > 0) {
        diag_error(d, (SrcLoc){0},
                   "%s%sOneCycleLR's cycle is %lld steps, but this run's total_steps makes it "
                   "%lld: a second, stretched cycle; resume with the total_steps it started "
                   "with, or start a new run",
                   rs, sep, (long long)pos->cycle, (long long)cycle);
        res.ok = false;
        return res;
    }
    if (pos->step > 0 && pos->cycle && cycle && pos->cycle != cycle) {
        diag_error(d, (SrcLoc){0},
                   "%s%sOneCycleLR's cycle is %lld steps, but this run makes it %lld (%d "
                   "epochs of %d batches of %d from %d training images): a second, stretched "
                   "cycle; resume with the epochs, batch size and data it started with, or "
                   "start a new run",
                   rs, sep, (long long)pos->cycle, (long long)cycle, t->epochs, steps_per_epoch,
                   batch, train->n);
        res.ok = false;
        return res;
    }
    pos->images = train->n;
    pos->cycle = cycle;
    /* its last step must fit a checkpoint (a resumed step count is only checked for range) */
    int64_t left = ((int64_t)t->epochs - pos->epoch) * steps_per_epoch - pos->batch;
    if (cycle && pos->step > 0 && left > 0 && pos->step > cycle - left) {
        /* a run that started with these epochs ends on the cycle's last step; a checkpoint
         * further on (edited, or of other epochs) would step past it */
        diag_error(d, (SrcLoc){0},
                   "%s%sresumes at step %lld with %lld steps to go, past the end of OneCycleLR's "
                   "%lld-step cycle (PyTorch's OneCycleLR refuses to step past total_steps)",
                   rs, sep, (long long)pos->step, (long long)left, (long long)cycle);
        res.ok = false;
        return res;
    }
    if (left > 0 && pos->step > CKPT_MAX_STEP - left) {
        diag_error(d, (SrcLoc){0},
                   "%s%scannot resume at step %lld: %lld more steps go past the %lld a checkpoint "
                   "can count",
                   rs, sep, (long long)pos->step, (long long)left, (long long)CKPT_MAX_STEP);
        res.ok = false;
        return res;
    }
    /* the run's steps [pos->step, end) reach an epoch's last batch (step spe - 1 + k spe) */
    int64_t end = (int64_t)t->epochs * steps_per_epoch, first_last = steps_per_epoch - 1;
    if (ro->max_steps > 0 && ro->max_steps < end)
        end = ro->max_steps;
    if (pos->step > first_last)
        first_last +=
            (pos->step - first_last + steps_per_epoch - 1) / steps_per_epoch * steps_per_epoch;
    if (!sched_check(t, t->epochs, steps_per_epoch, d) ||
        !rt_check_batch_stats(m, batch, train->n, first_last < end, true, d) ||
        (test && !rt_check_batch_stats(m, batch, test->n, true, false, d)) ||
        (ro->val && !rt_check_batch_stats(m, batch, ro->val->n, true, false, d))) {
        res.ok = false;
        return res;
    }
    if (ro->banner)
        fputs(ro->banner, out);
    if (at_end(pos, ro, t, d))
        return res;
    if (ro->record && ro->argc) /* resumed into its folder, and it trains: say by what */
        record_resume(ro->record, pos->step, ro->argc, ro->argv);
    int *idx = malloc(sizeof(int) * (size_t)train->n);
    if (!idx) {
        diag_error(d, (SrcLoc){0}, "out of memory for the shuffle of %d images", train->n);
        res.ok = false;
        return res;
    }
    double t_start = now_seconds();
    int64_t images_done = 0, unsaved = 0; /* steps since the last checkpoint */
    bool have_last = false;
    EvalResult last = {0};
    for (; pos->epoch < t->epochs; pos->epoch++, pos->batch = 0) {
        if (must_stop(m, ro, pos, &res.interrupted))
            break;
        /* the epoch's order comes from the RNG as it was when the epoch began */
        Rng r = pos->epoch_rng;
        if (t->shuffle)
            shuffle(idx, train->n, &r);
        else
            for (int i = 0; i < train->n; i++)
                idx[i] = i;
        double e_start = now_seconds();
        int seen = 0; /* images this call trained in this epoch (pos->seen: all of them) */
        if (pos->batch == 0)
            pos->loss_sum = 0, pos->correct = pos->seen = 0;
        double lr = 0;
        for (; pos->batch < steps_per_epoch; pos->batch++) {
            if (must_stop(m, ro, pos, &res.interrupted))
                break;
            int start = pos->batch * batch;
            int count = train->n - start < batch ? train->n - start : batch;
            double t_step = now_seconds();
            DistStats c_step = dist_stats();
            fill_batch(m, train, idx, start, count, t, pos->epoch);
            const float *logits = rt_forward(m, count, true);
            float loss = rt_loss(m, t->loss, count, true);
            if (!isfinite(loss)) {
                if (ro->progress)
                    fputc('\n', out);
                diag_error(d, (SrcLoc){0},
                           "the loss became %s at step %lld (epoch %d, batch %d); stopping",
                           isnan(loss) ? "nan" : "infinite", (long long)pos->step + 1,
                           pos->epoch + 1, pos->batch + 1);
                if (saving(ro) && res.saves) {
                    char files[8300];
                    diag_note(d, (SrcLoc){0}, "the last good save is %s",
                              saved_files(files, sizeof files, ro));
                }
                res.ok = false;
                break;
            }
            pos->correct += count_correct(m, logits, count, NULL);
            rt_backward(m, count);
            grad_clip(m, t);
            lr = sched_lr(&sched, pos->epoch, pos->step);
            optim_step(o, m->params, m->grads, lr, sched_momentum(&sched, pos->step));
            pos->step++;
            res.steps++;
            res.seconds += now_seconds() - t_step;
            DistStats c_end = dist_stats();
            res.comm_seconds += c_end.seconds - c_step.seconds;
            res.comm_bytes += c_end.bytes - c_step.bytes;
            res.comm_wait += c_end.wait - c_step.wait;
            unsaved++;
            pos->log_loss += loss;
            pos->log_steps++;
            if (ro->log_every && pos->step % ro->log_every == 0) { /* the same steps on resume */
                record_line(ro->record, "step", pos->epoch + 1, pos->step, "loss",
                            pos->log_loss / pos->log_steps, "lr", lr, (const char *)NULL);
                pos->log_loss = 0;
                pos->log_steps = 0;
            }
            pos->loss_sum += (double)loss * count;
            pos->seen += count;
            seen += count;
            images_done += count;
            if (ro->progress && !ro->quiet) {
                double el = now_seconds() - e_start;
                double ips = el > 0 ? seen / el : 0;
                double eta = ips > 0 ? (double)(train->n - start - count) / ips : 0;
                progress(out, pos->epoch + 1, t->epochs, pos->batch + 1, steps_per_epoch,
                         pos->loss_sum / (double)pos->seen,
                         (double)pos->correct / (double)pos->seen, ips, eta);
            }
            if (ro->on_step)
                ro->on_step(ro->ctx, pos->step);
        }
        if (!res.ok)
            break;
        bool finished = pos->batch >= steps_per_epoch;
        double el = now_seconds() - e_start;
        if (ro->progress && !ro->quiet)
            fputc('\n', out);
        EvalResult ev = {0}, vev = {0};
        /* a finished epoch is evaluated even when a stop was asked during its last step:
         * its checkpoint is saved at the next epoch's start, so an evaluation skipped here
         * would be lost to the resumed run (its record, best weights and early stop) */
        bool eval = finished && test, veval = finished && ro->val;
        if (eval)
            ev = rt_evaluate(m, test, batch, t);
        if (veval)
            vev = rt_evaluate(m, ro->val, batch, t);
        double tr_loss = pos->seen ? pos->loss_sum / (double)pos->seen : 0,
               tr_acc = pos->seen ? (double)pos->correct / (double)pos->seen : 0;
        if (!ro->quiet) {
            char rate[32];
            fprintf(out, "epoch %d/%d  %s  loss %.4f  acc %.4f", pos->epoch + 1, t->epochs,
                    finished ? "done" : "stopped", tr_loss, tr_acc);
            if (veval)
                fprintf(out, "  val_loss %.4f  val_acc %.4f", vev.loss, vev.accuracy);
            if (eval)
                fprintf(out, "  test_loss %.4f  test_acc %.4f", ev.loss, ev.accuracy);
            fprintf(out, "  lr %.3g  %s img/s  %.1f s\n", lr,
                    fmt_thousands(rate, (int64_t)(el > 0 ? seen / el : 0)), el);
        }
        if (finished)
            record_line(ro->record, "epoch", pos->epoch + 1, pos->step, "loss", tr_loss, "acc",
                        tr_acc, veval ? "val_loss" : "", vev.loss, veval ? "val_acc" : "",
                        vev.accuracy, eval ? "test_loss" : "", ev.loss, eval ? "test_acc" : "",
                        ev.accuracy, "lr", lr, "img_per_s", el > 0 ? seen / el : 0, "seconds", el,
                        "wall", now_seconds() - t_start, (const char *)NULL);
        /* scheduler.step(val_loss) (with mode max, the accuracy): the next epoch's lr */
        if (t->sched == SCHED_PLATEAU && (veval || eval))
            sched_plateau_step(t, pos,
                               t->plateau_mode ? (veval ? vev.accuracy : ev.accuracy)
                                               : (veval ? vev.loss : ev.loss));
        /* the best epoch: by validation accuracy, else by test accuracy */
        bool judged = veval || eval, better = false;
        double acc = veval ? vev.accuracy : ev.accuracy;
        if (judged && (pos->best_epoch == 0 || acc > pos->best)) {
            pos->best = acc;
            pos->best_epoch = pos->epoch + 1;
            better = true;
        }
        if (better && ro->best && !save_files(NULL, ro->best, m, o, pos, d)) {
            res.ok = false;
            break;
        }
        pos->drop_rng = m->rng;
        if (!finished) {
            have_last = false;
            break; /* saved below */
        }
        /* the next epoch's order comes from the RNG as this one left it */
        pos->epoch_rng = r;
        last = ev;
        have_last = eval;
        if (saving(ro)) {
            TrainPos next = *pos;
            next.epoch++;
            next.batch = 0;
            next.loss_sum = 0;
            next.correct = next.seen = 0;
            if (!save(ro, m, o, &next, d)) {
                res.ok = false;
                break;
            }
            res.saves++;
            unsaved = 0;
        }
        if (stops_early(t, pos, pos->epoch + 1)) {
            if (!ro->quiet)
                fprintf(out,
                        "early stop: %d epoch%s without a better %s accuracy than %.4f (epoch "
                        "%d)%s%s\n",
                        pos->epoch + 1 - pos->best_epoch,
                        pos->epoch + 1 - pos->best_epoch == 1 ? "" : "s",
                        ro->val ? "validation" : "test", pos->best, pos->best_epoch,
                        ro->best ? "; those weights are in " : "", ro->best ? ro->best : "");
            res.early_stop = true;
            pos->epoch++;
            pos->batch = 0;
            break;
        }
    }
    free(idx);
    /* stopped inside an epoch, or interrupted before anything was saved: save where it is */
    if (res.ok && saving(ro) && (unsaved || (res.interrupted && !res.saves))) {
        pos->drop_rng = m->rng;
        if (save(ro, m, o, pos, d))
            res.saves++;
        else
            res.ok = false;
    }
    double total = now_seconds() - t_start;
    if (res.ok && !res.interrupted && test) { /* the final result: printed when quiet too */
        EvalResult ev = have_last ? last : rt_evaluate(m, test, batch, t);
        char n[32], rate[32];
        fprintf(out, "test: loss %.4f  accuracy %.4f  (%s images)  train %.1f s, %s img/s\n",
                ev.loss, ev.accuracy, fmt_thousands(n, ev.n), total,
                fmt_thousands(rate, (int64_t)(total > 0 ? images_done / total : 0)));
        if (pos->batch > 0) /* stopped inside an epoch (--steps): no epoch line says where */
            record_line(ro->record, "end", pos->epoch + 1, pos->step, "loss",
                        pos->seen ? pos->loss_sum / (double)pos->seen : 0, "acc",
                        pos->seen ? (double)pos->correct / (double)pos->seen : 0, "test_loss",
                        ev.loss, "test_acc", ev.accuracy, "img_per_s",
                        total > 0 ? images_done / total : 0, "wall", total, (const char *)NULL);
    }
    return res;
}

bool rt_profile(Model *m, Optim *o, const Dataset *ds, int warmup, int steps, Profile *pr, Diag *d)
{
    const TrainConfig *t = &m->g->train;
    size_t nn = (size_t)m->g->nodes.len;
    int batch = t->batch < m->max_batch ? t->batch : m->max_batch;
    if (batch > ds->n)
        batch = ds->n;
    memset(pr, 0, sizeof *pr);
    /* whole batches only: a batch of 1 is what a BatchNorm refuses, as rt_train refuses it */
    if (!rt_check_batch_stats(m, batch, batch, false, true, d))
        return false;
    pr->node = calloc(nn * 2, sizeof(double));
    if (!pr->node || (!m->prof_t && !rt_profile_enable(m))) {
        free(pr->node);
        pr->node = NULL;
        diag_error(d, (SrcLoc){0}, "out of memory for the profile");
        return false;
    }
    Schedule sched = {.t = t, .total_steps = t->total_steps ? t->total_steps : warmup + steps};
    int per_epoch = ds->n / batch;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) { /* the warm-up's times go */
            memset(m->prof_w, 0, sizeof(double) * nn * 2);
            m->prof_fold = 0;
        }
        int start = s % per_epoch * batch;
        double t0 = now_seconds();
        fill_batch(m, ds, NULL, start, batch, t, s / per_epoch);
        double t1 = now_seconds();
        rt_forward(m, batch, true);
        double t2 = now_seconds();
        rt_loss(m, t->loss, batch, true);
        double t3 = now_seconds();
        rt_backward(m, batch);
        double t4 = now_seconds();
        grad_clip(m, t);
        optim_step(o, m->params, m->grads, sched_lr(&sched, 0, s), sched_momentum(&sched, s));
        double t5 = now_seconds();
        if (s >= warmup) {
            pr->data += t1 - t0;
            pr->loss += t3 - t2;
            pr->optim += t5 - t4;
            pr->step += t5 - t0;
        }
    }
    for (size_t k = 0; k < nn * 2; k++)
        pr->node[k] = m->prof_w[k] / steps;
    pr->steps = steps;
    pr->batch = batch;
    pr->data /= steps;
    pr->loss /= steps;
    pr->optim /= steps;
    pr->step /= steps;
    pr->fold = m->prof_fold / steps;
    return true;
}
