// Learning-rate schedules: config errors, the resolved form, cosine's T_max 0, the training-loop
// hooks, reduce_on_plateau's metric handling, and their checkpoint state (bad state refused).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "support/optim_reference.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("loading bad schedule state fails naming what is wrong") {
  const json plateau = {{"type", "reduce_on_plateau"}, {"patience", 2}, {"cooldown", 1}};
  auto sched = make_schedule(plateau, "schedule", 0.1);
  for (double m : {1.0, 0.9, 0.95, 0.96, 0.97}) sched->step(m);
  REQUIRE(sched->lr() < 0.1);
  TensorFile good;
  sched->save_state(good);
  CHECK(good.metadata.at("schedule.type") == "reduce_on_plateau");
  CHECK(good.metadata.at("schedule.ticks") == "5");
  CHECK(good.metadata.at("schedule.best") == "0.9");
  CHECK(good.metadata.at("schedule.lr") == exact_decimal(sched->lr()));

  auto error = [&](const json& spec, const TensorFile& f) {
    auto s = make_schedule(spec, "schedule", 0.1);
    return message_of([&] { s->load_state(f, "ckpt"); });
  };
  CHECK(contains(error({{"type", "cosine"}, {"T_max", 10}}, good),
                 "ckpt: this is the state of a 'reduce_on_plateau' schedule; the config uses 'cosine'"));
  TensorFile f = good;
  f.metadata["schedule.interval"] = "step";
  CHECK(contains(error(plateau, f), "the schedule was stepped per step; the config steps it per epoch"));
  f = good;
  f.metadata.erase("schedule.best");
  CHECK(contains(error(plateau, f), "metadata 'schedule.best' is missing"));
  f = good;
  f.metadata["schedule.best"] = "nan";
  CHECK(contains(error(plateau, f), "best: NaN is not a best value"));
  f = good;
  f.metadata["schedule.num_bad_epochs"] = "5";
  CHECK(contains(error(plateau, f), "num_bad_epochs: 5 exceeds the patience 2"));
  f = good;
  f.metadata["schedule.ticks"] = "-2";
  CHECK(contains(error(plateau, f), "schedule.ticks: '-2' is not a count"));
  f = good;
  f.metadata["schedule.bset"] = "1";
  CHECK(contains(error(plateau, f), "unexpected metadata 'schedule.bset' for a reduce_on_plateau schedule (did you mean 'schedule.best'?)"));
  f = good;
  f.metadata.clear();
  CHECK(contains(error(plateau, f), "metadata 'schedule.type' is missing"));

  // A good state restores everything: the same lrs follow.
  auto resumed = make_schedule(plateau, "schedule", 0.1);
  resumed->load_state(good, "ckpt");
  CHECK(resumed->ticks() == 5);
  for (double m : {0.99, 0.98, 0.97, 0.5, 0.5, 0.5}) {
    sched->step(m);
    resumed->step(m);
    CHECK(resumed->lr() == sched->lr());
  }
}

TEST_CASE("schedule config errors name the key and suggest the nearest") {
  auto error = [](const json& spec) { return message_of([&] { resolve_schedule(spec, "schedule"); }); };
  CHECK(contains(error({{"type", "cosin"}}), "schedule.type: unknown schedule 'cosin' (did you mean 'cosine'?)"));
  CHECK(contains(error({{"T_max", 3}}), "schedule.type: missing"));
  CHECK(contains(error("cosine"), "schedule: expected an object"));
  std::string msg = error({{"type", "cosine"}, {"Tmax", 3}});
  CHECK(contains(msg, "schedule.Tmax: unknown key (did you mean 'T_max'?)"));
  CHECK(contains(msg, "valid keys for cosine: type, interval, warmup, T_max, eta_min"));
  CHECK(contains(error({{"type", "cosine"}, {"intervall", "step"}}), "did you mean 'interval'"));
  CHECK(contains(error({{"type", "cosine"}, {"interval", "epochs"}}),
                 "schedule.interval: 'epochs' is not one of epoch, step (did you mean 'epoch'?)"));
  CHECK(contains(error({{"type", "cosine"}, {"T_max", -1}}), "schedule.T_max: -1 is out of range"));
  CHECK(contains(error({{"type", "step"}}), "schedule.step_size: missing required key"));
  CHECK(contains(error({{"type", "step"}, {"step_size", 0}}), "schedule.step_size: 0 is out of range"));
  CHECK(contains(error({{"type", "exponential"}}), "schedule.gamma: missing required key"));
  CHECK(contains(error({{"type", "multi_step"}, {"milestones", {5, 3}}}),
                 "schedule: milestones[1]: milestones must be strictly increasing (5 then 3)"));
  CHECK(contains(error({{"type", "multi_step"}, {"milestones", {2.5}}}), "milestones[0]: 2.5 is not a tick count"));
  CHECK(contains(error({{"type", "multi_step"}, {"milestones", {0}}}), "schedule.milestones[0]: 0 is out of range"));
  CHECK(contains(error({{"type", "multi_step"}, {"milestones", json::array()}}), "give at least one tick count"));
  CHECK(contains(error({{"type", "reduce_on_plateau"}, {"interval", "step"}}), "use \"interval\": \"epoch\""));
  CHECK(contains(error({{"type", "reduce_on_plateau"}, {"metric", "val_acc"}}),
                 "mode: 'min' with metric val_acc would reduce the lr while the accuracy improves; use \"mode\": \"max\""));
  CHECK(contains(error({{"type", "reduce_on_plateau"}, {"mode", "max"}}), "use \"mode\": \"min\""));
  CHECK(contains(error({{"type", "reduce_on_plateau"}, {"factor", 1}}), "factor: must be < 1"));
  CHECK(contains(error({{"type", "reduce_on_plateau"}, {"metric", "val_accuracy"}}), "did you mean 'val_acc'"));
  CHECK(contains(error({{"type", "cosine"}, {"warmup", 5}}), "schedule.warmup: expected an object"));
  CHECK(contains(error({{"type", "cosine"}, {"warmup", {{"total_iter", 5}}}}),
                 "schedule.warmup.total_iter: unknown key (did you mean 'total_iters'?)"));
  CHECK(contains(error({{"type", "cosine"}, {"warmup", {{"start_factor", 1.5}}}}),
                 "schedule.warmup.start_factor: 1.5 is out of range; allowed [0, 1]"));
  CHECK(contains(error({{"type", "cosine"}, {"warmup", {{"total_iters", 0}}}}), "schedule.warmup.total_iters: 0 is out of range"));

  // The resolved form spells out every key.
  const json r = resolve_schedule({{"type", "cosine"}, {"warmup", {{"total_iters", 3}}}});
  CHECK(r == json{{"type", "cosine"}, {"interval", "epoch"}, {"T_max", 0}, {"eta_min", 0.0},
                  {"warmup", {{"total_iters", 3}, {"start_factor", 1.0 / 3.0}}}});
}

TEST_CASE("cosine T_max 0 spans the rest of the run after warmup") {
  const json spec = {{"type", "cosine"}, {"interval", "step"}, {"warmup", {{"total_iters", 5}, {"start_factor", 0.0}}}};
  auto s = make_schedule(spec, "schedule", 0.2, RunLength{3, 10});  // 30 steps: 5 warmup + T_max 25
  CHECK(contains(s->describe(), "T_max 25 (the whole run)"));
  CHECK(s->lr() == 0.0);  // start_factor 0 (PyTorch 1.13's LinearLR divides by zero here; the closed form does not)
  for (int t = 0; t < 5; ++t) s->step();
  CHECK(s->lr() == 0.2);
  for (int t = 0; t < 25; ++t) s->step();
  CHECK(std::abs(s->lr()) < 1e-17);  // eta_min 0 at T_max
  // Per epoch, T_max is counted in epochs.
  auto e = make_schedule({{"type", "cosine"}}, "schedule", 1.0, RunLength{15, 469});
  CHECK(contains(e->describe(), "T_max 15"));
  // Without the run length, T_max 0 cannot be resolved; a warmup filling the run is an error.
  CHECK(contains(message_of([&] { make_schedule({{"type", "cosine"}}, "schedule", 1.0); }),
                 "schedule: T_max: 0 means the whole run, but the run length is unknown here"));
  CHECK(contains(message_of([&] {
                   make_schedule({{"type", "cosine"}, {"warmup", {{"total_iters", 15}}}}, "schedule", 1.0, RunLength{15, 10});
                 }),
                 "the warmup (15 ticks) fills the whole run (15 ticks)"));
}

TEST_CASE("the training-loop hooks tick only on their interval and set the optimizer's lr") {
  auto opt = make_optimizer({{"type", "sgd"}, {"lr", 1.0}});
  auto per_step = make_schedule({{"type", "exponential"}, {"gamma", 0.5}, {"interval", "step"}}, "s", opt->lr());
  auto per_epoch = make_schedule({{"type", "exponential"}, {"gamma", 0.5}}, "s", opt->lr());
  per_step->on_epoch_end(*opt);
  CHECK(per_step->ticks() == 0);
  per_step->on_batch_end(*opt);
  per_step->on_batch_end(*opt);
  CHECK(per_step->ticks() == 2);
  CHECK(opt->lr() == 0.25);
  per_epoch->on_batch_end(*opt);
  CHECK(per_epoch->ticks() == 0);
  per_epoch->on_epoch_end(*opt);
  CHECK(per_epoch->ticks() == 1);
  CHECK(opt->lr() == 0.5);
}

TEST_CASE("reduce_on_plateau: warmup ticks ignore the metric, a NaN metric is a bad epoch, the metric is required") {
  const json spec = {{"type", "reduce_on_plateau"}, {"patience", 0}, {"factor", 0.5},
                     {"warmup", {{"total_iters", 2}, {"start_factor", 0.5}}}};
  auto s = make_schedule(spec, "schedule", 1.0);
  CHECK(s->needs_metric());
  CHECK(s->metric() == "val_loss");
  CHECK(s->lr() == 0.5);
  s->step();  // warmup: no metric needed
  CHECK(s->lr() == 0.75);
  s->step(123.0);  // the last warmup tick: ignored
  CHECK(s->lr() == 1.0);
  s->step(1.0);  // first real tick: best = 1
  CHECK(s->lr() == 1.0);
  s->step(std::numeric_limits<double>::quiet_NaN());  // never an improvement; patience 0: reduce
  CHECK(s->lr() == 0.5);
  CHECK(contains(message_of([&] { s->step(); }), "needs the value of val_loss"));
}
