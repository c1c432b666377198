// Results of a sweep: reading runs back, statistics over seeds, tables (see report_results.hpp).
#include "apps/report/results.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "apps/sweep/runner.hpp"
#include "apps/report/svg.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"

namespace nnlab::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

double mean_of(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : kNaN;
}

}  // namespace

Stat mean_std(const std::vector<double>& values) {
  Stat s;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++s.n;
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  if (s.n < 2) return s;
  double sq = 0;
  for (double v : values)
    if (std::isfinite(v)) sq += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(sq / (s.n - 1));
  return s;
}

std::vector<RunResult> collect_results(const Experiment& e, const Plan& plan, const fs::path& out) {
  std::vector<RunResult> results;
  for (std::size_t i = 0; i < plan.runs.size(); ++i) {
    RunResult r;
    r.run = i;
    const fs::path dir = run_directory(out, plan.runs[i]);
    const json fingerprint = run_fingerprint(e, plan.runs[i]);
    std::string why, attempt_why;
    if (const auto done = read_done(dir, fingerprint, &why)) {
      r.status = done->status;
      r.message = done->message;
      r.wall_seconds = done->seconds;
    } else if (const auto attempt = read_attempt(dir, fingerprint, &attempt_why)) {
      r.status = attempt->status;  // failed, interrupted
      r.message = attempt->message;
      r.wall_seconds = attempt->seconds;
    } else {
      r.status = "missing";
      r.message = why.rfind("no ", 0) == 0 ? "not run yet (or the sweep was killed)" : why;
    }
    std::error_code ec;
    if (r.status != "missing" && fs::is_regular_file(dir / "metrics.csv", ec)) {
      try {
        static_cast<MetricsTable&>(r) = parse_metrics_csv(read_file(dir / "metrics.csv", "metrics"));
      } catch (const Error& err) {  // unreadable: the run keeps its status, without metrics
        r.message += (r.message.empty() ? "" : "; ") + std::string(err.what());
      }
    }
    results.push_back(std::move(r));
  }
  return results;
}

int selected_row(const MetricsTable& r) {
  const auto val = r.column("val_acc");
  int best = -1;
  for (std::size_t i = 0; i < val.size(); ++i)
    if (std::isfinite(val[i]) && (best < 0 || val[i] > val[static_cast<std::size_t>(best)])) best = static_cast<int>(i);
  return best;
}

double run_metric(const MetricsTable& r, const std::string& metric) {
  const auto acc = r.column("test_acc");
  if (acc.empty()) return kNaN;
  if (metric == "final_test_acc") return acc.back();
  if (metric == "best_test_acc") {
    double best = kNaN;
    for (double a : acc)
      if (std::isfinite(a) && !(a <= best)) best = a;
    return best;
  }
  if (metric == "selected_test_acc") {
    const int row = selected_row(r);
    return row >= 0 && static_cast<std::size_t>(row) < acc.size() ? acc[static_cast<std::size_t>(row)] : kNaN;
  }
  throw Error("unknown comparison metric '" + metric + "'" + did_you_mean(metric, comparison_metrics()));
}

bool has_validation(const std::vector<RunResult>& results) {
  for (const auto& r : results)
    if (r.status == "ok" && selected_row(r) >= 0) return true;
  return false;
}

std::string SettingSummary::status_text() const {
  std::string s = std::to_string(ok) + " ok";
  if (diverged) s += ", " + std::to_string(diverged) + " diverged";
  if (failed) s += ", " + std::to_string(failed) + " failed";
  if (missing) s += ", " + std::to_string(missing) + " missing";
  return s;
}

const Stat* SettingSummary::find_last(const std::string& column) const {
  for (const auto& [k, v] : last)
    if (k == column) return &v;
  return nullptr;
}

std::vector<SettingSummary> summarize(const Experiment& e, const Plan& plan, const std::vector<RunResult>& results) {
  std::vector<SettingSummary> out(plan.settings.size());
  for (std::size_t s = 0; s < plan.settings.size(); ++s) {
    SettingSummary& sum = out[s];
    sum.label = plan.settings[s];
    std::vector<const RunResult*> ok;
    for (const auto& r : results) {
      const PlannedRun& spec = plan.runs[r.run];
      if (spec.setting != s) continue;
      sum.values = spec.values;
      ++sum.runs;
      if (r.status == "ok" && !r.rows.empty()) ok.push_back(&r);
      else if (r.status == "diverged") ++sum.diverged;
      else if (r.status == "missing" || r.status == "interrupted") ++sum.missing;
      else ++sum.failed;
    }
    sum.ok = static_cast<int>(ok.size());

    std::vector<double> selected_acc, selected_epoch, final_acc, best_acc, final_loss, final_test_loss, to_target, sec,
        act_sec, act_share;
    std::vector<double> l_mean, l_std, l_dead, l_sat;
    for (const RunResult* r : ok) {
      // A metrics.csv written by hand or by another tool may lack columns: absent values are NaN
      // (left out of the statistics), never read past the end.
      const auto acc = r->column("test_acc");
      final_acc.push_back(r->last("test_acc"));
      best_acc.push_back(run_metric(*r, "best_test_acc"));
      selected_acc.push_back(run_metric(*r, "selected_test_acc"));
      const int row = selected_row(*r);
      const auto epoch_column = r->column("epoch");
      selected_epoch.push_back(row >= 0 && static_cast<std::size_t>(row) < epoch_column.size()
                                   ? epoch_column[static_cast<std::size_t>(row)] : kNaN);
      final_loss.push_back(r->last("train_loss"));
      final_test_loss.push_back(r->last("test_loss"));
      const auto epochs = r->column("epoch");
      for (std::size_t i = 0; i < acc.size() && i < epochs.size(); ++i)
        if (acc[i] >= e.target_accuracy) {
          to_target.push_back(epochs[i]);
          ++sum.reached;
          break;
        }
      sec.push_back(mean_of(r->column("seconds")));
      act_sec.push_back(mean_of(r->column(kActSeconds)));
      act_share.push_back(mean_of(r->column(kActShare)));
      auto layer_avg = [&](ActivationStat stat) {
        std::vector<double> v;
        for (const auto& c : activation_columns(r->columns, stat)) v.push_back(r->last(c));
        return mean_of(v);
      };
      l_mean.push_back(layer_avg(ActivationStat::mean));
      l_std.push_back(layer_avg(ActivationStat::std));
      l_dead.push_back(layer_avg(ActivationStat::dead));
      l_sat.push_back(layer_avg(ActivationStat::sat));
    }
    sum.selected_test_acc = mean_std(selected_acc);
    sum.selected_epoch = mean_std(selected_epoch);
    sum.final_test_acc = mean_std(final_acc);
    sum.best_test_acc = mean_std(best_acc);
    sum.final_train_loss = mean_std(final_loss);
    sum.final_test_loss = mean_std(final_test_loss);
    sum.epochs_to_target = mean_std(to_target);
    sum.seconds_per_epoch = mean_std(sec);
    sum.act_seconds = mean_std(act_sec);
    sum.act_share = mean_std(act_share);
    sum.layer_mean = mean_std(l_mean);
    sum.layer_std = mean_std(l_std);
    sum.layer_dead = mean_std(l_dead);
    sum.layer_sat = mean_std(l_sat);

    // Diagnostic columns at the last epoch, in the order of the first run that has them.
    std::vector<std::string> diag;
    for (const RunResult* r : ok)
      for (const auto& c : r->columns)
        if (!is_standard_metric(c) && std::find(diag.begin(), diag.end(), c) == diag.end()) diag.push_back(c);
    for (const auto& c : diag) {
      std::vector<double> v;
      for (const RunResult* r : ok) v.push_back(r->last(c));
      sum.last.emplace_back(c, mean_std(v));
    }
    // Weight gradients by depth, at epoch 1 and at the end.
    for (int k = 1;; ++k) {
      const std::string c = weight_grad_column(k);
      std::vector<double> first, last;
      for (const RunResult* r : ok) {
        const auto v = r->column(c);
        if (!v.empty()) first.push_back(v.front()), last.push_back(v.back());
      }
      if (first.empty()) break;
      sum.grad_first.push_back(mean_std(first));
      sum.grad_last.push_back(mean_std(last));
    }
    // Curves over epochs.
    std::size_t epochs = 0;
    for (const RunResult* r : ok) epochs = std::max(epochs, r->rows.size());
    // Learnable activation parameters: the columns of the first run that has them.
    for (const RunResult* r : ok) {
      const auto columns = activation_param_columns(r->columns);
      if (columns.empty()) continue;
      for (const auto& pc : columns) {
        ParamCurve curve{pc.k, pc.name, {}};
        for (std::size_t i = 0; i < epochs; ++i) {
          std::vector<double> v;
          for (const RunResult* q : ok) {
            const auto col = q->column(pc.column);
            if (i < col.size()) v.push_back(col[i]);
          }
          const Stat st = mean_std(v);
          curve.curve.epoch.push_back(static_cast<double>(i + 1));
          curve.curve.mean.push_back(st.mean);
          curve.curve.std.push_back(st.std);
        }
        sum.params.push_back(std::move(curve));
      }
      break;
    }
    for (std::size_t i = 0; i < epochs; ++i) {
      std::vector<double> acc, loss;
      for (const RunResult* r : ok) {
        if (i >= r->rows.size()) continue;
        const auto a = r->column("test_acc"), l = r->column("train_loss");
        acc.push_back(i < a.size() ? a[i] : kNaN);
        loss.push_back(i < l.size() ? l[i] : kNaN);
      }
      const Stat a = mean_std(acc), l = mean_std(loss);
      const double ep = static_cast<double>(i + 1);
      sum.test_acc.epoch.push_back(ep), sum.test_acc.mean.push_back(a.mean), sum.test_acc.std.push_back(a.std);
      sum.train_loss.epoch.push_back(ep), sum.train_loss.mean.push_back(l.mean), sum.train_loss.std.push_back(l.std);
    }
  }
  return out;
}

// ---- tables --------------------------------------------------------------------------------------

std::string format_number(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string csv_number(double v) { return std::isfinite(v) ? format_number("%.9g", v) : std::string(); }

std::string format_stat(const Stat& s, const char* format, double scale) {
  if (s.n == 0 || !std::isfinite(s.mean)) return "—";
  std::string out = format_number(format, s.mean * scale);
  if (std::isfinite(s.std)) out += " ± " + format_number(format, s.std * scale);
  return out;
}

std::string Table::to_markdown() const {
  auto cell = [](std::string c) {
    std::string out;
    for (char ch : c) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return out;
  };
  std::string md = "|";
  for (const auto& h : header) md += " " + cell(h) + " |";
  md += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) md += (i < right.size() && right[i]) ? "---:|" : "---|";
  md += "\n";
  for (const auto& r : rows) {
    md += "|";
    for (const auto& c : r) md += " " + cell(c) + " |";
    md += "\n";
  }
  return md;
}

std::string Table::to_html() const {
  std::string h = "<table>\n<thead><tr>";
  for (std::size_t i = 0; i < header.size(); ++i)
    h += std::string(i < right.size() && right[i] ? "<th class=\"num\">" : "<th>") + svg::xml_escape(header[i]) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    h += "<tr>";
    for (std::size_t i = 0; i < r.size(); ++i)
      h += std::string(i < right.size() && right[i] ? "<td class=\"num\">" : "<td>") + svg::xml_escape(r[i]) + "</td>";
    h += "</tr>\n";
  }
  return h + "</tbody>\n</table>\n";
}

Table summary_table(const Experiment& e, const std::vector<SettingSummary>& s) {
  Table t;
  const std::string target = format_number("%g", e.target_accuracy * 100.0) + "%";
  t.header = {"setting", "runs", "test acc % at best val epoch", "final test acc %", "best test acc % (optimistic)",
              "epochs to " + target, "s / epoch", "act. time %", "act. mean", "act. std", "dead %", "saturated %",
              "‖∂L/∂W₁‖", "‖∂L/∂W_last‖"};
  t.right = {false, false, true, true, true, true, true, true, true, true, true, true, true, true};
  for (const auto& x : s) {
    std::string reach = "—";
    if (x.ok > 0) {
      reach = x.reached ? format_stat(x.epochs_to_target, "%.1f") : "never";
      if (x.reached != x.ok) reach += " (" + std::to_string(x.reached) + "/" + std::to_string(x.ok) + ")";
    }
    t.rows.push_back({x.label, x.status_text(), format_stat(x.selected_test_acc, "%.2f", 100), format_stat(x.final_test_acc, "%.2f", 100),
                      format_stat(x.best_test_acc, "%.2f", 100), reach, format_stat(x.seconds_per_epoch, "%.2f"),
                      format_stat(x.act_share, "%.1f", 100), format_stat(x.layer_mean, "%.3f"),
                      format_stat(x.layer_std, "%.3f"), format_stat(x.layer_dead, "%.1f", 100),
                      format_stat(x.layer_sat, "%.1f", 100),
                      x.grad_last.empty() ? "—" : format_stat(x.grad_last.front(), "%.3g"),
                      x.grad_last.empty() ? "—" : format_stat(x.grad_last.back(), "%.3g")});
  }
  return t;
}

Table layer_table(const std::vector<SettingSummary>& s) {
  Table t;
  t.header = {"setting", "hidden layer", "mean", "std", "dead %", "saturated %", "‖∂L/∂W‖ into it"};
  t.right = {false, true, true, true, true, true, true};
  for (const auto& x : s) {
    for (int k = 1;; ++k) {
      const Stat* mean = x.find_last(activation_column(k, ActivationStat::mean));
      if (!mean) break;
      auto get = [&](ActivationStat stat) { const Stat* v = x.find_last(activation_column(k, stat)); return v ? *v : Stat{}; };
      const std::size_t w = static_cast<std::size_t>(k - 1);
      t.rows.push_back({x.label, std::to_string(k), format_stat(*mean, "%.3f"), format_stat(get(ActivationStat::std), "%.3f"),
                        format_stat(get(ActivationStat::dead), "%.1f", 100), format_stat(get(ActivationStat::sat), "%.1f", 100),
                        w < x.grad_last.size() ? format_stat(x.grad_last[w], "%.3g") : "—"});
    }
  }
  return t;
}

Table gradient_table(const std::vector<SettingSummary>& s) {
  std::size_t depth = 0;
  for (const auto& x : s) depth = std::max(depth, x.grad_last.size());
  Table t;
  t.header = {"setting"};
  t.right = {false};
  for (std::size_t k = 1; k <= depth; ++k) t.header.push_back("W" + std::to_string(k)), t.right.push_back(true);
  t.header.push_back("W1 / W" + std::to_string(depth));
  t.right.push_back(true);
  for (const auto& x : s) {
    std::vector<std::string> row = {x.label};
    for (std::size_t k = 0; k < depth; ++k) row.push_back(k < x.grad_last.size() ? format_stat(x.grad_last[k], "%.2e") : "—");
    row.push_back(x.grad_last.size() >= 2 && x.grad_last.back().mean > 0
                      ? format_number("%.3g", x.grad_last.front().mean / x.grad_last.back().mean)
                      : "—");
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table runs_table(const Plan& plan, const std::vector<RunResult>& results) {
  Table t;
  t.header = {"run", "setting", "seed", "status", "epochs", "test acc % at best val epoch", "final test acc %",
              "best test acc % (optimistic)", "wall time s", "message"};
  t.right = {false, false, true, false, true, true, true, true, true, false};
  for (const auto& r : results) {
    const PlannedRun& spec = plan.runs[r.run];
    auto pct = [](double v) { return std::isfinite(v) ? format_number("%.2f", v * 100) : std::string("—"); };
    const int row = selected_row(r);
    const auto epochs = r.column("epoch");
    std::string selected = pct(run_metric(r, "selected_test_acc"));
    if (row >= 0 && static_cast<std::size_t>(row) < epochs.size()) selected += format_number(" (epoch %.0f)", epochs[static_cast<std::size_t>(row)]);
    t.rows.push_back({spec.id, plan.settings[spec.setting], std::to_string(spec.seed), r.status, std::to_string(r.rows.size()),
                      selected, pct(run_metric(r, "final_test_acc")), pct(run_metric(r, "best_test_acc")),
                      std::isfinite(r.wall_seconds) ? format_number("%.1f", r.wall_seconds) : "—", r.message});
  }
  return t;
}

// ---- CSV and Markdown files ------------------------------------------------------------------

std::string csv_cell(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string q = "\"";
  for (char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string runs_csv(const Plan& plan, const std::vector<RunResult>& results) {
  // Union of the metric columns, in order of first appearance.
  std::vector<std::string> metrics;
  for (const auto& r : results)
    for (const auto& c : r.columns)
      if (std::find(metrics.begin(), metrics.end(), c) == metrics.end()) metrics.push_back(c);
  std::string csv = "run,setting";
  for (const auto& a : plan.axes) csv += "," + csv_cell(a);
  csv += ",seed,status";
  for (const auto& m : metrics) csv += "," + csv_cell(m);
  csv += ",message\n";
  for (const auto& r : results) {
    const PlannedRun& spec = plan.runs[r.run];
    std::string head = csv_cell(spec.id) + "," + csv_cell(plan.settings[spec.setting]);
    for (const auto& v : spec.values) head += "," + csv_cell(v);
    head += "," + std::to_string(spec.seed) + "," + r.status;
    auto row_of = [&](const std::vector<double>* values) {
      std::string line = head;
      for (const auto& m : metrics) {
        const auto it = std::find(r.columns.begin(), r.columns.end(), m);
        const auto c = static_cast<std::size_t>(it - r.columns.begin());
        line += "," + ((values && it != r.columns.end() && c < values->size()) ? csv_number((*values)[c]) : std::string());
      }
      return line + "," + csv_cell(r.message) + "\n";
    };
    if (r.rows.empty()) csv += row_of(nullptr);
    for (const auto& row : r.rows) csv += row_of(&row);
  }
  return csv;
}

std::string summary_csv(const Plan& plan, const std::vector<SettingSummary>& s) {
  std::vector<std::string> diag;
  for (const auto& x : s)
    for (const auto& [c, v] : x.last)
      if (std::find(diag.begin(), diag.end(), c) == diag.end()) diag.push_back(c);
  std::string csv = "setting";
  for (const auto& a : plan.axes) csv += "," + csv_cell(a);
  csv += ",runs,ok,failed,diverged,missing";
  const std::vector<std::string> stats = {"selected_test_acc", "selected_epoch", "final_test_acc", "best_test_acc",
                                          "final_train_loss", "final_test_loss",
                                          "epochs_to_target", "seconds_per_epoch", "act_seconds_per_epoch",
                                          "act_share", "hidden_mean", "hidden_std", "hidden_dead", "hidden_sat"};
  for (const auto& n : stats) csv += "," + n + "_mean," + n + "_std";
  csv += ",reached_target";
  for (const auto& d : diag) csv += "," + csv_cell("last_" + d) + "_mean," + csv_cell("last_" + d) + "_std";
  csv += "\n";
  for (const auto& x : s) {
    csv += csv_cell(x.label);
    for (const auto& v : x.values) csv += "," + csv_cell(v);
    csv += "," + std::to_string(x.runs) + "," + std::to_string(x.ok) + "," + std::to_string(x.failed) + "," +
           std::to_string(x.diverged) + "," + std::to_string(x.missing);
    for (const Stat* st : {&x.selected_test_acc, &x.selected_epoch, &x.final_test_acc, &x.best_test_acc,
                           &x.final_train_loss, &x.final_test_loss,
                           &x.epochs_to_target, &x.seconds_per_epoch, &x.act_seconds, &x.act_share, &x.layer_mean,
                           &x.layer_std, &x.layer_dead, &x.layer_sat})
      csv += "," + csv_number(st->mean) + "," + csv_number(st->std);
    csv += "," + std::to_string(x.reached);
    for (const auto& d : diag) {
      const Stat* st = x.find_last(d);
      csv += "," + (st ? csv_number(st->mean) : "") + "," + (st ? csv_number(st->std) : "");
    }
    csv += "\n";
  }
  return csv;
}

std::string summary_md(const Experiment& e, const Plan& plan, const std::vector<SettingSummary>& s,
                       const std::vector<RunResult>& results) {
  std::string md = "# " + e.name + "\n\n";
  if (!e.description.empty()) md += e.description + "\n\n";
  md += "Base config `" + e.base.filename().string() + "`, " + std::to_string(plan.settings.size()) + " settings × " +
        std::to_string(e.seeds.size()) + " seeds = " + std::to_string(plan.runs.size()) + " runs.\n";
  md += "Values are mean ± sample standard deviation (n − 1) over the seeds' finished runs; act. time is the share of "
        "the layers' forward+backward time spent in activation layers; act. mean/std, dead and saturated are averaged "
        "over the hidden layers at the last epoch, on a fixed probe batch of 512 test samples; ‖∂L/∂W‖ is the "
        "weight-gradient norm on that batch.\n\n";
  md += summary_table(e, s).to_markdown();
  std::string problems;
  for (const auto& r : results)
    if (r.status != "ok") problems += "- `" + plan.runs[r.run].id + "`: " + r.status + (r.message.empty() ? "" : ": " + r.message) + "\n";
  if (!problems.empty()) md += "\nRuns that failed, diverged or are missing (left out of the statistics):\n\n" + problems;
  return md;
}

}  // namespace nnlab::report
