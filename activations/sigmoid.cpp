// Sigmoid — logistic function, PyTorch nn.Sigmoid.
//
//   y     = σ(x) = 1 / (1 + e^(−x))
//   dy/dx = σ(x)(1 − σ(x)) = y(1 − y)          (from the saved output: no exp in backward)
//
// Range (0, 1); f'(x) ≤ 1/4, so a stack of sigmoids shrinks gradients by at least 4x per layer
// (the "vanishing gradient"). Outputs are not zero-centred (mean ≈ 1/2).
//
// Stability: 1/(1 + e^(−x)) is exact under IEEE arithmetic for every finite x: for x ≪ 0,
// e^(−x) = inf and 1/inf = 0; for x ≫ 0, e^(−x) = 0 and the result is 1. The derivative is built
// from y, never from e^(−x)/(1 + e^(−x))², which is inf/inf = NaN for x ≪ 0.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Sigmoid final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Sigmoid(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "sigmoid"; }

 protected:
  void f(In x, Out y) const override { y = T(1) / (T(1) + (-x).exp()); }
  void df(In, In y, In dy, Out dx) const override { dx = dy * y * (T(1) - y); }
};

}  // namespace

NNLAB_REGISTER_LAYER(Sigmoid, {.name = "sigmoid",
                               .kind = LayerKind::elementwise,
                               .summary = "Logistic sigmoid 1/(1+exp(-x))",
                               .formula = "y = σ(x) = 1 / (1 + e^(−x))",
                               .derivative = "dy/dx = σ(x)(1 − σ(x)) = y(1 − y)",
                               .params = {},
                               .reference = {.torch = "torch.sigmoid(x)"}});

}  // namespace nnlab
