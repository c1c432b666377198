// Training checkpoints: everything needed to continue an interrupted run bit-identically.
//
// One file, <run dir>/checkpoint.safetensors, written atomically at the end of every epoch:
//   tensors   "model.<name>"       the model's parameters and buffers (PyTorch names after the prefix)
//             "optimizer.*"        the optimizer's state (moments, momentum buffers)
//   metadata  "nnlab.epoch"        epochs completed
//             "nnlab.config"       the resolved config of the run (a resume must use the same one)
//             "nnlab.rng.<i>"      random-stream state of layer i (Dropout), exact decimal words
//             "nnlab.metrics_csv", "nnlab.metrics_jsonl"   the metrics written so far
//             "nnlab.best", "nnlab.best_epoch"            model selection so far
//             "schedule.*", "optimizer.*"                  schedule and optimizer scalars
// A single file renamed into place means a crash or SIGKILL leaves either the previous checkpoint
// or the new one. The data order needs no state: it is a function of (seed, epoch).
#pragma once

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"

namespace nnlab {

struct ResumePoint {
  int epoch = 0;  // epochs completed
  std::string metrics_csv, metrics_jsonl;
  double best = std::numeric_limits<double>::quiet_NaN();
  int best_epoch = 0;
};

void save_checkpoint(const std::filesystem::path& path, Model<float>& model, const Optimizer& optimizer,
                     const Schedule* schedule, const ResumePoint& point, const nlohmann::json& config);

// Restores model, optimizer and schedule in place. The checkpoint's config must equal `config`
// except for output.dir and train.epochs (a run may be extended); throws CheckpointError otherwise
// and for any damaged or mismatching content.
ResumePoint load_checkpoint(const std::filesystem::path& path, Model<float>& model, Optimizer& optimizer,
                            Schedule* schedule, const nlohmann::json& config);

}  // namespace nnlab
