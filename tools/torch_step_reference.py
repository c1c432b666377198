#!/usr/bin/python3
"""PyTorch reference for whole training steps of nnlab models: writes tests/data/step_reference.json.

How to run (the Debian interpreter has python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 tools/torch_step_reference.py            # rewrites tests/data/step_reference.json
    /usr/bin/python3 tools/torch_step_reference.py -o FILE    # writes FILE instead

The output is deterministic (fixed seeds, one thread, float64 arithmetic), so a re-run on the same
PyTorch gives a byte-identical file; it takes under a minute. tests/core/run/test_step_reference.cpp reads
it. Like llm.c's test_gpt2.c: one batch through a whole model, loss, backward, optimizer, checked
end to end, so every piece has to agree with PyTorch in the way training really combines them.

The models (both on one batch of 32 samples x 784 features, 10 classes)
------------------------------------------------------------------------
  mlp      the default model of configs/fashion_mlp.json (read from that file): dense 784-256, relu,
           dense 256-128, relu, dense 128-10 (Dense = nn.Linear, weight {out, in}); seed = train.seed
  bn_drop  dense 784-64 without bias, batchnorm, relu, dropout(0.2), dense 64-10. The dense before
           BatchNorm has no bias because BatchNorm removes it again: its gradient is exactly zero in
           exact arithmetic and pure rounding noise in float32, which Adam's g/(|g|+eps) would turn
           into lr-sized steps in arbitrary directions (nothing a reference could check).
For each model, from one set of initial weights:
  logits, loss (cross-entropy, mean) and every parameter gradient of the first forward/backward;
  for SGD (the config's optimizer: lr 0.05, momentum 0.9) and for Adam (lr 1e-3): 5 steps on the same
  batch in training mode, each forward -> loss -> backward -> step, recording the 5 losses and the
  whole state after the 5th step (parameters and BatchNorm's running statistics).

Inputs and initial weights
--------------------------
x ~ N(0, 1) in float32, labels a shuffled 0..9 cycle (numpy's PCG64; the seed is chosen as described
under "The state after 5 steps" so that no ReLU input is near the kink).
The initial weights are nnlab's own initialisation, reproduced here bit for bit: Dense layer i
draws, from Rng(seed, stream_id("init", i)) (core/rng.cpp: splitmix64 seeding, xoshiro256**, uniform
double = (next() >> 11)·2⁻⁵³), its weight row-major then its bias, each value
float32(−b + 2b·u) with b = 1/√in_features (core/init.cpp, scheme "pytorch"). BatchNorm starts at
weight 1, bias 0, running_mean 0, running_var 1. They are stored in full, PyTorch state_dict names
with nnlab's "layers." prefix; the test checks that nnlab builds exactly these bits from the seed,
and then loads them through load_model_tensors (core/state.hpp) so the rest does not depend on that.

Dropout masks
-------------
nnlab's Dropout draws its mask from its own stream, Rng(seed, stream_id("dropout", layer index)): one
uniform u per element in row-major order per training forward, keeping the element when u >= p, a kept
element multiplied by float32(1/(1 − p)) (layers/dropout.cpp). This script runs that same stream (the
Rng class below) and replaces nn.Dropout by a layer that multiplies by exactly those masks, so PyTorch
applies the masks nnlab will draw: forward k of a fresh model uses the k-th block of the stream. The
first mask is also stored ("dropout_keep", one character per element) so that the test can check the
stream on its own before checking what it does to the step.

Precision
---------
The reference is PyTorch's float64 autograd and optimizers run from the float32 inputs and weights,
rounded once to float32 when written: the exact answer for these inputs, not PyTorch's float32
kernels with their own rounding. The test compares nnlab's float32 run with it, element by element:
    |got − expected| <= atol + RTOL·|expected|
with atol = ATOL for logits and losses (values of order 1) and FINE_ATOL for gradients (at most 0.15
here, 3e-3 typical in the first layer), and for the state after the 5 steps as described below. The script also runs PyTorch's native float32 model
(same masks) and checks that it passes the test's rules against the stored values (else exit 1),
which shows they hold for an ordinary float32 implementation; it prints the worst error/allowance
per quantity.

The state after 5 steps: Adam amplifies rounding
-------------------------------------------------
Adam's update is lr·m̂/(√v̂ + eps). Where an element's gradients are tiny (|g| of 1e-10 happens among
200 000 weights), √v̂ is far below eps = 1e-8 and the update is lr·g/(|g| + eps): a rounding error δ
in g moves the weight by up to lr·δ/(√v̂ + eps), i.e. 1e5·δ. Float32 gradients carry absolute errors
of ~1e-10, so such weights legitimately differ by up to ~1e-4 between two float32 implementations,
and they shift the later steps' gradients of everything downstream a little. Hence:
  * "adam_noisy": the stored elements whose √v̂ (nonzero) fell below NOISY_SQRT_VHAT = 1e-5 at some
    step (~0.5% of them; there the factor above exceeds 100) are only checked to within STEPS·lr;
  * "torch_float32_error": per state tensor, PyTorch float32's own largest |float32 − float64| over
    all of the tensor's other elements; the test uses atol = max(FINE_ATOL, AFTER_ATOL_FACTOR · that)
    for the state after the steps, as tests/optim/test_reference.cpp allows twice PyTorch's own float32 error.
    For SGD it is below 2.5e-8 (BatchNorm's running_var: 2.4e-7); for the mlp's Adam run it is 6e-6
    (first layer), 1.8e-6 (last layer), 9e-7 (first bias).
ReLU's kink would be a worse amplifier (a sample on the other side of 0 changes a gradient by its
whole term), so the data seed is the first one from DATA_SEED for which every ReLU input z of every
run keeps |z| >= max(KINK_MARGIN, KINK_FACTOR·|z_float32 − z|) (checked; 1e-5 and 10).

Size: sampled big tensors
-------------------------
Every tensor is stored as base64 of its little-endian float32 bytes (exact, 5.3 characters a value).
Stored in full, the two 784-wide weight matrices' gradients and final weights alone would be 4 MB;
the file keeps every element of every other tensor, the inputs and all initial weights, and for the
tensors with more than SAMPLE_ABOVE elements every SAMPLE_STRIDE-th element in row-major order
("stride"): 784 = 87·9 + 1, so the sampled column moves by one from row to row and every row and
every column of those matrices is sampled.
"""
import argparse
import base64
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

BATCH, FEATURES, CLASSES = 32, 784, 10
STEPS = 5
DATA_SEED = 20240605
KINK_MARGIN, KINK_FACTOR = 1e-5, 10  # every ReLU input z: |z| >= max(1e-5, 10·|z_float32 − z|)
RTOL, ATOL = 1e-5, 1e-6   # the test's float32 rule (tests/core/run/test_step_reference.cpp) for logits and losses,
FINE_ATOL = 1e-7          # with this atol for gradients and the state after the steps (small values)
SAMPLE_ABOVE, SAMPLE_STRIDE = 20000, 9
NOISY_SQRT_VHAT = 1e-5    # Adam: elements whose √v̂ (nonzero) falls below this are noise-dominated
NOISY_STEPS_OF_LR = STEPS  # ... and are only checked to within STEPS·lr
AFTER_ATOL_FACTOR = 2      # state after the steps: atol = max(FINE_ATOL, 2·PyTorch float32's deviation)
ADAM = {"type": "adam", "lr": 1e-3}
BN_DROP = [{"type": "dense", "out_features": 64, "bias": False}, "batchnorm", "relu",
           {"type": "dropout", "p": 0.2}, {"type": "dense", "out_features": CLASSES}]

# ---- nnlab's random numbers (core/rng.cpp), exactly -------------------------------------------

M64 = (1 << 64) - 1


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    """xoshiro256** seeded by splitmix64, as nnlab::Rng."""

    def __init__(self, seed, stream):
        x = (seed ^ (stream * 0xD1B54A32D192ED03)) & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def stream_id(name, index=0):
        """FNV-1a of the name, xor index·golden ratio (Rng::stream_id)."""
        h = 0xCBF29CE484222325
        for c in name.encode():
            h = ((h ^ c) * 0x100000001B3) & M64
        return h ^ ((index * 0x9E3779B97F4A7C15) & M64)

    def next(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self):
        """[0, 1) with 53 bits: a Python float is the same IEEE double as nnlab's."""
        return (self.next() >> 11) * 2.0 ** -53


def dense_init(seed, index, out_features, in_features, bias):
    """nnlab's "pytorch" init of Dense layer `index`: W then b ~ U(−b, b), b = 1/√in, float32."""
    rng = Rng(seed, Rng.stream_id("init", index))
    bound = 1.0 / math.sqrt(in_features)
    lo, hi = -bound, bound

    def draw(n):
        return np.array([lo + (hi - lo) * rng.uniform() for _ in range(n)], dtype=np.float32)

    w = draw(out_features * in_features).reshape(out_features, in_features)
    return w, (draw(out_features) if bias else None)


def dropout_masks(seed, index, p, shape, count):
    """The masks (0 or float32(1/(1−p))) of the first `count` training forwards of nnlab's Dropout."""
    rng = Rng(seed, Rng.stream_id("dropout", index))
    scale = np.float32(1.0 / (1.0 - p))
    n = shape[0] * shape[1]
    return [np.array([scale if rng.uniform() >= p else 0.0 for _ in range(n)], dtype=np.float32).reshape(shape)
            for _ in range(count)]


# ---- the models in PyTorch ----------------------------------------------------------------------

class FixedMaskDropout(torch.nn.Module):
    """Dropout whose k-th training forward multiplies by masks[k] (nnlab's k-th mask)."""

    def __init__(self, masks):
        super().__init__()
        self.masks = masks
        self.calls = 0

    def forward(self, x):
        m = torch.tensor(self.masks[self.calls], dtype=x.dtype)
        self.calls += 1
        return x * m


def spec_type(spec):
    return spec if isinstance(spec, str) else spec["type"]


def describe(layers, seed):
    """Walk nnlab layer specs: per layer (type, spec, in width, out width), the initial state
    (nnlab names -> float32 arrays) and the dropout masks."""
    width, plan, init, masks = FEATURES, [], {}, {}
    for i, spec in enumerate(layers):
        t = spec_type(spec)
        out = width
        if t == "dense":
            out = spec["out_features"]
            w, b = dense_init(seed, i, out, width, spec.get("bias", True))
            init[f"layers.{i}.weight"] = w
            if b is not None:
                init[f"layers.{i}.bias"] = b
        elif t == "batchnorm":
            init[f"layers.{i}.weight"] = np.ones(width, np.float32)
            init[f"layers.{i}.bias"] = np.zeros(width, np.float32)
            init[f"layers.{i}.running_mean"] = np.zeros(width, np.float32)
            init[f"layers.{i}.running_var"] = np.ones(width, np.float32)
            init[f"layers.{i}.num_batches_tracked"] = np.zeros((), np.float32)
        elif t == "dropout":
            masks[i] = dropout_masks(seed, i, spec["p"], (BATCH, width), STEPS)
        elif t != "relu":
            raise ValueError(f"layer type {t!r} not supported by this script")
        plan.append((t, spec, width, out))
        width = out
    return plan, init, masks


def torch_model(plan, init, masks, dtype):
    mods = []
    for i, (t, spec, inp, out) in enumerate(plan):
        if t == "dense":
            mods.append(torch.nn.Linear(inp, out, bias=spec.get("bias", True)))
        elif t == "batchnorm":
            mods.append(torch.nn.BatchNorm1d(inp))  # eps 1e-5, momentum 0.1: nnlab's defaults
        elif t == "relu":
            mods.append(torch.nn.ReLU())
        elif t == "dropout":
            mods.append(FixedMaskDropout(masks[i]))
    model = torch.nn.Sequential(*mods).to(dtype)
    state = {k: torch.tensor(v) for k, v in torch_names(init).items()}
    state = {k: v.long() if k.endswith("num_batches_tracked") else v.to(dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=True)
    return model


def torch_names(d):
    return {k[len("layers."):]: v for k, v in d.items()}


def nnlab_names(d):
    return {"layers." + k: v for k, v in d.items()}


def as64(t):
    return t.detach().to(torch.float64).numpy().copy()


def run(plan, init, masks, dtype, x, y, opt_spec):
    """The first forward/backward, then STEPS optimizer steps on a fresh model. Returns float64 arrays,
    plus what the checks need (ReLU inputs, Adam's denominators, per-step gradients)."""
    model = torch_model(plan, init, masks, dtype)
    model.train()
    relu_inputs = []
    for m in model:
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: relu_inputs.append(as64(inp[0])))
    kw = {k: v for k, v in opt_spec.items() if k != "type"}
    opt = (torch.optim.SGD if opt_spec["type"] == "sgd" else torch.optim.Adam)(model.parameters(), **kw)
    named = list(model.named_parameters())
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=torch.long)
    out = {"losses": [], "grads_per_step": [], "min_sqrt_vhat": {n: np.inf for n, _ in named}}
    for k in range(STEPS):
        opt.zero_grad()
        z = model(xt)
        loss = torch.nn.functional.cross_entropy(z, yt)
        loss.backward()
        out["losses"].append(float(loss))
        out["grads_per_step"].append({"layers." + n: as64(p.grad) for n, p in named})
        if k == 0:
            out["logits"] = as64(z)
            out["loss"] = float(loss)
            out["grads"] = out["grads_per_step"][0]
        opt.step()
        if opt_spec["type"] == "adam":  # the smallest nonzero √v̂_k of every element (PyTorch's)
            for n, p in named:
                st = opt.state[p]
                s = as64(st["exp_avg_sq"]) ** 0.5 / math.sqrt(1 - 0.999 ** float(st["step"]))
                out["min_sqrt_vhat"][n] = np.minimum(out["min_sqrt_vhat"][n], np.where(s > 0, s, np.inf))
    out["after"] = {"layers." + k: as64(v) for k, v in model.state_dict().items()}
    out["relu_inputs"] = relu_inputs
    out["min_sqrt_vhat"] = {"layers." + n: v for n, v in out["min_sqrt_vhat"].items()}
    return out


# ---- output -------------------------------------------------------------------------------------

def tensor(a, sample=True):
    """{"shape", "f32": base64 little-endian float32}; big tensors keep every SAMPLE_STRIDE-th element."""
    a = np.asarray(a)
    flat = a.astype("<f4").ravel()
    d = {"shape": list(a.shape)}
    if sample and flat.size > SAMPLE_ABOVE:
        d["stride"] = SAMPLE_STRIDE
        flat = flat[::SAMPLE_STRIDE]
    d["f32"] = base64.b64encode(flat.tobytes()).decode("ascii")
    return d


def f32(v):
    return float(np.float32(v))


def sampled(a):
    flat = np.asarray(a, dtype=np.float64).ravel()
    return flat[::SAMPLE_STRIDE] if flat.size > SAMPLE_ABOVE else flat


def worst(got, ref, atol=ATOL, noisy=None, lr=0.0):
    """Largest |got − float32(ref)| / allowance on the stored elements (atol, noisy: see the header)."""
    got, ref = sampled(got), sampled(np.float32(ref))
    allowed = atol + RTOL * np.abs(ref)
    if noisy:
        allowed[noisy] = NOISY_STEPS_OF_LR * lr
    return float((np.abs(got - ref) / allowed).max())


def noisy_mask(r64, name):
    """Adam: the elements whose √v̂ came below NOISY_SQRT_VHAT (and above 0) at some step."""
    m = r64["min_sqrt_vhat"].get(name)
    return np.zeros(np.shape(r64["after"][name]), bool) if m is None else m < NOISY_SQRT_VHAT


def after_tolerances(r64, r32):
    """Per state tensor: the stored elements that are noise-dominated, and PyTorch float32's largest
    |float32 − float64| over all other elements of the tensor (the whole tensor, not only the stored
    sample)."""
    noisy, error = {}, {}
    for name, v in r64["after"].items():
        mask = noisy_mask(r64, name)
        idx = np.nonzero(sampled(mask))[0]
        if idx.size:
            noisy[name] = [int(i) for i in idx]
        dev = np.abs(r32["after"][name] - np.float32(v).astype(np.float64))
        error[name] = float(dev[~mask].max(initial=0.0))
    return noisy, error


def kink_margin(r64, r32):
    """min over every ReLU input z of |z| / max(KINK_MARGIN, KINK_FACTOR·|z_float32 − z|): >= 1 when no
    input comes near the kink, measured against PyTorch's own float32 deviation."""
    return min(float((np.abs(a) / np.maximum(KINK_MARGIN, KINK_FACTOR * np.abs(b - a))).min())
               for a, b in zip(r64["relu_inputs"], r32["relu_inputs"]))


def model_section(name, layers, seed, optimizers, source, r64s, r32s):
    plan, init, masks = describe(layers, seed)
    sec = {"name": name, "source": source, "seed": seed, "layers": layers,
           "init": {k: tensor(v, sample=False) for k, v in init.items()}}
    report, runs = [], []
    for opt, r64, r32 in zip(optimizers, r64s, r32s):
        if not runs:  # the first forward/backward is the same for every optimizer
            sec["logits"] = tensor(r64["logits"])
            sec["loss"] = f32(r64["loss"])
            sec["grads"] = {k: tensor(v) for k, v in r64["grads"].items()}
            report.append((worst(r32["logits"], r64["logits"]), f"{name} logits"))
            report.append((abs(r32["loss"] - f32(r64["loss"])) / (ATOL + RTOL * abs(r64["loss"])), f"{name} loss"))
            for k, v in r64["grads"].items():
                report.append((worst(r32["grads"][k], v, FINE_ATOL), f"{name} grad {k}"))
        entry = {"optimizer": opt, "steps": STEPS, "losses": [f32(v) for v in r64["losses"]],
                 "after": {k: tensor(v) for k, v in r64["after"].items()}}
        report.append((max(abs(a - f32(b)) / (ATOL + RTOL * abs(b)) for a, b in zip(r32["losses"], r64["losses"])),
                       f"{name} {opt['type']} losses"))
        noisy, error = after_tolerances(r64, r32)
        entry["torch_float32_error"] = error
        if noisy:
            entry["adam_noisy"] = noisy
            print(f"{name} adam: {sum(len(v) for v in noisy.values())} stored elements are noise-dominated "
                  f"(√v̂ < {NOISY_SQRT_VHAT:g} at some step): " + ", ".join(f"{k} {len(v)}" for k, v in noisy.items()))
        for k, v in r64["after"].items():
            atol = max(FINE_ATOL, AFTER_ATOL_FACTOR * error[k])
            report.append((worst(r32["after"][k], v, atol, noisy.get(k), opt["lr"]),
                           f"{name} {opt['type']} after {k} (atol {atol:.2g})"))
        runs.append(entry)
    sec["runs"] = runs
    for i, m in masks.items():
        sec["dropout_keep"] = {"layer": i, "shape": list(m[0].shape),
                               "bits": "".join("1" if v != 0 else "0" for v in m[0].ravel())}
    return sec, report


def make_batch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, FEATURES)).astype(np.float32)
    y = rng.permutation(np.arange(BATCH) % CLASSES).astype(np.int64)
    return x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..")
    ap.add_argument("-o", "--output", default=os.path.join(root, "tests", "data", "step_reference.json"))
    args = ap.parse_args()

    with open(os.path.join(root, "configs", "fashion_mlp.json")) as f:
        cfg = json.load(f)
    m = cfg["model"]
    assert m["input"] == FEATURES and m["classes"] == CLASSES and m["activation"] == "relu"
    assert m.get("dropout", 0) == 0 and m.get("init", "pytorch") == "pytorch"
    mlp = []
    for h in m["hidden"]:
        mlp += [{"type": "dense", "out_features": h}, "relu"]
    mlp.append({"type": "dense", "out_features": CLASSES})
    sgd = dict(cfg["optimizer"])
    assert sgd["type"] == "sgd" and set(sgd) <= {"type", "lr", "momentum"}
    seed = cfg["train"]["seed"]
    optimizers = [sgd, ADAM]
    models = [("mlp", mlp, "configs/fashion_mlp.json"), ("bn_drop", BN_DROP, "tools/torch_step_reference.py")]
    described = [describe(layers, seed) for _, layers, _ in models]

    # The data: the first seed from DATA_SEED for which every ReLU input of every run stays clear of the
    # kink (kink_margin); the reference (float64) and PyTorch's float32 run are kept for the sections.
    data_seed = DATA_SEED
    while True:
        x, y = make_batch(data_seed)
        runs = {dt: [[run(plan, init, masks, dt, x, y, opt) for opt in optimizers] for plan, init, masks in described]
                for dt in (torch.float64, torch.float32)}
        margin = min(kink_margin(a, b) for ra, rb in zip(runs[torch.float64], runs[torch.float32])
                     for a, b in zip(ra, rb))
        if margin >= 1:
            break
        print(f"data seed {data_seed}: a ReLU input comes near the kink (margin {margin:.2g} < 1); trying the next seed")
        data_seed += 1
    smallest = min(float(np.abs(z).min()) for rs in runs[torch.float64] for r in rs for z in r["relu_inputs"])

    sections, report = [], []
    for (name, layers, source), r64s, r32s in zip(models, runs[torch.float64], runs[torch.float32]):
        sec, rep = model_section(name, layers, seed, optimizers, source, r64s, r32s)
        sections.append(sec)
        report += rep
    doc = {
        "generator": "tools/torch_step_reference.py",
        "torch": torch.__version__,
        "data_seed": data_seed,
        "smallest_relu_input": smallest,
        "rtol": RTOL, "atol": ATOL, "fine_atol": FINE_ATOL, "adam_noisy_sqrt_vhat": NOISY_SQRT_VHAT,
        "adam_noisy_allowance_lr": NOISY_STEPS_OF_LR, "after_atol_factor": AFTER_ATOL_FACTOR,
        "x": tensor(x, sample=False),
        "labels": [int(v) for v in y],
        "models": sections,
    }
    with open(args.output, "w") as f:
        f.write("{\n" + ",\n".join(json.dumps(k) + ": " + json.dumps(v, separators=(",", ":"))
                                   for k, v in doc.items()) + "\n}\n")
    print(f"wrote {os.path.normpath(args.output)} ({os.path.getsize(args.output)} bytes), data seed {data_seed}, "
          f"smallest |ReLU input| {smallest:.3g}")
    bad = False
    for q, what in report:
        print(f"torch native float32 vs stored reference, {what:45s} worst error/allowed = {q:.3g}")
        bad |= not q <= 1.0
    if bad:
        print("native float32 outside the float32 allowance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
