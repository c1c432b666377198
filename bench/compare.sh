#!/usr/bin/env bash
# nnlab vs PyTorch on the Fashion-MNIST MLP or CNN, in one run, alternating, per activation.
#
#   bench/compare.sh [--config configs/fashion_mlp.json] [--activations relu,tanh,...] [--rounds N]
#                    [--threads N] [--out DIR]
#
# A convolutional config (configs/fashion_cnn.json: it names conv2d layers or the cnn/resnet
# shorthand) is compared with bench/torch_cnn.py, the same network in PyTorch timed under its three
# CPU settings (oneDNN NCHW, channels_last, mkldnn off); the target ratio is then 0.8 and the GEMM
# floor is nnlab's own (Eigen, Dense and Conv2d products, from `nnlab bench`). The rest of this
# header describes the MLP comparison.
#
# For each round and activation it runs `nnlab bench` (configs/fashion_mlp.json with that
# activation) and then bench/torch_mlp.py under every OpenBLAS kernel setting: the environment as
# given, OPENBLAS_CORETYPE unset, and the explicit Haswell (AVX2) and SkylakeX (AVX-512) kernels
# (settings that turn out identical are run once). It also times the GEMM floor, one epoch's matrix
# multiplies alone, through nnlab's product (nnlab bench, and gemm_floor --backend nnlab), Eigen, OpenBLAS (build/bench/gemm_floor, split over
# threads and library-threaded, under each kernel setting) and torch.mm, and takes the fastest.
#
# Prints and writes DIR/summary.md: seconds per training epoch (median over rounds of each run's
# median epoch), the fastest PyTorch setting, the ratio nnlab/PyTorch (target <= 0.7), and for ReLU
# the ratio to the GEMM floor (target <= 1.3). Raw JSON lines go to DIR/raw.jsonl.
# Needs: build/nnlab and build/bench/gemm_floor (scripts/setup.sh --tools), /usr/bin/python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."

activations="relu,sigmoid,tanh,leaky_relu,elu,prelu,swish,squareplus,smu,smu1,gelu,mish,softplus,selu"
rounds=2
threads=2
out="bench/results"
config="configs/fashion_mlp.json"
while (($#)); do
  case "$1" in
    --activations) activations="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for f in build/nnlab build/bench/gemm_floor; do
  [[ -x $f ]] || { echo "compare.sh: $f missing: run scripts/setup.sh --tools first" >&2; exit 1; }
done
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "compare.sh: PyTorch missing: scripts/setup.sh --tools" >&2; exit 1; }

mkdir -p "$out"
raw="$out/raw.jsonl"
: > "$raw"
as_set="${OPENBLAS_CORETYPE-}"
# Kernel settings: label=value ("" = unset). The environment's own setting first.
if [[ -n "$as_set" ]]; then settings=("as-set:$as_set=$as_set" "unset=")
else settings=("as-set:unset="); fi
# SkylakeX's AVX-512 kernels only where the CPU has AVX-512 (elsewhere they die of SIGILL).
kernels=(Haswell)
if grep -qw avx512f /proc/cpuinfo; then kernels+=(SkylakeX); else echo "compare.sh: no AVX-512 on this CPU: OpenBLAS's SkylakeX kernels not timed"; fi
for k in "${kernels[@]}"; do settings+=("$k=$k"); done
unique=()
for s in "${settings[@]}"; do
  dup=0
  for u in "${unique[@]}"; do [[ "${u#*=}" == "${s#*=}" ]] && dup=1; done
  ((dup)) || unique+=("$s")
done

tag() {  # tag JSON lines with system/setting/round, append them to raw.jsonl, print one line each
  /usr/bin/python3 bench/summarize.py tag "$1" | tee -a "$raw" | /usr/bin/python3 bench/summarize.py show
}

run_setting() {  # run_setting "label=value" command... : with OPENBLAS_CORETYPE set or unset
  local v="${1#*=}"; shift
  if [[ -n "$v" ]]; then OPENBLAS_CORETYPE="$v" "$@"; else env -u OPENBLAS_CORETYPE "$@"; fi
}

IFS=, read -ra acts <<< "$activations"
if grep -qE '"(conv2d|cnn|resnet)"' "$config"; then
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads: $config vs bench/torch_cnn.py"
  for ((round = 1; round <= rounds; round++)); do
    echo "round $round/$rounds"
    for a in "${acts[@]}"; do
      build/nnlab bench "$config" --set "model.activation=\"$a\"" --threads "$threads" --epochs 1 --floor-repeats 1 --json \
        | tag "{\"system\": \"nnlab\", \"setting\": \"bench\", \"round\": $round}"
      /usr/bin/python3 bench/torch_cnn.py --activations "$a" --threads "$threads" --epochs 1 \
        | tag "{\"system\": \"pytorch\", \"round\": $round}"
    done
  done
  /usr/bin/python3 bench/summarize.py summary "$raw" 0.8 | tee "$out/summary.md"
  exit 0
fi
for ((round = 1; round <= rounds; round++)); do
  echo "round $round/$rounds"
  for a in "${acts[@]}"; do
    build/nnlab bench "$config" --set "model.activation=\"$a\"" --threads "$threads" --json \
      | tag "{\"system\": \"nnlab\", \"setting\": \"bench\", \"round\": $round}"
    for s in "${unique[@]}"; do
      run_setting "$s" /usr/bin/python3 bench/torch_mlp.py --activations "$a" --threads "$threads" --no-floor \
        | tag "{\"system\": \"pytorch\", \"setting\": \"${s%%=*}\", \"round\": $round}"
    done
  done
  for s in "${unique[@]}"; do
    for split in --split --no-split; do
      run_setting "$s" build/bench/gemm_floor --backend openblas "$split" --threads "$threads" \
        | tag "{\"system\": \"openblas\", \"setting\": \"${s%%=*} ${split#--}\", \"round\": $round}" || true
    done
    run_setting "$s" /usr/bin/python3 bench/torch_mlp.py --floor-only --threads "$threads" \
      | tag "{\"system\": \"torch.mm\", \"setting\": \"${s%%=*}\", \"round\": $round}" || true
  done
  for backend in nnlab eigen; do
    build/bench/gemm_floor --backend "$backend" --threads "$threads" | tag "{\"system\": \"$backend\", \"setting\": \"split\", \"round\": $round}"
  done
done

/usr/bin/python3 bench/summarize.py summary "$raw" | tee "$out/summary.md"
