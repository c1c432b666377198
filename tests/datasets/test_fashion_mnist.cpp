// The real Fashion-MNIST files (Debian package dataset-fashion-mnist): sizes, class balance, known
// labels and pixels, and the normalisation constants against the training set's statistics.
// Requires the resource fashion-mnist (tests/CMakeLists.txt): reported as skipped without it.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/dataset.hpp"
#include "support/datasets.hpp"
#include "support/resources.hpp"

using namespace nnlab;
using namespace nnlab::test;
namespace fs = std::filesystem;

TEST_CASE("Fashion-MNIST from /usr/share/datasets/fashion-mnist") {
  // The resource this executable requires (tests/CMakeLists.txt): the runner has checked that the
  // directory exists (or reported the test as skipped). NNLAB_TEST_FASHION_MNIST may point elsewhere.
  const fs::path dir = resource_location("fashion-mnist");
  const fs::path default_path = "/usr/share/datasets/fashion-mnist";
  const nlohmann::json params =
      dir == default_path ? nlohmann::json::object() : nlohmann::json{{"path", dir.string()}};  // else the default path
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const DataSplits s = load("fashion-mnist", params);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  MESSAGE("Fashion-MNIST train+test loaded in " << seconds * 1000 << " ms wall, " << cpu * 1000 << " ms CPU");
  CHECK(cpu < 2.0);  // ~0.3 s (zlib inflate of 57 MB); CPU time, so a busy machine does not make it flaky

  CHECK(s.train.rows == 60000);
  CHECK(s.test.rows == 10000);
  CHECK(s.train.features == 784);
  CHECK(s.test.features == 784);
  CHECK(s.train.bytes.size() == 60000u * 784u);
  std::map<int, int> train_hist, test_hist;
  for (int k = 0; k < 10; ++k) train_hist[k] = 6000, test_hist[k] = 1000;
  CHECK(histogram(s.train.labels) == train_hist);
  CHECK(histogram(s.test.labels) == test_hist);
  // The first images of both files are ankle boots; the first training labels are 9 0 0 3 0 2.
  CHECK(std::vector<std::int32_t>(s.train.labels.begin(), s.train.labels.begin() + 6) ==
        std::vector<std::int32_t>{9, 0, 0, 3, 0, 2});
  CHECK(s.test.labels[0] == 9);
  CHECK(s.train.bytes[14 * 28 + 14] == 217);  // centre pixel of the first boot (checked with Python's gzip)

  // The normalisation constants are the training set's pixel statistics.
  std::vector<double> mean, sd;
  s.train.channel_stats(mean, sd);
  CHECK(mean[0] == doctest::Approx(s.train.mean[0]).epsilon(0.002));
  CHECK(sd[0] == doctest::Approx(s.train.stddev[0]).epsilon(0.002));
}
