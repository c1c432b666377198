#include "core/gradcheck/explain.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/registry.hpp"

namespace nnlab {

std::string shape_text(const MatD& m) { return "[" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "]"; }

TensorSummary summarize(const MatD& m) {
  TensorSummary s;
  if (m.size() == 0) return s;
  s.mean = m.mean();
  s.std = std::sqrt((m.array() - s.mean).square().mean());
  s.min = m.minCoeff();
  s.max = m.maxCoeff();
  return s;
}

int ExplainedLayer::wrong() const {
  int n = dx_check.wrong();
  for (const auto& p : params) n += p.check.wrong();
  return n;
}

std::string GradientCheck::verdict() const {
  if (checked == 0) return "not compared";
  return max_abs == 0 ? "exact" : max_rel <= 1e-3 ? "close" : "WRONG";
}

namespace {

// The elements finite differences are taken at: all of a small tensor, kExplainProbe spread over a large one.
std::vector<Index> probe_elements(Index n) {
  std::vector<Index> idx;
  if (n <= 4 * kExplainProbe) {
    for (Index i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (Index k = 0; k < kExplainProbe; ++k) idx.push_back(k * (n - 1) / (kExplainProbe - 1));
  }
  return idx;
}

// Central differences of `loss_of()` with respect to the elements of `v` (perturbed in place and
// restored), against the analytic gradient `g` (see the header comment for the step and the kinks).
template <typename LossOf>
GradientCheck compare(MatD& v, const MatD& g, LossOf loss_of) {
  GradientCheck c;
  c.of = v.size();
  const double centre = loss_of();
  for (Index i : probe_elements(v.size())) {
    double& p = v.data()[i];
    const double original = p, h = 1e-6 * std::max(1.0, std::abs(original));
    p = original + h;
    const double up = loss_of();
    p = original - h;
    const double down = loss_of();
    p = original;
    const double left = (centre - down) / h, right = (up - centre) / h;
    if (std::abs(left - right) > 1e-3 * std::max({std::abs(left), std::abs(right), 1e-4})) {
      ++c.kinks;
      continue;
    }
    const double numeric = (up - down) / (2 * h), analytic = g.data()[i];
    const double diff = std::abs(analytic - numeric);
    c.max_abs = std::max(c.max_abs, diff);
    c.max_rel = std::max(c.max_rel, diff / std::max({std::abs(analytic), std::abs(numeric), 1e-4}));
    ++c.checked;
  }
  return c;
}

}  // namespace

Explanation explain_step(Model<double>& model, const MatD& x, const std::vector<std::int32_t>& labels,
                         const std::string& loss_name, const MatD* onehot) {
  Explanation e;
  e.model_summary = model.summary();
  e.x = x;
  e.labels = labels;
  e.loss_name = loss_name;
  auto loss = make_loss<double>(loss_name);
  const Target<double> target{e.labels, onehot};
  const std::size_t n = model.size();

  // Forward, keeping every layer's output (the next one's input).
  e.layers.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    Layer<double>& layer = model.layer(i);
    const LayerEntry& entry = layer_entry(layer);
    ExplainedLayer& out = e.layers[i];
    out.type = layer.type();
    out.summary = entry.summary;
    out.formula = entry.formula;
    out.derivative = entry.derivative;
    out.input_shape = layer.input_shape();
    out.output_shape = layer.output_shape();
    for (auto& p : layer.parameters()) out.params.push_back({p.name, *p.value, MatD(), {}});
    out.output = layer.forward(e.input_of(i), false);
  }
  e.loss = loss->forward(e.layers[n - 1].output, target);

  // Backward: every gradient first (finite differences overwrite what the layers saved).
  MatD dy = loss->backward();
  for (std::size_t k = n; k-- > 0;) {
    Layer<double>& layer = model.layer(k);
    ExplainedLayer& out = e.layers[k];
    layer.forward(e.input_of(k), false);  // the saved values of this input, for its backward
    out.dy = dy;
    out.dx = layer.backward(dy);
    auto params = layer.parameters();
    for (std::size_t j = 0; j < params.size(); ++j) out.params[j].grad = *params[j].grad;
    dy = out.dx;
  }

  // The checks. loss_from(k, input): the loss from layer k on, with `input` as that layer's input.
  auto loss_from = [&](std::size_t from, const MatD& input) {
    MatD h = input;
    for (std::size_t k = from; k < n; ++k) h = model.layer(k).forward(h, false);
    return loss->forward(h, target);
  };
  for (std::size_t k = n; k-- > 0;) {
    ExplainedLayer& out = e.layers[k];
    MatD in = e.input_of(k);
    out.dx_check = compare(in, out.dx, [&] { return loss_from(k, in); });
    auto params = model.layer(k).parameters();
    for (std::size_t j = 0; j < params.size(); ++j)
      out.params[j].check = compare(*params[j].value, out.params[j].grad, [&] { return loss_from(k, e.input_of(k)); });
    const int wrong = out.wrong();
    e.wrong += wrong;
    if (wrong && e.culprit < 0) e.culprit = static_cast<int>(k);
  }
  // The gradients of the batch, not of the last finite difference (explain_update reads them).
  for (std::size_t k = 0; k < n; ++k) {
    auto params = model.layer(k).parameters();
    for (std::size_t j = 0; j < params.size(); ++j) *params[j].grad = e.layers[k].params[j].grad;
  }
  return e;
}

ExplainedUpdate explain_update(const OptimizerSpec& spec, Model<double>& model) {
  auto dparams = model.parameters();
  if (dparams.empty()) throw Error("explain: the model has no parameters to update");
  // Float copies: optimizers update float parameters, as in training.
  std::vector<MatF> values, grads;
  values.reserve(dparams.size());
  grads.reserve(dparams.size());
  std::vector<Param<float>> params;
  for (auto& p : dparams) {
    values.push_back(p.value->cast<float>());
    grads.push_back(p.grad->cast<float>());
    params.push_back({p.name, &values.back(), &grads.back(), p.shape, p.weight_decay});
  }
  Index at = 0;
  const MatF& g = grads[0];
  for (Index i = 1; i < g.size(); ++i)
    if (std::abs(g.data()[i]) > std::abs(g.data()[at])) at = i;

  ExplainedUpdate u;
  u.optimizer = spec.entry->name;
  u.summary = spec.entry->summary;
  std::ostringstream settings;
  const nlohmann::json resolved = spec.to_json();
  for (const auto& [key, value] : resolved.items())
    if (key != "type") settings << (settings.tellp() > 0 ? " " : "") << key << "=" << value.dump();
  u.settings = settings.str();
  u.lr = spec.lr();
  u.param = params[0].name;
  u.weight_decay = params[0].weight_decay;
  Index rest = at;  // the flat index in the logical shape, last dimension fastest
  u.index.assign(params[0].shape.size(), 0);
  for (std::size_t d = params[0].shape.size(); d-- > 0;) {
    u.index[d] = rest % params[0].shape[d];
    rest /= params[0].shape[d];
  }
  u.value = values[0].data()[at];
  u.grad = g.data()[at];

  auto optimizer = spec.make();
  optimizer->step(params);
  u.new_value = values[0].data()[at];
  const std::string prefix = "optimizer." + params[0].name + ".";
  for (const auto& [name, tensor] : optimizer->state(params).tensors)
    if (name.rfind(prefix, 0) == 0) u.slots.emplace_back(name.substr(prefix.size()), tensor.data[static_cast<std::size_t>(at)]);
  return u;
}

}  // namespace nnlab
