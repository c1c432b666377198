#!/usr/bin/env bash
# Run one fuzz target (docs/robustness.md):
#   tests/fuzz/run.sh idx|cifar|config|checkpoint|experiment|done|weights [SECONDS]
# SECONDS defaults to 600. New inputs libFuzzer finds go to BUILD_DIR/fuzz-work/TARGET/corpus (the
# committed seeds in tests/fuzz/corpus/TARGET are read, never written); a crashing input is saved in
# BUILD_DIR/fuzz-work/TARGET/artifacts/. Runs at nice 19. Extra arguments go to libFuzzer.
#   BUILD_DIR=...   the fuzz build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${1:?usage: tests/fuzz/run.sh idx|cifar|config|checkpoint|experiment|done|weights [SECONDS] [libFuzzer options]}"
seconds="${2:-600}"
shift $(($# >= 2 ? 2 : 1))
build_dir="${BUILD_DIR:-build-fuzz}"
# -max_len: a little over the largest seed (CIFAR: two 3074-byte records; checkpoints: ~5 KB).
case "$target" in
  idx) max_len=4096 ;;
  cifar) max_len=16384 ;;
  config) max_len=8192 ;;
  checkpoint) max_len=16384 ;;
  experiment|done|weights) max_len=4096 ;;  # seeds up to ~1 KB
  *) echo "run.sh: unknown target '$target' (idx, cifar, config, checkpoint, experiment, done, weights)" >&2; exit 2 ;;
esac
work="$build_dir/fuzz-work/$target"
mkdir -p "$work/corpus" "$work/artifacts"
dict=()
[[ -f "tests/fuzz/$target.dict" ]] && dict=("-dict=tests/fuzz/$target.dict")
exec nice -n 19 "$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" \
  -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" "$@" \
  "$work/corpus" "tests/fuzz/corpus/$target"
