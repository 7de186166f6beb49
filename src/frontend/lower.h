/* lower.h: what the parts of lowering share, private to the front end: the state of one
 * lowering and the attribute checker that layers and train settings both go through. */
#ifndef NETC_LOWER_H
#define NETC_LOWER_H

#include "frontend.h"

typedef struct Lower {
    Arena *arena;
    Diag *diag;
    Graph *g;
    const char *setting; /* the train setting being lowered: names its attribute 'value' */
    const char *flag;    /* the netrun flag being applied: names the value in messages */
} Lower;

/* Applies args[first..] to vals (nspecs of them, spec order; defaults already in place).
 * `what` names the owner in messages ("'Conv2d'", "optimizer 'Adam'"). Reports every
 * problem; returns false if there was any. */
bool lower_args(Lower *L, const char *what, const AttrSpec *specs, int nspecs,
                const char *const *positional, bool has_in_out, const PtrVec *args, int first,
                AttrVal *vals, SrcLoc head_loc);
/* Lowers net's train section (or its defaults) into L->g->train (lower_train.c). */
void lower_train(Lower *L, const AstNet *net);

#endif
