#include "core/run/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/io/json_parse.hpp"
#include "core/io/safetensors.hpp"

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
    throw CheckpointError(source + ": metadata '" + key + "' is malformed: " + json_error_text(e));
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

ModelInfo model_info(const Dataset& train) {
  ModelInfo info;
  info.dataset = train.name;
  info.scale = train.scale;
  info.mean = train.mean;
  info.stddev = train.stddev;
  info.classes = train.classes;
  info.class_names = train.class_names;
  info.shape = train.shape;
  return info;
}

TensorFile weights_file(Model<float>& model, const ModelInfo& info, int epoch,
                        const std::map<std::string, std::string>& extra) {
  TensorFile f = model_tensors(model);
  auto& meta = f.metadata;
  meta["format"] = "pt";
  meta[kFormatVersionKey] = std::to_string(kFormatVersion);
  meta["nnlab.architecture"] = model.summary();
  meta["nnlab.dataset"] = info.dataset;
  meta["nnlab.scale"] = json(info.scale).dump();
  meta["nnlab.mean"] = json(info.mean).dump();
  meta["nnlab.std"] = json(info.stddev).dump();
  meta["nnlab.classes"] = std::to_string(info.classes);
  meta["nnlab.class_names"] = json(info.class_names).dump();
  meta["nnlab.shape"] = json(info.shape).dump();
  meta["nnlab.epoch"] = std::to_string(epoch);
  for (const auto& [k, v] : extra) meta[k] = v;
  return f;
}

ModelInfo read_model_info(const TensorFile& file, const std::string& src) {
  format_version(file, src);  // a newer version is refused before anything in it is read
  ModelInfo info;
  if (auto it = file.metadata.find("nnlab.dataset"); it != file.metadata.end()) info.dataset = it->second;
  const json scale = meta_json(file, "nnlab.scale", src);
  if (!float_value(scale, true)) bad_meta("nnlab.scale", src, "a positive number");
  info.scale = scale.get<float>();
  info.mean = float_list(file, "nnlab.mean", src, false);
  info.stddev = float_list(file, "nnlab.std", src, true);
  const json classes = meta_json(file, "nnlab.classes", src);
  if (!int_in(classes, 1, 1 << 24)) bad_meta("nnlab.classes", src, "a class count (1 to 2^24)");
  info.classes = classes.get<int>();
  const json names = meta_json(file, "nnlab.class_names", src);
  if (!names.is_array() || !std::all_of(names.begin(), names.end(), [](const json& n) { return n.is_string(); }))
    bad_meta("nnlab.class_names", src, "a list of strings");
  info.class_names = names.get<std::vector<std::string>>();
  // The sample shape, e.g. [1, 28, 28]: positive sizes whose product (the input width) stays sane.
  const json shape = meta_json(file, "nnlab.shape", src);
  constexpr std::int64_t max_features = std::int64_t{1} << 40;
  Index features = 1;
  if (!shape.is_array()) bad_meta("nnlab.shape", src, "a sample shape like [1, 28, 28]");
  for (const auto& d : shape) {
    if (!int_in(d, 1, max_features) || features > max_features / d.get<std::int64_t>())
      bad_meta("nnlab.shape", src, "a sample shape like [1, 28, 28] (positive sizes, at most 2^40 values)");
    info.shape.push_back(d.get<Index>());
    features *= info.shape.back();
  }
  if (info.mean.empty() || info.mean.size() != info.stddev.size())
    throw CheckpointError(src + ": metadata 'nnlab.mean' has " + std::to_string(info.mean.size()) +
                          " values and 'nnlab.std' " + std::to_string(info.stddev.size()) +
                          "; both need one per channel (or one for all)");
  // Each value is checked against the others it describes the samples with.
  const std::size_t channels = info.shape.size() == 3 ? static_cast<std::size_t>(info.shape[0]) : 1;
  if (info.mean.size() != 1 && info.mean.size() != channels)
    throw CheckpointError(src + ": metadata 'nnlab.mean' has " + std::to_string(info.mean.size()) +
                          " values for samples of " + std::to_string(channels) + " channel(s) (nnlab.shape " +
                          shape.dump() + ")");
  for (std::size_t c = 0; c < info.mean.size(); ++c)
    for (const double byte : {0.0, 255.0}) {  // what gather() computes from a pixel byte, in float
      const double v = (byte * info.scale - info.mean[c]) / info.stddev[c];
      if (!(std::abs(v) <= std::numeric_limits<float>::max()))
        throw CheckpointError(src + ": metadata 'nnlab.std' " + json(info.stddev[c]).dump() + " of channel " +
                              std::to_string(c) + " turns pixel values into infinities; not a standard deviation of data");
    }
  if (!info.class_names.empty() && info.class_names.size() != static_cast<std::size_t>(info.classes))
    throw CheckpointError(src + ": metadata 'nnlab.class_names' has " + std::to_string(info.class_names.size()) +
                          " names for nnlab.classes " + std::to_string(info.classes));
  return info;
}

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
  run.spec = load_config(config.string(), overrides);
  run.weights = load_safetensors(wpath);
  const std::string src = wpath.string();
  run.info = read_model_info(run.weights, src);
  Index features = 1;
  for (Index d : run.info.shape) features *= d;
  if (run.info.shape.empty()) {
    auto it = run.weights.tensors.find("layers.0.weight");
    if (it == run.weights.tensors.end() || it->second.shape.size() != 2) throw CheckpointError(src + ": cannot tell the input width");
    features = it->second.shape[1];
  }
  try {
    const ModelSpec model = run.spec.model.bind(run.info.sample_shape(features), run.info.classes, run.spec.data.dataset());
    run.model = build_model<float>(model.layers, model.input_shape, run.spec.train.seed);
  } catch (const ShapeError& e) {
    throw CheckpointError(src + ": its metadata (nnlab.shape, nnlab.classes) do not fit the model of " + config.string() +
                          ": " + e.what());
  }
  // The metadata describe this model, or the file is not usable with it.
  if (run.model.out_features() != run.info.classes)
    throw CheckpointError(src + ": metadata 'nnlab.classes' is " + std::to_string(run.info.classes) + " but the model of " +
                          config.string() + " has " + std::to_string(run.model.out_features()) + " outputs");
  load_model_tensors(run.model, run.weights, src);
  return run;
}

}  // namespace nnlab
