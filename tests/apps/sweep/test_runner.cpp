// The sweep runner (apps/sweep/runner.cpp): every run once, resumable (finished runs skipped,
// unfinished ones redone, stale ones after a base-config change), one sweep per directory, failures
// isolated, outcomes from exit status and log.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "apps/report/html.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "core/error.hpp"
#include "support/files.hpp"
#include "support/sweep.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

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
