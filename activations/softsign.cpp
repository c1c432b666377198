// Softsign (Bergstra et al. 2009), PyTorch nn.Softsign.
//
//   y     = x/(1 + |x|)
//   dy/dx = 1/(1 + |x|)²          (= (1 − |y|)², but see below)
//
// Backward uses the saved input x.
//
// Range (−1, 1), zero-centred, f'(0) = 1 (PyTorch builds it from abs, whose gradient at 0 is 0, and
// gets exactly 1). Like tanh but with polynomial tails: it approaches ±1 as 1/|x|, so it saturates
// far more slowly. C¹ everywhere; f'' jumps from +2 to −2 at 0, so central differences straddling 0
// are off by h in the slope (1e−6 at the checker's step, its whole tolerance): 0 is reported as a
// kink so the checker stays meaningful, and f'(0) = 1 is tested directly.
//
// Stability: no exp; 1 + |x| rounds to |x| for huge x and x/|x| = ±1. The derivative uses x, not the
// output form (1 − |y|)², which is 0 as soon as y rounds to ±1 (|x| > 2²⁴ in float32) and loses
// relative accuracy well before that; 1/(1 + |x|) squared underflows cleanly to 0 for |x| = FLT_MAX.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Softsign final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::Array;
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Softsign(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "softsign"; }
  std::vector<double> kinks() const override { return {0.0}; }

 protected:
  void f(In x, Out y) const override { y = x / (T(1) + x.abs()); }
  void df(In x, In, In dy, Out dx) const override {
    const Array r = T(1) / (T(1) + x.abs());
    dx = dy * r.square();
  }
};

}  // namespace

NNLAB_REGISTER_LAYER(Softsign, {.name = "softsign",
                                .kind = LayerKind::elementwise,
                                .summary = "Softsign x/(1 + |x|)",
                                .formula = "y = x/(1 + |x|)",
                                .derivative = "dy/dx = 1/(1 + |x|)²",
                                .params = {},
                                .reference = {.torch = "F.softsign(x)"}});

}  // namespace nnlab
