// Mish — self-regularised non-monotonic activation (Misra 2019), PyTorch nn.Mish.
//
//   y     = x·tanh(softplus(x)) = x·T,  T = tanh(log(1 + eˣ))
//   dy/dx = T + x·σ(x)·(1 − T²)
//
// Backward recomputes T and σ(x) from the saved input x (one exp); the output y is not used.
//
// Range [−0.30884, ∞) (minimum at x = −1.19243); f'(0) = 0.6; smooth everywhere (no kinks).
// Like GELU/SiLU it is not monotone and lets small negative values through.
//
// Stability: T is computed without tanh or log. With e = eˣ and n = e(e + 2),
//   tanh(log(1 + e)) = ((1+e)² − 1)/((1+e)² + 1) = n/(n + 2),   σ(x) = e/(1 + e),   1 − T = 2/(n + 2),
// where 1 − T is used in 1 − T² = (1 − T)(1 + T) so the derivative keeps its relative accuracy as
// T → 1. For x > 20, T = 1 to double precision (1 − T ≈ 8e−18), so f = x and f' = 1 there. exp is
// fed min(x, 20), so e ≤ 4.9e8 and n ≤ 2.4e17 stay finite in float32: the lanes that the select
// discards cannot overflow, and x·T for x → −∞ is x·0 = −0 (no inf·0).
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Mish final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Mish(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "mish"; }

 protected:
  void f(In x, Out y) const override {
    const Array e = this->exp_ieee(x.min(T(kCut)));
    const Array n = e * (e + T(2));
    y = (x > T(kCut)).select(x, x * (n / (n + T(2))));
  }

  void df(In x, In, In dy, Out dx) const override {
    const Array e = this->exp_ieee(x.min(T(kCut)));
    const Array n = e * (e + T(2));
    const Array tm = n / (n + T(2));              // T = tanh(softplus(x))
    const Array one_minus_tm = T(2) / (n + T(2));  // 1 − T, without cancellation
    const Array sigma = e / (T(1) + e);
    dx = (x > T(kCut)).select(dy, dy * (tm + x * sigma * one_minus_tm * (T(1) + tm)));
  }

 private:
  static constexpr double kCut = 20.0;  // beyond it T = 1 in double precision
};

}  // namespace

NNLAB_REGISTER_LAYER(Mish, {.name = "mish",
                            .kind = LayerKind::elementwise,
                            .summary = "Mish x·tanh(softplus(x))",
                            .formula = "y = x·tanh(softplus(x)) = x·T, T = tanh(log(1 + eˣ))",
                            .derivative = "dy/dx = T + x·σ(x)·(1 − T²)",
                            .params = {},
                            .reference = {.torch = "F.mish(x)"}});

}  // namespace nnlab
