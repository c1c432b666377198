#include "core/run/run.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/run/checkpoint.hpp"
#include "core/run/divergence.hpp"
#include "core/run/model_file.hpp"
#include "core/run/outputs.hpp"
#include "core/run/setup.hpp"

namespace nnlab {
namespace {

// Data-parallel: every process must train the same run (a launcher given different arguments per
// rank, a data file that differs between nodes) and each needs rows of every batch. Compared by a
// hash of the resolved config and of the data's size, through the job's max (exact in doubles: 21
// bits a piece). Every process throws the same agreed error, so none waits in a later collective.
void check_same_run(Communicator& comm, const RunSpec& spec, const nlohmann::json& resolved, const RunData& data) {
  nlohmann::json what = resolved;
  if (what.contains("output")) what.erase("output");  // each rank may name the directory its own way
  what["nnlab.rows"] = {data.train.rows, data.validation.rows, data.test.rows, data.train.features};
  const std::uint64_t h = Rng::stream_id(what.dump());  // FNV-1a of the text
  double parts[6];
  for (int i = 0; i < 3; ++i) {
    parts[i] = static_cast<double>((h >> (21 * i)) & 0x1FFFFF);
    parts[i + 3] = -parts[i];
  }
  comm.max(parts);
  if (parts[0] != -parts[3] || parts[1] != -parts[4] || parts[2] != -parts[5]) {
    ConfigError e("the " + std::to_string(comm.size()) + " processes of this job were not given the same run: their "
                  "resolved configs or data sets differ (give every rank the same CONFIG and --set values, and the "
                  "same data files on every node)");
    e.agreed = true;
    throw e;
  }
  if (spec.train.batch_size < comm.size()) {
    ConfigError e("train.batch_size is " + std::to_string(spec.train.batch_size) + " but the job has " +
                  std::to_string(comm.size()) + " processes: each needs at least one sample of every batch (use a "
                  "batch of at least " + std::to_string(comm.size()) + ", or fewer processes)");
    e.agreed = true;
    throw e;
  }
}

}  // namespace

std::vector<EpochMetrics> run_training(const RunSpec& spec, const RunCallbacks& cb, RunOptions options) {
  Communicator& comm = options.comm ? *options.comm : local_process();
  RunOutputs out(spec.output.dir, comm.rank() == 0);  // before the data is loaded: fail early if it cannot be written
  set_threads(spec.train.threads);
  const RunData data = load_run_data(spec.data, spec.train.seed);
  TrainingSetup setup = make_training(spec, data.train);
  Model<float>& model = setup.model;
  Optimizer& optimizer = *setup.optimizer;
  Schedule* schedule = setup.schedule.get();
  Trainer trainer(model, *setup.loss, optimizer, spec.train, schedule, cb.loop, comm);

  RunSpec bound = spec;
  bound.model = setup.model_spec;
  const nlohmann::json resolved = bound.to_json(&model);
  if (comm.size() > 1) check_same_run(comm, spec, resolved, data);
  ResumePoint point;
  point.processes = comm.size();
  if (options.resume) {
    if (!std::filesystem::exists(out.checkpoint_path()))
      throw CheckpointError(out.checkpoint_path().string() +
                            ": no checkpoint to resume from (the run has not completed an epoch)");
    point = load_checkpoint(out.checkpoint_path(), model, optimizer, schedule, resolved, setup.steps_per_epoch);
    if (point.processes != comm.size()) {
      auto procs = [](int k) { return k == 1 ? std::string("one process") : std::to_string(k) + " processes (mpirun -np " + std::to_string(k) + ")"; };
      CheckpointError e(out.checkpoint_path().string() + ": written by a run of " + procs(point.processes) +
                        ", but this one has " + procs(comm.size()) + "; resume it with " + procs(point.processes) +
                        " (the data order and the global batch would be the same, but the summation order, BatchNorm's "
                        "per-process statistics and Dropout's per-process streams would not, so it would not continue "
                        "the same run)");
      e.agreed = true;  // every rank read the same checkpoint
      throw e;
    }
    // Fewer epochs than done: config.json would disagree with the metrics and the weights.
    if (point.position.batch > 0 && point.epoch >= spec.train.epochs)
      throw ConfigError("train.epochs is " + std::to_string(spec.train.epochs) + ", but the run in " + out.dir().string() +
                        " has completed " + std::to_string(point.epoch) + " epochs and batch " +
                        std::to_string(point.position.batch) + " of epoch " + std::to_string(point.epoch + 1) +
                        "; resume with train.epochs of at least " + std::to_string(point.epoch + 1) + " (nothing was changed)");
    if (point.epoch > spec.train.epochs)
      throw ConfigError("train.epochs is " + std::to_string(spec.train.epochs) + ", but the run in " + out.dir().string() +
                        " has completed " + std::to_string(point.epoch) + " epochs; resume with train.epochs of at least " +
                        std::to_string(point.epoch) + " (nothing was changed)");
  }
  if (options.resume) {
    // The metrics files list exactly the checkpoint's epochs (a crash after an epoch's rows were
    // appended, before its checkpoint, leaves one more).
    if (point.legacy_metrics) {
      const auto n = out.write_metrics(point.legacy_csv, point.legacy_jsonl);
      point.metrics_csv_bytes = n.csv, point.metrics_jsonl_bytes = n.jsonl, point.legacy_metrics = false;
    } else {
      out.cut_metrics({point.metrics_csv_bytes, point.metrics_jsonl_bytes});
    }
  }
  if (schedule) optimizer.set_lr(schedule->lr());
  out.write_config(resolved);
  if (cb.on_start) cb.on_start(data, model);

  const ModelInfo info = model_info(data.train);
  std::vector<EpochMetrics> history;
  const std::string& monitor = spec.train.monitor;
  bool stop_early = point.stopped_early;
  // Checkpoints inside epochs: every train.checkpoint_every, and where training was stopped.
  using Clock = std::chrono::steady_clock;
  auto last_save = Clock::now();
  std::int64_t steps_at_save = optimizer.steps();
  auto save_position = [&](const EpochPosition& pos) {
    ResumePoint inside = point;
    inside.position = pos;
    out.save_checkpoint(model, optimizer, schedule, inside, resolved);
    last_save = Clock::now(), steps_at_save = optimizer.steps();
  };
  if (spec.train.checkpoint_steps > 0 || spec.train.checkpoint_seconds > 0)
    trainer.set_on_position([&](const EpochPosition& pos) {
      const bool by_steps = spec.train.checkpoint_steps > 0 && optimizer.steps() - steps_at_save >= spec.train.checkpoint_steps;
      const bool by_time = spec.train.checkpoint_seconds > 0 &&
                           std::chrono::duration<double>(Clock::now() - last_save).count() >= spec.train.checkpoint_seconds;
      if (by_steps || by_time) save_position(pos);
    });
  std::optional<EpochPosition> resume_at;
  if (point.position.batch > 0 && point.epoch < spec.train.epochs && !stop_early) resume_at = point.position;

  for (int epoch = point.epoch + 1; epoch <= spec.train.epochs && !stop_early; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.lr = resume_at ? resume_at->lr : optimizer.lr();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      m.train = trainer.train_epoch(data.train, epoch, data.augment.get(), resume_at ? &*resume_at : nullptr);
    } catch (const InterruptedError& e) {
      // (Stopped after an epoch's last batch: that epoch is trained again, from the last checkpoint.)
      const Index done = trainer.position().batch;
      if (!options.checkpoint_on_interrupt || done == 0 || done >= setup.steps_per_epoch) throw;
      save_position(trainer.position());
      throw InterruptedError(std::string(e.what()) + "; the checkpoint at that batch is saved in " +
                                 out.checkpoint_path().string(),
                             e.epoch);
    }
    resume_at.reset();
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
    // The epoch's files: metrics appended, best weights, checkpoint. If any write fails (a full
    // disk), the metrics are cut back to the last checkpoint's, so files and checkpoint agree.
    const RunOutputs::MetricsLengths before{point.metrics_csv_bytes, point.metrics_jsonl_bytes};
    try {
      const auto after = out.append_metrics((before.csv == 0 ? metrics_csv_header(m) : "") + metrics_csv_row(m),
                                            metrics_json_line(m));
      if (cb.on_epoch) cb.on_epoch(m);
      ResumePoint next = point;
      if (monitor != "none") {
        const double v = metric_value(m, monitor);
        const double sign = larger_is_better(monitor) ? 1.0 : -1.0;
        if (std::isnan(next.best) || sign * (v - next.best) > spec.train.min_delta) {
          next.best = v, next.best_epoch = epoch;
          if (spec.train.save_best)
            out.save_best(weights_file(model, info, epoch, {{"nnlab." + monitor, nlohmann::json(v).dump()}}));
        } else if (spec.train.patience > 0 && epoch - next.best_epoch >= spec.train.patience) {
          if (cb.on_early_stop) cb.on_early_stop(epoch, next.best_epoch, next.best);
          stop_early = true;
        }
      }
      if (schedule) {
        std::optional<double> metric;
        if (schedule->needs_metric()) metric = metric_value(m, schedule->metric());
        schedule->on_epoch_end(optimizer, metric);
      }
      next.epoch = epoch;
      next.metrics_csv_bytes = after.csv, next.metrics_jsonl_bytes = after.jsonl;
      next.stopped_early = stop_early;
      next.position = EpochPosition{};
      out.save_checkpoint(model, optimizer, schedule, next, resolved);
      point = next;
      last_save = Clock::now(), steps_at_save = optimizer.steps();
    } catch (const Error& e) {
      try {
        out.cut_metrics(before);
      } catch (const Error& cut) {
        throw Error(std::string(e.what()) + "; then, cutting the metrics back to the checkpoint's epochs failed: " + cut.what());
      }
      throw;
    }
  }
  // The final weights are those of the checkpoint's epoch. Also after a resume that had nothing to
  // train, unless model.safetensors already holds exactly them (its save may have failed: a full disk).
  if (point.epoch > 0) {
    const TensorFile final_weights = weights_file(model, info, point.epoch);
    std::error_code ec;
    if (!history.empty() || !std::filesystem::exists(out.final_path(), ec) ||
        read_file(out.final_path(), "weights") != encode_safetensors(final_weights))
      out.save_final(final_weights);
  }
  return history;
}

}  // namespace nnlab
