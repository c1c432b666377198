#!/usr/bin/env bash
# nnlab as an installed C++ library: install the build into a temporary prefix, check the layout,
# then configure, build and run examples/custom_activation against that prefix alone (a project of
# its own that finds nnlab with find_package, adds an activation, gradient-checks it and trains with
# it). Fails if any step does. Run by .ci/run after the test suite, and by CTest (test_install).
#   BUILD_DIR=...   the nnlab build to install (default build; it must be built already)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/nnlab-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

cmake --install "$build_dir" --prefix "$prefix" > "$tmp/install.log"
for f in include/nnlab/core/registry.hpp include/nnlab/activations/elementwise.hpp \
         include/nnlab/core/run/run.hpp include/nnlab/core/gradcheck/gradcheck.hpp \
         lib/cmake/nnlab/nnlabConfig.cmake lib/cmake/nnlab/nnlabConfigVersion.cmake \
         lib/cmake/nnlab/nnlabTargets.cmake; do
  [[ -f "$prefix/$f" ]] || { echo "test_install: $f was not installed" >&2; exit 1; }
done
for part in core io gradcheck run layers activations optim datasets; do
  [[ -f "$prefix/lib/libnnlab_$part.a" ]] || { echo "test_install: lib/libnnlab_$part.a was not installed" >&2; exit 1; }
done
# The installed package must not point back into the source or build tree.
if grep -rlF -e "$PWD" -e "$(cd "$build_dir" && pwd)" "$prefix/lib/cmake"; then
  echo "test_install: the installed CMake files above refer to the source or build tree" >&2
  exit 1
fi
echo "test_install: installed $(find "$prefix" -type f | wc -l) files into a temporary prefix"

launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S examples/custom_activation -B "$tmp/example" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
      "${launcher[@]}" > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/example" -j2 > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
"$tmp/example/custom_activation" "$PWD/examples/custom_activation/spirals.json" "$tmp/run" 2>&1 | sed 's/^/  /'
echo "test_install: ok"
