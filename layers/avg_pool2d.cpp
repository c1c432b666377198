// AvgPool2d — the mean over sliding windows of each channel, PyTorch nn.AvgPool2d on (N, C, H, W).
//
//   window of output (c, i, j):  rows h ∈ [i·s − p, i·s − p + k),  columns w ∈ [j·s − p, j·s − p + k)
//                                (k = kernel_size, s = stride, p = padding)
//   y_cij = (1/D_ij) Σ_{(h,w) in the window and inside the input} x_chw
//   Ho    = ⌊(H + 2p − k + (ceil_mode ? s − 1 : 0)) / s⌋ + 1, dropping with ceil_mode a last window that
//           would start in the right padding ((Ho − 1)·s ≥ H + p); the same for Wo (PyTorch's rule).
//
// The divisor D_ij, exactly as PyTorch's CPU kernel forms it: clip the window to the PADDED input,
//   h_end = min(i·s − p + k, H + p),  w_end = min(j·s − p + k, W + p),
//   count_include_pad = true:   D = (h_end − (i·s − p)) · (w_end − (j·s − p))    (padding counts, but a
//                                                                                  ceil_mode window running
//                                                                                  past the padded input
//                                                                                  is shorter)
//   count_include_pad = false:  D = the number of window elements inside the input.
//
// Backward: y is linear in x with ∂y_cij/∂x_chw = 1/D_ij for (h, w) in the window, so
//   dL/dx_chw = Σ_{(i,j) whose window holds (h,w)} dy_cij / D_ij
// (overlapping windows, s < k, add up). PyTorch requires p ≤ k/2, so every window holds at least one
// input element and D ≥ 1. The clipped window bounds and divisors depend only on the shapes: they
// are computed once when the layer is built. Threads split the batch rows.
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

// PyTorch's pooling_output_shape for one dimension (dilation 1).
Index pooled_size(Index in, Index k, Index s, Index p, bool ceil_mode) {
  Index out = (in + 2 * p - k + (ceil_mode ? s - 1 : 0)) / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// One output position along one dimension: the window clipped to the input, and its length clipped
// to the padded input (what count_include_pad divides by).
struct Span {
  Index begin, end, padded;
};

std::vector<Span> spans(Index in, Index out, Index k, Index s, Index p) {
  std::vector<Span> v;
  for (Index i = 0; i < out; ++i) {
    const Index b = i * s - p, e = std::min(b + k, in + p);
    v.push_back({std::max<Index>(b, 0), std::min(e, in), e - b});
  }
  return v;
}

template <typename T>
class AvgPool2d final : public Layer<T> {
 public:
  AvgPool2d(const Args& a, const BuildContext& c)
      : k_(a.integer("kernel_size")),
        s_(a.integer("stride") == 0 ? k_ : a.integer("stride")),
        p_(a.integer("padding")),
        ceil_(a.boolean("ceil_mode")),
        include_pad_(a.boolean("count_include_pad")) {
    if (c.input.rank() != 3)
      throw ShapeError("avg_pool2d needs an image input [channels, height, width], got " + c.input.str() +
                       (c.input.rank() == 1 ? " (a feature vector: pool before flatten/dense)" : ""));
    C_ = c.input[0], H_ = c.input[1], W_ = c.input[2];
    if (C_ <= 0 || H_ <= 0 || W_ <= 0) throw ShapeError("avg_pool2d needs a non-empty input, got " + c.input.str());
    if (p_ > k_ / 2)
      throw ConfigError("padding " + std::to_string(p_) + " must be at most half of kernel_size " + std::to_string(k_) +
                        " (PyTorch's rule); nearest valid: " + std::to_string(k_ / 2));
    if (k_ > H_ + 2 * p_ || k_ > W_ + 2 * p_)
      throw ShapeError("avg_pool2d: kernel " + std::to_string(k_) + " does not fit the padded input " +
                       std::to_string(H_ + 2 * p_) + "x" + std::to_string(W_ + 2 * p_) + " (input " + c.input.str() +
                       ", padding " + std::to_string(p_) + ")");
    const Index Ho = pooled_size(H_, k_, s_, p_, ceil_), Wo = pooled_size(W_, k_, s_, p_, ceil_);
    rows_ = spans(H_, Ho, k_, s_, p_);
    cols_ = spans(W_, Wo, k_, s_, p_);
    this->set_shapes(c.input, Shape{C_, Ho, Wo});
  }

  std::string type() const override { return "avg_pool2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    static const std::string where = "avg_pool2d";  // once, not a string per batch
    check_input_shape(where, x.rows(), x.cols(), this->in_features());
    const Index N = x.rows();
    y_.resize(N, this->out_features());
    parallel_for_blocks(N, static_cast<double>(N) * flops(), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n) {
        const T* xr = x.row(n).data();
        T* yr = y_.row(n).data();
        for (Index c = 0; c < C_; ++c)
          for (std::size_t i = 0; i < rows_.size(); ++i)
            for (std::size_t j = 0; j < cols_.size(); ++j) {
              const Span &r = rows_[i], &q = cols_[j];
              T sum = 0;
              for (Index h = r.begin; h < r.end; ++h)
                for (Index w = q.begin; w < q.end; ++w) sum += xr[(c * H_ + h) * W_ + w];
              *yr++ = sum / divisor(r, q);
            }
      }
    });
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    static const std::string where = "avg_pool2d backward";  // once, not a string per batch
    check_input_shape(where, dy.rows(), dy.cols(), this->out_features());
    if (dy.rows() != y_.rows())
      throw ShapeError("avg_pool2d backward: gradient has " + std::to_string(dy.rows()) + " rows, the last forward had " +
                       std::to_string(y_.rows()));
    if (!this->input_grad()) return dx_;
    const Index N = dy.rows();
    dx_.resize(N, this->in_features());
    parallel_for_blocks(N, static_cast<double>(N) * flops(), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n) {
        T* dx = dx_.row(n).data();
        const T* g = dy.row(n).data();
        std::fill(dx, dx + this->in_features(), T(0));
        for (Index c = 0; c < C_; ++c)
          for (std::size_t i = 0; i < rows_.size(); ++i)
            for (std::size_t j = 0; j < cols_.size(); ++j) {
              const Span &r = rows_[i], &q = cols_[j];
              const T share = *g++ / divisor(r, q);
              for (Index h = r.begin; h < r.end; ++h)
                for (Index w = q.begin; w < q.end; ++w) dx[(c * H_ + h) * W_ + w] += share;
            }
      }
    });
    return dx_;
  }

  // One addition per window element and output value.
  double flops() const override { return static_cast<double>(this->out_features() * k_ * k_); }

 private:
  T divisor(const Span& r, const Span& q) const {
    return static_cast<T>(include_pad_ ? r.padded * q.padded : (r.end - r.begin) * (q.end - q.begin));
  }

  Index k_, s_, p_;
  bool ceil_, include_pad_;
  Index C_ = 0, H_ = 0, W_ = 0;
  std::vector<Span> rows_, cols_;  // per output row / column: its window (clipped) and padded length
  Mat<T> y_, dx_;
};

}  // namespace

NNLAB_REGISTER_LAYER(AvgPool2d, {.name = "avg_pool2d",
                                 .kind = LayerKind::layer,
                                 .summary = "Mean over k x k windows of each channel (PyTorch nn.AvgPool2d)",
                                 .formula = "y_cij = (1/D_ij) Σ_{(h,w) in the window and inside the input} x_chw",
                                 .derivative = "dL/dx_chw = Σ_{(i,j) whose window holds (h,w)} dy_cij / D_ij",
                                 .params = {required_integer("kernel_size", "window height and width"),
                                            integer("stride", 0, "step between windows; 0 = kernel_size", 0),
                                            integer("padding", 0, "implicit zero border on each side (<= kernel_size/2)", 0),
                                            boolean("ceil_mode", false, "round the output size up (a last partial window)"),
                                            boolean("count_include_pad", true, "divide by the window size including padding")}});

}  // namespace nnlab
