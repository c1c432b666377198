// AdaptiveAvgPool2d — the mean over an out × out grid of windows that tile each channel, whatever its
// size, PyTorch nn.AdaptiveAvgPool2d(output_size) on (N, C, H, W). output_size = 1 is global average
// pooling (one mean per channel, the usual head of a CNN before its classifier).
//
//   window of output (c, i, j):  rows    h ∈ [⌊i·H/out⌋, ⌈(i + 1)·H/out⌉)
//                                columns w ∈ [⌊j·W/out⌋, ⌈(j + 1)·W/out⌉)      out = output_size
//   y_cij = (1/|window|) Σ_{(h,w) in the window} x_chw
// (PyTorch's start_index/end_index: the windows cover every input element; where out does not divide H
// neighbouring windows overlap by one row, and out > H repeats rows.)
//
// Backward: ∂y_cij/∂x_chw = 1/|window_ij| inside the window, so
//   dL/dx_chw = Σ_{(i,j) whose window holds (h,w)} dy_cij / |window_ij|.
// Global pooling: y_c = (1/(H·W)) Σ x_chw, dx_chw = dy_c / (H·W).
// Window bounds depend only on the shapes and are computed when the layer is built; threads split
// the batch rows.
#include <cmath>
#include <string>
#include <vector>

#include "core/memory.hpp"
#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

struct Window {
  Index begin, end;
};

// PyTorch's start_index = ⌊i·in/out⌋ and end_index = ⌈(i + 1)·in/out⌉.
std::vector<Window> windows(Index in, Index out) {
  std::vector<Window> v;
  for (Index i = 0; i < out; ++i) v.push_back({i * in / out, ((i + 1) * in + out - 1) / out});
  return v;
}

template <typename T>
class AdaptiveAvgPool2d final : public Layer<T> {
 public:
  AdaptiveAvgPool2d(const Args& a, const BuildContext& c) : out_(a.integer("output_size")) {
    if (c.input.rank() != 3)
      throw ShapeError("adaptive_avg_pool2d needs an image input [channels, height, width], got " + c.input.str() +
                       (c.input.rank() == 1 ? " (a feature vector: pool before flatten/dense)" : ""));
    C_ = c.input[0], H_ = c.input[1], W_ = c.input[2];
    if (C_ <= 0 || H_ <= 0 || W_ <= 0)
      throw ShapeError("adaptive_avg_pool2d needs a non-empty input, got " + c.input.str());
    // output_size is unbounded (as in PyTorch; out > H repeats rows): refuse one that cannot fit before
    // anything is allocated (the output and its gradient, per sample).
    check_elements({C_, out_, out_}, 2.0 * sizeof(T),
                   "adaptive_avg_pool2d(output_size " + std::to_string(out_) + ") on " + c.input.str());
    rows_ = windows(H_, out_);
    cols_ = windows(W_, out_);
    this->set_shapes(c.input, Shape{C_, out_, out_});
  }

  std::string type() const override { return "adaptive_avg_pool2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    static const std::string where = "adaptive_avg_pool2d";  // once, not a string per batch
    check_input_shape(where, x.rows(), x.cols(), this->in_features());
    const Index N = x.rows();
    y_.resize(N, this->out_features());
    parallel_for_blocks(N, static_cast<double>(N) * flops(), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n) {
        const T* xr = x.row(n).data();
        T* yr = y_.row(n).data();
        for (Index c = 0; c < C_; ++c)
          for (const Window& r : rows_)
            for (const Window& q : cols_) {
              T sum = 0;
              for (Index h = r.begin; h < r.end; ++h)
                for (Index w = q.begin; w < q.end; ++w) sum += xr[(c * H_ + h) * W_ + w];
              *yr++ = sum / static_cast<T>((r.end - r.begin) * (q.end - q.begin));
            }
      }
    });
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    static const std::string where = "adaptive_avg_pool2d backward";  // once, not a string per batch
    check_input_shape(where, dy.rows(), dy.cols(), this->out_features());
    if (dy.rows() != y_.rows())
      throw ShapeError("adaptive_avg_pool2d backward: gradient has " + std::to_string(dy.rows()) +
                       " rows, the last forward had " + std::to_string(y_.rows()));
    if (!this->input_grad()) return dx_;
    const Index N = dy.rows();
    dx_.resize(N, this->in_features());
    parallel_for_blocks(N, static_cast<double>(N) * flops(), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n) {
        T* dx = dx_.row(n).data();
        const T* g = dy.row(n).data();
        std::fill(dx, dx + this->in_features(), T(0));
        for (Index c = 0; c < C_; ++c)
          for (const Window& r : rows_)
            for (const Window& q : cols_) {
              const T share = *g++ / static_cast<T>((r.end - r.begin) * (q.end - q.begin));
              for (Index h = r.begin; h < r.end; ++h)
                for (Index w = q.begin; w < q.end; ++w) dx[(c * H_ + h) * W_ + w] += share;
            }
      }
    });
    return dx_;
  }

  // One addition per window element of every output value (about C·H·W when out divides H and W).
  double flops() const override {
    double n = 0;
    for (const Window& r : rows_)
      for (const Window& q : cols_) n += static_cast<double>((r.end - r.begin) * (q.end - q.begin));
    return n * static_cast<double>(C_);
  }

 private:
  Index out_;
  Index C_ = 0, H_ = 0, W_ = 0;
  std::vector<Window> rows_, cols_;
  Mat<T> y_, dx_;
};

}  // namespace

NNLAB_REGISTER_LAYER(AdaptiveAvgPool2d, {.name = "adaptive_avg_pool2d",
                                         .kind = LayerKind::layer,
                                         .summary = "Mean over an output_size x output_size grid of windows tiling each channel " "(PyTorch nn.AdaptiveAvgPool2d); 1 = global average pooling",
                                         .formula = "y_cij = (1/|window|) Σ_{(h,w) in the window} x_chw",
                                         .derivative = "dL/dx_chw = Σ_{(i,j) whose window holds (h,w)} dy_cij / |window_ij|",
                                         .params = {integer("output_size", 1, "output height and width (1 = one mean per channel)", 1)}});

}  // namespace nnlab
