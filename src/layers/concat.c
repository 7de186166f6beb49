/* concat.c: Concat, a join: its inputs side by side over the channels (torch.cat(..., 1)),
 * written `join concat a b`. Images must agree in height and width, and flat inputs give
 * a flat output; the runtime keeps images channels-last, so each pixel's channels are the
 * inputs' channels in order. */
#include "layer.h"

static void shape(Node *n, Diag *d)
{
    Shape s0 = ir_input_shape(n, 0);
    int64_t c = 0;
    for (int k = 0; k < n->ninputs; k++) {
        Shape sk = ir_input_shape(n, k);
        bool same =
            sk.rank == s0.rank && (sk.rank != 3 || (sk.d[1] == s0.d[1] && sk.d[2] == s0.d[2]));
        if (!same) {
            char a[64], b[64];
            if (sk.rank != s0.rank)
                diag_error(d, n->loc,
                           "'concat' joins images or flat vectors, not both: '%s' is %s, "
                           "'%s' is %s",
                           join_input_name(n, 0), shape_str(s0, a), join_input_name(n, k),
                           shape_str(sk, b));
            else
                diag_error(d, n->loc,
                           "'concat' joins channels of images of one size: '%s' is %s, '%s' is %s",
                           join_input_name(n, 0), shape_str(s0, a), join_input_name(n, k),
                           shape_str(sk, b));
            join_input_notes(n, d);
            return;
        }
        c += sk.d[0];
    }
    n->out = s0;
    n->out.d[0] = c;
    n->macs = 0;
    n->shaped = true;
}

static int chans(const Node *n, int *out)
{
    for (int k = 0; k < n->ninputs; k++)
        out[k] = (int)ir_input_shape(n, k).d[0];
    return n->ninputs;
}

static size_t rows(const Node *n, int batch)
{
    return (size_t)batch * (n->out.rank == 3 ? (size_t)(n->out.d[1] * n->out.d[2]) : 1);
}

static void forward(const Node *n, LayerRun *r)
{
    int ch[IR_MAX_JOIN];
    concat_forward(r->out, r->ins, ch, chans(n, ch), rows(n, r->batch));
}

static void backward(const Node *n, LayerRun *r)
{
    int ch[IR_MAX_JOIN];
    concat_backward(r->dins, r->dout, ch, chans(n, ch), rows(n, r->batch));
}

/* ---- C emitter: each input's channels copied into its slice of every output pixel, in
 * vectors of the widest family that divides every input's channel count ---- */

static void body(Emit *e, const VecFam *f, const void *ctx)
{
    const Node *n = ctx;
    StrBuf *sb = e->code;
    const CLayout *o = &e->out;
    bool image = o->rank == 3;
    if (image)
        sb_printf(sb, "    for (int y = 0; y < %d; y++)\n    for (int x = 0; x < %d; x++) {\n",
                  o->h, o->w);
    else
        sb_puts(sb, "    {\n");
    int at = 0;
    for (int k = 0; k < n->ninputs; k++) {
        const CLayout *i = &e->ins[k];
        int c = image ? i->c : i->n;
        sb_printf(
            sb, "        for (int c = 0; c < %d; c += %d) {\n            %s v = %s_load(in[%d] + ",
            c, f->width, f->name, f->name, k);
        if (image)
            emit_index(sb, i, "y", "x", "c");
        else
            sb_puts(sb, "c");
        sb_puts(sb, ");\n");
        emit_act(sb, e->act, f, "v", 12);
        sb_printf(sb, "            %s_store(out + ", f->name);
        if (image)
            emit_index(sb, o, "y", "x", arena_printf(e->arena, "%d + c", at));
        else
            sb_printf(sb, "%d + c", at);
        sb_puts(sb, ", v);\n        }\n");
        at += c;
    }
    sb_puts(sb, "    }\n");
}

static int gcd(int a, int b) { return b ? gcd(b, a % b) : a; }

static void emit(const Node *n, Emit *e)
{
    emit_join_header(n, e, "Concat");
    int lanes = 0;
    for (int k = 0; k < n->ninputs; k++)
        lanes = gcd(lanes, e->ins[k].rank == 3 ? e->ins[k].c : e->ins[k].n);
    emit_step_body(e, lanes, body, n);
}

const LayerOps layer_concat = {
    .kind = LAYER_CONCAT,
    .name = "Concat",
    .summary = "its inputs side by side over the channels (join concat a b ...)",
    .example = "join concat",
    .max_inputs = IR_MAX_JOIN,
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
