#include "core/run/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace nnlab {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string cell(double v) {
  if (std::isnan(v)) return std::string();
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::vector<std::string> split_cells(const std::string& line, char sep) {
  std::vector<std::string> cells;
  std::size_t b = 0;
  while (true) {
    const auto c = line.find(sep, b);
    cells.push_back(line.substr(b, c == std::string::npos ? std::string::npos : c - b));
    if (c == std::string::npos) break;
    b = c + 1;
  }
  return cells;
}

const char* stat_name(ActivationStat s) {
  switch (s) {
    case ActivationStat::mean: return "mean";
    case ActivationStat::std: return "std";
    case ActivationStat::dead: return "dead";
    case ActivationStat::sat: return "sat";
  }
  return "";
}

template <typename Name>
std::vector<std::string> numbered(const std::vector<std::string>& columns, Name name) {
  std::vector<std::string> out;
  for (int k = 1;; ++k) {
    const std::string c = name(k);
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) break;
    out.push_back(c);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& standard_metric_columns() {
  static const std::vector<std::string> c = {"epoch",   "train_loss", "train_acc", "test_loss", "test_acc",
                                             "seconds", "val_loss",   "val_acc",   "lr"};
  return c;
}

bool is_standard_metric(const std::string& column) {
  const auto& c = standard_metric_columns();
  return std::find(c.begin(), c.end(), column) != c.end();
}

const std::vector<std::string>& monitorable_metrics() {
  static const std::vector<std::string> m = {"val_loss", "val_acc", "test_loss", "test_acc", "train_loss", "train_acc"};
  return m;
}

double metric_value(const EpochMetrics& m, const std::string& metric) {
  if (metric == "val_loss") return m.validation.loss;
  if (metric == "val_acc") return m.validation.accuracy;
  if (metric == "test_loss") return m.test.loss;
  if (metric == "test_acc") return m.test.accuracy;
  if (metric == "train_loss") return m.train.loss;
  if (metric == "train_acc") return m.train.accuracy;
  throw ConfigError("unknown metric '" + metric + "'" + did_you_mean(metric, monitorable_metrics()));
}

bool larger_is_better(const std::string& metric) { return metric.size() > 4 && metric.substr(metric.size() - 4) == "_acc"; }

std::string activation_column(int k, ActivationStat stat) { return "act" + std::to_string(k) + "_" + stat_name(stat); }
std::string weight_grad_column(int k) { return "w" + std::to_string(k) + "_grad"; }

std::vector<std::string> activation_columns(const std::vector<std::string>& columns, ActivationStat stat) {
  return numbered(columns, [&](int k) { return activation_column(k, stat); });
}
std::string activation_param_column(int k, const std::string& name) {
  return "act" + std::to_string(k) + "_param_" + name;
}
std::string activation_param_std_column(int k, const std::string& name) { return activation_param_column(k, name) + "_std"; }

std::vector<ActivationParamColumn> activation_param_columns(const std::vector<std::string>& columns) {
  std::vector<ActivationParamColumn> out;
  for (const auto& c : columns) {
    // act<k>_param_<name>: digits after "act", then "_param_", then a name that is not a _std column.
    if (c.rfind("act", 0) != 0) continue;
    std::size_t i = 3;
    while (i < c.size() && c[i] >= '0' && c[i] <= '9') ++i;
    // (At most 6 digits: a header written by hand or by another tool must not overflow stoi.)
    if (i == 3 || i > 9 || c.compare(i, 7, "_param_") != 0 || i + 7 >= c.size()) continue;
    ActivationParamColumn p;
    p.k = std::stoi(c.substr(3, i - 3));
    p.name = c.substr(i + 7);
    p.column = c;
    const std::string sd = activation_param_std_column(p.k, p.name);
    if (std::find(columns.begin(), columns.end(), sd) != columns.end()) p.std_column = sd;
    // A "<name>_std" column is the spread of <name> when that column exists; otherwise its own parameter.
    const bool is_spread = p.name.size() > 4 && p.name.compare(p.name.size() - 4, 4, "_std") == 0 &&
                           std::find(columns.begin(), columns.end(), c.substr(0, c.size() - 4)) != columns.end();
    if (!is_spread) out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> weight_grad_columns(const std::vector<std::string>& columns) {
  return numbered(columns, [](int k) { return weight_grad_column(k); });
}

std::string metrics_csv_header(const EpochMetrics& first) {
  std::string h = join(standard_metric_columns(), ",");
  for (const auto& [name, v] : first.extra) h += "," + name;
  return h + "\n";
}

std::string metrics_csv_row(const EpochMetrics& m) {
  char seconds[64];
  std::snprintf(seconds, sizeof seconds, "%.4f", m.seconds);
  const std::vector<std::string> cells = {std::to_string(m.epoch), cell(m.train.loss),      cell(m.train.accuracy),
                                          cell(m.test.loss),       cell(m.test.accuracy),    seconds,
                                          cell(m.validation.loss), cell(m.validation.accuracy), cell(m.lr)};
  std::string row = join(cells, ",");
  for (const auto& [name, v] : m.extra) row += "," + cell(v);
  return row + "\n";
}

std::string metrics_json_line(const EpochMetrics& m) {
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json j = {{"epoch", m.epoch},
                      {"train_loss", num(m.train.loss)},
                      {"train_acc", num(m.train.accuracy)},
                      {"test_loss", num(m.test.loss)},
                      {"test_acc", num(m.test.accuracy)},
                      {"seconds", m.seconds},
                      {"val_loss", num(m.validation.loss)},
                      {"val_acc", num(m.validation.accuracy)},
                      {"lr", m.lr}};
  for (const auto& [name, v] : m.extra) j[name] = num(v);
  return j.dump() + "\n";
}

std::vector<double> MetricsTable::column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) return {};
  const auto c = static_cast<std::size_t>(it - columns.begin());
  std::vector<double> out;
  for (const auto& r : rows) out.push_back(c < r.size() ? r[c] : kNaN);
  return out;
}

double MetricsTable::last(const std::string& name) const {
  const auto v = column(name);
  return v.empty() ? kNaN : v.back();
}

bool MetricsTable::has(const std::string& name) const {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

MetricsTable parse_metrics_csv(const std::string& text) {
  MetricsTable t;
  for (const auto& line : split_cells(text, '\n')) {
    if (line.empty()) continue;
    const auto cells = split_cells(line, ',');
    if (t.columns.empty()) {
      t.columns = cells;
      continue;
    }
    std::vector<double> row;
    for (const auto& c : cells) {
      try {
        row.push_back(c.empty() ? kNaN : std::stod(c));
      } catch (const std::exception&) {
        row.push_back(kNaN);
      }
    }
    row.resize(t.columns.size(), kNaN);
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace nnlab
