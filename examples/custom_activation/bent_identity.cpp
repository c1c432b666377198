// Bent identity — an activation nnlab does not ship, defined and registered outside nnlab's tree.
//
//   y     = (√(x² + 1) − 1)/2 + x
//   dy/dx = x/(2r) + 1,  r = √(x² + 1)            f(0) = 0, f'(0) = 1
//
// Range (−∞, ∞), smooth and monotonic: f' lies in (1/2, 3/2), so f bends from slope 1/2 (x → −∞,
// f ≈ x/2 − 1/2) to slope 3/2 (x → ∞, f ≈ 3x/2 − 1/2); a smooth leaky ReLU (ratio 1/3) plus a line.
// Never saturates, no dead units.
//
// Stable evaluation: r = hypot(x, 1) (Elementwise::hypot_into), which never squares x (float32 x²
// overflows above 1.8e19), and r − 1 = x²/(r + 1), written x·(x/(r + 1)), which neither cancels for
// small x (r rounds to 1 below |x| ≈ 3e-4 in float32) nor overflows for large x (|x/(r + 1)| < 1):
//   f = x + ½·x·(x/(r + 1)),   f' = 1 + ½·(x/r).
//
// Written like nnlab's own activations/*.cpp: derive from Elementwise (activations/elementwise.hpp),
// which does the shapes, buffers and threads, and write f and f' on flat blocks of the batch; one
// NNLAB_REGISTER_LAYER statement makes "bent_identity" a name configs can use, declares it
// element-wise (so nnlab's diagnostics count its dead and saturated units) and gives its PyTorch
// form (what tools/torch_reference.py would check it against, were it in nnlab's tree). The registration is a
// static initialiser: it runs because this file is compiled into the program itself (a static
// library of plugins would need linking whole, as nnlab::nnlab does with its own).
#include "activations/elementwise.hpp"

namespace example {

using nnlab::Args;
using nnlab::BuildContext;
using nnlab::Elementwise;

template <typename T>
class BentIdentity final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  BentIdentity(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "bent_identity"; }

 protected:
  void f(In x, Out y) const override {
    this->hypot_into(y, x, T(1));  // y holds r first
    y = x + T(0.5) * x * (x / (y + T(1)));
  }
  void df(In x, In, In dy, Out dx) const override {
    this->hypot_into(dx, x, T(1));  // dx holds r first (element-wise, so no aliasing problem)
    dx = dy * (T(1) + T(0.5) * (x / dx));
  }
};

}  // namespace example

NNLAB_REGISTER_LAYER(example::BentIdentity,
                     {.name = "bent_identity",
                      .kind = ::nnlab::LayerKind::elementwise,
                      .summary = "Bent identity (sqrt(x^2 + 1) - 1)/2 + x (examples/custom_activation)",
                      .formula = "y = (√(x² + 1) − 1)/2 + x",
                      .derivative = "dy/dx = x/(2r) + 1, r = √(x² + 1)",
                      .params = {},
                      .reference = {.torch = "(torch.sqrt(x * x + 1) - 1) / 2 + x"}});
