#include "core/run/checkpoint.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "core/error.hpp"
#include "core/io/json_parse.hpp"
#include "core/io/safetensors.hpp"
#include "core/registry.hpp"
#include "core/run/spec.hpp"

namespace nnlab {

namespace {

const std::string model_prefix = "model.";
constexpr std::int64_t kMaxEpochs = 1'000'000;  // train.epochs' own limit (core/run/spec.cpp)

// The parts of a config that must agree for a resume. Input widths (dense in_features, ...) are left
// out: the resolved config shows them as the built model's widths, older checkpoints as 0 ("from
// the input"), and both describe the same model (a wrong width fails when the tensors load).
nlohmann::json comparable(nlohmann::json config) {
  if (config.contains("output") && config["output"].is_object()) config["output"].erase("dir");
  if (config.contains("train") && config["train"].is_object()) {
    config["train"].erase("epochs");
    config["train"].erase("checkpoint_every");  // how often to save changes nothing that is trained
  }
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

// A value of the stored config, or `fallback` when the config lacks it.
template <typename T>
T stored(const nlohmann::json& config, const char* section, const char* key, T fallback) {
  if (!config.contains(section) || !config[section].is_object() || !config[section].contains(key)) return fallback;
  try {
    return config[section][key].get<T>();
  } catch (const nlohmann::json::exception&) {
    return fallback;
  }
}

// A checkpoint's metadata, read strictly; every message names the file and the key.
class Meta {
 public:
  Meta(const TensorFile& file, std::string source) : file_(file), src_(std::move(source)) {}

  bool has(const std::string& key) const { return file_.metadata.count(key) != 0; }
  const std::string& text(const std::string& key) const {
    auto it = file_.metadata.find(key);
    if (it == file_.metadata.end()) throw CheckpointError(src_ + ": metadata '" + key + "' is missing");
    return it->second;
  }
  // A decimal integer in [0, max]: digits only (no sign, no spaces, no leading zeros, nothing after).
  std::int64_t count(const std::string& key, std::int64_t max, const std::string& kind = "malformed metadata") const {
    const std::string& t = text(key);
    std::int64_t v = -1;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    const bool digits = !t.empty() && t.find_first_not_of("0123456789") == std::string::npos && (t.size() == 1 || t[0] != '0');
    if (!digits || r.ec != std::errc() || r.ptr != t.data() + t.size() || v > max)
      throw CheckpointError(src_ + ": " + kind + ": " + key + " '" + t + "' is not a whole number from 0 to " +
                            std::to_string(max));
    return v;
  }
  // A number as exact_decimal writes it, or "nan" when `nan_ok`.
  double number(const std::string& key, bool nan_ok, const std::string& kind = "malformed metadata") const {
    const std::string& t = text(key);
    if (nan_ok && t == "nan") return std::numeric_limits<double>::quiet_NaN();
    double v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(v))
      throw CheckpointError(src_ + ": " + kind + ": " + key + " '" + t + "' is not a finite number" +
                            (nan_ok ? " (or nan)" : ""));
    return v;
  }
  // Random-stream words: unsigned 64-bit decimals separated by single spaces.
  std::vector<std::uint64_t> words(const std::string& key, const std::string& what) const {
    const std::string& t = text(key);
    std::vector<std::uint64_t> out;
    std::size_t pos = 0;
    bool ok = !t.empty();
    while (ok && pos <= t.size()) {
      const std::size_t end = std::min(t.find(' ', pos), t.size());
      const std::string_view w(t.data() + pos, end - pos);
      std::uint64_t v = 0;
      const auto r = std::from_chars(w.data(), w.data() + w.size(), v);
      ok = !w.empty() && w.find_first_not_of("0123456789") == std::string_view::npos && r.ec == std::errc() &&
           r.ptr == w.data() + w.size();
      out.push_back(v);
      pos = end + 1;
    }
    if (!ok)
      throw CheckpointError(src_ + ": malformed metadata: " + key + " '" + t + "' is not the random state of " + what +
                            " (unsigned 64-bit decimal numbers separated by spaces)");
    return out;
  }
  const std::string& source() const { return src_; }

 private:
  const TensorFile& file_;
  std::string src_;
};

}  // namespace

void save_checkpoint(const std::filesystem::path& path, Model<float>& model, const Optimizer& optimizer,
                     const Schedule* schedule, const ResumePoint& point, const nlohmann::json& config) {
  auto params = model.parameters();
  TensorFile file = optimizer.state(params);
  const TensorFile weights = model_tensors(model);
  for (const auto& [name, t] : weights.tensors) file.tensors[model_prefix + name] = t;
  if (schedule) schedule->save_state(file);
  file.metadata[kFormatVersionKey] = std::to_string(kFormatVersion);
  file.metadata["nnlab.epoch"] = std::to_string(point.epoch);
  file.metadata["nnlab.config"] = config.dump();
  file.metadata["nnlab.metrics_csv_bytes"] = std::to_string(point.metrics_csv_bytes);
  file.metadata["nnlab.metrics_jsonl_bytes"] = std::to_string(point.metrics_jsonl_bytes);
  file.metadata["nnlab.stopped_early"] = point.stopped_early ? "1" : "0";
  if (point.processes > 1) file.metadata["nnlab.processes"] = std::to_string(point.processes);
  const EpochPosition& pos = point.position;
  file.metadata["nnlab.batch"] = std::to_string(pos.batch);
  file.metadata["nnlab.epoch_loss_sum"] = exact_decimal(pos.batch ? pos.loss_sum : 0.0);
  file.metadata["nnlab.epoch_correct"] = std::to_string(pos.batch ? pos.correct : 0);
  file.metadata["nnlab.epoch_seen"] = std::to_string(pos.batch ? pos.seen : 0);
  file.metadata["nnlab.epoch_skipped"] = std::to_string(pos.batch ? pos.skipped : 0);
  file.metadata["nnlab.skips_in_a_row"] = std::to_string(pos.skips_in_a_row);
  file.metadata["nnlab.epoch_lr"] = exact_decimal(pos.batch ? pos.lr : 0.0);
  std::string augment;
  for (auto w : pos.augment) augment += (augment.empty() ? "" : " ") + std::to_string(pos.batch ? w : 0);
  file.metadata["nnlab.rng.augment"] = augment;
  file.metadata["nnlab.best"] = std::isnan(point.best) ? "nan" : exact_decimal(point.best);
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
                            Schedule* schedule, const nlohmann::json& config, Index steps_per_epoch) {
  const std::string src = path.string();
  const TensorFile file = load_safetensors(path);
  const Meta meta(file, src);
  const int version = format_version(file, src);  // a newer version is refused before anything is interpreted

  nlohmann::json saved;
  try {
    saved = parse_json(meta.text("nnlab.config"));
  } catch (const nlohmann::json::exception&) {
    throw CheckpointError(src + ": the stored config is not valid JSON");
  }
  // Keys the stored config lacks (it was written by an older nnlab) take their defaults: resolving
  // it as a config fills them in, as they were before the key existed.
  try {
    saved = resolve_config(saved, src + " (metadata nnlab.config)").to_json();
  } catch (const ConfigError& e) {
    throw CheckpointError(src + ": the stored config (metadata nnlab.config) is not a valid config: " + e.what());
  }
  if (comparable(saved) != comparable(config))
    throw CheckpointError(src + ": the checkpoint was written by a different config; resume with the run's own "
                                "config (only train.epochs may change)");

  // Nothing unknown: a key this nnlab does not write is damage (or a typo), not something to skip.
  std::vector<std::string> known = {"nnlab.epoch", "nnlab.config", "nnlab.best", "nnlab.best_epoch"};
  if (version == 1) {
    known.insert(known.end(), {"nnlab.metrics_csv", "nnlab.metrics_jsonl"});
  } else {
    known.insert(known.end(), {kFormatVersionKey, "nnlab.metrics_csv_bytes", "nnlab.metrics_jsonl_bytes",
                               "nnlab.stopped_early", "nnlab.batch", "nnlab.epoch_loss_sum", "nnlab.epoch_correct",
                               "nnlab.epoch_seen", "nnlab.epoch_skipped", "nnlab.skips_in_a_row", "nnlab.epoch_lr",
                               "nnlab.rng.augment", "nnlab.processes"});
  }
  for (std::size_t i = 0; i < model.size(); ++i)
    if (!model.layer(i).rng_state().empty()) known.push_back("nnlab.rng." + std::to_string(i));
  for (const auto& [key, value] : file.metadata) {
    if (key.rfind("optimizer.", 0) == 0 || (schedule && key.rfind("schedule.", 0) == 0)) continue;  // checked by them
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw CheckpointError(src + ": unexpected metadata '" + key + "'" + did_you_mean(key, known) +
                            " (not written by nnlab for this run: a damaged file?)");
  }
  for (const auto& [name, t] : file.tensors)
    if (name.rfind(model_prefix, 0) != 0 && name.rfind("optimizer.", 0) != 0)
      throw CheckpointError(src + ": unexpected tensor '" + name + "' (a checkpoint holds model.* and optimizer.* tensors)");

  ResumePoint p;
  const std::string bookkeeping = "malformed epoch or best-metric metadata";
  p.epoch = static_cast<int>(meta.count("nnlab.epoch", kMaxEpochs, bookkeeping));
  p.best_epoch = static_cast<int>(meta.count("nnlab.best_epoch", kMaxEpochs, bookkeeping));
  p.best = meta.number("nnlab.best", /*nan_ok=*/true, bookkeeping);
  if (p.best_epoch > p.epoch)
    throw CheckpointError(src + ": " + bookkeeping + ": nnlab.best_epoch " + std::to_string(p.best_epoch) +
                          " is after the last completed epoch " + std::to_string(p.epoch));
  if (p.best_epoch == 0 && !std::isnan(p.best))
    throw CheckpointError(src + ": " + bookkeeping + ": nnlab.best is " + meta.text("nnlab.best") +
                          " but nnlab.best_epoch is 0 (no epoch)");
  if (stored<std::string>(config, "train", "monitor", "none") == "none" && p.best_epoch != 0)
    throw CheckpointError(src + ": " + bookkeeping + ": nnlab.best_epoch is " + std::to_string(p.best_epoch) +
                          " but the run monitors no metric (train.monitor none)");
  if (version == 1) {  // the metrics text whole; no early-stopping flag (such runs resume as unfinished)
    p.legacy_metrics = true;
    p.legacy_csv = meta.text("nnlab.metrics_csv");
    p.legacy_jsonl = meta.text("nnlab.metrics_jsonl");
  } else {
    constexpr std::int64_t kMaxBytes = std::int64_t{1} << 50;
    p.metrics_csv_bytes = static_cast<std::uint64_t>(meta.count("nnlab.metrics_csv_bytes", kMaxBytes));
    p.metrics_jsonl_bytes = static_cast<std::uint64_t>(meta.count("nnlab.metrics_jsonl_bytes", kMaxBytes));
    if ((p.epoch == 0) != (p.metrics_csv_bytes == 0) || (p.epoch == 0) != (p.metrics_jsonl_bytes == 0))
      throw CheckpointError(src + ": malformed metadata: nnlab.metrics_csv_bytes " + std::to_string(p.metrics_csv_bytes) +
                            " and nnlab.metrics_jsonl_bytes " + std::to_string(p.metrics_jsonl_bytes) +
                            " do not fit nnlab.epoch " + std::to_string(p.epoch));
    const std::string& stopped = meta.text("nnlab.stopped_early");
    if (stopped != "0" && stopped != "1")
      throw CheckpointError(src + ": malformed metadata: nnlab.stopped_early '" + stopped + "' is not 0 or 1");
    p.stopped_early = stopped == "1";
    if (meta.has("nnlab.processes")) {
      p.processes = static_cast<int>(meta.count("nnlab.processes", std::int64_t{1} << 24, "malformed metadata"));
      if (p.processes < 2) throw CheckpointError(src + ": malformed metadata: nnlab.processes is " + std::to_string(p.processes) + " (written only for 2 or more)");
    }
    // The position inside the next epoch (batch 0: none).
    EpochPosition& pos = p.position;
    const std::int64_t max_batches = steps_per_epoch > 0 ? steps_per_epoch - 1 : std::int64_t{1} << 40;
    pos.epoch = p.epoch + 1;
    pos.batch = static_cast<Index>(meta.count("nnlab.batch", max_batches, "malformed position metadata"));
    const std::int64_t batch_size = stored<std::int64_t>(config, "train", "batch_size", std::int64_t{1} << 40);
    const std::int64_t max_seen = static_cast<std::int64_t>(pos.batch) * batch_size;
    pos.loss_sum = meta.number("nnlab.epoch_loss_sum", false, "malformed position metadata");
    pos.seen = static_cast<Index>(meta.count("nnlab.epoch_seen", max_seen, "malformed position metadata"));
    pos.correct = static_cast<Index>(meta.count("nnlab.epoch_correct", pos.seen, "malformed position metadata"));
    pos.skipped = static_cast<Index>(meta.count("nnlab.epoch_skipped", pos.batch, "malformed position metadata"));
    pos.skips_in_a_row = static_cast<int>(meta.count("nnlab.skips_in_a_row", 1'000'000, "malformed position metadata"));
    pos.lr = meta.number("nnlab.epoch_lr", false, "malformed position metadata");
    if (pos.loss_sum < 0 || pos.lr < 0)
      throw CheckpointError(src + ": malformed position metadata: nnlab.epoch_loss_sum and nnlab.epoch_lr cannot be negative");
    const auto words = meta.words("nnlab.rng.augment", "the augmentation stream");
    if (words.size() != 4)
      throw CheckpointError(src + ": malformed position metadata: nnlab.rng.augment holds " + std::to_string(words.size()) +
                            " words, not the 4 of a random stream");
    std::copy(words.begin(), words.end(), pos.augment.begin());
    if (pos.batch > 0 && p.stopped_early)
      throw CheckpointError(src + ": malformed metadata: nnlab.stopped_early is 1 but nnlab.batch is " +
                            std::to_string(pos.batch) + " (inside an epoch)");
  }

  // Model: tensors under "model." only (finite, buffers within their ranges: load_model_tensors).
  TensorFile weights;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind(model_prefix, 0) == 0) weights.tensors[name.substr(model_prefix.size())] = t;
  load_model_tensors(model, weights, src);
  const double configured_lr = optimizer.lr();
  auto params = model.parameters();
  optimizer.load_state(file, params, src);
  if (schedule) schedule->load_state(file, src);

  // The parts agree with each other and with this run.
  const std::int64_t steps = optimizer.steps();
  const bool skipping = stored<std::string>(config, "train", "on_nonfinite", "stop") == "skip";
  if (steps_per_epoch > 0) {
    const std::int64_t expected = static_cast<std::int64_t>(p.epoch) * steps_per_epoch + p.position.batch;
    if (skipping ? steps > expected : steps != expected)
      throw CheckpointError(src + ": metadata nnlab.epoch is " + std::to_string(p.epoch) + ", but optimizer.step is " +
                            std::to_string(steps) + (skipping ? ", more than " : ", not ") + "the " +
                            std::to_string(expected) + " steps of " + std::to_string(p.epoch) + " epochs of " +
                            std::to_string(steps_per_epoch) + " batches and " + std::to_string(p.position.batch) +
                            " (nnlab.batch) of the next (the file contradicts itself: damaged?)");
  }
  if (schedule) {
    const bool per_step = schedule->interval() == Interval::step;
    const std::int64_t expected = per_step ? steps : p.epoch;
    if (schedule->ticks() != expected)
      throw CheckpointError(src + ": metadata schedule.ticks is " + std::to_string(schedule->ticks()) + ", but a schedule " +
                            (per_step ? "stepped per step ticks once per optimizer step (optimizer.step is "
                                      : "stepped per epoch ticks once per epoch (nnlab.epoch is ") +
                            std::to_string(expected) + ")");
  }
  // The stored lr is what the config gives at this point: the optimizer's own lr without a
  // schedule, the schedule's at these ticks with one. A run extended to more epochs changes the
  // length of schedules that span the run (cosine T_max 0), so the stored lr is checked against the
  // schedule as the checkpoint's own config built it; the new schedule's lr then takes over.
  double expected_lr = configured_lr;
  if (schedule) {
    expected_lr = schedule->lr();
    const std::int64_t saved_epochs = stored<std::int64_t>(saved, "train", "epochs", -1);
    if (saved_epochs != stored<std::int64_t>(config, "train", "epochs", -2)) {
      if (saved_epochs < 1 || !saved.contains("schedule"))
        throw CheckpointError(src + ": the stored config (metadata nnlab.config) lacks train.epochs or its schedule");
      std::unique_ptr<Schedule> as_saved;
      try {
        as_saved = make_schedule(saved["schedule"], "schedule", configured_lr,
                                 {saved_epochs, static_cast<std::int64_t>(steps_per_epoch)});
      } catch (const ConfigError& e) {
        throw CheckpointError(src + ": the schedule of the stored config (metadata nnlab.config) cannot be built: " +
                              e.what());
      }
      as_saved->load_state(file, src);
      expected_lr = as_saved->lr();
    }
  }
  if (optimizer.lr() != expected_lr)
    throw CheckpointError(src + ": metadata optimizer.lr '" + meta.text("optimizer.lr") + "' is not the learning rate " +
                          (schedule ? "the schedule gives at this point (" : "of the config (") +
                          exact_decimal(expected_lr) + "): a damaged file?");

  for (std::size_t i = 0; i < model.size(); ++i) {
    if (model.layer(i).rng_state().empty()) continue;
    const std::string key = "nnlab.rng." + std::to_string(i);
    const std::string what = "layer " + std::to_string(i) + " (" + model.layer(i).type() + ")";
    if (!meta.has(key)) throw CheckpointError(src + ": random state of " + what + " is missing (metadata " + key + ")");
    try {
      model.layer(i).set_rng_state(meta.words(key, what));
    } catch (const CheckpointError& e) {
      const std::string m = e.what();
      if (m.rfind(src, 0) == 0) throw;
      throw CheckpointError(src + ": metadata " + key + ": " + m);
    }
  }
  return p;
}

}  // namespace nnlab
