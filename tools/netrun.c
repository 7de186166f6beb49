/* netrun.c: the interpreter's command line: argument parsing and calls only. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <json-c/json.h>

#include "dist.h"
#include "fileio.h"
#include "frontend.h"
#include "plot.h"
#include "record.h"
#include "runtime.h"
#include "sweep.h"

/* The train settings' flags (ir_setting_flags): options O_SETTING + their index. */
static SettingFlag flags[SETTING_MAX_FLAGS];
static int nflags;

static void usage(FILE *f)
{
    StrBuf sb;
    sb_init(&sb);
    ir_setting_flags_help(&sb);
    fprintf(f,
            "usage: netrun NET [options]\n"
            "       netrun --plot RUN... [-o FILE.svg]\n"
            "Trains, evaluates and runs a network described in a .net or .yaml file.\n\n"
            "actions:\n"
            "  --train            train with the file's train section (and the flags below)\n"
            "  --eval             evaluate on the test split (t10k-*) of the data directory\n"
            "  --eval-on SPLIT    with --eval: test (the default) or val (the train section's\n"
            "                     validation share of the training set)\n"
            "  --confusion FILE   with --eval: print the confusion matrix and draw it as SVG\n"
            "  --plot RUN...      draw the loss and accuracy curves of run folders (a sweep's\n"
            "                     folder: its runs), on shared axes, into -o FILE (default\n"
            "                     curves.svg)\n"
            "  --predict FILE     classify the images of an IDX file (gzip or raw), a PGM, a\n"
            "                     PNG or JPEG (as the image folders read them, resized by\n"
            "                     their resize), the records of a CSV table (FILE.csv[.gz],\n"
            "                     its label column skipped), or FILE.f32: raw little-endian\n"
            "                     float32 inputs: a line an image, its class (and the\n"
            "                     class's name, when the data set's folders or table name it)\n"
            "  --logits FILE      with --predict: write every output of every image as CSV\n"
            "                     (a row an image; an image output in C, H, W order; FILE -:\n"
            "                     standard output)\n"
            "  --profile          time training steps layer by layer: forward and backward ms,\n"
            "                     GFLOPS and share of a step (--steps N timed, default 20,\n"
            "                     after 3 warm-up steps)\n"
            "  -D NAME=VALUE      give a parameter of the net's params block a value\n"
            "  --sweep NAME=V1,V2 with --train: a run for each value (repeat --sweep for a\n"
            "                     grid); NAME a parameter or a train setting's flag (lr);\n"
            "                     runs in runs/NET-sweep-N/, results.md and results.csv\n"
            "weights:\n"
            "  --load FILE        start from these weights (safetensors, state_dict names)\n"
            "  --save FILE        where --train writes the weights: PyTorch's state_dict, for\n"
            "                     --load, netc --weights and PyTorch's load_state_dict\n"
            "                     (default: the run folder's weights.safetensors; with\n"
            "                     --no-record NAME.safetensors, or beside the checkpoint of\n"
            "                     --resume)\n"
            "  --checkpoint FILE  where --train writes its training checkpoint (weights,\n"
            "                     optimizer state, position; default: the run folder's\n"
            "                     checkpoint.safetensors; with --no-record, FILE of --save\n"
            "                     with .ckpt before its extension, NAME.ckpt.safetensors)\n"
            "  --resume FILE      continue a training run from its checkpoint exactly (in its\n"
            "                     run folder, when it is one's)\n"
            "the record of a training run (net, settings, metrics.jsonl, weights, best weights,\n"
            "checkpoint):\n"
            "  --record DIR       in this new folder (default: runs/NAME-N, the next N)\n"
            "  --no-record        no run folder: the weights go to --save, NAME.safetensors\n"
            "  --log-every N      a line of the mean loss every N steps in metrics.jsonl\n"
            "                     (default 50; 0: epochs only)\n"
            "overrides of the train section (checked as the file's values are):\n"
            "%s"
            "  --steps N          stop after N optimizer steps in all\n"
            "other:\n"
            "  --threads N        threads for the kernels (default: all cores)\n"
            "  --quiet            print only the final result\n"
            "  --progress         the live progress line even when stdout is not a terminal\n"
            "  -h, --help\n\n"
            "several processes: mpirun -np N netrun NET --train ... (%s)\n\n"
            "exit codes: 0 ok, 1 bad input (net, data, weights), 2 bad usage, 3 internal error\n",
            sb.data,
            dist_available() ? "this build has MPI" : "this build has no MPI: meson -Dmpi=enabled");
    sb_free(&sb);
}

enum {
    O_TRAIN = 256,
    O_SWEEP,
    O_EVAL,
    O_PREDICT,
    O_LOGITS,
    O_LOAD,
    O_SAVE,
    O_CHECKPOINT,
    O_RESUME,
    O_RECORD,
    O_NO_RECORD,
    O_LOG_EVERY,
    O_EVAL_ON,
    O_CONFUSION,
    O_PLOT,
    O_PROFILE,
    O_STEPS,
    O_THREADS,
    O_QUIET,
    O_PROGRESS,
    O_SETTING, /* + the flag's index */
};

/* A train setting that only training reads: the optimizer and its lr, the epochs, the
 * shuffle and early stopping (evaluation reads the data, batch, chunks, seed and val, and the
 * loss's options for its loss). */
static bool trains_only(const Setting *s)
{
    static const char *const names[] = {"optimizer",  "epochs",         "shuffle",
                                        "early_stop", "schedule",       "warmup",
                                        "augment",    "clip_grad_norm", "clip_grad_value"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s->name, names[i]) == 0)
            return true;
    return false;
}

enum { MAX_SET = 64 }; /* train-setting flags on one command line */

typedef struct Args {
    const char *net, *predict, *logits, *load, *save, *checkpoint, *resume, *record;
    const char *confusion, *out;
    bool train, eval, eval_val, eval_on, quiet, progress, no_record, plot, profile;
    int nruns;
    char **runs; /* --plot's run folders */
    long steps, threads, log_every;
    bool log_every_given;
    int nset;                      /* settings' flags given, in order */
    int set[MAX_SET];              /* index into flags */
    const char *set_text[MAX_SET]; /* their arguments */
    int ndefines;                  /* -D NAME=VALUE */
    const char *defines[NETC_MAX_DEFINES];
    int nsweeps; /* --sweep NAME=V1,V2 */
    const char *sweeps[SWEEP_MAX];
} Args;

static bool parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s && !*end && v >= lo && v <= hi) {
        *out = v;
        return true;
    }
    fprintf(stderr, "netrun: error: %s takes a whole number from %ld to %ld, got '%s'\n", flag, lo,
            hi, s);
    return false;
}

static int parse_args(int argc, char **argv, Args *a)
{
    a->log_every = 50;
    static const struct option fixed[] = {
        {"train", no_argument, NULL, O_TRAIN},
        {"sweep", required_argument, NULL, O_SWEEP},
        {"eval", no_argument, NULL, O_EVAL},
        {"predict", required_argument, NULL, O_PREDICT},
        {"logits", required_argument, NULL, O_LOGITS},
        {"load", required_argument, NULL, O_LOAD},
        {"save", required_argument, NULL, O_SAVE},
        {"checkpoint", required_argument, NULL, O_CHECKPOINT},
        {"record", required_argument, NULL, O_RECORD},
        {"no-record", no_argument, NULL, O_NO_RECORD},
        {"log-every", required_argument, NULL, O_LOG_EVERY},
        {"eval-on", required_argument, NULL, O_EVAL_ON},
        {"confusion", required_argument, NULL, O_CONFUSION},
        {"plot", no_argument, NULL, O_PLOT},
        {"profile", no_argument, NULL, O_PROFILE},
        {"resume", required_argument, NULL, O_RESUME},
        {"steps", required_argument, NULL, O_STEPS},
        {"threads", required_argument, NULL, O_THREADS},
        {"quiet", no_argument, NULL, O_QUIET},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"help", no_argument, NULL, 'h'},
    };
    enum { NFIXED = sizeof fixed / sizeof fixed[0] };
    struct option opts[NFIXED + SETTING_MAX_FLAGS + 1] = {{0}};
    memcpy(opts, fixed, sizeof fixed);
    nflags = ir_setting_flags(flags);
    for (int i = 0; i < nflags; i++) {
        bool bare = flags[i].value && flags[i].value->spec.type == ATTR_BOOL;
        opts[NFIXED + i] = (struct option){
            flags[i].name + 2, bare ? no_argument : required_argument, NULL, O_SETTING + i};
    }
    /* an option written with one dash (-train: getopt reads -t -r -a ...) or none (train, as
     * a second file name): said so, before getopt's letters or "one network file" */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *w = argv[i][0] == '-' && argv[i][1] != '-' ? argv[i] + 1 : argv[i];
        size_t n = strcspn(w, "=");
        for (int k = 0; n > 1 && opts[k].name; k++)
            if (strlen(opts[k].name) == n && !strncmp(opts[k].name, w, n) &&
                (w != argv[i] || access(argv[i], F_OK) != 0)) {
                fprintf(stderr, "netrun: error: '%s' is not %s: did you mean --%s?\n", argv[i],
                        w != argv[i] ? "an option" : "a file", opts[k].name);
                return EXIT_USAGE;
            }
        /* the word after an option that takes a value is that value (--data train); getopt
         * then says when it is missing */
        bool valued = !strcmp(argv[i], "-D") || !strcmp(argv[i], "-o");
        if (argv[i][0] == '-' && argv[i][1] == '-' && !strchr(argv[i], '='))
            for (int k = 0; opts[k].name; k++)
                valued = valued || (!strcmp(argv[i] + 2, opts[k].name) &&
                                    opts[k].has_arg == required_argument);
        if (valued)
            i++;
    }
    int c;
    while ((c = getopt_long(argc, argv, "ho:D:", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            if (a->ndefines == NETC_MAX_DEFINES) {
                fprintf(stderr, "netrun: error: more than %d -D\n", NETC_MAX_DEFINES);
                return EXIT_USAGE;
            }
            a->defines[a->ndefines++] = optarg;
            break;
        case O_SWEEP:
            if (a->nsweeps == SWEEP_MAX) {
                fprintf(stderr, "netrun: error: more than %d --sweep\n", SWEEP_MAX);
                return EXIT_USAGE;
            }
            a->sweeps[a->nsweeps++] = optarg;
            break;
        case O_TRAIN: a->train = true; break;
        case O_EVAL: a->eval = true; break;
        case O_PREDICT: a->predict = optarg; break;
        case O_LOGITS: /* -: standard output, as a stream (save_begin writes it through) */
            a->logits = strcmp(optarg, "-") ? optarg : "/dev/stdout";
            break;
        case O_LOAD: a->load = optarg; break;
        case O_SAVE: a->save = optarg; break;
        case O_CHECKPOINT: a->checkpoint = optarg; break;
        case O_RECORD: a->record = optarg; break;
        case O_CONFUSION: a->confusion = optarg; break;
        case O_PLOT: a->plot = true; break;
        case O_PROFILE: a->profile = true; break;
        case 'o': a->out = optarg; break;
        case O_NO_RECORD: a->no_record = true; break;
        case O_LOG_EVERY:
            if (!parse_long("--log-every", optarg, 0, 1L << 30, &a->log_every))
                return EXIT_USAGE;
            a->log_every_given = true;
            break;
        case O_EVAL_ON:
            if (strcmp(optarg, "val") != 0 && strcmp(optarg, "test") != 0) {
                fprintf(stderr, "netrun: error: --eval-on takes test or val, got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            a->eval_val = strcmp(optarg, "val") == 0;
            a->eval_on = true;
            break;
        case O_RESUME: a->resume = optarg; break;
        case O_QUIET: a->quiet = true; break;
        case O_PROGRESS: a->progress = true; break;
        case O_STEPS:
            if (!parse_long("--steps", optarg, 1, 1L << 40, &a->steps))
                return EXIT_USAGE;
            break;
        case O_THREADS:
            if (!parse_long("--threads", optarg, 1, 1024, &a->threads))
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); exit(io_stdout_status("netrun", EXIT_OK));
        default:
            if (c >= O_SETTING && c < O_SETTING + nflags) {
                if (a->nset == MAX_SET) {
                    fprintf(stderr, "netrun: error: more than %d train-setting flags\n", MAX_SET);
                    return EXIT_USAGE;
                }
                a->set[a->nset] = c - O_SETTING;
                a->set_text[a->nset++] = optarg;
                break;
            }
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    /* an empty path (--save "" from an unset shell variable) would train for nothing */
    const char *paths[] = {a->predict, a->logits, a->load,      a->save, a->checkpoint,
                           a->resume,  a->record, a->confusion, a->out};
    static const char *const path_flags[] = {"--predict", "--logits",     "--load",
                                             "--save",    "--checkpoint", "--resume",
                                             "--record",  "--confusion",  "-o"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (paths[i] && !*paths[i]) {
            fprintf(stderr,
                    "netrun: error: %s '': an empty path (an unset variable?); '.' names the "
                    "current folder\n",
                    path_flags[i]);
            return EXIT_USAGE;
        }
    if (a->plot) {
        if (optind == argc) {
            fprintf(stderr, "netrun: error: --plot needs one run folder or more\n");
            return EXIT_USAGE;
        }
        if (a->train || a->eval || a->predict || a->profile) {
            fprintf(stderr, "netrun: error: --plot draws run folders; it takes no net and no "
                            "other action\n");
            return EXIT_USAGE;
        }
        /* what it would ignore: the run folders' own record is what it draws */
        const char *other = a->nsweeps                  ? "--sweep"
                            : a->ndefines               ? "-D"
                            : a->nset                   ? "a train setting's flag"
                            : a->load                   ? "--load"
                            : a->save                   ? "--save"
                            : a->checkpoint             ? "--checkpoint"
                            : a->resume                 ? "--resume"
                            : a->record || a->no_record ? "--record or --no-record"
                            : a->confusion              ? "--confusion"
                            : a->logits                 ? "--logits"
                            : a->steps                  ? "--steps"
                            : a->eval_on                ? "--eval-on"
                                                        : NULL;
        if (other) {
            fprintf(stderr,
                    "netrun: error: --plot draws the run folders' records; %s has "
                    "nothing to do there\n",
                    other);
            return EXIT_USAGE;
        }
        a->runs = argv + optind;
        a->nruns = argc - optind;
        if (!a->out)
            a->out = "curves.svg";
        return EXIT_OK;
    }
    if (a->out) {
        fprintf(stderr, "netrun: error: -o goes with --plot\n");
        return EXIT_USAGE;
    }
    if (a->profile && (a->train || a->eval || a->predict)) {
        fprintf(stderr, "netrun: error: --profile is an action of its own; it trains steps "
                        "to time them and saves nothing\n");
        return EXIT_USAGE;
    }
    if (a->confusion && !a->eval) {
        fprintf(stderr, "netrun: error: --confusion goes with --eval\n");
        return EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "netrun: error: %s\n",
                optind >= argc ? "no network file given" : "one network file at a time");
        usage(stderr);
        return EXIT_USAGE;
    }
    a->net = argv[optind];
    if (a->logits && !a->predict) {
        fprintf(stderr, "netrun: error: --logits goes with --predict\n");
        return EXIT_USAGE;
    }
    if (a->eval_on && !a->eval) {
        fprintf(stderr, "netrun: error: --eval-on goes with --eval\n");
        return EXIT_USAGE;
    }
    if (a->resume && a->load) {
        fprintf(stderr, "netrun: error: --resume and --load both give weights; use one\n");
        return EXIT_USAGE;
    }
    if (a->record && a->no_record) {
        fprintf(stderr, "netrun: error: --record and --no-record: use one\n");
        return EXIT_USAGE;
    }
    if ((a->record || a->no_record) && !a->train) {
        fprintf(stderr, "netrun: error: --%s goes with --train\n",
                a->record ? "record" : "no-record");
        return EXIT_USAGE;
    }
    if (a->checkpoint && !a->train) {
        fprintf(stderr, "netrun: error: --checkpoint goes with --train\n");
        return EXIT_USAGE;
    }
    if (a->resume && !a->train) {
        fprintf(stderr, "netrun: error: --resume goes with --train\n");
        return EXIT_USAGE;
    }
    if (a->nsweeps && (!a->train || a->resume || a->save || a->checkpoint || a->record ||
                       a->no_record || a->eval || a->predict)) {
        fprintf(stderr, "netrun: error: --sweep goes with --train, and each run records itself "
                        "in the sweep's folder: no --resume, --save, --checkpoint, --record, "
                        "--no-record, --eval or --predict\n");
        return EXIT_USAGE;
    }
    if (!a->train && !a->profile) { /* they would be dropped without a word */
        const char *only = a->steps ? "--steps" : a->log_every_given ? "--log-every" : NULL;
        for (int i = 0; !only && i < a->nset; i++)
            if (trains_only(flags[a->set[i]].setting))
                only = flags[a->set[i]].name;
        if (only) {
            fprintf(stderr,
                    "netrun: error: %s sets how --train trains; %s (add --train, or drop "
                    "%s)\n",
                    only,
                    a->eval      ? "--eval does not train"
                    : a->predict ? "--predict does not train"
                                 : "nothing trains without it",
                    only);
            return EXIT_USAGE;
        }
    }
    if (a->save && !a->train) {
        fprintf(stderr, "netrun: error: --save goes with --train (where it writes the weights); "
                        "--load reads weights\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The settings' flags over the file's train section: those naming a kind first (a new kind
 * resets its values), then the others, each group in command-line order. */
static int apply_overrides(const Args *a, TrainConfig *t, Arena *arena, Diag *d)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < a->nset; i++) {
            const SettingFlag *f = &flags[a->set[i]];
            if ((f->value == NULL) == (pass == 0) && !train_flag(t, f, a->set_text[i], arena, d))
                return EXIT_USAGE;
        }
    return a->nset && !ir_train_recheck(t, d) ? EXIT_USAGE : EXIT_OK;
}

static void put_name(const char *s);

/* read: probabilities already (the net ends in Softmax), printed as they are; an
 * activation's values, printed as they are but not as probabilities (out=); else scores,
 * whose softmax is printed (after LogSoftmax, the same numbers). names: the first nnames
 * classes' names (0: numbers alone). */
static int top_classes(const float *logits, int n, OutputRead read, char **names, int nnames)
{
    /* softmax in double for the printed probabilities */
    double mx = logits[0], sum = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > mx)
            mx = logits[i];
    for (int i = 0; i < n; i++)
        sum += exp((double)logits[i] - mx);
    int order[3] = {-1, -1, -1}, k = n < 3 ? n : 3;
    for (int j = 0; j < k; j++)
        for (int i = 0; i < n; i++) {
            bool used = false;
            for (int q = 0; q < j; q++)
                used = used || order[q] == i;
            if (!used && (order[j] < 0 || logits[i] > logits[order[j]]))
                order[j] = i;
        }
    for (int j = 0; j < k; j++) {
        printf(j ? "   %d " : "%d  ", order[j]);
        if (order[j] < nnames) {
            put_name(names[order[j]]);
            putchar(' ');
        }
        if (read == OUT_VALUES)
            printf("(out=%.4g)", (double)logits[order[j]]);
        else
            printf("(p=%.3f)", read == OUT_PROBS ? (double)logits[order[j]]
                                                 : exp((double)logits[order[j]] - mx) / sum);
    }
    putchar('\n');
    return order[0];
}

/* After a --predict file failed to read as IDX: when it is not IDX at all (neither gzip nor
 * an IDX magic's two zero bytes), which formats --predict reads, and by which names. */
static void predict_formats_hint(const char *path, Diag *d)
{
    unsigned char b[2];
    FILE *f = fopen(path, "rb");
    bool other =
        f && fread(b, 1, 2, f) == 2 && !(b[0] == 0x1f && b[1] == 0x8b) && !(b[0] == 0 && b[1] == 0);
    if (f)
        fclose(f);
    if (other)
        diag_hint(d, (SrcLoc){0},
                  "--predict reads a file named .pgm, .png, .jpg, .jpeg, .csv, .csv.gz or .f32 "
                  "by that format, and any other as IDX images (gzip or raw); a CIFAR-10 "
                  "batch or a data set's folder trains and evaluates through the train "
                  "section's data, not --predict");
}

/* The training table's feature columns, when the train section names one that reads (for a
 * --predict table, which must have them, in order); nothing, silently, when it does not:
 * weights travel without their training data. */
static void training_columns(const TrainConfig *t, char ***cols, int *ncols)
{
    *cols = NULL;
    *ncols = 0;
    if (t->data_kind != DATA_CSV || !t->data_dir)
        return;
    Diag quiet; /* its messages are not this run's */
    diag_init_quiet(&quiet, "netrun");
    char **names = NULL;
    int nnames = 0;
    CsvSpec spec = {.label = t->csv_label ? t->csv_label : "label",
                    .learn = true,
                    .classes = &names,
                    .nclasses = &nnames,
                    .columns = cols,
                    .ncolumns = ncols,
                    .header_only = true};
    Dataset tr;
    if (dataset_load_csv(&tr, t->data_dir, &spec, &quiet))
        dataset_free(&tr);
    else if (*cols) {
        for (int k = 0; k < *ncols; k++)
            free((*cols)[k]);
        free(*cols);
        *cols = NULL, *ncols = 0;
    }
    for (int k = 0; k < nnames; k++)
        free(names[k]);
    free(names);
}

/* The class names of the train section's data set, when they are names (an image folder's
 * class folders, a training table's label names) and read; NULL, silently, otherwise: the
 * weights travel without their data, and --predict then prints class numbers alone. */
static char **known_classes(const TrainConfig *t, int *n)
{
    *n = 0;
    if ((t->data_kind != DATA_CSV && t->data_kind != DATA_FOLDER) || !t->data_dir || !*t->data_dir)
        return NULL;
    Diag quiet; /* its messages are not this run's */
    diag_init_quiet(&quiet, "netrun");
    char **names = NULL;
    if (t->data_kind == DATA_FOLDER) {
        names = dataset_folder_classes(t->data_dir, n, &quiet);
    } else {
        CsvSpec spec = {.label = t->csv_label ? t->csv_label : "label",
                        .learn = true,
                        .labels_only = true,
                        .classes = &names,
                        .nclasses = n};
        Dataset tr;
        if (dataset_load_csv(&tr, t->data_dir, &spec, &quiet)) {
            dataset_free(&tr);
        } else {
            for (int k = 0; k < *n; k++)
                free(names[k]);
            free(names);
            names = NULL;
        }
    }
    if (!names)
        *n = 0;
    return names;
}

/* A name from the file system or a table, whole (the line is the only place that maps
 * labels to classes), its control characters as \xNN: an escape sequence would colour the
 * terminal, a line feed split the line. */
static void put_name(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
}

/* Whether an image's outputs are all finite; else a message: finite weights can still
 * overflow float arithmetic (a weight of 3e38, a BatchNorm of running_var 0), and a class
 * or a probability read from NaNs would be noise printed as an answer. */
static bool outputs_finite(const char *file, int image, const float *row, int n, Diag *d)
{
    for (int k = 0; k < n; k++)
        if (!isfinite(row[k])) {
            diag_error(d, (SrcLoc){0},
                       "%s: image %d: output %d of the net is %s: float arithmetic overflowed "
                       "(finite weights and inputs can, as a weight of 3e38 does)",
                       file, image, k, isnan(row[k]) ? "nan" : "infinite");
            return false;
        }
    return true;
}

/* One PNG or JPEG for --predict, as the image folders read their images: decoded, resized
 * by the data setting's resize, a gray one widened to a colour net's 3 channels (R = G = B,
 * as ImageFolder's convert('RGB')); into ds, channels first. */
static bool picture_load(const char *path, const TrainConfig *t, const Shape *in, Dataset *ds,
                         Diag *d)
{
    int w, h, c;
    char why[200];
    uint8_t *px = image_load(path, &w, &h, &c, why);
    if (!px) {
        diag_error(d, (SrcLoc){0}, "%s: %s", path, why);
        return false;
    }
    int want = in->rank == 3 ? (int)in->d[0] : 0;
    if (c == 3 && want == 1) {
        diag_error(d, (SrcLoc){0},
                   "%s: a colour image (3 channels), but the network takes 1 channel; make the "
                   "image gray",
                   path);
        free(px);
        return false;
    }
    int rh = (int)t->resize.v[0], rw = (int)t->resize.v[t->resize.n > 1 ? 1 : 0];
    if (t->data_kind == DATA_FOLDER && rh > 0 && (h != rh || w != rw)) {
        uint8_t *r = image_resize(px, w, h, c, rw, rh);
        free(px);
        if (!r) {
            diag_error(d, (SrcLoc){0}, "%s: out of memory resizing it", path);
            return false;
        }
        px = r, h = rh, w = rw;
    }
    int oc = want == 3 ? 3 : c;
    if (want == 0 && c == 1 && shape_numel(*in) == 3 * (int64_t)h * w)
        oc = 3; /* a flat net of colour images: widened, as its folder's gray ones were */
    size_t plane = (size_t)h * (size_t)w;
    ds->images = malloc(plane * (size_t)oc);
    if (!ds->images) {
        diag_error(d, (SrcLoc){0}, "%s: out of memory", path);
        free(px);
        return false;
    }
    for (int k = 0; k < oc; k++) /* interleaved to channels first */
        for (size_t q = 0; q < plane; q++)
            ds->images[(size_t)k * plane + q] = px[q * (size_t)c + (size_t)(c == 1 ? 0 : k)];
    free(px);
    ds->n = 1, ds->rows = h, ds->cols = w, ds->channels = oc;
    return true;
}

static int predict(const Args *a, Model *m, const TrainConfig *t, Diag *d)
{
    /* a class for each image needs class scores; any output goes to --logits */
    const Node *last = GRAPH_NODE(m->g, m->g->nodes.len - 1);
    if ((last->out.rank != 1 || shape_numel(last->out) == 1) && !a->logits) {
        char s[64];
        diag_error(d, last->head_loc,
                   "--predict prints each image's class, but the network's output (%s '%s') is "
                   "%s, not a vector of class scores",
                   last->ops->name, last->path,
                   last->out.rank == 1 ? "one value" : shape_str(last->out, s));
        diag_hint(d, last->head_loc,
                  "add --logits FILE to write every output of every image (channels, then "
                  "rows, then columns)");
        return EXIT_BAD_INPUT;
    }
    Dataset ds = {0};
    float *raw = NULL; /* .f32 or .pgm: the network's input as floats */
    bool pgm = str_has_suffix(a->predict, ".pgm"), picture = image_named(a->predict);
    if (pgm) {
        int h, w;
        raw = pgm_load(a->predict, &h, &w, d);
        if (!raw)
            return EXIT_BAD_INPUT;
        if (!rt_check_image(m, 1, h, w, a->predict, d)) { /* a gray image for the net first */
            free(raw);
            return EXIT_BAD_INPUT;
        }
        int nn = ir_norm_values(t);
        if (nn > 1) { /* as the IDX path says (rt_check_dataset) */
            diag_error(d, (SrcLoc){0},
                       "%s: an image of 1 channel, but normalize gives %d values; give one for "
                       "every channel, or one for all",
                       a->predict, nn);
            free(raw);
            return EXIT_BAD_INPUT;
        }
        /* (x - mean) / std in float, as Normalize and the IDX path compute it */
        float mean = (float)t->mean[0], std = (float)t->std[0];
        for (int i = 0; i < h * w; i++)
            raw[i] = t->std[0] > 0 ? (raw[i] - mean) / std : raw[i];
        ds.n = 1;
        ds.rows = 1;
        ds.cols = h * w;
    } else if (str_has_suffix(a->predict, ".f32")) {
        raw = f32_load(a->predict, shape_numel(m->g->input), &ds.n, d);
        if (!raw)
            return EXIT_BAD_INPUT;
        ds.rows = 1;
        ds.cols = (int)shape_numel(m->g->input);
    } else if (str_has_suffix(a->predict, ".csv") || str_has_suffix(a->predict, ".csv.gz")) {
        /* a table of features; its label column, when there, is skipped */
        char **names = NULL, **cols = NULL;
        int nnames = 0, ncols = 0;
        training_columns(t, &cols, &ncols);
        CsvSpec spec = {.label = t->csv_label ? t->csv_label : "label",
                        .label_optional = true,
                        .skip_labels = true,
                        .learn = true,
                        .classes = &names,
                        .nclasses = &nnames,
                        .columns = cols ? &cols : NULL,
                        .ncolumns = &ncols};
        bool loaded = dataset_load_csv(&ds, a->predict, &spec, d);
        for (int k = 0; k < nnames; k++)
            free(names[k]);
        free(names);
        for (int k = 0; k < ncols; k++)
            free(cols[k]);
        free(cols);
        if (!loaded)
            return EXIT_BAD_INPUT;
    } else if (picture) {
        if (!picture_load(a->predict, t, &m->g->input, &ds, d))
            return EXIT_BAD_INPUT;
    } else if (!idx_load_images(a->predict, &ds.images, &ds.n, &ds.rows, &ds.cols, d)) {
        predict_formats_hint(a->predict, d);
        return EXIT_BAD_INPUT;
    }
    if (!ds.labels)
        ds.labels = calloc((size_t)ds.n + 1, 1);
    if (!ds.labels || (!raw && !rt_check_data(m, &ds, a->predict, d))) {
        free(raw);
        dataset_free(&ds);
        return EXIT_BAD_INPUT;
    }
    FILE *csv = NULL;
    SaveFile out = {.fd = -1};
    io_note_read(a->predict); /* whatever its format, --logits may not overwrite it */
    if (a->logits && (!record_file_ok(a->logits, d) || !save_begin(&out, a->logits, true, d) ||
                      !(csv = save_stream(&out, d)))) {
        if (out.fd >= 0)
            save_abort(&out);
        free(raw);
        dataset_free(&ds);
        return EXIT_BAD_INPUT;
    }
    int N = (int)rt_outputs(m), batch = m->max_batch;
    if (!rt_check_batch_stats(m, batch, ds.n, true, false, d)) {
        if (csv)
            save_abort(&out);
        free(raw);
        dataset_free(&ds);
        return EXIT_BAD_INPUT;
    }
    size_t per = dataset_image_bytes(&ds);
    float mean[NORM_MAX], std[NORM_MAX];
    bool norm = rt_norm(t, dataset_channels(&ds), mean, std);
    int nnames = 0, status = EXIT_OK;
    char **names = csv ? NULL : known_classes(t, &nnames);
    for (int start = 0; start < ds.n && status == EXIT_OK; start += batch) {
        int count = ds.n - start < batch ? ds.n - start : batch;
        if (raw)
            memcpy(m->input, raw + (size_t)start * per, sizeof(float) * per * (size_t)count);
        else
            for (int b = 0; b < count; b++)
                dataset_image_to_float(m->input + (size_t)b * per, &ds, start + b,
                                       norm ? mean : NULL, norm ? std : NULL);
        const float *logits = rt_forward(m, count, false);
        for (int b = 0; b < count; b++) {
            const float *row = logits + (size_t)b * (size_t)N;
            if (!outputs_finite(a->predict, start + b, row, N, d)) {
                status = EXIT_BAD_INPUT;
                break;
            }
            if (csv) {
                for (int k = 0; k < N; k++)
                    fprintf(csv, k ? ",%.9g" : "%.9g", (double)row[k]);
                fputc('\n', csv);
            } else if (pgm || picture) { /* one image: its three likeliest classes */
                top_classes(row, N, ir_output_read(m->g), names, nnames);
            } else {
                int best = 0;
                for (int k = 1; k < N; k++)
                    if (row[k] > row[best])
                        best = k;
                printf("%d %d", start + b, best);
                if (best < nnames) {
                    putchar(' ');
                    put_name(names[best]);
                }
                putchar('\n');
            }
        }
    }
    for (int k = 0; k < nnames; k++)
        free(names[k]);
    free(names);
    if (csv && status != EXIT_OK) {
        save_abort(&out);
    } else if (csv) {
        if (!save_commit(&out, d)) {
            status = EXIT_BAD_INPUT;
        } else if (!a->quiet) {
            char n[32];
            fprintf(stderr, "netrun: wrote the logits of %s image%s to %s\n",
                    fmt_thousands(n, ds.n), ds.n == 1 ? "" : "s",
                    strcmp(a->logits, "/dev/stdout") ? a->logits : "standard output");
        }
    }
    free(raw);
    dataset_free(&ds);
    return status;
}

/* The class names of an image-folder data set (its training split's folders). */
typedef struct Classes {
    char **name;
    int n;
    bool known;    /* the training split was read: name is its classes (NULL: class numbers) */
    char **column; /* a table's: the training table's feature columns, which the test's are */
    int ncolumns;
} Classes;

static void classes_free(Classes *c)
{
    for (int i = 0; c->name && i < c->n; i++)
        free(c->name[i]);
    free(c->name);
    for (int i = 0; c->column && i < c->ncolumns; i++)
        free(c->column[i]);
    free(c->column);
}

/* A CSV data set's test table: as given, or the training table's path with its last
 * "train" made "test" (iris_train.csv: iris_test.csv). NULL after a message. */
static const char *csv_test_path(Arena *a, const TrainConfig *t, Diag *d)
{
    if (t->csv_test && *t->csv_test)
        return t->csv_test;
    const char *p = t->data_dir, *base = strrchr(p, '/'), *at = NULL;
    for (const char *q = base ? base + 1 : p; (q = strstr(q, "train")) != NULL; q++)
        at = q;
    if (!at) {
        diag_error(d, (SrcLoc){0},
                   "%s: which table is the test split? its name has no 'train' to make "
                   "'test'; give it: data csv \"%s\" test=\"FILE\"",
                   p, p);
        return NULL;
    }
    return arena_printf(a, "%.*stest%s", (int)(at - p), p, at + 5);
}

/* After the data set failed to load: where the net file names it, unless --data did. */
static void data_note(const Args *a, const TrainConfig *t, Diag *d)
{
    const Setting *data = ir_setting_find("data");
    for (int i = 0; i < a->nset; i++)
        if (flags[a->set[i]].setting == data)
            return;
    SrcLoc at = t->at[data - ir_settings];
    if (at.line > 0)
        diag_note(d, at, "the train section's data set is named here");
}

/* The training or the test split of the train section's data set. */
static bool load_split(Arena *a, Dataset *ds, const TrainConfig *t, bool train, Classes *cls,
                       const Shape *in, Diag *d)
{
    /* data idx "" or --data '': the files' names alone would be said */
    if (t->data_dir && !*t->data_dir) {
        diag_error(d, (SrcLoc){0},
                   "the data set's path is empty (--data '', or an empty string in the train "
                   "section's data); '.' names the current folder");
        return false;
    }
    if (t->data_kind == DATA_CSV) {
        CsvSpec spec = {.label = t->csv_label,
                        .classes = &cls->name,
                        .nclasses = &cls->n,
                        .columns = &cls->column,
                        .ncolumns = &cls->ncolumns};
        if (!train && !cls->known) { /* the test table alone: the classes are train's */
            Dataset tr;
            spec.learn = true;
            if (!dataset_load_csv(&tr, t->data_dir, &spec, d))
                return false;
            dataset_free(&tr);
        }
        const char *path = train ? t->data_dir : csv_test_path(a, t, d);
        if (!train && path && !(t->csv_test && *t->csv_test) && access(path, F_OK) != 0 &&
            errno == ENOENT) {
            diag_error(d, (SrcLoc){0},
                       "%s: no such file: the test table, named after the training table "
                       "(its 'train' made 'test')",
                       path);
            diag_hint(d, (SrcLoc){0}, "give it: data csv \"%s\" test=\"FILE\"", t->data_dir);
            return false;
        }
        spec.learn = train;
        cls->known = path && dataset_load_csv(ds, path, &spec, d);
        return cls->known;
    }
    if (t->data_kind == DATA_CIFAR)
        return dataset_load_cifar(ds, t->data_dir, train, t->cifar_labels == 1, d);
    if (t->data_kind == DATA_FOLDER) {
        /* the images' size, when the net's input is it: not with resize, nor for the
         * training images that augment's crop fits to the net */
        int need_h = 0, need_w = 0;
        if (in->rank == 3 && !(train && t->crop > 0))
            need_h = (int)in->d[1], need_w = (int)in->d[2];
        /* a colour net reads every image as colour, as torchvision's loader converts it */
        return dataset_load_folder(ds, t->data_dir, train, &cls->name, &cls->n, (int)t->resize.v[0],
                                   (int)t->resize.v[t->resize.n > 1 ? 1 : 0], need_h, need_w,
                                   in->rank == 3 ? (int)in->d[0] : 0, d);
    }
    return dataset_load(ds, t->data_dir, train ? "train" : "t10k", d);
}

/* Checks a loaded split against the net, naming the images or labels file at fault; the
 * training split is cropped (augment), the test split taken as it is. */
static bool check_split(const Model *m, const Dataset *ds, bool training, Diag *d)
{
    return rt_check_dataset(m, ds, ds->images_file ? ds->images_file : "images",
                            ds->labels_file ? ds->labels_file : "labels", training, d);
}

/* The training and test images of one data set are of one shape (a flat net takes any of
 * its size, 28x28 as 784x1, and a folder checks each split alone): without augment's crop,
 * which fits training images of another size to the net, an error naming both. */
static bool splits_agree(const TrainConfig *t, const Dataset *train, const Dataset *test, Diag *d)
{
    if (t->crop > 0 || (dataset_channels(train) == dataset_channels(test) &&
                        train->rows == test->rows && train->cols == test->cols))
        return true;
    diag_error(d, (SrcLoc){0},
               "%s: the test images are %dx%dx%d (channels x height x width) but the training "
               "images %dx%dx%d (%s); a net learns from one shape",
               test->images_file ? test->images_file : t->data_dir, dataset_channels(test),
               test->rows, test->cols, dataset_channels(train), train->rows, train->cols,
               train->images_file ? train->images_file : t->data_dir);
    return false;
}

static void say_what_it_can_do(const char *net, const Graph *g)
{
    StrBuf sb;
    sb_init(&sb);
    ir_summary(g, &sb);
    fputs(sb.data, stdout);
    sb_free(&sb);
    printf("\nnothing to do: give an action.\n"
           "  netrun %s --train                     train (data: %s)\n"
           "  netrun %s --load W.safetensors --eval  evaluate weights on the test split\n"
           "  netrun %s --load W.safetensors --predict IMAGES.idx3-ubyte.gz|IMAGE.png|T.csv\n"
           "netrun --help lists every option.\n",
           net, g->train.data_dir ? g->train.data_dir : "give --data DIR", net, net);
}

/* ---- Ctrl-C: the first SIGINT or SIGTERM stops training after the step in progress and
 * saves the position (rt_train, RunOptions.stop); a second one exits at once, leaving the
 * last checkpoint as it was and removing the temporary file of a save in progress. */

static volatile sig_atomic_t stop_signal; /* the first signal's number; 0 before one came */

static void on_stop_signal(int sig)
{
    static const char first[] =
        "\nnetrun: interrupted: stopping after this step to save (interrupt again to exit now)\n";
    /* under mpirun the signal comes from mpirun: a Ctrl-C, or a process that died */
    static const char first_mpi[] =
        "\nnetrun: interrupted: every process stops after this step and saves (if a process "
        "died, mpirun ends the job and the last checkpoint stays as it was)\n";
    static const char again[] =
        "\nnetrun: interrupted again: exiting without saving; a checkpoint saved before stays "
        "as it was\n";
    bool say = dist_rank() == 0, mpi = dist_size() > 1;
    if (stop_signal) {
        save_abandon();
        if (say)
            (void)!write(STDERR_FILENO, again, sizeof again - 1);
        _exit(128 + sig);
    }
    stop_signal = sig;
    if (say)
        (void)!write(STDERR_FILENO, mpi ? first_mpi : first,
                     mpi ? sizeof first_mpi - 1 : sizeof first - 1);
}

/* Catches SIGINT and SIGTERM during training (on), or restores what was there (off). A
 * signal ignored when netrun started (nohup, a background job) stays ignored. */
static void catch_stop_signals(bool on)
{
    static struct sigaction old[2];
    static const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        if (on) {
            struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], NULL, &old[i]);
            if (old[i].sa_handler != SIG_IGN)
                sigaction(sigs[i], &sa, NULL);
        } else {
            sigaction(sigs[i], &old[i], NULL);
        }
    }
}

/* For tests: NETRUN_TEST_SIGNAL=STEP[,COUNT[,SIGNAL]] raises SIGNAL (default SIGINT) COUNT
 * times (default 1) right after optimiser step STEP, so an interruption lands on a known
 * step. */
typedef struct TestSignal {
    long long step;
    int count, sig;
} TestSignal;

static void raise_at_step(void *ctx, int64_t step)
{
    const TestSignal *ts = ctx;
    for (int i = 0; step == ts->step && i < ts->count; i++)
        raise(ts->sig);
}

/* A word as a POSIX shell reads it back: as it is, or in single quotes. */
static void put_shell_word(const char *w, FILE *f)
{
    if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                        "_-./=:,+@%") == strlen(w)) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (; *w; w++)
        fputs(*w == '\'' ? "'\\''" : (char[]){*w, 0}, f);
    fputc('\'', f);
}

/* After an interruption: where the position is saved and the command that continues the run:
 * this one's words without its --load, --checkpoint and --resume (found by the pointers getopt
 * left in a, which point into argv), then --resume FILE. --save stays: the weights go on to the
 * same file. */
static void say_how_to_resume(int argc, char **argv, const Args *a, const char *save,
                              const TrainPos *pos)
{
    const char *weights[4] = {a->load, a->checkpoint, a->resume, a->record};
    fflush(stdout);
    if (pos->batch)
        fprintf(stderr, "netrun: interrupted after step %lld (epoch %d, batch %d); ",
                (long long)pos->step, pos->epoch + 1, pos->batch);
    else
        fprintf(stderr, "netrun: interrupted after step %lld (epoch %d done); ",
                (long long)pos->step, pos->epoch);
    fprintf(stderr, "the training position is saved in %s\nto continue, run%s:\n  ", save,
            dist_size() > 1 ? " (under mpirun, with any number of processes)" : "");
    put_shell_word(argv[0], stderr);
    for (int i = 1; i < argc; i++) {
        bool drop = false;
        for (int k = 0; k < 4 && !drop; k++) {
            const char *v = weights[k];
            if (v && v > argv[i] && v <= argv[i] + strlen(argv[i])) /* --save=FILE */
                drop = true;
            if (v && i + 1 < argc && v == argv[i + 1]) /* --save FILE */
                drop = true, i++;
        }
        if (!drop) {
            fputc(' ', stderr);
            put_shell_word(argv[i], stderr);
        }
    }
    fputs(" --resume ", stderr);
    put_shell_word(save, stderr);
    fputc('\n', stderr);
}

/* ---- where training writes: the weights, and the training checkpoint beside them ---- */

/* The weights, the checkpoint and the run folder's best weights (or NULL) are three files
 * (one path, two spellings of it, or a link would let one save replace another's), and
 * neither of the first two is a record file of the run folder dir (or NULL). ckpt_from says
 * where the checkpoint's path came from, for the message. The one check of these clashes,
 * however they are spelled. */
static bool distinct_outputs(Arena *arena, const char *save, const char *ckpt,
                             const char *ckpt_from, const char *best, const char *dir, Diag *d)
{
    static const char *const record[] = {"metrics.jsonl", "net.net", "run.json"};
    for (int k = 0; dir && k < 3; k++) {
        const char *f = arena_printf(arena, "%s/%s", dir, record[k]);
        const char *out = save && io_same_file(save, f)   ? save
                          : ckpt && io_same_file(ckpt, f) ? ckpt
                                                          : NULL;
        if (out) {
            diag_error(d, (SrcLoc){0},
                       "%s is the run folder's %s, the record of the run; name another file", out,
                       record[k]);
            return false;
        }
    }
    if (save && ckpt && io_same_file(save, ckpt)) {
        diag_error(d, (SrcLoc){0},
                   "%s (the weights) and %s (the training checkpoint, %s) are one file; the "
                   "weights and the checkpoint need two",
                   save, ckpt, ckpt_from);
        return false;
    }
    const char *other = best && save && io_same_file(save, best)   ? save
                        : best && ckpt && io_same_file(ckpt, best) ? ckpt
                                                                   : NULL;
    if (other) {
        bool spelled_so = strcmp(other, best) == 0;
        diag_error(d, (SrcLoc){0},
                   "%s is the run folder's best weights%s%s%s, which the run keeps apart; name "
                   "another file",
                   other, spelled_so ? "" : " (", spelled_so ? "" : best, spelled_so ? "" : ")");
        return false;
    }
    return true;
}

/* Where the extension of path's last component starts (its last '.', not the first
 * character), or the end of path when it has none. */
static size_t ext_at(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot > base ? (size_t)(dot - path) : strlen(path);
}

/* The checkpoint beside a weights file: ".ckpt" before its extension
 * (mnist.safetensors: mnist.ckpt.safetensors). */
static char *ckpt_beside(Arena *arena, const char *weights)
{
    size_t at = ext_at(weights);
    return arena_printf(arena, "%.*s.ckpt%s", (int)at, weights, weights + at);
}

/* The weights beside a checkpoint named as ckpt_beside names it, or NULL. */
static char *weights_beside(Arena *arena, const char *ckpt)
{
    const char *base = strrchr(ckpt, '/');
    size_t b = base ? (size_t)(base + 1 - ckpt) : 0, at = ext_at(ckpt);
    if (strcmp(ckpt + at, ".ckpt") == 0 && at > b) /* "x.ckpt": "x" */
        return arena_strndup(arena, ckpt, at);
    if (at < b + 6 || strncmp(ckpt + at - 5, ".ckpt", 5) != 0) /* "x.ckpt.st": "x.st" */
        return NULL;
    return arena_printf(arena, "%.*s%s", (int)(at - 5), ckpt, ckpt + at);
}

/* ---- several processes (mpirun): see dist.h ---- */

/* The CRC-32 of the net's canonical IR (ir_dump: every attribute resolved, so `Conv2d 2 k3`
 * and `Conv2d 1->2 k3 s1 p0 d1` are one net): with its train section (but not where its
 * data is, which may differ from machine to machine), or without it and its name (what a
 * resumed run must train alike). legacy: of the text write_net makes, which keeps how
 * attributes were written, as checkpoints before 2026-12 recorded it. */
static uint32_t net_crc(const Graph *g, bool train, bool legacy)
{
    StrBuf sb;
    sb_init(&sb);
    Graph same = *g;
    same.train.data_dir = NULL;
    if (!train)
        same.train.present = false, same.name = "net";
    if (legacy)
        write_net(&same, &sb);
    else
        ir_dump(&same, &sb);
    uint32_t c = (uint32_t)crc32(0, (const Bytef *)sb.data, (uInt)sb.len);
    sb_free(&sb);
    return c;
}

/* The CRC-32 of a data set's labels and samples. */
static uint32_t data_crc(const Dataset *ds)
{
    uLong c = crc32(0, NULL, 0);
    size_t n = (size_t)ds->n, per = dataset_image_bytes(ds);
    c = crc32_z(c, ds->labels ? ds->labels : (const Bytef *)"", ds->labels ? n : 0);
    c = crc32_z(c, ds->images ? ds->images : (const Bytef *)"", ds->images ? n * per : 0);
    c = crc32_z(c, ds->features ? (const Bytef *)ds->features : (const Bytef *)"",
                ds->features ? n * per * sizeof(float) : 0);
    return (uint32_t)c;
}

/* A resumed run trains the network its checkpoint's position is in (pos->layers, when the
 * checkpoint has it), and inside an epoch the same images (pos->data); then pos gets this
 * run's sums, for its checkpoints. */
static bool same_run(const char *resume, const Graph *g, const Dataset *train, TrainPos *pos,
                     Diag *d)
{
    int64_t layers = 1 + (int64_t)net_crc(g, false, false), data = 1 + (int64_t)data_crc(train);
    if (resume && !pos->layers)
        diag_warning(d, (SrcLoc){0},
                     "%s: the checkpoint does not say which network it trained (netc.layers): "
                     "it is taken as %s's",
                     resume, g->name);
    if (resume && pos->layers && pos->layers != layers &&
        pos->layers != 1 + (int64_t)net_crc(g, false, true)) {
        diag_error(d, (SrcLoc){0},
                   "%s: the run trained another network: its layers or their settings differ "
                   "from %s's; resume with the net file it trained (its run folder keeps it as "
                   "net.net), or start a new run from its weights with --load",
                   resume, g->name);
        return false;
    }
    /* (as many images: rt_train says what a position inside an epoch of more or fewer means) */
    bool as_many = !pos->images || pos->images == train->n;
    if (resume && pos->data && pos->data != data && pos->batch > 0 && as_many) {
        diag_error(d, (SrcLoc){0},
                   "%s: stopped inside an epoch of other training images (as many, not the "
                   "same); resume with the data it was trained on",
                   resume);
        return false;
    }
    if (resume && pos->data && pos->data != data && pos->batch == 0 && as_many)
        diag_warning(d, (SrcLoc){0},
                     "%s: the training images are not those the run trained on; it goes on "
                     "with these",
                     resume);
    else if (resume && pos->data && pos->data != data && pos->batch == 0)
        diag_warning(d, (SrcLoc){0},
                     "%s: the run trained on %lld training images, and these are %d; it goes "
                     "on with these",
                     resume, (long long)pos->images, train->n);
    pos->layers = layers;
    pos->data = data;
    return true;
}

/* A fingerprint of what every process must have alike: the net with its settings, and
 * both data sets. */
static void fingerprint(uint32_t fp[5], const Graph *g, const Dataset *train, const Dataset *test)
{
    fp[0] = net_crc(g, true, false);
    const Dataset *ds[2] = {train, test};
    for (int k = 0; k < 2; k++) {
        fp[1 + 2 * k] = (uint32_t)ds[k]->n;
        fp[2 + 2 * k] = data_crc(ds[k]);
    }
}

/* Checks that every process has the net and data of process 0, then gives every process
 * process 0's weights, buffers, optimizer state and position (only process 0 read --load or
 * --resume), and makes the model one of the job's. */
static bool share_state(Model *m, Optim *o, TrainPos *pos, const Dataset *train,
                        const Dataset *test, const RunOptions *ro, Diag *d)
{
    if (!dist_all(true)) /* another process failed before (see main) */
        return false;
    uint32_t mine[6], first[6];
    fingerprint(mine, m->g, train, test);
    /* what decides when the processes meet: where a run stops, and whether it saves (an
     * MPMD launch may give each its own flags; one stopping or saving alone waits for ever) */
    char control[96];
    snprintf(control, sizeof control, "%lld %d %d %d", ro ? (long long)ro->max_steps : -1,
             ro && ro->save, ro && ro->checkpoint, ro && ro->best);
    mine[5] = (uint32_t)crc32(0, (const Bytef *)control, (uInt)strlen(control));
    memcpy(first, mine, sizeof mine);
    dist_bcast(first, sizeof first, 0);
    static const char *const what[6] = {"network (with its train settings)",
                                        "training set's size",
                                        "training set",
                                        "test set's size",
                                        "test set",
                                        "--steps, or what it saves (--save, --checkpoint, "
                                        "--record, --no-record)"};
    bool ok = true;
    for (int k = 0; k < 6 && ok; k++)
        if (mine[k] != first[k]) {
            diag_error(d, (SrcLoc){0}, "its %s differs from process 0's; every process needs %s",
                       what[k],
                       k < 5 ? "the same net, settings and data"
                             : "the same, as they decide when the processes exchange");
            ok = false;
        }
    if (!dist_all(ok))
        return false;
    dist_bcast(m->params, sizeof(float) * m->nparam_floats, 0);
    dist_bcast(m->bufs, sizeof(float) * m->nbuf_floats, 0);
    dist_bcast(&m->rng, sizeof m->rng, 0);
    if (o) { /* every state a checkpoint holds: AMSGrad's vmax, RMSprop's grad_avg too */
        dist_bcast(&o->step, sizeof o->step, 0);
        OptimState st[OPTIM_MAX_STATES];
        for (int k = optim_states(o, st) - 1; k >= 0; k--)
            dist_bcast(st[k].a, sizeof(float) * o->n, 0);
    }
    if (pos)
        dist_bcast(pos, sizeof *pos, 0);
    rt_model_distribute(m, dist_rank(), dist_size());
    /* from here on every problem is met by every process alike (a loss that is not finite,
     * a save process 0 could not make): process 0 alone says it */
    static FILE *quiet;
    if (dist_rank() > 0 && (quiet || (quiet = fopen("/dev/null", "w"))))
        d->out = quiet;
    return true;
}

static void say_communication(const TrainResult *tr)
{
    if (dist_size() < 2 || tr->steps < 1)
        return;
    DistStats st = dist_stats();
    /* the steps' own exchanges: not the start's broadcast, nor the evaluations' sums */
    double per = tr->seconds / (double)tr->steps, comm = tr->comm_seconds / (double)tr->steps;
    printf("communication (process 0 of %d): %.1f KB and %.2f ms per step, %.1f%% of a step's "
           "%.2f ms",
           dist_size(), tr->comm_bytes / (double)tr->steps / 1e3, comm * 1e3,
           per > 0 ? 100 * comm / per : 0, per * 1e3);
    if (st.wait > 0) /* NETRUN_MPI_WAIT=1 */
        printf("; %.2f ms waiting for the slowest process",
               tr->comm_wait / (double)tr->steps * 1e3);
    putchar('\n');
}

/* More threads than the cores this process is bound to, when it is bound to fewer than the
 * machine has: mpirun binds each process to one core by default, and --threads 2 then runs
 * both threads on it, at half the speed. (More threads than the machine has is a choice.) */
static void say_if_crowded(Diag *d)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    int cores = CPU_COUNT(&set), threads = rt_threads();
    if (cores >= threads || cores >= sysconf(_SC_NPROCESSORS_ONLN))
        return;
    diag_warning(d, (SrcLoc){0}, "%d threads, but this process may run on %d core%s only%s",
                 threads, cores, cores == 1 ? "" : "s",
                 dist_launched() ? ": start mpirun with --bind-to none, or with --map-by "
                                   "slot:PE=N for N threads a process"
                                 : "");
}

/* ---- --profile ---- */

static void profile_row(const char *name, const char *kind, double fwd, double bwd, double flops,
                        double step)
{
    char f[16] = "", b[16] = "", gf[16] = "";
    if (fwd > 0)
        snprintf(f, sizeof f, "%.3f", fwd * 1e3);
    if (bwd > 0)
        snprintf(b, sizeof b, "%.3f", bwd * 1e3);
    if (flops > 0 && fwd + bwd > 0)
        snprintf(gf, sizeof gf, "%.1f", flops / (fwd + bwd) / 1e9);
    printf("%-24s %-18s %10s %11s %8s %7.1f%%\n", name, kind, f, b, gf,
           step > 0 ? 100 * (fwd + bwd) / step : 0);
}

/* The table of --profile: a row a node, then the step's other parts, then their sum against
 * the step as measured around it. */
static void print_profile(const Graph *g, const Profile *pr, int threads)
{
    printf("profile of a training step of %s: batch %d, %d thread%s, the mean of %d steps "
           "after 3 warm-up: %.3f ms a step, %.0f img/s\n",
           g->name, pr->batch, threads, threads == 1 ? "" : "s", pr->steps, pr->step * 1e3,
           pr->step > 0 ? pr->batch / pr->step : 0);
    printf("%-24s %-18s %10s %11s %8s %8s\n", "node", "kind", "forward ms", "backward ms", "GFLOPS",
           "share");
    double sum = 0, flops_all = 0;
    for (int i = 0; i < g->nodes.len; i++) {
        const Node *n = GRAPH_NODE(g, i);
        double fwd = pr->node[2 * i], bwd = pr->node[2 * i + 1];
        /* a forward of 2 x MACs; a backward of twice that (input and weight gradients) */
        double flops = 6.0 * (double)n->macs * pr->batch;
        flops_all += flops;
        sum += fwd + bwd;
        char kind[64];
        snprintf(kind, sizeof kind, "%s%s", n->ops->name, fwd + bwd > 0 ? "" : " (fused)");
        profile_row(n->path ? n->path : "", kind, fwd, bwd, flops, pr->step);
    }
    profile_row("(chunks' gradients)", "added in order", 0, pr->fold, 0, pr->step);
    profile_row("(loss)", "", pr->loss, 0, 0, pr->step);
    profile_row("(optimizer step)", "", 0, pr->optim, 0, pr->step);
    profile_row("(batch of images)", "bytes to floats", pr->data, 0, 0, pr->step);
    sum += pr->fold + pr->loss + pr->optim + pr->data;
    printf("rows: %.3f ms, %.1f%% of the %.3f ms measured around a step; the layers: %.1f "
           "GFLOPS\n",
           sum * 1e3, pr->step > 0 ? 100 * sum / pr->step : 0, pr->step * 1e3,
           pr->step > 0 ? flops_all / pr->step / 1e9 : 0);
}

/* ---- the run's record (record.h) ---- */

/* run.json: what started the run and everything it was started with. */
static char *run_json(const Args *a, const Graph *g, int argc, char **argv, const Dataset *train,
                      const Dataset *val, const Dataset *test)
{
    json_object *o = json_object_new_object(), *cmd = json_object_new_array();
    for (int i = 0; i < argc; i++)
        json_object_array_add(cmd, json_object_new_string(argv[i]));
    json_object_object_add(o, "command", cmd);
    char cwd[4096], when[32];
    json_object_object_add(o, "cwd", json_object_new_string(getcwd(cwd, sizeof cwd) ? cwd : ""));
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_object_object_add(o, "started", json_object_new_string(when));
    json_object_object_add(o, "net", json_object_new_string(a->net));
    json_object_object_add(o, "network", json_object_new_string(g->name));
    json_object_object_add(o, "params", json_object_new_int64(g->nparams));
    json_object_object_add(o, "threads", json_object_new_int(rt_threads()));
    json_object_object_add(o, "processes", json_object_new_int(dist_size()));
    json_object *data = json_object_new_object();
    json_object_object_add(data, "train", json_object_new_int(train->n));
    json_object_object_add(data, "val", json_object_new_int(val->n));
    json_object_object_add(data, "test", json_object_new_int(test->n));
    json_object_object_add(o, "images", data);
    /* every setting resolved, defaults included, as the IR dump writes them */
    StrBuf sb;
    sb_init(&sb);
    ir_train_write(&sb, &g->train, TRAIN_DUMP);
    json_object *set = json_object_new_array();
    for (char *line = sb.data, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = 0;
        json_object_array_add(set, json_object_new_string(line + strspn(line, " ")));
    }
    sb_free(&sb);
    json_object_object_add(o, "settings", set);
    char *text = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

/* Whether --resume's checkpoint is in a run folder (that run's record goes on there). */
static bool resume_in_run(const char *resume)
{
    char *dir = strdup(resume), *slash = dir ? strrchr(dir, '/') : NULL;
    bool run = dir && record_is_run(slash ? (*slash = 0, dir) : ".");
    free(dir);
    return run;
}

/* The run folder: the one --resume's checkpoint is in (when it is a run folder and no
 * --record names another; rt_train writes its "resume" line), or a new one with net.net and
 * run.json written. */
static bool open_record(Record *rec, const Args *a, const Graph *g, int argc, char **argv,
                        const Dataset *train, const Dataset *val, const Dataset *test, int64_t step,
                        Diag *d)
{
    if (a->resume && !a->record && resume_in_run(a->resume)) {
        char *dir = strdup(a->resume), *slash = dir ? strrchr(dir, '/') : NULL;
        bool ok = dir && record_reopen(rec, slash ? (*slash = 0, dir) : ".", step, d);
        free(dir);
        return ok;
    }
    if (!record_create(rec, a->record, "runs", g->name, d))
        return false;
    StrBuf sb;
    sb_init(&sb);
    write_net(g, &sb);
    char *json = run_json(a, g, argc, argv, train, val, test);
    bool ok = json && record_write(rec, "net.net", sb.data, sb.len, d) &&
              record_write(rec, "run.json", json, strlen(json), d);
    if (!json)
        diag_error(d, (SrcLoc){0}, "out of memory");
    free(json);
    sb_free(&sb);
    return ok;
}

static int run(int argc, char **argv, char **typed, bool *collective);

int main(int argc, char **argv)
{
    int nproc = dist_init(&argc, &argv);
    /* a line as soon as it is written, to a file or a pipe too: `tail -f` of a long run's log
     * shows its epochs as they end, not everything at exit */
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool collective = false; /* the status was reached by every process alike */
    /* the words as typed, for the records (run.json, the sweep's runs, how to resume):
     * getopt_long moves argv's options before its operands */
    char **typed = malloc(sizeof(char *) * ((size_t)argc + 1));
    if (!typed) {
        fprintf(stderr, "netrun: error: out of memory\n");
        return EXIT_INTERNAL;
    }
    memcpy(typed, argv, sizeof(char *) * ((size_t)argc + 1));
    int status = io_stdout_status("netrun", run(argc, argv, typed, &collective));
    free(typed);
    /* A process that failed alone (bad input before share_state) says so to the others,
     * which wait in share_state's first call, and all end with their own status. */
    if (nproc > 1 && status != EXIT_OK && !collective)
        dist_all(false);
    dist_finalize();
    return status;
}

static int run(int argc, char **argv, char **typed, bool *collective)
{
    Args a = {0};
    int status = parse_args(argc, argv, &a);
    if (status != EXIT_OK)
        return status;
    int nproc = dist_size(), rank = dist_rank();
    if (a.profile && nproc > 1) { /* before any work, as every process sees it alike */
        fprintf(stderr, "netrun: error: --profile times one process: run it without mpirun\n");
        *collective = true;
        return EXIT_USAGE;
    }
    if (a.nsweeps) {
        if (nproc > 1) {
            fprintf(stderr, "netrun: error: --sweep runs its grid in one process; run it "
                            "without mpirun\n");
            return EXIT_USAGE;
        }
        /* the command line's -D values and flags, checked once (as each run would) before
         * the grid's folder and first run */
        Diag sd;
        diag_init(&sd, stderr, "netrun");
        Arena *sa = arena_new();
        bool bad_define = false;
        sweep_defines(a.defines, a.ndefines);
        Graph *sg = sweep_load(sa, a.net, a.sweeps, a.nsweeps, &bad_define, &sd);
        int st = !sg ? (bad_define ? EXIT_USAGE : EXIT_BAD_INPUT)
                     : apply_overrides(&a, &sg->train, sa, &sd);
        if (st == EXIT_OK)
            st = sweep_run(argc, typed, a.net, sg->name, a.sweeps, a.nsweeps, a.defines, a.ndefines,
                           a.quiet);
        arena_free(sa);
        return st;
    }
    /* process 0 alone predicts, plots or profiles: the others end at once, so its status,
     * a failure too, is not theirs to wait on (main's dist_all would wait forever) */
    if (nproc > 1 && !a.train && !a.eval)
        *collective = true;
    if (nproc > 1 && rank > 0) {
        if (!a.train && !a.eval)
            return EXIT_OK;
        if (!freopen("/dev/null", "w", stdout)) /* process 0 alone prints */
            return EXIT_INTERNAL;
    }
    Arena *arena = arena_new();
    Diag d;
    char prog[64] = "netrun";
    if (nproc > 1)
        snprintf(prog, sizeof prog, "netrun (process %d of %d)", rank, nproc);
    diag_init(&d, stderr, prog);
    if (a.plot) {
        int drawn = 0;
        bool ok = rank > 0 || plot_runs(a.out, (const char *const *)a.runs, a.nruns, &drawn, &d);
        if (ok && rank == 0 && !a.quiet)
            printf("wrote %s: %d run%s\n", a.out, drawn, drawn == 1 ? "" : "s");
        arena_free(arena);
        return ok ? EXIT_OK : EXIT_BAD_INPUT;
    }
    Dataset train = {0}, val = {0}, test = {0};
    Classes classes = {0};
    Record rec = {0};
    bool trained = false; /* rt_train ran a step, or ended well */
    Model *m = NULL;
    Optim *o = NULL;
    bool bad_define = false;
    FrontendOptions fo = {.defines = a.defines, .ndefines = a.ndefines, .bad_define = &bad_define};
    Graph *g = frontend_load_opts(arena, a.net, &fo, &d);
    if (!g || d.errors) {
        status = bad_define ? EXIT_USAGE : EXIT_BAD_INPUT;
        goto done;
    }
    if ((status = apply_overrides(&a, &g->train, arena, &d)) != EXIT_OK)
        goto done;
    TrainConfig *t = &g->train;
    if (!a.train && !a.eval && !a.predict && !a.profile) {
        say_what_it_can_do(a.net, g);
        goto done;
    }
    rt_set_threads((int)a.threads);
    say_if_crowded(&d);
    status = EXIT_BAD_INPUT;
    if ((a.train || a.eval || a.profile) && !t->data_dir) {
        if (t->present)
            diag_error(&d, (SrcLoc){0},
                       "%s: no data: the train section has no 'data' and no --data "
                       "was given",
                       a.net);
        else
            diag_error(&d, (SrcLoc){0},
                       "%s: no data: the file has no train section (and no --data was given)",
                       a.net);
        diag_hint(&d, (SrcLoc){0},
                  "name the data set: 'data idx \"DIR\"' in a train section, or --data DIR");
        goto done;
    }
    if (a.eval && a.eval_val && t->val <= 0) {
        diag_error(&d, (SrcLoc){0},
                   "--eval-on val: the train section holds out no validation set; give 'val "
                   "0.1' there, or --val 0.1, as the training run did");
        goto done;
    }
    if (a.predict && a.train) { /* a missing file is known before the training, not after */
        FILE *pf = fopen(a.predict, "rb");
        struct stat ps;
        if (!pf || fstat(fileno(pf), &ps) != 0 || S_ISDIR(ps.st_mode)) {
            char eb[128];
            if (pf)
                diag_error(&d, (SrcLoc){0}, "%s: is a directory, expected a file", a.predict);
            else
                diag_error(&d, (SrcLoc){0}, "%s: cannot open: %s", a.predict,
                           io_errstr(errno, eb, sizeof eb));
            if (pf)
                fclose(pf);
            goto done;
        }
        fclose(pf);
    }
    bool need_train = a.train || a.profile || (a.eval && a.eval_val);
    if (t->data_kind == DATA_FOLDER && t->resize.v[0] > 0 && t->crop == 0 && g->input.rank == 3 &&
        (need_train || a.train || a.eval)) {
        /* every image is resized to this: a size the net cannot take is known before any
         * image is decoded (and resized: seconds and megabytes an image at 4096) */
        int64_t rh = t->resize.v[0], rw = t->resize.v[t->resize.n > 1 ? 1 : 0];
        if (rh != g->input.d[1] || rw != g->input.d[2]) {
            const Setting *st = ir_setting_find("data");
            SrcLoc at = st ? t->at[st - ir_settings] : (SrcLoc){0};
            char s[64];
            diag_error(&d, at,
                       "resize=[%lld, %lld] makes the images %lldx%lld, but network '%s' takes "
                       "input %s",
                       (long long)rh, (long long)rw, (long long)rh, (long long)rw, g->name,
                       shape_str(g->input, s));
            diag_hint(&d, at, "resize=[%lld, %lld]", (long long)g->input.d[1],
                      (long long)g->input.d[2]);
            goto done;
        }
    }
    if ((need_train && !load_split(arena, &train, t, true, &classes, &g->input, &d)) ||
        ((a.train || a.eval) && !load_split(arena, &test, t, false, &classes, &g->input, &d))) {
        data_note(&a, t, &d);
        goto done;
    }
    if (classes.n && !a.quiet && rank == 0) { /* image folders: which label is which */
        printf("classes of %s:", t->data_dir);
        for (int k = 0; k < classes.n; k++) {
            printf(" %d ", k);
            put_name(classes.name[k]);
            fputs(k + 1 < classes.n ? "," : "\n", stdout);
        }
    }
    m = rt_model_new(g, t->batch, &d);
    if (!m)
        goto done;
    /* the validation images, held out of the training split, are taken whole as the test
     * images are: with a crop they too must have the net's input size */
    if (need_train && a.train && t->val > 0 && !a.eval_val && check_split(m, &train, true, &d) &&
        !check_split(m, &train, false, &d)) {
        diag_note(&d, (SrcLoc){0},
                  "the validation set (val %g) is held out of those images and evaluated whole, "
                  "as the test images are, while augment's crop fits the training images to "
                  "the net",
                  t->val);
        status = EXIT_BAD_INPUT;
        goto done;
    }
    if ((need_train && !check_split(m, &train, !a.eval_val, &d)) ||
        ((a.train || a.eval) && !check_split(m, &test, false, &d)))
        goto done;
    /* each fits the net; a flat one takes any shape of its size, but not two of them */
    if (need_train && (a.train || a.eval) && !splits_agree(t, &train, &test, &d)) {
        data_note(&a, t, &d);
        goto done;
    }
    if (need_train && !dataset_split(&train, &val, t->val, t->seed, &d))
        goto done;
    rt_model_init(m, t->seed);
    if (a.load && rank == 0 &&
        (!ckpt_load(a.load, m, &d) ||
         (a.eval && a.eval_val && !a.train && !ckpt_check_split(a.load, t, &d))))
        goto done;
    if (!a.load && !a.resume && !a.train)
        diag_warning(&d, (SrcLoc){0}, "no --load: using the untrained initial weights (seed %llu)",
                     (unsigned long long)t->seed);
    if (a.profile) {
        o = optim_new(t, m->nparam_floats);
        Profile pr;
        if (!rt_profile(m, o, &train, 3, a.steps ? (int)a.steps : 20, &pr, &d))
            goto done;
        print_profile(g, &pr, rt_threads());
        free(pr.node);
    }
    if (a.train && m->nparam_floats == 0) { /* torch.optim: "got an empty parameter list" */
        diag_error(&d, g->name_loc, "network '%s' has no parameters to train", g->name);
        diag_hint(&d, g->name_loc,
                  "--eval or --predict run it as it is; training needs a layer with "
                  "weights (Conv2d, Linear, BatchNorm)");
        goto done;
    }
    if (a.train) {
        o = optim_new(t, m->nparam_floats);
        TrainPos pos = {0};
        rng_seed(&pos.epoch_rng, t->seed ^ 0x5348554646ull);
        pos.drop_rng = m->rng;
        if (a.resume && rank == 0 && !ckpt_resume(a.resume, m, o, &pos, &d))
            goto done;
        if (rank == 0 && !same_run(a.resume, g, &train, &pos, &d))
            goto done;
        /* weights trained from --load may replace the file they came from when --save names
         * it (the checkpoint resumed goes on in its file: ckpt_resume) */
        if (a.load && a.save && io_same_file(a.load, a.save))
            io_may_rewrite(a.load);
        /* the weights: --save, or beside the checkpoint resumed from (when named so), or in
         * the run folder, or NAME.safetensors; the checkpoint: --checkpoint, or the one resumed
         * from, or in the run folder (when the weights are), or beside the weights */
        /* a run without a record (--no-record) resumed goes on without one, unless --record
         * asks for one: a new folder would hold only the epochs after the resume */
        bool recording = !a.no_record && (!a.resume || a.record || resume_in_run(a.resume));
        /* --resume with --record NEW: NEW is the run's folder from here on, checkpoint
         * included (written on in the old one, it split the record in two) */
        bool stays = a.resume && !a.record;
        const char *save = a.save ? a.save : stays ? weights_beside(arena, a.resume) : NULL;
        bool in_run = !save && recording;
        if (!save && !in_run)
            save = arena_printf(arena, "%s.safetensors", g->name);
        const char *ckpt = a.checkpoint ? a.checkpoint
                           : stays      ? a.resume
                           : in_run     ? NULL
                                        : ckpt_beside(arena, save);
        /* a bad path fails now, not after an epoch, and before the run folder is made */
        if (rank == 0 &&
            ((save && !save_check(save, false, &d)) || (ckpt && !save_check(ckpt, false, &d))))
            goto done;
        /* the run folder, made by process 0 (the others know only that there is one) */
        if (recording && rank == 0 &&
            !open_record(&rec, &a, g, argc, typed, &train, &val, &test, pos.step, &d))
            goto done;
        const char *dir = rec.dir ? rec.dir : "(process 0's run folder)";
        if (in_run) {
            save = arena_printf(arena, "%s/weights.safetensors", dir);
            if (!ckpt)
                ckpt = arena_printf(arena, "%s/checkpoint.safetensors", dir);
        }
        const char *best = recording ? arena_printf(arena, "%s/best.safetensors", dir) : NULL;
        const char *ckpt_from = a.checkpoint ? "--checkpoint"
                                : a.resume   ? "--resume"
                                             : "beside the weights";
        if (rank == 0 && !distinct_outputs(arena, save, ckpt, ckpt_from, best, rec.dir, &d))
            goto done;
        TestSignal ts = {-1, 1, SIGINT};
        const char *env = getenv("NETRUN_TEST_SIGNAL");
        if (env)
            sscanf(env, "%lld,%d,%d", &ts.step, &ts.count, &ts.sig);
        RunOptions ro = {
            .max_steps = a.steps,
            .save = save,
            .checkpoint = ckpt,
            .resume = a.resume,
            .best = best,
            .val = val.n ? &val : NULL,
            .record = rec.dir ? &rec : NULL,
            .log_every = (int)a.log_every,
            .progress = (a.progress || isatty(fileno(stdout))) && !a.quiet && rank == 0,
            .quiet = a.quiet,
            .out = stdout,
            .stop = &stop_signal,
            .on_step = env ? raise_at_step : NULL,
            .ctx = &ts,
            .argc = recording && a.resume && !a.record && resume_in_run(a.resume) ? argc : 0,
            .argv = typed,
        };
        *collective = true; /* share_state's failures are agreed; so are rt_train's */
        if (nproc > 1 && !share_state(m, o, &pos, &train, &test, &ro, &d))
            goto done;
        char banner[512] = "";
        if (!a.quiet) {
            char np[32], ni[32], nv[32], steps[64] = "";
            if (a.steps)
                snprintf(steps, sizeof steps, ", stopping after step %ld", a.steps);
            char procs[64] = "";
            if (nproc > 1)
                snprintf(procs, sizeof procs, "%d processes of ", nproc);
            char held[64] = "";
            if (val.n)
                snprintf(held, sizeof held, " (%s held out for validation)",
                         fmt_thousands(nv, val.n));
            snprintf(
                banner, sizeof banner,
                "training %s: %s params, %d epoch%s of %s image%s%s, batch %d, %s%d thread%s%s\n",
                g->name, fmt_thousands(np, g->nparams), t->epochs, t->epochs == 1 ? "" : "s",
                fmt_thousands(ni, train.n), train.n == 1 ? "" : "s", held, t->batch, procs,
                rt_threads(), rt_threads() == 1 ? "" : "s", steps);
            ro.banner = banner;
        }
        catch_stop_signals(true);
        dist_stats_reset();
        TrainResult tr = rt_train(m, o, &pos, &train, &test, &ro, &d);
        catch_stop_signals(false);
        trained = tr.ok || tr.steps > 0 || tr.interrupted;
        if (!tr.ok)
            goto done;
        if (!a.quiet)
            say_communication(&tr);
        if (rec.dir && !a.quiet)
            printf("run recorded in %s/\n", rec.dir);
        if (tr.interrupted) {
            if (rank == 0)
                say_how_to_resume(argc, typed, &a, ckpt, &pos);
            status = 128 + stop_signal;
            goto done;
        }
        if (!a.quiet && tr.saves)
            printf("saved %s (weights) and %s (training checkpoint, for --resume)\n", save, ckpt);
    }
    if (a.eval) {
        *collective = true;
        if (nproc > 1 && !a.train && !share_state(m, NULL, NULL, &train, &test, NULL, &d))
            goto done;
        double t0 = now_seconds();
        if (a.confusion && rank == 0 &&
            (!record_file_ok(a.confusion, &d) || !save_check(a.confusion, false, &d)))
            goto done;
        int64_t N = rt_outputs(m);
        if (a.confusion && N > DATA_MAX_CLASSES) { /* an N x N table, printed and drawn */
            diag_error(&d, (SrcLoc){0},
                       "--confusion: %s has %lld outputs; a confusion matrix is drawn for at "
                       "most %d classes (the most a label can name)",
                       g->name, (long long)N, DATA_MAX_CLASSES);
            goto done;
        }
        int64_t *cm = a.confusion ? calloc((size_t)(N * N), sizeof *cm) : NULL;
        if (a.confusion && !cm) {
            diag_error(&d, (SrcLoc){0}, "out of memory for a %lldx%lld confusion matrix",
                       (long long)N, (long long)N);
            goto done;
        }
        if (!rt_check_batch_stats(m, t->batch, (a.eval_val ? &val : &test)->n, true, false, &d)) {
            free(cm);
            goto done;
        }
        EvalResult ev = rt_evaluate_cm(m, a.eval_val ? &val : &test, t->batch, t, cm);
        double el = now_seconds() - t0;
        if (!isfinite(ev.loss)) { /* finite weights can overflow; an accuracy of NaNs is noise */
            diag_error(&d, (SrcLoc){0},
                       "%s loss is %s: float arithmetic overflowed in the net with these "
                       "weights (finite weights can, as a weight of 3e38 does)",
                       a.eval_val ? "the val" : "the test", isnan(ev.loss) ? "nan" : "infinite");
            free(cm);
            goto done;
        }
        char n[32], rate[32];
        printf("%s: loss %.4f  accuracy %.4f  (%s images, %s img/s, batch %d)\n",
               a.eval_val ? "val" : "test", ev.loss, ev.accuracy, fmt_thousands(n, ev.n),
               fmt_thousands(rate, (int64_t)(el > 0 ? ev.n / el : 0)), t->batch);
        if (cm) {
            char title[512];
            snprintf(title, sizeof title, "%s on %s (%s images)", g->name,
                     a.eval_val ? "val" : "test", n);
            confusion_print(stdout, cm, (int)N);
            bool drawn = rank > 0 || plot_confusion(a.confusion, cm, (int)N, title, classes.name,
                                                    classes.n, &d);
            free(cm);
            if (!drawn)
                goto done;
            if (!a.quiet)
                printf("wrote %s\n", a.confusion);
        }
    }
    if (a.predict && rank == 0) {
        rt_model_distribute(m, 0, 1); /* process 0 predicts alone */
        if (predict(&a, m, t, &d) != EXIT_OK)
            goto done;
    }
    status = EXIT_OK;
done:
    classes_free(&classes);
    if (trained)
        record_close(&rec);
    else /* the run never started (its checks failed): no half-made run folder is left */
        record_discard(&rec);
    optim_free(o);
    rt_model_free(m);
    dataset_free(&val);
    dataset_free(&train);
    dataset_free(&test);
    arena_free(arena);
    return status;
}
