#!/usr/bin/python3
"""PyTorch peer for nnlab's speed benchmark: the same MLP, data and settings, timed the same way.

    /usr/bin/python3 bench/torch_mlp.py [--activations relu,tanh,...] [--epochs 3] [--threads 2]

Network 784-256-128-10 (hidden widths from --hidden), PyTorch's default init, SGD lr 0.05
momentum 0.9, cross-entropy, batch 128, Fashion-MNIST normalised by the training set's mean/std
(as nnlab does). Data are converted to one float32 tensor before timing (PyTorch's usual way; nnlab
keeps bytes and converts per batch). Timing covers the training loop only (shuffle, batch slicing,
forward, loss, backward, step), per epoch; the first epoch is a warm-up and is also reported.

It also times the "GEMM floor": one epoch's matrix multiplies alone (forward x W^T, dW = dy^T x,
dx = dy W for every Dense layer but the first), through torch.mm on preallocated tensors, i.e.
through the BLAS PyTorch is linked with (OpenBLAS on Debian).

Prints one JSON object per line: {"kind": "epoch", "activation": ..., "seconds": [...], ...} and
{"kind": "gemm_floor", ...}. Environment variables such as OPENBLAS_CORETYPE are reported as given.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"torch_mlp: {stem}[.gz] not found in {directory}")


class Squareplus(nn.Module):  # ½(x + √(x² + b)), b = 4 (nnlab's default)
    def __init__(self, b=4.0):
        super().__init__()
        self.b = b

    def forward(self, x):
        return 0.5 * (x + torch.sqrt(x * x + self.b))


class SMU(nn.Module):  # ½[(1+α)x + (1−α)x·erf(μ(1−α)x)], learnable μ (nnlab's defaults)
    def __init__(self, alpha=0.25, mu=1e6):
        super().__init__()
        self.alpha = alpha
        self.mu = nn.Parameter(torch.tensor(mu))

    def forward(self, x):
        a = self.alpha
        return 0.5 * ((1 + a) * x + (1 - a) * x * torch.erf(self.mu * (1 - a) * x))


class SMU1(nn.Module):  # ½[(1+α)x + √(((1−α)x)² + μ²)], learnable μ
    def __init__(self, alpha=0.25, mu=4.352665993287951e-9):
        super().__init__()
        self.alpha = alpha
        self.mu = nn.Parameter(torch.tensor(mu))

    def forward(self, x):
        a = self.alpha
        return 0.5 * ((1 + a) * x + torch.sqrt(((1 - a) * x) ** 2 + self.mu ** 2))


# PyTorch's fastest form of each activation a user would write (its own modules where it has them).
ACTIVATIONS = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
    "prelu": nn.PReLU, "swish": nn.SiLU, "silu": nn.SiLU, "squareplus": Squareplus, "smu": SMU, "smu1": SMU1,
    "gelu": nn.GELU, "mish": nn.Mish, "softplus": nn.Softplus, "selu": nn.SELU,
}


class Declared(nn.Module):
    """Any other nnlab activation, from the PyTorch form it declares (`nnlab list --json`,
    LayerEntry::reference.torch) with its default parameters; learnable ones are nn.Parameters."""

    def __init__(self, entry):
        super().__init__()
        default = entry["reference"]["variants"][0]
        self.expr = entry["reference"]["torch"]
        self.cfg = dict(default["resolved"])
        self.learnable = nn.ParameterDict({k: nn.Parameter(torch.tensor(t["init"], dtype=torch.float32))
                                           for k, t in default["learnable"].items()})

    def forward(self, x):
        scope = {"torch": torch, "F": torch.nn.functional, "x": x, **self.cfg, **dict(self.learnable.items())}
        return eval(self.expr, {"__builtins__": {}}, scope)


def activation(name, nnlab):
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]()
    import subprocess
    entries = json.loads(subprocess.run([nnlab, "list", "activations", "--json"], check=True,
                                        capture_output=True, text=True).stdout)["activations"]
    for e in entries:
        if e["name"] == name:
            return Declared(e)
    raise SystemExit(f"torch_mlp: unknown activation {name}")


def gemm_floor(widths, batch, samples, repeats):
    """Seconds for one epoch of the network's matrix multiplies alone (best of `repeats`)."""
    xs = [torch.randn(batch, w) for w in widths]
    ws = [torch.randn(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    dys = [torch.randn(batch, w) for w in widths]
    dws = [torch.empty_like(w) for w in ws]
    dxs = [torch.empty(batch, w) for w in widths]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for start in range(0, samples, batch):
            b = min(batch, samples - start)  # the last batch is smaller
            for i, w in enumerate(ws):
                torch.mm(xs[i][:b], w.t(), out=xs[i + 1][:b])
            for i in reversed(range(len(ws))):
                torch.mm(dys[i + 1][:b].t(), xs[i][:b], out=dws[i])
                if i > 0:
                    torch.mm(dys[i + 1][:b], ws[i], out=dxs[i][:b])
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_flop(widths, samples):
    """FLOP of one epoch's products: forward and dW for every layer, dx for all but the first."""
    f = 0
    for i in range(len(widths) - 1):
        f += 2 * samples * widths[i] * widths[i + 1] * (3 if i > 0 else 2)
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--activations", default="relu")
    ap.add_argument("--hidden", default="256,128")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--floor-repeats", type=int, default=3)
    ap.add_argument("--no-floor", action="store_true", help="skip the GEMM floor")
    ap.add_argument("--floor-only", action="store_true", help="only the GEMM floor (no training, no data)")
    ap.add_argument("--nnlab", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "nnlab"),
                    help="nnlab binary, asked for activations this script has no PyTorch module for")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    widths = [784] + [int(h) for h in args.hidden.split(",")] + [10]
    n = 60000
    batches = (n + args.batch - 1) // args.batch
    common = {"torch": torch.__version__, "threads": args.threads, "env": env, "batch": args.batch,
              "widths": widths, "batches": batches}
    if not args.floor_only:
        train(args, common, widths)
    if not args.no_floor:
        s = gemm_floor(widths, args.batch, n, args.floor_repeats)
        flop = gemm_flop(widths, n)
        print(json.dumps({"kind": "gemm_floor", "backend": "torch.mm", "seconds": s, "flop": flop,
                          "gflops": flop / s / 1e9, **common}), flush=True)


def train(args, common, widths):
    images = read_idx(find(args.data, "train-images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / 255.0
    labels = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    mean, std = images.mean(), images.std()
    x_all = torch.from_numpy((images - mean) / std)
    y_all = torch.from_numpy(labels)
    n = x_all.shape[0]

    for name in args.activations.split(","):
        torch.manual_seed(args.seed)
        layers = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(activation(name, args.nnlab))
        model = nn.Sequential(*layers)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        seconds, losses = [], []
        for epoch in range(args.epochs + 1):
            t0 = time.perf_counter()
            order = torch.randperm(n)
            total = 0.0
            for s in range(0, n, args.batch):
                idx = order[s:s + args.batch]
                xb, yb = x_all[idx], y_all[idx]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            seconds.append(time.perf_counter() - t0)
            losses.append(total / n)
        timed = seconds[1:]
        print(json.dumps({"kind": "epoch", "activation": name, "seconds_median": float(np.median(timed)),
                          "seconds_min": min(timed), "warmup_seconds": seconds[0], "seconds": seconds,
                          "train_loss": losses, **common}), flush=True)


if __name__ == "__main__":
    main()
