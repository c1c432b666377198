#!/usr/bin/env bash
# Regenerate the fuzzers' seed corpus (tests/fuzz/corpus/<target>/) and dictionaries
# (tests/fuzz/*.dict) with nnlab's own writers; see tests/fuzz/make_corpus.cpp.
# Needs the fuzz build: CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DNNLAB_FUZZ=ON ...
#   BUILD_DIR=...   the fuzz build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="${BUILD_DIR:-build-fuzz}"
nice -n 19 cmake --build "$build_dir" --target fuzz_make_corpus -j2
"$build_dir/tests/fuzz/fuzz_make_corpus" tests/fuzz .
