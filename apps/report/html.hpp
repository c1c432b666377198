// The files a comparison writes into its directory:
//
//   runs.csv, summary.csv, summary.md     (report_results.hpp)
//   plots/test_accuracy.svg               test accuracy vs epoch, mean ± std band over seeds
//   plots/train_loss.svg                  training loss vs epoch, same
//   plots/grad_norm_first.svg             log10 ‖∂L/∂W_k‖ vs layer k after epoch 1
//   plots/grad_norm_last.svg              the same after the last epoch
//   plots/dead_units.svg                  dead-unit fraction per hidden layer (bars, ± std)
//   plots/saturated.svg                   saturated fraction per hidden layer
//   plots/activation_mean.svg             mean activation per hidden layer (zero-centredness)
//   plots/seconds_per_epoch.svg           seconds per epoch and the activation layers' share of it
//   plots/paired_differences.svg          forest plot: each comparison's mean paired difference and
//                                         its 95 % confidence interval, coloured by verdict
//   plots/sensitivity.svg                 with "tune": validation accuracy vs the tuned value per setting
//   plots/params_<setting>.svg            learnable activation parameters per hidden layer over
//                                         epochs, mean ± std over seeds (settings that have any)
//   comparisons.csv                       the verdict table's numbers (apps/report/paired.hpp)
//   report.html                           one self-contained page: every table and plot inline,
//                                         inline CSS, no scripts, no external resources
//
// report.html declares what it holds in two meta tags, <meta name="nnlab-tables" content="N"> and
// <meta name="nnlab-plots" content="M">, so a checker (scripts/check_report.sh) can verify that the
// page, and the DOM a browser builds from it, has every table and plot.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apps/report/paired.hpp"
#include "apps/report/results.hpp"
#include "apps/report/tuning.hpp"
#include "apps/sweep/runner.hpp"

namespace nnlab::report {

struct Plot {
  std::string file;     // "test_accuracy.svg"
  std::string title;    // section heading in the report
  std::string caption;  // what it shows, how to read it
  std::string svg;      // the rendered chart
};

std::vector<Plot> make_plots(const Experiment& e, const Plan& plan, const std::vector<SettingSummary>& s,
                             const Comparisons& c, const Tuning* tuning = nullptr);

// Facts about the sweep for the report's header (optional).
struct ReportInfo {
  SweepSummary sweep;        // this invocation (sweep.total == 0: unknown)
  double run_seconds = 0;    // sum of every finished run's wall time
  std::optional<Tuning> tuning;  // the tuning runs, for an experiment with "tune"
};

std::string report_html(const Experiment& e, const Plan& plan, const std::vector<SettingSummary>& s,
                        const std::vector<RunResult>& results, const Comparisons& c, const std::vector<Plot>& plots,
                        const ReportInfo& info);

// Collect the results in `out` and write every output file listed above. Returns the results.
std::vector<RunResult> write_report(const Experiment& e, const Plan& plan, const std::filesystem::path& out,
                                    const ReportInfo& info = {});

}  // namespace nnlab::report
