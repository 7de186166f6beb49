/* common.c: checks and rules that several layer kinds share (input rank, explicit `in`,
 * the pooling shape rule, PyTorch's weight initialisers). */
#include "layer.h"

#include <math.h>

static const char *from_desc(const Node *n, char *buf)
{
    const Node *src = n->inputs[0];
    if (!src)
        return "from the network's input";
    snprintf(buf, 96, "after '%s'", src->ops->name);
    return buf;
}

bool layer_need_image(const Node *n, Diag *d)
{
    if (n->in.rank == 3)
        return true;
    char s[64], f[96];
    diag_error(d, n->head_loc, "'%s' needs a CxHxW input, got %s (%s)", n->ops->name,
               shape_str(n->in, s), from_desc(n, f));
    ir_note_input(n, "the input shape comes", d);
    return false;
}

bool layer_need_flat(const Node *n, Diag *d)
{
    if (n->in.rank == 1)
        return true;
    char s[64], f[96];
    diag_error(d, n->head_loc, "'%s' needs a flat input, got %s (%s)", n->ops->name,
               shape_str(n->in, s), from_desc(n, f));
    diag_hint(d, n->head_loc, "add 'Flatten' before '%s'", n->ops->name);
    return false;
}

bool layer_check_in(const Node *n, int ai, int64_t actual, Diag *d)
{
    const AttrVal *v = &n->attrs[ai];
    if (!v->set || v->i[0] == actual)
        return true;
    char s[64], f[96], desc[256];
    if (n->in.rank == 1 && n->inputs[0] && n->inputs[0]->kind == LAYER_FLATTEN)
        snprintf(desc, sizeof desc, "%lld input%s (%s %s)", (long long)actual,
                 actual == 1 ? "" : "s", shape_str(n->inputs[0]->in, s), from_desc(n, f));
    else if (n->in.rank == 3 && n->kind == LAYER_LINEAR)
        snprintf(desc, sizeof desc, "%lld input%s, the last dimension of %s (%s)",
                 (long long)actual, actual == 1 ? "" : "s", shape_str(n->in, s), from_desc(n, f));
    else if (n->in.rank == 3)
        snprintf(desc, sizeof desc, "%lld input channel%s (%s %s)", (long long)actual,
                 actual == 1 ? "" : "s", shape_str(n->in, s), from_desc(n, f));
    else
        snprintf(desc, sizeof desc, "%lld input%s (%s)", (long long)actual, actual == 1 ? "" : "s",
                 from_desc(n, f));
    ir_error_input(n, v, n->ops->attrs[ai].name, desc, d);
    return false;
}

void layer_shape_same(Node *n, Diag *d)
{
    (void)d;
    n->out = n->in;
    n->shaped = true;
}

size_t layer_run_numel(const Node *n, const LayerRun *r)
{
    return (size_t)r->batch * (size_t)shape_numel(n->out);
}

void layer_map_forward(const Node *n, LayerRun *r)
{
    n->ops->map_forward(r->out, r->in, layer_run_numel(n, r));
}

void layer_map_backward(const Node *n, LayerRun *r)
{
    if (r->din)
        n->ops->map_backward(r->din, r->dout, n->ops->backward_reads_out ? r->out : r->in,
                             layer_run_numel(n, r));
}

void layer_shape_pool(Node *n, Diag *d)
{
    if (!layer_need_image(n, d))
        return;
    AttrVal *k = &n->attrs[POOL_A_KERNEL], *s = &n->attrs[POOL_A_STRIDE],
            *p = &n->attrs[POOL_A_PADDING];
    if (!s->set) { /* PyTorch: stride defaults to the kernel size */
        s->n = k->n;
        s->i[0] = k->i[0];
        s->i[1] = k->i[1];
    }
    bool ok = true;
    int64_t out[2];
    for (int i = 0; i < 2; i++) {
        int64_t kk = k->i[i], pp = p->i[i];
        if (pp * 2 > kk && ok) { /* one message for both dimensions */
            diag_error(d, p->set ? p->loc : n->head_loc,
                       "'%s' padding %lld is more than half its kernel %lld", n->ops->name,
                       (long long)pp, (long long)kk);
            ok = false;
        }
        out[i] = ir_conv_out(n->in.d[1 + i], kk, s->i[i], pp, 1);
        if (n->attrs[POOL_A_CEIL].b) {
            /* PyTorch (pooling_output_shape): round up, with the quotient floored (a kernel
             * past the padded input still gives one window, over what it covers), unless
             * the last window would start in the padding */
            int64_t num = n->in.d[1 + i] + 2 * pp - kk + s->i[i] - 1, st = s->i[i];
            out[i] = (num >= 0 ? num / st : -((-num + st - 1) / st)) + 1;
            if (out[i] >= 1 && (out[i] - 1) * st >= n->in.d[1 + i] + pp)
                out[i]--;
        }
    }
    if (!ok)
        return;
    if (out[0] < 1 || out[1] < 1) {
        diag_error(d, n->loc,
                   "'%s' shrinks its %lldx%lld input below 1x1 (kernel %lldx%lld, stride "
                   "%lldx%lld, padding %lldx%lld)",
                   n->ops->name, (long long)n->in.d[1], (long long)n->in.d[2], (long long)k->i[0],
                   (long long)k->i[1], (long long)s->i[0], (long long)s->i[1], (long long)p->i[0],
                   (long long)p->i[1]);
        char what[64];
        snprintf(what, sizeof what, "the %lldx%lld input comes", (long long)n->in.d[1],
                 (long long)n->in.d[2]);
        ir_note_input(n, what, d);
        return;
    }
    n->out = shape_make(3, (int64_t[]){n->in.d[0], out[0], out[1]});
    n->macs = 0;
    n->shaped = true;
}

PoolGeom layer_pool_geom(const Node *n, int batch)
{
    const AttrVal *k = &n->attrs[POOL_A_KERNEL], *s = &n->attrs[POOL_A_STRIDE],
                  *p = &n->attrs[POOL_A_PADDING];
    return (PoolGeom){
        .B = batch,
        .C = (int)n->in.d[0],
        .H = (int)n->in.d[1],
        .W = (int)n->in.d[2],
        .KH = (int)k->i[0],
        .KW = (int)k->i[1],
        .SH = (int)s->i[0],
        .SW = (int)s->i[1],
        .PH = (int)p->i[0],
        .PW = (int)p->i[1],
        .OH = (int)n->out.d[1],
        .OW = (int)n->out.d[2],
        .exclude_pad = ir_attr_index(n->ops, "count_include_pad") >= 0 &&
                       !n->attrs[ir_attr_index(n->ops, "count_include_pad")].b,
    };
}

/* gain for kaiming/xavier as torch.nn.init.calculate_gain('leaky_relu', sqrt(5)) for the
 * default init, and 'relu'-free gain 1 for xavier. */
void layer_init_weight_bias(const Node *n, float *const *params, Rng *rng, int init)
{
    const Param *w = &n->params[0];
    int64_t cnt = shape_numel(w->shape);
    double fan_in = (double)w->fan_in, fan_out = (double)w->fan_out;
    float *wp = params[0];
    switch (init) {
    case INIT_DEFAULT: /* kaiming_uniform_(a=sqrt(5)): bound = sqrt(6/((1+a^2) fan_in)) */
    case INIT_KAIMING_UNIFORM: {
        double gain = init == INIT_DEFAULT ? sqrt(2.0 / (1.0 + 5.0)) : sqrt(2.0);
        double bound = gain * sqrt(3.0 / fan_in);
        for (int64_t i = 0; i < cnt; i++)
            wp[i] = (float)((rng_uniform(rng) * 2 - 1) * bound);
        break;
    }
    case INIT_KAIMING_NORMAL: {
        double std = sqrt(2.0) / sqrt(fan_in);
        for (int64_t i = 0; i < cnt; i++)
            wp[i] = (float)(rng_normal(rng) * std);
        break;
    }
    case INIT_XAVIER_UNIFORM: {
        double bound = sqrt(6.0 / (fan_in + fan_out));
        for (int64_t i = 0; i < cnt; i++)
            wp[i] = (float)((rng_uniform(rng) * 2 - 1) * bound);
        break;
    }
    case INIT_XAVIER_NORMAL: {
        double std = sqrt(2.0 / (fan_in + fan_out));
        for (int64_t i = 0; i < cnt; i++)
            wp[i] = (float)(rng_normal(rng) * std);
        break;
    }
    case INIT_ZEROS:
        for (int64_t i = 0; i < cnt; i++)
            wp[i] = 0;
        break;
    }
    if (n->nparams > 1) { /* bias: PyTorch's default whatever the weight's init */
        double bound = fan_in > 0 ? 1.0 / sqrt(fan_in) : 0;
        int64_t nb = shape_numel(n->params[1].shape);
        for (int64_t i = 0; i < nb; i++)
            params[1][i] = (float)((rng_uniform(rng) * 2 - 1) * bound);
    }
}

void layout_transpose(float *dst, const float *src, int B, int C, int HW, bool to_hwc)
{
    for (int b = 0; b < B; b++) {
        const float *s = src + (size_t)b * C * HW;
        float *d = dst + (size_t)b * C * HW;
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++) {
                if (to_hwc)
                    d[(size_t)i * C + c] = s[(size_t)c * HW + i];
                else
                    d[(size_t)c * HW + i] = s[(size_t)i * C + c];
            }
    }
}
