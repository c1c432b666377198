// The real CIFAR-100 files, downloaded by scripts/fetch_data.sh into data/cifar-100-binary: sizes, the
// normalisation constants against the training set's statistics, every class present. Requires the
// resource cifar100 (tests/CMakeLists.txt; NNLAB_TEST_CIFAR100 points elsewhere): reported as skipped
// without it. (The CIFAR-10 files: datasets/test_cifar10_real.cpp.)
#include <doctest/doctest.h>

#include "support/datasets.hpp"
#include "support/resources.hpp"

using namespace nnlab::test;

TEST_CASE("CIFAR-100 from data/ (only when downloaded with scripts/fetch_data.sh)") {
  check_downloaded_cifar("cifar100", resource_location("cifar100"), 0.5071);
}
