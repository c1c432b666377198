// Paired comparisons of a sweep (apps/report/paired.cpp) on results written by hand: which settings
// are paired with which, by seed; the metric chosen on the validation split; the numbers against
// apps/stats on the same differences; Holm across a table; verdicts; the noise floor; the keys.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/report/paired.hpp"
#include "apps/sweep/experiment.hpp"
#include "support/sweep.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;

namespace {

// A plan over the given axes' display values (first axis fastest-varying last, like expand()), seeds innermost.
Plan make_plan(const std::vector<std::string>& first, const std::vector<std::string>& second, int seeds) {
  Plan plan;
  plan.axes = {"activation"};
  if (!second.empty()) plan.axes.push_back("optimizer.lr");
  const std::vector<std::string> groups = second.empty() ? std::vector<std::string>{""} : second;
  for (const auto& a : first)
    for (const auto& g : groups) {
      const std::size_t setting = plan.settings.size();
      plan.settings.push_back(g.empty() ? a : a + ", lr=" + g);
      for (int seed = 1; seed <= seeds; ++seed) {
        PlannedRun r;
        r.setting = setting;
        r.values = g.empty() ? std::vector<std::string>{a} : std::vector<std::string>{a, g};
        r.seed = static_cast<std::uint64_t>(seed);
        r.id = plan.settings.back() + "_s" + std::to_string(seed);
        plan.runs.push_back(r);
      }
    }
  return plan;
}

// A finished run with the given test and validation accuracy per epoch (val empty: no split).
RunResult finished(std::size_t run, std::vector<double> test, std::vector<double> val = {}, double test_samples = 10000) {
  RunResult r;
  r.run = run;
  r.status = "ok";
  r.columns = {"epoch", "test_acc", "val_acc", kTestSamples};
  for (std::size_t i = 0; i < test.size(); ++i)
    r.rows.push_back({static_cast<double>(i + 1), test[i], i < val.size() ? val[i] : kNaN, test_samples});
  return r;
}

}  // namespace

TEST_CASE("each setting is compared with the baseline by seed; the numbers are apps/stats' on those differences") {
  // relu (baseline), swish, tanh; 4 seeds; final test accuracies chosen so the differences are known.
  const Plan plan = make_plan({"relu", "swish", "tanh"}, {}, 4);
  const std::vector<double> relu = {0.8800, 0.8790, 0.8850, 0.8810};
  const std::vector<double> swish = {0.8840, 0.8830, 0.8870, 0.8860};   // +0.40 +0.40 +0.20 +0.50 points
  const std::vector<double> tanh = {0.8700, 0.8810, 0.8750, 0.8790};    // −1.00 +0.20 −1.00 −0.20
  std::vector<RunResult> results;
  for (int s = 0; s < 4; ++s) results.push_back(finished(static_cast<std::size_t>(s), {0.5, relu[static_cast<std::size_t>(s)]}));
  for (int s = 0; s < 4; ++s) results.push_back(finished(static_cast<std::size_t>(4 + s), {0.5, swish[static_cast<std::size_t>(s)]}));
  for (int s = 0; s < 4; ++s) results.push_back(finished(static_cast<std::size_t>(8 + s), {0.5, tanh[static_cast<std::size_t>(s)]}));
  Experiment e;
  e.metric = "selected_test_acc";  // no validation in these runs: falls back to the final epoch
  const Comparisons c = compare_settings(e, plan, results);
  CHECK(c.fell_back);
  CHECK(c.metric == "final_test_acc");
  REQUIRE(c.rows.size() == 2);
  CHECK(c.rows[0].setting == 1);
  CHECK(c.rows[0].baseline == 0);
  CHECK(c.rows[0].differences == std::vector<double>{0.4, 0.4, 0.2, 0.5});  // rounded: exact decimal points
  const stats::PairedT t = stats::paired_t(std::vector<double>{0.4, 0.4, 0.2, 0.5});
  CHECK(c.rows[0].t.mean == doctest::Approx(0.375));
  CHECK(c.rows[0].t.p == doctest::Approx(t.p));
  CHECK(c.rows[0].t.ci_low == doctest::Approx(t.ci_low));
  // Holm over the table's two p-values.
  const stats::PairedT t2 = stats::paired_t(std::vector<double>{-1.0, 0.2, -1.0, -0.2});
  const auto holm = stats::holm(std::vector<double>{t.p, t2.p});
  CHECK(c.rows[0].p_holm == doctest::Approx(holm[0]));
  CHECK(c.rows[1].p_holm == doctest::Approx(holm[1]));
  // swish is consistently ahead (p ≈ 0.006, Holm ≈ 0.012): better. tanh's mean −0.5 is noisy: not distinguishable.
  CHECK(c.rows[0].p_holm < 0.05);
  CHECK(c.rows[0].verdict == "better");
  CHECK(c.rows[1].verdict == "not distinguishable");
  // Four pairs: no Wilcoxon (it needs 6); power from the observed spread.
  CHECK(std::isnan(c.rows[0].wilcoxon.p));
  CHECK(c.rows[0].seeds_needed == stats::seeds_needed(0.2, c.rows[0].t.sd));
  CHECK(c.rows[0].detectable == doctest::Approx(stats::detectable_difference(4, c.rows[0].t.sd)));
  // The noise floor at relu's mean accuracy on 10 000 test samples, and relu's own seed spread.
  const double p = (0.8800 + 0.8790 + 0.8850 + 0.8810) / 4;
  CHECK(c.noise_floor == doctest::Approx(100 * std::sqrt(p * (1 - p) / 10000)));
  CHECK(c.seed_sd == doctest::Approx(100 * mean_std(relu).std));

  const Table table = verdict_table(plan, c);
  CHECK(table.rows[0][0] == "swish − relu");
  CHECK(table.rows[0][2].rfind("+0.3", 0) == 0);  // +0.375
  CHECK(table.rows[0].back() == "better");
  CHECK(table.rows[1][2] == "\u22120.50");
  const std::string csv = comparisons_csv(plan, c);
  CHECK(csv.find("\nswish − relu,swish,relu,final_test_acc,4,0.375,") != std::string::npos);
  CHECK(comparisons_note(c).find("no validation split") != std::string::npos);
}

TEST_CASE("the compared metric is test accuracy at the best-validation epoch; seeds missing on one side are left out") {
  const Plan plan = make_plan({"relu", "elu"}, {}, 3);
  // relu seed 1 peaks on validation at epoch 2 (test 0.80 there, although test is higher at epoch 3).
  std::vector<RunResult> results = {
      finished(0, {0.70, 0.80, 0.90}, {0.71, 0.85, 0.84}), finished(1, {0.70, 0.81, 0.82}, {0.70, 0.80, 0.81}),
      finished(2, {0.75, 0.80, 0.79}, {0.80, 0.80, 0.79}),  // tie on validation: the first epoch (test 0.75)
      finished(3, {0.72, 0.83, 0.91}, {0.72, 0.86, 0.85}), finished(4, {0.70, 0.80, 0.85}, {0.70, 0.80, 0.81})};
  RunResult failed;
  failed.run = 5;
  failed.status = "failed";
  results.push_back(failed);  // elu seed 3 failed: the comparison has 2 pairs
  CHECK(selected_row(results[0]) == 1);
  CHECK(selected_row(results[2]) == 0);
  CHECK(run_metric(results[0], "selected_test_acc") == 0.80);
  CHECK(run_metric(results[0], "best_test_acc") == 0.90);
  CHECK(run_metric(results[0], "final_test_acc") == 0.90);
  Experiment e;
  const Comparisons c = compare_settings(e, plan, results);
  CHECK_FALSE(c.fell_back);
  REQUIRE(c.rows.size() == 1);
  CHECK(c.rows[0].seeds == std::vector<std::uint64_t>{1, 2});
  CHECK(c.rows[0].differences[0] == doctest::Approx(3.0));  // 0.83 − 0.80
  CHECK(c.rows[0].differences[1] == doctest::Approx(3.0));  // 0.85 − 0.82 (elu seed 2 selects epoch 3)
  // Two equal differences: sd 0, mean ≠ 0, so p = 0; the Holm-adjusted p of one comparison is itself.
  CHECK(c.rows[0].t.p == 0.0);
  CHECK(c.rows[0].verdict == "better");
  // One pair only: too few seeds.
  results.erase(results.begin() + 4);
  const Comparisons one = compare_settings(e, plan, results);
  REQUIRE(one.rows.size() == 1);
  CHECK(one.rows[0].t.n == 1);
  CHECK(one.rows[0].verdict == "too few seeds");
  // No finished elu run at all (every one diverged, say): no pairs.
  results.erase(results.begin() + 3);
  const Comparisons none = compare_settings(e, plan, results);
  REQUIRE(none.rows.size() == 1);
  CHECK(none.rows[0].t.n == 0);
  CHECK(none.rows[0].verdict == "no finished pairs");
}

TEST_CASE("other axes group the settings; 'all' compares every pair of a group; 'baseline' picks the value") {
  const Plan plan = make_plan({"relu", "elu", "tanh"}, {"0.1", "0.01"}, 2);
  std::vector<RunResult> results;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) results.push_back(finished(i, {0.5 + 0.01 * static_cast<double>(i)}));
  Experiment e;
  Comparisons c = compare_settings(e, plan, results);
  REQUIRE(c.rows.size() == 4);  // elu and tanh against relu, in each of the two lr groups
  for (const auto& r : c.rows) CHECK(plan.runs[r.setting * 2].values[1] == plan.runs[r.baseline * 2].values[1]);
  CHECK(verdict_table(plan, c).rows[0][0] == "elu − relu (lr=0.1)");
  e.baseline = "tanh";
  c = compare_settings(e, plan, results);
  REQUIRE(c.rows.size() == 4);
  CHECK(plan.settings[c.rows[0].baseline] == "tanh, lr=0.1");
  CHECK(plan.settings[c.rows[0].setting] == "relu, lr=0.1");
  e.all_pairs = true;
  c = compare_settings(e, plan, results);
  CHECK(c.rows.size() == 6);  // 3 pairs per group
  // Six pairs would get a Wilcoxon test; here each has 2.
  for (const auto& r : c.rows) CHECK(r.t.n == 2);
}

TEST_CASE("experiment keys of the comparison: baseline, compare, metric, alpha, detect; errors name the nearest value") {
  TempDir dir("paired");
  const std::string head = R"({"base": "base.json", "activations": ["relu", "tanh", {"type": "elu", "alpha": 0.5}], )";
  const Experiment e = make_experiment(dir.path, head + R"J("baseline": "elu(alpha=0.5)", "compare": "all",
      "metric": "final_test_acc", "alpha": 0.01, "detect": 0.5})J");
  CHECK(e.baseline == "elu(alpha=0.5)");
  CHECK(e.all_pairs);
  CHECK(e.metric == "final_test_acc");
  CHECK(e.alpha == 0.01);
  CHECK(e.detect == 0.5);
  const Experiment d = make_experiment(dir.path, head + R"("seeds": [1]})");
  CHECK(d.baseline.is_null());
  CHECK(d.metric == "selected_test_acc");
  CHECK(d.alpha == 0.05);
  CHECK(d.detect == 0.2);
  // A baseline given as the layer object works too.
  CHECK(make_experiment(dir.path, head + R"("baseline": {"type": "elu", "alpha": 0.5}})").baseline.is_object());

  CHECK(error_of(dir.path, head + R"("baseline": "relu6"})").find("baseline: \"relu6\" is not one of the values of activations (did you mean 'relu'?)") !=
        std::string::npos);
  CHECK(error_of(dir.path, head + R"("compare": "al"})").find("did you mean 'all'?") != std::string::npos);
  CHECK(error_of(dir.path, head + R"("metric": "best_test"})").find("did you mean 'best_test_acc'?") != std::string::npos);
  CHECK(error_of(dir.path, head + R"("alpha": 0.7})").find("alpha: expected a significance level in (0, 0.5]") != std::string::npos);
  CHECK(error_of(dir.path, head + R"("detect": 0})").find("detect: expected a difference in accuracy points") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "baseline": "relu"})").find("nothing is swept") != std::string::npos);
}
