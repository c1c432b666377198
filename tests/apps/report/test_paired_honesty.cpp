// Is the comparison machinery honest? Real trainings (in process, on the spirals), judged by
// compare_settings() exactly as `nnlab compare` judges a sweep:
//
//   same      GELU against SMU with alpha = 0, mu = 1/sqrt(2) (not learned): the same function under
//             another name (docs/activations.md). Paired by seed, the runs are bit-identical, every
//             difference is exactly 0: p = 1, "not distinguishable".
//   null      The false-positive rate needs noise that the two names do not share: ReLU against ReLU
//             with the second name's runs on seeds of their own (nothing shared but the config), over
//             kRepeats repeats of the experiment with new seeds each time. The verdicts must be "not
//             distinguishable" at about the nominal rate and the p-values spread uniformly.
//   effect    sigmoid against ReLU in a deep MLP (six hidden layers of 32, Adam): sigmoid's vanishing
//             gradient is a real difference (it stays at chance, ReLU reaches about 95 %), and six
//             seeds must detect it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/report/paired.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

const json kSgd = json::parse(R"({"type": "sgd", "lr": 0.1, "momentum": 0.9})");
const json kAdam = json::parse(R"({"type": "adam", "lr": 0.003})");
// NNLAB_HONESTY_REPEATS=200 measures the rate more finely (docs/comparison.md quotes such a run).
int repeats() {
  const char* v = std::getenv("NNLAB_HONESTY_REPEATS");
  return v && std::atoi(v) >= 24 ? std::atoi(v) : 24;
}
constexpr int kSeeds = 6;

// One training on the spirals with a validation split; its metrics as the sweep would read them.
RunResult train(const json& activation, const std::vector<int>& hidden, int epochs, const json& optimizer, std::uint64_t seed,
                std::size_t run) {
  TempDir dir("honesty");
  json doc = json::parse(R"({
    "data": {"dataset": "spirals", "samples": 300, "test_samples": 1000, "validation_split": 0.2},
    "train": {"batch_size": 32, "threads": 1}
  })");
  doc["model"]["hidden"] = hidden;
  doc["model"]["activation"] = activation;
  doc["train"]["epochs"] = epochs;
  doc["optimizer"] = optimizer;
  doc["train"]["seed"] = seed;
  doc["output"]["dir"] = dir.path.string();
  const auto history = run_training(resolve_config(doc, "honesty.json"));
  RunResult r;
  r.run = run;
  r.status = "ok";
  r.columns = {"epoch", "test_acc", "val_acc", kTestSamples};
  for (const auto& m : history)
    r.rows.push_back({static_cast<double>(m.epoch), m.test.accuracy, m.validation.accuracy, static_cast<double>(m.test.samples)});
  return r;
}

// Two settings (a, b) × seeds first..first+kSeeds−1, trained and compared: b against the baseline a.
// b's runs train with seed + b_offset (0: paired runs share their initial weights and data order).
PairedComparison compare_two(const json& a, const json& b, const std::vector<int>& hidden, int epochs, const json& optimizer,
                             std::uint64_t first, std::uint64_t b_offset = 0) {
  Plan plan;
  plan.axes = {"activation"};
  plan.settings = {"a", "b"};
  std::vector<RunResult> results;
  for (std::size_t s = 0; s < 2; ++s)
    for (int k = 0; k < kSeeds; ++k) {
      PlannedRun run;
      run.setting = s;
      run.values = {plan.settings[s]};
      run.seed = first + static_cast<std::uint64_t>(k);
      results.push_back(train(s == 0 ? a : b, hidden, epochs, optimizer, run.seed + (s == 1 ? b_offset : 0), plan.runs.size()));
      plan.runs.push_back(run);
    }
  const Comparisons c = compare_settings(Experiment{}, plan, results);
  REQUIRE(c.rows.size() == 1);
  return c.rows[0];
}

// Kolmogorov–Smirnov distance of the sample from the uniform distribution on [0, 1].
double ks_uniform(std::vector<double> p) {
  std::sort(p.begin(), p.end());
  const double n = static_cast<double>(p.size());
  double d = 0;
  for (std::size_t i = 0; i < p.size(); ++i)
    d = std::max({d, static_cast<double>(i + 1) / n - p[i], p[i] - static_cast<double>(i) / n});
  return d;
}

}  // namespace

TEST_CASE("the same function under two names: paired runs are identical, every difference 0, not distinguishable") {
  const json gelu = "gelu";
  const json smu = json::parse(R"({"type": "smu", "alpha": 0, "mu": 0.7071067811865476, "learnable": false})");
  for (std::uint64_t first : {1, 101}) {
    const PairedComparison c = compare_two(gelu, smu, {16, 16}, 8, kSgd, first);
    CHECK(c.t.n == kSeeds);
    CHECK(c.differences == std::vector<double>(kSeeds, 0.0));
    CHECK(c.t.p == 1.0);
    CHECK(c.wilcoxon.p == 1.0);
    CHECK(c.verdict == "not distinguishable");
  }
}

TEST_CASE("no difference, independent noise: the nominal false-positive rate and uniform p-values") {
  const int kRepeats = repeats();
  std::vector<double> p;
  int false_positives = 0, wilcoxon_positives = 0, nonzero = 0;
  for (int r = 0; r < kRepeats; ++r) {
    const PairedComparison c = compare_two("relu", "relu", {16, 16}, 8, kSgd, 1000 + 100 * static_cast<std::uint64_t>(r), 50);
    CAPTURE(r);
    REQUIRE(c.t.n == kSeeds);
    for (double d : c.differences) nonzero += d != 0;
    p.push_back(c.t.p);
    false_positives += c.verdict != "not distinguishable";
    wilcoxon_positives += c.wilcoxon.p < 0.05;
  }
  const double ks = ks_uniform(p);
  MESSAGE("null (relu vs relu on other seeds), " << kRepeats << " repeats x " << kSeeds << " seeds: " << false_positives
          << " false positives (t), " << wilcoxon_positives << " (Wilcoxon), KS distance from uniform " << ks << ", "
          << nonzero << "/" << kRepeats * kSeeds << " nonzero differences");
  CHECK(nonzero >= kRepeats * kSeeds * 3 / 4);  // there is noise to be fooled by
  // Expected 5 % of 24 = 1.2 (measured here: 2). The bounds are loose enough that another CPU,
  // whose -march=native rounding gives other trajectories, fails them by chance about once in 150
  // machines: 5 or more false positives have probability 0.006 for an exact test (for more
  // repeats: at most 10 %).
  CHECK(false_positives <= std::max(4, kRepeats / 10));
  CHECK(wilcoxon_positives <= std::max(4, kRepeats / 10));
  // Uniform p-values: the KS distance stays below its 0.1 % critical value 1.95/sqrt(R) (0.40 at
  // 24; measured here: 0.13).
  CHECK(ks < 1.95 / std::sqrt(static_cast<double>(kRepeats)));
}

TEST_CASE("a real difference is detected: sigmoid against ReLU in a deep MLP") {
  const PairedComparison c = compare_two("relu", "sigmoid", {32, 32, 32, 32, 32, 32}, 10, kAdam, 1);
  MESSAGE("sigmoid - relu, 6 hidden layers of 32: " << c.t.mean << " points, 95% CI [" << c.t.ci_low << ", " << c.t.ci_high
          << "], p = " << c.t.p << ", verdict " << c.verdict);
  CHECK(c.t.n == kSeeds);
  CHECK(c.verdict == "worse");
  CHECK(c.t.ci_high < 0);
}
