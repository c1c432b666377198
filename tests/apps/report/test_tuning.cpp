// Per-setting tuning: the "tune" key, the tuning plan, the scores and choices (by hand), the final
// plan with the chosen values, and `nnlab compare` end to end with a tuned learning rate.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/report/tuning.hpp"
#include "apps/sweep/experiment.hpp"
#include "core/error.hpp"
#include "support/files.hpp"
#include "support/run_binary.hpp"
#include "support/sweep.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

const std::string kTuned = R"({
  "base": "base.json",
  "set": {"data.validation_split": 0.2},
  "activations": ["relu", "tanh"],
  "seeds": [1, 2],
  "tune": {"path": "optimizer.lr", "values": [0.01, 0.3], "seeds": [7, 8], "set": {"train.epochs": 2}}
})";

RunResult with_val(std::size_t run, std::vector<double> val, const std::string& status = "ok") {
  RunResult r;
  r.run = run;
  r.status = status;
  r.columns = {"epoch", "test_acc", "val_acc"};
  for (std::size_t i = 0; i < val.size(); ++i) r.rows.push_back({static_cast<double>(i + 1), 0.5, val[i]});
  return r;
}

}  // namespace

TEST_CASE("the tuning plan: every setting x candidate x tuning seed, with the tuning overrides; the final plan takes the choice") {
  TempDir dir("tuning");
  const Experiment e = make_experiment(dir.path, kTuned);
  REQUIRE(e.tune);
  CHECK(e.tune->path == "optimizer.lr");
  CHECK(e.tune->seeds == std::vector<std::uint64_t>{7, 8});
  const Plan t = expand_tuning(e);
  REQUIRE(t.settings.size() == 4);  // relu × 2 values, tanh × 2 values
  CHECK(t.settings[0] == "relu, lr=0.01");
  CHECK(t.settings[3] == "tanh, lr=0.3");
  REQUIRE(t.runs.size() == 8);
  CHECK(t.runs[0].id == "tune_relu_lr0.01_s7");
  CHECK(t.runs[7].id == "tune_tanh_lr0.3_s8");
  CHECK(t.runs[1].setting == 0);
  CHECK(t.runs[2].setting == 1);
  const std::vector<std::string> expected = {"data.validation_split=0.2", "model.activation=\"relu\"", "train.epochs=2",
                                             "optimizer.lr=0.01", "train.seed=8"};
  CHECK(t.runs[1].overrides == expected);
  // The final plan: unchanged ids, the chosen value before the seed.
  const Plan f = expand(e, {json(0.3), json(0.01)});
  REQUIRE(f.runs.size() == 4);
  CHECK(f.runs[0].id == "relu_s1");
  CHECK(f.runs[0].overrides == std::vector<std::string>{"data.validation_split=0.2", "model.activation=\"relu\"",
                                                        "optimizer.lr=0.3", "train.seed=1"});
  CHECK(f.runs[3].overrides[2] == "optimizer.lr=0.01");
  // Without "tune" there is no tuning plan.
  CHECK(expand_tuning(make_experiment(dir.path, R"({"base": "base.json", "activations": ["relu"]})")).runs.empty());
}

TEST_CASE("scores are the best validation accuracy, averaged over tuning seeds; the best mean is chosen; failures are left out") {
  TempDir dir("tuning");
  const Experiment e = make_experiment(dir.path, kTuned);
  const Plan t = expand_tuning(e);
  // relu: lr 0.01 scores (0.80, 0.84) → 0.82; lr 0.3 (0.90, diverged) → 0.90 from one run.
  // tanh: lr 0.01 (0.70, 0.74) → 0.72; lr 0.3 (0.60, 0.62) → 0.61.
  const std::vector<RunResult> results = {
      with_val(0, {0.70, 0.80, 0.75}), with_val(1, {0.84, 0.80}),  with_val(2, {0.90, 0.85}),
      with_val(3, {0.5}, "diverged"),   with_val(4, {0.70}),        with_val(5, {0.71, 0.74}),
      with_val(6, {0.60}),              with_val(7, {0.62})};
  const Tuning tuning = summarize_tuning(e, t, results);
  REQUIRE(tuning.settings.size() == 2);
  CHECK(tuning.settings[0].label == "relu");
  CHECK(tuning.settings[0].scores[0].mean == doctest::Approx(0.82));
  CHECK(tuning.settings[0].scores[1].mean == doctest::Approx(0.90));
  CHECK(tuning.settings[0].scores[1].n == 1);
  CHECK(tuning.settings[0].failed[1] == 1);
  CHECK(tuning.settings[0].chosen == 1);
  CHECK(tuning.settings[1].chosen == 0);
  CHECK(tuning.ok == 7);
  CHECK(tuning.runs == 8);
  const auto chosen = choose_tuned(tuning);
  CHECK(chosen == std::vector<json>{json(0.3), json(0.01)});
  const Table table = tuning_table(tuning);
  CHECK(table.rows[0][1] == "0.3");
  CHECK(table.rows[0][4] == "90.00 (1 not ok)");
  CHECK(table.rows[1][2] == "72.00 ± 2.83");
  // Both chose an end of the grid: said, so the user widens it.
  CHECK(edge_warning(tuning) == "tanh chose optimizer.lr = 0.01, the smallest candidate: the best value may lie beyond the "
                                "grid; widen it to be sure. relu chose optimizer.lr = 0.3, the largest candidate: the best "
                                "value may lie beyond the grid; widen it to be sure.");
  CHECK(tie_warning(tuning).empty());
  // Two candidates with the same best score: the first is taken, and the report says it is arbitrary.
  std::vector<RunResult> tied = results;
  tied[4] = with_val(4, {0.60});
  tied[5] = with_val(5, {0.62});  // tanh lr 0.01 now scores 0.61, like lr 0.3
  const Tuning t2 = summarize_tuning(e, t, tied);
  CHECK(t2.settings[1].chosen == 0);
  CHECK(tie_warning(t2) == "tanh scored equally at more than one candidate, so the first of them was taken: the tuning "
                           "runs could not tell those values apart (often: nothing was learned within the tuning budget); "
                           "give the tuning runs more epochs or seeds.");
  // The sensitivity plot: log axis (0.01 .. 0.3 spans more than 10x), one line per setting.
  const auto chart = sensitivity_chart(tuning);
  CHECK(chart.x_label == "log10 optimizer.lr");
  REQUIRE(chart.series.size() == 2);
  CHECK(chart.series[1].y[0] == doctest::Approx(72.0));

  // A setting none of whose tuning runs finished cannot be chosen for: said, naming it.
  std::vector<RunResult> broken = results;
  broken[4].status = broken[5].status = broken[6].status = broken[7].status = "failed";
  try {
    choose_tuned(summarize_tuning(e, t, broken));
    FAIL("expected an error");
  } catch (const Error& err) {
    CHECK(std::string(err.what()).find("no tuning run of tanh finished") != std::string::npos);
  }
}

TEST_CASE("tune errors name the key: unknown keys, the swept path, the seed, no validation split, too few values") {
  TempDir dir("tuning");
  const std::string head = R"({"base": "base.json", "activations": ["relu"], )";
  CHECK(error_of(dir.path, head + R"("tune": {"path": "optimizer.lr", "value": [0.1, 0.2]}})").find("tune.value: unknown key (did you mean 'values'?)") !=
        std::string::npos);
  CHECK(error_of(dir.path, head + R"("tune": {"path": "train.seed", "values": [1, 2]}})").find("cannot be tuned") != std::string::npos);
  CHECK(error_of(dir.path, head + R"("sweep": {"optimizer.lr": [0.1]}, "tune": {"path": "optimizer.lr", "values": [0.1, 0.2]}})")
            .find("is swept by \"sweep\"") != std::string::npos);
  CHECK(error_of(dir.path, head + R"("tune": {"path": "optimizer.lr", "values": [0.1]}})").find("at least 2 candidate values") !=
        std::string::npos);
  // No validation split: the choice would have to look at the test set.
  const Experiment e = make_experiment(dir.path, head + R"("tune": {"path": "optimizer.lr", "values": [0.1, 0.2]}})");
  try {
    expand_tuning(e);
    FAIL("expected an error");
  } catch (const ConfigError& err) {
    CHECK(std::string(err.what()).find("set data.validation_split") != std::string::npos);
  }
  // A bad candidate value fails like any --set, naming the tuning run.
  const Experiment bad = make_experiment(dir.path, R"({"base": "base.json", "set": {"data.validation_split": 0.2},
      "tune": {"path": "optimizer.lrr", "values": [0.1, 0.2]}})");
  try {
    expand_tuning(bad);
    FAIL("expected an error");
  } catch (const ConfigError& err) {
    CHECK(std::string(err.what()).find("tune: run tune_") != std::string::npos);
    CHECK(std::string(err.what()).find("did you mean 'lr'?") != std::string::npos);
  }
}

TEST_CASE("nnlab compare with tune: tuning runs first, each setting's final runs train with its chosen value; rerun does nothing") {
  TempDir dir("tuning");
  write_text(dir.path / "base.json", kBase);
  write_text(dir.path / "exp.json", kTuned);
  const std::string exp = (dir.path / "exp.json").string();
  const fs::path out = dir.path / "out";
  const ProcessResult r = run_nnlab({"compare", exp, "--out", out.string(), "--jobs", "2", "--threads", "1"}, dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(fs::exists(out / "tune" / "runs" / "tune_relu_lr0.3_s8" / "metrics.csv"));
  CHECK(fs::exists(out / "plots" / "sensitivity.svg"));
  const std::string md = slurp(out / "summary.md");
  CHECK(md.find("## Tuned per setting: optimizer.lr") != std::string::npos);
  // Each final run's resolved config holds the value its tuning chose.
  const Experiment e = load_experiment((dir.path / "exp.json").string());
  const auto chosen = choose_tuned(summarize_tuning(e, expand_tuning(e), collect_results(e, expand_tuning(e), out / "tune")));
  for (const auto& [id, s] : std::vector<std::pair<std::string, std::size_t>>{{"relu_s1", 0}, {"tanh_s2", 1}}) {
    const json config = json::parse(slurp(out / "runs" / id / "config.json"));
    CHECK(config["optimizer"]["lr"] == chosen[s]);
    CHECK(r.output().find("tuned " + std::string(s == 0 ? "relu" : "tanh") + ": optimizer.lr = ") != std::string::npos);
  }
  // The tuning runs train 2 epochs, the final ones the base config's 3.
  CHECK(lines_of(slurp(out / "tune" / "runs" / "tune_tanh_lr0.01_s7" / "metrics.csv")).size() == 3);
  CHECK(lines_of(slurp(out / "runs" / "tanh_s1" / "metrics.csv")).size() == 4);
  const ProcessResult again = run_nnlab({"compare", exp, "--out", out.string(), "--jobs", "2", "--threads", "1"}, dir.path);
  CHECK(again.status == 0);
  CHECK(r.output().find(": ok in ") != std::string::npos);
  CHECK(again.output().find(": ok in ") == std::string::npos);  // nothing ran again
  CHECK(again.output().find("tuned relu: optimizer.lr") != std::string::npos);
  // A tuning run that did not finish (its record lost): the report is written from the others, and
  // the exit status says so, so that the next run retries it.
  fs::remove(out / "tune" / "runs" / "tune_tanh_lr0.3_s8" / "done.json");
  const ProcessResult partial = run_nnlab({"compare", exp, "--out", out.string(), "--report-only"}, dir.path);
  CHECK(partial.status == 1);
  CHECK(partial.err.find("1 tuning run(s) failed or did not finish (tune_tanh_lr0.3_s8; see ") != std::string::npos);
  CHECK(fs::exists(out / "report.html"));
  // --dry-run lists the tuning runs, then the final ones.
  const ProcessResult dry = run_nnlab({"compare", exp, "--out", (dir.path / "out2").string(), "--dry-run"}, dir.path);
  CHECK(dry.status == 0);
  CHECK(dry.out.find("tune_relu_lr0.01_s7") < dry.out.find("relu_s1\n"));
  CHECK(dry.out.find("# then, with each setting's best optimizer.lr") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "out2"));
}
