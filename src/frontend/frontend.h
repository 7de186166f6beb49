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
/* AST -> IR without the shape pass. */
Graph *lower_net(Arena *a, const AstNet *net, Diag *d);

/* Writers: the IR in canonical .net or YAML form (explicit attributes as written; train
 * settings in full). Reading the output back gives the same IR. */
void write_net(const Graph *g, StrBuf *sb);
void write_yaml(const Graph *g, StrBuf *sb);

#endif
