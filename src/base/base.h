/* base.h: the bottom module: arena, source files, diagnostics, string buffers.
 *
 * Design choice: every diagnostic of a compilation goes through one sink (Diag), which
 * knows the source text so it can print the offending line with a caret. Nothing below
 * tools/ exits the process; callers look at diag_errors() and return. */
#ifndef NETC_BASE_H
#define NETC_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes shared by the tools. */
enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 3 };

/* ---- arena: one per compilation, freed once ---- */

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;
} Arena;

Arena *arena_new(void);
void arena_free(Arena *a);                /* accepts NULL */
void *arena_alloc(Arena *a, size_t size); /* zeroed, 16-byte aligned; aborts on OOM */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growable array of pointers, storage in an arena. */
typedef struct PtrVec {
    void **items;
    int len, cap;
} PtrVec;
void ptrvec_push(Arena *a, PtrVec *v, void *item);

/* ---- source files and locations ---- */

struct SrcLoc;
typedef struct SrcFile {
    const char *name; /* as the user gave it */
    const char *text; /* NUL-terminated; may contain other NULs if the file is binary */
    size_t len;
    /* the `include` that read it (NULL: none): messages in it get an "in file included
     * from" note for each include on the way */
    const struct SrcLoc *included_from;
} SrcFile;

/* line and col are 1-based; col counts bytes. len is the length of the marked text (>= 1
 * when the location is valid). A SrcLoc with file == NULL means "no location". */
typedef struct SrcLoc {
    const SrcFile *file;
    int line, col, len;
} SrcLoc;

/* Reads a whole file into the arena. Returns NULL and sets errno on failure. */
SrcFile *src_read(Arena *a, const char *path);
/* The most a source file may hold: a net is text a person writes (errno EFBIG past it). */
#define SRC_MAX_BYTES ((size_t)64 << 20)
SrcFile *src_from_string(Arena *a, const char *name, const char *text);

/* ---- the files a run reads, which it must not overwrite ----
 * Every reader of a user's file (net sources, weights, data) notes it after opening it; a
 * writer asks io_read_as before it replaces a file, so that an output named like an input
 * (--logits at the --predict file, -o at the net file, by another spelling or a link) is an
 * error rather than the input destroyed. Process-wide; not thread-safe (files are opened by
 * the main thread). */
/* Notes the regular file at path (as the user gave it; just opened) as read by this run. */
void io_note_read(const char *path);
/* Takes back the note of a file the run replaces by design (the checkpoint it resumes). */
void io_may_rewrite(const char *path);
/* The path, as it was given, of a file this run read that path names (the same file), or
 * NULL. */
const char *io_read_as(const char *path);
/* Whether path may be written: not a file who ("this run") reads; false after a message. */
struct Diag;
bool io_output_ok(const char *path, const char *who, struct Diag *d);
/* Whether a and b name one file: the same file if both exist, else the same directory entry
 * (their directories resolved). */
bool io_same_file(const char *a, const char *b);

/* ---- diagnostics ---- */

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE, DIAG_HINT } DiagLevel;

typedef struct Diag {
    FILE *out;        /* where messages go (stderr by default) */
    const char *prog; /* used as the prefix when a message has no location */
    int errors, warnings;
    int max_errors; /* stop printing (and callers stop working) past this many; default 20 */
    bool color;
    bool last_shown; /* whether the last error/warning was printed (notes follow it) */
    bool silent;     /* count the messages, print none (diag_init_quiet) */
    /* the last errors' and warnings' hashes (location and text): one said again at the same
     * place (a YAML anchor's error at each alias of it) is counted, not printed again */
    uint64_t said[16];
    int nsaid;
} Diag;

void diag_init(Diag *d, FILE *out, const char *prog);
/* A Diag that counts errors and prints nothing: for a trial that decides what to do next. */
void diag_init_quiet(Diag *d, const char *prog);
void diag_vmsg(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, va_list ap);
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_hint(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* True once max_errors errors were reported: passes should stop. */
bool diag_full(const Diag *d);

/* ---- string buffer ---- */

typedef struct StrBuf {
    char *data; /* NUL-terminated; owned (malloc) */
    size_t len, cap;
} StrBuf;

void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_putc(StrBuf *sb, char c);
void sb_puts(StrBuf *sb, const char *s);
/* n bytes, NUL bytes included (binary data: use len, not strlen). */
void sb_write(StrBuf *sb, const void *p, size_t n);
void sb_printf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap);
/* Two spaces per level: the indentation of every tree the project writes. */
void sb_indent(StrBuf *sb, int depth);

/* ---- random numbers ---- */

/* xoshiro256** seeded by splitmix64: one seed fixes init, shuffling and dropout. The state
 * is four words so checkpoints can store and restore it exactly. */
typedef struct Rng {
    uint64_t s[4];
} Rng;
void rng_seed(Rng *r, uint64_t seed);
/* A key mixing v into h, for seeds made of several numbers: rng_key(rng_key(seed, a), b).
 * Unlike seed ^ a ^ b, no two tuples meet but by chance (2^-64). */
uint64_t rng_key(uint64_t h, uint64_t v);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);             /* [0, 1) with 53 random bits */
double rng_normal(Rng *r);              /* standard normal (Box-Muller, no caching) */
uint64_t rng_below(Rng *r, uint64_t n); /* uniform in [0, n), unbiased */

/* ---- small utilities ---- */

bool str_ieq(const char *a, const char *b);
/* Whether s ends with suf, case-insensitively (file suffixes: .yaml, .PGM). */
bool str_has_suffix(const char *s, const char *suf);
/* Whether a file name is a YAML file's (.yaml or .yml): the format it is read in. */
bool name_is_yaml(const char *name);
/* Whether a location is in a YAML file: hints then write YAML. */
bool loc_yaml(SrcLoc loc);
/* Formats with thousands separators into buf (>= 32 bytes). Returns buf. */
char *fmt_thousands(char *buf, int64_t n);
/* Shortest %.*g that round-trips a float (at most 9 significant digits). */
void fmt_float(char *buf, size_t n, float v);
/* The same as a C float literal of generated code: a dot or an exponent, and the f suffix
 * (3 -> 3.0f, 0.25 -> 0.25f; a bare "3f" is not C). Finite values only. */
void fmt_c_float(char *buf, size_t n, float v);
/* The fewest significant digits that round-trip a double (at most 17), positional from
 * 1e-4 to below 1e16 and scientific outside, as Python's repr: 10, 0.0001, 1e-05, 1e+16. */
void fmt_double(char *buf, size_t n, double v);
/* "Did you mean": give every known name to suggest_add(); suggest_best() is then the one
 * nearest to `word` within 2 edits (Levenshtein, case-insensitive; the first on a tie), or,
 * when `by_start` is set and none is that near, the one sharing the longest start of 4 or
 * more characters with it (`CosineLR`); NULL if none. Every hint of a misspelt name comes
 * from here, so they all follow one rule. */
typedef struct Suggest {
    const char *word;
    bool by_start;
    const char *near, *start; /* the best candidates so far by each rule */
    int near_d, start_len;
} Suggest;
void suggest_init(Suggest *s, const char *word, bool by_start);
void suggest_add(Suggest *s, const char *name);
const char *suggest_best(const Suggest *s);
/* The hint "did you mean 'NAME'?" at loc, when s has a suggestion. */
void diag_suggest(Diag *d, SrcLoc loc, const Suggest *s);
/* Monotonic time in seconds. */
double now_seconds(void);

/* ---- memory planning ---- */

/* First fit of n blocks in one memory: block i is size[i] long and alive over the steps
 * lo[i]..hi[i] (both included, 0 <= lo <= hi < nsteps). In order (a permutation of 0..n-1;
 * NULL: 0, 1, ...), each is placed at the lowest offset where it overlaps no block placed
 * before it that is alive at a common step. Writes off[] and returns the memory's size
 * (the end of the highest block). A block meets only those alive at its own steps, so the
 * cost is that of the live sets, not quadratic: linear for a chain of 100,000 layers.
 * Aborts when out of memory, as the arena does. */
size_t first_fit(int n, const int *order, const int *lo, const int *hi, const size_t *size,
                 int nsteps, size_t *off);
/* Fills order with 0..n-1 by key, largest first, equal keys in index order (a stable sort:
 * the placement orders first_fit is given). */
void order_largest_first(int n, const size_t *key, int *order);

#endif
