#include "core/run/checkpoint.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/registry.hpp"
#include "core/io/json_parse.hpp"
#include "core/io/safetensors.hpp"

namespace nnlab {

namespace {

const std::string model_prefix = "model.";

// The parts of a config that must agree for a resume. Input widths (dense in_features, ...) are left
// out: the resolved config shows them as the built model's widths, older checkpoints as 0 ("from
// the input"), and both describe the same model (a wrong width fails when the tensors load).
nlohmann::json comparable(nlohmann::json config) {
  if (config.contains("output") && config["output"].is_object()) config["output"].erase("dir");
  if (config.contains("train") && config["train"].is_object()) config["train"].erase("epochs");
  if (config.contains("model") && config["model"].is_object() && config["model"].contains("layers") &&
      config["model"]["layers"].is_array())
    for (auto& layer : config["model"]["layers"]) {
      if (!layer.is_object() || !layer.contains("type") || !layer["type"].is_string()) continue;
      if (const LayerEntry* e = LayerRegistry::instance().find(layer["type"].get<std::string>()))
        for (const auto& p : e->params)
          if (p.input_width) layer.erase(p.name);
    }
  return config;
}

std::string exact(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, Model<float>& model, const Optimizer& optimizer,
                     const Schedule* schedule, const ResumePoint& point, const nlohmann::json& config) {
  auto params = model.parameters();
  TensorFile file = optimizer.state(params);
  const TensorFile weights = model_tensors(model);
  for (const auto& [name, t] : weights.tensors) file.tensors[model_prefix + name] = t;
  if (schedule) schedule->save_state(file);
  file.metadata["nnlab.epoch"] = std::to_string(point.epoch);
  file.metadata["nnlab.config"] = config.dump();
  file.metadata["nnlab.metrics_csv"] = point.metrics_csv;
  file.metadata["nnlab.metrics_jsonl"] = point.metrics_jsonl;
  file.metadata["nnlab.best"] = exact(point.best);
  file.metadata["nnlab.best_epoch"] = std::to_string(point.best_epoch);
  for (std::size_t i = 0; i < model.size(); ++i) {
    const auto s = model.layer(i).rng_state();
    if (s.empty()) continue;
    std::string words;
    for (auto w : s) words += (words.empty() ? "" : " ") + std::to_string(w);
    file.metadata["nnlab.rng." + std::to_string(i)] = words;
  }
  save_safetensors(path, file);
}

ResumePoint load_checkpoint(const std::filesystem::path& path, Model<float>& model, Optimizer& optimizer,
                            Schedule* schedule, const nlohmann::json& config) {
  const std::string src = path.string();
  const TensorFile file = load_safetensors(path);
  auto meta = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) throw CheckpointError(src + ": metadata '" + key + "' is missing");
    return it->second;
  };
  nlohmann::json saved;
  try {
    saved = parse_json(meta("nnlab.config"));
  } catch (const nlohmann::json::exception&) {
    throw CheckpointError(src + ": the stored config is not valid JSON");
  }
  if (comparable(saved) != comparable(config))
    throw CheckpointError(src + ": the checkpoint was written by a different config; resume with the run's own "
                                "config (only train.epochs may change)");
  // Model: tensors under "model." only.
  TensorFile weights;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind(model_prefix, 0) == 0) weights.tensors[name.substr(model_prefix.size())] = t;
  load_model_tensors(model, weights, src);
  auto params = model.parameters();
  optimizer.load_state(file, params, src);
  if (schedule) schedule->load_state(file, src);
  ResumePoint p;
  try {
    p.epoch = std::stoi(meta("nnlab.epoch"));
    p.best_epoch = std::stoi(meta("nnlab.best_epoch"));
    const std::string& b = meta("nnlab.best");
    p.best = b == "nan" ? std::numeric_limits<double>::quiet_NaN() : std::stod(b);
  } catch (const std::logic_error&) {
    throw CheckpointError(src + ": malformed epoch or best-metric metadata");
  }
  p.metrics_csv = meta("nnlab.metrics_csv");
  p.metrics_jsonl = meta("nnlab.metrics_jsonl");
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto it = file.metadata.find("nnlab.rng." + std::to_string(i));
    if (model.layer(i).rng_state().empty()) continue;
    if (it == file.metadata.end()) throw CheckpointError(src + ": random state of layer " + std::to_string(i) + " is missing");
    std::vector<std::uint64_t> words;
    std::size_t pos = 0;
    const std::string& s = it->second;
    try {
      while (pos < s.size()) {
        std::size_t used = 0;
        words.push_back(std::stoull(s.substr(pos), &used));
        pos += used;
        while (pos < s.size() && s[pos] == ' ') ++pos;
      }
    } catch (const std::logic_error&) {
      throw CheckpointError(src + ": random state of layer " + std::to_string(i) + " is malformed");
    }
    model.layer(i).set_rng_state(words);
  }
  return p;
}

}  // namespace nnlab
