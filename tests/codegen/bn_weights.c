/* bn_weights.c: writes a checkpoint of a net's weights for the codegen parity test: the
 * seeded initial ones (netrun's, from the train section's seed), except that every
 * BatchNorm's weight, bias, running mean and running variance are drawn at random. The
 * initial ones make BatchNorm the identity (up to eps), which would hide a wrong fold.
 * With --huge, every Conv2d weight is instead 3e38 in size (its sign kept) and BatchNorm
 * left as it is, so that a Winograd transform of the weights does not fit a float (netc
 * must fall back). With --huge-fold, the same Conv2d weights and every BatchNorm's weight 4:
 * folding the BatchNorm into the convolution overflows a float (netc must refuse).
 *   bn_weights NET OUT.safetensors [--huge|--huge-fold]    exit 0 written, 1 bad net or write */
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "runtime.h"

int main(int argc, char **argv)
{
    bool fold = argc == 4 && !strcmp(argv[3], "--huge-fold");
    bool huge = fold || (argc == 4 && !strcmp(argv[3], "--huge"));
    if (argc != 3 && !huge) {
        fprintf(stderr, "usage: bn_weights NET OUT.safetensors [--huge|--huge-fold]\n");
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
            if (huge && n->kind == LAYER_CONV2D) {
                float *w = rt_node_params(m, i)[0];
                for (int64_t k = 0; k < shape_numel(n->params[0].shape); k++)
                    w[k] = w[k] < 0 ? -3e38f : 3e38f;
            }
            if (fold && n->ops->eval_affine)
                for (int k = 0; k < n->nparams; k++)
                    if (!strcmp(n->params[k].suffix, "weight"))
                        for (int64_t c = 0; c < n->params[k].shape.d[0]; c++)
                            rt_node_params(m, i)[k][c] = 4.0f;
            if (huge || !n->ops->eval_affine)
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
