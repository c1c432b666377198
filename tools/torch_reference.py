#!/usr/bin/python3
"""PyTorch reference values for every nnlab activation: writes tests/data/activations_reference.json.

How to run (from anywhere; the Debian interpreter has python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 tools/torch_reference.py            # rewrites tests/data/activations_reference.json
    /usr/bin/python3 tools/torch_reference.py -o FILE    # writes FILE instead
    /usr/bin/python3 tools/torch_reference.py --nnlab PATH   # the nnlab binary to ask (default build/nnlab)

What to check comes from nnlab itself: `nnlab list activations --json --width 8` lists every
registered activation with its parameters, its PyTorch expression and the variants to check
(LayerEntry::reference in core/registry.hpp, declared in each activations/<name>.cpp), each built to
report its resolved parameters, learnable tensors and kinks. So adding an activation means declaring
its reference in its own file and re-running this script; nothing here names an activation except
the few places where PyTorch 1.13 itself deviates (below).

The output is deterministic (fixed seeds, Python's own Mersenne Twister, no threads involved), so a
re-run on the same PyTorch gives a byte-identical file. tests/activations/test_reference.cpp reads it.

What it writes
--------------
One JSON object {"generator", "torch", "entries": [...]}; each entry is one activation with one
parameter setting in one precision:

  name, params        the config passed to make_layer<T>(name, cols, params) ({} = nnlab's defaults)
  dtype               "float32" or "float64"
  rows, cols          shape of x (batch-major: rows = samples, cols = features)
  x, dy               input and upstream gradient dL/dy, row-major, exactly representable in dtype
  y, dx               PyTorch's forward output and autograd input gradient dL/dx
  param_values        learnable parameters by nnlab's name ("weight", "beta", "mu"), flat, to be
                      written into the layer before forward; param_shapes their logical shapes
  param_values_are_init  true when these values are what the layer must initialise itself to
  param_grads         PyTorch's dL/dθ (a sum over every element sharing θ)
  param_grad_scales   Σ|dy_i ∂f/∂θ(x_i)| over those elements: the size of the terms of that sum, so a
                      comparison can allow for the rounding of the summation (rtol · scale)
  rtol, atol          present only where an entry's tolerance differs from the test's defaults
                      (float64 rtol 1e-10 atol 1e-12; float32 rtol 1e-5 atol 1e-6): looser for
                      hardsigmoid float64, tighter (atol 1e-30) for squareplus,
                      smu and smu1, whose telling values are far below the default atol
  note                what was overridden or why the tolerance differs

Inputs: every x holds the kink points exactly (0, ±0.5, ±1, ±3, 6 and the setting's own kinks as
the layer reports them: ±λ, threshold/β, hardtanh bounds), edge points (±1e-4, ±20, ±100), the
points the variant declares (e.g. |x| ~ 1e-6 for SMU at μ = 1e6), and random values in [-5, 5],
shuffled over a 6 x 8 matrix (so kinks land in different rows, which matters for softmax, and in different columns,
which matters for per-column PReLU slopes).

How the values are computed
---------------------------
* float64 entries: PyTorch autograd in float64.
* float32 entries: x, dy, the learnable parameters and the numeric config values are first rounded
  to float32 (the values a float32 layer actually holds); PyTorch then evaluates in float64 on those
  exact values and the results are rounded once to float32. The stored reference is therefore the
  correctly rounded answer, not PyTorch's float32 kernel with its own rounding errors; the script also
  runs PyTorch's native float32 kernels and reports how far they are from the stored values; they
  must agree within each entry's float32 tolerance (else the script exits 1), which shows the
  tolerance is not tighter than PyTorch itself manages.
* The function is the activation's declared torch expression (its registration's reference.torch),
  evaluated with its parameters by name. Functions PyTorch lacks are declared in torch ops in their
  stable forms and differentiated by autograd: swish-β x·σ(βx); squareplus with r = hypot(x, √b),
  ½(x + r) for x ≥ 0 and b/(2(r − x)) for x < 0; SMU ½[(1+α)x + (1−α)x·erf(μ(1−α)x)]; SMU-1
  ½[(1+α)x + hypot((1−α)x, μ)].

Where PyTorch 1.13 is not the convention nnlab follows (explicit overrides)
-------------------------------------------------------------------------
* hardswish at x = ±3: 1.13 returns −0.5 / 1.5 (and, in float32 at +3, 1.0 or 1.5 depending on the
  tensor size). nnlab follows PyTorch >= 2.7 (PR #148049): f'(−3) = 0, f'(+3) = 1. dx is overwritten
  at exactly those points and the entry's note says so.
* ELU, SELU, CELU: 1.13 evaluates exp(x) − 1 rather than expm1(x); the float64 relative error is
  ~1e-12 at |x| = 1e-4, within the default tolerance, so nothing is overridden.
* hardsigmoid float64 backward: 1.13 multiplies by float32(1/6) = 0.1666666716337204 even in float64,
  so the float64 entries carry rtol 1e-7 (documented in the entry).
* GELU (exact) uses ½x(1 + erf(x/√2)), which cancels for x < −5; the absolute error is < 1e-15, under
  the default atol 1e-12.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

ROWS, COLS = 6, 8
F32_TOL = (1e-5, 1e-6)  # (rtol, atol): the test's float32 defaults, for the native-float32 self-check

BASE_POINTS = [0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, 1e-4, -1e-4, 20.0, -20.0, 100.0, -100.0]


# ---- the settings, from nnlab ---------------------------------------------------------------------
def registry(nnlab):
    """nnlab's activations with their declared references, each variant built at width COLS."""
    out = subprocess.run([nnlab, "list", "activations", "--json", "--width", str(COLS)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["activations"]


def settings(activations):
    """One setting per declared reference variant: (name, expression, params as written, resolved
    config, learnable {name: shape}, initial values, given values or None, extra points, atol)."""
    out = []
    for a in activations:
        ref = a.get("reference")
        if not ref:
            sys.exit("nnlab activation %s declares no PyTorch reference (LayerEntry::reference)" % a["name"])
        for v in ref["variants"]:
            learnable = {k: t["shape"] for k, t in v["learnable"].items()}
            init = {k: t["init"] for k, t in v["learnable"].items()}
            extra = list(v["points"]) + [k for k in v["kinks"] if k not in v["points"]]
            out.append((a["name"], ref["torch"], v["params"], v["resolved"], learnable, init, v.get("values"), extra,
                        ref["atol"]))
    return out


# ---- the functions, in torch ops ------------------------------------------------------------------
# The declared expression of x (a (rows, cols) tensor), torch, F and the parameters by name: the
# config's values, with learnable ones replaced by tensors. Learnable tensors may be the parameter
# itself (shape (n,)) or a per-element copy of shape (rows, cols) (used to split a parameter gradient
# into its per-element terms): the expressions broadcast either way.
def evaluate(expr, x, cfg, P):
    scope = {"torch": torch, "F": F, "x": x}
    scope.update(cfg)
    scope.update(P)
    return eval(expr, {"__builtins__": {}}, scope)


def run(name, expr, cfg, x, dy, pvals, dtype):
    """Forward + autograd backward in `dtype`. Returns y, dx, {param: grad}, note."""
    xt = torch.tensor(x, dtype=dtype).reshape(ROWS, COLS).requires_grad_(True)
    gt = torch.tensor(dy, dtype=dtype).reshape(ROWS, COLS)
    P = {k: torch.tensor(v, dtype=dtype).requires_grad_(True) for k, v in pvals.items()}
    y = evaluate(expr, xt, cfg, P)
    y.backward(gt)
    dx = xt.grad.detach().clone()
    note = None
    if name == "hardswish":
        # Override: PyTorch >= 2.7 convention at the kinks (1.13 gives -0.5 / 1.5 here).
        xd = xt.detach()
        dx = torch.where(xd == -3, torch.zeros_like(dx), dx)
        dx = torch.where(xd == 3, gt, dx)
        note = ("dx at x = -3 and x = +3 overridden to PyTorch >= 2.7's f'(-3) = 0, f'(3) = 1 "
                "(torch 1.13 gives -0.5 / 1.5)")
    grads = {k: p.grad.detach().reshape(-1).tolist() for k, p in P.items()}
    return y.detach().reshape(-1).tolist(), dx.reshape(-1).tolist(), grads, note


def grad_scales(expr, cfg, x, dy, pvals, shapes):
    """Σ|dy_i ∂f/∂θ(x_i)| per parameter element, from a per-element copy of each parameter."""
    out = {}
    for k, v in pvals.items():
        xt = torch.tensor(x, dtype=torch.float64).reshape(ROWS, COLS)
        gt = torch.tensor(dy, dtype=torch.float64).reshape(ROWS, COLS)
        P = {}
        for k2, v2 in pvals.items():
            t = torch.tensor(v2, dtype=torch.float64)
            P[k2] = t.expand(ROWS, COLS).clone().requires_grad_(k2 == k)
        evaluate(expr, xt, cfg, P).backward(gt)
        terms = P[k].grad.abs()
        out[k] = terms.sum(0).tolist() if shapes[k][0] == COLS and COLS > 1 else [terms.sum().item()]
        assert len(out[k]) == len(v), (expr, k)
    return out


# ---- number formatting ----------------------------------------------------------------------------
def f32(v):
    return float(np.float32(v))


def fmt(v, dtype):
    """Shortest decimal that reads back (as a correctly rounded double, then cast) to exactly v."""
    assert math.isfinite(v), v
    if dtype == "float64":
        s = repr(float(v))
    else:
        for d in range(6, 10):
            s = "%.*g" % (d, v)
            if f32(float(s)) == v:
                break
        else:
            s = repr(float(v))
        assert f32(float(s)) == v
    if not any(c in s for c in ".en"):
        s += ".0"  # keep -0.0 a float in JSON readers that parse "-0" as the integer 0
    return s


def dump(doc, dtype_of):
    """JSON with one entry per block and numbers formatted per the entry's dtype."""
    def val(v, dtype):
        if isinstance(v, bool): return "true" if v else "false"
        if isinstance(v, int): return str(v)
        if isinstance(v, float): return fmt(v, dtype)
        if isinstance(v, str): return json.dumps(v)
        if isinstance(v, list): return "[" + ",".join(val(e, dtype) for e in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(json.dumps(k) + ": " + val(e, dtype) for k, e in v.items()) + "}"
        raise TypeError(v)
    lines = ["{"]
    for k in ("generator", "torch", "comment"):
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(doc[k])))
    lines.append('  "entries": [')
    blocks = []
    for e in doc["entries"]:
        dt = dtype_of(e)
        fields = []
        for k, v in e.items():
            # params and tolerances are exact decimal settings: write them as float64 numbers
            fields.append("    %s: %s" % (json.dumps(k), val(v, "float64" if k in ("params", "rtol", "atol", "param_grad_scales") else dt)))
        blocks.append("   {\n" + ",\n".join(fields) + "\n   }")
    lines.append(",\n".join(blocks))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- main -----------------------------------------------------------------------------------------
def within(got, ref, rtol, atol, scale=None):
    worst = 0.0
    for i, (g, r) in enumerate(zip(got, ref)):
        s = abs(r) if scale is None else max(abs(r), scale[i])
        worst = max(worst, abs(g - r) / (atol + rtol * s))
    return worst  # <= 1 means within tolerance


def make_entry(index, setting, dtype):
    name, expr, params, cfg, shapes, init, given, extra, declared_atol = setting
    rng = random.Random(1000 + index)  # same points for both dtypes of a setting
    cfg = dict(cfg)
    pts = BASE_POINTS + [v for v in extra if v not in BASE_POINTS]
    n = ROWS * COLS
    assert len(pts) <= n - 16, (name, len(pts))
    x = pts + [rng.uniform(-5.0, 5.0) for _ in range(n - len(pts))]
    rng.shuffle(x)
    dy = [rng.uniform(-2.0, 2.0) for _ in range(n)]
    pvals = {k: list(given[k]) if given and k in given else init[k] for k in shapes}
    are_init = all(pvals[k] == init[k] for k in shapes)

    if dtype == "float32":
        x = [f32(v) for v in x]
        dy = [f32(v) for v in dy]
        pvals = {k: [f32(v) for v in vs] for k, vs in pvals.items()}
        cfg = {k: (f32(v) if isinstance(v, float) else v) for k, v in cfg.items()}
    y, dx, grads, note = run(name, expr, cfg, x, dy, pvals, torch.float64)
    scales = grad_scales(expr, cfg, x, dy, pvals, shapes)
    if dtype == "float32":
        y, dx = [f32(v) for v in y], [f32(v) for v in dx]
        grads = {k: [f32(v) for v in vs] for k, vs in grads.items()}

    e = {"name": name, "params": params, "dtype": dtype, "rows": ROWS, "cols": COLS,
         "x": x, "dy": dy, "y": y, "dx": dx}
    if shapes:
        e["param_values"] = pvals
        e["param_shapes"] = shapes
        e["param_values_are_init"] = are_init
        e["param_grads"] = grads
        e["param_grad_scales"] = scales
    notes = [note] if note else []
    if name == "hardsigmoid" and dtype == "float64":
        e["rtol"] = 1e-7
        notes.append("torch 1.13's float64 hardsigmoid backward multiplies by float32(1/6) = "
                     "0.1666666716337204, a relative error of 3e-8")
    if declared_atol:
        # Declared by the activation (e.g. squareplus, SMU, SMU-1: tighter, not looser): their stable
        # forms have no cancellation, and the points that matter (|x| ~ 1e-6 for SMU at mu = 1e6, 1e-8
        # for SMU-1 at its init, x = -1e4 for squareplus b = 0.2) have |y| or |f'| far below the
        # default atol, which would make those comparisons vacuous.
        e["atol"] = declared_atol
        notes.append("atol %g: every value, however small, is compared to rtol (stable forms, no cancellation)"
                     % declared_atol)
    if notes:
        e["note"] = "; ".join(notes)

    # Self-check: PyTorch's native float32 kernels agree with the stored float32 values within the
    # float32 test tolerance (so that tolerance is achievable by a float32 implementation).
    native = None
    if dtype == "float32":
        ny, ndx, ng, _ = run(name, expr, cfg, x, dy, pvals, torch.float32)
        rt, at = e.get("rtol", F32_TOL[0]), e.get("atol", F32_TOL[1])
        native = max([within(ny, y, rt, at), within(ndx, dx, rt, at)] +
                     # parameters: no absolute floor, as in the test (the scale covers the sum)
                     [within(ng[k], grads[k], rt, float(np.finfo(np.float32).tiny), scales[k]) for k in ng])
    return e, native


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "tests", "data", "activations_reference.json"))
    ap.add_argument("--nnlab", default=os.path.join(here, "..", "build", "nnlab"), help="the nnlab binary to ask")
    args = ap.parse_args()

    entries, report = [], []
    for i, setting in enumerate(settings(registry(args.nnlab))):
        for dtype in ("float64", "float32"):
            e, native = make_entry(i, setting, dtype)
            entries.append(e)
            if native is not None:
                report.append((native, setting[0], setting[2]))
    doc = {
        "generator": "tools/torch_reference.py (run with /usr/bin/python3; see its header)",
        "torch": torch.__version__,
        "comment": "PyTorch autograd reference for every nnlab activation; float32 entries are "
                   "float64 results on float32 inputs rounded once to float32.",
        "entries": entries,
    }
    text = dump(doc, lambda e: e["dtype"])
    json.loads(text)  # well-formed
    with open(args.output, "w") as fh:
        fh.write(text)

    names = sorted({e["name"] for e in entries})
    shown = os.path.relpath(args.output)  # relative to the current folder when inside it
    if shown.startswith(".."):
        shown = os.path.normpath(args.output)
    print("wrote %s: %d entries, %d activations, %d settings, %d bytes" %
          (shown, len(entries), len(names), len(entries) // 2, len(text)))
    worst = max(report)
    print("torch native float32 vs stored float32 reference: worst error/allowed = %.3g (%s %s)" %
          (worst[0], worst[1], json.dumps(worst[2])))
    bad = [r for r in report if r[0] > 1]
    for r in bad:
        print("  native float32 outside tolerance: %s %s ratio %.3g" % (r[1], json.dumps(r[2]), r[0]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
