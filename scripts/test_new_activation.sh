#!/usr/bin/env bash
# `nnlab new activation` end to end on a fresh copy of the tree: scaffold an activation, build,
# see it in `nnlab list`, gradient-check it, and run its generated test. The checkout is not touched.
#
#   scripts/test_new_activation.sh [NAME] [--params a=1]     (default: isru --params alpha=1)
#
# It is a second full build of nnlab (ccache makes it fast when the main build filled the cache).
# CI runs the same steps for isru, and more, through scripts/test_tutorial.sh (docs/tutorial.md);
# tests/apps/cli/test_new.cpp checks what `nnlab new` writes and refuses.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-isru}
shift || true
params=("$@")
[ ${#params[@]} -gt 0 ] || params=(--params alpha=1)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
tree=$WORK/tree
mkdir -p "$tree"
(cd "$ROOT" && git ls-files -z | xargs -0 cp --parents -t "$tree")
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" > "$WORK/configure.log"
cmake --build "$tree/build" -j"$(nproc)" --target nnlab > "$WORK/build0.log"
"$tree/build/nnlab" new activation "$name" "${params[@]}" --root "$tree"
cmake --build "$tree/build" -j"$(nproc)" --target nnlab activations_test_per_activation > "$WORK/build1.log"
"$tree/build/nnlab" list activations | grep -w "$name"
"$tree/build/nnlab" gradcheck "$name"
"$tree/build/tests/activations_test_per_activation" --test-case="$name:*"
echo "test_new_activation: $name scaffolded, built, listed, gradient-checked and tested"
