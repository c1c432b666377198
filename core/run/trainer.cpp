#include "core/run/trainer.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <thread>

#include "core/run/checkpoint.hpp"
#include "core/run/divergence.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/rng.hpp"
#include "core/io/safetensors.hpp"

namespace nnlab {

Trainer::Trainer(Model<float>& model, Loss<float>& loss, Optimizer& optimizer, const TrainSettings& settings,
                 Schedule* schedule)
    : model_(model), loss_(loss), optimizer_(optimizer), settings_(settings), schedule_(schedule),
      params_(model.parameters()), buffers_(model.buffers()) {
  model_.set_input_grad(false);  // nothing needs dL/d(images): the first layer skips computing it
}

void Trainer::nonfinite_batch(int epoch, Index batch, Index batches, float loss) {
  const bool skip = settings_.on_nonfinite == "skip";
  auto text = [](float v) {
    if (std::isnan(v)) return std::string("nan");
    if (std::isinf(v)) return std::string(v > 0 ? "inf" : "-inf");
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", static_cast<double>(v));
    return std::string(b);
  };
  const std::string what = std::isfinite(loss) ? "the gradients are not finite (the loss is " + text(loss) + ")"
                                               : "the loss is " + text(loss);
  const std::string where = "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " of " +
                            std::to_string(batches);
  // Diagnosis (this path only): re-run the batch layer by layer. In skip mode the buffers (which
  // the failed forward pass updated) are restored before and after it.
  auto restore_buffers = [&] {
    for (std::size_t i = 0; i < buffers_.size(); ++i) *buffers_[i].value = saved_buffers_[i];
  };
  if (skip) restore_buffers();
  const std::string first = locate_nonfinite(model_, loss_, x_, y_);
  const bool weights_bad = !layer_with_nonfinite_weights(model_, /*buffers=*/false).empty();
  if (skip) {
    restore_buffers();
    ++skips_in_a_row_;
    if (!weights_bad && skips_in_a_row_ <= settings_.max_consecutive_skips) {
      if (on_skip) on_skip(where + ": " + what + "; first non-finite value: " + first + "; batch skipped");
      return;
    }
  }
  std::string msg = "training diverged at " + where + ": " + what + "; first non-finite value: " + first;
  if (skip && weights_bad) msg += "; skipping cannot help once the weights are not finite";
  else if (skip) msg += "; stopping after " + std::to_string(settings_.max_consecutive_skips) +
                        " skipped batches in a row (train.max_consecutive_skips)";
  else msg += " (lower optimizer.lr, set train.clip_grad_norm, or set train.on_nonfinite=skip to skip such batches)";
  throw DivergedError(msg, epoch);
}

std::vector<Index> Trainer::epoch_order(Index rows, int epoch) const {
  std::vector<Index> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), Index{0});
  if (settings_.shuffle) {
    Rng rng(settings_.seed, Rng::stream_id("shuffle", static_cast<std::uint64_t>(epoch)));
    shuffle(order.begin(), order.end(), rng);
  }
  return order;
}

EvalResult Trainer::train_epoch(const Dataset& data, int epoch, const std::function<void(Index, Index, double)>& on_batch,
                                const std::function<bool()>& should_stop) {
  const std::vector<Index> order = epoch_order(data.rows, epoch);
  const Index B = settings_.batch_size;
  const Index total = settings_.drop_last ? (data.rows / B) * B : data.rows;
  Rng augment_rng(settings_.seed, Rng::stream_id("augment", static_cast<std::uint64_t>(epoch)));
  double loss_sum = 0;
  Index correct = 0, seen = 0, skipped = 0;
  const bool skip_mode = settings_.on_nonfinite == "skip";
  for (Index start = 0; start < total; start += B) {
    const Index n = std::min(B, total - start);
    data.gather(std::span<const Index>(order.data() + start, static_cast<std::size_t>(n)), x_, y_);
    if (data.augments()) data.augment(x_, augment_rng);
    if (skip_mode) {  // a skipped batch must not leave its statistics in BatchNorm's running buffers
      saved_buffers_.resize(buffers_.size());
      for (std::size_t i = 0; i < buffers_.size(); ++i) saved_buffers_[i] = *buffers_[i].value;
    }
    // forward → loss → backward → update. Non-finite checks: the loss always; the gradients when
    // clipping computes their norm anyway, or in skip mode (core/divergence.hpp).
    const MatF& out = model_.forward(x_, /*training=*/true);
    const float loss = loss_.forward(out, {y_, nullptr});
    bool finite = std::isfinite(loss);
    if (finite) {
      const Index batch_correct = count_correct(out, y_);
      model_.backward(loss_.backward());
      if (settings_.clip_grad_norm > 0) finite = std::isfinite(clip_grad_norm(params_, settings_.clip_grad_norm));
      else if (skip_mode) finite = gradients_finite(params_);
      if (finite) {
        optimizer_.step(params_);
        if (schedule_) schedule_->on_batch_end(optimizer_);
        loss_sum += static_cast<double>(loss) * static_cast<double>(n);
        correct += batch_correct;
        seen += n;
        skips_in_a_row_ = 0;
      }
    }
    if (!finite) nonfinite_batch(epoch, start / B + 1, (total + B - 1) / B, loss), ++skipped;  // throws unless skipping
    if (on_batch) on_batch(start + n, total, seen ? loss_sum / static_cast<double>(seen) : 0.0);
    if (should_stop && should_stop())
      throw InterruptedError("interrupted during epoch " + std::to_string(epoch) + ", after batch " +
                                 std::to_string(start / B + 1) + " of " + std::to_string((total + B - 1) / B),
                             epoch);
  }
  EvalResult r;
  r.samples = seen;
  r.skipped = skipped;
  if (seen) r.loss = loss_sum / static_cast<double>(seen), r.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
  return r;
}

EvalResult Trainer::evaluate(const Dataset& data, Index batch) {
  EvalResult r;
  if (data.rows == 0) return r;
  double loss_sum = 0;
  Index correct = 0;
  std::vector<Index> idx;
  for (Index start = 0; start < data.rows; start += batch) {
    const Index n = std::min(batch, data.rows - start);
    idx.resize(static_cast<std::size_t>(n));
    std::iota(idx.begin(), idx.end(), start);
    data.gather(idx, x_, y_);
    const MatF& out = model_.forward(x_, /*training=*/false);
    loss_sum += static_cast<double>(loss_.forward(out, {y_, nullptr})) * static_cast<double>(n);
    correct += count_correct(out, y_);
  }
  r.samples = data.rows;
  r.loss = loss_sum / static_cast<double>(data.rows);
  r.accuracy = static_cast<double>(correct) / static_cast<double>(data.rows);
  return r;
}

namespace {
Dataset first_rows(const Dataset& d, Index limit) {
  if (limit <= 0 || limit >= d.rows) return d;
  std::vector<Index> idx(static_cast<std::size_t>(limit));
  std::iota(idx.begin(), idx.end(), Index{0});
  return d.take(idx, d.name);
}
}  // namespace

RunData load_run_data(const RunConfig& cfg) {
  const nlohmann::json& d = cfg.data;
  const auto& entry = DatasetRegistry::instance().get(d["dataset"].get<std::string>(), "dataset", "data.dataset");
  const Args args = parse_args(entry.params, d, "data",
                               {"dataset", "validation_split", "normalize", "limit_train", "limit_test"});
  DataSplits splits = entry.load(args);
  RunData out;
  out.train = first_rows(splits.train, d["limit_train"].get<Index>());
  out.test = first_rows(splits.test, d["limit_test"].get<Index>());
  if (!d["normalize"].get<bool>()) {
    for (Dataset* s : {&out.train, &out.test}) {
      s->mean.assign(s->mean.size(), 0.0f);
      s->stddev.assign(s->stddev.size(), 1.0f);
    }
  }
  const double split = d["validation_split"].get<double>();
  if (split > 0) {
    const Index n_val = static_cast<Index>(std::llround(split * static_cast<double>(out.train.rows)));
    if (n_val < 1 || n_val >= out.train.rows)
      throw ConfigError("data.validation_split: " + std::to_string(split) + " of " + std::to_string(out.train.rows) +
                        " samples leaves an empty training or validation set");
    std::vector<Index> order(static_cast<std::size_t>(out.train.rows));
    std::iota(order.begin(), order.end(), Index{0});
    Rng rng(cfg.train.seed, Rng::stream_id("validation-split"));
    shuffle(order.begin(), order.end(), rng);
    std::vector<Index> val(order.begin(), order.begin() + n_val), rest(order.begin() + n_val, order.end());
    std::sort(val.begin(), val.end());
    std::sort(rest.begin(), rest.end());
    const std::string base = out.train.name;
    out.validation = out.train.take(val, base + "[validation]");
    out.validation.crop_padding = 0, out.validation.random_flip = false;  // evaluation data is not augmented
    out.train = out.train.take(rest, base);
  }
  for (const Dataset* s : {&out.train, &out.test}) s->validate();
  if (out.train.rows == 0) throw DataError("the training set is empty");
  return out;
}

std::string metrics_csv_header(const EpochMetrics& first) {
  std::string h = "epoch,train_loss,train_acc,test_loss,test_acc,seconds,val_loss,val_acc,lr";
  for (const auto& [name, v] : first.extra) h += "," + name;
  return h + "\n";
}

std::string metrics_csv_row(const EpochMetrics& m) {
  char buf[512];
  auto num = [](double v) {
    char b[64];
    if (std::isnan(v)) return std::string();
    std::snprintf(b, sizeof b, "%.9g", v);
    return std::string(b);
  };
  std::snprintf(buf, sizeof buf, "%d,%s,%s,%s,%s,%.4f,%s,%s,%s", m.epoch, num(m.train.loss).c_str(),
                num(m.train.accuracy).c_str(), num(m.test.loss).c_str(), num(m.test.accuracy).c_str(), m.seconds,
                num(m.validation.loss).c_str(), num(m.validation.accuracy).c_str(), num(m.lr).c_str());
  std::string row = buf;
  for (const auto& [name, v] : m.extra) row += "," + num(v);
  return row + "\n";
}

namespace {
std::string metrics_json_line(const EpochMetrics& m) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = {{"epoch", m.epoch},
                      {"train_loss", num(m.train.loss)},
                      {"train_acc", num(m.train.accuracy)},
                      {"test_loss", num(m.test.loss)},
                      {"test_acc", num(m.test.accuracy)},
                      {"seconds", m.seconds},
                      {"val_loss", num(m.validation.loss)},
                      {"val_acc", num(m.validation.accuracy)},
                      {"lr", m.lr}};
  for (const auto& [name, v] : m.extra) j[name] = num(v);
  return j.dump() + "\n";
}
}  // namespace

Model<float> build_run_model(RunConfig& cfg, const RunData& data) {
  resolve_data_shape(cfg, data.train.features, data.train.classes);
  Model<float> model;
  try {
    model = build_model<float>(cfg.model["layers"], data.train.sample_shape(), cfg.train.seed);
  } catch (const ShapeError& e) {  // name the shorthand key the user wrote, not the expanded layer
    throw ShapeError(name_shorthand_layer(cfg, e.what()));
  } catch (const ConfigError& e) {
    throw ConfigError(name_shorthand_layer(cfg, e.what()));
  }
  if (model.out_features() != data.train.classes)
    throw ShapeError("the model has " + std::to_string(model.out_features()) + " outputs but the data set has " +
                     std::to_string(data.train.classes) + " classes");
  return model;
}

std::map<std::string, std::string> model_metadata(const Dataset& train, Model<float>& model) {
  std::map<std::string, std::string> meta;
  meta["format"] = "pt";
  meta["nnlab.architecture"] = model.summary();
  meta["nnlab.dataset"] = train.name;
  meta["nnlab.scale"] = nlohmann::json(train.scale).dump();
  meta["nnlab.mean"] = nlohmann::json(train.mean).dump();
  meta["nnlab.std"] = nlohmann::json(train.stddev).dump();
  meta["nnlab.classes"] = std::to_string(train.classes);
  meta["nnlab.class_names"] = nlohmann::json(train.class_names).dump();
  meta["nnlab.shape"] = nlohmann::json(train.shape).dump();
  return meta;
}

bool larger_is_better(const std::string& metric) { return metric.size() > 4 && metric.substr(metric.size() - 4) == "_acc"; }

double monitored_value(const EpochMetrics& m, const std::string& metric) {
  if (metric == "val_loss") return m.validation.loss;
  if (metric == "val_acc") return m.validation.accuracy;
  if (metric == "test_loss") return m.test.loss;
  if (metric == "test_acc") return m.test.accuracy;
  if (metric == "train_loss") return m.train.loss;
  if (metric == "train_acc") return m.train.accuracy;
  throw ConfigError("train.monitor: unknown metric '" + metric + "'");
}

std::vector<EpochMetrics> run_training(RunConfig& cfg, const RunCallbacks& cb) {
  namespace fs = std::filesystem;
  const OutputDir out_dir(cfg.output_dir);  // before the data is loaded: fail early if it cannot be written
  set_threads(cfg.train.threads);
  RunData data = load_run_data(cfg);
  Model<float> model = build_run_model(cfg, data);
  auto loss = make_loss<float>(cfg.train.loss);
  auto optimizer = make_optimizer(cfg.optimizer);
  const Index B = cfg.train.batch_size;
  const Index steps = cfg.train.drop_last ? data.train.rows / B : (data.train.rows + B - 1) / B;
  std::unique_ptr<Schedule> schedule;
  if (!cfg.schedule.is_null())
    schedule = make_schedule(cfg.schedule, "schedule", optimizer->lr(), {cfg.train.epochs, static_cast<std::int64_t>(steps)});
  Trainer trainer(model, *loss, *optimizer, cfg.train, schedule.get());
  trainer.on_skip = cb.on_skip;

  const fs::path out = cfg.output_dir;
  const fs::path checkpoint = out / "checkpoint.safetensors";
  ResumePoint point;
  if (cfg.resume) {
    if (!fs::exists(checkpoint))
      throw CheckpointError(checkpoint.string() + ": no checkpoint to resume from (the run has not completed an epoch)");
    point = load_checkpoint(checkpoint, model, *optimizer, schedule.get(), cfg.resolved);
  }
  if (schedule) optimizer->set_lr(schedule->lr());
  write_file_atomic(out / "config.json", cfg.resolved.dump(2) + "\n");
  if (cb.on_start) cb.on_start(data, model);

  std::vector<EpochMetrics> history;
  std::string& csv = point.metrics_csv;
  std::string& jsonl = point.metrics_jsonl;
  const std::string& monitor = cfg.train.monitor;
  double& best = point.best;
  int& best_epoch = point.best_epoch;
  bool stop_early = false;
  for (int epoch = point.epoch + 1; epoch <= cfg.train.epochs && !stop_early; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.lr = optimizer->lr();
    const auto t0 = std::chrono::steady_clock::now();
    m.train = trainer.train_epoch(
        data.train, epoch,
        [&](Index done, Index total, double l) {
          if (cb.on_batch) cb.on_batch(epoch, done, total, l);
        },
        cb.should_stop);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Nothing of this epoch is saved (metrics, best, checkpoint) unless the weights are finite.
    if (const std::string bad = layer_with_nonfinite_weights(model); !bad.empty())
      throw DivergedError("training diverged in epoch " + std::to_string(epoch) + ": after its last batch the weights of " +
                              bad + " are not finite (lower optimizer.lr or set train.clip_grad_norm)",
                          epoch);
    if (cfg.train.on_nonfinite == "skip") m.extra.emplace_back("skipped_batches", static_cast<double>(m.train.skipped));
    if (data.validation.rows) m.validation = trainer.evaluate(data.validation);
    m.test = trainer.evaluate(data.test);
    if (cb.on_epoch_end) cb.on_epoch_end(m, model, data);
    history.push_back(m);
    if (csv.empty()) csv = metrics_csv_header(m);
    csv += metrics_csv_row(m);
    jsonl += metrics_json_line(m);
    write_file_atomic(out / "metrics.csv", csv);
    write_file_atomic(out / "metrics.jsonl", jsonl);
    if (cb.on_epoch) cb.on_epoch(m);
    if (monitor != "none") {
      const double v = monitored_value(m, monitor);
      const double sign = larger_is_better(monitor) ? 1.0 : -1.0;
      if (std::isnan(best) || sign * (v - best) > cfg.train.min_delta) {
        best = v, best_epoch = epoch;
        if (cfg.train.save_best) {
          TensorFile weights = model_tensors(model);
          weights.metadata = model_metadata(data.train, model);
          weights.metadata["nnlab.epoch"] = std::to_string(epoch);
          weights.metadata["nnlab." + monitor] = nlohmann::json(v).dump();
          save_safetensors(out / "best.safetensors", weights);
        }
      } else if (cfg.train.patience > 0 && epoch - best_epoch >= cfg.train.patience) {
        if (cb.on_early_stop) cb.on_early_stop(epoch, best_epoch, best);
        stop_early = true;
      }
    }
    if (schedule) {
      std::optional<double> metric;
      if (schedule->needs_metric()) metric = monitored_value(m, schedule->metric());
      schedule->on_epoch_end(*optimizer, metric);
    }
    point.epoch = epoch;
    save_checkpoint(checkpoint, model, *optimizer, schedule.get(), point, cfg.resolved);
  }
  if (history.empty()) {
    // Resumed a run that had already finished: nothing to train, final files are current.
    return history;
  }
  TensorFile weights = model_tensors(model);
  weights.metadata = model_metadata(data.train, model);
  weights.metadata["nnlab.epoch"] = std::to_string(history.back().epoch);
  save_safetensors(out / "model.safetensors", weights);
  return history;
}

}  // namespace nnlab
