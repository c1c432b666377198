// Reduce the learning rate when a metric stops improving, as PyTorch's ReduceLROnPlateau.
// At every tick (epoch) with metric value m:
//
//   improved  =  m < best·(1 − threshold)    mode min, threshold_mode rel
//                m < best − threshold        mode min, abs
//                m > best·(1 + threshold)    mode max, rel
//                m > best + threshold        mode max, abs
//   improved:  best = m, bad = 0;   else bad = bad + 1
//   in cooldown (cooldown_counter > 0):  cooldown_counter −= 1, bad = 0
//   bad > patience:  lr' = max(lr·factor, min_lr); lr = lr' if lr − lr' > eps;
//                    cooldown_counter = cooldown, bad = 0
//
// best starts at +∞ (min) or −∞ (max); a NaN metric never improves. State (saved in checkpoints):
// lr, best, num_bad_epochs, cooldown_counter.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/schedule.hpp"

namespace nnlab {
namespace {

class ReduceOnPlateau final : public LrSchedule {
 public:
  ReduceOnPlateau(const Args& a, const ScheduleContext& c)
      : LrSchedule(c.base_lr),
        metric_(a.text("metric")),
        max_mode_(a.text("mode") == "max"),
        rel_(a.text("threshold_mode") == "rel"),
        factor_(a.number("factor")),
        patience_(a.integer("patience")),
        threshold_(a.number("threshold")),
        cooldown_(a.integer("cooldown")),
        min_lr_(a.number("min_lr")),
        eps_(a.number("eps")),
        lr_(c.base_lr),
        best_(max_mode_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()) {
    if (factor_ >= 1) throw ConfigError("factor: must be < 1 (the lr is multiplied by it), got " + exact_decimal(factor_));
    if (c.interval != Interval::epoch)
      throw ConfigError("interval: reduce_on_plateau watches a metric measured once per epoch; use \"interval\": \"epoch\"");
    const bool accuracy = metric_.ends_with("_acc");
    if (accuracy != max_mode_)
      throw ConfigError("mode: '" + a.text("mode") + "' with metric " + metric_ + " would reduce the lr while the " +
                        (accuracy ? "accuracy" : "loss") + " improves; use \"mode\": \"" + (accuracy ? "max" : "min") +
                        "\"");
  }
  std::string name() const override { return "reduce_on_plateau"; }
  double lr(std::int64_t) const override { return lr_; }
  std::string metric() const override { return metric_; }
  std::string describe() const override {
    return "reduce_on_plateau: lr × " + exact_decimal(factor_) + " after " + std::to_string(patience_) +
           " epochs without improvement of " + metric_ + " (cooldown " + std::to_string(cooldown_) + ", min_lr " +
           exact_decimal(min_lr_) + ")";
  }

  void observe(double m) override {
    if (improves(m)) best_ = m, bad_ = 0;
    else ++bad_;
    if (cooldown_counter_ > 0) --cooldown_counter_, bad_ = 0;  // bad epochs in cooldown do not count
    if (bad_ > patience_) {
      const double reduced = std::max(lr_ * factor_, min_lr_);
      if (lr_ - reduced > eps_) lr_ = reduced;
      cooldown_counter_ = cooldown_;
      bad_ = 0;
    }
  }

  void save(std::map<std::string, std::string>& s) const override {
    s["lr"] = exact_decimal(lr_);
    s["best"] = exact_decimal(best_);
    s["num_bad_epochs"] = std::to_string(bad_);
    s["cooldown_counter"] = std::to_string(cooldown_counter_);
  }
  std::vector<std::string> state_keys() const override { return {"lr", "best", "num_bad_epochs", "cooldown_counter"}; }
  void load(const std::function<const std::string&(const std::string&)>& read, const std::string& where) override {
    const double lr = parse_decimal(read("lr"), where + "lr");
    const double best = parse_decimal(read("best"), where + "best");
    const std::int64_t bad = parse_count(read("num_bad_epochs"), where + "num_bad_epochs");
    const std::int64_t cool = parse_count(read("cooldown_counter"), where + "cooldown_counter");
    if (!std::isfinite(lr) || lr < 0) throw CheckpointError(where + "lr: " + read("lr") + " is not a learning rate");
    // The lr starts at the configured one and only goes down, to min_lr at the lowest.
    if (lr > base_lr())
      throw CheckpointError(where + "lr: " + read("lr") + " is above the configured lr " + exact_decimal(base_lr()) +
                            ", which reduce_on_plateau only lowers (a damaged file?)");
    if (lr < std::min(min_lr_, base_lr()))
      throw CheckpointError(where + "lr: " + read("lr") + " is below min_lr " + exact_decimal(min_lr_) +
                            " (a damaged file?)");
    if (std::isnan(best)) throw CheckpointError(where + "best: NaN is not a best value");
    if (bad > patience_)
      throw CheckpointError(where + "num_bad_epochs: " + std::to_string(bad) + " exceeds the patience " +
                            std::to_string(patience_) + " (a different config?)");
    if (cool > cooldown_)
      throw CheckpointError(where + "cooldown_counter: " + std::to_string(cool) + " exceeds the cooldown " +
                            std::to_string(cooldown_) + " (a different config?)");
    lr_ = lr, best_ = best, bad_ = bad, cooldown_counter_ = cool;
  }

 private:
  bool improves(double m) const {
    if (max_mode_) return rel_ ? m > best_ * (threshold_ + 1.0) : m > best_ + threshold_;
    return rel_ ? m < best_ * (1.0 - threshold_) : m < best_ - threshold_;
  }

  std::string metric_;
  bool max_mode_, rel_;
  double factor_;
  std::int64_t patience_;
  double threshold_;
  std::int64_t cooldown_;
  double min_lr_, eps_;
  double lr_, best_;
  std::int64_t bad_ = 0, cooldown_counter_ = 0;
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(ReduceOnPlateau, "reduce_on_plateau",
                        "Multiply the lr by factor when a metric stops improving (PyTorch ReduceLROnPlateau)",
                        {text("metric", "val_loss", "the epoch metric to watch",
                              {"val_loss", "val_acc", "train_loss", "train_acc", "test_loss", "test_acc"}),
                         text("mode", "min", "min: lower is better; max: higher is better", {"min", "max"}),
                         number("factor", 0.1, "multiply the lr by this on a plateau (< 1)", 0, 1),
                         integer("patience", 10, "epochs without improvement tolerated before reducing", 0),
                         number("threshold", 1e-4, "how much better counts as an improvement", 0),
                         text("threshold_mode", "rel", "rel: relative to best; abs: absolute", {"rel", "abs"}),
                         integer("cooldown", 0, "epochs to wait after a reduction before counting again", 0),
                         number("min_lr", 0.0, "lower bound on the lr", 0),
                         number("eps", 1e-8, "smaller lr changes than this are skipped", 0)});

}  // namespace nnlab
