// ELU — exponential linear unit (Clevert, Unterthiner & Hochreiter 2016), PyTorch nn.ELU(alpha=1.0).
//
//   y     = x if x > 0, else α(eˣ − 1)
//   dy/dx = 1 if x > 0, else α·eˣ (α at x = 0, as PyTorch)     α·eˣ = y + α; PyTorch's backward
//                                                               tests x ≤ 0, so f'(0) = α
//
// backward: dx = x > 0 ? dy : dy·(y + α), from the saved output y (no exp in backward). For x ≪ 0,
// y + α cancels to an absolute error of about α·1e−16 where the true α·eˣ is tiny: harmless.
//
// Range (−α, ∞) for α > 0. Negative outputs push the mean activation towards zero (the paper's
// argument for faster learning); the negative side saturates to −α, so large negative inputs give
// a bounded, noise-robust "off" value. C¹ only for α = 1 (the slope jumps from α to 1 at 0
// otherwise); for α = 1 it coincides with CELU(1).
//
// Stability: α·expm1(min(x, 0)). expm1 keeps full precision near 0, where exp(x) − 1 loses digits
// (relative error ≈ 1e−9 at x = −1e−8, the error PyTorch 1.13 had). The min(x, 0) matters because
// select() evaluates both branches: without it, exp of a large positive x overflows to inf in the
// discarded lane (harmless here, but it is exactly the np.where warning of the tutorial snippets).
// The tutorial's ELU built by concatenating the negative and positive parts reorders the outputs
// and drops zeros; this is element-wise.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Elu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Elu(const Args& a, const BuildContext& c) : Elementwise<T>(c), alpha_(static_cast<T>(a.number("alpha"))) {}
  std::string type() const override { return "elu"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override {
    this->expm1_into(y, x.min(T(0)));  // vectorised over the block (not inside the select)
    y = alpha_ * y;
    y = (x > T(0)).select(x, y);
  }
  void df(In x, In y, In dy, Out dx) const override { dx = (x > T(0)).select(dy, dy * (y + alpha_)); }

 private:
  T alpha_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Elu, {.name = "elu",
                           .kind = LayerKind::elementwise,
                           .summary = "Exponential linear unit (PyTorch nn.ELU)",
                           .formula = "y = x if x > 0, else α(eˣ − 1)",
                           .derivative = "dy/dx = 1 if x > 0, else α·eˣ (α at x = 0, as PyTorch)",
                           .params = {number("alpha", 1.0, "saturation value -alpha for x -> -inf (also f'(0))")},
                           .stress = {R"({"alpha": 100})"},
                           .reference = {.torch = "F.elu(x, alpha)",
                                         .variants = {{R"({})", {-1e-08}},
                                                       {R"({"alpha": 0.5})", {-1e-08}}}}});

}  // namespace nnlab
