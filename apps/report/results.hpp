// The results of a sweep: every run's metrics.csv read back, statistics per setting over seeds,
// and the tables (runs.csv, summary.csv, summary.md) built from them.
//
// Statistics. For a setting with n finished ("ok") runs, each quantity is computed per run and
// then reported as mean ± s over the runs, where s is the *sample* standard deviation
//     s = sqrt( Σ (v_i − mean)² / (n − 1) )
// (NaN, shown as no ±, when n < 2). Failed and diverged runs are listed with their message and
// left out of the statistics. Per run:
//   selected test accuracy       test_acc at the epoch with the highest val_acc (the first such
//                                epoch): model selection on the validation split, the honest figure
//   final / best test accuracy   test_acc at the last epoch / the maximum over epochs (best is
//                                optimistic: the epoch is chosen on the test set itself)
//   epochs to target             the first epoch with test_acc ≥ target (runs that never reach it
//                                are left out of the mean and counted: "reached k/n")
//   seconds per epoch            mean of `seconds` (training pass) over the run's epochs
//   activation time              mean of act_seconds and act_share over the epochs that have them
//   diagnostics                  every diagnostic column at the run's last epoch
#pragma once

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "apps/sweep/experiment.hpp"
#include "core/run/metrics.hpp"

namespace nnlab::report {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Stat {
  double mean = kNaN;
  double std = kNaN;  // sample standard deviation (n − 1); NaN when n < 2
  int n = 0;
};

// Mean and sample std of the finite values (NaN and ±inf are ignored).
Stat mean_std(const std::vector<double>& values);

// A run's outcome and its metrics.csv (read with core/run/metrics.hpp, which owns the columns).
struct RunResult : MetricsTable {
  std::size_t run = 0;       // index into Plan::runs
  std::string status;        // "ok", "diverged" (done.json); "failed", "interrupted" (attempt.json); "missing" (neither)
  std::string message;
  double wall_seconds = kNaN;
};

// Read the record (done.json, else attempt.json) and metrics.csv of every run of the plan. A damaged
// or stale record makes the run "missing" with the reason as its message; an unreadable metrics.csv
// leaves the run without metrics (its message says why). Never throws for what is in the run directories.
std::vector<RunResult> collect_results(const Experiment& e, const Plan& plan, const std::filesystem::path& out);

// The row of the epoch with the highest val_acc (the first of equal ones), -1 without validation.
int selected_row(const MetricsTable& r);
// One of comparison_metrics() (apps/sweep/experiment.hpp) for a run, as a fraction; NaN when the
// run lacks it (selected_test_acc without a validation split).
double run_metric(const MetricsTable& r, const std::string& metric);
// Whether any finished run of `results` has a validation accuracy.
bool has_validation(const std::vector<RunResult>& results);

// Mean ± std over seeds at each epoch.
struct Curve {
  std::vector<double> epoch, mean, std;
};

// A learnable activation parameter over epochs (act<k>_param_<name>), mean ± std over seeds.
struct ParamCurve {
  int k = 0;          // hidden activation layer, 1-based
  std::string name;   // "weight", "mu", "beta"
  Curve curve;
};

struct SettingSummary {
  std::string label;
  std::vector<std::string> values;  // per axis
  int runs = 0, ok = 0, failed = 0, diverged = 0, missing = 0;
  Stat selected_test_acc, selected_epoch, final_test_acc, best_test_acc, final_train_loss, final_test_loss;
  Stat epochs_to_target;
  int reached = 0;  // ok runs that reached the target accuracy
  Stat seconds_per_epoch, act_seconds, act_share;
  // Averages over the hidden layers at the last epoch ("mean", "std", "dead", "sat").
  Stat layer_mean, layer_std, layer_dead, layer_sat;
  // Every diagnostic column (act<k>_*, w<k>_grad, act_*) at the last epoch, in metrics.csv order.
  std::vector<std::pair<std::string, Stat>> last;
  // Weight-gradient norms per layer (w1, w2, ...) at epoch 1 and at the last epoch.
  std::vector<Stat> grad_first, grad_last;
  Curve test_acc, train_loss;
  std::vector<ParamCurve> params;  // learnable activation parameters, in column order

  std::string status_text() const;  // "3 ok" or "2 ok, 1 diverged"
  const Stat* find_last(const std::string& column) const;
};

std::vector<SettingSummary> summarize(const Experiment& e, const Plan& plan, const std::vector<RunResult>& results);

// A table rendered as Markdown or HTML.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;  // right-align column (numbers); default left
  std::string to_markdown() const;
  std::string to_html() const;  // <table> ... </table>, cells escaped
};

// A number with a printf format ("%.2f"), and as a CSV cell (%.9g; "" for NaN and ±inf): the one
// place the report's files and tables format numbers.
std::string format_number(const char* format, double v);
std::string csv_number(double v);

// "88.12 ± 0.31" (scaled by `scale`, printf `format` for both numbers); "—" when n = 0.
std::string format_stat(const Stat& s, const char* format, double scale = 1.0);

Table summary_table(const Experiment& e, const std::vector<SettingSummary>& s);
Table layer_table(const std::vector<SettingSummary>& s);  // hidden layers at the last epoch
Table gradient_table(const std::vector<SettingSummary>& s);  // ‖∂L/∂W_k‖ at the last epoch
Table runs_table(const Plan& plan, const std::vector<RunResult>& results);

std::string runs_csv(const Plan& plan, const std::vector<RunResult>& results);
std::string summary_csv(const Plan& plan, const std::vector<SettingSummary>& s);
std::string summary_md(const Experiment& e, const Plan& plan, const std::vector<SettingSummary>& s,
                       const std::vector<RunResult>& results);

// CSV cell: quoted when it holds a comma, quote or newline.
std::string csv_cell(const std::string& text);

}  // namespace nnlab::report
