/* codegen.c: writes the generated program from the plan (plan.c): the prelude, the
 * weights and one function per step (each written by its layer's emit hook in src/layers/),
 * the run of all steps, the API and an optional main.
 *
 * Design choice: the API takes and returns PyTorch's layouts whatever the plan keeps inside;
 * the plan's first and last steps convert, and everything between is the layers' own code. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "codegen.h"
#include "plan.h"

static const char *buf_expr(const Plan *p, int id)
{
    const Buf *b = &p->bufs[p->bufs[id].root];
    if (b->user_in)
        return "in";
    if (b->user_out)
        return "out";
    return arena_printf(p->arena, "arena + %zu", b->off);
}

/* PREFIX_L<id>_<dotted name with '_'>: readable, and unique through the node id even when
 * two names differ only in '.' against '_' (its weights add _w and _b). */
static const char *step_name(const Plan *p, const char *prefix, const Step *st)
{
    const Node *n = st->node;
    char *s = st->kind == STEP_LAYER   ? arena_printf(p->arena, "%s_L%d_%s", prefix, n->id, n->path)
              : st->kind == STEP_INPUT ? arena_printf(p->arena, "%s_input_to_hwc", prefix)
                                       : arena_printf(p->arena, "%s_output_to_chw", prefix);
    for (char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    return s;
}

static const char prelude[] =
    "/* Vector families: vf16 (AVX-512), vf8 (AVX2 + FMA), vf1 (portable C). Define\n"
    " * NETC_NO_SIMD to force the portable code. */\n"
    "#if defined(__AVX512F__) && !defined(NETC_NO_SIMD)\n"
    "#include <immintrin.h>\n#define NETC_VL 16\n"
    "#elif defined(__AVX2__) && defined(__FMA__) && !defined(NETC_NO_SIMD)\n"
    "#include <immintrin.h>\n#define NETC_VL 8\n"
    "#else\n#define NETC_VL 1\n#endif\n"
    "#if defined(__GNUC__)\n#define NETC_FN static inline __attribute__((unused))\n"
    "#else\n#define NETC_FN static inline\n#endif\n\n"
    "typedef float vf1;\n"
    "NETC_FN vf1 vf1_load(const float *p) { return *p; }\n"
    "NETC_FN void vf1_store(float *p, vf1 v) { *p = v; }\n"
    "NETC_FN vf1 vf1_set1(float x) { return x; }\n"
    "NETC_FN vf1 vf1_zero(void) { return 0.0f; }\n"
    "NETC_FN vf1 vf1_fma(vf1 a, vf1 b, vf1 c) { return a * b + c; }\n"
    "NETC_FN vf1 vf1_add(vf1 a, vf1 b) { return a + b; }\n"
    "NETC_FN vf1 vf1_mul(vf1 a, vf1 b) { return a * b; }\n"
    "NETC_FN vf1 vf1_max(vf1 a, vf1 b) { return a > b ? a : b; }\n"
    "NETC_FN vf1 vf1_min(vf1 a, vf1 b) { return a < b ? a : b; }\n"
    "NETC_FN float vf1_hsum(vf1 v) { return v; }\n"
    "NETC_FN vf1 vf1_sigmoid(vf1 v) { return 1.0f / (1.0f + expf(-v)); }\n"
    "NETC_FN vf1 vf1_tanh(vf1 v) { return tanhf(v); }\n"
    "#if NETC_VL >= 8\n"
    "typedef __m256 vf8;\n"
    "NETC_FN vf8 vf8_load(const float *p) { return _mm256_loadu_ps(p); }\n"
    "NETC_FN void vf8_store(float *p, vf8 v) { _mm256_storeu_ps(p, v); }\n"
    "NETC_FN vf8 vf8_set1(float x) { return _mm256_set1_ps(x); }\n"
    "NETC_FN vf8 vf8_zero(void) { return _mm256_setzero_ps(); }\n"
    "NETC_FN vf8 vf8_fma(vf8 a, vf8 b, vf8 c) { return _mm256_fmadd_ps(a, b, c); }\n"
    "NETC_FN vf8 vf8_add(vf8 a, vf8 b) { return _mm256_add_ps(a, b); }\n"
    "NETC_FN vf8 vf8_mul(vf8 a, vf8 b) { return _mm256_mul_ps(a, b); }\n"
    "NETC_FN vf8 vf8_max(vf8 a, vf8 b) { return _mm256_max_ps(a, b); }\n"
    "NETC_FN vf8 vf8_min(vf8 a, vf8 b) { return _mm256_min_ps(a, b); }\n"
    "NETC_FN float vf8_hsum(vf8 v)\n{\n"
    "    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));\n"
    "    s = _mm_add_ps(s, _mm_movehl_ps(s, s));\n"
    "    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));\n}\n"
    "NETC_FN vf8 vf8_sigmoid(vf8 v)\n{\n    float t[8];\n    _mm256_storeu_ps(t, v);\n"
    "    for (int i = 0; i < 8; i++)\n        t[i] = vf1_sigmoid(t[i]);\n"
    "    return _mm256_loadu_ps(t);\n}\n"
    "NETC_FN vf8 vf8_tanh(vf8 v)\n{\n    float t[8];\n    _mm256_storeu_ps(t, v);\n"
    "    for (int i = 0; i < 8; i++)\n        t[i] = tanhf(t[i]);\n"
    "    return _mm256_loadu_ps(t);\n}\n"
    "#endif\n"
    "#if NETC_VL >= 16\n"
    "typedef __m512 vf16;\n"
    "NETC_FN vf16 vf16_load(const float *p) { return _mm512_loadu_ps(p); }\n"
    "NETC_FN void vf16_store(float *p, vf16 v) { _mm512_storeu_ps(p, v); }\n"
    "NETC_FN vf16 vf16_set1(float x) { return _mm512_set1_ps(x); }\n"
    "NETC_FN vf16 vf16_zero(void) { return _mm512_setzero_ps(); }\n"
    "NETC_FN vf16 vf16_fma(vf16 a, vf16 b, vf16 c) { return _mm512_fmadd_ps(a, b, c); }\n"
    "NETC_FN vf16 vf16_add(vf16 a, vf16 b) { return _mm512_add_ps(a, b); }\n"
    "NETC_FN vf16 vf16_mul(vf16 a, vf16 b) { return _mm512_mul_ps(a, b); }\n"
    "NETC_FN vf16 vf16_max(vf16 a, vf16 b) { return _mm512_max_ps(a, b); }\n"
    "NETC_FN vf16 vf16_min(vf16 a, vf16 b) { return _mm512_min_ps(a, b); }\n"
    "NETC_FN float vf16_hsum(vf16 v)\n{\n"
    "    return vf8_hsum(_mm256_add_ps(_mm512_castps512_ps256(v),\n"
    "                                  "
    "_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));\n}\n"
    "NETC_FN vf16 vf16_sigmoid(vf16 v)\n{\n    float t[16];\n    _mm512_storeu_ps(t, v);\n"
    "    for (int i = 0; i < 16; i++)\n        t[i] = vf1_sigmoid(t[i]);\n"
    "    return _mm512_loadu_ps(t);\n}\n"
    "NETC_FN vf16 vf16_tanh(vf16 v)\n{\n    float t[16];\n    _mm512_storeu_ps(t, v);\n"
    "    for (int i = 0; i < 16; i++)\n        t[i] = tanhf(t[i]);\n"
    "    return _mm512_loadu_ps(t);\n}\n"
    "#endif\n\n";

void cg_dump_plan(const Graph *g, StrBuf *sb)
{
    Arena *arena = arena_new();
    Plan p;
    plan_build(&p, arena, g);
    plan_dump(&p, sb);
    arena_free(arena);
}

static void upper(char *dst, const char *src)
{
    for (; *src; src++)
        *dst++ = (char)toupper((unsigned char)*src);
    *dst = 0;
}

static void emit_main(StrBuf *c, const Graph *g, const char *P, const char *U)
{
    const TrainConfig *t = &g->train;
    char mean[32] = "0", std[32] = "0";
    if (t->std > 0) {
        fmt_float(mean, sizeof mean, (float)t->mean);
        fmt_float(std, sizeof std, (float)t->std);
    }
    sb_printf(c,
              "/* ---- command-line driver (--main) ---- */\n"
              "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <time.h>\n\n"
              "static double %s_now(void)\n{\n    struct timespec ts;\n"
              "    clock_gettime(CLOCK_MONOTONIC, &ts);\n"
              "    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;\n}\n\n",
              P);
    sb_printf(c,
              "/* Pixels in [0,1] (x/255), then the train section's normalisation. */\n"
              "static float %s_pixel(double v)\n{\n    double mean = %s, std = %s;\n"
              "    return (float)(std > 0 ? (v - mean) / std : v);\n}\n\n",
              P, mean, std);
    sb_printf(c,
              "static unsigned char *%s_read(const char *path, long *len)\n{\n"
              "    FILE *f = fopen(path, \"rb\");\n    unsigned char *buf = NULL;\n"
              "    long n = 0, cap = 0;\n    size_t got;\n"
              "    if (!f) {\n        fprintf(stderr, \"%s: %%s: cannot open\\n\", path);\n"
              "        return NULL;\n    }\n"
              "    do {\n        if (n == cap) {\n            unsigned char *nb;\n"
              "            cap = cap ? cap * 2 : 1 << 20;\n"
              "            nb = (unsigned char *)realloc(buf, (size_t)cap);\n"
              "            if (!nb) {\n                free(buf);\n                fclose(f);\n"
              "                return NULL;\n            }\n            buf = nb;\n        }\n"
              "        got = fread(buf + n, 1, (size_t)(cap - n), f);\n        n += (long)got;\n"
              "    } while (got > 0);\n    fclose(f);\n    *len = n;\n    return buf;\n}\n\n",
              P, P);
    sb_printf(c,
              "static unsigned long %s_be32(const unsigned char *p)\n{\n"
              "    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | "
              "(unsigned long)p[2] << 8 | p[3];\n}\n\n",
              P);
    sb_printf(c,
              "static int %s_argmax(const float *v)\n{\n    int best = 0;\n"
              "    for (int i = 1; i < %s_OUT_SIZE; i++)\n        if (v[i] > v[best])\n"
              "            best = i;\n    return best;\n}\n\n",
              P, U);
    /* PGM */
    sb_printf(
        c,
        "static int %s_pgm(const char *path, const unsigned char *d, long len)\n{\n"
        "    long pos = 2;\n    unsigned long v[3];\n    static float img[%s_IN_SIZE];\n"
        "    float out[%s_OUT_SIZE];\n    int binary = d[1] == '5', maxv, best;\n"
        "    for (int k = 0; k < 3; k++) {\n"
        "        while (pos < len && (d[pos] == ' ' || d[pos] == '\\t' || d[pos] == '\\n' ||\n"
        "                             d[pos] == '\\r' || d[pos] == '#'))\n"
        "            if (d[pos] == '#')\n                while (pos < len && d[pos] != '\\n')\n"
        "                    pos++;\n            else\n                pos++;\n"
        "        v[k] = 0;\n        while (pos < len && d[pos] >= '0' && d[pos] <= '9')\n"
        "            v[k] = v[k] * 10 + (unsigned long)(d[pos++] - '0');\n    }\n"
        "    pos++;\n    maxv = (int)v[2];\n"
        "    if (v[0] * v[1] != %s_IN_SIZE || maxv < 1 || maxv > 255) {\n"
        "        fprintf(stderr, \"%s: %%s: image is %%lux%%lu (maxval %%d); the network takes \"\n"
        "                \"%%d values (8-bit)\\n\", path, v[0], v[1], maxv, %s_IN_SIZE);\n"
        "        return 1;\n    }\n"
        "    for (int i = 0; i < %s_IN_SIZE; i++) {\n        unsigned long px = 0;\n"
        "        if (binary) {\n            if (pos >= len)\n                goto truncated;\n"
        "            px = d[pos++];\n        } else {\n"
        "            while (pos < len && (d[pos] < '0' || d[pos] > '9'))\n                pos++;\n"
        "            if (pos >= len)\n                goto truncated;\n"
        "            while (pos < len && d[pos] >= '0' && d[pos] <= '9')\n"
        "                px = px * 10 + (unsigned long)(d[pos++] - '0');\n        }\n"
        "        img[i] = %s_pixel((double)px / maxv);\n    }\n"
        "    %s_forward(img, out);\n    best = %s_argmax(out);\n"
        "    {\n        double mx = out[best], sum = 0;\n"
        "        for (int i = 0; i < %s_OUT_SIZE; i++)\n            sum += exp(out[i] - mx);\n"
        "        printf(\"%%d  (p=%%.3f)\\n\", best, 1.0 / sum);\n    }\n    return 0;\n"
        "truncated:\n    fprintf(stderr, \"%s: %%s: truncated pixel data\\n\", path);\n"
        "    return 1;\n}\n\n",
        P, U, U, U, P, U, U, P, P, P, U, P);
    /* the timed pass: images converted first, a warm-up, then every image once */
    sb_printf(c,
              "static const char *%s_thousands(long v, char *buf)\n{\n"
              "    char tmp[32];\n    int len = sprintf(tmp, \"%%ld\", v), k = 0;\n"
              "    for (int i = 0; i < len; i++) {\n"
              "        if (i > 0 && (len - i) %% 3 == 0)\n            buf[k++] = ',';\n"
              "        buf[k++] = tmp[i];\n    }\n    buf[k] = 0;\n    return buf;\n}\n\n",
              P);
    sb_printf(
        c,
        "static int run_all(const char *path, const unsigned char *px, long n,\n"
        "                   const unsigned char *labels)\n{\n"
        "    float *imgs = (float *)malloc(sizeof(float) * (size_t)n * %s_IN_SIZE + 1);\n"
        "    int *pred = (int *)malloc(sizeof(int) * (size_t)n + 1);\n"
        "    float out[%s_OUT_SIZE];\n    long correct = 0;\n    double t0, t1;\n"
        "    char nb[32];\n"
        "    if (!imgs || !pred) {\n        fprintf(stderr, \"%s: %%s: out of memory\\n\", path);\n"
        "        free(imgs);\n        free(pred);\n        return 0;\n    }\n"
        "    for (long i = 0; i < n * %s_IN_SIZE; i++)\n"
        "        imgs[i] = %s_pixel(px[i] / 255.0);\n"
        "    /* warm-up: caches and predictors as a long-running program has them */\n"
        "    for (long i = 0; i < n && i < 64; i++)\n"
        "        %s_forward(imgs + i * %s_IN_SIZE, out);\n"
        "    t0 = %s_now();\n"
        "    for (long i = 0; i < n; i++) {\n"
        "        %s_forward(imgs + i * %s_IN_SIZE, out);\n"
        "        pred[i] = %s_argmax(out);\n    }\n"
        "    t1 = %s_now();\n"
        "    for (long i = 0; i < n; i++) {\n"
        "        if (labels)\n            correct += pred[i] == labels[i];\n"
        "        else\n            printf(\"%%ld %%d\\n\", i, pred[i]);\n    }\n"
        "    if (labels)\n"
        "        printf(\"accuracy %%.4f (%%s images), %%.1f us/image\\n\", (double)correct / n,\n"
        "               %s_thousands(n, nb), (t1 - t0) * 1e6 / n);\n"
        "    else\n"
        "        fprintf(stderr, \"%%s images, %%.1f us/image\\n\", %s_thousands(n, nb),\n"
        "                (t1 - t0) * 1e6 / n);\n"
        "    free(imgs);\n    free(pred);\n    return 1;\n}\n\n",
        U, U, P, U, P, P, U, P, P, U, P, P, P, P);
    /* IDX */
    sb_printf(
        c,
        "int main(int argc, char **argv)\n{\n"
        "    long len = 0, llen = 0, n;\n"
        "    unsigned char *d, *labels = NULL;\n"
        "    if (argc < 2 || argc > 3) {\n"
        "        fprintf(stderr, \"usage: %%s IMAGES-idx3-ubyte [LABELS-idx1-ubyte] | "
        "IMAGE.pgm\\n\"\n"
        "                \"runs the %s network (input %%d values, %%d outputs)\\n\", argv[0],\n"
        "                %s_IN_SIZE, %s_OUT_SIZE);\n        return 2;\n    }\n"
        "    d = %s_read(argv[1], &len);\n    if (!d)\n        return 1;\n"
        "    if (len >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '2')) {\n"
        "        int r = %s_pgm(argv[1], d, len);\n        free(d);\n        return r;\n    }\n"
        "    if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b) {\n"
        "        fprintf(stderr, \"%s: %%s: gzip file: decompress it first (gunzip -k)\\n\", "
        "argv[1]);\n"
        "        free(d);\n        return 1;\n    }\n"
        "    if (len < 16 || %s_be32(d) != 0x803) {\n"
        "        fprintf(stderr, \"%s: %%s: not an IDX image file (magic 0x00000803) or a "
        "PGM\\n\", argv[1]);\n"
        "        free(d);\n        return 1;\n    }\n"
        "    n = (long)%s_be32(d + 4);\n"
        "    if (%s_be32(d + 8) * %s_be32(d + 12) != %s_IN_SIZE) {\n"
        "        fprintf(stderr, \"%s: %%s: images are %%lux%%lu; the network takes %%d "
        "values\\n\",\n"
        "                argv[1], %s_be32(d + 8), %s_be32(d + 12), %s_IN_SIZE);\n"
        "        free(d);\n        return 1;\n    }\n"
        "    if (len < 16 + n * %s_IN_SIZE) {\n"
        "        fprintf(stderr, \"%s: %%s: truncated: %%ld images need %%ld bytes\\n\", argv[1], "
        "n,\n"
        "                16 + n * %s_IN_SIZE);\n        free(d);\n        return 1;\n    }\n"
        "    if (argc == 3) {\n        labels = %s_read(argv[2], &llen);\n"
        "        if (!labels || llen < 8 + n || %s_be32(labels) != 0x801 ||\n"
        "            (long)%s_be32(labels + 4) != n) {\n"
        "            fprintf(stderr, \"%s: %%s: not an IDX label file for %%ld images\\n\", "
        "argv[2], n);\n"
        "            free(labels);\n            free(d);\n            return 1;\n        }\n    }\n"
        "    if (!run_all(argv[1], d + 16, n, labels ? labels + 8 : NULL))\n"
        "        return 1;\n"
        "    free(labels);\n    free(d);\n    return 0;\n}\n",
        g->name, U, U, P, P, P, P, P, P, P, P, U, P, P, P, U, U, P, U, P, P, P, P);
}

bool cg_emit(const Graph *g, const float *const *params, const CgOptions *o, StrBuf *c, StrBuf *h,
             Diag *d)
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
    Arena *arena = arena_new();
    Plan p;
    plan_build(&p, arena, g);
    const char *P = o->prefix ? o->prefix : g->name;
    char U[256];
    upper(U, P);
    int64_t in_size = shape_numel(g->input),
            out_size = shape_numel(GRAPH_NODE(g, g->nodes.len - 1)->out);

    /* steps: weights into data, functions into code */
    StrBuf data, code;
    sb_init(&data);
    sb_init(&code);
    for (int i = 0; i < p.nsteps; i++) {
        Step *s = &p.steps[i];
        if (s->alias)
            continue;
        Emit e = {
            .arena = arena,
            .code = &code,
            .data = &data,
            .name = step_name(&p, P, s),
            .in = p.bufs[s->in].l,
            .out = p.bufs[s->out].l,
            .act = s->act,
            .pool = s->pool,
        };
        if (s->kind != STEP_LAYER) {
            /* the caller's input is CxHxW: the plan sees it as an image without border */
            CLayout user = {.rank = 1, .n = (int)in_size};
            if (s->kind == STEP_INPUT)
                sb_printf(&code, "/* the input: CHW -> HWC%s */\n",
                          e.out.pad ? " with a zero border" : "");
            else
                sb_puts(&code, "/* the output: to the caller's order (CxHxW flattened) */\n");
            sb_printf(&code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
                      e.name);
            emit_relayout(&code, s->kind == STEP_INPUT ? &user : &e.in, "in", &e.out, "out", 4);
            sb_puts(&code, "}\n\n");
            continue;
        }
        e.params = &params[(size_t)s->node->id * NODE_MAX_PARAMS];
        if (!s->node->ops->emit) {
            diag_error(d, (SrcLoc){0}, "layer kind '%s' has no C emitter", s->node->ops->name);
            sb_free(&data);
            sb_free(&code);
            arena_free(arena);
            return false;
        }
        s->node->ops->emit(s->node, &e);
    }

    /* the file */
    StrBuf sum;
    sb_init(&sum);
    ir_summary(g, &sum);
    sb_printf(c, "/* %s.c: generated by netc 0.1.0 from %s. Do not edit; regenerate.\n *\n", P,
              o->source ? o->source : "?");
    for (char *line = sum.data; line && *line;) {
        char *nl = strchr(line, '\n');
        sb_printf(c, " * %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        line = nl ? nl + 1 : NULL;
    }
    sb_free(&sum);
    char ab[32], wb[32];
    sb_printf(c,
              " *\n * Activation arena: %s bytes (one static block; a liveness plan reuses it).\n"
              " * Weights: %s bytes of static const float.\n"
              " * Build: cc -O2 -march=native %s.c -lm   (C99, needs only libm%s)\n"
              " * API: %s_forward(in, out), %s_predict(in), %s_forward_batch(in, out, n);\n"
              " * in is the network input in PyTorch's layout (CxHxW), out its %lld outputs.\n"
              " * %s_forward uses one static arena: call it from one thread at a time;\n"
              " * %s_forward_batch runs images in parallel when compiled with OpenMP.\n */\n",
              fmt_thousands(ab, (int64_t)p.arena_floats * 4), fmt_thousands(wb, g->nparams * 4), P,
              o->main ? " and stdio" : "", P, P, P, (long long)out_size, P, P);
    if (o->main)
        sb_puts(c, "#define _POSIX_C_SOURCE 200112L\n");
    sb_puts(c,
            "#include <math.h>\n#include <string.h>\n#ifdef _OPENMP\n#include <omp.h>\n#endif\n");
    StrBuf api;
    sb_init(&api);
    sb_printf(&api, "#define %s_IN_SIZE %lld\n#define %s_OUT_SIZE %lld\n", U, (long long)in_size, U,
              (long long)out_size);
    if (g->input.rank == 3)
        sb_printf(&api, "#define %s_IN_C %lld\n#define %s_IN_H %lld\n#define %s_IN_W %lld\n", U,
                  (long long)g->input.d[0], U, (long long)g->input.d[1], U,
                  (long long)g->input.d[2]);
    sb_printf(&api,
              "\n/* in: %s_IN_SIZE floats (CxHxW as PyTorch), out: %s_OUT_SIZE floats. */\n"
              "void %s_forward(const float *in, float *out);\n"
              "/* The index of the largest output. */\nint %s_predict(const float *in);\n"
              "/* n inputs after one another, n outputs after one another. */\n"
              "void %s_forward_batch(const float *in, float *out, int n);\n",
              U, U, P, P, P);
    if (h) {
        sb_printf(h, "/* %s.h: generated by netc 0.1.0 from %s: the API of %s.c. */\n", P,
                  o->source ? o->source : "?", P);
        sb_printf(h, "#ifndef %s_H\n#define %s_H\n\n", U, U);
        sb_puts(h, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
        sb_puts(h, api.data);
        sb_puts(h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
        sb_printf(c, "#include \"%s\"\n\n", o->header_name ? o->header_name : "net.h");
    } else {
        sb_printf(c, "\n%s\n", api.data);
    }
    sb_free(&api);
    sb_puts(c, prelude);
    sb_printf(
        c,
        "#define %s_ARENA_FLOATS %zu\n#ifndef %s_MAX_THREADS\n#define %s_MAX_THREADS 8\n#endif\n",
        U, p.arena_floats ? p.arena_floats : 1, U, U);
    sb_printf(c, "static float %s_arena[%s_MAX_THREADS][%s_ARENA_FLOATS];\n\n", P, U, U);
    sb_puts(c, "/* ---- weights ---- */\n");
    sb_puts(c, data.data ? data.data : "");
    sb_puts(c, "\n/* ---- steps ---- */\n\n");
    sb_puts(c, code.data ? code.data : "");
    sb_free(&data);
    sb_free(&code);

    /* the run of all steps */
    sb_printf(c,
              "static void %s_run(const float *restrict in, float *restrict out, float *restrict "
              "arena)\n{\n",
              P);
    for (int i = 0; i < p.nsteps; i++) {
        const Step *s = &p.steps[i];
        if (s->alias)
            continue;
        sb_printf(c, "    %s(%s, %s);", step_name(&p, P, s), buf_expr(&p, s->in),
                  buf_expr(&p, s->out));
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
        "int %s_predict(const float *in)\n{\n    float out[%s_OUT_SIZE];\n    int best = 0;\n"
        "    %s_forward(in, out);\n    for (int i = 1; i < %s_OUT_SIZE; i++)\n"
        "        if (out[i] > out[best])\n            best = i;\n    return best;\n}\n\n",
        P, P, P, P, U, P, U);
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
    if (o->main)
        emit_main(c, g, P, U);
    arena_free(arena);
    return true;
}
