// Tanh — hyperbolic tangent, PyTorch nn.Tanh.
//
//   y     = tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x))
//   dy/dx = 1 − tanh²(x) = 1 − y²              (from the saved output)
//
// Range (−1, 1), zero-centred, f'(0) = 1, saturates for |x| ≳ 5 (vanishing gradients in deep nets).
//
// Stability: evaluated with the library tanh, never the exponential formula above, which is
// inf/inf = NaN for |x| > 88.7 in float32.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Tanh final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Tanh(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "tanh"; }

 protected:
  void f(In x, Out y) const override { y = x.tanh(); }
  void df(In, In y, In dy, Out dx) const override { dx = dy * (T(1) - y.square()); }
};

}  // namespace

NNLAB_REGISTER_LAYER(Tanh, {.name = "tanh",
                            .kind = LayerKind::elementwise,
                            .summary = "Hyperbolic tangent",
                            .formula = "y = tanh(x)",
                            .derivative = "dy/dx = 1 − tanh²(x) = 1 − y²",
                            .params = {},
                            .reference = {.torch = "torch.tanh(x)"}});

}  // namespace nnlab
