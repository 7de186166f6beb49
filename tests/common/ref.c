/* ref.c: reading the reference files of tests/reference. */
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ref_load(RefFile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "cannot open %s (its generator is beside it in tests/reference)\n", path);
        return 0;
    }
    int cap = 0;
    char line[512];
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (f->n == cap) {
            cap = cap ? 2 * cap : 256;
            RefTensor *t = realloc(f->t, (size_t)cap * sizeof *t);
            if (!t)
                goto bad;
            f->t = t;
        }
        RefTensor *t = &f->t[f->n];
        int used = 0;
        if (sscanf(line, "%63s %d%n", t->name, &t->ndim, &used) != 2 || t->ndim < 0 ||
            t->ndim > 8) {
            fprintf(stderr, "%s: bad tensor header: %s", path, line);
            goto bad;
        }
        t->n = 1;
        char *p = line + used;
        for (int d = 0; d < t->ndim; d++) {
            t->dims[d] = (int)strtol(p, &p, 10);
            t->n *= (size_t)t->dims[d];
        }
        t->v = malloc((t->n ? t->n : 1) * sizeof(float));
        if (!t->v)
            goto bad;
        f->n++;
        for (size_t i = 0; i < t->n; i++)
            if (fscanf(in, "%f", &t->v[i]) != 1) {
                fprintf(stderr, "%s: %s: value %zu missing\n", path, t->name, i);
                goto bad;
            }
    }
    fclose(in);
    return 1;
bad:
    fclose(in);
    ref_free(f);
    return 0;
}

void ref_free(RefFile *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->t[i].v);
    free(f->t);
    f->t = NULL;
    f->n = 0;
}

const RefTensor *ref_find(const RefFile *f, const char *c, const char *t)
{
    char name[sizeof f->t[0].name];
    if (snprintf(name, sizeof name, "%s.%s", c, t) >= (int)sizeof name)
        return NULL; /* longer than any name in the file */
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name))
            return &f->t[i];
    return NULL;
}

int ref_cases(const RefFile *f, const char *prefix, const char *tensor, char cases[][64], int max)
{
    int n = 0;
    size_t lp = strlen(prefix), lt = strlen(tensor);
    for (int i = 0; i < f->n && n < max; i++) {
        const char *nm = f->t[i].name;
        size_t ln = strlen(nm);
        if (!strncmp(nm, prefix, lp) && ln > lt + 1 && nm[ln - lt - 1] == '.' &&
            !strcmp(nm + ln - lt, tensor)) {
            memcpy(cases[n], nm, ln - lt - 1);
            cases[n][ln - lt - 1] = '\0';
            n++;
        }
    }
    return n;
}
