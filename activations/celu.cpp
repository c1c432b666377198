// CELU — continuously differentiable ELU (Barron 2017), PyTorch nn.CELU(alpha=1.0).
//
//   y     = x if x > 0, else α(e^(x/α) − 1)      = max(0, x) + min(0, α(e^(x/α) − 1))
//   dy/dx = 1 if x > 0, else e^(x/α)             (= y/α + 1 for x ≤ 0)
//
// Backward uses the saved input x (e^(min(x,0)/α) is exact; y/α + 1 cancels for x ≪ 0).
//
// Range (−α, ∞) for α > 0. Unlike ELU with α ≠ 1, f' is continuous at 0 for every α (both sides
// give 1), so f'(0) = 1 needs no convention (PyTorch gives 1). CELU(α = 1) is ELU(1). α = 0 is a
// ConfigError, as in PyTorch (x/α).
//
// Kinks: f is C¹ but f'' jumps at 0 (1/α on the left, 0 on the right). Central differences straddling
// 0 then carry an error of h/(4α) in the slope, which exceeds the checker's 1e−6 for α < 1/4; 0 is
// therefore reported as a kink so the checker stays meaningful for every α (f'(0) = 1 is tested
// directly instead).
//
// Stability: α·expm1(min(x, 0)/α): expm1 keeps accuracy near 0 and the positive lanes the select
// discards never reach exp. (With a negative α, which PyTorch allows, the left branch grows like
// |α|·e^(x/α) and overflows for x < 88.7α in float32: that is the function, not the formula.)
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Celu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Celu(const Args& a, const BuildContext& c) : Elementwise<T>(c), alpha_(a.number("alpha")) {
    if (alpha_ == 0) throw ConfigError("alpha must be nonzero (CELU divides by alpha)");
  }
  std::string type() const override { return "celu"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override {
    this->expm1_into(y, x.min(T(0)) / T(alpha_));  // vectorised first, then picked
    y = T(alpha_) * y;
    y = (x > T(0)).select(x, y);
  }
  void df(In x, In, In dy, Out dx) const override {
    dx = (x.min(T(0)) / T(alpha_)).exp();
    dx = (x > T(0)).select(dy, dy * dx);
  }

 private:
  double alpha_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Celu, {.name = "celu",
                            .kind = LayerKind::elementwise,
                            .summary = "Continuously differentiable ELU",
                            .formula = "y = x if x > 0, else α(e^(x/α) − 1)",
                            .derivative = "dy/dx = 1 if x > 0, else e^(x/α)",
                            .params = {number("alpha", 1.0, "α (nonzero): saturation value −α for x → −∞ and the x/α scale")},
                            .stress = {R"({"alpha": 0.01})"},
                            .reference = {.torch = "F.celu(x, alpha)",
                                          .variants = {{R"({})"},
                                                        {R"({"alpha": 2})"}}}});

}  // namespace nnlab
