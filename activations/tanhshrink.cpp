// Tanhshrink, PyTorch nn.Tanhshrink.
//
//   y     = x − tanh(x)
//   dy/dx = 1 − (1 − tanh²x) = tanh²(x)
//
// Backward recomputes tanh(x) from the saved input x.
//
// Range (−∞, ∞), odd, monotone; flat near 0 (f ≈ x³/3, f'(0) = 0) and ≈ x ∓ 1 for |x| ≫ 1. Smooth
// everywhere (no kinks).
//
// Stability: no exp (library tanh). The derivative is tanh²(x), not the output form (x − y)²: for
// |x| > 2²⁴ (float32) y = x − tanh x rounds to x and (x − y)² would give 0 instead of 1. Like PyTorch
// the forward is the direct difference, which loses relative accuracy for |x| ≲ 1e−3 (the true value
// is ≈ x³/3); absolute error stays at rounding level.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Tanhshrink final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Tanhshrink(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "tanhshrink"; }

 protected:
  void f(In x, Out y) const override { y = x - x.tanh(); }
  void df(In x, In, In dy, Out dx) const override { dx = dy * x.tanh().square(); }
};

}  // namespace

NNLAB_REGISTER_LAYER(Tanhshrink, {.name = "tanhshrink",
                                  .kind = LayerKind::elementwise,
                                  .summary = "Tanhshrink x − tanh(x)",
                                  .formula = "y = x − tanh(x)",
                                  .derivative = "dy/dx = 1 − (1 − tanh²x) = tanh²(x)",
                                  .params = {},
                                  .reference = {.torch = "F.tanhshrink(x)"}});

}  // namespace nnlab
