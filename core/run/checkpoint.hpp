// Training checkpoints: everything needed to continue an interrupted run bit-identically.
//
// One file, <run dir>/checkpoint.safetensors, written atomically (and durably: fsync of the file and
// of the directory around the rename, core/io/fileio.hpp) at the end of every epoch, and inside
// epochs every train.checkpoint_every and where training was stopped (SIGINT/SIGTERM):
//   tensors   "model.<name>"       the model's parameters and buffers (PyTorch names after the prefix)
//             "optimizer.*"        the optimizer's state (moments, momentum buffers)
//   metadata  "nnlab.format_version"  2 (core/io/safetensors.hpp; files without it are version 1)
//             "nnlab.epoch"        epochs completed
//             "nnlab.config"       the resolved config of the run (a resume must use the same one)
//             "nnlab.rng.<i>"      random-stream state of layer i (Dropout), exact decimal words
//             "nnlab.metrics_csv_bytes", "nnlab.metrics_jsonl_bytes"   the metrics files' lengths
//                                  at this point (decimal): they are appended per epoch, and a
//                                  resume (or a failed save) cuts them back to these lengths
//             "nnlab.stopped_early"  "1" when early stopping ended the run here, else "0"
//             "nnlab.processes"    the processes of a data-parallel run (mpirun -np K), K >= 2;
//                                  absent for one process. A resume must use the same number.
//             "nnlab.batch"        batches done of epoch nnlab.epoch + 1 (0: at an epoch's end); a
//                                  mid-epoch checkpoint (SIGINT/SIGTERM, train.checkpoint_every)
//                                  also holds that epoch's partial sums and start lr:
//             "nnlab.epoch_loss_sum", "nnlab.epoch_correct", "nnlab.epoch_seen", "nnlab.epoch_skipped",
//             "nnlab.skips_in_a_row", "nnlab.epoch_lr", "nnlab.rng.augment" (4 words)
//   version 1 (no nnlab.format_version) held the metrics text whole instead, in
//             "nnlab.metrics_csv", "nnlab.metrics_jsonl"; such files still resume (the metrics
//             files are rewritten from that text), with stopped_early "0"
//             "nnlab.best", "nnlab.best_epoch"            model selection so far
//             "schedule.*", "optimizer.*"                  schedule and optimizer scalars
// A single file renamed into place means a crash or SIGKILL leaves either the previous checkpoint
// or the new one. The data order needs no state: it is a function of (seed, epoch).
//
// Loading trusts nothing: every value is checked for its form (strict decimal integers, exact
// numbers, 64-bit random-state words), its range (a variance >= 0, finite optimizer state) and
// its consistency with the rest (the optimizer's step count with the epochs, the schedule's ticks
// with the steps, the stored lr with what the config and schedule give at that point), and a
// CheckpointError names the key or tensor that is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/run/loop.hpp"
#include "core/schedule.hpp"

namespace nnlab {

struct ResumePoint {
  int epoch = 0;  // epochs completed
  // The metrics files' lengths after `epoch` (format 2), or their whole text (format 1 files).
  std::uint64_t metrics_csv_bytes = 0, metrics_jsonl_bytes = 0;
  bool legacy_metrics = false;
  std::string legacy_csv, legacy_jsonl;
  bool stopped_early = false;  // early stopping ended the run after `epoch`
  int processes = 1;           // of the data-parallel job that trained it (core/comm.hpp)
  // Inside epoch `epoch + 1` when position.batch > 0 (a mid-epoch checkpoint).
  EpochPosition position;
  double best = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = 0;
};

void save_checkpoint(const std::filesystem::path& path, Model<float>& model, const Optimizer& optimizer,
                     const Schedule* schedule, const ResumePoint& point, const nlohmann::json& config);

// Restores model, optimizer and schedule in place. The checkpoint's config must equal `config`
// except for output.dir and train.epochs (a run may be extended); throws CheckpointError otherwise
// and for any damaged or mismatching content. `steps_per_epoch` (batches per epoch of this run's
// data; 0: unknown) lets the optimizer's step count be checked against the epochs.
ResumePoint load_checkpoint(const std::filesystem::path& path, Model<float>& model, Optimizer& optimizer,
                            Schedule* schedule, const nlohmann::json& config, Index steps_per_epoch = 0);

}  // namespace nnlab
