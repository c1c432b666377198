#!/bin/bash
# Threads under load: the default MLP's epoch with 1 and 2 threads, nnlab and PyTorch, on the idle
# machine and beside one CPU-bound process (a shell busy loop), in one run. Prints median and
# fastest of 3 timed epochs. docs/performance.md ("Threads, load, and sweeps") shows a run.
#
#   bench/under_load.sh [CONFIG]        (default configs/fashion_mlp.json; run from the repository root)
#
# Needs build/nnlab and /usr/bin/python3 with torch (scripts/setup.sh --tools).
set -euo pipefail
config=${1:-configs/fashion_mlp.json}
[[ -x build/nnlab ]] || { echo "under_load.sh: build/nnlab missing: build first" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "under_load.sh: PyTorch missing: scripts/setup.sh --tools" >&2; exit 1; }
pick='import json, sys
for line in sys.stdin:
    if line.startswith("{") and "\"epoch\"" in line:
        d = json.loads(line); print("%.3f (%.3f)" % (d["seconds_median"], d["seconds_min"])); break'
# PyTorch with OpenBLAS's AVX-512 kernels where the CPU has them, else its AVX2 ones (Debian's 0.3.21
# does not recognise every CPU and would fall back to SSE3: docs/performance.md).
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
run() {
  for t in 1 2; do
    n=$(build/nnlab bench "$config" --threads "$t" --epochs 3 --floor-repeats 1 --json | /usr/bin/python3 -c "$pick")
    p=$(OPENBLAS_CORETYPE=$coretype /usr/bin/python3 bench/torch_mlp.py --activations relu --threads "$t" --epochs 3 --no-floor \
        2>/dev/null | /usr/bin/python3 -c "$pick")
    echo "$1  threads=$t  nnlab $n  pytorch $p"
  done
}
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
run idle
( while :; do :; done ) &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT
sleep 1
run busy
