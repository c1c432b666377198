// A sequential model: layers applied in order, gradients passed back in reverse.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/registry.hpp"

namespace nnlab {

template <typename T>
class Model {
 public:
  Model() = default;
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // Append a layer; its input shape must be the current output shape (ShapeError naming both).
  void add(LayerPtr<T> layer);

  const Mat<T>& forward(const Mat<T>& x, bool training);
  // Returns dL/dx of the model's input, unless input gradients are off (then it is unspecified).
  const Mat<T>& backward(const Mat<T>& dy);

  // Training never needs dL/d(data): turning it off lets the first layer skip that computation.
  // On by default (the gradient checker compares it).
  void set_input_grad(bool on);

  // Every learnable tensor, named like PyTorch's nn.Sequential state_dict: "layers.<i>.<name>".
  std::vector<Param<T>> parameters();
  std::vector<Buffer<T>> buffers();  // named like parameters
  std::size_t parameter_count();

  // Per-layer wall time of forward and backward, accumulated while timing is on (off by default;
  // used by diagnostics and `caffe time`-style profiling).
  void set_timing(bool on) { timing_ = on; }
  void reset_timing();
  const std::vector<double>& forward_seconds() const { return fwd_seconds_; }
  const std::vector<double>& backward_seconds() const { return bwd_seconds_; }

  std::size_t size() const { return layers_.size(); }
  Layer<T>& layer(std::size_t i) { return *layers_.at(i); }
  const Layer<T>& layer(std::size_t i) const { return *layers_.at(i); }
  Shape input_shape() const { return layers_.empty() ? Shape{} : layers_.front()->input_shape(); }
  Shape output_shape() const { return layers_.empty() ? Shape{} : layers_.back()->output_shape(); }
  Index in_features() const { return layers_.empty() ? 0 : layers_.front()->in_features(); }
  Index out_features() const { return layers_.empty() ? 0 : layers_.back()->out_features(); }

  // "dense(784->256) relu dense(256->128) ..." for logs.
  std::string summary() const;

 private:
  std::vector<LayerPtr<T>> layers_;
  bool timing_ = false;
  bool input_grad_ = true;
  std::vector<double> fwd_seconds_, bwd_seconds_;
};

// Build a model from resolved layer specs for input samples of shape `input`; `seed` drives every
// layer's initialisation (layer i draws from its own stream). Errors name each spec's path.
template <typename T>
Model<T> build_model(const std::vector<LayerSpec>& layers, const Shape& input, std::uint64_t seed);

// Build a model from an explicit JSON list of layer specs for input samples of shape `input`;
// `seed` drives every layer's initialisation (layer i draws from its own stream). `path` prefixes
// messages.
template <typename T>
Model<T> build_model(const nlohmann::json& layers, const Shape& input, std::uint64_t seed,
                     const std::string& path = "model.layers");
// The same for feature-vector samples of `width` values (Shape{width}).
template <typename T>
Model<T> build_model(const nlohmann::json& layers, Index width, std::uint64_t seed,
                     const std::string& path = "model.layers") {
  return build_model<T>(layers, Shape{width}, seed, path);
}

}  // namespace nnlab
