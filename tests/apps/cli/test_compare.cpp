// nnlab compare end to end, as the built binary: a run, --report-only, --dry-run, errors; and a
// sweep killed midway and rerun finishes only the remaining runs, with the same results.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>
#include <tuple>
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

namespace {

// `nnlab compare args...` in `dir`: exit status (-1 when killed by a signal) and stderr.
ProcessResult compare(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "compare");
  return run_nnlab(args, dir);
}

// The error line of a failed command: stderr's last line, which must be its only "nnlab: error:" line.
std::string error_line(const ProcessResult& r) {
  const auto lines = lines_of(r.err);
  CHECK(count_of(r.err, "nnlab: error: ") == 1);
  return lines.empty() ? "" : lines.back();
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

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

TEST_CASE("compare refuses bad input with one line naming it, before writing anything") {
  TempDir dir("compare");
  make_experiment(dir.path, kTwoByTwo);
  const std::string exp = (dir.path / "exp.json").string(), out = (dir.path / "out").string();

  SUBCASE("an experiment nested deeper than 64 levels (was a stack overflow)") {
    write_text(dir.path / "deep.json", R"({"base": "base.json", "sweep": {"model.hidden": )" + std::string(100000, '[') +
                                           std::string(100000, ']') + "}}");
    const ProcessResult r = compare(dir.path, {(dir.path / "deep.json").string(), "--out", out});
    CHECK(r.signal == 0);
    CHECK(r.status == 1);
    const std::string line = error_line(r);
    CHECK(line.find("deep.json: not valid JSON") != std::string::npos);
    CHECK(line.find("nested more than 64 levels deep") != std::string::npos);
  }
  SUBCASE("an absurd plan, even for --dry-run, naming the axes and the count") {
    std::string lrs = "[";
    for (int i = 0; i < 1000; ++i) lrs += (i ? "," : "") + std::to_string(i + 1);
    lrs += "]";
    write_text(dir.path / "big.json", R"({"base": "base.json", "activations": ["relu", "tanh", "elu", "selu", "gelu",
        "silu", "mish", "softplus", "sigmoid", "softsign"], "sweep": {"optimizer.lr": )" + lrs + R"(, "train.epochs": )" +
                                          lrs.substr(0, lrs.find(",101,")) + R"(]}})");
    const ProcessResult r = compare(dir.path, {(dir.path / "big.json").string(), "--dry-run"});
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    const std::string line = error_line(r);
    CHECK(line.find("the plan has 1000000 runs (activations 10 x sweep.optimizer.lr 1000 x sweep.train.epochs 100 x seeds 1)") !=
          std::string::npos);
    CHECK(line.find("more than the limit of 10000 runs per experiment") != std::string::npos);
  }
  SUBCASE("--threads and --jobs out of range (every run used to fail, then count as finished)") {
    for (const auto& [opt, value, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"--threads", "5000", "--threads 5000: expected 0 (cores / jobs) to 1024 threads per run"},
             {"--threads", "-3", "--threads -3: expected 0"},
             {"--jobs", "100000", "--jobs 100000: expected 0 (one run per core) to 1024 runs at once"},
             {"--jobs", "-1", "the nearest valid value is 0"}}) {
      CAPTURE(opt);
      CAPTURE(value);
      const ProcessResult r = compare(dir.path, {exp, "--out", out, opt, value});
      CHECK(r.status == 1);
      CHECK(error_line(r).find(says) != std::string::npos);
      CHECK_FALSE(fs::exists(out));
    }
  }
  SUBCASE("--out naming an existing regular file (was a raw filesystem error)") {
    write_text(dir.path / "results.csv", "mine");
    const ProcessResult r = compare(dir.path, {exp, "--out", (dir.path / "results.csv").string()});
    CHECK(r.status == 1);
    CHECK(error_line(r).find("--out " + (dir.path / "results.csv").string() + ": exists and is not a directory") !=
          std::string::npos);
    CHECK(slurp(dir.path / "results.csv") == "mine");
    const ProcessResult under = compare(dir.path, {exp, "--out", (dir.path / "results.csv" / "x").string()});
    CHECK(under.status == 1);
    CHECK(error_line(under).find(": cannot create the directory: ") != std::string::npos);
    // The experiment's "output" is named as such.
    write_text(dir.path / "out_file.json", R"({"base": "base.json", "output": ")" + (dir.path / "results.csv").string() + R"("})");
    const ProcessResult named = compare(dir.path, {(dir.path / "out_file.json").string()});
    CHECK(named.status == 1);
    CHECK(error_line(named).find("out_file.json: output " + (dir.path / "results.csv").string() + ": exists and is not a directory") !=
          std::string::npos);
  }
  SUBCASE("another sweep running in the directory: refused, and its experiment.json left alone") {
    fs::create_directories(dir.path / "out");
    write_text(dir.path / "out" / "experiment.json", "the running sweep's");
    // The running sweep's lock, as it leaves it: flocked, naming its pid.
    const int fd = ::open((dir.path / "out" / ".nnlab.lock").c_str(), O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    REQUIRE(::write(fd, "pid 4242\nhost h\n", 16) == 16);
    for (const auto& extra : std::vector<std::vector<std::string>>{{}, {"--report-only"}}) {
      std::vector<std::string> args = {exp, "--out", out};
      args.insert(args.end(), extra.begin(), extra.end());
      const ProcessResult r = compare(dir.path, args);
      CHECK(r.status == 1);
      CHECK(error_line(r).find("--out " + out + ": output directory '" + out +
                               "' is in use by another `nnlab compare` (pid 4242 on host h)") != std::string::npos);
      CHECK(slurp(dir.path / "out" / "experiment.json") == "the running sweep's");
      CHECK(files_under(dir.path / "out") == std::vector<std::string>{".nnlab.lock", "experiment.json"});
    }
    ::close(fd);
  }
}

TEST_CASE("compare's exit status: 1 when a run failed (and it is run again next time), 3 when runs diverged") {
  TempDir dir("compare");
  make_experiment(dir.path, R"({"base": "base.json", "sweep": {"model.input": [5]}, "seeds": [1, 2]})");
  const std::string out = (dir.path / "out").string();
  const ProcessResult failed = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out, "--jobs", "2"});
  CHECK(failed.status == 1);
  const std::string line = error_line(failed);
  CHECK(line.find("nnlab: error: 2 of 2 runs failed (input5_s1, input5_s2; first: input5_s1: ") == 0);
  CHECK(line.find("model.input is 5") != std::string::npos);
  CHECK(fs::exists(dir.path / "out" / "report.html"));  // the report is still written
  const ProcessResult again = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out, "--jobs", "2"});
  CHECK(again.status == 1);
  CHECK(again.output().find("input5_s1: failed last time") != std::string::npos);
  CHECK(json::parse(slurp(dir.path / "out" / "last_sweep.json"))["started"] == 2);

  write_text(dir.path / "div.json", R"({"base": "base.json", "sweep": {"optimizer.lr": [0.1, 1e30]}, "seeds": [1]})");
  const std::string out2 = (dir.path / "out2").string();
  const ProcessResult diverged = compare(dir.path, {(dir.path / "div.json").string(), "--out", out2, "--jobs", "2"});
  CHECK(diverged.status == 3);
  CHECK(error_line(diverged).find("nnlab: error: 1 of 2 runs diverged (lr1e30_s1); the report is complete") == 0);
  const ProcessResult report = compare(dir.path, {(dir.path / "div.json").string(), "--out", out2, "--report-only"});
  CHECK(report.status == 3);
  const ProcessResult help = compare(dir.path, {"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("Exit status: 0 every run finished ok; 1 ") != std::string::npos);
}

TEST_CASE("--report-only reads whatever the runs' files hold: absent columns, garbage cells, a damaged last_sweep.json") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  const ProcessResult first = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out.string(), "--jobs", "2"});
  REQUIRE(first.status == 0);
  auto metrics = [&](std::size_t i) { return run_directory(out, plan.runs[i]) / "metrics.csv"; };
  // No test_acc column (was a segfault); no epoch column; garbage cells and ragged rows.
  write_text(metrics(0), "epoch,train_loss\n1,0.5\n2,0.4\n");
  write_text(metrics(1), "train_loss,test_acc\n0.5,0.6\n0.4,0.7\n");
  write_text(metrics(2), "epoch,test_acc,w1_grad,act1_dead,act99999999999999999999_mean\nabc,1e999,-inf,nan,1\n2\n3,0.5,1,2,3,4,5,6\n");
  write_text(out / "last_sweep.json", R"({"total": "four"})");
  const ProcessResult r = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out.string(), "--report-only"});
  CHECK(r.signal == 0);
  CHECK(r.status == 0);
  CHECK(r.output().find((out / "last_sweep.json").string() + " is damaged (\"total\" is not a count)") != std::string::npos);
  const std::string html = slurp(out / "report.html");
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(html.find("Last invocation of the sweep") == std::string::npos);
  const std::string runs = slurp(out / "runs.csv");
  for (const auto& run : plan.runs) CHECK(runs.find(run.id + ",") != std::string::npos);

  // A damaged done.json (was nlohmann's type_error.302 / 306, naming nothing): the run is not
  // finished, and the error names the file and what is wrong with it.
  const fs::path done = run_directory(out, plan.runs[3]) / "done.json";
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {R"({"status": 3})", "no \"status\" string"},
           {R"({"status": "ok", "fingerprint": "x"})", "\"fingerprint\" is not"}}) {
    CAPTURE(text);
    write_text(done, text);
    const ProcessResult d = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out.string(), "--report-only"});
    CHECK(d.signal == 0);
    CHECK(d.status == 1);
    const std::string line = error_line(d);
    CHECK(line.find("type_error") == std::string::npos);
    CHECK(line.find("1 of 4 runs did not finish (" + plan.runs[3].id + "; " + plan.runs[3].id + ": " + done.string() +
                    " is damaged (" + why) != std::string::npos);
  }
}

TEST_CASE("SIGINT to `nnlab compare`: runs stop after their batch, nothing is half-written, exit 130; the rerun resumes them") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({
    "base": "base.json",
    "set": {"train.epochs": 40, "data.samples": 300},
    "activations": ["relu", "tanh", "elu"],
    "seeds": [1]
  })");
  const Plan plan = expand(e);
  const fs::path ref = dir.path / "ref", out = dir.path / "out";
  run_sweep(e, plan, options(ref, 2));
  write_report(e, plan, ref);

  // Two runs at a time; interrupt once both have completed an epoch (a checkpoint) and not finished.
  const std::vector<std::string> args = {"compare", (dir.path / "exp.json").string(), "--out", out.string(), "--jobs", "2",
                                         "--threads", "1"};
  Process p = start_nnlab(args, dir.path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool signalled = false;
  while (std::chrono::steady_clock::now() < deadline && !p.exited()) {
    int mid_run = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      const fs::path rd = run_directory(out, plan.runs[i]);
      mid_run += fs::exists(rd / "checkpoint.safetensors") && !fs::exists(rd / "done.json");
    }
    if (mid_run == 2) {
      p.kill(SIGINT);
      signalled = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const ProcessResult r = p.wait();
  REQUIRE(signalled);
  INFO(r.err);
  CHECK(r.signal == 0);
  CHECK(r.status == 130);
  CHECK(error_line(r).find("nnlab: error: interrupted by SIGINT: ") == 0);
  CHECK(r.output().find("SIGINT: stopping 2 running run(s)") != std::string::npos);
  CHECK(leftover_temporaries(out).empty());  // no metrics.csv.tmp.<pid>: the children were not killed mid-write
  int interrupted = 0;
  for (const auto& run : plan.runs) {
    const fs::path rd = run_directory(out, run);
    if (!fs::exists(rd / "attempt.json")) continue;
    ++interrupted;
    const json a = json::parse(slurp(rd / "attempt.json"));
    CHECK(a["status"] == "interrupted");
    CHECK(a["exit_code"] == 130);  // nnlab train stopped by the forwarded SIGINT, not killed
    CHECK(a["message"].get<std::string>().find("interrupted by SIGINT during epoch ") == 0);
    CHECK_FALSE(fs::exists(rd / "done.json"));
    CHECK(fs::exists(rd / "checkpoint.safetensors"));
  }
  CHECK(interrupted == 2);
  CHECK_FALSE(fs::exists(run_directory(out, plan.runs[2])));  // never started
  const json last = json::parse(slurp(out / "last_sweep.json"));
  CHECK(last["stop_signal"] == SIGINT);
  CHECK(last["interrupted"] == 2);

  // The same command again resumes the two from their checkpoints and runs the third.
  const ProcessResult again = run_nnlab(args, dir.path);
  INFO(again.output());
  CHECK(again.status == 0);
  CHECK(count_of(again.output(), ": interrupted last time; resuming it from its checkpoint") == 2);
  CHECK(json::parse(slurp(out / "last_sweep.json"))["resumed"] == 2);
  CHECK(without_timing(slurp(out / "runs.csv")) == without_timing(slurp(ref / "runs.csv")));
  for (const auto& run : plan.runs) CHECK_FALSE(fs::exists(run_directory(out, run) / "attempt.json"));
}

TEST_CASE("a newline in a path cannot plant an \"nnlab: error:\" line that compare takes for a run's outcome or message") {
  TempDir dir("compare");
  // The run fails on a data path holding a newline and a fake error line; nnlab train escapes it in
  // its one-line error, so the run's message is that one line, and its outcome the exit status.
  const std::string planted = "nnlab: error: training diverged at epoch 1 (planted)";
  make_experiment(dir.path, R"({"base": "base.json", "seeds": [1]})",
                  R"({"model": {"hidden": [4]}, "data": {"dataset": "mnist", "path": ")" + (dir.path / "missing").string() +
                      R"(\n)" + planted + R"("}, "train": {"epochs": 1}})");
  const std::string out = (dir.path / "out").string();
  const ProcessResult r = compare(dir.path, {(dir.path / "exp.json").string(), "--out", out});
  INFO(r.output());
  CHECK(r.status == 1);
  // compare's own error is one line, its last, and the only one that starts with the tag (the
  // planted text appears only escaped, inside lines).
  const auto lines = lines_of(r.err);
  REQUIRE_FALSE(lines.empty());
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("nnlab: error: ", 0) == 0; }) == 1);
  const std::string line = lines.back();
  CHECK(line.find("nnlab: error: 1 of 1 runs failed (s1; first: s1: ") == 0);
  CHECK(line.find("missing\\n" + planted) != std::string::npos);
  for (const auto& l : lines) CHECK(l.rfind(planted, 0) != 0);
  const fs::path run = dir.path / "out" / "runs" / "s1";
  CHECK_FALSE(fs::exists(run / "done.json"));
  const json a = json::parse(slurp(run / "attempt.json"));
  CHECK(a["status"] == "failed");
  CHECK(a["exit_code"] == 1);
  const std::string message = a["message"];
  CHECK(message.find("missing\\n" + planted) != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  const auto log = lines_of(slurp(run / "log.txt"));
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.rfind("nnlab: error: ", 0) == 0; }) == 1);
}
