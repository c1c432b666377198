// Identity — no-op activation, PyTorch nn.Identity.
//
//   y     = x
//   dy/dx = 1          (backward passes dy through; neither x nor y is needed)
//
// Range (−∞, ∞). Useful as the "linear" choice wherever a config names an activation (a linear
// model, an ablation without a non-linearity, the last layer before a loss on logits). It still copies
// x into its output buffer, keeping the Layer contract (forward returns the layer's own buffer).
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Identity final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Identity(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "identity"; }

 protected:
  void f(In x, Out y) const override { y = x; }
  void df(In, In, In dy, Out dx) const override { dx = dy; }
};

}  // namespace

NNLAB_REGISTER_LAYER(Identity, {.name = "identity",
                                .kind = LayerKind::elementwise,
                                .summary = "Identity f(x) = x",
                                .formula = "y = x",
                                .derivative = "dy/dx = 1",
                                .params = {},
                                .reference = {.torch = "x.clone()"}});

}  // namespace nnlab
