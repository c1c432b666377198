// GELU — Gaussian error linear unit, PyTorch nn.GELU(approximate='none' | 'tanh').
//
// approximate = "none" (exact):
//   f(x)  = x·Φ(x) = ½x·erfc(−x/√2)
//   f'(x) = Φ(x) + x·φ(x),   Φ(x) = ½erfc(−x/√2),  φ(x) = e^(−x²/2)/√(2π)
//
// approximate = "tanh" (Hendrycks & Gimpel's approximation):
//   u = √(2/π)(x + 0.044715x³),  t = tanh(u)
//   f(x)  = ½x(1 + t)
//   f'(x) = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
//
// In one line each, the exact form with the tanh one in parentheses:
//   y = x·Φ(x) (approximate = tanh: y = ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)))
//   dy/dx = Φ(x) + x·φ(x) (approximate = tanh: dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))
//
// Backward recomputes Φ and φ (or σ(2u), see below) from the saved input x; y is not used.
//
// Range [−0.16997, ∞) (minimum at x = −0.75179); f'(0) = ½; smooth everywhere, so no kinks and no
// convention is needed. Not monotone: f' < 0 for x < −0.75179. The tanh form differs from the exact
// one by at most 4.73e−4 (at x ≈ −2.70).
//
// Stability:
// * exact: PyTorch evaluates ½x(1 + erf(x/√2)), where 1 + erf cancels for x ≲ −5 and is exactly 0 for
//   x ≲ −8.4; the erfc form keeps full relative accuracy there. For |x| > 1.8e19 (float32) x² = inf,
//   e^(−inf) = 0 and x·0 = 0: no NaN. ½x is taken before multiplying by erfc ≤ 2, so f(FLT_MAX) does
//   not overflow.
// * tanh: ½(1 + tanh u) is evaluated as the identical σ(2u) = 1/(1 + e^(−2u)), with 1 − σ(2u) =
//   e^(−2u)/(1 + e^(−2u)); this avoids the cancellation of 1 + t as t → −1 (PyTorch's form loses
//   relative accuracy from x ≈ −3 on and returns −0 from x ≈ −5.1 in float32, −7.2 in float64), and
//   ½(1 − t²) = 2σ(2u)(1 − σ(2u)) gives f'(x) = s + 2x·s(1 − s)·u'(x), s = σ(2u).
//   Guard of activations.md §2.10: x³ and x² overflow in float32 for large |x|, and PyTorch's backward
//   then computes (1 − t²)·inf = 0·inf = NaN. Here the polynomial only ever sees x clamped to
//   [−10, 10], so 2u ∈ [−87.2, 87.2] and e^(−2u) ≤ 7.6e37 stays finite in float32; beyond the clamp
//   f = x, f' = 1 for x > 10 (σ(87.2) = 1 exactly) and f = −0, f' = 0 for x < −10 (PyTorch's guard
//   values; the true function is below 1e−37 in magnitude there).
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Gelu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Gelu(const Args& a, const BuildContext& c) : Elementwise<T>(c), tanh_(a.text("approximate") == "tanh") {}
  std::string type() const override { return "gelu"; }

 protected:
  void f(In x, Out y) const override {
    if (tanh_) {
      const Array s = T(1) / (T(1) + (T(-2) * u(clamped(x))).exp());  // ½(1 + tanh u) = σ(2u)
      y = (x < T(-kGuard)).select(T(0) * x, x * s);
    } else {
      two_cdf(x, y);
      y = T(0.5) * x * y;
    }
  }

  void df(In x, In, In dy, Out dx) const override {
    if (tanh_) {
      const Array xc = clamped(x);
      const Array e = (T(-2) * u(xc)).exp();
      const Array s = T(1) / (T(1) + e);   // σ(2u)
      const Array sc = e / (T(1) + e);     // 1 − σ(2u), without cancellation
      const Array du = T(kSqrt2OverPi) * (T(1) + T(3 * kKappa) * xc.square());
      dx = (x < T(-kGuard)).select(T(0), dy * (s + T(2) * xc * s * sc * du));
    } else {
      two_cdf(x, dx);
      dx = dy * (T(0.5) * dx + x * (T(kInvSqrt2Pi) * (T(-0.5) * x.square()).exp()));
    }
  }

 private:
  static constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1/√2
  static constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/√(2π)
  static constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
  static constexpr double kKappa = 0.044715;
  static constexpr double kGuard = 10.0;  // the tanh form's polynomial sees x clamped to ±kGuard

  static auto clamped(const In& x) { return x.max(T(-kGuard)).min(T(kGuard)); }

  // out = 2Φ(x) = erfc(−x/√2). For x ≥ −1 it is 1 + erf(x/√2) ≥ 0.31 (no cancellation), with erf
  // vectorised; below −1, where 1 + erf would cancel, erfc itself (a scalar call, which select()
  // makes only for those elements).
  static void two_cdf(const In& x, Out out) {
    out = T(1) + (x * T(kInvSqrt2)).erf();
    out = (x < T(-1)).select((x * T(-kInvSqrt2)).erfc(), out);
  }
  template <typename E>
  static auto u(const E& x) { return T(kSqrt2OverPi) * (x + T(kKappa) * x.cube()); }

  bool tanh_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Gelu, {.name = "gelu",
                            .kind = LayerKind::elementwise,
                            .summary = "Gaussian error linear unit x·Φ(x)",
                            .formula = "y = x·Φ(x) (approximate = tanh: y = ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)))",
                            .derivative = "dy/dx = Φ(x) + x·φ(x) (approximate = tanh: dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))",
                            .params = {text("approximate", "none", "'none': exact x·Φ(x) via erfc; 'tanh': Hendrycks' tanh approximation",
                                       {"none", "tanh"})},
                            .stress = {R"({"approximate": "tanh"})"},
                            .reference = {.torch = "F.gelu(x, approximate=approximate)",
                                          .variants = {{R"({})"},
                                                        {R"({"approximate": "tanh"})"}}}});

}  // namespace nnlab
