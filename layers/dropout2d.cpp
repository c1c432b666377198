// Dropout2d — channel dropout, PyTorch nn.Dropout2d (Tompson et al. 2015): whole feature maps are
// zeroed, because neighbouring pixels of a map are so correlated that element-wise dropout would
// barely regularise a convolutional layer.
//
//   training:  m_nc ~ Bernoulli(1 − p), one draw per (sample n, channel c),  s = 1 / (1 − p)
//              y_nchw = x_nchw · m_nc · s        (a kept channel is scaled up, so E[y] = x)
//   eval:      y = x
//
//   backward:  ∂y_nchw/∂x_nchw = m_nc · s, so dx_nchw = dy_nchw · m_nc · s with the mask of the last
//              forward; in eval dx = dy.
//
//   In one line: y_nchw = x_nchw · m_nc · s while training (m_nc ~ Bernoulli(1 − p), s = 1/(1 − p)),
//   y = x in eval;  dL/dx_nchw = dy_nchw · m_nc · s while training (the mask of the last forward),
//   dL/dx = dy in eval
//
// p ∈ [0, 1) as for dropout (p = 1 is rejected; p = 0 is the identity and draws nothing). The kept
// value is x · T(1/(1−p)), PyTorch's product, so kept channels agree with PyTorch bit for bit.
//
// Randomness: the layer owns one xoshiro stream, Rng(seed, stream_id("dropout2d", index)), drawing one
// uniform u per (sample, channel) in row-major order (n, then c) and keeping the channel when u ≥ p;
// rng_state()/set_rng_state() expose the 4 xoshiro words for checkpoints (as layers/dropout.cpp).
// The draws are sequential (N·C of them, cheap); applying the mask splits the batch rows over threads.
#include <cmath>
#include <string>

#include "core/parallel.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"

namespace nnlab {
namespace {

template <typename T>
class Dropout2d final : public Layer<T> {
 public:
  Dropout2d(const Args& a, const BuildContext& c)
      : p_(a.number("p")),
        scale_(static_cast<T>(1.0 / (1.0 - p_))),
        rng_(c.seed, Rng::stream_id("dropout2d", static_cast<std::uint64_t>(c.index))) {
    if (!(p_ < 1.0))
      throw ConfigError("p must be < 1 (p = 1 drops every channel and the 1/(1-p) scale is infinite), got " +
                        to_string(Value{p_}));
    if (c.input.rank() != 3)
      throw ShapeError("dropout2d needs an image input [channels, height, width], got " + c.input.str() +
                       (c.input.rank() == 1 ? " (a feature vector: use dropout)" : ""));
    C_ = c.input[0], HW_ = c.input[1] * c.input[2];
    if (C_ <= 0 || HW_ <= 0) throw ShapeError("dropout2d needs a non-empty input, got " + c.input.str());
    this->set_shapes(c.input, c.input);
  }

  std::string type() const override { return "dropout2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool training) override {
    static const std::string where = "dropout2d";  // once, not a string per batch
    check_input_shape(where, x.rows(), x.cols(), this->in_features());
    masked_ = training && p_ > 0.0;
    if (!masked_) {
      y_ = x;
      return y_;
    }
    const Index N = x.rows();
    mask_.resize(N, C_);
    auto m = flat(mask_);
    for (Index i = 0; i < m.size(); ++i) m[i] = rng_.uniform() >= p_ ? scale_ : T(0);
    y_.resize(N, x.cols());
    apply(x, y_);
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    static const std::string where = "dropout2d backward";  // once, not a string per batch
    check_input_shape(where, dy.rows(), dy.cols(), this->in_features());
    if (!masked_) {
      dx_ = dy;
      return dx_;
    }
    if (dy.rows() != mask_.rows())
      throw ShapeError("dropout2d backward: gradient has " + std::to_string(dy.rows()) + " rows, the last forward had " +
                       std::to_string(mask_.rows()));
    dx_.resize(dy.rows(), dy.cols());
    apply(dy, dx_);
    return dx_;
  }

  // One multiplication per value.
  double flops() const override { return static_cast<double>(this->in_features()); }

  std::vector<std::uint64_t> rng_state() const override {
    const Rng::State s = rng_.state();
    return {s.begin(), s.end()};
  }

  void set_rng_state(const std::vector<std::uint64_t>& state) override {
    Rng::State s{};
    if (state.size() != s.size())
      throw CheckpointError("dropout2d: random state has " + std::to_string(state.size()) + " words, expected " +
                            std::to_string(s.size()));
    if (state == std::vector<std::uint64_t>(s.size(), 0))
      throw CheckpointError("dropout2d: random state is all zeros (not a valid xoshiro state)");
    std::copy(state.begin(), state.end(), s.begin());
    rng_.set_state(s);
  }

 private:
  // out_nc = in_nc · m_nc for every channel block (contiguous H·W values) of every row.
  void apply(const Mat<T>& in, Mat<T>& out) const {
    parallel_for_blocks(in.rows(), static_cast<double>(in.size()), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n)
        for (Index c = 0; c < C_; ++c) out.row(n).segment(c * HW_, HW_) = in.row(n).segment(c * HW_, HW_) * mask_(n, c);
    });
  }

  double p_;
  T scale_;
  Rng rng_;
  Index C_ = 0, HW_ = 0;
  bool masked_ = false;   // whether the last forward applied a mask (training with p > 0)
  Mat<T> mask_, y_, dx_;  // mask_ (N, C) holds m_nc · s: 0 or 1/(1−p)
};

}  // namespace

NNLAB_REGISTER_LAYER(Dropout2d, {.name = "dropout2d",
                                 .kind = LayerKind::layer,
                                 .summary = "Channel dropout: zero each whole channel with probability p while training, scale the " "rest by 1/(1-p); identity in eval (PyTorch nn.Dropout2d)",
                                 .formula = "y_nchw = x_nchw · m_nc · s while training (m_nc ~ Bernoulli(1 − p), s = 1/(1 − p)), y = x in eval",
                                 .derivative = "dL/dx_nchw = dy_nchw · m_nc · s while training (the mask of the last forward), dL/dx = dy in eval",
                                 .params = {number("p", 0.5, "probability of zeroing a channel (0 <= p < 1)", 0.0, 1.0)}});

}  // namespace nnlab
