// Run a program from a test — the built `nnlab` command line (NNLAB_BINARY) or any other — without
// a shell (arguments are passed as they are, no quoting needed): its exit status, the signal that
// killed it, and both output streams.
//
//   run_nnlab({"train", cfg, "--out", dir}, scratch)    run to completion
//   Process p = start_nnlab({...}, scratch);             run in the background, then
//     p.exited(), p.kill(SIGINT), p.wait()               poll it, signal it, collect it
//   run_program({"python3", script, file}, scratch)      the same for another program (found on PATH)
//
// stdin is /dev/null; stdout and stderr go to files in `scratch` (a directory that must exist)
// until the process is collected, then are read and removed. Brings TempDir and the text helpers
// (lines_of, ...) along, which every test that runs a program needs.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

extern char** environ;

namespace nnlab::test {

namespace fs = std::filesystem;

struct ProcessResult {
  int status = -1;        // the exit status; -1 if the process was killed by a signal
  int signal = 0;         // the signal that killed it, if any
  std::string out, err;   // stdout and stderr
  std::string output() const { return out + err; }  // both, stdout first (for "does it say X")
};

// A program running in the background. Destroying a Process that was not collected kills it
// (SIGKILL) and reaps it, so a failing test leaves no process behind.
class Process {
 public:
  // argv[0] is the program: a path, or a name looked up on PATH. `env` entries ("NAME=value")
  // replace or extend the test's own environment.
  Process(const std::vector<std::string>& argv, const fs::path& scratch, const std::vector<std::string>& env = {}) {
    static std::atomic<int> counter{0};
    const std::string n = std::to_string(counter++);
    out_ = scratch / ("process-" + n + "-stdout.txt");
    err_ = scratch / ("process-" + n + "-stderr.txt");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> environment = merged_environment(env);
    std::vector<char*> cenv;
    for (auto& e : environment) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, args.at(0).c_str(), &actions, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot run " + args.at(0));
  }
  Process(Process&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        raw_status_(other.raw_status_),
        out_(std::exchange(other.out_, {})),
        err_(std::exchange(other.err_, {})) {}
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(0);
    }
    std::error_code ec;
    if (!out_.empty()) fs::remove(out_, ec);
    if (!err_.empty()) fs::remove(err_, ec);
  }

  pid_t pid() const { return pid_; }

  // Has the process ended? Does not block; an ended process is collected (wait() then returns at once).
  bool exited() { return pid_ <= 0 || reap(WNOHANG); }

  void kill(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Wait for the end; its exit status or signal and everything it wrote.
  ProcessResult wait() {
    if (pid_ > 0) reap(0);
    ProcessResult r;
    if (WIFEXITED(raw_status_)) r.status = WEXITSTATUS(raw_status_);
    if (WIFSIGNALED(raw_status_)) r.signal = WTERMSIG(raw_status_);
    r.out = slurp(out_);
    r.err = slurp(err_);
    return r;
  }

 private:
  // waitpid with `flags`; true once the process has been collected.
  bool reap(int flags) {
    for (;;) {
      const pid_t got = ::waitpid(pid_, &raw_status_, flags);
      if (got == pid_) {
        pid_ = -1;
        return true;
      }
      if (got == 0) return false;        // WNOHANG: still running
      if (errno != EINTR) return false;  // not our child (cannot happen)
    }
  }

  static std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      bool replaced = false;
      for (const auto& x : extra) replaced |= x.substr(0, x.find('=')) == name;
      if (!replaced) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  pid_t pid_ = -1;
  int raw_status_ = 0;
  fs::path out_, err_;
};

// Run `argv` to completion.
inline ProcessResult run_program(const std::vector<std::string>& argv, const fs::path& scratch,
                             const std::vector<std::string>& env = {}) {
  return Process(argv, scratch, env).wait();
}

inline std::vector<std::string> nnlab_argv(const std::vector<std::string>& args) {
  std::vector<std::string> all = {NNLAB_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

// Start `nnlab args...` in the background.
inline Process start_nnlab(const std::vector<std::string>& args, const fs::path& scratch) {
  return Process(nnlab_argv(args), scratch);
}

// Run `nnlab args...` to completion.
inline ProcessResult run_nnlab(const std::vector<std::string>& args, const fs::path& scratch) {
  return run_program(nnlab_argv(args), scratch);
}

}  // namespace nnlab::test
