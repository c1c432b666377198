// Running a sweep as child processes (see report_runner.hpp).
#include "apps/sweep/runner.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

#include "core/error.hpp"
#include "core/io/fileio.hpp"

namespace nnlab::report {

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bit, as hex: a content hash for the fingerprint (not for security).
std::string content_hash(const std::string& bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string seconds_text(double s) {
  char buf[32];
  if (s < 120) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return buf;
}

// The final test accuracy in a run's metrics.csv, or "" (for progress lines).
std::string final_test_acc(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "metrics.csv", ec)) return "";
  const std::string text = read_file(dir / "metrics.csv");
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() < 2) return "";
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::size_t b = 0;
    while (true) {
      const auto c = l.find(',', b);
      cells.push_back(l.substr(b, c == std::string::npos ? std::string::npos : c - b));
      if (c == std::string::npos) break;
      b = c + 1;
    }
    return cells;
  };
  const auto header = split(lines.front()), last = split(lines.back());
  for (std::size_t i = 0; i < header.size() && i < last.size(); ++i)
    if (header[i] == "test_acc") return last[i];
  return "";
}

// Holds an exclusive flock on DIR/.lock for the lifetime of the sweep.
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path& dir) {
    const fs::path p = dir / ".lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(p.string() + ": cannot open: " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(dir.string() + ": another `nnlab compare` is running in this directory");
    }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// Start `exe args...` with stdout and stderr going to `log`. Everything the child needs is prepared
// before fork(), so the child only makes async-signal-safe calls before exec.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all;
  all.push_back(exe);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw Error(log.string() + ": cannot create: " + std::strerror(errno));
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    ::close(out);
    if (in >= 0) ::close(in);
    throw Error("cannot start a run: fork failed: " + why);
  }
  if (pid == 0) {
    // Die with the sweep, at once: a killed sweep must not leave runs writing into directories the
    // next invocation deletes (SIGKILL, not SIGTERM, which nnlab train catches to stop cleanly).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(exe.c_str(), argv.data());
    const char msg[] = "nnlab: error: cannot execute the nnlab binary\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(out);
  if (in >= 0) ::close(in);
  return pid;
}

}  // namespace

fs::path run_directory(const fs::path& out, const PlannedRun& run) { return out / "runs" / run.id; }

std::vector<std::string> run_arguments(const Experiment& e, const PlannedRun& run, const fs::path& out, int threads) {
  std::vector<std::string> a = {"train", e.base.string()};
  for (const auto& o : run.overrides) a.insert(a.end(), {"--set", o});
  a.insert(a.end(), {"--set", "train.threads=" + std::to_string(threads), "--diagnostics", "--out",
                     run_directory(out, run).string()});
  return a;
}

json run_fingerprint(const Experiment& e, const PlannedRun& run) {
  return {{"base", e.base.string()}, {"base_hash", content_hash(read_file(e.base, "base config"))}, {"overrides", run.overrides}};
}

std::optional<RunStatus> read_done(const fs::path& run_dir, const json& fingerprint, std::string* why) {
  auto reason = [&](const std::string& r) -> std::optional<RunStatus> {
    if (why) *why = r;
    return std::nullopt;
  };
  std::error_code ec;
  if (!fs::exists(run_dir / "done.json", ec)) return reason("not finished");
  json d;
  try {
    d = json::parse(read_file(run_dir / "done.json"));
  } catch (const std::exception&) {
    return reason("done.json is unreadable");
  }
  if (!d.is_object() || !d.contains("status") || !d.contains("fingerprint")) return reason("done.json is incomplete");
  const json& f = d["fingerprint"];
  if (f.value("base", "") != fingerprint["base"]) return reason("the base config path changed");
  if (f.value("base_hash", "") != fingerprint["base_hash"]) return reason("the base config changed");
  if (f.value("overrides", json::array()) != fingerprint["overrides"]) return reason("the overrides changed");
  RunStatus s;
  s.status = d["status"].get<std::string>();
  s.exit_code = d.value("exit_code", 0);
  s.message = d.value("message", "");
  s.seconds = d.value("seconds", 0.0);
  s.threads = d.value("threads", 0);
  return s;
}

std::string error_message(const std::string& log) {
  const std::string tag = "nnlab: error: ";
  const auto at = log.rfind(tag);
  if (at == std::string::npos) return "";
  const auto end = log.find('\n', at);
  return log.substr(at + tag.size(), end == std::string::npos ? std::string::npos : end - at - tag.size());
}

SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  SweepSummary sum;
  sum.total = static_cast<int>(plan.runs.size());
  sum.jobs = o.jobs > 0 ? o.jobs : cores;
  sum.threads = o.threads > 0 ? o.threads : std::max(1, cores / sum.jobs);
  const std::string exe = o.executable.empty() ? fs::read_symlink("/proc/self/exe").string() : o.executable;

  fs::create_directories(o.out / "runs");
  DirectoryLock lock(o.out);

  // What is left to do.
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun& r = plan.runs[i];
    const fs::path dir = run_directory(o.out, r);
    std::string why;
    const auto done = read_done(dir, run_fingerprint(e, r), &why);
    if (done && !(o.retry_failed && done->status != "ok")) {
      ++sum.skipped;
      continue;
    }
    std::error_code ec;
    if (fs::exists(dir, ec)) {
      if (done) say(r.id + ": retrying the " + done->status + " run");
      else if (why == "not finished") say(r.id + ": unfinished (interrupted?); starting it again from scratch");
      else say(r.id + ": " + why + " since it ran; running it again");
      fs::remove_all(dir);  // partial or stale: start from scratch
    }
    pending.push_back(i);
  }
  if (sum.skipped) say(std::to_string(sum.skipped) + " of " + std::to_string(sum.total) + " runs already finished (skipped)");
  sum.jobs = std::max(1, std::min<int>(sum.jobs, static_cast<int>(pending.size())));
  if (!pending.empty())
    say("running " + std::to_string(pending.size()) + " runs, " + std::to_string(sum.jobs) + " at a time, " +
        std::to_string(sum.threads) + " thread(s) each");

  struct Running {
    std::size_t index;
    std::chrono::steady_clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::size_t next = 0;
  int finished = sum.skipped;
  while (next < pending.size() || !running.empty()) {
    while (next < pending.size() && static_cast<int>(running.size()) < sum.jobs) {
      const PlannedRun& r = plan.runs[pending[next++]];
      const fs::path dir = run_directory(o.out, r);
      fs::create_directories(dir);
      const pid_t pid = spawn(exe, run_arguments(e, r, o.out, sum.threads), dir / "log.txt");
      running[pid] = {static_cast<std::size_t>(&r - plan.runs.data()), std::chrono::steady_clock::now()};
      ++sum.started;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("waiting for runs failed: ") + std::strerror(errno));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const PlannedRun& r = plan.runs[it->second.index];
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.start).count();
    running.erase(it);
    const fs::path dir = run_directory(o.out, r);
    ++finished;
    const std::string counter = "[" + std::to_string(finished) + "/" + std::to_string(sum.total) + "] ";

    if (WIFSIGNALED(status)) {
      // Interrupted, not finished: no done.json, so the next invocation runs it again.
      ++sum.interrupted;
      say(counter + r.id + ": killed by signal " + std::to_string(WTERMSIG(status)) + " (will be rerun next time)");
      continue;
    }
    RunStatus s;
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    s.seconds = seconds;
    s.threads = sum.threads;
    if (s.exit_code == 0) {
      s.status = "ok";
      ++sum.ok;
    } else {
      std::string log;
      try {
        log = read_file(dir / "log.txt");
      } catch (const Error&) {
      }
      s.message = error_message(log);
      if (s.message.rfind("interrupted", 0) == 0) {
        // nnlab train caught SIGINT/SIGTERM and stopped cleanly: interrupted, not finished.
        ++sum.interrupted;
        say(counter + r.id + ": " + s.message.substr(0, s.message.find(';')) + " (will be rerun next time)");
        continue;
      }
      if (s.message.empty()) s.message = "exit code " + std::to_string(s.exit_code);
      s.status = s.message.find("diverged") != std::string::npos ? "diverged" : "failed";
      (s.status == "diverged" ? sum.diverged : sum.failed)++;
    }
    std::vector<std::string> command = {exe};
    const auto args = run_arguments(e, r, o.out, sum.threads);
    command.insert(command.end(), args.begin(), args.end());
    const json done = {{"id", r.id},           {"status", s.status},   {"exit_code", s.exit_code},
                       {"message", s.message}, {"seconds", s.seconds}, {"threads", s.threads},
                       {"command", command},   {"fingerprint", run_fingerprint(e, r)}};
    write_file_atomic(dir / "done.json", done.dump(2) + "\n");
    std::string line = counter + r.id + ": " + s.status + " in " + seconds_text(seconds);
    if (s.status == "ok") {
      const std::string acc = final_test_acc(dir);
      if (!acc.empty()) line += ", final test acc " + acc;
    } else {
      line += ": " + s.message;
    }
    say(line);
  }
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace nnlab::report
