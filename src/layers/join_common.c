/* join_common.c: what the join kinds (Add, Concat) share: naming their inputs in messages,
 * and the generated step's pixel loop over several input layouts. */
#include "layer.h"

const char *join_input_name(const Node *n, int k)
{
    return n->in_names && n->in_names[k] ? n->in_names[k]
           : n->inputs[k]                ? n->inputs[k]->path
                                         : "the input";
}

void join_input_notes(const Node *n, Diag *d)
{
    for (int k = 0; k < n->ninputs; k++) {
        char s[64];
        SrcLoc at = n->in_locs ? n->in_locs[k] : n->inputs[k] ? n->inputs[k]->loc : (SrcLoc){0};
        if (at.file)
            diag_note(d, at, "'%s' gives %s here", join_input_name(n, k),
                      shape_str(ir_input_shape(n, k), s));
    }
}

void emit_join_header(const Node *n, Emit *e, const char *what)
{
    sb_printf(e->code, "/* %s: %s of", n->path, what);
    for (int k = 0; k < n->ninputs; k++)
        sb_printf(e->code, "%s %s", k ? "," : "", join_input_name(n, k));
    sb_printf(e->code, "%s%s */\n", e->act ? " + " : "", e->act ? e->act->ops->name : "");
    sb_printf(e->code, "static void %s(const float *const *restrict in, float *restrict out)\n{\n",
              e->name);
}
