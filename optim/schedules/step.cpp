// Step decay, as PyTorch's lr_scheduler.StepLR:
//
//   lr(t) = base · gamma^⌊t / step_size⌋
//
// i.e. the lr is multiplied by gamma every step_size ticks.
#include <cmath>

#include "core/schedule.hpp"

namespace nnlab {
namespace {

class StepLr final : public LrSchedule {
 public:
  StepLr(const Args& a, const ScheduleContext& c)
      : LrSchedule(c.base_lr), step_size_(a.integer("step_size")), gamma_(a.number("gamma")) {}
  std::string name() const override { return "step"; }
  double lr(std::int64_t t) const override {
    return base_lr_ * std::pow(gamma_, static_cast<double>(t / step_size_));
  }
  std::string describe() const override {
    return "step: lr × " + exact_decimal(gamma_) + " every " + std::to_string(step_size_) + " ticks";
  }

 private:
  std::int64_t step_size_;
  double gamma_;
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(StepLr, "step", "Multiply the lr by gamma every step_size ticks (PyTorch StepLR)",
                        {required_integer("step_size", "ticks between decays", 1),
                         number("gamma", 0.1, "multiplicative factor", 0)});

}  // namespace nnlab
