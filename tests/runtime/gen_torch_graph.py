#!/usr/bin/python3
# gen_torch_graph.py: PyTorch fixtures for tests/runtime/graph_parity.sh.
#
# Builds tests/runtime/graph.net in PyTorch as the module tree docs/language.md gives for
# each graph form (a residual is an nn.Sequential whose forward adds its input, or its
# 'shortcut' child's output; a block of named branches and a join is a module whose
# children are the branches), so state_dict names are netc's. With torch.manual_seed(20261203)
# it writes into fixtures/graph/:
#   init.safetensors     the initial state_dict (weights and BatchNorm buffers)
#   steps.safetensors    the state_dict after 3 steps of SGD (lr 0.05, momentum 0.9) on the
#                        first 24 training images of data/mnist-mini in file order, batch 8,
#                        cross_entropy, BatchNorm in training mode (running statistics move)
#   steps.loss           the third step's loss
#   images-idx3-ubyte.gz the first 16 test images, and
#   logits.csv           the trained net's logits for them in evaluation mode (running
#                        statistics), one row per image
#
# Run with Debian's /usr/bin/python3 (python3-torch); the tests need no Python.
#   /usr/bin/python3 tests/runtime/gen_torch_graph.py
import gzip
import os
import struct

import torch
from torch import nn

import gen_torch_mnist as base

OUT = os.path.join(base.HERE, "fixtures", "graph")


class Residual(nn.Sequential):
    """`name: residual { body...; shortcut { ... } }`: body + (shortcut(x) or x)."""

    def __init__(self, *body, shortcut=None):
        super().__init__(*body)
        if shortcut is not None:
            self.shortcut = shortcut

    def forward(self, x):
        y = x
        for name, m in self._modules.items():
            if name != "shortcut":
                y = m(y)
        return y + (self.shortcut(x) if "shortcut" in self._modules else x)


class Join(nn.Module):
    """A block of named branches on one input and `join add|concat` of them, in order."""

    def __init__(self, op, **branches):
        super().__init__()
        self.op = op
        for name, m in branches.items():
            self.add_module(name, m)

    def forward(self, x):
        outs = [m(x) for m in self._modules.values()]
        return torch.cat(outs, 1) if self.op == "concat" else sum(outs[1:], outs[0])


class Net(nn.Module):
    """A top level of named and numbered children, run in order (like nn.Sequential)."""

    def __init__(self, children):
        super().__init__()
        for name, m in children:
            self.add_module(name, m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x


def graph_net():
    bn = nn.BatchNorm2d
    return Net([
        ("stem", nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), bn(8), nn.ReLU(),
                               nn.MaxPool2d(2))),
        ("res1", Residual(nn.Conv2d(8, 8, 3, padding=1, bias=False), bn(8), nn.GELU(),
                          nn.Conv2d(8, 8, 3, padding=1, bias=False), bn(8))),
        ("2", nn.ReLU()),
        ("res2", Residual(nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8, bias=False), bn(16),
                          nn.SiLU(), nn.Conv2d(16, 16, 1, bias=False), bn(16),
                          shortcut=nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False),
                                                 bn(16)))),
        ("4", nn.ReLU()),
        ("mix", Join("concat", a=nn.Sequential(nn.Conv2d(16, 8, 1)),
                     b=nn.Sequential(nn.Conv2d(16, 8, 3, padding=1, groups=2),
                                     nn.GELU(approximate="tanh")),
                     c=nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1)))),
        ("sum", Join("add", x=nn.Sequential(nn.Conv2d(32, 32, 1, groups=4)), y=nn.Sequential())),
        ("7", nn.AdaptiveAvgPool2d(2)),
        ("8", nn.Flatten()),
        ("9", nn.BatchNorm1d(128)),
        ("fc", nn.Linear(128, 10)),
    ])


def write_safetensors(path, sd):
    """base.write_safetensors, with num_batches_tracked kept as I64, as PyTorch saves it."""
    import json
    header = {"__metadata__": {"format": "pt", "source": "gen_torch_graph.py"}}
    blobs, offset = [], 0
    for name in sorted(sd):
        t = sd[name].detach().contiguous()
        if t.dtype == torch.int64:
            raw, dtype = t.numpy().astype("<i8").tobytes(), "I64"
        else:
            raw, dtype = t.to(torch.float32).numpy().astype("<f4").tobytes(), "F32"
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(20261203)
    torch.set_num_threads(1)
    model = graph_net()
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "init.safetensors"), model.state_dict())
    x, _, _ = base.images(os.path.join(base.DATA, "train-images-idx3-ubyte.gz"), 24)
    y = base.labels(os.path.join(base.DATA, "train-labels-idx1-ubyte.gz"), 24)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for s in range(3):
        opt.zero_grad()
        loss = loss_fn(model(x[s * 8:(s + 1) * 8]), y[s * 8:(s + 1) * 8])
        loss.backward()
        opt.step()
    write_safetensors(os.path.join(OUT, "steps.safetensors"), model.state_dict())
    with open(os.path.join(OUT, "steps.loss"), "w") as f:
        f.write("%.9g\n" % loss.item())
    n = 16
    xt, raw, dims = base.images(os.path.join(base.DATA, "t10k-images-idx3-ubyte.gz"), n)
    idx = struct.pack(">IIII", 0x00000803, n, dims[1], dims[2]) + raw
    with open(os.path.join(OUT, "images-idx3-ubyte.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(idx)
    model.eval()
    with torch.no_grad():
        logits = model(xt)
    with open(os.path.join(OUT, "logits.csv"), "w") as f:
        for row in logits:
            f.write(",".join("%.9g" % float(v) for v in row) + "\n")
    print("last loss %.6f; wrote the fixtures in %s" % (loss.item(), OUT))


if __name__ == "__main__":
    main()
