// nnlab explain [CONFIG] [--set path=value ...] [--batch N] [--html FILE]
//
// One training step of the configured model on the first N training samples, in double
// precision, told tensor by tensor (core/gradcheck/explain.hpp computes it): for every layer in
// forward order its summary and formula (the registry's, as `nnlab list` prints them), its input
// and output shapes and values; the loss; then in backward order the layer's derivative, dL/dy
// arriving, dL/dx leaving and dL/dθ for every parameter, each compared with central finite
// differences of the loss (the makemore "backprop ninja" check: exact / close / WRONG, with the
// largest absolute and relative differences); then the optimizer's update of the weight with the
// largest gradient (value, gradient, state slots, new value). Tensors of at most kExplainShowAll values
// are printed whole, larger ones as shape, mean, std, min, max. --html also writes the step as a
// self-contained page (apps/report/explain_html.hpp). Exit status 1 when a gradient is WRONG.
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
#include "apps/report/explain_html.hpp"
#include "core/error.hpp"
#include "core/gradcheck/explain.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/run/data.hpp"
#include "core/run/spec.hpp"

namespace nnlab::app {
namespace {


struct ExplainArgs {
  std::string config = "configs/explain_tiny.json";
  std::vector<std::string> sets;
  Index batch = 4;
  std::string html;
};

void print_tensor(const char* indent, const std::string& name, const MatD& m) {
  std::printf("%s%-11s %-9s", indent, name.c_str(), shape_text(m).c_str());
  if (m.size() <= kExplainShowAll) {
    for (Index r = 0; r < m.rows(); ++r) {
      std::printf("%s", r == 0 ? " " : (std::string("\n") + indent + std::string(22, ' ')).c_str());
      for (Index c = 0; c < m.cols(); ++c) std::printf(" %10.5f", m(r, c));
    }
    std::printf("\n");
    return;
  }
  const TensorSummary t = summarize(m);
  std::printf(" mean %.5g  std %.5g  min %.5g  max %.5g  (%ld values)\n", t.mean, t.std, t.min, t.max, static_cast<long>(m.size()));
}

void print_check(const GradientCheck& c) {
  if (c.checked == 0) {
    std::printf("           vs finite differences: not compared (all %ld probed elements sit at kinks)\n", static_cast<long>(c.kinks));
    return;
  }
  std::printf("           vs finite differences: %s (max abs diff %.2e, max rel diff %.2e; %ld of %ld elements%s)\n",
              c.verdict().c_str(), c.max_abs, c.max_rel, static_cast<long>(c.checked), static_cast<long>(c.of),
              c.kinks ? (", " + std::to_string(c.kinks) + " more at kinks skipped").c_str() : "");
}

std::string index_text(const std::vector<std::int64_t>& index) {
  std::string s;
  for (auto i : index) s += "[" + std::to_string(i) + "]";
  return s;
}

// The optimizer's update of one weight, every number written out.
void print_update(const ExplainedUpdate& u, bool scheduled) {
  std::printf("\nupdate (%s: %s; %s)\n", u.optimizer.c_str(), u.summary.c_str(), u.settings.c_str());
  std::printf("  the weight with the largest gradient: %s%s\n", u.param.c_str(), index_text(u.index).c_str());
  std::size_t w = 9;  // the name column: "new value" and every slot name
  for (const auto& slot : u.slots) w = std::max(w, slot.first.size());
  const int width = static_cast<int>(w);
  std::printf("    %-*s % .8g\n", width, "value", u.value);
  std::printf("    %-*s % .8g%s\n", width, "gradient", u.grad, u.weight_decay ? "" : "   (no weight decay for this parameter)");
  for (const auto& [name, v] : u.slots) std::printf("    %-*s % .8g   (state after the step)\n", width, name.c_str(), v);
  // The step the optimizer took, in units of lr: the gradient for plain SGD, the momentum buffer
  // with momentum, m̂/(√v̂ + ε) for Adam.
  std::printf("    %-*s % .8g = value - lr x step, step = %.8g   (lr %g)\n", width, "new value", u.new_value,
              (u.value - u.new_value) / u.lr, u.lr);
  if (scheduled) std::printf("  (the config's learning-rate schedule is not applied: this is the optimizer's base lr)\n");
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

  const Explanation e = explain_step(model, x, labels, spec.train.loss, spec.train.loss == "cross_entropy" ? nullptr : &onehot);
  const ExplainedUpdate update = explain_update(spec.optimizer, model);
  if (!a.html.empty()) {
    report::write_explain_html(e, update, a.html);
    std::printf("wrote %s\n\n", a.html.c_str());
  }

  std::printf("nnlab explain: one forward and backward pass of %s on %ld samples of %s, in double precision\n",
              e.model_summary.c_str(), static_cast<long>(a.batch), spec.data.dataset().c_str());
  std::printf("(evaluation mode; weights: the initialisation for seed %llu; loss: %s)\n\n",
              static_cast<unsigned long long>(spec.train.seed), spec.train.loss.c_str());

  std::printf("forward\n");
  print_tensor("  ", "x", x);
  std::string label_text;
  for (auto l : labels) label_text += " " + std::to_string(l);
  std::printf("  %-11s%s\n", "labels", label_text.c_str());
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    const ExplainedLayer& l = e.layers[i];
    std::printf("[%zu] %s: %s   %s -> %s\n", i, l.type.c_str(), l.summary.c_str(), l.input_shape.str().c_str(),
                l.output_shape.str().c_str());
    std::printf("      %s\n", l.formula.c_str());
    for (const auto& p : l.params) print_tensor("      ", p.name, p.value);
    print_tensor("      ", "y", l.output);
  }
  std::printf("loss %s = %.10g (mean over the %ld samples)\n\n", e.loss_name.c_str(), e.loss, static_cast<long>(a.batch));

  std::printf("backward (dL/dy arrives from the layer above; dL/dx = what the layer's backward returns)\n");
  for (std::size_t k = e.layers.size(); k-- > 0;) {
    const ExplainedLayer& l = e.layers[k];
    std::printf("[%zu] %s   %s\n", k, l.type.c_str(), l.derivative.c_str());
    print_tensor("      ", "dL/dy", l.dy);
    print_tensor("      ", "dL/dx", l.dx);
    print_check(l.dx_check);
    for (const auto& p : l.params) {
      print_tensor("      ", "dL/d" + p.name, p.grad);
      print_check(p.check);
    }
  }
  print_update(update, spec.schedule.has_value());
  if (e.wrong) {
    const ExplainedLayer& c = e.layers[static_cast<std::size_t>(e.culprit)];
    throw Error("explain: " + std::to_string(e.wrong) + " gradient(s) disagree with finite differences (marked WRONG above); look first at [" +
                std::to_string(e.culprit) + "] " + c.type + ", the first in backward order: its backward is '" + c.derivative +
                "', and a wrong dL/dx there makes every layer below it WRONG too" +
                (is_activation(layer_entry(c.type).kind) ? "; `nnlab gradcheck " + c.type + "` diagnoses it" : std::string()));
  }
  std::printf("\nevery gradient agrees with finite differences\n");
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<ExplainArgs>();
  sub.add_option("config", a->config, "training config (default: configs/explain_tiny.json)")->capture_default_str();
  sub.add_option("--set", a->sets, "override a config value, e.g. --set model.activation=elu (repeatable)");
  sub.add_option("--batch", a->batch, "samples in the step, 1 to 64")->capture_default_str();
  sub.add_option("--html", a->html, "also write the step as a self-contained page: the network drawn with every tensor's norm (every neuron and weight for a network of at most 50 units), and every table");
  sub.callback([a] { run_explain(*a); });
}

}  // namespace

NNLAB_COMMAND("explain", "one forward/backward pass told tensor by tensor, each gradient checked by finite differences", setup);

}  // namespace nnlab::app
