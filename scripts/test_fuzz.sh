#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz, docs/robustness.md "Fuzzing in CI") with clang 14 in their
# own tree and run every target for a short budget from its committed seed corpus, with its
# dictionary where it has one. Fails on any finding (a crash, a sanitizer report, an exception other
# than nnlab::Error, a timeout, an allocation over the memory limit), keeping the crashing input in
# BUILD_DIR/fuzz-work/<target>/artifacts/ and printing it (base64) so a CI log holds it too.
# Run by .ci/run after the sanitizer suite; needs `scripts/setup.sh --fuzz` (clang-14, libclang-rt-14-dev,
# libomp-14-dev). Exit status: 0 every target ran its budget without a finding; 1 a finding, or the
# targets do not build; 77 SKIPPED: no clang 14 that links and runs a libFuzzer program (nothing fuzzed).
#   FUZZ_SECONDS=60     budget per target, in seconds of wall time
#   FUZZ_TARGETS="..."  the targets to run (default: all seven)
#   FUZZ_JOBS=N         targets run at once (default: the number of cores)
#   BUILD_DIR=...       the fuzz build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${FUZZ_JOBS:-$(nproc)}"
read -r -a targets <<< "${FUZZ_TARGETS:-idx cifar config checkpoint experiment done weights}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "test_fuzz: FUZZ_SECONDS=$seconds: expected a whole number of seconds >= 1" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "test_fuzz: FUZZ_JOBS=$jobs: expected a number of targets >= 1" >&2; exit 2; }
# Without a toolchain that builds a libFuzzer program the step is SKIPPED (exit 77, which .ci/run
# reports as skipped), never passed: nothing was fuzzed.
skip() {
  echo "test_fuzz: SKIPPED (nothing was fuzzed): $*; install clang 14 and libFuzzer with scripts/setup.sh --fuzz" >&2
  exit 77
}
for tool in clang-14 clang++-14; do
  command -v "$tool" > /dev/null || skip "$tool not found"
done
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' > "$probe_dir/probe.cpp"
clang++-14 -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" 2> "$probe_dir/log.txt" ||
  skip "clang++-14 cannot link a libFuzzer program ($(head -c 300 "$probe_dir/log.txt" | tr '\n' ' '))"
"$probe_dir/probe" -runs=1 > /dev/null 2>&1 || skip "a libFuzzer program built by clang++-14 does not run"

# From here on the toolchain works: a target that does not configure or compile is nnlab's fault
# and fails the step.
start=$SECONDS
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DNNLAB_FUZZ=ON -DNNLAB_BUILD_TESTS=OFF -DNNLAB_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" > /dev/null ||
  { echo "test_fuzz: FAILED: configuring $build_dir with clang 14 failed" >&2; exit 1; }
cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" ||
  { echo "test_fuzz: FAILED: the fuzz targets do not build with clang 14" >&2; exit 1; }
echo "test_fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s; running each for $seconds s, $jobs at a time"

# One target: its log in fuzz-work/<target>/log.txt, a line with its executions, and its status.
run_one() {
  local t="$1" work="$build_dir/fuzz-work/$1"
  mkdir -p "$work"
  rm -rf "$work/artifacts"
  local status=0
  BUILD_DIR="$build_dir" tests/fuzz/run.sh "$t" "$seconds" > "$work/log.txt" 2>&1 || status=$?
  local execs rate
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log.txt" | tail -1 | grep -o '[0-9]*$' || true)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log.txt" | tail -1 | grep -o '[0-9]*$' || true)
  echo "$status ${execs:-?} ${rate:-?}" > "$work/result"
}

pids=()
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_one "$t" &
  pids+=($!)
done
wait "${pids[@]}" || true

failed=()
for t in "${targets[@]}"; do
  work="$build_dir/fuzz-work/$t"
  read -r status execs rate < "$work/result"
  if [[ "$status" == 0 ]]; then
    printf 'test_fuzz: %-10s %9s execs (%s/s) in %s s: no finding\n' "$t" "$execs" "$rate" "$seconds"
    for a in "$work/artifacts"/slow-unit-*; do  # libFuzzer's note of an input that took over 10 s
      [[ -f "$a" ]] && echo "test_fuzz: $t: note: a slow input is kept in $a"
    done
    continue
  fi
  failed+=("$t")
  echo "test_fuzz: $t: FINDING (libFuzzer exit status $status, $execs execs); the end of $work/log.txt:"
  tail -n 60 "$work/log.txt" | sed 's/^/  | /'
  for a in "$work/artifacts"/*; do
    [[ -f "$a" ]] || continue
    echo "test_fuzz: $t: kept the input in $a ($(stat -c %s "$a") bytes); replay: $build_dir/tests/fuzz/fuzz_$t $a"
    if (($(stat -c %s "$a") <= 65536)); then
      echo "test_fuzz: $t: the input, base64 (base64 -d > input):"
      base64 "$a" | sed 's/^/  /'
    fi
  done
done
echo "test_fuzz: $((SECONDS - start)) s in all"
if ((${#failed[@]})); then
  echo "test_fuzz: findings in: ${failed[*]} (fix the parser, then keep the input in tests/fuzz/regressions/<target>/ with a .expect file)" >&2
  exit 1
fi
