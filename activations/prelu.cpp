// PReLU — parametric ReLU (He, Zhang, Ren & Sun 2015), PyTorch nn.PReLU(num_parameters=1, init=0.25).
//
//   f(x)   = x        if x > 0
//            a_c·x    if x ≤ 0           a_c = the slope of x's feature column c (or one shared a)
//   ∂f/∂x  = 1 if x > 0, else a_c        (at x = 0: a_c, PyTorch's x > 0 test)
//   ∂f/∂a_c = 0 if x > 0, else x         (so ∂/∂a is 0 at x = 0 too)
//
//   In one line: y = x if x > 0, else a_c·x;  dy/dx = 1 if x > 0, else a_c (a_c at x = 0, as PyTorch);
//   dL/da_c = Σ dy·x over the inputs x ≤ 0 scaled by a_c
//
// backward, from the saved input x and the slopes used in forward:
//   dx      = x > 0 ? dy : a_c·dy
//   dL/da_c = Σ over the batch of (x ≤ 0 ? dy·x : 0) in column c        (num_parameters = F)
//   dL/da   = the same summed over every element                         (num_parameters = 1)
//
// The parameter is called "weight" (PyTorch's state_dict name), shape {num_parameters}. PyTorch's
// "channel" is dim 1 of the input: for a feature-vector sample {F} that is the feature column, for an
// image sample {C, H, W} the channel, whose H·W values lie side by side in the row. So
// num_parameters is 1 or Shape::channels() of the input, and column j uses slope a[j / (H·W)]. It is excluded from weight decay: decay pulls a
// towards 0, i.e. towards ReLU, which is not what a learned slope is for (PyTorch's docs say so).
//
// Range (−∞, ∞) while a > 0. A learned slope can leave [0, 1] (a > 1 or a < 0 are legal), so this
// is a select on x > 0, never max(x, a·x), which agrees with the definition only for 0 ≤ a ≤ 1.
//
// Not element-wise in its parameter (it needs the column index), so it implements Layer<T> directly;
// its buffers are resized, never reallocated, when the batch size repeats.
#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class Prelu final : public Layer<T> {
 public:
  Prelu(const Args& args, const BuildContext& c) : n_(c.in_features()), p_(args.integer("num_parameters")) {
    const Index channels = c.input.channels();
    if (p_ != 1 && p_ != channels)
      throw ConfigError("num_parameters is " + std::to_string(p_) + " but must be 1 (one shared slope) or " +
                        (c.input.rank() <= 1 ? "the input width " + std::to_string(n_) + " (one slope per feature column)"
                                             : "the input's channels " + std::to_string(channels) + " (one slope per channel)"));
    spatial_ = p_ == 1 ? n_ : n_ / channels;
    this->set_shapes(c.input, c.input);
    a_.setConstant(1, p_, static_cast<T>(args.number("init")));
    da_.setZero(1, p_);
    slopes_.resize(n_);
    column_grads_.resize(n_);
  }

  std::string type() const override { return "prelu"; }
  std::vector<double> kinks() const override { return {0.0}; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("prelu", x.rows(), x.cols(), n_);
    x_ = &x;
    // One slope per column, read from the parameter now (an optimizer may have changed it).
    if (p_ == 1) slopes_.setConstant(a_(0, 0));
    else if (spatial_ == 1) slopes_ = a_.row(0).array();
    else
      for (Index k = 0; k < p_; ++k) slopes_.segment(k * spatial_, spatial_).setConstant(a_(0, k));
    y_.resize(x.rows(), x.cols());
    parallel_for_blocks(x.rows(), 4.0 * static_cast<double>(x.size()), [&](Index r0, Index r1) {
      const auto xb = x.middleRows(r0, r1 - r0).array();
      y_.middleRows(r0, r1 - r0).array() = (xb > T(0)).select(xb, xb.rowwise() * slopes_);
    });
    return y_;
  }

  // Threads take blocks of rows; each sums its rows' dy·x (x ≤ 0) per column into its own row of
  // partial_, and the partial sums are added in block order (deterministic for a thread count).
  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("prelu backward", dy.rows(), dy.cols(), n_);
    const Mat<T>& x = *x_;
    dx_.resize(dy.rows(), dy.cols());
    const double work = 4.0 * static_cast<double>(dy.size());
    const int blocks = parallel_block_count(dy.rows(), work);
    partial_.setZero(blocks, n_);  // allocates only when the thread count changes
    parallel_blocks(dy.rows(), work, [&](int b, Index r0, Index r1) {
      for (Index r = r0; r < r1; ++r) {
        const auto xr = x.row(r).array();
        const auto gr = dy.row(r).array();
        dx_.row(r).array() = (xr > T(0)).select(gr, gr * slopes_);
        partial_.row(b) += (xr > T(0)).select(T(0), gr * xr);
      }
    });
    column_grads_ = partial_.row(0);
    for (int b = 1; b < blocks; ++b) column_grads_ += partial_.row(b);
    if (p_ == 1) da_(0, 0) = column_grads_.sum();
    else if (spatial_ == 1) da_.row(0) = column_grads_.matrix();
    else
      for (Index k = 0; k < p_; ++k) da_(0, k) = column_grads_.segment(k * spatial_, spatial_).sum();
    return dx_;
  }

  std::vector<Param<T>> parameters() override { return {{"weight", &a_, &da_, {p_}, false}}; }

 private:
  using Row = Eigen::Array<T, 1, Eigen::Dynamic>;
  Index n_, p_;
  Index spatial_;            // columns per slope: H·W of an image sample, 1 for a feature vector
  Mat<T> a_, da_;            // the slopes (1, num_parameters) and their gradient
  Row slopes_;               // the slope of each of the n_ columns, as used by the last forward
  Row column_grads_;         // Σ_batch dy·x over x ≤ 0, per column
  Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> partial_;  // per thread block
  const Mat<T>* x_ = nullptr;
  Mat<T> y_, dx_;
};

}  // namespace

NNLAB_REGISTER_LAYER(Prelu, {.name = "prelu",
                             .kind = LayerKind::elementwise,
                             .summary = "Parametric ReLU with learnable slope(s) 'weight' (PyTorch nn.PReLU)",
                             .formula = "y = x if x > 0, else a_c·x",
                             .derivative = "dy/dx = 1 if x > 0, else a_c (a_c at x = 0, as PyTorch); dL/da_c = Σ dy·x over the inputs x ≤ 0 scaled by a_c",
                             .params = {integer("num_parameters", 1, "slopes: 1 (shared) or the channels of the input (its width for a feature vector)", 1),
                                        number("init", 0.25, "initial value of every slope")},
                             .stress = {R"({"num_parameters": 22, "init": -0.5})", R"({"init": 3})"},
                             .reference = {.torch = "torch.where(x > 0, x, weight * x)",
                                           .variants = {{R"({})"},
                                                         {R"({"num_parameters": 8})", {}, R"({"weight": [0.25, -0.5, 1.5, 0.0, 0.1, 2.0, -1.0, 0.75]})"}}}});

}  // namespace nnlab
