// The real CIFAR-10 / CIFAR-100 files, downloaded by scripts/fetch_data.sh into data/: sizes, the
// normalisation constants against the training set's statistics, every class present.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <tuple>
#include <vector>

#include "core/dataset.hpp"
#include "support/datasets.hpp"

using namespace nnlab;
using namespace nnlab::test;
namespace fs = std::filesystem;

TEST_CASE("CIFAR-10 / CIFAR-100 from data/ (only when downloaded with scripts/fetch_data.sh)") {
  const fs::path root = fs::path(NNLAB_SOURCE_DIR) / "data";
  bool any = false;
  for (const auto& [name, folder, mean0] : {std::tuple<const char*, const char*, double>{"cifar10", "cifar-10-batches-bin", 0.4914},
                                            {"cifar100", "cifar-100-binary", 0.5071}}) {
    if (!fs::is_directory(root / folder)) continue;
    any = true;
    const DataSplits s = load(name, {{"path", (root / folder).string()}});
    CHECK(s.train.rows == 50000);
    CHECK(s.test.rows == 10000);
    std::vector<double> mean, sd;
    s.train.channel_stats(mean, sd);
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(mean[c] == doctest::Approx(s.train.mean[c]).epsilon(0.003));
      CHECK(sd[c] == doctest::Approx(s.train.stddev[c]).epsilon(0.01));
    }
    CHECK(s.train.mean[0] == doctest::Approx(mean0));
    std::map<int, int> hist;
    for (auto l : s.train.labels) ++hist[l];
    CHECK(static_cast<int>(hist.size()) == s.train.classes);
  }
  if (!any) MESSAGE("skipped: no CIFAR data under " << root.string() << " (scripts/fetch_data.sh cifar10 cifar100)");
}
