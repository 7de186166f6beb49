/* optim.c: SGD (momentum, dampening, nesterov, weight_decay, maximize), Adam, AdamW, RMSprop,
 * Adagrad and Adadelta exactly as torch.optim's single-tensor implementations (torch 1.13,
 * _single_tensor_*) compute them on float32 parameters, and the lr schedules of
 * torch.optim.lr_scheduler in closed form (epoch-wise ones by epoch, OneCycleLR and the
 * linear warm-up by optimiser step).
 *
 * Design choice: every step repeats PyTorch's operations one for one, with its roundings.
 * PyTorch forms its scalars (1 - beta, beta**step, lr / bias_correction1, sqrt of
 * bias_correction2, 1 - lr * weight_decay) as Python floats, i.e. doubles from the config's
 * doubles (and from OneCycleLR's cycled momentum), and rounds each once to float where it
 * meets a float32 tensor; so do we, never from an already rounded beta. Tensor operations
 * are float32, in PyTorch's order: `a.mul_(s)` is a * (float)s, `a.add_(b, alpha=s)` is
 * fmaf((float)s, b, a) and `a.addcmul_(b, c, value=s)` is fmaf((float)s * b, c, a) (ATen's
 * vectorised CPU kernels fuse these multiply-adds, and so does its scalar tail: measured on
 * torch 1.13), `a.addcdiv_(b, c, value=s)` is a + (float)s * b / c, unfused. Each line
 * below quotes the PyTorch statement it computes; no product feeds a sum outside fmaf, so a
 * compiler that contracts a * b + c (clang's default) changes nothing. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define PI 3.14159265358979323846

Optim *optim_new(const TrainConfig *t, size_t n)
{
    Optim *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = t->opt;
    o->lr = t->lr;
    o->momentum = t->momentum;
    o->dampening = t->dampening;
    o->weight_decay = t->weight_decay;
    o->beta1 = t->betas[0];
    o->beta2 = t->betas[1];
    o->eps = t->eps;
    o->alpha = t->alpha;
    o->rho = t->rho;
    o->lr_decay = t->lr_decay;
    o->nesterov = t->nesterov;
    o->maximize = t->maximize;
    /* a flag's --optimizer SGD leaves the file's Adam values set */
    o->amsgrad = (t->opt == OPT_ADAM || t->opt == OPT_ADAMW) && t->amsgrad;
    o->centered = t->opt == OPT_RMSPROP && t->centered;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    o->vmax = o->amsgrad ? calloc(n ? n : 1, sizeof(float)) : NULL;
    o->gavg = o->centered ? calloc(n ? n : 1, sizeof(float)) : NULL;
    if (!o->m || !o->v || (o->amsgrad && !o->vmax) || (o->centered && !o->gavg)) {
        optim_free(o);
        return NULL;
    }
    if (o->kind == OPT_ADAGRAD) /* torch.full_like(p, initial_accumulator_value) */
        for (size_t i = 0; i < n; i++)
            o->v[i] = (float)t->initial_accumulator_value;
    return o;
}

int optim_states(const Optim *o, OptimState s[OPTIM_MAX_STATES])
{
    int k = 0;
    if (o->kind != OPT_ADAGRAD)
        s[k++] = (OptimState){o->m, "m", o->kind == OPT_ADADELTA};
    s[k++] = (OptimState){o->v, "v", true};
    if (o->vmax)
        s[k++] = (OptimState){o->vmax, "vmax", true};
    if (o->gavg)
        s[k++] = (OptimState){o->gavg, "grad_avg", false};
    return k;
}

void optim_free(Optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o->vmax);
    free(o->gavg);
    free(o);
}

static void sgd_step(Optim *o, float *p, const float *grad, double lr, double momentum)
{
    float wd = (float)o->weight_decay, mom = (float)momentum, damp = (float)(1 - o->dampening);
    float neg_lr = (float)-lr;
    /* torch.optim makes the buffer (`buf is None`) at the first step whose momentum is not
     * 0: step 1, unless OneCycleLR cycles the momentum up from max_momentum=0 */
    bool decay = o->weight_decay != 0, first = !o->buf_made;
    if (momentum != 0)
        o->buf_made = true;
    for (size_t i = 0; i < o->n; i++) {
        float d_p = o->maximize ? -grad[i] : grad[i]; /* d_p = d_p_list[i] or -d_p_list[i] */
        if (decay)                                    /* d_p = d_p.add(param, alpha=weight_decay) */
            d_p = fmaf(wd, p[i], d_p);
        if (momentum != 0) {
            /* buf = clone(d_p) at the first step, else
             * buf.mul_(momentum).add_(d_p, alpha=1 - dampening) */
            float buf = first ? d_p : fmaf(damp, d_p, o->m[i] * mom);
            o->m[i] = buf;
            /* nesterov: d_p = d_p.add(buf, alpha=momentum), else d_p = buf */
            d_p = o->nesterov ? fmaf(mom, buf, d_p) : buf;
        }
        p[i] = fmaf(neg_lr, d_p, p[i]); /* param.add_(d_p, alpha=-lr) */
    }
}

/* PyTorch's count of the steps taken: state['step'], a float32 tensor that += 1 leaves at
 * 2^24 once it gets there (16,777,216 + 1 rounds back to it), so that the bias corrections
 * and Adagrad's decay stop there too. */
static double torch_step(int64_t step) { return step < (1 << 24) ? (double)step : 16777216.0; }

static void adam_step(Optim *o, float *p, const float *grad, double lr, double beta1)
{
    double beta2 = o->beta2, step = torch_step(o->step);
    double bias_correction1 = 1 - pow(beta1, step), bias_correction2 = 1 - pow(beta2, step);
    float b1 = (float)beta1, b2 = (float)beta2, one_b1 = (float)(1 - beta1);
    float one_b2 = (float)(1 - beta2), bc2_sqrt = (float)sqrt(bias_correction2);
    float neg_step_size = (float)-(lr / bias_correction1), eps = (float)o->eps;
    float wd = (float)o->weight_decay, shrink = (float)(1 - lr * o->weight_decay);
    bool adamw = o->kind == OPT_ADAMW, l2 = !adamw && o->weight_decay != 0;
    for (size_t i = 0; i < o->n; i++) {
        float g = o->maximize ? -grad[i] : grad[i]; /* grad = grads[i] or -grads[i] */
        if (adamw)                                  /* param.mul_(1 - lr * weight_decay) */
            p[i] *= shrink;
        else if (l2) /* grad = grad.add(param, alpha=weight_decay) */
            g = fmaf(wd, p[i], g);
        /* exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1) */
        o->m[i] = fmaf(one_b1, g, o->m[i] * b1);
        /* exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2) */
        o->v[i] = fmaf(one_b2 * g, g, o->v[i] * b2);
        /* denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps), with amsgrad
         * torch.maximum(max_exp_avg_sq, exp_avg_sq) (a NaN wins) in place of exp_avg_sq */
        float v = o->v[i];
        if (o->vmax) {
            float vm = o->vmax[i];
            v = vm != vm || !(v != v || v > vm) ? vm : v;
            o->vmax[i] = v;
        }
        float denom = sqrtf(v) / bc2_sqrt + eps;
        /* param.addcdiv_(exp_avg, denom, value=-step_size) */
        p[i] += neg_step_size * o->m[i] / denom;
    }
}

/* torch.optim.RMSprop: square_avg in v, momentum_buffer in m, grad_avg in gavg. */
static void rmsprop_step(Optim *o, float *p, const float *grad, double lr, double momentum)
{
    float alpha = (float)o->alpha, one_alpha = (float)(1 - o->alpha), eps = (float)o->eps;
    float wd = (float)o->weight_decay, mom = (float)momentum, neg_lr = (float)-lr;
    bool decay = o->weight_decay != 0;
    for (size_t i = 0; i < o->n; i++) {
        float g = o->maximize ? -grad[i] : grad[i]; /* grad = grad if not maximize else -grad */
        if (decay)                                  /* grad = grad.add(param, alpha=weight_decay) */
            g = fmaf(wd, p[i], g);
        /* square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha) */
        float sq = fmaf(one_alpha * g, g, o->v[i] * alpha);
        o->v[i] = sq;
        float avg;
        if (o->gavg) {
            /* grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha);
             * avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_() */
            float ga = fmaf(one_alpha, g, o->gavg[i] * alpha);
            o->gavg[i] = ga;
            avg = sqrtf(fmaf(-1.0f * ga, ga, sq));
        } else {
            avg = sqrtf(sq); /* avg = square_avg.sqrt() */
        }
        avg += eps; /* avg = avg.add_(eps) */
        if (momentum > 0) {
            /* buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr) */
            float buf = o->m[i] * mom + 1.0f * g / avg;
            o->m[i] = buf;
            p[i] = fmaf(neg_lr, buf, p[i]);
        } else {
            p[i] += neg_lr * g / avg; /* param.addcdiv_(grad, avg, value=-lr) */
        }
    }
}

/* torch.optim.Adagrad: state_sum in v (from initial_accumulator_value). */
static void adagrad_step(Optim *o, float *p, const float *grad, double lr)
{
    /* clr = lr / (1 + (step - 1) * lr_decay), step a float32 count's item() */
    double clr = lr / (1 + (torch_step(o->step) - 1) * o->lr_decay);
    float neg_clr = (float)-clr, eps = (float)o->eps, wd = (float)o->weight_decay;
    bool decay = o->weight_decay != 0;
    for (size_t i = 0; i < o->n; i++) {
        float g = o->maximize ? -grad[i] : grad[i];
        if (decay) /* grad = grad.add(param, alpha=weight_decay) */
            g = fmaf(wd, p[i], g);
        float sum = fmaf(1.0f * g, g, o->v[i]); /* state_sum.addcmul_(grad, grad, value=1) */
        o->v[i] = sum;
        float std = sqrtf(sum) + eps; /* std = state_sum.sqrt().add_(eps) */
        p[i] += neg_clr * g / std;    /* param.addcdiv_(grad, std, value=-clr) */
    }
}

/* torch.optim.Adadelta: square_avg in v, acc_delta in m. */
static void adadelta_step(Optim *o, float *p, const float *grad, double lr)
{
    float rho = (float)o->rho, one_rho = (float)(1 - o->rho), eps = (float)o->eps;
    float wd = (float)o->weight_decay, neg_lr = (float)-lr;
    bool decay = o->weight_decay != 0;
    for (size_t i = 0; i < o->n; i++) {
        float g = o->maximize ? -grad[i] : grad[i];
        if (decay) /* grad = grad.add(param, alpha=weight_decay) */
            g = fmaf(wd, p[i], g);
        /* square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho) */
        float sq = fmaf(one_rho * g, g, o->v[i] * rho);
        o->v[i] = sq;
        float std = sqrtf(sq + eps); /* std = square_avg.add(eps).sqrt_() */
        /* delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad) */
        float delta = sqrtf(o->m[i] + eps) / std * g;
        /* acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho) */
        o->m[i] = fmaf(one_rho * delta, delta, o->m[i] * rho);
        p[i] = fmaf(neg_lr, delta, p[i]); /* param.add_(delta, alpha=-lr) */
    }
}

void optim_step(Optim *o, float *params, const float *grads, double lr, double momentum)
{
    o->step++;
    switch (o->kind) {
    case OPT_SGD: sgd_step(o, params, grads, lr, momentum >= 0 ? momentum : o->momentum); break;
    case OPT_ADAM:
    case OPT_ADAMW: adam_step(o, params, grads, lr, momentum >= 0 ? momentum : o->beta1); break;
    case OPT_RMSPROP:
        rmsprop_step(o, params, grads, lr, momentum >= 0 ? momentum : o->momentum);
        break;
    case OPT_ADAGRAD: adagrad_step(o, params, grads, lr); break;
    case OPT_ADADELTA: adadelta_step(o, params, grads, lr); break;
    }
}

/* torch.norm(x, p) as ATen's CPU kernels compute it, in float32, so that it overflows and
 * underflows where PyTorch's does (1e20 squared is inf): p = 2 in 8 lanes of fused
 * multiply-adds over whole groups of 8, the lanes added in order, then the last n % 8; any
 * other p in order, |x|^p added, then the 1/p-th power; inf the largest |x|, a NaN winning
 * as torch.max lets it. Fed a value at a time (pn_add), as the norms of the tensors are.
 * (Checked against torch 1.13 on random tensors: the same bits for p = 1 and 3; for p = 2
 * too but in 3% of tensors shorter than 40, an ulp apart.) */
typedef struct PNorm {
    double p;
    float s, lane[8], part[8];
    int npart;
} PNorm;

static void pn_add(PNorm *a, float x)
{
    if (isinf(a->p)) {
        if (a->s == a->s && (fabsf(x) > a->s || x != x))
            a->s = fabsf(x);
    } else if (a->p != 2) {
        a->s += a->p == 1 ? fabsf(x) : powf(fabsf(x), (float)a->p);
    } else if ((a->part[a->npart++] = x), a->npart == 8) {
        for (int j = 0; j < 8; j++)
            a->lane[j] = fmaf(a->part[j], a->part[j], a->lane[j]);
        a->npart = 0;
    }
}

static float pn_norm(const PNorm *a)
{
    if (isinf(a->p) || a->p == 1)
        return a->s;
    if (a->p != 2)
        return powf(a->s, 1.0f / (float)a->p);
    float s = a->lane[0];
    for (int j = 1; j < 8; j++)
        s += a->lane[j];
    for (int j = 0; j < a->npart; j++)
        s = fmaf(a->part[j], a->part[j], s);
    return sqrtf(s);
}

/* Parameter q of node i's gradient, and its length (0 for a buffer). */
static size_t grad_of(const Model *m, int i, int q, float **gr)
{
    *gr = m->plan[i].grads[q];
    return *gr ? (size_t)shape_numel(GRAPH_NODE(m->g, i)->params[q].shape) : 0;
}

void grad_clip(Model *m, const TrainConfig *t)
{
    if (!(t->clip_norm > 0) && !(t->clip_value > 0))
        return;
    int nodes = m->g->nodes.len;
    float *gr;
    if (t->clip_value > 0) { /* p.grad.clamp_(min=-clip_value, max=clip_value), a NaN kept */
        float hi = (float)t->clip_value, lo = -hi;
        for (int i = 0; i < nodes; i++)
            for (int q = 0; q < GRAPH_NODE(m->g, i)->nparams; q++)
                for (size_t e = 0, n = grad_of(m, i, q, &gr); e < n; e++)
                    gr[e] = gr[e] < lo ? lo : gr[e] > hi ? hi : gr[e];
        return;
    }
    /* total_norm = torch.norm(torch.stack([torch.norm(g, p) for g in grads]), p), with p
     * as ATen takes it for a float32 tensor: a float (1e39 is inf, the largest |g|) */
    double p = t->clip_norm_type > FLT_MAX ? INFINITY : (float)t->clip_norm_type;
    PNorm total = {.p = p};
    for (int i = 0; i < nodes; i++)
        for (int q = 0; q < GRAPH_NODE(m->g, i)->nparams; q++) {
            PNorm one = {.p = p};
            size_t n = grad_of(m, i, q, &gr);
            for (size_t e = 0; e < n; e++)
                pn_add(&one, gr[e]);
            if (gr)
                pn_add(&total, pn_norm(&one));
        }
    /* clip_coef = max_norm / (total_norm + 1e-6), a Python float over a float32 tensor:
     * tensor.reciprocal() * max_norm; then torch.clamp(clip_coef, max=1.0), a NaN kept */
    float coef = 1.0f / (pn_norm(&total) + 1e-6f) * (float)t->clip_norm;
    coef = coef > 1.0f ? 1.0f : coef;
    for (int i = 0; i < nodes; i++)
        for (int q = 0; q < GRAPH_NODE(m->g, i)->nparams; q++)
            for (size_t e = 0, n = grad_of(m, i, q, &gr); e < n; e++)
                gr[e] *= coef; /* g.mul_(clip_coef_clamped) */
}

void optim_resume(Optim *o, const Schedule *s)
{
    /* without OneCycleLR's cycled momentum, the optimizer's own from step 1; with it, the
     * first of the cycle's steps whose value is not 0 (a checkpoint's step past the cycle is
     * refused later: the walk stops at the cycle's end, not at a forged step's 2^53) */
    o->buf_made = false;
    if (sched_momentum(s, 0) < 0) {
        o->buf_made = o->step > 0 && o->momentum != 0;
        return;
    }
    for (int64_t k = 0; k < o->step && k <= s->total_steps && !o->buf_made; k++) {
        double mom = sched_momentum(s, k);
        o->buf_made = (mom >= 0 ? mom : o->momentum) != 0;
    }
}

/* ---- schedules ---- */

/* OneCycleLR's phases: a to b, then b to c; with three_phase a to b, b back to a in as many
 * steps, then a to c. Each phase's end step as PyTorch computes it (a float), the first phase
 * whose end is not passed (or the last) taking the step: its index, and its start and end. */
static int onecycle_phase(const TrainConfig *t, double total, int64_t step, double *start,
                          double *end)
{
    double x = (double)step;
    double ends[3] = {t->pct_start * total - 1, total - 1, 0};
    int n = 2;
    if (t->three_phase)
        ends[1] = 2 * t->pct_start * total - 2, ends[2] = total - 1, n = 3;
    *start = 0;
    int i = 0;
    while (i < n - 1 && x > ends[i])
        *start = ends[i++];
    *end = ends[i];
    return i;
}

static double onecycle(const Schedule *s, int64_t step, double a, double b, double c)
{
    const TrainConfig *t = s->t;
    double from[3] = {a, b, a}, to[3] = {b, c, c}, start, end;
    if (t->three_phase)
        to[1] = a;
    int i = onecycle_phase(t, (double)s->total_steps, step, &start, &end);
    double pct = ((double)step - start) / (end - start);
    if (t->anneal_strategy == 1) /* _annealing_linear */
        return (to[i] - from[i]) * pct + from[i];
    return to[i] + (from[i] - to[i]) / 2.0 * (cos(PI * pct) + 1.0); /* _annealing_cos */
}

double sched_lr(const Schedule *s, int epoch, int64_t step)
{
    const TrainConfig *t = s->t;
    double base = t->lr, lr = base;
    switch (t->sched) {
    case SCHED_NONE: break;
    case SCHED_STEP: lr = base * pow(t->gamma, epoch / t->step_size); break;
    case SCHED_MULTISTEP: {
        int k = 0;
        for (int i = 0; i < t->milestone_list.n; i++)
            k += t->milestone_list.v[i] <= epoch;
        lr = base * pow(t->gamma, k);
        break;
    }
    case SCHED_EXPONENTIAL: lr = base * pow(t->gamma, epoch); break;
    case SCHED_COSINE:
        lr = t->eta_min + (base - t->eta_min) * (1 + cos(PI * epoch / t->t_max)) / 2;
        break;
    case SCHED_ONECYCLE: {
        double initial = t->max_lr / t->div_factor;
        lr = onecycle(s, step, initial, t->max_lr, initial / t->final_div_factor);
        break;
    }
    case SCHED_LINEAR: {
        int e = epoch < t->total_iters ? epoch : t->total_iters;
        lr = base * (t->start_factor + (t->end_factor - t->start_factor) * e / t->total_iters);
        break;
    }
    case SCHED_PLATEAU: lr = s->pos && s->pos->plateau_on ? s->pos->plateau_lr : base; break;
    }
    if (t->warmup > 0 && step < t->warmup)
        lr *= (double)(step + 1) / t->warmup;
    return lr;
}

void sched_plateau_start(const TrainConfig *t, TrainPos *pos)
{
    if (pos->plateau_on || t->sched != SCHED_PLATEAU)
        return;
    pos->plateau_on = true;
    pos->plateau_lr = t->lr;
    pos->plateau_best = t->plateau_mode ? -INFINITY : INFINITY; /* _init_is_better */
    pos->plateau_bad = pos->plateau_cooldown = 0;
}

void sched_plateau_step(const TrainConfig *t, TrainPos *pos, double current)
{
    sched_plateau_start(t, pos);
    double best = pos->plateau_best, th = t->threshold;
    bool better = t->plateau_mode == 0
                      ? (t->threshold_mode ? current < best - th : current < best * (1 - th))
                      : (t->threshold_mode ? current > best + th : current > best * (th + 1));
    if (better) { /* a NaN is never better: a bad epoch */
        pos->plateau_best = current;
        pos->plateau_bad = 0;
    } else {
        pos->plateau_bad++;
    }
    if (pos->plateau_cooldown > 0) { /* in_cooldown: its bad epochs do not count */
        pos->plateau_cooldown--;
        pos->plateau_bad = 0;
    }
    if (pos->plateau_bad > t->patience) { /* _reduce_lr */
        double old = pos->plateau_lr, lr = fmax(old * t->factor, t->min_lr);
        if (old - lr > t->plateau_eps)
            pos->plateau_lr = lr;
        pos->plateau_cooldown = t->cooldown;
        pos->plateau_bad = 0;
    }
}

bool sched_check(const TrainConfig *t, int epochs, int per_epoch, Diag *d)
{
    if (t->sched != SCHED_ONECYCLE)
        return true;
    SrcLoc at = ir_setting_at(t, "schedule");
    int64_t steps = (int64_t)epochs * per_epoch;
    if (t->total_steps > 0 && steps > t->total_steps) {
        diag_error(d, at,
                   "OneCycleLR has total_steps=%d, but the run takes %lld steps (%d epoch%s of "
                   "%d batches); PyTorch's OneCycleLR stops with an error past its total_steps",
                   t->total_steps, (long long)steps, epochs, epochs == 1 ? "" : "s", per_epoch);
        diag_hint(d, at, "give total_steps%s%lld or more, or leave it out (epochs x batches)",
                  loc_yaml(at) ? ": " : "=", (long long)steps);
        return false;
    }
    /* PyTorch computes the lr of steps 0 to the run's last + 1 (the scheduler steps after
     * every batch); a phase of no length divides by zero. Only the first phase can take step 0
     * (when it ends there), and only the last can take step total_steps (when the one before
     * ends at total_steps - 1, where it does). */
    if (steps == 0)
        return true; /* --epochs 0: nothing is scheduled */
    double total = t->total_steps > 0 ? (double)t->total_steps : (double)steps, start, end;
    if (onecycle_phase(t, total, 0, &start, &end) == 0 && end == start) {
        diag_error(d, at,
                   "OneCycleLR's rise would last pct_start x total steps = %g x %g = 1 step, "
                   "which PyTorch cannot schedule (it divides by zero)",
                   t->pct_start, total);
        diag_hint(d, at, "take a pct_start other than 1/%g%s", total,
                  t->total_steps > 0 ? ", or another total_steps" : ", or give total_steps");
        return false;
    }
    onecycle_phase(t, total, steps, &start, &end);
    if (steps == (int64_t)total && end == start) {
        diag_error(d, at,
                   "OneCycleLR's last phase would last no step (%s), and the run reaches its "
                   "total_steps (%lld: %d epoch%s of %d batches): PyTorch's OneCycleLR divides "
                   "by zero at the scheduler's step after the last batch",
                   t->three_phase ? "three_phase with 2 x pct_start x total steps = total + 1"
                                  : "pct_start x total steps = total",
                   (long long)steps, epochs, epochs == 1 ? "" : "s", per_epoch);
        diag_hint(d, at, "take a smaller pct_start, or give total_steps%s%lld or more",
                  loc_yaml(at) ? ": " : "=", (long long)steps + 1);
        return false;
    }
    return true;
}

double sched_momentum(const Schedule *s, int64_t step)
{
    const TrainConfig *t = s->t;
    if (t->sched != SCHED_ONECYCLE || !t->cycle_momentum)
        return -1;
    /* cycle_momentum=True (PyTorch's default, which also overrides an SGD momentum of 0):
     * from max_momentum down to base_momentum and back, inverse to the lr */
    return onecycle(s, step, t->max_momentum, t->base_momentum, t->max_momentum);
}
