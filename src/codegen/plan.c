/* plan.c: the passes that plan the generated program (plan_build lists them in order) and
 * the plan's dump.
 *
 * Design choice: tensors live channels-last (HWC) inside the generated code, and a tensor a
 * convolution reads carries that convolution's padding as a zero border written by its
 * producer, so no interior loop tests bounds. The API still takes and returns PyTorch's
 * layouts; the first step converts the input and the last writes the output. */
#include <stdio.h>
#include <string.h>

#include "plan.h"

static int new_buf(Plan *p, CLayout l)
{
    Buf *b = &p->bufs[p->nbufs];
    memset(b, 0, sizeof *b);
    b->l = l;
    b->root = p->nbufs;
    return p->nbufs++;
}

static CLayout layout_of(Shape s)
{
    CLayout l = {.rank = s.rank == 3 ? 3 : 1};
    if (s.rank == 3) {
        l.c = (int)s.d[0];
        l.h = (int)s.d[1];
        l.w = (int)s.d[2];
    } else {
        l.n = (int)shape_numel(s);
    }
    return l;
}

/* Makes flat layout out hold its values in src's memory order: an image's HWC order, or
 * the order a flat src holds. */
static void flat_order_of(CLayout *out, const CLayout *src)
{
    if (src->rank == 3) {
        out->perm = true;
        out->pc = src->c, out->ph = src->h, out->pw = src->w;
    } else {
        out->perm = src->perm;
        out->pc = src->pc, out->ph = src->ph, out->pw = src->pw;
    }
}

/* One step per layer, and a buffer for its output. A kind with a fuse hook takes in the
 * activation and the pool that follow it when that is exact; Flatten and Dropout become
 * aliases of their input (plan_aliases may undo it). */
static void plan_steps(Plan *p)
{
    const Graph *g = p->g;
    int nn = g->nodes.len;
    int cur = new_buf(p, layout_of(g->input));
    p->bufs[cur].user_in = true;
    for (int i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        Step *s = &p->steps[p->nsteps];
        memset(s, 0, sizeof *s);
        s->kind = STEP_LAYER;
        s->node = n;
        s->in = cur;
        const CLayout *src = &p->bufs[cur].l;
        CLayout out = layout_of(n->out);
        if (n->ops->infer_identity) {
            s->alias = true;
            if (out.rank == 1)
                flat_order_of(&out, src);
        } else if (n->ops->fuse) {
            while (i + 1 < nn) {
                const Node *next = GRAPH_NODE(g, i + 1);
                bool is_act = next->ops->emit_act != NULL;
                /* a fused step applies its activation after its pool's maximum: exact for
                 * act-then-pool only when the activation never decreases */
                if (is_act && !s->act && n->ops->fuse(n, next))
                    s->act = next;
                else if (!is_act && !s->pool && (!s->act || s->act->ops->monotonic) &&
                         n->ops->fuse(n, next))
                    s->pool = next;
                else
                    break;
                i++;
                out = layout_of(next->out);
            }
        }
        /* a parameterless same-size step on a permuted flat tensor keeps the order */
        if (out.rank == 1 && !out.perm && src->perm && !n->ops->infer_identity && n->nparams == 0 &&
            out.n == src->n)
            flat_order_of(&out, src);
        s->out = new_buf(p, out);
        if (s->alias)
            p->bufs[s->out].root = p->bufs[cur].root;
        cur = s->out;
        p->nsteps++;
    }
}

/* The input of a step that reads a zero border (a convolution's padding) carries it: the
 * root buffer takes the largest border any of its readers wants. */
static void plan_borders(Plan *p)
{
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        if (s->alias)
            continue;
        int pad = s->node && s->node->ops->emit_border ? s->node->ops->emit_border(s->node) : 0;
        Buf *root = &p->bufs[p->bufs[s->in].root];
        if (pad > root->l.pad)
            root->l.pad = pad;
    }
}

/* An alias of the same rank sees its root's border; a flatten of a bordered image cannot
 * be a view, so it becomes a copy with memory of its own. */
static void plan_aliases(Plan *p)
{
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        if (!s->alias)
            continue;
        Buf *root = &p->bufs[p->bufs[s->in].root], *o = &p->bufs[s->out];
        bool same_shape = o->l.rank == root->l.rank;
        if (same_shape)
            o->l.pad = root->l.pad;
        if (root->l.pad > 0 && !same_shape) {
            s->alias = false;
            o->root = s->out;
        }
    }
}

/* Whether a buffer's memory holds its values in the caller's order: PyTorch's, CxHxW
 * flattened for an image. */
static bool in_caller_order(const CLayout *l)
{
    if (l->rank == 3)
        return l->pad == 0 && (l->c == 1 || l->h * l->w == 1);
    return !l->perm || l->pc == 1 || l->ph * l->pw == 1;
}

/* The caller's input is CHW without a border: when the first layer wants it otherwise (HWC
 * with several channels and pixels, or a border), a first step converts it into a buffer
 * of the wanted layout, which takes the input's place for every reader. */
static void plan_input(Plan *p)
{
    Buf *in = &p->bufs[0];
    if (in_caller_order(&in->l))
        return;
    int conv = new_buf(p, in->l);
    in->l.pad = 0;
    for (int i = 1; i < p->nbufs; i++)
        if (i != conv && p->bufs[i].root == 0)
            p->bufs[i].root = conv;
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].in == 0)
            p->steps[i].in = conv;
    memmove(p->steps + 1, p->steps, sizeof(Step) * (size_t)p->nsteps);
    p->nsteps++;
    p->steps[0] = (Step){.kind = STEP_INPUT, .in = 0, .out = conv};
}

/* The last tensor goes to the caller's output. When its memory already holds it in the
 * caller's order (and is not the caller's input), that memory is the caller's output and
 * the layer writes there; otherwise a last step converts it. */
static void plan_output(Plan *p)
{
    int last = p->steps[p->nsteps - 1].out;
    Buf *root = &p->bufs[p->bufs[last].root];
    if (!root->user_in && in_caller_order(&root->l)) {
        root->user_out = true;
        return;
    }
    const Node *n = GRAPH_NODE(p->g, p->g->nodes.len - 1);
    int out = new_buf(p, (CLayout){.rank = 1, .n = (int)shape_numel(n->out)});
    p->bufs[out].user_out = true;
    p->steps[p->nsteps++] = (Step){.kind = STEP_OUTPUT, .in = last, .out = out};
}

/* For every root: the first step that writes it and the last that reads it. */
static void plan_liveness(Plan *p)
{
    for (int i = 0; i < p->nbufs; i++)
        p->bufs[i].def = p->bufs[i].last = -1;
    for (int i = 0; i < p->nsteps; i++) {
        Buf *w = &p->bufs[p->bufs[p->steps[i].out].root];
        if (w->def < 0) {
            w->def = i;
            w->last = i;
        }
    }
    for (int i = 0; i < p->nsteps; i++) {
        Buf *r = &p->bufs[p->bufs[p->steps[i].in].root];
        if (i > r->last)
            r->last = i;
    }
}

static size_t buf_floats(const Buf *b) { return (clayout_floats(&b->l) + 15) & ~(size_t)15; }

/* First fit, in the order of the buffer ids: each root in the arena goes at the lowest
 * offset where it overlaps no root placed before it that is live at the same time. Sizes
 * are rounded to 16 floats so every buffer starts on a 64-byte boundary. */
static void plan_arena(Plan *p)
{
    size_t top = 0;
    for (int b = 0; b < p->nbufs; b++) {
        Buf *x = &p->bufs[b];
        if (x->root != b || x->user_in || x->user_out)
            continue;
        size_t size = buf_floats(x), off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int o = 0; o < b; o++) {
                Buf *y = &p->bufs[o];
                if (y->root != o || y->user_in || y->user_out || y->last < x->def ||
                    x->last < y->def)
                    continue;
                if (off < y->off + buf_floats(y) && y->off < off + size) {
                    off = y->off + buf_floats(y);
                    moved = true;
                }
            }
        }
        x->off = off;
        if (off + size > top)
            top = off + size;
    }
    p->arena_floats = top;
}

void plan_build(Plan *p, Arena *arena, const Graph *g)
{
    int nn = g->nodes.len;
    *p = (Plan){.arena = arena, .g = g};
    /* a step per layer and the conversions; their buffers and the caller's input */
    p->steps = arena_alloc(arena, sizeof(Step) * (size_t)(nn + 2));
    p->bufs = arena_alloc(arena, sizeof(Buf) * (size_t)(nn + 3));
    plan_steps(p);
    plan_borders(p);
    plan_aliases(p);
    plan_input(p);
    plan_output(p);
    plan_liveness(p);
    plan_arena(p);
}

/* ---- dump ---- */

static void layout_dump(StrBuf *sb, const CLayout *l, bool chw)
{
    if (l->rank == 3)
        sb_printf(sb, "%dx%dx%d %s", l->c, l->h, l->w, chw ? "CHW" : "HWC");
    else if (l->perm)
        sb_printf(sb, "%d (HWC of %dx%dx%d)", l->n, l->pc, l->ph, l->pw);
    else
        sb_printf(sb, "%d", l->n);
    if (l->pad)
        sb_printf(sb, " border %d", l->pad);
}

void plan_step_what(const Step *s, char *buf, size_t n)
{
    if (s->kind == STEP_INPUT)
        snprintf(buf, n, "the input, CHW to the first layer's layout");
    else if (s->kind == STEP_OUTPUT)
        snprintf(buf, n, "the output, to the caller's CHW");
    else
        snprintf(buf, n, "%s %s%s%s%s%s", s->node->path, s->node->ops->name, s->act ? " + " : "",
                 s->act ? s->act->ops->name : "", s->pool ? " + " : "",
                 s->pool ? s->pool->ops->name : "");
}

void plan_dump(const Plan *p, StrBuf *sb)
{
    char nb[32], line[256];
    sb_printf(sb, "plan of %s: %d step%s, %d buffer%s\n", p->g->name, p->nsteps,
              p->nsteps == 1 ? "" : "s", p->nbufs, p->nbufs == 1 ? "" : "s");
    for (int i = 0; i < p->nsteps; i++) {
        const Step *s = &p->steps[i];
        sb_printf(sb, "step %d: b%d -> b%d  ", i, s->in, s->out);
        plan_step_what(s, line, sizeof line);
        sb_puts(sb, line);
        if (s->alias)
            sb_puts(sb, " (alias: no code)");
        sb_putc(sb, '\n');
    }
    for (int i = 0; i < p->nbufs; i++) {
        const Buf *b = &p->bufs[i];
        sb_printf(sb, "b%d: ", i);
        layout_dump(sb, &b->l, b->user_in);
        if (b->root != i)
            sb_printf(sb, ", the memory of b%d", b->root);
        else if (b->user_in)
            sb_puts(sb, ", the caller's input");
        else if (b->user_out)
            sb_puts(sb, ", the caller's output");
        else
            sb_printf(sb, ", arena floats [%zu, %zu), live in steps %d..%d", b->off,
                      b->off + buf_floats(b), b->def, b->last);
        sb_putc(sb, '\n');
    }
    sb_printf(sb, "arena: %s floats\n", fmt_thousands(nb, (int64_t)p->arena_floats));
}
