// Base class for element-wise activations: y_i = f(x_i).
//
// A concrete activation writes two functions on flat arrays of the whole batch:
//   f (x, y)          y  = f(x)
//   df(x, y, dy, dx)  dx = dy ⊙ f'(x)      (both x and the saved output y are available, so the
//                                           derivative can use whichever form is cheapest/stablest)
// and the base does the bookkeeping: shape checks, output/gradient buffers reused across batches,
// remembering x and y for backward, and splitting the elements across threads (each thread runs f
// or df on its own contiguous block, see core/parallel.hpp). Learnable activations also override
// param_grads(), which sees the whole batch.
#pragma once

#include <Eigen/Core>

#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {

template <typename T>
class Elementwise : public Layer<T> {
 public:
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  using In = Eigen::Map<const Array>;
  using Out = Eigen::Map<Array>;

  explicit Elementwise(const BuildContext& c) : n_(c.in_features) {}

  Index in_features() const override { return n_; }
  Index out_features() const override { return n_; }
  bool is_activation() const override { return true; }

  const Mat<T>& forward(const Mat<T>& x, bool) override {
    check_input_shape(this->type(), x.rows(), x.cols(), n_);
    x_ = &x;
    y_.resize(x.rows(), x.cols());
    parallel_for_blocks(x.size(), kWorkPerElement * static_cast<double>(x.size()), [&](Index b, Index e) {
      f(In(x.data() + b, e - b), Out(y_.data() + b, e - b));
    }, 16);
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape(this->type() + " backward", dy.rows(), dy.cols(), n_);
    dx_.resize(dy.rows(), dy.cols());
    const T* x = x_->data();
    const T* y = y_.data();
    const T* g = dy.data();
    parallel_for_blocks(dy.size(), kWorkPerElement * static_cast<double>(dy.size()), [&](Index b, Index e) {
      df(In(x + b, e - b), In(y + b, e - b), In(g + b, e - b), Out(dx_.data() + b, e - b));
    }, 16);
    param_grads(In(x, dy.size()), In(y, dy.size()), In(g, dy.size()));
    return dx_;
  }

 protected:
  virtual void f(In x, Out y) const = 0;
  virtual void df(In x, In y, In dy, Out dx) const = 0;
  // Learnable activations: write dL/dθ from the same saved values.
  virtual void param_grads(In /*x*/, In /*y*/, In /*dy*/) {}

 private:
  static constexpr double kWorkPerElement = 8;  // a rough cost of one f or f' evaluation

  Index n_;
  const Mat<T>* x_ = nullptr;
  Mat<T> y_, dx_;
};

}  // namespace nnlab
