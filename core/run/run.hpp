// A whole training run from a resolved config: the orchestration around the loop.
//
//   RunOutputs(dir)                 fail early if the output directory cannot be written
//   load the data, make_training()  model, loss, optimizer, schedule (core/run/setup.hpp)
//   --resume: restore the checkpoint (it must come from the same config)
//   write config.json; callbacks.on_start
//   for each epoch:
//     Trainer::train_epoch          (core/run/loop.hpp; callbacks.loop are its hooks); a resume
//                                   from a mid-epoch checkpoint goes on at its batch; inside the
//                                   epoch a checkpoint every train.checkpoint_every, and one where
//                                   it stopped on should_stop (InterruptedError)
//     weights finite?               else DivergedError, nothing of the epoch saved
//     evaluate validation and test; callbacks.on_epoch_end may add metrics (diagnostics)
//     write metrics; callbacks.on_epoch
//     model selection: best.safetensors, early stopping
//     schedule tick (interval "epoch"), checkpoint
//   model.safetensors
#pragma once

#include <functional>
#include <vector>

#include "core/comm.hpp"
#include "core/model.hpp"
#include "core/run/data.hpp"
#include "core/run/loop.hpp"
#include "core/run/metrics.hpp"
#include "core/run/spec.hpp"

namespace nnlab {

struct RunCallbacks {
  LoopHooks loop;  // per batch: gradients, progress, interruption, skipped batches
  std::function<void(const RunData&, Model<float>&)> on_start;
  // After an epoch's training and evaluation, before metrics are written: may add `extra` values.
  std::function<void(EpochMetrics&, Model<float>&, const RunData&)> on_epoch_end;
  std::function<void(const EpochMetrics&)> on_epoch;  // after metrics are written
  std::function<void(int epoch, int best_epoch, double best)> on_early_stop;
};

struct RunOptions {
  bool resume = false;  // continue from <output.dir>/checkpoint.safetensors
  // On InterruptedError (should_stop), write a checkpoint at the batch where training stopped, so
  // that resume goes on from there; off: the last epoch's (or checkpoint_every's) is kept.
  bool checkpoint_on_interrupt = true;
  // The processes training this run together (data-parallel, core/run/loop.hpp): every one holds the
  // model and takes the same steps; only rank 0 writes files. Default: this process alone.
  Communicator* comm = nullptr;
};

// Train as the spec says and write into spec.output.dir (core/run/outputs.hpp). Returns every
// epoch's metrics trained by this call (empty when a resumed run had already finished). Throws
// DivergedError, InterruptedError (loop.hpp) and the errors of loading, building and checkpoints.
std::vector<EpochMetrics> run_training(const RunSpec& spec, const RunCallbacks& callbacks = {}, RunOptions options = {});

}  // namespace nnlab
