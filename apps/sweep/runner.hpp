// Running a sweep: one child process per run, up to `jobs` at a time, resumable.
//
// Each run is `nnlab train BASE --set ... --set train.threads=T --diagnostics --out DIR/runs/<id>`,
// started from the nnlab executable itself, with stdout and stderr in DIR/runs/<id>/log.txt. When a
// run ends, the parent writes DIR/runs/<id>/done.json atomically:
//
//   {"id": "...", "status": "ok" | "failed" | "diverged", "exit_code": 0, "message": "...",
//    "seconds": 83.2, "threads": 1, "command": [...], "fingerprint": {...}}
//
// done.json is the only thing that makes a run finished. Rerunning the sweep skips finished runs;
// a run directory without done.json (a run that was in progress when the sweep was killed) is
// deleted and the run starts again from scratch. A run killed by a signal, or stopped by one
// (nnlab train catches SIGINT/SIGTERM and exits with "interrupted during epoch N"), gets no
// done.json either: it was interrupted, not finished. The fingerprint (base config path and content hash, the
// --set overrides) must match too: change the base config or the overrides and the run is redone.
// The thread count is not part of it, so finished runs are kept when --jobs changes (results are
// bit-identical only for the same thread count).
//
// A failed run (non-zero exit) is "diverged" when its error message says so (DivergedError: the
// loss became NaN or infinite), "failed" otherwise; the message is the "nnlab: error: ..." line of
// its log. Failures never stop the other runs. Children get SIGKILL if the sweep process dies
// (PR_SET_PDEATHSIG), and a lock file (DIR/.lock) stops two sweeps from sharing one directory.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apps/sweep/experiment.hpp"

namespace nnlab::report {

struct RunnerOptions {
  std::filesystem::path out;  // the sweep directory DIR
  int jobs = 0;               // runs at once; 0: the number of cores
  int threads = 0;            // threads per run; 0: max(1, cores / jobs)
  std::string executable;     // the nnlab binary; "": this process's executable (/proc/self/exe)
  bool retry_failed = false;  // also redo runs that finished as failed or diverged
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

// What done.json records.
struct RunStatus {
  std::string status;  // "ok", "failed", "diverged"
  int exit_code = 0;
  std::string message;
  double seconds = 0;  // wall time of the run
  int threads = 0;
};

struct SweepSummary {
  int total = 0, skipped = 0, started = 0;  // skipped: finished before this invocation
  int ok = 0, failed = 0, diverged = 0, interrupted = 0;  // outcomes of the runs started now
  double seconds = 0;  // wall time of this invocation
  int jobs = 0, threads = 0;
};

// Run (or resume) the sweep. Throws Error when the directory is locked by another sweep.
SweepSummary run_sweep(const Experiment& e, const Plan& plan, const RunnerOptions& options);

std::filesystem::path run_directory(const std::filesystem::path& out, const PlannedRun& run);

// The arguments after the executable: train BASE --set ... --diagnostics --out DIR/runs/<id>.
std::vector<std::string> run_arguments(const Experiment& e, const PlannedRun& run, const std::filesystem::path& out,
                                       int threads);

// The identity of a run's inputs (base config path and content hash, overrides), stored in done.json.
nlohmann::json run_fingerprint(const Experiment& e, const PlannedRun& run);

// done.json of a finished run with a matching fingerprint, or nothing (not finished, or stale:
// `why` then says why, e.g. "the base config changed").
std::optional<RunStatus> read_done(const std::filesystem::path& run_dir, const nlohmann::json& fingerprint,
                                   std::string* why = nullptr);

// The error message in a run's log: the text of its last "nnlab: error: " line, or "".
std::string error_message(const std::string& log);

}  // namespace nnlab::report
