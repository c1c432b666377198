// Hardtanh — clipped identity, PyTorch nn.Hardtanh(min_val=-1.0, max_val=1.0).
//
//   y     = clamp(x, min_val, max_val)
//   dy/dx = 1 if min_val < x < max_val, else 0 (0 at both bounds, as PyTorch)
//
// Backward uses the saved input x (the open-interval test).
//
// Range [min_val, max_val]; piecewise linear, so the gradient is exactly 1 or 0 (no vanishing inside,
// none at all outside). Kinks at min_val and max_val: PyTorch tests the open interval, so the
// gradient is 0 at both bounds; we do the same. min_val < max_val is required (ConfigError otherwise).
//
// Stability: only comparisons and copies, exact for every input; NaN propagates (as in PyTorch's
// clamp): the clamp is written as two selects, and NaN fails both comparisons.
#include "activations/elementwise.hpp"

namespace nnlab {
namespace {

template <typename T>
class Hardtanh final : public Elementwise<T> {
 public:
  using typename Elementwise<T>::In;
  using typename Elementwise<T>::Out;
  Hardtanh(const Args& a, const BuildContext& c)
      : Elementwise<T>(c), lo_(a.number("min_val")), hi_(a.number("max_val")) {
    if (!(lo_ < hi_))
      throw ConfigError("min_val (" + to_string(Value{lo_}) + ") must be less than max_val (" +
                        to_string(Value{hi_}) + ")");
  }
  std::string type() const override { return "hardtanh"; }
  std::vector<double> kinks() const override { return {lo_, hi_}; }

 protected:
  void f(In x, Out y) const override {
    y = (x < T(lo_)).select(T(lo_), (x > T(hi_)).select(T(hi_), x));  // NaN fails both tests: stays NaN
  }
  void df(In x, In, In dy, Out dx) const override { dx = (x > T(lo_) && x < T(hi_)).select(dy, T(0)); }

 private:
  double lo_, hi_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Hardtanh, {.name = "hardtanh",
                                .kind = LayerKind::elementwise,
                                .summary = "Clamp to [min_val, max_val]",
                                .formula = "y = clamp(x, min_val, max_val)",
                                .derivative = "dy/dx = 1 if min_val < x < max_val, else 0 (0 at both bounds, as PyTorch)",
                                .params = {number("min_val", -1.0, "lower bound (must be < max_val)"),
                                           number("max_val", 1.0, "upper bound (must be > min_val)")},
                                // 2^100 is exact in float32 and float64: both precisions put the kinks at the same x.
                                .stress = {R"({"min_val": -1.2676506002282294e30, "max_val": 1.2676506002282294e30})"},
                                .reference = {.torch = "F.hardtanh(x, min_val, max_val)",
                                              .variants = {{R"({})"},
                                                            {R"({"min_val": -2, "max_val": 3})", {-2, 2}}}}});

}  // namespace nnlab
