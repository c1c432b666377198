// Paired comparisons of a sweep's settings (see paired.hpp).
#include "apps/report/paired.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace nnlab::report {

namespace {

// A p-value for a table: 3 significant digits, "< 0.0001" below that.
std::string p_text(double p) {
  if (!std::isfinite(p)) return "—";
  if (p < 1e-4) return "< 0.0001";
  return format_number(p < 0.001 ? "%.1e" : "%.3f", p);
}

// Signed, two decimals: "+0.36", "−0.12" (U+2212).
std::string signed_points(double v) {
  if (!std::isfinite(v)) return "—";
  const std::string s = format_number("%+.2f", v);
  return s[0] == '-' ? "\u2212" + s.substr(1) : s;
}

// The setting's label without its first-axis value: "lr=0.1" of "swish, lr=0.1"; "" with one axis.
std::string group_label(const Plan& plan, std::size_t setting, const std::string& first) {
  const std::string& label = plan.settings[setting];
  return label.size() > first.size() + 2 && label.compare(0, first.size() + 2, first + ", ") == 0
             ? label.substr(first.size() + 2)
             : std::string();
}


}  // namespace

std::string comparison_label(const Plan& plan, const PairedComparison& r) {
  const auto& runs = plan.runs;
  std::string a, b;
  for (const auto& run : runs) {
    if (run.setting == r.setting && !run.values.empty()) a = run.values[0];
    if (run.setting == r.baseline && !run.values.empty()) b = run.values[0];
  }
  const std::string group = group_label(plan, r.setting, a);
  return a + " − " + b + (group.empty() ? "" : " (" + group + ")");
}

std::string metric_label(const std::string& metric) {
  if (metric == "selected_test_acc") return "test accuracy at the best-validation epoch";
  if (metric == "final_test_acc") return "test accuracy after the last epoch";
  if (metric == "best_test_acc") return "best test accuracy over the epochs (optimistic: the epoch is picked on the test set)";
  return metric;
}

Comparisons compare_settings(const Experiment& e, const Plan& plan, const std::vector<RunResult>& results) {
  Comparisons c;
  c.alpha = e.alpha;
  c.detect = e.detect;
  c.metric = e.metric;
  if (c.metric == "selected_test_acc" && !has_validation(results)) c.metric = "final_test_acc", c.fell_back = true;
  if (plan.axes.empty() || plan.settings.size() < 2) return c;
  c.axis = plan.axes[0];

  // Per setting: its first-axis value, the rest (the group), and metric by seed.
  const std::size_t n = plan.settings.size();
  std::vector<std::string> first(n), group(n);
  std::vector<std::map<std::uint64_t, double>> by_seed(n);
  for (const auto& run : plan.runs) {
    first[run.setting] = run.values.empty() ? "" : run.values[0];
    std::string g;
    for (std::size_t k = 1; k < run.values.size(); ++k) g += run.values[k] + "\x1f";
    group[run.setting] = g;
  }
  for (const auto& r : results) {
    if (r.status != "ok" || r.rows.empty()) continue;
    const PlannedRun& run = plan.runs[r.run];
    const double v = run_metric(r, c.metric);
    if (!std::isfinite(v)) continue;
    by_seed[run.setting][run.seed] = v;
  }

  // The baseline value of the first axis: the experiment's, else the first setting's.
  std::vector<std::string> values;  // distinct first-axis values in plan order
  for (std::size_t s = 0; s < n; ++s)
    if (std::find(values.begin(), values.end(), first[s]) == values.end()) values.push_back(first[s]);
  const std::string base = e.baseline.is_null() ? values.front() : display_value(e.baseline);
  const auto it = std::find(values.begin(), values.end(), base);
  c.baseline_value = it == values.end() ? 0 : static_cast<std::size_t>(it - values.begin());
  const std::string& base_value = values[c.baseline_value];

  auto add = [&](std::size_t s, std::size_t b) {
    PairedComparison r;
    r.setting = s;
    r.baseline = b;
    for (const auto& run : plan.runs) {
      if (run.setting != s) continue;
      const auto ia = by_seed[s].find(run.seed), ib = by_seed[b].find(run.seed);
      if (ia == by_seed[s].end() || ib == by_seed[b].end()) continue;
      // Points, rounded to 1e-9: metrics.csv holds 9 significant digits, so equal accuracy steps
      // (multiples of 1/N) give equal differences, which the rank test must see as ties.
      r.seeds.push_back(run.seed);
      r.differences.push_back(std::round((ia->second - ib->second) * 100.0 * 1e9) / 1e9);
    }
    c.rows.push_back(std::move(r));
  };
  for (std::size_t s = 0; s < n; ++s) {
    if (e.all_pairs) {
      for (std::size_t b = 0; b < s; ++b)
        if (group[b] == group[s]) add(s, b);
    } else if (first[s] != base_value) {
      for (std::size_t b = 0; b < n; ++b)
        if (first[b] == base_value && group[b] == group[s]) add(s, b);
    }
  }

  std::vector<double> pt, pw;
  for (auto& r : c.rows) {
    r.t = stats::paired_t(r.differences, 0.95);
    if (static_cast<int>(r.differences.size()) >= kMinWilcoxonPairs) r.wilcoxon = stats::wilcoxon(r.differences);
    else r.wilcoxon.p = r.wilcoxon.statistic = kNaN;
    r.detectable = stats::detectable_difference(r.t.n, r.t.sd, c.alpha, kPower);
    r.seeds_needed = stats::seeds_needed(c.detect, r.t.sd, c.alpha, kPower);
    pt.push_back(r.t.p);
    pw.push_back(r.wilcoxon.p);
  }
  const auto ht = stats::holm(pt), hw = stats::holm(pw);
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    auto& r = c.rows[i];
    r.p_holm = ht[i];
    r.wilcoxon_holm = hw[i];
    if (r.t.n == 0) r.verdict = "no finished pairs";
    else if (r.t.n < 2 || std::isnan(r.p_holm)) r.verdict = "too few seeds";
    else if (r.p_holm < c.alpha) r.verdict = r.t.mean > 0 ? "better" : "worse";
    else r.verdict = "not distinguishable";
  }

  // Noise of the first group's baseline setting.
  for (std::size_t s = 0; s < n; ++s) {
    if (first[s] != base_value) continue;
    std::vector<double> v;
    for (const auto& [seed, m] : by_seed[s]) v.push_back(m);
    const Stat st = mean_std(v);
    c.accuracy = st.mean;
    c.seed_sd = st.std * 100.0;
    for (const auto& r : results)
      if (r.status == "ok" && plan.runs[r.run].setting == s && r.has(kTestSamples)) c.test_samples = r.last(kTestSamples);
    c.noise_floor = stats::accuracy_noise(c.accuracy, c.test_samples) * 100.0;
    break;
  }
  return c;
}

Table verdict_table(const Plan& plan, const Comparisons& c) {
  Table t;
  const std::string detect = format_number("%g", c.detect);
  t.header = {"comparison", "pairs", "mean diff (points)", "95% CI", "t-test p", "Holm p", "Wilcoxon p",
              "Cohen's d_z", "detectable (80%)", "seeds for ±" + detect, "verdict"};
  t.right = {false, true, true, true, true, true, true, true, true, true, false};
  for (const auto& r : c.rows) {
    const bool interval = std::isfinite(r.t.ci_low) && std::isfinite(r.t.ci_high);
    t.rows.push_back({comparison_label(plan, r), std::to_string(r.t.n), signed_points(r.t.mean),
                      interval ? "[" + signed_points(r.t.ci_low) + ", " + signed_points(r.t.ci_high) + "]" : "—",
                      p_text(r.t.p), p_text(r.p_holm), p_text(r.wilcoxon.p),
                      signed_points(r.t.cohen_d),
                      std::isfinite(r.detectable) ? format_number("%.2f", r.detectable) : "—",
                      r.seeds_needed > 0 ? std::to_string(r.seeds_needed) : "—", r.verdict});
  }
  return t;
}

std::string comparisons_csv(const Plan& plan, const Comparisons& c) {
  std::string csv = "comparison,setting,baseline,metric,pairs,mean_diff,sd_diff,ci_low,ci_high,t,p,p_holm,"
                    "wilcoxon_statistic,wilcoxon_p,wilcoxon_p_holm,wilcoxon_exact,cohen_dz,detectable,seeds_needed,detect,"
                    "alpha,verdict\n";
  for (const auto& r : c.rows) {
    csv += csv_cell(comparison_label(plan, r)) + "," + csv_cell(plan.settings[r.setting]) + "," +
           csv_cell(plan.settings[r.baseline]) + "," + c.metric + "," + std::to_string(r.t.n) + "," + csv_number(r.t.mean) + "," +
           csv_number(r.t.sd) + "," + csv_number(r.t.ci_low) + "," + csv_number(r.t.ci_high) + "," + csv_number(r.t.t) + "," +
           csv_number(r.t.p) + "," + csv_number(r.p_holm) + "," + csv_number(r.wilcoxon.statistic) + "," + csv_number(r.wilcoxon.p) + "," +
           csv_number(r.wilcoxon_holm) + "," + (std::isfinite(r.wilcoxon.p) ? (r.wilcoxon.exact ? "exact" : "normal") : "") +
           "," + csv_number(r.t.cohen_d) + "," + csv_number(r.detectable) + "," +
           (r.seeds_needed > 0 ? std::to_string(r.seeds_needed) : "") + "," + csv_number(c.detect) + "," + csv_number(c.alpha) +
           "," + r.verdict + "\n";
  }
  return csv;
}

std::string comparisons_note(const Comparisons& c) {
  std::string s = "Paired by seed: for one seed both settings start from the same weights and see the same data order. "
                  "Compared: " + metric_label(c.metric) + ", in accuracy points (setting − baseline).";
  if (c.fell_back)
    s += " (The runs have no validation split, so the epoch cannot be chosen honestly; the final epoch is compared. "
         "Set data.validation_split to select on validation data.)";
  s += " Verdict: the paired t-test, Holm-adjusted over the " + std::to_string(c.rows.size()) + " comparison" +
       (c.rows.size() == 1 ? "" : "s") + " of the table, at alpha = " + format_number("%g", c.alpha) + ". The Wilcoxon signed-rank "
       "test (from " + std::to_string(kMinWilcoxonPairs) + " pairs) is a check that does not assume normal differences. "
       "Detectable: the smallest true difference these pairs detect with 80% power; seeds: how many pairs would detect ±" +
       format_number("%g", c.detect) + " points with 80% power, from the observed paired spread.";
  if (std::isfinite(c.noise_floor) && std::isfinite(c.seed_sd))
    s += " Noise: the test set alone (N = " + format_number("%.0f", c.test_samples) + ", accuracy " + format_number("%.2f", c.accuracy * 100) +
         "%) gives a seed-to-seed standard deviation of sqrt(p(1 − p)/N) = " + format_number("%.2f", c.noise_floor) +
         " points; the baseline's observed one is " + format_number("%.2f", c.seed_sd) + " points.";
  return s;
}

}  // namespace nnlab::report
