// The layer interface. Every layer, activation included, is one of these.
//
//   forward(x, training)  x: (batch, input_shape().numel())  -> y: (batch, output_shape().numel())
//   backward(dy)          dy = dL/dy                          -> dx = dL/dx, and sets dL/dθ for every parameter
//
// A layer is built for the shape of one input sample ({features} or {channels, height, width},
// core/shape.hpp) and knows the shape of its output; the batch is one sample per row.
//
// Contract (what lets layers avoid allocation and copies):
// * forward returns a reference to the layer's own output buffer, valid until the next forward
//   (an identity layer, flatten, returns x itself, and from backward dy itself);
// * a layer may keep a pointer to its input x, so x must stay alive and unchanged until backward
//   (Model guarantees this: x is the previous layer's output buffer);
// * backward follows the forward whose values it uses; it overwrites (does not accumulate) the
//   parameter gradients, so there is no zero_grad step.
//
// Layers are templates on the scalar type and instantiated for float (training) and double (the
// gradient checker). The templates are defined in the .cpp files, so headers stay light.
#pragma once

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace nnlab {

// A learnable tensor and its gradient, as the optimizer and the checkpoint see it.
template <typename T>
struct Param {
  std::string name;             // "weight", "bias", "mu"; Model prefixes "layers.<i>."
  Mat<T>* value = nullptr;
  Mat<T>* grad = nullptr;
  std::vector<std::int64_t> shape;  // logical shape, PyTorch's: weight {out, in}, bias {out}
  bool weight_decay = true;         // false for PReLU slopes and similar (PyTorch's advice)
};

// A non-learnable tensor that is part of the model's state (BatchNorm's running statistics): saved
// and loaded with the weights, never touched by the optimizer. `min` and `integral` say what a
// loaded value must be (a file may come from anywhere): a variance is >= 0, a count a whole number.
template <typename T>
struct Buffer {
  std::string name;  // "running_mean"; Model prefixes "layers.<i>."
  Mat<T>* value = nullptr;
  std::vector<std::int64_t> shape;
  double min = -std::numeric_limits<double>::infinity();
  bool integral = false;
};

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string type() const = 0;  // the registry name, e.g. "dense", "elu"

  // The shape of one input sample and of one output sample, fixed when the layer is built.
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  Index in_features() const { return input_shape_.numel(); }    // values per input row
  Index out_features() const { return output_shape_.numel(); }  // values per output row

  virtual const Mat<T>& forward(const Mat<T>& x, bool training) = 0;
  virtual const Mat<T>& backward(const Mat<T>& dy) = 0;

  virtual std::vector<Param<T>> parameters() { return {}; }
  virtual std::vector<Buffer<T>> buffers() { return {}; }

  // State that is not a tensor (Dropout's random stream): saved in training checkpoints so that an
  // interrupted run resumes bit-identically.
  virtual std::vector<std::uint64_t> rng_state() const { return {}; }
  virtual void set_rng_state(const std::vector<std::uint64_t>& /*state*/) {}

  // Inputs where the function is not differentiable (ReLU: 0, Hardtanh: -1 and 1). The gradient
  // checker skips inputs within 1e-3 of these; the PyTorch comparison fixes the convention there.
  virtual std::vector<double> kinks() const { return {}; }

  // Floating-point operations of one sample's forward pass (a multiply-add counts 2): what the model
  // summary and `nnlab bench` report per layer. Layers whose cost is negligible beside a matrix
  // product may leave it 0; element-wise activations count one per output value.
  virtual double flops() const { return 0; }

  // Whether backward must compute dL/dx. Model turns it off for its first layer while training
  // (nobody needs the gradient with respect to the data), which saves Dense its largest matrix
  // multiply. When off, backward still sets the parameter gradients and may return a stale dx.
  void set_input_grad(bool on) { input_grad_ = on; }
  bool input_grad() const { return input_grad_; }

 protected:
  // Called by every layer's constructor.
  void set_shapes(Shape input, Shape output) { input_shape_ = std::move(input), output_shape_ = std::move(output); }
  bool input_grad_ = true;

 private:
  Shape input_shape_, output_shape_;
};

template <typename T>
using LayerPtr = std::unique_ptr<Layer<T>>;

// Throws ShapeError unless x has `features` columns. The check is inline and builds no string
// unless it fails, so layers call it on every batch without allocating: `layer` names the layer in
// the message ("dropout backward"), and `suffix` is appended to it (" backward" after a type()).
[[noreturn]] void throw_input_shape(const std::string& layer, Index rows, Index cols, Index features);
inline void check_input_shape(const char* layer, Index rows, Index cols, Index features) {
  if (cols != features) throw_input_shape(layer, rows, cols, features);
}
inline void check_input_shape(const std::string& layer, Index rows, Index cols, Index features, const char* suffix = "") {
  if (cols != features) throw_input_shape(layer + suffix, rows, cols, features);
}

}  // namespace nnlab
