#!/usr/bin/env bash
# Build the whole project with AddressSanitizer + UndefinedBehaviorSanitizer (NNLAB_SANITIZE: both
# fatal, at -O1 so the suite stays fast) in build-asan/ and run the whole test suite there. Any
# finding, in a test or in an nnlab process a test starts, fails the run (tests/CMakeLists.txt).
# Run by .ci/run after the Release suite; needs what scripts/setup.sh installs.
#   BUILD_DIR=...   override the build directory (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build-asan}"
cmake -S . -B "$build_dir" -DNNLAB_SANITIZE=ON -DNNLAB_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
cmake --build "$build_dir" -j"$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
tests/skip_reasons.sh "$build_dir"   # why the tests ctest listed as not run were skipped
