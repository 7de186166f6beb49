#!/usr/bin/python3
"""gen_reference.py: writes the PyTorch reference values the C tests compare against.

Run with Debian's Python, which has torch:  /usr/bin/python3 tests/reference/gen_reference.py
It rewrites, next to itself:
  kernels.ref  inputs and expected outputs of every kernel in src/kernels (forward and backward)
  optim.ref    weights after 3 optimiser steps in float64, weights along 25 steps of
               torch.optim in float32 over every argument's extremes, and learning-rate
               schedules over 12 epochs
Commit both with this script; the tests read them and need no Python.

Design choice: kernel references are computed in float64 from float32 inputs (inputs are
drawn in float32, so they print exactly), which makes them the exact answers the float32
kernels should approach, not another float32 rounding to agree with. Backward references use
loss = sum(out * r) for a fixed random r, so the upstream gradient dout is r. The float32
optimiser runs are the opposite: what torch.optim computes on a float32 model, roundings
included, which netrun must reproduce operation by operation.
"""
import os

# torch.optim's float32 steps go through ATen's vectorised CPU kernels, whose multiply-adds
# (add with alpha, addcmul) are fused on AVX2 and AVX-512: pin the kernel set, so that a
# machine that would pick another one does not silently write other roundings.
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

FORMAT = """\
# Format: '#' starts a comment line. A tensor is a header line
#   name ndim d0 d1 ... d(ndim-1)
# followed by d0*d1*... values in row-major order, whitespace-separated (%.9g, 8 per line).
# Names are '<case>.<tensor>'. Integers (sizes, labels, indices) are written as values too.
"""


class RefWriter:
    def __init__(self, path, header):
        self.f = open(path, "w")
        self.f.write(header)
        self.f.write(FORMAT)

    def comment(self, text):
        self.f.write("#\n")
        for line in text.strip().splitlines():
            self.f.write("# " + line + "\n")

    def tensor(self, name, t):
        if not torch.is_tensor(t):
            t = torch.tensor(t, dtype=torch.float64)  # Python floats are doubles: keep them so
        t = t.detach().to(torch.float64).contiguous()
        dims = list(t.shape)
        self.f.write("%s %d%s\n" % (name, len(dims), "".join(" %d" % d for d in dims)))
        vals = t.reshape(-1).tolist()
        for i in range(0, len(vals), 8):
            self.f.write(" ".join("%.9g" % v for v in vals[i:i + 8]) + "\n")

    def close(self):
        self.f.close()


def rand(*shape):
    """Standard normal float32 values, returned as float64 (exactly the same numbers)."""
    return torch.randn(*shape, dtype=torch.float32).to(torch.float64)


def backward_of(fn, dout, *inputs):
    """Gradients of sum(fn(*inputs) * dout) with respect to each input (None if not a leaf)."""
    leaves = [x.clone().requires_grad_(True) if x is not None else None for x in inputs]
    out = fn(*leaves)
    (out * dout).sum().backward()
    return out.detach(), [x.grad if x is not None else None for x in leaves]


def pair(v):
    return (v, v) if isinstance(v, int) else v


def out_size(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def write_conv_case(w, name, B, C, H, W, OC, k, s, p, d, bias):
    (KH, KW), (SH, SW), (PH, PW), (DH, DW) = pair(k), pair(s), pair(p), pair(d)
    OH, OW = out_size(H, KH, SH, PH, DH), out_size(W, KW, SW, PW, DW)
    x, wt = rand(B, C, H, W), rand(OC, C, KH, KW) * 0.5
    b = rand(OC) if bias else None
    dout = rand(B, OC, OH, OW)
    out, (din, dw, db) = backward_of(
        lambda x_, w_, b_: F.conv2d(x_, w_, b_, (SH, SW), (PH, PW), (DH, DW)), dout, x, wt, b)
    write_layer_case(w, "conv2d_" + name, "geom",
                     [B, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW],
                     x, wt, b, out, dout, din, dw, db)


def write_layer_case(w, n, size_name, size, x, wt, b, out, dout, din, dw, db):
    """A layer with weights and an optional bias (b None: no b and no db)."""
    for t, v in [(size_name, size), ("in", x), ("w", wt), ("b", b), ("out", out),
                 ("dout", dout), ("din", din), ("dw", dw), ("db", db if b is not None else None)]:
        if v is not None:
            w.tensor(n + "." + t, v)


def write_kernels(path):
    torch.manual_seed(20240601)
    w = RefWriter(path, """\
# kernels.ref: PyTorch reference values for the kernels in src/kernels.
# Written by tests/reference/gen_reference.py (torch float64 on float32 inputs); do not edit.
# Backward cases use loss = sum(out * dout) for the random dout given, so dout is the
# upstream gradient and din/dw/db are the gradients of that loss.
""")

    # ---- conv2d ----
    w.comment("""
conv2d_<case>: geom = B C H W OC KH KW SH SW PH PW DH DW OH OW (the ConvGeom fields);
tensors in (B,C,H,W), w (OC,C,KH,KW), b (OC) (absent when the case has no bias),
out (B,OC,OH,OW), dout (B,OC,OH,OW), din, dw, db (absent without bias). PyTorch's layouts:
the tests transpose images to the kernels' channels-last order.""")
    conv_cases = [
        # name,        B, C, H, W, OC, k,      s,      p,      d,      bias
        ("basic",      2, 3, 7, 6, 4, 3,      1,      1,      1,      True),
        ("stride2",    2, 3, 9, 8, 5, 3,      2,      0,      1,      True),
        ("pad2",       2, 2, 6, 7, 3, 3,      1,      2,      1,      True),
        ("dilation2",  2, 3, 9, 9, 4, 3,      1,      1,      2,      True),
        ("rect",       2, 3, 8, 7, 4, (2, 3), (2, 1), (0, 1), (1, 2), True),
        ("nobias",     3, 4, 6, 6, 5, 3,      1,      1,      1,      False),
        ("pointwise",  2, 6, 5, 4, 3, 1,      1,      0,      1,      True),
        ("seedlike",   3, 1, 12, 12, 8, 3,    1,      1,      1,      True),
        ("wide",       2, 16, 7, 7, 24, 3,    1,      1,      1,      True),
        ("single",     1, 3, 6, 5, 4, 3,      1,      1,      1,      True),
        # more than one tile across: 5 vectors of output channels (a tile takes 4), rows
        # of 26 pixels, and (blocks_din) 70 input channels, 5 vectors for the input gradient
        ("blocks",     1, 20, 4, 26, 80, 3,   1,      1,      1,      True),
        ("blocks_din", 1, 70, 5, 7, 20, 3,    2,      1,      1,      False),
    ]
    for case in conv_cases:
        write_conv_case(w, *case)

    # ---- linear ----
    w.comment("""
linear_<case>: size = B IN OUT; in (B,IN), w (OUT,IN), b (OUT) (absent without bias),
out (B,OUT), dout (B,OUT), din, dw, db (absent without bias).""")
    for name, B, IN, OUT, bias in [("basic", 5, 13, 7, True), ("nobias", 4, 9, 3, False),
                                   ("tall", 37, 70, 10, True), ("single", 1, 20, 6, True)]:
        x, wt = rand(B, IN), rand(OUT, IN) * 0.3
        b = rand(OUT) if bias else None
        dout = rand(B, OUT)
        out, (din, dw, db) = backward_of(lambda x_, w_, b_: F.linear(x_, w_, b_), dout, x, wt, b)
        write_layer_case(w, "linear_" + name, "size", [B, IN, OUT], x, wt, b, out, dout, din, dw,
                         db)

    # ---- pooling ----
    w.comment("""
maxpool_<case> and avgpool_<case>: geom = B C H W KH KW SH SW PH PW OH OW (the PoolGeom
fields); in (B,C,H,W), out (B,C,OH,OW), argmax (maxpool only: index in the H*W plane, as
PyTorch's return_indices), dout (B,C,OH,OW), din (B,C,H,W). PyTorch defaults otherwise
(ceil_mode=False, count_include_pad=True). maxpool_negpad has all-negative inputs, so its
padded windows check that padding acts as -inf.""")
    pool_cases = [
        # name,     B, C, H, W, k,      s,      p
        ("k2",      2, 3, 8, 6, 2,      2,      0),
        ("k2odd",   2, 2, 7, 9, 2,      2,      0),
        ("k3s2",    2, 2, 9, 9, 3,      2,      0),
        ("pad",     2, 2, 7, 8, 3,      2,      1),
        ("rect",    2, 3, 7, 9, (2, 3), (1, 2), (1, 1)),
        ("k3s1",    1, 2, 6, 5, 3,      1,      1),
    ]
    for kind in ("maxpool", "avgpool"):
        cases = pool_cases + ([("negpad", 1, 2, 5, 5, 3, 2, 1)] if kind == "maxpool" else [])
        for name, B, C, H, W, k, s, p in cases:
            (KH, KW), (SH, SW), (PH, PW) = pair(k), pair(s), pair(p)
            OH, OW = out_size(H, KH, SH, PH), out_size(W, KW, SW, PW)
            x = rand(B, C, H, W)
            if name == "negpad":
                x = -x.abs() - 0.5
            dout = rand(B, C, OH, OW)
            n = kind + "_" + name
            w.tensor(n + ".geom", [B, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW])
            w.tensor(n + ".in", x)
            if kind == "maxpool":
                out, (din,) = backward_of(lambda x_: F.max_pool2d(x_, (KH, KW), (SH, SW), (PH, PW)),
                                          dout, x)
                _, idx = F.max_pool2d(x, (KH, KW), (SH, SW), (PH, PW), return_indices=True)
                w.tensor(n + ".out", out)
                w.tensor(n + ".argmax", idx)
            else:
                out, (din,) = backward_of(lambda x_: F.avg_pool2d(x_, (KH, KW), (SH, SW), (PH, PW)),
                                          dout, x)
                w.tensor(n + ".out", out)
            w.tensor(n + ".dout", dout)
            w.tensor(n + ".din", din)

    # ---- elementwise activations ----
    w.comment("""
relu, leaky_relu, sigmoid, tanh: in (n), out (n), dout (n), din (n); leaky_relu also has
slope (1). The inputs include exact zeros (the gradient at 0 follows PyTorch: relu 0,
leaky_relu slope).""")
    acts = [("relu", F.relu, None), ("leaky_relu", None, 0.01), ("leaky_relu_big", None, 0.2),
            ("sigmoid", torch.sigmoid, None), ("tanh", torch.tanh, None)]
    for name, fn, slope in acts:
        x = rand(61) * 3.0
        x[::10] = 0.0
        dout = rand(61)
        if slope is not None:
            out, (din,) = backward_of(lambda x_: F.leaky_relu(x_, slope), dout, x)
        else:
            out, (din,) = backward_of(fn, dout, x)
        w.tensor(name + ".in", x)
        if slope is not None:
            w.tensor(name + ".slope", [slope])
        w.tensor(name + ".out", out)
        w.tensor(name + ".dout", dout)
        w.tensor(name + ".din", din)

    # ---- softmax and losses ----
    w.comment("""
softmax: size = B N; in (B,N), out (B,N) softmax over dim 1, dout (B,N), din (B,N).""")
    B, N = 4, 11
    x, dout = rand(B, N) * 3.0, rand(B, N)
    out, (din,) = backward_of(lambda x_: torch.softmax(x_, dim=1), dout, x)
    for t, v in [("size", [B, N]), ("in", x), ("out", out), ("dout", dout), ("din", din)]:
        w.tensor("softmax." + t, v)

    w.comment("""
cross_entropy_<case>: size = B N; logits (B,N), labels (B), loss (1) = mean over the batch of
-log_softmax(logits)[label], dlogits (B,N) = d loss / d logits. The 'large' case has logits
in the hundreds, which overflow exp without the max subtraction.""")
    for name, B, N, scale in [("basic", 6, 10, 2.0), ("large", 4, 7, 200.0)]:
        logits = rand(B, N) * scale
        labels = torch.randint(0, N, (B,))
        lg = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(lg, labels)
        loss.backward()
        n = "cross_entropy_" + name
        w.tensor(n + ".size", [B, N])
        w.tensor(n + ".logits", logits)
        w.tensor(n + ".labels", labels)
        w.tensor(n + ".loss", [loss.item()])
        w.tensor(n + ".dlogits", lg.grad)

    w.comment("""
mse: size = B N; pred (B,N), target (B,N), loss (1) = mean of (pred-target)^2 over all
elements, dpred (B,N) = d loss / d pred.""")
    B, N = 5, 6
    pred, target = rand(B, N), rand(B, N)
    pr = pred.clone().requires_grad_(True)
    loss = F.mse_loss(pr, target)
    loss.backward()
    for t, v in [("size", [B, N]), ("pred", pred), ("target", target), ("loss", [loss.item()]),
                 ("dpred", pr.grad)]:
        w.tensor("mse." + t, v)

    # After every other case, with a seed of its own, so that adding these left the values
    # above as they were.
    torch.manual_seed(20240603)
    w.comment("""
cross_entropy_smooth<case>: as cross_entropy_<case>, with label_smoothing (1) = e, the loss of
torch.nn.CrossEntropyLoss(label_smoothing=e): (1 - e) nll + e mean over classes of
-log_softmax. e = 1 is the uniform target alone; the 'large' case has logits in the hundreds.""")
    for name, B, N, scale, e in [("", 6, 10, 2.0, 0.1), ("_large", 4, 7, 200.0, 0.3),
                                 ("_uniform", 5, 3, 1.0, 1.0)]:
        logits = rand(B, N) * scale
        labels = torch.randint(0, N, (B,))
        lg = logits.clone().requires_grad_(True)
        loss = torch.nn.CrossEntropyLoss(label_smoothing=e)(lg, labels)
        loss.backward()
        n = "cross_entropy_smooth" + name
        w.tensor(n + ".size", [B, N])
        w.tensor(n + ".logits", logits)
        w.tensor(n + ".labels", labels)
        w.tensor(n + ".label_smoothing", [e])
        w.tensor(n + ".loss", [loss.item()])
        w.tensor(n + ".dlogits", lg.grad)

    w.comment("""
log_softmax: size = B N; in (B,N), out (B,N) log_softmax over dim 1 (the 'large' case's
logits in the hundreds), dout (B,N), din (B,N).
nll: size = B N; logp (B,N) log-probabilities, labels (B), loss (1) = F.nll_loss (the mean
over the batch of -logp[label]), dlogp (B,N).""")
    for name, scale in [("", 3.0), ("_large", 300.0)]:
        B, N = 5, 10
        x, dout = rand(B, N) * scale, rand(B, N)
        out, (din,) = backward_of(lambda x_: F.log_softmax(x_, dim=1), dout, x)
        for t, v in [("size", [B, N]), ("in", x), ("out", out), ("dout", dout), ("din", din)]:
            w.tensor("log_softmax" + name + "." + t, v)
    B, N = 6, 7
    logp = F.log_softmax(rand(B, N) * 2.0, dim=1).detach().requires_grad_(True)
    labels = torch.randint(0, N, (B,))
    loss = F.nll_loss(logp, labels)
    loss.backward()
    for t, v in [("size", [B, N]), ("logp", logp.detach()), ("labels", labels),
                 ("loss", [loss.item()]), ("dlogp", logp.grad)]:
        w.tensor("nll." + t, v)
    write_conv_paths(w)
    w.close()


def write_conv_paths(w):
    """More conv2d_ cases, for the kernels' other paths: inputs of exactly 16 channels (the
    weight gradient by taps: 25 taps cut into tiles of 9, 9 and 7, and output channels in
    blocks of 3 and 2), stride 1 with padding past the kernel's extent (the input gradient by
    the scatter, not the gather), dilation with the gather, and one vector of input channels
    at stride 2."""
    torch.manual_seed(20261207)  # after every other case, so that those keep their values
    cases = [
        # name,        B, C, H, W, OC, k,      s,      p,      d,      bias
        ("c16_k5",     2, 16, 9, 8, 7, 5,      1,      2,      1,      True),
        ("c16_s2",     2, 16, 9, 9, 32, 3,     2,      1,      1,      False),
        ("c16_k2",     1, 16, 6, 7, 5, 2,      1,      0,      1,      True),
        ("c16_wide",   1, 16, 5, 5, 40, 3,     1,      1,      1,      True),
        ("pad3",       2, 4, 6, 5, 3, 3,       1,      3,      1,      True),
        ("k1pad1",     1, 5, 4, 4, 6, 1,       1,      1,      1,      True),
        ("dil2pad0",   1, 6, 9, 9, 5, 3,       1,      0,      2,      True),
        ("c12_rect",   2, 12, 7, 8, 9, (3, 1), 1,      (1, 0), 1,      True),
    ]
    for name, B, C, H, W, OC, k, s, p, d, bias in cases:
        write_conv_case(w, name, B, C, H, W, OC, k, s, p, d, bias)


def write_optim(path):
    torch.manual_seed(20240602)
    w = RefWriter(path, """\
# optim.ref: PyTorch reference values for the optimisers and learning-rate schedules.
# Written by tests/reference/gen_reference.py (torch float64, and float32 where stated); do
# not edit.
""")
    w0 = rand(10)
    grads = rand(3, 10)
    w.comment("""
Optimisers. optim.w0 (10) are the starting weights and optim.grads (3,10) the gradient
given at steps 1, 2, 3 (row t-1 at step t). Each case <name>.w (3,10) holds the weights
after steps 1, 2 and 3 (row t-1 after step t). torch.optim defaults unless stated.""")
    w.tensor("optim.w0", w0)
    w.tensor("optim.grads", grads)
    cases = [
        ("sgd", "SGD(lr=0.1)", lambda p: torch.optim.SGD(p, lr=0.1)),
        ("sgd_momentum", "SGD(lr=0.1, momentum=0.9)",
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        ("sgd_nesterov", "SGD(lr=0.1, momentum=0.9, nesterov=True)",
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
        ("sgd_dampening", "SGD(lr=0.1, momentum=0.9, dampening=0.1)",
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1)),
        ("sgd_weight_decay", "SGD(lr=0.1, weight_decay=0.01)",
         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01)),
        ("adam", "Adam(lr=1e-3) (betas 0.9, 0.999, eps 1e-8)",
         lambda p: torch.optim.Adam(p, lr=1e-3)),
        ("adam_weight_decay", "Adam(lr=1e-3, weight_decay=0.01) (L2: decay added to the gradient)",
         lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=0.01)),
        ("adamw", "AdamW(lr=1e-3, weight_decay=0.01) (decoupled decay)",
         lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=0.01)),
    ]
    for name, desc, make in cases:
        p = w0.clone().requires_grad_(True)
        opt = make([p])
        after = []
        for t in range(3):
            opt.zero_grad()
            p.grad = grads[t].clone()
            opt.step()
            after.append(p.detach().clone())
        w.comment("%s: %s" % (name, desc))
        w.tensor(name + ".w", torch.stack(after))

    write_optim32(w)

    w.comment("""
Learning-rate schedules, on SGD(lr=0.1) unless stated. <name>.lr (12) is the learning rate in
force during epoch (or step) 0..11: read before optimizer.step(), then scheduler.step() once
per epoch. OneCycleLR also cycles the momentum; onecycle.momentum (12) holds it likewise.""")
    scheds = [
        ("steplr", "StepLR(step_size=3, gamma=0.5)",
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
        ("multisteplr", "MultiStepLR(milestones=[2, 5, 9], gamma=0.1)",
         lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1)),
        ("exponentiallr", "ExponentialLR(gamma=0.9)",
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        ("cosine", "CosineAnnealingLR(T_max=10)",
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
        ("cosine_eta_min", "CosineAnnealingLR(T_max=10, eta_min=0.01)",
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01)),
        ("onecycle", "OneCycleLR(max_lr=0.1, total_steps=12) (pct_start 0.3, anneal cos, "
         "div_factor 25, final_div_factor 1e4, three_phase False, momentum 0.85..0.95)",
         lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=12)),
        ("linearlr", "LinearLR(start_factor=0.1, total_iters=4) (end_factor 1.0)",
         lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4)),
        ("linearlr_default", "LinearLR() (start_factor 1/3, end_factor 1.0, total_iters 5)",
         lambda o: torch.optim.lr_scheduler.LinearLR(o)),
    ]
    # Every argument at its extremes, and past the schedule's own end.
    LR = torch.optim.lr_scheduler
    scheds += [
        ("steplr_1_gamma0", "StepLR(step_size=1, gamma=0)",
         lambda o: LR.StepLR(o, step_size=1, gamma=0.0)),
        ("steplr_gamma_up", "StepLR(step_size=5, gamma=3.5)",
         lambda o: LR.StepLR(o, step_size=5, gamma=3.5)),
        ("steplr_past_end", "StepLR(step_size=1000000000)",
         lambda o: LR.StepLR(o, step_size=1000000000)),
        ("multisteplr_repeats", "MultiStepLR(milestones=[7, 0, 3, 3], gamma=0.5) (unsorted; "
         "0 decays from the start; a repeated milestone decays twice)",
         lambda o: LR.MultiStepLR(o, milestones=[7, 0, 3, 3], gamma=0.5)),
        ("multisteplr_gamma0", "MultiStepLR(milestones=[1, 30], gamma=0)",
         lambda o: LR.MultiStepLR(o, milestones=[1, 30], gamma=0.0)),
        ("multisteplr_gamma_up", "MultiStepLR(milestones=[2, 4, 6, 8, 10, 11], gamma=7)",
         lambda o: LR.MultiStepLR(o, milestones=[2, 4, 6, 8, 10, 11], gamma=7.0)),
        ("exponentiallr_0", "ExponentialLR(gamma=0)", lambda o: LR.ExponentialLR(o, gamma=0.0)),
        ("exponentiallr_1", "ExponentialLR(gamma=1)", lambda o: LR.ExponentialLR(o, gamma=1.0)),
        ("exponentiallr_up", "ExponentialLR(gamma=2.5)",
         lambda o: LR.ExponentialLR(o, gamma=2.5)),
        ("cosine_tmax1", "CosineAnnealingLR(T_max=1, eta_min=0.02) (past T_max: up and down "
         "again every epoch)", lambda o: LR.CosineAnnealingLR(o, T_max=1, eta_min=0.02)),
        ("cosine_past_end", "CosineAnnealingLR(T_max=4) (past T_max: back up)",
         lambda o: LR.CosineAnnealingLR(o, T_max=4)),
        ("cosine_eta_above", "CosineAnnealingLR(T_max=7, eta_min=0.5) (eta_min above the lr)",
         lambda o: LR.CosineAnnealingLR(o, T_max=7, eta_min=0.5)),
        ("cosine_long", "CosineAnnealingLR(T_max=1000000000, eta_min=1e-6)",
         lambda o: LR.CosineAnnealingLR(o, T_max=1000000000, eta_min=1e-6)),
        ("onecycle_pct0", "OneCycleLR(max_lr=0.5, total_steps=12, pct_start=0) (no rise)",
         lambda o: LR.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=0.0)),
        ("onecycle_pct1", "OneCycleLR(max_lr=0.5, total_steps=12, pct_start=1) (no fall)",
         lambda o: LR.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=1.0)),
        ("onecycle_pct_small", "OneCycleLR(max_lr=0.5, total_steps=12, pct_start=0.05) (the "
         "rise ends before step 0)",
         lambda o: LR.OneCycleLR(o, max_lr=0.5, total_steps=12, pct_start=0.05)),
        ("onecycle_factors", "OneCycleLR(max_lr=2, total_steps=12, pct_start=0.5, "
         "div_factor=1, final_div_factor=1e12)",
         lambda o: LR.OneCycleLR(o, max_lr=2.0, total_steps=12, pct_start=0.5, div_factor=1.0,
                                 final_div_factor=1e12)),
        ("onecycle_factors_small", "OneCycleLR(max_lr=0.001, total_steps=12, pct_start=0.7, "
         "div_factor=1e-9, final_div_factor=1e-9) (starts and ends above max_lr)",
         lambda o: LR.OneCycleLR(o, max_lr=0.001, total_steps=12, pct_start=0.7,
                                 div_factor=1e-9, final_div_factor=1e-9)),
        ("onecycle_short", "OneCycleLR(max_lr=0.3, total_steps=1) (one step)",
         lambda o: LR.OneCycleLR(o, max_lr=0.3, total_steps=1)),
        ("onecycle_long", "OneCycleLR(max_lr=0.3, total_steps=1000000000)",
         lambda o: LR.OneCycleLR(o, max_lr=0.3, total_steps=1000000000)),
        ("linearlr_down", "LinearLR(start_factor=1, end_factor=0, total_iters=1)",
         lambda o: LR.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=1)),
        ("linearlr_tiny", "LinearLR(start_factor=1e-9, end_factor=0.5, total_iters=20) "
         "(longer than the 12 epochs)",
         lambda o: LR.LinearLR(o, start_factor=1e-9, end_factor=0.5, total_iters=20)),
        ("linearlr_flat", "LinearLR(start_factor=0.25, end_factor=0.25, total_iters=3)",
         lambda o: LR.LinearLR(o, start_factor=0.25, end_factor=0.25, total_iters=3)),
    ]
    for name, desc, make in scheds:
        p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        # a run of OneCycleLR may take total_steps steps at most (past them PyTorch raises)
        n = min(12, getattr(sched, "total_steps", 12))
        lrs, moms = [], []
        for epoch in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            opt.step()
            if epoch < n - 1:
                sched.step()
        w.comment("%s: %s" % (name, desc))
        w.tensor(name + ".lr", lrs)
        if name.startswith("onecycle"):
            w.tensor(name + ".momentum", moms)
    write_clip(w)
    write_plateau(w)
    w.close()


def write_plateau(w):
    """torch.optim.lr_scheduler.ReduceLROnPlateau over a metric's 40 epochs (falling, flat,
    noisy, a NaN, rising), every argument at its edges: the lr of each epoch."""
    m = [1.0, 0.8, 0.7, 0.69995, 0.7, 0.7, 0.65, 0.65, 0.66, 0.64, 0.6, 0.6, 0.6, float("nan"),
         0.59, 0.62, 0.61, 0.58, 0.58, 0.58, 0.5, 0.5, 0.51, 0.52, 0.49, 0.49, 0.49, 0.49, 0.3,
         0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.37, 0.2, 0.2, 0.2, 0.2]
    w.comment("""
ReduceLROnPlateau: plateau.metric (40) is the value passed to scheduler.step(metric) after
epoch e (row e); each case <name>.lr (40) is the lr of epoch e, SGD(lr=0.5) stepped with it.""")
    w.tensor("plateau.metric", m)
    P = torch.optim.lr_scheduler.ReduceLROnPlateau
    cases = [  # name, the schedule statement, the scheduler
        ("plateau_default", "", lambda o: P(o)),
        ("plateau_patience_0", "patience=0", lambda o: P(o, patience=0)),
        ("plateau_patience_2_half", "patience=2 factor=0.5", lambda o: P(o, patience=2, factor=0.5)),
        ("plateau_abs", "patience=1 threshold=0.01 threshold_mode=abs",
         lambda o: P(o, patience=1, threshold=0.01, threshold_mode="abs")),
        ("plateau_rel_big", "patience=0 threshold=0.1", lambda o: P(o, patience=0, threshold=0.1)),
        ("plateau_max", "max patience=1", lambda o: P(o, mode="max", patience=1)),
        ("plateau_max_abs", "mode=max patience=0 threshold=0.05 threshold_mode=abs",
         lambda o: P(o, mode="max", patience=0, threshold=0.05, threshold_mode="abs")),
        ("plateau_cooldown", "patience=0 cooldown=3 factor=0.5",
         lambda o: P(o, patience=0, cooldown=3, factor=0.5)),
        ("plateau_min_lr", "patience=0 factor=0.2 min_lr=0.01",
         lambda o: P(o, patience=0, factor=0.2, min_lr=0.01)),
        ("plateau_eps", "patience=0 factor=0.9 eps=0.03", lambda o: P(o, patience=0, factor=0.9, eps=0.03)),
        ("plateau_factor_0", "patience=1 factor=0", lambda o: P(o, patience=1, factor=0.0)),
        ("plateau_threshold_0", "patience=0 threshold=0", lambda o: P(o, patience=0, threshold=0.0)),
    ]
    for name, text, make in cases:
        p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.5)
        sched = make(opt)
        lrs = []
        for v in m:
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step(v)
        w.comment("%s: schedule ReduceLROnPlateau %s" % (name, text))
        w.tensor(name + ".lr", lrs)


def write_clip(w):
    """torch.nn.utils.clip_grad_norm_ and clip_grad_value_ on float32 gradients, as a training
    loop calls them, over every norm_type and the gradients' extremes."""
    torch.manual_seed(20261206)
    # the parameters of `Linear 5; ReLU; Linear 3` on 6 inputs, in state_dict order
    shapes = [(5, 6), (5,), (3, 5), (3,)]
    n = sum(torch.Size(s).numel() for s in shapes)
    base = torch.randn(n, dtype=torch.float32) * 0.3
    nan = base.clone()
    nan[17] = float("nan")
    sets = {"normal": base, "big": base * 1e20, "tiny": base * 1e-30, "nan": nan,
            "inf": torch.where(torch.arange(n) == 40, torch.tensor(float("inf")), base)}
    w.comment("""
Gradient clipping in float32 (torch.nn.utils). The parameters are those of `Linear 5; ReLU;
Linear 3` on 6 inputs: weight (5,6), bias (5), weight (3,5), bias (3), 53 floats in
state_dict order. clip.<set> (53) are gradients: normal (N(0, 0.3)), big (x 1e20: squares
overflow float32), tiny (x 1e-30: squares underflow), nan (one NaN), inf (one inf). Each case
<name>.clipped (53) holds the gradients after the call its comment shows.""")
    for k, v in sets.items():
        w.tensor("clip." + k, v)
    cases = [  # name, set, the call's text in a train section, the call
        ("clip_norm_2", "normal", "clip_grad_norm 0.5", ("norm", 0.5, 2.0)),
        ("clip_norm_2_above", "normal", "clip_grad_norm 100", ("norm", 100.0, 2.0)),
        ("clip_norm_1", "normal", "clip_grad_norm 0.5 norm_type=1", ("norm", 0.5, 1.0)),
        ("clip_norm_3", "normal", "clip_grad_norm 0.5 norm_type=3", ("norm", 0.5, 3.0)),
        ("clip_norm_2_5", "normal", "clip_grad_norm 0.5 norm_type=2.5", ("norm", 0.5, 2.5)),
        ("clip_norm_inf", "normal", "clip_grad_norm 0.1 norm_type=inf", ("norm", 0.1, "inf")),
        ("clip_norm_2_tiny_max", "normal", "clip_grad_norm 1e-30", ("norm", 1e-30, 2.0)),
        ("clip_norm_2_big", "big", "clip_grad_norm 1", ("norm", 1.0, 2.0)),
        ("clip_norm_1_big", "big", "clip_grad_norm 1 norm_type=1", ("norm", 1.0, 1.0)),
        ("clip_norm_inf_big", "big", "clip_grad_norm 1 norm_type=inf", ("norm", 1.0, "inf")),
        ("clip_norm_2_tiny", "tiny", "clip_grad_norm 1e-3", ("norm", 1e-3, 2.0)),
        ("clip_norm_3_tiny", "tiny", "clip_grad_norm 1e-3 norm_type=3", ("norm", 1e-3, 3.0)),
        ("clip_norm_2_nan", "nan", "clip_grad_norm 1", ("norm", 1.0, 2.0)),
        ("clip_norm_inf_nan", "nan", "clip_grad_norm 1 norm_type=inf", ("norm", 1.0, "inf")),
        ("clip_norm_2_inf", "inf", "clip_grad_norm 1", ("norm", 1.0, 2.0)),
        ("clip_value", "normal", "clip_grad_value 0.05", ("value", 0.05)),
        ("clip_value_big", "big", "clip_grad_value 1e6", ("value", 1e6)),
        ("clip_value_nan", "nan", "clip_grad_value 0.05", ("value", 0.05)),
        ("clip_value_inf", "inf", "clip_grad_value 0.05", ("value", 0.05)),
    ]
    for name, src, text, call in cases:
        flat = sets[src]
        params, off = [], 0
        for s in shapes:
            k = torch.Size(s).numel()
            p = torch.zeros(s, requires_grad=True)
            p.grad = flat[off:off + k].reshape(s).clone()
            params.append(p)
            off += k
        if call[0] == "norm":
            torch.nn.utils.clip_grad_norm_(params, call[1], norm_type=float(call[2]))
        else:
            torch.nn.utils.clip_grad_value_(params, call[1])
        w.comment("%s: %s on clip.%s" % (name, text, src))
        w.tensor(name + ".clipped", torch.cat([p.grad.reshape(-1) for p in params]))


def write_optim32(w):
    """torch.optim on float32 parameters, as a user's model runs it, over every argument at its
    extremes and OneCycleLR's cycling of Adam's beta1 and SGD's momentum."""
    caps = torch.__config__.show()
    assert "CPU capability usage: AVX2" in caps or "CPU capability usage: AVX512" in caps, \
        "ATen's float32 kernels here are not the AVX2/AVX-512 ones these references assume"
    torch.manual_seed(20240603)
    n, steps = 19, 25  # 19: one 16-float vector loop of ATen's and a scalar tail
    at = [1, 2, 3, 5, 10, 15, 20, 25]  # the steps whose weights are kept
    w0 = torch.randn(n, dtype=torch.float32)
    # each element's gradients keep one magnitude, from 1e-6 to 10, so that eps matters for
    # some and not for others
    scale = torch.pow(10.0, torch.empty(n).uniform_(-6.0, 1.0))
    grads = (torch.randn(steps, n) * scale).to(torch.float32)
    w.comment("""
Optimisers in float32, as torch.optim steps a float32 model (ATen's AVX2 CPU kernels, whose
add-with-alpha and addcmul fuse their multiply-add). optim32.w0 (19) are the starting
weights and optim32.grads (25,19) the gradient given at steps 1..25 (row t-1 at step t); each
element's gradients have one magnitude, 1e-6 to 10. Each case <name>.w32 (8,19) holds the
weights after the steps listed in optim32.at (8). A case with a schedule steps it once after
every optimiser step (per batch, as netrun steps OneCycleLR). torch.optim defaults unless
stated.""")
    w.tensor("optim32.w0", w0)
    w.tensor("optim32.grads", grads)
    w.tensor("optim32.at", at)
    SGD, Adam, AdamW = torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW
    RMSprop, Adagrad, Adadelta = torch.optim.RMSprop, torch.optim.Adagrad, torch.optim.Adadelta
    def onecycle(max_lr):
        return lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=max_lr, total_steps=steps)
    cases = [
        # name, optimizer, its arguments, OneCycleLR's max_lr or None (no schedule)
        ("adam_f32", Adam, dict(lr=1e-3), None),
        ("adam_betas_99999", Adam, dict(lr=0.1, betas=(0.9, 0.99999)), None),
        ("adam_betas_5_9", Adam, dict(lr=1e-2, betas=(0.5, 0.9)), None),
        ("adam_betas_0_0", Adam, dict(lr=1e-3, betas=(0.0, 0.0)), None),
        ("adam_betas_99_999999", Adam, dict(lr=1e-3, betas=(0.99, 0.999999)), None),
        ("adam_eps_tiny", Adam, dict(lr=1e-3, eps=1e-12), None),
        ("adam_eps_one", Adam, dict(lr=1e-3, eps=1.0), None),
        ("adam_wd_small", Adam, dict(lr=1e-3, weight_decay=1e-4), None),
        ("adam_wd_large", Adam, dict(lr=1e-3, weight_decay=0.5, betas=(0.8, 0.99999)), None),
        ("adam_lr_tiny", Adam, dict(lr=1e-7), None),
        ("adam_lr_large", Adam, dict(lr=3.0, betas=(0.9, 0.9999)), None),
        ("adamw_f32", AdamW, dict(lr=1e-3), None),
        ("adamw_betas_99999", AdamW, dict(lr=0.1, betas=(0.9, 0.99999)), None),
        ("adamw_betas_0_0", AdamW, dict(lr=1e-3, betas=(0.0, 0.0)), None),
        ("adamw_betas_99_999999", AdamW, dict(lr=1e-3, betas=(0.99, 0.999999)), None),
        ("adamw_eps_tiny", AdamW, dict(lr=1e-3, eps=1e-12), None),
        ("adamw_eps_one", AdamW, dict(lr=1e-3, eps=1.0), None),
        ("adamw_wd_0", AdamW, dict(lr=1e-3, weight_decay=0.0), None),
        ("adamw_wd_large", AdamW, dict(lr=0.1, weight_decay=0.5), None),
        ("adamw_lr_large", AdamW, dict(lr=1.5, weight_decay=0.3, betas=(0.7, 0.9999)), None),
        ("sgd_f32", SGD, dict(lr=0.1), None),
        ("sgd_lr_tiny", SGD, dict(lr=1e-6), None),
        ("sgd_lr_large", SGD, dict(lr=7.0, momentum=0.9), None),
        ("sgd_momentum_9", SGD, dict(lr=0.1, momentum=0.9), None),
        ("sgd_momentum_999", SGD, dict(lr=0.1, momentum=0.999), None),
        ("sgd_dampening_5", SGD, dict(lr=0.1, momentum=0.9, dampening=0.5), None),
        ("sgd_dampening_1", SGD, dict(lr=0.1, momentum=0.9, dampening=1.0), None),
        ("sgd_nesterov_9", SGD, dict(lr=0.1, momentum=0.9, nesterov=True), None),
        ("sgd_nesterov_999_wd", SGD,
         dict(lr=0.05, momentum=0.999, nesterov=True, weight_decay=0.01), None),
        ("sgd_wd_small", SGD, dict(lr=0.1, weight_decay=1e-4), None),
        ("sgd_wd_large", SGD, dict(lr=0.1, momentum=0.7, dampening=0.3, weight_decay=0.5), None),
        ("adam_onecycle", Adam, dict(lr=1e-3, betas=(0.9, 0.99999)), 0.01),
        ("adamw_onecycle", AdamW, dict(lr=1e-3, weight_decay=0.1), 0.01),
        ("sgd_onecycle", SGD, dict(lr=0.1, momentum=0.9), 2.0),
        ("sgd_onecycle_nesterov", SGD, dict(lr=0.1, momentum=0.9, nesterov=True), 2.0),
        ("sgd_onecycle_no_momentum", SGD, dict(lr=0.1), 2.0),
        # amsgrad: the largest second moment so far in the denominator
        ("adam_amsgrad", Adam, dict(lr=1e-2, amsgrad=True), None),
        ("adam_amsgrad_betas_5_9", Adam, dict(lr=1e-2, betas=(0.5, 0.9), amsgrad=True), None),
        ("adam_amsgrad_wd_eps", Adam,
         dict(lr=1e-3, betas=(0.0, 0.0), eps=1e-12, weight_decay=0.5, amsgrad=True), None),
        ("adamw_amsgrad", AdamW, dict(lr=0.1, weight_decay=0.5, amsgrad=True), None),
        ("adamw_amsgrad_betas_99_999999", AdamW,
         dict(lr=1e-3, betas=(0.99, 0.999999), eps=1.0, amsgrad=True), None),
        ("adam_amsgrad_onecycle", Adam, dict(lr=1e-3, betas=(0.9, 0.99), amsgrad=True), 0.01),
        # maximize: the gradient negated first; and the ends of the ranges torch.optim takes
        ("sgd_maximize", SGD,
         dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True), None),
        ("sgd_maximize_dampening", SGD,
         dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True), None),
        ("adam_maximize", Adam,
         dict(lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True), None),
        ("adamw_maximize", AdamW, dict(lr=1e-2, weight_decay=0.5, maximize=True), None),
        ("adamw_maximize_onecycle", AdamW, dict(lr=1e-3, maximize=True), 0.01),
        ("sgd_lr_0", SGD, dict(lr=0.0, momentum=0.9), None),
        ("adam_lr_0", Adam, dict(lr=0.0), None),
        ("adam_eps_0", Adam, dict(lr=1e-3, eps=0.0), None),
        ("sgd_momentum_1_5", SGD, dict(lr=0.01, momentum=1.5, dampening=2.0), None),
        ("sgd_wd_huge", SGD, dict(lr=0.01, weight_decay=50.0), None),
        # OneCycleLR's other arguments: three phases, straight lines, momentum not cycled or
        # cycled between other bounds
        ("sgd_onecycle_three_phase", SGD, dict(lr=0.1, momentum=0.9),
         dict(max_lr=2.0, three_phase=True)),
        ("adam_onecycle_linear", Adam, dict(lr=1e-3),
         dict(max_lr=0.01, anneal_strategy="linear")),
        ("adamw_onecycle_three_phase_linear", AdamW, dict(lr=1e-3, weight_decay=0.1),
         dict(max_lr=0.01, three_phase=True, anneal_strategy="linear", pct_start=0.2)),
        ("sgd_onecycle_no_cycle", SGD, dict(lr=0.1, momentum=0.3),
         dict(max_lr=2.0, cycle_momentum=False)),
        ("adam_onecycle_no_cycle", Adam, dict(lr=1e-3, betas=(0.7, 0.99)),
         dict(max_lr=0.01, cycle_momentum=False)),
        ("sgd_onecycle_momenta", SGD, dict(lr=0.1, nesterov=True, momentum=0.5),
         dict(max_lr=1.0, base_momentum=0.5, max_momentum=1.5, div_factor=3.0,
              final_div_factor=7.0)),
        ("adam_onecycle_momenta", Adam, dict(lr=1e-3),
         dict(max_lr=0.01, base_momentum=0.0, max_momentum=0.6, pct_start=0.5)),
        # SGD's momentum buffer is made at the first step whose momentum is not 0: here step
        # 2, OneCycleLR raising it from max_momentum=0 (dampening shows the difference)
        ("sgd_onecycle_momentum_from_0", SGD, dict(lr=0.1, momentum=0.7, dampening=0.5),
         dict(max_lr=0.5, base_momentum=0.9, max_momentum=0.0)),
        # RMSprop: every argument at its defaults and its extremes, centered, momentum (cycled
        # by OneCycleLR too)
        ("rmsprop_f32", RMSprop, dict(), None),
        ("rmsprop_alpha_0", RMSprop, dict(lr=1e-3, alpha=0.0), None),
        ("rmsprop_alpha_1", RMSprop, dict(lr=1e-3, alpha=1.0, eps=1e-3), None),
        ("rmsprop_alpha_5_eps_0", RMSprop, dict(lr=1e-3, alpha=0.5, eps=0.0), None),
        ("rmsprop_eps_one", RMSprop, dict(lr=0.1, eps=1.0), None),
        ("rmsprop_centered", RMSprop, dict(lr=1e-3, centered=True), None),
        ("rmsprop_centered_momentum", RMSprop,
         dict(lr=1e-3, centered=True, momentum=0.9, weight_decay=0.1), None),
        ("rmsprop_momentum_999", RMSprop, dict(lr=1e-4, momentum=0.999), None),
        ("rmsprop_momentum_1_5", RMSprop, dict(lr=1e-5, momentum=1.5, alpha=0.9), None),
        ("rmsprop_wd_large", RMSprop, dict(lr=1e-2, weight_decay=0.5), None),
        ("rmsprop_lr_large", RMSprop, dict(lr=3.0, alpha=0.9), None),
        ("rmsprop_lr_0", RMSprop, dict(lr=0.0, momentum=0.5), None),
        ("rmsprop_maximize", RMSprop,
         dict(lr=1e-3, centered=True, momentum=0.5, weight_decay=0.01, maximize=True), None),
        ("rmsprop_onecycle", RMSprop, dict(lr=1e-3, momentum=0.9), 0.01),
        ("rmsprop_onecycle_no_momentum", RMSprop, dict(lr=1e-3, centered=True), 0.01),
        # Adagrad
        ("adagrad_f32", Adagrad, dict(), None),
        ("adagrad_lr_decay", Adagrad, dict(lr=0.1, lr_decay=0.5), None),
        ("adagrad_lr_decay_huge", Adagrad, dict(lr=0.1, lr_decay=1e4), None),
        ("adagrad_initial", Adagrad, dict(lr=0.1, initial_accumulator_value=0.7), None),
        ("adagrad_eps_0", Adagrad, dict(lr=0.01, eps=0.0), None),
        ("adagrad_eps_one", Adagrad, dict(lr=0.1, eps=1.0), None),
        ("adagrad_wd", Adagrad, dict(lr=0.05, weight_decay=0.3, lr_decay=0.01), None),
        ("adagrad_lr_large", Adagrad, dict(lr=5.0), None),
        ("adagrad_maximize", Adagrad,
         dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.1, maximize=True), None),
        ("adagrad_onecycle", Adagrad, dict(lr=0.01), dict(max_lr=0.5, cycle_momentum=False)),
        # Adadelta (lr 1 by default)
        ("adadelta_f32", Adadelta, dict(), None),
        ("adadelta_rho_0", Adadelta, dict(rho=0.0), None),
        ("adadelta_rho_1", Adadelta, dict(rho=1.0), None),
        ("adadelta_rho_99", Adadelta, dict(lr=0.5, rho=0.99), None),
        ("adadelta_eps_tiny", Adadelta, dict(eps=1e-12), None),
        ("adadelta_eps_one", Adadelta, dict(lr=0.1, eps=1.0), None),
        ("adadelta_eps_0", Adadelta, dict(eps=0.0, weight_decay=0.1), None),
        ("adadelta_wd_large", Adadelta, dict(lr=2.0, weight_decay=0.5), None),
        ("adadelta_maximize", Adadelta, dict(lr=0.5, rho=0.8, maximize=True), None),
        ("adadelta_onecycle", Adadelta, dict(), dict(max_lr=3.0, cycle_momentum=False,
                                                      anneal_strategy="linear")),
    ]
    for name, cls, args, max_lr in cases:
        p = w0.clone().requires_grad_(True)
        opt = cls([p], **args)
        if isinstance(max_lr, dict):  # OneCycleLR's other arguments too
            s = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=steps, **max_lr)
        else:
            s = onecycle(max_lr)(opt) if max_lr else None
        after = []
        for t in range(steps):
            opt.zero_grad()
            p.grad = grads[t].clone()
            opt.step()
            if s:
                s.step()
            if t + 1 in at:
                after.append(p.detach().clone())
        desc = "%s(%s)" % (cls.__name__, ", ".join("%s=%r" % kv for kv in args.items()))
        if isinstance(max_lr, dict):
            desc += " with OneCycleLR(total_steps=%d, %s)" % (
                steps, ", ".join("%s=%r" % kv for kv in max_lr.items()))
        elif max_lr:
            desc += " with OneCycleLR(max_lr=%g, total_steps=%d), cycling %s" % (
                max_lr, steps, "beta1" if cls in (Adam, AdamW) else "momentum")
        w.comment("%s: %s" % (name, desc))
        w.tensor(name + ".w32", torch.stack(after))


if __name__ == "__main__":
    write_kernels(os.path.join(HERE, "kernels.ref"))
    write_optim(os.path.join(HERE, "optim.ref"))
