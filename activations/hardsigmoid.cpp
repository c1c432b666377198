// Hardsigmoid — piecewise-linear sigmoid (MobileNetV3), PyTorch nn.Hardsigmoid.
//
//   y     = relu6(x + 3)/6  =  0 for x ≤ −3,  x/6 + ½ for −3 < x < 3,  1 for x ≥ 3
//   dy/dx = 1/6 if −3 < x < 3, else 0 (0 at x = ±3, as PyTorch)
//
// Backward uses the saved input x (the open-interval test).
//
// Range [0, 1]; a cheap stand-in for σ(x) (same value ½ at 0, but slope 1/6 instead of 1/4). Not the
// old Keras hard_sigmoid (0.2x + 0.5 clipped). Kinks at ±3: PyTorch tests the open interval (−3, 3),
// so the gradient is 0 at ±3; we do the same. (PyTorch's float64 backward multiplies by the float32
// 1/6 = 0.16666667163…; we use 1/6 in T's own precision.)
//
// Stability: only +, comparisons and a division by 6; exact for every finite input (x + 3 cannot
// overflow into anything but a clamped value); NaN propagates.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Hardsigmoid final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Hardsigmoid(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "hardsigmoid"; }
  std::vector<double> kinks() const override { return {-3.0, 3.0}; }

 protected:
  void f(In x, Out y) const override {
    const Array s = x + T(3);
    y = (s < T(0)).select(T(0), (s > T(6)).select(T(6), s)) / T(6);  // relu6(x + 3)/6, NaN stays NaN
  }
  void df(In x, In, In dy, Out dx) const override {
    dx = (x > T(-3) && x < T(3)).select(dy / T(6), T(0));
  }
};

}  // namespace

NNLAB_REGISTER_LAYER(Hardsigmoid, {.name = "hardsigmoid",
                                   .kind = LayerKind::elementwise,
                                   .summary = "Piecewise-linear sigmoid relu6(x + 3)/6",
                                   .formula = "y = relu6(x + 3)/6 = 0 for x ≤ −3, x/6 + ½ for −3 < x < 3, 1 for x ≥ 3",
                                   .derivative = "dy/dx = 1/6 if −3 < x < 3, else 0 (0 at x = ±3, as PyTorch)",
                                   .params = {},
                                   .reference = {.torch = "F.hardsigmoid(x)"}});

}  // namespace nnlab
