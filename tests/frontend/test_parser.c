/* test_parser.c: Criterion tests of the .net lexer and parser through parse_net on strings
 * (src_from_string): statements, labels, arguments, arrows, lists, numbers, comments,
 * separators, wrapped lines, locations, error messages and recovery; and that short forms
 * and arrows reach lowering with the meaning the docs give them.
 *
 * Design choice: each test parses a small text and checks the AST by walking it, so a
 * failure names the statement, the argument and what was found instead. Diagnostics are
 * captured in memory (open_memstream) and checked by substring. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "capture.h"

TestSuite(parser, .init = capture_setup, .fini = capture_teardown);

/* Parses text; the diagnostics so far are in msgs. */
static AstNet *parse(const char *text)
{
    AstNet *net = parse_net(arena, src_from_string(arena, "t.net", text), &diag);
    fflush(mem);
    return net;
}

/* Parses text that must have no errors. */
static AstNet *parse_ok(const char *text)
{
    AstNet *net = parse(text);
    cr_assert_eq(diag.errors, 0, "unexpected errors for:\n%s\n---\n%s", text, msgs);
    return net;
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

static void expect_loc(SrcLoc l, int line, int col, int len, const char *what)
{
    cr_expect(l.line == line && l.col == col && l.len == len,
              "%s: location %d:%d len %d, want %d:%d len %d", what, l.line, l.col, l.len, line, col,
              len);
}

static void expect_int(const AstValue *v, int64_t want, const char *what)
{
    cr_assert_eq(v->kind, VAL_INT, "%s: kind %d, want VAL_INT", what, v->kind);
    cr_expect_eq(v->i, want, "%s: %lld, want %lld", what, (long long)v->i, (long long)want);
}

static void expect_msg(const char *want)
{
    cr_expect(msgs && strstr(msgs, want), "diagnostics lack \"%s\"; got:\n%s", want,
              msgs ? msgs : "(nothing)");
}

/* ---- statements ---- */

Test(parser, network_header_and_statements)
{
    AstNet *n = parse_ok("network mnist (input 1x28x28) {\n"
                         "  Conv2d 1->32 k3\n"
                         "  ReLU\n"
                         "  Flatten\n"
                         "}\n");
    cr_assert_str_eq(n->name, "mnist");
    cr_assert_eq(n->header.len, 1);
    AstArg *in = n->header.items[0];
    cr_expect_str_eq(in->key, "input");
    cr_assert_eq(in->val->kind, VAL_LIST);
    cr_assert_eq(in->val->items.len, 3, "1x28x28 has %d items", in->val->items.len);
    expect_int(in->val->items.items[0], 1, "input C");
    expect_int(in->val->items.items[2], 28, "input W");
    cr_assert_eq(n->body.len, 3, "%d statements, want 3", n->body.len);
    const char *heads[] = {"Conv2d", "ReLU", "Flatten"};
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(stmt(&n->body, i)->head, heads[i], "statement %d", i);
        cr_expect_null(stmt(&n->body, i)->label, "statement %d has a label", i);
        cr_expect(!stmt(&n->body, i)->has_block, "statement %d has a block", i);
    }
    cr_expect(!n->has_train);
}

Test(parser, labels_and_groups)
{
    AstNet *n = parse_ok("network x (input 4) {\n"
                         "  fc: Linear 10\n"
                         "  block1 {\n"
                         "    act: ReLU\n"
                         "    Linear 3\n"
                         "  }\n"
                         "  empty { }\n"
                         "}\n");
    cr_assert_eq(n->body.len, 3);
    AstStmt *fc = stmt(&n->body, 0);
    cr_expect_str_eq(fc->label, "fc");
    cr_expect_str_eq(fc->head, "Linear");
    AstStmt *g = stmt(&n->body, 1);
    cr_expect(g->has_block);
    cr_expect_str_eq(g->head, "block1");
    cr_assert_eq(g->body.len, 2, "block1 has %d statements, want 2", g->body.len);
    cr_expect_str_eq(stmt(&g->body, 0)->label, "act");
    cr_expect_str_eq(stmt(&g->body, 1)->head, "Linear");
    AstStmt *e = stmt(&n->body, 2);
    cr_expect(e->has_block);
    cr_expect_eq(e->body.len, 0);
}

Test(parser, positional_and_keyed_args)
{
    AstNet *n = parse_ok("network x (input 4) {\n"
                         "  Conv2d 32 k3 stride=2 init=xavier_uniform path=\"a b\" p=0.5\n"
                         "}\n");
    AstStmt *s = stmt(&n->body, 0);
    cr_assert_eq(s->args.len, 6, "%d args, want 6", s->args.len);
    cr_expect_null(arg(s, 0)->key);
    expect_int(arg(s, 0)->val, 32, "32");
    cr_expect_null(arg(s, 1)->key);
    cr_expect_eq(arg(s, 1)->val->kind, VAL_IDENT, "k3 is a name to the parser");
    cr_expect_str_eq(arg(s, 1)->val->s, "k3");
    cr_expect_str_eq(arg(s, 2)->key, "stride");
    expect_int(arg(s, 2)->val, 2, "stride");
    cr_expect_str_eq(arg(s, 3)->key, "init");
    cr_expect_eq(arg(s, 3)->val->kind, VAL_IDENT);
    cr_expect_str_eq(arg(s, 4)->val->s, "a b");
    cr_expect_eq(arg(s, 4)->val->kind, VAL_STRING);
    cr_expect_eq(arg(s, 5)->val->kind, VAL_FLOAT);
    cr_expect_float_eq(arg(s, 5)->val->f, 0.5, 1e-12);
}

Test(parser, arrows)
{
    AstNet *n = parse_ok("network x (input 4) {\n"
                         "  Linear 4->8\n"
                         "  Linear ->2\n"
                         "  Linear 2 -> 3 bias=false\n"
                         "}\n");
    AstStmt *a = stmt(&n->body, 0);
    cr_assert_eq(a->args.len, 2, "'4->8' gives %d args, want in and out", a->args.len);
    cr_expect_str_eq(arg(a, 0)->key, "in");
    cr_expect_str_eq(arg(a, 1)->key, "out");
    cr_expect(arg(a, 0)->from_arrow && arg(a, 1)->from_arrow);
    expect_int(arg(a, 0)->val, 4, "in");
    expect_int(arg(a, 1)->val, 8, "out");
    expect_loc(arg(a, 0)->loc, 2, 10, 4, "the pair '4->8'");
    AstStmt *b = stmt(&n->body, 1);
    cr_assert_eq(b->args.len, 1, "'->2' gives %d args, want out only", b->args.len);
    cr_expect_str_eq(arg(b, 0)->key, "out");
    cr_expect(arg(b, 0)->from_arrow);
    AstStmt *c = stmt(&n->body, 2);
    cr_assert_eq(c->args.len, 3, "'2 -> 3 bias=false' gives %d args", c->args.len);
    cr_expect_str_eq(arg(c, 0)->key, "in");
    cr_expect_str_eq(arg(c, 2)->key, "bias");
}

Test(parser, lists)
{
    AstNet *n = parse_ok("network x (input 4) {\n"
                         "  L a=[1, 2, 3] b=(3, 5) c=[] d=[[1, 2], [3]] e=3x5 f=[0.9, -1e-3]\n"
                         "}\n");
    AstStmt *s = stmt(&n->body, 0);
    cr_assert_eq(s->args.len, 6);
    int want_len[] = {3, 2, 0, 2, 2, 2};
    for (int i = 0; i < 6; i++) {
        const AstValue *v = arg(s, i)->val;
        cr_assert_eq(v->kind, VAL_LIST, "arg %s is kind %d, want a list", arg(s, i)->key, v->kind);
        cr_expect_eq(v->items.len, want_len[i], "arg %s has %d items, want %d", arg(s, i)->key,
                     v->items.len, want_len[i]);
    }
    const AstValue *d = arg(s, 3)->val;
    cr_expect_eq(((AstValue *)d->items.items[0])->kind, VAL_LIST, "nested list");
    expect_int(arg(s, 4)->val->items.items[1], 5, "3x5's second item");
    const AstValue *f1 = arg(s, 5)->val->items.items[1];
    cr_expect_eq(f1->kind, VAL_FLOAT);
    cr_expect_float_eq(f1->f, -1e-3, 1e-15);
}

Test(parser, numbers)
{
    AstNet *n = parse_ok("network x (input 4) {\n"
                         "  L 0 -3 1e-3 .5 3. 2.5e2 - 7 99999999999999999999 007\n"
                         "}\n");
    AstStmt *s = stmt(&n->body, 0);
    cr_assert_eq(s->args.len, 9, "%d args, want 9", s->args.len);
    expect_int(arg(s, 0)->val, 0, "0");
    expect_int(arg(s, 1)->val, -3, "-3");
    cr_expect_str_eq(arg(s, 1)->val->s, "-3");
    expect_loc(arg(s, 1)->val->loc, 2, 7, 2, "'-3'");
    double fl[] = {1e-3, 0.5, 3.0, 250.0};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(arg(s, 2 + i)->val->kind, VAL_FLOAT, "arg %d is not a float", 2 + i);
        cr_expect_float_eq(arg(s, 2 + i)->val->f, fl[i], 1e-12, "arg %d: %g, want %g", 2 + i,
                           arg(s, 2 + i)->val->f, fl[i]);
    }
    expect_int(arg(s, 6)->val, -7, "'- 7'");
    cr_expect(arg(s, 7)->val->overflow, "20 digits must be flagged as overflow");
    cr_expect(!arg(s, 6)->val->overflow);
    expect_int(arg(s, 8)->val, 7, "007");
}

Test(parser, strings_with_escapes)
{
    AstNet *n = parse_ok("network x (input 4) {\n  L \"a\\\"b\\\\c\\n\"\n}\n");
    cr_expect_str_eq(arg(stmt(&n->body, 0), 0)->val->s, "a\"b\\c\n");
}

Test(parser, comments_and_separators)
{
    AstNet *n = parse_ok("# a comment before\n"
                         "network x (input 4) { # after the brace\n"
                         "  Linear 8; ReLU ;Linear 4   # three statements\n"
                         "  ;;\n"
                         "\n"
                         "  # a comment line\n"
                         "  Sigmoid; }\n"
                         "train { batch 2; epochs 3 }  # no newline at the end");
    cr_assert_eq(n->body.len, 4, "%d statements, want 4", n->body.len);
    cr_expect_str_eq(stmt(&n->body, 1)->head, "ReLU");
    cr_expect_str_eq(stmt(&n->body, 2)->head, "Linear");
    cr_expect_str_eq(stmt(&n->body, 3)->head, "Sigmoid");
    cr_assert(n->has_train);
    cr_assert_eq(n->train.len, 2);
    cr_expect_str_eq(stmt(&n->train, 1)->head, "epochs");
}

Test(parser, wrapped_lines_inside_brackets)
{
    AstNet *n = parse_ok("network x (\n"
                         "    input 1x28x28\n"
                         ") {\n"
                         "  Conv2d 8 kernel=[3,\n"
                         "                  5] padding=(\n"
                         "    1, 2)\n"
                         "  ReLU\n"
                         "}\n");
    cr_assert_eq(n->body.len, 2, "wrapped statement split: %d statements", n->body.len);
    AstStmt *s = stmt(&n->body, 0);
    cr_assert_eq(s->args.len, 3);
    cr_expect_eq(arg(s, 1)->val->items.len, 2);
    cr_expect_eq(arg(s, 2)->val->items.len, 2);
    expect_loc(arg(s, 1)->val->loc, 4, 19, 1, "a list over two lines marks its first line");
}

Test(parser, crlf_and_tabs)
{
    AstNet *n = parse_ok("network x (input 4) {\r\n\tLinear 8\r\n\tReLU\r\n}\r\n");
    cr_assert_eq(n->body.len, 2);
    expect_loc(stmt(&n->body, 0)->head_loc, 2, 2, 6, "'Linear' after a tab");
}

Test(parser, locations)
{
    AstNet *n = parse_ok("network mnist (input 1x28x28) {\n"
                         "  layer1 {\n"
                         "    Conv2d 1->32 k3 s1 p1\n"
                         "  }\n"
                         "  fc: Linear 10 init=xavier_uniform\n"
                         "}\n");
    expect_loc(n->name_loc, 1, 9, 5, "network name");
    expect_loc(((AstArg *)n->header.items[0])->loc, 1, 16, 13, "'input 1x28x28'");
    AstStmt *g = stmt(&n->body, 0);
    expect_loc(g->head_loc, 2, 3, 6, "group name");
    AstStmt *c = stmt(&g->body, 0);
    expect_loc(c->head_loc, 3, 5, 6, "'Conv2d'");
    expect_loc(c->loc, 3, 5, 21, "the Conv2d statement");
    expect_loc(arg(c, 2)->loc, 3, 18, 2, "'k3'");
    AstStmt *fc = stmt(&n->body, 1);
    expect_loc(fc->label_loc, 5, 3, 2, "label 'fc'");
    expect_loc(fc->head_loc, 5, 7, 6, "'Linear'");
    expect_loc(fc->loc, 5, 3, 33, "the labelled statement");
    expect_loc(arg(fc, 1)->key_loc, 5, 17, 4, "key 'init'");
    expect_loc(arg(fc, 1)->loc, 5, 17, 19, "'init=xavier_uniform'");
    expect_loc(arg(fc, 1)->val->loc, 5, 22, 14, "'xavier_uniform'");
}

Test(parser, train_section)
{
    AstNet *n = parse_ok("network x (input 4) { Linear 2 }\n"
                         "train {\n"
                         "  data idx \"data/mnist-mini\"\n"
                         "  optimizer SGD lr=0.1 momentum=0.9\n"
                         "}\n");
    cr_assert(n->has_train);
    expect_loc(n->train_loc, 2, 1, 5, "'train'");
    cr_assert_eq(n->train.len, 2);
    AstStmt *d = stmt(&n->train, 0);
    cr_expect_str_eq(d->head, "data");
    cr_expect_str_eq(arg(d, 1)->val->s, "data/mnist-mini");
    cr_expect_eq(stmt(&n->train, 1)->args.len, 3);
}

Test(parser, train_before_network)
{
    AstNet *n = parse_ok("train { epochs 1 }\nnetwork x (input 4) { Linear 2 }\n");
    cr_expect(n->has_train);
    cr_expect_str_eq(n->name, "x");
}

/* ---- short forms and arrows reach lowering ---- */

static Graph *lower_ok(const char *text)
{
    Graph *g = frontend_load_file(arena, src_from_string(arena, "t.net", text), &diag);
    fflush(mem);
    cr_assert(g && diag.errors == 0, "errors for:\n%s\n---\n%s", text, msgs);
    return g;
}

static const AttrVal *attr(const Node *n, const char *name)
{
    int i = ir_attr_index(n->ops, name);
    cr_assert_geq(i, 0, "'%s' has no attribute '%s'", n->ops->name, name);
    return &n->attrs[i];
}

Test(parser, short_forms_reach_lowering)
{
    Graph *g = lower_ok("network x (input 3x32x32) {\n"
                        "  Conv2d 1 k3x5 s2 p1 d2\n"
                        "  MaxPool2d k2 s1\n"
                        "  conv2d 1->4 k1\n" /* kinds are case-insensitive */
                        "}\n");
    const Node *c = GRAPH_NODE(g, 0);
    const AttrVal *k = attr(c, "kernel");
    cr_expect(k->set && k->n == 2 && k->i[0] == 3 && k->i[1] == 5,
              "k3x5 -> kernel [%lld, %lld] n=%d", (long long)k->i[0], (long long)k->i[1], k->n);
    cr_expect_eq(attr(c, "stride")->i[0], 2);
    cr_expect_eq(attr(c, "padding")->i[0], 1);
    cr_expect_eq(attr(c, "dilation")->i[0], 2);
    cr_expect_eq(attr(c, "out")->i[0], 1, "positional 1 is out");
    const Node *p = GRAPH_NODE(g, 1);
    cr_expect_eq(attr(p, "kernel")->i[0], 2);
    cr_expect_eq(attr(p, "stride")->i[0], 1);
    const Node *c2 = GRAPH_NODE(g, 2);
    cr_expect_str_eq(c2->ops->name, "Conv2d");
    cr_expect(attr(c2, "in")->set && attr(c2, "in")->i[0] == 1, "1-> sets in");
    cr_expect_eq(attr(c2, "out")->i[0], 4);
}

/* A pair attribute holds both values however it is written (i[0] and i[1]), and keeps how
 * many were written (n), so the writers print `kernel=3` back. */
Test(parser, pair_attributes_hold_both_values)
{
    Graph *g = lower_ok("network x (input 3x32x32) {\n"
                        "  Conv2d 4 k3 stride=[2, 1] padding=(1) dilation=2\n"
                        "  MaxPool2d 2x3\n" /* stride: the kernel, both values */
                        "  MaxPool2d 2\n"
                        "}\n");
    static const struct {
        int node;
        const char *attr;
        int n;
        int64_t i0, i1;
    } want[] = {
        {0, "kernel", 1, 3, 3},   {0, "stride", 2, 2, 1}, {0, "padding", 1, 1, 1},
        {0, "dilation", 1, 2, 2}, {1, "kernel", 2, 2, 3}, {1, "stride", 2, 2, 3},
        {1, "padding", 1, 0, 0},  {2, "kernel", 1, 2, 2}, {2, "stride", 1, 2, 2},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const AttrVal *v = attr(GRAPH_NODE(g, want[k].node), want[k].attr);
        cr_expect(v->n == want[k].n && v->i[0] == want[k].i0 && v->i[1] == want[k].i1,
                  "node %d %s: n=%d [%lld, %lld], want n=%d [%lld, %lld]", want[k].node,
                  want[k].attr, v->n, (long long)v->i[0], (long long)v->i[1], want[k].n,
                  (long long)want[k].i0, (long long)want[k].i1);
    }
    /* and every default of every kind's pair attributes */
    for (int k = 0; k < LAYER__COUNT; k++)
        for (int i = 0; i < ir_layers[k]->nattrs; i++) {
            const AttrSpec *s = &ir_layers[k]->attrs[i];
            AttrVal v;
            if (attr_is_pair(s) && s->def && attr_parse_default(s, &v))
                cr_expect(v.n == 1 && v.i[0] == v.i[1], "%s.%s default: n=%d [%lld, %lld]",
                          ir_layers[k]->name, s->name, v.n, (long long)v.i[0], (long long)v.i[1]);
        }
}

/* A list of fixed length takes exactly that many values: a scalar counts as one. */
Test(parser, fixed_length_list_rejects_a_scalar)
{
    frontend_load_file(arena,
                       src_from_string(arena, "t.net",
                                       "network x (input 4) {\n  Linear 2\n}\n"
                                       "train {\n  optimizer Adam betas=0.9\n}\n"),
                       &diag);
    fflush(mem);
    expect_msg("t.net:5:24: error: 'betas' takes 2 values, got 1");
}

Test(parser, positional_order)
{
    Graph *g = lower_ok("network x (input 3x9x9) {\n"
                        "  MaxPool2d 3 2\n"     /* kernel, stride */
                        "  Conv2d kernel=1 8\n" /* 8 fills out, the first free slot */
                        "  LeakyReLU 0.2\n"
                        "  Flatten\n"
                        "  Dropout 0.25\n"
                        "}\n");
    cr_expect_eq(attr(GRAPH_NODE(g, 0), "stride")->i[0], 2);
    cr_expect_eq(attr(GRAPH_NODE(g, 1), "out")->i[0], 8);
    cr_expect_float_eq(attr(GRAPH_NODE(g, 2), "negative_slope")->f[0], 0.2, 1e-12);
    cr_expect_float_eq(attr(GRAPH_NODE(g, 4), "p")->f[0], 0.25, 1e-12);
}

/* ---- errors and recovery ---- */

/* Loads text as a file called name (the suffix picks the front end); true if the messages
 * include want and none of the messages a bare name used to get instead. */
static bool says_needs_value(const char *name, const char *text, const char *want)
{
    capture_reset();
    frontend_load_file(arena, src_from_string(arena, name, text), &diag);
    fflush(mem);
    return strstr(msgs, want) && !strstr(msgs, "one too many") && !strstr(msgs, "must be");
}

/* Every attribute of every layer kind written bare, in both formats, is reported as an
 * attribute without its value (issue 9: `Conv2d 8 k3 stride` said "one too many", and a
 * bare name that fit a positional slot was read as that slot's value). */
Test(parser, every_bare_attribute_needs_a_value)
{
    for (int k = 0; k < LAYER__COUNT; k++) {
        const LayerOps *ops = ir_layers[k];
        for (int i = 0; i < ops->nattrs; i++) {
            const char *a = ops->attrs[i].name;
            char want[128], net[256], yaml[256];
            snprintf(want, sizeof want, "error: '%s': '%s' needs a value", ops->name, a);
            snprintf(net, sizeof net, "network x (input 1x8x8) {\n  %s %s\n}\n", ops->name, a);
            snprintf(yaml, sizeof yaml, "network: x\ninput: [1, 8, 8]\nlayers:\n  - %s: [%s]\n",
                     ops->name, a);
            cr_expect(says_needs_value("t.net", net, want), "%s\nwant \"%s\", got:\n%s", net, want,
                      msgs);
            cr_expect(says_needs_value("t.yaml", yaml, want), "%s\nwant \"%s\", got:\n%s", yaml,
                      want, msgs);
        }
    }
}

Test(parser, every_broken_line_is_reported)
{
    AstNet *n = parse("network x (input 4) {\n"
                      "  Linear 8 stride=\n"
                      "  ReLU\n"
                      "  Linear ]\n"
                      "  Sigmoid\n"
                      "}\n");
    cr_expect_eq(diag.errors, 2, "%d errors, want 2:\n%s", diag.errors, msgs);
    expect_msg("t.net:2:19: error: expected a value, found end of line");
    expect_msg("t.net:4:10: error: expected end of line, ';' or '}', found ']'");
    cr_expect_eq(n->body.len, 2, "the good statements survive: %d, want ReLU and Sigmoid",
                 n->body.len);
}

Test(parser, missing_brace)
{
    parse("network x (input 4) {\n  g {\n    Linear 2\n}\n");
    expect_msg("error: expected '}', found end of file");
    expect_msg("t.net:1:21: note: this '{' is not closed");
    expect_msg("t.net:4:1: note: this '}' closes the '{' on line 2");
}

Test(parser, missing_network_name)
{
    parse("network (input 4) {\n  Linear 2\n}\n");
    cr_expect_eq(diag.errors, 1, "one error, not a cascade:\n%s", msgs);
    expect_msg("t.net:1:9: error: expected the network's name after 'network', found '('");
}

Test(parser, lexical_errors)
{
    parse("network x (input 4) {\n  Linear 2 $\n  L \"open\n  Conv2d 8 3k\n}\n");
    expect_msg("t.net:2:12: error: unexpected character '$'");
    expect_msg("t.net:3:5: error: unterminated string");
    expect_msg("t.net:4:12: error: '3k' is not a number or a name");
    expect_msg("hint: a short form puts the letter first: 'k3'");
}

Test(parser, empty_and_no_network)
{
    parse("");
    expect_msg("t.net:1:1: error: empty file");
    fclose(mem);
    free(msgs);
    msgs = NULL;
    mem = open_memstream(&msgs, &msgs_len);
    diag_init(&diag, mem, "test");
    parse("# only a comment\n");
    expect_msg("error: no network in this file");
}

Test(parser, nesting_limit)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "network x (input 4) {\n");
    for (int i = 0; i < 500; i++)
        sb_puts(&sb, "g {\n");
    AstNet *n = parse(sb.data);
    sb_free(&sb);
    cr_expect_eq(diag.errors, 1, "one error for deep nesting:\n%s", msgs);
    char want[64];
    snprintf(want, sizeof want, "nesting deeper than %d levels", AST_MAX_DEPTH);
    expect_msg(want);
    (void)n;
}

/* An expression past bison's stack (10,000 states): said as such, not "memory exhausted". */
Test(parser, expression_nesting_limit)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "network x (input 4) {\n  Linear (");
    for (int i = 0; i < 20000; i++)
        sb_putc(&sb, '-');
    sb_puts(&sb, "1)\n}\n");
    parse(sb.data);
    sb_free(&sb);
    cr_expect_eq(diag.errors, 1, "one error:\n%s", msgs);
    expect_msg("an expression nested too deep here");
    cr_expect_null(strstr(msgs, "memory exhausted"), "%s", msgs);
}

Test(parser, second_network)
{
    AstNet *n = parse("network a (input 4) { Linear 2 }\nnetwork b (input 4) { Linear 2 }\n");
    expect_msg("t.net:2:1: error: a file holds one network; 'b' is the second");
    expect_msg("t.net:1:1: note: the first is 'a', here");
    cr_expect_str_eq(n->name, "a");
}

Test(parser, error_limit)
{
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "network x (input 4) {\n");
    for (int i = 0; i < 50; i++)
        sb_puts(&sb, "  Linear ]\n");
    sb_puts(&sb, "}\n");
    parse(sb.data);
    sb_free(&sb);
    expect_msg("too many errors (20), stopping");
    cr_expect(diag_full(&diag));
}

Test(parser, brace_on_the_next_line)
{
    AstNet *n = parse("network x (input 4)\n{\n  g\n\n  {\n    Linear 2\n  }\n}\n");
    cr_expect_eq(diag.errors, 2, "one error per misplaced '{':\n%s", msgs);
    expect_msg("t.net:2:1: error: a '{' must end the line of the statement it opens");
    expect_msg("t.net:5:3: error: a '{' must end the line of the statement it opens");
    expect_msg("hint: move it to the end of line 3");
    cr_assert_str_eq(n->name, "x", "the network still parses");
    cr_assert_eq(n->body.len, 1);
    cr_expect(stmt(&n->body, 0)->has_block, "'g' still gets its block");
}

/* A string survives both writers whatever it holds: newline, tab, quote, backslash, CR,
 * NEL and U+2028 (YAML folds line breaks inside quotes unless they are escaped). */
Test(parser, writers_escape_strings)
{
    const char *want = "a\nb\tc\"d\\e\rf\xc2\x85g\xe2\x80\xa8h\xc2\x9fi";
    /* a CR as \x0d: a raw one in a file ends its line, as an editor shows it */
    Graph *g = lower_ok(
        "network x (input 4) {\n  Linear 2\n}\n"
        "train {\n  data \"a\\nb\\tc\\\"d\\\\e\\x0df\xc2\x85g\xe2\x80\xa8h\xc2\x9fi\"\n}\n");
    cr_assert_str_eq(g->train.data_dir, want, "the .net reading");
    for (int yaml = 0; yaml < 2; yaml++) {
        StrBuf sb;
        sb_init(&sb);
        if (yaml)
            write_yaml(g, &sb);
        else
            write_net(g, &sb);
        Graph *back = frontend_load_file(
            arena, src_from_string(arena, yaml ? "w.yaml" : "w.net", sb.data), &diag);
        fflush(mem);
        cr_assert(back && diag.errors == 0, "%s writer output does not read back:\n%s\n---\n%s",
                  yaml ? "YAML" : ".net", sb.data, msgs);
        cr_expect_str_eq(back->train.data_dir, want, "%s writer changed the string:\n%s",
                         yaml ? "YAML" : ".net", sb.data);
        sb_free(&sb);
    }
}

/* The file check accepts UTF-8 exactly (RFC 3629): what it lets through, YAML reads too. */
Test(parser, utf8_check)
{
    static const char *const bad[] = {"\xc0\xaf",
                                      "\xe0\x94\x81",
                                      "\xed\xa0\x80",
                                      "\xf0\x8f\xbf\xbf",
                                      "\xf4\x90\x80\x80",
                                      "\xf5\x80\x80\x80",
                                      "\xff",
                                      "\x80",
                                      "\xe2\x82",
                                      "\x01",
                                      "\x7f"};
    static const char *const good[] = {"\xc2\xa9",         "\xe2\x82\xac",     "\xef\xbf\xbf",
                                       "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\t"};
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? good : bad;
        int n = pass ? 6 : 11;
        for (int i = 0; i < n; i++) {
            char text[128];
            snprintf(text, sizeof text, "network x (input 4) {\n  Linear 2 # %s\n}\n", list[i]);
            int before = diag.errors;
            frontend_load_file(arena, src_from_string(arena, "t.net", text), &diag);
            fflush(mem);
            unsigned char b0 = (unsigned char)list[i][0];
            if (pass)
                cr_expect_eq(diag.errors, before, "good sequence %d (0x%02x...) rejected:\n%s", i,
                             b0, msgs);
            else
                cr_expect_eq(diag.errors, before + 1, "bad sequence %d (0x%02x...) accepted", i,
                             b0);
        }
    }
}
