// SiLU — sigmoid-weighted linear unit, PyTorch nn.SiLU (Swish with β = 1; see swish.cpp).
//
//   y     = x·σ(x)                              σ(x) = 1/(1 + e^(−x))
//   dy/dx = σ(x)(1 + x(1 − σ(x))) = σ(x) + x·σ'(x),   σ'(x) = σ(x)(1 − σ(x))      f'(0) = 1/2
//
// backward recomputes t = e^(−|x|) ∈ (0, 1] from the saved input x (one exp, never overflows):
//   σ(x) = x ≥ 0 ? 1/(1 + t) : t/(1 + t),   σ'(x) = t/(1 + t)²,   dx = dy·(σ(x) + x·σ'(x)).
// This stays accurate in both tails (no 1 − σ with σ ≈ 1); where t underflows to 0 the x·σ' term is
// exactly 0. Forward: 1/(1 + e^(−x)) is exact under IEEE arithmetic for every finite x (e^(−x) = inf
// gives x/inf = −0 for x ≪ 0), written as x/(1 + e^(−x)).
//
// Range [−0.27846, ∞): minimum at x = −1.27846. Smooth, non-monotonic, unbounded above and bounded
// below; behaves like ReLU for |x| large. It has no kink, so no derivative convention is needed
// (kinks() is empty; PyTorch's backward is the same formula). Named "SiLU" in the GELU paper, used
// by Elfwing et al. for reinforcement learning and rediscovered as "Swish" (Ramachandran et al.);
// PyTorch's docs note all three.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Silu final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Silu(const Args&, const BuildContext& c) : Elementwise<T>(c) {}
  std::string type() const override { return "silu"; }

 protected:
  void f(In x, Out y) const override { y = x / (T(1) + this->exp_ieee(-x)); }

  void df(In x, In, In dy, Out dx) const override {
    Out& t = dx;  // dx doubles as scratch for t = e^(−|x|) (element-wise, so no aliasing problem)
    t = this->exp_ieee(-x.abs());
    // σ(x) + x·σ'(x) = [e^(min(x, 0)) + x·t/(1 + t)] / (1 + t), vectorised (no select)
    dx = dy * (this->exp_ieee(x.min(T(0))) + x * t / (T(1) + t)) / (T(1) + t);
  }
};

}  // namespace

NNLAB_REGISTER_LAYER(Silu, {.name = "silu",
                            .kind = LayerKind::elementwise,
                            .summary = "SiLU x*sigmoid(x) (PyTorch nn.SiLU)",
                            .formula = "y = x·σ(x)",
                            .derivative = "dy/dx = σ(x)(1 + x(1 − σ(x)))",
                            .params = {},
                            .reference = {.torch = "F.silu(x)"}});

}  // namespace nnlab
