/* layer.h: what a layer file sees. Each file in src/layers/ defines one LayerOps record
 * (registered in src/ir/layers.def) holding everything about its kind: attributes, shape
 * rule, initialiser, forward, backward and C emitter.
 *
 * Design choice: layers get their runtime buffers through LayerRun (views the runtime
 * carved out of its few big blocks) and their code-generation context through Emit, so a
 * layer file never includes the runtime or the code generator. */
#ifndef NETC_LAYER_H
#define NETC_LAYER_H

#include "ir.h"
#include "kernels.h"

/* Buffers for one layer in one call. All activations are (batch, per-sample shape), with
 * images channels-last: a CxHxW image is stored (H,W,C), as the kernels take it. Only the
 * runtime's edges (its input and output) and Flatten convert to and from PyTorch's order.
 *
 * The runtime cuts a batch into parts of a few samples (so that the activations stay in
 * cache) and groups the parts into chunks; a thread takes a whole chunk and runs it part by
 * part, each part through every layer, so a layer's forward and backward are called once
 * per part, a chunk's parts in order. `first` marks the first part a thread runs in the pass
 * (where a layer may prepare its per-thread scratch, e.g. pack weights) and `last` the last
 * part of a chunk. grads are the chunk's own: backward writes there, by the chunk's last
 * part, the gradients summed over the chunk's samples, keeping running sums in the scratch
 * or computing them at the end over the whole chunk (the inputs and `saved` of every part of
 * the pass stay in place until it ends). */
struct LayerRun {
    int batch; /* samples in this part */
    bool training;
    bool first, last;     /* the thread's first part of the pass; its chunk's last */
    int row;              /* this part's first sample within its chunk: the chunk's in
                             and saved start `row` samples before ours */
    const float *in;      /* (B, n->in) */
    float *out;           /* (B, n->out) */
    float *const *params; /* n->nparams tensors, PyTorch layout */
    float *const *grads;  /* same shapes as params */
    const float *dout;    /* (B, n->out) */
    float *din;           /* (B, n->in), NULL for the first layer */
    float *scratch;       /* ops->scratch(n) floats of this thread's, kept across its parts
                             and from forward to backward */
    float *saved;         /* ops->saved(n) floats per sample, for this part's samples,
                             kept until the pass (forward, then backward) ends */
    Rng *rng;             /* dropout masks: the chunk's stream */
    int pool_k;           /* > 0: forward computes instead the output (pool_out) and, in
                             training, the argmax (pool_argmax, the pool's saved) of the
                             max pool that follows (ops->fuses_pool); out is not written */
    float *pool_out;
    int32_t *pool_argmax;
    /* A join (ops->max_inputs): its n->ninputs inputs (B, ir_input_shape(n, k)) and their
     * gradients (each NULL when not wanted); in and din are the first. */
    const float *const *ins;
    float *const *dins;
    /* A kind with batch statistics (ops->batch_sums), in training: its finished factors
     * (ops->stats floats, written by its finish hooks) and this chunk's partial sums of the
     * backward (ops->batch_sums doubles), for its parameter gradients. */
    float *stats;
    const double *sums;
    /* The activation node fused into this one (ops->fuses_act), or NULL: forward writes
     * act(output) to out, and dout is the gradient of that. */
    const Node *act;
};

/* ---- code generation ----
 * Generated code keeps images channels-last (HWC) with an optional zero border, so
 * convolutions vectorise over output channels with no bounds checks; flat tensors made by
 * flattening such an image are in HWC order ("perm"), which a consuming Linear absorbs by
 * permuting its weight columns at generation time. */
typedef struct CLayout {
    int rank;         /* 3: image, 1: flat */
    int c, h, w, pad; /* image: element (ch,y,x) at ((y+pad)*(w+2*pad) + x+pad)*cs + ch */
    int cs;           /* image: floats per pixel, c (0 means c) or more for a slice of a
                         wider image (a Concat's input written in place) */
    int n;            /* flat: elements */
    bool perm;        /* flat: HWC order of the image (pc, ph, pw) instead of CHW */
    int pc, ph, pw;
} CLayout;

size_t clayout_floats(const CLayout *l);

struct Emit {
    Arena *arena; /* scratch for the emitter, freed with the compilation */
    StrBuf *code; /* function definitions */
    StrBuf *data; /* static const weight arrays */
    StrBuf *blob; /* or, when not NULL, the weights' binary blob (little-endian float32,
                     each array 64-byte aligned): data then gets one #define per array,
                     NAME_suffix as a pointer into the blob's symbol blob_sym */
    const char *blob_sym;
    const char *name; /* this step's function and weight symbol base: mnist_layer2_0 */
    CLayout in, out;
    /* The buffers the step reads, in = ins[0]: a join's inputs, or a layer's input and the
     * other inputs of an Add fused into it (added before the activation). With more than
     * one, the step's function takes `const float *const *in` (in[k] has layout ins[k]). */
    int nin;
    CLayout ins[IR_MAX_JOIN];
    const Node *bn;   /* a BatchNorm folded into params (already), for comments; or NULL */
    const Node *add;  /* an Add fused into this step, or NULL */
    const Node *act;  /* a following activation fused into this step, or NULL */
    const Node *pool; /* a following MaxPool2d fused into this step, or NULL */
    /* This node's parameter values, PyTorch layout, a folded BatchNorm multiplied in:
     * params[1] is the bias, NULL for a layer without (a folded one always has one). */
    const float *const *params;
    size_t weights; /* floats of static const data emit_array wrote for the step */
    bool scratch;   /* the step's function takes `float *restrict scratch` (emit_scratch) */
};

/* Vector families of the generated prelude: "vf16" (AVX-512), "vf8" (AVX2+FMA), "vf1"
 * (portable scalar). An emitter writes its body once per family that fits its channel
 * count, through emit_families(). */
typedef struct VecFam {
    const char *name; /* prefix of the prelude's helpers: vf16_load ... */
    int width;
    const char *cond; /* preprocessor condition that selects it */
} VecFam;

/* Emits `#if cond ... #elif ... #else ... #endif` with body(e, fam, ctx) for every family
 * whose width divides `lanes_of` (the vectorised dimension), scalar last. */
void emit_families(Emit *e, int lanes_of, void (*body)(Emit *e, const VecFam *f, const void *ctx),
                   const void *ctx);
/* The rest of a step's function once it is opened: the output's zero border (if it has
 * one), body for every family as emit_families, and the closing brace. */
void emit_step_body(Emit *e, int lanes_of, void (*body)(Emit *e, const VecFam *f, const void *ctx),
                    const void *ctx);
/* static const float NAME_suffix[n] = {...}; with round-trip literals. */
void emit_array(Emit *e, const char *suffix, const float *v, size_t n);
/* Applies the fused activation (if any) to vector variable `var` of family f. */
void emit_act(StrBuf *sb, const Node *act, const VecFam *f, const char *var, int indent);
/* What the step fuses, for its comment: " + BatchNorm2d (folded) + Add + ReLU", or "". */
const char *emit_fused_names(const Emit *e);
/* Opens the step's function: `(const float *restrict in, float *restrict out)`, or with
 * several inputs `(const float *const *restrict ins, ...)` and `in` = ins[0]. */
void emit_step_open(const Emit *e);
/* `DECL = BASE + <pixel (oy, ox) of image l>EXTRA;`: a pointer to an output pixel's
 * channels, or an input's at the same pixel (a fused add's), in a body over oy and ox. */
void emit_pixel_ptr(const Emit *e, const char *decl, const char *base, const CLayout *l,
                    const char *extra);
/* Zeroes the border of an image layout (nothing if pad == 0), into `out`. */
void emit_zero_border(StrBuf *sb, const CLayout *l, const char *buf, int indent);
/* Standalone step of an activation kind: out = act(in), through its emit_act. */
void emit_elementwise(const Node *n, Emit *e);
/* `var = F_fn(var);`: an activation that is one of the prelude's vector functions. */
void emit_act_call(StrBuf *sb, const VecFam *f, const char *var, const char *fn);
/* Standalone max or average pool step over an HWC image (average counts the padding). */
void emit_pool(const Node *n, Emit *e, const PoolGeom *g, bool is_max);
/* A step that only copies between layouts (Flatten, Dropout when not aliased). */
void emit_copy_step(const Node *n, Emit *e);
/* fuse hook of kinds that absorb a following activation (pools, Linear). */
bool fuse_act(const Node *n, const Node *next);
/* Floats from one pixel of an HWC image to the next (cs, or c when cs is 0), and per
 * padded row. */
int clayout_px(const CLayout *l);
int clayout_row(const CLayout *l);
/* The index expression of element (y, x, c) of image l in generated code, each given as C
 * text: ((y + pad) * (w + 2 pad) + x + pad) * px + c. */
void emit_index(StrBuf *sb, const CLayout *l, const char *y, const char *x, const char *c);
/* Copies a tensor between layouts (padding, HWC/CHW order, image/flat), from the C
 * expression src to dst. */
void emit_relayout(StrBuf *sb, const CLayout *in, const char *src, const CLayout *out,
                   const char *dst, int indent);

/* Whether a tensor of shape s is laid out differently channels-last than in PyTorch's
 * order: an image with more than one channel and more than one pixel. */
static inline bool layout_differs(Shape s)
{
    return s.rank == 3 && s.d[0] > 1 && s.d[1] * s.d[2] > 1;
}
/* dst (B,C,HW) <- src (B,HW,C), or the reverse when to_hwc. */
void layout_transpose(float *dst, const float *src, int B, int C, int HW, bool to_hwc);

/* ---- helpers shared by the layer files (common.c) ---- */

/* Joins (join_common.c): how the statement named input k; notes at each input's definition
 * with its shape; the generated step's header. */
const char *join_input_name(const Node *n, int k);
void join_input_notes(const Node *n, Diag *d);
void emit_join_header(const Node *n, Emit *e, const char *what);

/* Checks that n's input is CxHxW; reports and returns false otherwise. */
bool layer_need_image(const Node *n, Diag *d);
/* Checks that n's input is a flat vector; reports (with a Flatten hint) and returns false. */
bool layer_need_flat(const Node *n, Diag *d);
/* Checks an explicit `in` (attribute index ai) against the actual size; reports a
 * mismatch with a note at the producer. Returns false on mismatch. */
bool layer_check_in(const Node *n, int ai, int64_t actual, Diag *d);
/* Output shape = input shape (activations, dropout). */
void layer_shape_same(Node *n, Diag *d);
/* The values of one part's tensor of the node's output shape: batch x numel(out). */
size_t layer_run_numel(const Node *n, const LayerRun *r);
/* forward and backward of an elementwise kind through its map_forward and map_backward. */
void layer_map_forward(const Node *n, LayerRun *r);
void layer_map_backward(const Node *n, LayerRun *r);
/* The attributes the 2-d poolings share, first in their attrs[] in this order (the shape
 * rule and the geometry below read them there); a kind's own follow from POOL_A_OWN. */
enum { POOL_A_KERNEL, POOL_A_STRIDE, POOL_A_PADDING, POOL_A_CEIL, POOL_A_OWN };
#define POOL_ATTRS(padding_help)                                                                   \
    [POOL_A_KERNEL] =                                                                              \
        {"kernel", "k", ATTR_INTS, NULL, true, 1, 1024, 1, 2, NULL, "window size: k or [kh, kw]"}, \
    [POOL_A_STRIDE] = {"stride",                                                                   \
                       "s",                                                                        \
                       ATTR_INTS,                                                                  \
                       NULL,                                                                       \
                       false,                                                                      \
                       1,                                                                          \
                       1024,                                                                       \
                       1,                                                                          \
                       2,                                                                          \
                       NULL,                                                                       \
                       "stride (default: the kernel size)"},                                       \
    [POOL_A_PADDING] = {"padding", "p", ATTR_INTS, "0", false, 0, 512, 1, 2, NULL, padding_help},  \
    [POOL_A_CEIL] = {"ceil_mode",                                                                  \
                     NULL,                                                                         \
                     ATTR_BOOL,                                                                    \
                     "false",                                                                      \
                     false,                                                                        \
                     0,                                                                            \
                     0,                                                                            \
                     0,                                                                            \
                     0,                                                                            \
                     NULL,                                                                         \
                     "round the output size up (a last window may overhang)"}
/* Shape rule of the 2-d poolings. */
void layer_shape_pool(Node *n, Diag *d);
/* The kernels' geometry of a shaped 2-d pooling node. */
PoolGeom layer_pool_geom(const Node *n, int batch);
/* PyTorch's default init (kaiming_uniform a=sqrt(5) on the weight, U(+-1/sqrt(fan_in)) on
 * the bias) or the `init=` given, for a layer whose params are weight (and bias). */
void layer_init_weight_bias(const Node *n, float *const *params, Rng *rng, int init);

#endif
