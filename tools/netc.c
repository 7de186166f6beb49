/* netc.c: the compiler's command line: argument parsing and calls only. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static void usage(FILE *f)
{
    fputs("usage: netc [options] NET...\n"
          "Reads a network (.net or .yaml), checks it, and prints or converts it.\n\n"
          "  --summary          print each layer's name, kind, output shape, params, MACs\n"
          "  --check            parse and shape-check only; exit 0 if every file is good\n"
          "  --dump-ir          print the canonical IR (used by the golden tests)\n"
          "  --to net|yaml      write the network in the other format to stdout\n"
          "  --list-layers      list every layer kind with its attributes and defaults\n"
          "  -h, --help         this text\n"
          "  --version          the version\n\n"
          "exit codes: 0 ok, 1 bad input, 2 bad usage, 3 internal error\n",
          f);
}

enum { OPT_SUMMARY = 256, OPT_CHECK, OPT_DUMP, OPT_TO, OPT_LIST, OPT_VERSION };

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"check", no_argument, NULL, OPT_CHECK},
        {"dump-ir", no_argument, NULL, OPT_DUMP},
        {"to", required_argument, NULL, OPT_TO},
        {"list-layers", no_argument, NULL, OPT_LIST},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {0, 0, 0, 0},
    };
    int mode = 0;
    const char *to = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SUMMARY:
        case OPT_CHECK:
        case OPT_DUMP:
        case OPT_LIST:
            mode = c;
            break;
        case OPT_TO:
            mode = c;
            to = optarg;
            if (strcmp(to, "net") != 0 && strcmp(to, "yaml") != 0) {
                fprintf(stderr, "netc: error: --to takes 'net' or 'yaml', got '%s'\n", to);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case OPT_VERSION:
            puts("netc 0.1.0");
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (mode == OPT_LIST) {
        StrBuf sb;
        sb_init(&sb);
        ir_list_layers(&sb);
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
    if (mode == 0)
        mode = OPT_SUMMARY;
    int status = EXIT_OK;
    for (int i = optind; i < argc; i++) {
        Arena *arena = arena_new();
        Diag d;
        diag_init(&d, stderr, "netc");
        Graph *g = frontend_load(arena, argv[i], &d);
        if (!g || d.errors) {
            status = EXIT_BAD_INPUT;
            arena_free(arena);
            continue;
        }
        StrBuf sb;
        sb_init(&sb);
        if (mode == OPT_SUMMARY)
            ir_summary(g, &sb);
        else if (mode == OPT_DUMP)
            ir_dump(g, &sb);
        else if (mode == OPT_TO && strcmp(to, "net") == 0)
            write_net(g, &sb);
        else if (mode == OPT_TO)
            write_yaml(g, &sb);
        if (sb.data)
            fputs(sb.data, stdout);
        sb_free(&sb);
        arena_free(arena);
    }
    return status;
}
