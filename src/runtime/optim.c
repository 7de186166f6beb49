/* optim.c: SGD (momentum, dampening, nesterov, weight_decay), Adam and AdamW exactly as
 * torch.optim's single-tensor implementations define them, and the lr schedules of
 * torch.optim.lr_scheduler in closed form (epoch-wise ones by epoch, OneCycleLR and the
 * linear warm-up by optimiser step). Arithmetic is float32 per element, as PyTorch's. */
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
    o->beta1 = t->beta1;
    o->beta2 = t->beta2;
    o->eps = t->eps;
    o->nesterov = t->nesterov;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v) {
        optim_free(o);
        return NULL;
    }
    return o;
}

void optim_free(Optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

static void sgd_step(Optim *o, float *p, const float *grad, float lr, float momentum)
{
    float wd = (float)o->weight_decay, damp = 1.0f - (float)o->dampening;
    bool first = o->step == 1;
    for (size_t i = 0; i < o->n; i++) {
        float g = grad[i];
        if (wd != 0)
            g += wd * p[i];
        if (momentum != 0) {
            float buf = first ? g : momentum * o->m[i] + damp * g;
            o->m[i] = buf;
            g = o->nesterov ? g + momentum * buf : buf;
        }
        p[i] -= lr * g;
    }
}

static void adam_step(Optim *o, float *p, const float *grad, float lr, float beta1)
{
    float b2 = (float)o->beta2, wd = (float)o->weight_decay, eps = (float)o->eps;
    double t = (double)o->step;
    float bc1 = (float)(1.0 - pow((double)beta1, t));
    float bc2_sqrt = (float)sqrt(1.0 - pow(o->beta2, t));
    float step_size = lr / bc1;
    bool decoupled = o->kind == OPT_ADAMW;
    for (size_t i = 0; i < o->n; i++) {
        float g = grad[i];
        if (decoupled)
            p[i] *= 1.0f - lr * wd;
        else if (wd != 0)
            g += wd * p[i];
        o->m[i] = o->m[i] * beta1 + (1.0f - beta1) * g;
        o->v[i] = o->v[i] * b2 + (1.0f - b2) * g * g;
        float denom = sqrtf(o->v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (o->m[i] / denom);
    }
}

void optim_step(Optim *o, float *params, const float *grads, double lr, double momentum)
{
    o->step++;
    if (o->kind == OPT_SGD)
        sgd_step(o, params, grads, (float)lr, (float)(momentum >= 0 ? momentum : o->momentum));
    else
        adam_step(o, params, grads, (float)lr, (float)(momentum >= 0 ? momentum : o->beta1));
}

/* ---- schedules ---- */

static double onecycle(const Schedule *s, int64_t step, double start0, double peak, double end)
{
    const TrainConfig *t = s->t;
    double total = s->total_steps;
    double end1 = t->pct_start * total - 1, end2 = total - 1;
    double a, b, pct;
    if ((double)step <= end1) {
        a = start0, b = peak, pct = (double)step / end1;
    } else {
        a = peak, b = end, pct = ((double)step - end1) / (end2 - end1);
    }
    return b + (a - b) / 2.0 * (cos(PI * pct) + 1.0);
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
        for (int i = 0; i < t->nmilestones; i++)
            k += t->milestones[i] <= epoch;
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
    }
    if (t->warmup > 0 && step < t->warmup)
        lr *= (double)(step + 1) / t->warmup;
    return lr;
}

double sched_momentum(const Schedule *s, int64_t step)
{
    if (s->t->sched != SCHED_ONECYCLE)
        return -1;
    /* cycle_momentum=True (PyTorch's default, which also overrides an SGD momentum of 0):
     * base_momentum 0.85, max_momentum 0.95, inverse to the lr */
    return onecycle(s, step, 0.95, 0.85, 0.95);
}
