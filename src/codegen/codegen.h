/* codegen.h: the C code generator behind `netc -o`: one standalone C99 file (and an
 * optional header) specialised to a shape-checked network and its weights. */
#ifndef NETC_CODEGEN_H
#define NETC_CODEGEN_H

#include "ir.h"

typedef struct CgOptions {
    const char *prefix;      /* API prefix (default: the network's name) */
    const char *source;      /* the net file's name, for the header comment */
    const char *header_name; /* when a header is written: the name the .c includes */
    bool main;               /* add a command-line driver */
    /* The weights as a binary blob beside the C file instead of C literals: the path the
     * file's `.incbin` names (as the assembler finds it: from the compiler's working
     * directory, or through -Wa,-I DIR). NULL: literals. */
    const char *blob_path;
} CgOptions;

/* Past this many weight floats netc writes a blob by default: compilers take minutes and
 * gigabytes over tens of megabytes of float literals. */
#define CG_BLOB_AUTO_FLOATS ((size_t)4 << 20)

/* Whether every layer of g can be generated (LayerOps.emit_check), each that cannot told. */
bool cg_can_emit(const Graph *g, Diag *d);
/* Generates the program for g with the given parameter values (params[node *
 * NODE_MAX_PARAMS + p], PyTorch layout). Writes the C file into c and, when h is not
 * NULL, the header into h, and with o->blob_path the weights into blob. Returns false (after a
 * message) if the net cannot be generated, e.g. a non-finite weight. */
bool cg_emit(const Graph *g, const float *const *params, const CgOptions *o, StrBuf *c, StrBuf *h,
             StrBuf *blob, Diag *d);
/* The weight floats g's program embeds, to choose between a blob and literals: its
 * parameters and buffers before folding, a Winograd convolution's weights as transformed. */
size_t cg_weight_floats(const Graph *g);
/* The plan of g's program (steps, buffers, arena), as `netc --dump-plan` prints it. */
void cg_dump_plan(const Graph *g, StrBuf *sb);
/* The generated program's peak activation memory: its arena's bytes (NAME_ARENA_BYTES),
 * every tensor but the caller's input and output, packed by the liveness plan. */
size_t cg_arena_bytes(const Graph *g);

#endif
