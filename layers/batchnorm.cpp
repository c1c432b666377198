// BatchNorm — batch normalisation over the batch dimension, PyTorch nn.BatchNorm1d on (N, F) input
// (Ioffe & Szegedy 2015). Every feature column j is normalised on its own:
//
//   training:  μ_j  = (1/N) Σ_n x_nj                       batch mean
//              v_j  = (1/N) Σ_n (x_nj − μ_j)²              biased batch variance (used to normalise)
//              σ_j  = √(v_j + ε)
//              x̂_nj = (x_nj − μ_j) / σ_j
//              y_nj = γ_j x̂_nj + β_j                       γ = "weight" (init 1), β = "bias" (init 0)
//   running statistics (buffers, updated by every training forward, PyTorch's momentum convention):
//              running_mean ← (1 − m) running_mean + m μ
//              running_var  ← (1 − m) running_var  + m v·N/(N − 1)      (UNBIASED batch variance)
//              num_batches_tracked ← num_batches_tracked + 1
//   eval:      x̂_nj = (x_nj − running_mean_j) / √(running_var_j + ε),   y = γ x̂ + β
//
// Backward, training mode (the batch statistics depend on x, so every x_kj of a column reaches every
// y_nj of that column). With g_n = dy_n·γ = ∂L/∂x̂_n for one column (index j dropped):
//
//   ∂x̂_n/∂x_k = (δ_nk − 1/N)/σ − (x_n − μ)/σ² · ∂σ/∂x_k,
//   ∂σ/∂x_k   = (1/2σ) ∂v/∂x_k = (1/2σ)(2/N)(x_k − μ) = x̂_k/N          (Σ_n (x_n − μ) = 0 kills the μ term)
//   so ∂x̂_n/∂x_k = (1/σ)(δ_nk − 1/N − x̂_n x̂_k / N), and
//   dx_k = Σ_n g_n ∂x̂_n/∂x_k = (1/(Nσ)) (N g_k − Σ_n g_n − x̂_k Σ_n g_n x̂_n)
//        = (γ/(Nσ)) (N dy_k − Σ_n dy_n − x̂_k Σ_n dy_n x̂_n).
//   dγ = Σ_n dy_n x̂_n,   dβ = Σ_n dy_n          (both modes)
//
// Backward, eval mode: running statistics are constants, so y is affine in x:
//   dx_n = dy_n · γ / √(running_var + ε).
//
// In one line each (column j, both modes):
//   y_nj = γ_j x̂_nj + β_j, x̂_nj = (x_nj − μ_j)/σ_j, σ_j = √(v_j + ε): the batch mean and biased
//   variance of column j while training, running_mean_j and running_var_j in eval
//   dL/dx_nj = (γ_j/(Nσ_j)) (N dy_nj − Σ_m dy_mj − x̂_nj Σ_m dy_mj x̂_mj) while training,
//   dy_nj · γ_j / √(running_var_j + ε) in eval; dL/dγ_j = Σ_n dy_nj x̂_nj; dL/dβ_j = Σ_n dy_nj
//
// Training needs N > 1 (one value per column has no variance, and N/(N − 1) is undefined): N = 1
// throws, as PyTorch does ("Expected more than 1 value per channel when training").
// Precision: the mean and variance are computed in two passes (mean first, then squared deviations),
// which stays accurate when a column's mean is large beside its spread; statistics, x̂ and the backward
// sums are evaluated in double even for float layers (PyTorch's CPU kernel also accumulates in double),
// and only results are rounded to float; 1/σ uses IEEE sqrt and division (not Eigen's approximate
// rsqrt), so nothing depends on the SIMD level.
//
// State: parameters "weight" {F} and "bias" {F} (weight decay applies, as in PyTorch's defaults);
// buffers "running_mean" {F} (init 0), "running_var" {F} (init 1) and "num_batches_tracked" {}
// (PyTorch's state_dict keys and shapes; nnlab keeps the count as a float, exact up to 2^24 batches in
// float32, and uses it only so the checkpoint holds what PyTorch's does). affine = false drops γ and
// β (y = x̂). momentum = None (cumulative averages) and track_running_stats = false are not offered.
#include <cmath>

#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class BatchNorm final : public Layer<T> {
 public:
  BatchNorm(const Args& a, const BuildContext& c)
      : n_(c.in_features()), eps_(a.number("eps")), momentum_(a.number("momentum")), affine_(a.boolean("affine")) {
    if (a.integer("num_features") != 0 && a.integer("num_features") != n_)
      throw ShapeError("num_features is " + std::to_string(a.integer("num_features")) + " but the input has " +
                       std::to_string(n_) + " features");
    if (n_ <= 0) throw ShapeError("batchnorm needs a positive input width, got " + std::to_string(n_));
    this->set_shapes(c.input, c.input);
    if (!(eps_ > 0.0)) throw ConfigError("eps must be > 0 (it keeps 1/sqrt(var + eps) finite), got " + to_string(Value{eps_}));
    if (affine_) {
      gamma_.setOnes(1, n_), dgamma_.setZero(1, n_);
      beta_.setZero(1, n_), dbeta_.setZero(1, n_);
    }
    running_mean_.setZero(1, n_);
    running_var_.setOnes(1, n_);
    num_batches_.setZero(1, 1);
  }

  std::string type() const override { return "batchnorm"; }

  const Mat<T>& forward(const Mat<T>& x, bool training) override {
    check_input_shape("batchnorm", x.rows(), x.cols(), n_);
    const Index N = x.rows();
    trained_ = training;
    xhat_.resize(N, n_);
    if (training) {
      if (N < 2)
        throw ShapeError("batchnorm: expected more than 1 value per channel when training, got a batch of " +
                         std::to_string(N) + " (use a batch of at least 2, or eval mode)");
      const auto xa = x.template cast<Acc>();
      const RowA mean = xa.colwise().sum() / Acc(N);
      const RowA var = (xa.rowwise() - mean).array().square().colwise().sum() / Acc(N);
      const RowA invstd = Acc(1) / (var.array() + eps_).sqrt();
      xhat_ = ((xa.rowwise() - mean).array().rowwise() * invstd.array()).template cast<T>();
      invstd_ = invstd;
      const Acc m = momentum_;
      running_mean_ = ((1 - m) * running_mean_.template cast<Acc>() + m * mean).template cast<T>();
      running_var_ = ((1 - m) * running_var_.template cast<Acc>() + m * var * (Acc(N) / Acc(N - 1))).template cast<T>();
      num_batches_(0, 0) += T(1);
    } else {
      const RowA invstd = Acc(1) / (running_var_.template cast<Acc>().array() + eps_).sqrt();
      xhat_ = ((x.template cast<Acc>().rowwise() - running_mean_.template cast<Acc>().row(0)).array().rowwise() *
               invstd.array())
                  .template cast<T>();
      invstd_ = invstd;
    }
    if (!affine_) return xhat_;
    y_.resize(N, n_);
    y_.array() = (xhat_.array().rowwise() * gamma_.array().row(0)).rowwise() + beta_.array().row(0);
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("batchnorm backward", dy.rows(), dy.cols(), n_);
    if (dy.rows() != xhat_.rows())
      throw ShapeError("batchnorm backward: gradient has " + std::to_string(dy.rows()) + " rows, the last forward had " +
                       std::to_string(xhat_.rows()));
    const Index N = dy.rows();
    const auto dya = dy.template cast<Acc>();
    const auto xha = xhat_.template cast<Acc>();
    const RowA sum_dy = dya.colwise().sum();
    const RowA sum_dy_xhat = (dya.array() * xha.array()).colwise().sum();
    if (affine_) dgamma_ = sum_dy_xhat.template cast<T>(), dbeta_ = sum_dy.template cast<T>();
    // Per-column factor γ/σ (training divides it by N as well).
    RowA k = invstd_;
    if (affine_) k.array() *= gamma_.template cast<Acc>().array().row(0);
    dx_.resize(N, n_);
    if (trained_) {
      k /= Acc(N);
      dx_ = ((((dya.array() * Acc(N)).rowwise() - sum_dy.array()) - (xha.array().rowwise() * sum_dy_xhat.array()))
                 .rowwise() *
             k.array())
                .template cast<T>();
    } else {
      dx_ = (dya.array().rowwise() * k.array()).template cast<T>();
    }
    return dx_;
  }

  std::vector<Param<T>> parameters() override {
    if (!affine_) return {};
    return {{"weight", &gamma_, &dgamma_, {n_}, true}, {"bias", &beta_, &dbeta_, {n_}, true}};
  }

  std::vector<Buffer<T>> buffers() override {
    return {{"running_mean", &running_mean_, {n_}},
            {"running_var", &running_var_, {n_}, /*min=*/0.0},
            {"num_batches_tracked", &num_batches_, {}, /*min=*/0.0, /*integral=*/true}};
  }

 private:
  // Statistics, sums and the formulas run in double also for float layers (as PyTorch's CPU kernel
  // accumulates float batches in double): a float32 sum of 128 values near 50 alone would cost ~3 of
  // float's 7 digits of x − μ. Only the stored tensors are T.
  using Acc = double;
  using RowA = Eigen::Matrix<Acc, 1, Eigen::Dynamic>;

  Index n_;
  double eps_, momentum_;
  bool affine_;
  bool trained_ = false;  // mode of the last forward (selects the backward formula)
  Mat<T> gamma_, dgamma_, beta_, dbeta_;
  Mat<T> running_mean_, running_var_, num_batches_;
  RowA invstd_;           // 1/σ per column, from the last forward
  Mat<T> xhat_, y_, dx_;  // x̂ of the last forward (also the output when affine = false)
};

}  // namespace

NNLAB_REGISTER_LAYER(BatchNorm, {.name = "batchnorm",
                                 .kind = LayerKind::layer,
                                 .summary = "Batch normalisation per feature with learnable scale/shift and running statistics " "(PyTorch nn.BatchNorm1d)",
                                 .formula = "y_nj = γ_j x̂_nj + β_j, x̂_nj = (x_nj − μ_j)/σ_j, σ_j = √(v_j + ε): "
                                            "the batch mean and biased variance of column j while training, "
                                            "running_mean_j and running_var_j in eval",
                                 .derivative = "dL/dx_nj = (γ_j/(Nσ_j)) (N dy_nj − Σ_m dy_mj − x̂_nj Σ_m dy_mj x̂_mj) while training, "
                                               "dy_nj · γ_j / √(running_var_j + ε) in eval; "
                                               "dL/dγ_j = Σ_n dy_nj x̂_nj; dL/dβ_j = Σ_n dy_nj",
                                 .params = {input_width("num_features", "input width; 0 = inferred from the previous layer"),
                                            number("eps", 1e-5, "added to the variance before the square root (> 0)"),
                                            number("momentum", 0.1, "weight of the new batch in the running statistics", 0.0, 1.0),
                                            boolean("affine", true, "learnable per-feature scale (weight) and shift (bias)")}});

}  // namespace nnlab
