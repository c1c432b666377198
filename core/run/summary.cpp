#include "core/run/summary.hpp"

#include <algorithm>
#include <cstdio>

namespace nnlab {
namespace {

std::size_t parameter_count(Layer<float>& layer) {
  std::size_t n = 0;
  for (const auto& p : layer.parameters()) n += static_cast<std::size_t>(p.value->size());
  return n;
}

std::string mflop_text(double flops) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", flops / 1e6);
  return buf;
}

// "1,707,274"
std::string grouped(std::size_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string pad_right(const std::string& s, std::size_t w) { return s + std::string(w > s.size() ? w - s.size() : 0, ' '); }
std::string pad_left(const std::string& s, std::size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; }

}  // namespace

ModelCost model_cost(Model<float>& model) {
  ModelCost c;
  for (std::size_t i = 0; i < model.size(); ++i) {
    c.parameters += parameter_count(model.layer(i));
    c.forward_flops += model.layer(i).flops();
  }
  c.training_flops = 3.0 * c.forward_flops - (model.size() ? model.layer(0).flops() : 0.0);
  return c;
}

std::string model_summary(Model<float>& model, const std::vector<LayerSpec>& layers) {
  struct Row {
    std::string index, layer, shape, parameters, mflop;
  };
  std::vector<Row> rows;
  rows.push_back({"#", "layer", "output shape", "parameters", "MFLOP/sample"});
  rows.push_back({"", "input", model.input_shape().str(), "", ""});
  // The type column is as wide as the widest type, so the paths line up.
  std::size_t type_w = 0;
  for (std::size_t i = 0; i < model.size(); ++i) type_w = std::max(type_w, model.layer(i).type().size());
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer<float>& l = model.layer(i);
    const std::string path = i < layers.size() ? layers[i].path : "";
    std::string name = path.empty() ? l.type() : pad_right(l.type(), type_w) + "  " + path;
    rows.push_back({std::to_string(i), name, l.output_shape().str(), grouped(parameter_count(l)), mflop_text(l.flops())});
  }
  std::size_t w[5] = {0, 0, 0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.index.size()), w[1] = std::max(w[1], r.layer.size());
    w[2] = std::max(w[2], r.shape.size()), w[3] = std::max(w[3], r.parameters.size());
    w[4] = std::max(w[4], r.mflop.size());
  }
  auto line = [&](const Row& r) {
    std::string s = pad_left(r.index, w[0]) + "  " + pad_right(r.layer, w[1]) + "  " + pad_right(r.shape, w[2]) + "  " +
                    pad_left(r.parameters, w[3]) + "  " + pad_left(r.mflop, w[4]);
    s.erase(s.find_last_not_of(' ') + 1);
    return s + "\n";
  };
  const std::string rule = std::string(w[0] + w[1] + w[2] + w[3] + w[4] + 8, '-') + "\n";
  std::string out = line(rows[0]) + rule;
  for (std::size_t i = 1; i < rows.size(); ++i) out += line(rows[i]);
  out += rule;
  const ModelCost c = model_cost(model);
  out += "parameters: " + grouped(c.parameters) + "\n";
  out += "forward:  " + mflop_text(c.forward_flops) + " MFLOP per sample\n";
  out += "training: " + mflop_text(c.training_flops) + " MFLOP per sample (forward + backward, estimated)\n";
  return out;
}

}  // namespace nnlab
