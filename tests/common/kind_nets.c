/* kind_nets.c: the templates that put a layer kind at every position of a whole net. */
#include "kind_nets.h"

#include <stdlib.h>
#include <string.h>

#include "frontend.h"

const char *const kind_pos_names[POS__COUNT] = {"first", "before_pool", "after_pool", "middle",
                                                "last"};

/* X stands for the kind's example. Inputs are small so the gradient checks stay quick, and
 * odd-sized after the first pool (3x8x8 -> 8x8 -> 4x4) so no window lines up by luck. */
typedef struct Template {
    KindPos pos;
    const char *tag, *input, *body;
} Template;

static const Template templates[] = {
    {POS_FIRST, "first_image", "3x8x8", "X\nConv2d 4 k3 p1\nFlatten\nLinear 5"},
    {POS_FIRST, "first_image_flat", "3x8x8", "X\nLinear 5"},
    {POS_FIRST, "first_flat", "12", "X\nLinear 5"},
    {POS_BEFORE_POOL, "before_pool", "3x8x8", "Conv2d 4 k3 p1\nX\nMaxPool2d 2\nFlatten\nLinear 5"},
    {POS_AFTER_POOL, "after_pool", "3x8x8", "Conv2d 4 k3 p1\nMaxPool2d 2\nX\nFlatten\nLinear 5"},
    {POS_MIDDLE, "middle_image", "3x8x8", "Conv2d 4 k3 p1\nX\nConv2d 3 k3\nFlatten\nLinear 5"},
    {POS_MIDDLE, "middle_flat", "3x8x8", "Flatten\nLinear 8\nX\nLinear 5"},
    /* followed by a kind that writes in place: the kind's own output or input is overwritten
     * unless it says its backward reads them */
    {POS_MIDDLE, "before_relu", "3x8x8", "Conv2d 4 k3 p1\nX\nReLU\nFlatten\nLinear 5"},
    /* a ReLU that the kind may take into itself (BatchNorm's fuses_act): on 20 channels,
     * both the kernels' vector blocks and their scalar tail; and on a flat vector */
    {POS_MIDDLE, "before_relu_wide", "3x8x8", "Conv2d 20 k3 p1\nX\nReLU\nFlatten\nLinear 5"},
    {POS_MIDDLE, "before_relu_flat", "3x8x8", "Flatten\nLinear 8\nX\nReLU\nLinear 5"},
    /* after a BatchNorm, which takes an activation into itself (fuses_act): every kind
     * there, image and flat */
    {POS_MIDDLE, "after_batchnorm", "3x8x8", "Conv2d 20 k3 p1\nBatchNorm2d\nX\nFlatten\nLinear 5"},
    {POS_MIDDLE, "after_batchnorm_flat", "3x8x8", "Flatten\nLinear 8\nBatchNorm1d\nX\nLinear 5"},
    {POS_MIDDLE, "before_dropout", "3x8x8", "Flatten\nLinear 8\nX\nDropout 0.25\nLinear 5"},
    {POS_LAST, "last_image", "3x8x8", "Conv2d 4 k3 p1\nX"},
    {POS_LAST, "last_pooled", "3x8x8", "Conv2d 4 k3 p1\nMaxPool2d 2\nX"},
    {POS_LAST, "last_flat", "3x8x8", "Flatten\nLinear 6\nX"},
};

/* Joins (kinds of several inputs) take their own templates: X stands for the join of the
 * branches a and b ("join add a b"); branches of other shapes are left to shape errors. */
static const Template join_templates[] = {
    {POS_FIRST, "first", "3x8x8",
     "a: branch { Conv2d 4 k1 }\nb: branch { Conv2d 4 k3 p1 }\nX\nFlatten\nLinear 5"},
    {POS_BEFORE_POOL, "before_pool", "3x8x8",
     "Conv2d 4 k3 p1\na: branch { Conv2d 4 k1 }\nb: branch { ReLU }\nX\nMaxPool2d 2\n"
     "Flatten\nLinear 5"},
    {POS_AFTER_POOL, "after_pool", "3x8x8",
     "Conv2d 4 k3 p1\nMaxPool2d 2\na: branch { Conv2d 4 k1 }\nb: branch { }\nX\nFlatten\n"
     "Linear 5"},
    {POS_MIDDLE, "middle_flat", "3x8x8",
     "Flatten\nLinear 8\na: branch { Linear 8 }\nb: branch { Tanh }\nX\nLinear 5"},
    {POS_MIDDLE, "before_relu", "3x8x8",
     "Conv2d 4 k3 p1\na: branch { Conv2d 4 k3 p1 }\nb: branch { Conv2d 4 k1 }\nX\nReLU\n"
     "Flatten\nLinear 5"},
    {POS_LAST, "last_image", "3x8x8",
     "Conv2d 4 k3 p1\na: branch { Conv2d 4 k1 }\nb: branch { ReLU }\nX"},
};

static char *net_text(const LayerOps *ops, const Template *t)
{
    StrBuf sb;
    sb_init(&sb);
    sb_printf(&sb, "# %s at position '%s' (tests/common/kind_nets.c)\n", ops->name, t->tag);
    sb_printf(&sb, "network %s_%s (input %s) {\n", ops->name, t->tag, t->input);
    for (const char *p = t->body; *p;) {
        size_t n = strcspn(p, "\n");
        if (n == 1 && *p == 'X')
            sb_printf(&sb, ops->max_inputs ? "  %s a b\n" : "  %s\n", ops->example);
        else
            sb_printf(&sb, "  %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    sb_puts(&sb, "}\n\ntrain {\n  seed 3\n}\n");
    return sb.data;
}

/* Whether the net builds and shape-checks, with the kind's node where the template puts it
 * (an example that builds another kind, or two layers, is not placed). */
static bool builds(const LayerOps *ops, const char *text)
{
    Arena *a = arena_new();
    FILE *null = fopen("/dev/null", "w");
    Diag d;
    diag_init(&d, null ? null : stderr, "kind_nets");
    Graph *g = frontend_load_file(a, src_from_string(a, "kind.net", text), &d);
    bool ok = g && g->shaped && d.errors == 0;
    int found = 0;
    for (int i = 0; ok && i < g->nodes.len; i++)
        found += GRAPH_NODE(g, i)->ops == ops;
    if (null)
        fclose(null);
    arena_free(a);
    /* the templates' own layers may be of the kind too (Conv2d, MaxPool2d, Linear) */
    return ok && found >= 1;
}

int kind_nets(const LayerOps *ops, KindNet *out, int max)
{
    const Template *ts = ops->max_inputs ? join_templates : templates;
    size_t nt = ops->max_inputs ? sizeof join_templates / sizeof join_templates[0]
                                : sizeof templates / sizeof templates[0];
    int n = 0;
    for (size_t i = 0; i < nt && n < max; i++) {
        char *text = net_text(ops, &ts[i]);
        if (!text || !builds(ops, text)) {
            free(text);
            continue;
        }
        out[n++] = (KindNet){ts[i].pos, ts[i].tag, ts[i].input, text};
    }
    return n;
}

void kind_nets_free(KindNet *nets, int n)
{
    for (int i = 0; i < n; i++)
        free(nets[i].text);
}
