#include "core/gradcheck/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/rng.hpp"

namespace nnlab {

bool GradCheckReport::ok() const {
  return !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const auto& e) { return e.ok; });
}

double GradCheckReport::max_error() const {
  double m = 0;
  for (const auto& e : entries) m = std::max(m, e.max_error);
  return m;
}

std::string GradCheckReport::format() const {
  std::string out;
  char buf[512];
  for (const auto& e : entries) {
    std::snprintf(buf, sizeof buf, "%-14s %-10s max rel err %.3e  (%ld compared, %ld skipped near kinks)  %s%s\n",
                  subject.c_str(), e.name.c_str(), e.max_error, static_cast<long>(e.compared),
                  static_cast<long>(e.skipped), e.ok ? "ok" : "FAIL", e.problem.empty() ? "" : (": " + e.problem).c_str());
    out += buf;
  }
  return out;
}

GradCheckReport check_gradients(const std::string& subject, const std::function<const MatD&()>& outputs,
                                const MatD& weights, std::vector<GradVariable>& vars, const GradCheckOptions& opt) {
  GradCheckReport report;
  report.subject = subject;
  MatD plus, minus;
  for (auto& v : vars) {
    GradCheckEntry e;
    e.name = v.name;
    if (v.analytic.size() != v.value->size()) {
      e.problem = "analytic gradient has " + std::to_string(v.analytic.size()) + " elements, value has " +
                  std::to_string(v.value->size());
      report.entries.push_back(e);
      continue;
    }
    bool any_nonzero = false;
    for (Index i = 0; i < v.value->size(); ++i) {
      if (!v.skip.empty() && v.skip[static_cast<std::size_t>(i)]) {
        ++e.skipped;
        continue;
      }
      double& p = v.value->data()[i];
      const double original = p;
      const double h = opt.step * std::max(1.0, std::abs(original));
      p = original + h;
      plus = outputs();
      p = original - h;
      minus = outputs();
      p = original;
      // Summed in index order by a plain loop: Eigen's vectorised sum adds in an order set by the
      // CPU's vector width, which would make the printed digits of a finite difference depend on it.
      double change = 0.0;
      for (Index k = 0; k < weights.size(); ++k) change += weights.data()[k] * (plus.data()[k] - minus.data()[k]);
      const double numeric = change / (2 * h);
      const double analytic = v.analytic.data()[i];
      const double err = gradcheck_error(analytic, numeric, opt.floor);
      ++e.compared;
      any_nonzero |= (analytic != 0.0 || numeric != 0.0);
      e.max_abs_gradient = std::max({e.max_abs_gradient, std::abs(analytic), std::abs(numeric)});
      if (e.worst < 0 || err > e.max_error) {
        e.max_error = err;
        e.worst = i, e.analytic_at_worst = analytic, e.numeric_at_worst = numeric;
      }
    }
    if (e.compared == 0) e.problem = "compared nothing";
    else if (!any_nonzero) e.problem = "analytic and numeric gradients are both zero everywhere";
    else if (!(e.max_error <= opt.tolerance)) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "element %ld: analytic %.10g, numeric %.10g", static_cast<long>(e.worst),
                    e.analytic_at_worst, e.numeric_at_worst);
      e.problem = buf;
    }
    e.ok = e.problem.empty();
    report.entries.push_back(e);
  }
  if (report.entries.empty()) {
    GradCheckEntry e;
    e.name = "(none)";
    e.problem = "no variables to check";
    report.entries.push_back(e);
  }
  return report;
}

MatD gradcheck_weights(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed, Rng::stream_id("gradcheck"));
  MatD w(rows, cols);
  for (Index i = 0; i < w.size(); ++i) w.data()[i] = rng.normal();
  return w;
}

double gradcheck_error(double analytic, double numeric, double floor) {
  if (!std::isfinite(analytic) || !std::isfinite(numeric)) return std::numeric_limits<double>::infinity();
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
}

GradCheckReport check_layer(Layer<double>& layer, const MatD& x0, const GradCheckOptions& opt) {
  MatD x = x0;
  const MatD& y = layer.forward(x, opt.training);
  const MatD w = gradcheck_weights(y.rows(), y.cols(), opt.seed);
  std::vector<GradVariable> vars;
  GradVariable in{"input", &x, layer.backward(w), {}};
  const auto kinks = layer.kinks();
  if (!kinks.empty()) {
    in.skip.resize(static_cast<std::size_t>(x.size()), 0);
    for (Index i = 0; i < x.size(); ++i)
      for (double k : kinks)
        if (std::abs(x.data()[i] - k) < opt.kink_band) in.skip[static_cast<std::size_t>(i)] = 1;
  }
  vars.push_back(std::move(in));
  for (auto& p : layer.parameters()) vars.push_back({p.name, p.value, *p.grad, {}});
  auto outputs = [&]() -> const MatD& { return layer.forward(x, opt.training); };
  return check_gradients(layer.type(), outputs, w, vars, opt);
}

GradCheckReport check_loss(Loss<double>& loss, const MatD& z0, const Target<double>& target,
                           const GradCheckOptions& opt) {
  MatD z = z0;
  loss.forward(z, target);
  std::vector<GradVariable> vars{{"input", &z, loss.backward(), {}}};
  MatD out(1, 1), w = MatD::Ones(1, 1);
  auto outputs = [&]() -> const MatD& {
    out(0, 0) = loss.forward(z, target);
    return out;
  };
  return check_gradients(loss.name(), outputs, w, vars, opt);
}

GradCheckReport check_model(Model<double>& model, Loss<double>& loss, const MatD& x0, const Target<double>& target,
                            const GradCheckOptions& opt) {
  MatD x = x0;
  loss.forward(model.forward(x, opt.training), target);
  std::vector<GradVariable> vars{{"input", &x, model.backward(loss.backward()), {}}};
  for (auto& p : model.parameters()) vars.push_back({p.name, p.value, *p.grad, {}});
  MatD out(1, 1), w = MatD::Ones(1, 1);
  auto outputs = [&]() -> const MatD& {
    out(0, 0) = loss.forward(model.forward(x, opt.training), target);
    return out;
  };
  return check_gradients("model", outputs, w, vars, opt);
}

MatD gradcheck_input(Index rows, Index cols, std::uint64_t seed, double lo, double hi) {
  static const double edges[] = {0.0, 1e-4, -1e-4, 1.0, -1.0, 20.0, -20.0, 100.0, -100.0};
  MatD x(rows, cols);
  Rng rng(seed, Rng::stream_id("gradcheck-input"));
  Index k = 0;
  for (Index i = 0; i < x.size(); ++i) {
    if (k < static_cast<Index>(std::size(edges))) x.data()[i] = edges[k++];
    else x.data()[i] = rng.uniform(lo, hi);
  }
  return x;
}

}  // namespace nnlab
