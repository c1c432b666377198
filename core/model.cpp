#include "core/model.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/registry.hpp"

namespace nnlab {

template <typename T>
void Model<T>::add(LayerPtr<T> layer) {
  if (!layers_.empty() && layer->input_shape() != layers_.back()->output_shape())
    throw ShapeError("layer " + std::to_string(layers_.size()) + " (" + layer->type() + ") expects input of shape " +
                     layer->input_shape().str() + " but layer " + std::to_string(layers_.size() - 1) + " (" +
                     layers_.back()->type() + ") gives " + layers_.back()->output_shape().str());
  if (layers_.empty()) layer->set_input_grad(input_grad_);
  layers_.push_back(std::move(layer));
  fwd_seconds_.push_back(0.0);
  bwd_seconds_.push_back(0.0);
}

template <typename T>
void Model<T>::set_input_grad(bool on) {
  input_grad_ = on;
  if (!layers_.empty()) layers_.front()->set_input_grad(on);
}

template <typename T>
void Model<T>::reset_timing() {
  std::fill(fwd_seconds_.begin(), fwd_seconds_.end(), 0.0);
  std::fill(bwd_seconds_.begin(), bwd_seconds_.end(), 0.0);
}

template <typename T>
const Mat<T>& Model<T>::forward(const Mat<T>& x, bool training) {
  if (layers_.empty()) throw Error("model has no layers");
  const Mat<T>* h = &x;
  if (!timing_) {
    for (auto& l : layers_) h = &l->forward(*h, training);
    return *h;
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    h = &layers_[i]->forward(*h, training);
    fwd_seconds_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return *h;
}

template <typename T>
const Mat<T>& Model<T>::backward(const Mat<T>& dy) {
  const Mat<T>* g = &dy;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (!timing_) {
      g = &layers_[i]->backward(*g);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    g = &layers_[i]->backward(*g);
    bwd_seconds_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return *g;
}

template <typename T>
std::vector<Param<T>> Model<T>::parameters() {
  std::vector<Param<T>> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (auto p : layers_[i]->parameters()) {
      p.name = "layers." + std::to_string(i) + "." + p.name;
      out.push_back(std::move(p));
    }
  }
  return out;
}

template <typename T>
std::vector<Buffer<T>> Model<T>::buffers() {
  std::vector<Buffer<T>> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    for (auto b : layers_[i]->buffers()) {
      b.name = "layers." + std::to_string(i) + "." + b.name;
      out.push_back(std::move(b));
    }
  }
  return out;
}

template <typename T>
std::size_t Model<T>::parameter_count() {
  std::size_t n = 0;
  for (const auto& p : parameters()) n += static_cast<std::size_t>(p.value->size());
  return n;
}

template <typename T>
std::string Model<T>::summary() const {
  std::string s;
  for (const auto& l : layers_) {
    if (!s.empty()) s += " ";
    s += l->type();
    if (!is_activation(*l)) s += "(" + std::to_string(l->in_features()) + "->" + std::to_string(l->out_features()) + ")";
  }
  return s;
}

template <typename T>
Model<T> build_model(const std::vector<LayerSpec>& layers, const Shape& input, std::uint64_t seed) {
  if (static_cast<std::int64_t>(layers.size()) >= max_top_level_layers)
    throw ConfigError("model: " + std::to_string(layers.size()) + " layers; at most " +
                      std::to_string(max_top_level_layers - 1) + " (each layer's random streams are numbered)");
  Model<T> m;
  Shape shape = input;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    BuildContext ctx;
    ctx.input = shape;
    ctx.seed = seed;
    ctx.index = static_cast<std::int64_t>(i);
    LayerPtr<T> layer;
    try {
      layer = make_layer<T>(layers[i], ctx);
    } catch (const ShapeError& e) {
      throw ShapeError(at_path(layers[i].path, e.what()));
    }
    shape = layer->output_shape();
    m.add(std::move(layer));
  }
  return m;
}

template <typename T>
Model<T> build_model(const nlohmann::json& layers, const Shape& input, std::uint64_t seed, const std::string& path) {
  if (!layers.is_array() || layers.empty()) throw ConfigError(path + ": expected a non-empty array of layers");
  std::vector<LayerSpec> specs;
  for (std::size_t i = 0; i < layers.size(); ++i)
    specs.push_back(resolve_layer(layers[i], path + "[" + std::to_string(i) + "]"));
  return build_model<T>(specs, input, seed);
}

template class Model<float>;
template class Model<double>;
template Model<float> build_model<float>(const std::vector<LayerSpec>&, const Shape&, std::uint64_t);
template Model<double> build_model<double>(const std::vector<LayerSpec>&, const Shape&, std::uint64_t);
template Model<float> build_model<float>(const nlohmann::json&, const Shape&, std::uint64_t, const std::string&);
template Model<double> build_model<double>(const nlohmann::json&, const Shape&, std::uint64_t, const std::string&);

}  // namespace nnlab
