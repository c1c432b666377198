// Softmax — PyTorch nn.Softmax(dim=1) on (batch, features) rows: one distribution per sample.
//
//   y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j        (over the features of one row)
//   ∂y_i/∂x_j = y_i(δ_ij − y_j)
//   backward (vector-Jacobian product, per row):  dL/dx = y ⊙ (dy − ⟨dy, y⟩)   (needs only the saved y)
//
// Range: each y_i in (0, 1) (exactly 0 or 1 after rounding for far-apart inputs), each row sums to 1.
// Smooth (C^∞) everywhere: it has no non-differentiable point, unlike ReLU, and the tutorial's claim
// otherwise is wrong. Invariant to adding a constant to a row. Not element-wise: every output depends
// on the whole row, so it derives from Layer<T> and its backward needs the whole row too.
//
// Stability: subtracting the row maximum is mandatory. Without it e^1000 = inf and the row
// [1000, 1001, 1002] becomes inf/inf = NaN; with it every exponent is ≤ 0, the largest term is
// e^0 = 1, so the sum lies in [1, F] and never overflows or vanishes. The axis is fixed: rows are
// samples, the normalisation runs over features (normalising over the batch axis by mistake is a
// classic bug, and PyTorch's implicit dim is deprecated for that reason).
//
// A row that is entirely −inf (or contains +inf or NaN) gives NaN, as in PyTorch (−inf − (−inf)):
// there is no distribution to return, and a silent zero row would hide the error upstream.
// Finite inputs always give finite outputs and gradients.
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class Softmax final : public Layer<T> {
 public:
  Softmax(const Args&, const BuildContext& c) : n_(c.in_features()) { this->set_shapes(c.input, c.input); }

  std::string type() const override { return "softmax"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("softmax", x.rows(), x.cols(), n_);
    row_.resize(x.rows());
    y_.resize(x.rows(), x.cols());
    row_ = x.array().rowwise().maxCoeff();                     // m, per row
    y_.array() = (x.array().colwise() - row_).exp();           // e^(x − m) ≤ 1
    row_ = y_.array().rowwise().sum();                         // Σ e^(x − m) ≥ 1
    y_.array().colwise() /= row_;
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("softmax backward", dy.rows(), dy.cols(), n_);
    row_ = (dy.array() * y_.array()).rowwise().sum();          // ⟨dy, y⟩, per row
    dx_.resize(dy.rows(), dy.cols());
    dx_.array() = y_.array() * (dy.array().colwise() - row_);
    return dx_;
  }

 private:
  Index n_;
  Mat<T> y_, dx_;
  Eigen::Array<T, Eigen::Dynamic, 1> row_;  // one number per row (max, sum or ⟨dy, y⟩), reused
};

}  // namespace

NNLAB_REGISTER_LAYER(Softmax, {.name = "softmax",
                               .kind = LayerKind::rowwise,
                               .summary = "Softmax over the features of each sample (PyTorch nn.Softmax(dim=1))",
                               .formula = "y_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max_j x_j",
                               .derivative = "dL/dx = y ⊙ (dy − ⟨dy, y⟩)",
                               .params = {},
                               .reference = {.torch = "F.softmax(x, dim=1)"}});

}  // namespace nnlab
