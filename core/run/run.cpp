#include "core/run/run.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/run/checkpoint.hpp"
#include "core/run/divergence.hpp"
#include "core/run/model_file.hpp"
#include "core/run/outputs.hpp"
#include "core/run/setup.hpp"

namespace nnlab {

std::vector<EpochMetrics> run_training(const RunSpec& spec, const RunCallbacks& cb, RunOptions options) {
  RunOutputs out(spec.output.dir);  // before the data is loaded: fail early if it cannot be written
  set_threads(spec.train.threads);
  const RunData data = load_run_data(spec.data, spec.train.seed);
  TrainingSetup setup = make_training(spec, data.train);
  Model<float>& model = setup.model;
  Optimizer& optimizer = *setup.optimizer;
  Schedule* schedule = setup.schedule.get();
  Trainer trainer(model, *setup.loss, optimizer, spec.train, schedule, cb.loop);

  RunSpec bound = spec;
  bound.model = setup.model_spec;
  const nlohmann::json resolved = bound.to_json(&model);
  ResumePoint point;
  if (options.resume) {
    if (!std::filesystem::exists(out.checkpoint_path()))
      throw CheckpointError(out.checkpoint_path().string() +
                            ": no checkpoint to resume from (the run has not completed an epoch)");
    point = load_checkpoint(out.checkpoint_path(), model, optimizer, schedule, resolved);
  }
  if (schedule) optimizer.set_lr(schedule->lr());
  out.write_config(resolved);
  if (cb.on_start) cb.on_start(data, model);

  const ModelInfo info = model_info(data.train);
  std::vector<EpochMetrics> history;
  const std::string& monitor = spec.train.monitor;
  bool stop_early = false;
  for (int epoch = point.epoch + 1; epoch <= spec.train.epochs && !stop_early; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.lr = optimizer.lr();
    const auto t0 = std::chrono::steady_clock::now();
    m.train = trainer.train_epoch(data.train, epoch, data.augment.get());
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Nothing of this epoch is saved (metrics, best, checkpoint) unless the weights are finite.
    if (const std::string bad = layer_with_nonfinite_weights(model); !bad.empty())
      throw DivergedError("training diverged in epoch " + std::to_string(epoch) + ": after its last batch the weights of " +
                              bad + " are not finite (lower optimizer.lr or set train.clip_grad_norm)",
                          epoch);
    if (spec.train.on_nonfinite == "skip") m.extra.emplace_back(kSkippedBatches, static_cast<double>(m.train.skipped));
    if (data.validation.rows) m.validation = trainer.evaluate(data.validation);
    m.test = trainer.evaluate(data.test);
    if (cb.on_epoch_end) cb.on_epoch_end(m, model, data);
    history.push_back(m);
    if (point.metrics_csv.empty()) point.metrics_csv = metrics_csv_header(m);
    point.metrics_csv += metrics_csv_row(m);
    point.metrics_jsonl += metrics_json_line(m);
    out.write_metrics(point.metrics_csv, point.metrics_jsonl);
    if (cb.on_epoch) cb.on_epoch(m);
    if (monitor != "none") {
      const double v = metric_value(m, monitor);
      const double sign = larger_is_better(monitor) ? 1.0 : -1.0;
      if (std::isnan(point.best) || sign * (v - point.best) > spec.train.min_delta) {
        point.best = v, point.best_epoch = epoch;
        if (spec.train.save_best)
          out.save_best(weights_file(model, info, epoch, {{"nnlab." + monitor, nlohmann::json(v).dump()}}));
      } else if (spec.train.patience > 0 && epoch - point.best_epoch >= spec.train.patience) {
        if (cb.on_early_stop) cb.on_early_stop(epoch, point.best_epoch, point.best);
        stop_early = true;
      }
    }
    if (schedule) {
      std::optional<double> metric;
      if (schedule->needs_metric()) metric = metric_value(m, schedule->metric());
      schedule->on_epoch_end(optimizer, metric);
    }
    point.epoch = epoch;
    out.save_checkpoint(model, optimizer, schedule, point, resolved);
  }
  // Resumed a run that had already finished: nothing was trained, the final files are current.
  if (!history.empty()) out.save_final(weights_file(model, info, history.back().epoch));
  return history;
}

}  // namespace nnlab
