// Decay at milestones, as PyTorch's lr_scheduler.MultiStepLR:
//
//   lr(t) = base · gamma^k,   k = number of milestones m with m ≤ t
//
// Milestones are tick counts, strictly increasing integers > 0.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/schedule.hpp"

namespace nnlab {
namespace {

class MultiStepLr final : public LrSchedule {
 public:
  MultiStepLr(const Args& a, const ScheduleContext& c) : LrSchedule(c.base_lr), gamma_(a.number("gamma")) {
    const auto& ms = a.numbers("milestones");
    if (ms.empty()) throw ConfigError("milestones: give at least one tick count, e.g. [30, 60, 90]");
    for (std::size_t i = 0; i < ms.size(); ++i) {
      const std::string where = "milestones[" + std::to_string(i) + "]: ";
      if (ms[i] != std::floor(ms[i]) || ms[i] > 1e15)
        throw ConfigError(where + exact_decimal(ms[i]) + " is not a tick count (an integer > 0)");
      if (i > 0 && ms[i] <= ms[i - 1])
        throw ConfigError(where + "milestones must be strictly increasing (" + exact_decimal(ms[i - 1]) + " then " +
                          exact_decimal(ms[i]) + ")");
      milestones_.push_back(static_cast<std::int64_t>(ms[i]));
    }
  }
  std::string name() const override { return "multi_step"; }
  double lr(std::int64_t t) const override {
    const auto k = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return base_lr_ * std::pow(gamma_, static_cast<double>(k));
  }
  std::string describe() const override {
    std::vector<std::string> ms;
    for (auto m : milestones_) ms.push_back(std::to_string(m));
    return "multi_step: lr × " + exact_decimal(gamma_) + " at ticks " + join(ms);
  }

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(MultiStepLr, "multi_step", "Multiply the lr by gamma at each milestone (PyTorch MultiStepLR)",
                        {ParamSpec{"milestones", ValueKind::numbers, std::nullopt,
                                   "tick counts where the lr decays, strictly increasing", 1,
                                   std::numeric_limits<double>::infinity(), {}},
                         number("gamma", 0.1, "multiplicative factor", 0)});

}  // namespace nnlab
