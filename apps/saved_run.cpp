#include "apps/saved_run.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace nnlab::app {

namespace {
template <typename T>
T meta_json(const TensorFile& f, const std::string& key, const std::string& source) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    throw CheckpointError(source + ": metadata '" + key + "' is missing (was this file written by nnlab train?)");
  try {
    return nlohmann::json::parse(it->second).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(source + ": metadata '" + key + "' is malformed: " + e.what());
  }
}
}  // namespace

SavedRun load_saved_run(const std::string& dir, const std::string& weights, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw Error(dir + ": not a run directory (expected the --out of nnlab train)");
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::exists(config)) throw Error(config.string() + ": missing (not a run directory?)");
  const fs::path wpath = fs::exists(fs::path(dir) / weights) ? fs::path(dir) / weights : fs::path(weights);
  if (!fs::exists(wpath)) {
    std::string why = (fs::path(dir) / weights).string() + ": no such file";
    if (weights == "model.safetensors" && fs::exists(fs::path(dir) / "checkpoint.safetensors"))
      why += " (the run did not finish: it was interrupted or diverged; an interrupted run continues with "
             "nnlab train --resume " + dir + ")";
    else if (weights == "model.safetensors")
      why += " (the run has not finished an epoch)";
    throw CheckpointError(why);
  }
  SavedRun run;
  run.cfg = load_config(config.string(), overrides);
  run.weights = load_safetensors(wpath);
  const std::string src = wpath.string();
  run.scale = meta_json<float>(run.weights, "nnlab.scale", src);
  run.mean = meta_json<std::vector<float>>(run.weights, "nnlab.mean", src);
  run.stddev = meta_json<std::vector<float>>(run.weights, "nnlab.std", src);
  run.classes = meta_json<int>(run.weights, "nnlab.classes", src);
  run.class_names = meta_json<std::vector<std::string>>(run.weights, "nnlab.class_names", src);
  run.shape = meta_json<std::vector<Index>>(run.weights, "nnlab.shape", src);
  if (run.mean.empty() || run.mean.size() != run.stddev.size()) throw CheckpointError(src + ": normalisation metadata is inconsistent");
  Index features = 1;
  for (Index d : run.shape) features *= d;
  if (run.shape.empty()) {
    auto it = run.weights.tensors.find("layers.0.weight");
    if (it == run.weights.tensors.end() || it->second.shape.size() != 2) throw CheckpointError(src + ": cannot tell the input width");
    features = it->second.shape[1];
  }
  resolve_data_shape(run.cfg, features, run.classes);
  run.model = build_model<float>(run.cfg.model["layers"], features, run.cfg.train.seed);
  load_model_tensors(run.model, run.weights, src);
  return run;
}

}  // namespace nnlab::app
