// LogSigmoid — log of the logistic function, PyTorch nn.LogSigmoid (functional F.logsigmoid).
//
//   y     = log σ(x) = −log(1 + e^(−x)) = −softplus(−x) = min(x, 0) − log1p(e^(−|x|))
//   dy/dx = σ(−x) = 1 − σ(x) = −expm1(y)          (from the saved output)
//
// Range (−∞, 0); f(0) = −log 2, f'(0) = ½; concave and smooth (no kinks). f(x) ≈ x for x ≪ 0 and
// ≈ −e^(−x) for x ≫ 0. It is the building block of binary cross-entropy on logits.
//
// Stability: min(x, 0) − log1p(e^(−|x|)) never overflows (e^(−|x|) ≤ 1) and keeps full relative
// accuracy at both ends; naive log(1/(1 + e^(−x))) is −inf for x < −88.7 (float32) instead of ≈ x.
// The derivative −expm1(y) is accurate everywhere: for x ≫ 0, y ≈ −e^(−x) and −expm1(y) ≈ e^(−x);
// for x ≪ 0, y ≈ x and −expm1(x) → 1. (PyTorch saves a buffer e^(−|x|) instead; same values.)
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class LogSigmoid final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  LogSigmoid(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "logsigmoid"; }

 protected:
  void f(In x, Out y) const override { y = x.min(T(0)) - (-x.abs()).exp().log1p(); }
  void df(In, In y, In dy, Out dx) const override {
    this->expm1_into(dx, y);
    dx = -dy * dx;
  }
};

}  // namespace

NNLAB_REGISTER_LAYER(LogSigmoid, {.name = "logsigmoid",
                                  .kind = LayerKind::elementwise,
                                  .summary = "Log-sigmoid log(1/(1 + exp(-x)))",
                                  .formula = "y = log σ(x) = −log(1 + e^(−x))",
                                  .derivative = "dy/dx = σ(−x) = 1 − σ(x)",
                                  .params = {},
                                  .reference = {.torch = "F.logsigmoid(x)"}});

}  // namespace nnlab
