#!/bin/sh
# Regenerate every figure committed under docs/img/ (used by docs/activations.md).
#
#   tools/make_docs_plots.sh [path/to/nnlab]        (default: build/nnlab)
#
# Every figure is drawn by `nnlab plot` itself: f from the layer's forward, f' from its hand-written
# backward (never a finite difference), so the figures show what training uses, kink conventions
# included. The script only chooses activations, parameters and ranges, and copies the SVGs it wants
# into docs/img/activations/ (the CSV files stay in a temporary directory: they are not committed).
#
# Per-activation figures use 201 samples on [-10, 10] (step 0.1; x = 0 and every kink of the
# default parameters is a sample) instead of the default 401, to keep the committed SVGs small.
set -eu

NNLAB=${1:-build/nnlab}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/docs/img/activations"
[ -x "$NNLAB" ] || { echo "make_docs_plots.sh: no nnlab executable at '$NNLAB' (build first, or pass its path)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/*.svg

# plot NAME ARGS...: run `nnlab plot ARGS --out $TMP/NAME` quietly.
plot() {
  name=$1
  shift
  "$NNLAB" plot "$@" --out "$TMP/$name" > "$TMP/$name.log"
}

# 1. One figure per activation (f solid, f' dashed) and all.svg, every activation at its defaults.
"$NNLAB" plot --samples 201 --out "$TMP/all" > "$TMP/all.log"
cp "$TMP"/all/*.svg "$OUT/"

# 2. Comparison overlays (all.svg of a smaller plot) and variants with other parameter values.

# The tutorial's set together, on the range where they differ.
plot tutorial --activations sigmoid,tanh,relu,leaky_relu,elu,prelu,swish,silu,squareplus,smu,smu1,softmax \
  --range -4:4 --samples 161
cp "$TMP/tutorial/all.svg" "$OUT/compare-tutorial.svg"

# Sigmoid and tanh on the same axes: sigmoid' peaks at 1/4, tanh' at 1.
plot sigtanh --activations sigmoid,tanh --range -6:6 --samples 121 --ylim -1.1:1.1
cp "$TMP/sigtanh/sigmoid.svg" "$OUT/sigmoid-same-scale.svg"
cp "$TMP/sigtanh/tanh.svg" "$OUT/tanh-same-scale.svg"

# Squareplus with the literature's b = 4 and the tutorial's b = 0.2, each next to softplus and ReLU.
plot sp4 --activations relu,softplus,squareplus --range -4:4 --samples 161
cp "$TMP/sp4/all.svg" "$OUT/compare-squareplus-b4.svg"
plot sp02 --activations relu,softplus,squareplus --param squareplus.b=0.2 --range -4:4 --samples 161
cp "$TMP/sp02/all.svg" "$OUT/compare-squareplus-b0.2.svg"
plot sp02one --activations squareplus --param squareplus.b=0.2 --samples 201
cp "$TMP/sp02one/squareplus.svg" "$OUT/squareplus-b0.2.svg"

# SMU and SMU-1 at their published initial mu are Leaky ReLU with slope 0.25 (the curves coincide) ...
plot smuinit --activations smu,smu1,leaky_relu --param leaky_relu.negative_slope=0.25 --range -3:3 --samples 121
cp "$TMP/smuinit/all.svg" "$OUT/compare-smu-init.svg"
# ... and become smooth only once mu has moved (here mu = 1).
plot smu1mu --activations smu,smu1,leaky_relu --param smu.mu=1 --param smu1.mu=1 \
  --param leaky_relu.negative_slope=0.25 --range -3:3 --samples 121
cp "$TMP/smu1mu/all.svg" "$OUT/compare-smu-mu1.svg"
cp "$TMP/smu1mu/smu.svg" "$OUT/smu-mu1.svg"
cp "$TMP/smu1mu/smu1.svg" "$OUT/smu1-mu1.svg"

# Identities: SMU(alpha = 0, mu = 1/sqrt 2) is GELU; the softmax slice [x, 0] is the sigmoid.
plot gelu --activations gelu,smu --param smu.alpha=0 --param smu.mu=0.7071067811865476 --range -4:4 --samples 161
cp "$TMP/gelu/all.svg" "$OUT/compare-gelu-smu.svg"
plot softmax --activations sigmoid,softmax --range -6:6 --samples 121
cp "$TMP/softmax/all.svg" "$OUT/compare-softmax-sigmoid.svg"

echo "wrote $(ls "$OUT"/*.svg | wc -l) figures into $OUT ($(du -sk "$OUT" | cut -f1) KB)"
