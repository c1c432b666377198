// Squareplus (Barron 2021) — not in PyTorch; jax.nn.squareplus / keras squareplus, default b = 4.
//
//   y     = ½(x + √(x² + b)),  b ≥ 0
//   dy/dx = ½(1 + x/r), r = √(x² + b) (b = 0 is ReLU: 0 at x = 0, as PyTorch)
//         = y/r = 4y²/(4y² + b)                               f'(0) = ½ for b > 0
//   (f''(x) = b/(2r³) > 0: convex; ∂f/∂b = 1/(4r) if b were learnable — it is not here.)
//
// Range (0, ∞) for b > 0 (f(0) = √b/2); b = 0 is exactly ReLU. An algebraic softplus: only +, ×
// and √ (the paper: ~6× faster than softplus on a CPU). b = 4 gives the same curvature at 0 as
// softplus (f''(0) = 1/4) and squareplus ≥ softplus everywhere (max gap 1 − ln 2 at 0). The project's
// tutorial figure used b = 0.2, a much sharper curve (f(0) = 0.2236 instead of 1): b is a parameter
// and the tests check both. Squareplus(b) ≡ SMU-1(α = 0, μ = √b).
//
// Stable evaluation (activations.md §2.29): r = hypot(x, √b), which never overflows x² (float32 x²
// overflows above 1.8e19);
//   x ≥ 0:  f = ½x + ½r,           f' = ½(1 + x/r)      (halved before adding: f(FLT_MAX) is finite)
//   x < 0:  f = b/(2(r − x)),      f' = b/(2r(r − x))
// For x ≪ 0 the naive ½(x + r) subtracts two nearly equal numbers and returns 0 (float64, b = 0.2,
// x = −1e8: true 5e−10); the negative-branch forms multiply the conjugate through and have no
// cancellation. backward recomputes r from the saved input x (f' = y/r would need r anyway, and the
// output-only 4y²/(4y² + b) is inf/inf for float32 y > 9e18).
//
// b = 0 is ReLU with its kink at 0 (the only case where kinks() reports one); there the derivative
// follows ReLU/PyTorch: f'(0) = 0 (the formulas above would give 0/0 at x = 0).
#include <cmath>

#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Squareplus final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Squareplus(const Args& a, const BuildContext& c)
      : Elementwise<T>(c), b_(static_cast<T>(a.number("b"))), sqrt_b_(std::sqrt(b_)) {}
  std::string type() const override { return "squareplus"; }
  std::vector<double> kinks() const override {
    if (b_ == T(0)) return {0.0};
    return {};
  }

 protected:
  void f(In x, Out y) const override {
    this->hypot_into(y, x, sqrt_b_);  // y holds r first
    y = (x >= T(0)).select(T(0.5) * x + T(0.5) * y, b_ / (T(2) * (y - x)));
  }

  void df(In x, In, In dy, Out dx) const override {
    if (b_ == T(0)) {  // ReLU
      dx = (x > T(0)).select(dy, T(0));
      return;
    }
    Out& r = dx;  // dx doubles as scratch for r (element-wise, so no aliasing problem)
    this->hypot_into(r, x, sqrt_b_);
    dx = dy * (x >= T(0)).select(T(0.5) * (T(1) + x / r), b_ / (T(2) * r * (r - x)));
  }

 private:
  T b_, sqrt_b_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Squareplus, {.name = "squareplus",
                                  .kind = LayerKind::elementwise,
                                  .summary = "Squareplus (x + sqrt(x^2 + b))/2 (Barron 2021)",
                                  .formula = "y = ½(x + √(x² + b))",
                                  .derivative = "dy/dx = ½(1 + x/r), r = √(x² + b) (b = 0 is ReLU: 0 at x = 0, as PyTorch)",
                                  .params = {number("b", 4.0, "smoothing, >= 0: 0 is ReLU; 4 matches softplus's curvature at 0", 0)},
                                  .stress = {R"({"b": 0})", R"({"b": 1e-30})", R"({"b": 0.2})"},
                                  .reference = {.torch = "torch.where(x >= 0, 0.5 * (x + torch.hypot(x, torch.sqrt(torch.as_tensor(b, dtype=x.dtype)))), "
                                                       "0.5 * b / (torch.hypot(x, torch.sqrt(torch.as_tensor(b, dtype=x.dtype))) - "
                                                       "torch.minimum(x, torch.zeros_like(x))))",
                                                .variants = {{R"({})"},
                                                              {R"({"b": 0.2})", {-1e4}}},
                                                .atol = 1e-30}});

}  // namespace nnlab
