// Dense (fully connected) layer, PyTorch's nn.Linear.
//
//   forward:   y = x Wᵀ + b          x: (N, in)   W: (out, in)   b: (out)   y: (N, out)
//   backward:  dL/dW = dyᵀ x          (out, in)   sum over the batch of outer products dy_n x_nᵀ
//              dL/db = Σ_n dy_n       (out)       column sums of dy
//              dL/dx = dy W           (N, in)
//   backward in one line: dL/dx = dy W; dL/dW = dyᵀ x; dL/db = Σ_n dy_n
//
// Derivation: y_nj = Σ_i x_ni W_ji + b_j, so ∂y_nj/∂W_ji = x_ni, ∂y_nj/∂b_j = 1, ∂y_nj/∂x_ni = W_ji;
// the chain rule sums dy_nj times these over every (n, j) that depends on the variable.
#include <cmath>

#include "core/gemm.hpp"
#include "core/init.hpp"
#include "core/memory.hpp"
#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {
namespace {

template <typename T>
class Dense final : public Layer<T> {
 public:
  Dense(const Args& a, const BuildContext& c)
      : in_(c.in_features()), out_(a.integer("out_features")), has_bias_(a.boolean("bias")) {
    if (a.integer("in_features") != 0 && a.integer("in_features") != in_)
      throw ShapeError("in_features is " + std::to_string(a.integer("in_features")) + " but the input " +
                       c.input.str() + " has " + std::to_string(in_) + " values");
    if (in_ <= 0) throw ShapeError("dense needs a positive input width, got " + std::to_string(in_));
    this->set_shapes(c.input, Shape{out_});
    // Weight and gradient, and up to two optimizer moments of the same size: refused before any of it
    // is allocated if it cannot fit.
    check_elements({out_, in_}, 4.0 * sizeof(T),
                   "dense(" + std::to_string(in_) + "->" + std::to_string(out_) +
                       ") with its weight gradient and optimizer state");
    w_.resize(out_, in_);
    dw_.setZero(out_, in_);
    if (has_bias_) b_.resize(1, out_), db_.setZero(1, out_);
    Rng rng(c.seed, Rng::stream_id("init", static_cast<std::uint64_t>(c.index)));
    initialize(w_, has_bias_ ? &b_ : nullptr, a.text("init"), rng,
               Fans{static_cast<double>(in_), static_cast<double>(out_)});
  }

  std::string type() const override { return "dense"; }

  // Each product is split over threads by rows of its result (batch rows for y and dx, output units
  // for dW), the right-hand matrix packed once and shared (core/gemm.hpp: parallel_gemm); the bias
  // is added as each tile of y is stored.
  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape("dense", x.rows(), x.cols(), in_);
    x_ = &x;
    y_.resize(x.rows(), out_);
    parallel_gemm(ref(y_), ref(x), ref(w_).t(), packed_, false, has_bias_ ? b_.data() : nullptr);  // y = x Wᵀ + b
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    const Mat<T>& x = *x_;
    parallel_gemm(ref(dw_), ref(dy).t(), ref(x), packed_);  // dW = dyᵀ x
    if (has_bias_) db_.noalias() = dy.colwise().sum();    // dL/db = Σ_n dy_n
    if (!this->input_grad()) return dx_;  // first layer while training: dx is not needed
    dx_.resize(dy.rows(), in_);
    parallel_gemm(ref(dx_), ref(dy), ref(w_), packed_);  // dx = dy W
    return dx_;
  }

  double flops() const override { return flops(1); }

  std::vector<Param<T>> parameters() override {
    std::vector<Param<T>> p{{"weight", &w_, &dw_, {out_, in_}, true}};
    if (has_bias_) p.push_back({"bias", &b_, &db_, {out_}, true});
    return p;
  }

 private:
  double flops(Index rows) const { return 2.0 * static_cast<double>(rows * in_ * out_); }

  Index in_, out_;
  bool has_bias_;
  Mat<T> w_, dw_, b_, db_, y_, dx_;
  PackedB packed_;  // the shared right-hand side of the product being computed
  const Mat<T>* x_ = nullptr;
};

}  // namespace

NNLAB_REGISTER_LAYER(Dense, {.name = "dense",
                             .kind = LayerKind::layer,
                             .summary = "Fully connected layer y = x W^T + b (PyTorch nn.Linear)",
                             .formula = "y = x Wᵀ + b",
                             .derivative = "dL/dx = dy W; dL/dW = dyᵀ x; dL/db = Σ_n dy_n",
                             .params = {required_integer("out_features", "number of output units"),
                                        input_width("in_features", "input width; 0 = inferred from the previous layer"),
                                        boolean("bias", true, "add a learnable bias"),
                                        text("init", "pytorch", "weight initialisation", init_schemes())}});

}  // namespace nnlab
