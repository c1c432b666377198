// Constant learning rate:  lr(t) = base.
// Useful as the schedule after a warmup: {"type": "constant", "warmup": {"total_iters": 500}}.
#include "core/schedule.hpp"

namespace nnlab {
namespace {

class ConstantLr final : public LrSchedule {
 public:
  ConstantLr(const Args&, const ScheduleContext& c) : LrSchedule(c.base_lr) {}
  std::string name() const override { return "constant"; }
  double lr(std::int64_t) const override { return base_lr_; }
  std::string describe() const override { return "constant lr " + exact_decimal(base_lr_); }
};

}  // namespace

NNLAB_REGISTER_SCHEDULE(ConstantLr, "constant", "The optimizer's lr throughout (e.g. after a warmup)", {});

}  // namespace nnlab
