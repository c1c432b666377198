#!/usr/bin/python3
"""PyTorch reference values for nnlab's CNN layers: writes tests/data/cnn_reference.json.

How to run (the Debian interpreter has python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 tools/torch_cnn_reference.py            # rewrites tests/data/cnn_reference.json
    /usr/bin/python3 tools/torch_cnn_reference.py -o FILE    # writes FILE instead

The output is deterministic (fixed seeds, one thread), so a re-run on the same PyTorch gives a
byte-identical file. tests/layers/test_{conv2d,max_pool2d,avg_pool2d,adaptive_avg_pool2d,
batch_norm2d,dropout2d}.cpp read it.

Layout: every tensor is a flat list in PyTorch's contiguous NCHW order (n·C·H·W + c·H·W + h·W + w),
which is also nnlab's batch layout (one sample per row). Inputs (x, weights, dy) are float32 values
(rounded through float32, written in their shortest float32 form) so that the float32 and float64
tests use exactly the same numbers; results are PyTorch's float64 autograd on those inputs.

Scales (for the comparison |got − expected| ≤ rtol · max(|expected|, scale), as in
tests/support/layers_reference.hpp): beside every result the case stores a "<name>_scale" list of the
same length, the magnitude of the terms that formed the value, obtained by running the same
operations on absolute values:
  conv2d               y_scale = conv2d(|x|, |w|) + |b|, dx_scale = the input gradient of conv2d with
                       |w| and |dy|, dweight_scale = the weight gradient with |x| and |dy|,
                       dbias_scale = Σ|dy|
  max_pool2d           y_scale = |y| (y is one input value, exact), dx_scale = the routed sum of |dy|
  avg_pool2d,          y_scale = the same pooling of |x|, dx_scale = its backward of |dy|
  adaptive_avg_pool2d
  batch_norm2d         as tools/torch_layers_reference.py's batchnorm, with the statistics over the
                       N·H·W values of each channel instead of the N values of a column

Sections
--------
conv2d (a list of cases, the format the conv2d test reads):
  {"name", "N", "C", "H", "W", "out_channels", "kernel_size", "stride", "padding", "dilation",
   "groups", "bias", "x", "weight" [out·(C/groups)·k·k], "bias_values" [out] (empty without bias),
   "dy" [N·out·Ho·Wo], "y", "dx", "dweight", "dbias" (empty without bias), "y_scale", "dx_scale",
   "dweight_scale", "dbias_scale"}
max_pool2d: cases {"name", "N", "C", "H", "W", "kernel_size", "stride", "padding", "dilation",
  "ceil_mode", "Ho", "Wo", "x", "dy", "y", "dx", "y_scale", "dx_scale"}. x has distinct values except in
  the "ties*" cases (small integers, so windows hold several equal maxima: PyTorch's CPU kernel keeps
  the first maximum in scan order, and the whole gradient goes to it).
avg_pool2d: cases as max_pool2d without dilation, plus "count_include_pad".
adaptive_avg_pool2d: cases {"name", "N", "C", "H", "W", "output_size", "x", "dy", "y", "dx", ...}.
batch_norm2d: {"N", "C", "H", "W", "eps", "momentum", "x": [3 batches], "dy", "weight", "bias",
  "train": {y, dx, dweight, dbias}, "train_scale", "running_mean", "running_var" (+ _scale),
  "num_batches_tracked", "eval", "eval_scale"}: train forward/backward on x[0], train forwards on x[1]
  and x[2], the running statistics, then eval forward/backward on x[0].
dropout2d: PyTorch's generator cannot be matched, so, as for dropout, only the deterministic parts:
  for several p and both precisions, x, PyTorch's training output (some channel mask), its eval output
  and the scale of kept channels.

Self-check: PyTorch's native float32 kernels are run on the same inputs and compared with the stored
float64 results under the float32 tests' rule (rtol 1e-5); the script prints the worst
error/allowance per tensor and exits 1 if any exceeds 1.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

F32_RTOL = 1e-5  # the float32 tests' rtol, for the native-float32 self-check


def f32(a):
    """Round to float32 and back to float64 (exact float32 values held as doubles)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


class Num(float):
    """A float that JSON-encodes in the shortest form reading back exactly in its precision."""
    def __new__(cls, v, single):
        o = float.__new__(cls, v)
        o.single = single
        return o


def flat(a, single=False):
    """Flat list; single=True for float32 values (written in float32's shortest round-trip form)."""
    return [Num(v, single) for v in np.asarray(a, dtype=np.float64).ravel()]


def encode(v, depth=0):
    """Compact JSON; a Num float32 value as str(np.float32) (numpy 1.x: shortest round trip)."""
    if isinstance(v, Num): return str(np.float32(v)) if v.single else repr(float(v))
    if isinstance(v, (bool, int, float, str)) or v is None: return json.dumps(v)
    if isinstance(v, list):
        sep = ",\n" if v and isinstance(v[0], dict) else ","
        return "[" + sep.join(encode(e, depth + 1) for e in v) + "]"
    if isinstance(v, dict): return "{\n" + ",\n".join(json.dumps(k) + ":" + encode(e, depth + 1) for k, e in v.items()) + "}"
    raise TypeError(type(v))


def worst_ratio(got, ref, scale, rtol=F32_RTOL):
    got, ref, scale = (np.asarray(a, dtype=np.float64).ravel() for a in (got, ref, scale))
    if got.size == 0: return 0.0
    ref = f32(ref)  # the float32 test compares with the stored value rounded to float32
    err = np.abs(got - ref)
    allowed = rtol * np.maximum(np.abs(ref), scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(err == 0, 0.0, np.where(allowed == 0, np.inf, err / allowed))
    return float(q.max())


def t64(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def np64(t):
    return t.detach().double().numpy().copy()


REPORT = []  # (worst ratio, what) of PyTorch's native float32 against the stored results


def selfcheck(section, name, fn, inputs, results, scales):
    """Run fn on float32 copies of `inputs` (dict name -> array; entries named d* are upstream
    gradients) and compare every output with the stored float64 results under the float32 rule."""
    got = fn(torch.float32)
    for k in results:
        REPORT.append((worst_ratio(got[k], results[k], scales[k]), "%s %s %s" % (section, name, k)))


# ---- conv2d --------------------------------------------------------------------------------------

CONV_CASES = [
    # name, N, C, H, W, out, k, stride, padding, dilation, groups, bias
    ("basic", 2, 3, 7, 6, 4, 3, 1, 0, 1, 1, True),
    ("pad1", 2, 2, 5, 5, 3, 3, 1, 1, 1, 1, True),
    ("stride2", 3, 2, 8, 7, 2, 3, 2, 1, 1, 1, True),
    ("dilation2", 2, 2, 9, 9, 3, 3, 1, 2, 2, 1, True),
    ("groups2", 2, 4, 6, 6, 6, 3, 1, 1, 1, 2, False),
    ("depthwise", 2, 3, 6, 5, 3, 3, 1, 1, 1, 3, True),
    ("k1", 2, 5, 4, 4, 3, 1, 1, 0, 1, 1, True),
    ("k5s3", 2, 2, 11, 10, 2, 5, 3, 2, 1, 1, True),
    ("fashion1", 2, 1, 28, 28, 4, 3, 1, 1, 1, 1, True),
    ("rect", 1, 2, 3, 9, 2, 3, 1, 0, 1, 1, True),
]


def conv2d_section():
    rng = np.random.default_rng(2024_12_02)
    out = []
    for name, N, C, H, W, O, k, s, p, d, g, has_bias in CONV_CASES:
        x = f32(rng.standard_normal((N, C, H, W)))
        fan_in = (C // g) * k * k
        w = f32(rng.uniform(-1, 1, (O, C // g, k, k)) / np.sqrt(fan_in))
        b = f32(rng.uniform(-0.5, 0.5, O)) if has_bias else None
        Ho = (H + 2 * p - d * (k - 1) - 1) // s + 1
        Wo = (W + 2 * p - d * (k - 1) - 1) // s + 1
        dy = f32(rng.standard_normal((N, O, Ho, Wo)))

        def run(dtype, xa, wa, ba, dya):
            xt = torch.tensor(xa, dtype=dtype, requires_grad=True)
            wt = torch.tensor(wa, dtype=dtype, requires_grad=True)
            bt = torch.tensor(ba, dtype=dtype, requires_grad=True) if has_bias else None
            y = F.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d, groups=g)
            y.backward(torch.tensor(dya, dtype=dtype))
            return {"y": np64(y), "dx": np64(xt.grad), "dweight": np64(wt.grad),
                    "dbias": np64(bt.grad) if has_bias else np.zeros(0)}

        res = run(torch.float64, x, w, b, dy)
        assert res["y"].shape == (N, O, Ho, Wo)
        sc = run(torch.float64, np.abs(x), np.abs(w), np.abs(b) if has_bias else None, np.abs(dy))
        out.append({
            "name": name, "N": N, "C": C, "H": H, "W": W, "out_channels": O, "kernel_size": k, "stride": s,
            "padding": p, "dilation": d, "groups": g, "bias": has_bias,
            "x": flat(x, True), "weight": flat(w, True), "bias_values": flat(b, True) if has_bias else [],
            "dy": flat(dy, True),
            "y": flat(res["y"]), "dx": flat(res["dx"]), "dweight": flat(res["dweight"]), "dbias": flat(res["dbias"]),
            "y_scale": flat(sc["y"], True), "dx_scale": flat(sc["dx"], True),
            "dweight_scale": flat(sc["dweight"], True), "dbias_scale": flat(sc["dbias"], True),
        })
        selfcheck("conv2d", name, lambda dt: run(dt, x, w, b, dy), {}, res, sc)
    return out


# ---- pooling -------------------------------------------------------------------------------------

MAX_CASES = [
    # name, N, C, H, W, k, stride (0 = k), padding, dilation, ceil_mode, ties
    ("k2", 2, 3, 6, 6, 2, 0, 0, 1, False, False),
    ("k3s1_overlap", 2, 2, 5, 6, 3, 1, 0, 1, False, False),
    ("k3s2p1", 2, 2, 7, 7, 3, 2, 1, 1, False, False),
    ("k2_ceil", 1, 2, 5, 7, 2, 0, 0, 1, True, False),
    ("k3s2p1_ceil", 2, 1, 6, 8, 3, 2, 1, 1, True, False),
    ("dilation2", 2, 2, 7, 8, 3, 1, 1, 2, False, False),
    ("dilation2_s2_ceil", 1, 2, 8, 9, 2, 2, 1, 2, True, False),
    ("k4s3p2", 1, 3, 9, 10, 4, 3, 2, 1, False, False),
    ("ceil_drop", 1, 2, 6, 7, 2, 4, 1, 1, True, False),  # ceil would add a window starting in the right padding: dropped
    ("ties_k2", 2, 2, 6, 6, 2, 0, 0, 1, False, True),
    ("ties_k3s1p1", 2, 2, 5, 5, 3, 1, 1, 1, False, True),
    ("ties_k3s2_ceil", 1, 3, 7, 6, 3, 2, 0, 1, True, True),
]

AVG_CASES = [
    # name, N, C, H, W, k, stride, padding, ceil_mode, count_include_pad
    ("k2", 2, 3, 6, 6, 2, 0, 0, False, True),
    ("k3s1_overlap", 2, 2, 5, 6, 3, 1, 0, False, True),
    ("k3s2p1_incl", 2, 2, 7, 7, 3, 2, 1, False, True),
    ("k3s2p1_excl", 2, 2, 7, 7, 3, 2, 1, False, False),
    ("k2_ceil", 1, 2, 5, 7, 2, 0, 0, True, True),
    ("k3s2p1_ceil_incl", 2, 1, 6, 8, 3, 2, 1, True, True),
    ("k3s2p1_ceil_excl", 2, 1, 6, 8, 3, 2, 1, True, False),
    ("k4s3p2_ceil_incl", 1, 2, 9, 10, 4, 3, 2, True, True),
    ("k4s3p2_ceil_excl", 1, 2, 9, 10, 4, 3, 2, True, False),
    ("k5s2p2_excl", 1, 2, 8, 6, 5, 2, 2, False, False),
    ("ceil_drop_incl", 1, 2, 6, 7, 2, 4, 1, True, True),  # a window starting in the right padding is dropped
    ("ceil_drop_excl", 1, 2, 6, 7, 2, 4, 1, True, False),
]

ADAPTIVE_CASES = [
    # name, N, C, H, W, output_size
    ("global", 2, 3, 5, 4, 1),
    ("out2", 2, 2, 6, 6, 2),
    ("out3_uneven", 2, 2, 7, 5, 3),
    ("out4_of_3", 1, 2, 3, 3, 4),  # output larger than the input: windows repeat
    ("fashion_global", 2, 4, 7, 7, 1),
]


def pool_inputs(rng, N, C, H, W, ties):
    if ties:
        x = rng.integers(-2, 3, (N, C, H, W)).astype(np.float64)
    else:
        # distinct values (a permutation of a grid), so no window holds two equal maxima
        n = N * C * H * W
        x = (rng.permutation(n) - n / 2) / 8.0 + rng.uniform(-0.01, 0.01, n)
        x = f32(x.reshape(N, C, H, W))
    return f32(x)


def max_pool2d_section():
    rng = np.random.default_rng(7001)
    out = []
    for name, N, C, H, W, k, s, p, d, ceil, ties in MAX_CASES:
        x = pool_inputs(rng, N, C, H, W, ties)
        stride = s or k

        def run(dtype, xa, dya=None):
            xt = torch.tensor(xa, dtype=dtype, requires_grad=True)
            y = F.max_pool2d(xt, k, stride, p, d, ceil_mode=ceil)
            if dya is None: return y
            y.backward(torch.tensor(dya, dtype=dtype))
            return {"y": np64(y), "dx": np64(xt.grad)}

        Ho, Wo = run(torch.float64, x).shape[2:]
        dy = f32(rng.standard_normal((N, C, Ho, Wo)))
        res = run(torch.float64, x, dy)
        # |dy| routed the same way (the argmax depends on x only)
        xt = t64(x, True)
        F.max_pool2d(xt, k, stride, p, d, ceil_mode=ceil).backward(t64(np.abs(dy)))
        sc = {"y": np.abs(res["y"]), "dx": np64(xt.grad)}
        out.append({"name": name, "N": N, "C": C, "H": H, "W": W, "kernel_size": k, "stride": s, "padding": p,
                    "dilation": d, "ceil_mode": ceil, "Ho": Ho, "Wo": Wo, "x": flat(x, True), "dy": flat(dy, True),
                    "y": flat(res["y"]), "dx": flat(res["dx"]), "y_scale": flat(sc["y"], True),
                    "dx_scale": flat(sc["dx"], True)})
        selfcheck("max_pool2d", name, lambda dt: run(dt, x, dy), {}, res, sc)
    return out


def avg_pool2d_section():
    rng = np.random.default_rng(7002)
    out = []
    for name, N, C, H, W, k, s, p, ceil, incl in AVG_CASES:
        x = f32(rng.standard_normal((N, C, H, W)))
        stride = s or k

        def run(dtype, xa, dya=None):
            xt = torch.tensor(xa, dtype=dtype, requires_grad=True)
            y = F.avg_pool2d(xt, k, stride, p, ceil_mode=ceil, count_include_pad=incl)
            if dya is None: return y
            y.backward(torch.tensor(dya, dtype=dtype))
            return {"y": np64(y), "dx": np64(xt.grad)}

        Ho, Wo = run(torch.float64, x).shape[2:]
        dy = f32(rng.standard_normal((N, C, Ho, Wo)))
        res = run(torch.float64, x, dy)
        sc = run(torch.float64, np.abs(x), np.abs(dy))
        out.append({"name": name, "N": N, "C": C, "H": H, "W": W, "kernel_size": k, "stride": s, "padding": p,
                    "ceil_mode": ceil, "count_include_pad": incl, "Ho": Ho, "Wo": Wo, "x": flat(x, True),
                    "dy": flat(dy, True), "y": flat(res["y"]), "dx": flat(res["dx"]), "y_scale": flat(sc["y"], True),
                    "dx_scale": flat(sc["dx"], True)})
        selfcheck("avg_pool2d", name, lambda dt: run(dt, x, dy), {}, res, sc)
    return out


def adaptive_avg_pool2d_section():
    rng = np.random.default_rng(7003)
    out = []
    for name, N, C, H, W, o in ADAPTIVE_CASES:
        x = f32(rng.standard_normal((N, C, H, W)))
        dy = f32(rng.standard_normal((N, C, o, o)))

        def run(dtype, xa, dya):
            xt = torch.tensor(xa, dtype=dtype, requires_grad=True)
            y = F.adaptive_avg_pool2d(xt, o)
            y.backward(torch.tensor(dya, dtype=dtype))
            return {"y": np64(y), "dx": np64(xt.grad)}

        res = run(torch.float64, x, dy)
        sc = run(torch.float64, np.abs(x), np.abs(dy))
        out.append({"name": name, "N": N, "C": C, "H": H, "W": W, "output_size": o, "x": flat(x, True),
                    "dy": flat(dy, True), "y": flat(res["y"]), "dx": flat(res["dx"]), "y_scale": flat(sc["y"], True),
                    "dx_scale": flat(sc["dx"], True)})
        selfcheck("adaptive_avg_pool2d", name, lambda dt: run(dt, x, dy), {}, res, sc)
    return out


# ---- batch_norm2d --------------------------------------------------------------------------------

BN_N, BN_C, BN_H, BN_W = 4, 5, 3, 4
EPS, MOMENTUM = 1e-5, 0.1


def bn_batch(rng):
    """Five channels stressing different parts of the formulas (as the batchnorm reference's columns)."""
    shape = (BN_N, BN_H, BN_W)
    x = np.zeros((BN_N, BN_C, BN_H, BN_W))
    x[:, 0] = rng.standard_normal(shape)                       # the ordinary case
    x[:, 1] = 50 + 2 * rng.standard_normal(shape)              # mean large beside the spread
    x[:, 2] = 0.01 * rng.standard_normal(shape)                # variance ~1e-4, comparable to eps
    x[:, 3] = np.maximum(0, rng.standard_normal(shape))        # ReLU output with exact zeros
    x[:, 4] = 0.0                                              # a dead channel: variance 0
    return f32(x)


def bn_run(xs, dy, weight, bias, dtype):
    bn = torch.nn.BatchNorm2d(BN_C, eps=EPS, momentum=MOMENTUM).to(dtype)
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
        return {"y": np64(y), "dx": np64(xt.grad), "dweight": np64(bn.weight.grad), "dbias": np64(bn.bias.grad)}

    bn.train()
    out["train"] = fwd_bwd(xs[0])
    with torch.no_grad():
        bn(torch.tensor(xs[1], dtype=dtype))
        bn(torch.tensor(xs[2], dtype=dtype))
    out["running_mean"] = np64(bn.running_mean)
    out["running_var"] = np64(bn.running_var)
    out["num_batches_tracked"] = int(bn.num_batches_tracked)
    bn.eval()
    out["eval"] = fwd_bwd(xs[0])
    return out


def bn_scales(xs, dy, weight, bias):
    """tools/torch_layers_reference.py's batchnorm scales, reduced over (N, H, W) per channel."""
    M = BN_N * BN_H * BN_W
    ax = (0, 2, 3)
    c = lambda v: v.reshape(1, BN_C, 1, 1)
    aw, ab, ady = c(np.abs(weight)), c(np.abs(bias)), np.abs(dy)
    s = {}
    x = xs[0]
    mu = c(x.mean(ax))
    sigma = c(np.sqrt(x.var(ax) + EPS))
    xt = (np.abs(x) + np.abs(mu)) / sigma
    s["train"] = {
        "y": aw * xt + ab,
        "dx": aw / (M * sigma) * (M * ady + c(ady.sum(ax)) + xt * c((ady * xt).sum(ax))),
        "dweight": (ady * xt).sum(ax),
        "dbias": ady.sum(ax),
    }
    rm, rv = np.zeros(BN_C), np.ones(BN_C)
    sm, sv = np.zeros(BN_C), np.ones(BN_C)
    for b in xs:
        m = b.mean(ax)
        rm = (1 - MOMENTUM) * rm + MOMENTUM * m
        rv = (1 - MOMENTUM) * rv + MOMENTUM * b.var(ax) * M / (M - 1)
        sm = (1 - MOMENTUM) * sm + MOMENTUM * np.abs(b).mean(ax)
        sv = (1 - MOMENTUM) * sv + MOMENTUM * ((np.abs(b) + c(np.abs(m))) ** 2).mean(ax) * M / (M - 1)
    s["running_mean"], s["running_var"] = sm, sv
    sr = c(np.sqrt(rv + EPS))
    xt = (np.abs(x) + c(np.abs(rm))) / sr
    s["eval"] = {"y": aw * xt + ab, "dx": ady * aw / sr, "dweight": (ady * xt).sum(ax), "dbias": ady.sum(ax)}
    return s


def batch_norm2d_section():
    rng = np.random.default_rng(7004)
    xs = [bn_batch(rng) for _ in range(3)]
    dy = f32(rng.standard_normal((BN_N, BN_C, BN_H, BN_W)))
    weight = f32([0.5, 1.5, -2.0, 1.0, 0.8])
    bias = f32([0.1, -0.2, 0.3, 0.0, 0.5])
    ref = bn_run(xs, dy, weight, bias, torch.float64)
    native = bn_run(xs, dy, weight, bias, torch.float32)
    sc = bn_scales(xs, dy, weight, bias)
    doc = {"N": BN_N, "C": BN_C, "H": BN_H, "W": BN_W, "eps": EPS, "momentum": MOMENTUM,
           "x": [flat(b, True) for b in xs], "dy": flat(dy, True), "weight": flat(weight, True),
           "bias": flat(bias, True)}
    for mode in ("train", "eval"):
        doc[mode] = {k: flat(v) for k, v in ref[mode].items()}
        doc[mode + "_scale"] = {k: flat(v, True) for k, v in sc[mode].items()}
        for k in ref[mode]:
            REPORT.append((worst_ratio(native[mode][k], ref[mode][k], sc[mode][k]), "batch_norm2d %s.%s" % (mode, k)))
    for k in ("running_mean", "running_var"):
        doc[k] = flat(ref[k])
        doc[k + "_scale"] = flat(sc[k], True)
        REPORT.append((worst_ratio(native[k], ref[k], sc[k]), "batch_norm2d " + k))
    doc["num_batches_tracked"] = ref["num_batches_tracked"]
    return doc


# ---- dropout2d -----------------------------------------------------------------------------------

def dropout2d_section():
    torch.manual_seed(13)
    rng = np.random.default_rng(7005)
    N, C, H, W = 4, 6, 3, 2
    x = f32(rng.uniform(0.5, 5, (N, C, H, W)) * rng.choice([-1, 1], (N, C, H, W)))  # no zeros
    out = []
    for p in (0.1, 0.5, 0.9, 1 / 3):
        for dtype, tdt in (("float64", torch.float64), ("float32", torch.float32)):
            drop = torch.nn.Dropout2d(p)
            xt = torch.tensor(x, dtype=tdt)
            drop.train()
            y = drop(xt)
            ones = drop(torch.ones(200, 10, 1, 1, dtype=tdt))
            kept = ones[ones != 0].unique()
            assert kept.numel() == 1, kept
            # whole channels: every channel of y is all zero or all x · scale
            yc = y.reshape(N * C, H * W)
            assert bool(((yc == 0).all(1) | (yc != 0).all(1)).all())
            drop.eval()
            ye = drop(xt)
            single = dtype == "float32"
            out.append({"p": p, "dtype": dtype, "N": N, "C": C, "H": H, "W": W, "scale": Num(float(kept[0]), single),
                        "x": flat(x, True), "y_train": flat(y.double(), single), "y_eval": flat(ye.double(), single)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "tests", "data", "cnn_reference.json"))
    args = ap.parse_args()
    doc = {
        "generator": "tools/torch_cnn_reference.py",
        "torch": torch.__version__,
        "conv2d": conv2d_section(),
        "max_pool2d": max_pool2d_section(),
        "avg_pool2d": avg_pool2d_section(),
        "adaptive_avg_pool2d": adaptive_avg_pool2d_section(),
        "batch_norm2d": batch_norm2d_section(),
        "dropout2d": dropout2d_section(),
    }
    with open(args.output, "w") as f:
        f.write(encode(doc) + "\n")
    print("wrote %s (%d bytes)" % (os.path.normpath(args.output), os.path.getsize(args.output)))
    bad = False
    for q, what in REPORT:
        print("torch native float32 vs stored reference, %-40s worst error/allowed = %.3g" % (what, q))
        bad |= not q <= 1.0
    if bad:
        print("native float32 outside the float32 allowance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
