#include "core/run/outputs.hpp"

#include "core/io/safetensors.hpp"

namespace nnlab {

RunOutputs::RunOutputs(const std::filesystem::path& dir) : dir_(dir), prepared_(dir, "nnlab train") {}

void RunOutputs::write_config(const nlohmann::json& resolved) {
  write_file_atomic(dir_ / "config.json", resolved.dump(2) + "\n");
}

void RunOutputs::write_metrics(const std::string& csv, const std::string& jsonl) {
  write_file_atomic(dir_ / "metrics.csv", csv);
  write_file_atomic(dir_ / "metrics.jsonl", jsonl);
}

void RunOutputs::save_best(const TensorFile& weights) { save_safetensors(dir_ / "best.safetensors", weights); }

void RunOutputs::save_final(const TensorFile& weights) { save_safetensors(dir_ / "model.safetensors", weights); }

void RunOutputs::save_checkpoint(Model<float>& model, const Optimizer& optimizer, const Schedule* schedule,
                                 const ResumePoint& point, const nlohmann::json& config) {
  nnlab::save_checkpoint(checkpoint_path(), model, optimizer, schedule, point, config);
}

}  // namespace nnlab
