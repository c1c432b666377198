#!/usr/bin/python3
"""PyTorch reference trajectories for nnlab's optimizers, lr schedules and gradient clipping:
writes tests/data/optim_reference.json.

How to run (the Debian interpreter has python3-torch 1.13 and python3-numpy):

    /usr/bin/python3 tools/torch_optim_reference.py            # rewrites tests/data/optim_reference.json
    /usr/bin/python3 tools/torch_optim_reference.py -o FILE    # writes FILE instead

The output is deterministic (Python's own Mersenne Twister for the problem, one thread), so a re-run
on the same PyTorch and CPU gives the same file. tests/optim/test_reference.cpp replays it.

The problem
-----------
A 2-3-1 network, y = W2·tanh(W1·x + b1) + b2, with fixed float32 initial weights, a fixed batch of
8 inputs and targets, and the mean squared error. Its parameters carry nnlab's names and shapes
(layers.0.weight [3,2], layers.0.bias [3], layers.2.weight [1,3], layers.2.bias [1]); the biases sit
in a PyTorch parameter group with weight_decay 0, which is what nnlab's Param::weight_decay = false
means (so every weight-decay case also checks that flag).

Each case runs 20 steps of one torch.optim optimizer, optionally with an lr_scheduler (ticked once
after every optimizer step) and torch.nn.utils.clip_grad_norm_ (between backward and step). The case
is written as nnlab configs ("optimizer", "schedule", "clip_max_norm"); torch_optimizer() and
torch_schedule() translate them, so the same settings drive both sides. Keys a config leaves out
take each side's own defaults, which "defaults" (read from the torch signatures) lets the test
compare with nnlab's registries.

What a case records, per step k = 0..19
----------------------------------------
  lr[k]        the learning rate the optimizer used at step k (a double, exact)
  grads[k]     the gradient PyTorch's backward produced at step k, all parameters flattened in the
               order of "params" (row-major), float32 values written exactly
  norms[k], clipped[k]   (clip cases) clip_grad_norm_'s returned norm and the clipped gradient
  values[k]    the parameters after step k, float32, exact
  metrics[k]   (reduce_on_plateau cases) the metric fed to scheduler.step(metrics[k]) after step k

The C++ test feeds grads[k] itself instead of computing them, so it tests the update rule and not
the model: a deviation in one step cannot change the next step's gradient.

PyTorch's own float32 error
---------------------------
Every case is also run in float64 from the same float32 initial values, fed the same (float32)
gradients. "torch_float32_error" is the largest |float32 − float64| over all steps and parameters
(absolute, and relative to max(|value|, 1e-3)): how far PyTorch's float32 implementation is from the
exact rule. nnlab's float32 result and PyTorch's can each be that far from the float64 one, so the
test's tolerance must be at least about twice this; the script prints it per case.

What PyTorch 1.13 cannot serve as a reference for (tested in tests/optim/schedules/test_schedules.cpp by their definition)
-----------------------------------------------------------------------------------------------------------------------
* Warmup from start_factor 0: 1.13's chainable LinearLR divides by zero at its first step
  (ZeroDivisionError); nnlab evaluates LinearLR's closed form, which is fine at 0.
* Warmup before reduce_on_plateau: SequentialLR cannot chain ReduceLROnPlateau.
* Cosine with T_max 0 ("the rest of the run"): an nnlab convenience; PyTorch needs T_max.
"""

import argparse
import inspect
import json
import math
import os
import random
import sys
import warnings

import numpy as np
import torch

STEPS = 20
IN, HID, OUT, BATCH = 2, 3, 1, 8
SEED = 20240605

PARAMS = [  # nnlab name, shape, weight decay applies
    ("layers.0.weight", [HID, IN], True),
    ("layers.0.bias", [HID], False),
    ("layers.2.weight", [OUT, HID], True),
    ("layers.2.bias", [OUT], False),
]


def f32(x):
    """A float32 value as the Python float whose shortest repr reads back as exactly that float32."""
    return float(str(np.float32(x)))


def make_problem():
    rng = random.Random(SEED)
    def u(n, a):
        return [f32(rng.uniform(-a, a)) for _ in range(n)]
    init = {
        "layers.0.weight": u(HID * IN, 0.8),
        "layers.0.bias": u(HID, 0.3),
        "layers.2.weight": u(OUT * HID, 0.8),
        "layers.2.bias": u(OUT, 0.3),
    }
    x = u(BATCH * IN, 2.0)
    y = u(BATCH * OUT, 1.0)
    return init, x, y


# ---- nnlab config -> torch ------------------------------------------------------------------

def torch_optimizer(cfg, groups):
    kw = {k: v for k, v in cfg.items() if k != "type"}
    t = cfg["type"]
    if t in ("adam", "adamw") and ("beta1" in kw or "beta2" in kw):
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    if t == "sgd":
        kw.setdefault("lr", 0.01)  # torch.optim.SGD has no default lr; nnlab's is 0.01
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[t]
    # The bias group: weight decay off (nnlab Param::weight_decay = false). Every other setting is
    # the optimizer's, so the group's weight_decay is the only difference.
    return cls([{"params": groups[0]}, {"params": groups[1], "weight_decay": 0.0}], **kw)


def torch_schedule(cfg, opt):
    """The torch scheduler for an nnlab schedule config, or None for a constant lr."""
    if cfg is None:
        return None
    S = torch.optim.lr_scheduler
    kw = {k: v for k, v in cfg.items() if k not in ("type", "interval", "warmup", "metric")}
    t = cfg["type"]
    if t == "constant":
        main = None
    elif t == "step":
        main = S.StepLR(opt, **kw)
    elif t == "multi_step":
        main = S.MultiStepLR(opt, **kw)
    elif t == "exponential":
        main = S.ExponentialLR(opt, **kw)
    elif t == "cosine":
        main = S.CosineAnnealingLR(opt, **kw)
    elif t == "reduce_on_plateau":
        assert "warmup" not in cfg  # PyTorch cannot chain ReduceLROnPlateau
        return S.ReduceLROnPlateau(opt, **kw)
    else:
        raise ValueError(t)
    if "warmup" not in cfg:
        return main
    w = cfg["warmup"]
    warm = S.LinearLR(opt, start_factor=w.get("start_factor", 1.0 / 3.0), end_factor=1.0,
                      total_iters=w.get("total_iters", 5))
    if main is None:
        return warm  # LinearLR keeps the lr at base after total_iters
    return S.SequentialLR(opt, [warm, main], milestones=[w.get("total_iters", 5)])


# ---- one run --------------------------------------------------------------------------------

def run(case, problem, dtype, feed_grads=None):
    init, xs, ys = problem
    params = [torch.tensor(init[n], dtype=dtype).reshape(s).requires_grad_() for n, s, _ in PARAMS]
    decay = [p for p, (_, _, d) in zip(params, PARAMS) if d]
    no_decay = [p for p, (_, _, d) in zip(params, PARAMS) if not d]
    opt = torch_optimizer(case["optimizer"], (decay, no_decay))
    sched = torch_schedule(case.get("schedule"), opt)
    x = torch.tensor(xs, dtype=dtype).reshape(BATCH, IN)
    y = torch.tensor(ys, dtype=dtype).reshape(BATCH, OUT)
    out = {"lr": [], "grads": [], "values": [], "norms": [], "clipped": []}
    for k in range(STEPS):
        lrs = {g["lr"] for g in opt.param_groups}
        assert len(lrs) == 1
        out["lr"].append(lrs.pop())
        opt.zero_grad()
        if feed_grads is None:
            w1, b1, w2, b2 = params
            loss = ((torch.tanh(x @ w1.T + b1) @ w2.T + b2 - y) ** 2).mean()
            loss.backward()
        else:
            flat = feed_grads[k]
            i = 0
            for p in params:
                p.grad = torch.tensor(flat[i:i + p.numel()], dtype=dtype).reshape(p.shape)
                i += p.numel()
        out["grads"].append([float(v) for p in params for v in p.grad.reshape(-1).tolist()])
        if "clip_max_norm" in case:
            norm = torch.nn.utils.clip_grad_norm_(params, case["clip_max_norm"])
            out["norms"].append(float(norm))
            out["clipped"].append([float(v) for p in params for v in p.grad.reshape(-1).tolist()])
        opt.step()
        out["values"].append([float(v) for p in params for v in p.detach().reshape(-1).tolist()])
        if sched is not None:
            if "metrics" in case:
                sched.step(case["metrics"][k])
            else:
                sched.step()
    return out


# ---- the cases ------------------------------------------------------------------------------

SGD_M = {"type": "sgd", "lr": 0.1, "momentum": 0.9}

CASES = [
    # optimizers
    {"name": "sgd_default", "optimizer": {"type": "sgd"}},
    {"name": "sgd_plain", "optimizer": {"type": "sgd", "lr": 0.3}},
    {"name": "sgd_momentum_dampening", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.2}},
    {"name": "sgd_nesterov", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}},
    {"name": "sgd_weight_decay", "optimizer": {"type": "sgd", "lr": 0.2, "weight_decay": 0.05}},
    {"name": "sgd_momentum_weight_decay", "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.05}},
    {"name": "adam_default", "optimizer": {"type": "adam"}},
    {"name": "adam", "optimizer": {"type": "adam", "lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}},
    {"name": "adam_amsgrad", "optimizer": {"type": "adam", "lr": 0.05, "amsgrad": True}},
    {"name": "adam_weight_decay", "optimizer": {"type": "adam", "lr": 0.05, "weight_decay": 0.1}},
    {"name": "adamw_default", "optimizer": {"type": "adamw"}},
    {"name": "adamw", "optimizer": {"type": "adamw", "lr": 0.05, "weight_decay": 0.2}},
    {"name": "adamw_amsgrad", "optimizer": {"type": "adamw", "lr": 0.05, "weight_decay": 0.1, "amsgrad": True}},
    {"name": "rmsprop_default", "optimizer": {"type": "rmsprop"}},
    {"name": "rmsprop_momentum", "optimizer": {"type": "rmsprop", "lr": 0.01, "momentum": 0.9, "alpha": 0.9}},
    {"name": "rmsprop_centered", "optimizer": {"type": "rmsprop", "lr": 0.01, "centered": True}},
    {"name": "rmsprop_centered_momentum_weight_decay",
     "optimizer": {"type": "rmsprop", "lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1}},
    {"name": "adagrad_default", "optimizer": {"type": "adagrad"}},
    {"name": "adagrad_lr_decay",
     "optimizer": {"type": "adagrad", "lr": 0.2, "lr_decay": 0.05, "initial_accumulator_value": 0.1,
                   "weight_decay": 0.05}},
    # schedules (ticked after every optimizer step)
    {"name": "schedule_step", "optimizer": SGD_M,
     "schedule": {"type": "step", "step_size": 3, "gamma": 0.5, "interval": "step"}},
    {"name": "schedule_step_default_gamma", "optimizer": SGD_M, "schedule": {"type": "step", "step_size": 7}},
    {"name": "schedule_multi_step", "optimizer": SGD_M,
     "schedule": {"type": "multi_step", "milestones": [2, 5, 11], "gamma": 0.3, "interval": "step"}},
    {"name": "schedule_exponential", "optimizer": SGD_M, "schedule": {"type": "exponential", "gamma": 0.85}},
    {"name": "schedule_cosine", "optimizer": SGD_M, "schedule": {"type": "cosine", "T_max": 20}},
    {"name": "schedule_cosine_eta_min_restart", "optimizer": SGD_M,
     "schedule": {"type": "cosine", "T_max": 7, "eta_min": 0.01, "interval": "step"}},
    {"name": "schedule_reduce_on_plateau_min", "optimizer": SGD_M,
     "schedule": {"type": "reduce_on_plateau", "factor": 0.5, "patience": 2, "cooldown": 1},
     "metrics": [1.0, 0.9, 0.85, 0.85, 0.84995, 0.86, 0.84, 0.84, 0.841, 0.839, 0.83, 0.83, 0.83, 0.83,
                 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]},
    {"name": "schedule_reduce_on_plateau_max_abs", "optimizer": SGD_M,
     "schedule": {"type": "reduce_on_plateau", "metric": "val_acc", "mode": "max", "threshold_mode": "abs",
                  "threshold": 0.01, "patience": 1, "factor": 0.3, "min_lr": 0.02},
     "metrics": [0.5, 0.6, 0.605, 0.61, 0.62, 0.62, 0.625, 0.7, 0.7, 0.7, 0.69, 0.71, 0.715, 0.72,
                 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]},
    {"name": "schedule_warmup_cosine", "optimizer": {"type": "adam", "lr": 0.05},
     "schedule": {"type": "cosine", "T_max": 15, "interval": "step", "warmup": {"total_iters": 5, "start_factor": 0.1}}},
    {"name": "schedule_warmup_step", "optimizer": SGD_M,
     "schedule": {"type": "step", "step_size": 4, "gamma": 0.5, "warmup": {"total_iters": 3, "start_factor": 0.25}}},
    {"name": "schedule_warmup_multi_step", "optimizer": SGD_M,
     "schedule": {"type": "multi_step", "milestones": [3, 8], "warmup": {"total_iters": 4, "start_factor": 0.5}}},
    {"name": "schedule_warmup_exponential", "optimizer": SGD_M,
     "schedule": {"type": "exponential", "gamma": 0.9, "warmup": {"total_iters": 2, "start_factor": 0.05}}},
    {"name": "schedule_warmup_constant_default", "optimizer": SGD_M, "schedule": {"type": "constant", "warmup": {}}},
    # gradient clipping
    {"name": "clip_sgd_momentum", "optimizer": {"type": "sgd", "lr": 0.5, "momentum": 0.9}, "clip_max_norm": 0.4},
    {"name": "clip_adam", "optimizer": {"type": "adam", "lr": 0.05}, "clip_max_norm": 0.2},
]


# ---- defaults, from the torch signatures ------------------------------------------------------

def signature_defaults(fn, skip):
    out = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name in skip or not isinstance(p.default, (bool, int, float, str, tuple)):
            continue  # no default (Parameter.empty, or SGD's `required` marker for lr)
        out[name] = p.default
    return out


def defaults():
    common = {"self", "params", "optimizer", "foreach", "maximize", "capturable", "differentiable", "fused",
              "last_epoch", "verbose"}
    opt = {}
    for name, cls in [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                      ("rmsprop", torch.optim.RMSprop), ("adagrad", torch.optim.Adagrad)]:
        d = signature_defaults(cls.__init__, common)
        if "betas" in d:
            d["beta1"], d["beta2"] = d.pop("betas")
        opt[name] = d
    S = torch.optim.lr_scheduler
    sched = {
        "step": signature_defaults(S.StepLR.__init__, common),
        "multi_step": signature_defaults(S.MultiStepLR.__init__, common),
        "exponential": signature_defaults(S.ExponentialLR.__init__, common),
        "cosine": signature_defaults(S.CosineAnnealingLR.__init__, common),
        "reduce_on_plateau": signature_defaults(S.ReduceLROnPlateau.__init__, common),
        "warmup": {k: v for k, v in signature_defaults(S.LinearLR.__init__, common).items() if k != "end_factor"},
    }
    return {"optimizers": opt, "schedules": sched}


# ---- output ---------------------------------------------------------------------------------

def float32_error(a, b):
    worst_abs = worst_rel = 0.0
    for row32, row64 in zip(a, b):
        for v32, v64 in zip(row32, row64):
            d = abs(v32 - v64)
            worst_abs = max(worst_abs, d)
            worst_rel = max(worst_rel, d / max(abs(v64), 1e-3))
    return worst_abs, worst_rel


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "tests", "data", "optim_reference.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    # SequentialLR steps the scheduler after the milestone with an explicit epoch (0), which 1.13
    # warns about; that is the intended use there.
    warnings.filterwarnings("ignore", message="The epoch parameter")
    problem = make_problem()
    init = problem[0]

    cases = []
    worst = (0.0, 0.0)
    for case in CASES:
        r32 = run(case, problem, torch.float32)
        r64 = run(case, problem, torch.float64, feed_grads=r32["grads"])
        assert r32["lr"] == r64["lr"], case["name"]
        err_abs, err_rel = float32_error(r32["values"], r64["values"])
        worst = (max(worst[0], err_abs), max(worst[1], err_rel))
        entry = {"name": case["name"], "optimizer": case["optimizer"]}
        for key in ("schedule", "clip_max_norm", "metrics"):
            if key in case:
                entry[key] = case[key]
        entry["lr"] = r32["lr"]
        entry["grads"] = [[f32(v) for v in row] for row in r32["grads"]]
        if "clip_max_norm" in case:
            entry["norms"] = [f32(v) for v in r32["norms"]]
            entry["clipped"] = [[f32(v) for v in row] for row in r32["clipped"]]
            clipped = sum(1 for n in r32["norms"] if n > case["clip_max_norm"])
            note = f", clipped at {clipped}/{STEPS} steps"
        else:
            note = ""
        entry["values"] = [[f32(v) for v in row] for row in r32["values"]]
        entry["torch_float32_error"] = {"max_abs": err_abs, "max_rel": err_rel}
        lrs = sorted(set(r32["lr"]))
        print(f"{case['name']:42s} torch float32 vs float64: abs {err_abs:.2e} rel {err_rel:.2e}; "
              f"{len(lrs)} distinct lr in [{lrs[0]:.4g}, {lrs[-1]:.4g}]{note}")
        cases.append(entry)
    print(f"worst torch float32 error: abs {worst[0]:.2e} rel {worst[1]:.2e}")

    doc = {
        "generator": "tools/torch_optim_reference.py",
        "torch": torch.__version__,
        "steps": STEPS,
        "params": [{"name": n, "shape": s, "weight_decay": d, "init": init[n]} for n, s, d in PARAMS],
        "defaults": defaults(),
        "cases": cases,
    }
    with open(args.output, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    sys.exit(main())
