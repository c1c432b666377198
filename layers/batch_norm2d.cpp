// BatchNorm2d — batch normalisation per channel, PyTorch nn.BatchNorm2d on (N, C, H, W) input
// (Ioffe & Szegedy 2015). layers/batchnorm.cpp normalises each feature over the N values of the
// batch; here a channel is one feature seen at H·W positions, so its statistics run over all
// M = N·H·W values x_nchw of channel c (and γ, β are per channel: the same scale at every position):
//
//   training:  μ_c  = (1/M) Σ_{n,h,w} x_nchw                       batch mean of the channel
//              v_c  = (1/M) Σ_{n,h,w} (x_nchw − μ_c)²              biased batch variance
//              σ_c  = √(v_c + ε),   x̂_nchw = (x_nchw − μ_c) / σ_c
//              y_nchw = γ_c x̂_nchw + β_c                          γ = "weight" (init 1), β = "bias" (init 0)
//   running statistics (PyTorch's momentum convention, UNBIASED variance):
//              running_mean ← (1 − m) running_mean + m μ
//              running_var  ← (1 − m) running_var  + m v·M/(M − 1)
//              num_batches_tracked ← num_batches_tracked + 1
//   eval:      x̂ = (x − running_mean_c) / √(running_var_c + ε),   y = γ x̂ + β
//
// Backward: the derivation of layers/batchnorm.cpp with the sum over the batch replaced by the sum
// over the M values of a channel (they are the "batch" of that channel's statistics):
//   training:  dx_nchw = (γ_c/(M σ_c)) (M dy_nchw − Σ dy_c − x̂_nchw Σ (dy ⊙ x̂)_c)
//   eval:      dx_nchw = dy_nchw · γ_c / √(running_var_c + ε)
//   dγ_c = Σ_{n,h,w} dy_nchw x̂_nchw,   dβ_c = Σ_{n,h,w} dy_nchw                  (both modes)
// where Σ dy_c = Σ_{n,h,w} dy_nchw.
//
// In one line each (channel c, both modes):
//   y_nchw = γ_c x̂_nchw + β_c, x̂_nchw = (x_nchw − μ_c)/σ_c, σ_c = √(v_c + ε): the mean and biased
//   variance of channel c over its M = N·H·W values while training, running_mean_c and
//   running_var_c in eval
//   dL/dx_nchw = (γ_c/(M σ_c)) (M dy_nchw − Σ dy_c − x̂_nchw Σ (dy ⊙ x̂)_c) while training,
//   dy_nchw · γ_c / √(running_var_c + ε) in eval; dL/dγ_c = Σ_{n,h,w} dy_nchw x̂_nchw;
//   dL/dβ_c = Σ_{n,h,w} dy_nchw
//
// Training needs M > 1 (PyTorch: "Expected more than 1 value per channel when training"); a single
// 1x1 sample throws. A channel's H·W values are contiguous in every row (c·H·W + h·W + w), so each
// statistic is a sum of N contiguous segments. Threads split the channels (each channel's sums run in
// one fixed order, so results do not depend on the thread count). As in batchnorm.cpp, statistics,
// x̂ and the backward sums are evaluated in double also for float layers, the mean and variance in
// two passes, and 1/σ with IEEE sqrt and division.
//
// State: parameters "weight" {C}, "bias" {C}; buffers "running_mean" {C} (init 0), "running_var" {C}
// (init 1), "num_batches_tracked" {} (PyTorch's state_dict names and shapes). affine = false drops
// γ and β (y = x̂). A feature-vector input is refused: nn.BatchNorm1d is nnlab's `batchnorm`.
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class BatchNorm2d final : public Layer<T> {
 public:
  BatchNorm2d(const Args& a, const BuildContext& c)
      : eps_(a.number("eps")), momentum_(a.number("momentum")), affine_(a.boolean("affine")) {
    if (c.input.rank() != 3)
      throw ShapeError("batch_norm2d needs an image input [channels, height, width], got " + c.input.str() +
                       (c.input.rank() == 1 ? " (a feature vector: use batchnorm)" : ""));
    C_ = c.input[0], HW_ = c.input[1] * c.input[2];
    if (C_ <= 0 || HW_ <= 0) throw ShapeError("batch_norm2d needs a non-empty input, got " + c.input.str());
    if (a.integer("num_features") != 0 && a.integer("num_features") != C_)
      throw ShapeError("batch_norm2d: num_features is " + std::to_string(a.integer("num_features")) + " but the input " +
                       c.input.str() + " has " + std::to_string(C_) + " channels");
    if (!(eps_ > 0.0)) throw ConfigError("eps must be > 0 (it keeps 1/sqrt(var + eps) finite), got " + to_string(Value{eps_}));
    this->set_shapes(c.input, c.input);
    if (affine_) {
      gamma_.setOnes(1, C_), dgamma_.setZero(1, C_);
      beta_.setZero(1, C_), dbeta_.setZero(1, C_);
    }
    running_mean_.setZero(1, C_);
    running_var_.setOnes(1, C_);
    num_batches_.setZero(1, 1);
    invstd_.assign(static_cast<std::size_t>(C_), 0.0);
  }

  std::string type() const override { return "batch_norm2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool training) override {
    static const std::string where = "batch_norm2d";  // once, not a string per batch
    check_input_shape(where, x.rows(), x.cols(), this->in_features());
    const Index N = x.rows();
    const Acc M = static_cast<Acc>(N * HW_);
    trained_ = training;
    if (training && N * HW_ < 2)
      throw ShapeError("batch_norm2d: expected more than 1 value per channel when training, got a batch of " +
                       std::to_string(N) + " sample(s) of " + this->input_shape().str() +
                       " (use a larger batch, or eval mode)");
    xhat_.resize(N, x.cols());
    if (affine_) y_.resize(N, x.cols());
    parallel_for_blocks(C_, static_cast<double>(x.size()) * 4, [&](Index c0, Index c1) {
      for (Index c = c0; c < c1; ++c) {
        const auto ci = static_cast<std::size_t>(c);
        Acc mean, invstd;
        if (training) {
          Acc sum = 0;
          for (Index n = 0; n < N; ++n) sum += segment(x, n, c).template cast<Acc>().sum();
          mean = sum / M;
          Acc sq = 0;
          for (Index n = 0; n < N; ++n) sq += (segment(x, n, c).template cast<Acc>().array() - mean).square().sum();
          const Acc var = sq / M;
          invstd = Acc(1) / std::sqrt(var + eps_);
          const Acc m = momentum_;
          running_mean_(0, c) = static_cast<T>((1 - m) * static_cast<Acc>(running_mean_(0, c)) + m * mean);
          running_var_(0, c) = static_cast<T>((1 - m) * static_cast<Acc>(running_var_(0, c)) + m * var * (M / (M - 1)));
        } else {
          mean = static_cast<Acc>(running_mean_(0, c));
          invstd = Acc(1) / std::sqrt(static_cast<Acc>(running_var_(0, c)) + eps_);
        }
        invstd_[ci] = invstd;
        for (Index n = 0; n < N; ++n) {
          auto xh = segment(xhat_, n, c);
          xh = ((segment(x, n, c).template cast<Acc>().array() - mean) * invstd).template cast<T>().matrix();
          if (affine_) segment(y_, n, c) = (xh.array() * gamma_(0, c) + beta_(0, c)).matrix();
        }
      }
    });
    if (training) num_batches_(0, 0) += T(1);
    return affine_ ? y_ : xhat_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    static const std::string where = "batch_norm2d backward";  // once, not a string per batch
    check_input_shape(where, dy.rows(), dy.cols(), this->in_features());
    if (dy.rows() != xhat_.rows())
      throw ShapeError("batch_norm2d backward: gradient has " + std::to_string(dy.rows()) +
                       " rows, the last forward had " + std::to_string(xhat_.rows()));
    const Index N = dy.rows();
    const Acc M = static_cast<Acc>(N * HW_);
    dx_.resize(N, dy.cols());
    parallel_for_blocks(C_, static_cast<double>(dy.size()) * 6, [&](Index c0, Index c1) {
      for (Index c = c0; c < c1; ++c) {
        Acc sum_dy = 0, sum_dy_xhat = 0;
        for (Index n = 0; n < N; ++n) {
          const auto g = segment(dy, n, c).template cast<Acc>();
          sum_dy += g.sum();
          sum_dy_xhat += (g.array() * segment(xhat_, n, c).template cast<Acc>().array()).sum();
        }
        if (affine_) dgamma_(0, c) = static_cast<T>(sum_dy_xhat), dbeta_(0, c) = static_cast<T>(sum_dy);
        if (!this->input_grad()) continue;
        // Per-channel factor γ/σ (training divides it by M as well).
        Acc k = invstd_[static_cast<std::size_t>(c)] * (affine_ ? static_cast<Acc>(gamma_(0, c)) : Acc(1));
        for (Index n = 0; n < N; ++n) {
          const auto g = segment(dy, n, c).template cast<Acc>().array();
          if (trained_) {
            const auto xh = segment(xhat_, n, c).template cast<Acc>().array();
            segment(dx_, n, c) = ((g * M - sum_dy - xh * sum_dy_xhat) * (k / M)).template cast<T>().matrix();
          } else {
            segment(dx_, n, c) = (g * k).template cast<T>().matrix();
          }
        }
      }
    });
    return dx_;
  }

  // x̂ = (x − μ)·(1/σ) and y = γ x̂ + β: two multiply-adds per value.
  double flops() const override { return 4.0 * static_cast<double>(this->in_features()); }

  std::vector<Param<T>> parameters() override {
    if (!affine_) return {};
    return {{"weight", &gamma_, &dgamma_, {C_}, true}, {"bias", &beta_, &dbeta_, {C_}, true}};
  }

  std::vector<Buffer<T>> buffers() override {
    return {{"running_mean", &running_mean_, {C_}},
            {"running_var", &running_var_, {C_}, /*min=*/0.0},
            {"num_batches_tracked", &num_batches_, {}, /*min=*/0.0, /*integral=*/true}};
  }

 private:
  using Acc = double;  // statistics and sums in double also for float layers (see batchnorm.cpp)

  // The H·W values of channel c in row n.
  auto segment(const Mat<T>& m, Index n, Index c) const { return m.row(n).segment(c * HW_, HW_); }
  auto segment(Mat<T>& m, Index n, Index c) const { return m.row(n).segment(c * HW_, HW_); }

  double eps_, momentum_;
  bool affine_;
  Index C_ = 0, HW_ = 0;
  bool trained_ = false;  // mode of the last forward (selects the backward formula)
  Mat<T> gamma_, dgamma_, beta_, dbeta_;
  Mat<T> running_mean_, running_var_, num_batches_;
  std::vector<Acc> invstd_;  // 1/σ per channel, from the last forward
  Mat<T> xhat_, y_, dx_;            // x̂ of the last forward (also the output when affine = false)
};

}  // namespace

NNLAB_REGISTER_LAYER(BatchNorm2d, {.name = "batch_norm2d",
                                   .kind = LayerKind::layer,
                                   .summary = "Batch normalisation per channel over batch, height and width, with learnable scale/shift " "and running statistics (PyTorch nn.BatchNorm2d)",
                                   .formula = "y_nchw = γ_c x̂_nchw + β_c, x̂_nchw = (x_nchw − μ_c)/σ_c, σ_c = √(v_c + ε): "
                                              "the mean and biased variance of channel c over its M = N·H·W values while training, "
                                              "running_mean_c and running_var_c in eval",
                                   .derivative = "dL/dx_nchw = (γ_c/(M σ_c)) (M dy_nchw − Σ dy_c − x̂_nchw Σ (dy ⊙ x̂)_c) while training, "
                                                 "dy_nchw · γ_c / √(running_var_c + ε) in eval; "
                                                 "dL/dγ_c = Σ_{n,h,w} dy_nchw x̂_nchw; dL/dβ_c = Σ_{n,h,w} dy_nchw",
                                   .params = {input_channels("num_features", "input channels; 0 = inferred from the previous layer"),
                                              number("eps", 1e-5, "added to the variance before the square root (> 0)"),
                                              number("momentum", 0.1, "weight of the new batch in the running statistics", 0.0, 1.0),
                                              boolean("affine", true, "learnable per-channel scale (weight) and shift (bias)")}});

}  // namespace nnlab
