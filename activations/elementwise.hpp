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
//
// Speed note: select(mask, a, b) is evaluated element by element, so a transcendental function
// inside it (exp, expm1, erf, ...) becomes a scalar call per element. Kernels therefore compute
// the expensive part over the whole block first, vectorised, into the output buffer, and then pick
// with a select over cheap values (see elu.cpp).
#pragma once

#include <Eigen/Core>
#include <limits>
#include <type_traits>

#include "core/parallel.hpp"
#include "core/registry.hpp"

namespace nnlab {

// A learnable scalar of an activation (swish's beta, SMU's mu): value and gradient as 1×1 matrices,
// listed by parameters() only when learnable, shape {1}, without weight decay (it shapes the
// function; decaying it towards 0 would change the activation, not regularise the model).
template <typename T>
struct ScalarParam {
  ScalarParam(std::string name_, double value_, bool learnable_)
      : name(std::move(name_)), learnable(learnable_), value(Mat<T>::Constant(1, 1, static_cast<T>(value_))),
        grad(Mat<T>::Zero(1, 1)) {}
  T operator()() const { return value(0, 0); }
  std::vector<Param<T>> parameters() {
    if (!learnable) return {};
    return {{name, &value, &grad, {1}, false}};
  }
  std::string name;
  bool learnable;
  Mat<T> value, grad;
};

template <typename T>
class Elementwise : public Layer<T> {
 public:
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  using In = Eigen::Map<const Array>;
  using Out = Eigen::Map<Array>;

  explicit Elementwise(const BuildContext& c) : n_(c.in_features()) { this->set_shapes(c.input, c.input); }

  double flops() const override { return static_cast<double>(n_); }  // one per value

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
    check_input_shape(this->type(), dy.rows(), dy.cols(), n_, " backward");
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
  // r = √(a² + s²) for every element of a and a scalar s ≥ 0, as m·√(1 + (n/m)²) with
  // m = max(|a|, s), n = min(|a|, s): no overflow for a near FLT_MAX, 0 when both are 0, and
  // vectorised (std::hypot is a scalar call per element).
  template <typename A>
  static void hypot_into(Out r, const A& a, T s) {
    r = a.abs().max(s);
    r = r * (T(1) + (a.abs().min(s) / r.max(std::numeric_limits<T>::min())).square()).sqrt();
  }

  // eˣ with IEEE behaviour at the ends of the float range. Eigen 3.4's vectorised float exp on AVX2
  // clamps its argument to ±88.72, so it gives FLT_MAX instead of +Inf above ln(FLT_MAX) and
  // 2.9e−39 instead of 0 far below: then x·σ(x) at x = −FLT_MAX comes out as −1, not −0. This
  // returns +Inf above ln(FLT_MAX) (a division by a 0 mask) and 0 below −87.33 (a multiplication by
  // one; the subnormal results there are below 1.2e−38), with min/max arithmetic (no select,
  // which evaluates element by element). double: Eigen's exp, which is std::exp per element.
  template <typename A>
  static auto exp_ieee(const A& x) {
    if constexpr (std::is_same_v<T, float>) {
      constexpr float lo = -87.33f, hi = 88.7228f;  // e^lo ≈ FLT_MIN; e^hi ≈ FLT_MAX
      return (x.exp() * ((x - lo) * 1e30f).max(0.0f).min(1.0f) / ((hi - x) * 1e30f).max(0.0f).min(1.0f)).eval();
    } else {
      return x.exp().eval();
    }
  }

  // r = eˣ − 1, accurate near 0 (ELU, CELU, SELU, LogSigmoid). double: Eigen's expm1. float,
  // vectorised (Eigen's float expm1 is a scalar call per element, 6x slower than its float exp):
  // eˣ − 1 for |x| > ½, where the subtraction loses at most a bit (eˣ ≤ 0.61 or ≥ 1.65), and the
  // Taylor polynomial x + x²/2! + … + x⁸/8! for |x| ≤ ½ (truncation below 1e−8 relative).
  template <typename A>
  static void expm1_into(Out r, const A& x) {
    if constexpr (std::is_same_v<T, float>) {
      // The two pieces are blended by a weight w that is exactly 0 (|x| ≤ ½) or 1, built from
      // max/min, which vectorise: Eigen 3.4 evaluated a select() over this expression one element at
      // a time with a branch (ELU forward 95 M elements/s against 284 M with the blend, AMD EPYC AVX2).
      // w·e + (1 − w)·p is then exactly e or exactly p (p is finite: its argument is clamped to ±½).
      const auto xc = x.max(-0.5f).min(0.5f);
      const auto p = xc * (1.0f + xc * (1.0f / 2 + xc * (1.0f / 6 + xc * (1.0f / 24 + xc * (1.0f / 120 + xc * (1.0f / 720 +
                                                                                                   xc * (1.0f / 5040 + xc * (1.0f / 40320))))))));
      const auto w = ((x.abs() - 0.5f) * 1e30f).max(0.0f).min(1.0f);
      r = w * (x.exp() - 1.0f) + (1.0f - w) * p;
    } else {
      r = x.expm1();
    }
  }

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
