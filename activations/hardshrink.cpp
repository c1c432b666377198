// Hardshrink — hard thresholding, PyTorch nn.Hardshrink(lambd=0.5).
//
//   y     = x if |x| > λ, else 0
//   dy/dx = 1 if |x| > λ, else 0 (0 at x = ±λ, as PyTorch)
//
// Backward uses the saved input x.
//
// Range {0} ∪ (−∞, −λ) ∪ (λ, ∞): discontinuous at ±λ (it jumps by λ), so ±λ are kinks. PyTorch counts
// the closed band as inside: f(±λ) = 0 and f'(±λ) = 0; we do the same. λ ≥ 0 (config check).
//
// Stability: only comparisons, exact for every input. The band test is written |x| ≤ λ so that a NaN
// input (every comparison false) falls through to x and propagates, as in current PyTorch.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Hardshrink final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Hardshrink(const Args& a, const BuildContext& c) : Elementwise<T>(c), lambd_(a.number("lambd")) {}
  std::string type() const override { return "hardshrink"; }
  std::vector<double> kinks() const override { return {-lambd_, lambd_}; }

 protected:
  void f(In x, Out y) const override { y = (x.abs() <= T(lambd_)).select(T(0), x); }
  void df(In x, In, In dy, Out dx) const override { dx = (x.abs() > T(lambd_)).select(dy, T(0)); }

 private:
  double lambd_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Hardshrink, {.name = "hardshrink",
                                  .kind = LayerKind::elementwise,
                                  .summary = "Hard thresholding: x if |x| > λ, else 0",
                                  .formula = "y = x if |x| > λ, else 0",
                                  .derivative = "dy/dx = 1 if |x| > λ, else 0 (0 at x = ±λ, as PyTorch)",
                                  .params = {number("lambd", 0.5, "half-width λ of the zeroed band [−λ, λ]", 0.0)},
                                  // 2^100 is exact in float32 and float64: both precisions put the kinks at the same x.
                                  .stress = {R"({"lambd": 1.2676506002282294e30})"},
                                  .reference = {.torch = "F.hardshrink(x, lambd)",
                                                .variants = {{R"({})"},
                                                              {R"({"lambd": 1})"}}}});

}  // namespace nnlab
