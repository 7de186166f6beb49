/* capture.h: the diagnostics sink the front-end tests share: an arena and a Diag per test,
 * the messages captured in memory (open_memstream) in `msgs` for checks by substring.
 * Included by one test file each (everything here is static). */
#ifndef NETC_TEST_CAPTURE_H
#define NETC_TEST_CAPTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "base.h"

static Arena *arena;
static Diag diag;
static FILE *mem;
static char *msgs;
static size_t msgs_len;

/* A fresh sink: no messages, no errors counted. */
static inline void capture_reset(void)
{
    if (mem) {
        fclose(mem);
        free(msgs);
    }
    msgs = NULL;
    mem = open_memstream(&msgs, &msgs_len);
    cr_assert(mem);
    diag_init(&diag, mem, "test");
}

static inline void capture_setup(void)
{
    arena = arena_new();
    mem = NULL;
    capture_reset();
}

static inline void capture_teardown(void)
{
    fclose(mem);
    free(msgs);
    mem = NULL;
    arena_free(arena);
}

#endif
