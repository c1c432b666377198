// SMU — smooth maximum unit (Biswas, Kumar, Banerjee & Pandey, CVPR 2022) — not in PyTorch.
//
// SMU smooths max(x, αx) = ½[(1+α)x + (1−α)|x|] by replacing |t| with t·erf(μt). With c = 1 − α
// and z = μcx:
//
//   f(x)   = ½[(1+α)x + c·x·erf(z)]                   (the ½ multiplies the whole bracket: one public
//                                                      implementation halves only the erf term)
//   ∂f/∂x  = ½[(1+α) + c·erf(z) + (2/√π)·c·z·e^(−z²)]    f'(0) = (1+α)/2 = 0.625 for every μ
//   ∂f/∂μ  = (cx)²·e^(−z²)/√π                          (summed over every element: one shared μ)
//
//   In one line: y = ½[(1+α)x + c·x·erf(z)], c = 1 − α, z = μcx;
//   dy/dx = ½[(1+α) + c·erf(z) + (2/√π)·c·z·e^(−z²)]; dL/dμ = Σ dy·(cx)²·e^(−z²)/√π
//
// Evaluation. Since ½[(1+α) + c·erf(z)] = α + ½c·(1 + erf(z)) = α + ½c·erfc(−z), SMU is a line plus
// a GELU-like gate:
//   f(x)   = x·(α + ½c·erfc(−z))
//   ∂f/∂x  = α + ½c·erfc(−z) + (c/√π)·z·e^(−z²)
// The erfc form keeps full relative accuracy for z ≪ 0, where 1 + erf(z) cancels to 0 (with α = 0,
// μ = 1/√2 it is exactly GELU x·Φ(x), and ½x(1 + erf) returns −0 at x = −10 where the true value is
// −7.6e−23). The factor α + ½c·erfc(−z) lies in [α, 1] for 0 ≤ α ≤ 1, so f(FLT_MAX) stays finite
// (the literal (1+α)x would overflow first). backward recomputes z from the saved input x and the
// current μ. The Gaussian terms z·e^(−z²) and (cx)²·e^(−z²) are set to exactly 0 for |z| > 30 (where
// e^(−900) is 0 in float64 anyway): that avoids inf·0 = NaN when z or (cx)² overflows (float32,
// x near FLT_MAX); erfc(∓inf) = 2 or 0 is exact.
//
// Range (−∞, ∞). Smooth (C^∞) for every μ ≥ 0, so no kink convention is needed (kinks() is empty);
// μ → ∞ gives Leaky ReLU with slope α (0.25 with the paper's α, not PyTorch's 0.01), μ = 0 gives
// the line (1+α)x/2, μ < 0 would flip it into min(x, αx) (μ ≥ 0 is required in the config). α = 0,
// μ = 1/√2 is exactly GELU.
//
// At the published initialisation μ = 1e6, erf(z) is ±1 for |x| ≳ 5e−6: SMU is numerically Leaky
// ReLU(0.25) except in a micro-region around 0, and ∂f/∂μ is 0 outside it (≤ ~2e−13 inside), so μ
// barely moves under ordinary learning rates. μ is the parameter "mu", shape {1}, no weight decay;
// learnable = false fixes it (parameters() is then empty). α is a fixed hyper-parameter in [0, 1].
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Smu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Smu(const Args& a, const BuildContext& ctx)
      : Elementwise<T>(ctx),
        alpha_(static_cast<T>(a.number("alpha"))),
        c_(T(1) - alpha_),
        mu_("mu", a.number("mu"), a.boolean("learnable")) {}
  std::string type() const override { return "smu"; }

  std::vector<Param<T>> parameters() override { return mu_.parameters(); }

 protected:
  void f(In x, Out y) const override {
    const T mu_c = mu_() * c_;
    y = mu_c * x;  // z
    y = x * (alpha_ + T(0.5) * c_ * (y.abs() > kTail).select(T(1) + y.sign(), (-y).erfc()));
  }

  void df(In x, In, In dy, Out dx) const override {
    const T mu_c = mu_() * c_;
    const T c_over_sqrt_pi = c_ / std::sqrt(T(EIGEN_PI));
    Out& z = dx;  // dx doubles as scratch for z = μcx (element-wise, so no aliasing problem)
    z = mu_c * x;
    dx = (z.abs() > kTail)
             .select((z > T(0)).select(dy, alpha_ * dy),
                     dy * (alpha_ + T(0.5) * c_ * (-z).erfc() + c_over_sqrt_pi * gaussian_term(z, z)));
  }

  void param_grads(In x, In, In dy) override {
    if (!mu_.learnable) return;
    const T inv_sqrt_pi = T(1) / std::sqrt(T(EIGEN_PI));
    z_ = (mu_() * c_) * x;  // resized only when the batch size changes
    e_ = (-z_.square()).exp();   // vectorised here, outside the select
    mu_.grad(0, 0) = inv_sqrt_pi * (dy * (z_.abs() > T(30)).select(T(0), (c_ * x).square() * e_)).sum();
  }

 private:
  // v·e^(−z²), exactly 0 for |z| > 30 (no inf·0 when z or v overflowed). By reference: the
  // returned expression refers to the caller's arrays.
  template <typename Z, typename V>
  static auto gaussian_term(const Z& z, const V& v) {
    return (z.abs() > T(30)).select(T(0), v * (-z.square()).exp());
  }

  // Beyond |z| = 10, erfc(−z) is 0 or 2 and z·e^(−z²) < 1e−42: f = x·(α or 1) and f' = α or 1 to
  // within 1e−43 relative, so the kernels skip erfc and exp there. select() evaluates only the
  // branch it picks, so at the default μ = 1e6 (|z| > 10 unless |x| < 1.4e−5) erfc, which Eigen
  // does not vectorise, is almost never called.
  static constexpr T kTail = T(10);

  T alpha_, c_;
  ScalarParam<T> mu_;
  typename Elementwise<T>::Array z_, e_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Smu, {.name = "smu",
                           .kind = LayerKind::elementwise,
                           .summary = "Smooth maximum unit (x(1+alpha) + x(1-alpha)erf(mu(1-alpha)x))/2, learnable mu",
                           .formula = "y = ½[(1+α)x + c·x·erf(z)], c = 1 − α, z = μcx",
                           .derivative = "dy/dx = ½[(1+α) + c·erf(z) + (2/√π)·c·z·e^(−z²)]; dL/dμ = Σ dy·(cx)²·e^(−z²)/√π",
                           .params = {number("alpha", 0.25, "negative-side slope of the max(x, alpha*x) it smooths", 0, 1),
                                      number("mu", 1e6, "smoothing (parameter 'mu'): large is leaky ReLU(alpha)", 0),
                                      boolean("learnable", true, "learn mu (parameter 'mu', no weight decay)")},
                           .stress = {R"({"mu": 1e6})", R"({"mu": 1e-6})", R"({"mu": 1e6, "alpha": 0})"},
                           .rechecks = {{"mu", 1.0,
                                         "at mu = 1e6, erf(mu(1-alpha)x) is exactly +-1 at every test input, so df/dmu "
                                         "is 0 to double precision and the checker (rightly) refuses to compare two zeros"}},
                           .reference = {.torch = "0.5 * ((1 + alpha) * x + (1 - alpha) * x * torch.erf(mu * (1 - alpha) * x))",
                                         .variants = {{R"({})", {1e-06, -1e-06, 3e-07, -3e-07, 2e-06, -5e-06}},
                                                       {R"({"mu": 1})"}},
                                         .atol = 1e-30}});

}  // namespace nnlab
