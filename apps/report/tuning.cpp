// Per-setting tuning: scores, choices, table and sensitivity plot (see tuning.hpp).
#include "apps/report/tuning.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace nnlab::report {

namespace {

// The best validation accuracy of a run over its epochs (NaN without a validation split).
double best_validation(const RunResult& r) {
  const int row = selected_row(r);
  return row >= 0 ? r.column("val_acc")[static_cast<std::size_t>(row)] : kNaN;
}

// Numbers on a log axis when they are all positive and span a factor of 10 or more.
bool log_axis(const std::vector<nlohmann::json>& values) {
  double lo = INFINITY, hi = 0;
  for (const auto& v : values) {
    if (!v.is_number() || !(v.get<double>() > 0)) return false;
    lo = std::min(lo, v.get<double>()), hi = std::max(hi, v.get<double>());
  }
  return hi >= 10 * lo;
}

}  // namespace

Tuning summarize_tuning(const Experiment& e, const Plan& tune_plan, const std::vector<RunResult>& results) {
  Tuning t;
  if (!e.tune) return t;
  t.path = e.tune->path;
  t.values = e.tune->values;
  t.seeds = e.tune->seeds;
  const std::size_t nv = t.values.size();
  if (nv == 0) return t;
  const std::size_t ns = tune_plan.settings.size() / nv;
  t.settings.resize(ns);
  std::vector<std::vector<std::vector<double>>> scores(ns, std::vector<std::vector<double>>(nv));
  for (std::size_t s = 0; s < ns; ++s) {
    // "relu, lr=0.01" → "relu": the label up to the tuned part.
    const std::string& label = tune_plan.settings[s * nv];
    const auto cut = label.rfind(", ");
    t.settings[s].label = cut == std::string::npos ? label : label.substr(0, cut);
    t.settings[s].failed.assign(nv, 0);
  }
  for (const auto& r : results) {
    const std::size_t setting = tune_plan.runs[r.run].setting, s = setting / nv, v = setting % nv;
    ++t.runs;
    const double score = r.status == "ok" ? best_validation(r) : kNaN;
    if (std::isfinite(score)) ++t.ok, scores[s][v].push_back(score);
    else ++t.settings[s].failed[v];
  }
  for (std::size_t s = 0; s < ns; ++s) {
    TunedSetting& ts = t.settings[s];
    for (std::size_t v = 0; v < nv; ++v) {
      ts.scores.push_back(mean_std(scores[s][v]));
      const Stat& st = ts.scores.back();
      if (st.n > 0 && (ts.chosen < 0 || st.mean > ts.scores[static_cast<std::size_t>(ts.chosen)].mean))
        ts.chosen = static_cast<int>(v);
    }
  }
  return t;
}

std::vector<nlohmann::json> choose_tuned(const Tuning& t) {
  std::vector<nlohmann::json> chosen;
  std::vector<std::string> missing;
  for (const auto& s : t.settings) {
    if (s.chosen < 0) missing.push_back(s.label);
    chosen.push_back(s.chosen < 0 ? nlohmann::json() : t.values[static_cast<std::size_t>(s.chosen)]);
  }
  if (!missing.empty())
    throw Error("tune: no tuning run of " + join(missing) + " finished with a validation accuracy, so no " + t.path +
                " can be chosen for it; see DIR/tune/runs/*/log.txt, fix the cause (a diverging candidate is fine as "
                "long as another finishes) and run the same command again");
  return chosen;
}

std::string edge_warning(const Tuning& t) {
  std::vector<double> numeric;
  for (const auto& v : t.values) {
    if (!v.is_number()) return "";
    numeric.push_back(v.get<double>());
  }
  if (numeric.size() < 2) return "";
  const double lo = *std::min_element(numeric.begin(), numeric.end()), hi = *std::max_element(numeric.begin(), numeric.end());
  std::vector<std::string> low, high;
  for (const auto& s : t.settings) {
    if (s.chosen < 0) continue;
    const double v = numeric[static_cast<std::size_t>(s.chosen)];
    if (v == lo) low.push_back(s.label);
    if (v == hi) high.push_back(s.label);
  }
  std::string w;
  auto say = [&](const std::vector<std::string>& who, const char* which, const nlohmann::json& value) {
    if (who.empty()) return;
    w += (w.empty() ? "" : " ") + join(who) + " chose " + t.path + " = " + display_value(value) +
         ", the " + which + " candidate: the best value may lie beyond the grid; widen it to be sure.";
  };
  for (const auto& v : t.values)
    if (v.get<double>() == lo) { say(low, "smallest", v); break; }
  for (const auto& v : t.values)
    if (v.get<double>() == hi) { say(high, "largest", v); break; }
  return w;
}

std::string tie_warning(const Tuning& t) {
  std::vector<std::string> tied;
  for (const auto& s : t.settings) {
    if (s.chosen < 0) continue;
    const double best = s.scores[static_cast<std::size_t>(s.chosen)].mean;
    for (std::size_t v = 0; v < s.scores.size(); ++v)
      if (static_cast<int>(v) != s.chosen && s.scores[v].n > 0 && std::abs(s.scores[v].mean - best) <= 1e-12) {
        tied.push_back(s.label);
        break;
      }
  }
  if (tied.empty()) return "";
  return join(tied) + " scored equally at more than one candidate, so the first of them was taken: the tuning runs "
                      "could not tell those values apart (often: nothing was learned within the tuning budget); give "
                      "the tuning runs more epochs or seeds.";
}

Table tuning_table(const Tuning& t) {
  Table table;
  table.header = {"setting", "chosen " + t.path, "val acc % (chosen)"};
  table.right = {false, true, true};
  for (const auto& v : t.values) table.header.push_back(t.path + " = " + display_value(v)), table.right.push_back(true);
  for (const auto& s : t.settings) {
    std::vector<std::string> row = {s.label, s.chosen < 0 ? "—" : display_value(t.values[static_cast<std::size_t>(s.chosen)]),
                                    s.chosen < 0 ? "—" : format_stat(s.scores[static_cast<std::size_t>(s.chosen)], "%.2f", 100)};
    for (std::size_t v = 0; v < t.values.size(); ++v) {
      std::string cell = format_stat(s.scores[v], "%.2f", 100);
      if (s.failed[v]) cell += " (" + std::to_string(s.failed[v]) + " not ok)";
      row.push_back(cell);
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

svg::LineChart sensitivity_chart(const Tuning& t) {
  svg::LineChart c;
  c.width = 900, c.height = 520;
  const bool log = log_axis(t.values);
  c.title = "Sensitivity to " + t.path;
  c.subtitle = "best validation accuracy of the tuning runs; mean over " + std::to_string(t.seeds.size()) +
               " tuning seeds, band ± 1 std; the chosen value is the maximum of each line";
  c.x_label = log ? "log10 " + t.path : t.path;
  c.y_label = "validation accuracy (%)";
  c.legend = svg::LegendPos::outside_right;
  const auto& p = svg::palette();
  for (std::size_t s = 0; s < t.settings.size(); ++s) {
    svg::Series line;
    line.name = t.settings[s].label;
    for (std::size_t v = 0; v < t.values.size(); ++v) {
      const double x = t.values[v].is_number() ? t.values[v].get<double>() : static_cast<double>(v);
      const Stat& st = t.settings[s].scores[v];
      line.x.push_back(log ? std::log10(x) : x);
      line.y.push_back(st.mean * 100);
      const bool band = std::isfinite(st.std);
      line.lower.push_back(band ? (st.mean - st.std) * 100 : kNaN);
      line.upper.push_back(band ? (st.mean + st.std) * 100 : kNaN);
    }
    line.color = p[s % p.size()];
    line.dash = s < p.size() ? svg::Dash::solid : svg::Dash::dashed;
    c.series.push_back(std::move(line));
  }
  return c;
}

}  // namespace nnlab::report
