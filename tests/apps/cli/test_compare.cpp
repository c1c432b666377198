// nnlab compare end to end, as the built binary: a run, --report-only, --dry-run, errors; and a
// sweep killed midway and rerun finishes only the remaining runs, with the same results.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "apps/report/html.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "support/run_binary.hpp"
#include "support/sweep.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

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
