/* emit_util.c: helpers the layers' C emitters share: vector families, weight arrays,
 * fused activations, zero borders of padded images. */
#include <math.h>
#include <string.h>

#include "layer.h"

size_t clayout_floats(const CLayout *l)
{
    if (l->rank == 3)
        return (size_t)(l->h + 2 * l->pad) * (size_t)(l->w + 2 * l->pad) * (size_t)l->c;
    return (size_t)l->n;
}

int clayout_px(const CLayout *l) { return l->cs ? l->cs : l->c; }

int clayout_row(const CLayout *l) { return (l->w + 2 * l->pad) * clayout_px(l); }

static const VecFam families[] = {
    {"vf16", 16, "NETC_VL >= 16"},
    {"vf8", 8, "NETC_VL >= 8"},
    {"vf1", 1, NULL},
};

void emit_families(Emit *e, int lanes_of, void (*body)(Emit *e, const VecFam *f, const void *ctx),
                   const void *ctx)
{
    bool opened = false;
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const VecFam *f = &families[i];
        if (f->width > 1 && lanes_of % f->width != 0)
            continue;
        if (f->cond) {
            sb_printf(e->code, "#%s %s\n", opened ? "elif" : "if", f->cond);
            opened = true;
        } else if (opened) {
            sb_puts(e->code, "#else\n");
        }
        body(e, f, ctx);
    }
    if (opened)
        sb_puts(e->code, "#endif\n");
}

void emit_array(Emit *e, const char *suffix, const float *v, size_t n)
{
    e->weights += n;
    if (e->blob) {
        while (e->blob->len % 64)
            sb_putc(e->blob, 0);
        sb_printf(e->data, "#define %s_%s (%s + %zu) /* %zu floats */\n", e->name, suffix,
                  e->blob_sym, e->blob->len / sizeof(float), n);
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            float x = isfinite(v[i]) ? v[i] : 0.0f; /* caller rejects non-finite weights */
            memcpy(&u, &x, sizeof u);
            unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                                   (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
            sb_write(e->blob, le, sizeof le);
        }
        return;
    }
    sb_printf(e->data, "static const float %s_%s[%zu] NETC_ALIGN = {", e->name, suffix, n);
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        if (!isfinite(v[i]))
            snprintf(buf, sizeof buf, "0"); /* caller rejects non-finite weights earlier */
        else
            snprintf(buf, sizeof buf, "%.9g", (double)v[i]);
        bool has_dot = strpbrk(buf, ".e") != NULL;
        sb_printf(e->data, "%s%s%sf", i % 8 ? " " : "\n    ", buf, has_dot ? "" : ".0");
        if (i + 1 < n)
            sb_putc(e->data, ',');
    }
    sb_puts(e->data, "\n};\n");
}

void emit_act(StrBuf *sb, const Node *act, const VecFam *f, const char *var, int indent)
{
    if (!act)
        return;
    sb_printf(sb, "%*s", indent, "");
    act->ops->emit_act(act, sb, f, var);
}

const char *emit_fused_names(const Emit *e)
{
    const Node *parts[] = {e->bn, e->add, e->act, e->pool};
    char *s = "";
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        if (parts[k])
            s = arena_printf(e->arena, "%s + %s%s", s, parts[k]->ops->name,
                             parts[k] == e->bn ? " (folded)" : "");
    return s;
}

void emit_step_open(const Emit *e)
{
    const char *scratch = e->scratch ? ", float *restrict scratch" : "";
    if (e->nin > 1)
        sb_printf(e->code,
                  "static void %s(const float *const *restrict ins, float *restrict out%s)\n{\n"
                  "    const float *restrict in = ins[0];\n",
                  e->name, scratch);
    else
        sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out%s)\n{\n",
                  e->name, scratch);
}

void emit_pixel_ptr(const Emit *e, const char *decl, const char *base, const CLayout *l,
                    const char *extra)
{
    sb_printf(e->code, "        %s = %s + (oy + %d) * %d + (ox + %d) * %d%s;\n", decl, base, l->pad,
              clayout_row(l), l->pad, clayout_px(l), extra);
}

void emit_zero_border(StrBuf *sb, const CLayout *l, const char *buf, int indent)
{
    if (l->rank != 3 || l->pad == 0)
        return;
    int P = l->pad, WP = l->w + 2 * P, HP = l->h + 2 * P, C = l->c, PX = clayout_px(l);
    sb_printf(sb,
              "%*s/* zero border of the %dx%dx%d image (padding %d) */\n"
              "%*sfor (int y = 0; y < %d; y++) {\n"
              "%*s    int inner = y >= %d && y < %d;\n"
              "%*s    for (int x = 0; x < %d; x += inner && x == %d ? %d : 1)\n"
              "%*s        for (int c = 0; c < %d; c++)\n"
              "%*s            %s[(y * %d + x) * %d + c] = 0.0f;\n"
              "%*s}\n",
              indent, "", l->h, l->w, C, P, indent, "", HP, indent, "", P, P + l->h, indent, "", WP,
              P - 1, l->w + 1, indent, "", C, indent, "", buf, WP, PX, indent, "");
}

void emit_index(StrBuf *sb, const CLayout *l, const char *y, const char *x, const char *c)
{
    sb_printf(sb, "((%s + %d) * %d + %s + %d) * %d + %s", y, l->pad, l->w + 2 * l->pad, x, l->pad,
              clayout_px(l), c);
}

void emit_relayout(StrBuf *sb, const CLayout *in, const char *src, const CLayout *out,
                   const char *dst, int indent)
{
    /* the logical image behind either side (a flat one may stand for an image) */
    int C, H, W;
    if (in->rank == 3)
        C = in->c, H = in->h, W = in->w;
    else if (in->perm)
        C = in->pc, H = in->ph, W = in->pw;
    else if (out->rank == 3)
        C = out->c, H = out->h, W = out->w;
    else
        C = out->perm ? out->pc : 1, H = out->perm ? out->ph : 1, W = out->perm ? out->pw : in->n;
    bool in_hwc = in->rank == 3 || in->perm, out_hwc = out->rank == 3 || out->perm;
    if (in->rank == 1 && out->rank == 1 && in_hwc == out_hwc) {
        sb_printf(sb, "%*smemcpy(%s, %s, sizeof(float) * %d);\n", indent, "", dst, src, in->n);
        return;
    }
    emit_zero_border(sb, out, dst, indent);
    sb_printf(sb,
              "%*sfor (int c = 0; c < %d; c++)\n%*s    for (int y = 0; y < %d; y++)\n"
              "%*s        for (int x = 0; x < %d; x++)\n%*s            %s[",
              indent, "", C, indent, "", H, indent, "", W, indent, "", dst);
    CLayout flat = {.rank = 3, .c = C, .h = H, .w = W};
    if (out->rank == 3)
        emit_index(sb, out, "y", "x", "c");
    else if (out_hwc)
        emit_index(sb, &flat, "y", "x", "c");
    else
        sb_printf(sb, "(c * %d + y) * %d + x", H, W);
    sb_printf(sb, "] = %s[", src);
    if (in->rank == 3)
        emit_index(sb, in, "y", "x", "c");
    else if (in_hwc)
        emit_index(sb, &flat, "y", "x", "c");
    else
        sb_printf(sb, "(c * %d + y) * %d + x", H, W);
    sb_puts(sb, "];\n");
}

/* ---- elementwise steps and pools ---- */

typedef struct EwPlan {
    const Node *n;
    bool flat; /* same layout on both sides, no border: one flat loop */
    int count; /* flat: elements */
} EwPlan;

static void elementwise_body(Emit *e, const VecFam *f, const void *ctx)
{
    const EwPlan *p = ctx;
    StrBuf *sb = e->code;
    const char *F = f->name;
    if (p->flat) {
        sb_printf(sb, "    for (int i = 0; i < %d; i += %d) {\n        %s v = %s_load(in + i);\n",
                  p->count, f->width, F, F);
        sb_puts(sb, "        ");
        p->n->ops->emit_act(p->n, sb, f, "v");
        sb_printf(sb, "        %s_store(out + i, v);\n    }\n", F);
        return;
    }
    const CLayout *i = &e->in, *o = &e->out;
    sb_printf(sb, "    for (int y = 0; y < %d; y++)\n    for (int x = 0; x < %d; x++)\n", o->h,
              o->w);
    sb_printf(sb, "    for (int c = 0; c < %d; c += %d) {\n", o->c, f->width);
    sb_printf(sb, "        %s v = %s_load(in + ", F, F);
    emit_index(sb, i, "y", "x", "c");
    sb_puts(sb, ");\n        ");
    p->n->ops->emit_act(p->n, sb, f, "v");
    sb_printf(sb, "        %s_store(out + ", F);
    emit_index(sb, o, "y", "x", "c");
    sb_puts(sb, ", v);\n    }\n");
}

void emit_step_body(Emit *e, int lanes_of, void (*body)(Emit *e, const VecFam *f, const void *ctx),
                    const void *ctx)
{
    emit_zero_border(e->code, &e->out, "out", 4);
    emit_families(e, lanes_of, body, ctx);
    sb_puts(e->code, "}\n\n");
}

void emit_act_call(StrBuf *sb, const VecFam *f, const char *var, const char *fn)
{
    sb_printf(sb, "%s = %s_%s(%s);\n", var, f->name, fn, var);
}

void emit_elementwise(const Node *n, Emit *e)
{
    EwPlan p = {.n = n};
    p.flat = e->in.rank == 1 || (e->in.pad == 0 && e->out.pad == 0 &&
                                 clayout_px(&e->in) == e->in.c && clayout_px(&e->out) == e->out.c);
    p.count = (int)clayout_floats(&e->in);
    sb_printf(e->code,
              "/* %s: %s */\nstatic void %s(const float *restrict in, float *restrict out)\n{\n",
              n->path, n->ops->name, e->name);
    emit_step_body(e, p.flat ? p.count : e->in.c, elementwise_body, &p);
}

typedef struct PoolPlan {
    const PoolGeom *g;
    bool is_max;
} PoolPlan;

/* The loop over a window's channel vectors: its taps' maximum or sum, row by row, then the
 * average's divisor, the activation and the store. Interior: a window wholly inside the
 * input, its taps unrolled at constant offsets; else the taps inside the input, between the
 * bounds ky0..ky1, kx0..kx1 the caller computed (whole windows when no window is clipped). */
static void pool_channels(Emit *e, const VecFam *f, const PoolPlan *p, bool interior, bool bounds,
                          bool var_div, int ind)
{
    const PoolGeom *g = p->g;
    StrBuf *sb = e->code;
    const char *F = f->name;
    const CLayout *i = &e->in, *o = &e->out;
    sb_printf(sb, "%*sfor (int c = 0; c < %d; c += %d) {\n", ind, "", g->C, f->width);
    sb_printf(sb, "%*s    %s r = %s;\n", ind, "", F,
              p->is_max ? arena_printf(e->arena, "%s_set1(-INFINITY)", F)
                        : arena_printf(e->arena, "%s_zero()", F));
    const char *op = p->is_max ? "maxn" : "add"; /* maxn: a NaN kept, as PyTorch's */
    if (interior) { /* the window's first tap, and the others at constant offsets from it */
        sb_printf(sb, "%*s    const float *t0 = in + ", ind, "");
        emit_index(sb, i, arena_printf(e->arena, "oy * %d - %d", g->SH, g->PH),
                   arena_printf(e->arena, "ox * %d - %d", g->SW, g->PW), "c");
        sb_puts(sb, ";\n");
        int row = (i->w + 2 * i->pad) * clayout_px(i), px = clayout_px(i);
        for (int ky = 0; ky < g->KH; ky++)
            for (int kx = 0; kx < g->KW; kx++)
                sb_printf(sb, "%*s    r = %s_%s(r, %s_load(t0 + %d));\n", ind, "", F, op, F,
                          ky * row + kx * px);
    } else {
        const char *ky0 = bounds ? "ky0" : "0", *kx0 = bounds ? "kx0" : "0";
        const char *ky1 = bounds ? "ky1" : arena_printf(e->arena, "%d", g->KH);
        const char *kx1 = bounds ? "kx1" : arena_printf(e->arena, "%d", g->KW);
        sb_printf(sb,
                  "%*s    for (int ky = %s; ky < %s; ky++)\n"
                  "%*s    for (int kx = %s; kx < %s; kx++) {\n",
                  ind, "", ky0, ky1, ind, "", kx0, kx1);
        sb_printf(sb, "%*s        int iy = oy * %d + ky - %d, ix = ox * %d + kx - %d;\n", ind, "",
                  g->SH, g->PH, g->SW, g->PW);
        sb_printf(sb, "%*s        r = %s_%s(r, %s_load(in + ", ind, "", F, op, F);
        emit_index(sb, i, "iy", "ix", "c");
        sb_printf(sb, "));\n%*s    }\n", ind, "");
    }
    if (var_div && !interior) { /* as the kernel's avg_divisor */
        const char *lo = g->exclude_pad ? "0" : NULL;
        int hl = lo ? g->H : g->H + g->PH, wl = lo ? g->W : g->W + g->PW;
        sb_printf(sb,
                  "%*s    {\n%*s        int hs = oy * %d - %d, ws = ox * %d - %d;\n"
                  "%*s        int he = hs + %d < %d ? hs + %d : %d, we = ws + %d < %d ? ws + "
                  "%d : %d;\n",
                  ind, "", ind, "", g->SH, g->PH, g->SW, g->PW, ind, "", g->KH, hl, g->KH, hl,
                  g->KW, wl, g->KW, wl);
        if (lo)
            sb_printf(sb, "%*s        hs = hs > 0 ? hs : 0;\n%*s        ws = ws > 0 ? ws : 0;\n",
                      ind, "", ind, "");
        sb_printf(sb,
                  "%*s        r = %s_mul(r, %s_set1(1.0f / (float)((he - hs) * (we - ws))));\n"
                  "%*s    }\n",
                  ind, "", F, F, ind, "");
    } else if (!p->is_max) {
        /* a whole window inside the input counts KH x KW taps either way: the same float */
        sb_printf(sb, "%*s    r = %s_mul(r, %s_set1(1.0f / %d));\n", ind, "", F, F, g->KH * g->KW);
    }
    emit_act(sb, e->act, f, "r", ind + 4);
    sb_printf(sb, "%*s    %s_store(out + ", ind, "", F);
    emit_index(sb, o, "oy", "ox", "c");
    sb_printf(sb, ", r);\n%*s}\n", ind, "");
}

/* Windows that reach into the padding, or past the input (ceil_mode), test bounds once per
 * window; the windows wholly inside (most of them) take an unrolled copy of the loop. On
 * nets/inception.net's 3x3 pools of stride 1 and padding 1 (28x28x16, 14x14x32), the
 * generated program's two pools went from 6.3 and 5.3 us to 4.2 and 3.8 with AVX-512 (the
 * taps at constant offsets from the window's first: as indices, GCC spilled them), and the
 * whole program from 115 to 105 us an image. */
static void pool_body(Emit *e, const VecFam *f, const void *ctx)
{
    const PoolPlan *p = ctx;
    const PoolGeom *g = p->g;
    StrBuf *sb = e->code;
    bool overhang =
        (g->OH - 1) * g->SH + g->KH > g->H + g->PH || (g->OW - 1) * g->SW + g->KW > g->W + g->PW;
    bool bounds = g->PH > 0 || g->PW > 0 || overhang;
    /* an average divides by a constant unless some window is clipped in the count */
    bool var_div = !p->is_max && (overhang || (g->exclude_pad && (g->PH > 0 || g->PW > 0)));
    sb_printf(sb, "    for (int oy = 0; oy < %d; oy++)\n    for (int ox = 0; ox < %d; ox++) {\n",
              g->OH, g->OW);
    if (!bounds) { /* every window whole */
        pool_channels(e, f, p, true, false, var_div, 4);
        sb_puts(sb, "    }\n");
        return;
    }
    sb_printf(sb,
              "        int y0 = oy * %d - %d, x0 = ox * %d - %d;\n"
              "        int ky0 = y0 < 0 ? -y0 : 0, ky1 = y0 + %d < %d ? %d : %d - y0;\n"
              "        int kx0 = x0 < 0 ? -x0 : 0, kx1 = x0 + %d < %d ? %d : %d - x0;\n",
              g->SH, g->PH, g->SW, g->PW, g->KH, g->H, g->KH, g->H, g->KW, g->W, g->KW, g->W);
    sb_printf(sb, "        if (ky0 == 0 && ky1 == %d && kx0 == 0 && kx1 == %d) {\n", g->KH, g->KW);
    pool_channels(e, f, p, true, true, var_div, 12);
    sb_puts(sb, "        } else {\n");
    pool_channels(e, f, p, false, true, var_div, 12);
    sb_puts(sb, "        }\n    }\n");
}

void emit_pool(const Node *n, Emit *e, const PoolGeom *g, bool is_max)
{
    PoolPlan p = {.g = g, .is_max = is_max};
    sb_printf(e->code, "/* %s: %s k%dx%d s%dx%d p%dx%d%s%s */\n", n->path, n->ops->name, g->KH,
              g->KW, g->SH, g->SW, g->PH, g->PW, e->act ? " + " : "",
              e->act ? e->act->ops->name : "");
    sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
              e->name);
    emit_step_body(e, g->C, pool_body, &p);
}

void emit_copy_step(const Node *n, Emit *e)
{
    sb_printf(e->code, "/* %s: %s (a copy between layouts) */\n", n->path, n->ops->name);
    sb_printf(e->code, "static void %s(const float *restrict in, float *restrict out)\n{\n",
              e->name);
    emit_relayout(e->code, &e->in, "in", &e->out, "out", 4);
    sb_puts(e->code, "}\n\n");
}

bool fuse_act(const Node *n, const Node *next)
{
    (void)n;
    return next->ops->emit_act != NULL;
}
