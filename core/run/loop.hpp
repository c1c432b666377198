// The training loop: one epoch of mini-batch steps, and evaluation. Small on purpose; everything
// around it (epochs, metrics, checkpoints, model selection) is the run (core/run/run.hpp).
//
// One step, and the seams where other code plugs in (LoopHooks, all optional):
//
//   gather the batch (the epoch's order is a function of seed and epoch), augment it
//   forward → loss → backward                     gradients of every parameter are now set
//   hooks.on_gradients(params)                    ← a gradient all-reduce across processes, gradient
//                                                   accumulation, gradient noise, ...
//   finite check (the loss always; the gradients when clipping or skipping), clip, optimizer step,
//   schedule tick (interval "step")
//   hooks.on_batch(progress)                      ← progress bars, per-batch observers
//   hooks.should_stop()                           ← Ctrl-C: the epoch ends with InterruptedError
//
// Data-parallel (a Communicator of K > 1 processes, core/comm.hpp): every process holds the whole
// model and gathers and augments the whole batch (the same order and augmentation as one process),
// then takes its contiguous slice of rows (row_slice). After backward the gradients of all
// parameters are packed into one buffer, scaled by slice/batch and summed over the processes (one
// all-reduce), so every process takes the step one process would take on the whole batch; the
// loss, the correct count, a non-finite flag and should_stop() are summed first (a second, small
// all-reduce), so every process skips, stops or throws after the same batch. Random layers
// (Dropout) draw from per-process streams derived from the shared one each batch.
//
// evaluate() runs the model in evaluation mode and hands every batch's outputs to an optional
// hook, so callers that need more than loss and accuracy (a confusion matrix) use the same pass.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/comm.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/run/metrics.hpp"
#include "core/run/spec.hpp"
#include "core/rng.hpp"
#include "core/schedule.hpp"

namespace nnlab {

// Where an epoch is, after a batch.
struct BatchProgress {
  int epoch = 0;             // 1-based
  Index batch = 0;           // 1-based, of `batches`
  Index batches = 0;
  Index done = 0;            // samples processed so far this epoch, of `total`
  Index total = 0;
  double running_loss = 0;   // mean loss of this epoch's stepped batches so far
};

// Where training stands inside an epoch, after `batch` of its batches: everything needed to go on
// from there bit-identically (a mid-epoch checkpoint). The epoch's order is a function of seed and
// epoch; the augmentation stream is not, so its state is kept.
struct EpochPosition {
  int epoch = 0;             // 1-based; the epoch in progress
  Index batch = 0;           // batches of it done (0: at its start)
  double loss_sum = 0;       // sum of loss · samples over the stepped batches
  Index correct = 0, seen = 0, skipped = 0;
  int skips_in_a_row = 0;
  double lr = 0;             // the lr at the epoch's start (its metrics row reports it)
  Rng::State augment{};      // the augmentation stream after `batch` batches
};

struct LoopHooks {
  // After backward, before the finite check and the optimizer step; may change the gradients.
  std::function<void(std::vector<Param<float>>& params)> on_gradients;
  // After every batch, stepped or skipped.
  std::function<void(const BatchProgress&)> on_batch;
  // Checked after every batch: true ends the epoch with InterruptedError (the batch is complete).
  std::function<bool()> should_stop;
  // A batch skipped for a non-finite value (train.on_nonfinite=skip), described in one line.
  std::function<void(const std::string&)> on_skip;
};

// Thrown when a batch's loss or gradients, or the weights, become NaN or infinite (and are not
// skipped). The message names the epoch, the batch and the first layer with a non-finite value.
struct DivergedError : Error {
  DivergedError(const std::string& message, int epoch_) : Error(message, exit_diverged), epoch(epoch_) {}
  int epoch;  // 1-based; the checkpoint on disk (if any) is that of epoch - 1
};

// Thrown when should_stop() asks to stop (Ctrl-C); the batch in progress has been completed.
struct InterruptedError : Error {
  InterruptedError(const std::string& message, int epoch_) : Error(message), epoch(epoch_) {}
  int epoch;  // 1-based; the checkpoint on disk (if any) is that of epoch - 1
};

// Evaluation of a model: loss and accuracy in evaluation mode (training = false), in batches of
// `batch` samples; the hook sees every batch's outputs (a confusion matrix, predictions).
using OutputsHook = std::function<void(const MatF& outputs, std::span<const std::int32_t> labels)>;
class Evaluator {
 public:
  // With a Communicator of K > 1 processes each evaluates its slice of the rows and the sums are
  // combined, unless a hook wants every output (then every process evaluates every row).
  Evaluator(Model<float>& model, Loss<float>& loss, Communicator& comm = local_process())
      : model_(model), loss_(loss), comm_(comm) {}
  EvalResult evaluate(const Dataset& data, Index batch = 1000, const OutputsHook& on_outputs = {});

 private:
  Model<float>& model_;
  Loss<float>& loss_;
  Communicator& comm_;
  MatF x_;
  std::vector<std::int32_t> y_;
  std::vector<Index> idx_;
};

// Mini-batch gradient descent over a Dataset. Buffers are sized once and reused across batches.
class Trainer {
 public:
  // `schedule` (may be null) ticks after every step when its interval is "step". Turns the model's
  // input gradient off (Model::set_input_grad): training never needs dL/d(data).
  Trainer(Model<float>& model, Loss<float>& loss, Optimizer& optimizer, const TrainSpec& settings,
          Schedule* schedule = nullptr, LoopHooks hooks = {}, Communicator& comm = local_process());

  // One pass over `data`, in the order of the epoch's shuffle (a function of seed and epoch only);
  // `augment` (may be null) transforms every gathered batch, drawing from Rng(seed, "augment", epoch).
  // `from` (may be null): go on from a position of this epoch instead of its start.
  EvalResult train_epoch(const Dataset& data, int epoch, const BatchTransform* augment = nullptr,
                         const EpochPosition* from = nullptr);

  // The position after the last completed batch (after an InterruptedError: where it stopped).
  const EpochPosition& position() const { return position_; }
  // Called after every completed batch with the position (a checkpoint every N steps or seconds);
  // runs before hooks().should_stop.
  void set_on_position(std::function<void(const EpochPosition&)> f) { on_position_ = std::move(f); }

  // Evaluator::evaluate with this trainer's model and loss.
  EvalResult evaluate(const Dataset& data, Index batch = 1000, const OutputsHook& on_outputs = {}) {
    return evaluator_.evaluate(data, batch, on_outputs);
  }

  // The sample order of an epoch (identity when shuffle is off).
  std::vector<Index> epoch_order(Index rows, int epoch) const;

  LoopHooks& hooks() { return hooks_; }

 private:
  // A batch whose loss (or gradients) are not finite: throws DivergedError, or in skip mode
  // restores the buffers, reports the skip, and throws only after too many skips in a row.
  void nonfinite_batch(int epoch, Index batch, Index batches, float loss);  // batch: 1-based
  // Data-parallel: the parameter gradients, scaled by `scale`, summed over the processes.
  void all_reduce_gradients(float scale);
  // Data-parallel: the random layers' states, each word mixed with `tag` (per process, per batch).
  void mix_random_state(const std::vector<std::vector<std::uint64_t>>& from, std::uint64_t tag);
  Model<float>& model_;
  Loss<float>& loss_;
  Optimizer& optimizer_;
  TrainSpec settings_;
  Schedule* schedule_;
  LoopHooks hooks_;
  Evaluator evaluator_;
  std::vector<Param<float>> params_;
  std::vector<Buffer<float>> buffers_;
  std::vector<MatF> saved_buffers_;  // skip mode: buffers (BatchNorm statistics) before the batch
  int skips_in_a_row_ = 0;
  EpochPosition position_;
  std::function<void(const EpochPosition&)> on_position_;
  MatF x_;
  std::vector<std::int32_t> y_;
  Communicator& comm_;
  MatF slice_x_;                     // data-parallel: this process's rows of the batch
  std::vector<std::int32_t> slice_y_;
  std::vector<float> packed_;        // data-parallel: every gradient, for one all-reduce
  std::vector<std::vector<std::uint64_t>> random_state_;
};

}  // namespace nnlab
