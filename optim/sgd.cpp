// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, exactly as
// PyTorch's torch.optim.SGD:
//
//   g  = ∇θ + weight_decay·θ
//   b  = g                                   (first step)
//   b  = momentum·b + (1 − dampening)·g       (later steps)
//   g  = g + momentum·b   if nesterov,  else  g = b          (only when momentum ≠ 0)
//   θ ← θ − lr·g
//
// State: "momentum_buffer" b (only when momentum ≠ 0).
#include "core/optimizer.hpp"

namespace nnlab {
namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const Args& a)
      : Optimizer(a.number("lr")),
        momentum_(a.number("momentum")),
        dampening_(a.number("dampening")),
        weight_decay_(a.number("weight_decay")),
        nesterov_(a.boolean("nesterov")) {
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0))
      throw ConfigError("nesterov momentum requires momentum > 0 and dampening = 0");
    if (momentum_ != 0) buf_ = add_slot("momentum_buffer");
  }
  std::string name() const override { return "sgd"; }

 protected:
  void update(std::vector<Param<float>>& params) override {
    const float lr = static_cast<float>(lr_), mom = static_cast<float>(momentum_);
    const float damp = static_cast<float>(1.0 - dampening_), wd = static_cast<float>(weight_decay_);
    for_each_block(params, [&](std::size_t i, Index at, Index n) {
      auto w = seg(*params[i].value, at, n);
      auto g = seg(*params[i].grad, at, n);
      const float decay = params[i].weight_decay ? wd : 0.0f;
      if (mom == 0.0f) {
        if (decay != 0.0f) w -= lr * (g + decay * w);
        else w -= lr * g;
        return;
      }
      auto b = seg(slot(buf_)[i], at, n);
      if (steps() == 1) b = g + decay * w;
      else b = mom * b + damp * (g + decay * w);
      if (nesterov_) w -= lr * ((g + decay * w) + mom * b);
      else w -= lr * b;
    });
  }

 private:
  double momentum_, dampening_, weight_decay_;
  bool nesterov_;
  std::size_t buf_ = 0;
};

}  // namespace

NNLAB_REGISTER_OPTIMIZER(Sgd, "sgd", "Stochastic gradient descent (PyTorch torch.optim.SGD)",
                         {number("lr", 0.01, "learning rate", 0),
                          number("momentum", 0.0, "momentum factor", 0, 1),
                          number("dampening", 0.0, "dampening for momentum", 0, 1),
                          number("weight_decay", 0.0, "L2 penalty added to the gradient", 0),
                          boolean("nesterov", false, "use Nesterov momentum")});

}  // namespace nnlab
