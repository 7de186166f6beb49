/* fuzz_net.c: libFuzzer target for the .net front end (lexer, parser, lowering, shape pass)
 * and, for inputs that load, the writers. See fuzz_common.h. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one("x.net", data, size);
}
