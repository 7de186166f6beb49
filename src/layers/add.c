/* add.c: Add, a join: the sum of its inputs (a + b in PyTorch), written `join add a b`.
 * Every input has the output's shape; each input's gradient is the output's. */
#include <string.h>

#include "layer.h"

/* Whether PyTorch's a + b would broadcast the two (each dimension equal, or one of them 1). */
static bool broadcasts(Shape a, Shape b)
{
    if (a.rank != b.rank)
        return false;
    for (int i = 0; i < a.rank; i++)
        if (a.d[i] != b.d[i] && a.d[i] != 1 && b.d[i] != 1)
            return false;
    return true;
}

static void shape(Node *n, Diag *d)
{
    Shape s0 = ir_input_shape(n, 0);
    for (int k = 1; k < n->ninputs; k++) {
        Shape sk = ir_input_shape(n, k);
        if (sk.rank != s0.rank || memcmp(sk.d, s0.d, sizeof(int64_t) * (size_t)s0.rank) != 0) {
            char a[64], b[64];
            if (n->join_residual) {
                diag_error(d, n->head_loc,
                           "%s adds its input (%s) to its body's output (%s): the shapes differ",
                           n->join_what, shape_str(sk, b), shape_str(s0, a));
                /* a 1x1 convolution of one stride makes the body's shape of the input */
                if (s0.rank == 3 && sk.rank == 3 && sk.d[1] % s0.d[1] == 0 &&
                    sk.d[2] % s0.d[2] == 0 && sk.d[1] / s0.d[1] == sk.d[2] / s0.d[2])
                    diag_hint(d, n->head_loc,
                              loc_yaml(n->head_loc)
                                  ? "give it a shortcut that makes %s of its input, e.g. '- "
                                    "shortcut: [{Conv2d: {out: %lld, kernel: 1, stride: %lld, "
                                    "bias: false}}, BatchNorm2d]'"
                                  : "give it a shortcut that makes %s of its input, e.g. "
                                    "'shortcut { Conv2d %lld k1 s%lld bias=false; BatchNorm2d }'",
                              a, (long long)s0.d[0], (long long)(sk.d[1] / s0.d[1]));
            } else {
                diag_error(d, n->loc, "%s needs inputs of one shape: '%s' is %s, '%s' is %s",
                           n->join_what ? n->join_what : "'add'", join_input_name(n, 0),
                           shape_str(s0, a), join_input_name(n, k), shape_str(sk, b));
            }
            if (broadcasts(s0, sk))
                diag_hint(d, n->join_residual ? n->head_loc : n->loc,
                          "PyTorch's + would broadcast the dimension of size 1; netc adds "
                          "tensors of one shape: make them equal");
            join_input_notes(n, d);
            return;
        }
    }
    n->out = s0;
    n->macs = (int64_t)(n->ninputs - 1) * shape_numel(s0);
    n->shaped = true;
}

static void forward(const Node *n, LayerRun *r)
{
    add_forward(r->out, r->ins, n->ninputs, layer_run_numel(n, r));
}

static void backward(const Node *n, LayerRun *r)
{
    size_t cnt = layer_run_numel(n, r);
    for (int k = 0; k < n->ninputs; k++)
        if (r->dins[k])
            memcpy(r->dins[k], r->dout, sizeof(float) * cnt);
}

/* ---- C emitter: the inputs added pixel by pixel (each may carry its own zero border) ---- */

static void body(Emit *e, const VecFam *f, const void *ctx)
{
    const Node *n = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    const CLayout *o = &e->out;
    if (o->rank != 3) {
        sb_printf(sb,
                  "    for (int i = 0; i < %d; i += %d) {\n        %s v = %s_load(in[0] + i);\n",
                  o->n, f->width, F, F);
        for (int k = 1; k < n->ninputs; k++)
            sb_printf(sb, "        v = %s_add(v, %s_load(in[%d] + i));\n", F, F, k);
        emit_act(sb, e->act, f, "v", 8);
        sb_printf(sb, "        %s_store(out + i, v);\n    }\n", F);
        return;
    }
    sb_printf(sb, "    for (int y = 0; y < %d; y++)\n    for (int x = 0; x < %d; x++)\n", o->h,
              o->w);
    sb_printf(sb, "    for (int c = 0; c < %d; c += %d) {\n", o->c, f->width);
    for (int k = 0; k < n->ninputs; k++) {
        sb_printf(
            sb, k ? "        v = %s_add(v, %s_load(in[%d] + " : "        %s v = %s_load(in[%d] + ",
            F, F, k);
        emit_index(sb, &e->ins[k], "y", "x", "c");
        sb_puts(sb, k ? "));\n" : ");\n");
    }
    emit_act(sb, e->act, f, "v", 8);
    sb_printf(sb, "        %s_store(out + ", F);
    emit_index(sb, o, "y", "x", "c");
    sb_puts(sb, ", v);\n    }\n");
}

static void emit(const Node *n, Emit *e)
{
    emit_join_header(n, e, "Add");
    emit_step_body(e, e->out.rank == 3 ? e->out.c : e->out.n, body, n);
}

const LayerOps layer_add = {
    .kind = LAYER_ADD,
    .name = "Add",
    .summary = "the sum of its inputs, of one shape (join add a b ...)",
    .example = "join add",
    .max_inputs = IR_MAX_JOIN,
    .shape = shape,
    .forward = forward,
    .backward = backward,
    .emit = emit,
    .fuse = fuse_act,
};
