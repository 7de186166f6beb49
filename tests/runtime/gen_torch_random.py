#!/usr/bin/python3
# gen_torch_random.py: PyTorch fixtures for tests/runtime/random_parity.sh: random nets, each
# trained and evaluated by PyTorch, so that netrun is checked against PyTorch on a whole class
# of nets rather than on the few we wrote by hand.
#
# Each net is drawn from a fixed seed: a stem, two to four blocks and a head, where
#   - a block is a group of layers, a residual (with or without a shortcut that changes the
#     shape), or named branches (convolutions, pools, empty ones) joined by add or concat in
#     a random order; in the last DENSE_NETS nets (a seed of their own) also named layers in
#     sequence joined by name, as DenseNet does;
#   - a layer is Conv2d (kernel 1 to 5 on each axis, stride 1 to 3, padding, dilation, groups
#     dividing both channel counts, with or without bias), BatchNorm2d (eps, momentum 0 to
#     1, affine, track_running_stats), MaxPool2d and AvgPool2d (stride, padding, ceil_mode,
#     count_include_pad), or an activation (ReLU, LeakyReLU of any slope, Sigmoid, Tanh, GELU
#     in both forms, SiLU, Identity);
#   - the head flattens (after an AdaptiveAvgPool2d of a random size when the image is
#     large), may hold a BatchNorm1d and a hidden Linear with an activation, and ends in
#     `fc: Linear 10`;
#   - training draws a loss (cross_entropy with or without label_smoothing, mse) and an
#     optimizer (SGD with momentum, dampening, nesterov and weight_decay; Adam with betas, eps
#     and weight_decay; AdamW) with its learning rate; the last OPT_NETS nets (a seed of
#     their own) RMSprop, Adagrad or Adadelta with some of their arguments; and after them
#     the hand-written nets of hand_nets() (PyTorch's MNIST example, dropouts at 0); and last
#     ACT_NETS (a seed of their own) whose activations include ReLU6 and ELU (of any alpha);
#     and after them CLIP_NETS (a seed of their own) whose training clips the gradients
#     (clip_grad_norm of every norm_type, or clip_grad_value, each drawn again unless it
#     changes a weight by 1e-3, so that the test can fail; and the first of them with a limit
#     above every norm, which must change nothing).
# A net on which PyTorch's own float32 steps depart from its float64 ones by more than 1e-6
# (relative, as the test measures) is drawn again: there float32 rounding is amplified (Adam
# on a bias whose gradient a BatchNorm after it makes almost zero, a large learning rate),
# and no float32 program could meet the test's 1e-5.
# netc checks each drawn net and writes it as YAML (`netc --to yaml`); bench/torch_net.py
# builds the PyTorch module from that YAML with the module tree docs/language.md gives. A
# net netc accepts and PyTorch refuses (or the reverse) stops the script: the two must agree
# on every shape.
#
# For net NN it writes into fixtures/random/:
#   NN.net               the net and its train section (data idx "data/mnist-mini", batch 8,
#                        shuffle false)
#   NN.init.safetensors  PyTorch's initial state_dict (weights and BatchNorm buffers)
#   NN.steps.safetensors the state_dict after 3 steps on the first 24 training images of
#                        data/mnist-mini in file order, computed in float64 from the float32
#                        initial weights (so the fixture is the exact result, rounded once)
#   NN.logits.csv        the trained net's outputs for the 16 test images of
#                        fixtures/graph/images-idx3-ubyte.gz in evaluation mode, two batches
#                        of 8 as netrun --predict takes them (a BatchNorm without running
#                        statistics normalises each batch by itself)
#
#   /usr/bin/python3 tests/runtime/gen_torch_random.py NETC   (NETC: a built tools/netc)
#   /usr/bin/python3 tests/runtime/gen_torch_random.py NETC --act   (the ACT_NETS alone:
#       torch's rounding and the checks have moved since the other fixtures were drawn, and
#       a whole run now draws other nets for them)
#   /usr/bin/python3 tests/runtime/gen_torch_random.py NETC --clip  (the CLIP_NETS alone)
import copy
import os
import random
import re
import subprocess
import sys
import tempfile

import torch
from torch import nn

import gen_torch_mnist as base
from gen_torch_graph import write_safetensors

sys.path.insert(0, os.path.join(base.ROOT, "bench"))
import torch_net  # noqa: E402

OUT = os.path.join(base.HERE, "fixtures", "random")
NETS, DENSE_NETS, OPT_NETS, ACT_NETS, CLIP_NETS = 32, 8, 8, 6, 10
SHAPE_NETS, SHAPE_INPUTS = 24, 8
NONFLAT_NETS = 8
STEPS, BATCH = 3, 8


def fmt(x):
    return ("%.6g" % x) if isinstance(x, float) else str(x)


def pair_text(a, b):
    return str(a) if a == b else "[%d, %d]" % (a, b)


class Drawer:
    """Draws layers at a current shape (C, H, W), keeping only those PyTorch accepts there."""

    def __init__(self, rng, nonflat=False, more_acts=False):
        self.r = rng
        self.nonflat = nonflat  # also Linear and Softmax on images (NONFLAT_NETS)
        self.more_acts = more_acts  # also ReLU6 and ELU (ACT_NETS)

    def out_shape(self, mod, shape):
        try:
            with torch.no_grad():
                y = mod(torch.zeros(2, *shape))
        except RuntimeError:
            return None
        s = tuple(y.shape[1:])
        return s if min(s) >= 1 else None

    def conv(self, shape, same=False, oc=None):
        r, (C, H, W) = self.r, shape
        for _ in range(100):
            oc_ = oc or r.choice([2, 3, 4, 6, 8, 12])
            if same:
                kh = kw = r.choice([1, 3, 3, 5])
                d = r.choice([1, 1, 2])
                sh = sw = 1
                ph, pw = d * (kh - 1) // 2, d * (kw - 1) // 2
                dh = dw = d
            else:
                kh, kw = r.randint(1, 5), r.choice([None, r.randint(1, 5)])
                kw = kw or kh
                sh = r.choice([1, 1, 2, 3])
                sw = sh if r.random() < 0.8 else r.randint(1, 3)
                ph, pw = r.randint(0, 3), r.randint(0, 3)
                dh = dw = r.choice([1, 1, 1, 2])
            gs = [g for g in range(1, C + 1) if C % g == 0 and oc_ % g == 0]
            g = r.choice(gs) if r.random() < 0.4 else 1
            bias = r.random() < 0.6
            mod = nn.Conv2d(C, oc_, (kh, kw), (sh, sw), (ph, pw), (dh, dw), g, bias)
            s = self.out_shape(mod, shape)
            if s is None or s[1] * s[2] > 900:
                continue
            text = "Conv2d %d kernel=%s" % (oc_, pair_text(kh, kw))
            if (sh, sw) != (1, 1):
                text += " stride=%s" % pair_text(sh, sw)
            if (ph, pw) != (0, 0):
                text += " padding=%s" % pair_text(ph, pw)
            if (dh, dw) != (1, 1):
                text += " dilation=%s" % pair_text(dh, dw)
            if g > 1:
                text += " groups=%d" % g
            if not bias:
                text += " bias=false"
            return text, s
        raise RuntimeError("no convolution fits %r" % (shape,))

    def bn(self, shape, two_d=True):
        r = self.r
        text = "BatchNorm2d" if two_d else "BatchNorm1d"
        if r.random() < 0.5:
            text += " eps=%s" % fmt(r.choice([1e-3, 0.5, 1e-5]))
        if r.random() < 0.5:
            text += " momentum=%s" % fmt(r.choice([0.0, 1.0, 0.37, 0.9]))
        if r.random() < 0.25:
            text += " affine=false"
        if r.random() < 0.2:
            text += " track_running_stats=false"
        return text, shape

    def act(self, shape):
        r = self.r
        a = r.choice(["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "GELU approximate=tanh",
                      "SiLU", "Identity", "ReLU"] + (["ReLU6", "ELU"] * 4 if self.more_acts else []))
        if a == "LeakyReLU":
            a += " negative_slope=%s" % fmt(r.choice([0.01, 0.3, 1.5, 0.0]))
        if a == "ELU" and r.random() < 0.7:
            a += " alpha=%s" % fmt(r.choice([0.5, 2.0, -0.7, 0.0]))
        return a, shape

    def pool(self, shape, same=False):
        r, (C, H, W) = self.r, shape
        for _ in range(100):
            kind = r.choice(["MaxPool2d", "AvgPool2d"])
            if same:
                kh = kw = r.choice([1, 3, 5])
                sh = sw = 1
                ph, pw = kh // 2, kw // 2
                ceil = False
            else:
                kh, kw = r.randint(1, 4), r.randint(1, 4)
                if r.random() < 0.6:
                    kw = kh
                sh, sw = r.randint(1, kh), r.randint(1, kw)
                ph, pw = r.randint(0, kh // 2), r.randint(0, kw // 2)
                ceil = r.random() < 0.4
            count = r.random() < 0.6
            if kind == "MaxPool2d":
                mod = nn.MaxPool2d((kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil)
            else:
                mod = nn.AvgPool2d((kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil,
                                   count_include_pad=count)
            s = self.out_shape(mod, shape)
            if s is None:
                continue
            text = "%s kernel=%s stride=%s" % (kind, pair_text(kh, kw), pair_text(sh, sw))
            if (ph, pw) != (0, 0):
                text += " padding=%s" % pair_text(ph, pw)
            if ceil:
                text += " ceil_mode=true"
            if kind == "AvgPool2d" and not count:
                text += " count_include_pad=false"
            return text, s
        raise RuntimeError("no pool fits %r" % (shape,))

    def image_linear(self, shape, same=False):
        """Linear on an image: PyTorch maps its last dimension (W) alone."""
        C, H, W = shape
        m = W if same else self.r.randint(1, 12)
        return "Linear %d%s" % (m, "" if self.r.random() < 0.7 else " bias=false"), (C, H, m)

    def image_softmax(self, shape):
        """Softmax over the channels, rows or columns of an image, by any of its names."""
        dim = self.r.choice([1, 2, 3, -1, -2, -3, None])
        return "Softmax" + ("" if dim is None else " dim=%d" % dim), shape

    def layer(self, shape, same=False):
        """Any layer; with same, one that keeps the shape (a convolution keeps the channels)."""
        kinds = ["conv", "conv", "bn", "act", "act", "pool"]
        k = self.r.choice(kinds + (["linear", "softmax"] if self.nonflat else []))
        if k == "linear":
            return self.image_linear(shape, same)
        if k == "softmax":
            return self.image_softmax(shape)
        try:
            if k == "conv":
                return self.conv(shape, same, shape[0] if same else None)
            if k == "pool":
                return self.pool(shape, same)
        except RuntimeError:  # nothing of the kind fits a tiny image
            pass
        if k == "bn":
            return self.bn(shape)
        return self.act(shape)


def draw_flat(d, n):
    """A layer on a flat input of n features: (text, features after it)."""
    r = d.r
    k = r.choice(["linear", "linear", "bn", "act", "act", "dropout"])
    if k == "linear":
        m = r.randint(1, 24)
        return "Linear %d%s" % (m, "" if r.random() < 0.7 else " bias=false"), m
    if k == "bn":
        return d.bn(None, two_d=False)[0], n
    if k == "dropout":
        return "Dropout %s" % fmt(r.choice([0.0, 0.5, 1.0])), n
    return d.act(None)[0], n


def draw_shape_net(rng, idx, nonflat=False):
    """A net for evaluation only, on an input of random shape: an image of 1 to 5 channels
    and 3 to 40 pixels a side, or a flat vector; its output may be an image. With nonflat, an
    image whose layers include a Linear and a Softmax on images, anywhere."""
    d = Drawer(rng, nonflat)
    lines = []
    if not nonflat and rng.random() < 0.3:  # flat: a multilayer perceptron, with a residual or a join
        n = rng.randint(2, 64)
        inp = "%d" % n
        for b in range(rng.randint(2, 4)):
            kind = rng.choice(["layer", "layer", "residual", "branches"])
            if kind == "layer":
                t, n = draw_flat(d, n)
                lines.append(t)
            elif kind == "residual":
                body = [t for t in (draw_flat(d, n) for _ in range(rng.randint(1, 2)))]
                text = "; ".join("Linear %d" % n if t[1] != n else t[0] for t in body)
                lines.append("b%d: residual { %s }" % (b, text))
            else:
                op = rng.choice(["add", "concat"])
                outs, brs = [], []
                for k in range(rng.randint(2, 3)):
                    m = n if op == "add" else rng.randint(1, 12)
                    body = "Linear %d" % m if (m != n or rng.random() < 0.7) else ""
                    brs.append("br%d: branch { %s }" % (k, body))
                    outs.append(("br%d" % k, m))
                order = [o[0] for o in outs]
                rng.shuffle(order)
                lines.append("b%d { %s; join %s %s }" % (b, "; ".join(brs), op, " ".join(order)))
                n = n if op == "add" else sum(m for _, m in outs)
        lines.append("out: Linear %d" % rng.randint(1, 12))
        if rng.random() < 0.3:
            lines.append("Softmax")
    else:
        C, H, W = rng.randint(1, 5), rng.randint(3, 40), rng.randint(3, 40)
        inp = "%dx%dx%d" % (C, H, W)
        shape = (C, H, W)
        for b in range(rng.randint(1, 4)):
            kind = rng.choice(["layer", "layer", "residual", "branches"])
            if kind == "layer":
                t, shape = d.layer(shape)
                lines.append(t)
            elif kind == "residual":
                body = []
                for _ in range(rng.randint(1, 2)):
                    t, _ = d.layer(shape, same=True)
                    body.append(t)
                lines.append("b%d: residual { %s }" % (b, "; ".join(body)))
            else:
                op = rng.choice(["add", "concat"])
                brs, outs = [], []
                for k in range(rng.randint(2, 3)):
                    if op == "add" or rng.random() < 0.3:
                        t, s = d.layer(shape, same=True) if rng.random() < 0.8 else ("", shape)
                    else:
                        t, s = d.conv(shape, same=True)
                    brs.append("br%d: branch { %s }" % (k, t))
                    outs.append(("br%d" % k, s))
                order = [o[0] for o in outs]
                rng.shuffle(order)
                lines.append("b%d { %s; join %s %s }" % (b, "; ".join(brs), op, " ".join(order)))
                if op == "concat":
                    shape = (sum(s[0] for _, s in outs), shape[1], shape[2])
        if nonflat:  # one of each at least, at a random place among the others
            for make in (d.image_linear, d.image_softmax):
                at = rng.randint(0, len(lines))
                C0, H0, W0 = shape
                t, _ = make(shape, True) if make == d.image_linear else make(shape)
                # a shape-keeping one, so the layers after it still fit
                lines.insert(at, t)
        end = rng.choice(["image", "linear", "linear", "pool"] if nonflat else
                         ["image", "linear", "pool"])
        if end == "linear":
            lines.append("Flatten")
            lines.append("out: Linear %d" % rng.randint(1, 12))
        elif end == "pool":
            lines.append("AdaptiveAvgPool2d %s" % pair_text(rng.randint(1, 3), rng.randint(1, 3)))
    text = ("# tests/runtime/fixtures/random/s%02d.net: drawn by gen_torch_random.py (evaluation "
            "only)\n" % idx)
    text += "network s%02d (input %s) {\n" % (idx, inp)
    text += "".join("  %s\n" % ln for ln in lines) + "}\n"
    return text


def splitmix64(x):
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def splitmix_inputs(count, seed):
    """compare rand COUNT SEED: (splitmix64(SEED + i) >> 40) * 2^-22 - 2."""
    out = [(splitmix64(seed + i) >> 40) * 2.0 ** -22 - 2.0 for i in range(count)]
    return torch.tensor(out, dtype=torch.float64)


def splitmix_labels(rows, classes, seed):
    """The labels of compare table ROWS COLS CLASSES SEED."""
    return torch.tensor([splitmix64(seed + (1 << 32) + r) % classes for r in range(rows)])


def randomize_buffers(model, rng):
    """BatchNorm statistics and affine factors away from their initial 0 and 1, as after
    training, so that evaluation (and netc's fold) has something to get wrong."""
    g = torch.Generator().manual_seed(rng.randint(0, 1 << 30))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.5)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) * 2 + 0.1)
                    m.num_batches_tracked.fill_(rng.randint(1, 1000))
                if m.affine:
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.5)


def draw_net(rng, idx, dense=False, more_optimizers=False, more_acts=False):
    d = Drawer(rng, more_acts=more_acts)
    lines, shape = [], (1, 28, 28)

    def seq(shape, n, same=False):
        out = []
        for _ in range(n):
            t, shape = d.layer(shape, same)
            out.append(t)
        return out, shape

    # stem: a convolution that shrinks, then up to two layers
    t, shape = d.conv(shape)
    stem = [t]
    more, shape = seq(shape, rng.randint(0, 2))
    lines.append("stem { %s }" % "; ".join(stem + more))
    for b in range(rng.randint(2, 4)):
        kind = rng.choice(["group", "residual", "residual_sc", "branches"] +
                          (["dense"] * 2 if dense else []))
        if dense and b == 0:
            kind = "dense"
        name = "b%d" % b
        if kind == "dense":
            # named layers in sequence, joined by name (DenseNet's form): each reads the one
            # before it, and the join takes any two or more of them in any order
            items, shapes, s2 = [], {}, shape
            for k in range(rng.randint(2, 3)):
                nm = "c%d" % k
                t, s2 = d.conv(s2, same=True) if rng.random() < 0.6 else d.layer(s2, same=True)
                items.append("%s: %s" % (nm, t))
                shapes[nm] = s2
            # the join takes the last (a layer nothing reads is an error: netc refuses it)
            last = "c%d" % (len(shapes) - 1)
            others = [n for n in shapes if n != last]
            rng.shuffle(others)
            op = rng.choice(["add", "concat"])
            if op == "add":  # names of one shape
                others = [n for n in others if shapes[n] == shapes[last]]
                if not others:
                    op, others = "concat", [n for n in shapes if n != last]
            names = others[:rng.randint(1, len(others))] + [last]
            rng.shuffle(names)
            lines.append("%s { %s; join %s %s }" % (name, "; ".join(items), op, " ".join(names)))
            c0 = shapes[last]
            shape = (sum(shapes[n][0] for n in names), c0[1], c0[2]) if op == "concat" else c0
        elif kind == "group":
            body, shape = seq(shape, rng.randint(1, 3))
            lines.append("%s { %s }" % (name, "; ".join(body)))
        elif kind == "residual":
            body, _ = seq(shape, rng.randint(1, 3), same=True)
            lines.append("%s: residual { %s }" % (name, "; ".join(body)))
        elif kind == "residual_sc":
            t, s2 = d.conv(shape)
            body, s2 = [t], s2
            more, s2 = seq(s2, rng.randint(0, 2), same=True)
            # the shortcut: a 1x1 (or larger) convolution with the same output shape
            for _ in range(200):
                sc, s3 = d.conv(shape, oc=s2[0])
                if s3 == s2:
                    break
            else:
                continue
            sc_body = [sc] + ([d.bn(s3)[0]] if rng.random() < 0.5 else [])
            lines.append("%s: residual { %s; shortcut { %s } }" % (
                name, "; ".join(body + more), "; ".join(sc_body)))
            shape = s2
        else:
            op = rng.choice(["add", "concat"])
            nb = rng.randint(2, 3)
            branches, outs = [], []
            for k in range(nb):
                bn_ = "br%d" % k
                n = rng.randint(0, 2)
                if op == "add":
                    body, s = seq(shape, n, same=True)
                else:
                    body, s = [], shape
                    for _ in range(n):
                        if rng.random() < 0.5:
                            t, s = d.conv(s, same=True)
                        else:
                            t, s = d.layer(s, same=True)
                        body.append(t)
                branches.append("%s: branch { %s }" % (bn_, "; ".join(body)))
                outs.append((bn_, s))
            order = [o[0] for o in outs]
            rng.shuffle(order)
            lines.append("%s { %s; join %s %s }" % (name, "; ".join(branches), op,
                                                     " ".join(order)))
            s0 = dict(outs)
            shape = (sum(s0[o][0] for o in order), shape[1], shape[2]) if op == "concat" \
                else shape
        if rng.random() < 0.3:
            t, shape = d.act(shape)
            lines.append(t)
    # head
    C, H, W = shape
    if C * H * W > 160 or rng.random() < 0.3:
        for _ in range(100):
            oh, ow = rng.randint(1, min(H, 4)), rng.randint(1, min(W, 4))
            if rng.random() < 0.5:
                ow = oh if oh <= W else ow
            if C * oh * ow <= 160:
                break
        lines.append("AdaptiveAvgPool2d %s" % pair_text(oh, ow))
    lines.append("Flatten")
    if rng.random() < 0.3:
        lines.append(d.bn(None, two_d=False)[0])
    if rng.random() < 0.4:
        lines.append("hidden: Linear %d%s" % (rng.choice([8, 16]),
                                              "" if rng.random() < 0.7 else " bias=false"))
        lines.append(d.act(None)[0])
    lines.append("fc: Linear 10")
    # training
    loss = rng.choice(["cross_entropy", "cross_entropy label_smoothing=0.1", "mse"])
    opt = draw_more_optimizer(rng) if more_optimizers else draw_optimizer(rng)
    text = "# tests/runtime/fixtures/random/%02d.net: drawn by gen_torch_random.py\n" % idx
    text += "network r%02d (input 1x28x28) {\n" % idx
    text += "".join("  %s\n" % ln for ln in lines) + "}\n\n"
    text += ("train {\n  data idx \"data/mnist-mini\"\n  loss %s\n  optimizer %s\n"
             "  batch %d\n  epochs 1\n  shuffle false\n}\n") % (loss, opt, BATCH)
    return text, loss, opt


def draw_optimizer(rng):
    o = rng.choice(["SGD", "SGD", "Adam", "AdamW"])
    if o == "SGD":
        opt = "SGD lr=%s" % fmt(rng.choice([0.1, 0.01, 0.5]))
        mom = rng.choice([0.0, 0.9, 0.5])
        if mom:
            opt += " momentum=%s" % fmt(mom)
            if rng.random() < 0.4:
                opt += " nesterov=true"
            elif rng.random() < 0.5:
                opt += " dampening=%s" % fmt(rng.choice([0.1, 1.0]))
        if rng.random() < 0.4:
            opt += " weight_decay=%s" % fmt(rng.choice([1e-3, 0.1]))
    else:
        opt = "%s lr=%s" % (o, fmt(rng.choice([1e-3, 1e-2])))
        if rng.random() < 0.5:
            opt += " betas=[%s, %s]" % (fmt(rng.choice([0.5, 0.0, 0.95])),
                                        fmt(rng.choice([0.9, 0.99, 0.5])))
        if rng.random() < 0.5:
            opt += " eps=%s" % fmt(rng.choice([1e-6, 1e-3, 0.1]))
        if rng.random() < 0.5:
            opt += " weight_decay=%s" % fmt(rng.choice([0.0, 1e-2, 0.5]))
    return opt


def draw_more_optimizer(rng):
    """RMSprop, Adagrad or Adadelta with some of their arguments (the OPT_NETS)."""
    o = rng.choice(["RMSprop", "Adagrad", "Adadelta"])
    if o == "RMSprop":
        opt = "RMSprop lr=%s" % fmt(rng.choice([1e-3, 1e-2]))
        args = [("alpha", [0.99, 0.9, 0.5]), ("eps", [1e-8, 1e-3]), ("momentum", [0.9, 0.5]),
                ("weight_decay", [1e-2, 0.5])]
        if rng.random() < 0.5:
            opt += " centered=true"
    elif o == "Adagrad":
        opt = "Adagrad lr=%s" % fmt(rng.choice([1e-2, 0.1]))
        args = [("lr_decay", [0.1, 1.0]), ("initial_accumulator_value", [0.1, 1.0]),
                ("eps", [1e-10, 1e-3]), ("weight_decay", [1e-2, 0.5])]
    else:
        opt = "Adadelta lr=%s" % fmt(rng.choice([1.0, 0.5]))
        args = [("rho", [0.9, 0.5, 0.99]), ("eps", [1e-6, 1e-3]), ("weight_decay", [1e-2, 0.5])]
    for name, values in args:
        if rng.random() < 0.5:
            opt += " %s=%s" % (name, fmt(rng.choice(values)))
    return opt


def make_optimizer(params, opt):
    words = opt.split(" ", 1)
    kind, kw = words[0], {}
    rest = words[1] if len(words) > 1 else ""
    rest = rest.replace(", ", ",")
    for item in rest.split():
        k, v = item.split("=")
        if k == "betas":
            kw[k] = tuple(float(x) for x in v.strip("[]").split(","))
        elif v in ("true", "false"):
            kw[k] = v == "true"
        else:
            kw[k] = float(v)
    return getattr(torch.optim, kind)(params, **kw)


def hand_nets():
    """Nets written by hand, each a function of its number giving (text, loss, optimizer):
    PyTorch's MNIST example (nets/pytorch_example.net: LogSoftmax, nll, Adadelta, StepLR),
    narrower, with its dropouts at 0, so that no mask is drawn."""
    def example(idx):
        src = open(os.path.join(base.ROOT, "nets", "pytorch_example.net")).read()
        body = src[src.index("\nnetwork ") + 1:src.index("\ntrain {") + 1]
        body = body.replace("network pytorch_example", "network r%02d" % idx)
        body = re.sub(r"Dropout [0-9.]+", "Dropout 0", body)
        for wide, narrow in [("1->32 k3", "1->4 k3"), ("64 k3", "8 k3"), ("Linear 128", "Linear 16")]:
            body = body.replace(wide, narrow)  # its 1.2M weights would be 10 MB of fixture
        loss, opt = "nll", "Adadelta lr=1.0"
        text = ("# tests/runtime/fixtures/random/%02d.net: nets/pytorch_example.net, narrower, with "
                "its dropouts at 0 (gen_torch_random.py)\n" % idx) + body
        text += ("train {\n  data idx \"data/mnist-mini\"\n  loss %s\n  optimizer %s\n"
                 "  schedule StepLR 1 gamma=0.7\n  batch %d\n  epochs 1\n  shuffle false\n}\n"
                 % (loss, opt, BATCH))
        return text, loss, opt
    return [example]


def loss_of(loss, out, y):
    if loss == "nll":
        return nn.functional.nll_loss(out, y)
    if loss == "mse":
        return nn.functional.mse_loss(out, nn.functional.one_hot(y, out.shape[1]).to(out.dtype))
    ls = 0.1 if "label_smoothing" in loss else 0.0
    return nn.functional.cross_entropy(out, y, label_smoothing=ls)


def draw_clip(rng, idx):
    """A clip_grad_norm or clip_grad_value statement (the CLIP_NETS): limits far below the
    gradients' (clipping every step) to far above them (never clipping); the norm's p in
    turn 2 (by default), 1, 3 and inf."""
    if idx % 3 != 2:
        clip = "clip_grad_norm %s" % fmt(rng.choice([1e-3, 0.05, 0.5, 5.0, 100.0]))
        p = [None, 1.0, 3.0, "inf"][idx % 4]
        return clip + ("" if p is None else " norm_type=%s" % (p if p == "inf" else fmt(p)))
    return "clip_grad_value %s" % fmt(rng.choice([1e-4, 0.01, 0.2, 10.0]))


def apply_clip(model, clip):
    """torch.nn.utils' clipping as a training loop calls it, between backward() and step()."""
    words = clip.split()
    if words[0] == "clip_grad_value":
        nn.utils.clip_grad_value_(model.parameters(), float(words[1]))
    else:
        p = words[2].split("=")[1] if len(words) > 2 else 2.0
        nn.utils.clip_grad_norm_(model.parameters(), float(words[1]), norm_type=float(p))


def train(model, x, y, loss, opt, clip=None):
    model.train()
    o = make_optimizer(model.parameters(), opt)
    for s in range(STEPS):
        o.zero_grad()
        out = model(x[s * BATCH:(s + 1) * BATCH])
        loss_of(loss, out, y[s * BATCH:(s + 1) * BATCH]).backward()
        if clip:
            apply_clip(model, clip)
        o.step()


def departure(got, want):
    """The largest |got - want| / max(1, |want|) over the floating-point tensors."""
    worst = 0.0
    for k, w in want.items():
        if w.is_floating_point():
            d = (got[k].double() - w).abs() / w.abs().clamp(min=1)
            worst = max(worst, d.max().item() if d.numel() else 0.0)
    return worst


def to_yaml(netc, text):
    """netc's check of a drawn net, and the net as YAML for torch_net.py."""
    with tempfile.NamedTemporaryFile("w", suffix=".net", delete=False) as f:
        f.write(text)
    p = subprocess.run([netc, "--to", "yaml", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    if p.returncode != 0:
        sys.exit("netc refused a net PyTorch accepts:\n%s\n%s" % (text, p.stderr))
    return p.stdout


def main():
    netc = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    x, _, _ = base.images(os.path.join(base.DATA, "train-images-idx3-ubyte.gz"), STEPS * BATCH)
    y = base.labels(os.path.join(base.DATA, "train-labels-idx1-ubyte.gz"), STEPS * BATCH)
    xt, _, _ = base.images(os.path.join(base.DATA, "t10k-images-idx3-ubyte.gz"), 16)
    rng = random.Random(20261205)
    made = rejected = 0
    # the nets of the first draw, then DENSE_NETS with named layers joined by name, from a
    # seed of their own (so that adding them left the first draw as it was)
    rng2 = random.Random(20261206)
    # and OPT_NETS trained by RMSprop, Adagrad or Adadelta, from a seed of their own too
    rng4 = random.Random(20261208)
    # and the hand-written HAND_NETS (nets/pytorch_example.net's form), in order
    hand = hand_nets()
    # and last ACT_NETS whose activations include ReLU6 and ELU, from a seed of their own
    rng5 = random.Random(20261209)
    first_act = NETS + DENSE_NETS + OPT_NETS + len(hand)
    # and CLIP_NETS whose training clips the gradients, from a seed of their own
    rng6 = random.Random(20261210)
    first_clip = first_act + ACT_NETS
    only_act = sys.argv[2:] == ["--act"]  # those alone (each group draws from its own seed)
    only_clip = sys.argv[2:] == ["--clip"]
    if only_act:
        made = first_act
    if only_clip:
        made = first_clip
    while made < (first_clip if only_act else first_clip + CLIP_NETS):
        clip = None
        if made < NETS:
            text, loss, opt = draw_net(rng, made)
        elif made < NETS + DENSE_NETS:
            text, loss, opt = draw_net(rng2, made, dense=True)
        elif made < NETS + DENSE_NETS + OPT_NETS:
            text, loss, opt = draw_net(rng4, made, more_optimizers=True)
        elif made < first_act:
            text, loss, opt = hand[made - NETS - DENSE_NETS - OPT_NETS](made)
        elif made < first_clip:
            text, loss, opt = draw_net(rng5, made, more_acts=True)
        else:
            text, loss, opt = draw_net(rng6, made, more_optimizers=rng6.random() < 0.3)
            clip = draw_clip(rng6, made) if made > first_clip else "clip_grad_norm 1000"
            text = text.replace("\n  batch ", "\n  %s\n  batch " % clip, 1)
        model, _ = torch_net.build(to_yaml(netc, text), 1000 + made)
        init = copy.deepcopy(model.state_dict())
        model32 = copy.deepcopy(model)
        unclipped = copy.deepcopy(model).double() if clip else None
        model = model.double()
        train(model, x.double(), y, loss, opt, clip)
        train(model32, x, y, loss, opt, clip)
        dev = departure(model32.state_dict(), model.state_dict())
        if clip and made > first_clip:  # the first never clips (its limit is above the norm)
            train(unclipped, x.double(), y, loss, opt)
            if departure(unclipped.state_dict(), model.state_dict()) < 1e-3:
                print("drawn again: %s changes no weight by 1e-3 (the test could not fail)" % clip)
                rejected += 1
                continue
        if dev > 1e-6 and NETS + DENSE_NETS + OPT_NETS <= made < first_act:
            sys.exit("hand net %02d: PyTorch's own float32 steps depart by %.3g" % (made, dev))
        if dev > 1e-6:
            print("drawn again: PyTorch's own float32 steps depart from float64 by %.3g" % dev)
            rejected += 1
            continue
        path = os.path.join(OUT, "%02d" % made)
        with open(path + ".net", "w") as f:
            f.write(text)
        write_safetensors(path + ".init.safetensors", init)
        write_safetensors(path + ".steps.safetensors", model.state_dict())
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(xt[i:i + BATCH].double()) for i in range(0, 16, BATCH)])
        with open(path + ".logits.csv", "w") as f:
            for row in logits:
                f.write(",".join("%.9g" % float(v) for v in row) + "\n")
        n = sum(p.numel() for p in model.parameters())
        print("%02d: %d parameters, %s, %s%s" % (made, n, loss, opt, ", " + clip if clip else ""))
        made += 1
    print("%d nets; %d drawn again" % (made, rejected))
    if only_act or only_clip:
        return
    # then NONFLAT_NETS more (sNN numbered on), with Linear and Softmax on images, from a
    # seed of their own (so the shape nets before them stay as they were)
    rng3 = random.Random(20261207)
    for idx in range(SHAPE_NETS + NONFLAT_NETS):
        nonflat = idx >= SHAPE_NETS
        r = rng3 if nonflat else rng
        text = draw_shape_net(r, idx, nonflat)
        model, shape = torch_net.build(to_yaml(netc, text), 2000 + idx)
        randomize_buffers(model, r)
        path = os.path.join(OUT, "s%02d" % idx)
        size = 1
        for k in shape:
            size *= k
        x = splitmix_inputs(SHAPE_INPUTS * size, idx).reshape(SHAPE_INPUTS, *shape)
        init = copy.deepcopy(model.state_dict())
        model32 = copy.deepcopy(model)
        model = model.double().eval()
        with torch.no_grad():
            out = model(x)
        outs = out[0].numel()
        # training on a table of STEPS * BATCH records (compare table), where the output is a
        # vector of class scores and no dropout draws at random
        trained = ""
        drops = [float(q) for q in re.findall(r"Dropout ([0-9.e+-]+)", text)]
        if out.dim() == 2 and all(q in (0.0, 1.0) for q in drops):
            loss = r.choice(["cross_entropy", "cross_entropy label_smoothing=0.1", "mse"])
            opt = draw_optimizer(r)
            rows = STEPS * BATCH
            xs = splitmix_inputs(rows * size, idx).reshape(rows, *shape)
            ys = splitmix_labels(rows, outs, idx)
            train(model.train(), xs, ys, loss, opt)
            train(model32, xs.float(), ys, loss, opt)
            dev = departure(model32.state_dict(), model.state_dict())
            if dev <= 1e-6:
                write_safetensors(path + ".steps.safetensors", model.state_dict())
                trained = ("\n# trained on: compare table %d %d %d %d\ntrain {\n  data csv "
                           "\"table.csv\"\n  loss %s\n  optimizer %s\n  batch %d\n"
                           "  epochs 1\n  shuffle false\n}\n") % (rows, size, outs, idx, loss,
                                                                   opt, BATCH)
            else:
                print("s%02d: not trained: PyTorch's float32 steps depart by %.3g" % (idx, dev))
        with open(path + ".net", "w") as f:
            f.write(text + trained)
        write_safetensors(path + ".safetensors", init)
        with open(path + ".out.csv", "w") as f:
            for row in out.reshape(SHAPE_INPUTS, -1):
                f.write(",".join("%.9g" % float(v) for v in row) + "\n")
        print("s%02d: input %s, output %s%s" % (idx, "x".join(map(str, shape)),
                                               "x".join(map(str, out.shape[1:])),
                                               ", trained" if trained else ""))


if __name__ == "__main__":
    main()
