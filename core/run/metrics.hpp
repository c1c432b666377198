// Per-epoch metrics and the two files that hold them, metrics.csv and metrics.jsonl: the one owner
// of their columns, their writers and their reader (nnlab compare's report reads what train wrote).
//
// Columns, in this order:
//   standard     epoch, train_loss, train_acc, test_loss, test_acc, seconds, val_loss, val_acc, lr
//                (seconds: wall time of the epoch's training pass, evaluation excluded; for an epoch
//                resumed from a mid-epoch checkpoint, of the part after the resume; val_* empty
//                without a validation split)
//   extras       named values a run adds, in the order it adds them:
//                skipped_batches                  train.on_nonfinite = skip
//                act<k>_mean act<k>_std act<k>_dead act<k>_sat     per hidden activation k = 1, 2, ...
//                act<k>_param_<name> [act<k>_param_<name>_std]   per learnable parameter of activation k
//                w<k>_grad                        per weight matrix k = 1, 2, ...
//                act_seconds act_share            (train --diagnostics; core/run/diagnostics.hpp)
//                test_samples val_samples         the sizes the accuracies were measured on
// CSV cells are %.9g, empty for NaN; JSONL values are numbers or null.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace nnlab {

struct EvalResult {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  Index samples = 0;   // samples that count in loss and accuracy (a skipped batch does not)
  Index skipped = 0;   // training: batches skipped for a NaN/Inf loss or gradient (train.on_nonfinite=skip)
};

struct EpochMetrics {
  int epoch = 0;  // 1-based
  EvalResult train, test, validation;  // validation.samples == 0 when there is no split
  double seconds = 0;  // wall time of the training pass only (evaluation excluded)
  double lr = 0;
  // Further named values written as extra columns, in this order (see the header comment).
  std::vector<std::pair<std::string, double>> extra;
};

// The standard columns, in order, and whether a column is one of them.
const std::vector<std::string>& standard_metric_columns();
bool is_standard_metric(const std::string& column);

// The metrics a run can monitor (train.monitor, reduce_on_plateau's metric), their values and
// direction: accuracies are better larger, losses smaller.
const std::vector<std::string>& monitorable_metrics();  // val_loss, val_acc, test_loss, test_acc, train_loss, train_acc
double metric_value(const EpochMetrics& m, const std::string& metric);
bool larger_is_better(const std::string& metric);

// Diagnostic columns (writers and readers build and parse the names here, nowhere else).
enum class ActivationStat { mean, std, dead, sat };
std::string activation_column(int k, ActivationStat stat);  // "act2_dead" (k is 1-based)
std::string weight_grad_column(int k);                      // "w1_grad"
inline constexpr const char* kSkippedBatches = "skipped_batches";
inline constexpr const char* kActSeconds = "act_seconds";
inline constexpr const char* kActShare = "act_share";
inline constexpr const char* kTestSamples = "test_samples";
inline constexpr const char* kValSamples = "val_samples";
// A learnable parameter of the k-th hidden activation: the mean of its elements ("act1_param_mu",
// PReLU's "act2_param_weight") and, when it has more than one element, their standard deviation
// (the same name + "_std").
std::string activation_param_column(int k, const std::string& name);
std::string activation_param_std_column(int k, const std::string& name);
struct ActivationParamColumn {
  int k = 0;             // 1-based hidden activation
  std::string name;      // the parameter's name in its layer: "mu", "weight", "beta"
  std::string column;    // activation_param_column(k, name)
  std::string std_column;  // activation_param_std_column(k, name) when present in the columns, else ""
};
// The parameter columns in `columns`, in their order.
std::vector<ActivationParamColumn> activation_param_columns(const std::vector<std::string>& columns);
// The columns act1_<stat>, act2_<stat>, ... (or w1_grad, ...) present in `columns`, in order of k.
std::vector<std::string> activation_columns(const std::vector<std::string>& columns, ActivationStat stat);
std::vector<std::string> weight_grad_columns(const std::vector<std::string>& columns);

// Writers. The header comes from the first epoch's extras (every epoch of a run has the same).
std::string metrics_csv_header(const EpochMetrics& first = {});
std::string metrics_csv_row(const EpochMetrics& m);
std::string metrics_json_line(const EpochMetrics& m);

// metrics.csv read back: the header and one row per epoch (empty or unreadable cells are NaN).
struct MetricsTable {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;

  // The column's values over epochs (empty when there is no such column).
  std::vector<double> column(const std::string& name) const;
  // Its value at the last epoch (NaN when absent).
  double last(const std::string& name) const;
  bool has(const std::string& name) const;
};
MetricsTable parse_metrics_csv(const std::string& text);

}  // namespace nnlab
