#!/usr/bin/env bash
# Regenerate the fuzzers' seed corpus (tests/fuzz/corpus/<target>/) and dictionaries
# (tests/fuzz/*.dict) with nnlab's own writers; see tests/fuzz/make_corpus.cpp.
# Uses the fuzz build (CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DNNLAB_FUZZ=ON ...) when
# there is one, else the normal build (its fuzz_make_corpus target): the seeds are the same.
#   BUILD_DIR=...   the build directory (default build-fuzz if it exists, else build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="${BUILD_DIR:-build-fuzz}"
[[ -n "${BUILD_DIR:-}" || -f "$build_dir/CMakeCache.txt" ]] || build_dir=build
nice -n 19 cmake --build "$build_dir" --target fuzz_make_corpus -j2
"$build_dir/tests/fuzz/fuzz_make_corpus" tests/fuzz .
