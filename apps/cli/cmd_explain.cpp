// nnlab explain [CONFIG] [--set path=value ...] [--batch N]
//
// One forward and backward pass of the configured model on the first N training samples, in
// double precision, told tensor by tensor: for every layer in forward order its formula (the
// registry's summary, the one `nnlab list` prints), its input and output shapes and values; the
// loss; then in backward order dL/dy arriving, dL/dx leaving and dL/dθ for every parameter, each
// compared with central finite differences of the loss (the makemore "backprop ninja" check:
// exact / close / WRONG, with the largest absolute and relative differences). Tensors of at most
// kShowAll values are printed whole, larger ones as shape, mean, std, min, max; finite differences
// are taken at every element of small tensors and at kProbe evenly spaced elements of large ones;
// an element where the loss has a kink (a ReLU or max-pool switch within the step) is skipped and
// counted.
//
// The pass runs in evaluation mode (Dropout off, BatchNorm on its running statistics) so that the
// loss is a deterministic function of each tensor. The weights are the configured initialisation
// for the config's seed. Default CONFIG: configs/explain_tiny.json (a 2-4-3 network on 4 spirals
// samples, small enough to print every number).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/cli/command.hpp"
#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/run/data.hpp"
#include "core/run/spec.hpp"

namespace nnlab::app {
namespace {

constexpr Index kShowAll = 24;  // tensors with at most this many values are printed whole
constexpr Index kProbe = 16;    // finite differences at this many elements of a larger tensor

struct ExplainArgs {
  std::string config = "configs/explain_tiny.json";
  std::vector<std::string> sets;
  Index batch = 4;
};

std::string shape_text(const MatD& m) { return "[" + std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "]"; }

void print_tensor(const char* indent, const std::string& name, const MatD& m) {
  std::printf("%s%-11s %-9s", indent, name.c_str(), shape_text(m).c_str());
  if (m.size() <= kShowAll) {
    for (Index r = 0; r < m.rows(); ++r) {
      std::printf("%s", r == 0 ? " " : (std::string("\n") + indent + std::string(22, ' ')).c_str());
      for (Index c = 0; c < m.cols(); ++c) std::printf(" %10.5f", m(r, c));
    }
    std::printf("\n");
    return;
  }
  const double mean = m.mean();
  const double sd = std::sqrt((m.array() - mean).square().mean());
  std::printf(" mean %.5g  std %.5g  min %.5g  max %.5g  (%ld values)\n", mean, sd, m.minCoeff(), m.maxCoeff(),
              static_cast<long>(m.size()));
}

// The elements finite differences are taken at: all of a small tensor, kProbe spread over a large one.
std::vector<Index> probe_elements(Index n) {
  std::vector<Index> idx;
  if (n <= 4 * kProbe) {
    for (Index i = 0; i < n; ++i) idx.push_back(i);
  } else {
    for (Index k = 0; k < kProbe; ++k) idx.push_back(k * (n - 1) / (kProbe - 1));
  }
  return idx;
}

struct Comparison {
  double max_abs = 0, max_rel = 0;
  Index checked = 0, of = 0, kinks = 0;  // kinks: probed elements where the loss is not differentiable
  // exact: identical; close: within 1e-3 relative. Finite differences in double agree to 1e-6 or
  // better where the loss is smooth; a BatchNorm scale in a CNN feeds thousands of ReLU units, and
  // the few that switch within the step leave up to ~3e-4. A derivation error is O(1): WRONG.
  std::string verdict() const { return max_abs == 0 ? "exact" : max_rel <= 1e-3 ? "close" : "WRONG"; }
};

// Central differences of `loss_of()` with respect to the elements of `v` (perturbed in place and
// restored), against the analytic gradient `g`.
// An element where the loss has a kink (a ReLU unit or a max-pool choice switches within the step:
// the left and right differences disagree) has no derivative to compare; it is counted, not
// compared.
template <typename Loss>
Comparison compare(MatD& v, const MatD& g, Loss loss_of) {
  Comparison c;
  c.of = v.size();
  const double centre = loss_of();
  for (Index i : probe_elements(v.size())) {
    double& p = v.data()[i];
    // A small step: in a CNN one weight feeds thousands of ReLU and max-pool units, and a larger
    // step moves some of them across their kinks. The cancellation error of (up − down) is about
    // 1e-16·|L|/h = 1e-10, far below the gradients compared.
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

void print_comparison(const Comparison& c) {
  if (c.checked == 0) {
    std::printf("           vs finite differences: not compared (all %ld probed elements sit at kinks)\n", static_cast<long>(c.kinks));
    return;
  }
  std::printf("           vs finite differences: %s (max abs diff %.2e, max rel diff %.2e; %ld of %ld elements%s)\n",
              c.verdict().c_str(), c.max_abs, c.max_rel, static_cast<long>(c.checked), static_cast<long>(c.of),
              c.kinks ? (", " + std::to_string(c.kinks) + " more at kinks skipped").c_str() : "");
}

void run_explain(const ExplainArgs& a) {
  // At most 64: explain is read, not trained with (a CNN keeps every layer's input in double).
  if (a.batch < 1 || a.batch > 64) throw ConfigError("--batch: expected 1 to 64 samples, got " + std::to_string(a.batch));
  const RunSpec spec = load_config(a.config, a.sets);
  const RunData data = load_run_data(spec.data, spec.train.seed);
  if (data.train.rows < a.batch)
    throw ConfigError("--batch " + std::to_string(a.batch) + ": the training set has only " + std::to_string(data.train.rows) + " samples");
  const ModelSpec bound = spec.model.bind(data.train.sample_shape(), data.train.classes, spec.data.dataset());
  Model<double> model = build_model<double>(bound.layers, bound.input_shape, spec.train.seed);
  auto loss = make_loss<double>(spec.train.loss);
  std::vector<Index> rows(static_cast<std::size_t>(a.batch));
  for (Index i = 0; i < a.batch; ++i) rows[static_cast<std::size_t>(i)] = i;
  MatD x;
  std::vector<std::int32_t> labels;
  data.train.gather(rows, x, labels);
  MatD onehot;  // for a loss on values (mse): the one-hot targets
  if (spec.train.loss != "cross_entropy") {
    onehot = MatD::Zero(x.rows(), data.train.classes);
    for (Index i = 0; i < x.rows(); ++i) onehot(i, labels[static_cast<std::size_t>(i)]) = 1;
  }
  const Target<double> target{labels, spec.train.loss == "cross_entropy" ? nullptr : &onehot};

  const std::size_t n = model.size();
  std::printf("nnlab explain: one forward and backward pass of %s on %ld samples of %s, in double precision\n",
              model.summary().c_str(), static_cast<long>(a.batch), spec.data.dataset().c_str());
  std::printf("(evaluation mode; weights: the initialisation for seed %llu; loss: %s)\n\n",
              static_cast<unsigned long long>(spec.train.seed), spec.train.loss.c_str());

  // Forward, keeping every layer's input.
  std::printf("forward\n");
  std::vector<MatD> inputs(n + 1);
  inputs[0] = x;
  print_tensor("  ", "x", x);
  std::string label_text;
  for (auto l : labels) label_text += " " + std::to_string(l);
  std::printf("  %-11s%s\n", "labels", label_text.c_str());
  for (std::size_t i = 0; i < n; ++i) {
    Layer<double>& layer = model.layer(i);
    std::printf("[%zu] %s: %s\n", i, layer.type().c_str(), layer_entry(layer).summary.c_str());
    for (auto& p : layer.parameters()) print_tensor("      ", p.name, *p.value);
    inputs[i + 1] = layer.forward(inputs[i], false);
    print_tensor("      ", "y", inputs[i + 1]);
  }
  const double l0 = loss->forward(inputs[n], target);
  std::printf("loss %s = %.10g (mean over the %ld samples)\n\n", spec.train.loss.c_str(), l0, static_cast<long>(a.batch));

  // Backward: every gradient first (finite differences overwrite what the layers saved).
  std::vector<MatD> dys(n), dxs(n);
  std::vector<std::vector<MatD>> dparams(n);
  MatD dy = loss->backward();
  for (std::size_t k = n; k-- > 0;) {
    Layer<double>& layer = model.layer(k);
    layer.forward(inputs[k], false);  // the saved values of this input, for its backward
    dys[k] = dy;
    dxs[k] = layer.backward(dy);
    for (auto& p : layer.parameters()) dparams[k].push_back(*p.grad);
    dy = dxs[k];
  }
  // The loss from layer `from` on, with `input` as that layer's input.
  auto loss_from = [&](std::size_t from, const MatD& input) {
    MatD h = input;
    for (std::size_t k = from; k < n; ++k) h = model.layer(k).forward(h, false);
    return loss->forward(h, target);
  };
  std::printf("backward (dL/dy arrives from the layer above; dL/dx = what the layer's backward returns)\n");
  int wrong = 0;
  for (std::size_t k = n; k-- > 0;) {
    Layer<double>& layer = model.layer(k);
    std::printf("[%zu] %s\n", k, layer.type().c_str());
    print_tensor("      ", "dL/dy", dys[k]);
    MatD in = inputs[k];
    print_tensor("      ", "dL/dx", dxs[k]);
    const Comparison cx = compare(in, dxs[k], [&] { return loss_from(k, in); });
    print_comparison(cx);
    wrong += cx.checked > 0 && cx.verdict() == "WRONG";
    auto params = layer.parameters();
    for (std::size_t j = 0; j < params.size(); ++j) {
      print_tensor("      ", "dL/d" + params[j].name, dparams[k][j]);
      const Comparison cp = compare(*params[j].value, dparams[k][j], [&] { return loss_from(k, inputs[k]); });
      print_comparison(cp);
      wrong += cp.checked > 0 && cp.verdict() == "WRONG";
    }
  }
  if (wrong) throw Error("explain: " + std::to_string(wrong) + " gradient(s) disagree with finite differences (marked WRONG above)");
  std::printf("\nevery gradient agrees with finite differences\n");
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<ExplainArgs>();
  sub.add_option("config", a->config, "training config (default: configs/explain_tiny.json)")->capture_default_str();
  sub.add_option("--set", a->sets, "override a config value, e.g. --set model.activation=elu (repeatable)");
  sub.add_option("--batch", a->batch, "samples in the step, 1 to 64")->capture_default_str();
  sub.callback([a] { run_explain(*a); });
}

}  // namespace

NNLAB_COMMAND("explain", "one forward/backward pass told tensor by tensor, each gradient checked by finite differences", setup);

}  // namespace nnlab::app
