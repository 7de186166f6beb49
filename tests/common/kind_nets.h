/* kind_nets.h: whole nets that put one layer kind at every position, for the property tests
 * (tests/runtime/test_props.c: gradients, in-place, declared properties) and the codegen
 * parity over every kind (tests/codegen).
 *
 * Design choice: a kind is placed through its registry example (LayerOps.example) into a
 * fixed list of net templates around it; a template is kept when the net shape-checks, so a
 * new kind is covered by itself, at every position its input rank allows. */
#ifndef NETC_KIND_NETS_H
#define NETC_KIND_NETS_H

#include "ir.h"

typedef enum {
    POS_FIRST,       /* the net's first layer */
    POS_BEFORE_POOL, /* between a convolution and a max pool */
    POS_AFTER_POOL,  /* right after a max pool */
    POS_MIDDLE,      /* between two layers with parameters */
    POS_LAST,        /* the net's last layer: its output is the net's */
    POS__COUNT
} KindPos;

extern const char *const kind_pos_names[POS__COUNT]; /* "first", "before_pool", ... */

typedef struct KindNet {
    KindPos pos;
    const char *tag;   /* the template's name, unique per kind: "first_image", "last_flat" */
    const char *input; /* the net's input shape: "3x8x8" or "12" */
    char *text;        /* the whole .net file (malloc); the net is named after kind and tag */
} KindNet;

/* Fills out[0..max) with the nets that put ops->example at each template position and
 * shape-check; returns how many. Each text is malloc'ed: kind_nets_free releases them. */
int kind_nets(const LayerOps *ops, KindNet *out, int max);
void kind_nets_free(KindNet *nets, int n);

#endif
