/* fuzz_common.h: the body both libFuzzer targets share. The bytes become a SrcFile with the
 * given name (the suffix picks the front end) and go through frontend_load_file with
 * diagnostics written to /dev/null. A net that loads cleanly must also survive the writers:
 * its .net and YAML forms, from its IR and (with parameters, repeats, templates) from its
 * syntax tree, must read back to the same IR dump, or the target aborts.
 * Everything is freed before returning, so leaks show up too. */
#ifndef NETC_FUZZ_COMMON_H
#define NETC_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static FILE *fuzz_devnull(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    if (!f)
        abort();
    return f;
}

/* Loads text as name; returns the graph only when it loaded and shaped without errors. */
static Graph *fuzz_load(Arena *a, const char *name, const char *text, size_t len)
{
    SrcFile *f = arena_alloc(a, sizeof *f);
    char *copy = arena_alloc(a, len + 1); /* NUL-terminated, NULs inside kept */
    memcpy(copy, text, len);
    f->name = name;
    f->text = copy;
    f->len = len;
    Diag d;
    diag_init(&d, fuzz_devnull(), "fuzz");
    /* 5,000 layers, not 100,000: under the sanitizers a net at the real limit, loaded five
     * times over by the round trips, takes longer than libFuzzer's 10 s per input (10,000
     * layers take 3.6 s; the limit's own path is the same at any size) */
    FrontendOptions opt = {.max_layers = 5000};
    Graph *g = frontend_load_file_opts(a, f, &opt, &d);
    return g && d.errors == 0 && g->shaped ? g : NULL;
}

/* text, a writer's output in YAML or .net, read back must dump to `want`; else the target
 * aborts, saying `what` changed the net. Frees text. */
static void fuzz_read_back(StrBuf *text, bool yaml, const char *want, const char *what)
{
    StrBuf dump;
    sb_init(&dump);
    Arena *a = arena_new();
    Graph *back = fuzz_load(a, yaml ? "back.yaml" : "back.net", text->data, text->len);
    if (back)
        ir_dump(back, &dump);
    if (!back || strcmp(dump.data, want) != 0) {
        fprintf(stderr, "%s %s changed the net:\n%s\n--- IR before:\n%s--- after:\n%s", what,
                yaml ? "YAML" : ".net", text->data, want, back ? dump.data : "(load failed)\n");
        abort();
    }
    arena_free(a);
    sb_free(text);
    sb_free(&dump);
}

/* The writer's output of g, read back, must dump to `want`. */
static void fuzz_roundtrip(const Graph *g, const char *want, bool yaml)
{
    StrBuf text;
    sb_init(&text);
    if (yaml)
        write_yaml(g, &text);
    else
        write_net(g, &text);
    fuzz_read_back(&text, yaml, want, "round trip through");
}

/* A net with parameters, repeats, templates or ifs (and no include: that reads files) is
 * also converted from its syntax tree, as netc --to does: both forms must read back to
 * `want`. */
static void fuzz_ast_roundtrip(const char *name, const uint8_t *data, size_t size, const char *want)
{
    Arena *a = arena_new();
    SrcFile *f = arena_alloc(a, sizeof *f);
    char *copy = arena_alloc(a, size + 1);
    memcpy(copy, data, size);
    *f = (SrcFile){.name = name, .text = copy, .len = size};
    Diag d;
    diag_init(&d, fuzz_devnull(), "fuzz");
    bool yaml = strstr(name, ".yaml") != NULL;
    AstNet *net = yaml ? parse_yaml(a, f, &d) : parse_net(a, f, &d);
    bool includes = false;
    for (int i = 0; net && i < net->top.len; i++)
        includes |= !strcmp(((const AstStmt *)net->top.items[i])->head, AST_INCLUDE);
    for (int y = 0; net && !d.errors && !includes && ast_has_forms(net) && y < 2; y++) {
        StrBuf text;
        sb_init(&text);
        (y ? write_ast_yaml : write_ast_net)(net, &text);
        fuzz_read_back(&text, y, want, "conversion of the syntax tree to");
    }
    arena_free(a);
}

static int fuzz_one(const char *name, const uint8_t *data, size_t size)
{
    Arena *a = arena_new();
    Graph *g = fuzz_load(a, name, (const char *)data, size);
    if (g) {
        StrBuf sb;
        sb_init(&sb);
        ir_summary(g, &sb);
        sb_free(&sb);
        sb_init(&sb);
        ir_dump(g, &sb);
        fuzz_roundtrip(g, sb.data, false);
        fuzz_roundtrip(g, sb.data, true);
        fuzz_ast_roundtrip(name, data, size, sb.data);
        sb_free(&sb);
    }
    arena_free(a);
    return 0;
}

#endif
