#!/usr/bin/env python3
"""Read a safetensors file written by nnlab with plain Python (no torch, no numpy) and print
every tensor's name, dtype, shape, element count, sum and first values, one line each, then the
metadata. Shows that nnlab's weights are standard safetensors that other tools can open:

    python3 tools/read_safetensors.py runs/fashion_mlp/model.safetensors

With numpy the same data is np.frombuffer(data[begin:end], dtype='<f4').reshape(shape); with
PyTorch, safetensors.torch.load_file(path)."""
import json
import struct
import sys

FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8)}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        fmt, size = FORMATS[info["dtype"]]
        begin, end = info["data_offsets"]
        count = (end - begin) // size
        values = struct.unpack("<%d%s" % (count, fmt[1]), data[begin:end])
        tensors[name] = (info["dtype"], info["shape"], values)
    return tensors, header.get("__metadata__", {})


def main():
    tensors, meta = read(sys.argv[1])
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        first = " ".join("%.9g" % v for v in values[:3])
        print("%s %s %s %d %.9g %s" % (name, dtype, "x".join(map(str, shape)) or "scalar", len(values), sum(values), first))
    for k in sorted(meta):
        print("meta %s=%s" % (k, meta[k]))


if __name__ == "__main__":
    main()
