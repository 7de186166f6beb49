/* fuzz_yaml.c: libFuzzer target for the YAML front end (libyaml, the YAML walk, lowering,
 * shape pass) and, for inputs that load, the writers. See fuzz_common.h. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one("x.yaml", data, size);
}
