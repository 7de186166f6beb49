/* codegen.c: writes the generated program from the plan (plan.c): the prelude, the API,
 * the weights and one function per step (each written by its layer's emit hook in
 * src/layers/), the run of all steps, the API's functions and, with --main, the driver.
 *
 * Design choice: the API takes and returns PyTorch's layouts whatever the plan keeps inside;
 * the plan's first and last steps convert, and everything between is the layers' own code.
 * The C that is the same in every program (prelude.h, driver.c) lives in real C files,
 * compiled and tested on their own, that the build embeds (embed.c) and we copy in. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "codegen.h"
#include "plan.h"

/* The embedded files (see meson.build): each file's text. */
extern const char cg_prelude[]; /* prelude.h: the headers and the vector families */
extern const char cg_driver[];  /* driver.c: the --main command-line driver */

/* One generation: what the parts of the file share. */
typedef struct Gen {
    const Graph *g;
    const CgOptions *o;
    Plan plan;
    const char *P;   /* the API's prefix: mnist */
    char *U;         /* the same in capitals: MNIST */
    int64_t in_size; /* floats in and out of the API */
    int64_t out_size;
    const Shape *out;     /* the network's output shape */
    size_t weight_floats; /* the weights the steps wrote (folded, packed) */
} Gen;

static const char *buf_expr(const Plan *p, int id)
{
    const Buf *b = &p->bufs[p->bufs[id].root];
    int sub = p->bufs[id].sub;
    if (b->user_in)
        return "in";
    if (b->user_out)
        return sub ? arena_printf(p->arena, "out + %d", sub) : "out";
    return arena_printf(p->arena, "arena + %zu", b->off + (size_t)sub);
}

/* PREFIX_L<id>_<dotted name with '_'>: readable, and unique through the node id even when
 * two names differ only in '.' against '_' (its weights add _w and _b). */
static const char *step_name(const Plan *p, const char *prefix, const Step *st)
{
    char *s;
    switch (st->kind) {
    case STEP_LAYER:
        s = arena_printf(p->arena, "%s_L%d_%s", prefix, st->node->id, st->node->path);
        break;
    case STEP_INPUT: s = arena_printf(p->arena, "%s_input_to_hwc", prefix); break;
    case STEP_OUTPUT: s = arena_printf(p->arena, "%s_output_to_chw", prefix); break;
    default: s = arena_printf(p->arena, "%s_convert_b%d", prefix, st->out); break;
    }
    for (char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    return s;
}

static void upper(char *dst, const char *src)
{
    for (; *src; src++)
        *dst++ = (char)toupper((unsigned char)*src);
    *dst = 0;
}

void cg_dump_plan(const Graph *g, StrBuf *sb)
{
    Arena *arena = arena_new();
    Plan p;
    plan_build(&p, arena, g);
    plan_dump(&p, sb);
    arena_free(arena);
}

size_t cg_arena_bytes(const Graph *g)
{
    Arena *arena = arena_new();
    Plan p;
    plan_build(&p, arena, g);
    arena_free(arena);
    return p.arena_floats * sizeof(float);
}

static bool weights_finite(const Graph *g, const float *const *params, Diag *d)
{
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int k = 0; k < n->nparams; k++) {
            const float *v = params[(size_t)i * NODE_MAX_PARAMS + (size_t)k];
            for (int64_t j = 0; j < shape_numel(n->params[k].shape); j++)
                if (!isfinite(v[j])) {
                    diag_error(d, (SrcLoc){0}, "weight %s[%lld] is not finite (%g)",
                               n->params[k].name, (long long)j, (double)v[j]);
                    return false;
                }
        }
    }
    return true;
}

/* A conversion step between the caller's layout (CxHxW, flat) and the plan's, or between
 * two orders of a flat tensor. */
static void emit_conversion(const Gen *gen, const Step *s, Emit *e)
{
    CLayout user = {.rank = 1, .n = (int)gen->in_size};
    if (s->kind == STEP_INPUT)
        sb_printf(e->code, "/* the input: CHW -> HWC%s */\n",
                  e->out.pad ? " with a zero border" : "");
    else if (s->kind == STEP_OUTPUT)
        sb_puts(e->code, "/* the output: to the caller's order (CxHxW flattened) */\n");
    else
        sb_puts(e->code, "/* a flat tensor in the order its join wants */\n");
    sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
              e->name);
    emit_relayout(e->code, s->kind == STEP_INPUT ? &user : &e->in, "in", &e->out, "out", 4);
    sb_puts(e->code, "}\n\n");
}

/* The parameter values a layer step's emitter sees: its node's (params[1] NULL without a
 * bias) with a folded BatchNorm's evaluation factors multiplied in, per output channel:
 * w' = w alpha, b' = b alpha + beta (beta alone for a layer without a bias). The folding
 * kinds (their fuse hook takes the affine) have weight [out, ...] and bias [out]. NULL, with
 * an error, when a folded value is not finite (weights of 1e38 times a BatchNorm's factor:
 * the interpreter, which normalises after the layer, keeps them finite). */
static const float *const *step_params(const Plan *p, const Step *s, const float *const *params,
                                       Diag *d)
{
    const Node *n = s->node;
    const float **fp = arena_alloc(p->arena, sizeof(float *) * NODE_MAX_PARAMS);
    for (int k = 0; k < NODE_MAX_PARAMS; k++)
        fp[k] = k < n->nparams ? params[(size_t)n->id * NODE_MAX_PARAMS + (size_t)k] : NULL;
    if (!s->bn)
        return fp;
    size_t oc = (size_t)n->params[0].shape.d[0], per = (size_t)shape_numel(n->params[0].shape) / oc;
    float *alpha = arena_alloc(p->arena, sizeof(float) * oc);
    float *beta = arena_alloc(p->arena, sizeof(float) * oc);
    s->bn->ops->eval_affine(s->bn, &params[(size_t)s->bn->id * NODE_MAX_PARAMS], alpha, beta);
    float *w = arena_alloc(p->arena, sizeof(float) * oc * per);
    float *b = arena_alloc(p->arena, sizeof(float) * oc);
    for (size_t o = 0; o < oc; o++) {
        for (size_t j = 0; j < per; j++) {
            w[o * per + j] = fp[0][o * per + j] * alpha[o];
            if (!isfinite(w[o * per + j])) {
                diag_error(d, (SrcLoc){0},
                           "folding BatchNorm '%s' into '%s' makes weight %s[%zu] %g x %g, not "
                           "a finite float; netc folds a BatchNorm into the layer before it",
                           s->bn->path, n->path, n->params[0].name, o * per + j,
                           (double)fp[0][o * per + j], (double)alpha[o]);
                return NULL;
            }
        }
        b[o] = fp[1] ? fp[1][o] * alpha[o] + beta[o] : beta[o];
        if (!isfinite(b[o])) {
            diag_error(d, (SrcLoc){0},
                       "folding BatchNorm '%s' into '%s' makes bias %zu %g, not a finite float; "
                       "netc folds a BatchNorm into the layer before it",
                       s->bn->path, n->path, o, (double)b[o]);
            return NULL;
        }
    }
    fp[0] = w;
    fp[1] = b;
    return fp;
}

/* Every step that has code: its weights into data, its function into code. */
static bool emit_steps(Gen *gen, const float *const *params, StrBuf *data, StrBuf *code,
                       StrBuf *blob, Diag *d)
{
    const Plan *p = &gen->plan;
    for (int i = 0; i < p->nsteps; i++) {
        const Step *s = &p->steps[i];
        if (!step_has_code(s))
            continue;
        Emit e = {
            .arena = p->arena,
            .code = code,
            .data = data,
            .blob = blob,
            .blob_sym = arena_printf(p->arena, "%s_weights", gen->P),
            .name = step_name(p, gen->P, s),
            .in = p->bufs[s->ins[0]].l,
            .out = p->bufs[s->out].l,
            .nin = s->nin,
            .bn = s->bn,
            .add = s->add,
            .act = s->act,
            .pool = s->pool,
            .scratch = s->scratch != 0,
        };
        for (int k = 0; k < s->nin; k++)
            e.ins[k] = p->bufs[s->ins[k]].l;
        if (s->kind != STEP_LAYER) {
            emit_conversion(gen, s, &e);
            continue;
        }
        if (!s->node->ops->emit) {
            diag_error(d, (SrcLoc){0}, "layer kind '%s' has no C emitter", s->node->ops->name);
            return false;
        }
        e.params = step_params(p, s, params, d);
        if (!e.params)
            return false;
        s->node->ops->emit(s->node, &e);
        gen->weight_floats += e.weights;
    }
    return true;
}

/* The file's opening comment: where it comes from, the net's summary, how to use it. */
static void emit_head(const Gen *gen, StrBuf *c)
{
    const Graph *g = gen->g;
    const char *P = gen->P;
    StrBuf sum;
    sb_init(&sum);
    ir_summary(g, &sum);
    sb_printf(c, "/* %s.c: generated by netc 0.1.0 from %s. Do not edit; regenerate.\n *\n", P,
              gen->o->source ? gen->o->source : "?");
    for (char *line = sum.data; line && *line;) {
        char *nl = strchr(line, '\n');
        sb_printf(c, " * %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        line = nl ? nl + 1 : NULL;
    }
    sb_free(&sum);
    char ab[32], wb[32];
    sb_printf(c,
              " *\n * Activation arena: %s bytes (one static block; a liveness plan reuses it).\n"
              " * Weights: %s bytes of %s%s.\n"
              " * Build: cc -O2 -march=native %s.c -lm   (C99, needs only libm%s)\n"
              " * API: %s_forward(in, out), %s_predict(in), %s_forward_batch(in, out, n),\n"
              " * %s_forward_arena(in, out, arena);\n"
              " * in is the network input in PyTorch's layout (CxHxW), out its %lld outputs%s.\n"
              " * %s_forward, _predict and _forward_batch use static arenas: call them from one\n"
              " * thread at a time (_forward_batch runs its images in parallel itself when\n"
              " * compiled with OpenMP); from threads of your own, %s_forward_arena with an\n"
              " * arena of %s_ARENA_BYTES for each.\n */\n",
              fmt_thousands(ab, (int64_t)gen->plan.arena_floats * 4),
              fmt_thousands(wb, (int64_t)gen->weight_floats * 4),
              gen->o->blob_path ? "float32 in " : "static const float",
              gen->o->blob_path ? gen->o->blob_path : "", P, gen->o->main ? " and stdio" : "", P, P,
              P, P, (long long)gen->out_size, gen->out->rank == 3 ? " (CxHxW, as PyTorch)" : "", P,
              P, gen->U);
}

/* NAME_C, NAME_H, NAME_W of an image shape. */
static void emit_image_macros(StrBuf *sb, const char *name, const Shape *s)
{
    if (s->rank == 3)
        sb_printf(sb, "#define %s_C %lld\n#define %s_H %lld\n#define %s_W %lld\n", name,
                  (long long)s->d[0], name, (long long)s->d[1], name, (long long)s->d[2]);
}

/* The API: sizes and prototypes (the header's content, or the top of the file). */
static void emit_api(const Gen *gen, StrBuf *api)
{
    const char *P = gen->P, *U = gen->U;
    sb_printf(api, "#define %s_IN_SIZE %lld\n#define %s_OUT_SIZE %lld\n", U,
              (long long)gen->in_size, U, (long long)gen->out_size);
    sb_printf(api,
              "/* Peak activation memory (the static arena, per thread of %s_forward_batch) and\n"
              " * the weights' static const data, in bytes. */\n"
              "#define %s_ARENA_BYTES %zu\n#define %s_WEIGHT_BYTES %zu\n",
              gen->P, U, gen->plan.arena_floats * sizeof(float), U,
              gen->weight_floats * sizeof(float));
    emit_image_macros(api, arena_printf(gen->plan.arena, "%s_IN", U), &gen->g->input);
    emit_image_macros(api, arena_printf(gen->plan.arena, "%s_OUT", U), gen->out);
    sb_printf(api,
              "\n/* in: %s_IN_SIZE floats (CxHxW as PyTorch), out: %s_OUT_SIZE floats. */\n"
              "void %s_forward(const float *in, float *out);\n"
              "/* The index of the largest output. */\nint %s_predict(const float *in);\n"
              "/* n inputs after one another, n outputs after one another. */\n"
              "void %s_forward_batch(const float *in, float *out, int n);\n"
              "/* %s_forward with the caller's arena of %s_ARENA_BYTES (aligned for a float\n"
              " * at least, as malloc's is; 64-byte aligned runs fastest; apart from in and\n"
              " * out): reentrant, one arena per thread. */\n"
              "void %s_forward_arena(const float *in, float *out, void *arena);\n",
              U, U, P, P, P, P, U, P);
}

/* The run of all steps, and the API's functions around it. */
static void emit_run(const Gen *gen, StrBuf *c)
{
    const Plan *p = &gen->plan;
    const char *P = gen->P, *U = gen->U;
    sb_printf(c,
              "static void %s_run(const float *restrict in, float *restrict out, float *restrict "
              "arena)\n{\n",
              P);
    for (int i = 0; i < p->nsteps; i++) {
        const Step *s = &p->steps[i];
        if (!step_has_code(s))
            continue;
        sb_printf(c, "    %s(", step_name(p, P, s));
        if (s->nin > 1) {
            sb_puts(c, "(const float *const[]){");
            for (int k = 0; k < s->nin; k++)
                sb_printf(c, "%s%s", k ? ", " : "", buf_expr(p, s->ins[k]));
            sb_puts(c, "}");
        } else {
            sb_puts(c, buf_expr(p, s->ins[0]));
        }
        sb_printf(c, ", %s", buf_expr(p, s->out));
        if (s->scratch)
            sb_printf(c, ", %s", buf_expr(p, s->scratch));
        sb_puts(c, ");");
        if (s->kind == STEP_LAYER) {
            char what[256];
            plan_step_what(s, what, sizeof what);
            sb_printf(c, "  /* %s */", what);
        }
        sb_putc(c, '\n');
    }
    sb_puts(c, "    (void)arena;\n}\n\n");
    sb_printf(
        c,
        "void %s_forward(const float *in, float *out)\n{\n    %s_run(in, out, %s_arena[0]);\n}\n\n"
        "void %s_forward_arena(const float *in, float *out, void *arena)\n{\n"
        "    %s_run(in, out, (float *)arena);\n}\n\n"
        "int %s_predict(const float *in)\n{\n"
        "    static float out[%s_OUT_SIZE]; /* static as the arena: an image may be large */\n"
        "    int best = 0;\n"
        "    %s_forward(in, out);\n    for (int i = 1; i < %s_OUT_SIZE; i++)\n"
        "        if (out[i] > out[best])\n            best = i;\n    return best;\n}\n\n",
        P, P, P, P, P, P, U, P, U);
    sb_printf(
        c,
        "void %s_forward_batch(const float *in, float *out, int n)\n{\n"
        "#ifdef _OPENMP\n"
        "    int threads = omp_get_max_threads() < %s_MAX_THREADS ? omp_get_max_threads() : "
        "%s_MAX_THREADS;\n"
        "#pragma omp parallel for num_threads(threads) schedule(static)\n"
        "    for (int i = 0; i < n; i++)\n"
        "        %s_run(in + (size_t)i * %s_IN_SIZE, out + (size_t)i * %s_OUT_SIZE,\n"
        "               %s_arena[omp_get_thread_num()]);\n"
        "#else\n"
        "    for (int i = 0; i < n; i++)\n"
        "        %s_run(in + (size_t)i * %s_IN_SIZE, out + (size_t)i * %s_OUT_SIZE, %s_arena[0]);\n"
        "#endif\n}\n\n",
        P, U, U, P, U, U, P, P, U, U, P);
}

/* The driver: the macros that name this network for it, then driver.c. */
static void emit_main(const Gen *gen, StrBuf *c)
{
    const TrainConfig *t = &gen->g->train;
    const Shape *in = &gen->g->input;
    char mean[40] = "0", std[40] = "0";
    if (t->std[0] > 0) { /* the driver reads one-channel images: the first values */
        fmt_double(mean, sizeof mean, t->mean[0]);
        fmt_double(std, sizeof std, t->std[0]);
    }
    bool image = in->rank == 3;
    const Node *last = GRAPH_NODE(gen->g, gen->g->nodes.len - 1);
    char shape[64];
    shape_str(last->out, shape);
    /* a vector of class scores (one value is no class: printed as it is, as an image is) */
    bool scores = last->out.rank == 1 && shape_numel(last->out) > 1;
    OutputRead read = ir_output_read(gen->g);
    sb_printf(c,
              "/* ---- command-line driver (--main) ---- */\n"
              "#define NETC_MAIN_NAME \"%s\"\n#define NETC_MAIN_FORWARD %s_forward\n"
              "#define NETC_MAIN_IN_SIZE %lld\n#define NETC_MAIN_OUT_SIZE %lld\n"
              "#define NETC_MAIN_IN_C %lld\n#define NETC_MAIN_IN_H %lld\n"
              "#define NETC_MAIN_IN_W %lld\n#define NETC_MAIN_MEAN %s\n#define NETC_MAIN_STD %s\n"
              "#define NETC_MAIN_SCORES %d\n#define NETC_MAIN_OUT_SHAPE \"%s\"\n"
              "#define NETC_MAIN_PROBS %d\n#define NETC_MAIN_VALUES %d\n",
              gen->g->name, gen->P, (long long)gen->in_size, (long long)gen->out_size,
              image ? (long long)in->d[0] : 0, image ? (long long)in->d[1] : 0,
              image ? (long long)in->d[2] : 0, mean, std, scores, shape,
              scores && read == OUT_PROBS, scores && read == OUT_VALUES);
    sb_puts(c, cg_driver);
}

size_t cg_weight_floats(const Graph *g)
{
    size_t n = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *nd = GRAPH_NODE(g, i);
        for (int p = 0; p < nd->nparams; p++)
            n += (size_t)shape_numel(nd->params[p].shape);
    }
    /* and what a step embeds beyond its node's parameters (Winograd's transformed kernel) */
    Arena *arena = arena_new();
    Plan p;
    plan_build(&p, arena, g);
    for (int i = 0; i < p.nsteps; i++) {
        const Step *st = &p.steps[i];
        if (st->kind == STEP_LAYER && step_has_code(st) && st->node->ops->emit_weight_floats)
            n += st->node->ops->emit_weight_floats(st->node, st->pool);
    }
    arena_free(arena);
    return n;
}

/* The blob's symbol: the assembler pulls the file in (.incbin) as read-only data, under a
 * global but hidden symbol: with link-time optimisation GCC may put the functions that read
 * it in other partitions (other objects) than the asm, which a local label would not reach;
 * hidden keeps it out of a shared library's exports. */
static void emit_blob_symbol(const Gen *gen, StrBuf *c, size_t bytes)
{
    const char *P = gen->P;
    sb_printf(c,
              "/* The weights: %zu bytes of little-endian float32 in %s, pulled in by the\n"
              " * assembler (.incbin: GCC and Clang on ELF targets). The path is the one netc\n"
              " * wrote, relative to the directory netc ran in: compile from there, or pass\n"
              " * -Wa,-I<that directory>. */\n"
              "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__\n"
              "#error \"the weight blob holds little-endian floats\"\n#endif\n"
              "__asm__(\".section .rodata\\n.balign 64\\n.globl %s_weight_blob\\n.hidden "
              "%s_weight_blob\\n%s_weight_blob:\\n.incbin \\\"",
              bytes, gen->o->blob_path, P, P, P);
    for (const char *s = gen->o->blob_path; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_puts(c, "\\\\\\"); /* C string of an assembler string: \\\" */
        sb_putc(c, *s);
    }
    /* A file of another size (another net's blob, a truncated copy) would be read past, or
     * give the wrong weights: GNU as stops the build on any other size; Clang's assembler
     * cannot test a size (.if wants it at parse time), but .org stops a longer file and
     * pads a shorter one with zeros, so that nothing is read past the symbol. */
    sb_printf(c,
              "\\\"\\n\"\n#if defined(__clang__)\n\".org %s_weight_blob + %zu\\n\"\n#else\n"
              "\".if . - %s_weight_blob - %zu\\n.error \\\"the weight blob is not the %zu bytes "
              "this program was generated for: generate both again with netc\\\"\\n.endif\\n\"\n"
              "#endif\n\".previous\\n\");\n"
              "extern const float %s_weights[] __asm__(\"%s_weight_blob\")\n"
              "    __attribute__((visibility(\"hidden\")));\n",
              P, bytes, P, bytes, bytes, P, P);
}

bool cg_can_emit(const Graph *g, Diag *d)
{
    bool can = true;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        if (n->ops->emit_check && !n->ops->emit_check(n, d))
            can = false;
    }
    return can;
}

bool cg_emit(const Graph *g, const float *const *params, const CgOptions *o, StrBuf *c, StrBuf *h,
             StrBuf *blob, Diag *d)
{
    bool can = cg_can_emit(g, d);
    const TrainConfig *t = &g->train;
    int nn = ir_norm_values(t);
    if (o->main && nn > 1) { /* the driver reads one-channel images */
        diag_error(d, (SrcLoc){0},
                   "--main: the driver reads one-channel images (PGM, IDX), but normalize gives "
                   "%d values, one a channel; give one for all, or leave out --main",
                   nn);
        can = false;
    }
    if (!can || !weights_finite(g, params, d))
        return false;
    Arena *arena = arena_new();
    Gen gen = {.g = g, .o = o, .P = o->prefix ? o->prefix : g->name};
    plan_build(&gen.plan, arena, g);
    gen.U = arena_alloc(arena, strlen(gen.P) + 1);
    upper(gen.U, gen.P);
    gen.out = &GRAPH_NODE(g, g->nodes.len - 1)->out;
    gen.in_size = shape_numel(g->input);
    gen.out_size = shape_numel(*gen.out);
    const char *P = gen.P, *U = gen.U;

    StrBuf data, code, api;
    sb_init(&data);
    sb_init(&code);
    sb_init(&api);
    bool ok = emit_steps(&gen, params, &data, &code, o->blob_path ? blob : NULL, d);
    if (ok) {
        emit_head(&gen, c);
        if (o->main)
            sb_puts(c, "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200112L\n#endif\n");
        sb_puts(c, cg_prelude);
        emit_api(&gen, &api);
        if (h) {
            sb_printf(h, "/* %s.h: generated by netc 0.1.0 from %s: the API of %s.c. */\n", P,
                      o->source ? o->source : "?", P);
            /* not NAME_H: net 'a_in''s guard would be net 'a''s A_IN_H */
            sb_printf(h, "#ifndef %s_NETC_HEADER_INCLUDED\n#define %s_NETC_HEADER_INCLUDED\n\n", U,
                      U);
            sb_puts(h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
            sb_puts(h, api.data);
            sb_puts(h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
            sb_printf(c, "\n#include \"%s\"\n\n", o->header_name ? o->header_name : "net.h");
        } else {
            sb_printf(c, "\n%s\n", api.data);
        }
        sb_printf(c,
                  "#define %s_ARENA_FLOATS %zu\n"
                  "/* an arena for each thread of %s_forward_batch: one without OpenMP */\n"
                  "#ifndef %s_MAX_THREADS\n#ifdef _OPENMP\n#define %s_MAX_THREADS 8\n#else\n"
                  "#define %s_MAX_THREADS 1\n#endif\n#endif\n",
                  U, gen.plan.arena_floats ? (gen.plan.arena_floats + 15) / 16 * 16 : 16, P, U, U,
                  U);
        sb_printf(c, "static float %s_arena[%s_MAX_THREADS][%s_ARENA_FLOATS] NETC_ALIGN;\n\n", P, U,
                  U);
        sb_puts(c, "/* ---- weights ---- */\n");
        if (o->blob_path)
            emit_blob_symbol(&gen, c, blob->len);
        sb_puts(c, data.data ? data.data : "");
        sb_puts(c, "\n/* ---- steps ---- */\n\n");
        sb_puts(c, code.data ? code.data : "");
        emit_run(&gen, c);
        if (o->main)
            emit_main(&gen, c);
    }
    sb_free(&data);
    sb_free(&code);
    sb_free(&api);
    arena_free(arena);
    return ok;
}
