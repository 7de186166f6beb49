/* fuzz_metrics.c: libFuzzer target for the reader of a run's metrics.jsonl (what netrun --plot
 * reads): every line is checked, and a file that passes is drawn as SVG, so a value the
 * reader let through but the axes cannot take (a huge loss, an epoch far out) shows up as a
 * sanitizer report or a hang, not only a bad parse. */
#include "fuzz_io.h"
#include "plot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzIo *f;
    Diag d;
    const char *path = fuzz_io_begin(&f, &d, data, size);
    StrBuf sb;
    sb_init(&sb);
    plot_metrics_svg(path, &sb, &d);
    sb_free(&sb);
    return 0;
}
