/* kind_nets_tool.c: writes tests/common/kind_nets.c's nets as files, for shell tests.
 *   kind_nets_tool DIR    writes DIR/<Kind>_<tag>.net for every kind and position, and
 *                         prints each file's name; exits 1 if a kind has no net at a
 *                         position of first, middle (any) or last. */
#include <stdio.h>
#include <stdlib.h>

#include "kind_nets.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: kind_nets_tool DIR\n");
        return 2;
    }
    int status = 0;
    for (int k = 0; k < LAYER__COUNT; k++) {
        KindNet nets[32];
        int n = kind_nets(ir_layers[k], nets, 32);
        bool seen[POS__COUNT] = {false};
        for (int i = 0; i < n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s_%s.net", argv[1], ir_layers[k]->name, nets[i].tag);
            FILE *f = fopen(path, "w");
            if (!f || fputs(nets[i].text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "kind_nets_tool: cannot write %s\n", path);
                return 1;
            }
            puts(path);
            seen[nets[i].pos] = true;
        }
        bool middle = seen[POS_BEFORE_POOL] || seen[POS_AFTER_POOL] || seen[POS_MIDDLE];
        if (!seen[POS_FIRST] || !middle || !seen[POS_LAST]) {
            fprintf(stderr,
                    "kind_nets_tool: %s ('%s') has no net at the first, a middle or the "
                    "last position\n",
                    ir_layers[k]->name, ir_layers[k]->example);
            status = 1;
        }
        kind_nets_free(nets, n);
    }
    return status;
}
