// What a test may need that a machine may lack. A test executable declares the resources its cases
// need in tests/CMakeLists.txt; before running any case the test runner (runner.cpp) checks them
// and, if one is missing, prints "skipped: <reason>" and exits with status 77, which CTest reports
// as skipped (SKIP_RETURN_CODE). Each resource can be pointed elsewhere, or hidden by pointing it
// at nothing, with an environment variable:
//
//   fashion-mnist        the Fashion-MNIST IDX files      NNLAB_TEST_FASHION_MNIST (directory;
//                        (Debian package dataset-fashion-mnist: /usr/share/datasets/fashion-mnist)
//   cifar10, cifar100    the real CIFAR binary files, downloaded by scripts/fetch_data.sh into
//                        data/cifar-10-batches-bin, data/cifar-100-binary
//                                                         NNLAB_TEST_CIFAR10, NNLAB_TEST_CIFAR100
//   python3              a Python 3 interpreter           NNLAB_TEST_PYTHON (program; default: PATH)
//   torch                a Python 3 with PyTorch and numpy NNLAB_TEST_TORCH (program; default: the
//                        (Debian python3-torch)           first of python3 on PATH and /usr/bin/python3
//                                                         that imports both)
//   chromium             a Chromium / Chrome browser      NNLAB_TEST_CHROMIUM (program; default:
//                                                         chromium, chromium-browser or google-chrome)
//   allocation-counting  glibc's malloc, which support/allocations.cpp interposes (not available in
//                        sanitizer builds, whose allocator owns malloc)
//   mpi                  nnlab built with MPI, and mpirun  NNLAB_TEST_MPIRUN (program; default: PATH);
//                        (Debian openmpi-bin); not in    the tests run it with --oversubscribe and
//                        sanitizer builds                 OpenMPI's allow-run-as-root variables
//   tmpfs                the right to mount a small tmpfs (support/tmpfs.hpp: disk-full tests)
//                                                         NNLAB_TEST_TMPFS=0 hides it
//
// e.g. NNLAB_TEST_FASHION_MNIST=/nonexistent ctest ... reports the Fashion-MNIST test as skipped.
#pragma once

#include <filesystem>
#include <string>

namespace nnlab::test {

// "" when `resource` is available, else why it is not (one line). Throws std::invalid_argument
// for a name that is not a resource (a typo in tests/CMakeLists.txt must fail, not skip).
std::string resource_missing(const std::string& resource);

// The directory or program the resource resolved to (after its environment override): what the
// tests use, so that the thing checked is the thing tested.
std::filesystem::path resource_location(const std::string& resource);

// A program on PATH ("" when there is none), like `command -v name`.
std::filesystem::path find_on_path(const std::string& name);

}  // namespace nnlab::test
