// Running a sweep as child processes (see runner.hpp).
#include "apps/sweep/runner.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <thread>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/json_parse.hpp"
#include "core/run/metrics.hpp"

namespace nnlab::report {

using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGKILL: return "SIGKILL";
    case SIGHUP: return "SIGHUP";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal " + std::to_string(sig);
  }
}

// A run's metrics.csv: its table, or nothing when it is absent or cannot be read (never throws).
std::optional<MetricsTable> read_metrics(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "metrics.csv", ec)) return std::nullopt;
  try {
    return parse_metrics_csv(read_file(dir / "metrics.csv", "metrics"));
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The final test accuracy in a run's metrics.csv, or "" (for progress lines).
std::string final_test_acc(const fs::path& dir) {
  const auto m = read_metrics(dir);
  if (!m) return "";
  const double acc = m->last("test_acc");
  if (!std::isfinite(acc)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", acc);
  return buf;
}

// ---- records: done.json, attempt.json ------------------------------------------------------

constexpr const char* kDone = "done.json";
constexpr const char* kAttempt = "attempt.json";

std::optional<RunStatus> no(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return std::nullopt;
}

bool is_int(const json& j, std::int64_t lo, std::int64_t hi) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi);
  return j.is_number_integer() && j.get<std::int64_t>() >= lo && j.get<std::int64_t>() <= hi;
}

bool is_string_list(const json& j) {
  return j.is_array() && std::all_of(j.begin(), j.end(), [](const json& v) { return v.is_string(); });
}

// A record read back: nothing, with the reason naming the file, when it is absent, unreadable, not
// JSON, has a field of the wrong type, a status not in `statuses`, or another fingerprint.
std::optional<RunStatus> read_record(const fs::path& file, const json& fingerprint, const std::vector<std::string>& statuses,
                                     std::string* why) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return no(why, "no " + file.filename().string());
  const std::string damaged = file.string() + " is damaged (";
  if (!fs::is_regular_file(file, ec)) return no(why, damaged + "not a regular file)");
  json d;
  try {
    d = parse_json(read_file(file, "record"));
  } catch (const Error& e) {
    return no(why, file.string() + " is unreadable (" + e.what() + ")");
  } catch (const json::exception&) {
    return no(why, damaged + "not valid JSON)");
  }
  if (!d.is_object()) return no(why, damaged + "not a JSON object)");
  if (!d.contains("status") || !d["status"].is_string()) return no(why, damaged + "no \"status\" string)");
  RunStatus s;
  s.status = d["status"].get<std::string>();
  if (std::find(statuses.begin(), statuses.end(), s.status) == statuses.end()) {
    if (s.status == "failed") return no(why, "it failed last time");  // done.json of an earlier nnlab
    return no(why, damaged + "\"status\" is not " + join(statuses, " or ") + ")");
  }
  const json* f = d.contains("fingerprint") ? &d["fingerprint"] : nullptr;
  if (!f || !f->is_object() || !f->contains("base") || !(*f)["base"].is_string() || !f->contains("base_hash") ||
      !(*f)["base_hash"].is_string() || !f->contains("overrides") || !is_string_list((*f)["overrides"]))
    return no(why, damaged + "\"fingerprint\" is not {\"base\": string, \"base_hash\": string, \"overrides\": [strings]})");
  if ((*f)["base"] != fingerprint["base"]) return no(why, "the base config path changed since it ran");
  if ((*f)["base_hash"] != fingerprint["base_hash"]) return no(why, "the base config changed since it ran");
  if ((*f)["overrides"] != fingerprint["overrides"]) return no(why, "its overrides changed since it ran");
  if (d.contains("exit_code")) {
    if (!is_int(d["exit_code"], -1, 255)) return no(why, damaged + "\"exit_code\" is not an exit status)");
    s.exit_code = d["exit_code"].get<int>();
  }
  if (d.contains("message")) {
    if (!d["message"].is_string()) return no(why, damaged + "\"message\" is not a string)");
    s.message = d["message"].get<std::string>();
  }
  if (d.contains("seconds")) {
    const json& t = d["seconds"];
    if (!t.is_number() || !(t.get<double>() >= 0) || !std::isfinite(t.get<double>()))
      return no(why, damaged + "\"seconds\" is not a duration)");
    s.seconds = t.get<double>();
  }
  if (d.contains("threads")) {
    if (!is_int(d["threads"], 0, max_threads)) return no(why, damaged + "\"threads\" is not 0 to " + std::to_string(max_threads) + ")");
    s.threads = d["threads"].get<int>();
  }
  return s;
}

void write_record(const fs::path& dir, const char* name, const PlannedRun& r, const RunStatus& s,
                  const std::vector<std::string>& command, const json& fingerprint) {
  const json rec = {{"id", r.id},           {"status", s.status},   {"exit_code", s.exit_code},
                    {"message", s.message}, {"seconds", s.seconds}, {"threads", s.threads},
                    {"command", command},   {"fingerprint", fingerprint}};
  // Paths need not be UTF-8: replace what is not, rather than throw (nlohmann's type_error.316).
  write_file_atomic(dir / name, rec.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

// ---- signals -------------------------------------------------------------------------------

std::atomic<int> g_stop_signal{0};  // the first SIGINT/SIGTERM received
std::atomic<int> g_stop_count{0};   // how many
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  g_stop_signal.compare_exchange_strong(expected, sig);
  g_stop_count.fetch_add(1);
}

// Catches SIGINT and SIGTERM for its lifetime (a signal that was ignored stays ignored), then
// restores what was there.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    g_stop_count = 0;
    for (std::size_t i = 0; i < 2; ++i) {
      struct sigaction old {};
      ::sigaction(kSignals[i], nullptr, &old);
      saved_[i] = old;
      if (old.sa_handler == SIG_IGN) continue;
      struct sigaction sa {};
      sa.sa_handler = on_stop_signal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = 0;  // no SA_RESTART: a sleep returns early
      ::sigaction(kSignals[i], &sa, nullptr);
    }
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < 2; ++i) ::sigaction(kSignals[i], &saved_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};
  struct sigaction saved_[2] {};
};

// Start `exe args...` with stdout and stderr going to `log` (appended to: a resumed run's log keeps
// what it said before), in a process group of its own. Everything
// the child needs is prepared before fork(), so the child only makes async-signal-safe calls before exec.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const fs::path& log, bool append) {
  std::vector<std::string> all;
  all.push_back(exe);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment without an MPI launcher's variables: under mpirun the sweep is a rank, its runs
  // are not (with them, nnlab train would try to join the job).
  std::vector<char*> envp;
  for (char** v = environ; *v; ++v) {
    const std::string_view var(*v);
    if (var.starts_with("OMPI_") || var.starts_with("PMIX_") || var.starts_with("PMI_")) continue;
    envp.push_back(*v);
  }
  envp.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
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
    // Its own process group: a Ctrl-C in the terminal reaches the sweep only, which forwards it once.
    ::setpgid(0, 0);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execve(exe.c_str(), argv.data(), envp.data());
    const char msg[] = "nnlab: error: cannot execute the nnlab binary\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so it holds before the parent signals the child (either may run first)
  ::close(out);
  if (in >= 0) ::close(in);
  return pid;
}

}  // namespace

// ---- public --------------------------------------------------------------------------------

void check_parallelism(int jobs, int threads) {
  if (jobs < 0 || jobs > max_jobs)
    throw ConfigError("--jobs " + std::to_string(jobs) + ": expected 0 (one run per core) to " + std::to_string(max_jobs) +
                      " runs at once; the nearest valid value is " + std::to_string(jobs < 0 ? 0 : max_jobs));
  if (threads < 0 || threads > max_threads)
    throw ConfigError("--threads " + std::to_string(threads) + ": expected 0 (cores / jobs) to " + std::to_string(max_threads) +
                      " threads per run (the range of train.threads); the nearest valid value is " +
                      std::to_string(threads < 0 ? 0 : max_threads));
}

SweepLock::SweepLock(const fs::path& dir, const std::string& what) {
  const std::string name = what.empty() ? dir.string() : what;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(name + ": exists and is not a directory; give a directory for the sweep (it is created if it does not exist)");
  fs::create_directories(dir, ec);
  if (ec) throw Error(name + ": cannot create the directory: " + ec.message());
  // The lock `nnlab train` takes on its --out too (DIR/.nnlab.lock): a sweep and a train, or two
  // sweeps, never share a directory; the refusal names the holder's pid and host.
  try {
    lock_.emplace(dir, "`nnlab compare`");
  } catch (const Error& e) {
    throw Error(name + ": " + e.what(), e.exit_status);
  }
}

SweepLock::~SweepLock() = default;

fs::path run_directory(const fs::path& out, const PlannedRun& run) { return out / "runs" / run.id; }

std::vector<std::string> run_arguments(const Experiment& e, const PlannedRun& run, const fs::path& out, int threads,
                                       bool resume) {
  std::vector<std::string> a = {"train", e.base.string()};
  for (const auto& o : run.overrides) a.insert(a.end(), {"--set", o});
  a.insert(a.end(), {"--set", "train.threads=" + std::to_string(threads), "--diagnostics", "--out",
                     run_directory(out, run).string()});
  if (resume) a.insert(a.end(), {"--resume", run_directory(out, run).string()});
  return a;
}

json run_fingerprint(const Experiment& e, const PlannedRun& run) {
  return {{"base", e.base.string()}, {"base_hash", content_hash(read_file(e.base, "base config"))}, {"overrides", run.overrides}};
}

std::optional<RunStatus> read_done(const fs::path& run_dir, const json& fingerprint, std::string* why) {
  auto s = read_record(run_dir / kDone, fingerprint, {"ok", "diverged"}, why);
  if (s && s->status == "ok") {
    // A finished run's result is its metrics: without them it is lost, and the run is done again.
    const auto m = read_metrics(run_dir);
    if (!m || m->rows.empty()) return no(why, (run_dir / "metrics.csv").string() + " is missing or holds no epoch");
  }
  return s;
}

std::optional<RunStatus> read_attempt(const fs::path& run_dir, const json& fingerprint, std::string* why) {
  return read_record(run_dir / kAttempt, fingerprint, {"failed", "interrupted"}, why);
}

std::string error_message(const std::string& log) {
  const std::string tag = "nnlab: error: ";
  std::size_t at = std::string::npos;
  for (std::size_t pos = 0; pos <= log.size();) {  // the last line that starts with the tag
    if (log.compare(pos, tag.size(), tag) == 0) at = pos;
    const auto nl = log.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (at == std::string::npos) return "";
  const auto end = log.find('\n', at);
  const std::string text = log.substr(at + tag.size(), end == std::string::npos ? std::string::npos : end - at - tag.size());
  // Copy whole UTF-8 characters; escape control characters and bytes that are not UTF-8 (the
  // message goes into JSON and onto a terminal); stop before kMaxMessage bytes.
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len > 1) {
      const bool complete = i + len <= text.size() &&
                            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i + 1), text.begin() + static_cast<std::ptrdiff_t>(i + len),
                                        [](char b) { return (static_cast<unsigned char>(b) & 0xC0) == 0x80; });
      const unsigned char c1 = complete ? static_cast<unsigned char>(text[i + 1]) : 0;
      // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
      const bool valid = complete && !(len == 2 && c < 0xC2) && !(len == 3 && c == 0xE0 && c1 < 0xA0) &&
                         !(len == 3 && c == 0xED && c1 >= 0xA0) && !(len == 4 && c == 0xF0 && c1 < 0x90) &&
                         !(len == 4 && (c > 0xF4 || (c == 0xF4 && c1 >= 0x90)));
      if (!valid) len = 0;
    }
    std::string piece;
    if (len == 1 && c >= 0x20 && c != 0x7f) piece = text.substr(i, 1);
    else if (len > 1) piece = text.substr(i, len);
    else if (c == '\r') piece = "\\r";
    else if (c == '\t') piece = "\\t";
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      piece = buf;
    }
    if (out.size() + piece.size() > kMaxMessage) {
      out += "...";
      break;
    }
    out += piece;
    i += len ? len : 1;
  }
  return out;
}

void write_last_sweep(const fs::path& out, const SweepSummary& w) {
  const json last = {{"total", w.total},   {"skipped", w.skipped},   {"started", w.started},   {"resumed", w.resumed},
                     {"ok", w.ok},         {"failed", w.failed},     {"diverged", w.diverged}, {"interrupted", w.interrupted},
                     {"seconds", w.seconds}, {"jobs", w.jobs},       {"threads", w.threads},   {"stop_signal", w.stop_signal}};
  write_file_atomic(out / "last_sweep.json", last.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

std::optional<SweepSummary> read_last_sweep(const fs::path& out, std::string* why) {
  const fs::path file = out / "last_sweep.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (why) *why = "no " + file.string();
    return std::nullopt;
  }
  auto damaged = [&](const std::string& what) -> std::optional<SweepSummary> {
    if (why) *why = file.string() + " is damaged (" + what + ")";
    return std::nullopt;
  };
  json d;
  try {
    if (!fs::is_regular_file(file, ec)) return damaged("not a regular file");
    d = parse_json(read_file(file, "last sweep"));
  } catch (const Error& e) {
    return damaged(e.what());
  } catch (const json::exception&) {
    return damaged("not valid JSON");
  }
  if (!d.is_object()) return damaged("not a JSON object");
  SweepSummary s;
  const std::pair<const char*, int*> counts[] = {{"total", &s.total},       {"skipped", &s.skipped},
                                                 {"started", &s.started},   {"resumed", &s.resumed},
                                                 {"ok", &s.ok},             {"failed", &s.failed},
                                                 {"diverged", &s.diverged}, {"interrupted", &s.interrupted},
                                                 {"jobs", &s.jobs},         {"threads", &s.threads},
                                                 {"stop_signal", &s.stop_signal}};
  for (const auto& [key, field] : counts) {
    if (!d.contains(key)) {
      if (std::string(key) == "resumed" || std::string(key) == "stop_signal") continue;  // not written by earlier versions
      return damaged(std::string("no \"") + key + "\"");
    }
    if (!is_int(d[key], 0, static_cast<std::int64_t>(max_planned_runs) * 1000))
      return damaged(std::string("\"") + key + "\" is not a count");
    *field = d[key].get<int>();
  }
  if (!d.contains("seconds") || !d["seconds"].is_number() || !std::isfinite(d["seconds"].get<double>()) ||
      !(d["seconds"].get<double>() >= 0))
    return damaged("\"seconds\" is not a duration");
  s.seconds = d["seconds"].get<double>();
  return s;
}

SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& o) {
  SweepLock lock(o.out);
  return run_sweep(e, plan, o, &lock);
}

SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& o, const SweepLock* held) {
  const auto t0 = Clock::now();
  Communicator& comm = o.comm ? *o.comm : local_process();
  const int rank = comm.rank(), ranks = comm.size();
  if (rank == 0 && !held) throw std::logic_error("run_sweep: rank 0 runs a sweep under the directory's lock");
  auto say = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  check_parallelism(o.jobs, o.threads);
  const StopSignals signals;  // from here on a SIGINT/SIGTERM stops the sweep cleanly
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  SweepSummary sum;
  sum.total = static_cast<int>(plan.runs.size());
  sum.jobs = o.jobs > 0 ? o.jobs : cores;
  sum.threads = o.threads > 0 ? o.threads : std::max(1, cores / sum.jobs);
  const std::string exe = o.executable.empty() ? fs::read_symlink("/proc/self/exe").string() : o.executable;
  std::error_code ec;
  fs::create_directories(o.out / "runs", ec);
  if (ec) throw Error((o.out / "runs").string() + ": cannot create the directory: " + ec.message());

  // What is left to do, and how: from scratch, or resumed from a checkpoint with the recorded threads.
  struct Job {
    std::size_t index;
    bool resume = false;
    int threads = 0;
  };
  std::vector<Job> pending;
  for (std::size_t i = 0; i < plan.runs.size() && rank == 0; ++i) {
    const PlannedRun& r = plan.runs[i];
    const fs::path dir = run_directory(o.out, r);
    const json fingerprint = run_fingerprint(e, r);
    std::string why;
    const auto done = read_done(dir, fingerprint, &why);
    if (done && !(o.retry_diverged && done->status == "diverged")) {
      ++sum.skipped;
      continue;
    }
    Job job{i, false, sum.threads};
    if (!fs::exists(dir, ec)) {
      pending.push_back(job);
      continue;
    }
    std::string attempt_why;
    const auto attempt = done ? std::nullopt : read_attempt(dir, fingerprint, &attempt_why);
    if (attempt && attempt->status == "interrupted" && fs::is_regular_file(dir / "checkpoint.safetensors", ec) &&
        fs::is_regular_file(dir / "config.json", ec)) {
      job.resume = true;
      if (attempt->threads > 0) job.threads = attempt->threads;  // the checkpoint's config holds it
      say(r.id + ": interrupted last time; resuming it from its checkpoint" +
          (job.threads != sum.threads ? " with the " + std::to_string(job.threads) + " thread(s) it started with" : ""));
      pending.push_back(job);
      continue;
    }
    if (done) say(r.id + ": retrying the diverged run");
    else if (attempt) say(r.id + ": " + attempt->status + " last time" + (attempt->message.empty() ? "" : " (" + attempt->message + ")") +
                          "; running it again from scratch");
    else if (why == "no done.json" && attempt_why == "no attempt.json")
      say(r.id + ": unfinished (the sweep was killed?); starting it again from scratch");
    else say(r.id + ": " + (why.rfind("no ", 0) == 0 ? attempt_why : why) + "; running it again from scratch");
    fs::remove_all(dir, ec);  // partial or stale: start from scratch
    if (ec) throw Error(dir.string() + ": cannot remove the unfinished run's directory: " + ec.message());
    pending.push_back(job);
  }
  if (ranks > 1) {
    // Rank 0's decisions to every rank: per run, whether it is to be done, resumed, with how many threads.
    std::vector<double> todo(3 * plan.runs.size() + 1, 0.0);
    for (const Job& j : pending) todo[3 * j.index] = 1, todo[3 * j.index + 1] = j.resume, todo[3 * j.index + 2] = j.threads;
    todo.back() = sum.skipped;
    comm.sum(todo);
    pending.clear();
    for (std::size_t i = 0; i < plan.runs.size(); ++i)
      if (todo[3 * i] > 0) pending.push_back({i, todo[3 * i + 1] > 0, static_cast<int>(todo[3 * i + 2])});
    sum.skipped = static_cast<int>(todo.back());
  }
  if (sum.skipped) say(std::to_string(sum.skipped) + " of " + std::to_string(sum.total) + " runs already finished (skipped)");
  sum.jobs = std::max(1, std::min<int>(sum.jobs, static_cast<int>(pending.size())));
  if (!pending.empty())
    say("running " + std::to_string(pending.size()) + " runs, " + std::to_string(sum.jobs) + " at a time" +
        (ranks > 1 ? " on each of " + std::to_string(ranks) + " ranks" : "") + ", " + std::to_string(sum.threads) +
        " thread(s) each");

  struct Running {
    Job job;
    Clock::time_point start;
    std::uintmax_t log_offset = 0;  // where this attempt's output starts in log.txt
  };
  std::map<pid_t, Running> running;
  std::size_t next = 0;
  int finished = sum.skipped;
  int forwarded = 0;          // the signal sent to the children, once
  bool killed = false;        // SIGKILL sent
  Clock::time_point stop_deadline{};
  auto kill_all = [&](int sig) {  // each run's process group: the run and anything it started
    for (const auto& [pid, run] : running)
      if (::kill(-pid, sig) != 0) ::kill(pid, sig);
  };

  auto start = [&](const Job& job) {
    const PlannedRun& r = plan.runs[job.index];
    const fs::path dir = run_directory(o.out, r);
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create the run's directory: " + ec.message());
    const std::uintmax_t log_offset = job.resume ? fs::file_size(dir / "log.txt", ec) : 0;
    const pid_t pid = spawn(exe, run_arguments(e, r, o.out, job.threads, job.resume), dir / "log.txt", job.resume);
    running[pid] = {job, Clock::now(), ec ? 0 : log_offset};
    ++sum.started;
    sum.resumed += job.resume;
  };

  while (true) {
    int stop = g_stop_signal.load();
    // In a job, the ranks agree on every step: each says how many runs it can start, how many it
    // runs and whether it was signalled; the next runs then go to the ranks with free slots in rank
    // order, the same hand-out computed on every rank, and a signal on any rank stops them all.
    std::vector<double> slots;
    bool job_idle = running.empty();
    if (ranks > 1) {
      slots.assign(2 * static_cast<std::size_t>(ranks), 0.0);
      slots[rank] = forwarded ? 0 : std::max(0, sum.jobs - static_cast<int>(running.size()));
      slots[ranks + rank] = static_cast<double>(running.size());
      comm.sum(slots);
      std::vector<double> signal{static_cast<double>(forwarded ? forwarded : stop)};
      comm.max(signal);
      stop = static_cast<int>(signal[0]);
      job_idle = true;
      for (int q = 0; q < ranks; ++q) job_idle = job_idle && slots[ranks + q] == 0;
    }
    if (stop && !forwarded) {
      forwarded = stop;
      stop_deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.stop_timeout));
      kill_all(stop);
      say(signal_name(stop) + ": stopping " + std::to_string(running.size()) +
          " running run(s) (each finishes its batch and keeps the checkpoint of its last epoch; a second " +
          signal_name(stop) + " kills them at once)");
    }
    if (forwarded && !killed && !running.empty() && (g_stop_count.load() > 1 || Clock::now() >= stop_deadline)) {
      killed = true;
      say(g_stop_count.load() > 1 ? "second signal: killing the runs"
                                  : "the runs did not stop within " + seconds_text(o.stop_timeout) + ": killing them");
      kill_all(SIGKILL);
    }
    if (ranks == 1) {
      while (!forwarded && next < pending.size() && static_cast<int>(running.size()) < sum.jobs) start(pending[next++]);
      if (running.empty() && (forwarded || next >= pending.size())) break;
    } else {
      bool handed_out = false;
      for (int q = 0; q < ranks && !forwarded; ++q)
        for (int k = 0; k < static_cast<int>(slots[q]) && next < pending.size(); ++k) {
          const Job& job = pending[next++];
          handed_out = true;
          if (q == rank) start(job);
          say(plan.runs[job.index].id + ": started on rank " + std::to_string(q));
        }
      if (job_idle && !handed_out && (forwarded || next >= pending.size())) break;
    }

    // Collect one of our children (only ours: waitpid(-1) would reap the caller's other children).
    pid_t pid = 0;
    int status = 0;
    for (const auto& [p, run] : running) {
      const pid_t got = ::waitpid(p, &status, WNOHANG);
      if (got == p) {
        pid = p;
        break;
      }
      if (got < 0 && errno != EINTR) throw Error(std::string("waiting for runs failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a signal cuts it short
      continue;
    }
    const auto it = running.find(pid);
    const Job job = it->second.job;
    const std::uintmax_t log_offset = it->second.log_offset;
    const PlannedRun& r = plan.runs[job.index];
    const double seconds = std::chrono::duration<double>(Clock::now() - it->second.start).count();
    running.erase(it);
    const fs::path dir = run_directory(o.out, r);
    ++finished;
    const std::string counter = ranks > 1 ? "[rank " + std::to_string(rank) + "] "
                                          : "[" + std::to_string(finished) + "/" + std::to_string(sum.total) + "] ";

    RunStatus s;
    s.seconds = seconds;
    s.threads = job.threads;
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::string log;
    if (s.exit_code != 0) {
      try {
        log = read_file(dir / "log.txt");
        log.erase(0, std::min<std::size_t>(log.size(), static_cast<std::size_t>(log_offset)));
      } catch (const Error&) {
      }
    }
    s.message = error_message(log);
    // The outcome from the exit status (nnlab train: 0 ok, 3 diverged, 128 + SIGINT/SIGTERM stopped
    // by the signal, anything else an error); the log's message only explains it.
    if (WIFSIGNALED(status)) {
      const int sig = WTERMSIG(status);
      const bool stopped = sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
      s.status = stopped ? "interrupted" : "failed";
      s.message = (stopped ? "killed by " : "crashed: killed by ") + signal_name(sig);
    } else if (s.exit_code == 0) {
      s.status = "ok";
    } else if (s.exit_code == exit_diverged) {
      s.status = "diverged";
    } else if (s.exit_code == 128 + SIGINT || s.exit_code == 128 + SIGTERM) {
      s.status = "interrupted";
    } else {
      s.status = "failed";
    }
    if (s.message.empty() && s.status != "ok") s.message = "exit code " + std::to_string(s.exit_code);
    (s.status == "ok" ? sum.ok : s.status == "diverged" ? sum.diverged : s.status == "failed" ? sum.failed : sum.interrupted)++;

    std::vector<std::string> command = {exe};
    const auto args = run_arguments(e, r, o.out, job.threads, job.resume);
    command.insert(command.end(), args.begin(), args.end());
    const bool is_finished = s.status == "ok" || s.status == "diverged";
    write_record(dir, is_finished ? kDone : kAttempt, r, s, command, run_fingerprint(e, r));
    if (is_finished) fs::remove(dir / kAttempt, ec);
    std::string line = counter + r.id + ": " + s.status + " in " + seconds_text(seconds);
    if (s.status == "ok") {
      const std::string acc = final_test_acc(dir);
      if (!acc.empty()) line += ", final test acc " + acc;
    } else if (s.status == "interrupted") {
      line += ": " + s.message.substr(0, s.message.find(';')) +
              (fs::is_regular_file(dir / "checkpoint.safetensors", ec) ? " (resumes from its checkpoint next time)"
                                                                       : " (runs again next time)");
    } else {
      line += ": " + s.message;
    }
    say(line);
  }
  if (ranks > 1) {  // the job's counts (skipped and the signal are already common)
    std::vector<double> c{double(sum.started), double(sum.resumed), double(sum.ok),
                          double(sum.failed),  double(sum.diverged), double(sum.interrupted)};
    comm.sum(c);
    sum.started = int(c[0]), sum.resumed = int(c[1]), sum.ok = int(c[2]);
    sum.failed = int(c[3]), sum.diverged = int(c[4]), sum.interrupted = int(c[5]);
  }
  sum.stop_signal = forwarded;
  sum.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return sum;
}

}  // namespace nnlab::report
