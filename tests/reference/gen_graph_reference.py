#!/usr/bin/python3
"""gen_graph_reference.py: PyTorch reference values for the kernels that graph networks
brought (batch normalisation, depthwise convolution, adaptive and ceil-mode pooling, GELU,
SiLU).

Run with Debian's Python, which has torch:  /usr/bin/python3 tests/reference/gen_graph_reference.py
It rewrites graph.ref next to itself; tests/kernels/test_kernels_graph.c reads it. Same
conventions as gen_reference.py (whose writer and helpers it uses): float64 references on
float32 inputs, backward through loss = sum(out * dout).
"""
import os

import torch
import torch.nn.functional as F

from gen_reference import HERE, RefWriter, backward_of, pair, rand


def pool_out(n, k, s, p, ceil):
    """PyTorch's pooling_output_shape (dilation 1)."""
    num = n + 2 * p - (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def write_pool2(w, name, is_max, B, C, H, W, k, s, p, ceil, cip):
    """One pool2_<name> case: PyTorch's max or average pooling, forward and backward."""
    (KH, KW), (SH, SW), (PH, PW) = pair(k), pair(s), pair(p)
    OH, OW = pool_out(H, KH, SH, PH, ceil), pool_out(W, KW, SW, PW, ceil)
    x = rand(B, C, H, W)
    dout = rand(B, C, OH, OW)
    if is_max:
        fn = lambda x_: F.max_pool2d(x_, (KH, KW), (SH, SW), (PH, PW), ceil_mode=ceil)
    else:
        fn = lambda x_: F.avg_pool2d(x_, (KH, KW), (SH, SW), (PH, PW), ceil_mode=ceil,
                                     count_include_pad=cip)
    out, (din,) = backward_of(fn, dout, x)
    assert out.shape[2:] == (OH, OW), (name, out.shape, OH, OW)
    n = "pool2_" + name
    w.tensor(n + ".geom", [B, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW, int(is_max), int(ceil), int(cip)])
    w.tensor(n + ".in", x)
    w.tensor(n + ".out", out)
    if is_max:
        _, idx = F.max_pool2d(x, (KH, KW), (SH, SW), (PH, PW), ceil_mode=ceil, return_indices=True)
        w.tensor(n + ".argmax", idx)
    w.tensor(n + ".dout", dout)
    w.tensor(n + ".din", din)


def write(path):
    torch.manual_seed(20261203)
    w = RefWriter(path, """\
# graph.ref: PyTorch reference values for src/kernels/norm.c, dwconv.c, the adaptive and
# ceil-mode pooling in pool.c, and GELU/SiLU in activation.c.
# Written by tests/reference/gen_graph_reference.py (torch float64 on float32 inputs).
""")

    # ---- batch norm ----
    w.comment("""
bn_<case>: size = B C H W (H = W = 1 for BatchNorm1d, whose input is (B, C)); in (B,C,H,W),
weight (C), bias (C), eps (1), momentum (1), rm0/rv0 the running statistics before;
training mode: out, mean (C), var (C, biased), rm/rv after the update (running_var with the
unbiased variance), dout, din, dweight, dbias; eval mode (from rm0/rv0): eval_out, eval_din.""")
    for name, B, C, H, W, eps, mom in [("2d", 4, 3, 5, 6, 1e-5, 0.1), ("2d_wide", 2, 20, 3, 3, 1e-3, 0.3),
                                       ("1d", 7, 5, 1, 1, 1e-5, 0.1), ("2d_one", 1, 4, 3, 2, 1e-5, 0.1),
                                       # the kernels' blocks: 16 channels, 64 rows; and past them
                                       ("2d_16", 2, 16, 9, 8, 1e-5, 0.1), ("2d_blocks", 3, 40, 7, 5, 1e-5, 0.1)]:
        x = rand(B, C, H, W) * 2 + 0.5
        wt, b = rand(C) * 0.5 + 1, rand(C) * 0.5
        rm0, rv0 = rand(C) * 0.1, rand(C).abs() + 0.5
        dout = rand(B, C, H, W)
        shape = (B, C) if name == "1d" else (B, C, H, W)

        def train_fn(x_, w_, b_):
            rm, rv = rm0.clone(), rv0.clone()
            return F.batch_norm(x_.reshape(shape), rm, rv, w_, b_, True, mom, eps).reshape(B, C, H, W)

        out, (din, dw, db) = backward_of(train_fn, dout, x, wt, b)
        rm, rv = rm0.clone(), rv0.clone()
        F.batch_norm(x.reshape(shape), rm, rv, wt, b, True, mom, eps)
        dims = [0] if name == "1d" else [0, 2, 3]
        xs = x.reshape(shape)
        n = "bn_" + name
        w.tensor(n + ".size", [B, C, H, W])
        for t, v in [("in", x), ("weight", wt), ("bias", b), ("eps", [eps]), ("momentum", [mom]),
                     ("rm0", rm0), ("rv0", rv0), ("out", out), ("mean", xs.mean(dims)),
                     ("var", xs.var(dims, unbiased=False)), ("rm", rm), ("rv", rv),
                     ("dout", dout), ("din", din), ("dweight", dw), ("dbias", db)]:
            w.tensor(n + "." + t, v)
        eout, (edin,) = backward_of(
            lambda x_: F.batch_norm(x_.reshape(shape), rm0.clone(), rv0.clone(), wt, b, False, mom,
                                    eps).reshape(B, C, H, W), dout, x)
        w.tensor(n + ".eval_out", eout)
        w.tensor(n + ".eval_din", edin)

    # ---- depthwise convolution ----
    w.comment("""
dwconv_<case>: geom = B C H W OC KH KW SH SW PH PW DH DW OH OW (groups = C, OC = C * M);
in, w (OC,1,KH,KW), b (OC) (absent without bias), out, dout, din, dw, db.""")
    for name, B, C, H, W, M, k, s, p, d, bias in [
            ("k3", 2, 5, 7, 6, 1, 3, 1, 1, 1, True), ("stride2", 2, 17, 9, 8, 1, 3, 2, 1, 1, True),
            ("mult2", 2, 3, 6, 7, 2, 3, 1, 1, 1, False), ("dil2", 1, 4, 9, 9, 1, 3, 1, 2, 2, True),
            ("rect", 2, 6, 8, 7, 1, (3, 1), (1, 2), (1, 0), 1, True), ("k5", 1, 32, 8, 8, 1, 5, 1, 2, 1, True),
            # rows of several whole tiles of pixels, and two vectors of channels
            ("wide", 2, 16, 5, 30, 1, 3, 1, 1, 1, True),
            # stride 2 without padding on odd sizes; channels past the last whole vector
            ("s2p0", 2, 9, 11, 13, 1, 3, 2, 0, 1, False),
            # a stride larger than the kernel: input pixels that no tap reaches
            ("s3k2", 1, 8, 10, 11, 1, 2, 3, 1, 1, True),
            # padding wider than half the kernel, a multiplier of 3 and a stride in x only
            ("pad2mult3", 1, 4, 6, 9, 3, 3, (1, 2), 2, 1, True),
            # 49 taps: the weight gradient in six passes of at most 9
            ("k7", 1, 8, 9, 9, 1, 7, 1, 3, 1, True),
            # no padding: the input's edge pixels reached by fewer taps
            ("p0", 2, 8, 7, 10, 1, 3, 1, 0, 1, True)]:
        (KH, KW), (SH, SW), (PH, PW), (DH, DW) = pair(k), pair(s), pair(p), pair(d)
        OC = C * M
        OH = (H + 2 * PH - DH * (KH - 1) - 1) // SH + 1
        OW = (W + 2 * PW - DW * (KW - 1) - 1) // SW + 1
        x, wt = rand(B, C, H, W), rand(OC, 1, KH, KW) * 0.5
        b = rand(OC) if bias else None
        dout = rand(B, OC, OH, OW)
        out, (din, dw, db) = backward_of(
            lambda x_, w_, b_: F.conv2d(x_, w_, b_, (SH, SW), (PH, PW), (DH, DW), groups=C), dout, x, wt, b)
        n = "dwconv_" + name
        w.tensor(n + ".geom", [B, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW])
        for t, v in [("in", x), ("w", wt), ("b", b), ("out", out), ("dout", dout), ("din", din),
                     ("dw", dw), ("db", db)]:
            if v is not None:
                w.tensor(n + "." + t, v)

    # ---- grouped convolution ----
    w.comment("""
gconv_<case>: geom = B C H W OC KH KW SH SW PH PW DH DW OH OW G; in, w (OC,C/G,KH,KW), b (OC)
(absent without bias), out, dout, din, dw, db.""")
    for name, B, C, H, W, OC, G, k, s, p, bias in [
            ("g2", 2, 4, 6, 7, 6, 2, 3, 1, 1, True), ("g4s2", 2, 8, 9, 8, 8, 4, 3, 2, 1, True),
            ("g2nobias", 1, 6, 5, 5, 4, 2, 1, 1, 0, False), ("g3rect", 2, 9, 7, 6, 6, 3, (3, 1), 1, (1, 0), True)]:
        (KH, KW), (SH, SW), (PH, PW) = pair(k), pair(s), pair(p)
        OH = (H + 2 * PH - (KH - 1) - 1) // SH + 1
        OW = (W + 2 * PW - (KW - 1) - 1) // SW + 1
        x, wt = rand(B, C, H, W), rand(OC, C // G, KH, KW) * 0.5
        b = rand(OC) if bias else None
        dout = rand(B, OC, OH, OW)
        out, (din, dw, db) = backward_of(
            lambda x_, w_, b_: F.conv2d(x_, w_, b_, (SH, SW), (PH, PW), 1, groups=G), dout, x, wt, b)
        n = "gconv_" + name
        w.tensor(n + ".geom", [B, C, H, W, OC, KH, KW, SH, SW, PH, PW, 1, 1, OH, OW, G])
        for t, v in [("in", x), ("w", wt), ("b", b), ("out", out), ("dout", dout), ("din", din),
                     ("dw", dw), ("db", db)]:
            if v is not None:
                w.tensor(n + "." + t, v)

    # ---- pooling: ceil_mode, count_include_pad, adaptive ----
    w.comment("""
pool2_<case>: geom = B C H W KH KW SH SW PH PW OH OW max ceil count_include_pad; in, out,
argmax (max only), dout, din.""")
    for case in [
            ("max_ceil", True, 2, 3, 7, 8, 2, 2, 0, True, True),
            ("max_ceil_k3s2", True, 2, 2, 8, 10, 3, 2, 1, True, True),
            ("avg_ceil", False, 2, 3, 7, 8, 2, 2, 0, True, True),
            ("avg_ceil_pad", False, 2, 2, 8, 9, 3, 2, 1, True, True),
            ("avg_nopad_count", False, 2, 2, 7, 7, 3, 2, 1, False, False),
            ("avg_ceil_nopad_count", False, 2, 3, 8, 7, 3, 2, 1, True, False),
            ("avg_rect", False, 1, 2, 9, 6, (3, 2), (2, 1), (1, 1), True, False)]:
        write_pool2(w, *case)

    w.comment("""
adaptive_<case>: size = B C H W OH OW; in, out, dout, din (AdaptiveAvgPool2d((OH, OW))).""")
    for name, B, C, H, W, OH, OW in [("global", 2, 5, 7, 7, 1, 1), ("2x3", 2, 3, 7, 8, 2, 3),
                                     ("same", 1, 2, 5, 5, 5, 5), ("up", 1, 2, 3, 4, 5, 7),
                                     ("odd", 2, 4, 10, 9, 3, 4)]:
        x, dout = rand(B, C, H, W), rand(B, C, OH, OW)
        out, (din,) = backward_of(lambda x_: F.adaptive_avg_pool2d(x_, (OH, OW)), dout, x)
        n = "adaptive_" + name
        w.tensor(n + ".size", [B, C, H, W, OH, OW])
        for t, v in [("in", x), ("out", out), ("dout", dout), ("din", din)]:
            w.tensor(n + "." + t, v)

    # ---- GELU and SiLU ----
    w.comment("""
gelu, gelu_tanh, silu: in (n), out (n), dout (n), din (n).""")
    x = torch.cat([rand(200) * 3, torch.tensor([0.0, -0.0, 1e-6, -1e-6, 8.0, -8.0, 20.0, -20.0,
                                                 40.0, -40.0], dtype=torch.float64)])
    dout = rand(x.numel())
    for name, fn in [("gelu", lambda x_: F.gelu(x_)), ("gelu_tanh", lambda x_: F.gelu(x_, approximate="tanh")),
                     ("silu", F.silu)]:
        out, (din,) = backward_of(fn, dout, x)
        for t, v in [("in", x), ("out", out), ("dout", dout), ("din", din)]:
            w.tensor(name + "." + t, v)

    # After every other case, with a seed of its own, so that adding these left the values
    # above as they were: ceil_mode windows wider than the padded input, where PyTorch's
    # floored quotient still gives one window over what the kernel covers.
    torch.manual_seed(20261205)
    w.comment("""
pool2_over_<case>: as pool2_, a kernel past the padded input (ceil_mode).""")
    for case in [
            ("over_max", True, 2, 2, 2, 3, 3, (2, 4), 0, True, True),
            ("over_max_pad", True, 1, 3, 1, 7, (2, 4), (1, 3), (1, 1), True, True),
            ("over_avg_count", False, 2, 2, 2, 7, (3, 4), (2, 1), 0, True, True),
            ("over_avg_pad_count", False, 1, 3, 1, 7, (4, 4), (3, 1), (1, 2), True, True),
            ("over_avg_pad_nocount", False, 1, 3, 1, 7, (4, 4), (3, 1), (1, 2), True, False),
            ("over_avg_tall", False, 2, 1, 7, 1, (2, 4), (1, 3), (1, 1), True, False)]:
        write_pool2(w, *case)
    w.close()


if __name__ == "__main__":
    write(os.path.join(HERE, "graph.ref"))
    print("wrote graph.ref")
