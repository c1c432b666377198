// The real CIFAR-10 files, downloaded by scripts/fetch_data.sh into data/cifar-10-batches-bin: sizes, the
// normalisation constants against the training set's statistics, every class present. Requires the
// resource cifar10 (tests/CMakeLists.txt; NNLAB_TEST_CIFAR10 points elsewhere): reported as skipped
// without it. (The CIFAR-100 files: datasets/test_cifar100_real.cpp.)
#include <doctest/doctest.h>

#include "support/datasets.hpp"
#include "support/resources.hpp"

using namespace nnlab::test;

TEST_CASE("CIFAR-10 from data/ (only when downloaded with scripts/fetch_data.sh)") {
  check_downloaded_cifar("cifar10", resource_location("cifar10"), 0.4914);
}
