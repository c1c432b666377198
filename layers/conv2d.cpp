// Conv2d — 2-D convolution (cross-correlation), PyTorch nn.Conv2d with zero padding, NCHW.
//
// Shapes (one sample; the batch adds N rows):
//   x: [C, H, W]   W: [F, C/g, K, K]   b: [F]   y: [F, Ho, Wo]
//   Ho = ⌊(H + 2p − d(K − 1) − 1)/s⌋ + 1  (the same for Wo), stride s, padding p, dilation d, groups g
//
//   forward:   y[f, i, j] = b[f] + Σ_{c ∈ group(f)} Σ_{u,v < K} W[f, c, u, v] · x[c, i·s − p + u·d, j·s − p + v·d]
//              (x is 0 outside the image: zero padding)
//
// The im2col view. Lay the receptive field of every output position out as a column:
//   col[(c·K + u)·K + v, i·Wo + j] = x[c, i·s − p + u·d, j·s − p + v·d]       col: (C/g·K·K, Ho·Wo)
// Then one group of the convolution is a matrix product, exactly a Dense layer applied at every
// output position with shared weights:
//   Y_g = W_g · col_g + b_g                       W_g: (F/g, C/g·K·K), rows of W for the group's filters
// and the backward pass is the Dense backward of that product, per sample, summed over the batch:
//   dW_g   = Σ_n dY_g,n · col_g,nᵀ              (F/g, C/g·K·K)
//   db     = Σ_n Σ_{i,j} dy_n[f, i, j]
//   dcol_g = W_gᵀ · dY_g,n                       (C/g·K·K, Ho·Wo), then
//   dx     = col2im(dcol): every column entry is added back to the input pixel it was copied from.
// col2im adds (not assigns) because one pixel sits in up to K·K receptive fields (overlapping
// windows when s < K·d); padding positions have no pixel, and their gradient is dropped.
// Derivation: y is linear in x and in W; ∂y[f,i,j]/∂W[f,c,u,v] = x[c, i·s − p + u·d, j·s − p + v·d]
// = col[(c·K + u)·K + v, i·Wo + j] and ∂y[f,i,j]/∂x[c, h, w] = W[f,c,u,v] for each (u, v) with
// h = i·s − p + u·d, w = j·s − p + v·d: the chain rule sums dy over those, which is col2im(Wᵀ dY).
//
// In one line: dL/dx = col2im(W_gᵀ · dY_g,n) for each sample n and group g;
// dL/dW_g = Σ_n dY_g,n · col_g,nᵀ; dL/db[f] = Σ_n Σ_{i,j} dy_n[f, i, j]
//
// Layout: the weight is stored as an (F, C/g·K·K) row-major matrix, which is PyTorch's contiguous
// [F, C/g, K, K] tensor byte for byte (the safetensors file matches the state_dict). The sample row
// of x is [C, H, W] channel-major and the row of y is [F, Ho, Wo], so Y_g of sample n is a contiguous
// (F/g, Ho·Wo) block of y's row n: the products write straight into the output, no reordering.
//
// Speed: threads split the batch (core/parallel.hpp); each thread owns an im2col buffer and a partial
// dW, sized on the first batch and reused, and the partial dWs are added in block order, so results
// are bit-identical for a fixed thread count. The forward product in float with at least 64 columns
// (C/g·K·K) or 16 filters per group is core/gemm.hpp's packed kernel with im2col writing straight
// into its packed right-hand side (packed_path()); the other products are Eigen's single-threaded GEMM.
// A 1×1 convolution with stride 1 and no padding needs no im2col (col is x itself). As the first
// layer of a model (input_grad off) backward skips dcol and col2im.
//
// Init ("pytorch", PyTorch's default): W, b ~ U(−1/√fan_in, 1/√fan_in), fan_in = C/g·K·K.
#include <algorithm>
#include <memory>
#include <type_traits>

#include "core/gemm.hpp"
#include "core/init.hpp"
#include "core/memory.hpp"
#include "core/parallel.hpp"
#include "core/registry.hpp"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace nnlab {
namespace {

// The row segments of im2col and col2im: n contiguous values copied (out = in), added (out += in)
// or zeroed. The rows are short (14 or 28 values in the shipped configs), too short for the
// compiler's vector loops, which leave most of such a row to their scalar remainder; in float they
// are explicit vectors with a masked tail (a masked-off lane is neither read nor written).
#if defined(__AVX512F__)
constexpr Index kSpanLanes = 16;
inline __mmask16 span_mask(Index n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u); }
#define NNLAB_SPAN_LOAD(m, p) _mm512_maskz_loadu_ps(m, p)
#define NNLAB_SPAN_STORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define NNLAB_SPAN_ADD _mm512_add_ps
#define NNLAB_SPAN_ZERO _mm512_setzero_ps
#elif defined(__AVX2__)
constexpr Index kSpanLanes = 8;
inline __m256i span_mask(Index n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<Index>(n, 8))), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define NNLAB_SPAN_LOAD(m, p) _mm256_maskload_ps(p, m)
#define NNLAB_SPAN_STORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define NNLAB_SPAN_ADD _mm256_add_ps
#define NNLAB_SPAN_ZERO _mm256_setzero_ps
#endif

template <typename T>
inline void copy_span(T* out, const T* in, Index n) {
#if defined(NNLAB_SPAN_LOAD)
  if constexpr (std::is_same_v<T, float>) {
    for (Index j = 0; j < n; j += kSpanLanes) {
      const auto m = span_mask(n - j);
      NNLAB_SPAN_STORE(out + j, m, NNLAB_SPAN_LOAD(m, in + j));
    }
    return;
  }
#endif
  for (Index j = 0; j < n; ++j) out[j] = in[j];
}

template <typename T>
inline void add_span(T* out, const T* in, Index n) {
#if defined(NNLAB_SPAN_LOAD)
  if constexpr (std::is_same_v<T, float>) {
    for (Index j = 0; j < n; j += kSpanLanes) {
      const auto m = span_mask(n - j);
      NNLAB_SPAN_STORE(out + j, m, NNLAB_SPAN_ADD(NNLAB_SPAN_LOAD(m, out + j), NNLAB_SPAN_LOAD(m, in + j)));
    }
    return;
  }
#endif
  for (Index j = 0; j < n; ++j) out[j] += in[j];
}

template <typename T>
inline void zero_span(T* out, Index n) {
#if defined(NNLAB_SPAN_LOAD)
  if constexpr (std::is_same_v<T, float>) {
    for (Index j = 0; j < n; j += kSpanLanes) NNLAB_SPAN_STORE(out + j, span_mask(n - j), NNLAB_SPAN_ZERO());
    return;
  }
#endif
  for (Index j = 0; j < n; ++j) out[j] = T(0);
}

std::string dims(Index h, Index w) { return std::to_string(h) + "x" + std::to_string(w); }

template <typename T>
class Conv2d final : public Layer<T> {
 public:
  Conv2d(const Args& a, const BuildContext& c)
      : f_(a.integer("out_channels")),
        k_(a.integer("kernel_size")),
        s_(a.integer("stride")),
        p_(a.integer("padding")),
        d_(a.integer("dilation")),
        g_(a.integer("groups")),
        has_bias_(a.boolean("bias")) {
    const Shape& in = c.input;
    if (in.rank() != 3)
      throw ShapeError("conv2d needs an image input [channels, height, width], got " + in.str() +
                       (in.rank() == 1 ? " (a feature vector: convolutions go before flatten and dense layers)" : ""));
    c_ = in[0], h_ = in[1], w_ = in[2];
    if (a.integer("in_channels") != 0 && a.integer("in_channels") != c_)
      throw ShapeError("in_channels is " + std::to_string(a.integer("in_channels")) + " but the input " + in.str() +
                       " has " + std::to_string(c_) + " channels");
    if (c_ % g_ != 0 || f_ % g_ != 0)
      throw ConfigError("groups " + std::to_string(g_) + " must divide both in_channels " + std::to_string(c_) +
                        " and out_channels " + std::to_string(f_) + " (each group convolves C/groups input channels into " +
                        "F/groups outputs)" + nearest_groups());
    const Index span = d_ * (k_ - 1) + 1;  // the kernel's extent on the input, dilation included
    if (h_ + 2 * p_ < span || w_ + 2 * p_ < span)
      throw ShapeError("conv2d: kernel " + std::to_string(k_) + " (dilation " + std::to_string(d_) + ", spans " +
                       std::to_string(span) + ") does not fit the padded input " + dims(h_ + 2 * p_, w_ + 2 * p_) +
                       " (input " + in.str() + ", padding " + std::to_string(p_) + ")");
    ho_ = (h_ + 2 * p_ - span) / s_ + 1;
    wo_ = (w_ + 2 * p_ - span) / s_ + 1;
    cg_ = c_ / g_, fg_ = f_ / g_;
    kg_ = cg_ * k_ * k_;
    this->set_shapes(in, Shape{f_, ho_, wo_});
    pointwise_ = k_ == 1 && s_ == 1 && p_ == 0;
    check_elements({f_, kg_}, 4.0 * sizeof(T), "conv2d(" + std::to_string(c_) + "->" + std::to_string(f_) + ", kernel " +
                                                 std::to_string(k_) + ") with its weight gradient and optimizer state");
    wt_.resize(f_, kg_);
    dw_.setZero(f_, kg_);
    if (has_bias_) b_.resize(1, f_), db_.setZero(1, f_);
    Rng rng(c.seed, Rng::stream_id("init", static_cast<std::uint64_t>(c.index)));
    initialize(wt_, has_bias_ ? &b_ : nullptr, a.text("init"), rng,
               Fans{static_cast<double>(kg_), static_cast<double>(f_ * k_ * k_)});
  }

  std::string type() const override { return "conv2d"; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("conv2d", x.rows(), x.cols(), this->in_features());
    x_ = &x;
    y_.resize(x.rows(), this->out_features());
    const double work = flops() * static_cast<double>(x.rows());
    reserve_blocks(parallel_block_count(x.rows(), work), false);
    parallel_blocks(x.rows(), work, [&](int block, Index begin, Index end) {
      for (Index n = begin; n < end; ++n)
        for (Index g = 0; g < g_; ++g) {
          const T* xg = x.row(n).data() + g * cg_ * h_ * w_;
          OutMap y(y_.row(n).data() + g * fg_ * positions(), fg_, positions());
          if (packed_path()) {
            forward_packed(xg, ref(y), block, g);
          } else {
            y.noalias() = wt_.middleRows(g * fg_, fg_) * columns(xg, cols_[block]);
          }
          if (has_bias_) y.colwise() += b_.row(0).segment(g * fg_, fg_).transpose();
        }
    });
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("conv2d backward", dy.rows(), dy.cols(), this->out_features());
    const Mat<T>& x = *x_;
    const bool want_dx = this->input_grad();
    if (want_dx) dx_.resize(dy.rows(), this->in_features());
    const double work = (want_dx ? 2.0 : 1.0) * flops() * static_cast<double>(dy.rows());
    const int blocks = parallel_block_count(dy.rows(), work);
    reserve_blocks(blocks, want_dx);
    parallel_blocks(dy.rows(), work, [&](int block, Index begin, Index end) {
      Mat<T>& dw = dw_parts_[block];
      Mat<T>& db = db_parts_[block];
      dw.setZero();
      if (has_bias_) db.setZero();
      for (Index n = begin; n < end; ++n) {
        if (want_dx) dx_.row(n).setZero();
        for (Index g = 0; g < g_; ++g) {
          const InMap dyg(dy.row(n).data() + g * fg_ * positions(), fg_, positions());
          const T* xg = x.row(n).data() + g * cg_ * h_ * w_;
          dw.middleRows(g * fg_, fg_).noalias() += dyg * columns(xg, cols_[block]).transpose();
          if (has_bias_) db.row(0).segment(g * fg_, fg_) += dyg.rowwise().sum().transpose();
          if (!want_dx) continue;
          T* dxg = dx_.row(n).data() + g * cg_ * h_ * w_;
          if (pointwise_) {
            OutMap(dxg, cg_, positions()).noalias() = wt_.middleRows(g * fg_, fg_).transpose() * dyg;
          } else {
            dcols_[block].noalias() = wt_.middleRows(g * fg_, fg_).transpose() * dyg;
            col2im(dcols_[block].data(), dxg);
          }
        }
      }
    });
    // Partial sums in block order: the same additions for a given thread count, every run.
    dw_ = dw_parts_[0];
    for (int b = 1; b < blocks; ++b) dw_ += dw_parts_[b];
    if (has_bias_) {
      db_ = db_parts_[0];
      for (int b = 1; b < blocks; ++b) db_ += db_parts_[b];
    }
    return dx_;
  }

  double flops() const override {
    return static_cast<double>(f_ * positions()) * (2.0 * static_cast<double>(kg_) + (has_bias_ ? 1.0 : 0.0));
  }

  std::vector<Param<T>> parameters() override {
    std::vector<Param<T>> p{{"weight", &wt_, &dw_, {f_, cg_, k_, k_}, true}};
    if (has_bias_) p.push_back({"bias", &b_, &db_, {f_}, true});
    return p;
  }

 private:
  using InMap = Eigen::Map<const Mat<T>>;
  using OutMap = Eigen::Map<Mat<T>>;

  Index positions() const { return ho_ * wo_; }

  // " (groups that divide both: 1, 2, 4)" for the groups error.
  std::string nearest_groups() const {
    std::string s;
    for (Index d = 1; d <= std::min(c_, f_); ++d)
      if (c_ % d == 0 && f_ % d == 0) s += (s.empty() ? "" : ", ") + std::to_string(d);
    return "; groups that divide both: " + s;
  }

  // The scratch of `blocks` threads, sized once per batch shape (no allocation once they exist).
  void reserve_blocks(int blocks, bool dcol) {
    const auto n = static_cast<std::size_t>(blocks);
    if (cols_.size() < n) cols_.resize(n), dw_parts_.resize(n), db_parts_.resize(n), dcols_.resize(n), rows_.resize(n);
    while (packed_path() && packs_.size() < n) packs_.push_back(std::make_unique<PackedB>());
    for (std::size_t b = 0; b < n; ++b) {
      if (packed_path()) rows_[b].resize(static_cast<std::size_t>(positions()));
      if (!pointwise_) cols_[b].resize(kg_, positions());  // backward's im2col (and forward's without packing)
      dw_parts_[b].resize(f_, kg_);
      if (has_bias_) db_parts_[b].resize(1, f_);
      if (dcol && !pointwise_) dcols_[b].resize(kg_, positions());
    }
  }

  // The columns of one sample's group (x points at its first channel): x itself for a pointwise
  // convolution, else im2col into `col`.
  InMap columns(const T* x, Mat<T>& col) const {
    if (pointwise_) return InMap(x, cg_, positions());
    im2col(x, col.data());
    return InMap(col.data(), kg_, positions());
  }

  // Whether the forward product runs on core/gemm.hpp's packed kernel with im2col fused into its
  // packing (one copy of the columns, not an im2col buffer and then a packed copy of it): in float,
  // when the columns are deep enough (C/g·K·K >= 64) or the filters many enough (F/g >= 16, two
  // rows of the kernel's 8-row tile, wasting none) for the kernel to beat Eigen's product, measured on
  // the shipped configs' shapes (docs/cnn.md; the first layer of the Fashion CNN, 9 columns and 32
  // filters: 1.29 -> 1.10 ms per batch). A depthwise convolution (1 filter per group) and double keep Eigen.
  bool packed_path() const {
    if constexpr (std::is_same_v<T, float>) return !pointwise_ && (kg_ >= 64 || fg_ >= 16);
    return false;
  }

  // y_g = W_g · col, im2col written straight into the product's packed B (float only).
  void forward_packed(const T* xg, MatrixRef<T> y, int block, Index g) {
    if constexpr (std::is_same_v<T, float>) {
      PackedB& col = *packs_[block];
      col.reset(kg_, positions());
      for (Index r = 0; r < kg_; ++r) col.set_row(r, im2col_row(xg, r, rows_[block].data()));
      gemm(y, weights(g), col);
    }
  }

  // W_g: the group's rows of the weight matrix, (F/g, C/g·K·K).
  MatrixRef<const T> weights(Index g) const { return {wt_.data() + g * fg_ * kg_, fg_, kg_, kg_, 1}; }

  // The output columns j (of one output row) whose input column j·s − p + v·d lies inside the image,
  // as the range [lo, hi): padding on the left and right is everything outside it.
  void inside(Index v, Index& lo, Index& hi) const {
    const Index off = v * d_ - p_;  // input column of output column 0
    lo = off >= 0 ? 0 : (-off + s_ - 1) / s_;
    hi = off > w_ - 1 ? 0 : std::min(wo_, (w_ - 1 - off) / s_ + 1);
    lo = std::min(lo, hi);
  }

  // Stride 1 with equal input and output widths ("same" padding, 2p = d(K − 1): every shipped
  // config). Output row i of im2col row (c, u, v) reads input row i + u·d − p at columns j + v·d − p,
  // and with W = Wo its values for the output rows [i0, i1) inside the image are one contiguous run
  // of the input channel, shifted by (u·d − p)·W + v·d − p. im2col copies the run at once and then
  // zeroes the columns in the padding (j < lo or j >= hi), which the run filled from the
  // neighbouring input row; col2im first zeroes those columns of dcol (its scratch) and adds the run
  // back at once. A few long vectors per row instead of a short one per output row.
  bool contiguous_runs() const { return s_ == 1 && w_ == wo_; }

  // The output rows i whose input row i·s − p + u·d lies inside the image, as the range [i0, i1).
  void inside_rows(Index u, Index& i0, Index& i1) const {
    const Index off = u * d_ - p_;  // input row of output row 0
    i0 = std::clamp<Index>(off >= 0 ? 0 : (-off + s_ - 1) / s_, 0, ho_);
    i1 = off > h_ - 1 ? 0 : std::min(ho_, (h_ - 1 - off) / s_ + 1);
    i1 = std::max(i0, i1);
  }

  // col[(c·K + u)·K + v, i·Wo + j] = x[c, i·s − p + u·d, j·s − p + v·d], 0 in the padding.
  void im2col(const T* x, T* col) const {
    for (Index r = 0; r < kg_; ++r) im2col_row(x, r, col + r * positions());
  }

  // Row r = (c·K + u)·K + v of im2col into out (Ho·Wo values); returns out.
  const T* im2col_row(const T* x, Index r, T* out) const {
    T* const first = out;
    const Index c = r / (k_ * k_), u = r / k_ % k_, v = r % k_;
    Index lo, hi;
    inside(v, lo, hi);
    const Index off = v * d_ - p_;
    if (contiguous_runs()) {
      Index i0, i1;
      inside_rows(u, i0, i1);
      zero_span(out, i0 * wo_);
      if (hi > lo && i1 > i0) {
        const Index begin = i0 * wo_ + lo, end = (i1 - 1) * wo_ + hi;
        copy_span(out + begin, x + (c * h_ + i0 + u * d_ - p_) * w_ + lo + off, end - begin);
        for (Index i = i0; i < i1; ++i) {
          for (Index j = 0; j < lo; ++j) out[i * wo_ + j] = T(0);
          for (Index j = hi; j < wo_; ++j) out[i * wo_ + j] = T(0);
        }
      } else {
        zero_span(out + i0 * wo_, (i1 - i0) * wo_);
      }
      zero_span(out + i1 * wo_, (ho_ - i1) * wo_);
      return first;
    }
    for (Index i = 0; i < ho_; ++i, out += wo_) {
      const Index row = i * s_ - p_ + u * d_;
      if (row < 0 || row >= h_) {
        zero_span(out, wo_);
        continue;
      }
      const T* in = x + (c * h_ + row) * w_;  // the input row; output j reads in[j·s + off]
      for (Index j = 0; j < lo; ++j) out[j] = T(0);
      if (s_ == 1)
        copy_span(out + lo, in + lo + off, hi - lo);
      else
        for (Index j = lo; j < hi; ++j) out[j] = in[j * s_ + off];
      for (Index j = hi; j < wo_; ++j) out[j] = T(0);
    }
    return first;
  }

  // The adjoint of im2col: dx[c, i·s − p + u·d, j·s − p + v·d] += dcol[(c·K + u)·K + v, i·Wo + j].
  // dcol is scratch: with contiguous runs its padding columns are zeroed first.
  void col2im(T* dcol, T* dx) const {
    for (Index c = 0; c < cg_; ++c)
      for (Index u = 0; u < k_; ++u)
        for (Index v = 0; v < k_; ++v) {
          T* in = dcol + ((c * k_ + u) * k_ + v) * positions();
          Index lo, hi;
          inside(v, lo, hi);
          const Index off = v * d_ - p_;
          if (contiguous_runs()) {
            Index i0, i1;
            inside_rows(u, i0, i1);
            if (hi <= lo || i1 <= i0) continue;
            for (Index i = i0; i < i1; ++i) {
              for (Index j = 0; j < lo; ++j) in[i * wo_ + j] = T(0);
              for (Index j = hi; j < wo_; ++j) in[i * wo_ + j] = T(0);
            }
            const Index begin = i0 * wo_ + lo, end = (i1 - 1) * wo_ + hi;
            add_span(dx + (c * h_ + i0 + u * d_ - p_) * w_ + lo + off, in + begin, end - begin);
            continue;
          }
          for (Index i = 0; i < ho_; ++i, in += wo_) {
            const Index row = i * s_ - p_ + u * d_;
            if (row < 0 || row >= h_) continue;
            T* out = dx + (c * h_ + row) * w_;
            if (s_ == 1)  // contiguous
              add_span(out + lo + off, in + lo, hi - lo);
            else
              for (Index j = lo; j < hi; ++j) out[j * s_ + off] += in[j];
          }
        }
  }

  Index f_, k_, s_, p_, d_, g_;
  bool has_bias_;
  Index c_ = 0, h_ = 0, w_ = 0, ho_ = 0, wo_ = 0, cg_ = 0, fg_ = 0, kg_ = 0;
  bool pointwise_ = false;
  Mat<T> wt_, dw_, b_, db_, y_, dx_;
  std::vector<Mat<T>> cols_, dcols_, dw_parts_, db_parts_;  // per thread block
  std::vector<std::vector<T>> rows_;                        // per thread block: one im2col row
  std::vector<std::unique_ptr<PackedB>> packs_;             // per thread block: the packed columns
  const Mat<T>* x_ = nullptr;
};

}  // namespace

NNLAB_REGISTER_LAYER(Conv2d, {.name = "conv2d",
                              .kind = LayerKind::layer,
                              .summary = "2-D convolution over [C, H, W] samples, zero padding (PyTorch nn.Conv2d)",
                              .formula = "y[f, i, j] = b[f] + Σ_{c ∈ group(f)} Σ_{u,v < K} W[f, c, u, v] · x[c, i·s − p + u·d, j·s − p + v·d]",
                              .derivative = "dL/dx = col2im(W_gᵀ · dY_g,n) for each sample n and group g; "
                                            "dL/dW_g = Σ_n dY_g,n · col_g,nᵀ; dL/db[f] = Σ_n Σ_{i,j} dy_n[f, i, j]",
                              .params = {required_integer("out_channels", "number of output channels (filters)"),
                                         required_integer("kernel_size", "side of the square kernel"),
                                         input_channels("in_channels", "input channels; 0 = inferred from the input"),
                                         integer("stride", 1, "step between output positions", 1),
                                         integer("padding", 0, "zeros added on every side of the input", 0),
                                         integer("dilation", 1, "spacing between kernel taps", 1),
                                         integer("groups", 1, "channel groups (in_channels = groups: depthwise)", 1),
                                         boolean("bias", true, "add a learnable bias per output channel"),
                                         text("init", "pytorch", "weight initialisation", init_schemes())}});

}  // namespace nnlab
