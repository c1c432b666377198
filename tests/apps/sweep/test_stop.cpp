// Stopping a sweep (apps/sweep/runner.cpp): SIGINT/SIGTERM to the sweep is forwarded once to every
// running child, the children get stop_timeout seconds to stop, then SIGKILL (at once on a second
// signal); they are recorded as interrupted, not finished, and run_sweep() says which signal stopped
// it. Here the sweep runs in the test process and signals itself; stand-in children (shell scripts)
// stop cleanly, ignore the signal, or die of it. tests/apps/cli/test_compare.cpp does the same
// through the binary with real `nnlab train` children, resumed from their checkpoints.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "support/files.hpp"
#include "support/sweep.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// A stand-in nnlab: marks "$out/started" and then behaves as `body` says.
fs::path stand_in(const fs::path& dir, const std::string& body) {
  const fs::path fake = dir / "fake_nnlab.sh";
  write_text(fake, "#!/bin/sh\nout=\"\"\nprev=\"\"\nfor a in \"$@\"; do\n  [ \"$prev\" = \"--out\" ] && out=\"$a\"\n  prev=\"$a\"\ndone\n" +
                       body + "\n");
  fs::permissions(fake, fs::perms::owner_all);
  return fake;
}

// Sends `sig` to this process `times` times once every run of `plan` has written its "started" mark
// (so the sweep is in its loop), from a thread; gives up after 60 s.
class Signaller {
 public:
  Signaller(const fs::path& out, const Plan& plan, int sig, int times = 1)
      : thread_([=, this] {
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (std::chrono::steady_clock::now() < deadline && !stop_) {
            bool all = true;
            for (const auto& r : plan.runs) all = all && fs::exists(run_directory(out, r) / "started");
            if (all) {
              for (int i = 0; i < times; ++i) {
                if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
                ::kill(::getpid(), sig);
              }
              sent_ = true;
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        }) {}
  ~Signaller() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Whether it sent its signals (waits for the thread to finish).
  bool sent() {
    if (thread_.joinable()) thread_.join();
    return sent_;
  }

 private:
  std::atomic<bool> stop_{false}, sent_{false};
  std::thread thread_;
};

std::vector<std::string> sweep_log;

RunnerOptions stand_in_options(const fs::path& out, const fs::path& exe, double timeout) {
  RunnerOptions o = options(out, 2);
  o.executable = exe.string();
  o.stop_timeout = timeout;
  sweep_log.clear();
  o.log = [](const std::string& l) { sweep_log.push_back(l); };
  return o;
}

bool said(const std::string& what) {
  for (const auto& l : sweep_log)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

json attempt_of(const fs::path& out, const PlannedRun& r) {
  const fs::path p = run_directory(out, r) / "attempt.json";
  return fs::exists(p) ? json::parse(slurp(p)) : json();
}

}  // namespace

TEST_CASE("SIGTERM to the sweep: forwarded once to each run, which stops cleanly (exit 143); recorded as interrupted") {
  TempDir dir("stop");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1, 2, 3, 4]})");
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  // Counts the TERMs it gets (a second one would be the terminal's, or a double forward), then stops.
  const fs::path exe = stand_in(dir.path, R"(trap 'echo term >> "$out/terms"; sleep 0.3; echo "nnlab: error: interrupted by SIGTERM during epoch 1" >&2; exit 143' TERM
: > "$out/started"
while true; do sleep 0.05; done)");
  RunnerOptions o = stand_in_options(out, exe, 30);
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  SweepSummary s;
  {
    Signaller sig(out, {{}, {}, {plan.runs[0], plan.runs[1]}}, SIGTERM);
    s = run_sweep(e, plan, o);
    CHECK(sig.sent());
  }
  CHECK(s.stop_signal == SIGTERM);
  CHECK(s.started == 2);  // two at a time; the other two never started
  CHECK(s.interrupted == 2);
  CHECK(s.ok + s.failed + s.diverged == 0);
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(slurp(run_directory(out, plan.runs[i]) / "terms") == "term\n");  // exactly one TERM
    CHECK(attempt_of(out, plan.runs[i])["status"] == "interrupted");
    CHECK(attempt_of(out, plan.runs[i])["exit_code"] == 143);
    CHECK_FALSE(fs::exists(run_directory(out, plan.runs[i]) / "done.json"));
  }
  CHECK_FALSE(fs::exists(run_directory(out, plan.runs[2])));
  CHECK(said("SIGTERM: stopping 2 running run(s)"));
  // The sweep's own SIGTERM handling ended with it: what was there before is back.
  struct sigaction now {};
  ::sigaction(SIGTERM, nullptr, &now);
  CHECK((now.sa_handler == before.sa_handler));
}

TEST_CASE("runs that ignore the signal are killed after stop_timeout; a second signal kills them at once") {
  TempDir dir("stop");
  const Experiment e = make_experiment(dir.path, R"({"base": "base.json", "seeds": [1, 2]})");
  const Plan plan = expand(e);
  const fs::path exe = stand_in(dir.path, R"(trap '' INT TERM
: > "$out/started"
exec sleep 300)");
  SUBCASE("after the timeout") {
    const fs::path out = dir.path / "timeout";
    RunnerOptions o = stand_in_options(out, exe, 0.5);
    SweepSummary s;
    {
      Signaller sig(out, plan, SIGINT);
      s = run_sweep(e, plan, o);
      CHECK(sig.sent());
    }
    CHECK(s.stop_signal == SIGINT);
    CHECK(s.interrupted == 2);
    CHECK(said("the runs did not stop within 0.5 s: killing them"));
    for (const auto& r : plan.runs) CHECK(attempt_of(out, r)["message"] == "killed by SIGKILL");
  }
  SUBCASE("on a second signal") {
    const fs::path out = dir.path / "twice";
    RunnerOptions o = stand_in_options(out, exe, 300);
    SweepSummary s;
    {
      Signaller sig(out, plan, SIGINT, 2);
      s = run_sweep(e, plan, o);
      CHECK(sig.sent());
    }
    CHECK(s.stop_signal == SIGINT);
    CHECK(s.interrupted == 2);
    CHECK(said("second signal: killing the runs"));
    CHECK_FALSE(said("did not stop within"));
  }
}
