// Adagrad, exactly as PyTorch's torch.optim.Adagrad. At step t (1, 2, ...):
//
//   g  = ∇θ + weight_decay·θ
//   s  = s + g²                            ("sum", starts at initial_accumulator_value)
//   θ ← θ − lr/(1 + (t − 1)·lr_decay) · g / (√s + ε)
//
// Each coordinate's step shrinks with the squared gradients it has seen so far. The step size is
// computed in double and rounded once to float; float operations run in PyTorch's order.
#include "core/optimizer.hpp"

namespace nnlab {
namespace {

class Adagrad final : public Optimizer {
 public:
  explicit Adagrad(const Args& a)
      : Optimizer(a.number("lr")),
        lr_decay_(a.number("lr_decay")),
        weight_decay_(a.number("weight_decay")),
        initial_accumulator_value_(a.number("initial_accumulator_value")),
        eps_(a.number("eps")) {
    sum_ = add_slot("sum", SlotRange::non_negative);
  }
  std::string name() const override { return "adagrad"; }

 protected:
  void init_state() override {
    for (MatF& s : slot(sum_)) s.setConstant(static_cast<float>(initial_accumulator_value_));
  }

  void update(std::vector<Param<float>>& params) override {
    const double clr = lr_ / (1 + (static_cast<double>(steps()) - 1) * lr_decay_);
    const float neg_clr = static_cast<float>(-clr), eps = static_cast<float>(eps_);
    const float wd = static_cast<float>(weight_decay_);
    for_each_block(params, [&](std::size_t i, Index at, Index n) {
      auto w = seg(*params[i].value, at, n);
      const float decay = params[i].weight_decay ? wd : 0.0f;
      const auto g = seg(*params[i].grad, at, n) + decay * w;  // the gradient buffer stays as backward wrote it
      auto s = seg(slot(sum_)[i], at, n);
      s += g * g;
      w += (neg_clr * g) / (s.sqrt() + eps);
    });
  }

 private:
  double lr_decay_, weight_decay_, initial_accumulator_value_, eps_;
  std::size_t sum_ = 0;
};

}  // namespace

NNLAB_REGISTER_OPTIMIZER(Adagrad, "adagrad", "Adagrad (PyTorch torch.optim.Adagrad)",
                         {number("lr", 1e-2, "learning rate", 0),
                          number("lr_decay", 0.0, "step t uses lr / (1 + (t - 1)·lr_decay)", 0),
                          number("weight_decay", 0.0, "L2 penalty added to the gradient", 0),
                          number("initial_accumulator_value", 0.0, "starting value of the sum of squared gradients", 0),
                          number("eps", 1e-10, "added to the denominator", 0)});

}  // namespace nnlab
