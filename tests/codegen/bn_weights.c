/* bn_weights.c: writes a checkpoint of a net's weights for the codegen parity test: the
 * seeded initial ones (netrun's, from the train section's seed), except that every
 * BatchNorm's weight, bias, running mean and running variance are drawn at random. The
 * initial ones make BatchNorm the identity (up to eps), which would hide a wrong fold.
 *   bn_weights NET OUT.safetensors    exit 0 written, 1 bad net or write */
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bn_weights NET OUT.safetensors\n");
        return 2;
    }
    Arena *arena = arena_new();
    Diag d;
    diag_init(&d, stderr, "bn_weights");
    Graph *g = frontend_load(arena, argv[1], &d);
    Model *m = g && !d.errors ? rt_model_new(g, 1, &d) : NULL;
    bool ok = m != NULL;
    if (ok) {
        rt_model_init(m, g->train.seed);
        Rng rng;
        rng_seed(&rng, 12345);
        for (int i = 0; i < g->nodes.len; i++) {
            const Node *n = GRAPH_NODE(g, i);
            if (!n->ops->eval_affine)
                continue;
            /* weight, bias, running_mean, running_var as far as the node has them */
            for (int k = 0; k < n->nparams && n->params[k].shape.rank == 1; k++) {
                bool var = !strcmp(n->params[k].suffix, "running_var");
                bool weight = !strcmp(n->params[k].suffix, "weight");
                for (int64_t c = 0; c < n->params[k].shape.d[0]; c++) {
                    double u = rng_uniform(&rng);
                    rt_node_params(m, i)[k][c] = (float)(var      ? 0.25 + 2 * u
                                                         : weight ? 3 * u - 1.5
                                                                  : u - 0.5);
                }
            }
        }
        ok = ckpt_save(argv[2], m, NULL, NULL, &d);
    }
    rt_model_free(m);
    arena_free(arena);
    return ok ? 0 : 1;
}
