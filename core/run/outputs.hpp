// Everything a training run writes goes through one RunOutputs: the resolved config, the metrics,
// the best and final weights, the checkpoint. (So "only one process writes", for runs spread over
// several processes, is one condition here, and every file is written atomically, in one place.)
//
//   <dir>/config.json              the resolved config (RunSpec::to_json of the built model)
//   <dir>/metrics.csv, metrics.jsonl   one row per completed epoch (core/run/metrics.hpp), appended
//                                  per epoch; the checkpoint records their lengths, and they are cut
//                                  back to those when a save fails and when a run resumes, so the
//                                  metrics always list exactly the checkpoint's epochs
//   <dir>/best.safetensors         weights of the best epoch of the monitored metric
//   <dir>/checkpoint.safetensors   everything to resume after the last completed epoch
//   <dir>/model.safetensors        the final weights (core/run/model_file.hpp)
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/io/fileio.hpp"
#include "core/run/checkpoint.hpp"
#include "core/state.hpp"

namespace nnlab {

class RunOutputs {
 public:
  // Prepares the directory (created if needed, proven writable, locked against a second nnlab
  // train: core/io/fileio.hpp OutputDir) before any data is loaded, so an unwritable path or a
  // directory in use fails first.
  // `writer` false: a process of a data-parallel job other than rank 0, which writes nothing (every
  // write below does nothing; rank 0 writes the same content).
  explicit RunOutputs(const std::filesystem::path& dir, bool writer = true);
  bool writer() const { return prepared_.has_value(); }

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path checkpoint_path() const { return dir_ / "checkpoint.safetensors"; }

  void write_config(const nlohmann::json& resolved);
  struct MetricsLengths {
    std::uint64_t csv = 0, jsonl = 0;
  };
  // Append one epoch's rows (durably); returns the files' new lengths. On failure the files are as
  // they were.
  MetricsLengths append_metrics(const std::string& csv, const std::string& jsonl);
  // Cut the metrics files back to `lengths` (a checkpoint's). Throws CheckpointError naming the
  // file when it is shorter than that (metrics the checkpoint counts on are gone).
  void cut_metrics(MetricsLengths lengths);
  // Format-1 checkpoints hold the metrics text: the files are rewritten from it.
  MetricsLengths write_metrics(const std::string& csv, const std::string& jsonl);
  std::filesystem::path final_path() const { return dir_ / "model.safetensors"; }
  void save_best(const TensorFile& weights);
  void save_final(const TensorFile& weights);
  void save_checkpoint(Model<float>& model, const Optimizer& optimizer, const Schedule* schedule,
                       const ResumePoint& point, const nlohmann::json& config);

 private:
  std::filesystem::path dir_;
  std::optional<OutputDir> prepared_;
};

}  // namespace nnlab
