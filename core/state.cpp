#include "core/state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"

namespace nnlab {

namespace {
std::string exact_min(double m) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", m);
  return b;
}
}  // namespace

TensorFile model_tensors(Model<float>& model) {
  TensorFile f;
  for (const auto& p : model.parameters()) {
    StoredTensor t;
    t.shape = p.shape;
    t.data.assign(p.value->data(), p.value->data() + p.value->size());
    f.tensors.emplace(p.name, std::move(t));
  }
  for (const auto& b : model.buffers()) {
    StoredTensor t;
    t.shape = b.shape;
    t.data.assign(b.value->data(), b.value->data() + b.value->size());
    f.tensors.emplace(b.name, std::move(t));
  }
  return f;
}

void load_model_tensors(Model<float>& model, const TensorFile& file, const std::string& source) {
  // Parameters and buffers alike: a name, a shape, and where the values go.
  struct Slot {
    std::string name;
    std::vector<std::int64_t> shape;
    Mat<float>* value;
    double min = -std::numeric_limits<double>::infinity();  // buffers: what a valid value is
    bool integral = false;
  };
  std::vector<Slot> params;
  for (const auto& p : model.parameters()) params.push_back({p.name, p.shape, p.value});
  for (const auto& b : model.buffers()) params.push_back({b.name, b.shape, b.value, b.min, b.integral});
  std::vector<std::string> expected;
  for (const auto& p : params) expected.push_back(p.name);
  for (const auto& [name, t] : file.tensors)
    if (std::find(expected.begin(), expected.end(), name) == expected.end())
      throw CheckpointError(source + ": tensor '" + name + "' does not belong to this model" + did_you_mean(name, expected));
  for (auto& p : params) {
    auto it = file.tensors.find(p.name);
    if (it == file.tensors.end()) throw CheckpointError(source + ": tensor '" + p.name + "' is missing");
    if (it->second.shape != p.shape) {
      auto str = [](const std::vector<std::int64_t>& s) {
        std::string o = "[";
        for (std::size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
        return o + "]";
      };
      throw CheckpointError(source + ": tensor '" + p.name + "' has shape " + str(it->second.shape) + ", the model needs " +
                            str(p.shape));
    }
    const auto& data = it->second.data;
    for (std::size_t i = 0; i < data.size(); ++i) {
      const float v = data[i];
      if (!std::isfinite(v))
        throw CheckpointError(source + ": tensor '" + p.name + "' holds NaN or infinite values (written by a diverged run?)");
      if (static_cast<double>(v) < p.min || (p.integral && std::floor(v) != v)) {
        char text[64];
        std::snprintf(text, sizeof text, "%.9g", static_cast<double>(v));
        throw CheckpointError(source + ": tensor '" + p.name + "' holds " + text + " (element " + std::to_string(i) +
                              "), " + (p.integral && std::floor(v) != v ? std::string("not a whole number")
                                                                         : "below its minimum " + exact_min(p.min)) +
                              " (a damaged file?)");
      }
    }
    std::copy(it->second.data.begin(), it->second.data.end(), p.value->data());
  }
}

}  // namespace nnlab
