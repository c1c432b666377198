// MaxPool2d — the maximum over sliding windows of each channel, PyTorch nn.MaxPool2d on (N, C, H, W).
//
//   window of output (c, i, j):  rows    h = i·s − p + a·d,  a = 0 .. k − 1
//                                columns w = j·s − p + b·d,  b = 0 .. k − 1      (k kernel, s stride,
//                                                                                 p padding, d dilation)
//   y_cij = max over the window of x_chw          (padding counts as −∞: it is never selected)
//   Ho    = ⌊(H + 2p − d(k − 1) − 1 + (ceil_mode ? s − 1 : 0)) / s⌋ + 1, and with ceil_mode the last
//           window is dropped when it would start in the right padding ((Ho − 1)·s ≥ H + p),
//           PyTorch's pooling_output_shape; the same for Wo.
//
// Backward: y_cij equals one input element x_c,h*,w* (the argmax), so ∂y_cij/∂x_chw = [h,w = h*,w*]
// and
//   dL/dx_chw = Σ_{(i,j) whose argmax is (h,w)} dy_cij
//               (ties: the first maximum of the window, as PyTorch)
// The whole gradient of an output goes to its single argmax; where windows overlap (s < k) one input
// can be the argmax of several outputs and receives the sum of their gradients. max is not
// differentiable where two window elements tie: the convention is PyTorch's CPU kernel's, which
// scans a window row by row (a, then b) and keeps the FIRST maximum (it replaces the running maximum
// only on a strictly larger value), so the gradient goes to that element alone. A NaN wins (it
// replaces the running maximum whatever it holds, so the last NaN of a window is the argmax and y is
// NaN), as in PyTorch. A window of −∞ only returns −∞ with its first element as the argmax.
//
// Forward saves the argmax of every output (its column in the sample's row, one int per output value,
// the buffer sized on the first batch), so backward is a scatter-add of dy. Threads split the batch
// rows; each row's scatter runs in a fixed order, so results do not depend on the thread count.
// PyTorch requires p ≤ k/2 (a window then always holds at least one input element); so does nnlab.
#include <cmath>
#include <string>
#include <limits>
#include <type_traits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

#if defined(__AVX512F__)
// A group of n <= 16 disjoint 2×2 windows along one output row: `out` selects its n outputs, `lo`
// and `hi` its 2n inputs of an input row (the first 16 and the rest).
struct PairMasks {
  __mmask16 out, lo, hi;
};
inline PairMasks pair_masks(Index n) {
  return {static_cast<__mmask16>((1u << n) - 1), static_cast<__mmask16>(n >= 8 ? 0xffffu : (1u << (2 * n)) - 1),
          static_cast<__mmask16>(n > 8 ? (1u << (2 * n - 16)) - 1 : 0u)};
}
// Lane i: 2i, the first input column of window i of the group.
inline __m512i even_columns() { return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30); }
#endif

// PyTorch's pooling_output_shape for one dimension.
Index pooled_size(Index in, Index k, Index s, Index p, Index d, bool ceil_mode) {
  const Index span = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  Index out = span / s + 1;  // span >= 0 once the kernel fits the padded input
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

template <typename T>
class MaxPool2d final : public Layer<T> {
 public:
  MaxPool2d(const Args& a, const BuildContext& c)
      : k_(a.integer("kernel_size")),
        s_(a.integer("stride") == 0 ? k_ : a.integer("stride")),
        p_(a.integer("padding")),
        d_(a.integer("dilation")),
        ceil_(a.boolean("ceil_mode")) {
    if (c.input.rank() != 3)
      throw ShapeError("max_pool2d needs an image input [channels, height, width], got " + c.input.str() +
                       (c.input.rank() == 1 ? " (a feature vector: pool before flatten/dense)" : ""));
    C_ = c.input[0], H_ = c.input[1], W_ = c.input[2];
    if (C_ <= 0 || H_ <= 0 || W_ <= 0) throw ShapeError("max_pool2d needs a non-empty input, got " + c.input.str());
    if (p_ > k_ / 2)
      throw ConfigError("padding " + std::to_string(p_) + " must be at most half of kernel_size " + std::to_string(k_) +
                        " (PyTorch's rule); nearest valid: " + std::to_string(k_ / 2));
    const Index span = d_ * (k_ - 1) + 1;
    if (span > H_ + 2 * p_ || span > W_ + 2 * p_)
      throw ShapeError("max_pool2d: kernel " + std::to_string(k_) + " (dilation " + std::to_string(d_) +
                       ") does not fit the padded input " + std::to_string(H_ + 2 * p_) + "x" +
                       std::to_string(W_ + 2 * p_) + " (input " + c.input.str() + ", padding " + std::to_string(p_) + ")");
    if (c.input.numel() > std::numeric_limits<std::int32_t>::max())
      throw ShapeError("max_pool2d: input " + c.input.str() + " has more values per sample than its int32 argmax can index");
    Ho_ = pooled_size(H_, k_, s_, p_, d_, ceil_);
    Wo_ = pooled_size(W_, k_, s_, p_, d_, ceil_);
    this->set_shapes(c.input, Shape{C_, Ho_, Wo_});
    pairs_ = k_ == 2 && s_ == 2 && p_ == 0 && d_ == 1 && 2 * Ho_ <= H_ && 2 * Wo_ <= W_;
  }

  std::string type() const override { return "max_pool2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    static const std::string where = "max_pool2d";  // once, not a string per batch
    check_input_shape(where, x.rows(), x.cols(), this->in_features());
    const Index N = x.rows();
    y_.resize(N, this->out_features());
    argmax_.resize(N, this->out_features());
    parallel_for_blocks(N, static_cast<double>(N) * flops(), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n)
        if (pairs_) forward_row_2x2(x.row(n).data(), y_.row(n).data(), argmax_.row(n).data());
        else forward_row(x.row(n).data(), y_.row(n).data(), argmax_.row(n).data());
    });
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    static const std::string where = "max_pool2d backward";  // once, not a string per batch
    check_input_shape(where, dy.rows(), dy.cols(), this->out_features());
    if (dy.rows() != argmax_.rows())
      throw ShapeError("max_pool2d backward: gradient has " + std::to_string(dy.rows()) + " rows, the last forward had " +
                       std::to_string(argmax_.rows()));
    if (!this->input_grad()) return dx_;
    const Index N = dy.rows(), outs = this->out_features();
    dx_.resize(N, this->in_features());
    parallel_for_blocks(N, static_cast<double>(N * outs), [&](Index begin, Index end) {
      for (Index n = begin; n < end; ++n) {
        T* dx = dx_.row(n).data();
        const T* g = dy.row(n).data();
        const std::int32_t* am = argmax_.row(n).data();
        if (pairs_ && 2 * Ho_ == H_ && 2 * Wo_ == W_) {
          // Disjoint 2×2 windows tiling the input: every input value belongs to one window, so each
          // window writes its four values (the gradient at its argmax, 0 elsewhere) and nothing
          // needs clearing first.
          for (Index c = 0, o = 0; c < C_; ++c)
            for (Index i = 0; i < Ho_; ++i) {
              Index j = 0;
#if defined(__AVX512F__)
              if constexpr (std::is_same_v<T, float>) j = backward_pairs_avx512(g + o, am + o, c * H_ * W_ + 2 * i * W_, dx);
              o += j;
#endif
              for (; j < Wo_; ++j, ++o) {
                const auto top = static_cast<std::int32_t>(c * H_ * W_ + 2 * i * W_ + 2 * j);
                const auto below = top + static_cast<std::int32_t>(W_);
                dx[top] = am[o] == top ? g[o] : T(0);
                dx[top + 1] = am[o] == top + 1 ? g[o] : T(0);
                dx[below] = am[o] == below ? g[o] : T(0);
                dx[below + 1] = am[o] == below + 1 ? g[o] : T(0);
              }
            }
          continue;
        }
        std::fill(dx, dx + this->in_features(), T(0));
        for (Index o = 0; o < outs; ++o) dx[am[o]] += g[o];
      }
    });
    return dx_;
  }

  // One comparison per window element and output value.
  double flops() const override { return static_cast<double>(this->out_features() * k_ * k_); }

 private:
  // One sample: y and the argmax (a column of the sample's row) of every output value.
  void forward_row(const T* x, T* y, std::int32_t* am) const {
    for (Index c = 0; c < C_; ++c) {
      const T* xc = x + c * H_ * W_;
      const Index base = c * H_ * W_;
      for (Index i = 0; i < Ho_; ++i) {
        Index h0 = i * s_ - p_;
        const Index h1 = std::min(h0 + d_ * (k_ - 1) + 1, H_);
        while (h0 < 0) h0 += d_;
        for (Index j = 0; j < Wo_; ++j) {
          Index w0 = j * s_ - p_;
          const Index w1 = std::min(w0 + d_ * (k_ - 1) + 1, W_);
          while (w0 < 0) w0 += d_;
          // PyTorch's scan: start at the first element in the input, replace on a larger value or a NaN.
          Index best = h0 * W_ + w0;
          T m = -std::numeric_limits<T>::infinity();
          for (Index h = h0; h < h1; h += d_)
            for (Index w = w0; w < w1; w += d_) {
              const T v = xc[h * W_ + w];
              if (v > m || std::isnan(v)) m = v, best = h * W_ + w;
            }
          const Index o = (c * Ho_ + i) * Wo_ + j;
          y[o] = m;
          am[o] = static_cast<std::int32_t>(base + best);
        }
      }
    }
  }

  // The most common pooling, 2×2 windows with stride 2 inside the image, as the same scan unrolled:
  // running maximum and argmax updated with selects (no data-dependent branches), four loads per
  // output. Same results as forward_row, bit for bit (the tests compare both on ties and NaNs).
  void forward_row_2x2(const T* x, T* y, std::int32_t* am) const {
    for (Index c = 0; c < C_; ++c)
      for (Index i = 0; i < Ho_; ++i) {
        const Index top = c * H_ * W_ + 2 * i * W_;  // column of the window row a = 0 in the sample row
        const T* r0 = x + top;
        const T* r1 = r0 + W_;
        T* yo = y + (c * Ho_ + i) * Wo_;
        std::int32_t* ao = am + (c * Ho_ + i) * Wo_;
        Index j = 0;
#if defined(__AVX512F__)
        if constexpr (std::is_same_v<T, float>) j = forward_pairs_avx512(r0, r1, top, yo, ao);
#endif
        for (; j < Wo_; ++j) {
          const auto at = static_cast<std::int32_t>(top + 2 * j);
          T m = r0[2 * j];
          std::int32_t best = at;
          const auto take = [&](T v, std::int32_t where) {
            const bool larger = v > m || v != v;  // v != v: NaN (std::isnan is not always inlined)
            m = larger ? v : m;
            best = larger ? where : best;
          };
          take(r0[2 * j + 1], at + 1);
          take(r1[2 * j], at + static_cast<std::int32_t>(W_));
          take(r1[2 * j + 1], at + static_cast<std::int32_t>(W_) + 1);
          yo[j] = m;
          ao[j] = best;
        }
      }
  }

#if defined(__AVX512F__)
  // 16 windows of one output row at a time: the even and odd columns of both input rows
  // deinterleaved, then the same scan with masks (larger, or a NaN), the last partial group with
  // masked loads and stores. Returns the number of outputs done (all of them).
  Index forward_pairs_avx512(const float* r0, const float* r1, Index top, float* yo, std::int32_t* ao) const {
    const __m512i even = even_columns();
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i below = _mm512_set1_epi32(static_cast<std::int32_t>(W_));
    for (Index j = 0; j < Wo_; j += 16) {
      const auto [out, lo, hi] = pair_masks(std::min<Index>(16, Wo_ - j));
      const float* a0 = r0 + 2 * j;
      const float* a1 = r1 + 2 * j;
      const __m512 x0l = _mm512_maskz_loadu_ps(lo, a0), x0h = _mm512_maskz_loadu_ps(hi, a0 + 16);
      const __m512 x1l = _mm512_maskz_loadu_ps(lo, a1), x1h = _mm512_maskz_loadu_ps(hi, a1 + 16);
      const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<std::int32_t>(top + 2 * j)), even);
      __m512 m = _mm512_permutex2var_ps(x0l, even, x0h);
      __m512i best = at;
      const auto take = [&](__m512 v, __m512i where) {
        const __mmask16 larger = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, larger, v);
        best = _mm512_mask_mov_epi32(best, larger, where);
      };
      const __m512i at1 = _mm512_add_epi32(at, _mm512_set1_epi32(1));
      take(_mm512_permutex2var_ps(x0l, odd, x0h), at1);
      take(_mm512_permutex2var_ps(x1l, even, x1h), _mm512_add_epi32(at, below));
      take(_mm512_permutex2var_ps(x1l, odd, x1h), _mm512_add_epi32(at1, below));
      _mm512_mask_storeu_ps(yo + j, out, m);
      _mm512_mask_storeu_epi32(ao + j, out, best);
    }
    return Wo_;
  }

  // The backward of one output row of disjoint 2×2 windows (the input tiled by them), 16 windows at a
  // time: each window's four gradient values (dy at its argmax, 0 elsewhere), interleaved back into
  // the two input rows. g and am point at the row's first output, top is its window row a = 0.
  Index backward_pairs_avx512(const float* g, const std::int32_t* am, Index top, float* dx) const {
    const __m512i even = even_columns();
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_add_epi32(first, _mm512_set1_epi32(8));
    const __m512i one = _mm512_set1_epi32(1), below = _mm512_set1_epi32(static_cast<std::int32_t>(W_));
    for (Index j = 0; j < Wo_; j += 16) {
      const auto [out, lo, hi] = pair_masks(std::min<Index>(16, Wo_ - j));
      const __m512 gv = _mm512_maskz_loadu_ps(out, g + j);
      const __m512i a = _mm512_maskz_loadu_epi32(out, am + j);
      const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<std::int32_t>(top + 2 * j)), even);
      const __m512i at_below = _mm512_add_epi32(at, below);
      const auto to = [&](__m512i where) { return _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(a, where), gv); };
      const __m512 d00 = to(at), d01 = to(_mm512_add_epi32(at, one));
      const __m512 d10 = to(at_below), d11 = to(_mm512_add_epi32(at_below, one));
      float* x0 = dx + top + 2 * j;
      float* x1 = x0 + W_;
      _mm512_mask_storeu_ps(x0, lo, _mm512_permutex2var_ps(d00, first, d01));
      _mm512_mask_storeu_ps(x0 + 16, hi, _mm512_permutex2var_ps(d00, second, d01));
      _mm512_mask_storeu_ps(x1, lo, _mm512_permutex2var_ps(d10, first, d11));
      _mm512_mask_storeu_ps(x1 + 16, hi, _mm512_permutex2var_ps(d10, second, d11));
    }
    return Wo_;
  }
#endif

  Index k_, s_, p_, d_;
  bool ceil_;
  bool pairs_ = false;  // 2×2 windows, stride 2, no padding or dilation: forward_row_2x2
  Index C_ = 0, H_ = 0, W_ = 0, Ho_ = 0, Wo_ = 0;
  Mat<T> y_, dx_;
  Mat<std::int32_t> argmax_;  // per output value: the column of its argmax in the input row
};

}  // namespace

NNLAB_REGISTER_LAYER(MaxPool2d, {.name = "max_pool2d",
                                 .kind = LayerKind::layer,
                                 .summary = "Maximum over k x k windows of each channel (PyTorch nn.MaxPool2d); the gradient goes to " "the first maximum of each window",
                                 .formula = "y_cij = max over the window of x_chw",
                                 .derivative = "dL/dx_chw = Σ_{(i,j) whose argmax is (h,w)} dy_cij (ties: the first maximum of the window, as PyTorch)",
                                 .params = {required_integer("kernel_size", "window height and width"),
                                            integer("stride", 0, "step between windows; 0 = kernel_size", 0),
                                            integer("padding", 0, "implicit -inf border on each side (<= kernel_size/2)", 0),
                                            integer("dilation", 1, "spacing between window elements", 1),
                                            boolean("ceil_mode", false, "round the output size up (a last partial window)")}});

}  // namespace nnlab
