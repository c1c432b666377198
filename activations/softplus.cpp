// Softplus — smooth ReLU, PyTorch nn.Softplus(beta=1.0, threshold=20.0).
//
//   y     = (1/β)·log(1 + e^(βx)) if βx ≤ threshold, else x    (PyTorch's strict test on the product βx)
//   dy/dx = σ(βx) if βx ≤ threshold, else 1 (σ(threshold) at βx = threshold, as PyTorch)
//
// Backward recomputes σ(βx) from the saved input x (one exp); the output y is not used.
//
// Range (0, ∞) for β > 0; convex, f > max(0, x), f(0) = log(2)/β; β → ∞ gives ReLU. The switch to the
// identity makes f jump by log1p(e^(−threshold))/β ≈ 2.06e−9/β at x = threshold/β (a point where f
// is not even continuous), so that point is reported as a kink. PyTorch's convention: at βx equal to
// the threshold exactly the log branch is used (f'(x) = σ(threshold) there, not 1).
//
// Stability: log(1 + e^z) is evaluated as max(z, 0) + log1p(e^(−|z|)), which never overflows and
// keeps full accuracy for z ≪ 0 (plain log(1 + e^z) is inf for z > 88.7 in float32 and 0 for
// z < −37 in float64). The log branch is fed min(βx, threshold), so a discarded lane stays finite
// even where βx itself overflows (|β| > 1, x near FLT_MAX); βx = −inf gives 0 and σ = 1/(1 + inf) = 0.
// σ(βx) = 1/(1 + e^(−βx)) replaces PyTorch's backward z/(z + 1), z = e^(βx), which is inf/inf = NaN
// for a user threshold above ~88 in float32.
//
// β = 0 is a ConfigError (f would be log(2)/0). Negative β is allowed, as in PyTorch: f is then
// −softplus_{|β|}(−x), with the kink at threshold/β < 0.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Softplus final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Softplus(const Args& a, const BuildContext& c)
      : Elementwise<T>(c), beta_(a.number("beta")), threshold_(a.number("threshold")) {
    if (beta_ == 0) throw ConfigError("beta must be nonzero (softplus divides by beta)");
  }
  std::string type() const override { return "softplus"; }
  std::vector<double> kinks() const override { return {threshold_ / beta_}; }

 protected:
  void f(In x, Out y) const override {
    // The output buffer holds zc = min(βx, threshold) first; no temporaries, exp/log1p vectorised.
    y = (T(beta_) * x).min(T(threshold_));
    y = (y.max(T(0)) + (-y.abs()).exp().log1p()) / T(beta_);
    y = (T(beta_) * x > T(threshold_)).select(x, y);
  }

  void df(In x, In, In dy, Out dx) const override {
    dx = T(1) / (T(1) + (-(T(beta_) * x).min(T(threshold_))).exp());  // σ(βx), vectorised
    dx = (T(beta_) * x > T(threshold_)).select(dy, dy * dx);
  }

 private:
  double beta_, threshold_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Softplus, {.name = "softplus",
                                .kind = LayerKind::elementwise,
                                .summary = "Softplus (1/beta)·log(1 + exp(beta·x))",
                                .formula = "y = (1/β)·log(1 + e^(βx)) if βx ≤ threshold, else x",
                                .derivative = "dy/dx = σ(βx) if βx ≤ threshold, else 1 (σ(threshold) at βx = threshold, as PyTorch)",
                                .params = {number("beta", 1.0, "sharpness β (nonzero); β → ∞ approaches ReLU"),
                                           number("threshold", 20.0, "where β·x > threshold (strictly) the function is the identity")},
                                .stress = {R"({"beta": 100})", R"({"beta": 0.01})"},
                                .reference = {.torch = "F.softplus(x, beta=beta, threshold=threshold)",
                                              .variants = {{R"({})"},
                                                            {R"({"beta": 2, "threshold": 5})", {2.5, -2.5}}}}});

}  // namespace nnlab
