/* write.c: IR -> .net and IR -> YAML text (netc --to). Both walk the item tree so groups
 * and names survive, and print each layer's explicitly given attributes in long form; the
 * train section is printed in full, so the output reads back to the same IR. */
#include <string.h>

#include "frontend.h"

static void indent(StrBuf *sb, int depth)
{
    for (int i = 0; i < depth; i++)
        sb_puts(sb, "  ");
}

static bool in_out_given(const Node *n, int *ai_in, int *ai_out)
{
    *ai_in = ir_attr_index(n->ops, "in");
    *ai_out = ir_attr_index(n->ops, "out");
    return n->ops->has_in_out && *ai_in >= 0 && n->attrs[*ai_in].set;
}

/* ---- .net ---- */

static void net_layer(const Node *n, StrBuf *sb)
{
    sb_puts(sb, n->ops->name);
    int ai_in, ai_out;
    bool arrow = in_out_given(n, &ai_in, &ai_out);
    if (arrow)
        sb_printf(sb, " %lld->%lld", (long long)n->attrs[ai_in].i[0],
                  (long long)n->attrs[ai_out].i[0]);
    for (int i = 0; i < n->ops->nattrs; i++) {
        if (!n->attrs[i].set || (arrow && (i == ai_in || i == ai_out)))
            continue;
        sb_printf(sb, " %s=", n->ops->attrs[i].name);
        attr_format(sb, &n->ops->attrs[i], &n->attrs[i]);
    }
}

static void net_items(const Item *group, int depth, StrBuf *sb)
{
    for (int i = 0; i < group->children.len; i++) {
        const Item *it = group->children.items[i];
        indent(sb, depth);
        if (it->is_group) {
            sb_printf(sb, "%s {\n", it->name);
            net_items(it, depth + 1, sb);
            indent(sb, depth);
            sb_puts(sb, "}\n");
            continue;
        }
        if (it->name)
            sb_printf(sb, "%s: ", it->name);
        net_layer(it->node, sb);
        sb_putc(sb, '\n');
    }
}

/* Train settings as (setting, kind, "key=value ...") triples shared by both writers. */
typedef struct Kv {
    const char *key;
    char val[96];
} Kv;

static int train_kvs(const TrainConfig *t, const char *setting, const char **kind, Kv *kv)
{
    int n = 0;
#define KVF(k, v) (kv[n].key = (k), fmt_double(kv[n].val, sizeof kv[n].val, (v)), n++)
#define KVI(k, v)                                                                                  \
    (kv[n].key = (k), snprintf(kv[n].val, sizeof kv[n].val, "%lld", (long long)(v)), n++)
    *kind = NULL;
    if (strcmp(setting, "optimizer") == 0) {
        static const char *const names[] = {"SGD", "Adam", "AdamW"};
        *kind = names[t->opt];
        KVF("lr", t->lr);
        if (t->opt == OPT_SGD) {
            KVF("momentum", t->momentum);
            KVF("dampening", t->dampening);
            KVF("weight_decay", t->weight_decay);
            kv[n].key = "nesterov";
            strcpy(kv[n++].val, t->nesterov ? "true" : "false");
        } else {
            char b1[32], b2[32];
            fmt_double(b1, sizeof b1, t->beta1);
            fmt_double(b2, sizeof b2, t->beta2);
            kv[n].key = "betas";
            snprintf(kv[n++].val, sizeof kv[0].val, "[%s, %s]", b1, b2);
            KVF("eps", t->eps);
            KVF("weight_decay", t->weight_decay);
        }
    } else if (strcmp(setting, "schedule") == 0) {
        static const char *const names[] = {
            NULL,         "StepLR",  "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
            "OneCycleLR", "LinearLR"};
        *kind = names[t->sched];
        switch (t->sched) {
        case SCHED_STEP:
            KVI("step_size", t->step_size);
            KVF("gamma", t->gamma);
            break;
        case SCHED_MULTISTEP: {
            kv[n].key = "milestones";
            char *p = kv[n].val;
            *p++ = '[';
            for (int i = 0; i < t->nmilestones; i++)
                p += snprintf(p, 20, i ? ", %lld" : "%lld", (long long)t->milestones[i]);
            strcpy(p, "]");
            n++;
            KVF("gamma", t->gamma);
            break;
        }
        case SCHED_EXPONENTIAL: KVF("gamma", t->gamma); break;
        case SCHED_COSINE:
            KVI("T_max", t->t_max);
            KVF("eta_min", t->eta_min);
            break;
        case SCHED_ONECYCLE:
            KVF("max_lr", t->max_lr);
            KVI("total_steps", t->total_steps);
            KVF("pct_start", t->pct_start);
            KVF("div_factor", t->div_factor);
            KVF("final_div_factor", t->final_div_factor);
            break;
        case SCHED_LINEAR:
            KVF("start_factor", t->start_factor);
            KVF("end_factor", t->end_factor);
            KVI("total_iters", t->total_iters);
            break;
        case SCHED_NONE: break;
        }
    } else if (strcmp(setting, "normalize") == 0) {
        KVF("mean", t->mean);
        KVF("std", t->std);
    }
#undef KVF
#undef KVI
    return n;
}

/* A string in .net syntax: the lexer reads \n, \t, \" and \\; every other byte (a CR
 * too) stands for itself inside the quotes. */
static void quoted(StrBuf *sb, const char *s)
{
    sb_putc(sb, '"');
    for (; *s; s++) {
        if (*s == '\n' || *s == '\t') {
            sb_puts(sb, *s == '\n' ? "\\n" : "\\t");
            continue;
        }
        if (*s == '"' || *s == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, *s);
    }
    sb_putc(sb, '"');
}

/* A YAML double-quoted scalar: line breaks (CR, LF, NEL, U+2028, U+2029) would fold into
 * spaces, and controls, U+FFFE and U+FFFF are not allowed in YAML text, so those are
 * escaped; the rest is UTF-8 as is. */
static void yaml_quoted(StrBuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    sb_putc(sb, '"');
    for (; *p; p++) {
        if (*p == '"' || *p == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            sb_printf(sb, "\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* U+0080..U+009F */
            sb_printf(sb, "\\x%02x", p[1]);
            p++;
        } else if (*p == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            sb_puts(sb, p[2] == 0xa8 ? "\\L" : "\\P");
            p += 2;
        } else if (*p == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            sb_puts(sb, p[2] == 0xbe ? "\\uFFFE" : "\\uFFFF"); /* not printable in YAML */
            p += 2;
        } else {
            sb_putc(sb, (char)*p);
        }
    }
    sb_putc(sb, '"');
}

static void net_train(const TrainConfig *t, StrBuf *sb)
{
    sb_puts(sb, "\ntrain {\n");
    if (t->data_dir) {
        sb_puts(sb, "  data idx ");
        quoted(sb, t->data_dir);
        sb_putc(sb, '\n');
    }
    sb_printf(sb, "  loss %s\n", t->loss == LOSS_MSE ? "mse" : "cross_entropy");
    static const char *const kinded[] = {"optimizer", "schedule", "normalize"};
    for (int s = 0; s < 3; s++) {
        if ((s == 1 && t->sched == SCHED_NONE) || (s == 2 && t->std <= 0))
            continue;
        const char *kind;
        Kv kv[8];
        int n = train_kvs(t, kinded[s], &kind, kv);
        sb_printf(sb, "  %s", kinded[s]);
        if (kind)
            sb_printf(sb, " %s", kind);
        for (int i = 0; i < n; i++)
            sb_printf(sb, " %s=%s", kv[i].key, kv[i].val);
        sb_putc(sb, '\n');
    }
    sb_printf(sb, "  batch %d\n  epochs %d\n  seed %llu\n  shuffle %s\n", t->batch, t->epochs,
              (unsigned long long)t->seed, t->shuffle ? "true" : "false");
    if (t->warmup)
        sb_printf(sb, "  warmup %d\n", t->warmup);
    sb_puts(sb, "}\n");
}

void write_net(const Graph *g, StrBuf *sb)
{
    char buf[64];
    sb_printf(sb, "network %s (input %s) {\n", g->name, shape_str(g->input, buf));
    net_items(g->root, 1, sb);
    sb_puts(sb, "}\n");
    if (g->train.present)
        net_train(&g->train, sb);
}

/* ---- YAML ---- */

static void yaml_layer(const Node *n, StrBuf *sb)
{
    int given = 0;
    for (int i = 0; i < n->ops->nattrs; i++)
        given += n->attrs[i].set;
    if (!given) {
        sb_puts(sb, n->ops->name);
        return;
    }
    sb_printf(sb, "%s: {", n->ops->name);
    int k = 0;
    for (int i = 0; i < n->ops->nattrs; i++) {
        if (!n->attrs[i].set)
            continue;
        sb_printf(sb, "%s%s: ", k++ ? ", " : "", n->ops->attrs[i].name);
        attr_format(sb, &n->ops->attrs[i], &n->attrs[i]);
    }
    sb_putc(sb, '}');
}

static void yaml_items(const Item *group, int depth, StrBuf *sb)
{
    for (int i = 0; i < group->children.len; i++) {
        const Item *it = group->children.items[i];
        indent(sb, depth);
        sb_puts(sb, "- ");
        if (it->is_group) {
            /* an empty group is an empty list: `name:` alone would read as null */
            sb_printf(sb, it->children.len ? "%s:\n" : "%s: []\n", it->name);
            yaml_items(it, depth + 2, sb);
            continue;
        }
        int given = 0;
        for (int k = 0; it->node && k < it->node->ops->nattrs; k++)
            given += it->node->attrs[k].set;
        if (it->name && !given) { /* act: ReLU */
            sb_printf(sb, "%s: %s\n", it->name, it->node->ops->name);
        } else if (it->name) {
            sb_printf(sb, "%s: {", it->name);
            yaml_layer(it->node, sb);
            sb_puts(sb, "}\n");
        } else {
            yaml_layer(it->node, sb);
            sb_putc(sb, '\n');
        }
    }
}

static void yaml_train(const TrainConfig *t, StrBuf *sb)
{
    sb_puts(sb, "train:\n");
    if (t->data_dir) {
        sb_puts(sb, "  data: {idx: ");
        yaml_quoted(sb, t->data_dir);
        sb_puts(sb, "}\n");
    }
    sb_printf(sb, "  loss: %s\n", t->loss == LOSS_MSE ? "mse" : "cross_entropy");
    static const char *const kinded[] = {"optimizer", "schedule", "normalize"};
    for (int s = 0; s < 3; s++) {
        if ((s == 1 && t->sched == SCHED_NONE) || (s == 2 && t->std <= 0))
            continue;
        const char *kind;
        Kv kv[8];
        int n = train_kvs(t, kinded[s], &kind, kv);
        sb_printf(sb, "  %s: {", kinded[s]);
        if (kind)
            sb_printf(sb, "%s: {", kind);
        for (int i = 0; i < n; i++)
            sb_printf(sb, "%s%s: %s", i ? ", " : "", kv[i].key, kv[i].val);
        sb_puts(sb, kind ? "}}\n" : "}\n");
    }
    sb_printf(sb, "  batch: %d\n  epochs: %d\n  seed: %llu\n  shuffle: %s\n", t->batch, t->epochs,
              (unsigned long long)t->seed, t->shuffle ? "true" : "false");
    if (t->warmup)
        sb_printf(sb, "  warmup: %d\n", t->warmup);
}

void write_yaml(const Graph *g, StrBuf *sb)
{
    sb_printf(sb, "network: %s\ninput: [", g->name);
    for (int i = 0; i < g->input.rank; i++)
        sb_printf(sb, i ? ", %lld" : "%lld", (long long)g->input.d[i]);
    sb_puts(sb, "]\nlayers:\n");
    yaml_items(g->root, 1, sb);
    if (g->train.present)
        yaml_train(&g->train, sb);
}
