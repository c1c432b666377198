#include "apps/report/explain_html.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "apps/report/results.hpp"
#include "apps/report/svg.hpp"
#include "core/registry.hpp"

namespace nnlab::report {
namespace {

using svg::xml_escape;

std::string num(double v, const char* format = "%.4g") { return format_number(format, v); }

double norm(const MatD& m) { return m.size() ? m.norm() : 0.0; }

// A tensor cell: every value of a small tensor (one row per line), the summary of a large one.
std::string values_cell(const MatD& m) {
  std::ostringstream o;
  if (m.size() <= kExplainShowAll) {
    o << "<td class=\"v\">";
    for (Index r = 0; r < m.rows(); ++r) {
      if (r) o << "<br>";
      for (Index c = 0; c < m.cols(); ++c) o << (c ? " " : "") << num(m(r, c), "%.5f");
    }
    o << "</td>";
    return o.str();
  }
  const TensorSummary t = nnlab::summarize(m);
  o << "<td>mean " << num(t.mean) << ", std " << num(t.std) << ", min " << num(t.min) << ", max " << num(t.max)
    << " (" << m.size() << " values)</td>";
  return o.str();
}

std::string check_cell(const GradientCheck* c) {
  if (!c) return "<td></td>";
  std::ostringstream o;
  const std::string v = c->verdict();
  const char* cls = v == "WRONG" ? "bad" : v == "not compared" ? "na" : "ok";
  o << "<td class=\"" << cls << "\">" << v;
  if (c->checked) o << " (max abs " << num(c->max_abs, "%.1e") << ", rel " << num(c->max_rel, "%.1e") << "; " << c->checked << " of " << c->of;
  if (c->checked && c->kinks) o << ", " << c->kinks << " at kinks";
  if (c->checked) o << ")";
  else o << " (" << c->kinks << " probed elements at kinks)";
  o << "</td>";
  return o.str();
}

std::string row(const std::string& name, const MatD& m, const GradientCheck* c) {
  return "<tr><td>" + xml_escape(name) + "</td><td>" + shape_text(m) + "</td>" + values_cell(m) + check_cell(c) + "</tr>\n";
}

// Text that fits a node: at most n characters (counting UTF-8 code points), "…" when cut.
std::string fit(const std::string& s, std::size_t n) {
  std::size_t points = 0, i = 0;
  for (; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && points++ == n) break;
  return i < s.size() ? s.substr(0, i) + "…" : s;
}

// ---- the layer graph --------------------------------------------------------------------------

std::string layer_graph(const Explanation& e) {
  const int node_w = 520, node_h = 46, gap = 44, left = 20, width = 780;
  const int n = static_cast<int>(e.layers.size());
  const int height = 20 + (n + 1) * node_h + (n + 1) * gap;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width
    << " " << height << "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  auto node = [&](int k, const std::string& title, const std::string& sub, const std::string& fill) {
    const int y = 10 + k * (node_h + gap);
    o << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << node_w << "\" height=\"" << node_h
      << "\" rx=\"6\" fill=\"" << fill << "\" stroke=\"#555\"/>\n";
    o << "<text x=\"" << left + 10 << "\" y=\"" << y + 18 << "\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
    o << "<text x=\"" << left + 10 << "\" y=\"" << y + 36 << "\" fill=\"#333\">" << xml_escape(fit(sub, 78)) << "</text>\n";
  };
  auto edge = [&](int k, const MatD& value, const MatD& grad) {  // from node k to node k + 1
    const int y0 = 10 + k * (node_h + gap) + node_h, y1 = y0 + gap, x = left + node_w / 2;
    o << "<line x1=\"" << x << "\" y1=\"" << y0 << "\" x2=\"" << x << "\" y2=\"" << y1 - 6 << "\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n";
    o << "<polygon points=\"" << x - 5 << "," << y1 - 7 << " " << x + 5 << "," << y1 - 7 << " " << x << "," << y1 << "\" fill=\"#1f77b4\"/>\n";
    o << "<text x=\"" << x + 14 << "\" y=\"" << y0 + 18 << "\" fill=\"#1f77b4\">‖y‖ = " << num(norm(value)) << "</text>\n";
    o << "<text x=\"" << x + 14 << "\" y=\"" << y0 + 34 << "\" fill=\"#d62728\">‖dL/dy‖ = " << num(norm(grad)) << "  ↑</text>\n";
  };
  node(0, "input x  " + Shape{e.x.cols()}.str() + " per sample, batch " + std::to_string(e.x.rows()),
       "labels:" + [&] {
         std::string s;
         for (auto l : e.labels) s += " " + std::to_string(l);
         return s;
       }(),
       "#f2f2f2");
  for (int k = 0; k < n; ++k) {
    const ExplainedLayer& l = e.layers[static_cast<std::size_t>(k)];
    edge(k, e.input_of(static_cast<std::size_t>(k)), l.dx);  // the layer's input and the gradient it sends back
    node(k + 1, "[" + std::to_string(k) + "] " + l.type + "  → " + l.output_shape.str(), l.formula, l.wrong() ? "#f8d0d0" : "#e8f1fa");
  }
  const int y = 10 + n * (node_h + gap) + node_h;
  o << "<text x=\"" << left + node_w / 2 + 14 << "\" y=\"" << y + 18 << "\">loss " << xml_escape(e.loss_name) << " = "
    << num(e.loss, "%.6g") << "</text>\n";
  o << "<text x=\"" << left + node_w / 2 + 14 << "\" y=\"" << y + 34 << "\" fill=\"#d62728\">‖dL/dy‖ = "
    << num(norm(e.layers.back().dy)) << "  ↑</text>\n";
  o << "</svg>\n";
  return o.str();
}

// ---- every neuron and weight ------------------------------------------------------------------

// Whether the network is small enough, and made of layers whose units map to each other plainly:
// dense layers (a weight per pair) and activations (one to one; a row-wise one, softmax, all to all).
bool draw_units(const Explanation& e) {
  Index units = e.x.cols();
  for (const auto& l : e.layers) {
    if (l.input_shape.rank() != 1 || l.output_shape.rank() != 1) return false;
    if (l.type != "dense" && !is_activation(layer_entry(l.type).kind)) return false;
    units += l.output_shape.numel();
  }
  return units <= kExplainMaxUnits;
}

std::string unit_graph(const Explanation& e) {
  std::vector<Index> widths{e.x.cols()};
  for (const auto& l : e.layers) widths.push_back(l.output_shape.numel());
  // A dense unit lists its incoming weights w_i and their gradients when it has at most
  // kListedWeights inputs; every unit is as tall as the tallest list.
  constexpr Index kListedWeights = 6;
  Index listed = 0;
  for (std::size_t k = 0; k < e.layers.size(); ++k)
    if (e.layers[k].type == "dense" && widths[k] <= kListedWeights) listed = std::max(listed, widths[k]);
  const int col_w = 330, unit_w = 170, unit_h = 50 + 13 * static_cast<int>(listed), vgap = 26, top = 40, left = 20;
  const Index tallest = *std::max_element(widths.begin(), widths.end());
  const int height = top + static_cast<int>(tallest) * (unit_h + vgap) + 20;
  const int width = left + static_cast<int>(widths.size() - 1) * col_w + unit_w + 20;
  auto ux = [&](std::size_t col) { return left + static_cast<int>(col) * col_w; };
  auto uy = [&](std::size_t col, Index j) {
    const int offset = static_cast<int>(tallest - widths[col]) * (unit_h + vgap) / 2;
    return top + offset + static_cast<int>(j) * (unit_h + vgap);
  };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width
    << " " << height << "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // Column titles.
  o << "<text x=\"" << ux(0) << "\" y=\"20\" font-weight=\"bold\">input x</text>\n";
  for (std::size_t k = 0; k < e.layers.size(); ++k)
    o << "<text x=\"" << ux(k + 1) << "\" y=\"20\" font-weight=\"bold\">[" << k << "] " << xml_escape(e.layers[k].type) << "</text>\n";
  // Edges first (under the units); hovering shows a weight's value and gradient. Labels on the
  // edges would pile up where they meet, so a dense unit lists its incoming weights instead.
  double wmax = 1e-12;
  for (const auto& l : e.layers)
    if (l.type == "dense") wmax = std::max(wmax, l.params[0].value.cwiseAbs().maxCoeff());
  for (std::size_t k = 0; k < e.layers.size(); ++k) {
    const ExplainedLayer& l = e.layers[k];
    const Index in = widths[k], out = widths[k + 1];
    const int x0 = ux(k) + unit_w, x1 = ux(k + 1);
    const bool dense = l.type == "dense";
    const bool rowwise = !dense && layer_entry(l.type).kind == LayerKind::rowwise;
    for (Index j = 0; j < out; ++j) {
      for (Index i = 0; i < in; ++i) {
        if (!dense && !rowwise && i != j) continue;
        const int y0 = uy(k, i) + unit_h / 2, y1 = uy(k + 1, j) + unit_h / 2;
        if (!dense) {
          o << "<line x1=\"" << x0 << "\" y1=\"" << y0 << "\" x2=\"" << x1 << "\" y2=\"" << y1 << "\" stroke=\"#999\" stroke-width=\"1\"/>\n";
          continue;
        }
        const double w = l.params[0].value(j, i), g = l.params[0].grad(j, i);
        const double thick = 0.6 + 3.4 * std::abs(w) / wmax;
        o << "<line x1=\"" << x0 << "\" y1=\"" << y0 << "\" x2=\"" << x1 << "\" y2=\"" << y1 << "\" stroke=\""
          << (w >= 0 ? "#1f77b4" : "#ff7f0e") << "\" stroke-opacity=\"0.75\" stroke-width=\"" << num(thick, "%.2f") << "\"><title>W["
          << j << "][" << i << "] = " << num(w, "%.6g") << ", dL/dW = " << num(g, "%.6g") << "</title></line>\n";
      }
    }
  }
  // Units: value and gradient for sample 0.
  auto unit = [&](std::size_t col, Index j, const std::string& name, double value, double grad, const std::string& extra,
                  const ExplainedLayer* dense) {
    const int x = ux(col), y = uy(col, j);
    o << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << unit_w << "\" height=\"" << unit_h
      << "\" rx=\"5\" fill=\"#fdfdf5\" stroke=\"#444\"/>\n";
    o << "<text x=\"" << x + 6 << "\" y=\"" << y + 14 << "\" font-weight=\"bold\">" << xml_escape(name) << "</text>";
    if (!extra.empty()) o << "<text x=\"" << x + unit_w - 6 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\" fill=\"#555\">" << xml_escape(extra) << "</text>";
    o << "\n<text x=\"" << x + 6 << "\" y=\"" << y + 29 << "\">data " << num(value, "%.5f") << "</text>\n";
    o << "<text x=\"" << x + 6 << "\" y=\"" << y + 43 << "\" fill=\"#d62728\">grad " << num(grad, "%.5f") << "</text>\n";
    if (dense && dense->params[0].value.cols() <= kListedWeights)
      for (Index i = 0; i < dense->params[0].value.cols(); ++i)
        o << "<text x=\"" << x + 6 << "\" y=\"" << y + 57 + 13 * static_cast<int>(i) << "\" font-size=\"10\" fill=\"#555\">w" << i << " "
          << num(dense->params[0].value(j, i), "%.4f") << "  g " << num(dense->params[0].grad(j, i), "%.4f") << "</text>\n";
  };
  const MatD& dx0 = e.layers.front().dx;
  for (Index j = 0; j < widths[0]; ++j) unit(0, j, "x" + std::to_string(j), e.x(0, j), dx0(0, j), "", nullptr);
  for (std::size_t k = 0; k < e.layers.size(); ++k) {
    const ExplainedLayer& l = e.layers[k];
    const bool bias = l.type == "dense" && l.params.size() > 1;
    for (Index j = 0; j < widths[k + 1]; ++j)
      unit(k + 1, j, "y" + std::to_string(j), l.output(0, j), l.dy(0, j),
           bias ? "b " + num(l.params[1].value.data()[j], "%.3f") + " g " + num(l.params[1].grad.data()[j], "%.3f") : "",
           l.type == "dense" ? &l : nullptr);
  }
  o << "</svg>\n";
  return o.str();
}

const char* kStyle = R"CSS(
body { font-family: "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 18px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.v { font-family: "DejaVu Sans Mono", monospace; white-space: nowrap; }
td.ok { color: #1a7f37; } td.bad { color: #b00020; font-weight: bold; } td.na { color: #777; }
p.f { font-family: "DejaVu Sans Mono", monospace; margin: 2px 0; }
.note { color: #555; font-size: 13px; }
)CSS";

}  // namespace

std::string explain_html(const Explanation& e, const ExplainedUpdate& u) {
  const bool units = draw_units(e);
  const int plots = units ? 2 : 1;
  const int tables = static_cast<int>(e.layers.size()) + 1;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<meta name=\"nnlab-tables\" content=\"" << tables
    << "\">\n<meta name=\"nnlab-plots\" content=\"" << plots << "\">\n<title>nnlab explain: " << xml_escape(e.model_summary)
    << "</title>\n<style>" << kStyle << "</style></head><body>\n";
  o << "<h1>One training step of " << xml_escape(e.model_summary) << "</h1>\n";
  o << "<p>" << e.x.rows() << " samples, double precision, evaluation mode. Loss " << xml_escape(e.loss_name) << " = "
    << num(e.loss, "%.10g") << ". Every gradient is compared with central finite differences of the loss: "
    << (e.wrong ? "<b class=\"bad\">" + std::to_string(e.wrong) + " disagree (WRONG below)</b>" : std::string("all agree")) << ".";
  if (e.culprit >= 0)
    o << " Look first at <b>[" << e.culprit << "] " << xml_escape(e.layers[static_cast<std::size_t>(e.culprit)].type)
      << "</b>, the first WRONG layer in backward order: a wrong dL/dx there reaches every layer below it as a wrong dL/dy.";
  o << "</p>\n";

  o << "<h2>The network</h2>\n<p class=\"note\">Forward runs down, the gradient flows back up. Each edge carries the norm of the "
       "tensor going down (‖y‖, over the whole batch) and of its gradient coming up (‖dL/dy‖). A red node has a gradient that "
       "disagrees with finite differences.</p>\n";
  o << layer_graph(e);
  if (units) {
    o << "<h2>Every neuron and weight</h2>\n<p class=\"note\">Each unit: its value (data) and dL/d(value) (grad) for the first "
         "sample of the batch. Each weight: an edge, blue for positive and orange for negative, as thick as its magnitude, "
         "hover over it for its value and gradient. A dense unit lists the weights w<i>i</i> from each unit <i>i</i> of the "
         "column before and their gradients g over the batch (up to 6 inputs), with its bias b and its gradient in the corner.</p>\n";
    o << unit_graph(e);
  }

  o << "<h2>Layer by layer</h2>\n";
  for (std::size_t k = 0; k < e.layers.size(); ++k) {
    const ExplainedLayer& l = e.layers[k];
    o << "<h3>[" << k << "] " << xml_escape(l.type) << ": " << xml_escape(l.summary) << "  (" << xml_escape(l.input_shape.str())
      << " → " << xml_escape(l.output_shape.str()) << ")</h3>\n";
    o << "<p class=\"f\">forward: " << xml_escape(l.formula) << "</p>\n<p class=\"f\">backward: " << xml_escape(l.derivative) << "</p>\n";
    o << "<table><tr><th>tensor</th><th>shape</th><th>values</th><th>vs finite differences</th></tr>\n";
    o << row("x (input)", e.input_of(k), nullptr);
    for (const auto& p : l.params) o << row(p.name, p.value, nullptr);
    o << row("y (output)", l.output, nullptr);
    o << row("dL/dy (arrives)", l.dy, nullptr);
    o << row("dL/dx (leaves)", l.dx, &l.dx_check);
    for (const auto& p : l.params) o << row("dL/d" + p.name, p.grad, &p.check);
    o << "</table>\n";
  }

  o << "<h2>The update</h2>\n<p>" << xml_escape(u.optimizer) << ": " << xml_escape(u.summary) << " (" << xml_escape(u.settings)
    << "). The weight with the largest gradient, " << xml_escape(u.param);
  for (auto i : u.index) o << "[" << i << "]";
  o << ":</p>\n<table><tr><th>quantity</th><th>value</th></tr>\n";
  o << "<tr><td>value</td><td class=\"v\">" << num(u.value, "%.8g") << "</td></tr>\n";
  o << "<tr><td>gradient</td><td class=\"v\">" << num(u.grad, "%.8g") << (u.weight_decay ? "" : " (no weight decay)") << "</td></tr>\n";
  for (const auto& [name, v] : u.slots)
    o << "<tr><td>" << xml_escape(name) << " (after the step)</td><td class=\"v\">" << num(v, "%.8g") << "</td></tr>\n";
  o << "<tr><td>new value</td><td class=\"v\">" << num(u.new_value, "%.8g") << " = value − lr × " << num((u.value - u.new_value) / u.lr, "%.8g")
    << " (lr " << num(u.lr, "%g") << ")</td></tr>\n</table>\n";
  o << "</body></html>\n";
  return o.str();
}

void write_explain_html(const Explanation& e, const ExplainedUpdate& update, const std::string& path) {
  svg::write_file(path, explain_html(e, update));
}

}  // namespace nnlab::report
