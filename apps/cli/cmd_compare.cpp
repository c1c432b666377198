// nnlab compare EXPERIMENT.json [--out DIR] [--jobs N] [--threads T] [--retry-diverged] [--dry-run] [--report-only]
//
// Runs every combination of an experiment's swept values and seeds as `nnlab train` child
// processes (resumable: finished runs are kept), then writes runs.csv, summary.csv, summary.md,
// comparisons.csv, plots/*.svg and report.html into DIR. With "tune", the tuning runs (DIR/tune/)
// come first and choose each setting's value (apps/report/tuning.hpp). See
// apps/sweep/experiment.hpp for the experiment format, apps/sweep/runner.hpp for how runs are started, recorded and resumed, apps/report/results.hpp for
// the statistics and apps/report/html.hpp for the outputs. Under mpirun the job's ranks share the
// runs (RunnerOptions::comm): rank 0 holds DIR and writes the report, errors are said once.
//
// Exit status (docs/robustness.md, "Sweeps"; the same after --report-only):
//   0          every run of the plan finished ok
//   1          an error (bad experiment, options, directory, another sweep holds it), or some run
//              failed or has not finished; the report is written, and rerunning the command
//              retries the failed runs and finishes the others
//   3          every run finished, some diverged (none failed): the report is complete
//   128 + sig  stopped by SIGINT (130) or SIGTERM (143): the running runs were stopped after their
//              batch and resume from their checkpoints when the command is run again; no report
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "apps/cli/command.hpp"
#include "core/mpi/mpi.hpp"
#include "apps/report/html.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"

namespace nnlab::app {
namespace {

struct CompareArgs {
  std::string experiment;
  std::string out;
  int jobs = 0;
  int threads = 0;
  bool retry_diverged = false;
  bool dry_run = false;
  bool report_only = false;
};

// 'text' for a POSIX shell.
std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal " + std::to_string(sig); }

// "relu_s1, tanh_s2 and 3 more"
std::string some_ids(const std::vector<std::string>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < 3; ++i) s += (i ? ", " : "") + ids[i];
  if (ids.size() > 3) s += " and " + std::to_string(ids.size() - 3) + " more";
  return s;
}

// The exit status of a sweep whose report was written: thrown as an Error unless every run is ok.
void judge(const report::Plan& plan, const std::vector<report::RunResult>& results) {
  std::vector<std::string> failed, diverged, unfinished;
  std::string first_failure, first_damaged;
  for (const auto& r : results) {
    const std::string& id = plan.runs[r.run].id;
    if (r.status == "ok") continue;
    if (r.status == "diverged") diverged.push_back(id);
    else if (r.status == "failed") {
      if (failed.empty()) first_failure = id + ": " + r.message;
      failed.push_back(id);
    } else {  // missing, interrupted
      // A damaged or stale record is named (collect_results() put the reason in the message).
      if (first_damaged.empty() && r.status == "missing" && r.message.find(" is damaged (") != std::string::npos)
        first_damaged = id + ": " + r.message;
      unfinished.push_back(id);
    }
  }
  const std::string of = " of " + std::to_string(results.size()) + " runs ";
  if (!failed.empty() || !unfinished.empty()) {
    std::string msg;
    if (!failed.empty()) msg = std::to_string(failed.size()) + of + "failed (" + some_ids(failed) + "; first: " + first_failure + ")";
    if (!unfinished.empty())
      msg += (msg.empty() ? std::to_string(unfinished.size()) + of : "; " + std::to_string(unfinished.size()) + " ") +
             "did not finish (" + some_ids(unfinished) + (first_damaged.empty() ? "" : "; " + first_damaged) + ")";
    if (!diverged.empty()) msg += "; " + std::to_string(diverged.size()) + " diverged";
    throw Error(msg + "; the report lists them; run the same command again to retry and finish them", exit_error);
  }
  if (!diverged.empty())
    throw Error(std::to_string(diverged.size()) + of + "diverged (" + some_ids(diverged) +
                    "); the report is complete and lists them; --retry-diverged reruns them",
                exit_diverged);
}

// An error every rank of a job throws at the same point: said once, by rank 0 (apps/cli/main.cpp).
Error agreed(Error e) {
  e.agreed = true;
  return e;
}

void run_compare(const CompareArgs& a) {
  // Under an MPI launcher (mpirun -np K nnlab compare) the ranks share the sweep: rank 0 holds the
  // directory and writes the report, every rank runs the runs handed to it (docs/distributed.md).
  Communicator& comm = job();
  const bool lead = comm.rank() == 0;
  using namespace nnlab::report;
  // A bad option or experiment is refused by every rank alike (they read the same files): said once.
  auto on_every_rank = [&](auto&& step) {
    try {
      return step();
    } catch (const Error& err) {
      if (comm.size() > 1) throw agreed(err);
      throw;
    }
  };
  on_every_rank([&] { check_parallelism(a.jobs, a.threads); });
  const Experiment e = on_every_rank([&] { return load_experiment(a.experiment); });
  // With "tune", the tuning runs come first (DIR/tune/) and choose each setting's value; the final
  // plan is known only then. expand(e) without the choice validates the final runs' configs now.
  const Plan tune_plan = on_every_rank([&] { return expand_tuning(e); });
  Plan plan = on_every_rank([&] { return expand(e); });
  const std::filesystem::path out = a.out.empty() ? e.output : a.out;
  const std::filesystem::path tune_out = out / "tune";
  const std::string out_what = a.out.empty() ? e.source + ": output " + e.output : "--out " + a.out;
  if (e.tune)
    spdlog::info("{}: tuning {} per setting: {} settings x {} values x {} seeds = {} tuning runs", e.name, e.tune->path,
                 plan.settings.size(), e.tune->values.size(), e.tune->seeds.size(), tune_plan.runs.size());
  spdlog::info("{}: {} settings x {} seeds = {} runs, writing to {}", e.name, plan.settings.size(), e.seeds.size(),
               plan.runs.size(), out.string());
  if (a.dry_run) {
    if (!lead) return;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = a.threads > 0 ? a.threads : std::max(1, cores / (a.jobs > 0 ? a.jobs : cores));
    auto list = [&](const Plan& p, const std::filesystem::path& dir) {
      for (const auto& r : p.runs) {
        std::string cmd = "nnlab";
        for (const auto& arg : run_arguments(e, r, dir, threads))
          cmd += " " + (arg.find_first_of(" \"'[]{}$*?\\\n\t;&|<>()`#~") == std::string::npos ? arg : shell_quote(arg));
        std::printf("%s\n  %s\n", r.id.c_str(), cmd.c_str());
      }
    };
    list(tune_plan, tune_out);
    if (e.tune) std::printf("# then, with each setting's best %s from the tuning runs:\n", e.tune->path.c_str());
    list(plan, out);
    return;
  }
  // Nothing is written before the lock is held: a refused compare leaves a running sweep alone.
  // In a job, rank 0 takes it and says whether it could before any rank goes on.
  std::optional<SweepLock> lock;
  if (comm.size() > 1) {
    std::vector<double> refused{0.0};
    std::string why;
    if (lead) try {
        lock.emplace(out, out_what);
      } catch (const Error& err) {
        refused[0] = 1, why = err.what();
      }
    comm.max(refused);
    if (refused[0] > 0) throw agreed(Error(lead ? why : "the sweep directory is in use", exit_error));
  } else {
    lock.emplace(out, out_what);
  }
  if (lead) write_file_atomic(out / "experiment.json", e.doc.dump(2) + "\n");
  ReportInfo info;
  RunnerOptions o;
  o.out = out;
  o.jobs = a.jobs;
  o.threads = a.threads;
  o.comm = &comm;
  if (comm.size() > 1 && a.jobs == 0) {
    // One run at a time per rank unless --jobs says otherwise, its threads the rank's share of the
    // node's cores (OpenMPI says how many ranks share this node).
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    o.jobs = 1;
    if (a.threads == 0) o.threads = std::max(1, cores / std::max(1, detect_launch().local_size));
  }
  o.retry_diverged = a.retry_diverged;
  o.log = [](const std::string& line) { spdlog::info("{}", line); };
  auto stopped = [](const SweepSummary& w, const std::string& what) {
    if (!w.stop_signal) return;
    throw agreed(Error("interrupted by " + signal_name(w.stop_signal) + ": " + std::to_string(w.interrupted) +
                    " " + what + "run(s) stopped (each resumes from its last checkpoint, or starts again if it had none), " +
                    std::to_string(w.total - w.skipped - w.started) + " not started; " +
                    std::to_string(w.skipped + w.ok + w.diverged) + " of " + std::to_string(w.total) + " " + what +
                    "runs finished; run the same command again to finish the sweep",
                128 + w.stop_signal));
  };
  std::vector<std::string> tuning_unfinished;
  if (e.tune) {
    if (!a.report_only) {
      RunnerOptions t = o;
      t.out = tune_out;
      t.retry_diverged = false;  // a candidate that diverges is an answer (too large), not a failure to retry
      stopped(run_sweep(e, tune_plan, t, lead ? &*lock : nullptr), "tuning ");
    }
    const auto tune_results = collect_results(e, tune_plan, tune_out);
    // A tuning run that failed or did not finish (not one that diverged: a too-large candidate is an
    // answer) makes the exit status 1 once the report is written, so that it is retried.
    for (const auto& r : tune_results)
      if (r.status != "ok" && r.status != "diverged") tuning_unfinished.push_back(tune_plan.runs[r.run].id);
    info.tuning = summarize_tuning(e, tune_plan, tune_results);
    const auto tuned = choose_tuned(*info.tuning);
    for (std::size_t s = 0; s < tuned.size(); ++s)
      spdlog::info("tuned {}: {} = {}", info.tuning->settings[s].label, e.tune->path, display_value(tuned[s]));
    plan = expand(e, tuned);
  }
  if (!a.report_only) {
    info.sweep = run_sweep(e, plan, o, lead ? &*lock : nullptr);
    if (lead) write_last_sweep(out, info.sweep);
    stopped(info.sweep, "");
  } else {
    // The report keeps saying how the last sweep ran (a damaged record is left out, and said so).
    std::string why;
    if (const auto last = read_last_sweep(out, &why)) info.sweep = *last;
    else if (why.rfind("no ", 0) != 0) spdlog::warn("{}; the report leaves out how the last sweep ran", why);
  }
  // Every rank judges the same records; rank 0 alone writes the report.
  const auto results = lead ? write_report(e, plan, out, info) : collect_results(e, plan, out);
  int ok = 0;
  for (const auto& r : results) ok += r.status == "ok";
  spdlog::info("{} of {} runs ok; wrote runs.csv, summary.csv, summary.md, plots/ and report.html in {}", ok,
               results.size(), out.string());
  if (info.sweep.total > 0 && !a.report_only) spdlog::info("wall time {:.1f} s", info.sweep.seconds);
  try {
    judge(plan, results);
  } catch (Error& err) {
    throw agreed(err);
  }
  if (!tuning_unfinished.empty())
    throw agreed(Error(std::to_string(tuning_unfinished.size()) + " tuning run(s) failed or did not finish (" +
                    some_ids(tuning_unfinished) + "; see " + (tune_out / "runs").string() + "/<run>/log.txt); the "
                    "choices used the others; run the same command again to retry them",
                exit_error));
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<CompareArgs>();
  sub.add_option("experiment", a->experiment, "experiment JSON file (base config and the axes to sweep)")->required();
  sub.add_option("--out", a->out, "output directory (default: the experiment's \"output\", else runs/<name>)");
  sub.add_option("--jobs", a->jobs, "runs at once (per rank under mpirun), 0 to 1024 (default 0: the number of cores; 1 under mpirun)");
  sub.add_option("--threads", a->threads, "threads per run, 0 to 1024 (default 0: max(1, cores / jobs))");
  sub.add_flag("--retry-diverged,--retry-failed", a->retry_diverged,
               "also rerun runs that diverged (failed and interrupted runs are always run again)");
  sub.add_flag("--dry-run", a->dry_run, "list the runs and their commands without running or writing anything");
  sub.add_flag("--report-only", a->report_only, "do not run anything; rebuild the report from the finished runs");
  sub.footer(
      "Exit status: 0 every run finished ok; 1 an error, or some run failed or did not finish (the report is still "
      "written; run the same command again to retry); 3 every run finished and some diverged; 130/143 stopped by "
      "SIGINT/SIGTERM (the running runs stop after their batch and resume from their checkpoints next time). "
      "An experiment with \"tune\" runs its tuning runs first (into DIR/tune/) and gives each setting its best value; "
      "the report compares every setting with the baseline seed by seed (docs/comparison.md). "
      "Under mpirun -np K the ranks share the runs (--jobs per rank, default 1; the output directory on a "
      "filesystem every rank sees; docs/distributed.md). "
      "An experiment plans at most " +
      std::to_string(report::max_planned_runs) + " runs.");
  sub.callback([a] { run_compare(*a); });
}

}  // namespace

NNLAB_COMMAND("compare", "run an activation/hyper-parameter comparison and write a report", setup);

}  // namespace nnlab::app
