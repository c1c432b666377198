#include "core/schedule.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace nnlab {

// ---- Schedule -------------------------------------------------------------------------------

Schedule::Schedule(std::unique_ptr<LrSchedule> main, Interval interval, Warmup warmup)
    : main_(std::move(main)), interval_(interval), warmup_(warmup) {}

double Schedule::lr() const {
  const std::int64_t w = warmup_.total_iters;
  if (ticks_ < w) {
    // LinearLR's closed form with end_factor 1.
    const double f0 = warmup_.start_factor;
    return main_->base_lr() * (f0 + (1.0 - f0) * static_cast<double>(ticks_) / static_cast<double>(w));
  }
  return main_->lr(ticks_ - w);
}

void Schedule::step(std::optional<double> metric) {
  ++ticks_;
  if (ticks_ <= warmup_.total_iters || !needs_metric()) return;
  if (!metric) throw Error("internal: the " + type() + " schedule needs the value of " + main_->metric() + " at every tick");
  main_->observe(*metric);
}

void Schedule::on_batch_end(Optimizer& optimizer) {
  if (interval_ != Interval::step) return;
  step();
  optimizer.set_lr(lr());
}

void Schedule::on_epoch_end(Optimizer& optimizer, std::optional<double> metric) {
  if (interval_ != Interval::epoch) return;
  step(metric);
  optimizer.set_lr(lr());
}

std::string Schedule::describe() const {
  std::string s = main_->describe() + ", per " + (interval_ == Interval::step ? "step" : "epoch");
  if (warmup_.total_iters > 0)
    s += ", after a linear warmup over " + std::to_string(warmup_.total_iters) + " " +
         (interval_ == Interval::step ? "steps" : "epochs") + " from " + exact_decimal(warmup_.start_factor) + "·lr";
  return s;
}

void Schedule::save_state(TensorFile& file) const {
  file.metadata["schedule.type"] = type();
  file.metadata["schedule.interval"] = interval_ == Interval::step ? "step" : "epoch";
  file.metadata["schedule.ticks"] = std::to_string(ticks_);
  std::map<std::string, std::string> own;
  main_->save(own);
  for (const auto& [k, v] : own) file.metadata["schedule." + k] = v;
}

void Schedule::load_state(const TensorFile& file, const std::string& source) {
  auto fail = [&](const std::string& why) { return CheckpointError(source + ": " + why); };
  auto read = [&](const std::string& key) -> const std::string& {
    auto it = file.metadata.find("schedule." + key);
    if (it == file.metadata.end()) throw fail("schedule state: metadata 'schedule." + key + "' is missing");
    return it->second;
  };
  const std::string& saved_type = read("type");
  if (saved_type != type())
    throw fail("this is the state of a '" + saved_type + "' schedule; the config uses '" + type() + "'");
  const std::string interval = interval_ == Interval::step ? "step" : "epoch";
  if (read("interval") != interval)
    throw fail("the schedule was stepped per " + read("interval") + "; the config steps it per " + interval);
  std::vector<std::string> known = {"schedule.type", "schedule.interval", "schedule.ticks"};
  for (const auto& k : main_->state_keys()) known.push_back("schedule." + k);
  for (const auto& [key, value] : file.metadata)
    if (key.rfind("schedule.", 0) == 0 && std::find(known.begin(), known.end(), key) == known.end())
      throw fail("unexpected metadata '" + key + "' for a " + type() + " schedule" + did_you_mean(key, known));
  const std::int64_t ticks = parse_count(read("ticks"), source + ": metadata schedule.ticks");
  main_->load(read, source + ": metadata schedule.");  // validates before changing anything
  ticks_ = ticks;
}

// ---- building -------------------------------------------------------------------------------

namespace {

std::vector<ParamSpec> interval_specs() {
  return {text("interval", "epoch", "tick after every epoch or after every optimizer step", {"epoch", "step"})};
}
std::vector<ParamSpec> warmup_specs() {
  return {integer("total_iters", 5, "warmup length in ticks (PyTorch LinearLR total_iters)", 1),
          number("start_factor", 1.0 / 3.0, "lr factor at the first tick, rising linearly to 1", 0, 1)};
}

ScheduleSpec resolve(const nlohmann::json& spec, const std::string& path) {
  const auto& reg = ScheduleRegistry::instance();
  if (!spec.is_object())
    throw ConfigError(path + ": expected an object like {\"type\": \"cosine\", \"interval\": \"epoch\"}; known types: " +
                      join(reg.names()));
  if (!spec.contains("type") || !spec["type"].is_string())
    throw ConfigError(path + ".type: missing or not a string (one of " + join(reg.names()) + ")");
  ScheduleSpec r;
  r.path = path;
  r.entry = &reg.get(spec["type"].get<std::string>(), "schedule", path + ".type");

  // Keys shared by every schedule, then the schedule's own: an unknown key gets the nearest of all.
  std::vector<std::string> valid = {"type", "interval", "warmup"};
  for (const auto& p : r.entry->params) valid.push_back(p.name);
  for (const auto& [key, value] : spec.items())
    if (std::find(valid.begin(), valid.end(), key) == valid.end())
      throw ConfigError(path + "." + key + ": unknown key" + did_you_mean(key, valid) + "; valid keys for " +
                        r.entry->name + ": " + join(valid));
  r.args = parse_args(r.entry->params, spec, path, {"type", "interval", "warmup"});
  nlohmann::json common = nlohmann::json::object();
  if (spec.contains("interval")) common["interval"] = spec["interval"];
  const Args ia = parse_args(interval_specs(), common, path, {});
  r.interval = ia.text("interval") == "step" ? Interval::step : Interval::epoch;
  if (spec.contains("warmup") && !spec["warmup"].is_null()) {
    const auto& w = spec["warmup"];
    if (!w.is_object())
      throw ConfigError(path + ".warmup: expected an object like {\"total_iters\": 5, \"start_factor\": 0.1}");
    const Args wa = parse_args(warmup_specs(), w, path + ".warmup", {});
    r.warmup.total_iters = wa.integer("total_iters");
    r.warmup.start_factor = wa.number("start_factor");
    r.has_warmup = true;
  }
  return r;
}

std::unique_ptr<LrSchedule> build(const ScheduleSpec& r, ScheduleContext ctx) {
  ctx.interval = r.interval;
  ctx.warmup = r.warmup.total_iters;
  try {
    return r.entry->make(r.args, ctx);
  } catch (const ConfigError& e) {
    throw ConfigError(r.path + ": " + e.what());
  }
}

}  // namespace

nlohmann::json ScheduleSpec::to_json() const {
  nlohmann::json j = {{"type", entry->name}, {"interval", interval == Interval::step ? "step" : "epoch"}};
  const nlohmann::json own = args_to_json(args);
  for (const auto& [k, v] : own.items()) j[k] = v;
  if (has_warmup) j["warmup"] = {{"total_iters", warmup.total_iters}, {"start_factor", warmup.start_factor}};
  return j;
}

std::string ScheduleSpec::metric() const { return args.has("metric") ? args.text("metric") : ""; }

ScheduleSpec resolve_schedule_spec(const nlohmann::json& spec, const std::string& path) {
  ScheduleSpec r = resolve(spec, path);
  ScheduleContext ctx;
  ctx.base_lr = 1.0;
  ctx.validating = true;
  build(r, ctx);  // the schedule's own checks (milestones increasing, mode vs metric, ...)
  return r;
}

nlohmann::json resolve_schedule(const nlohmann::json& spec, const std::string& path) {
  return resolve_schedule_spec(spec, path).to_json();
}

std::unique_ptr<Schedule> make_schedule(const ScheduleSpec& r, double base_lr, RunLength run) {
  ScheduleContext ctx;
  ctx.base_lr = base_lr;
  if (run.epochs > 0) {
    if (r.interval == Interval::epoch) ctx.run_ticks = run.epochs;
    else if (run.steps_per_epoch > 0) ctx.run_ticks = run.epochs * run.steps_per_epoch;
  }
  return std::make_unique<Schedule>(build(r, ctx), r.interval, r.warmup);
}

std::unique_ptr<Schedule> make_schedule(const nlohmann::json& spec, const std::string& path, double base_lr,
                                        RunLength run) {
  return make_schedule(resolve(spec, path), base_lr, run);
}

}  // namespace nnlab
