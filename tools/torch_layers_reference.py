#!/usr/bin/python3
"""PyTorch reference values for nnlab's batchnorm and dropout: writes tests/data/layers_reference.json.

How to run (the Debian interpreter has python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 tools/torch_layers_reference.py            # rewrites tests/data/layers_reference.json
    /usr/bin/python3 tools/torch_layers_reference.py -o FILE    # writes FILE instead

The output is deterministic (fixed seeds, one thread), so a re-run on the same PyTorch gives a
byte-identical file. tests/layers/test_*.cpp read it (through tests/support/layers_reference.hpp).

batchnorm: nn.BatchNorm1d(6, eps=1e-5, momentum=0.1) on (8, 6) batches
----------------------------------------------------------------------
Inputs (all exactly representable in float32, the same values for both precisions): three batches
x[0], x[1], x[2], an upstream gradient dy, and the affine parameters weight/bias (set explicitly, not
the 1/0 init, so that a swapped or ignored γ/β shows). The six feature columns are chosen to stress
different parts of the formulas:
  0  standard normal                       the ordinary case
  1  50 + 2·normal                         mean large beside the spread (two-pass variance matters)
  2  0.01·normal                           variance ~1e-4, comparable to eps = 1e-5
  3  max(0, normal)                        ReLU output with exact zeros
  4  all zeros                             a dead ReLU unit: variance 0, σ = √eps, x̂ = 0
  5  uniform(-3, 3) with one outlier 40    heavy tail
Sequence (one fresh module per precision):
  train forward on x[0]  ->  y, then backward(dy)  ->  dx, dweight, dbias           ("train")
  train forward on x[1], then on x[2]                                               (stats only)
  running_mean, running_var, num_batches_tracked after these 3 training forwards
  eval forward on x[0]  ->  y, then backward(dy)  ->  dx, dweight, dbias            ("eval")

Precision: the float64 entry is PyTorch's float64 autograd. The float32 entry is computed the same way
in float64 on the (float32) inputs and rounded once to float32, i.e. the correctly rounded answer,
not PyTorch's float32 kernel with its own rounding; the script also runs PyTorch's native float32
module and checks that it is within the test's float32 allowance of the stored values (else exit 1),
which shows the allowance is achievable by an ordinary float32 implementation.

Scales (for the comparison rule): beside every value the entry stores a "scale" of the same shape, the
magnitude of the terms that formed it (Σ|terms| for sums, the operands of the cancellations). The test
accepts |got − expected| ≤ rtol · max(|expected|, scale). With x̃ = (|x| + |μ|)/σ (what x̂ = (x − μ)/σ
is made of):
  y        |γ| x̃ + |β|
  dx       |γ|/(Nσ) · (N|dy| + Σ|dy| + x̃ Σ|dy| x̃)      train;   |dy γ|/σ_running   eval
  dweight  Σ|dy| x̃          dbias  Σ|dy|
  running  the same recurrences on |·|: mean of |x| (mean), N/(N−1)·mean of (|x| + |μ|)² (var)
So an element that cancels to ~0 (x̂ at x ≈ μ, a dx whose three terms nearly cancel) is judged
against the size of what cancelled, and no absolute tolerance is needed.

dropout
-------
PyTorch's random generator cannot be matched, so only the deterministic parts are recorded: for
several p and both precisions, an input x of 64 values, PyTorch's training output y (some mask) and
its eval output, and the scale PyTorch multiplies kept elements by. The test checks that nnlab's kept
elements equal PyTorch's bit for bit (same scale rounding, same product) and that eval is the identity.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROWS, COLS = 8, 6
EPS, MOMENTUM = 1e-5, 0.1
F32_RTOL = 1e-5  # the test's float32 rtol, for the native-float32 self-check


def f32(a):
    """Round to float32 and back to float64 (exact float32 values held as doubles)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def make_batch(rng):
    x = np.zeros((ROWS, COLS))
    x[:, 0] = rng.standard_normal(ROWS)
    x[:, 1] = 50 + 2 * rng.standard_normal(ROWS)
    x[:, 2] = 0.01 * rng.standard_normal(ROWS)
    x[:, 3] = np.maximum(0, rng.standard_normal(ROWS))
    x[:, 4] = 0.0
    x[:, 5] = rng.uniform(-3, 3, ROWS)
    x[rng.integers(ROWS), 5] = 40.0
    return f32(x)


def batchnorm_inputs():
    rng = np.random.default_rng(20240605)
    xs = [make_batch(rng) for _ in range(3)]
    dy = f32(rng.standard_normal((ROWS, COLS)))
    weight = f32([0.5, 1.5, -2.0, 1.0, 0.8, 1.2])
    bias = f32([0.1, -0.2, 0.3, 0.0, 0.5, -1.0])
    return xs, dy, weight, bias


def run_torch(xs, dy, weight, bias, dtype):
    """The sequence described in the header, in `dtype`; returns numpy float64 arrays."""
    bn = torch.nn.BatchNorm1d(COLS, eps=EPS, momentum=MOMENTUM).to(dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(weight, dtype=dtype))
        bn.bias.copy_(torch.tensor(bias, dtype=dtype))
    out = {}

    def fwd_bwd(x):
        xt = torch.tensor(x, dtype=dtype, requires_grad=True)
        bn.weight.grad = None
        bn.bias.grad = None
        y = bn(xt)
        y.backward(torch.tensor(dy, dtype=dtype))
        g = lambda t: t.detach().double().numpy().copy()
        return {"y": g(y), "dx": g(xt.grad), "dweight": g(bn.weight.grad), "dbias": g(bn.bias.grad)}

    bn.train()
    out["train"] = fwd_bwd(xs[0])
    with torch.no_grad():
        bn(torch.tensor(xs[1], dtype=dtype))
        bn(torch.tensor(xs[2], dtype=dtype))
    out["running_mean"] = bn.running_mean.double().numpy().copy()
    out["running_var"] = bn.running_var.double().numpy().copy()
    out["num_batches_tracked"] = int(bn.num_batches_tracked)
    bn.eval()
    out["eval"] = fwd_bwd(xs[0])
    return out


def scales(xs, dy, weight, bias):
    """Magnitudes of the terms behind every value (see the header), in float64."""
    N = ROWS
    aw, ab, ady = np.abs(weight), np.abs(bias), np.abs(dy)
    s = {}
    # training step on x[0]
    x = xs[0]
    mu = x.mean(0)
    sigma = np.sqrt(x.var(0) + EPS)
    xt = (np.abs(x) + np.abs(mu)) / sigma
    s["train"] = {
        "y": aw * xt + ab,
        "dx": aw / (N * sigma) * (N * ady + ady.sum(0) + xt * (ady * xt).sum(0)),
        "dweight": (ady * xt).sum(0),
        "dbias": ady.sum(0),
    }
    # running statistics over the three steps, on magnitudes
    rm, rv = np.zeros(COLS), np.ones(COLS)  # exact running values (for the eval scales)
    sm, sv = np.zeros(COLS), np.ones(COLS)  # their scales
    for b in xs:
        m = b.mean(0)
        rm = (1 - MOMENTUM) * rm + MOMENTUM * m
        rv = (1 - MOMENTUM) * rv + MOMENTUM * b.var(0) * N / (N - 1)
        sm = (1 - MOMENTUM) * sm + MOMENTUM * np.abs(b).mean(0)
        sv = (1 - MOMENTUM) * sv + MOMENTUM * ((np.abs(b) + np.abs(m)) ** 2).mean(0) * N / (N - 1)
    s["running_mean"], s["running_var"] = sm, sv
    # eval on x[0] with the running statistics
    sr = np.sqrt(rv + EPS)
    xt = (np.abs(x) + np.abs(rm)) / sr
    s["eval"] = {
        "y": aw * xt + ab,
        "dx": ady * aw / sr,
        "dweight": (ady * xt).sum(0),
        "dbias": ady.sum(0),
    }
    return s


class Num(float):
    """A float that JSON-encodes in the shortest form reading back exactly in its precision."""
    def __new__(cls, v, single):
        o = float.__new__(cls, v)
        o.single = single
        return o


def flat(a, single=False):
    """Flat list; single=True for float32 values (written in float32's shortest round-trip form)."""
    return [Num(v, single) for v in np.asarray(a, dtype=np.float64).ravel()]


def encode(v):
    """Compact JSON; a Num float32 value as str(np.float32) (numpy 1.x: shortest round trip)."""
    if isinstance(v, Num): return str(np.float32(v)) if v.single else repr(float(v))
    if isinstance(v, (bool, int, float, str)) or v is None: return json.dumps(v)
    if isinstance(v, list): return "[" + ",".join(encode(e) for e in v) + "]"
    if isinstance(v, dict): return "{\n" + ",\n".join(json.dumps(k) + ":" + encode(e) for k, e in v.items()) + "}"
    raise TypeError(type(v))


def worst_ratio(got, ref, scale, rtol):
    got, ref, scale = (np.asarray(a, dtype=np.float64) for a in (got, ref, scale))
    err = np.abs(got - ref)
    allowed = rtol * np.maximum(np.abs(ref), scale)
    return float(np.where(err == 0, 0.0, err / np.where(allowed == 0, 1.0, allowed) * (allowed != 0) +
                          np.where(allowed == 0, np.inf, 0.0)).max())


def batchnorm_section():
    xs, dy, weight, bias = batchnorm_inputs()
    ref64 = run_torch(xs, dy, weight, bias, torch.float64)
    native32 = run_torch(xs, dy, weight, bias, torch.float32)
    sc = scales(xs, dy, weight, bias)
    entries, worst = [], 0.0
    for dtype in ("float64", "float32"):
        single = dtype == "float32"
        e = {"dtype": dtype}
        for mode in ("train", "eval"):
            e[mode] = {k: flat(v, single) for k, v in ref64[mode].items()}
            e[mode + "_scale"] = {k: flat(v, True) for k, v in sc[mode].items()}
        for k in ("running_mean", "running_var"):
            e[k] = flat(ref64[k], single)
            e[k + "_scale"] = flat(sc[k], True)
        e["num_batches_tracked"] = ref64["num_batches_tracked"]
        entries.append(e)
    # Self-check: PyTorch's own float32 kernels against the stored float32 values.
    e32 = entries[1]
    report = []
    for mode in ("train", "eval"):
        for k in ("y", "dx", "dweight", "dbias"):
            q = worst_ratio(native32[mode][k].ravel(), e32[mode][k], e32[mode + "_scale"][k], F32_RTOL)
            report.append((q, mode + "." + k))
    for k in ("running_mean", "running_var"):
        report.append((worst_ratio(native32[k], e32[k], e32[k + "_scale"], F32_RTOL), k))
    return {
        "rows": ROWS, "cols": COLS, "eps": EPS, "momentum": MOMENTUM,
        "x": [flat(b, True) for b in xs], "dy": flat(dy, True), "weight": flat(weight, True),
        "bias": flat(bias, True),
        "entries": entries,
    }, report


def dropout_section():
    torch.manual_seed(7)
    rng = np.random.default_rng(11)
    x = f32(rng.uniform(-5, 5, 64))
    out = []
    for p in (0.1, 0.2, 0.5, 0.9, 1 / 3):
        for dtype, tdt in (("float64", torch.float64), ("float32", torch.float32)):
            drop = torch.nn.Dropout(p)
            xt = torch.tensor(x, dtype=tdt)
            drop.train()
            y = drop(xt)
            ones = drop(torch.ones(1000, dtype=tdt))
            kept = ones[ones != 0].unique()
            assert kept.numel() == 1, kept
            drop.eval()
            ye = drop(xt)
            single = dtype == "float32"
            out.append({"p": p, "dtype": dtype, "scale": Num(float(kept[0]), single), "x": flat(x, True),
                        "y_train": flat(y.double(), single), "y_eval": flat(ye.double(), single)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "tests", "data", "layers_reference.json"))
    args = ap.parse_args()
    bn, report = batchnorm_section()
    doc = {
        "generator": "tools/torch_layers_reference.py",
        "torch": torch.__version__,
        "batchnorm": bn,
        "dropout": dropout_section(),
    }
    with open(args.output, "w") as f:
        f.write(encode(doc) + "\n")
    print("wrote %s (%d bytes)" % (os.path.normpath(args.output), os.path.getsize(args.output)))
    bad = False
    for q, what in report:
        print("torch native float32 vs stored float32 reference, %-20s worst error/allowed = %.3g" % (what, q))
        bad |= not q <= 1.0
    if bad:
        print("native float32 outside the float32 allowance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
