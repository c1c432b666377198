#!/usr/bin/env bash
# Install everything nnlab needs to build, test and train (Debian/Ubuntu), then configure and build.
# Idempotent: packages already installed are not fetched again; the build is incremental.
#
#   scripts/setup.sh              build dependencies + Fashion-MNIST, then build (Release) in build/
#   scripts/setup.sh --tools      also the reference peers used by tools/ and bench/: PyTorch
#                                 (python3-torch + OpenBLAS), SciPy (tools/stats_reference.py), Chromium
#   scripts/setup.sh --fuzz       also clang 14 with libFuzzer and its OpenMP, for the fuzz targets
#                                 (tests/fuzz, scripts/test_fuzz.sh, docs/robustness.md); CI passes it
#   BUILD_DIR=... BUILD_TYPE=...  override the build directory / CMake build type
set -euo pipefail
cd "$(dirname "$0")/.."

# OpenMPI: mpirun -np K nnlab train/compare (docs/distributed.md); the build works without it too.
# Boost.Math: the distributions of the comparison statistics (apps/stats).
packages=(build-essential cmake pkg-config patch libeigen3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
          doctest-dev zlib1g-dev libcli11-dev libbenchmark-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev
          libboost-math-dev)
for arg in "$@"; do
  case "$arg" in
    # PyTorch needs a real BLAS (the OpenMP OpenBLAS, not the pthread one, which fights PyTorch's own
    # threads); the -dev package lets bench/gemm_floor time the same products through OpenBLAS.
    --tools) packages+=(python3 python3-torch python3-numpy python3-scipy libopenblas0-openmp libopenblas-openmp-dev chromium) ;;
    --fuzz) packages+=(clang-14 libclang-rt-14-dev libomp-14-dev) ;;
    *) echo "setup: unknown option $arg (known: --tools, --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages already installed"
fi

build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}"
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built $build_dir/nnlab"
