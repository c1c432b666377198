// The sweep runner (apps/sweep/runner.cpp): every run once, resumable (finished runs skipped,
// unfinished ones redone, stale ones after a base-config change), one sweep per directory, failures
// isolated, outcomes from exit status and log.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
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
  {
    const SweepLock held(out);
    CHECK_THROWS_WITH_AS(run_sweep(e, plan, options(out)), doctest::Contains("in use by another `nnlab compare` (pid "), Error);
    CHECK_FALSE(fs::exists(out / "runs"));
  }
  // A `nnlab train` holding the directory (the same lock) keeps a sweep out too.
  {
    const DirectoryLock train(out, "nnlab train");
    CHECK_THROWS_AS(run_sweep(e, plan, options(out)), Error);
  }
  CHECK(run_sweep(e, plan, options(out)).ok == 4);
  CHECK_FALSE(fs::exists(out / DirectoryLock::file_name));  // the holder removes it
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
  // A failed run is not finished: no done.json, its attempt.json says why, and every invocation runs
  // it again. A diverged run is a result: kept, unless asked.
  CHECK_FALSE(fs::exists(run_directory(out, plan.runs[2]) / "done.json"));
  const json attempt = json::parse(slurp(run_directory(out, plan.runs[2]) / "attempt.json"));
  CHECK(attempt["status"] == "failed");
  CHECK(attempt["exit_code"] == 1);
  const SweepSummary again = run_sweep(e, plan, options(out));
  CHECK(again.skipped == 2);
  CHECK(again.started == 2);
  CHECK(again.failed == 2);
  RunnerOptions retry = options(out);
  retry.retry_diverged = true;
  CHECK(run_sweep(e, plan, retry).started == 3);
}

namespace {

// A stand-in for the nnlab binary: a shell script whose behaviour depends on the seed in its --set
// arguments; `$out` is its --out directory. An ok run writes a metrics.csv, as nnlab train does.
fs::path stand_in(const fs::path& dir, const std::string& cases) {
  const fs::path fake = dir / "fake_nnlab.sh";
  write_text(fake, R"(#!/bin/sh
out=""
prev=""
for a in "$@"; do
  [ "$prev" = "--out" ] && out="$a"
  prev="$a"
done
ok() { printf 'epoch,train_loss,test_acc\n1,0.5,0.9\n' > "$out/metrics.csv"; exit 0; }
case "$*" in
)" + cases + R"(
esac
)");
  fs::permissions(fake, fs::perms::owner_all);
  return fake;
}

}  // namespace

TEST_CASE("runner outcomes come from the exit status, never from text in the log a child (or a key) can plant") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})");
  const Plan plan = expand(e);
  RunnerOptions o = options(dir.path / "out");
  o.executable = stand_in(dir.path, R"(
  *train.seed=10*) printf 'nnlab: error: unknown key a\nnnlab: error: training diverged\n' >&2; exit 1 ;;
  *train.seed=1*) echo "epoch 1 ..."; ok ;;
  *train.seed=2*) echo "nnlab: error: training diverged in epoch 2" >&2; exit 3 ;;
  *train.seed=3*) echo "nnlab: error: cannot open data" >&2; exit 1 ;;
  *train.seed=4*) echo "nnlab: error: interrupted by SIGINT during epoch 2; continue with: nnlab train --resume x" >&2; exit 130 ;;
  *train.seed=5*) kill -9 $$ ;;
  *train.seed=6*) printf 'nnlab: error: bad key x\nnnlab: error: interrupted by SIGINT during epoch 2\n' >&2; exit 1 ;;
  *train.seed=7*) exit 3 ;;
  *train.seed=8*) kill -SEGV $$ ;;
  *train.seed=9*) printf 'nnlab: error: tab\there, bell \007, cr \r end\n' >&2; exit 1 ;;)").string();
  const SweepSummary s = run_sweep(e, plan, o);
  CHECK(s.ok == 1);
  CHECK(s.diverged == 2);
  CHECK(s.failed == 5);
  CHECK(s.interrupted == 2);
  auto record = [&](int seed, const char* file) {
    const fs::path p = run_directory(o.out, plan.runs[static_cast<std::size_t>(seed - 1)]) / file;
    return fs::exists(p) ? json::parse(slurp(p)) : json();
  };
  CHECK(record(1, "done.json")["status"] == "ok");
  CHECK(record(2, "done.json")["status"] == "diverged");
  CHECK(record(2, "done.json")["message"] == "training diverged in epoch 2");
  CHECK(record(3, "attempt.json")["status"] == "failed");
  CHECK(record(3, "attempt.json")["message"] == "cannot open data");
  CHECK(record(4, "attempt.json")["status"] == "interrupted");
  CHECK(record(5, "attempt.json")["status"] == "interrupted");
  CHECK(record(5, "attempt.json")["message"] == "killed by SIGKILL");
  // A planted "interrupted" or "diverged" line does not change what the exit status says.
  CHECK(record(6, "attempt.json")["status"] == "failed");
  CHECK(record(10, "attempt.json")["status"] == "failed");
  CHECK(record(7, "done.json")["status"] == "diverged");
  CHECK(record(7, "done.json")["message"] == "exit code 3");
  CHECK(record(8, "attempt.json")["status"] == "failed");
  CHECK(record(8, "attempt.json")["message"] == "crashed: killed by SIGSEGV");
  CHECK(record(9, "attempt.json")["message"] == "tab\\there, bell \\x07, cr \\r end");
  for (int seed : {3, 4, 5, 6, 8, 9, 10}) CHECK_FALSE(record(seed, "done.json").is_object());
  CHECK(slurp(run_directory(o.out, plan.runs[0]) / "log.txt") == "epoch 1 ...\n");
  // The next invocation reruns exactly the runs that did not finish.
  const SweepSummary again = run_sweep(e, plan, o);
  CHECK(again.skipped == 3);
  CHECK(again.started == 7);
}

TEST_CASE("error_message: the last line that starts with the tag, escaped and cut to one bounded line") {
  CHECK(error_message("") == "");
  CHECK(error_message("epoch 1\n") == "");
  CHECK(error_message("nnlab: error: a\nnnlab: error: b\n") == "b");
  CHECK(error_message("nnlab: error: only\n") == "only");
  CHECK(error_message("nnlab: error: no newline at the end") == "no newline at the end");
  // Not at the start of a line: not an error line (the tag quoted in some other output).
  CHECK(error_message("nnlab: error: real\nsaid 'nnlab: error: quoted'\n") == "real");
  const std::string huge = error_message("nnlab: error: " + std::string(100000, 'x') + "\n");
  CHECK(huge.size() == kMaxMessage + 3);
  CHECK(huge.substr(huge.size() - 3) == "...");
  // Cut inside a multi-byte character: the partial character is dropped, the text stays UTF-8.
  const std::string utf8 = error_message("nnlab: error: " + std::string(kMaxMessage - 1, 'x') + "\xc3\xa9\xc3\xa9\n");
  CHECK(utf8 == std::string(kMaxMessage - 1, 'x') + "...");
  CHECK_NOTHROW((void)json(utf8).dump());
  // Bytes that are not UTF-8 (which would make writing done.json throw) are escaped.
  CHECK(error_message("nnlab: error: bad \xff byte, overlong \xc0\xaf, cut \xe2\x82\n") == "bad \\xff byte, overlong \\xc0\\xaf, cut \\xe2\\x82");
  CHECK(error_message("nnlab: error: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82\n") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
}

TEST_CASE("damaged or stale records make a run not finished, with the file and the reason named; never an exception") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1]})");
  const Plan plan = expand(e);
  const PlannedRun& run = plan.runs[0];
  const fs::path out = dir.path / "out", rd = run_directory(out, run);
  fs::create_directories(rd);
  write_text(rd / "metrics.csv", "epoch,test_acc\n1,0.5\n");
  const json fp = run_fingerprint(e, run);
  const json good = {{"id", run.id}, {"status", "ok"}, {"exit_code", 0}, {"message", ""}, {"seconds", 1.5},
                     {"threads", 1}, {"command", json::array()}, {"fingerprint", fp}};
  write_text(rd / "done.json", good.dump());
  REQUIRE(read_done(rd, fp));
  CHECK(read_done(rd, fp)->seconds == 1.5);

  struct Case {
    std::string text, why;
  };
  auto with = [&](const char* key, json v) {
    json d = good;
    d[key] = std::move(v);
    return d.dump();
  };
  json stale = good;
  stale["fingerprint"]["base_hash"] = "0000";
  json bad_overrides = good;
  bad_overrides["fingerprint"]["overrides"] = {1, 2};
  const std::vector<Case> cases = {
      {"", "is damaged (not valid JSON)"},
      {"{\"status\": \"ok\", ", "is damaged (not valid JSON)"},
      {"[]", "is damaged (not a JSON object)"},
      {std::string(100000, '[') + std::string(100000, ']'), "is damaged (not valid JSON)"},
      {with("status", 3), "no \"status\" string"},                        // was type_error.302
      {with("status", "done"), "\"status\" is not ok or diverged"},
      {with("status", "failed"), "it failed last time"},                  // an earlier nnlab's failure record
      {with("fingerprint", "x"), "\"fingerprint\" is not"},               // was type_error.306
      {bad_overrides.dump(), "\"fingerprint\" is not"},
      {with("exit_code", "1"), "\"exit_code\" is not an exit status"},   // was type_error.302
      {with("exit_code", 1e300), "\"exit_code\" is not an exit status"},
      {with("message", 5), "\"message\" is not a string"},
      {with("seconds", "x"), "\"seconds\" is not a duration"},
      {with("seconds", -1), "\"seconds\" is not a duration"},
      {with("threads", -5), "\"threads\" is not 0 to 1024"},
      {with("threads", 1e10), "\"threads\" is not 0 to 1024"},
      {stale.dump(), "the base config changed since it ran"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text.substr(0, 80));
    write_text(rd / "done.json", c.text);
    std::string why;
    std::optional<RunStatus> got;
    CHECK_NOTHROW(got = read_done(rd, fp, &why));
    CHECK_FALSE(got);
    CHECK(why.find(c.why) != std::string::npos);
    if (why.find("damaged") != std::string::npos) CHECK(why.find((rd / "done.json").string()) != std::string::npos);
    // The report reads it as a run to do again, with the reason; it does not throw.
    std::vector<RunResult> results;
    CHECK_NOTHROW(results = collect_results(e, plan, out));
    REQUIRE(results.size() == 1);
    CHECK(results[0].status == "missing");
  }
  // An ok run whose metrics are gone is lost, not finished.
  write_text(rd / "done.json", good.dump());
  fs::remove(rd / "metrics.csv");
  std::string why;
  CHECK_FALSE(read_done(rd, fp, &why));
  CHECK(why == (rd / "metrics.csv").string() + " is missing or holds no epoch");
  write_text(rd / "metrics.csv", "epoch,test_acc\n");
  CHECK_FALSE(read_done(rd, fp));
  fs::create_directories(rd / "metrics.csv.d");
  // attempt.json is read the same way, and only says "failed" or "interrupted".
  json attempt = good;
  attempt["status"] = "interrupted";
  write_text(rd / "attempt.json", attempt.dump());
  REQUIRE(read_attempt(rd, fp));
  CHECK(read_attempt(rd, fp)->status == "interrupted");
  attempt["status"] = "ok";
  write_text(rd / "attempt.json", attempt.dump());
  CHECK_FALSE(read_attempt(rd, fp, &why));
  CHECK(why.find("\"status\" is not failed or interrupted") != std::string::npos);
}

TEST_CASE("a sweep over damaged records redoes those runs and says which file was wrong") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1, 2, 3, 4]})");
  const Plan plan = expand(e);
  RunnerOptions o = options(dir.path / "out");
  o.executable = stand_in(dir.path, "  *) ok ;;").string();
  REQUIRE(run_sweep(e, plan, o).ok == 4);
  auto rd = [&](int i) { return run_directory(o.out, plan.runs[static_cast<std::size_t>(i)]); };
  write_text(rd(0) / "done.json", "{not json");
  json d1 = json::parse(slurp(rd(1) / "done.json"));
  d1["status"] = 3;
  write_text(rd(1) / "done.json", d1.dump());
  json d2 = json::parse(slurp(rd(2) / "done.json"));
  d2["fingerprint"] = "x";
  write_text(rd(2) / "done.json", d2.dump());
  fs::remove(rd(3) / "metrics.csv");
  std::vector<std::string> log;
  o.log = [&](const std::string& l) { log.push_back(l); };
  SweepSummary s;
  CHECK_NOTHROW(s = run_sweep(e, plan, o));
  CHECK(s.started == 4);
  CHECK(s.ok == 4);
  auto said = [&](const std::string& what) {
    for (const auto& l : log)
      if (l.find(what) != std::string::npos) return true;
    return false;
  };
  CHECK(said(plan.runs[0].id + ": " + (rd(0) / "done.json").string() + " is damaged (not valid JSON); running it again"));
  CHECK(said((rd(1) / "done.json").string() + " is damaged (no \"status\" string)"));
  CHECK(said((rd(2) / "done.json").string() + " is damaged (\"fingerprint\""));
  CHECK(said((rd(3) / "metrics.csv").string() + " is missing or holds no epoch"));
}

TEST_CASE("last_sweep.json read back: every count checked, a damaged file is named and left out") {
  TempDir dir("compare");
  SweepSummary w;
  w.total = 4, w.started = 3, w.skipped = 1, w.ok = 2, w.failed = 1, w.seconds = 2.5, w.jobs = 2, w.threads = 1;
  write_last_sweep(dir.path, w);
  const auto back = read_last_sweep(dir.path);
  REQUIRE(back);
  CHECK(back->total == 4);
  CHECK(back->failed == 1);
  CHECK(back->seconds == 2.5);
  std::string why;
  CHECK_FALSE(read_last_sweep(dir.path / "nowhere", &why));
  CHECK(why.rfind("no ", 0) == 0);
  const json good = json::parse(slurp(dir.path / "last_sweep.json"));
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{
           {"total", "4"}, {"ok", -1}, {"jobs", 1e300}, {"threads", 2.5}, {"seconds", "x"}, {"seconds", -1}}) {
    CAPTURE(key);
    json d = good;
    d[key] = value;
    write_text(dir.path / "last_sweep.json", d.dump());
    CHECK_FALSE(read_last_sweep(dir.path, &why));
    CHECK(why.find((dir.path / "last_sweep.json").string() + " is damaged (\"" + key + "\"") == 0);
  }
  write_text(dir.path / "last_sweep.json", "[[[");
  CHECK_FALSE(read_last_sweep(dir.path, &why));
  CHECK(why.find("not valid JSON") != std::string::npos);
}

TEST_CASE("--jobs and --threads are checked: the option, the value and the nearest valid one") {
  CHECK_THROWS_WITH_AS(check_parallelism(0, 5000), doctest::Contains("--threads 5000: expected 0 (cores / jobs) to 1024"), ConfigError);
  CHECK_THROWS_WITH_AS(check_parallelism(0, 5000), doctest::Contains("the nearest valid value is 1024"), ConfigError);
  CHECK_THROWS_WITH_AS(check_parallelism(-1, 0), doctest::Contains("--jobs -1: expected 0"), ConfigError);
  CHECK_THROWS_WITH_AS(check_parallelism(-1, 0), doctest::Contains("the nearest valid value is 0"), ConfigError);
  CHECK_NOTHROW(check_parallelism(max_jobs, max_threads));
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  RunnerOptions o = options(dir.path / "out");
  o.threads = 5000;
  CHECK_THROWS_AS(run_sweep(e, expand(e), o), ConfigError);
  CHECK_FALSE(fs::exists(dir.path / "out" / "runs"));
}

TEST_CASE("a SweepLock names a path that is not a directory, and another sweep holding it") {
  TempDir dir("compare");
  write_text(dir.path / "file", "x");
  CHECK_THROWS_WITH_AS(SweepLock(dir.path / "file", "--out file"),
                       doctest::Contains("--out file: exists and is not a directory"), Error);
  CHECK_THROWS_WITH_AS(SweepLock(dir.path / "file" / "sub", "--out file/sub"),
                       doctest::Contains("--out file/sub: cannot create the directory: "), Error);
  const SweepLock held(dir.path / "out");
  const std::string refused = "--out out: output directory '" + (dir.path / "out").string() +
                              "' is in use by another `nnlab compare` (pid " + std::to_string(::getpid());
  CHECK_THROWS_WITH_AS(SweepLock(dir.path / "out", "--out out"), doctest::Contains(refused.c_str()), Error);
}
