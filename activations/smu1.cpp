// SMU-1 — smooth maximum unit, square-root variant (Biswas et al. 2022) — not in PyTorch.
//
// SMU-1 smooths max(x, αx) = ½[(1+α)x + (1−α)|x|] by replacing |t| with √(t² + μ²). With c = 1 − α,
// t = cx and r = √(t² + μ²) = hypot(cx, μ):
//
//   f(x)   = ½[(1+α)x + r]
//   ∂f/∂x  = ½[(1+α) + c²x/r]                 f'(0) = (1+α)/2 = 0.625 for every μ ≠ 0
//   ∂f/∂μ  = μ/(2r)                           (summed over every element: one shared μ)
//
//   In one line: y = ½[(1+α)x + r], c = 1 − α, r = √((cx)² + μ²);
//   dy/dx = ½[(1+α) + c²x/r] (μ = 0: 1 if x > 0, else α, as PyTorch's LeakyReLU);
//   dL/dμ = Σ dy·μ/(2r) (0 where r = 0)
//
// Evaluation. Splitting (1+α)x = 2αx + (1−α)x shows SMU-1 is a line plus a squareplus:
//   f(x) = αx + ½(t + r) = αx + squareplus(cx; b = μ²),
// so it uses squareplus's stable forms (activations.md §2.29): with t = cx,
//   t ≥ 0:  f = αx + ½t + ½r,            ∂f/∂x = α + c·½(1 + t/r)
//   t < 0:  f = αx + μ²/(2(r − t)),      ∂f/∂x = α + c·μ²/(2r(r − t))
// No term cancels (for x < 0 the direct ½[(1+α)x + r] subtracts nearly equal numbers when α is
// small), hypot never squares cx, and halving before adding keeps f(FLT_MAX) finite. backward
// recomputes r from the saved input x and the current μ.
//
// Range (−∞, ∞) for α > 0; f(0) = |μ|/2. Smooth for μ ≠ 0; μ → 0 gives max(x, αx) (Leaky ReLU with
// slope α); α = 0 gives squareplus with b = μ². f is even in μ. μ = 0 exactly is that Leaky ReLU with
// its kink at 0 (the only case kinks() reports): then ∂f/∂x follows PyTorch's LeakyReLU (x > 0 test,
// slope α at 0) and ∂f/∂μ at x = 0 is 0 (the min-norm subgradient of |μ|/2), where the formulas
// above would give 0/0.
//
// At the published initialisation μ = 4.352665993287951e−9 (μ² = 1.9e−17, still a normal float32) r
// equals c|x| to float32 precision for |x| ≳ 2e−5: SMU-1 starts as Leaky ReLU(0.25) with tiny
// μ-gradients (≈ 3e−8 per element at |x| = 0.1). μ is the parameter "mu", shape {1}, no weight decay;
// learnable = false fixes it (parameters() is then empty). α is a fixed hyper-parameter in [0, 1].
#include <cmath>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Smu1 final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Smu1(const Args& a, const BuildContext& ctx)
      : Elementwise<T>(ctx),
        alpha_(static_cast<T>(a.number("alpha"))),
        c_(T(1) - alpha_),
        mu_("mu", a.number("mu"), a.boolean("learnable")) {}
  std::string type() const override { return "smu1"; }
  std::vector<double> kinks() const override {
    if (mu_() == T(0)) return {0.0};
    return {};
  }

  std::vector<Param<T>> parameters() override { return mu_.parameters(); }

 protected:
  void f(In x, Out y) const override {
    const T mu = mu_(), mu2 = mu * mu;
    Out& r = y;  // y holds r first
    this->hypot_into(r, c_ * x, std::abs(mu));
    y = alpha_ * x + (c_ * x >= T(0)).select(T(0.5) * (c_ * x) + T(0.5) * r, mu2 / (T(2) * (r - c_ * x)));
  }

  void df(In x, In, In dy, Out dx) const override {
    const T mu = mu_(), mu2 = mu * mu;
    if (mu == T(0)) {  // Leaky ReLU(α), PyTorch's convention at 0
      dx = (x > T(0)).select(dy, alpha_ * dy);
      return;
    }
    Out& r = dx;  // dx doubles as scratch for r (element-wise, so no aliasing problem)
    this->hypot_into(r, c_ * x, std::abs(mu));
    dx = dy * (alpha_ + c_ * (c_ * x >= T(0)).select(T(0.5) * (T(1) + (c_ * x) / r),
                                                      mu2 / (T(2) * r * (r - c_ * x))));
  }

  void param_grads(In x, In, In dy) override {
    if (!mu_.learnable) return;
    const T mu = mu_();
    r_.resize(x.size());  // allocates only when the batch size changes
    this->hypot_into(Out(r_.data(), r_.size()), c_ * x, std::abs(mu));
    mu_.grad(0, 0) = (dy * (r_ > T(0)).select(mu / (T(2) * r_), T(0))).sum();
  }

 private:
  T alpha_, c_;
  ScalarParam<T> mu_;
  typename Elementwise<T>::Array r_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Smu1, {.name = "smu1",
                            .kind = LayerKind::elementwise,
                            .summary = "Smooth maximum unit SMU-1 ((1+alpha)x + sqrt(((1-alpha)x)^2 + mu^2))/2, learnable mu",
                            .formula = "y = ½[(1+α)x + r], c = 1 − α, r = √((cx)² + μ²)",
                            .derivative = "dy/dx = ½[(1+α) + c²x/r] (μ = 0: 1 if x > 0, else α, as PyTorch's LeakyReLU); dL/dμ = Σ dy·μ/(2r) (0 where r = 0)",
                            .params = {number("alpha", 0.25, "negative-side slope of the max(x, alpha*x) it smooths", 0, 1),
                                       number("mu", 4.352665993287951e-9, "smoothing (parameter 'mu'): 0 is leaky ReLU(alpha)", 0),
                                       boolean("learnable", true, "learn mu (parameter 'mu', no weight decay)")},
                            .stress = {R"({"mu": 1e6})", R"({"mu": 1e-6})"},
                            .rechecks = {{"mu", 1.0,
                                          "at mu = 4.35e-9 the difference step (1e-6) is 200x larger than mu, and f depends "
                                          "on |mu| (a kink at mu = 0 on that scale), so the central difference does not "
                                          "measure df/dmu"}},
                            .reference = {.torch = "0.5 * ((1 + alpha) * x + torch.hypot((1 - alpha) * x, mu * torch.ones_like(x)))",
                                          .variants = {{R"({})", {1e-08, -1e-08, 5e-09, -5e-09, -2e-09}},
                                                        {R"({"mu": 1})"}},
                                          .atol = 1e-30}});

}  // namespace nnlab
