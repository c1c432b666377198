// nnlab compare EXPERIMENT.json [--out DIR] [--jobs N] [--threads T] [--retry-failed] [--dry-run] [--report-only]
//
// Runs every combination of an experiment's swept values and seeds as `nnlab train` child
// processes (resumable: finished runs are kept), then writes runs.csv, summary.csv, summary.md,
// plots/*.svg and report.html into DIR. See apps/report_experiment.hpp for the experiment format,
// apps/report_runner.hpp for how runs are started and resumed, apps/report_results.hpp for the
// statistics and apps/report_html.hpp for the outputs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "apps/cli/command.hpp"
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
  bool retry_failed = false;
  bool dry_run = false;
  bool report_only = false;
};

// 'text' for a POSIX shell.
std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void run_compare(const CompareArgs& a) {
  using namespace nnlab::report;
  const Experiment e = load_experiment(a.experiment);
  const Plan plan = expand(e);
  const std::filesystem::path out = a.out.empty() ? e.output : a.out;
  spdlog::info("{}: {} settings x {} seeds = {} runs, writing to {}", e.name, plan.settings.size(), e.seeds.size(),
               plan.runs.size(), out.string());
  if (a.dry_run) {
    for (const auto& r : plan.runs) {
      std::string cmd = "nnlab";
      const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      const int threads = a.threads > 0 ? a.threads : std::max(1, cores / (a.jobs > 0 ? a.jobs : cores));
      for (const auto& arg : run_arguments(e, r, out, threads))
        cmd += " " + (arg.find_first_of(" \"'[]{}$*?") == std::string::npos ? arg : shell_quote(arg));
      std::printf("%s\n  %s\n", r.id.c_str(), cmd.c_str());
    }
    return;
  }
  std::filesystem::create_directories(out);
  write_file_atomic(out / "experiment.json", e.doc.dump(2) + "\n");
  ReportInfo info;
  if (!a.report_only) {
    RunnerOptions o;
    o.out = out;
    o.jobs = a.jobs;
    o.threads = a.threads;
    o.retry_failed = a.retry_failed;
    o.log = [](const std::string& line) { spdlog::info("{}", line); };
    info.sweep = run_sweep(e, plan, o);
    const auto& w = info.sweep;
    const nlohmann::json last = {{"total", w.total},       {"skipped", w.skipped}, {"started", w.started},
                                 {"ok", w.ok},             {"failed", w.failed},   {"diverged", w.diverged},
                                 {"interrupted", w.interrupted}, {"seconds", w.seconds}, {"jobs", w.jobs},
                                 {"threads", w.threads}};
    write_file_atomic(out / "last_sweep.json", last.dump(2) + "\n");
  } else if (std::filesystem::exists(out / "last_sweep.json")) {
    // The report keeps saying how the last sweep ran.
    try {
      const auto last = nlohmann::json::parse(read_file(out / "last_sweep.json"));
      auto& w = info.sweep;
      w.total = last.at("total"), w.skipped = last.at("skipped"), w.started = last.at("started"), w.ok = last.at("ok");
      w.failed = last.at("failed"), w.diverged = last.at("diverged"), w.interrupted = last.at("interrupted");
      w.seconds = last.at("seconds"), w.jobs = last.at("jobs"), w.threads = last.at("threads");
    } catch (const std::exception&) {
      info.sweep = {};
    }
  }
  const auto results = write_report(e, plan, out, info);
  int ok = 0, missing = 0;
  for (const auto& r : results) ok += r.status == "ok", missing += r.status == "missing";
  spdlog::info("{} of {} runs ok; wrote runs.csv, summary.csv, summary.md, plots/ and report.html in {}", ok,
               results.size(), out.string());
  if (info.sweep.total > 0 && !a.report_only) spdlog::info("wall time {:.1f} s", info.sweep.seconds);
  if (missing > 0)
    throw Error(std::to_string(missing) + " runs did not finish (interrupted?); run the same command again to finish them");
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<CompareArgs>();
  sub.add_option("experiment", a->experiment, "experiment JSON file (base config and the axes to sweep)")->required();
  sub.add_option("--out", a->out, "output directory (default: the experiment's \"output\", else runs/<name>)");
  sub.add_option("--jobs", a->jobs, "runs at once (default: the number of cores)")->check(CLI::NonNegativeNumber);
  sub.add_option("--threads", a->threads, "threads per run (default: max(1, cores / jobs))")->check(CLI::NonNegativeNumber);
  sub.add_flag("--retry-failed", a->retry_failed, "also rerun runs that finished as failed or diverged");
  sub.add_flag("--dry-run", a->dry_run, "list the runs and their commands without running anything");
  sub.add_flag("--report-only", a->report_only, "do not run anything; rebuild the report from the finished runs");
  sub.callback([a] { run_compare(*a); });
}

}  // namespace

NNLAB_COMMAND("compare", "run an activation/hyper-parameter comparison and write a report", setup);

}  // namespace nnlab::app
