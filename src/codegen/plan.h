/* plan.h: the code generator's plan of a network, private to src/codegen: the steps of the
 * generated program (which layers each fuses, which buffers each reads) and the buffers
 * between them (layout, zero border, arena offset). plan.c builds it by a list of passes;
 * codegen.c writes the program from it; `netc --dump-plan` prints it.
 *
 * Design choice: the network is a DAG, and a step reads the buffers of its layers' actual
 * producers (a join several); a buffer that shares another's memory (a Flatten or Dropout
 * that is a view) keeps its own layout and names the buffer that owns the memory as its
 * root; every question about memory (border, liveness, offset) is asked of the root. */
#ifndef NETC_PLAN_H
#define NETC_PLAN_H

#include "layer.h"

typedef struct Buf {
    CLayout l;
    int root;      /* the buffer whose memory this one is (itself unless an alias or a slice) */
    int sub;       /* a slice (a Concat's input written into its output): floats from the
                      root's start to this one's, its first channel; its l.cs is the root's c */
    int def, last; /* roots: the first step that writes it and the last that reads it */
    size_t off;    /* roots in the arena: floats into it */
    bool user_in;  /* the caller's input (CHW, no border) */
    bool user_out; /* the caller's output */
    bool scratch;  /* a step's working memory (Step.scratch), live in that step alone */
} Buf;

typedef enum {
    STEP_LAYER,   /* a layer, with the nodes after it that it absorbs */
    STEP_INPUT,   /* the caller's CHW input converted to the first layers' layout */
    STEP_OUTPUT,  /* the last tensor converted to the caller's output (CHW, flat) */
    STEP_CONVERT, /* a flat tensor put in the order a join wants (its inputs' orders differ) */
} StepKind;

/* A layer step absorbs the nodes after it that read only it, each the only reader of the
 * one before: a BatchNorm folded into its weights, an Add fused into its epilogue, an
 * activation, a max pool; the step writes the last one's output. */
typedef struct Step {
    StepKind kind;
    const Node *node; /* STEP_LAYER: the layer */
    const Node *bn;   /* a BatchNorm folded into the layer's weights and bias, or NULL */
    const Node *add;  /* an Add fused into the epilogue (it adds ins[1..nin-1]), or NULL */
    const Node *act;  /* an activation fused into the step, or NULL */
    const Node *pool; /* a pool fused into the step, or NULL */
    /* The buffers read: a join's inputs in order; a layer's input, then the other inputs
     * of an Add fused into it; one for the other steps. */
    int nin;
    int ins[IR_MAX_JOIN];
    int out;       /* the buffer written */
    bool alias;    /* out is ins[0]'s memory: no code */
    bool in_place; /* a Concat whose inputs were written into slices of its output: no code */
    int scratch;   /* the buffer of the layer's working memory (emit_scratch), 0 if none */
} Step;

static inline bool step_has_code(const Step *s) { return !s->alias && !s->in_place; }

typedef struct Plan {
    Arena *arena; /* the compilation's: steps, buffers and names live in it */
    const Graph *g;
    Step *steps;
    int nsteps;
    Buf *bufs;
    int nbufs;
    size_t arena_floats; /* the activation arena: floats, every root packed in */
} Plan;

/* Plans the program of shaped graph g, everything allocated in arena. */
void plan_build(Plan *p, Arena *arena, const Graph *g);
/* What step s does, into buf: "layer1.0 Conv2d + ReLU + MaxPool2d" for a layer step. */
void plan_step_what(const Step *s, char *buf, size_t n);
/* The plan as text: steps, buffers with layout, border, offset and life, the arena size. */
void plan_dump(const Plan *p, StrBuf *sb);

#endif
