// The diagnosing checker for element-wise layers (see diagnose.hpp).
#include "core/gradcheck/diagnose.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>


namespace nnlab {

namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// f evaluated entry by entry at x + delta (an element-wise layer: every output depends on its own input only).
MatD values_at(Layer<double>& layer, const MatD& x, const MatD& delta, double sign) {
  const MatD shifted = x + sign * delta;
  return layer.forward(shifted, false);
}

}  // namespace

std::string GradDiagnosis::format() const {
  std::string s = message + "\n";
  if (!worst.empty()) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-8s %14s %16s %16s %12s %10s\n", "element", "x", "analytic", "numeric", "ratio", "rel err");
    s += buf;
    for (const auto& p : worst) {
      const double ratio = p.numeric != 0 ? p.analytic / p.numeric : std::numeric_limits<double>::quiet_NaN();
      std::snprintf(buf, sizeof buf, "  %-8ld %14.6g %16.9g %16.9g %12.6g %10.3e\n", static_cast<long>(p.index), p.x,
                    p.analytic, p.numeric, ratio, p.error);
      s += buf;
    }
  }
  return s;
}

GradDiagnosis diagnose_elementwise(Layer<double>& layer, const MatD& x, const GradCheckOptions& opt,
                                   const std::string& convention) {
  GradDiagnosis d;
  const Index n = x.size();
  // The same output weights as check_layer (dy), and the checker's step h = step · max(1, |x|).
  const MatD dy = gradcheck_weights(x.rows(), x.cols(), opt.seed);
  MatD h(x.rows(), x.cols());
  for (Index i = 0; i < n; ++i) h.data()[i] = opt.step * std::max(1.0, std::abs(x.data()[i]));

  const MatD y = layer.forward(x, false);
  const MatD plus = values_at(layer, x, h, +1), minus = values_at(layer, x, h, -1);
  // f' at the outputs, for the "evaluated at the output" hypothesis.
  MatD hy(y.rows(), y.cols());
  for (Index i = 0; i < n; ++i) hy.data()[i] = opt.step * std::max(1.0, std::abs(y.data()[i]));
  MatD y_plus, y_minus;
  const bool y_finite = y.allFinite();
  if (y_finite) y_plus = values_at(layer, y, hy, +1), y_minus = values_at(layer, y, hy, -1);
  // backward last: it reads what the forward at x saved.
  layer.forward(x, opt.training);
  const MatD analytic = layer.backward(dy);

  std::vector<double> fprime(static_cast<std::size_t>(n)), numeric(static_cast<std::size_t>(n)), err(static_cast<std::size_t>(n));
  std::vector<char> kink(static_cast<std::size_t>(n), 0);
  for (Index i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double hi = h.data()[i];
    fprime[k] = (plus.data()[i] - minus.data()[i]) / (2 * hi);
    numeric[k] = dy.data()[i] * fprime[k];
    err[k] = gradcheck_error(analytic.data()[i], numeric[k], opt.floor);
    const double left = (y.data()[i] - minus.data()[i]) / hi, right = (plus.data()[i] - y.data()[i]) / hi;
    kink[k] = std::abs(left - right) > 1e-3 * std::max({1.0, std::abs(left), std::abs(right)});
  }
  // Inputs within kink_band of a kink the layer declares are skipped, as check_layer does.
  const auto declared = layer.kinks();
  std::vector<char> skip(static_cast<std::size_t>(n), 0);
  for (Index i = 0; i < n; ++i)
    for (double k : declared)
      if (std::abs(x.data()[i] - k) < opt.kink_band) skip[static_cast<std::size_t>(i)] = 1, ++d.skipped;
  d.compared = n - d.skipped;
  std::vector<Index> failing;
  for (Index i = 0; i < n; ++i)
    if (!skip[static_cast<std::size_t>(i)] && !(err[static_cast<std::size_t>(i)] <= opt.tolerance)) failing.push_back(i);
  d.failing = static_cast<Index>(failing.size());
  std::vector<Index> order = failing;
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return err[static_cast<std::size_t>(a)] > err[static_cast<std::size_t>(b)]; });
  for (std::size_t j = 0; j < order.size() && j < 5; ++j) {
    const Index i = order[j];
    d.worst.push_back({i, x.data()[i], analytic.data()[i], numeric[static_cast<std::size_t>(i)], err[static_cast<std::size_t>(i)]});
  }
  const std::string subject = layer.type();
  if (failing.empty()) {
    d.ok = true;
    double largest = 0;
    for (Index i = 0; i < n; ++i)
      if (!skip[static_cast<std::size_t>(i)]) largest = std::max(largest, err[static_cast<std::size_t>(i)]);
    d.message = subject + ": the input gradient matches central differences at all " + std::to_string(d.compared) +
                " inputs" + (d.skipped ? " (" + std::to_string(d.skipped) + " at declared kinks skipped)" : std::string()) +
                ", largest relative error " + fmt("%.2e", largest);
    return d;
  }
  const std::string head = subject + ": " + std::to_string(d.failing) + " of " + std::to_string(d.compared) + " inputs are wrong. ";

  // Does analytic ≈ predict(i) at every input where either is not negligible?
  const double loose = std::max(opt.tolerance * 10, 1e-5);
  auto everywhere = [&](const std::function<double(Index)>& predict) {
    int informative = 0;
    for (Index i = 0; i < n; ++i) {
      const double p = predict(i), a = analytic.data()[i];
      if (kink[static_cast<std::size_t>(i)] || skip[static_cast<std::size_t>(i)]) continue;
      if (std::max(std::abs(p), std::abs(a)) <= opt.floor) continue;
      if (!(gradcheck_error(a, p, opt.floor) <= loose)) return false;
      ++informative;
    }
    return informative >= 2;
  };

  // Wrong only for large |x|.
  const bool only_large = std::all_of(failing.begin(), failing.end(), [&](Index i) { return std::abs(x.data()[i]) >= 10; });
  if (only_large && static_cast<Index>(failing.size()) < d.compared) {
    d.mistake = "large_inputs";
    d.message = head + "All of them have |x| >= 10, and every smaller input is right: the formula is unstable for large "
                "inputs (an exp(x) that overflows, a difference of two huge terms, inf/inf = NaN). Rewrite it in a "
                "form that cannot overflow, e.g. sigmoid(x) = exp(-log1p(exp(-x))) or the two-sided form "
                "x >= 0 ? 1/(1+exp(-x)) : exp(x)/(1+exp(x)).";
    return d;
  }
  // Wrong only at kinks.
  if (std::all_of(failing.begin(), failing.end(), [&](Index i) { return kink[static_cast<std::size_t>(i)] != 0; })) {
    std::string where;
    std::vector<double> seen;
    for (Index i : failing)
      if (std::find(seen.begin(), seen.end(), x.data()[i]) == seen.end() && seen.size() < 4) seen.push_back(x.data()[i]);
    for (double v : seen) where += (where.empty() ? "" : ", ") + fmt("%g", v);
    d.mistake = "kinks";
    d.message = head + "All of them are at kinks, where the left and right derivatives differ (x = " + where +
                "): f is not differentiable there and any value between the two one-sided derivatives is a valid "
                "subgradient; the central difference is their mean. This is a convention, not a bug: declare the "
                "kink (Layer::kinks()) so the checker skips it, and follow PyTorch" +
                (convention.empty() ? std::string(", which takes the derivative of one side (see the reference test)")
                                    : " (" + convention + ")") + ".";
    return d;
  }
  // Sign flipped.
  if (everywhere([&](Index i) { return -numeric[static_cast<std::size_t>(i)]; })) {
    d.mistake = "sign";
    d.message = head + "Everywhere analytic = -numeric (ratio -1): the sign is flipped. Check the sign of each term "
                "of the derivative (d/dx of -x, of exp(-x), of 1 - y).";
    return d;
  }
  // Upstream gradient ignored.
  if (everywhere([&](Index i) { return fprime[static_cast<std::size_t>(i)]; })) {
    d.mistake = "upstream";
    d.message = head + "backward returns f'(x) itself: the upstream gradient dy is ignored. The chain rule needs "
                "dL/dx = dL/dy * f'(x): multiply by dy element by element.";
    return d;
  }
  // Evaluated at the output.
  if (y_finite && everywhere([&](Index i) { return dy.data()[i] * (y_plus.data()[i] - y_minus.data()[i]) / (2 * hy.data()[i]); })) {
    d.mistake = "at_output";
    d.message = head + "backward returns dy * f'(f(x)): the derivative is evaluated at the output y instead of the "
                "input x. A derivative written in terms of y (sigmoid: y(1 - y)) must use the saved y as it is, not "
                "apply f' to it.";
    return d;
  }
  // A constant factor.
  double ratio = 0;
  bool first = true, constant = true;
  for (Index i = 0; i < n && constant; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (kink[k] || skip[k] || std::abs(numeric[k]) <= opt.floor) continue;
    const double r = analytic.data()[i] / numeric[k];
    if (first) ratio = r, first = false;
    else if (!(std::abs(r - ratio) <= loose * std::abs(ratio))) constant = false;
  }
  if (!first && constant && std::isfinite(ratio) && std::abs(ratio - 1) > 1e-3) {
    d.mistake = "factor";
    d.factor = ratio;
    d.message = head + "Everywhere analytic = " + fmt("%.6g", ratio) + " * numeric: a constant factor is wrong (a "
                "forgotten 1/2 or 2, a parameter such as beta or alpha not applied, or applied twice).";
    return d;
  }
  d.message = head + "The errors follow none of the usual patterns (sign, constant factor, upstream gradient ignored, "
              "derivative at the output, kinks, large inputs): compare the worst points below with your derivation.";
  return d;
}

}  // namespace nnlab
