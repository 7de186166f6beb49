/* template.c: the file to copy for a new layer kind (here an elementwise "Template":
 * y = alpha * x). It is compiled and checked like a registered kind (tests/frontend/
 * test_shape.c), but not registered, so it stays a working example.
 *
 * Adding a kind:
 *   1. copy this file to src/layers/<kind>.c and rename `layer_template`;
 *   2. add `LAYER(<KIND>, layer_<kind>)` to src/ir/layers.def and the file to
 *      src/layers/meson.build;
 *   3. put new math in src/kernels/ (elementwise: activation.c; kernels.h states every
 *      argument's shape) and call it from forward and backward.
 * The parser, the shape pass, the runtime, the code generator, --list-layers and the tests
 * (registry, per-kind gradients from `.example`, the property tests that put the kind at
 * every position of whole nets, codegen parity) pick it up with no other edit. A kind with
 * parameters: see linear.c (shape rule adds them with ir_param_add; init; the gradient sum
 * over a chunk in backward); a kind with a window: maxpool2d.c and common.c. */
#include "layer.h"

/* Attributes, in the order of the node's attrs[]: name, short prefix (`k` for `k3`), type,
 * default as written in a net file (NULL: none), required, range, list lengths, enum
 * choices, help (one line for --list-layers). */
enum { A_ALPHA };

static const AttrSpec attrs[] = {
    [A_ALPHA] = {"alpha", NULL, ATTR_FLOAT, "1", false, 0, 1e6, 1, 1, NULL, "the factor"},
};
/* Attributes that may be written without their name, in order: `Template 0.5`. */
static const char *const positional[] = {"alpha", NULL};

/* An elementwise kind with no attributes needs no forward or backward of its own: it names
 * its kernels and takes the shared ones (see sigmoid.c):
 *     .forward = layer_map_forward, .backward = layer_map_backward,
 *     .map_forward = <kind>_forward, .map_backward = <kind>_backward,
 *
 * forward and backward run on a part of a batch: r->batch samples of the node's shapes,
 * images channels-last (see LayerRun in layer.h). out may be in (in place) only if the kind
 * declares `inplace` below. */
static void forward(const Node *n, LayerRun *r)
{
    size_t cnt = layer_run_numel(n, r);
    float alpha = (float)n->attrs[A_ALPHA].f[0];
    for (size_t i = 0; i < cnt; i++)
        r->out[i] = alpha * r->in[i];
}

/* din is NULL for the network's first layer; it must be overwritten, not added to. */
static void backward(const Node *n, LayerRun *r)
{
    if (!r->din)
        return;
    size_t cnt = layer_run_numel(n, r);
    float alpha = (float)n->attrs[A_ALPHA].f[0];
    for (size_t i = 0; i < cnt; i++)
        r->din[i] = alpha * r->dout[i];
}

/* The generated code's vector expression, `var = f(var)` for one variable of family f: it
 * lets the code generator fuse the kind into the step before it. A kind that is not
 * elementwise writes a whole step instead (`.emit`, see linear.c). */
static void emit_act_fn(const Node *n, StrBuf *sb, const VecFam *f, const char *var)
{
    char a[32];
    fmt_c_float(a, sizeof a, (float)n->attrs[A_ALPHA].f[0]);
    sb_printf(sb, "%s = %s_mul(%s, %s_set1(%s));\n", var, f->name, var, f->name, a);
}

const LayerOps layer_template = {
    .kind = LAYER__COUNT, /* a registered kind: LAYER_<KIND> from layers.def */
    .name = "Template",   /* PyTorch's class name; the keyword, case-insensitive */
    .summary = "alpha * x (the template of a new kind)",
    .example = "Template 0.5", /* placed at every position by the property tests */
    .attrs = attrs,
    .nattrs = sizeof attrs / sizeof attrs[0],
    .positional = positional,
    .shape = layer_shape_same, /* output shape = input shape; else a rule of its own */
    .forward = forward,
    .backward = backward,
    .emit = emit_elementwise, /* a standalone step of an elementwise kind, via emit_act */
    .emit_act = emit_act_fn,
    /* Properties: declare only what holds; the property tests check each on values, ties
     * and NaN, and a kind that declares one it does not have fails by name.
     *   .monotonic         never decreases (alpha >= 0 here), and NaN stays NaN
     *   .inplace           forward may write over its input: backward reads only dout (and
     *                      the output if backward_reads_out), never the input
     *   .backward_reads_out  backward reads the node's own output
     *   .commutes_with_max a max pool after it may run first (ReLU only, so far)
     *   .infer_identity    the identity at inference (Dropout)
     * Also: .scratch/.saved (memory a node keeps), .init (parameters), .emit_border (the zero
     * border a step reads), .fuse (a step that absorbs the next), .eval_affine (a per-channel
     * affine at inference, folded into the weights before it), .view, .fuses_pool. */
    .monotonic = true,
    .inplace = true,
};
