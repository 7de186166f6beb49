/* model_impl.h: what the model's memory plan (plan.c) and its passes (model.c) share.
 * Private to the runtime. */
#ifndef NETC_RUNTIME_MODEL_IMPL_H
#define NETC_RUNTIME_MODEL_IMPL_H

#include "layer.h"
#include "runtime.h"

/* Chunks of a pass: enough for two or three threads to even out their loads, few enough
 * that their gradient blocks stay small. */
#define MAX_CHUNKS 8 /* the default of the train setting `chunks` */

/* Carves views from one block: a first pass with base == NULL only counts. */
typedef struct Carver {
    char *base;
    size_t off;
} Carver;

void *carve(Carver *c, size_t bytes);

/* The decisions of the plan (NodePlan's flags, where each gradient lives, the segments),
 * then its memory: run with a counting Carver, then with the real block. */
bool rt_plan_decide(Model *m);
void rt_plan_carve(Model *m, Carver *c);
void rt_plan_release(Model *m); /* the decisions' own memory (not the block) */

/* Rows of a (B, s) tensor: b * numel(s). */
static inline size_t rows_of(const Shape *s, int b) { return (size_t)b * (size_t)shape_numel(*s); }

#endif
