// The synthetic data sets (spirals, xor): shapes, balance, geometry, determinism, pinned values.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "support/datasets.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("spirals: shapes, balance, interleaving, defaults") {
  const DataSplits s = load("spirals", nlohmann::json::object());
  CHECK(s.train.name == "spirals/train");
  CHECK(s.test.name == "spirals/test");
  CHECK(s.train.rows == 900);  // 3 classes x 300
  CHECK(s.test.rows == 300);   // 3 classes x 100
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->features == 2);
    CHECK(d->channels == 1);
    CHECK(d->classes == 3);
    CHECK(d->bytes.empty());
    CHECK(d->values.size() == static_cast<std::size_t>(2 * d->rows));
    CHECK(d->scale == 1.0f);
    CHECK(d->mean == std::vector<float>{0.0f});
    CHECK(d->stddev == std::vector<float>{1.0f});
    CHECK_NOTHROW(d->validate());
    for (float v : d->values) CHECK(std::abs(v) <= 1.0f);  // radius <= 1 (noise is on the angle)
  }
  CHECK(histogram(s.train.labels) == std::map<int, int>{{0, 300}, {1, 300}, {2, 300}});
  CHECK(histogram(s.test.labels) == std::map<int, int>{{0, 100}, {1, 100}, {2, 100}});
  CHECK(std::vector<std::int32_t>(s.train.labels.begin(), s.train.labels.begin() + 6) ==
        std::vector<std::int32_t>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("spirals: without noise every point lies on its arm") {
  const int K = 4, n = 50;
  const double turns = 1.5;
  const DataSplits s = load("spirals", {{"classes", K}, {"samples", n}, {"noise", 0.0}, {"turns", turns}});
  REQUIRE(s.train.rows == K * n);
  for (Index row = 0; row < s.train.rows; ++row) {
    const int k = s.train.labels[static_cast<std::size_t>(row)];
    const Index i = row / K;
    CHECK(k == row % K);
    const double x = s.train.values[static_cast<std::size_t>(2 * row)];
    const double y = s.train.values[static_cast<std::size_t>(2 * row + 1)];
    const double r = std::hypot(x, y);
    CHECK(r >= static_cast<double>(i) / n - 1e-6);
    CHECK(r <= static_cast<double>(i + 1) / n + 1e-6);
    // angle ≡ 2π(k/K + turns·r) (mod 2π)
    const double expect = 2 * std::numbers::pi * (static_cast<double>(k) / K + turns * r);
    const double diff = std::remainder(std::atan2(y, x) - expect, 2 * std::numbers::pi);
    CHECK(std::abs(diff) < 1e-3 / std::max(r, 1e-3));
  }
}

TEST_CASE("spirals and xor: deterministic for a seed, different for another, train != test") {
  for (const char* name : {"spirals", "xor"}) {
    CAPTURE(name);
    const DataSplits a = load(name, {{"seed", 7}});
    const DataSplits b = load(name, {{"seed", 7}});
    const DataSplits c = load(name, {{"seed", 8}});
    CHECK(a.train.values == b.train.values);
    CHECK(a.test.values == b.test.values);
    CHECK(a.train.labels == b.train.labels);
    CHECK(a.train.values != c.train.values);
    CHECK(a.test.values != c.test.values);
    // Train and test come from different streams: their first points differ.
    CHECK(std::vector<float>(a.train.values.begin(), a.train.values.begin() + 20) !=
          std::vector<float>(a.test.values.begin(), a.test.values.begin() + 20));
    // Changing the training size leaves the test set unchanged.
    const DataSplits d = load(name, {{"seed", 7}, {"samples", 17}});
    CHECK(d.test.values == a.test.values);
    CHECK(d.train.rows == 17 * a.train.classes);
  }
}

TEST_CASE("spirals and xor: pinned values, so a change in the generator or in Rng is noticed") {
  const DataSplits sp = load("spirals", nlohmann::json::object());
  const DataSplits xo = load("xor", nlohmann::json::object());
  // Tolerance for last-bit differences between platforms' cos/sin/log.
  auto same = [](float v, double pinned) { return std::abs(v - pinned) <= 1e-6 * std::max(1.0, std::abs(pinned)); };
  CHECK(same(sp.train.values[0], 0.00284338277));
  CHECK(same(sp.train.values[1], -0.000346340676));
  CHECK(same(sp.train.values[1000], 0.21834369));
  CHECK(same(sp.test.values[0], 0.00379253319));
  CHECK(same(xo.train.values[0], 0.238261461));
  CHECK(same(xo.train.values[1], 0.159311652));
  CHECK(same(xo.train.values[3], -0.912634194));
  CHECK(same(xo.test.values[0], 0.315202713));
}

TEST_CASE("xor: labels are the XOR of the signs, four balanced quadrants") {
  const DataSplits s = load("xor", {{"samples", 100}, {"test_samples", 40}, {"noise", 0.0}});
  CHECK(s.train.rows == 200);
  CHECK(s.test.rows == 80);
  CHECK(s.train.classes == 2);
  CHECK(s.train.features == 2);
  CHECK(histogram(s.train.labels) == std::map<int, int>{{0, 100}, {1, 100}});
  CHECK(histogram(s.test.labels) == std::map<int, int>{{0, 40}, {1, 40}});
  std::map<std::pair<bool, bool>, int> quadrants;
  for (Index r = 0; r < s.train.rows; ++r) {
    const float x = s.train.values[static_cast<std::size_t>(2 * r)], y = s.train.values[static_cast<std::size_t>(2 * r + 1)];
    CHECK(std::abs(x) <= 1.0f);
    CHECK(std::abs(y) <= 1.0f);
    CHECK(s.train.labels[static_cast<std::size_t>(r)] == ((x > 0) != (y > 0) ? 1 : 0));
    ++quadrants[{x > 0, y > 0}];
  }
  CHECK(quadrants.size() == 4);
  for (const auto& [q, count] : quadrants) CHECK(count == 50);

  // With noise, some points cross the axes (the label stays that of the clean point).
  const DataSplits noisy = load("xor", {{"noise", 0.3}});
  int crossed = 0;
  for (Index r = 0; r < noisy.train.rows; ++r) {
    const float x = noisy.train.values[static_cast<std::size_t>(2 * r)];
    const float y = noisy.train.values[static_cast<std::size_t>(2 * r + 1)];
    crossed += noisy.train.labels[static_cast<std::size_t>(r)] != ((x > 0) != (y > 0) ? 1 : 0);
  }
  CHECK(crossed > 0);
  CHECK(crossed < noisy.train.rows / 4);
}

TEST_CASE("synthetic parameters are range-checked") {
  const auto& spirals = DatasetRegistry::instance().get("spirals", "dataset", "data.dataset");
  CHECK_THROWS_AS(parse_args(spirals.params, {{"classes", 1}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(spirals.params, {{"samples", 0}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(spirals.params, {{"noise", -1}}, "data"), ConfigError);
  const auto& x = DatasetRegistry::instance().get("xor", "dataset", "data.dataset");
  CHECK_THROWS_AS(parse_args(x.params, {{"classes", 2}}, "data"), ConfigError);  // xor has no classes key
}
