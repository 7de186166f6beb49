/* test_yaml.c: Criterion tests of the YAML front end through parse_yaml on strings: the seed
 * net's AST (heads, labels, arguments, values, locations), every mapping of YAML shapes onto
 * statements, scalar typing, and each YAML-specific error with its message and location.
 *
 * Design choice: each test parses a small text and walks the AST it got, so a failure names
 * the statement and the argument; diagnostics are captured in memory (open_memstream) and
 * checked by substring, location prefix included (`t.yaml:LINE:COL: error: ...`). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "capture.h"

TestSuite(yaml, .init = capture_setup, .fini = capture_teardown);

/* Parses len bytes of text (which may hold NULs); the diagnostics so far are in msgs. */
static AstNet *parse_bytes(const char *text, size_t len)
{
    SrcFile *f = arena_alloc(arena, sizeof *f);
    f->name = "t.yaml";
    f->text = arena_strndup(arena, text, len);
    f->len = len;
    AstNet *net = parse_yaml(arena, f, &diag);
    fflush(mem);
    cr_assert(net, "parse_yaml returned NULL");
    cr_assert_eq(net->file, f, "net->file not set");
    return net;
}

static AstNet *parse(const char *text)
{
    AstNet *net = parse_yaml(arena, src_from_string(arena, "t.yaml", text), &diag);
    fflush(mem);
    cr_assert(net, "parse_yaml returned NULL");
    return net;
}

static AstNet *parse_ok(const char *text)
{
    AstNet *net = parse(text);
    cr_assert_eq(diag.errors, 0, "unexpected errors for:\n%s\n---\n%s", text, msgs);
    return net;
}

/* The diagnostics must contain want. */
static void expect_msg(const char *want)
{
    cr_expect(msgs && strstr(msgs, want), "missing diagnostic:\n  %s\ngot:\n%s", want,
              msgs ? msgs : "(nothing)");
}

static void expect_errors(int n)
{
    cr_expect_eq(diag.errors, n, "%d errors, want %d:\n%s", diag.errors, n, msgs);
}

static AstStmt *stmt(const PtrVec *body, int i)
{
    cr_assert_lt(i, body->len, "statement %d missing: only %d", i, body->len);
    return body->items[i];
}

static AstArg *arg(const AstStmt *s, int i)
{
    cr_assert_lt(i, s->args.len, "'%s': argument %d missing: only %d", s->head, i, s->args.len);
    return s->args.items[i];
}

static AstValue *item(const AstValue *v, int i)
{
    cr_assert_eq(v->kind, VAL_LIST, "kind %d, want VAL_LIST", v->kind);
    cr_assert_lt(i, v->items.len, "list item %d missing: only %d", i, v->items.len);
    return v->items.items[i];
}

static void expect_loc(SrcLoc l, int line, int col, int len, const char *what)
{
    cr_expect(l.line == line && l.col == col && l.len == len,
              "%s: location %d:%d len %d, want %d:%d len %d", what, l.line, l.col, l.len, line, col,
              len);
}

static void expect_head(const AstStmt *s, const char *label, const char *head, int nargs,
                        bool block)
{
    if (label)
        cr_expect(s->label && !strcmp(s->label, label), "label '%s', want '%s'",
                  s->label ? s->label : "(none)", label);
    else
        cr_expect_null(s->label, "'%s': unexpected label '%s'", s->head, s->label);
    cr_assert(s->head && !strcmp(s->head, head), "head '%s', want '%s'",
              s->head ? s->head : "(none)", head);
    cr_expect_eq(s->args.len, nargs, "'%s': %d arguments, want %d", head, s->args.len, nargs);
    cr_expect_eq(s->has_block, block, "'%s': has_block %d, want %d", head, s->has_block, block);
}

static void expect_int(const AstValue *v, int64_t want, const char *what)
{
    cr_assert_eq(v->kind, VAL_INT, "%s: kind %d, want VAL_INT", what, v->kind);
    cr_expect_eq(v->i, want, "%s: %lld, want %lld", what, (long long)v->i, (long long)want);
}

static void expect_float(const AstValue *v, double want, const char *what)
{
    cr_assert_eq(v->kind, VAL_FLOAT, "%s: kind %d, want VAL_FLOAT", what, v->kind);
    cr_expect_eq(v->f, want, "%s: %g, want %g", what, v->f, want);
}

static void expect_text(const AstValue *v, ValKind kind, const char *want, const char *what)
{
    cr_assert_eq(v->kind, kind, "%s: kind %d, want %d", what, v->kind, kind);
    cr_expect_str_eq(v->s, want, "%s: '%s', want '%s'", what, v->s, want);
}

/* A keyed argument: its key and value. */
static AstValue *keyed(const AstStmt *s, int i, const char *key)
{
    AstArg *g = arg(s, i);
    cr_assert(g->key && !strcmp(g->key, key), "'%s' argument %d: key '%s', want '%s'", s->head, i,
              g->key ? g->key : "(positional)", key);
    return g->val;
}

static AstValue *positional(const AstStmt *s, int i)
{
    AstArg *g = arg(s, i);
    cr_assert_null(g->key, "'%s' argument %d: key '%s', want positional", s->head, i, g->key);
    return g->val;
}

/* ---- the seed net ---- */

static const char seed[] = "network: mnist\n"
                           "input: [1, 28, 28]\n"
                           "layers:\n"
                           "  - layer1:\n"
                           "      - Conv2d: {in: 1, out: 32, kernel: 3, stride: 1, padding: 1}\n"
                           "      - ReLU\n"
                           "      - MaxPool2d: 2\n"
                           "  - layer2:\n"
                           "      - Conv2d: {in: 32, out: 64, kernel: 3, padding: 1}\n"
                           "      - ReLU\n"
                           "      - MaxPool2d: 2\n"
                           "  - Flatten\n"
                           "  - fc: {Linear: {out: 10, init: xavier_uniform}}\n"
                           "train:\n"
                           "  data: {idx: data/mnist-mini}\n"
                           "  loss: cross_entropy\n"
                           "  optimizer: {Adam: {lr: 0.001}}\n"
                           "  batch: 100\n"
                           "  epochs: 2\n"
                           "  seed: 777\n";

Test(yaml, seed_header)
{
    AstNet *net = parse_ok(seed);
    cr_assert_str_eq(net->name, "mnist");
    expect_loc(net->name_loc, 1, 10, 5, "network name");
    expect_loc(net->loc, 1, 1, 14, "net");
    cr_assert_eq(net->header.len, 1);
    AstArg *in = net->header.items[0];
    cr_assert_str_eq(in->key, "input");
    expect_loc(in->key_loc, 2, 1, 5, "'input' key");
    expect_loc(in->loc, 2, 1, 18, "'input' argument");
    cr_assert_eq(in->val->items.len, 3);
    expect_int(item(in->val, 0), 1, "input[0]");
    expect_int(item(in->val, 1), 28, "input[1]");
    expect_int(item(in->val, 2), 28, "input[2]");
    expect_loc(item(in->val, 1)->loc, 2, 12, 2, "input[1]");
}

Test(yaml, seed_layers)
{
    AstNet *net = parse_ok(seed);
    cr_assert_eq(net->body.len, 4);
    for (int g = 0; g < 2; g++) {
        AstStmt *grp = stmt(&net->body, g);
        expect_head(grp, NULL, g ? "layer2" : "layer1", 0, true);
        cr_assert_eq(grp->body.len, 3);
        AstStmt *conv = stmt(&grp->body, 0);
        expect_head(conv, NULL, "Conv2d", g ? 4 : 5, false);
        expect_int(keyed(conv, 0, "in"), g ? 32 : 1, "in");
        expect_int(keyed(conv, 1, "out"), g ? 64 : 32, "out");
        expect_int(keyed(conv, 2, "kernel"), 3, "kernel");
        expect_int(keyed(conv, g ? 3 : 4, "padding"), 1, "padding");
        expect_head(stmt(&grp->body, 1), NULL, "ReLU", 0, false);
        AstStmt *pool = stmt(&grp->body, 2);
        expect_head(pool, NULL, "MaxPool2d", 1, false);
        expect_int(positional(pool, 0), 2, "pool size");
    }
    expect_head(stmt(&net->body, 2), NULL, "Flatten", 0, false);
    AstStmt *fc = stmt(&net->body, 3);
    expect_head(fc, "fc", "Linear", 2, false);
    expect_int(keyed(fc, 0, "out"), 10, "out");
    expect_text(keyed(fc, 1, "init"), VAL_IDENT, "xavier_uniform", "init");

    /* locations: the group's name, a nested layer, an argument, the labelled layer */
    AstStmt *l1 = stmt(&net->body, 0);
    expect_loc(l1->head_loc, 4, 5, 6, "layer1");
    AstStmt *conv = stmt(&l1->body, 0);
    expect_loc(conv->head_loc, 5, 9, 6, "Conv2d");
    expect_loc(conv->loc, 5, 9, 58, "Conv2d statement");
    AstArg *out = arg(conv, 1);
    expect_loc(out->key_loc, 5, 25, 3, "'out' key");
    expect_loc(out->loc, 5, 25, 7, "'out: 32'");
    expect_loc(out->val->loc, 5, 30, 2, "32");
    expect_loc(fc->label_loc, 13, 5, 2, "fc");
    expect_loc(fc->head_loc, 13, 10, 6, "Linear");
    expect_loc(fc->loc, 13, 5, 45, "fc statement");
    expect_loc(stmt(&net->body, 2)->loc, 12, 5, 7, "Flatten");
}

Test(yaml, seed_train)
{
    AstNet *net = parse_ok(seed);
    cr_assert(net->has_train);
    expect_loc(net->train_loc, 14, 1, 5, "train");
    cr_assert_eq(net->train.len, 6);
    AstStmt *data = stmt(&net->train, 0);
    expect_head(data, NULL, "data", 2, false);
    expect_text(positional(data, 0), VAL_IDENT, "idx", "data kind");
    expect_text(positional(data, 1), VAL_STRING, "data/mnist-mini", "data path");
    expect_loc(data->head_loc, 15, 3, 4, "data");
    expect_loc(arg(data, 1)->val->loc, 15, 15, 15, "data path");
    AstStmt *loss = stmt(&net->train, 1);
    expect_head(loss, NULL, "loss", 1, false);
    expect_text(positional(loss, 0), VAL_IDENT, "cross_entropy", "loss");
    AstStmt *opt = stmt(&net->train, 2);
    expect_head(opt, NULL, "optimizer", 2, false);
    expect_text(positional(opt, 0), VAL_IDENT, "Adam", "optimizer kind");
    expect_float(keyed(opt, 1, "lr"), 0.001, "lr");
    expect_loc(arg(opt, 0)->val->loc, 17, 15, 4, "Adam");
    const char *names[] = {"batch", "epochs", "seed"};
    const int64_t vals[] = {100, 2, 777};
    for (int i = 0; i < 3; i++) {
        AstStmt *s = stmt(&net->train, 3 + i);
        expect_head(s, NULL, names[i], 1, false);
        expect_int(positional(s, 0), vals[i], names[i]);
    }
}

/* ---- shapes of the file ---- */

Test(yaml, input_forms)
{
    AstNet *net = parse_ok("network: n\ninput: 1x28x28\nlayers: [ReLU]\n");
    AstArg *in = net->header.items[0];
    cr_assert_eq(in->val->items.len, 3);
    expect_int(item(in->val, 2), 28, "input[2]");
    expect_loc(in->val->loc, 2, 8, 7, "1x28x28");
    expect_loc(item(in->val, 1)->loc, 2, 10, 2, "the first 28");

    net = parse_ok("network: n\ninput: 784\nlayers: [ReLU]\n");
    in = net->header.items[0];
    cr_assert_eq(in->val->kind, VAL_LIST);
    cr_assert_eq(in->val->items.len, 1);
    expect_int(item(in->val, 0), 784, "input[0]");
}

Test(yaml, layer_forms)
{
    AstNet *net = parse_ok("network: n\n"
                           "layers:\n"
                           "  - act: ReLU\n"                       /* named layer, scalar */
                           "  - MaxPool2d: [3, 2]\n"               /* positional list */
                           "  - Dropout: {p: 0.5}\n"               /* keyed */
                           "  - Softmax:\n"                        /* nothing */
                           "  - relu2: {ReLU}\n"                   /* named, no arguments */
                           "  - block:\n"                          /* group */
                           "      - inner: [Tanh]\n"               /* nested group */
                           "  - empty: []\n"                       /* empty group */
                           "  - Conv2dd: {in: 1, out: 2}\n"        /* unknown kind: for lowering */
                           "  - Linearr: 3\n"                      /* unknown kind, positional */
                           "  - x: {Linearr: {out: 3}}\n"          /* named, unknown kind */
                           "  - conv2d: {kernel_size: [3, 3]}\n"); /* case-insensitive kind */
    expect_head(stmt(&net->body, 0), "act", "ReLU", 0, false);
    expect_loc(stmt(&net->body, 0)->head_loc, 3, 10, 4, "ReLU");
    AstStmt *pool = stmt(&net->body, 1);
    expect_head(pool, NULL, "MaxPool2d", 2, false);
    expect_int(positional(pool, 1), 2, "stride");
    expect_float(keyed(stmt(&net->body, 2), 0, "p"), 0.5, "p");
    expect_head(stmt(&net->body, 3), NULL, "Softmax", 0, false);
    expect_head(stmt(&net->body, 4), "relu2", "ReLU", 0, false);
    AstStmt *block = stmt(&net->body, 5);
    expect_head(block, NULL, "block", 0, true);
    AstStmt *inner = stmt(&block->body, 0);
    expect_head(inner, NULL, "inner", 0, true);
    expect_head(stmt(&inner->body, 0), NULL, "Tanh", 0, false);
    expect_head(stmt(&net->body, 6), NULL, "empty", 0, true);
    AstStmt *bad = stmt(&net->body, 7);
    expect_head(bad, NULL, "Conv2dd", 2, false);
    expect_int(keyed(bad, 1, "out"), 2, "out");
    expect_head(stmt(&net->body, 8), NULL, "Linearr", 1, false);
    expect_head(stmt(&net->body, 9), "x", "Linearr", 1, false);
    AstStmt *conv = stmt(&net->body, 10);
    expect_head(conv, NULL, "conv2d", 1, false);
    cr_expect_eq(keyed(conv, 0, "kernel_size")->items.len, 2);
}

Test(yaml, train_forms)
{
    AstNet *net = parse_ok("network: n\nlayers: [ReLU]\ntrain:\n"
                           "  optimizer: Adam\n"
                           "  normalize: {mean: 0.1307, std: 0.3081}\n"
                           "  schedule: {MultiStepLR: {milestones: [2, 5], gamma: 0.1}}\n"
                           "  loss: {cross_entropy: }\n"
                           "  shuffle: false\n");
    AstStmt *opt = stmt(&net->train, 0);
    expect_head(opt, NULL, "optimizer", 1, false);
    expect_text(positional(opt, 0), VAL_IDENT, "Adam", "optimizer");
    AstStmt *norm = stmt(&net->train, 1);
    expect_head(norm, NULL, "normalize", 2, false);
    expect_float(keyed(norm, 0, "mean"), 0.1307, "mean");
    expect_float(keyed(norm, 1, "std"), 0.3081, "std");
    AstStmt *sched = stmt(&net->train, 2);
    expect_head(sched, NULL, "schedule", 3, false);
    expect_text(positional(sched, 0), VAL_IDENT, "MultiStepLR", "schedule kind");
    AstValue *ms = keyed(sched, 1, "milestones");
    expect_int(item(ms, 0), 2, "milestones[0]");
    expect_int(item(ms, 1), 5, "milestones[1]");
    expect_float(keyed(sched, 2, "gamma"), 0.1, "gamma");
    AstStmt *loss = stmt(&net->train, 3);
    expect_head(loss, NULL, "loss", 1, false);
    expect_text(positional(loss, 0), VAL_IDENT, "cross_entropy", "loss");
    expect_text(positional(stmt(&net->train, 4), 0), VAL_IDENT, "false", "shuffle");
}

/* A kind's value as a list: one positional value (a list), unless a mapping ends it, which
 * then holds the keyed ones after the positional items before it, as a layer's list does. */
Test(yaml, train_kind_positional_and_keyed)
{
    AstNet *net = parse_ok("network: n\nlayers: [ReLU]\ntrain:\n"
                           "  schedule: {MultiStepLR: [[2, 5], {gamma: 0.5}]}\n"
                           "  optimizer: {SGD: [0.1, {momentum: 0.9}]}\n"
                           "  loss: {cross_entropy: [2, 5]}\n");
    AstStmt *sched = stmt(&net->train, 0);
    expect_head(sched, NULL, "schedule", 3, false);
    AstValue *ms = positional(sched, 1);
    cr_expect_eq(ms->items.len, 2);
    expect_int(item(ms, 1), 5, "milestones[1]");
    expect_float(keyed(sched, 2, "gamma"), 0.5, "gamma");
    AstStmt *opt = stmt(&net->train, 1);
    expect_head(opt, NULL, "optimizer", 3, false);
    expect_float(positional(opt, 1), 0.1, "lr");
    expect_float(keyed(opt, 2, "momentum"), 0.9, "momentum");
    AstStmt *loss = stmt(&net->train, 2);
    expect_head(loss, NULL, "loss", 2, false);
    cr_expect_eq(positional(loss, 1)->items.len, 2, "a list without a mapping is one value");
}

Test(yaml, empty_train)
{
    AstNet *net = parse_ok("network: n\nlayers: [ReLU]\ntrain:\n");
    cr_expect(net->has_train);
    cr_expect_eq(net->train.len, 0);
}

Test(yaml, scalar_values)
{
    AstNet *net = parse_ok("network: n\nlayers:\n"
                           "  - Linear: {a: 3, b: -1, c: 1e-3, d: .5, e: 99999999999999999999,\n"
                           "             f: yes, g: x.y, h: data/set, i: 'q', j: \"7\",\n"
                           "             k: [1, [2, 3]], l: 3x5, m: a-b, n: null}\n");
    AstStmt *s = stmt(&net->body, 0);
    expect_int(keyed(s, 0, "a"), 3, "a");
    expect_int(keyed(s, 1, "b"), -1, "b");
    expect_float(keyed(s, 2, "c"), 1e-3, "c");
    cr_expect_str_eq(keyed(s, 2, "c")->s, "1e-3", "a number keeps its text");
    expect_float(keyed(s, 3, "d"), 0.5, "d");
    AstValue *big = keyed(s, 4, "e");
    cr_assert_eq(big->kind, VAL_INT);
    cr_expect(big->overflow, "huge integer not flagged");
    cr_expect_str_eq(big->s, "99999999999999999999");
    expect_text(keyed(s, 5, "f"), VAL_IDENT, "yes", "f");
    expect_text(keyed(s, 6, "g"), VAL_IDENT, "x.y", "g");
    expect_text(keyed(s, 7, "h"), VAL_STRING, "data/set", "h");
    expect_text(keyed(s, 8, "i"), VAL_STRING, "q", "i");
    expect_text(keyed(s, 9, "j"), VAL_STRING, "7", "quoted number");
    AstValue *k = keyed(s, 10, "k");
    expect_int(item(k, 0), 1, "k[0]");
    expect_int(item(item(k, 1), 1), 3, "k[1][1]");
    AstValue *l = keyed(s, 11, "l");
    expect_int(item(l, 0), 3, "3x5[0]");
    expect_int(item(l, 1), 5, "3x5[1]");
    expect_text(keyed(s, 12, "m"), VAL_STRING, "a-b", "m");
    expect_text(keyed(s, 13, "n"), VAL_IDENT, "null", "n");
}

Test(yaml, aliases_share_values)
{
    AstNet *net = parse_ok("network: n\nlayers:\n"
                           "  - Conv2d: &c {out: 8, kernel: 3}\n"
                           "  - Conv2d: *c\n");
    expect_int(keyed(stmt(&net->body, 1), 0, "out"), 8, "aliased out");
}

Test(yaml, utf8_columns_are_bytes)
{
    parse("network: n\nlayers:\n  - Linear: {out: \"\xc3\xa9\xc3\xa9\", x: {a: 1}}\n");
    /* 'x' is the 30th byte but the 28th character of its line */
    expect_msg("t.yaml:3:30: error: expected a value for 'x', found a mapping");
}

/* ---- errors in the shape of the file ---- */

Test(yaml, layers_not_a_list)
{
    parse("network: n\nlayers: {a: 1}\n");
    expect_msg("t.yaml:2:9: error: 'layers' must be a list of layers, found a mapping");
    expect_errors(1);
}

Test(yaml, top_level_not_a_mapping)
{
    parse("- ReLU\n");
    expect_msg("t.yaml:1:1: error: the top level must be a mapping with 'network', 'input' and "
               "'layers', found a list");
}

Test(yaml, unknown_top_key_with_hint)
{
    parse("network: n\nlayer: [ReLU]\n");
    expect_msg("t.yaml:2:1: error: unknown top-level key 'layer' (expected 'network', 'input', "
               "'params', 'templates', 'include', 'layers' or 'train')");
    expect_msg("t.yaml:2:1: hint: did you mean 'layers'?");
    expect_msg("t.yaml:1:1: error: missing 'layers'");
    expect_errors(2);
}

Test(yaml, unknown_top_key_far_from_any)
{
    parse("network: n\nlayers: [ReLU]\nmodel: x\n");
    expect_msg("unknown top-level key 'model'");
    cr_expect_null(strstr(msgs, "did you mean"), "unexpected hint:\n%s", msgs);
}

Test(yaml, missing_network)
{
    AstNet *net = parse("input: [1, 2]\nlayers: [ReLU]\n");
    expect_msg("t.yaml:1:1: error: missing 'network': expected 'network: NAME' at the top level");
    expect_errors(1);
    cr_expect_eq(net->body.len, 1, "the layers are still read");
}

Test(yaml, bad_network_name)
{
    parse("network: my net\nlayers: [ReLU]\n");
    expect_msg("t.yaml:1:10: error: the network's name must be an identifier, found 'my net'");
}

Test(yaml, duplicate_key_with_note)
{
    parse("network: n\nlayers: [ReLU]\nnetwork: m\n");
    expect_msg("t.yaml:3:1: error: duplicate key 'network'");
    expect_msg("t.yaml:1:1: note: 'network' first appears here");
    expect_errors(1);
}

Test(yaml, duplicate_argument)
{
    AstNet *net = parse("network: n\nlayers:\n  - Linear: {out: 1, out: 2}\n");
    expect_msg("t.yaml:3:22: error: duplicate key 'out'");
    cr_expect_eq(stmt(&net->body, 0)->args.len, 1, "the duplicate is left out");
}

Test(yaml, bad_input)
{
    parse("network: n\ninput: [1, a, 2]\nlayers: [ReLU]\n");
    expect_msg(
        "t.yaml:2:12: error: 'input' must be a shape like [1, 28, 28] or 1x28x28, found 'a'");
    parse("network: n\ninput: {c: 1}\nlayers: [ReLU]\n");
    expect_msg("'input' must be a shape like [1, 28, 28] or 1x28x28, found a mapping");
}

Test(yaml, train_not_a_mapping)
{
    parse("network: n\nlayers: [ReLU]\ntrain: [1]\n");
    expect_msg("t.yaml:3:8: error: 'train' must be a mapping of settings, found a list");
}

/* ---- errors in layers and values ---- */

Test(yaml, layer_with_several_keys)
{
    parse("network: n\nlayers:\n  - Conv2d:\n    out: 8\n    kernel: 3\n");
    expect_msg("t.yaml:3:5: error: a layer entry has one key (the layer kind or a name), found 3 "
               "keys");
    expect_msg("t.yaml:3:5: hint: indent the arguments under 'Conv2d:'");
}

Test(yaml, value_is_a_mapping)
{
    /* a mapping in a list gives keyed arguments where it stands, as the .net form reads
     * `MaxPool2d kernel=2 1` (the 1 then takes the stride) */
    AstNet *net =
        parse_ok("network: n\nlayers:\n  - MaxPool2d: [{kernel: 2, padding: 1}, 1, k3]\n");
    const AstStmt *s = stmt(&net->body, 0);
    cr_assert_eq(s->args.len, 4);
    cr_expect_str_eq(arg(s, 0)->key, "kernel");
    cr_expect_str_eq(arg(s, 1)->key, "padding");
    cr_expect_null(arg(s, 2)->key);
    cr_expect_eq(arg(s, 2)->val->i, 1);
    cr_expect_null(arg(s, 3)->key);
    parse("network: n\nlayers:\n  - Linear: {out: }\n");
    expect_msg("t.yaml:3:14: error: expected a value for 'out', found nothing");
}

Test(yaml, bad_layer_items_keep_going)
{
    AstNet *net = parse("network: n\n"
                        "layers:\n"
                        "  - \n"
                        "  - [ReLU]\n"
                        "  - {}\n"
                        "  - Conv2d 1->8 k3\n"
                        "  - bad name: ReLU\n"
                        "  - Flatten\n"
                        "  - Linear: {kernel size: 3, out: 10}\n");
    expect_msg("t.yaml:3:4: error: expected a layer, found nothing");
    expect_msg("t.yaml:4:5: error: expected a layer, found a list");
    expect_msg("hint: a group needs a name: '- block1: [...]'");
    expect_msg("t.yaml:5:5: error: expected a layer, found an empty mapping");
    expect_msg("t.yaml:6:5: error: expected a layer kind or name, found 'Conv2d 1->8 k3'");
    expect_msg("t.yaml:6:5: hint: give a layer's arguments as a mapping");
    expect_msg("t.yaml:7:5: error: expected a layer kind or name, found 'bad name'");
    expect_msg("t.yaml:9:14: error: expected an argument name, found 'kernel size'");
    expect_errors(6);
    cr_assert_eq(net->body.len, 2, "the good layers are kept");
    expect_head(stmt(&net->body, 0), NULL, "Flatten", 0, false);
    expect_head(stmt(&net->body, 1), NULL, "Linear", 1, false);
}

Test(yaml, stops_at_max_errors)
{
    char text[4096] = "network: n\nlayers:\n";
    for (int i = 0; i < 40; i++)
        strcat(text, "  - [x]\n");
    parse(text);
    expect_errors(diag.max_errors);
    expect_msg("too many errors");
}

/* ---- YAML's own errors ---- */

Test(yaml, tabs)
{
    parse("network: n\nlayers:\n\t- ReLU\n");
    expect_msg("t.yaml:3:1: error: tab characters cannot indent YAML");
    expect_msg("t.yaml:3:1: hint: indent with spaces");
    parse("network: n\nlayers:\n  - ReLU\n\t- Tanh\n");
    expect_msg("t.yaml:4:1: error: tab characters cannot indent YAML");
}

Test(yaml, undefined_alias)
{
    parse("network: n\nlayers: *x\n");
    expect_msg("t.yaml:2:9: error: anchor '*x' is not defined");
    parse("network: n\nlayers: *l\nextra: &l [ReLU]\n");
    expect_msg("t.yaml:3:8: note: '&l' is defined here, after its use: an anchor must come first");
}

Test(yaml, duplicate_anchor)
{
    parse("network: n\nlayers:\n  - Dropout: &p 0.1\n  - Dropout: &p 0.2\n");
    expect_msg("t.yaml:4:14: error: anchor '&p' is defined twice");
    expect_msg("t.yaml:3:14: note: first defined here");
}

Test(yaml, syntax_error)
{
    parse("network: n\nlayers: [ReLU\n");
    expect_msg("t.yaml:3:1: error: invalid YAML: did not find expected ',' or ']' while parsing "
               "a flow sequence");
    expect_msg("t.yaml:2:9: note: the flow sequence starts here");
    expect_errors(1);
}

Test(yaml, mapping_values_not_allowed)
{
    parse("network: n\nlayers:\n  - Conv2d: in: 1\n");
    expect_msg("t.yaml:3:15: error: invalid YAML: mapping values are not allowed in this context");
}

Test(yaml, empty_file)
{
    parse("");
    expect_msg("t.yaml:1:1: error: empty file: expected a network");
    parse("# only a comment\n");
    expect_errors(2);
}

Test(yaml, second_document)
{
    AstNet *net = parse("network: n\nlayers: [ReLU]\n---\nnetwork: m\n");
    expect_msg("t.yaml:3:1: error: a net file holds one YAML document, found a second one");
    expect_errors(1);
    cr_expect_str_eq(net->name, "n", "the first document is still read");
}

Test(yaml, nul_byte)
{
    static const char text[] = "network: n\0\nlayers: [ReLU]\n";
    parse_bytes(text, sizeof text - 1);
    expect_msg("t.yaml:1:11: error: not a text file: found control character 0x00");
    expect_errors(1);
}

Test(yaml, invalid_utf8)
{
    parse("network: n\nlayers: [\xff]\n");
    expect_msg("t.yaml:2:10: error: not a UTF-8 text file: found byte 0xff");
}

Test(yaml, binary_garbage_never_crashes)
{
    /* random bytes, and the seed with random bytes changed: each must return an AstNet */
    uint32_t x = 12345;
    char buf[512];
    for (int round = 0; round < 300; round++) {
        size_t n;
        if (round % 2) {
            n = sizeof seed - 1;
            memcpy(buf, seed, n);
            for (int k = 0; k < 4; k++) {
                x = x * 1664525u + 1013904223u;
                buf[(x >> 8) % n] = (char)(x >> 24);
            }
        } else {
            n = 1 + round % (sizeof buf - 1);
            for (size_t i = 0; i < n; i++) {
                x = x * 1664525u + 1013904223u;
                buf[i] = (char)(x >> 24);
            }
        }
        diag.errors = 0;
        AstNet *net = parse_bytes(buf, n);
        cr_assert(net);
    }
}

Test(yaml, nesting_too_deep)
{
    char text[8192] = "network: n\nlayers:\n  - Linear: {out: ";
    for (int i = 0; i < 101; i++)
        strcat(text, "[");
    strcat(text, "1");
    for (int i = 0; i < 101; i++)
        strcat(text, "]");
    strcat(text, "}\n");
    parse(text);
    expect_msg("error: nesting deeper than 100 levels");
    expect_errors(1);
}

Test(yaml, nesting_at_the_limit)
{
    char text[8192] = "network: n\nlayers:\n  - Linear: {out: ";
    for (int i = 0; i < 100; i++)
        strcat(text, "[");
    strcat(text, "1");
    for (int i = 0; i < 100; i++)
        strcat(text, "]");
    strcat(text, "}\n");
    parse_ok(text);
}

Test(yaml, groups_too_deep)
{
    static char text[200000];
    strcpy(text, "network: n\nlayers:\n");
    size_t len = strlen(text);
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%*s- g%d:\n", 2 + 4 * i, "", i);
    snprintf(text + len, sizeof text - len, "%*s- ReLU\n", 2 + 4 * 150, "");
    parse(text);
    /* the bodies of g0..g99 are levels 1..100; g100's body is too deep */
    expect_msg("t.yaml:104:");
    expect_msg("error: nesting deeper than 100 levels");
    expect_errors(1);
}

Test(yaml, hopeless_nesting_stops_early)
{
    size_t n = 1000000;
    char *text = malloc(n + 32);
    cr_assert(text);
    strcpy(text, "network: n\nlayers: ");
    size_t len = strlen(text);
    memset(text + len, '[', n);
    text[len + n] = 0;
    parse(text);
    free(text);
    expect_msg("error: nesting deeper than 100 levels");
    expect_errors(1);
}

Test(yaml, alias_cycle)
{
    parse("network: n\nlayers: &l\n  - ReLU\n  - g: *l\n");
    expect_msg("t.yaml:4:8: error: alias '*l' is used inside its own anchor '&l'");
    parse("network: n\nlayers:\n  - Linear: &k {out: [1, *k]}\n");
    expect_msg("t.yaml:3:26: error: alias '*k' is used inside its own anchor '&k'");
}

Test(yaml, alias_bomb)
{
    char text[4096] = "network: n\nlayers:\n  - Linear:\n      a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, "
                      "1, 1]\n";
    for (int i = 1; i < 9; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "      a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                 i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        strcat(text, line);
    }
    parse(text);
    expect_msg("error: aliases expand to more than 100000 extra nodes");
    expect_errors(1);
}

/* YAML's merge key, as PyYAML reads it: the keys written win, then the earlier merged
 * mapping; merged values keep the locations where they were written. */
Test(yaml, merge_keys)
{
    AstNet *net = parse_ok("network: n\nlayers:\n"
                           "  - Conv2d: &c {out: 8, kernel: 3, stride: 1}\n"
                           "  - Conv2d: {<<: *c, out: 16}\n"
                           "  - Conv2d: {<<: [{stride: 2}, *c], kernel: 5}\n");
    AstStmt *s1 = stmt(&net->body, 1), *s2 = stmt(&net->body, 2);
    expect_int(keyed(s1, 0, "out"), 16, "written out");
    expect_int(keyed(s1, 1, "kernel"), 3, "merged kernel");
    expect_int(keyed(s1, 2, "stride"), 1, "merged stride");
    expect_loc(arg(s1, 1)->key_loc, 3, 25, 6, "merged key at its anchor");
    expect_int(keyed(s2, 0, "kernel"), 5, "written kernel");
    expect_int(keyed(s2, 1, "stride"), 2, "first merged mapping's stride");
    expect_int(keyed(s2, 2, "out"), 8, "second merged mapping's out");
    cr_expect_eq(s2->args.len, 3, "a key merged twice is taken once");
    /* a quoted "<<" is an ordinary key, which no argument is named */
    parse("network: n\nlayers:\n  - Linear: {\"<<\": 1}\n");
    expect_msg("t.yaml:3:14: error: expected an argument name, found '<<'");
}

Test(yaml, merge_errors)
{
    parse("network: n\nlayers:\n  - Linear: {<<: 3}\n");
    expect_msg("t.yaml:3:18: error: the merge key '<<' takes a mapping");
    parse("network: n\nlayers:\n  - Linear: &s {<<: *s}\n");
    expect_msg("t.yaml:3:17: error: the merge key '<<' merges a mapping into itself");
    parse("network: n\nlayers:\n  - Linear: &b {<<: *c}\n  - Linear: &c {<<: *b}\n");
    expect_msg("t.yaml:3:21: error: anchor '*c' is not defined");
}

/* Each mapping merges the one before and adds a key: 700 of them copy 244,650 keys, which
 * the node budget stops early. */
Test(yaml, merge_bomb)
{
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    cr_assert(text);
    len += (size_t)snprintf(text, cap, "network: n\nlayers:\n  - Linear:\n      k0: &a0 {k0: 1}\n");
    for (int i = 1; i < 700; i++)
        len += (size_t)snprintf(text + len, cap - len, "      x%d: &a%d {<<: *a%d, k%d: 1}\n", i, i,
                                i - 1, i);
    cr_assert(len < cap);
    parse(text);
    free(text);
    expect_msg("error: too many keys merged by '<<' (more than 100000)");
    expect_errors(1);
}

Test(yaml, positional_then_keyed_in_one_list)
{
    AstNet *net = parse_ok("network: n\nlayers:\n  - Conv2d: [32, k3, {stride: 2, bias: false}]\n");
    AstStmt *s = stmt(&net->body, 0);
    cr_assert_eq(s->args.len, 4);
    const AstArg *a0 = s->args.items[0], *a1 = s->args.items[1], *a2 = s->args.items[2],
                 *a3 = s->args.items[3];
    cr_assert(!a0->key && a0->val->kind == VAL_INT && a0->val->i == 32);
    cr_assert(!a1->key && a1->val->kind == VAL_IDENT && !strcmp(a1->val->s, "k3"));
    cr_assert(a2->key && !strcmp(a2->key, "stride") && a2->val->i == 2);
    cr_assert(a3->key && !strcmp(a3->key, "bias") && !strcmp(a3->val->s, "false"));
}
