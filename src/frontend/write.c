/* write.c: IR -> .net and IR -> YAML text (netc --to). Both walk the item tree so groups
 * and names survive, and print each layer's explicitly given attributes in long form; the
 * train section is printed in full from the settings table (ir_train_write), so the output
 * reads back to the same IR. */
#include <string.h>

#include "frontend.h"

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

/* The join kind's word: the kind's example without its `join `. */
static const char *join_word(const Node *n) { return n->ops->example + strlen(AST_JOIN " "); }

static void net_items(const Item *group, int depth, StrBuf *sb)
{
    for (int i = 0; i < group->children.len; i++) {
        const Item *it = group->children.items[i];
        sb_indent(sb, depth);
        if (it->is_group) {
            if (it->kind == ITEM_GROUP && it->name)
                sb_printf(sb, "%s {\n", it->name);
            else if (it->kind == ITEM_GROUP) /* a repeat's copy */
                sb_puts(sb, AST_SEQUENTIAL " {\n");
            else if (it->name)
                sb_printf(sb, "%s: %s {\n", it->name,
                          it->kind == ITEM_BRANCH ? AST_BRANCH : AST_RESIDUAL);
            else
                sb_printf(sb, "%s {\n", it->kind == ITEM_BRANCH ? AST_BRANCH : AST_RESIDUAL);
            net_items(it, depth + 1, sb);
            sb_indent(sb, depth);
            sb_puts(sb, "}\n");
            continue;
        }
        if (it->name)
            sb_printf(sb, "%s: ", it->name);
        if (it->kind == ITEM_JOIN) {
            sb_printf(sb, AST_JOIN " %s", join_word(it->node));
            for (int k = 0; k < it->nrefs; k++)
                sb_printf(sb, " %s", it->refs[k]);
        } else {
            net_layer(it->node, sb);
        }
        sb_putc(sb, '\n');
    }
}

void write_net(const Graph *g, StrBuf *sb)
{
    char buf[64];
    sb_printf(sb, "network %s (input %s) {\n", g->name, shape_str(g->input, buf));
    net_items(g->root, 1, sb);
    sb_puts(sb, "}\n");
    if (g->train.present) {
        sb_puts(sb, "\ntrain {\n");
        ir_train_write(sb, &g->train, TRAIN_NET);
        sb_puts(sb, "}\n");
    }
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
        sb_indent(sb, depth);
        sb_puts(sb, "- ");
        if (it->kind == ITEM_GROUP) {
            /* an empty group is an empty list: `name:` alone would read as null */
            sb_printf(sb, it->children.len ? "%s:\n" : "%s: []\n",
                      it->name ? it->name : AST_SEQUENTIAL);
            yaml_items(it, depth + 2, sb);
            continue;
        }
        if (it->is_group) { /* `- name: {branch: [...]}` written as a block: name, then word */
            const char *word = it->kind == ITEM_BRANCH ? AST_BRANCH : AST_RESIDUAL;
            int inner = depth + 1;
            if (it->name) {
                sb_printf(sb, "%s:\n", it->name);
                sb_indent(sb, depth + 2);
                inner = depth + 2;
            }
            sb_printf(sb, it->children.len ? "%s:\n" : "%s: []\n", word);
            yaml_items(it, inner + 1, sb);
            continue;
        }
        if (it->kind == ITEM_JOIN) {
            if (it->name)
                sb_printf(sb, "%s: {", it->name);
            sb_printf(sb, AST_JOIN ": [%s", join_word(it->node));
            for (int k = 0; k < it->nrefs; k++)
                sb_printf(sb, ", %s", it->refs[k]);
            sb_puts(sb, it->name ? "]}\n" : "]\n");
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

void write_yaml(const Graph *g, StrBuf *sb)
{
    sb_printf(sb, "network: %s\ninput: [", g->name);
    for (int i = 0; i < g->input.rank; i++)
        sb_printf(sb, i ? ", %lld" : "%lld", (long long)g->input.d[i]);
    sb_puts(sb, "]\nlayers:\n");
    yaml_items(g->root, 1, sb);
    if (g->train.present) {
        sb_puts(sb, "train:\n");
        ir_train_write(sb, &g->train, TRAIN_YAML);
    }
}
