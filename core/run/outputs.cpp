#include "core/run/outputs.hpp"

#include <utility>

#include "core/error.hpp"
#include "core/io/safetensors.hpp"

namespace nnlab {

RunOutputs::RunOutputs(const std::filesystem::path& dir, bool writer) : dir_(dir) {
  if (writer) prepared_.emplace(dir, "nnlab train");
}

void RunOutputs::write_config(const nlohmann::json& resolved) {
  if (!writer()) return;
  write_file_atomic(dir_ / "config.json", resolved.dump(2) + "\n");
}

RunOutputs::MetricsLengths RunOutputs::write_metrics(const std::string& csv, const std::string& jsonl) {
  if (!writer()) return {csv.size(), jsonl.size()};
  write_file_atomic(dir_ / "metrics.csv", csv);
  write_file_atomic(dir_ / "metrics.jsonl", jsonl);
  return {csv.size(), jsonl.size()};
}

RunOutputs::MetricsLengths RunOutputs::append_metrics(const std::string& csv, const std::string& jsonl) {
  if (!writer()) return {};
  MetricsLengths before;
  std::error_code ec;
  if (const auto n = std::filesystem::file_size(dir_ / "metrics.csv", ec); !ec) before.csv = n;
  MetricsLengths after;
  after.csv = append_file_durable(dir_ / "metrics.csv", csv);
  try {
    after.jsonl = append_file_durable(dir_ / "metrics.jsonl", jsonl);
  } catch (const Error&) {
    truncate_file(dir_ / "metrics.csv", before.csv);  // both files or neither
    throw;
  }
  return after;
}

void RunOutputs::cut_metrics(MetricsLengths lengths) {
  if (!writer()) return;
  for (const auto& [name, length] : {std::pair{"metrics.csv", lengths.csv}, std::pair{"metrics.jsonl", lengths.jsonl}}) {
    const std::filesystem::path path = dir_ / name;
    std::error_code ec;
    const std::uint64_t size = std::filesystem::exists(path) ? std::filesystem::file_size(path, ec) : 0;
    if (ec) throw Error(path.string() + ": cannot read its size: " + ec.message());
    if (size < length)
      throw CheckpointError(path.string() + ": holds " + std::to_string(size) + " bytes, but the checkpoint's epochs need " +
                            std::to_string(length) + " (metrics of completed epochs are missing: restore the file, "
                            "or train the run again without --resume)");
    if (size > length) truncate_file(path, length);
  }
}

void RunOutputs::save_best(const TensorFile& weights) {
  if (writer()) save_safetensors(dir_ / "best.safetensors", weights);
}

void RunOutputs::save_final(const TensorFile& weights) {
  if (writer()) save_safetensors(dir_ / "model.safetensors", weights);
}

void RunOutputs::save_checkpoint(Model<float>& model, const Optimizer& optimizer, const Schedule* schedule,
                                 const ResumePoint& point, const nlohmann::json& config) {
  if (!writer()) return;
  nnlab::save_checkpoint(checkpoint_path(), model, optimizer, schedule, point, config);
}

}  // namespace nnlab
