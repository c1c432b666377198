#!/usr/bin/python3
"""PyTorch peer for nnlab's CNN speed benchmark: configs/fashion_cnn.json's network, data and recipe,
timed the same way as `nnlab bench`.

    /usr/bin/python3 bench/torch_cnn.py [--activations relu,elu,...] [--epochs 1] [--threads 2]
                                        [--settings default,channels_last,no_mkldnn]

Network (the config's model.cnn = [32, 64], hidden [128]): conv 1→32 3×3 pad 1, act, max-pool 2,
conv 32→64 3×3 pad 1, act, max-pool 2, flatten, dense 3136→128, act, dense 128→10; PyTorch's default
init, SGD lr 0.05 momentum 0.9, cross-entropy, batch 128, Fashion-MNIST normalised by the training
set's mean/std (as nnlab does). Data are one float32 (N, 1, 28, 28) tensor before timing. Timing
covers the training loop only (shuffle, batch slicing, forward, loss, backward, step) per epoch,
after one warm-up epoch (also reported).

Settings, each timed so the comparison can take PyTorch's fastest (all on the CPU):
  default        NCHW tensors; Debian's PyTorch 1.13 runs convolutions through oneDNN (mkldnn)
  channels_last  model and batches in torch.channels_last (NHWC), oneDNN's preferred layout
  no_mkldnn      torch.backends.mkldnn disabled: PyTorch's own im2col + BLAS convolution

Prints one JSON object per line: {"kind": "epoch", "setting": ..., "activation": ..., "seconds": [...]}.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_mlp import activation, find, read_idx  # noqa: E402  (the same activation modules and data reader)


def network(act, nnlab, channels=(32, 64), hidden=(128,), classes=10, side=28, in_channels=1):
    layers, c = [], in_channels
    for width in channels:
        layers += [nn.Conv2d(c, width, 3, padding=1), activation(act, nnlab), nn.MaxPool2d(2)]
        c, side = width, side // 2
    layers.append(nn.Flatten())
    f = c * side * side
    for h in hidden:
        layers += [nn.Linear(f, h), activation(act, nnlab)]
        f = h
    layers.append(nn.Linear(f, classes))
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--activations", default="relu")
    ap.add_argument("--settings", default="default,channels_last,no_mkldnn")
    ap.add_argument("--epochs", type=int, default=1, help="timed epochs after one warm-up epoch")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (0: all 60000)")
    ap.add_argument("--nnlab", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "nnlab"),
                    help="nnlab binary, asked for activations this script has no PyTorch module for")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    images = read_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    mean, std = images.mean(), images.std()
    x_all = torch.from_numpy((images - mean) / std).reshape(-1, 1, 28, 28).contiguous()
    y_all = torch.from_numpy(labels)
    n = x_all.shape[0]
    common = {"torch": torch.__version__, "threads": args.threads, "batch": args.batch,
              "mkldnn_available": torch.backends.mkldnn.is_available(), "images": n}

    for setting in args.settings.split(","):
        if setting not in ("default", "channels_last", "no_mkldnn"):
            raise SystemExit(f"torch_cnn: unknown setting {setting} (default, channels_last, no_mkldnn)")
        for name in args.activations.split(","):
            torch.manual_seed(args.seed)
            model = network(name, args.nnlab)
            x = x_all
            if setting == "channels_last":
                model = model.to(memory_format=torch.channels_last)
                x = x_all.contiguous(memory_format=torch.channels_last)
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            loss_fn = nn.CrossEntropyLoss()
            seconds, losses = [], []
            with torch.backends.mkldnn.flags(enabled=setting != "no_mkldnn"):
                for epoch in range(args.epochs + 1):
                    t0 = time.perf_counter()
                    order = torch.randperm(n)
                    total = 0.0
                    for s in range(0, n, args.batch):
                        idx = order[s:s + args.batch]
                        xb, yb = x[idx], y_all[idx]
                        if setting == "channels_last":
                            xb = xb.contiguous(memory_format=torch.channels_last)
                        opt.zero_grad(set_to_none=True)
                        loss = loss_fn(model(xb), yb)
                        loss.backward()
                        opt.step()
                        total += loss.item() * len(idx)
                    seconds.append(time.perf_counter() - t0)
                    losses.append(total / n)
            timed = seconds[1:]
            print(json.dumps({"kind": "epoch", "setting": setting, "activation": name,
                              "seconds_median": float(np.median(timed)), "seconds_min": min(timed),
                              "warmup_seconds": seconds[0], "seconds": seconds, "train_loss": losses, **common}),
                  flush=True)


if __name__ == "__main__":
    main()
