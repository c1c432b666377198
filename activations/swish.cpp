// Swish-β (Ramachandran, Zoph & Le 2017) — not in PyTorch; β = 1 is nn.SiLU (see silu.cpp).
//
//   f(x)    = x·σ(βx)                                   σ(u) = 1/(1 + e^(−u)), s = σ(βx)
//   ∂f/∂x   = s(1 + βx(1 − s)) = s + βx·σ'(βx)          σ'(u) = σ(u)(1 − σ(u))
//   ∂f/∂β   = x²·s(1 − s) = x²·σ'(βx)                   (summed over every element: one shared β)
//
//   In one line: y = x·σ(βx);  dy/dx = σ(βx)(1 + βx(1 − σ(βx))); dL/dβ = Σ dy·x²·σ'(βx)
//
// The popular shortcut f' = f + σ(1 − f) holds only for β = 1; for general β it is βf + s(1 − βf).
//
// backward recomputes t = e^(−|βx|) ∈ (0, 1] from the saved input x (one exp; t never overflows):
//   σ(βx)  = βx ≥ 0 ? 1/(1 + t) : t/(1 + t),     σ'(βx) = t/(1 + t)²
//   dx     = dy·(σ(βx) + βx·σ'(βx)),             dL/dβ = Σ dy·x·(x·σ'(βx))
// Both are accurate in the tails (no 1 − s for s ≈ 1). Where t underflows to 0 the βx·σ'(βx) term is
// set to 0: it is 0 anyway, and this avoids inf·0 = NaN when βx itself overflows (float32, β = 100,
// x = FLT_MAX). x·(x·σ') is evaluated in that order so x² never overflows where σ' is 0.
//
// Forward uses 1/(1 + e^(−βx)), exact under IEEE arithmetic for every finite βx (e^(−βx) = inf gives
// x/inf = −0 for x ≪ 0), written as x/(1 + e^(−βx)).
//
// Range: for β > 0, bounded below (minimum −0.27846/β at x = −1.27846/β), unbounded above. Smooth
// and non-monotonic (the small negative "bump"); no kink, so no PyTorch convention is needed. β → ∞
// gives ReLU, β = 0 gives x/2; β < 0 is allowed but mirrors the gate. With learnable = true, β is
// the parameter "beta" of shape {1}, excluded from weight decay (decay would pull it towards the
// linear x/2); with learnable = false it is a fixed constant and parameters() is empty.
#include <limits>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Swish final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Swish(const Args& a, const BuildContext& c)
      : Elementwise<T>(c), beta_("beta", a.number("beta"), a.boolean("learnable")) {}
  std::string type() const override { return "swish"; }
  std::vector<Param<T>> parameters() override { return beta_.parameters(); }

 protected:
  void f(In x, Out y) const override {
    const T b = beta_();
    y = x / (T(1) + this->exp_ieee(-b * x));
  }

  void df(In x, In, In dy, Out dx) const override {
    const T b = beta_();
    Out& t = dx;  // dx doubles as scratch for t = e^(−|βx|) (element-wise, so no aliasing problem)
    t = this->exp_ieee(-(b * x).abs());
    // σ(βx) + βx·σ'(βx) = [e^(min(βx, 0)) + βx·t/(1 + t)] / (1 + t): e^(min(βx,0)) is 1 for βx ≥ 0 and
    // t otherwise, so no select (which would evaluate element by element). βx is clamped to the
    // finite range so that βx·t is 0, not inf·0, when βx overflows.
    const T big = std::numeric_limits<T>::max();
    dx = dy * (this->exp_ieee((b * x).min(T(0))) + (b * x).max(-big).min(big) * t / (T(1) + t)) / (T(1) + t);
  }

  void param_grads(In x, In, In dy) override {
    if (!beta_.learnable) return;
    const T b = beta_();
    t_ = this->exp_ieee(-(b * x).abs());  // resized only when the batch size changes
    beta_.grad(0, 0) = (dy * x * (x * (t_ / (T(1) + t_).square()))).sum();
  }

 private:
  ScalarParam<T> beta_;
  typename Elementwise<T>::Array t_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Swish, {.name = "swish",
                             .kind = LayerKind::elementwise,
                             .summary = "Swish x*sigmoid(beta*x), optionally learnable beta",
                             .formula = "y = x·σ(βx)",
                             .derivative = "dy/dx = σ(βx)(1 + βx(1 − σ(βx))); dL/dβ = Σ dy·x²·σ'(βx)",
                             .params = {number("beta", 1.0, "gate sharpness: 0 gives x/2, 1 gives SiLU, infinity gives ReLU"),
                                        boolean("learnable", false, "learn beta (parameter 'beta', no weight decay)")},
                             .stress = {R"({"beta": 100, "learnable": true})", R"({"beta": 0.01, "learnable": true})"},
                             .reference = {.torch = "x * torch.sigmoid(beta * x)",
                                           .variants = {{R"({})"},
                                                         {R"({"beta": 1.5})"},
                                                         {R"({"beta": 1.5, "learnable": true})"}}}});

}  // namespace nnlab
