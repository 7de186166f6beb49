/* test_shape.c: Criterion tests of the shape pass and the layer registry: every registered
 * kind's shape rule on small nets, PyTorch's output-size formula over a grid of kernel,
 * stride, padding and dilation values, pooling's defaults, parameter shapes and names, the
 * seed net's totals, and a registry check that every kind has all its pieces.
 *
 * Design choice: nets are written as .net text and loaded through frontend_load_file, as a
 * user's file would be; the expected sizes come from the formula written out here
 * independently of ir_conv_out, so a wrong rule and a wrong helper cannot agree. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "capture.h"

TestSuite(shape, .init = capture_setup, .fini = capture_teardown);
TestSuite(registry);

/* Loads a net; the caller checks diag.errors. */
static Graph *load(const char *text)
{
    capture_reset();
    Graph *g = frontend_load_file(arena, src_from_string(arena, "t.net", text), &diag);
    fflush(mem);
    return g;
}

static Graph *load_ok(const char *text)
{
    Graph *g = load(text);
    cr_assert(g && diag.errors == 0 && g->shaped, "errors for:\n%s\n---\n%s", text, msgs);
    return g;
}

/* A net of one input and one statement. */
static Graph *one(const char *input, const char *stmt, bool ok)
{
    char text[512];
    snprintf(text, sizeof text, "network t (input %s) {\n  %s\n}\n", input, stmt);
    return ok ? load_ok(text) : load(text);
}

static void expect_shape(Shape got, const char *want, const char *what)
{
    char buf[64];
    shape_str(got, buf);
    cr_expect_str_eq(buf, want, "%s: shape %s, want %s", what, buf, want);
}

static void expect_error(const char *what, const char *want)
{
    cr_expect(diag.errors > 0, "%s: no error, want \"%s\"", what, want);
    cr_expect(msgs && strstr(msgs, want), "%s: diagnostics lack \"%s\"; got:\n%s", what, want,
              msgs ? msgs : "");
}

/* PyTorch: floor((in + 2p - d(k-1) - 1) / s) + 1, written out independently. */
static long torch_out(long in, long k, long s, long p, long d)
{
    double num = (double)(in + 2 * p - d * (k - 1) - 1);
    return (long)floor(num / (double)s) + 1;
}

/* ---- Conv2d ---- */

Test(shape, conv2d_formula_grid)
{
    static const long ins[] = {1, 5, 7, 28}, ks[] = {1, 2, 3, 5}, ss[] = {1, 2, 3},
                      ps[] = {0, 1, 2}, ds[] = {1, 2, 3};
    int checked = 0, rejected = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 3; c++)
                for (int e = 0; e < 3; e++)
                    for (int f = 0; f < 3; f++) {
                        long in = ins[a], k = ks[b], s = ss[c], p = ps[e], d = ds[f];
                        char input[32], stmt[96], what[128];
                        snprintf(input, sizeof input, "2x%ldx%ld", in, in);
                        snprintf(stmt, sizeof stmt, "Conv2d 3 k%ld s%ld p%ld d%ld", k, s, p, d);
                        snprintf(what, sizeof what, "in %ld %s", in, stmt);
                        long want = torch_out(in, k, s, p, d);
                        Graph *g = one(input, stmt, false);
                        if (want < 1) {
                            expect_error(what, "'Conv2d' output would be");
                            rejected++;
                            continue;
                        }
                        cr_assert(g && diag.errors == 0, "%s: unexpected error:\n%s", what, msgs);
                        char ws[64];
                        snprintf(ws, sizeof ws, "3x%ldx%ld", want, want);
                        expect_shape(GRAPH_NODE(g, 0)->out, ws, what);
                        checked++;
                    }
    cr_expect(checked > 100 && rejected > 10, "grid covered %d shapes and %d rejections", checked,
              rejected);
}

Test(shape, conv2d_named_edge_cases)
{
    struct {
        const char *input, *stmt, *want;
    } cases[] = {
        {"1x28x28", "Conv2d 8 k3 s2 p1 d2", "8x13x13"}, /* floor((28+2-4-1)/2)+1 */
        {"1x28x28", "Conv2d 8 k3 p1", "8x28x28"},
        {"1x28x28", "Conv2d 8 k5", "8x24x24"},
        {"3x13x13", "Conv2d 4 kernel=[3, 5]", "4x11x9"},
        {"3x11x9", "Conv2d 4 k3x5 stride=[2, 1]", "4x5x5"},
        {"3x10x10", "Conv2d 4 k3 padding=[0, 2] dilation=[1, 2]", "4x8x10"},
        {"3x1x1", "Conv2d 4 k1", "4x1x1"},
        {"3x4x4", "Conv2d 4 k4", "4x1x1"},
        {"3x4x4", "Conv2d 4 k1 p3", "4x10x10"},
        {"3x8x8", "Conv2d 4 k3 s8", "4x1x1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Graph *g = one(cases[i].input, cases[i].stmt, true);
        expect_shape(GRAPH_NODE(g, 0)->out, cases[i].want, cases[i].stmt);
    }
}

Test(shape, conv2d_params_and_macs)
{
    Graph *g = one("3x10x12", "c: Conv2d 8 kernel=[3, 5] p1", true);
    const Node *n = GRAPH_NODE(g, 0);
    expect_shape(n->out, "8x10x10", "conv");
    cr_assert_eq(n->nparams, 2);
    cr_expect_str_eq(n->params[0].name, "c.weight");
    expect_shape(n->params[0].shape, "8x3x3x5", "weight [out, in, kh, kw]");
    cr_expect_str_eq(n->params[1].name, "c.bias");
    expect_shape(n->params[1].shape, "8", "bias");
    cr_expect_eq(n->params[0].fan_in, 3 * 3 * 5, "fan_in %lld", (long long)n->params[0].fan_in);
    cr_expect_eq(n->params[0].fan_out, 8 * 3 * 5, "fan_out %lld", (long long)n->params[0].fan_out);
    cr_expect_eq(n->macs, 8LL * 10 * 10 * 3 * 3 * 5, "macs %lld", (long long)n->macs);
    cr_expect_eq(g->nparams, 8 * 3 * 3 * 5 + 8);
    g = one("3x10x10", "Conv2d 8 k3 bias=false", true);
    cr_expect_eq(GRAPH_NODE(g, 0)->nparams, 1, "bias=false leaves the weight only");
}

Test(shape, conv2d_errors)
{
    one("1x28x28", "Conv2d 3->8 k3", false);
    expect_error("wrong in", "'Conv2d' expects 1 input channel (1x28x28 from the network's input), "
                             "got 'in: 3'");
    one("1x4x4", "Conv2d 8 k5", false);
    expect_error("too small", "'Conv2d' output would be 0x0: input 4x4, kernel 5x5, stride 1x1");
    one("784", "Conv2d 8 k3", false);
    expect_error("flat input", "'Conv2d' needs a CxHxW input, got 784");
}

/* ---- pooling ---- */

Test(shape, maxpool2d_stride_defaults_to_kernel)
{
    for (long in = 2; in <= 30; in += 7)
        for (long k = 1; k <= 4; k++) {
            char input[32], stmt[32], what[64], want[64];
            snprintf(input, sizeof input, "2x%ldx%ld", in, in);
            snprintf(stmt, sizeof stmt, "MaxPool2d %ld", k);
            snprintf(what, sizeof what, "in %ld %s", in, stmt);
            long o = torch_out(in, k, k, 0, 1);
            if (o < 1)
                continue;
            snprintf(want, sizeof want, "2x%ldx%ld", o, o);
            Graph *g = one(input, stmt, true);
            const Node *n = GRAPH_NODE(g, 0);
            expect_shape(n->out, want, what);
            int si = ir_attr_index(n->ops, "stride");
            cr_expect_eq(n->attrs[si].i[0], k, "%s: stride %lld, want the kernel", what,
                         (long long)n->attrs[si].i[0]);
            cr_expect_eq(n->nparams, 0);
        }
}

Test(shape, pooling_cases)
{
    struct {
        const char *input, *stmt, *want;
    } cases[] = {
        {"32x28x28", "MaxPool2d 2", "32x14x14"},
        {"2x15x15", "MaxPool2d 2", "2x7x7"}, /* floor mode */
        {"2x7x7", "MaxPool2d 3 1", "2x5x5"}, /* positional stride */
        {"2x7x7", "MaxPool2d 3 s2 p1", "2x4x4"},
        {"2x6x9", "MaxPool2d kernel=[2, 3]", "2x3x3"}, /* stride [2, 3] */
        {"2x5x5", "AvgPool2d 3 s2 p1", "2x3x3"},
        {"6x28x28", "AvgPool2d 2", "6x14x14"},
        {"2x4x4", "AvgPool2d 2 padding=1", "2x3x3"},
        {"2x3x3", "AvgPool2d kernel=[3, 1]", "2x1x3"},
        {"1x1x1", "MaxPool2d 1", "1x1x1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s on %s", cases[i].stmt, cases[i].input);
        Graph *g = one(cases[i].input, cases[i].stmt, true);
        expect_shape(GRAPH_NODE(g, 0)->out, cases[i].want, what);
    }
}

Test(shape, pooling_errors)
{
    one("2x3x3", "MaxPool2d 4", false);
    expect_error("shrinks", "'MaxPool2d' shrinks its 3x3 input below 1x1 (kernel 4x4, stride 4x4");
    one("2x8x8", "AvgPool2d 2 p2", false);
    expect_error("padding", "'AvgPool2d' padding 2 is more than half its kernel 2");
    cr_expect_eq(diag.errors, 1, "one message for both dimensions, got %d", diag.errors);
    one("10", "MaxPool2d 2", false);
    expect_error("flat", "'MaxPool2d' needs a CxHxW input");
}

/* ---- Flatten, Linear ---- */

Test(shape, flatten)
{
    expect_shape(GRAPH_NODE(one("64x7x7", "Flatten", true), 0)->out, "3136", "image");
    expect_shape(GRAPH_NODE(one("10", "Flatten", true), 0)->out, "10", "vector");
    expect_shape(GRAPH_NODE(one("1x1x1", "Flatten", true), 0)->out, "1", "1x1x1");
}

Test(shape, linear)
{
    Graph *g = load_ok("network t (input 4x5x6) {\n  Flatten\n  fc: Linear 10 bias=false\n}\n");
    const Node *n = GRAPH_NODE(g, 1);
    expect_shape(n->out, "10", "linear");
    cr_expect_eq(n->attrs[ir_attr_index(n->ops, "in")].i[0], 120, "in inferred");
    cr_assert_eq(n->nparams, 1);
    cr_expect_str_eq(n->params[0].name, "fc.weight");
    expect_shape(n->params[0].shape, "10x120", "weight [out, in]");
    cr_expect_eq(n->macs, 1200);
    load("network t (input 4x5x6) {\n  Flatten\n  Linear 100->10\n}\n");
    expect_error("wrong in", "'Linear' expects 120 inputs (4x5x6 after 'Flatten'), got 'in: 100'");
    expect_error("note", "note: the input shape comes from 'Flatten' here");
    /* on an image, as torch.nn.Linear: the last dimension alone */
    n = GRAPH_NODE(one("4x5x6", "Linear 10", true), 0);
    expect_shape(n->out, "4x5x10", "linear on an image");
    expect_shape(n->params[0].shape, "10x6", "weight [out, W]");
    cr_expect_eq(n->macs, 4 * 5 * 10 * 6);
    one("4x5x6", "Linear 7->3", false);
    expect_error("wrong in on an image",
                 "'Linear' expects 6 inputs, the last dimension of 4x5x6 (from the network's "
                 "input), got 'in: 7'");
}

/* ---- shape-preserving kinds ---- */

Test(shape, elementwise_kinds_keep_the_shape)
{
    const char *stmts[] = {"ReLU", "LeakyReLU 0.2", "Sigmoid", "Tanh", "Dropout 0.3"};
    const char *inputs[] = {"3x5x7", "17"};
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 2; j++) {
            char what[64];
            snprintf(what, sizeof what, "%s on %s", stmts[i], inputs[j]);
            Graph *g = one(inputs[j], stmts[i], true);
            expect_shape(GRAPH_NODE(g, 0)->out, inputs[j], what);
            cr_expect_eq(GRAPH_NODE(g, 0)->nparams, 0, "%s has params", what);
            cr_expect_eq(GRAPH_NODE(g, 0)->macs, 0, "%s has MACs", what);
        }
}

Test(shape, softmax)
{
    expect_shape(GRAPH_NODE(one("10", "Softmax", true), 0)->out, "10", "softmax");
    /* on an image: any of its dimensions, by PyTorch's numbers for an (N, C, H, W) batch */
    const char *dims[] = {"Softmax", "Softmax 2", "Softmax 3", "Softmax -1", "Softmax -3"};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        expect_shape(GRAPH_NODE(one("3x5x7", dims[i], true), 0)->out, "3x5x7", dims[i]);
    one("3x5x7", "Softmax 4", false);
    expect_error("past the image", "Softmax dim 4 is out of range for a 3x5x7 input");
    one("3x5x7", "Softmax -4", false);
    expect_error("the batch from the end", "Softmax over dim -4 would mix the samples");
    one("10", "Softmax 2", false);
    expect_error("past the features", "Softmax dim 2 is out of range for a 10 input");
    one("10", "Softmax -2", false);
    expect_error("the batch of a flat input", "Softmax over dim -2 would mix the samples");
}

Test(shape, size_limits)
{
    one("1048576x1048576x1048576", "Flatten", false);
    expect_error("input", "is too large");
    one("1x1024x1024", "Conv2d 1048576 k3", false);
    expect_error("conv", "'Conv2d' output 1048576x1022x1022 is too large");
    load("network t (input 1) {\n  Linear 16777216\n  Linear 16777216\n}\n");
    expect_error("linear", "'Linear' weight 16777216x16777216 is too large");
}

/* Names of 250 bytes nested: state_dict names that a weights file (1024 bytes a name, with
 * "optim.grad_avg." before a checkpoint's optimizer state) could not hold, refused at the
 * layer: three levels fit (761 bytes), four (1,012) do not. */
Test(shape, state_dict_name_limit)
{
    char name[5][251], text[4096];
    for (int i = 0; i < 5; i++) {
        memset(name[i], 'a' + i, 250);
        name[i][250] = 0;
    }
    for (int levels = 3; levels <= 5; levels++) {
        int n = snprintf(text, sizeof text, "network t (input 4) {\n");
        for (int i = 0; i < levels; i++)
            n += snprintf(text + n, sizeof text - (size_t)n, "%s {\n", name[i]);
        n += snprintf(text + n, sizeof text - (size_t)n, "Linear 2\n");
        for (int i = 0; i < levels; i++)
            n += snprintf(text + n, sizeof text - (size_t)n, "}\n");
        snprintf(text + n, sizeof text - (size_t)n, "}\n");
        Graph *g = load(text);
        if (levels == 3) {
            cr_expect(g && diag.errors == 0, "3 levels: %s", msgs);
            const Node *fc = GRAPH_NODE(g, 0);
            cr_expect(strlen(fc->params[0].name) == 3 * 251 + 1 + 7, "%zu",
                      strlen(fc->params[0].name));
        } else {
            expect_error("nested names", "the state_dict name of this 'Linear' weight ('");
            expect_error("nested names", "bytes; weights files take at most 1000");
        }
    }
}

/* ---- the seed net ---- */

Test(shape, seed_net_totals_and_names)
{
    Graph *g = load_ok("network mnist (input 1x28x28) {\n"
                       "  layer1 {\n"
                       "    Conv2d 1->32 k3 s1 p1\n"
                       "    ReLU\n"
                       "    MaxPool2d 2\n"
                       "  }\n"
                       "  layer2 {\n"
                       "    Conv2d 32->64 k3 p1\n"
                       "    ReLU\n"
                       "    MaxPool2d 2\n"
                       "  }\n"
                       "  Flatten\n"
                       "  fc: Linear 10 init=xavier_uniform\n"
                       "}\n");
    cr_expect_eq(g->nparams, 50186, "params %lld, want 50,186", (long long)g->nparams);
    cr_expect_eq(g->macs, 3869824, "MACs %lld, want 3,869,824", (long long)g->macs);
    static const char *const names[] = {"layer1.0.weight", "layer1.0.bias", "layer2.0.weight",
                                        "layer2.0.bias",   "fc.weight",     "fc.bias"};
    static const char *const shapes[] = {"32x1x3x3", "32", "64x32x3x3", "64", "10x3136", "10"};
    int k = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++, k++) {
            cr_assert_lt(k, 6, "more than 6 parameters: %s", n->params[p].name);
            cr_expect_str_eq(n->params[p].name, names[k], "param %d: %s, want %s", k,
                             n->params[p].name, names[k]);
            expect_shape(n->params[p].shape, shapes[k], names[k]);
        }
    }
    cr_expect_eq(k, 6, "%d parameters, want 6", k);
    expect_shape(GRAPH_NODE(g, 6)->out, "3136", "Flatten");
    cr_expect_str_eq(GRAPH_NODE(g, 6)->path, "2", "Flatten is the root's child 2");
}

Test(shape, state_dict_names_count_every_sibling)
{
    Graph *g = load_ok("network t (input 1x8x8) {\n"
                       "  ReLU\n"
                       "  Conv2d 2 k3 p1\n"
                       "  g {\n"
                       "    ReLU\n"
                       "    inner { Conv2d 2 k1 }\n"
                       "    Conv2d 2 k1\n"
                       "    x: Conv2d 2 k1\n"
                       "  }\n"
                       "  Flatten\n"
                       "  head: Linear 3\n"
                       "}\n");
    static const char *const want[] = {
        "1.weight", "1.bias",     "g.inner.0.weight", "g.inner.0.bias", "g.2.weight",
        "g.2.bias", "g.x.weight", "g.x.bias",         "head.weight",    "head.bias"};
    int k = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        for (int p = 0; p < n->nparams; p++, k++) {
            cr_assert_lt(k, 10, "extra parameter %s", n->params[p].name);
            cr_expect_str_eq(n->params[p].name, want[k], "param %d: %s, want %s", k,
                             n->params[p].name, want[k]);
        }
    }
    cr_expect_eq(k, 10);
}

/* ---- the registry ---- */

/* A statement giving a kind's required attributes small values. */
static void minimal_stmt(const LayerOps *ops, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "%s", ops->name);
    for (int i = 0; i < ops->nattrs; i++) {
        const AttrSpec *s = &ops->attrs[i];
        if (s->required)
            len += (size_t)snprintf(buf + len, n - len, " %s=%s", s->name,
                                    s->type == ATTR_STRING ? "\"x\"" : "1");
    }
}

/* Every piece a kind needs, whether it is registered or the template. */
static void check_complete(const LayerOps *ops)
{
    cr_assert_not_null(ops->name, "a kind has no name");
    cr_expect(ops->summary && *ops->summary, "%s has no summary", ops->name);
    cr_expect_not_null(ops->shape, "%s has no shape rule", ops->name);
    cr_expect_not_null(ops->forward, "%s has no forward", ops->name);
    cr_expect_not_null(ops->backward, "%s has no backward", ops->name);
    cr_expect_not_null(ops->emit, "%s has no C emitter (emit)", ops->name);
    cr_expect(ops->example && *ops->example,
              "%s has no example statement (LayerOps.example: the property tests place it)",
              ops->name);
    cr_expect(!ops->monotonic || ops->emit_act,
              "%s: 'monotonic' is for elementwise kinds written by emit_act", ops->name);
    cr_expect(!ops->commutes_with_max || ops->monotonic,
              "%s: 'commutes_with_max' implies 'monotonic'", ops->name);
    cr_expect(ops->nattrs == 0 || ops->attrs, "%s: %d attrs but no table", ops->name, ops->nattrs);
    for (int i = 0; ops->positional && ops->positional[i]; i++)
        cr_expect_geq(ir_attr_index(ops, ops->positional[i]), 0,
                      "%s: positional '%s' is not an attribute", ops->name, ops->positional[i]);
    if (ops->has_in_out) {
        cr_expect_geq(ir_attr_index(ops, "in"), 0, "%s: in->out without 'in'", ops->name);
        cr_expect_geq(ir_attr_index(ops, "out"), 0, "%s: in->out without 'out'", ops->name);
    }
    for (int i = 0; i < ops->nattrs; i++) {
        const AttrSpec *s = &ops->attrs[i];
        AttrVal v;
        cr_expect(attr_parse_default(s, &v), "%s.%s: default '%s' does not parse", ops->name,
                  s->name, s->def ? s->def : "(none)");
        cr_expect(s->help && *s->help, "%s.%s has no help", ops->name, s->name);
        cr_expect(s->type != ATTR_ENUM || s->choices, "%s.%s: enum without choices", ops->name,
                  s->name);
        cr_expect(!(s->required && s->def), "%s.%s: required and defaulted", ops->name, s->name);
        if (s->def && (s->type == ATTR_INT || s->type == ATTR_FLOAT))
            cr_expect(v.f[0] >= s->min && v.f[0] <= s->max, "%s.%s: default %s outside [%g, %g]",
                      ops->name, s->name, s->def, s->min, s->max);
        for (int j = 0; j < i; j++) {
            cr_expect(strcmp(s->name, ops->attrs[j].name) != 0, "%s: '%s' twice", ops->name,
                      s->name);
            cr_expect(!s->shortp || !ops->attrs[j].shortp ||
                          strcmp(s->shortp, ops->attrs[j].shortp) != 0,
                      "%s: short form '%s' twice", ops->name, s->shortp);
        }
    }
}

Test(registry, every_kind_is_complete)
{
    for (int k = 0; k < LAYER__COUNT; k++) {
        const LayerOps *ops = ir_layers[k];
        cr_assert_not_null(ops, "kind %d has no LayerOps", k);
        check_complete(ops);
        cr_expect_eq((int)ops->kind, k, "%s: kind %d listed at %d", ops->name, ops->kind, k);
        cr_expect_eq(ir_layer_find(ops->name), ops, "%s is not found by its name", ops->name);
    }
}

/* src/layers/template.c, the file a new kind copies, is compiled into this test (and not
 * registered), so it keeps building and keeps every piece. */
extern const LayerOps layer_template;

Test(registry, template_is_complete)
{
    check_complete(&layer_template);
    cr_expect_null(ir_layer_find(layer_template.name), "the template is registered");
}

Test(registry, kinds_with_params_have_init)
{
    for (int k = 0; k < LAYER__COUNT; k++) {
        const LayerOps *ops = ir_layers[k];
        if (ops->max_inputs)
            continue; /* a join has no parameters, and no statement of its own */
        char stmt[256];
        minimal_stmt(ops, stmt, sizeof stmt);
        /* every kind shapes on an image or, failing that, on a vector */
        const char *inputs[] = {"2x6x6", "6"};
        bool shaped = false;
        for (int j = 0; j < 2 && !shaped; j++) {
            Arena *a = arena_new();
            FILE *null = fopen("/dev/null", "w");
            Diag d;
            diag_init(&d, null, "test");
            char text[512];
            snprintf(text, sizeof text, "network t (input %s) {\n  %s\n}\n", inputs[j], stmt);
            Graph *g = frontend_load_file(a, src_from_string(a, "t.net", text), &d);
            if (g && d.errors == 0 && g->shaped) {
                shaped = true;
                const Node *n = GRAPH_NODE(g, 0);
                if (n->nparams > 0)
                    cr_expect_not_null(ops->init, "%s has parameters but no init", ops->name);
                for (int p = 0; p < n->nparams; p++)
                    cr_expect(shape_numel(n->params[p].shape) > 0, "%s: empty param %s", ops->name,
                              n->params[p].name);
            }
            fclose(null);
            arena_free(a);
        }
        cr_expect(shaped, "%s: '%s' shapes on neither 2x6x6 nor 6", ops->name, stmt);
    }
}

Test(registry, lookup_and_suggestions)
{
    cr_expect_eq(ir_layer_find("conv2d"), ir_layer_find("Conv2d"), "case-insensitive");
    cr_expect_eq(ir_layer_find("CONV2D"), ir_layer_find("Conv2d"));
    cr_expect_null(ir_layer_find("Conv3d"));
    cr_expect_str_eq(ir_layer_suggest("MaxPol2d"), "MaxPool2d");
    cr_expect_str_eq(ir_layer_suggest("Rleu"), "ReLU");
    cr_expect_null(ir_layer_suggest("Transformer"));
}
