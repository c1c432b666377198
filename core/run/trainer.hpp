// The training loop, and a whole run from a resolved config (data, model, optimizer, outputs).
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <vector>

#include "core/run/config.hpp"
#include "core/dataset.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"

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
  // Further named values (diagnostics) written as extra columns of metrics.csv, in this order.
  std::vector<std::pair<std::string, double>> extra;
};

// Thrown when a batch's loss or gradients, or the weights, become NaN or infinite (and are not
// skipped). The message names the epoch, the batch and the first layer with a non-finite value.
struct DivergedError : Error {
  DivergedError(const std::string& message, int epoch_) : Error(message, exit_diverged), epoch(epoch_) {}
  int epoch;  // 1-based; the checkpoint on disk (if any) is that of epoch - 1
};

// Mini-batch gradient descent over a Dataset. Buffers are sized once and reused across batches.
class Trainer {
 public:
  // `schedule` (may be null) ticks after every step when its interval is "step". Turns the model's
  // input gradient off (Model::set_input_grad): training never needs dL/d(data).
  Trainer(Model<float>& model, Loss<float>& loss, Optimizer& optimizer, const TrainSettings& settings,
          Schedule* schedule = nullptr);

  // One pass over `data`, in the order of the epoch's shuffle (a function of seed and epoch only).
  // `on_batch(done_samples, total_samples, running_loss)` is called after every batch.
  EvalResult train_epoch(const Dataset& data, int epoch,
                         const std::function<void(Index, Index, double)>& on_batch = {},
                         const std::function<bool()>& should_stop = {});

  // Loss and accuracy in evaluation mode (training = false), in batches of `batch` samples.
  EvalResult evaluate(const Dataset& data, Index batch = 1000);

  // The sample order of an epoch (identity when shuffle is off).
  std::vector<Index> epoch_order(Index rows, int epoch) const;

  // Told about every batch skipped for a non-finite value (train.on_nonfinite=skip), e.g. to log it.
  std::function<void(const std::string&)> on_skip;

 private:
  // A batch whose loss (or gradients) are not finite: throws DivergedError, or in skip mode
  // restores the buffers, reports the skip, and throws only after too many skips in a row.
  void nonfinite_batch(int epoch, Index batch, Index batches, float loss);  // batch: 1-based
  Model<float>& model_;
  Loss<float>& loss_;
  Optimizer& optimizer_;
  TrainSettings settings_;
  Schedule* schedule_;
  std::vector<Param<float>> params_;
  std::vector<Buffer<float>> buffers_;
  std::vector<MatF> saved_buffers_;  // skip mode: buffers (BatchNorm statistics) before the batch
  int skips_in_a_row_ = 0;
  MatF x_;
  std::vector<std::int32_t> y_;
};

// Load the config's data: train/test from the registry, limits, normalisation, validation split.
struct RunData {
  Dataset train, validation, test;  // validation.rows == 0 without a split
};
RunData load_run_data(const RunConfig& cfg);

struct RunCallbacks {
  std::function<void(const RunData&, Model<float>&)> on_start;
  std::function<void(int epoch, Index done, Index total, double loss)> on_batch;
  // After an epoch's training and evaluation, before metrics are written: may add `extra` values
  // (e.g. diagnostics measured on the model).
  std::function<void(EpochMetrics&, Model<float>&, const RunData&)> on_epoch_end;
  std::function<void(const EpochMetrics&)> on_epoch;  // after metrics are written
  std::function<void(int epoch, int best_epoch, double best)> on_early_stop;
  // Checked after every batch: return true to stop (Ctrl-C). The run then throws InterruptedError;
  // the checkpoint of the last completed epoch remains for --resume.
  std::function<bool()> should_stop;
  // train.on_nonfinite=skip: called for every skipped batch with a one-line description.
  std::function<void(const std::string&)> on_skip;
};

// Thrown when should_stop() asks to stop (Ctrl-C); the batch in progress has been completed.
struct InterruptedError : Error {
  InterruptedError(const std::string& message, int epoch_) : Error(message), epoch(epoch_) {}
  int epoch;  // 1-based; the checkpoint on disk (if any) is that of epoch - 1
};

// The model a run config describes, for data of this shape (weights freshly initialised).
Model<float> build_run_model(RunConfig& cfg, const RunData& data);

// Metadata stored with saved weights so a model file is usable on its own (nnlab predict):
// normalisation, classes and class names, input shape, architecture.
std::map<std::string, std::string> model_metadata(const Dataset& train, Model<float>& model);

// The value of a monitored metric ("val_loss", "test_acc", ...) and whether larger is better.
double monitored_value(const EpochMetrics& m, const std::string& metric);
bool larger_is_better(const std::string& metric);

// Train as the config says and write into cfg.output_dir: config.json (resolved), metrics.csv,
// metrics.jsonl, model.safetensors (final weights) and best.safetensors (best monitored epoch).
// Returns every epoch's metrics.
std::vector<EpochMetrics> run_training(RunConfig& cfg, const RunCallbacks& callbacks = {});

// The header and one row of metrics.csv.
std::string metrics_csv_header(const EpochMetrics& first = {});
std::string metrics_csv_row(const EpochMetrics& m);

}  // namespace nnlab
