// Running a sweep: one child process per run, up to `jobs` at a time, resumable.
//
// Each run is `nnlab train BASE --set ... --set train.threads=T --diagnostics --out DIR/runs/<id>`,
// started from the nnlab executable itself in a process group of its own, with stdout and stderr in
// DIR/runs/<id>/log.txt. When a run ends, the parent records its outcome atomically, in one of two
// files:
//
//   done.json      the run FINISHED: "ok" (exit 0) or "diverged" (exit 3, nnlab train's DivergedError:
//                  the loss became NaN or infinite; rerunning it diverges again, it is a result)
//   attempt.json   the run did NOT finish: "failed" (any other exit status, or a crash), or
//                  "interrupted" (stopped by SIGINT/SIGTERM: exit 130/143, or killed by SIGKILL,
//                  SIGTERM, SIGINT or SIGHUP)
//
//   {"id": "...", "status": "...", "exit_code": 0, "message": "...", "seconds": 83.2, "threads": 1,
//    "command": [...], "fingerprint": {...}}
//
// done.json is the only thing that makes a run finished: rerunning the sweep skips finished runs
// (and redoes diverged ones with retry_diverged). Everything else is done again: a failed run from
// scratch (a failure is not a result: a full disk, a wrong thread count, a crash), an interrupted run
// from its last checkpoint (`nnlab train --resume`, with the thread count it started with, so the
// result is bit-identical to an uninterrupted run) when it has one, else from scratch, and a run
// directory with no record at all (the sweep itself was killed) from scratch. The fingerprint (base
// config path and content hash, the --set overrides) must match too: change the base config or the
// overrides and the run is redone. The thread count is not part of it, so finished runs are kept
// when --jobs changes (results are bit-identical only for the same thread count). A record that
// cannot be read back — not JSON, a field of the wrong type, an "ok" run whose metrics.csv is gone
// or empty — makes the run not finished, and the log says which file and why.
//
// The outcome comes from the exit status, a channel a child's output cannot fake; the message is
// the last line of its log that starts with "nnlab: error: " (nnlab prints its one-line error last),
// with control characters escaped and cut at kMaxMessage bytes. Failures never stop the other runs.
//
// Signals. While run_sweep() runs, SIGINT and SIGTERM are caught (unless they were ignored when it
// started): no new run starts, the signal is forwarded once to every running child (each is in its
// own process group, so a Ctrl-C in the terminal reaches only the sweep, which forwards it once: a
// second SIGINT would make nnlab train stop at once), and the children are given stop_timeout
// seconds to finish their batch and exit (nnlab train keeps the checkpoint of its last completed
// epoch), then SIGKILLed; a second signal to the sweep SIGKILLs them at once. They are recorded as
// interrupted, and run_sweep() returns with SweepSummary::stop_signal set. Children get SIGKILL if
// the sweep process dies (PR_SET_PDEATHSIG) and never see an MPI launcher's variables (OMPI_*,
// PMIX_*, PMI_*: a run is a process of its own, not a rank of the sweep's job), and SweepLock (DIR/.nnlab.lock) stops two sweeps, or a sweep
// and a train, from sharing one directory.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apps/sweep/experiment.hpp"
#include "core/comm.hpp"
#include "core/io/fileio.hpp"

namespace nnlab::report {

// The ranges of --jobs and --threads (0: automatic). 1024 threads is train.threads' own limit.
inline constexpr int max_jobs = 1024;
inline constexpr int max_threads = 1024;

// A run's error message is cut to this many bytes (a log line may be anything).
inline constexpr std::size_t kMaxMessage = 2000;

struct RunnerOptions {
  std::filesystem::path out;  // the sweep directory DIR
  int jobs = 0;               // runs at once; 0: the number of cores
  int threads = 0;            // threads per run; 0: max(1, cores / jobs)
  std::string executable;     // the nnlab binary; "": this process's executable (/proc/self/exe)
  bool retry_diverged = false;  // also redo runs that finished as diverged (failed runs are always redone)
  double stop_timeout = 30;   // seconds the runs get to stop after SIGINT/SIGTERM before SIGKILL
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
  // The MPI job whose ranks share the sweep (mpirun -np K nnlab compare), or nullptr: this process
  // alone. Rank 0 holds the lock and decides what is left to do (and removes stale run
  // directories); the runs are then handed out as ranks have a free job slot, every rank running
  // its own as children (jobs at a time) and writing their records; a stop signal to any rank
  // stops all. Every rank must call run_sweep() with the same plan.
  Communicator* comm = nullptr;
};

// Throws ConfigError naming --jobs or --threads, its value and the valid range when either is out
// of range (run_sweep() checks too).
void check_parallelism(int jobs, int threads);

// What done.json and attempt.json record.
struct RunStatus {
  std::string status;  // done.json: "ok", "diverged"; attempt.json: "failed", "interrupted"
  int exit_code = 0;
  std::string message;
  double seconds = 0;  // wall time of the run (of this attempt)
  int threads = 0;
};

struct SweepSummary {
  int total = 0, skipped = 0, started = 0, resumed = 0;  // skipped: finished before this invocation; resumed: of started
  int ok = 0, failed = 0, diverged = 0, interrupted = 0;  // outcomes of the runs started now
  double seconds = 0;  // wall time of this invocation
  int jobs = 0, threads = 0;
  int stop_signal = 0;  // SIGINT or SIGTERM when the sweep was stopped by one, else 0
};

// An exclusive lock on DIR (DirectoryLock: DIR/.nnlab.lock, the lock `nnlab train` takes on its
// --out, stale when its holder is gone), held for the object's lifetime. Creates DIR (and its parents)
// first. Throws Error naming `what` (e.g. "--out runs/x"; default: the path) when DIR exists but is
// not a directory, cannot be created, or another `nnlab compare` holds the lock. Take it before
// writing anything into DIR.
class SweepLock {
 public:
  explicit SweepLock(const std::filesystem::path& dir, const std::string& what = "");
  ~SweepLock();
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

 private:
  std::optional<DirectoryLock> lock_;
};

// Run (or resume) the sweep. Takes the SweepLock of options.out itself (throws Error when another
// sweep holds it), or runs under the caller's `held` lock of that directory (in an MPI job: rank
// 0's; the other ranks pass nullptr). The summary is the whole job's, the same on every rank.
SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& options);
SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& options, const SweepLock* held);

std::filesystem::path run_directory(const std::filesystem::path& out, const PlannedRun& run);

// The arguments after the executable: train BASE --set ... --diagnostics --out DIR/runs/<id>
// (and --resume DIR/runs/<id> to continue an interrupted run from its checkpoint).
std::vector<std::string> run_arguments(const Experiment& e, const PlannedRun& run, const std::filesystem::path& out,
                                       int threads, bool resume = false);

// The identity of a run's inputs (base config path and content hash, overrides), stored in the records.
nlohmann::json run_fingerprint(const Experiment& e, const PlannedRun& run);

// done.json of a finished run with a matching fingerprint, or nothing: not finished, stale or
// damaged; `why` then says why, naming the file, e.g. "the base config changed since it ran",
// "done.json is damaged (its "status" is not "ok" or "diverged")".
std::optional<RunStatus> read_done(const std::filesystem::path& run_dir, const nlohmann::json& fingerprint,
                                   std::string* why = nullptr);

// attempt.json of a run that did not finish, with a matching fingerprint, or nothing (`why` as above).
std::optional<RunStatus> read_attempt(const std::filesystem::path& run_dir, const nlohmann::json& fingerprint,
                                      std::string* why = nullptr);

// The error message in a run's log: the text of its last line that starts with "nnlab: error: ",
// control characters escaped (\n, \r, \t, \xNN), at most kMaxMessage bytes; "" if there is none.
std::string error_message(const std::string& log);

// DIR/last_sweep.json: how the last invocation ran (for the report's header). read_last_sweep()
// gives nothing when the file is absent, or damaged (`why` says what is wrong with it).
void write_last_sweep(const std::filesystem::path& out, const SweepSummary& s);
std::optional<SweepSummary> read_last_sweep(const std::filesystem::path& out, std::string* why = nullptr);

}  // namespace nnlab::report
