// Adam and AdamW, exactly as PyTorch's torch.optim.Adam and torch.optim.AdamW. At step t (1, 2, ...):
//
//   Adam:   g = ∇θ + weight_decay·θ          (L2 penalty added to the gradient)
//   AdamW:  θ ← θ·(1 − lr·weight_decay),  g = ∇θ      (decoupled weight decay)
//
//   m = β₁·m + (1 − β₁)·g                    first moment  ("exp_avg")
//   v = β₂·v + (1 − β₂)·g²                   second moment ("exp_avg_sq")
//   v̂ = max(v̂, v) if amsgrad, else v̂ = v      ("max_exp_avg_sq", only with amsgrad)
//   θ ← θ − lr/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
//
// m, v and v̂ start at zero; the bias corrections 1 − βᵗ undo that start. The scalar factors are
// computed in double and rounded once to float, and the float operations run in PyTorch's order,
// so a float32 run follows PyTorch's float32 trajectory to a few ulp.
#include <cmath>

#include "core/optimizer.hpp"

namespace nnlab {
namespace {

class AdamBase : public Optimizer {
 public:
  AdamBase(const Args& a, bool decoupled)
      : Optimizer(a.number("lr")),
        beta1_(a.number("beta1")),
        beta2_(a.number("beta2")),
        eps_(a.number("eps")),
        weight_decay_(a.number("weight_decay")),
        amsgrad_(a.boolean("amsgrad")),
        decoupled_(decoupled) {
    if (beta1_ >= 1) throw ConfigError("beta1 must be < 1 (the first moment would never move), got 1");
    if (beta2_ >= 1) throw ConfigError("beta2 must be < 1 (the second moment would never move), got 1");
    m_ = add_slot("exp_avg");
    v_ = add_slot("exp_avg_sq", SlotRange::non_negative);
    if (amsgrad_) vmax_ = add_slot("max_exp_avg_sq", SlotRange::non_negative);
  }

 protected:
  void update(std::vector<Param<float>>& params) override {
    const double t = static_cast<double>(steps());
    const double bias1 = 1 - std::pow(beta1_, t), bias2 = 1 - std::pow(beta2_, t);
    const float neg_step = static_cast<float>(-(lr_ / bias1));
    const float bias2_sqrt = static_cast<float>(std::sqrt(bias2));
    const float b1 = static_cast<float>(beta1_), one_minus_b1 = static_cast<float>(1 - beta1_);
    const float b2 = static_cast<float>(beta2_), one_minus_b2 = static_cast<float>(1 - beta2_);
    const float eps = static_cast<float>(eps_), wd = static_cast<float>(weight_decay_);
    const float shrink = static_cast<float>(1 - lr_ * weight_decay_);
    for_each_block(params, [&](std::size_t i, Index at, Index n) {
      auto w = seg(*params[i].value, at, n);
      auto g = seg(*params[i].grad, at, n);
      auto m = seg(slot(m_)[i], at, n);
      auto v = seg(slot(v_)[i], at, n);
      const bool decay = params[i].weight_decay && weight_decay_ != 0;
      if (decoupled_ || !decay) {
        if (decoupled_ && decay) w *= shrink;
        m = b1 * m + one_minus_b1 * g;
        v = b2 * v + (one_minus_b2 * g) * g;
      } else {
        m = b1 * m + one_minus_b1 * (g + wd * w);
        v = b2 * v + (one_minus_b2 * (g + wd * w)) * (g + wd * w);
      }
      if (amsgrad_) {
        auto vmax = seg(slot(vmax_)[i], at, n);
        vmax = vmax.max(v);
        w += (neg_step * m) / (vmax.sqrt() / bias2_sqrt + eps);
      } else {
        w += (neg_step * m) / (v.sqrt() / bias2_sqrt + eps);
      }
    });
  }

 private:
  double beta1_, beta2_, eps_, weight_decay_;
  bool amsgrad_, decoupled_;
  std::size_t m_ = 0, v_ = 0, vmax_ = 0;
};

class Adam final : public AdamBase {
 public:
  explicit Adam(const Args& a) : AdamBase(a, false) {}
  std::string name() const override { return "adam"; }
};

class AdamW final : public AdamBase {
 public:
  explicit AdamW(const Args& a) : AdamBase(a, true) {}
  std::string name() const override { return "adamw"; }
};

std::vector<ParamSpec> adam_params(double weight_decay, const std::string& decay_help) {
  return {number("lr", 1e-3, "learning rate", 0),
          number("beta1", 0.9, "decay rate of the first moment (PyTorch betas[0]), < 1", 0, 1),
          number("beta2", 0.999, "decay rate of the second moment (PyTorch betas[1]), < 1", 0, 1),
          number("eps", 1e-8, "added to the denominator", 0),
          number("weight_decay", weight_decay, decay_help, 0),
          boolean("amsgrad", false, "use the maximum of past second moments (AMSGrad)")};
}

}  // namespace

NNLAB_REGISTER_OPTIMIZER(Adam, "adam", "Adam (PyTorch torch.optim.Adam; weight decay as an L2 term in the gradient)",
                         (adam_params(0.0, "L2 penalty added to the gradient")));
NNLAB_REGISTER_OPTIMIZER(AdamW, "adamw", "AdamW (PyTorch torch.optim.AdamW; decoupled weight decay)",
                         (adam_params(1e-2, "decoupled weight decay: θ ← θ·(1 − lr·weight_decay) each step")));

}  // namespace nnlab
