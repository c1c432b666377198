// SELU — scaled exponential linear unit (Klambauer et al. 2017), PyTorch nn.SELU.
//
//   y     = λ·x if x > 0, else λα·(eˣ − 1)
//   dy/dx = λ if x > 0, else λα·eˣ (λα at x = 0, as PyTorch)      λα·eˣ = y + λα
//   α = 1.6732632423543772848…, λ = 1.0507009873554804934…, λα = 1.7580993408473766
//
// Backward uses the saved input x (λα·e^min(x,0) is exact; the output form y + λα cancels for
// x ≪ 0).
//
// Range (−λα, ∞) = (−1.7581, ∞). α and λ are the fixed point that keeps zero mean / unit variance
// through layers with LeCun-normal weights N(0, 1/fan_in) on standardised inputs (self-normalising
// networks; use alpha-dropout, not dropout).
//
// Kink at 0: the one-sided slopes are λ and λα. PyTorch's backward tests x ≤ 0, so f'(0) = λα ≈ 1.7581
// (not the smaller λ, an exception to its minimum-norm rule); we do the same.
//
// Stability: λα·expm1(min(x, 0)) — expm1 keeps accuracy near 0 and is fed min(x, 0) so the positive
// lanes the select discards cannot overflow. Deliberate deviation from PyTorch: λ > 1, so λx overflows
// to inf for x > FLT_MAX/λ ≈ 3.2e38 (float32) although x is finite; the output saturates at the
// largest finite value instead, so one huge input cannot turn the next layer's products into inf·0.
#include <limits>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Selu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Selu(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "selu"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override {
    this->expm1_into(y, x.min(T(0)));  // vectorised first, then picked
    y = T(kLambdaAlpha) * y;
    y = (x > T(0)).select((T(kLambda) * x).min(std::numeric_limits<T>::max()), y);
  }
  void df(In x, In, In dy, Out dx) const override {
    dx = T(kLambdaAlpha) * x.min(T(0)).exp();
    dx = (x > T(0)).select(T(kLambda) * dy, dy * dx);
  }

 private:
  static constexpr double kAlpha = 1.6732632423543772848170429916717;
  static constexpr double kLambda = 1.0507009873554804934193349852946;
  static constexpr double kLambdaAlpha = kLambda * kAlpha;
};

}  // namespace

NNLAB_REGISTER_LAYER(Selu, {.name = "selu",
                            .kind = LayerKind::elementwise,
                            .summary = "Scaled ELU λ·(x > 0 ? x : α(exp(x) − 1))",
                            .formula = "y = λ·x if x > 0, else λα·(eˣ − 1)",
                            .derivative = "dy/dx = λ if x > 0, else λα·eˣ (λα at x = 0, as PyTorch)",
                            .params = {},
                            .reference = {.torch = "F.selu(x)"}});

}  // namespace nnlab
