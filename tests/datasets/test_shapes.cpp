// The `shapes` data set: sizes, balance, determinism (seed and thread count), value range and
// normalisation, that pose and colour vary, that the class mean image does not classify, errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "support/datasets.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

// The error message of loading shapes with `params` (ConfigError), "<no error>" otherwise.
std::string config_error(const nlohmann::json& params) {
  try {
    load("shapes", params);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

// Byte c·S² + h·S + w of image `row`.
int pixel(const Dataset& d, Index row, int c, int h, int w) {
  const Index side = d.shape[1];
  return d.bytes[static_cast<std::size_t>(row * d.features + (c * side + h) * side + w)];
}

// Pixels where some channel changes by more than `threshold` to the right or downward neighbour:
// with clutter 0 (a smooth gradient and the shape only) these are the shape's outline.
struct Outline {
  double cx = 0, cy = 0;  // centroid
  int x0 = 1 << 30, x1 = -1, y0 = 1 << 30, y1 = -1;  // bounding box
  int count = 0;
};

Outline outline(const Dataset& d, Index row, int threshold = 30) {
  const int side = static_cast<int>(d.shape[1]);
  Outline o;
  for (int h = 0; h + 1 < side; ++h)
    for (int w = 0; w + 1 < side; ++w) {
      int change = 0;
      for (int c = 0; c < 3; ++c)
        change = std::max({change, std::abs(pixel(d, row, c, h, w) - pixel(d, row, c, h, w + 1)),
                           std::abs(pixel(d, row, c, h, w) - pixel(d, row, c, h + 1, w))});
      if (change <= threshold) continue;
      o.cx += w, o.cy += h, ++o.count;
      o.x0 = std::min(o.x0, w), o.x1 = std::max(o.x1, w), o.y0 = std::min(o.y0, h), o.y1 = std::max(o.y1, h);
    }
  if (o.count) o.cx /= o.count, o.cy /= o.count;
  return o;
}

double stddev_of(const std::vector<double>& v) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

}  // namespace

TEST_CASE("shapes: registered with its keys and defaults") {
  const auto& e = DatasetRegistry::instance().get("shapes", "dataset", "data.dataset");
  const Args a = parse_args(e.params, nlohmann::json::object(), "data");
  CHECK(a.integer("samples") == 50000);
  CHECK(a.integer("test_samples") == 10000);
  CHECK(a.integer("size") == 32);
  CHECK(a.number("clutter") == 0.5);
  CHECK(a.integer("seed") == 0);
}

TEST_CASE("shapes: sizes, layout, balanced interleaved labels, class names") {
  const DataSplits s = load("shapes", {{"samples", 250}, {"test_samples", 120}});
  CHECK(s.train.name == "shapes/train");
  CHECK(s.test.name == "shapes/test");
  CHECK(s.train.rows == 250);
  CHECK(s.test.rows == 120);
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->features == 3 * 32 * 32);
    CHECK(d->shape == std::vector<Index>{3, 32, 32});
    CHECK(d->channels == 3);
    CHECK(d->classes == 10);
    CHECK(d->values.empty());
    CHECK(d->bytes.size() == static_cast<std::size_t>(d->rows * d->features));
    CHECK(d->scale == 1.0f / 255.0f);
    CHECK_NOTHROW(d->validate());
    for (Index i = 0; i < d->rows; ++i) CHECK(d->labels[static_cast<std::size_t>(i)] == i % 10);
  }
  CHECK(s.train.class_names == std::vector<std::string>{"circle", "square", "triangle", "plus", "star", "ring",
                                                        "crescent", "half-disc", "ell", "heart"});
  std::map<int, int> expected;
  for (int k = 0; k < 10; ++k) expected[k] = 25;
  CHECK(histogram(s.train.labels) == expected);
  // The same normalisation for both splits: the training set's.
  CHECK(s.test.mean == s.train.mean);
  CHECK(s.test.stddev == s.train.stddev);

  const DataSplits big = load("shapes", {{"samples", 10}, {"test_samples", 10}, {"size", 64}});
  CHECK(big.train.features == 3 * 64 * 64);
  CHECK(big.train.shape == std::vector<Index>{3, 64, 64});
}

TEST_CASE("shapes: the same seed gives the same bytes, another seed others, for any thread count") {
  const nlohmann::json p = {{"samples", 300}, {"test_samples", 50}, {"seed", 7}};
  DataSplits one, two, four;
  {
    Threads t(1);
    one = load("shapes", p);
  }
  {
    Threads t(2);
    two = load("shapes", p);
  }
  {
    Threads t(4);
    four = load("shapes", p);
  }
  CHECK(one.train.bytes == two.train.bytes);
  CHECK(one.train.bytes == four.train.bytes);
  CHECK(one.test.bytes == four.test.bytes);
  CHECK(one.train.mean == four.train.mean);
  CHECK(one.train.stddev == four.train.stddev);

  nlohmann::json q = p;
  q["seed"] = 8;
  const DataSplits other = load("shapes", q);
  CHECK(other.train.bytes != one.train.bytes);
  CHECK(other.test.bytes != one.test.bytes);
  // Train and test come from different streams.
  CHECK(std::vector<std::uint8_t>(one.train.bytes.begin(), one.train.bytes.begin() + 3072) !=
        std::vector<std::uint8_t>(one.test.bytes.begin(), one.test.bytes.begin() + 3072));
  // Image i depends on i alone: a longer set starts with the shorter one, the test set is unchanged.
  q = p;
  q["samples"] = 500;
  const DataSplits longer = load("shapes", q);
  CHECK(std::equal(one.train.bytes.begin(), one.train.bytes.end(), longer.train.bytes.begin()));
  CHECK(longer.test.bytes == one.test.bytes);
}

TEST_CASE("shapes: bytes use the whole range, gather() normalises each channel to mean 0 and std 1") {
  const DataSplits s = load("shapes", {{"samples", 500}, {"test_samples", 10}});
  const auto [lo, hi] = std::minmax_element(s.train.bytes.begin(), s.train.bytes.end());
  CHECK(*lo <= 5);
  CHECK(*hi >= 250);
  std::vector<Index> idx(static_cast<std::size_t>(s.train.rows));
  for (Index i = 0; i < s.train.rows; ++i) idx[static_cast<std::size_t>(i)] = i;
  MatF x;
  std::vector<std::int32_t> labels;
  s.train.gather(idx, x, labels);
  const Index plane = 32 * 32;
  for (Index c = 0; c < 3; ++c) {
    const auto block = x.middleCols(c * plane, plane).cast<double>();
    const double mean = block.mean();
    const double var = (block.array() - mean).square().mean();
    CAPTURE(c);
    CHECK(std::abs(mean) < 1e-4);
    CHECK(std::abs(std::sqrt(var) - 1.0) < 1e-3);
    CHECK(s.train.mean[static_cast<std::size_t>(c)] > 0.3f);
    CHECK(s.train.mean[static_cast<std::size_t>(c)] < 0.7f);
  }
}

TEST_CASE("shapes: position, size and colour vary within a class") {
  // Without clutter the only sharp edges are the shape's outline.
  const DataSplits s = load("shapes", {{"samples", 2000}, {"test_samples", 10}, {"clutter", 0.0}});
  std::vector<double> cx, cy, extent, red, green;
  for (Index row = 0; row < s.train.rows; row += 10) {  // class 0: circles, convex and centred on their centroid
    const Outline o = outline(s.train, row);
    REQUIRE(o.count > 8);
    cx.push_back(o.cx), cy.push_back(o.cy), extent.push_back(std::max(o.x1 - o.x0, o.y1 - o.y0));
    const int h = static_cast<int>(std::lround(o.cy)), w = static_cast<int>(std::lround(o.cx));
    red.push_back(pixel(s.train, row, 0, h, w)), green.push_back(pixel(s.train, row, 1, h, w));
  }
  // Uniform positions over a range of ~20 pixels: a std of ~5.8.
  CHECK(stddev_of(cx) > 4.0);
  CHECK(stddev_of(cy) > 4.0);
  // Diameters from 8 to 24 pixels.
  CHECK(*std::min_element(extent.begin(), extent.end()) < 11);
  CHECK(*std::max_element(extent.begin(), extent.end()) > 20);
  // Colours uniform on 0..255: a std of ~74 per channel.
  CHECK(stddev_of(red) > 50);
  CHECK(stddev_of(green) > 50);
  // Anti-aliased: the outline has pixels between the shape's and the background's colours, so an
  // image has far more distinct values than a two-colour drawing.
  std::vector<int> values;
  for (int h = 0; h < 32; ++h)
    for (int w = 0; w < 32; ++w) values.push_back(pixel(s.train, 0, 0, h, w));
  std::sort(values.begin(), values.end());
  CHECK(std::unique(values.begin(), values.end()) - values.begin() > 20);
}

TEST_CASE("shapes: the class's mean image does not classify (the task needs translation invariance)") {
  const DataSplits s = load("shapes", {{"samples", 3000}, {"test_samples", 1000}});
  const Index F = s.train.features;
  std::vector<std::vector<double>> means(10, std::vector<double>(static_cast<std::size_t>(F), 0.0));
  for (Index r = 0; r < s.train.rows; ++r) {
    auto& m = means[static_cast<std::size_t>(s.train.labels[static_cast<std::size_t>(r)])];
    for (Index j = 0; j < F; ++j) m[static_cast<std::size_t>(j)] += s.train.bytes[static_cast<std::size_t>(r * F + j)];
  }
  for (auto& m : means)
    for (double& v : m) v /= static_cast<double>(s.train.rows / 10);
  int correct = 0;
  for (Index r = 0; r < s.test.rows; ++r) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < 10; ++k) {
      double dist = 0;
      for (Index j = 0; j < F; ++j) {
        const double diff = s.test.bytes[static_cast<std::size_t>(r * F + j)] - means[static_cast<std::size_t>(k)][static_cast<std::size_t>(j)];
        dist += diff * diff;
      }
      if (dist < best_d) best_d = dist, best = k;
    }
    correct += best == s.test.labels[static_cast<std::size_t>(r)];
  }
  const double accuracy = correct / static_cast<double>(s.test.rows);
  MESSAGE("nearest class mean test accuracy: " << accuracy);
  CHECK(accuracy < 0.5);
}

TEST_CASE("shapes: bad parameters name the key, the value and the valid range; huge sets are refused first") {
  std::string e = config_error({{"size", 8}});
  CHECK(e.find("data.size") != std::string::npos);
  CHECK(e.find("8") != std::string::npos);
  CHECK(e.find("16") != std::string::npos);
  e = config_error({{"clutter", 1.5}});
  CHECK(e.find("data.clutter") != std::string::npos);
  CHECK(e.find("1.5") != std::string::npos);
  e = config_error({{"samples", 0}});
  CHECK(e.find("data.samples") != std::string::npos);
  e = config_error({{"sampels", 10}});
  CHECK(e.find("did you mean 'samples'") != std::string::npos);
  // 10^9 images of 3x64x64 = 12 TB: refused by the memory check, before any image is drawn.
  e = config_error({{"samples", 1000000000}, {"size", 64}});
  CAPTURE(e);
  CHECK(e.find("shapes: 1000000000 + 10000 images of 3x64x64 needs") != std::string::npos);
  CHECK(e.find("more than this machine allows") != std::string::npos);
}
