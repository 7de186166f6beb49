/* driver_stub.c: a stand-in network for testing the --main driver (src/codegen/driver.c)
 * as C on its own, assembled as netc assembles a program: the network's forward function,
 * the NETC_MAIN_* macros, then the driver. The input is a STUB_C x STUB_H x STUB_W image
 * (STUB_C 0: a flat input of STUB_H * STUB_W values), there are STUB_OUT outputs, and the
 * forward pass is easy to predict: output k is input value k (0 past the input). With
 * STUB_OUT_SHAPE (a string) the output is an image of that shape rather than class scores.
 * Built by tests/codegen/driver.sh. */
#if STUB_C == 0
#define STUB_IN_SIZE (STUB_H * STUB_W)
#else
#define STUB_IN_SIZE (STUB_C * STUB_H * STUB_W)
#endif

void stub_forward(const float *in, float *out);

void stub_forward(const float *in, float *out)
{
    for (int k = 0; k < STUB_OUT; k++)
        out[k] = k < STUB_IN_SIZE ? in[k] : 0.0f;
}

#define NETC_MAIN_NAME "stub"
#define NETC_MAIN_FORWARD stub_forward
#define NETC_MAIN_IN_SIZE STUB_IN_SIZE
#define NETC_MAIN_OUT_SIZE STUB_OUT
#if STUB_C == 0
#define NETC_MAIN_IN_C 0
#define NETC_MAIN_IN_H 0
#define NETC_MAIN_IN_W 0
#else
#define NETC_MAIN_IN_C STUB_C
#define NETC_MAIN_IN_H STUB_H
#define NETC_MAIN_IN_W STUB_W
#endif
#define NETC_MAIN_MEAN 0.5
#define NETC_MAIN_STD 0.25
#ifdef STUB_OUT_SHAPE /* an image output ("3x1x1"): no class scores */
#define NETC_MAIN_SCORES 0
#define NETC_MAIN_OUT_SHAPE STUB_OUT_SHAPE
#endif
#include "driver.c"
