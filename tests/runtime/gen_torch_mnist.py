#!/usr/bin/python3
# gen_torch_mnist.py: PyTorch fixtures for tests/runtime/parity.sh.
#
# Builds the seed net of nets/mnist.net in PyTorch as an nn.Module whose attributes layer1,
# layer2 and fc give the state_dict names netc uses (layer1.0.weight ... fc.bias), with
# torch.manual_seed(777), trains it for 40 Adam steps of 50 images on the first 2,000 images of
# data/mnist-mini so the weights are not just their init, and writes into fixtures/:
#   torch_mnist.safetensors   its state_dict (safetensors written by hand: sorted keys, F32)
#   images-idx3-ubyte.gz      the first 64 images of the t10k split (IDX, gzip with mtime 0)
#   torch_logits.csv          PyTorch's logits for them, one row per image, %.9g
#   torch_step.safetensors    the weights after one more step, SGD lr=0.1, on the first 8
#                             training images in file order (cross_entropy, batch mean)
#   torch_step.loss           that step's loss, %.9g
#
# Run with Debian's /usr/bin/python3 (python3-torch) from anywhere; the tests need no Python.
#   /usr/bin/python3 tests/runtime/gen_torch_mnist.py
import gzip
import json
import os
import struct

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "data", "mnist-mini")
OUT = os.path.join(HERE, "fixtures")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    return dims, raw[4 + 4 * rank:]


def images(path, n):
    dims, data = read_idx(path)
    per = dims[1] * dims[2]
    x = torch.tensor(list(data[:n * per]), dtype=torch.float32) / 255.0
    return x.reshape(n, 1, dims[1], dims[2]), data[:n * per], dims


def labels(path, n):
    _, data = read_idx(path)
    return torch.tensor(list(data[:n]), dtype=torch.int64)


class CNN(nn.Module):
    """The seed: PyTorch's classic MNIST tutorial CNN (nets/mnist.net)."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1),
                                    nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer2 = nn.Sequential(nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1),
                                    nn.ReLU(), nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Linear(7 * 7 * 64, 10, bias=True)
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = out.view(out.size(0), -1)
        return self.fc(out)


def write_safetensors(path, sd):
    # Sorted keys, contiguous little-endian F32 data, header padded with spaces to 8 bytes:
    # the layout the safetensors library writes for an all-F32 state_dict.
    header = {"__metadata__": {"format": "pt", "source": "gen_torch_mnist.py"}}
    blobs, offset = [], 0
    for name in sorted(sd):
        raw = sd[name].detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(sd[name].shape),
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
    torch.manual_seed(777)
    torch.set_num_threads(1)
    model = CNN()
    steps, batch = 40, 50
    x, _, _ = images(os.path.join(DATA, "train-images-idx3-ubyte.gz"), steps * batch)
    y = labels(os.path.join(DATA, "train-labels-idx1-ubyte.gz"), steps * batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for s in range(steps):
        xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    print("trained %d steps, last loss %.4f" % (steps, loss.item()))
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "torch_mnist.safetensors"), model.state_dict())

    # 64 test images as an IDX file of their own, and PyTorch's logits for them.
    n = 64
    xt, raw, dims = images(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"), n)
    idx = struct.pack(">IIII", 0x00000803, n, dims[1], dims[2]) + raw
    with open(os.path.join(OUT, "images-idx3-ubyte.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(idx)
    model.eval()
    with torch.no_grad():
        logits = model(xt)
    with open(os.path.join(OUT, "torch_logits.csv"), "w") as f:
        for row in logits:
            f.write(",".join("%.9g" % float(v) for v in row) + "\n")

    # One SGD step from these weights on the first 8 training images, in file order.
    model.train()
    step_opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step_opt.zero_grad()
    loss = loss_fn(model(x[:8]), y[:8])
    loss.backward()
    step_opt.step()
    write_safetensors(os.path.join(OUT, "torch_step.safetensors"), model.state_dict())
    with open(os.path.join(OUT, "torch_step.loss"), "w") as f:
        f.write("%.9g\n" % loss.item())
    print("wrote the fixtures in", OUT)


if __name__ == "__main__":
    main()
