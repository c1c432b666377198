// ReLU — rectified linear unit, PyTorch nn.ReLU.
//
//   y     = max(0, x)
//   dy/dx = 1 if x > 0, else 0 (0 at x = 0, as PyTorch)    PyTorch's backward tests the output y > 0
//
// Range [0, ∞). Not zero-centred, unbounded above; units whose input stays negative get no
// gradient at all ("dead ReLUs").
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Relu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Relu(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "relu"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override { y = x.max(T(0)); }
  void df(In, In y, In dy, Out dx) const override { dx = (y > T(0)).select(dy, T(0)); }
};

}  // namespace

NNLAB_REGISTER_LAYER(Relu, {.name = "relu",
                            .kind = LayerKind::elementwise,
                            .summary = "Rectified linear unit max(0, x)",
                            .formula = "y = max(0, x)",
                            .derivative = "dy/dx = 1 if x > 0, else 0 (0 at x = 0, as PyTorch)",
                            .params = {},
                            .reference = {.torch = "F.relu(x)"}});

}  // namespace nnlab
