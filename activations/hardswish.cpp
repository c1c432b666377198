// Hardswish — piecewise-quadratic swish (MobileNetV3), PyTorch nn.Hardswish.
//
//   y     = x·relu6(x + 3)/6  =  0 for x ≤ −3,  x(x + 3)/6 for −3 < x < 3,  x for x ≥ 3
//   dy/dx = 0 for x ≤ −3,  x/3 + ½ for −3 < x < 3,  1 for x ≥ 3
//           (0 at x = −3 and 1 at x = 3, as PyTorch ≥ 2.7)
//
// Backward uses the saved input x.
//
// Range [−3/8, ∞) (minimum −0.375 at x = −1.5); a cheap stand-in for SiLU x·σ(x). f(−3) = −0.
// Kinks at ±3 (f' jumps from 0 to −½ at −3 and from 3/2 to 1 at 3). Convention of PyTorch ≥ 2.7,
// the minimum-norm choice: f'(−3) = 0 and f'(3) = 1. (PyTorch ≤ 2.6 gave −½ and 3/2, and 1.13's
// vectorised path disagreed with its scalar path at +3: golden files from old versions differ there.)
//
// Stability: the factor relu6(x + 3)/6 ∈ [0, 1] is formed first and then multiplied by x, so
// f(x) = x·1 is exact for x ≥ 3 and x·6 never overflows for x near FLT_MAX; NaN propagates.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Hardswish final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Hardswish(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "hardswish"; }
  std::vector<double> kinks() const override { return {-3.0, 3.0}; }

 protected:
  void f(In x, Out y) const override {
    const Array s = x + T(3);
    y = x * ((s < T(0)).select(T(0), (s > T(6)).select(T(6), s)) / T(6));  // x·relu6(x + 3)/6, NaN stays NaN
  }
  void df(In x, In, In dy, Out dx) const override {
    dx = (x >= T(3)).select(dy, (x > T(-3)).select(dy * (x / T(3) + T(0.5)), T(0)));
  }
};

}  // namespace

NNLAB_REGISTER_LAYER(Hardswish, {.name = "hardswish",
                                 .kind = LayerKind::elementwise,
                                 .summary = "Piecewise-quadratic swish x·relu6(x + 3)/6",
                                 .formula = "y = x·relu6(x + 3)/6 = 0 for x ≤ −3, x(x + 3)/6 for −3 < x < 3, x for x ≥ 3",
                                 .derivative = "dy/dx = 0 for x ≤ −3, x/3 + ½ for −3 < x < 3, 1 for x ≥ 3 (0 at x = −3 and 1 at x = 3, as PyTorch ≥ 2.7)",
                                 .params = {},
                                 .reference = {.torch = "F.hardswish(x)"}});

}  // namespace nnlab
