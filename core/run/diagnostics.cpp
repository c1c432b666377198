// Diagnostics on a fixed probe batch (see diagnostics.hpp for what is measured and why it is safe).
#include "core/run/diagnostics.hpp"

#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/registry.hpp"

namespace nnlab {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// |f'| below this counts as saturated. In float, so that a slope of exactly 0.01f (LeakyReLU's
// default negative slope) is not counted: 0.01f is slightly below the double 0.01.
constexpr float kSaturatedSlope = 0.01f;

// A weight matrix: a parameter named "weight" of 2 or more dimensions (dense, convolution), not
// BatchNorm's per-feature scale (also named "weight", but 1-D) or an activation's parameter.
bool is_weight_matrix(const Param<float>& p) { return p.name == "weight" && p.shape.size() >= 2; }

bool has_weight(Layer<float>& layer) {
  if (is_activation(layer)) return false;
  for (const auto& p : layer.parameters())
    if (is_weight_matrix(p)) return true;
  return false;
}

// Statistics of an activation layer whose last forward was the probe: y its output.
ActivationStats activation_stats(Layer<float>& layer, const MatF& y) {
  ActivationStats s;
  s.type = layer.type();
  const auto count = static_cast<double>(y.size());
  double sum = 0, sum_sq = 0;
  for (Index i = 0; i < y.size(); ++i) sum += static_cast<double>(y.data()[i]);
  s.mean = sum / count;
  for (Index i = 0; i < y.size(); ++i) {
    const double d = static_cast<double>(y.data()[i]) - s.mean;
    sum_sq += d * d;
  }
  s.std = std::sqrt(sum_sq / count);

  // f'(x) = backward(1) for an element-wise layer (its registered kind); dead and saturated are
  // per-unit notions that a row-wise activation (softmax) does not have.
  s.elementwise = layer_entry(layer).kind == LayerKind::elementwise;
  if (!s.elementwise) {
    s.dead = s.saturated = kNaN;
    return s;
  }
  const MatF& slope = layer.backward(MatF::Ones(y.rows(), y.cols()));
  // A unit is a feature of a feature vector, a whole channel of an image (its H·W contiguous values
  // in every row): a convolution's channel is one filter, dead when no position of any sample passes
  // a gradient.
  const Shape& shape = layer.output_shape();
  const Index units = shape.rank() == 3 ? shape.channels() : slope.cols();
  const Index width = slope.cols() / units;  // values per unit in a row
  Index dead_units = 0, saturated = 0;
  for (Index u = 0; u < units; ++u) {
    bool dead = true;
    for (Index n = 0; n < slope.rows(); ++n)
      for (Index j = u * width; j < (u + 1) * width; ++j) {
        const float d = slope(n, j);
        if (d != 0.0f) dead = false;
        if (!(std::abs(d) >= kSaturatedSlope)) ++saturated;  // NaN slopes count as saturated too
      }
    if (dead) ++dead_units;
  }
  s.dead = static_cast<double>(dead_units) / static_cast<double>(units);
  s.saturated = static_cast<double>(saturated) / count;
  return s;
}

}  // namespace

ProbeDiagnostics probe_diagnostics(Model<float>& model, const MatF& x, std::span<const std::int32_t> labels,
                                   const std::string& loss_name) {
  if (model.size() == 0) throw Error("diagnostics: the model has no layers");
  // Hidden activations are those before the last layer with weights.
  std::size_t last_weight = 0;
  bool any_weight = false;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (has_weight(model.layer(i))) last_weight = i, any_weight = true;

  ProbeDiagnostics out;
  const MatF* h = &x;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer<float>& layer = model.layer(i);
    h = &layer.forward(*h, /*training=*/false);
    if (is_activation(layer) && any_weight && i < last_weight) {
      ActivationStats s = activation_stats(layer, *h);
      s.layer = i;
      out.activations.push_back(std::move(s));
    }
  }
  // Loss and backward through the whole model: every layer's last forward was the probe's.
  auto loss = make_loss<float>(loss_name);
  out.loss = static_cast<double>(loss->forward(*h, {labels, nullptr}));
  model.backward(loss->backward());
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer<float>& layer = model.layer(i);
    if (!has_weight(layer)) continue;
    for (const auto& p : layer.parameters())
      if (is_weight_matrix(p)) out.weights.push_back({i, layer.type(), static_cast<double>(p.grad->norm())});
  }
  return out;
}

void probe_batch(const RunData& data, MatF& x, std::vector<std::int32_t>& labels) {
  const Dataset& source = data.test.rows > 0 ? data.test : data.train;
  std::vector<Index> idx(static_cast<std::size_t>(std::min(kProbeSamples, source.rows)));
  std::iota(idx.begin(), idx.end(), Index{0});
  source.gather(idx, x, labels);
}

void start_diagnostics(Model<float>& model) {
  model.reset_timing();
  model.set_timing(true);
}

void add_diagnostics(EpochMetrics& m, Model<float>& model, const RunData& data, const std::string& loss) {
  // Timers first, then off while the probe runs. They hold the epoch's training pass (forward and
  // backward) and its evaluation passes (forward only); the training pass's part of the forward
  // time is taken in proportion to the samples each processed.
  const double n_train = static_cast<double>(m.train.samples);
  const double n_eval = static_cast<double>(m.test.samples + m.validation.samples);
  const double train_part = n_train + n_eval > 0 ? n_train / (n_train + n_eval) : 1.0;
  double act_seconds = 0, all_seconds = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    const double s = model.forward_seconds()[i] * train_part + model.backward_seconds()[i];
    all_seconds += s;
    if (is_activation(model.layer(i))) act_seconds += s;
  }
  model.set_timing(false);

  MatF x;
  std::vector<std::int32_t> labels;
  probe_batch(data, x, labels);
  const ProbeDiagnostics d = probe_diagnostics(model, x, labels, loss);

  for (std::size_t k = 0; k < d.activations.size(); ++k) {
    const int n = static_cast<int>(k) + 1;
    const ActivationStats& a = d.activations[k];
    m.extra.emplace_back(activation_column(n, ActivationStat::mean), a.mean);
    m.extra.emplace_back(activation_column(n, ActivationStat::std), a.std);
    m.extra.emplace_back(activation_column(n, ActivationStat::dead), a.dead);
    m.extra.emplace_back(activation_column(n, ActivationStat::sat), a.saturated);
  }
  // Learnable activation parameters as they stand after the epoch (PReLU slopes, SMU's mu, Swish's beta).
  for (std::size_t k = 0; k < d.activations.size(); ++k) {
    const int n = static_cast<int>(k) + 1;
    for (const auto& p : model.layer(d.activations[k].layer).parameters()) {
      const Eigen::Index count = p.value->size();
      if (count == 0) continue;
      const double mean = p.value->cast<double>().mean();
      m.extra.emplace_back(activation_param_column(n, p.name), mean);
      if (count > 1) {
        const double var = (p.value->cast<double>().array() - mean).square().mean();
        m.extra.emplace_back(activation_param_std_column(n, p.name), std::sqrt(var));
      }
    }
  }
  for (std::size_t k = 0; k < d.weights.size(); ++k)
    m.extra.emplace_back(weight_grad_column(static_cast<int>(k) + 1), d.weights[k].grad_norm);
  // No time was recorded when the timers were off during the epoch (start_diagnostics not called).
  const bool timed = all_seconds > 0;
  m.extra.emplace_back(kActSeconds, timed ? act_seconds : kNaN);
  m.extra.emplace_back(kActShare, timed ? act_seconds / all_seconds : kNaN);
  // The sizes behind the accuracies (the report's noise floor sqrt(p(1 − p)/N) needs N).
  m.extra.emplace_back(kTestSamples, static_cast<double>(m.test.samples));
  m.extra.emplace_back(kValSamples, static_cast<double>(m.validation.samples));

  model.reset_timing();
  model.set_timing(true);
}

}  // namespace nnlab
