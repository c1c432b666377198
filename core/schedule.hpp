// Learning-rate schedules, as PyTorch's torch.optim.lr_scheduler, with optional linear warmup.
//
// Config: a "schedule" object beside "optimizer" (no "schedule": the optimizer's lr throughout).
//
//   "schedule": {"type": "cosine", "T_max": 15, "eta_min": 0,          the schedule and its keys
//                "interval": "epoch",                                   "epoch" (default) or "step"
//                "warmup": {"total_iters": 5, "start_factor": 0.1}}     optional
//
// A tick is one interval: "epoch" ticks after every epoch (after evaluation, so reduce_on_plateau
// sees that epoch's metric), "step" after every optimizer step (every batch). All counts below
// (step_size, milestones, T_max, total_iters) are in ticks. With t ticks done and base = the
// optimizer's configured lr, the lr for the next tick is (PyTorch's closed forms):
//
//   type               keys (default)                          lr(t)
//   constant           —                                       base
//   step               step_size (required), gamma (0.1)       base · gamma^⌊t / step_size⌋      StepLR
//   multi_step         milestones (required, increasing        base · gamma^(number of milestones ≤ t)
//                      integers > 0), gamma (0.1)                                                MultiStepLR
//   exponential        gamma (required)                        base · gamma^t                    ExponentialLR
//   cosine             T_max (0), eta_min (0)                  eta_min + (base − eta_min)·(1 + cos(π·t/T_max))/2
//                      T_max 0 means "the rest of the run": (epochs or total steps) − warmup
//                                                                                   CosineAnnealingLR
//   reduce_on_plateau  metric ("val_loss"; also val_acc,       starts at base; multiplied by factor after
//                      train_loss, train_acc, test_loss,       more than `patience` ticks without
//                      test_acc), mode ("min"|"max"),          improvement of the metric, then waits
//                      factor (0.1, < 1), patience (10),       `cooldown` ticks; never below min_lr and
//                      threshold (1e-4), threshold_mode        no change smaller than eps. Improvement
//                      ("rel"|"abs"), cooldown (0),            (mode min, rel): m < best·(1 − threshold).
//                      min_lr (0), eps (1e-8)                  interval must be "epoch". ReduceLROnPlateau
//
//   warmup: total_iters (5), start_factor (1/3, in [0, 1])    (PyTorch LinearLR then the schedule,
//     t < W = total_iters:   lr = base · (start_factor + (1 − start_factor)·t/W)   i.e. SequentialLR
//     t ≥ W:                 the schedule above at tick t − W (it starts at base)    with milestone W)
//   During warmup the schedule does not tick (reduce_on_plateau ignores those metrics).
//
// Use in a training loop (Schedule below):
//   auto sched = make_schedule(cfg.schedule, "schedule", optimizer->lr(), {epochs, batches_per_epoch});
//   optimizer->set_lr(sched->lr());                  once, before training (and after a resume)
//   after every optimizer step:   sched->on_batch_end(*optimizer);
//   after every epoch's evaluation: sched->on_epoch_end(*optimizer, metric);
//     (metric: the value named by sched->metric() when sched->needs_metric(), else nullopt)
//
// Checkpoint state: save_state(file) adds metadata "schedule.type", "schedule.interval",
// "schedule.ticks" (decimal integer) and the schedule's own keys (reduce_on_plateau: "schedule.lr",
// "schedule.best", "schedule.num_bad_epochs", "schedule.cooldown_counter"), numbers as exact
// decimal strings, so a resumed run continues bit-identically. load_state validates them all and
// throws CheckpointError naming what is wrong; metadata not starting with "schedule." is ignored,
// so the optimizer's state can share the file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/optimizer.hpp"
#include "core/params.hpp"
#include "core/registry.hpp"
#include "core/state.hpp"

namespace nnlab {

enum class Interval { epoch, step };

// What a schedule factory knows besides its own keys.
struct ScheduleContext {
  double base_lr = 0;
  Interval interval = Interval::epoch;
  std::int64_t warmup = 0;                  // warmup ticks before the schedule starts
  std::optional<std::int64_t> run_ticks;    // ticks in the whole run, when known
  bool validating = false;                  // true while checking a config (run_ticks unknown)
};

// A registered schedule: the lr after t of its own ticks (t = 0: base_lr for every schedule).
// Closed-form schedules are pure functions of t; metric-driven ones keep state, fed by observe().
class LrSchedule {
 public:
  explicit LrSchedule(double base_lr) : base_lr_(base_lr) {}
  virtual ~LrSchedule() = default;
  virtual std::string name() const = 0;
  virtual double lr(std::int64_t t) const = 0;
  // A description with the resolved values, for the log ("cosine: T_max 7035, eta_min 0").
  virtual std::string describe() const = 0;

  // The metric this schedule reacts to ("val_loss"), or "" when it needs none.
  virtual std::string metric() const { return ""; }
  virtual void observe(double /*metric*/) {}
  // State beyond the tick count, as metadata keys without the "schedule." prefix.
  virtual void save(std::map<std::string, std::string>& /*state*/) const {}
  // Reads the keys save() wrote; `read(key)` returns a key's text or throws if it is missing.
  virtual void load(const std::function<const std::string&(const std::string&)>& /*read*/,
                    const std::string& /*where*/) {}
  virtual std::vector<std::string> state_keys() const { return {}; }

  double base_lr() const { return base_lr_; }

 protected:
  double base_lr_;
};

struct ScheduleEntry {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<LrSchedule>(const Args&, const ScheduleContext&)> make;
};
using ScheduleRegistry = Registry<ScheduleEntry>;

struct Warmup {
  std::int64_t total_iters = 0;  // 0: no warmup
  double start_factor = 1.0 / 3.0;
};

// A configured schedule: interval, optional warmup, and the registered schedule after it.
class Schedule {
 public:
  Schedule(std::unique_ptr<LrSchedule> main, Interval interval, Warmup warmup);

  std::string type() const { return main_->name(); }
  Interval interval() const { return interval_; }
  bool needs_metric() const { return !main_->metric().empty(); }
  std::string metric() const { return main_->metric(); }
  std::int64_t ticks() const { return ticks_; }
  std::string describe() const;

  // The lr for the coming tick.
  double lr() const;
  // One tick. Schedules that need a metric need it here, except during warmup.
  void step(std::optional<double> metric = std::nullopt);

  // For the training loop: tick when the interval matches, then set the optimizer's lr.
  void on_batch_end(Optimizer& optimizer);
  void on_epoch_end(Optimizer& optimizer, std::optional<double> metric = std::nullopt);

  void save_state(TensorFile& file) const;
  void load_state(const TensorFile& file, const std::string& source);

 private:
  std::unique_ptr<LrSchedule> main_;
  Interval interval_;
  Warmup warmup_;
  std::int64_t ticks_ = 0;
};

// The run's length, for schedules whose length defaults to the whole run (cosine T_max 0).
struct RunLength {
  std::int64_t epochs = 0;           // 0: unknown
  std::int64_t steps_per_epoch = 0;  // optimizer steps (batches) per epoch
};

// A "schedule" section resolved: the registered schedule with its validated arguments, the
// interval and the warmup. Checks that need a schedule's own logic (milestones increasing, a mode
// that fits the metric) run when it is resolved, by building it once with an unknown run length.
struct ScheduleSpec {
  const ScheduleEntry* entry = nullptr;
  Args args;
  Interval interval = Interval::epoch;
  Warmup warmup;
  bool has_warmup = false;
  std::string path = "schedule";

  // The metric a metric-driven schedule reads ("val_loss"), "" for the others.
  std::string metric() const;
  nlohmann::json to_json() const;  // every key spelled out, for the resolved config
};

// Validate a "schedule" object. Throws ConfigError naming the JSON path ("schedule.T_max: ...")
// with the nearest valid name.
ScheduleSpec resolve_schedule_spec(const nlohmann::json& spec, const std::string& path = "schedule");
// resolve_schedule_spec(spec, path).to_json()
nlohmann::json resolve_schedule(const nlohmann::json& spec, const std::string& path = "schedule");

// Build the schedule of a run. `base_lr` is the optimizer's configured lr.
std::unique_ptr<Schedule> make_schedule(const ScheduleSpec& spec, double base_lr, RunLength run = {});
// From a "schedule" object (resolve_schedule_spec, then make_schedule).
std::unique_ptr<Schedule> make_schedule(const nlohmann::json& spec, const std::string& path, double base_lr,
                                        RunLength run = {});

}  // namespace nnlab

// Register a schedule class whose constructor is Class(const Args&, const ScheduleContext&).
#define NNLAB_REGISTER_SCHEDULE(Class, name, summary, ...)                                             \
  namespace {                                                                                          \
  [[maybe_unused]] const bool NNLAB_CONCAT(nnlab_registered_sched_, __LINE__) =                        \
      ::nnlab::ScheduleRegistry::instance().add(::nnlab::ScheduleEntry{                                \
          name, summary, std::vector<::nnlab::ParamSpec> __VA_ARGS__,                                  \
          [](const ::nnlab::Args& a, const ::nnlab::ScheduleContext& c) -> std::unique_ptr<::nnlab::LrSchedule> { \
            return std::make_unique<Class>(a, c);                                                      \
          }});                                                                                         \
  }
