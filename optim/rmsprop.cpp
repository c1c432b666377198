// RMSprop, exactly as PyTorch's torch.optim.RMSprop (Hinton's lecture 6e form, ε outside the root):
//
//   g  = ∇θ + weight_decay·θ
//   v  = α·v + (1 − α)·g²                           ("square_avg")
//   ḡ  = α·ḡ + (1 − α)·g                            ("grad_avg", only when centered)
//   d  = √(v − ḡ²) + ε   if centered,  else  d = √v + ε
//   b  = momentum·b + g / d ,   θ ← θ − lr·b         ("momentum_buffer", when momentum > 0)
//   θ ← θ − lr·g / d                                 (when momentum = 0)
//
// Every state starts at zero. Scalars are rounded once to float; float operations run in PyTorch's
// order.
#include "core/optimizer.hpp"

namespace nnlab {
namespace {

class RmsProp final : public Optimizer {
 public:
  explicit RmsProp(const Args& a)
      : Optimizer(a.number("lr")),
        alpha_(a.number("alpha")),
        eps_(a.number("eps")),
        weight_decay_(a.number("weight_decay")),
        momentum_(a.number("momentum")),
        centered_(a.boolean("centered")) {
    v_ = add_slot("square_avg", SlotRange::non_negative);
    if (momentum_ > 0) buf_ = add_slot("momentum_buffer");
    if (centered_) avg_ = add_slot("grad_avg");
  }
  std::string name() const override { return "rmsprop"; }

 protected:
  void update(std::vector<Param<float>>& params) override {
    const float a = static_cast<float>(alpha_), one_minus_a = static_cast<float>(1 - alpha_);
    const float eps = static_cast<float>(eps_), wd = static_cast<float>(weight_decay_);
    const float mom = static_cast<float>(momentum_), lr = static_cast<float>(lr_);
    for_each_block(params, [&](std::size_t i, Index at, Index n) {
      auto w = seg(*params[i].value, at, n);
      // g = ∇θ + weight_decay·θ as an expression: the gradient buffer itself is left as backward wrote it.
      const float decay = params[i].weight_decay ? wd : 0.0f;
      const auto g = seg(*params[i].grad, at, n) + decay * w;
      auto v = seg(slot(v_)[i], at, n);
      v = a * v + (one_minus_a * g) * g;
      if (centered_) {
        auto gbar = seg(slot(avg_)[i], at, n);
        gbar = a * gbar + one_minus_a * g;
        const auto d = (v - gbar * gbar).sqrt() + eps;
        if (mom > 0) {
          auto b = seg(slot(buf_)[i], at, n);
          b = mom * b + g / d;
          w -= lr * b;
        } else {
          w += ((-lr) * g) / d;
        }
      } else {
        const auto d = v.sqrt() + eps;
        if (mom > 0) {
          auto b = seg(slot(buf_)[i], at, n);
          b = mom * b + g / d;
          w -= lr * b;
        } else {
          w += ((-lr) * g) / d;
        }
      }
    });
  }

 private:
  double alpha_, eps_, weight_decay_, momentum_;
  bool centered_;
  std::size_t v_ = 0, buf_ = 0, avg_ = 0;
};

}  // namespace

NNLAB_REGISTER_OPTIMIZER(RmsProp, "rmsprop", "RMSprop (PyTorch torch.optim.RMSprop)",
                         {number("lr", 1e-2, "learning rate", 0),
                          number("alpha", 0.99, "smoothing constant of the squared-gradient average", 0, 1),
                          number("eps", 1e-8, "added to the denominator", 0),
                          number("weight_decay", 0.0, "L2 penalty added to the gradient", 0),
                          number("momentum", 0.0, "momentum factor", 0, 1),
                          boolean("centered", false, "normalise by the estimated variance of the gradient")});

}  // namespace nnlab
