// Plots and the self-contained HTML report of a comparison (see report_html.hpp).
#include "apps/report/html.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "apps/report/claims.hpp"
#include "apps/report/svg.hpp"
#include "core/io/fileio.hpp"

namespace nnlab::report {

namespace fs = std::filesystem;

namespace {

std::string duration_text(double s) {
  if (!(s > 0)) return "0 s";
  const int total = static_cast<int>(std::lround(s));
  if (total < 120) return format_number("%.1f s", s);
  if (total < 7200) return std::to_string(total / 60) + " min " + std::to_string(total % 60) + " s";
  return std::to_string(total / 3600) + " h " + std::to_string(total % 3600 / 60) + " min";
}

// Palette colour by index; past the ten tab10 colours the lines turn dashed, then dotted.
void style(svg::Series& s, std::size_t i) {
  const auto& p = svg::palette();
  s.color = p[i % p.size()];
  const std::size_t round = i / p.size();
  s.dash = round == 0 ? svg::Dash::solid : round == 1 ? svg::Dash::dashed : svg::Dash::dotted;
}

svg::Series curve_series(const std::string& name, const Curve& c, double scale) {
  svg::Series s;
  s.name = name;
  s.x = c.epoch;
  for (std::size_t i = 0; i < c.mean.size(); ++i) {
    s.y.push_back(c.mean[i] * scale);
    const bool band = std::isfinite(c.std[i]);
    s.lower.push_back(band ? (c.mean[i] - c.std[i]) * scale : kNaN);
    s.upper.push_back(band ? (c.mean[i] + c.std[i]) * scale : kNaN);
  }
  return s;
}

svg::LineChart curve_chart(const std::vector<SettingSummary>& s, bool accuracy) {
  svg::LineChart c;
  c.width = 900, c.height = 520;
  c.title = accuracy ? "Test accuracy" : "Training loss";
  c.subtitle = "mean over seeds, band: ± 1 sample std";
  c.x_label = "epoch";
  c.x_integer_ticks = true;
  c.y_label = accuracy ? "test accuracy (%)" : "training loss (cross-entropy, mean over the epoch)";
  c.legend = svg::LegendPos::outside_right;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i].ok == 0) continue;
    svg::Series line = curve_series(s[i].label, accuracy ? s[i].test_acc : s[i].train_loss, accuracy ? 100.0 : 1.0);
    style(line, i);
    c.series.push_back(std::move(line));
  }
  return c;
}

svg::LineChart gradient_chart(const std::vector<SettingSummary>& s, bool first) {
  svg::LineChart c;
  c.width = 900, c.height = 520;
  c.title = first ? "Weight-gradient norm by layer, after epoch 1" : "Weight-gradient norm by layer, after the last epoch";
  c.subtitle = "log10 ‖∂L/∂W_k‖ on the probe batch (512 test samples); mean over seeds, band ± 1 std";
  c.x_label = "weight layer k (1 = next to the input)";
  c.x_integer_ticks = true;
  c.y_label = "log10 ‖∂L/∂W_k‖";
  c.legend = svg::LegendPos::outside_right;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto& g = first ? s[i].grad_first : s[i].grad_last;
    if (s[i].ok == 0 || g.empty()) continue;
    svg::Series line;
    line.name = s[i].label;
    for (std::size_t k = 0; k < g.size(); ++k) {
      const double m = g[k].mean, d = g[k].std;
      line.x.push_back(static_cast<double>(k + 1));
      line.y.push_back(m > 0 ? std::log10(m) : kNaN);
      const bool band = std::isfinite(d) && m - d > 0;
      line.lower.push_back(band ? std::log10(m - d) : kNaN);
      line.upper.push_back(band ? std::log10(m + d) : kNaN);
    }
    style(line, i);
    c.series.push_back(std::move(line));
  }
  return c;
}

// Bars per setting, one series per hidden layer, for the last-epoch column act<k>_<stat>.
svg::BarChart layer_bars(const std::vector<SettingSummary>& s, ActivationStat stat, double scale,
                         const std::string& title, const std::string& y_label) {
  svg::BarChart c;
  c.width = 960, c.height = 480;
  c.title = title;
  c.subtitle = "at the last epoch, on the probe batch; one bar per hidden layer, mean over seeds, error bar ± 1 std";
  c.y_label = y_label;
  if (stat != ActivationStat::mean) c.y_min = 0;  // fractions: an error bar below 0 means nothing
  int layers = 0;
  for (const auto& x : s)
    for (int k = 1; x.find_last(activation_column(k, ActivationStat::mean)); ++k) layers = std::max(layers, k);
  for (const auto& x : s) c.categories.push_back(x.label);
  for (int k = 1; k <= layers; ++k) {
    svg::BarSeries b;
    b.name = "hidden layer " + std::to_string(k);
    for (const auto& x : s) {
      const Stat* st = x.find_last(activation_column(k, stat));
      b.values.push_back(st && std::isfinite(st->mean) ? st->mean * scale : kNaN);
      b.errors.push_back(st && std::isfinite(st->std) ? st->std * scale : kNaN);
    }
    c.series.push_back(std::move(b));
  }
  return c;
}

svg::BarChart time_bars(const std::vector<SettingSummary>& s) {
  svg::BarChart c;
  c.width = 960, c.height = 480;
  c.title = "Seconds per epoch";
  c.subtitle = "whole training pass vs. activation layers' forward + backward; mean ± std over seeds";
  c.y_label = "seconds per epoch";
  svg::BarSeries total, act;
  total.name = "training pass";
  act.name = "activation layers";
  for (const auto& x : s) {
    c.categories.push_back(x.label);
    total.values.push_back(x.seconds_per_epoch.mean);
    total.errors.push_back(x.seconds_per_epoch.std);
    act.values.push_back(x.act_seconds.mean);
    act.errors.push_back(x.act_seconds.std);
  }
  c.series = {total, act};
  return c;
}

svg::ForestChart forest_chart(const Plan& plan, const Comparisons& c) {
  svg::ForestChart f;
  f.title = "Paired differences";
  f.subtitle = metric_label(c.metric) + "; square: mean over seeds, bar: 95% confidence interval (t)";
  f.x_label = "difference (accuracy points), setting − baseline";
  for (const auto& r : c.rows) {
    svg::ForestRow row;
    row.label = comparison_label(plan, r);
    row.estimate = r.t.mean;
    row.low = r.t.ci_low;
    row.high = r.t.ci_high;
    row.note = r.verdict;
    row.color = r.verdict == "better" ? "#2ca02c" : r.verdict == "worse" ? "#d62728" : "#555555";
    f.rows.push_back(std::move(row));
  }
  return f;
}

// One chart per setting with learnable activation parameters: a line per (layer, parameter).
svg::LineChart param_chart(const SettingSummary& x) {
  svg::LineChart c;
  c.width = 900, c.height = 460;
  c.title = x.label + ": learnable activation parameters";
  c.subtitle = "value after each epoch, per hidden layer; mean over seeds, band ± 1 std";
  c.x_label = "epoch";
  c.x_integer_ticks = true;
  c.y_label = "parameter value (mean over its elements)";
  c.legend = svg::LegendPos::outside_right;
  for (std::size_t i = 0; i < x.params.size(); ++i) {
    const auto& p = x.params[i];
    svg::Series line = curve_series("layer " + std::to_string(p.k) + " " + p.name, p.curve, 1.0);
    style(line, i);
    c.series.push_back(std::move(line));
  }
  return c;
}

const char* kStyle = R"(
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.desc { color: #444; margin-top: 0; }
div.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.8em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1.5em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; max-width: 900px; }
ul.facts li { margin: 0.15em 0; }
.note { color: #555; font-size: 0.9em; }
code { background: #f5f5f5; padding: 0 0.2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
blockquote { margin: 0.3em 0 0.3em 1em; padding-left: 0.8em; border-left: 3px solid #ccc; color: #555; font-style: italic; }
)";

std::string esc(const std::string& s) { return svg::xml_escape(s); }

}  // namespace

std::vector<Plot> make_plots(const Experiment&, const Plan& plan, const std::vector<SettingSummary>& s,
                             const Comparisons& comparisons, const Tuning* tuning) {
  std::vector<Plot> p;
  if (!comparisons.rows.empty())
    p.push_back({"paired_differences.svg", "Paired differences",
                 "Each comparison's mean difference over seeds (square) with its 95% confidence interval (bar); the "
                 "dashed line is no difference. Green: better, red: worse, grey: not distinguishable (Holm-adjusted "
                 "paired t-test). An interval that crosses the line is a difference the seeds cannot confirm.",
                 svg::render(forest_chart(plan, comparisons))});
  if (tuning && !tuning->settings.empty())
    p.push_back({"sensitivity.svg", "Sensitivity to " + tuning->path,
                 "Each setting's tuning runs: the best validation accuracy against the tuned value (mean over the "
                 "tuning seeds, band ± 1 std). Each setting's final runs use the value at the top of its own line, so "
                 "no activation is compared at a value tuned for another. A flat top means the choice matters little.",
                 svg::render(sensitivity_chart(*tuning))});
  p.push_back({"test_accuracy.svg", "Test accuracy",
               "Test accuracy after each epoch; the line is the mean over seeds, the band ± one sample standard deviation. "
               "Overlapping bands mean the difference is within seed-to-seed noise.",
               svg::render(curve_chart(s, true))});
  p.push_back({"train_loss.svg", "Training loss",
               "Mean training loss over each epoch (measured during the epoch, while the weights change).",
               svg::render(curve_chart(s, false))});
  p.push_back({"grad_norm_first.svg", "Gradient norm by depth, after epoch 1",
               "Norm of the loss gradient with respect to each weight matrix on the probe batch. A line that falls "
               "steeply towards layer 1 is the vanishing-gradient picture: the first layers learn orders of magnitude "
               "more slowly than the last.",
               svg::render(gradient_chart(s, true))});
  p.push_back({"grad_norm_last.svg", "Gradient norm by depth, after the last epoch",
               "The same at the end of training (norms also shrink as the loss falls).", svg::render(gradient_chart(s, false))});
  p.push_back({"dead_units.svg", "Dead units",
               "Fraction of units whose derivative is exactly 0 for every one of the 512 probe samples: no gradient "
               "reaches their incoming weights. Missing bars: 0, or not defined for an activation that is not "
               "element-wise (softmax).",
               svg::render(layer_bars(s, ActivationStat::dead, 100.0, "Dead units (f'(x) = 0 for every probe sample)", "dead units (%)"))});
  p.push_back({"saturated.svg", "Saturated entries",
               "Fraction of (sample, unit) entries with |f'(x)| < 0.01, i.e. where the gradient is damped at least "
               "100-fold. For ReLU-like functions this is the fraction of inputs on the flat negative side.",
               svg::render(layer_bars(s, ActivationStat::sat, 100.0, "Saturated entries (|f'(x)| < 0.01)", "saturated entries (%)"))});
  p.push_back({"activation_mean.svg", "Mean activation (zero-centredness)",
               "Mean output of each hidden activation layer over the probe batch. Zero-centred activations give "
               "values near 0; sigmoid (range 0..1) and ReLU (range 0..∞) cannot.",
               svg::render(layer_bars(s, ActivationStat::mean, 1.0, "Mean activation output", "mean of f(x) over probe samples and units"))});
  p.push_back({"seconds_per_epoch.svg", "Time per epoch",
               "Wall time of an epoch's training pass, and the part of it spent in the activation layers' forward "
               "and backward (measured with per-layer timers; the dense layers' matrix products take most of the rest). "
               "Runs share the machine, so absolute times carry noise from other processes.",
               svg::render(time_bars(s))});
  for (const auto& x : s) {
    if (x.params.empty() || x.ok == 0) continue;
    p.push_back({"params_" + slug(x.label) + ".svg", "Learnable parameters: " + x.label,
                 "What the activation's own parameters learned, after each epoch (recorded by --diagnostics): "
                 "per hidden layer the mean of the parameter's elements, averaged over seeds with a ± 1 std band.",
                 svg::render(param_chart(x))});
  }
  return p;
}

std::string report_html(const Experiment& e, const Plan& plan, const std::vector<SettingSummary>& s,
                        const std::vector<RunResult>& results, const Comparisons& comparisons,
                        const std::vector<Plot>& plots, const ReportInfo& info) {
  const Table summary = summary_table(e, s), layers = layer_table(s), grads = gradient_table(s), runs = runs_table(plan, results);
  const Table verdicts = verdict_table(plan, comparisons);
  const int n_tables = 4 + (comparisons.rows.empty() ? 0 : 1) + (info.tuning ? 1 : 0);
  int ok = 0, failed = 0, diverged = 0, missing = 0;
  for (const auto& r : results) {
    if (r.status == "ok") ++ok;
    else if (r.status == "diverged") ++diverged;
    else if (r.status == "missing" || r.status == "interrupted") ++missing;
    else ++failed;
  }
  bool first_epoch_untimed = false;
  for (const auto& r : results) {
    const auto t = r.column(kActSeconds);
    if (r.status == "ok" && !t.empty() && !std::isfinite(t.front())) first_epoch_untimed = true;
  }

  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>nnlab compare: " + esc(e.name) + "</title>\n";
  h += "<meta name=\"nnlab-tables\" content=\"" + std::to_string(n_tables) + "\">\n";
  h += "<meta name=\"nnlab-plots\" content=\"" + std::to_string(plots.size()) + "\">\n";
  h += "<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<h1>" + esc(e.name) + "</h1>\n";
  if (!e.description.empty()) h += "<p class=\"desc\">" + esc(e.description) + "</p>\n";

  h += "<h2 id=\"setup\">Setup</h2>\n<ul class=\"facts\">\n";
  h += "<li>Base config: <code>" + esc(e.base.filename().string()) + "</code>";
  if (!e.fixed.empty()) {
    h += ", with";
    for (const auto& f : e.fixed) h += " <code>--set " + esc(f) + "</code>";
  }
  h += "</li>\n";
  std::string axes;
  for (const auto& a : plan.axes) axes += (axes.empty() ? "" : " × ") + a;
  h += "<li>Swept: " + esc(axes.empty() ? "nothing (seeds only)" : axes) + " — " + std::to_string(plan.settings.size()) +
       " settings × " + std::to_string(e.seeds.size()) + " seeds = " + std::to_string(plan.runs.size()) + " runs</li>\n";
  std::string seeds;
  for (auto seed : e.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
  h += "<li>Seeds: " + seeds + ". For a given seed every setting starts from the same initial weights (where the shapes "
       "agree) and sees the data in the same order.</li>\n";
  h += "<li>Outcome: " + std::to_string(ok) + " ok, " + std::to_string(diverged) + " diverged, " + std::to_string(failed) +
       " failed" + (missing ? ", " + std::to_string(missing) + " not run or not finished" : std::string()) + ".</li>\n";
  if (info.run_seconds > 0) h += "<li>Total run time (sum over runs): " + duration_text(info.run_seconds) + ".</li>\n";
  if (info.sweep.total > 0)
    h += "<li>Last invocation of the sweep: " + duration_text(info.sweep.seconds) + " wall time, " + std::to_string(info.sweep.started) +
         " runs started, " + std::to_string(info.sweep.skipped) + " already finished; " + std::to_string(info.sweep.jobs) +
         " at a time, " + std::to_string(info.sweep.threads) + " thread(s) each.</li>\n";
  h += "</ul>\n";

  h += "<h2 id=\"summary\">Summary</h2>\n";
  h += "<p class=\"note\">Mean ± sample standard deviation (n − 1) over the seeds' finished runs. <em>act. time</em>: share "
       "of the layers' forward+backward time spent in activation layers. <em>act. mean/std, dead, saturated</em>: "
       "averaged over the hidden layers at the last epoch, on a fixed probe batch (the first 512 test samples). "
       "<em>‖∂L/∂W₁‖</em>, <em>‖∂L/∂W_last‖</em>: weight-gradient norms of the first and last layer on that batch. "
       "— : not available (no finished run, or dead/saturated for an activation that is not element-wise).</p>\n";
  if (first_epoch_untimed)
    h += "<p class=\"note\">The activation time of epoch 1 was not recorded (the layer timers start at the end of "
         "epoch 1 in this version of <code>nnlab train</code>); the time share averages the later epochs.</p>\n";
  h += "<div class=\"wide\">\n" + summary.to_html() + "</div>\n";
  if (info.tuning) {
    const Tuning& t = *info.tuning;
    h += "<h2 id=\"tuning\">Tuned per setting: " + esc(t.path) + "</h2>\n";
    h += "<p class=\"note\">Before the seeded runs, every setting trained once per candidate value and tuning seed (" +
         std::to_string(t.seeds.size()) + " seeds, " + std::to_string(t.ok) + " of " + std::to_string(t.runs) +
         " tuning runs ok), scored by the best validation accuracy; each setting's runs above use its own best value. "
         "The test set played no part in the choice.</p>\n";
    for (const std::string& w : {edge_warning(t), tie_warning(t)})
      if (!w.empty()) h += "<p class=\"note\"><strong>Note:</strong> " + esc(w) + "</p>\n";
    h += "<div class=\"wide\">\n" + tuning_table(t).to_html() + "</div>\n";
  }
  if (!comparisons.rows.empty()) {
    h += "<h2 id=\"verdicts\">Which differences are real</h2>\n";
    h += "<p class=\"note\">" + esc(comparisons_note(comparisons)) + "</p>\n";
    h += "<div class=\"wide\">\n" + verdicts.to_html() + "</div>\n";
  }

  const std::vector<Claim> claims = make_claims(plan, s, comparisons);
  if (!claims.empty()) {
    h += "<h2 id=\"claims\">Claims</h2>\n<p class=\"note\">What tutorials say about activations, next to what this sweep "
         "measured (the figures are computed from the runs above).</p>\n";
    for (const auto& c : claims)
      h += "<h3>" + esc(c.topic) + "</h3>\n<blockquote>" + esc(c.claim) + "</blockquote>\n<p>" + esc(c.measured) + "</p>\n";
  }

  for (const auto& p : plots) {
    h += "<h2 id=\"" + esc(fs::path(p.file).stem().string()) + "\">" + esc(p.title) + "</h2>\n<figure>\n" + p.svg;
    h += "<figcaption>" + esc(p.caption) + "</figcaption>\n</figure>\n";
  }

  h += "<h2 id=\"layers\">Hidden layers at the last epoch</h2>\n";
  h += "<p class=\"note\">Per hidden activation layer: mean and standard deviation of its outputs on the probe batch, dead "
       "units, saturated entries, and the gradient norm of the weight matrix feeding it.</p>\n";
  h += "<div class=\"wide\">\n" + layers.to_html() + "</div>\n";
  h += "<h2 id=\"gradients\">Weight-gradient norms at the last epoch</h2>\n";
  h += "<p class=\"note\">‖∂L/∂W_k‖ for every weight matrix, and the ratio of the first to the last: far below 1 "
       "means the gradient vanishes on its way to the input.</p>\n";
  h += "<div class=\"wide\">\n" + grads.to_html() + "</div>\n";
  h += "<h2 id=\"runs\">Runs</h2>\n";
  h += "<p class=\"note\">Every run's metrics per epoch are in <code>runs.csv</code>; each run's directory "
       "<code>runs/&lt;run&gt;/</code> holds its config, metrics, weights and log.</p>\n";
  h += "<div class=\"wide\">\n" + runs.to_html() + "</div>\n";

  std::time_t now = std::time(nullptr);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  h += "<p class=\"note\">Generated by <code>nnlab compare</code> on " + std::string(stamp) + ".</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

std::vector<RunResult> write_report(const Experiment& e, const Plan& plan, const fs::path& out, const ReportInfo& given) {
  std::vector<RunResult> results = collect_results(e, plan, out);
  const std::vector<SettingSummary> s = summarize(e, plan, results);
  const Comparisons comparisons = compare_settings(e, plan, results);
  ReportInfo info = given;
  if (info.run_seconds == 0)
    for (const auto& r : results)
      if (std::isfinite(r.wall_seconds)) info.run_seconds += r.wall_seconds;
  write_file_atomic(out / "runs.csv", runs_csv(plan, results));
  write_file_atomic(out / "summary.csv", summary_csv(plan, s));
  write_file_atomic(out / "comparisons.csv", comparisons_csv(plan, comparisons));
  std::string md = summary_md(e, plan, s, results);
  if (!comparisons.rows.empty())
    md += "\n## Which differences are real\n\n" + comparisons_note(comparisons) + "\n\n" +
          verdict_table(plan, comparisons).to_markdown();
  if (const auto claims = make_claims(plan, s, comparisons); !claims.empty()) md += "\n## Claims\n\n" + claims_md(claims);
  if (info.tuning)
    md += "\n## Tuned per setting: " + info.tuning->path + "\n\nChosen on the best validation accuracy of the tuning runs "
          "(mean ± std over the tuning seeds), per setting.\n\n" + tuning_table(*info.tuning).to_markdown();
  if (info.tuning)
    for (const std::string& w : {edge_warning(*info.tuning), tie_warning(*info.tuning)})
      if (!w.empty()) md += "\nNote: " + w + "\n";
  write_file_atomic(out / "summary.md", md);
  const auto plots = make_plots(e, plan, s, comparisons, info.tuning ? &*info.tuning : nullptr);
  for (const auto& p : plots) write_file_atomic(out / "plots" / p.file, p.svg);
  write_file_atomic(out / "report.html", report_html(e, plan, s, results, comparisons, plots, info));
  return results;
}

}  // namespace nnlab::report
