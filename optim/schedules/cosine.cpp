// Cosine annealing, as PyTorch's lr_scheduler.CosineAnnealingLR (its closed form):
//
//   lr(t) = eta_min + (base − eta_min) · (1 + cos(π·t / T_max)) / 2
//
// from base at t = 0 down to eta_min at t = T_max (and, as in PyTorch, back up again after that).
// T_max 0 means the rest of the run: the run's ticks (epochs, or epochs × steps per epoch) minus
// the warmup.
#include <cmath>
#include <numbers>

#include "core/schedule.hpp"

namespace nnlab {
namespace {

class CosineLr final : public LrSchedule {
 public:
  CosineLr(const Args& a, const ScheduleContext& c)
      : LrSchedule(c.base_lr), t_max_(a.integer("T_max")), eta_min_(a.number("eta_min")), whole_run_(t_max_ == 0) {
    if (t_max_ > 0) return;
    if (c.run_ticks) {
      t_max_ = *c.run_ticks - c.warmup;
      if (t_max_ < 1)
        throw ConfigError("T_max: 0 means the rest of the run after the warmup, but the warmup (" +
                          std::to_string(c.warmup) + " ticks) fills the whole run (" + std::to_string(*c.run_ticks) +
                          " ticks)");
    } else if (c.validating) {
      t_max_ = 1;  // resolved when the run's length is known
    } else {
      throw ConfigError("T_max: 0 means the whole run, but the run length is unknown here; give T_max explicitly");
    }
  }
  std::string name() const override { return "cosine"; }
  double lr(std::int64_t t) const override {
    return eta_min_ + (base_lr_ - eta_min_) *
                          (1 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(t_max_))) / 2;
  }
  std::string describe() const override {
    return "cosine: T_max " + std::to_string(t_max_) + (whole_run_ ? " (the whole run)" : "") + ", eta_min " +
           exact_decimal(eta_min_);
  }

 private:
  std::int64_t t_max_;
  double eta_min_;
  bool whole_run_;
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(CosineLr, "cosine", "Cosine annealing from lr to eta_min over T_max ticks (PyTorch CosineAnnealingLR)",
                        {integer("T_max", 0, "ticks from lr down to eta_min (0: the rest of the run after warmup)", 0),
                         number("eta_min", 0.0, "final learning rate", 0)});

}  // namespace nnlab
