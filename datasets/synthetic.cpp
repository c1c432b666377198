// Synthetic 2-D classification sets: small, instant, and hard enough for a linear model to fail,
// so activation functions can be compared in seconds.
//
// spirals — K interleaved spiral arms (the CS231n toy problem, generalised). Point i of arm k,
// with n points per arm:
//     r = (i + u) / n                              u ~ U(0, 1)   radius, evenly spread, jittered
//     θ = 2π·(k/K + turns·r) + noise·ε             ε ~ N(0, 1)   noise is in radians
//     x = (r·cos θ, r·sin θ)                       label k
// Points lie in the unit disc; `turns` full revolutions per arm.
//
// xor — the four quadrants of the square [−1, 1]², label = XOR of the two signs:
//     class 0: quadrants (+,+) and (−,−);   class 1: (+,−) and (−,+)
//     x = (sx·u₁, sy·u₂) + noise·(ε₁, ε₂)         u ~ U(0, 1), ε ~ N(0, 1)
// The label comes from the clean point, so with noise > 0 points near the axes cross over.
//
// Counts are per class: `samples` for the training set, `test_samples` for the test set, so
// both sets are exactly balanced. Rows are interleaved (class 0, 1, ..., K−1, 0, 1, ...) so
// any prefix (data.limit_train) is balanced too.
//
// Reproducibility: the set depends only on its parameters, including its own `seed` (not the
// training seed, so runs with different training seeds see the same data). Train and test come
// from separate named Rng streams ("spirals/train", "spirals/test"): different points, and
// changing the size of one set leaves the other unchanged.
//
// Values are in roughly [−1, 1] already, so no normalisation is applied (scale 1, mean 0, std 1).
#include <cmath>
#include <numbers>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/memory.hpp"
#include "core/rng.hpp"

namespace nnlab {
namespace {

Dataset make_2d_set(const std::string& name, int classes, std::int64_t per_class,
                    std::vector<std::string> class_names) {
  Dataset d;
  d.name = name;
  // Two floats and a label per sample: refused before anything is generated if it cannot fit.
  d.rows = checked_product({static_cast<Index>(classes), per_class}, name + ": classes x samples");
  check_memory(12.0 * static_cast<double>(d.rows),
               name + ": " + std::to_string(classes) + " classes x " + std::to_string(per_class) + " samples");
  d.features = 2;
  d.channels = 1;
  d.classes = classes;
  d.class_names = std::move(class_names);
  d.shape = {2};
  d.values.reserve(static_cast<std::size_t>(2 * d.rows));
  d.labels.reserve(static_cast<std::size_t>(d.rows));
  d.scale = 1.0f, d.mean = {0.0f}, d.stddev = {1.0f};
  return d;
}

Dataset spirals(const std::string& split, int classes, std::int64_t per_class, double noise, double turns,
                std::uint64_t seed) {
  std::vector<std::string> names;
  for (int k = 0; k < classes; ++k) names.push_back("arm " + std::to_string(k));
  Dataset d = make_2d_set("spirals/" + split, classes, per_class, std::move(names));
  Rng rng(seed, Rng::stream_id("spirals/" + split));
  constexpr double two_pi = 2.0 * std::numbers::pi;
  for (std::int64_t i = 0; i < per_class; ++i) {
    for (int k = 0; k < classes; ++k) {
      const double r = (static_cast<double>(i) + rng.uniform()) / static_cast<double>(per_class);
      const double theta = two_pi * (static_cast<double>(k) / classes + turns * r) + noise * rng.normal();
      d.values.push_back(static_cast<float>(r * std::cos(theta)));
      d.values.push_back(static_cast<float>(r * std::sin(theta)));
      d.labels.push_back(k);
    }
  }
  d.validate();
  return d;
}

Dataset xor_set(const std::string& split, std::int64_t per_class, double noise, std::uint64_t seed) {
  Dataset d = make_2d_set("xor/" + split, 2, per_class, {"same signs", "opposite signs"});
  Rng rng(seed, Rng::stream_id("xor/" + split));
  for (std::int64_t i = 0; i < per_class; ++i) {
    for (int k = 0; k < 2; ++k) {
      // Alternate the two quadrants of each class: (+,+)/(−,−) for class 0, (+,−)/(−,+) for class 1.
      const double sx = (i % 2 == 0) ? 1.0 : -1.0;
      const double sy = (k == 0) ? sx : -sx;
      const double u1 = rng.uniform(), u2 = rng.uniform();
      const double e1 = rng.normal(), e2 = rng.normal();
      d.values.push_back(static_cast<float>(sx * u1 + noise * e1));
      d.values.push_back(static_cast<float>(sy * u2 + noise * e2));
      d.labels.push_back(k);
    }
  }
  d.validate();
  return d;
}

DataSplits load_spirals(const Args& a) {
  const int classes = static_cast<int>(a.integer("classes"));
  const auto seed = static_cast<std::uint64_t>(a.integer("seed"));
  const double noise = a.number("noise"), turns = a.number("turns");
  return {spirals("train", classes, a.integer("samples"), noise, turns, seed),
          spirals("test", classes, a.integer("test_samples"), noise, turns, seed)};
}

DataSplits load_xor(const Args& a) {
  const auto seed = static_cast<std::uint64_t>(a.integer("seed"));
  const double noise = a.number("noise");
  return {xor_set("train", a.integer("samples"), noise, seed), xor_set("test", a.integer("test_samples"), noise, seed)};
}

constexpr double max_samples = 10'000'000;  // per class: 80 MB of floats per class at most

}  // namespace

NNLAB_REGISTER_DATASET(load_spirals, "spirals", "K interleaved 2-D spiral arms (synthetic, CS231n-style)",
                       {integer("classes", 3, "number of spiral arms = classes", 2, 100),
                        integer("samples", 300, "training points per class", 1, max_samples),
                        integer("test_samples", 100, "test points per class", 1, max_samples),
                        number("noise", 0.2, "std of the Gaussian noise on the angle, in radians", 0, 10),
                        number("turns", 1.0, "revolutions of each arm from the centre to radius 1", 0, 10),
                        integer("seed", 0, "data seed (independent of the training seed)", 0, 9.0e15)});

NNLAB_REGISTER_DATASET(load_xor, "xor", "2-D points in four quadrants, label = XOR of the signs (synthetic)",
                       {integer("samples", 200, "training points per class", 1, max_samples),
                        integer("test_samples", 100, "test points per class", 1, max_samples),
                        number("noise", 0.1, "std of the Gaussian noise added to each coordinate", 0, 10),
                        integer("seed", 0, "data seed (independent of the training seed)", 0, 9.0e15)});

}  // namespace nnlab
