// LogSoftmax — PyTorch nn.LogSoftmax(dim=1) on (batch, features) rows.
//
//   y_i = x_i − m − log Σ_j e^(x_j − m),   m = max_j x_j        (over the features of one row)
//   ∂y_i/∂x_j = δ_ij − softmax_j
//   backward, per row:  dL/dx = dy − e^y ⊙ Σ_j dy_j            (e^y = softmax; needs only the saved y)
//
// Range (−∞, 0]; log Σ_i e^(y_i) = 0 for every row. Smooth everywhere; invariant to adding a constant
// to a row. Not element-wise (every output depends on the whole row), so it derives from Layer<T>.
// Prefer it (with a negative log-likelihood) to softmax followed by log: that log underflows to
// −inf as soon as a probability rounds to 0, this form does not.
//
// Stability: with the row maximum subtracted the sum is in [1, F], so its log is finite and ≥ 0;
// e^y ≤ 1 in backward. The result x − m is exact up to rounding, so very negative outputs keep full
// accuracy. Limit: y_i = x_i − m itself overflows to −inf in float32 when x_i − m < −FLT_MAX (e.g.
// a row holding both +3e38 and −3e38); the true value is not representable there, and the
// gradient stays finite (e^(−inf) = 0). A row that is entirely −inf gives NaN, as in PyTorch.
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class LogSoftmax final : public Layer<T> {
 public:
  LogSoftmax(const Args&, const BuildContext& c) : n_(c.in_features()) { this->set_shapes(c.input, c.input); }

  std::string type() const override { return "log_softmax"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("log_softmax", x.rows(), x.cols(), n_);
    row_.resize(x.rows());
    y_.resize(x.rows(), x.cols());
    row_ = x.array().rowwise().maxCoeff();                     // m, per row
    y_.array() = x.array().colwise() - row_;                   // x − m ≤ 0
    row_ = y_.array().exp().rowwise().sum().log();             // log Σ e^(x − m) ∈ [0, log F]
    y_.array().colwise() -= row_;
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("log_softmax backward", dy.rows(), dy.cols(), n_);
    row_ = dy.array().rowwise().sum();                         // Σ dy, per row
    dx_.resize(dy.rows(), dy.cols());
    dx_.array() = dy.array() - y_.array().exp().colwise() * row_;
    return dx_;
  }

 private:
  Index n_;
  Mat<T> y_, dx_;
  Eigen::Array<T, Eigen::Dynamic, 1> row_;  // one number per row (max, log-sum or Σ dy), reused
};

}  // namespace

NNLAB_REGISTER_LAYER(LogSoftmax, {.name = "log_softmax",
                                  .kind = LayerKind::rowwise,
                                  .summary = "Log-softmax over the features of each sample (PyTorch nn.LogSoftmax(dim=1))",
                                  .formula = "y_i = x_i − m − log Σ_j e^(x_j − m), m = max_j x_j",
                                  .derivative = "dL/dx = dy − e^y ⊙ Σ_j dy_j",
                                  .params = {},
                                  .reference = {.torch = "F.log_softmax(x, dim=1)"}});

}  // namespace nnlab
