// Exponential decay, as PyTorch's lr_scheduler.ExponentialLR:
//
//   lr(t) = base · gamma^t
#include <cmath>
#include <limits>

#include "core/schedule.hpp"

namespace nnlab {
namespace {

class ExponentialLr final : public LrSchedule {
 public:
  ExponentialLr(const Args& a, const ScheduleContext& c) : LrSchedule(c.base_lr), gamma_(a.number("gamma")) {}
  std::string name() const override { return "exponential"; }
  double lr(std::int64_t t) const override { return base_lr_ * std::pow(gamma_, static_cast<double>(t)); }
  std::string describe() const override { return "exponential: lr × " + exact_decimal(gamma_) + " every tick"; }

 private:
  double gamma_;
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(ExponentialLr, "exponential", "Multiply the lr by gamma every tick (PyTorch ExponentialLR)",
                        {ParamSpec{"gamma", ValueKind::number, std::nullopt, "multiplicative factor per tick", 0,
                                   std::numeric_limits<double>::infinity(), {}}});

}  // namespace nnlab
