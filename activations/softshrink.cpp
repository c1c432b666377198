// Softshrink — soft thresholding, PyTorch nn.Softshrink(lambd=0.5).
//
//   y     = x − λ if x > λ,  x + λ if x < −λ,  0 otherwise
//   dy/dx = 1 if |x| > λ, else 0 (0 at x = ±λ, as PyTorch)
//
// Backward uses the saved input x.
//
// Range (−∞, ∞); the proximal operator of λ|x| (ISTA, sparse coding): shrinks every value towards 0
// by λ and zeroes the band [−λ, λ]. Kinks at ±λ: PyTorch counts the closed band as inside, so
// f(±λ) = 0 and f'(±λ) = 0; we do the same. λ ≥ 0 (PyTorch errors otherwise; here the config check).
//
// Stability: exact for every finite input. As in current PyTorch the band is written x·0 so a NaN
// input gives NaN (PyTorch 1.13 gave 0).
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Softshrink final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Softshrink(const Args& a, const BuildContext& c) : Elementwise<T>(c), lambd_(a.number("lambd")) {}
  std::string type() const override { return "softshrink"; }
  std::vector<double> kinks() const override { return {-lambd_, lambd_}; }

 protected:
  void f(In x, Out y) const override {
    const T l(lambd_);
    y = (x > l).select(x - l, (x < -l).select(x + l, x * T(0)));
  }
  void df(In x, In, In dy, Out dx) const override { dx = (x.abs() > T(lambd_)).select(dy, T(0)); }

 private:
  double lambd_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Softshrink, {.name = "softshrink",
                                  .kind = LayerKind::elementwise,
                                  .summary = "Soft thresholding sign(x)·max(|x| − λ, 0)",
                                  .formula = "y = x − λ if x > λ, x + λ if x < −λ, 0 otherwise",
                                  .derivative = "dy/dx = 1 if |x| > λ, else 0 (0 at x = ±λ, as PyTorch)",
                                  .params = {number("lambd", 0.5, "half-width λ of the zeroed band [−λ, λ]", 0.0)},
                                  // 2^100 is exact in float32 and float64: both precisions put the kinks at the same x.
                                  .stress = {R"({"lambd": 1.2676506002282294e30})"},
                                  .reference = {.torch = "F.softshrink(x, lambd)",
                                                .variants = {{R"({})"},
                                                              {R"({"lambd": 1})"}}}});

}  // namespace nnlab
