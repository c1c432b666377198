#!/usr/bin/python3
"""to_torch.py: rebuild a trained nnlab model as a PyTorch module and check that it computes the
same logits.

    /usr/bin/python3 tools/to_torch.py RUN_DIR [--weights FILE] [--samples N] [--seed S]
                                       [--rtol R] [--nnlab PATH] [--save FILE]

RUN_DIR is a directory written by `nnlab train`: config.json (the resolved config) and the weights
(model.safetensors; --weights best.safetensors or any path). The script

 1. builds the module from the resolved config's layer list (the MLP shorthand "hidden" /
    "activation" / "dropout" / "classes" expanded as nnlab's ModelSpec::bind does:
    dense(hidden[0]) act [dropout] ... dense(classes)), each layer for the shape of its input,
    which comes from the weights file's metadata (nnlab.shape) and a dry run of the layers before;
 2. loads the weights file with load_state_dict(strict=True): every tensor of the file must be a
    parameter or buffer of the module, with its shape, and the other way round;
 3. draws N random images (bytes, seeded), normalises them as nnlab's Dataset::gather does,
    x = (byte·scale − mean[c]) / std[c] with the scale, mean and std stored in the weights file, and
    runs the module on them in float64 (the float32 weights are exact in float64, so this is the
    reference the float32 nnlab result is compared with);
 4. writes the same bytes as an IDX file and asks `nnlab predict RUN_DIR IDX --logits` for nnlab's
    logits;
 5. prints "to_torch: max |logit difference| = X over N samples" and exits 0 when
    X <= rtol · max(1, max |logit|) (default rtol 1e-4: float32 rounding through a few layers is
    ~1e-6 relative), 1 when the logits differ or anything fails, 2 for bad arguments or no PyTorch.

Layers (nnlab type -> module; the state_dict keys are nnlab's, layers.<i>.<name>):
  dense                  nn.Linear (on the flattened sample, as nnlab's dense reads a row)
  batchnorm              nn.BatchNorm1d on the flattened sample (nnlab normalises every feature)
  conv2d                 nn.Conv2d            batch_norm2d   nn.BatchNorm2d
  max_pool2d             nn.MaxPool2d         avg_pool2d     nn.AvgPool2d
  adaptive_avg_pool2d    nn.AdaptiveAvgPool2d
  dropout, dropout2d     nn.Dropout, nn.Dropout2d (identity here: the comparison is in eval mode)
  flatten                nn.Flatten
  residual               a module with `body` (nn.Sequential), `shortcut` (nn.Sequential; identity
                         when the config has none) and `activation` (None when it has none):
                         forward(x) = activation(body(x) + shortcut(x))
  every activation       a generic module evaluating the activation's PyTorch reference expression,
                         which `nnlab list --json` reports (each activation declares it in its
                         registration, see tools/torch_reference.py): x and the layer's resolved
                         config values are in scope, and its learnable tensors are nn.Parameters
                         under nnlab's names ("weight", "mu", ...). Which of the names are learnable
                         is what the declared reference variants report; their shapes are the
                         weights file's. A per-channel tensor is broadcast over the channel
                         dimension of image inputs (PyTorch's dim 1), and a row-wise activation
                         (softmax) acts on the whole flattened sample, as nnlab's row.
--save FILE also writes the module's state_dict with torch.save.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NNLAB = os.path.join(os.path.dirname(HERE), "build", "nnlab")


def fail(message, status=1):
    print("to_torch: error: " + message, file=sys.stderr)
    sys.exit(status)


try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    fail("PyTorch and numpy are needed (%s) for %s; on Debian: apt install python3-torch python3-numpy, "
         "or run the script with an interpreter that has them (e.g. /usr/bin/python3)" % (e, sys.executable), 2)


# ---- files ----------------------------------------------------------------------------------------
def read_safetensors(path):
    """{name: float64 tensor of its shape}, metadata. float32 and float64 tensors, as nnlab writes."""
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    if len(blob) < 8:
        fail("%s: %d bytes is not a safetensors file" % (path, len(blob)))
    (n,) = struct.unpack("<Q", blob[:8])
    try:
        header = json.loads(blob[8:8 + n])
    except ValueError as e:
        fail("%s: the safetensors header is not valid JSON (%s)" % (path, e))
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "F64": "<f8"}.get(info.get("dtype"))
        if dtype is None:
            fail("%s: tensor %s has dtype %s (nnlab writes F32 or F64)" % (path, name, info.get("dtype")))
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        if end > len(data) or end - begin != count * np.dtype(dtype).itemsize:
            fail("%s: tensor %s: data offsets %d..%d do not hold its shape %s" % (path, name, begin, end, info["shape"]))
        values = np.frombuffer(data[begin:end], dtype=dtype).astype(np.float64)
        tensors[name] = torch.from_numpy(values.reshape(info["shape"]).copy())
    return tensors, header.get("__metadata__", {})


def write_idx(path, images):
    """IDX file of unsigned bytes: 00 00 08 ndims, big-endian dims, the data."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, images.ndim]))
        f.write(struct.pack(">%dI" % images.ndim, *images.shape))
        f.write(images.astype(np.uint8).tobytes())


# ---- layers ---------------------------------------------------------------------------------------
class Linear(nn.Linear):
    """nn.Linear on the flattened sample (nnlab's dense reads the whole row of any sample shape)."""

    def forward(self, x):
        return super().forward(x.flatten(1))


class BatchNorm1d(nn.BatchNorm1d):
    """nn.BatchNorm1d over every value of the sample, the output in the input's shape."""

    def forward(self, x):
        return super().forward(x.flatten(1)).view(x.shape)


class Activation(nn.Module):
    """An nnlab activation from its PyTorch reference expression."""

    def __init__(self, name, expression, rowwise, config, learnable):
        super().__init__()
        self.name, self.expression, self.rowwise, self.config = name, expression, rowwise, config
        for key, shape in learnable.items():
            self.register_parameter(key, nn.Parameter(torch.zeros(shape)))

    def forward(self, x):
        shape = x.shape
        if self.rowwise:
            x = x.flatten(1)
        scope = {"torch": torch, "F": F, "x": x}
        scope.update(self.config)
        for key, p in self.named_parameters(recurse=False):
            # one value per channel: broadcast along dim 1 of (N, C, H, W) as along that of (N, C)
            scope[key] = p.view(-1, *([1] * (x.dim() - 2))) if p.numel() > 1 and x.dim() > 2 else p
        y = eval(self.expression, {"__builtins__": {}}, scope)
        return y.view(shape) if self.rowwise else y

    def extra_repr(self):
        return "%s: %s" % (self.name, self.expression)


class Residual(nn.Module):
    """activation(body(x) + shortcut(x)); shortcut identity and activation none when absent."""

    def __init__(self, body, shortcut, activation):
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.activation = activation

    def forward(self, x):
        y = self.body(x) + self.shortcut(x)
        return self.activation(y) if self.activation is not None else y


def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


class Builder:
    def __init__(self, registry, weights):
        self.activations = {a["name"]: a for a in registry["activations"]}
        self.layer_types = {l["name"] for l in registry["layers"]}
        self.weights = weights

    def learnable(self, entry, prefix, config):
        """The activation's learnable tensors, {name: shape}: of the names its reference variants report
        as learnable, those in the file (with the file's shape) and those the config does not give a
        value for (SMU's mu is a config value when not learnable; PReLU's weight never is): a tensor
        missing from the file is then a missing key of load_state_dict, not a wrong formula."""
        names = set()
        for v in entry.get("reference", {}).get("variants", []):
            names.update(v["learnable"].keys())
        out = {}
        for n in sorted(names):
            if prefix + n in self.weights:
                out[n] = tuple(self.weights[prefix + n].shape)
            elif n not in config:
                out[n] = (1,)
        return out

    def layer(self, spec, shape, prefix, where):
        """The module for one resolved layer spec ("relu" or {"type": ..., ...}) on samples of `shape`."""
        if isinstance(spec, str):
            spec = {"type": spec}
        spec = dict(spec)
        kind = spec.pop("type", None)
        c = shape[0]
        numel = int(np.prod(shape))
        if kind in self.activations:
            entry = self.activations[kind]
            if "reference" not in entry:
                fail("%s: activation %s declares no PyTorch reference" % (where, kind))
            return Activation(kind, entry["reference"]["torch"], entry["kind"] == "rowwise", spec,
                              self.learnable(entry, prefix, spec))
        if kind == "dense":
            return Linear(numel, spec["out_features"], bias=spec.get("bias", True))
        if kind == "batchnorm":
            return BatchNorm1d(numel, eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1),
                               affine=spec.get("affine", True))
        if kind == "batch_norm2d":
            return nn.BatchNorm2d(c, eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1),
                                  affine=spec.get("affine", True))
        if kind == "conv2d":
            return nn.Conv2d(c, spec["out_channels"], pair(spec.get("kernel_size", 3)), stride=pair(spec.get("stride", 1)),
                             padding=pair(spec.get("padding", 0)), dilation=pair(spec.get("dilation", 1)),
                             groups=spec.get("groups", 1), bias=spec.get("bias", True))
        if kind in ("max_pool2d", "avg_pool2d"):
            k = pair(spec.get("kernel_size", 2))
            stride = spec.get("stride") or k
            cls = nn.MaxPool2d if kind == "max_pool2d" else nn.AvgPool2d
            return cls(k, stride=pair(stride), padding=pair(spec.get("padding", 0)))
        if kind == "adaptive_avg_pool2d":
            return nn.AdaptiveAvgPool2d(pair(spec.get("output_size", 1)))
        if kind == "dropout":
            return nn.Dropout(spec.get("p", 0.5))
        if kind == "dropout2d":
            return nn.Dropout2d(spec.get("p", 0.5))
        if kind == "flatten":
            return nn.Flatten()
        if kind == "residual":
            body, out = self.sequential(spec.get("body", []), shape, prefix + "body.", where + ".body")
            shortcut = None
            if spec.get("shortcut"):
                shortcut, _ = self.sequential(spec["shortcut"], shape, prefix + "shortcut.", where + ".shortcut")
            activation = None
            if spec.get("activation") not in (None, "", "none", "identity"):
                activation = self.layer(spec["activation"], out, prefix + "activation.", where + ".activation")
            return Residual(body, shortcut, activation)
        known = sorted(self.layer_types | set(self.activations))
        fail("%s: layer type %s has no PyTorch mapping here (nnlab knows: %s)" % (where, kind, ", ".join(known)))

    def sequential(self, specs, shape, prefix, where):
        """nn.Sequential of the specs and the output shape, each layer built for its input's shape."""
        modules = []
        for i, spec in enumerate(specs):
            m = self.layer(spec, shape, "%s%d." % (prefix, i), "%s[%d]" % (where, i))
            m.eval()
            with torch.no_grad():  # the output shape, from a dry run (eval mode: no statistics change)
                shape = tuple(m.double()(torch.zeros((2,) + tuple(shape), dtype=torch.float64)).shape[1:])
            modules.append(m)
        return nn.Sequential(*modules), shape


class Model(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = layers

    def forward(self, x):
        return self.layers(x)


def layer_list(model):
    """The resolved "model" section as a list of layer specs (the shorthand expanded like bind())."""
    if "layers" in model:
        return model["layers"]
    out = []
    for width in model.get("hidden", []):
        out.append({"type": "dense", "out_features": width, "init": model.get("init", "pytorch")})
        out.append(model["activation"])
        if model.get("dropout", 0) > 0:
            out.append({"type": "dropout", "p": model["dropout"]})
    out.append({"type": "dense", "out_features": model["classes"], "init": model.get("init", "pytorch")})
    return out


# ---- the comparison -------------------------------------------------------------------------------
def nnlab_logits(nnlab, run_dir, weights, idx_path, scratch):
    cmd = [nnlab, "predict", run_dir, idx_path, "--logits", "--weights", weights, "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=scratch)
    if r.returncode != 0:
        fail("nnlab predict failed (status %d): %s" % (r.returncode, (r.stderr or r.stdout).strip()))
    rows = []
    for line in r.stdout.splitlines():
        if ":" in line:
            rows.append([float(v) for v in line.split(":", 1)[1].split()])
    return np.array(rows, dtype=np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the top of tools/to_torch.py for the layer mapping.")
    ap.add_argument("run_dir", help="directory written by nnlab train (config.json and the weights)")
    ap.add_argument("--weights", default="model.safetensors", help="weights file in RUN_DIR, or a path")
    ap.add_argument("--samples", type=int, default=64, help="random images to compare (default 64)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random images")
    ap.add_argument("--rtol", type=float, default=1e-4, help="tolerance relative to max(1, max |logit|)")
    ap.add_argument("--nnlab", default=os.environ.get("NNLAB", DEFAULT_NNLAB), help="the nnlab binary")
    ap.add_argument("--save", help="also write the module's state_dict here (torch.save)")
    a = ap.parse_args()
    if a.samples < 1:
        fail("--samples must be at least 1, got %d" % a.samples, 2)
    if not os.path.isfile(a.nnlab) or not os.access(a.nnlab, os.X_OK):
        fail("--nnlab %s is not an executable (build the nnlab target, or set NNLAB)" % a.nnlab, 2)
    config_path = os.path.join(a.run_dir, "config.json")
    if not os.path.isfile(config_path):
        fail("%s: no config.json, so it is not the directory of an nnlab train run" % a.run_dir, 2)
    in_dir = os.path.join(a.run_dir, a.weights)  # like nnlab predict --weights: a file in RUN_DIR, or a path
    weights_path = in_dir if os.path.exists(in_dir) or not os.path.exists(a.weights) else a.weights
    with open(config_path) as f:
        config = json.load(f)
    weights, meta = read_safetensors(weights_path)
    try:
        shape = tuple(json.loads(meta["nnlab.shape"]))
        scale = float(json.loads(meta["nnlab.scale"]))
        mean, std = json.loads(meta["nnlab.mean"]), json.loads(meta["nnlab.std"])
    except (KeyError, ValueError) as e:
        fail("%s: metadata nnlab.shape/scale/mean/std missing or not JSON (%s)" % (weights_path, e))

    r = subprocess.run([a.nnlab, "list", "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        fail("%s list --json failed: %s" % (a.nnlab, r.stderr.strip()))
    torch.manual_seed(0)
    builder = Builder(json.loads(r.stdout), weights)
    layers, out_shape = builder.sequential(layer_list(config["model"]), shape, "layers.", "model.layers")
    model = Model(layers).double().eval()
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        fail("%s does not fit the module built from %s: %s" % (weights_path, config_path, str(e).replace("\n", " ")))

    # The same bytes for both; small values when the data is not scaled down (synthetic sets).
    top = 255 if scale * 255 <= 1.5 else max(1, min(255, int(round(3 / scale))))
    rng = np.random.default_rng(a.seed)
    images = rng.integers(0, top + 1, size=(a.samples,) + shape, dtype=np.int64)
    channels = shape[0] if len(shape) == 3 else 1
    x = torch.tensor(images, dtype=torch.float64) * float(np.float32(scale))
    if len(shape) == 3:
        x = (x - torch.tensor(mean[:channels], dtype=torch.float64).view(-1, 1, 1)) / torch.tensor(
            std[:channels], dtype=torch.float64).view(-1, 1, 1)
    else:
        x = (x - mean[0]) / std[0]
    with torch.no_grad():
        ours = model(x).numpy()
    with tempfile.TemporaryDirectory(prefix="to_torch-") as scratch:
        idx = os.path.join(scratch, "images.idx")
        write_idx(idx, images.reshape((a.samples,) + shape) if len(shape) <= 3 else images)
        theirs = nnlab_logits(a.nnlab, os.path.abspath(a.run_dir), os.path.abspath(weights_path), idx, scratch)
    if theirs.shape != ours.shape:
        fail("nnlab predict gave logits of shape %s, the PyTorch module %s" % (theirs.shape, ours.shape))
    if a.save:
        torch.save(model.state_dict(), a.save)
    diff = float(np.max(np.abs(theirs - ours))) if np.all(np.isfinite(theirs)) else math.inf
    scale_of_logits = max(1.0, float(np.max(np.abs(ours))))
    tolerance = a.rtol * scale_of_logits
    print("to_torch: max |logit difference| = %.3g over %d samples" % (diff, a.samples))
    print("to_torch: tolerance %.3g = %g x max(1, max |logit| = %.3g)" % (tolerance, a.rtol, float(np.max(np.abs(ours)))))
    if not diff <= tolerance:
        print("to_torch: the PyTorch module and nnlab disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
