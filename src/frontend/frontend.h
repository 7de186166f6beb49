/* frontend.h: the front end's public interface: read a .net or YAML file into a
 * shape-checked IR, and write an IR back out in either format. */
#ifndef NETC_FRONTEND_H
#define NETC_FRONTEND_H

#include "ast.h"
#include "ir.h"

/* Reads, parses (format chosen by the suffix: .yaml/.yml or else .net), lowers and
 * shape-checks. Returns NULL when nothing usable came out; otherwise a graph whose
 * `shaped` says whether the shape pass succeeded. Errors go to d. */
Graph *frontend_load(Arena *a, const char *path, Diag *d);
Graph *frontend_load_file(Arena *a, const SrcFile *f, Diag *d);

/* The most -D a tool takes. */
#define NETC_MAX_DEFINES 256

/* What a tool can ask of the front end beyond the file. */
typedef struct FrontendOptions {
    const char *const *defines; /* -D NAME=VALUE: a parameter's value in place of its default */
    int ndefines;
    bool *bad_define; /* set when a -D names no parameter or does not read as its type */
    bool *undeclared; /* set when a -D names no parameter */
    int max_layers;   /* the most layers the net may expand to; 0: LOWER_MAX_NODES (100,000).
                         The fuzz targets lower it, to keep each input fast */
} FrontendOptions;
Graph *frontend_load_opts(Arena *a, const char *path, const FrontendOptions *opt, Diag *d);
Graph *frontend_load_file_opts(Arena *a, const SrcFile *f, const FrontendOptions *opt, Diag *d);
/* AST -> IR without the shape pass (opt may be NULL). */
Graph *lower_net(Arena *a, const AstNet *net, const FrontendOptions *opt, Diag *d);

/* Applies a netrun flag (one of ir_setting_flags) to t as a train section would, with the
 * same checks and the same messages, naming the flag: `--lr -1` says what `lr=-1` would.
 * A flag naming a kind makes it the setting's kind, its values at their defaults but the
 * setting's common ones (--optimizer keeps lr). text: the flag's argument (NULL for --X and
 * --no-X). Returns false after reporting to d. */
bool train_flag(TrainConfig *t, const SettingFlag *f, const char *text, Arena *a, Diag *d);

/* The file's syntax tree as written: its includes kept (their templates known to YAML's
 * reader). NULL after an error. */
AstNet *frontend_source(Arena *a, const char *path, Diag *d);
/* As frontend_source, for a file meant to be included: params and templates, and no network
 * needed (the tree's name is then NULL). */
AstNet *frontend_source_part(Arena *a, const char *path, Diag *d);
/* Whether the tree uses a form expansion removes: params, template, repeat, if, include, an
 * expression. */
bool ast_has_forms(const AstNet *net);
/* The tree written back in .net or YAML form, those forms kept (netc --to of such a file). */
void write_ast_net(const AstNet *net, StrBuf *sb);
void write_ast_yaml(const AstNet *net, StrBuf *sb);

/* Writers: the IR in canonical .net or YAML form (explicit attributes as written; train
 * settings in full). Reading the output back gives the same IR. */
void write_net(const Graph *g, StrBuf *sb);
void write_yaml(const Graph *g, StrBuf *sb);

#endif
