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

/* Buffers for one layer in one step. All activations are (batch, per-sample shape). */
struct LayerRun {
    int batch;
    bool training;
    const float *in;          /* (B, n->in) */
    float *out;               /* (B, n->out) */
    float *const *params;     /* n->nparams tensors, PyTorch layout */
    float *const *grads;      /* same shapes as params; backward overwrites them */
    const float *dout;        /* (B, n->out) */
    float *din;               /* (B, n->in), NULL for the first layer */
    float *scratch;           /* ops->scratch(n, batch) floats, kept from forward to backward */
    Rng *rng;                 /* dropout masks */
};

/* Code generation context: where the layer's data lives in the generated program. */
struct Emit {
    StrBuf *sb;
    const char *prefix;         /* the API prefix, e.g. "mnist" */
    const char *in, *out;       /* C expressions of float* for one sample's input and output */
    const char *const *params;  /* names of the static const arrays of n's params */
    const char *scratch;        /* a float* expression with ops->scratch(n, 1) floats, or NULL */
    bool fuse_relu;             /* a following ReLU was folded into this layer */
    const Node *fused_pool;     /* a following MaxPool2d folded into this layer, or NULL */
};

/* ---- helpers shared by the layer files (common.c) ---- */

/* Value i of a pair attribute given as `3` or `[3, 5]`. */
static inline int64_t attr_pair(const AttrVal *v, int i) { return v->n == 1 ? v->i[0] : v->i[i]; }

/* Checks that n's input is CxHxW; reports and returns false otherwise. */
bool layer_need_image(const Node *n, Diag *d);
/* Checks that n's input is a flat vector; reports (with a Flatten hint) and returns false. */
bool layer_need_flat(const Node *n, Diag *d);
/* Checks an explicit `in` (attribute index ai) against the actual size; reports a
 * mismatch with a note at the producer. Returns false on mismatch. */
bool layer_check_in(const Node *n, int ai, int64_t actual, Diag *d);
/* Output shape = input shape (activations, dropout). */
void layer_shape_same(Node *n, Diag *d);
/* Shape rule of the 2-d poolings: attrs are kernel, stride, padding in that order. */
void layer_shape_pool(Node *n, Diag *d, int a_kernel, int a_stride, int a_padding);
/* PyTorch's default init (kaiming_uniform a=sqrt(5) on the weight, U(+-1/sqrt(fan_in)) on
 * the bias) or the `init=` given, for a layer whose params are weight (and bias). */
void layer_init_weight_bias(const Node *n, float *const *params, Rng *rng, int init);

#endif
