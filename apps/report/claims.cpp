// The tutorial's claims next to the sweep's measurements (see claims.hpp).
#include "apps/report/claims.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"

namespace nnlab::report {

namespace {

// "a 0.1, b 0.5 and c 2.0": the settings in order of their value (ascending, or by |value|).
std::string listing(std::vector<std::pair<std::string, double>> v, const char* format, double scale, const char* unit,
                    bool by_magnitude = false) {
  std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
    return by_magnitude ? std::fabs(a.second) < std::fabs(b.second) : a.second < b.second;
  });
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {
    s += i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ");
    s += v[i].first + " " + format_number(format, v[i].second * scale) + unit;
  }
  return s;
}

// (label, mean) of the settings whose statistic is finite.
template <typename Get>
std::vector<std::pair<std::string, double>> values(const std::vector<SettingSummary>& s, Get get) {
  std::vector<std::pair<std::string, double>> v;
  for (const auto& x : s) {
    if (x.ok == 0) continue;
    const double m = get(x);
    if (std::isfinite(m)) v.emplace_back(x.label, m);
  }
  return v;
}

}  // namespace

std::vector<Claim> make_claims(const Plan& plan, const std::vector<SettingSummary>& s, const Comparisons& c) {
  std::vector<Claim> out;

  // Vanishing gradients: first-layer vs last-layer gradient after epoch 1.
  std::size_t depth = 0;
  const auto ratio = values(s, [&](const SettingSummary& x) {
    if (x.grad_first.size() < 2 || !(x.grad_first.back().mean > 0)) return kNaN;
    depth = std::max(depth, x.grad_first.size());
    return x.grad_first.front().mean / x.grad_first.back().mean;
  });
  if (ratio.size() >= 2) {
    const auto [lo, hi] = std::minmax_element(ratio.begin(), ratio.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    out.push_back({"Vanishing gradients", "Sigmoid and tanh make the gradient vanish on its way back to the first layers.",
                   "After epoch 1, the first weight layer's gradient norm over the last one's (‖∂L/∂W₁‖ / ‖∂L/∂W_" +
                       std::to_string(depth) + "‖, " + std::to_string(depth) + " weight layers, probe batch, mean over seeds) is " +
                       listing(ratio, "%.3g", 1, "") + ". Below 1 the first layer learns more slowly than the last; " + lo->first +
                       "'s ratio is " + format_number("%.3g", hi->second / lo->second) + " times smaller than " + hi->first + "'s."});
  }

  // Dead units.
  const auto dead = values(s, [](const SettingSummary& x) { return x.layer_dead.mean; });
  if (dead.size() >= 2) {
    std::vector<std::pair<std::string, double>> some;
    std::vector<std::string> none;
    for (const auto& d : dead) (d.second > 0 ? some.push_back(d), void() : none.push_back(d.first));
    std::string m = "Units whose derivative is 0 for every probe sample at the last epoch, averaged over the hidden layers: ";
    m += some.empty() ? "none in any setting" : listing(some, "%.1f", 100, "%");
    if (!some.empty() && !none.empty()) m += "; none in " + join(none);
    out.push_back({"Dead units", "ReLU units can die: once a unit's input is negative for every sample, no gradient revives it.",
                   m + "."});
  }

  // Zero-centred outputs.
  const auto mean = values(s, [](const SettingSummary& x) { return x.layer_mean.mean; });
  if (mean.size() >= 2)
    out.push_back({"Zero-centred outputs",
                   "Sigmoid's outputs are not zero-centred (all positive), which slows learning; tanh and ELU are closer to zero.",
                   "The mean hidden activation at the last epoch (probe batch, averaged over the hidden layers), from the closest "
                   "to zero: " + listing(mean, "%.3f", 1, "", true) + "."});

  // Saturation.
  const auto sat = values(s, [](const SettingSummary& x) { return x.layer_sat.mean; });
  if (sat.size() >= 2)
    out.push_back({"Saturation", "Sigmoid and tanh saturate: for large inputs the derivative is nearly 0.",
                   "Entries with |f'(x)| < 0.01 at the last epoch (for ReLU-like functions: the flat negative side): " +
                       listing(sat, "%.1f", 100, "%") + "."});

  // Cost of exp.
  const auto time = values(s, [](const SettingSummary& x) { return x.act_seconds.mean; });
  const auto share = values(s, [](const SettingSummary& x) { return x.act_share.mean; });
  if (time.size() >= 2) {
    const double fastest = std::min_element(time.begin(), time.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->second;
    std::vector<std::pair<std::string, double>> rel;
    for (const auto& t : time) rel.emplace_back(t.first, fastest > 0 ? t.second / fastest : kNaN);
    out.push_back({"Cost of exp", "Exponential-based activations (sigmoid, tanh, ELU, Swish, ...) are slower to compute than ReLU.",
                   "Activation layers' forward + backward time per epoch relative to the fastest setting: " + listing(rel, "%.2f", 1, "x") +
                       "; their share of all layers' time: " + listing(share, "%.1f", 100, "%") +
                       ". Timed while the runs shared the machine, so the ratios carry its noise."});
  }

  // Accuracy: the verdicts.
  if (!c.rows.empty()) {
    std::vector<std::string> better, worse, same, few;
    for (const auto& r : c.rows) {
      const std::string name = plan.settings[r.setting] + " (" + (r.t.mean >= 0 ? "+" : "−") + format_number("%.2f", std::fabs(r.t.mean)) + ")";
      if (r.verdict == "no finished pairs") continue;
      (r.verdict == "better" ? better : r.verdict == "worse" ? worse : r.verdict == "too few seeds" ? few : same).push_back(name);
    }
    std::string m = "Compared seed by seed (" + metric_label(c.metric) + ", Holm-adjusted paired t-test at alpha " + format_number("%g", c.alpha) +
                    ", differences in points): ";
    std::vector<std::string> parts;
    if (!better.empty()) parts.push_back("better: " + join(better));
    if (!worse.empty()) parts.push_back("worse: " + join(worse));
    if (!same.empty()) parts.push_back("not distinguishable: " + join(same));
    if (!few.empty()) parts.push_back("too few seeds: " + join(few));
    out.push_back({"Accuracy", "One activation is better than another.", m + join(parts, "; ") + "."});
  }
  return out;
}

std::string claims_md(const std::vector<Claim>& claims) {
  std::string md;
  for (const auto& c : claims) md += "### " + c.topic + "\n\n> " + c.claim + "\n\n" + c.measured + "\n\n";
  return md;
}

}  // namespace nnlab::report
