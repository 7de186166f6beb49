/* lower.h: what the parts of lowering share, private to the front end: the state of one
 * lowering and the attribute checker that layers and train settings both go through. */
#ifndef NETC_LOWER_H
#define NETC_LOWER_H

#include "frontend.h"

typedef struct NetParam NetParam; /* params.c */

/* The most layers a network may expand to (repeats and templates multiply statements). */
#define LOWER_MAX_NODES 100000
/* The most statements lowering may visit, per layer allowed: a repeat of an `if` that does
 * not hold makes no layer, yet costs its visits (a repeat of 100,000 such repeats would run
 * for hours). */
#define LOWER_VISITS_PER_LAYER 4

typedef struct Lower {
    Arena *arena;
    Diag *diag;
    Graph *g;
    NetParam *params; /* the network's parameters (params.c), then bound names */
    int nparams, params_cap;
    /* Names are lexically scoped: a template's body sees the network's nnet parameters and
     * the names bound from params[scope] on (its own parameters, its repeats' indices), not
     * its caller's. scope 0: every name (outside templates). */
    int nnet, scope;
    const PtrVec *param_blocks; /* while the network's parameters are declared: their blocks
                                   (AstStmt *), to tell a name declared further down */
    const char *defining;       /* the parameter whose -D is being read, or NULL */
    const AstStmt **templates;  /* `template` definitions */
    bool *template_failed;      /* its first use had errors: later ones are not expanded */
    bool *template_refused;     /* its definition had errors: no use is expanded */
    int ntemplates;
    const AstStmt *expanding[AST_MAX_DEPTH]; /* the templates being expanded, outermost first */
    /* the template use or repeat copy the nodes made now come from (NULL: none), for the
     * notes at an error the shape pass finds in one */
    const ExpCtx *ctx;
    int noted; /* the error count when a layer's error was last given ctx's notes */
    int nexpanding;
    int max_nodes;              /* LOWER_MAX_NODES, or the caller's FrontendOptions.max_layers */
    int visits;                 /* statements visited so far, repeated ones each time */
    bool too_big;               /* max_nodes or its visits were passed: lowering stops */
    const Setting *setting_def; /* the train setting being lowered (it names its attribute
                                   'value'), the kind its statement names, and the net whose
                                   section it is (for hints) */
    const SettingKind *setting_kind;
    const AstNet *train_net;
    const char *flag;    /* the netrun flag being applied: names the value in messages */
    SrcLoc empty_warned; /* the last residual warned of an empty body (a repeat's copies: once) */
    int bare_repeats;    /* repeats without `as` around the statement: an unknown name in it
                            may be meant as the copy's index */
} Lower;

/* Applies args[first..] to vals (nspecs of them, spec order; defaults already in place).
 * `what` names the owner in messages ("'Conv2d'", "optimizer 'Adam'"). Reports every
 * problem; returns false if there was any. */
bool lower_args(Lower *L, const char *what, const AttrSpec *specs, int nspecs,
                const char *const *positional, bool has_in_out, const PtrVec *args, int first,
                AttrVal *vals, SrcLoc head_loc);
/* The hint at an argument key the train setting being lowered (L->setting_def) does not
 * take: the setting's other kinds that take it (SGD's betas: Adam's), else the setting whose
 * argument it is (lr in a loss: the optimizer's), in the file's syntax; nothing when none
 * has it. v: the value written. */
void lower_train_arg_hint(Lower *L, const char *key, const AstValue *v, SrcLoc at);
/* Declares the network's parameters (its `params` block, with opt's -D values in place of
 * the defaults); reports a -D the net does not declare or cannot read (and sets
 * *opt->bad_define). */
void lower_params(Lower *L, const AstNet *net, const FrontendOptions *opt);
/* v with parameters replaced by their values and expressions evaluated, as literals located
 * at v; NULL after an error. */
AstValue *lower_value(Lower *L, const AstValue *v);
/* Binds a repeat's index variable to k (false after an error: it hides a parameter or an
 * outer index); lower_params_pop unbinds the last one. */
bool lower_params_push(Lower *L, const char *name, SrcLoc loc, int64_t k);
void lower_params_pop(Lower *L);
/* Binds a template's parameter (hiding any outer name) until L->nparams is set back. */
void lower_params_bind(Lower *L, const char *name, SrcLoc loc, const AstValue *v);
/* Warns of each parameter that nothing in net names (evaluated or not). */
void lower_params_unused(Lower *L, const AstNet *net);
/* A hint at `at` naming the parameter in scope that a bare word not a parameter was likely
 * meant to be (`Linear widht`: did you mean 'width'?); nothing when none is close. */
void lower_params_suggest(Lower *L, const char *word, SrcLoc at);
/* Whether name is a parameter in the scope now. */
bool lower_is_param(Lower *L, const char *name);
/* A bool as an attribute takes one: true, yes, on, false, no, off (case aside). */
bool lower_parse_bool(const char *s, bool *b);
/* Why name may not name a value of the language's own (a parameter, a template's parameter,
 * a repeat's index), which would hide what the word means where it is read: " (it is a
 * layer kind)", " (it reads as a bool)", or NULL when it may. */
const char *lower_reserved_name(const char *name);
/* Lowers net's train section (or its defaults) into L->g->train (lower_train.c). */
void lower_train(Lower *L, const AstNet *net);

#endif
