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
//   x ≲ −8.4; the erfc form keeps full relative accuracy there (in float through a vectorised erfc,
//   see exact()). Large |x| gives no NaN: the float path clamps |x| at 14 before squaring, and in
//   double x² = inf gives e^(−inf) = 0 and x·0 = 0. ½x is taken before multiplying by erfc ≤ 2, so f(FLT_MAX) does
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
#include <algorithm>
#include <cmath>
#include <type_traits>
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
      exact(x, [&](Index i, Index n, const auto& cdf2, const auto&) { y.segment(i, n) = T(0.5) * x.segment(i, n) * cdf2; });
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
      exact(x, [&](Index i, Index n, const auto& cdf2, const auto& gauss) {
        dx.segment(i, n) = dy.segment(i, n) * (T(0.5) * cdf2 + x.segment(i, n) * (T(kInvSqrt2Pi) * gauss));
      });
    }
  }

 private:
  static constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1/√2
  static constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/√(2π)
  static constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
  static constexpr double kKappa = 0.044715;
  static constexpr double kGuard = 10.0;  // the tanh form's polynomial sees x clamped to ±kGuard

  static auto clamped(const In& x) { return x.max(T(-kGuard)).min(T(kGuard)); }

  // The exact form's two functions of x, block by block: use(i, n, cdf2, gauss) receives, for
  // x[i, i + n), cdf2 = 2Φ(x) = erfc(−x/√2) and gauss = e^(−x²/2) (so φ(x) = gauss/√(2π)).
  // float (training): 2Φ(x) = erfc(|x|/√2) for x < 0 and 2 − erfc(|x|/√2) for x ≥ 0, where
  // erfc(z), z ≥ 0, is Numerical Recipes' erfcc, t = 1/(1 + z/2), erfc(z) ≈ t·e^(−z² + P(t)) with
  // a degree-9 Chebyshev-fitted P (relative error below 1.2e−7 for every z ≥ 0). So x < 0 keeps its
  // relative accuracy (no 1 + erf cancellation) and x ≥ 0 has absolute error ~1e−7 on a value in
  // [1, 2]. Every step is a vectorised float operation (Eigen's float exp is; its double exp and
  // erfc are scalar calls). One care: e^(−z²) = e^(−x²/2) with x² or x/√2 rounded to float would be
  // off by x²·6e−8 relative (1e−5 at x = −13), so |x| is split into m, |x| rounded to a multiple of
  // 1/128 (m² is then exact in float), and x² = m² + (|x| − m)(|x| + m):
  //   e^(−x²/2) = e^(−m²/2)·e^(−(|x| − m)(|x| + m)/2),   erfc(|x|/√2) = t·e^(−x²/2)·e^(P(t)).
  // tests/activations/gelu.cpp measures the float forward and backward against double down to the
  // subnormals. For |x| ≥ 14, erfc(|x|/√2) < 2e−44 and e^(−x²/2) are taken as 0 (|x| is clamped
  // first, so |x|·128 never overflows). The blocks live on the stack: nothing is allocated.
  // double (the gradient checker, the float64 reference): 1 + erf(x/√2) for x ≥ −1 (≥ 0.31, no
  // cancellation), Eigen's erfc below −1 (a scalar call per element, accurate to double precision).
  template <typename Use>
  static void exact(const In& x, Use use) {
    if constexpr (std::is_same_v<T, float>) {
      constexpr Index kBlock = 128;
      constexpr float kRound = 12582912.0f;  // 1.5·2^23: (v + kRound) − kRound rounds v to an integer
      constexpr float kZero = 14.0f;         // erfc(14/√2) = 2e−44
      Eigen::Array<float, kBlock, 1> ab, tb, mb, gb;
      for (Index i = 0; i < x.size(); i += kBlock) {
        const Index n = std::min(kBlock, x.size() - i);
        const auto xs = x.segment(i, n);
        auto a = ab.head(n);
        auto t = tb.head(n);
        auto m = mb.head(n);
        auto g = gb.head(n);
        a = xs.abs().min(kZero);
        t = 1.0f / (1.0f + float(0.5 * kInvSqrt2) * a);
        m = ((a * 128.0f + kRound) - kRound) * (1.0f / 128.0f);
        g = (-0.5f * m.square()).exp() * (-0.5f * (a - m) * (a + m)).exp();  // e^(−x²/2)
        g = (xs.abs() < kZero).select(g, 0.0f);
        // erfc(|x|/√2) = t·e^(−x²/2)·e^(P(t)), P(t) = −1.26551223 + t(1.00002368 + ... + t·0.17087277)
        a = t * g *
            (-1.26551223f +
             t * (1.00002368f +
                  t * (0.37409196f +
                       t * (0.09678418f +
                            t * (-0.18628806f +
                                 t * (0.27886807f +
                                      t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f)))))))))
                .exp();
        m = (xs < 0.0f).select(a, 2.0f - a);  // 2Φ(x)
        use(i, n, m, g);
      }
    } else {
      Array cdf2 = T(1) + (x * T(kInvSqrt2)).erf();
      cdf2 = (x < T(-1)).select((x * T(-kInvSqrt2)).erfc(), cdf2);
      use(0, x.size(), cdf2, Array((T(-0.5) * x.square()).exp()));
    }
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
