// Dropout — inverted dropout, PyTorch nn.Dropout (Srivastava et al. 2014).
//
//   training:  m_i ~ Bernoulli(1 − p) independently per element,  s = 1 / (1 − p)
//              y_i = x_i · m_i · s            (kept elements scaled up, so E[y_i] = x_i)
//   eval:      y = x                          (nothing to undo at inference: the "inverted" part)
//
//   backward:  ∂y_i/∂x_i = m_i · s, so dx_i = dy_i · m_i · s with the mask of the last forward;
//              in eval dx = dy.
//
//   In one line: y_i = x_i · m_i · s while training (m_i ~ Bernoulli(1 − p), s = 1/(1 − p)),
//   y = x in eval;  dL/dx_i = dy_i · m_i · s while training (the mask of the last forward),
//   dL/dx = dy in eval
//
// p ∈ [0, 1): p = 0 is the identity (and draws no random numbers); p = 1 would zero everything and
// divide by zero, so it is rejected (PyTorch allows it and returns zeros; a config asking for it is a
// mistake). The kept value is x · T(1/(1−p)), the product PyTorch's kernel forms (same scale
// rounding: float32(1/0.9) = 1.1111112, so kept outputs agree with PyTorch's bit for bit).
//
// Randomness: the layer owns one xoshiro stream, Rng(seed, stream_id("dropout", index)), drawing one
// uniform u per element in row-major order and keeping the element when u ≥ p. The stream state is
// exposed through rng_state()/set_rng_state() (the 4 xoshiro words), so a checkpoint taken between
// two batches resumes with exactly the masks an uninterrupted run would draw. PyTorch's generator
// cannot be matched, so the PyTorch comparison covers the scale and the eval identity only.
//
// Buffers: forward copies x into the layer's own output buffer even in eval mode, keeping the Layer
// contract (the result is the layer's buffer, valid until its next forward, whatever the caller
// does with x afterwards). The copy is memory traffic only, small beside the Dense layers around it.
#include <cmath>

#include "core/registry.hpp"
#include "core/rng.hpp"

namespace nnlab {
namespace {

template <typename T>
class Dropout final : public Layer<T> {
 public:
  Dropout(const Args& a, const BuildContext& c)
      : n_(c.in_features()),
        p_(a.number("p")),
        scale_(static_cast<T>(1.0 / (1.0 - p_))),
        rng_(c.seed, Rng::stream_id("dropout", static_cast<std::uint64_t>(c.index))) {
    if (!(p_ < 1.0))
      throw ConfigError("p must be < 1 (p = 1 drops every element and the 1/(1-p) scale is infinite), got " +
                        to_string(Value{p_}));
    if (n_ <= 0) throw ShapeError("dropout needs a positive input width, got " + std::to_string(n_));
    this->set_shapes(c.input, c.input);
  }

  std::string type() const override { return "dropout"; }

  const Mat<T>& forward(const Mat<T>& x, bool training) override {
    check_input_shape("dropout", x.rows(), x.cols(), n_);
    masked_ = training && p_ > 0.0;
    if (!masked_) {
      y_ = x;
      return y_;
    }
    mask_.resize(x.rows(), x.cols());
    auto m = flat(mask_);
    for (Index i = 0; i < m.size(); ++i) m[i] = rng_.uniform() >= p_ ? scale_ : T(0);
    y_.resize(x.rows(), x.cols());
    flat(y_) = flat(x) * m;
    return y_;
  }

  const Mat<T>& backward(const Mat<T>& dy) override {
    check_input_shape("dropout backward", dy.rows(), dy.cols(), n_);
    if (!masked_) {
      dx_ = dy;
      return dx_;
    }
    if (dy.rows() != mask_.rows())
      throw ShapeError("dropout backward: gradient has " + std::to_string(dy.rows()) + " rows, the last forward had " +
                       std::to_string(mask_.rows()));
    dx_.resize(dy.rows(), dy.cols());
    flat(dx_) = flat(dy) * flat(mask_);
    return dx_;
  }

  std::vector<std::uint64_t> rng_state() const override {
    const Rng::State s = rng_.state();
    return {s.begin(), s.end()};
  }

  void set_rng_state(const std::vector<std::uint64_t>& state) override {
    Rng::State s{};
    if (state.size() != s.size())
      throw CheckpointError("dropout: random state has " + std::to_string(state.size()) + " words, expected " +
                            std::to_string(s.size()));
    if (state == std::vector<std::uint64_t>(s.size(), 0))
      throw CheckpointError("dropout: random state is all zeros (not a valid xoshiro state)");
    std::copy(state.begin(), state.end(), s.begin());
    rng_.set_state(s);
  }

 private:
  Index n_;
  double p_;
  T scale_;
  Rng rng_;
  bool masked_ = false;  // whether the last forward applied a mask (training with p > 0)
  Mat<T> mask_, y_, dx_;  // mask_ holds m_i · s: 0 or 1/(1−p)
};

}  // namespace

NNLAB_REGISTER_LAYER(Dropout, {.name = "dropout",
                               .kind = LayerKind::layer,
                               .summary = "Inverted dropout: zero each element with probability p while training, scale the rest by " "1/(1-p); identity in eval (PyTorch nn.Dropout)",
                               .formula = "y_i = x_i · m_i · s while training (m_i ~ Bernoulli(1 − p), s = 1/(1 − p)), y = x in eval",
                               .derivative = "dL/dx_i = dy_i · m_i · s while training (the mask of the last forward), dL/dx = dy in eval",
                               .params = {number("p", 0.5, "probability of zeroing an element (0 <= p < 1)", 0.0, 1.0)}});

}  // namespace nnlab
