// nnlab compare: experiment validation and expansion, resumable parallel runs, failure isolation,
// statistics over seeds, and the self-contained report.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "apps/report/html.hpp"
#include "apps/report/svg.hpp"
#include "core/run/config.hpp"
#include "core/error.hpp"
#include "core/model.hpp"
#include "core/run/trainer.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// A tiny training config on the spirals: a run takes a fraction of a second.
const char* kBase = R"({
  "model": {"hidden": [12, 12], "activation": "relu"},
  "data": {"dataset": "spirals", "samples": 100, "test_samples": 50},
  "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
  "train": {"epochs": 3, "batch_size": 32, "seed": 1}
})";

// Write base.json and an experiment into dir; returns the experiment loaded.
Experiment make_experiment(const fs::path& dir, const std::string& experiment, const std::string& base = kBase) {
  write_text(dir / "base.json", base);
  write_text(dir / "exp.json", experiment);
  return load_experiment((dir / "exp.json").string());
}

std::string error_of(const fs::path& dir, const std::string& experiment) {
  try {
    expand(make_experiment(dir, experiment));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

RunnerOptions options(const fs::path& out, int jobs = 2) {
  RunnerOptions o;
  o.out = out;
  o.jobs = jobs;
  o.threads = 1;
  o.executable = NNLAB_BINARY;
  return o;
}

// runs.csv without the wall-time columns (seconds, act_seconds, act_share), which differ between runs.
std::string without_timing(const std::string& csv) {
  std::stringstream in(csv);
  std::string line, out;
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    // Split respecting quotes.
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) cells.push_back(cell), cell.clear();
      else cell += c;
    }
    cells.push_back(cell);
    if (keep.empty())
      for (const auto& h : cells) keep.push_back(h != "seconds" && h != "act_seconds" && h != "act_share");
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (i < keep.size() && keep[i]) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

}  // namespace

// ---- experiment files ---------------------------------------------------------------------------

TEST_CASE("an experiment expands to the cross product, settings-major with seeds innermost, with readable ids") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "set": {"train.epochs": 2},
    "activations": ["relu", {"type": "elu", "alpha": 0.5}],
    "sweep": {"optimizer.lr": [0.1, 1e30], "model.hidden": [[8], [8, 8]]},
    "seeds": [3, 4]
  })");
  CHECK(e.base == fs::absolute(dir.path / "base.json").lexically_normal());
  CHECK(e.target_accuracy == 0.85);  // the default
  const Plan p = expand(e);
  REQUIRE(p.runs.size() == 2 * 2 * 2 * 2);
  CHECK(p.settings.size() == 8);
  // Axes: the activation, then the sweep in file order (not alphabetical).
  CHECK(p.axes == std::vector<std::string>{"activation", "optimizer.lr", "model.hidden"});
  CHECK(p.settings[0] == "relu, lr=0.1, hidden=[8]");
  CHECK(p.settings[1] == "relu, lr=0.1, hidden=[8,8]");
  CHECK(p.settings[2] == "relu, lr=1e+30, hidden=[8]");
  CHECK(p.settings[7] == "elu(alpha=0.5), lr=1e+30, hidden=[8,8]");
  CHECK(p.runs[0].id == "relu_lr0.1_hidden8_s3");
  CHECK(p.runs[1].id == "relu_lr0.1_hidden8_s4");
  CHECK(p.runs[15].id == "elu-alpha0.5_lr1e30_hidden8x8_s4");
  CHECK(p.runs[15].values == std::vector<std::string>{"elu(alpha=0.5)", "1e+30", "[8,8]"});
  CHECK(p.runs[15].seed == 4);
  CHECK(p.runs[15].setting == 7);
  CHECK(p.runs[15].overrides == std::vector<std::string>{"train.epochs=2", R"(model.activation={"alpha":0.5,"type":"elu"})",
                                                          "optimizer.lr=1e+30", "model.hidden=[8,8]", "train.seed=4"});
  std::set<std::string> ids;
  for (const auto& r : p.runs) ids.insert(r.id);
  CHECK(ids.size() == p.runs.size());
  // The overrides give the intended config.
  const RunConfig cfg = load_config(e.base.string(), p.runs[15].overrides);
  CHECK(cfg.train.seed == 4);
  CHECK(cfg.train.epochs == 2);
  CHECK(cfg.optimizer["lr"].get<double>() == 1e30);
  CHECK(cfg.model["activation"]["type"] == "elu");
  CHECK(cfg.model["activation"]["alpha"].get<double>() == 0.5);
}

TEST_CASE("without axes there is one setting; without seeds the base config's seed is used") {
  TempDir dir("compare");
  const Plan p = expand(make_experiment(dir.path, R"({"base": "base.json"})"));
  REQUIRE(p.runs.size() == 1);
  CHECK(p.settings == std::vector<std::string>{"base"});
  CHECK(p.runs[0].id == "s1");
  CHECK(p.runs[0].overrides == std::vector<std::string>{"train.seed=1"});
}

TEST_CASE("ids stay unique when distinct values have the same slug") {
  TempDir dir("compare");
  const Plan p = expand(make_experiment(dir.path, R"({"base": "base.json", "sweep": {"model.activation": ["relu", {"type": "relu"}]}})"));
  REQUIRE(p.runs.size() == 2);
  CHECK(p.runs[0].id == "activationrelu_s1");
  CHECK(p.runs[1].id == "activationrelu_s1-2");
}

TEST_CASE("experiment validation names the problem, with the nearest valid key") {
  TempDir dir("compare");
  CHECK(error_of(dir.path, R"({"base": "base.json", "activation": ["relu"]})").find("activation: unknown key (did you mean 'activations'?)") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "nope.json"})").find("base: ") != std::string::npos);
  CHECK(error_of(dir.path, R"({"activations": ["relu"]})").find("base") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": [{"type": "dense", "out_features": 4}]})").find("'dense' is not an activation") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": ["relux"]})").find("did you mean 'relu'") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": [{"type": "elu", "alpa": 1}]})").find("alpha") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": []})").find("non-empty") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lr": []}})").find("sweep.optimizer.lr") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lr": 0.1}})").find("non-empty list") !=
        std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "activations": ["relu"], "sweep": {"model.activation": ["tanh"]}})")
            .find("already swept") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "seeds": [1, 1]})").find("listed twice") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "seeds": [-1]})").find("seeds[0]") != std::string::npos);
  CHECK(error_of(dir.path, R"({"base": "base.json", "target_accuracy": 85})").find("target_accuracy") != std::string::npos);
  // A typo in a swept path fails before anything runs, naming the run and the nearest key.
  const std::string typo = error_of(dir.path, R"({"base": "base.json", "sweep": {"optimizer.lrr": [0.1]}})");
  CHECK(typo.find("run lrr0.1_s1") != std::string::npos);
  CHECK(typo.find("did you mean 'lr'") != std::string::npos);
  // So does a value the config rejects.
  CHECK(error_of(dir.path, R"({"base": "base.json", "set": {"train.epochs": 0}})").find("train.epochs") != std::string::npos);
}

TEST_CASE("for one seed every activation starts from the same weights and sees the same data order") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "activations": ["relu", "tanh", "selu"], "seeds": [1, 2]})");
  const Plan p = expand(e);
  struct Start {
    std::vector<MatF> weights;
    std::vector<std::vector<Index>> orders;  // epochs 1..3
  };
  auto start = [&](const RunSpec& r) {
    RunConfig cfg = load_config(e.base.string(), r.overrides);
    const RunData data = load_run_data(cfg);
    resolve_data_shape(cfg, data.train.features, data.train.classes);
    Model<float> m = build_model<float>(cfg.model["layers"], data.train.features, cfg.train.seed);
    Start s;
    for (const auto& prm : m.parameters()) s.weights.push_back(*prm.value);
    auto loss = make_loss<float>(cfg.train.loss);
    auto opt = make_optimizer(cfg.optimizer);
    Trainer trainer(m, *loss, *opt, cfg.train);
    for (int epoch = 1; epoch <= 3; ++epoch) s.orders.push_back(trainer.epoch_order(data.train.rows, epoch));
    return s;
  };
  const Start relu1 = start(p.runs[0]), relu2 = start(p.runs[1]), tanh1 = start(p.runs[2]), selu1 = start(p.runs[4]);
  REQUIRE(p.runs[2].id == "tanh_s1");
  REQUIRE(relu1.weights.size() == 6);
  for (std::size_t i = 0; i < relu1.weights.size(); ++i) {
    CHECK(relu1.weights[i] == tanh1.weights[i]);
    CHECK(relu1.weights[i] == selu1.weights[i]);
  }
  CHECK(relu1.weights[0] != relu2.weights[0]);
  CHECK(relu1.orders == tanh1.orders);
  CHECK(relu1.orders == selu1.orders);
  CHECK(relu1.orders != relu2.orders);
  CHECK(relu1.orders[0] != relu1.orders[1]);  // reshuffled every epoch
}

// ---- statistics -----------------------------------------------------------------------------------

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
      RunSpec r;
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
  CHECK(t.rows[0][2] == "84.00 ± 6.00");
  CHECK(t.rows[0][4] == "1.5 ± 0.7 (2/3)");
  CHECK(t.rows[1][2] == "95.00");
  const std::string md = summary_md(e, plan, s, results);
  CHECK(md.find("| a | 3 ok | 84.00 ± 6.00 |") != std::string::npos);
  CHECK(md.find("`b_s1`: diverged: training diverged") != std::string::npos);
  const std::string csv = runs_csv(plan, results);
  INFO(csv);
  CHECK(csv.find("run,setting,activation,seed,status,epoch,train_loss,test_acc,seconds,act1_dead,w1_grad,w2_grad,act_seconds,message\n") == 0);
  CHECK(csv.find("a_s1,a,a,1,ok,1,1,0.8,1,0,0.1,1,,\n") != std::string::npos);
  CHECK(csv.find("b_s3,\"b, with comma\",\"b, with comma\",3,failed,,,,,,,,,\"training diverged: loss is nan, \"\"stop\"\"\"\n") !=
        std::string::npos);
  const std::string scsv = summary_csv(plan, s);
  CHECK(scsv.find("\na,a,3,3,0,0,0,0.84,0.06") != std::string::npos);
}

// ---- running sweeps -------------------------------------------------------------------------------

namespace {

const char* kTwoByTwo = R"({
  "base": "base.json",
  "activations": ["relu", "tanh"],
  "seeds": [1, 2],
  "target_accuracy": 0.5
})";

}  // namespace

TEST_CASE("a sweep runs every run once; a rerun skips finished runs and redoes unfinished ones; results match") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  REQUIRE(plan.runs.size() == 4);

  // Uninterrupted reference.
  const fs::path a = dir.path / "a";
  const SweepSummary first = run_sweep(e, plan, options(a));
  CHECK(first.started == 4);
  CHECK(first.ok == 4);
  CHECK(first.skipped == 0);
  write_report(e, plan, a);

  // Second directory: run, then damage it as a killed sweep would.
  const fs::path b = dir.path / "b";
  run_sweep(e, plan, options(b));
  const fs::path in_progress = run_directory(b, plan.runs[1]);
  fs::remove(in_progress / "done.json");           // it was running when the sweep was killed
  write_text(in_progress / "leftover.txt", "partial");  // whatever a half-done run leaves behind
  fs::remove_all(run_directory(b, plan.runs[3]));  // never started
  std::vector<std::string> log;
  RunnerOptions o = options(b);
  o.log = [&](const std::string& l) { log.push_back(l); };
  const SweepSummary resumed = run_sweep(e, plan, o);
  CHECK(resumed.skipped == 2);
  CHECK(resumed.started == 2);
  CHECK(resumed.ok == 2);
  CHECK_FALSE(fs::exists(in_progress / "leftover.txt"));  // restarted from scratch
  for (const auto& r : plan.runs) CHECK(fs::exists(run_directory(b, r) / "done.json"));
  bool said_unfinished = false;
  for (const auto& l : log) said_unfinished |= l.find(plan.runs[1].id + ": unfinished") != std::string::npos;
  CHECK(said_unfinished);
  write_report(e, plan, b);
  CHECK(without_timing(slurp(b / "runs.csv")) == without_timing(slurp(a / "runs.csv")));
  CHECK(slurp(b / "runs.csv").find("act1_dead") != std::string::npos);

  // Nothing left to do.
  const SweepSummary again = run_sweep(e, plan, options(b));
  CHECK(again.started == 0);
  CHECK(again.skipped == 4);

  // A changed base config makes every finished run stale.
  write_text(dir.path / "base.json", std::string(kBase).replace(1, 0, "\n  \"description\": \"changed\","));
  log.clear();
  const SweepSummary stale = run_sweep(e, plan, o);
  CHECK(stale.started == 4);
  bool said_changed = false;
  for (const auto& l : log) said_changed |= l.find("the base config changed") != std::string::npos;
  CHECK(said_changed);
}

TEST_CASE("two sweeps cannot share a directory") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  fs::create_directories(out);
  const int fd = ::open((out / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  CHECK_THROWS_WITH_AS(run_sweep(e, plan, options(out)), doctest::Contains("another `nnlab compare`"), Error);
  ::close(fd);
  CHECK(run_sweep(e, plan, options(out)).ok == 4);
}

TEST_CASE("a diverged or failed run is recorded with its message and does not stop the others") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "activations": ["relu"],
    "sweep": {"model.input": [0, 5], "optimizer.lr": [0.1, 1e30]},
    "seeds": [1]
  })");
  const Plan plan = expand(e);  // model.input = 5 is a valid config; it fails once the data (2 features) is loaded
  REQUIRE(plan.runs.size() == 4);
  const fs::path out = dir.path / "out";
  const SweepSummary sum = run_sweep(e, plan, options(out));
  CHECK(sum.ok == 1);
  CHECK(sum.diverged == 1);
  CHECK(sum.failed == 2);
  const auto results = write_report(e, plan, out);
  CHECK(results[0].status == "ok");
  CHECK(results[0].rows.size() == 3);
  CHECK(results[1].status == "diverged");
  CHECK(results[1].message.find("training diverged at epoch 1, batch ") != std::string::npos);
  CHECK(results[2].status == "failed");
  CHECK(results[2].message.find("model.input is 5") != std::string::npos);
  const json done = json::parse(slurp(run_directory(out, plan.runs[1]) / "done.json"));
  CHECK(done["status"] == "diverged");
  CHECK(done["exit_code"] == 3);
  CHECK(done["command"][1] == "train");
  const std::string csv = slurp(out / "runs.csv");
  CHECK(csv.find(",diverged,") != std::string::npos);
  CHECK(csv.find("model.input is 5") != std::string::npos);
  const std::string md = slurp(out / "summary.md");
  CHECK(md.find("0 ok, 1 diverged") != std::string::npos);
  CHECK(md.find("0 ok, 1 failed") != std::string::npos);
  // A failed run is finished: not redone, unless asked.
  CHECK(run_sweep(e, plan, options(out)).started == 0);
  RunnerOptions retry = options(out);
  retry.retry_failed = true;
  CHECK(run_sweep(e, plan, retry).started == 3);
}

TEST_CASE("killing `nnlab compare` midway and rerunning it finishes only the remaining runs; results match") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "set": {"train.epochs": 40, "data.samples": 300},
    "activations": ["relu", "tanh", "elu"],
    "seeds": [1, 2]
  })");
  const Plan plan = expand(e);
  const fs::path ref = dir.path / "ref", out = dir.path / "out";
  run_sweep(e, plan, options(ref, 2));
  write_report(e, plan, ref);

  // Start the command, wait until one run has finished and the next is under way, then SIGKILL it.
  Process compare = start_nnlab({"compare", (dir.path / "exp.json").string(), "--out", out.string(), "--jobs", "1",
                                 "--threads", "1"},
                                dir.path);
  REQUIRE(compare.pid() > 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  auto count_done = [&] {
    int n = 0;
    for (const auto& r : plan.runs) n += fs::exists(run_directory(out, r) / "done.json");
    return n;
  };
  bool killed_mid_run = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const int done = count_done();
    if (done >= 1 && done < static_cast<int>(plan.runs.size()) &&
        fs::exists(run_directory(out, plan.runs[static_cast<std::size_t>(done)]) / "log.txt")) {
      compare.kill(SIGKILL);
      killed_mid_run = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  compare.wait();
  REQUIRE(killed_mid_run);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the orphaned run gets SIGKILL (PDEATHSIG)
  const int finished = count_done();
  CHECK(finished < static_cast<int>(plan.runs.size()));

  const SweepSummary resumed = run_sweep(e, plan, options(out, 2));
  CHECK(resumed.skipped == finished);
  CHECK(resumed.started == static_cast<int>(plan.runs.size()) - finished);
  CHECK(resumed.ok == resumed.started);
  write_report(e, plan, out);
  CHECK(without_timing(slurp(out / "runs.csv")) == without_timing(slurp(ref / "runs.csv")));
}

// ---- the report ----------------------------------------------------------------------------------

TEST_CASE("report.html is one self-contained page with every table and plot; check_report.sh agrees") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  const SweepSummary sum = run_sweep(e, plan, options(out));
  ReportInfo info;
  info.sweep = sum;
  write_report(e, plan, out, info);
  for (const char* f : {"runs.csv", "summary.csv", "summary.md", "report.html"}) CHECK(fs::exists(out / f));
  int svgs = 0;
  for (const auto& p : fs::directory_iterator(out / "plots")) svgs += p.path().extension() == ".svg";
  CHECK(svgs == 8);

  const std::string html = slurp(out / "report.html");
  std::smatch m;
  REQUIRE(std::regex_search(html, m, std::regex("<meta name=\"nnlab-tables\" content=\"(\\d+)\">")));
  const int tables = std::stoi(m[1]);
  REQUIRE(std::regex_search(html, m, std::regex("<meta name=\"nnlab-plots\" content=\"(\\d+)\">")));
  const int plots = std::stoi(m[1]);
  CHECK(tables == 4);
  CHECK(plots == 8);
  CHECK(count_of(html, "<table") == tables);
  CHECK(count_of(html, "<svg") == plots);
  CHECK(count_of(html, "</svg>") == plots);
  // Self-contained: no scripts, no links or sources, no URL but the SVG namespace.
  CHECK(count_of(html, "<script") == 0);
  CHECK(count_of(html, "src=") == 0);
  CHECK(count_of(html, "href=") == 0);
  CHECK(count_of(html, "http") == count_of(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(html.find("relu") != std::string::npos);
  CHECK(html.find("tanh_s2") != std::string::npos);

  // The checker script: counts, and the DOM headless Chromium builds (skipped without Chromium).
  const ProcessResult check =
      run_program({"bash", std::string(NNLAB_SOURCE_DIR) + "/scripts/check_report.sh", (out / "report.html").string()}, dir.path);
  INFO(check.output());
  CHECK(check.signal == 0);
  CHECK(check.status == 0);
  CHECK(check.output().find("report ok") != std::string::npos);
}

TEST_CASE("svg: x_integer_ticks puts ticks on whole epochs only") {
  svg::LineChart c;
  c.series.push_back(svg::line("a", {1, 2, 3}, {0.1, 0.5, 0.4}));
  const std::string plain = svg::render(c);
  CHECK(plain.find(">1.2<") != std::string::npos);
  c.x_integer_ticks = true;
  const std::string integer = svg::render(c);
  CHECK(integer.find(">1.2<") == std::string::npos);
  CHECK(integer.find(">1.5<") == std::string::npos);
  CHECK(integer.find(">1<") != std::string::npos);
  CHECK(integer.find(">2<") != std::string::npos);
  CHECK(integer.find(">3<") != std::string::npos);
}

TEST_CASE("the nnlab compare command end to end: run, --report-only, --dry-run, errors") {
  TempDir dir("compare");
  make_experiment(dir.path, kTwoByTwo);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "compare");
    const ProcessResult r = run_nnlab(args, dir.path);
    return std::make_pair(r.status, r.output());
  };
  const std::string exp = (dir.path / "exp.json").string(), out = (dir.path / "out").string();
  const auto [rc, text] = run({exp, "--out", out, "--jobs", "2"});
  INFO(text);
  CHECK(rc == 0);
  CHECK(text.find("4 of 4 runs ok") != std::string::npos);
  const json last = json::parse(slurp(dir.path / "out" / "last_sweep.json"));
  CHECK(last["started"] == 4);
  CHECK(last["jobs"] == 2);
  fs::remove(dir.path / "out" / "report.html");
  const auto [rc2, text2] = run({exp, "--out", out, "--report-only"});
  CHECK(rc2 == 0);
  const std::string html = slurp(dir.path / "out" / "report.html");
  CHECK(html.find("Last invocation of the sweep") != std::string::npos);
  CHECK(html.find("4 runs started, 0 already finished; 2 at a time") != std::string::npos);
  const auto [rc3, text3] = run({exp, "--out", out, "--dry-run"});
  CHECK(rc3 == 0);
  CHECK(text3.find("relu_s1\n  nnlab train ") != std::string::npos);
  CHECK(text3.find("'model.activation=\"relu\"'") != std::string::npos);
  write_text(dir.path / "bad.json", R"({"base": "base.json", "activations": ["relux"]})");
  const auto [rc4, text4] = run({(dir.path / "bad.json").string()});
  CHECK(rc4 == 1);
  CHECK(text4.find("nnlab: error: ") != std::string::npos);
  CHECK(text4.find("did you mean 'relu'") != std::string::npos);
}

TEST_CASE("runner outcomes from the exit status and the log: ok, diverged, failed, interrupted (no marker)") {
  // A stand-in for the nnlab binary: behaves according to the seed in its --set arguments.
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1, 2, 3, 4, 5]})");
  const Plan plan = expand(e);
  const fs::path fake = dir.path / "fake_nnlab.sh";
  write_text(fake, R"(#!/bin/sh
case "$*" in
  *train.seed=1*) echo "epoch 1 ..."; exit 0 ;;
  *train.seed=2*) echo "nnlab: error: training diverged: loss is nan at epoch 2" >&2; exit 1 ;;
  *train.seed=3*) echo "nnlab: error: cannot open data" >&2; exit 1 ;;
  *train.seed=4*) echo "nnlab: error: interrupted during epoch 2; continue with: nnlab train --resume x" >&2; exit 1 ;;
  *train.seed=5*) kill -9 $$ ;;
esac
)");
  fs::permissions(fake, fs::perms::owner_all);
  RunnerOptions o = options(dir.path / "out");
  o.executable = fake.string();
  const SweepSummary s = run_sweep(e, plan, o);
  CHECK(s.ok == 1);
  CHECK(s.diverged == 1);
  CHECK(s.failed == 1);
  CHECK(s.interrupted == 2);
  auto done = [&](int i) { return run_directory(o.out, plan.runs[static_cast<std::size_t>(i)]) / "done.json"; };
  CHECK(json::parse(slurp(done(0)))["status"] == "ok");
  CHECK(json::parse(slurp(done(1)))["status"] == "diverged");
  CHECK(json::parse(slurp(done(2)))["message"] == "cannot open data");
  CHECK_FALSE(fs::exists(done(3)));
  CHECK_FALSE(fs::exists(done(4)));
  CHECK(slurp(run_directory(o.out, plan.runs[0]) / "log.txt") == "epoch 1 ...\n");
  // The next invocation reruns exactly the two interrupted runs.
  const SweepSummary again = run_sweep(e, plan, o);
  CHECK(again.skipped == 3);
  CHECK(again.started == 2);
}
