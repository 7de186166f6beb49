#!/usr/bin/python3
"""The seed net (nets/mnist.net), or any netc net (--net YAML), in PyTorch, for bench/.

    torch_mnist.py train --data DIR --threads N [--save PT] [--max-images N]
    torch_mnist.py infer --data DIR --threads N [--weights W.safetensors | --load PT]
                         [--latency N] [--onnx FILE] [--min-time S]

train: one epoch, batch 100, Adam lr 1e-3, cross-entropy, shuffled (seed 777), then the
test accuracy. infer: batched inference at batch 100 over the test set (median pass of
several), batch-1 latency on the current thread count (--latency N images after warm-up),
and optionally the ONNX export (opset 13, dynamic batch axis) for onnxruntime.

Every result is one line "RESULT key value" on stdout; run.sh reads those.

Threads: torch.set_num_threads(N), and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS=N set before
torch is imported (Debian's torch does its matrix work in OpenBLAS, whose threads ignore
set_num_threads). Pixels are x/255 as in netrun (the train section has no normalisation).
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "infer"])
    p.add_argument("--data", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--save")
    p.add_argument("--load")
    p.add_argument("--weights", help="netrun safetensors checkpoint to load")
    p.add_argument("--max-images", type=int, default=0, help="train on the first N only")
    p.add_argument("--latency", type=int, default=0, help="batch-1 images to time")
    p.add_argument("--onnx")
    p.add_argument("--min-time", type=float, default=2.0, help="seconds of batched passes")
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--epochs", type=int, default=1, help="train: epochs (a new order each)")
    p.add_argument("--net", help="a netc net as `netc --to yaml` writes it (default: the seed)")
    return p.parse_args()


args = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(args.threads)


def result(key, value):
    print(f"RESULT {key} {value}", flush=True)


def idx_path(d, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit(f"torch_mnist.py: {d}: no {stem}[.gz]")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(d, split):
    x = read_idx(idx_path(d, f"{split}-images-idx3-ubyte"))
    y = read_idx(idx_path(d, f"{split}-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x.contiguous(), torch.from_numpy(y.astype(np.int64))


def make_net():
    if args.net:
        import torch_net
        with open(args.net) as f:
            return torch_net.build(f.read(), args.seed)[0]
    torch.manual_seed(args.seed)
    net = nn.Sequential()
    net.add_module("layer1", nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2)))
    net.add_module("layer2", nn.Sequential(nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2)))
    net.add_module("flatten", nn.Flatten())
    net.add_module("fc", nn.Linear(3136, 10))
    nn.init.xavier_uniform_(net.fc.weight)
    return net


def load_safetensors(path):
    """The model's tensors from a safetensors file (netrun's checkpoint: extra optimiser
    state and metadata are ignored)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] not in ("F32", "I64"):
            continue
        a, b = t["data_offsets"]
        dt = "<f4" if t["dtype"] == "F32" else "<i8"
        arr = np.frombuffer(raw, dtype=dt, count=(b - a) // 8 if dt == "<i8" else (b - a) // 4,
                            offset=base + a)
        out[name] = torch.from_numpy(arr.copy().reshape(t["shape"]))
    return out


def accuracy(net, x, y):
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), 100):
            correct += (net(x[i:i + 100]).argmax(1) == y[i:i + 100]).sum().item()
    return correct / len(x)


def train():
    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    if args.max_images:
        xtr, ytr = xtr[:args.max_images], ytr[:args.max_images]
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(args.seed)
    net.train()
    n = len(xtr) - len(xtr) % 100 if len(xtr) >= 100 else len(xtr)
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, n, 100):
            idx = order[i:i + 100]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    dt = time.perf_counter() - t0
    n *= args.epochs
    net.eval()
    result("train_images", n)
    result("train_seconds", f"{dt:.3f}")
    result("train_img_s", f"{n / dt:.1f}")
    result("train_loss_last", f"{loss.item():.4f}")
    result("test_acc", f"{accuracy(net, xte, yte):.4f}")
    result("maxrss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    if args.save:
        torch.save(net.state_dict(), args.save)


def infer():
    xte, yte = load_split(args.data, "t10k")
    net = make_net()
    if args.weights:
        tensors = load_safetensors(args.weights)
        net.load_state_dict({k: tensors[k] for k in net.state_dict()})
    elif args.load:
        net.load_state_dict(torch.load(args.load))
    net.eval()
    result("test_acc", f"{accuracy(net, xte, yte):.4f}")  # also the warm-up
    # batched: passes over the test set at batch 100; the median pass
    rates = []
    t_end = time.perf_counter() + args.min_time
    with torch.inference_mode():
        while len(rates) < 3 or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            for i in range(0, len(xte), 100):
                net(xte[i:i + 100])
            rates.append(len(xte) / (time.perf_counter() - t0))
            if len(rates) >= 50:
                break
    result("eval_img_s", f"{statistics.median(rates):.1f}")
    result("eval_passes", len(rates))
    if args.latency:
        n = min(args.latency, len(xte))
        with torch.inference_mode():
            for i in range(min(50, n)):  # warm-up
                net(xte[i:i + 1])
            t0 = time.perf_counter()
            for i in range(n):
                net(xte[i:i + 1])
            dt = time.perf_counter() - t0
        result("b1_images", n)
        result("b1_us", f"{dt / n * 1e6:.1f}")
    if args.onnx:
        torch.onnx.export(net, xte[:1], args.onnx, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        result("onnx", args.onnx)


if __name__ == "__main__":
    with torch.no_grad() if args.mode == "infer" else torch.enable_grad():
        train() if args.mode == "train" else infer()
