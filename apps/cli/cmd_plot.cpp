// nnlab plot: every activation function and its derivative, as SVG figures and one CSV file.
//
//   nnlab plot [--activations a,b,...] [--range LO:HI] [--samples N] [--out DIR] [--param name.key=value ...]
//
// For each activation the layer is built in double precision exactly as a config would build it
// (learnable ones at their initial values) and evaluated on N evenly spaced points x_0 = LO, ...,
// x_{N-1} = HI:
//   f(x)  = forward(x)                     (inference mode)
//   f'(x) = backward(dy = 1)               (the layer's own hand-written derivative, not a difference)
// so the figures show what training actually uses, kink conventions included (ReLU'(0) = 0).
//
// Row-wise activations (softmax, log_softmax, ...: each output depends on the whole row) have no
// one-dimensional graph. They are detected by probing (an output that changes when only another
// input changes, or an output width different from the input width) and shown honestly as a slice:
// the 2-element row [x, 0], plotting the first output y₀ and the diagonal Jacobian entry ∂y₀/∂x₀
// (backward with dy = [1, 0]). For softmax that slice is the logistic sigmoid σ(x). The chart's
// subtitle says so, and the CSV holds the same two quantities.
//
// Output: <out>/<name>.svg (f solid, f' dashed, axes through the origin), <out>/all.svg (every f
// overlaid) and <out>/activations.csv (activation,x,y,dydx; %.17g).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "apps/cli/command.hpp"
#include "apps/report/svg.hpp"
#include "core/error.hpp"
#include "core/registry.hpp"

namespace nnlab::app {
namespace {

struct PlotOptions {
  std::string activations;  // comma-separated; empty = all
  std::string range = "-10:10";
  std::string ylim;         // optional LO:HI for the per-activation figures
  int samples = 401;
  std::string out = "plots";
  std::vector<std::string> params;  // name.key=value
};

// One evaluated activation.
struct Curve {
  std::string name;
  std::string title;     // "squareplus (b=0.2)"
  bool row_wise = false;
  std::vector<double> x, y, dydx;
};

// "LO:HI" -> {lo, hi}, both finite, lo < hi.
std::pair<double, double> parse_range(const std::string& s, const std::string& option) {
  const auto colon = s.find(':', 1);  // skip a leading sign
  double lo = 0, hi = 0;
  std::size_t used_lo = 0, used_hi = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("");
    const std::string a = s.substr(0, colon), b = s.substr(colon + 1);
    lo = std::stod(a, &used_lo), hi = std::stod(b, &used_hi);
    if (used_lo != a.size() || used_hi != b.size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw ConfigError(option + ": expected LO:HI (e.g. -10:10), got '" + s + "'");
  }
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
    throw ConfigError(option + ": need finite LO < HI, got '" + s + "'");
  if (!std::isfinite(hi - lo))
    throw ConfigError(option + ": HI - LO overflows a double for '" + s + "'; give a narrower range");
  return {lo, hi};
}

// --param name.key=value ... -> {name: {key: value}}; the value is JSON if it parses, else a string.
std::map<std::string, nlohmann::json> parse_params(const std::vector<std::string>& items) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& item : items) {
    const auto dot = item.find('.'), eq = item.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq || dot == 0 || eq == dot + 1)
      throw ConfigError("--param: expected activation.key=value (e.g. squareplus.b=0.2), got '" + item + "'");
    const std::string name = item.substr(0, dot), key = item.substr(dot + 1, eq - dot - 1), text = item.substr(eq + 1);
    activation_entry(name, "--param " + item);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    if (!out.count(name)) out[name] = nlohmann::json::object();
    out[name][key] = value;
  }
  return out;
}

// "squareplus (b=0.2)": the name and every parameter's value (defaults included).
std::string title_for(const LayerSpec& r) {
  std::vector<std::string> parts;
  for (const auto& spec : r.entry->params) {
    const Value& v = r.args.values().at(spec.name);
    const auto* s = std::get_if<std::string>(&v);
    parts.push_back(spec.name + "=" + (s ? *s : to_string(v)));
  }
  return parts.empty() ? r.entry->name : r.entry->name + " (" + join(parts, ", ") + ")";
}

Curve evaluate(const std::string& name, const nlohmann::json& params, const std::vector<double>& xs) {
  nlohmann::json spec = params;
  spec["type"] = name;
  const LayerSpec resolved = resolve_layer(spec, "--param " + name);  // validates the parameters
  Curve c;
  c.name = name;
  c.title = title_for(resolved);
  c.x = xs;
  const Index n = static_cast<Index>(xs.size());

  // An element-wise activation is plotted on a width-1 input, a row-wise one (softmax) on the row [x, 0].
  c.row_wise = resolved.entry->kind == LayerKind::rowwise;
  LayerPtr<double> layer;
  try {
    layer = make_layer<double>(name, c.row_wise ? 2 : 1, params);
  } catch (const Error& e) {
    throw ConfigError(name + ": cannot build it for plotting: " + e.what());
  }

  if (!c.row_wise) {
    MatD x(n, 1), dy = MatD::Ones(n, 1);
    for (Index i = 0; i < n; ++i) x(i, 0) = xs[static_cast<std::size_t>(i)];
    const MatD y = layer->forward(x, false);
    const MatD& dx = layer->backward(dy);
    for (Index i = 0; i < n; ++i) c.y.push_back(y(i, 0)), c.dydx.push_back(dx(i, 0));
  } else {
    // The slice [x, 0]: first output and ∂y₀/∂x₀ (backward with the upstream gradient e₀).
    MatD x = MatD::Zero(n, 2);
    for (Index i = 0; i < n; ++i) x(i, 0) = xs[static_cast<std::size_t>(i)];
    const MatD y = layer->forward(x, false);
    MatD dy = MatD::Zero(n, y.cols());
    dy.col(0).setOnes();
    const MatD& dx = layer->backward(dy);
    for (Index i = 0; i < n; ++i) c.y.push_back(y(i, 0)), c.dydx.push_back(dx(i, 0));
  }
  return c;
}

svg::LineChart activation_chart(const Curve& c, const std::optional<std::pair<double, double>>& ylim) {
  svg::LineChart chart;
  chart.title = c.title;
  chart.x_label = "x";
  chart.axes_through_origin = true;
  if (c.row_wise) {
    chart.subtitle = "row-wise: the row [x, 0]; first output y\u2080 and diagonal derivative \u2202y\u2080/\u2202x\u2080";
    chart.series.push_back(svg::line("y\u2080", c.x, c.y));
    chart.series.push_back(svg::line("\u2202y\u2080/\u2202x\u2080", c.x, c.dydx, svg::Dash::dashed));
  } else {
    chart.series.push_back(svg::line("f(x)", c.x, c.y));
    chart.series.push_back(svg::line("f\u2032(x)", c.x, c.dydx, svg::Dash::dashed));
  }
  if (ylim) chart.y_min = ylim->first, chart.y_max = ylim->second;
  return chart;
}

svg::LineChart overlay_chart(const std::vector<Curve>& curves) {
  svg::LineChart chart;
  chart.title = "Activation functions";
  chart.x_label = "x";
  chart.y_label = "f(x)";
  chart.axes_through_origin = true;
  std::vector<std::string> row_wise;
  // Ten palette colours; later series cycle through dashed, dotted and dash-dot strokes.
  const svg::Dash cycle[] = {svg::Dash::solid, svg::Dash::dashed, svg::Dash::dotted, svg::Dash::dash_dot};
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const auto& c = curves[i];
    if (c.row_wise) row_wise.push_back(c.name);
    svg::Series s = svg::line(c.row_wise ? c.name + " (y\u2080 of [x, 0])" : c.name, c.x, c.y,
                              cycle[(i / svg::palette().size()) % 4]);
    s.line_width = 1.5;
    chart.series.push_back(std::move(s));
  }
  if (!row_wise.empty()) chart.subtitle = "row-wise " + join(row_wise) + ": first output of the row [x, 0]";
  if (curves.size() > 4) {
    chart.legend = svg::LegendPos::outside_right;
    chart.width = 1000;
    chart.height = std::max(600, static_cast<int>(curves.size()) * 19 + 130);
  }
  return chart;
}

void run(const PlotOptions& o) {
  const auto [lo, hi] = parse_range(o.range, "--range");
  std::optional<std::pair<double, double>> ylim;
  if (!o.ylim.empty()) ylim = parse_range(o.ylim, "--ylim");
  if (o.samples < 2 || o.samples > 1000000)
    throw ConfigError("--samples: need 2 to 1000000 points, got " + std::to_string(o.samples));

  std::vector<std::string> names = o.activations.empty() ? activation_names() : split_list(o.activations);
  if (names.empty()) throw ConfigError("--activations: no activation named");
  for (const auto& n : names) activation_entry(n, "--activations");
  const auto params = parse_params(o.params);
  for (const auto& [name, p] : params)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw ConfigError("--param: '" + name + "' is not among the plotted activations (" + join(names) + ")");

  // x_i = lo + (hi − lo)·i/(N−1): both endpoints exact, and 0 exact when the range is symmetric.
  std::vector<double> xs(static_cast<std::size_t>(o.samples));
  for (int i = 0; i < o.samples; ++i) xs[static_cast<std::size_t>(i)] = lo + (hi - lo) * i / (o.samples - 1);

  std::vector<Curve> curves;
  for (const auto& n : names) {
    const auto it = params.find(n);
    curves.push_back(evaluate(n, it == params.end() ? nlohmann::json::object() : it->second, xs));
    // A figure or CSV of inf/nan would be garbage: say where the function leaves double's range.
    const Curve& c = curves.back();
    for (std::size_t i = 0; i < c.x.size(); ++i)
      if (!std::isfinite(c.y[i]) || !std::isfinite(c.dydx[i]))
        throw ConfigError("--range " + o.range + ": " + c.title + " is not finite at x = " + std::to_string(c.x[i]) +
                          " (f = " + std::to_string(c.y[i]) + ", f' = " + std::to_string(c.dydx[i]) +
                          "); give a narrower range");
  }

  std::vector<std::string> written;
  for (const auto& c : curves) {
    const std::string path = o.out + "/" + c.name + ".svg";
    svg::write_file(path, svg::render(activation_chart(c, ylim)));
    written.push_back(path);
  }
  const std::string all = o.out + "/all.svg";
  svg::write_file(all, svg::render(overlay_chart(curves)));
  written.push_back(all);

  std::string csv = "activation,x,y,dydx\n";
  char buf[128];
  for (const auto& c : curves)
    for (std::size_t i = 0; i < c.x.size(); ++i) {
      std::snprintf(buf, sizeof buf, ",%.17g,%.17g,%.17g\n", c.x[i], c.y[i], c.dydx[i]);
      csv += c.name + buf;
    }
  const std::string csv_path = o.out + "/activations.csv";
  svg::write_file(csv_path, csv);

  for (std::size_t i = 0; i < curves.size(); ++i)
    std::printf("wrote %s  %s%s\n", written[i].c_str(), curves[i].title.c_str(),
                curves[i].row_wise ? "  [row-wise: first output of the row [x, 0]]" : "");
  std::printf("wrote %s  (f of all %zu activations)\n", all.c_str(), curves.size());
  std::printf("wrote %s  (%zu activations x %d samples on [%g, %g])\n", csv_path.c_str(), curves.size(), o.samples, lo, hi);
}

void setup(CLI::App& sub) {
  auto o = std::make_shared<PlotOptions>();
  sub.add_option("--activations", o->activations, "comma-separated activation names (default: all registered)");
  sub.add_option("--range", o->range, "x range LO:HI")->capture_default_str();
  sub.add_option("--samples", o->samples, "points in the range, both endpoints included")->capture_default_str();
  sub.add_option("--out", o->out, "output directory")->capture_default_str();
  sub.add_option("--ylim", o->ylim, "fix the y range of the per-activation figures, LO:HI (clips)");
  sub.add_option("--param", o->params, "set a parameter, activation.key=value (value parsed as JSON, else string)");
  sub.callback([o] { run(*o); });
}

}  // namespace

NNLAB_COMMAND("plot", "Plot activation functions and their derivatives (SVG) and write their values (CSV)", setup);

}  // namespace nnlab::app
