/* ir.h: the network IR, the layer registry and the shape pass.
 *
 * Design choice: a Graph keeps two views of one network. `root` is the tree as written
 * (groups and layers, with their names and source locations) so that writers can print the
 * file back and names follow PyTorch's state_dict rule; `nodes` is the flat execution order
 * the shape pass, runtime and code generator walk. Every node knows its inputs, so residual
 * joins and branches can be added without a change of representation. A layer kind is a
 * LayerOps record defined in its own file in src/layers/; the list of kinds is layers.def. */
#ifndef NETC_IR_H
#define NETC_IR_H

#include <stddef.h>

#include "base.h"

/* ---- shapes ---- */

#define SHAPE_MAX_RANK 4
/* The most values one tensor may hold per sample (activations, parameters): sizes are C ints
 * in the runtime and the generated code. */
#define SHAPE_MAX_NUMEL ((int64_t)INT32_MAX)
/* A per-sample shape (no batch dimension): C,H,W for images, N for vectors. */
typedef struct Shape {
    int rank;
    int64_t d[SHAPE_MAX_RANK];
} Shape;

int64_t shape_numel(Shape s);
/* "1x28x28"; buf >= 64 bytes. */
char *shape_str(Shape s, char *buf);
Shape shape_make(int rank, const int64_t *d);

/* ---- attributes ---- */

typedef enum {
    ATTR_INT,    /* 32 */
    ATTR_INTS,   /* 3, [3, 5] or 3x5: stored as a list; n is how many were given */
    ATTR_FLOAT,  /* 0.5 */
    ATTR_FLOATS, /* [0.9, 0.999] */
    ATTR_BOOL,   /* true/false, on/off, yes/no */
    ATTR_ENUM,   /* one word of `choices` */
    ATTR_STRING, /* "path" */
} AttrType;

#define ATTR_MAX_LIST 16

typedef struct AttrSpec {
    const char *name;   /* long name: kernel */
    const char *shortp; /* short prefix for `k3`, or NULL */
    AttrType type;
    const char *def;            /* default written as in a net file; NULL: none (see help) */
    bool required;              /* must be given (else: default, or inferred by the shape rule) */
    double min, max;            /* range of each number */
    int min_len, max_len;       /* list lengths for ATTR_INTS/FLOATS (a scalar counts as 1) */
    const char *const *choices; /* ATTR_ENUM: NULL-terminated */
    const char *help;           /* one line for --list-layers */
    bool none;                  /* ATTR_FLOAT: may also be `none` (PyTorch's None), held as NaN */
    const char *const *words;   /* ATTR_INTS: words it may be instead (padding=same), NULL-
                                   terminated: the word in AttrVal.s, the numbers zero until
                                   the shape rule works them out */
} AttrSpec;

typedef struct AttrVal {
    bool set;   /* given explicitly in the file (else the default, or not known yet) */
    SrcLoc loc; /* the argument's text when set */
    int n;      /* list length */
    int64_t i[ATTR_MAX_LIST];
    double f[ATTR_MAX_LIST];
    bool b;
    int e;         /* ATTR_ENUM: index into choices */
    const char *s; /* ATTR_STRING, ATTR_ENUM (the word) */
} AttrVal;

/* A pair attribute: an integer or two (kernel, stride, padding, dilation). However it was
 * written, `3` or `[3, 5]`, its value holds both in i[0] and i[1] (attr_fill_pair, called
 * wherever a value is made), so users read i[0] and i[1]; n stays as written (1 or 2), so
 * that writers print `kernel=3` back. */
static inline bool attr_is_pair(const AttrSpec *s)
{
    return s->type == ATTR_INTS && s->min_len == 1 && s->max_len == 2;
}
void attr_fill_pair(const AttrSpec *spec, AttrVal *v);
/* Parses an attribute's default text into v (used by lowering and the registry test).
 * Returns false if the text does not fit the spec: a registry bug. */
bool attr_parse_default(const AttrSpec *spec, AttrVal *v);
/* Writes a value as a net file would: `3`, `[3, 5]`, `0.001`, `true`, `xavier_uniform`. */
void attr_format(StrBuf *sb, const AttrSpec *spec, const AttrVal *v);
/* Writes s quoted as the .net syntax reads it back (\n, \t, \" and \\ escaped), or as a
 * YAML double-quoted scalar (line breaks, controls and YAML's non-characters escaped). */
void attr_quote(StrBuf *sb, const char *s, bool yaml);
/* s's characters as the inside of a YAML double-quoted scalar (line breaks, controls and
 * U+FFFE/U+FFFF escaped); in_expr: s is a string inside an expression, whose own \" and \\
 * escapes come first. */
void attr_yaml_chars(StrBuf *sb, const char *s, bool in_expr);

/* ---- initialisers (PyTorch's names) ---- */

#define IR_INITS(X)                                                                                \
    X(DEFAULT, "default")                                                                          \
    X(KAIMING_UNIFORM, "kaiming_uniform")                                                          \
    X(KAIMING_NORMAL, "kaiming_normal")                                                            \
    X(XAVIER_UNIFORM, "xavier_uniform")                                                            \
    X(XAVIER_NORMAL, "xavier_normal")                                                              \
    X(ZEROS, "zeros")
typedef enum {
#define X(id, name) INIT_##id,
    IR_INITS(X)
#undef X
} InitKind;
extern const char *const ir_init_names[]; /* NULL-terminated, in InitKind order */

/* ---- nodes and graph ---- */

typedef enum {
#define LAYER(id, sym) LAYER_##id,
#include "layers.def"
#undef LAYER
    LAYER__COUNT
} LayerKind;

typedef struct LayerOps LayerOps;
typedef struct Node Node;
typedef struct Graph Graph;

/* A parameter, or a buffer: state that is saved under its state_dict name but not trained
 * (BatchNorm's running statistics). */
/* The longest state_dict name of a parameter or buffer: a checkpoint prefixes optimizer
 * state with "optim.grad_avg." (15 bytes), and a safetensors name here is at most 1024. */
#define IR_MAX_PARAM_NAME 1000

typedef struct Param {
    const char *name;   /* full state_dict name: layer1.0.weight */
    const char *suffix; /* weight, bias, running_mean */
    Shape shape;        /* PyTorch layout: conv [out,in,kh,kw], linear [out,in] */
    int64_t fan_in, fan_out;
    bool buffer;  /* not trained: no gradient, no optimiser state, not in the param count */
    bool integer; /* stored as int64 in checkpoints (num_batches_tracked); a float in memory,
                     exact up to 2^24 */
    bool zero_if_missing; /* a file without it loads it as 0, as the PyTorch module's own
                             loading does (BatchNorm's num_batches_tracked) */
    bool nonneg;          /* never negative (BatchNorm's running_var): a file's negative value
                             is refused, as a non-finite one is */
} Param;

#define NODE_MAX_PARAMS 6
/* The most inputs of one join (Add, Concat). */
#define IR_MAX_JOIN 16

/* Where a node was expanded from: a template's use or a repeat's copy, in the one outside
 * it (outer), up to the network's own statements. */
typedef struct ExpCtx {
    SrcLoc at;
    const char *what; /* "in template 't', used here" */
    const struct ExpCtx *outer;
} ExpCtx;

struct Node {
    Graph *graph; /* the owner */
    int id;       /* index in Graph.nodes */
    LayerKind kind;
    const LayerOps *ops;
    const char *path; /* dotted name: layer1.0, fc */
    SrcLoc loc;       /* the whole statement */
    SrcLoc head_loc;  /* the layer keyword */
    /* made by a template's use or a repeat's copy (innermost first, then what that one is
     * in): a note for each at its errors ("in template 't', used here"); NULL otherwise */
    const struct ExpCtx *ctx;
    AttrVal *attrs; /* ops->nattrs values, in spec order */
    int ninputs;    /* 1, or more for a join (ops->max_inputs) */
    Node **inputs;  /* the producers, in order; NULL stands for the network's input */
    int nuses;      /* the nodes that read this one's output (the shape pass counts them) */
    /* For a join: how its statement named each input (`join add a b`: "a", "b") and where
     * that input is defined, for messages; NULL for other nodes. */
    const char **in_names;
    SrcLoc *in_locs;
    const char *join_what; /* how messages name the join ("residual 'block2'"), or NULL */
    bool join_residual;    /* a residual's add without a shortcut: hint at one */
    Shape in, out;         /* in: inputs[0]'s shape (ir_input_shape gives the others) */
    bool shaped;           /* the shape pass computed `out` */
    int nparams;
    Param params[NODE_MAX_PARAMS];
    int64_t macs; /* multiply-accumulates per sample, forward */
};

/* The tree as written: one layer, or a block of items:
 *   group     `name { ... }`: its items in sequence;
 *   branch    `name: branch { ... }`: its items in sequence, on the tensor current where it
 *             stands, which stays current after it; its output is named for a join;
 *   residual  `[name:] residual { ... }`: its items on the current tensor, plus that tensor
 *             (or its `shortcut` group's output), added by its node;
 *   join      `[name:] join add|concat a b ...`: one node on the named siblings' outputs. */
typedef enum { ITEM_LAYER, ITEM_GROUP, ITEM_BRANCH, ITEM_RESIDUAL, ITEM_JOIN } ItemKind;

typedef struct Item {
    ItemKind kind;
    bool is_group;    /* group, branch or residual: has children */
    const char *name; /* explicit name (label or group name), or NULL */
    const char *path; /* dotted path */
    SrcLoc loc;
    Node *node;       /* a layer's or a join's node; a residual's Add */
    PtrVec children;  /* a block's items: Item* */
    bool is_shortcut; /* the `shortcut` group of a residual (it takes no position) */
    int nrefs;        /* a join: the names it joins, as written */
    const char **refs;
    Node *out;     /* the node whose output the item gives; NULL: the network's input */
    bool used;     /* a branch: a join names it */
    bool bad_join; /* a block: one of its joins was in error (no "never joined" on top) */
    int npos;      /* a block: its children that take a position (all but a shortcut) */
} Item;

typedef enum { LOSS_CROSS_ENTROPY, LOSS_MSE, LOSS_NLL } LossKind;
typedef enum { DATA_IDX, DATA_CIFAR, DATA_FOLDER, DATA_CSV } DataKind;
typedef enum { OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_ADAGRAD, OPT_ADADELTA } OptKind;
typedef enum {
    SCHED_NONE,
    SCHED_STEP,
    SCHED_MULTISTEP,
    SCHED_EXPONENTIAL,
    SCHED_COSINE,
    SCHED_ONECYCLE,
    SCHED_LINEAR,
    SCHED_PLATEAU,
} SchedKind;

/* A list of integers of varying length as one member (MultiStepLR's milestones). */
typedef struct IntList {
    int n;
    int64_t v[ATTR_MAX_LIST];
} IntList;

#define SETTING_MAX 32    /* settings: bits of TrainConfig.given */
#define TRAIN_VAL_MAX 0.9 /* the largest validation share (val, --val) */

/* The most channels normalize gives values for. */
#define NORM_MAX 4

/* The train section, with PyTorch's defaults for everything not written. Each member is
 * filled from the settings table (settings.c: TrainField), which also gives its default. */
typedef struct TrainConfig {
    bool present;           /* the file has a train section */
    SrcLoc loc;             /* its `train` */
    uint32_t given;         /* bit i: ir_settings[i] was written (or set by a netrun flag) */
    SrcLoc at[SETTING_MAX]; /* at[i]: where ir_settings[i]'s statement is (zero: not written) */
    uint8_t common_given[SETTING_MAX]; /* bit j: ir_settings[i]'s common value j (an
                                          optimizer's lr) was written, or set by a flag */
    const char *data_dir;              /* NULL: none given */
    int data_kind;                     /* DataKind */
    int cifar_labels;                  /* CIFAR-100: 0 fine, 1 coarse */
    const char *csv_label;             /* csv: the label column's name */
    const char *csv_test; /* csv: the test table ("": derived from the training table's) */
    IntList resize;       /* folder: [H, W] or [N] (N x N) to resize to; [0]: none */
    LossKind loss;
    double label_smoothing; /* cross_entropy */
    OptKind opt;
    double lr, momentum, dampening, weight_decay, eps;
    double betas[2]; /* Adam, AdamW */
    bool amsgrad;    /* Adam, AdamW */
    bool nesterov;
    double alpha;                               /* RMSprop: the squares' smoothing constant */
    bool centered;                              /* RMSprop */
    double rho;                                 /* Adadelta */
    double lr_decay, initial_accumulator_value; /* Adagrad */
    bool maximize; /* every optimizer: the gradient negated first, as torch.optim's */
    SchedKind sched;
    int step_size;          /* StepLR */
    IntList milestone_list; /* MultiStepLR */
    double gamma;           /* Step, MultiStep, Exponential */
    int t_max;              /* CosineAnnealingLR (epochs) */
    double eta_min;
    double max_lr, pct_start, div_factor, final_div_factor; /* OneCycleLR (per batch) */
    int total_steps;     /* OneCycleLR; 0: epochs * steps per epoch */
    int anneal_strategy; /* OneCycleLR: 0 cos, 1 linear */
    bool cycle_momentum, three_phase;
    double base_momentum, max_momentum;
    double start_factor, end_factor; /* LinearLR */
    int total_iters;
    /* ReduceLROnPlateau: mode 0 min (the loss), 1 max (the accuracy); threshold_mode 0 rel,
     * 1 abs */
    int plateau_mode, patience, threshold_mode, cooldown;
    double factor, threshold, min_lr, plateau_eps;
    int warmup; /* linear warm-up over this many steps (per batch), 0: none */
    /* clip_grad_norm (max_norm > 0, norm_type in [1, inf]) and clip_grad_value (> 0); 0: not
     * written */
    double clip_norm, clip_norm_type, clip_value;
    int batch, epochs;
    int chunks; /* a batch is cut into at most this many chunks (0: the default, 8) */
    uint64_t seed;
    bool shuffle;
    double val;     /* share of the training set held out for validation (0: none) */
    int early_stop; /* epochs without a better accuracy before stopping (0: never) */
    int crop, pad;  /* augment: RandomCrop(crop, padding=pad); crop 0: none */
    bool flip;      /* augment: RandomHorizontalFlip(0.5) */
    /* normalize: a value for every channel, or one for all; the unused ones NaN;
     * std[0] == 0: no normalisation */
    double mean[NORM_MAX], std[NORM_MAX];
} TrainConfig;

struct Graph {
    Arena *arena; /* owns the graph; not owned by it */
    const char *name;
    SrcLoc name_loc;
    Shape input;
    SrcLoc input_loc;
    Item *root;   /* the top-level group (no name) */
    PtrVec nodes; /* Node*, execution order */
    TrainConfig train;
    int64_t nparams, macs;
    bool shaped; /* the shape pass succeeded for every node */
};

#define GRAPH_NODE(g, i) ((Node *)(g)->nodes.items[i])

Graph *ir_graph_new(Arena *a);
/* Appends a node of kind k (attrs set to their defaults, unset) to the execution order; its
 * input is the node before it (or the network's input). */
Node *ir_node_add(Graph *g, LayerKind k, SrcLoc loc);
/* Sets n's inputs (NULL: the network's input); each must come before n. */
void ir_node_set_inputs(Node *n, Node *const *inputs, int k);
/* The shape of input k of a shaped node. */
Shape ir_input_shape(const Node *n, int k);
/* Runs every layer's shape rule in order; fills shapes, params, MACs and totals.
 * Reports errors to d; returns g->shaped. */
bool ir_shape(Graph *g, Diag *d);
/* The train section against a shaped net, as far as the file alone tells: augment's crop is
 * the input's size, and normalize gives one value for all channels or one for each. Errors
 * at the setting; false after one. */
bool ir_check_train(const Graph *g, Diag *d);
/* The canonical text dump used by golden tests: one line per node with every attribute
 * resolved, its shapes and params, then the train section. */
void ir_dump(const Graph *g, StrBuf *sb);
/* The torchinfo-like table of `netc --summary`. */
void ir_summary(const Graph *g, StrBuf *sb);

/* ---- train settings: the one table (settings.c) ----
 * Every setting a train section can hold is an entry of ir_settings: its name, its kinds
 * when it names one first (`optimizer Adam`), and each kind's values, each an AttrSpec
 * (name, type, default, range, help: checked by the same code as a layer's attributes)
 * with the TrainConfig member it fills and netrun's flag for it. Lowering, the defaults,
 * both writers, the IR dump, netrun's flags and --help and the docs' table all walk it:
 * adding a setting is an entry there and the code that uses its member. */

/* Where a value lives in TrainConfig (TRAIN_FIELD(member)); size 0: nowhere. */
typedef struct TrainField {
    size_t off, size;
} TrainField;
#define TRAIN_FIELD(m)                                                                             \
    {                                                                                              \
        offsetof(TrainConfig, m), sizeof(((TrainConfig *)0)->m)                                    \
    }

typedef struct SettingValue {
    AttrSpec spec;    /* `def` is what a section without the setting gets; `required`, whether
                         a statement of the setting must give it */
    TrainField field; /* int or int64_t (ATTR_INT), double, bool, const char *, double[n] for
                         a list of fixed length n, IntList for ATTR_INTS */
    const char *flag; /* netrun's flag setting it ("--lr"), or NULL */
} SettingValue;

typedef struct SettingKind {
    const char *name; /* `Adam`; NULL for the one kind of a setting that names none (batch) */
    int id;           /* what the setting's kind member holds for it: OPT_ADAM */
    const char *help;
    const SettingValue *values; /* its own, after the setting's common ones */
    int nvalues;
    const char *const *positional; /* value names taken by position, NULL-terminated */
    /* Checks what each value's range cannot (SGD: nesterov needs momentum); at[i] is where
     * the kind's own value i was written, else the statement. NULL: nothing to check. */
    void (*check)(const TrainConfig *t, const SrcLoc *at, Diag *d);
    /* Its own defaults for the setting's common values, in their order (NULL, or a NULL
     * entry: the common value's default): Adadelta's lr is 1, as torch.optim's. */
    const char *const *common_defaults;
} SettingKind;

typedef struct Setting {
    const char *name; /* `optimizer` */
    const char *help;
    const SettingValue *common; /* values every kind has (optimizer: lr), kept when a netrun
                                   flag changes the kind */
    int ncommon;
    const SettingKind *kinds;
    int nkinds;
    TrainField kind;   /* the member the kind's id goes to; size 0 for a single kind */
    int def_kind;      /* the kind of a section without the setting; -1: it is then absent */
    int string_kind;   /* the kind taken when a string comes first (`data "DIR"`), or -1 */
    const char *flag;  /* netrun's flag naming the kind (`--optimizer`), or NULL */
    const char *rival; /* a setting not used with this one (clip_grad_value for
                          clip_grad_norm): a flag of this one unsets it from the file */
} Setting;

#define SETTING_MAX_VALUES 16 /* common and own values of one kind */

extern const Setting ir_settings[];
extern const int ir_nsettings;

const Setting *ir_setting_find(const char *name);
/* The kind of s in t, or NULL when s is absent. */
const SettingKind *ir_setting_kind(const Setting *s, const TrainConfig *t);
/* Whether kind k of s (NULL: any kind of s) has a value named name, s's common ones included. */
bool ir_setting_has_value(const Setting *s, const SettingKind *k, const char *name);
/* The kind of s whose own values include v; NULL for one of s's common values. */
const SettingKind *ir_setting_kind_of(const Setting *s, const SettingValue *v);
/* Runs every chosen kind's check again (each at its setting's statement): for a flag that
 * changed one setting under another's check (--optimizer Adam under OneCycleLR's momentum
 * bounds). false after an error. */
bool ir_train_recheck(const TrainConfig *t, Diag *d);
/* The values of kind k of s, the common ones first, into out[SETTING_MAX_VALUES]. */
int ir_setting_values(const Setting *s, const SettingKind *k, const SettingValue **out);
/* A value's member of t as an AttrVal (not `set`), and back. */
void ir_setting_get(const SettingValue *v, const TrainConfig *t, AttrVal *out);
void ir_setting_put(const SettingValue *v, TrainConfig *t, const AttrVal *val);
/* Where setting `name` is written, else the train section's `train` (zero: neither). */
SrcLoc ir_setting_at(const TrainConfig *t, const char *name);
/* Makes s (a setting whose default is none) not written: its values 0. */
void ir_setting_unset(const Setting *s, TrainConfig *t);
/* Makes k the kind of s in t (marked given), its values at their defaults; the common
 * values too unless keep_common. */
void ir_setting_choose(const Setting *s, const SettingKind *k, TrainConfig *t, bool keep_common);
/* The default of value i of ir_setting_values(s, k): the kind's own for a common value that
 * it gives one (common_defaults), else the value's. */
const char *ir_setting_default(const Setting *s, const SettingKind *k, int i);
/* Every setting at its default: what a net without a train section trains with. */
void ir_train_defaults(TrainConfig *t);

/* netrun's flags, in table order: a setting's kind flag, then its values' flags; a bool
 * value's flag comes twice, as --X (true) and --no-X (false). */
typedef struct SettingFlag {
    char name[32]; /* "--lr", "--no-shuffle" */
    const Setting *setting;
    const SettingValue *value; /* NULL: the flag names the setting's kind */
    bool negated;              /* --no-X */
} SettingFlag;
#define SETTING_MAX_FLAGS 32
/* Fills out[SETTING_MAX_FLAGS]; returns how many. */
int ir_setting_flags(SettingFlag *out);
/* The lines of netrun --help that list them, with what each sets and its default. */
void ir_setting_flags_help(StrBuf *sb);

/* Every setting, kind and value with its type, range, default, flag and help, as the
 * Markdown table of docs/language.md (netc --list-settings; a test keeps the doc current). */
void ir_list_settings(StrBuf *sb);
/* The values normalize gives (mean or std): those before the first NaN. */
int ir_norm_count(const double v[NORM_MAX]);
/* How many values t's normalize gives, the larger of its means' and stds' counts (one a
 * channel when more than one); 0 without a normalize. */
int ir_norm_values(const TrainConfig *t);

typedef enum { TRAIN_NET, TRAIN_YAML, TRAIN_DUMP } TrainSyntax;
/* Writes t's settings in table order, one a line indented by two spaces, every value of
 * each: as the statements of a .net train block, as the entries of YAML's `train:`, or for
 * the IR dump (the .net form, and an absent setting as `NAME none`). A kind's one
 * positional value is written bare (`batch 100`, `data idx "DIR"`), others keyed. */
void ir_train_write(StrBuf *sb, const TrainConfig *t, TrainSyntax syn);

/* ---- the layer registry ---- */

typedef struct LayerRun LayerRun; /* runtime arguments: src/layers/layer.h */
typedef struct Emit Emit;         /* code generator arguments: src/layers/layer.h */
typedef struct VecFam VecFam;     /* a vector family of the generated code: layer.h */

struct LayerOps {
    LayerKind kind;
    const char *name;    /* PyTorch's class name: Conv2d */
    const char *summary; /* one line for --list-layers */
    /* A typical statement of the kind ("Conv2d 4 k3 p1"): shown by --list-layers, and put
     * by the property tests at every position of whole nets (tests/common/kind_nets.c). */
    const char *example;
    const AttrSpec *attrs;
    int nattrs;
    const char *const *positional; /* attribute names taken by position, NULL-terminated */
    bool has_in_out;               /* accepts `in->out` */
    int max_inputs; /* a join of 2 or more inputs (Add, Concat): written `join KIND a b`;
                       0 for the kinds of one input */
    /* Shape rule: n->in is set; sets n->out, n->params, n->macs and n->shaped. Reports
     * errors at the attributes' locations; may leave n->shaped false if no output shape
     * can be derived. */
    void (*shape)(Node *n, Diag *d);
    /* Runtime and code generator hooks (see src/layers/layer.h). */
    void (*init)(const Node *n, float *const *params, Rng *rng);
    size_t (*scratch)(const Node *n); /* floats of working memory per thread (LayerRun) */
    size_t (*saved)(const Node *n);   /* floats per sample kept through a pass (LayerRun) */
    void (*forward)(const Node *n, LayerRun *r);
    void (*backward)(const Node *n, LayerRun *r);
    /* An elementwise kind with no attributes gives its kernels here and takes the shared
     * forward and backward (layer_map_forward, layer_map_backward in layer.h): out = f(in)
     * over every element, and din = dout f'(x) with x its output when backward_reads_out,
     * else its input. NULL for other kinds. */
    void (*map_forward)(float *out, const float *in, size_t n);
    void (*map_backward)(float *din, const float *dout, const float *x, size_t n);
    /* Writes this node's step of the generated program (see Emit in layer.h). */
    void (*emit)(const Node *n, Emit *e);
    /* Whether the generated program, which runs one sample at a time, can compute the node
     * as PyTorch's evaluation mode does; if not, reports why at the node and returns false.
     * NULL: it always can. */
    bool (*emit_check)(const Node *n, Diag *d);
    /* An elementwise kind written as a vector expression, `var = f(var)` for one vector
     * variable of family f, so that it can be fused into the step before it (applied to the
     * step's results before they are stored). NULL for other kinds. */
    void (*emit_act)(const Node *n, StrBuf *sb, const VecFam *f, const char *var);
    /* An elementwise f that never decreases (a <= b implies f(a) <= f(b), and f(NaN) is NaN),
     * so f(max(a, b)) == max(f(a), f(b)): generated code may take a following max pool's
     * maximum before applying it (a convolution fused with f and the pool). The property
     * tests check it on random values, ties and NaN. */
    bool monotonic;
    /* Whether a node of a monotonic kind is, with its attributes (LeakyReLU with a negative
     * slope is not); NULL: every node is. Ask ir_monotonic. */
    bool (*monotonic_if)(const Node *n);
    /* The zero border the emitted step reads around its input image (a conv's padding);
     * NULL: none. */
    int (*emit_border)(const Node *n);
    /* Floats of working memory the emitted step of n (with `pool`, a max pool fused into the
     * step, or NULL) needs beside its input and output, 0 or NULL: none. The plan gives it a
     * block of the arena live during the step only, and the step's function takes it as a
     * third argument, `float *restrict scratch`. */
    size_t (*emit_scratch)(const Node *n, const Node *pool);
    /* Floats the emitted step of n embeds beyond n's own parameters (a transform of them,
     * such as Winograd's 16 for each 9 of a 3x3 kernel), 0 or NULL: none. netc counts them
     * when it decides whether the weights go to a blob file (cg_weight_floats). */
    size_t (*emit_weight_floats)(const Node *n, const Node *pool);
    /* Whether this node's step can absorb `next`, a node that reads only this one's output:
     * an activation (emit_act), a pooling, a per-channel affine (eval_affine; the kind's
     * first parameters are then weight [out, ...] and bias [out], into which the code
     * generator folds it), or an Add (its emitter adds the Add's other inputs, Emit.ins[1..],
     * before the activation). */
    bool (*fuse)(const Node *n, const Node *next);
    /* At inference the node is y = x alpha + beta per channel (BatchNorm in evaluation):
     * fills alpha and beta (channels floats each) from its parameters and buffers, so the
     * code generator can fold it into the weights of the node before it. NULL: not such a
     * kind. */
    void (*eval_affine)(const Node *n, const float *const *params, float *alpha, float *beta);
    /* The layer is the identity at inference (Dropout, Flatten): generated code aliases its
     * output to its input where the layouts allow. */
    bool infer_identity;
    /* Whether node n's output is its input's data as it is, in training too (Flatten of a
     * one-channel image): the runtime then gives it no memory of its own and skips it in
     * backward. NULL: never. */
    bool (*view)(const Node *n);
    /* Forward may write its output over its input (elementwise, and backward reads only the
     * output or what the node saved, never its input): the runtime does so, to save the
     * memory and the cache misses of a second tensor, when the input's producer does not
     * read its own output in backward. */
    bool inplace;
    /* Backward reads the node's own output (ReLU, Sigmoid, Tanh, Softmax). */
    bool backward_reads_out;
    /* Backward reads its input's rows of the chunk's earlier parts too (LayerRun.row: Linear's
     * weight gradient, one product over the chunk on its last part), so its input must be
     * kept for the batch, not a part at a time (NodePlan.local). */
    bool backward_reads_chunk;
    /* An elementwise f with f(max(a, b)) == max(f(a), f(b)) whose gradient is 0 wherever it
     * maps different inputs to one value (ReLU), so that max-pooling f(x) equals, values and
     * gradients, f of max-pooling x: the runtime applies it after a following max pool
     * (selects_max), to a quarter of the values for 2x2 windows. */
    bool commutes_with_max;
    /* The output is the maximum of windows of the input, and its gradient goes to each
     * window's maximum (MaxPool2d). */
    bool selects_max;
    /* The window (> 0) of a following max pool (selects_max) whose output and argmax this
     * node's runtime forward can compute itself, never storing its own output
     * (LayerRun.pool_k); 0 if it cannot. NULL: never. */
    int (*fuses_pool)(const Node *n, const Node *pool);
    /* Whether this node's runtime forward can apply the activation act (its one reader)
     * to its own output, and its backward take the gradient of act's output in its place
     * (LayerRun.act): the runtime then runs act in no pass of its own (BatchNorm takes a
     * ReLU, whose mask it recomputes from its input). NULL: never. */
    bool (*fuses_act)(const Node *n, const Node *act);
    /* Kinds whose training forward needs statistics over the whole batch (BatchNorm). The
     * runtime, which runs a batch in parts on several threads, splits such a node's pass at
     * a barrier: each part adds its partial sums (batch_sums doubles, in double) with
     * forward_sums or backward_sums into its chunk's block; after every part, the chunks'
     * blocks are added in chunk order and forward_finish or backward_finish turns the total
     * into the per-node factors (stats floats) that forward and backward then apply part by
     * part (LayerRun.stats; LayerRun.sums is the chunk's backward block, for the parameter
     * gradients). count is the samples times the positions per channel. Outside training the
     * node runs like any other. NULL: not such a kind. */
    size_t (*batch_sums)(const Node *n, bool training); /* 0 when not needed in this mode */
    size_t (*stats)(const Node *n);
    /* Such a kind whose training forward reads nothing but its input and its finished
     * stats (and writes nothing else), so that running it again gives the same bits: the
     * runtime may then keep its output a part at a time and run the forward again in
     * backward, where backward_sums reads the input anyway (NodePlan.local). */
    bool recomputable;
    void (*forward_sums)(const Node *n, const LayerRun *r, double *sums);
    void (*forward_finish)(const Node *n, const double *sums, int64_t count, float *const *params,
                           float *stats);
    void (*backward_sums)(const Node *n, const LayerRun *r, double *sums);
    void (*backward_finish)(const Node *n, const double *sums, int64_t count, float *const *params,
                            float *stats);
};

extern const LayerOps *const ir_layers[LAYER__COUNT];
/* Whether node n's function never decreases (LayerOps.monotonic and monotonic_if). */
bool ir_monotonic(const Node *n);
/* How the network's output vector reads, looking back through layers that are the identity
 * at inference (Flatten, Identity, Dropout), for --predict and the --main driver:
 *   OUT_PROBS   a probability distribution as it stands: a Softmax over all of its values (a
 *               vector's, or a 1x1 image's channels), printed as it is;
 *   OUT_VALUES  an activation's values (Sigmoid's, ReLU's, a Softmax over a part of them):
 *               no softmax of them is a probability, so they are printed as they are, not
 *               as probabilities;
 *   OUT_SCORES  class scores (a Linear's, a LogSoftmax's...), whose softmax is printed. */
typedef enum { OUT_SCORES, OUT_PROBS, OUT_VALUES } OutputRead;
OutputRead ir_output_read(const Graph *g);
/* Case-insensitive lookup of a kind by name; NULL if unknown. */
const LayerOps *ir_layer_find(const char *name);
/* The registered name closest to `name` (for "did you mean"), or NULL. */
const char *ir_layer_suggest(const char *name);
int ir_attr_index(const LayerOps *ops, const char *name);
/* Prints every kind with its attributes and defaults (netc --list-layers). */
void ir_list_layers(StrBuf *sb);

/* Helpers for shape rules. */
static inline const AttrVal *node_attr(const Node *n, int i) { return &n->attrs[i]; }
/* The note after an error about node n's input: where it comes from, `what` naming it with
 * its verb ("the 8x8 input comes"), or the network's input declaration when n reads that. */
void ir_note_input(const Node *n, const char *what, Diag *d);
/* Reports that an explicit input size disagrees with the inferred one, with a note at the
 * layer that produced the input. `what` describes the actual input, e.g. "3136 inputs
 * (64x7x7 after 'Flatten')". */
void ir_error_input(const Node *n, const AttrVal *given, const char *attr_name,
                    const char *expected_desc, Diag *d);
/* PyTorch's output size for one spatial dimension; may be <= 0. */
int64_t ir_conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d);
/* Adds a parameter to n with the given suffix and shape. */
void ir_param_add(Node *n, const char *suffix, Shape shape, int64_t fan_in, int64_t fan_out);
/* Adds a buffer (saved, not trained; integer: int64 in checkpoints) to n. */
void ir_buffer_add(Node *n, const char *suffix, Shape shape, bool integer);

#endif
