// Sweep statistics and tables (apps/report/results.cpp): mean ± sample std over seeds, the
// per-setting summary (final/best accuracy, epochs to target, time, diagnostics, failed runs left
// out), and the tables and CSV files that carry the same numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "apps/report/results.hpp"
#include "apps/sweep/experiment.hpp"

using namespace nnlab;
using namespace nnlab::report;
using json = nlohmann::json;

TEST_CASE("mean ± sample std over seeds against hand-computed values") {
  const Stat s = mean_std({1.0, 2.0, 3.0, 4.0});
  CHECK(s.n == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.std == doctest::Approx(std::sqrt(5.0 / 3.0)));  // Σ(v − 2.5)² = 5, over n − 1 = 3
  const Stat with_nan = mean_std({0.84, kNaN, 0.90, 0.78});
  CHECK(with_nan.n == 3);
  CHECK(with_nan.mean == doctest::Approx(0.84));
  CHECK(with_nan.std == doctest::Approx(0.06));
  const Stat one = mean_std({0.5});
  CHECK(one.mean == 0.5);
  CHECK(std::isnan(one.std));
  CHECK(mean_std({}).n == 0);
  CHECK(format_stat(with_nan, "%.2f", 100) == "84.00 ± 6.00");
  CHECK(format_stat(one, "%.3f") == "0.500");
  CHECK(format_stat(Stat{}, "%.3f") == "—");
}

TEST_CASE("per-setting summary: final/best accuracy, epochs to target, time, diagnostics, failed runs left out") {
  Experiment e;
  e.name = "hand";
  e.target_accuracy = 0.85;
  e.seeds = {1, 2, 3};
  Plan plan;
  plan.axes = {"activation"};
  plan.settings = {"a", "b, with comma"};
  for (int s = 0; s < 2; ++s)
    for (int seed = 1; seed <= 3; ++seed) {
      PlannedRun r;
      r.id = std::string(s == 0 ? "a" : "b") + "_s" + std::to_string(seed);
      r.setting = static_cast<std::size_t>(s);
      r.values = {plan.settings[static_cast<std::size_t>(s)]};
      r.seed = static_cast<std::uint64_t>(seed);
      plan.runs.push_back(r);
    }
  const std::vector<std::string> cols = {"epoch", "train_loss", "test_acc", "seconds", "act1_dead", "w1_grad", "w2_grad",
                                         "act_seconds"};
  auto run = [&](std::size_t i, const std::string& status, std::vector<std::vector<double>> rows) {
    RunResult r;
    r.run = i;
    r.status = status;
    r.columns = cols;
    r.rows = std::move(rows);
    if (status != "ok") r.message = "training diverged: loss is nan, \"stop\"";
    return r;
  };
  //                 epoch loss  acc   sec  dead  w1    w2   act_s
  std::vector<RunResult> results = {
      run(0, "ok", {{1, 1.0, 0.80, 1, 0.0, 0.1, 1.0, kNaN}, {2, 0.8, 0.86, 2, 0.0, 0.2, 2.0, 0.1}, {3, 0.7, 0.84, 3, 0.1, 0.3, 3.0, 0.3}}),
      run(1, "ok", {{1, 0.9, 0.86, 2, 0.0, 0.1, 1.0, kNaN}, {2, 0.7, 0.88, 2, 0.0, 0.2, 2.0, 0.2}, {3, 0.6, 0.90, 2, 0.2, 0.5, 5.0, 0.2}}),
      run(2, "ok", {{1, 1.2, 0.70, 3, 0.0, 0.1, 1.0, kNaN}, {2, 1.1, 0.75, 3, 0.0, 0.2, 2.0, 0.3}, {3, 1.0, 0.78, 3, 0.3, 0.7, 7.0, 0.3}}),
      run(3, "diverged", {{1, 1.0, 0.5, 1, 0, 0, 0, kNaN}}),
      run(4, "ok", {{1, 0.5, 0.95, 4, 0.5, 1.0, 2.0, kNaN}}),
      run(5, "failed", {})};
  const auto s = summarize(e, plan, results);
  REQUIRE(s.size() == 2);
  const SettingSummary& a = s[0];
  CHECK(a.ok == 3);
  CHECK(a.status_text() == "3 ok");
  CHECK(a.final_test_acc.mean == doctest::Approx(0.84));
  CHECK(a.final_test_acc.std == doctest::Approx(0.06));
  CHECK(a.best_test_acc.mean == doctest::Approx((0.86 + 0.90 + 0.78) / 3));
  CHECK(a.best_test_acc.std == doctest::Approx(std::sqrt((0.0001777778 + 0.0028444444 + 0.0044444444) / 2)).epsilon(1e-6));
  CHECK(a.reached == 2);  // seed 3 never reaches 85%
  CHECK(a.epochs_to_target.mean == doctest::Approx(1.5));  // epochs 2 and 1
  CHECK(a.epochs_to_target.std == doctest::Approx(std::sqrt(0.5)));
  CHECK(a.seconds_per_epoch.mean == doctest::Approx(7.0 / 3));  // per run 2, 2, 3
  CHECK(a.seconds_per_epoch.std == doctest::Approx(std::sqrt(1.0 / 3)));
  CHECK(a.act_seconds.mean == doctest::Approx((0.2 + 0.2 + 0.3) / 3));  // epoch 1 (NaN) left out
  CHECK(a.final_train_loss.mean == doctest::Approx(0.7666667));
  REQUIRE(a.find_last("act1_dead"));
  CHECK(a.find_last("act1_dead")->mean == doctest::Approx(0.2));
  CHECK(a.find_last("act1_dead")->std == doctest::Approx(0.1));
  CHECK(a.layer_dead.mean == doctest::Approx(0.2));
  REQUIRE(a.grad_first.size() == 2);
  CHECK(a.grad_first[0].mean == doctest::Approx(0.1));
  CHECK(a.grad_last[1].mean == doctest::Approx(5.0));
  CHECK(a.grad_last[1].std == doctest::Approx(2.0));
  REQUIRE(a.test_acc.mean.size() == 3);
  CHECK(a.test_acc.mean[1] == doctest::Approx((0.86 + 0.88 + 0.75) / 3));
  CHECK(a.train_loss.epoch == std::vector<double>{1, 2, 3});

  const SettingSummary& b = s[1];
  CHECK(b.ok == 1);
  CHECK(b.diverged == 1);
  CHECK(b.failed == 1);
  CHECK(b.status_text() == "1 ok, 1 diverged, 1 failed");
  CHECK(b.final_test_acc.mean == doctest::Approx(0.95));
  CHECK(std::isnan(b.final_test_acc.std));
  CHECK(b.epochs_to_target.mean == 1);

  // The tables and CSV files carry the same numbers.
  const Table t = summary_table(e, s);
  CHECK(t.rows[0][2] == "—");  // no validation split: no selected epoch
  CHECK(t.rows[0][3] == "84.00 ± 6.00");
  CHECK(t.rows[0][5] == "1.5 ± 0.7 (2/3)");
  CHECK(t.rows[1][3] == "95.00");
  const std::string md = summary_md(e, plan, s, results);
  CHECK(md.find("| a | 3 ok | — | 84.00 ± 6.00 |") != std::string::npos);
  CHECK(md.find("`b_s1`: diverged: training diverged") != std::string::npos);
  const std::string csv = runs_csv(plan, results);
  INFO(csv);
  CHECK(csv.find("run,setting,activation,seed,status,epoch,train_loss,test_acc,seconds,act1_dead,w1_grad,w2_grad,act_seconds,message\n") == 0);
  CHECK(csv.find("a_s1,a,a,1,ok,1,1,0.8,1,0,0.1,1,,\n") != std::string::npos);
  CHECK(csv.find("b_s3,\"b, with comma\",\"b, with comma\",3,failed,,,,,,,,,\"training diverged: loss is nan, \"\"stop\"\"\"\n") !=
        std::string::npos);
  const std::string scsv = summary_csv(plan, s);
  CHECK(scsv.find("\na,a,3,3,0,0,0,,,,,0.84,0.06") != std::string::npos);  // selected acc and epoch empty
}
