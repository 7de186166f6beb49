/* plan.c: the passes that plan the generated program (plan_build lists them in order) and
 * the plan's dump. The network is a DAG: a step reads the buffers its nodes' producers
 * wrote, wherever they are in the program, and a buffer lives until its last reader.
 *
 * Design choice: tensors live channels-last (HWC) inside the generated code, and a tensor a
 * convolution reads carries that convolution's padding as a zero border written by its
 * producer (the largest any reader wants), so no interior loop tests bounds. The API still
 * takes and returns PyTorch's layouts; the first step converts the input and the last
 * writes the output. */
#include <stdio.h>
#include <stdlib.h>
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

/* Whether two flat layouts hold their values in the same order. */
static bool same_order(const CLayout *a, const CLayout *b)
{
    bool pa = a->perm && a->pc > 1 && a->ph * a->pw > 1;
    bool pb = b->perm && b->pc > 1 && b->ph * b->pw > 1;
    return pa == pb && (!pa || (a->pc == b->pc && a->ph == b->ph && a->pw == b->pw));
}

/* What the walk over the graph knows of each node. */
typedef struct NodeInfo {
    int reads;  /* how many times other nodes read its output (a join may read it twice) */
    int reader; /* the last node that reads it */
    int owner;  /* the node whose step computes it, -1 before the walk reaches it */
    int chain;  /* the node whose step ends with it, or -1 */
    int buf;    /* the buffer that holds its output */
} NodeInfo;

/* Step s takes in node m, the only reader of the step's last node, when the fusions keep
 * their order in the step's epilogue: a folded affine first, then an added tensor, then the
 * activation; a fused max pool takes the maximum of the raw sums, before bias and
 * activation, which is exact only when the activation never decreases and nothing is added. */
static bool absorb(Step *s, const Node *m)
{
    if (m->ops->emit_act) {
        if (s->act)
            return false;
        s->act = m;
    } else if (m->ops->eval_affine) {
        if (s->bn || s->add || s->act || s->pool)
            return false;
        s->bn = m;
    } else if (m->ops->max_inputs) {
        if (s->add || s->act || s->pool)
            return false;
        s->add = m;
    } else {
        if (s->pool || s->add || (s->act && !ir_monotonic(s->act)))
            return false;
        s->pool = m;
    }
    return true;
}

/* Which nodes each step takes in: from each node the walk has not taken yet, the step
 * absorbs the reader after it while that reader reads only the step's last node and the
 * first node's fuse hook takes it. Flatten and Dropout steps are aliases of their input
 * (plan_aliases may undo it). The step goes into the program where its last node is in
 * the graph's order, when every input of its nodes is ready (plan_buffers). */
static void plan_fusion(Plan *p, NodeInfo *info, Step *chains)
{
    const Graph *g = p->g;
    int nn = g->nodes.len;
    for (int i = 0; i < nn; i++)
        info[i] = (NodeInfo){.reader = -1, .owner = -1, .chain = -1};
    for (int i = 0; i < nn; i++) {
        const Node *m = GRAPH_NODE(g, i);
        for (int k = 0; k < m->ninputs; k++)
            if (m->inputs[k]) {
                info[m->inputs[k]->id].reads++;
                info[m->inputs[k]->id].reader = i;
            }
    }
    for (int i = 0; i < nn; i++) {
        const Node *n = GRAPH_NODE(g, i);
        if (info[i].owner >= 0)
            continue;
        Step *s = &chains[i];
        *s = (Step){.kind = STEP_LAYER, .node = n, .alias = n->ops->infer_identity};
        info[i].owner = i;
        int last = i;
        while (!s->alias && n->ops->fuse && info[last].reads == 1) {
            const Node *m = GRAPH_NODE(g, info[last].reader);
            if (info[m->id].owner >= 0 || !n->ops->fuse(n, m) || !absorb(s, m))
                break;
            info[m->id].owner = i;
            last = m->id;
        }
        info[last].chain = i;
    }
}

/* A flat input of a join whose order is not the one the join wants (Add: its first
 * input's; Concat: PyTorch's) gets a step that converts it, before the join. */
static int join_input(Plan *p, const Step *join, int k, int buf)
{
    const CLayout *l = &p->bufs[buf].l;
    if (l->rank != 1)
        return buf;
    CLayout want = {.rank = 1, .n = l->n};
    if (join->node->kind == LAYER_ADD)
        want = p->bufs[join->ins[0]].l;
    if (same_order(l, &want) || (k == 0 && join->node->kind == LAYER_ADD))
        return buf;
    int conv = new_buf(p, want);
    p->steps[p->nsteps++] = (Step){.kind = STEP_CONVERT, .nin = 1, .ins = {buf}, .out = conv};
    return conv;
}

/* The steps in the graph's order of their last nodes, and a buffer for each step's output:
 * a layer's input is its producer's buffer (or the caller's input), a join reads all of
 * its producers', a fused Add's other inputs follow the layer's. */
static void plan_buffers(Plan *p, NodeInfo *info, const Step *chains)
{
    const Graph *g = p->g;
    int nn = g->nodes.len;
    new_buf(p, layout_of(g->input));
    p->bufs[0].user_in = true;
#define BUF_OF(node) ((node) ? info[(node)->id].buf : 0)
    for (int i = 0; i < nn; i++) {
        if (info[i].chain < 0)
            continue;
        Step s = chains[info[i].chain];
        const Node *n = s.node, *last = GRAPH_NODE(g, i);
        if (n->ops->max_inputs) {
            for (int k = 0; k < n->ninputs; k++)
                s.ins[s.nin++] = BUF_OF(n->inputs[k]);
            for (int k = 0; k < s.nin; k++)
                s.ins[k] = join_input(p, &s, k, s.ins[k]);
        } else {
            s.ins[s.nin++] = BUF_OF(n->inputs[0]);
            for (int k = 0; s.add && k < s.add->ninputs; k++) {
                const Node *x = s.add->inputs[k];
                if (!x || info[x->id].owner != n->id)
                    s.ins[s.nin++] = BUF_OF(x);
            }
        }
        const CLayout *src = &p->bufs[s.ins[0]].l;
        CLayout out = layout_of(last->out);
        /* a view keeps its input's order; so does a same-size step on a flat tensor that has
         * no weights or only per-feature ones (the emitter puts those in the input's order) */
        bool keeps = n->nparams == 0 || n->ops->eval_affine;
        if (out.rank == 1 && (s.alias || (src->rank == 1 && keeps && out.n == src->n)))
            flat_order_of(&out, src);
        s.out = new_buf(p, out);
        if (s.alias)
            p->bufs[s.out].root = p->bufs[s.ins[0]].root;
        info[i].buf = s.out;
        p->steps[p->nsteps++] = s;
    }
#undef BUF_OF
}

/* The input of a step that reads a zero border (a convolution's padding) carries it: the
 * root buffer takes the largest border any of its readers wants, and each reader indexes
 * it with the border it has. */
static void plan_borders(Plan *p)
{
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        if (s->alias || s->kind != STEP_LAYER || !s->node->ops->emit_border)
            continue;
        int pad = s->node->ops->emit_border(s->node);
        Buf *root = &p->bufs[p->bufs[s->ins[0]].root];
        if (pad > root->l.pad)
            root->l.pad = pad;
    }
}

/* A Concat of images whose every input is a buffer of its own, written by a layer step and
 * read by the Concat alone, copies nothing: its inputs become slices of its output (each
 * writes its channels of every pixel, with the output's pixel stride and border) and the
 * Concat has no code. Its output then lives from the first input's step. */
static void plan_slices(Plan *p)
{
    int *reads = arena_alloc(p->arena, sizeof(int) * (size_t)p->nbufs);
    memset(reads, 0, sizeof(int) * (size_t)p->nbufs);
    for (int i = 0; i < p->nsteps; i++)
        for (int k = 0; k < p->steps[i].nin; k++)
            reads[p->bufs[p->steps[i].ins[k]].root]++;
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        const CLayout *o = &p->bufs[s->out].l;
        if (s->kind != STEP_LAYER || s->node->kind != LAYER_CONCAT || s->act || o->rank != 3)
            continue;
        bool ok = true;
        for (int k = 0; k < s->nin && ok; k++) {
            const Buf *x = &p->bufs[s->ins[k]];
            ok = x->root == s->ins[k] && !x->user_in && reads[s->ins[k]] == 1;
        }
        for (int j = 0; j < i && ok; j++) /* written by a layer's own code */
            for (int k = 0; k < s->nin; k++)
                if (p->steps[j].out == s->ins[k])
                    ok = ok && p->steps[j].kind == STEP_LAYER && step_has_code(&p->steps[j]);
        if (!ok)
            continue;
        s->in_place = true;
        for (int k = 0, at = 0; k < s->nin; k++) {
            Buf *x = &p->bufs[s->ins[k]];
            x->root = s->out;
            x->sub = at;
            x->l.cs = o->c;
            x->l.pad = o->pad;
            at += x->l.c;
        }
    }
}

/* An alias of the same rank sees its root's border; a flatten of a bordered image cannot
 * be a view, so it becomes a copy with memory of its own, and the views of it (in step
 * order, after it) take it as their root. */
static void plan_aliases(Plan *p)
{
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        if (!s->alias)
            continue;
        Buf *o = &p->bufs[s->out];
        o->root = p->bufs[s->ins[0]].root;
        const Buf *root = &p->bufs[o->root];
        if (o->l.rank == root->l.rank) {
            o->l.pad = root->l.pad;
        } else if (root->l.pad > 0) {
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

/* The caller's input is CHW without a border: when its readers want it otherwise (HWC
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
        for (int k = 0; k < p->steps[i].nin; k++)
            if (p->steps[i].ins[k] == 0)
                p->steps[i].ins[k] = conv;
    memmove(p->steps + 1, p->steps, sizeof(Step) * (size_t)p->nsteps);
    p->nsteps++;
    p->steps[0] = (Step){.kind = STEP_INPUT, .nin = 1, .ins = {0}, .out = conv};
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
    p->steps[p->nsteps++] = (Step){.kind = STEP_OUTPUT, .nin = 1, .ins = {last}, .out = out};
}

/* A layer step whose emitter asks for working memory gets a buffer of its own for it. */
static void plan_scratch(Plan *p)
{
    for (int i = 0; i < p->nsteps; i++) {
        Step *s = &p->steps[i];
        if (s->kind != STEP_LAYER || !step_has_code(s) || !s->node->ops->emit_scratch)
            continue;
        size_t n = s->node->ops->emit_scratch(s->node, s->pool);
        if (n > 0) {
            s->scratch = new_buf(p, (CLayout){.rank = 1, .n = (int)n});
            p->bufs[s->scratch].scratch = true;
        }
    }
}

/* For every root: the first step that writes it and the last that reads it, wherever
 * that reader is (a skip connection keeps a tensor alive across the steps it jumps). */
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
        if (p->steps[i].scratch)
            p->bufs[p->steps[i].scratch].def = p->bufs[p->steps[i].scratch].last = i;
    }
    for (int i = 0; i < p->nsteps; i++)
        for (int k = 0; k < p->steps[i].nin; k++) {
            Buf *r = &p->bufs[p->bufs[p->steps[i].ins[k]].root];
            if (i > r->last)
                r->last = i;
        }
}

static size_t buf_floats(const Buf *b) { return (clayout_floats(&b->l) + 15) & ~(size_t)15; }

/* The roots in the arena by first fit, in the order of their ids (the order they are
 * written) or largest first, whichever packs tighter: placing large tensors first keeps
 * small ones from splitting the space a large one needs later, which a skip connection
 * (a tensor kept across several steps) makes likely. Sizes are rounded to 16 floats so
 * every buffer starts on a 64-byte boundary. */
static void plan_arena(Plan *p)
{
    size_t nb = (size_t)p->nbufs + 1;
    int *root = arena_alloc(p->arena, sizeof(int) * nb), n = 0;
    int *lo = arena_alloc(p->arena, sizeof(int) * nb),
        *hi = arena_alloc(p->arena, sizeof(int) * nb);
    int *by_size = arena_alloc(p->arena, sizeof(int) * nb);
    size_t *size = arena_alloc(p->arena, sizeof(size_t) * nb);
    size_t *off = arena_alloc(p->arena, sizeof(size_t) * nb);
    for (int b = 0; b < p->nbufs; b++) {
        const Buf *x = &p->bufs[b];
        if (x->root != b || x->user_in || x->user_out)
            continue;
        root[n] = b;
        lo[n] = x->def > 0 ? x->def : 0; /* every root is written; a guard all the same */
        hi[n] = x->last > lo[n] ? x->last : lo[n];
        size[n] = buf_floats(x);
        n++;
    }
    order_largest_first(n, size, by_size);
    size_t sized = first_fit(n, by_size, lo, hi, size, p->nsteps, off);
    p->arena_floats = first_fit(n, NULL, lo, hi, size, p->nsteps, off);
    if (sized < p->arena_floats)
        p->arena_floats = first_fit(n, by_size, lo, hi, size, p->nsteps, off);
    for (int i = 0; i < n; i++)
        p->bufs[root[i]].off = off[i];
}

void plan_build(Plan *p, Arena *arena, const Graph *g)
{
    int nn = g->nodes.len, joins = 0;
    for (int i = 0; i < nn; i++)
        joins += GRAPH_NODE(g, i)->ninputs;
    *p = (Plan){.arena = arena, .g = g};
    /* a step per node, a conversion per join input, the input's and the output's; a buffer
     * for each, the caller's input and a layer's working memory */
    p->steps = arena_alloc(arena, sizeof(Step) * (size_t)(nn + joins + 2));
    p->bufs = arena_alloc(arena, sizeof(Buf) * (size_t)(2 * nn + joins + 3));
    NodeInfo *info = arena_alloc(arena, sizeof(NodeInfo) * (size_t)(nn + 1));
    Step *chains = arena_alloc(arena, sizeof(Step) * (size_t)(nn + 1));
    plan_fusion(p, info, chains);
    plan_buffers(p, info, chains);
    plan_borders(p);
    plan_slices(p);
    plan_aliases(p);
    plan_input(p);
    plan_output(p);
    plan_scratch(p);
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
    if (s->kind == STEP_INPUT) {
        snprintf(buf, n, "the input, CHW to the first layer's layout");
    } else if (s->kind == STEP_OUTPUT) {
        snprintf(buf, n, "the output, to the caller's CHW");
    } else if (s->kind == STEP_CONVERT) {
        snprintf(buf, n, "a flat tensor put in the order its join wants");
    } else {
        const Node *parts[] = {s->bn, s->add, s->act, s->pool};
        int at = snprintf(buf, n, "%s %s", s->node->path, s->node->ops->name);
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
            if (parts[k] && at >= 0 && (size_t)at < n)
                at += snprintf(buf + at, n - (size_t)at, " + %s%s", parts[k]->ops->name,
                               parts[k] == s->bn ? " (folded)" : "");
    }
}

void plan_dump(const Plan *p, StrBuf *sb)
{
    char nb[32], line[256];
    sb_printf(sb, "plan of %s: %d step%s, %d buffer%s\n", p->g->name, p->nsteps,
              p->nsteps == 1 ? "" : "s", p->nbufs, p->nbufs == 1 ? "" : "s");
    for (int i = 0; i < p->nsteps; i++) {
        const Step *s = &p->steps[i];
        sb_printf(sb, "step %d:", i);
        for (int k = 0; k < s->nin; k++)
            sb_printf(sb, " b%d", s->ins[k]);
        sb_printf(sb, " -> b%d  ", s->out);
        plan_step_what(s, line, sizeof line);
        sb_puts(sb, line);
        if (s->alias)
            sb_puts(sb, " (alias: no code)");
        if (s->in_place)
            sb_puts(sb, " (its inputs write into it: no code)");
        if (s->scratch)
            sb_printf(sb, " (working memory b%d)", s->scratch);
        sb_putc(sb, '\n');
    }
    for (int i = 0; i < p->nbufs; i++) {
        const Buf *b = &p->bufs[i];
        sb_printf(sb, "b%d: ", i);
        layout_dump(sb, &b->l, b->user_in);
        if (b->root != i && b->l.rank == 3 && clayout_px(&b->l) != b->l.c)
            sb_printf(sb, ", channels %d..%d of b%d", b->sub, b->sub + b->l.c, b->root);
        else if (b->root != i)
            sb_printf(sb, ", the memory of b%d", b->root);
        else if (b->user_in)
            sb_puts(sb, ", the caller's input");
        else if (b->user_out)
            sb_puts(sb, ", the caller's output");
        else if (b->scratch)
            sb_printf(sb, ", working memory, arena floats [%zu, %zu), live in step %d", b->off,
                      b->off + buf_floats(b), b->def);
        else
            sb_printf(sb, ", arena floats [%zu, %zu), live in steps %d..%d", b->off,
                      b->off + buf_floats(b), b->def, b->last);
        sb_putc(sb, '\n');
    }
    sb_printf(sb, "arena: %s floats\n", fmt_thousands(nb, (int64_t)p->arena_floats));
}
