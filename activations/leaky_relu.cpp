// LeakyReLU — leaky rectified linear unit, PyTorch nn.LeakyReLU(negative_slope=0.01).
//
//   y     = x if x > 0, else s·x                         s = negative_slope
//   dy/dx = 1 if x > 0, else s (s at x = 0, as PyTorch)   PyTorch tests x > 0, so 0 takes the s branch
//
// backward: dx = x > 0 ? dy : s·dy, tested on the saved input x. (The output y has the sign of x
// only when s ≥ 0; PyTorch refuses an in-place backward for s < 0 for that reason. Testing x is
// always right.)
//
// Range (−∞, ∞) for s > 0; s = 0 is ReLU; for s < 0 every output is ≥ 0. Piecewise linear, cheap,
// and never "dead": negative inputs still pass a gradient of s (Maas et al. 2013).
//
// Written as a select on x > 0, never as max(x, s·x): the two agree only for 0 ≤ s ≤ 1. For s = 2,
// max(−1, −2) = −1 but f(−1) = −2. (The same trap makes max(x, a·x) wrong for PReLU, whose learned
// slope may leave [0, 1].)
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class LeakyRelu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  LeakyRelu(const Args& a, const BuildContext& c)
      : Elementwise<T>(c), slope_(static_cast<T>(a.number("negative_slope"))) {}
  std::string type() const override { return "leaky_relu"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override { y = (x > T(0)).select(x, slope_ * x); }
  void df(In x, In, In dy, Out dx) const override { dx = (x > T(0)).select(dy, slope_ * dy); }

 private:
  T slope_;
};

}  // namespace

NNLAB_REGISTER_LAYER(LeakyRelu, {.name = "leaky_relu",
                                 .kind = LayerKind::elementwise,
                                 .summary = "Leaky ReLU: x if x > 0 else negative_slope*x (PyTorch nn.LeakyReLU)",
                                 .formula = "y = x if x > 0, else s·x",
                                 .derivative = "dy/dx = 1 if x > 0, else s (s at x = 0, as PyTorch)",
                                 .params = {number("negative_slope", 0.01, "slope for x <= 0 (also the derivative at 0)")},
                                 .stress = {R"({"negative_slope": 0.5})"},
                                 .reference = {.torch = "F.leaky_relu(x, negative_slope)",
                                               .variants = {{R"({})"},
                                                             {R"({"negative_slope": 0.2})"}}}});

}  // namespace nnlab
