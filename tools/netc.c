/* netc.c: the compiler's command line: argument parsing and calls only. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "frontend.h"
#include "fileio.h"
#include "runtime.h"

static void usage(FILE *f)
{
    fputs("usage: netc [options] NET...\n"
          "Reads a network (.net or .yaml), checks it, and prints or converts it.\n\n"
          "  --summary          print each layer's name, kind, output shape, params, MACs\n"
          "  --check            parse and shape-check only; exit 0 if every file is good\n"
          "  --dump-ir          print the canonical IR (used by the golden tests)\n"
          "  --dump-plan        print the generated program's plan: steps, buffers, arena\n"
          "  --to net|yaml      write the network in the other format to stdout (params,\n"
          "                     repeat, template, if and include kept as written)\n"
          "  --expand           write the network expanded, in its own format: parameters\n"
          "                     and expressions as values, every repeat unrolled\n"
          "  --list-layers      list every layer kind with its attributes and defaults\n"
          "  --list-settings    list every train setting, its values, defaults and flags\n"
          "                     (the Markdown table of docs/language.md)\n"
          "  -D NAME=VALUE      give a parameter of the net's params block a value\n"
          "code generation:\n"
          "  -o FILE            write standalone C for the network to FILE ('-': stdout)\n"
          "  --weights FILE     embed these weights (safetensors, PyTorch state_dict names);\n"
          "                     without it, the train section's seeded initialisation\n"
          "  --header FILE      also write a header with the API\n"
          "  --main             add a main(): classify IDX or PGM input, report accuracy, time\n"
          "  --prefix NAME      name the API NAME_forward... (default: the network's name)\n"
          "  --blob, --no-blob  weights in a binary file beside FILE (FILE without .c, plus\n"
          "                     .weights), pulled in by the assembler, or as C literals;\n"
          "                     default: a blob past 4,194,304 weights, which compilers\n"
          "                     handle at any size\n"
          "  -h, --help         this text\n"
          "  --version          the version\n\n"
          "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n",
          f);
}

enum {
    OPT_SUMMARY = 256,
    OPT_CHECK,
    OPT_DUMP,
    OPT_DUMP_PLAN,
    OPT_TO,
    OPT_LIST,
    OPT_LIST_SETTINGS,
    OPT_VERSION,
    OPT_WEIGHTS,
    OPT_HEADER,
    OPT_MAIN,
    OPT_PREFIX,
    OPT_BLOB,
    OPT_NO_BLOB,
    OPT_EXPAND,
};

/* --to: a file with parameters, repeats, templates, ifs or includes as written (its syntax
 * tree), any other as its canonical IR. */
static void convert(Arena *arena, const char *path, const Graph *g, bool yaml, StrBuf *sb, Diag *d)
{
    /* read again for its syntax tree: what reading it tells was told when it was loaded */
    Diag quiet;
    diag_init_quiet(&quiet, d->prog);
    AstNet *src = frontend_source(arena, path, &quiet);
    if (src && ast_has_forms(src))
        (yaml ? write_ast_yaml : write_ast_net)(src, sb);
    else
        (yaml ? write_yaml : write_net)(g, sb);
}

/* --to of a file with no network, meant to be included (params and templates): written as
 * it is, to stdout. False, having said nothing, when the file has a network. */
static bool convert_part(Arena *arena, const char *path, bool yaml, Diag *d)
{
    Diag quiet;
    diag_init_quiet(&quiet, "netc");
    AstNet *src = frontend_source_part(arena, path, &quiet);
    if (!src || src->name || !(src->top.len || src->body.len))
        return false;
    src = frontend_source_part(arena, path, d); /* again, to report its errors */
    if (!src || d->errors)
        return true;
    StrBuf sb;
    sb_init(&sb);
    (yaml ? write_ast_yaml : write_ast_net)(src, &sb);
    fputs(sb.data ? sb.data : "", stdout);
    sb_free(&sb);
    return true;
}

static bool write_file(const char *path, const StrBuf *sb, Diag *d)
{
    if (strcmp(path, "-") == 0) {
        fputs(sb->data, stdout);
        return true;
    }
    /* as netrun saves (fileio.h): a temporary file renamed over a regular file, so a failed
     * run leaves an older output intact; a link followed; a device or FIFO written through;
     * an input of this run (-o at the net file, --header at the weights) refused */
    SaveFile s;
    if (!save_begin(&s, path, true, d))
        return false;
    if (sb->len && !io_write_all(s.fd, sb->data, sb->len)) {
        char eb[128];
        diag_error(d, (SrcLoc){0}, "%s: cannot write: %s", path, io_errstr(errno, eb, sizeof eb));
        save_abort(&s);
        return false;
    }
    return save_commit(&s, d);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool valid_prefix(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* The generator's table of parameter views, [node * NODE_MAX_PARAMS + p] (free it), or NULL
 * when memory runs out. */
static const float **param_table(const Model *m)
{
    int nn = m->g->nodes.len;
    const float **t = calloc((size_t)nn * NODE_MAX_PARAMS, sizeof *t);
    for (int i = 0; t && i < nn; i++)
        for (int p = 0; p < GRAPH_NODE(m->g, i)->nparams; p++)
            t[(size_t)i * NODE_MAX_PARAMS + (size_t)p] = rt_node_params(m, i)[p];
    return t;
}

/* FILE.c -> FILE.weights: where the blob goes, beside the C file (free it). */
static char *blob_name(const char *out)
{
    size_t n = strlen(out);
    if (n > 2 && !strcmp(out + n - 2, ".c"))
        n -= 2;
    char *s = malloc(n + sizeof ".weights");
    if (!s)
        abort();
    memcpy(s, out, n);
    strcpy(s + n, ".weights");
    return s;
}

/* netc NET -o FILE: weights from --weights or the seeded init, then the generator. blob:
 * 1 always, 0 never, -1 past CG_BLOB_AUTO_FLOATS weights when FILE is a file. */
static int generate(const char *net, Graph *g, const char *out, const char *weights,
                    const char *header, bool with_main, const char *prefix, int blob, Diag *d)
{
    const char *api = prefix ? prefix : g->name;
    if (api[0] == '_') { /* _X_IN_SIZE, __x_forward: identifiers C reserves */
        diag_error(d, (SrcLoc){0},
                   "the API's prefix '%s' (%s) starts with '_': its macros and functions would "
                   "be identifiers C reserves for the implementation; %s",
                   api, prefix ? "--prefix" : "the network's name",
                   prefix ? "choose one that starts with a letter" : "give --prefix NAME");
        return EXIT_USAGE;
    }
    if (blob < 0)
        blob = strcmp(out, "-") != 0 && cg_weight_floats(g) > CG_BLOB_AUTO_FLOATS;
    if (blob && (strpbrk(out, "\n\r") || strstr(out, "*/"))) {
        diag_error(d, (SrcLoc){0},
                   "%s: the generated C names its weight blob in a comment and a string: "
                   "choose a file name without a newline or '*/' (or --no-blob)",
                   out);
        return EXIT_BAD_INPUT;
    }
    Model *m = rt_model_new(g, 1, d);
    if (!m)
        return EXIT_BAD_INPUT;
    rt_model_init(m, g->train.seed);
    if (weights) {
        if (!ckpt_load(weights, m, d)) {
            rt_model_free(m);
            return EXIT_BAD_INPUT;
        }
    } else {
        diag_warning(d, (SrcLoc){0},
                     "no --weights: embedding the untrained initial weights (seed %llu)",
                     (unsigned long long)g->train.seed);
    }
    StrBuf c, h, b;
    sb_init(&c);
    sb_init(&h);
    sb_init(&b);
    char *bpath = blob ? blob_name(out) : NULL;
    if (header && strcmp(header, "-") == 0) { /* the C would #include "-" */
        diag_error(d, (SrcLoc){0},
                   "--header needs a file name ('-' is standard output, which is the C's)");
        rt_model_free(m);
        return EXIT_USAGE;
    }
    /* three outputs, three files (a header written over the C would include itself) */
    const char *clash = header && strcmp(out, "-") && io_same_file(header, out) ? out
                        : header && bpath && io_same_file(header, bpath)        ? bpath
                                                                                : NULL;
    if (clash) {
        diag_error(d, (SrcLoc){0}, "--header %s and %s are one file; the header needs its own",
                   header, clash);
        free(bpath);
        rt_model_free(m);
        return EXIT_USAGE;
    }
    CgOptions o = {.prefix = prefix,
                   .source = net,
                   .main = with_main,
                   .header_name = header ? base_name(header) : NULL,
                   .blob_path = bpath};
    const float **params = param_table(m);
    if (!params)
        diag_error(d, (SrcLoc){0}, "out of memory");
    bool ok = params && cg_emit(g, params, &o, &c, header ? &h : NULL, &b, d) &&
              (!header || write_file(header, &h, d)) && (!bpath || write_file(bpath, &b, d)) &&
              write_file(out, &c, d);
    free(params);
    free(bpath);
    sb_free(&c);
    sb_free(&h);
    sb_free(&b);
    rt_model_free(m);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"check", no_argument, NULL, OPT_CHECK},
        {"dump-ir", no_argument, NULL, OPT_DUMP},
        {"dump-plan", no_argument, NULL, OPT_DUMP_PLAN},
        {"to", required_argument, NULL, OPT_TO},
        {"expand", no_argument, NULL, OPT_EXPAND},
        {"list-layers", no_argument, NULL, OPT_LIST},
        {"list-settings", no_argument, NULL, OPT_LIST_SETTINGS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"weights", required_argument, NULL, OPT_WEIGHTS},
        {"header", required_argument, NULL, OPT_HEADER},
        {"main", no_argument, NULL, OPT_MAIN},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"output", required_argument, NULL, 'o'},
        {"blob", no_argument, NULL, OPT_BLOB},
        {"no-blob", no_argument, NULL, OPT_NO_BLOB},
        {0, 0, 0, 0},
    };
    int mode = 0;
    const char *to = NULL, *out = NULL, *weights = NULL, *header = NULL, *prefix = NULL;
    bool with_main = false;
    int blob = -1, c;
    static const char *defines[NETC_MAX_DEFINES];
    int ndefines = 0;
    while ((c = getopt_long(argc, argv, "ho:D:", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            if (ndefines == NETC_MAX_DEFINES) {
                fprintf(stderr, "netc: error: more than %d -D\n", NETC_MAX_DEFINES);
                return EXIT_USAGE;
            }
            defines[ndefines++] = optarg;
            break;
        case OPT_SUMMARY:
        case OPT_CHECK:
        case OPT_DUMP:
        case OPT_DUMP_PLAN:
        case OPT_EXPAND:
        case OPT_LIST:
        case OPT_LIST_SETTINGS: mode = c; break;
        case OPT_TO:
            mode = c;
            to = optarg;
            if (strcmp(to, "net") != 0 && strcmp(to, "yaml") != 0) {
                fprintf(stderr, "netc: error: --to takes 'net' or 'yaml', got '%s'\n", to);
                return EXIT_USAGE;
            }
            break;
        case 'o': out = optarg; break;
        case OPT_WEIGHTS: weights = optarg; break;
        case OPT_HEADER: header = optarg; break;
        case OPT_MAIN: with_main = true; break;
        case OPT_BLOB: blob = 1; break;
        case OPT_NO_BLOB: blob = 0; break;
        case OPT_PREFIX:
            prefix = optarg;
            if (!valid_prefix(prefix)) {
                fprintf(stderr, "netc: error: --prefix must be a C identifier, got '%s'\n", prefix);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return io_stdout_status("netc", EXIT_OK);
        case OPT_VERSION: puts("netc 0.1.0"); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (mode == OPT_LIST || mode == OPT_LIST_SETTINGS) {
        StrBuf sb;
        sb_init(&sb);
        if (mode == OPT_LIST)
            ir_list_layers(&sb);
        else
            ir_list_settings(&sb);
        fputs(sb.data, stdout);
        sb_free(&sb);
        return EXIT_OK;
    }
    if (optind >= argc) {
        fprintf(stderr, "netc: error: no input file\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (mode != OPT_CHECK && argc - optind > 1) {
        fprintf(stderr, "netc: error: one input file at a time (only --check takes several)\n");
        return EXIT_USAGE;
    }
    if ((weights || header || with_main || prefix || blob >= 0) && !out) {
        fprintf(stderr, "netc: error: --weights, --header, --main, --prefix and --blob go with "
                        "-o FILE\n");
        return EXIT_USAGE;
    }
    if (blob == 1 && !strcmp(out, "-")) {
        fprintf(stderr, "netc: error: --blob writes the weights beside -o FILE: give a file name, "
                        "not '-'\n");
        return EXIT_USAGE;
    }
    if (out && mode) {
        fprintf(stderr, "netc: error: -o generates code; it does not combine with --summary, "
                        "--check, --dump-ir, --dump-plan, --to or --expand\n");
        return EXIT_USAGE;
    }
    if (mode == OPT_TO && ndefines) { /* it writes the source, whose defaults would stay */
        fprintf(stderr, "netc: error: --to converts the file as written, its parameters' "
                        "defaults with it, so -D would be lost; --expand writes the net with "
                        "-D applied, or change the default in the file\n");
        return EXIT_USAGE;
    }
    if (mode == 0)
        mode = out ? 'o' : OPT_SUMMARY;
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        Arena *arena = arena_new();
        Diag d;
        diag_init(&d, stderr, "netc");
        if (mode == OPT_TO && convert_part(arena, argv[i], strcmp(to, "yaml") == 0, &d)) {
            status = d.errors ? EXIT_BAD_INPUT : status;
            arena_free(arena);
            continue;
        }
        bool bad_define = false;
        FrontendOptions fo = {.defines = defines, .ndefines = ndefines, .bad_define = &bad_define};
        Graph *g = frontend_load_opts(arena, argv[i], &fo, &d);
        if (!g || d.errors) {
            status = bad_define ? EXIT_USAGE : EXIT_BAD_INPUT;
            arena_free(arena);
            continue;
        }
        if (mode == 'o') {
            status = generate(argv[i], g, out, weights, header, with_main, prefix, blob, &d);
            arena_free(arena);
            continue;
        }
        StrBuf sb;
        sb_init(&sb);
        if (mode == OPT_SUMMARY) {
            ir_summary(g, &sb);
            char b[32];
            Diag quiet;
            diag_init_quiet(&quiet, "netc");
            size_t arena = cg_can_emit(g, &quiet) ? cg_arena_bytes(g) : 0;
            if (quiet.errors)
                sb_puts(&sb, "Generated C: none: netc cannot compile this network (netc -o says "
                             "why)\n");
            else
                sb_printf(&sb,
                          "Generated C: peak activation memory %s bytes (%.2f KiB, its arena)\n",
                          fmt_thousands(b, (int64_t)arena), (double)arena / 1024);
        } else if (mode == OPT_DUMP)
            ir_dump(g, &sb);
        else if (mode == OPT_DUMP_PLAN)
            cg_dump_plan(g, &sb);
        else if (mode == OPT_EXPAND &&
                 (str_has_suffix(argv[i], ".yaml") || str_has_suffix(argv[i], ".yml")))
            write_yaml(g, &sb);
        else if (mode == OPT_EXPAND)
            write_net(g, &sb);
        else if (mode == OPT_TO)
            convert(arena, argv[i], g, strcmp(to, "yaml") == 0, &sb, &d);
        if (sb.data)
            fputs(sb.data, stdout);
        sb_free(&sb);
        arena_free(arena);
    }
    return io_stdout_status("netc", status);
}
