#include "core/run/saved_run.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/io/json_parse.hpp"

namespace nnlab {

namespace {

using nlohmann::json;

// A metadata value, parsed as JSON. A weights file may come from anywhere, so every value is checked
// for the form and range nnlab needs before it is used (a shape whose product overflows, a class
// count of 10^12, a scale of 1e300 are errors, not numbers to compute with).
json meta_json(const TensorFile& f, const std::string& key, const std::string& source) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    throw CheckpointError(source + ": metadata '" + key + "' is missing (was this file written by nnlab train?)");
  try {
    return parse_json(it->second);
  } catch (const json::exception& e) {
    throw CheckpointError(source + ": metadata '" + key + "' is malformed: " + e.what());
  }
}

[[noreturn]] void bad_meta(const std::string& key, const std::string& source, const std::string& expected) {
  throw CheckpointError(source + ": metadata '" + key + "' is not " + expected);
}

// An integer in [lo, hi] (hi >= 0); nlohmann keeps non-negative integers as unsigned.
bool int_in(const json& j, std::int64_t lo, std::int64_t hi) {
  if (j.is_number_unsigned())
    return j.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi) && j.get<std::int64_t>() >= lo;
  return j.is_number_integer() && j.get<std::int64_t>() >= lo && j.get<std::int64_t>() <= hi;
}

bool float_value(const json& j, bool positive) {
  if (!j.is_number()) return false;
  const double v = j.get<double>();
  return std::isfinite(v) && std::abs(v) <= std::numeric_limits<float>::max() && (!positive || v > 0);
}

std::vector<float> float_list(const TensorFile& f, const std::string& key, const std::string& source, bool positive) {
  const json j = meta_json(f, key, source);
  const std::string expected = positive ? "a list of positive numbers" : "a list of numbers";
  if (!j.is_array()) bad_meta(key, source, expected);
  std::vector<float> out;
  for (const auto& v : j) {
    if (!float_value(v, positive)) bad_meta(key, source, expected);
    out.push_back(v.get<float>());
  }
  return out;
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
  const json scale = meta_json(run.weights, "nnlab.scale", src);
  if (!float_value(scale, true)) bad_meta("nnlab.scale", src, "a positive number");
  run.scale = scale.get<float>();
  run.mean = float_list(run.weights, "nnlab.mean", src, false);
  run.stddev = float_list(run.weights, "nnlab.std", src, true);
  const json classes = meta_json(run.weights, "nnlab.classes", src);
  if (!int_in(classes, 1, 1 << 24)) bad_meta("nnlab.classes", src, "a class count (1 to 2^24)");
  run.classes = classes.get<int>();
  const json names = meta_json(run.weights, "nnlab.class_names", src);
  if (!names.is_array() || !std::all_of(names.begin(), names.end(), [](const json& n) { return n.is_string(); }))
    bad_meta("nnlab.class_names", src, "a list of strings");
  run.class_names = names.get<std::vector<std::string>>();
  // The sample shape, e.g. [1, 28, 28]: positive sizes whose product (the input width) stays sane.
  const json shape = meta_json(run.weights, "nnlab.shape", src);
  constexpr std::int64_t max_features = std::int64_t{1} << 40;
  Index features = 1;
  if (!shape.is_array()) bad_meta("nnlab.shape", src, "a sample shape like [1, 28, 28]");
  for (const auto& d : shape) {
    if (!int_in(d, 1, max_features) || features > max_features / d.get<std::int64_t>())
      bad_meta("nnlab.shape", src, "a sample shape like [1, 28, 28] (positive sizes, at most 2^40 values)");
    run.shape.push_back(d.get<Index>());
    features *= run.shape.back();
  }
  if (run.mean.empty() || run.mean.size() != run.stddev.size()) throw CheckpointError(src + ": normalisation metadata is inconsistent");
  if (run.shape.empty()) {
    auto it = run.weights.tensors.find("layers.0.weight");
    if (it == run.weights.tensors.end() || it->second.shape.size() != 2) throw CheckpointError(src + ": cannot tell the input width");
    features = it->second.shape[1];
  }
  resolve_data_shape(run.cfg, features, run.classes);
  run.model = build_model<float>(run.cfg.model["layers"], run.shape.empty() ? Shape{features} : Shape(run.shape),
                                 run.cfg.train.seed);
  load_model_tensors(run.model, run.weights, src);
  return run;
}

}  // namespace nnlab
