// ReLU6 — ReLU capped at 6 (Krizhevsky 2010; MobileNets), PyTorch nn.ReLU6.
//
//   y     = min(max(0, x), 6)  = hardtanh(x, 0, 6)
//   dy/dx = 1 if 0 < x < 6, else 0 (0 at x = 0 and x = 6, as PyTorch)
//
// Backward uses the saved input x (the open-interval test).
//
// Range [0, 6]; the cap keeps activations small enough for low-precision (fixed-point) inference.
// Kinks at 0 and 6: PyTorch implements ReLU6 as hardtanh(0, 6), whose gradient is 0 at both bounds
// (f'(0) = f'(6) = 0); we do the same.
//
// Stability: only comparisons, exact for every input; NaN propagates (the clamp is two
// selects, and NaN fails both comparisons).
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Relu6 final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Relu6(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "relu6"; }
  std::vector<double> kinks() const override { return {0.0, 6.0}; }

 protected:
  void f(In x, Out y) const override {
    y = (x < T(0)).select(T(0), (x > T(6)).select(T(6), x));  // NaN fails both tests: stays NaN
  }
  void df(In x, In, In dy, Out dx) const override { dx = (x > T(0) && x < T(6)).select(dy, T(0)); }
};

}  // namespace

NNLAB_REGISTER_LAYER(Relu6, {.name = "relu6",
                             .kind = LayerKind::elementwise,
                             .summary = "ReLU capped at 6: min(max(0, x), 6)",
                             .formula = "y = min(max(0, x), 6)",
                             .derivative = "dy/dx = 1 if 0 < x < 6, else 0 (0 at x = 0 and x = 6, as PyTorch)",
                             .params = {},
                             .reference = {.torch = "F.relu6(x)"}});

}  // namespace nnlab
