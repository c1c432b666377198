#include "core/state.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace nnlab {

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
  };
  std::vector<Slot> params;
  for (const auto& p : model.parameters()) params.push_back({p.name, p.shape, p.value});
  for (const auto& b : model.buffers()) params.push_back({b.name, b.shape, b.value});
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
    for (float v : it->second.data)
      if (!std::isfinite(v))
        throw CheckpointError(source + ": tensor '" + p.name + "' holds NaN or infinite values (written by a diverged run?)");
    std::copy(it->second.data.begin(), it->second.data.end(), p.value->data());
  }
}

}  // namespace nnlab
