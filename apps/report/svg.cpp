// SVG chart writer (see svg.hpp). Pixel coordinates grow right and down; data coordinates are
// mapped onto the plot rectangle by two linear scales. Geometry is clipped in data space
// (Liang–Barsky for line segments, Sutherland–Hodgman for band polygons), so the file never holds
// coordinates far outside the frame and no clip-path is needed.
#include "apps/report/svg.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include "core/error.hpp"

namespace nnlab::svg {

// ---- building blocks ----------------------------------------------------------------------------

const std::vector<std::string>& palette() {
  static const std::vector<std::string> tab10 = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return tab10;
}

Series line(std::string name, std::vector<double> x, std::vector<double> y, Dash dash) {
  Series s;
  s.name = std::move(name), s.x = std::move(x), s.y = std::move(y), s.dash = dash;
  return s;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// Ticks k·step for integer k in [lo, hi] (with a little tolerance for rounding at the ends).
struct TickRange {
  long long first = 0, last = -1;
  long long count() const { return last - first + 1; }
};
TickRange tick_range(double lo, double hi, double step) {
  const double eps = 1e-9;
  return {static_cast<long long>(std::ceil(lo / step - eps)), static_cast<long long>(std::floor(hi / step + eps))};
}

// k·m·10^e computed so that decimal steps give the nearest double (3·0.1 → 0.3, not 0.30000000000000004).
double tick_value(long long k, double mantissa, int exponent) {
  const double km = static_cast<double>(k) * mantissa;
  return exponent >= 0 ? km * std::pow(10.0, exponent) : km / std::pow(10.0, -exponent);
}

struct NiceStep {
  double mantissa = 1;
  int exponent = 0;
  double step() const { return tick_value(1, mantissa, exponent); }
};

NiceStep choose_step(double lo, double hi, int max_ticks) {
  max_ticks = std::max(max_ticks, 2);
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {};
  const int e0 = static_cast<int>(std::floor(std::log10(span / max_ticks))) - 1;
  NiceStep previous{}, s{};
  bool have_previous = false;
  for (int e = e0; e < e0 + 4; ++e) {
    for (double m : {1.0, 2.0, 5.0}) {
      s = {m, e};
      const long long n = tick_range(lo, hi, s.step()).count();
      if (n <= max_ticks) return (n < 2 && have_previous) ? previous : s;
      previous = s, have_previous = true;
    }
  }
  return s;
}

}  // namespace

double nice_step(double lo, double hi, int max_ticks) { return choose_step(lo, hi, max_ticks).step(); }

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) return std::isfinite(lo) ? std::vector<double>{lo} : std::vector<double>{};
  const NiceStep s = choose_step(lo, hi, max_ticks);
  const TickRange r = tick_range(lo, hi, s.step());
  std::vector<double> ticks;
  for (long long k = r.first; k <= r.last; ++k) ticks.push_back(tick_value(k, s.mantissa, s.exponent));
  return ticks;
}

std::string format_tick(double value, double step) {
  if (std::abs(value) < std::abs(step) * 1e-9 || value == 0) return "0";
  char buf[64];
  const double a = std::abs(value);
  if (step >= 1e6 || step < 1e-5) {
    std::snprintf(buf, sizeof buf, "%.3g", a);
  } else {
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, a);
  }
  return (value < 0 ? "\u2212" : "") + std::string(buf);
}

void write_file(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw Error("cannot create directory '" + target.parent_path().string() + "': " + ec.message());
  }
  const fs::path tmp = target.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      throw Error("cannot write '" + tmp.string() + "'");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error("cannot rename '" + tmp.string() + "' to '" + path + "': " + ec.message());
  }
}

// ---- drawing helpers ------------------------------------------------------------------------------

namespace {

constexpr const char* kFont = "DejaVu Sans, Bitstream Vera Sans, Helvetica, Arial, sans-serif";
constexpr double kTickFont = 12, kLabelFont = 13, kTitleFont = 16, kSubtitleFont = 11.5, kLegendFont = 12;
constexpr double kTickLength = 4, kTickGap = 3;
constexpr const char* kInk = "#222222";       // text, frame and ticks
constexpr const char* kGridColor = "#e6e6e6";
constexpr const char* kSoftInk = "#666666";   // subtitle

// A pixel coordinate: two decimals, trailing zeros dropped.
std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// Approximate rendered width of `text` (DejaVu Sans averages ~0.6 em per character).
double text_width(std::string_view text, double font_size) {
  std::size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return 0.6 * font_size * static_cast<double>(chars);
}

std::string dash_array(Dash d, double lw) {
  auto pattern = [&](std::initializer_list<double> p) {
    std::string s;
    for (double v : p) s += (s.empty() ? "" : ",") + px(v * lw);
    return " stroke-dasharray=\"" + s + "\"";
  };
  switch (d) {
    case Dash::solid: return "";
    case Dash::dashed: return pattern({3.7, 1.6});
    case Dash::dotted: return pattern({1.0, 1.65});
    case Dash::dash_dot: return pattern({6.4, 1.6, 1.0, 1.6});
  }
  return "";
}

// Accumulates SVG elements.
class Canvas {
 public:
  Canvas(int width, int height) {
    out_ = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
           std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
           "\" font-family=\"" + kFont + "\">\n";
    out_ += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }
  void line(double x1, double y1, double x2, double y2, const std::string& color, double width) {
    out_ += "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) +
            "\" stroke=\"" + color + "\" stroke-width=\"" + px(width) + "\"/>\n";
  }
  void rect(double x, double y, double w, double h, const std::string& attributes) {
    out_ += "<rect x=\"" + px(x) + "\" y=\"" + px(y) + "\" width=\"" + px(w) + "\" height=\"" + px(h) + "\" " +
            attributes + "/>\n";
  }
  // anchor: start | middle | end. `halo` draws a white outline behind the glyphs (legible over lines).
  void text(double x, double y, std::string_view s, double size, const char* anchor, const std::string& extra = "",
            bool halo = false) {
    out_ += "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\" font-size=\"" + px(size) + "\" text-anchor=\"" + anchor +
            "\" fill=\"" + kInk + "\"";
    if (halo) out_ += " stroke=\"white\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\"";
    if (!extra.empty()) out_ += " " + extra;
    out_ += ">" + xml_escape(s) + "</text>\n";
  }
  void raw(const std::string& s) { out_ += s; }
  std::string finish() { return out_ + "</svg>\n"; }

 private:
  std::string out_;
};

// Linear map from data [lo, hi] to pixels [p0, p1].
struct Scale {
  double lo = 0, hi = 1, p0 = 0, p1 = 1;
  double operator()(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

struct Rect {
  double x0, y0, x1, y1;  // pixels, x0 < x1, y0 < y1
  bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

// Clip the segment (x0,y0)-(x1,y1) to [xlo,xhi]x[ylo,yhi] in place (Liang–Barsky). False if outside.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double xlo, double xhi, double ylo, double yhi) {
  const double dx = x1 - x0, dy = y1 - y0;
  double t0 = 0, t1 = 1;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - xlo, xhi - x0, y0 - ylo, yhi - y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0) t0 = std::max(t0, t);
    else t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  const double ax = x0 + t0 * dx, ay = y0 + t0 * dy;
  x1 = x0 + t1 * dx, y1 = y0 + t1 * dy;
  x0 = ax, y0 = ay;
  return true;
}

struct Pt {
  double x, y;
};

// Clip a polygon to the box (Sutherland–Hodgman, one half-plane at a time).
std::vector<Pt> clip_polygon(std::vector<Pt> poly, double xlo, double xhi, double ylo, double yhi) {
  auto clip_against = [&](auto inside, auto intersect) {
    std::vector<Pt> out;
    for (std::size_t i = 0; i < poly.size(); ++i) {
      const Pt a = poly[i], b = poly[(i + 1) % poly.size()];
      if (inside(b)) {
        if (!inside(a)) out.push_back(intersect(a, b));
        out.push_back(b);
      } else if (inside(a)) {
        out.push_back(intersect(a, b));
      }
    }
    poly = std::move(out);
  };
  auto at_x = [](double x) {
    return [x](Pt a, Pt b) { return Pt{x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x)}; };
  };
  auto at_y = [](double y) {
    return [y](Pt a, Pt b) { return Pt{a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y), y}; };
  };
  clip_against([&](Pt p) { return p.x >= xlo; }, at_x(xlo));
  clip_against([&](Pt p) { return p.x <= xhi; }, at_x(xhi));
  clip_against([&](Pt p) { return p.y >= ylo; }, at_y(ylo));
  clip_against([&](Pt p) { return p.y <= yhi; }, at_y(yhi));
  return poly;
}

// Drawable values. Beyond ±1e300 differences of coordinates could overflow, so such values are
// treated like ±inf (skipped).
bool finite(double v) { return std::isfinite(v) && std::abs(v) <= 1e300; }

// Data limits of finite values, padded by `margin`·span and overridden by fixed limits.
struct Limits {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (finite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  void finish(double margin, const std::optional<double>& fixed_lo, const std::optional<double>& fixed_hi) {
    if (lo > hi) lo = 0, hi = 1;  // no data
    if (lo == hi) {
      const double pad = lo == 0 ? 1 : 0.5 * std::abs(lo);
      lo -= pad, hi += pad;
    } else {
      const double pad = margin * (hi - lo);
      lo -= pad, hi += pad;
    }
    if (fixed_lo) lo = *fixed_lo;
    if (fixed_hi) hi = *fixed_hi;
    if (!(lo < hi)) hi = lo + 1;
  }
};

double max_label_width(const std::vector<double>& ticks, double step, double size) {
  double w = 0;
  for (double t : ticks) w = std::max(w, text_width(format_tick(t, step), size));
  return w;
}

// The legend: one row per named entry (a line sample, optionally over a band swatch, and the name).
struct LegendEntry {
  std::string name, color;
  Dash dash = Dash::solid;
  double line_width = 1.75;
  bool band = false;
  bool bar = false;  // a filled square instead of a line (bar charts)
};

struct LegendLayout {
  double width = 0, height = 0, row = 0, column_width = 0;
  int rows_per_column = 0;
};

constexpr double kLegendPad = 7, kLegendSample = 28, kLegendGap = 8;

LegendLayout legend_layout(const std::vector<LegendEntry>& entries, double max_height) {
  LegendLayout l;
  l.row = kLegendFont * 1.55;
  double text = 0;
  for (const auto& e : entries) text = std::max(text, text_width(e.name, kLegendFont));
  l.column_width = kLegendSample + kLegendGap + text + kLegendPad;
  const int n = static_cast<int>(entries.size());
  l.rows_per_column = std::max(1, std::min(n, static_cast<int>((max_height - 2 * kLegendPad) / l.row)));
  const int columns = (n + l.rows_per_column - 1) / l.rows_per_column;
  l.width = kLegendPad + columns * l.column_width;
  l.height = 2 * kLegendPad + l.rows_per_column * l.row - (l.row - kLegendFont) + 2;
  return l;
}

void draw_legend(Canvas& c, const std::vector<LegendEntry>& entries, const LegendLayout& l, double x, double y) {
  c.rect(x, y, l.width, l.height,
         "rx=\"3\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#cccccc\" stroke-width=\"0.8\"");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const int col = static_cast<int>(i) / l.rows_per_column, row = static_cast<int>(i) % l.rows_per_column;
    const double x0 = x + kLegendPad + col * l.column_width;
    const double mid = y + kLegendPad + row * l.row + kLegendFont * 0.5 + 1;
    if (e.bar) {
      c.rect(x0 + 8, mid - 6, 12, 12, "fill=\"" + e.color + "\"");
    } else {
      if (e.band) c.rect(x0, mid - 6, kLegendSample, 12, "fill=\"" + e.color + "\" fill-opacity=\"0.2\"");
      c.raw("<path d=\"M" + px(x0) + " " + px(mid) + "H" + px(x0 + kLegendSample) + "\" stroke=\"" + e.color +
            "\" stroke-width=\"" + px(e.line_width) + "\" fill=\"none\"" + dash_array(e.dash, e.line_width) + "/>\n");
    }
    c.text(x0 + kLegendSample + kLegendGap, mid + kLegendFont * 0.36, e.name, kLegendFont, "start");
  }
}

// Title and subtitle centred over the plot; returns the height they take.
double title_height(const std::string& title, const std::string& subtitle) {
  double h = 12;
  if (!title.empty()) h += kTitleFont + 6;
  if (!subtitle.empty()) h += kSubtitleFont + 6;
  return std::max(h, 16.0);
}

void draw_titles(Canvas& c, const std::string& title, const std::string& subtitle, double centre) {
  double y = 12;
  if (!title.empty()) {
    y += kTitleFont;
    c.text(centre, y, title, kTitleFont, "middle");
    y += 6;
  }
  if (!subtitle.empty()) {
    y += kSubtitleFont;
    c.raw("<text x=\"" + px(centre) + "\" y=\"" + px(y) + "\" font-size=\"" + px(kSubtitleFont) +
          "\" text-anchor=\"middle\" fill=\"" + kSoftInk + "\">" + xml_escape(subtitle) + "</text>\n");
  }
}

// How much of the drawn data falls inside `box` (pixels): points, samples every ~5 px along each
// segment (so sparse lines crossing the box count), and band columns overlapping it. For legend="best".
std::size_t marks_inside(const std::vector<Series>& series, const Rect& box, const Scale& sx, const Scale& sy) {
  auto y_px = [&](double v) { return sy(std::clamp(v, std::min(sy.lo, sy.hi), std::max(sy.lo, sy.hi))); };
  std::size_t count = 0;
  for (const auto& s : series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!finite(s.x[i]) || !finite(s.y[i])) continue;
      const double ax = sx(s.x[i]), ay = y_px(s.y[i]);
      if (box.contains(ax, ay)) ++count;
      if (i + 1 < n && finite(s.x[i + 1]) && finite(s.y[i + 1])) {
        const double bx = sx(s.x[i + 1]), by = y_px(s.y[i + 1]);
        const int steps = static_cast<int>(std::min(500.0, std::hypot(bx - ax, by - ay) / 5));
        for (int k = 1; k < steps; ++k)
          if (box.contains(ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps)) ++count;
      }
    }
    const std::size_t nb = std::min({s.x.size(), s.lower.size(), s.upper.size()});
    for (std::size_t i = 0; i < nb; ++i) {
      if (!finite(s.x[i]) || !finite(s.lower[i]) || !finite(s.upper[i])) continue;
      const double x = sx(s.x[i]), top = y_px(s.upper[i]), bottom = y_px(s.lower[i]);
      if (x >= box.x0 && x <= box.x1 && top <= box.y1 && bottom >= box.y0) ++count;
    }
  }
  return count;
}

}  // namespace

// ---- line chart -----------------------------------------------------------------------------------

std::string render(const LineChart& chart) {
  const double W = chart.width, H = chart.height;

  // 1. Data limits.
  Limits xl, yl;
  for (const auto& s : chart.series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (!finite(s.x[i])) continue;
      const bool band = i < s.lower.size() && i < s.upper.size() && finite(s.lower[i]) && finite(s.upper[i]);
      if (finite(s.y[i]) || band) xl.add(s.x[i]);
      if (finite(s.y[i])) yl.add(s.y[i]);
      if (band) yl.add(s.lower[i]), yl.add(s.upper[i]);
    }
  }
  xl.finish(chart.x_margin, chart.x_min, chart.x_max);
  yl.finish(chart.y_margin, chart.y_min, chart.y_max);

  // 2. Legend entries.
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    if (s.name.empty()) continue;
    legend.push_back({s.name, s.color.empty() ? palette()[i % palette().size()] : s.color, s.dash, s.line_width,
                      !s.lower.empty() && !s.upper.empty(), false});
  }
  const bool show_legend = chart.legend != LegendPos::none && !legend.empty();

  // 3. Layout. The axes go through the origin only where 0 lies strictly inside the range.
  const bool x_axis_at_zero = chart.axes_through_origin && yl.lo < 0 && yl.hi > 0;
  const bool y_axis_at_zero = chart.axes_through_origin && xl.lo < 0 && xl.hi > 0;
  const double top = title_height(chart.title, chart.subtitle);
  double bottom = 10 + (chart.x_label.empty() ? 0 : kLabelFont + 8);
  if (!x_axis_at_zero) bottom += kTickLength + kTickGap + kTickFont;
  const double plot_h = H - top - bottom;
  const int max_yticks = std::clamp(static_cast<int>(plot_h / 45), 3, 11);
  const std::vector<double> yticks = nice_ticks(yl.lo, yl.hi, max_yticks);
  const double ystep = nice_step(yl.lo, yl.hi, max_yticks);
  double left = 12 + (chart.y_label.empty() ? 0 : kLabelFont + 8);
  if (!y_axis_at_zero) left += kTickLength + kTickGap + max_label_width(yticks, ystep, kTickFont);
  else left += 14;  // room for half of the first x tick label
  double right = 20;
  LegendLayout ll;
  if (show_legend) ll = legend_layout(legend, chart.legend == LegendPos::outside_right ? plot_h : plot_h * 0.9);
  if (show_legend && chart.legend == LegendPos::outside_right) right += ll.width + 4;
  const Rect plot{left, top, W - right, H - bottom};
  const int max_xticks = std::clamp(static_cast<int>((plot.x1 - plot.x0) / 50), 3, 11);
  std::vector<double> xticks = nice_ticks(xl.lo, xl.hi, max_xticks);
  double xstep = nice_step(xl.lo, xl.hi, max_xticks);
  if (chart.x_integer_ticks && xstep < 1) {  // a short range of epochs or layers: tick every integer
    xstep = 1;
    xticks.clear();
    for (double t = std::ceil(xl.lo); t <= std::floor(xl.hi); t += 1) xticks.push_back(t);
  }
  const Scale sx{xl.lo, xl.hi, plot.x0, plot.x1}, sy{yl.lo, yl.hi, plot.y1, plot.y0};

  Canvas c(chart.width, chart.height);

  // 4. Grid.
  if (chart.grid) {
    for (double t : xticks) c.line(sx(t), plot.y0, sx(t), plot.y1, kGridColor, 0.8);
    for (double t : yticks) c.line(plot.x0, sy(t), plot.x1, sy(t), kGridColor, 0.8);
  }
  if (chart.axes_through_origin) {
    // Light frame marks the plot's extent; the real axes are drawn through the origin below.
    c.rect(plot.x0, plot.y0, plot.x1 - plot.x0, plot.y1 - plot.y0, "fill=\"none\" stroke=\"#cfcfcf\" stroke-width=\"0.8\"");
    if (x_axis_at_zero) c.line(plot.x0, sy(0), plot.x1, sy(0), kInk, 0.9);
    if (y_axis_at_zero) c.line(sx(0), plot.y0, sx(0), plot.y1, kInk, 0.9);
  }

  // 5. Bands, then lines (clipped to the limits in data space).
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    const std::string color = s.color.empty() ? palette()[i % palette().size()] : s.color;
    const std::size_t nb = std::min({s.x.size(), s.lower.size(), s.upper.size()});
    std::string d;
    for (std::size_t a = 0; a < nb;) {  // one polygon per run of finite points
      if (!finite(s.x[a]) || !finite(s.lower[a]) || !finite(s.upper[a])) { ++a; continue; }
      std::size_t b = a;
      while (b < nb && finite(s.x[b]) && finite(s.lower[b]) && finite(s.upper[b])) ++b;
      std::vector<Pt> poly;
      for (std::size_t k = a; k < b; ++k) poly.push_back({s.x[k], s.upper[k]});
      for (std::size_t k = b; k-- > a;) poly.push_back({s.x[k], s.lower[k]});
      poly = clip_polygon(std::move(poly), xl.lo, xl.hi, yl.lo, yl.hi);
      for (std::size_t k = 0; k < poly.size(); ++k) d += (k ? "L" : "M") + px(sx(poly[k].x)) + " " + px(sy(poly[k].y));
      if (!poly.empty()) d += "Z";
      a = b;
    }
    if (!d.empty()) c.raw("<path d=\"" + d + "\" fill=\"" + color + "\" fill-opacity=\"0.2\" stroke=\"none\"/>\n");
  }
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const auto& s = chart.series[i];
    const std::string color = s.color.empty() ? palette()[i % palette().size()] : s.color;
    const std::size_t n = std::min(s.x.size(), s.y.size());
    std::string d;
    double last_x = 0, last_y = 0;
    bool open = false;  // is a sub-path running that ends at (last_x, last_y)?
    for (std::size_t k = 0; k + 1 < n; ++k) {
      double x0 = s.x[k], y0 = s.y[k], x1 = s.x[k + 1], y1 = s.y[k + 1];
      if (!finite(x0) || !finite(y0) || !finite(x1) || !finite(y1) ||
          !clip_segment(x0, y0, x1, y1, xl.lo, xl.hi, yl.lo, yl.hi)) {
        open = false;
        continue;
      }
      if (!open || x0 != last_x || y0 != last_y) d += "M" + px(sx(x0)) + " " + px(sy(y0));
      d += "L" + px(sx(x1)) + " " + px(sy(y1));
      last_x = x1, last_y = y1, open = true;
    }
    if (d.empty()) continue;
    c.raw("<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + px(s.line_width) +
          "\" stroke-linejoin=\"round\"" + dash_array(s.dash, s.line_width) + "/>\n");
  }

  // 6. Axes, ticks and tick labels.
  if (!chart.axes_through_origin) {
    c.rect(plot.x0, plot.y0, plot.x1 - plot.x0, plot.y1 - plot.y0, "fill=\"none\" stroke=\"" + std::string(kInk) + "\" stroke-width=\"0.8\"");
  } else {
    if (!x_axis_at_zero) c.line(plot.x0, plot.y1, plot.x1, plot.y1, kInk, 0.8);
    if (!y_axis_at_zero) c.line(plot.x0, plot.y0, plot.x0, plot.y1, kInk, 0.8);
  }
  const double xaxis_y = x_axis_at_zero ? sy(0) : plot.y1;
  for (double t : xticks) {
    const double x = sx(t);
    c.line(x, xaxis_y, x, xaxis_y + kTickLength, kInk, 0.8);
    if (x_axis_at_zero && y_axis_at_zero && t == 0) continue;  // the origin is labelled by neither axis
    c.text(x, xaxis_y + kTickLength + kTickGap + kTickFont * 0.8, format_tick(t, xstep), kTickFont, "middle", "",
           x_axis_at_zero);
  }
  const double yaxis_x = y_axis_at_zero ? sx(0) : plot.x0;
  for (double t : yticks) {
    const double y = sy(t);
    c.line(yaxis_x - kTickLength, y, yaxis_x, y, kInk, 0.8);
    if (x_axis_at_zero && y_axis_at_zero && t == 0) continue;
    c.text(yaxis_x - kTickLength - kTickGap, y + kTickFont * 0.35, format_tick(t, ystep), kTickFont, "end", "",
           y_axis_at_zero);
  }

  // 7. Axis labels and titles.
  const double centre_x = (plot.x0 + plot.x1) / 2, centre_y = (plot.y0 + plot.y1) / 2;
  if (!chart.x_label.empty()) c.text(centre_x, H - 10, chart.x_label, kLabelFont, "middle");
  if (!chart.y_label.empty())
    c.text(12 + kLabelFont * 0.8, centre_y, chart.y_label, kLabelFont, "middle",
           "transform=\"rotate(-90 " + px(12 + kLabelFont * 0.8) + " " + px(centre_y) + ")\"");
  draw_titles(c, chart.title, chart.subtitle, centre_x);

  // 8. Legend.
  if (show_legend) {
    const double pad = 8;
    if (chart.legend == LegendPos::outside_right) {
      draw_legend(c, legend, ll, plot.x1 + 12, plot.y0);
    } else {
      // Candidate positions in matplotlib's order of preference; `best` takes the one covering
      // the fewest data points.
      const double lx = plot.x0 + pad, rx = plot.x1 - pad - ll.width, cx = centre_x - ll.width / 2;
      const double ty = plot.y0 + pad, by = plot.y1 - pad - ll.height, cy = centre_y - ll.height / 2;
      std::vector<std::pair<double, double>> spots;
      switch (chart.legend) {
        case LegendPos::upper_left: spots = {{lx, ty}}; break;
        case LegendPos::upper_right: spots = {{rx, ty}}; break;
        case LegendPos::lower_left: spots = {{lx, by}}; break;
        case LegendPos::lower_right: spots = {{rx, by}}; break;
        default: spots = {{rx, ty}, {lx, ty}, {lx, by}, {rx, by}, {rx, cy}, {lx, cy}, {cx, by}, {cx, ty}, {cx, cy}};
      }
      std::size_t best = 0, best_count = std::numeric_limits<std::size_t>::max();
      for (std::size_t k = 0; k < spots.size() && best_count > 0; ++k) {
        const Rect box{spots[k].first, spots[k].second, spots[k].first + ll.width, spots[k].second + ll.height};
        const std::size_t count = marks_inside(chart.series, box, sx, sy);
        if (count < best_count) best = k, best_count = count;
      }
      draw_legend(c, legend, ll, spots[best].first, spots[best].second);
    }
  }
  return c.finish();
}

// ---- bar chart ------------------------------------------------------------------------------------

std::string render(const BarChart& chart) {
  const double W = chart.width, H = chart.height;
  const std::size_t ncat = chart.categories.size(), nser = chart.series.size();
  auto value = [&](std::size_t s, std::size_t k) {
    const auto& v = chart.series[s].values;
    return k < v.size() ? v[k] : std::numeric_limits<double>::quiet_NaN();
  };
  auto error = [&](std::size_t s, std::size_t k) {
    const auto& e = chart.series[s].errors;
    return k < e.size() && finite(e[k]) ? std::abs(e[k]) : 0.0;
  };
  auto color = [&](std::size_t s) {
    return chart.series[s].color.empty() ? palette()[s % palette().size()] : chart.series[s].color;
  };

  // Limits: bars grow from 0, so 0 is always inside; pad only the sides that hold data.
  double lo = 0, hi = 0;
  for (std::size_t s = 0; s < nser; ++s)
    for (std::size_t k = 0; k < ncat; ++k)
      if (finite(value(s, k))) lo = std::min(lo, value(s, k) - error(s, k)), hi = std::max(hi, value(s, k) + error(s, k));
  if (lo == hi) hi = 1;
  const double span = hi - lo;
  if (lo < 0) lo -= 0.05 * span;
  if (hi > 0) hi += 0.05 * span;
  if (chart.y_min) lo = *chart.y_min;
  if (chart.y_max) hi = *chart.y_max;
  if (!(lo < hi)) hi = lo + 1;

  std::vector<LegendEntry> legend;
  for (std::size_t s = 0; s < nser; ++s)
    if (!chart.series[s].name.empty()) legend.push_back({chart.series[s].name, color(s), Dash::solid, 1, false, true});
  const bool show_legend = legend.size() >= 2;

  // Layout. Long category names are rotated when they do not fit under their group.
  const double top = title_height(chart.title, chart.subtitle);
  double right = 20;
  double longest = 0;
  for (const auto& name : chart.categories) longest = std::max(longest, text_width(name, kTickFont));
  const double guess_group = (W - 100 - right) / std::max<std::size_t>(ncat, 1);
  const bool rotate = longest > guess_group * 0.95;
  double bottom = 10 + (chart.x_label.empty() ? 0 : kLabelFont + 8) + kTickLength + kTickGap +
                  (rotate ? longest * 0.71 + kTickFont * 0.7 : kTickFont);
  const double plot_h = H - top - bottom;
  const int max_yticks = std::clamp(static_cast<int>(plot_h / 45), 3, 11);
  const std::vector<double> yticks = nice_ticks(lo, hi, max_yticks);
  const double ystep = nice_step(lo, hi, max_yticks);
  double left = 12 + (chart.y_label.empty() ? 0 : kLabelFont + 8) + kTickLength + kTickGap +
                max_label_width(yticks, ystep, kTickFont);
  LegendLayout ll;
  if (show_legend) ll = legend_layout(legend, plot_h), right += ll.width + 4;
  // A rotated label ends 4 px right of its tick, at x = left + group·(k + ½) + 4, and runs down to
  // the left by 0.71·(width + glyph height). The first labels (the long ones especially) would start
  // left of the canvas: widen the left margin until every label starts at x >= 4. The group width
  // shrinks as the margin grows, group = (W − right − left) / ncat, so solve for left exactly.
  if (rotate) {
    const double n = static_cast<double>(std::max<std::size_t>(ncat, 1));
    for (std::size_t k = 0; k < ncat; ++k) {
      const double reach = 0.71 * (text_width(chart.categories[k], kTickFont) + kTickFont * 0.8);
      const double f = (static_cast<double>(k) + 0.5) / n;  // the tick's fraction of the plot width
      left = std::max(left, (reach - (W - right) * f) / (1 - f));
    }
  }
  const Rect plot{left, top, W - right, H - bottom};
  const Scale sy{lo, hi, plot.y1, plot.y0};
  const double group = (plot.x1 - plot.x0) / std::max<std::size_t>(ncat, 1);
  const double bar = group * 0.8 / std::max<std::size_t>(nser, 1);

  Canvas c(chart.width, chart.height);
  if (chart.grid)
    for (double t : yticks) c.line(plot.x0, sy(t), plot.x1, sy(t), kGridColor, 0.8);

  const double base = sy(std::clamp(0.0, lo, hi));
  for (std::size_t k = 0; k < ncat; ++k) {
    for (std::size_t s = 0; s < nser; ++s) {
      const double v = value(s, k);
      if (!finite(v)) continue;
      const double x = plot.x0 + group * (static_cast<double>(k) + 0.1) + bar * static_cast<double>(s);
      const double y = sy(std::clamp(v, lo, hi));
      c.rect(x, std::min(y, base), bar, std::abs(base - y), "fill=\"" + color(s) + "\"");
      const double e = error(s, k);
      if (e > 0) {
        const double cx = x + bar / 2, y0 = sy(std::clamp(v - e, lo, hi)), y1 = sy(std::clamp(v + e, lo, hi));
        const double cap = std::min(bar * 0.25, 6.0);
        c.line(cx, y0, cx, y1, kInk, 1.2);
        c.line(cx - cap, y0, cx + cap, y0, kInk, 1.2);
        c.line(cx - cap, y1, cx + cap, y1, kInk, 1.2);
      }
      if (chart.value_labels) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", v);
        const double ty = v >= 0 ? sy(std::clamp(v + e, lo, hi)) - 4 : sy(std::clamp(v - e, lo, hi)) + kTickFont;
        c.text(x + bar / 2, ty, buf, kTickFont * 0.85, "middle");
      }
    }
  }

  // Frame, ticks and labels.
  c.rect(plot.x0, plot.y0, plot.x1 - plot.x0, plot.y1 - plot.y0, "fill=\"none\" stroke=\"" + std::string(kInk) + "\" stroke-width=\"0.8\"");
  if (lo < 0 && hi > 0) c.line(plot.x0, base, plot.x1, base, kInk, 0.8);
  for (double t : yticks) {
    c.line(plot.x0 - kTickLength, sy(t), plot.x0, sy(t), kInk, 0.8);
    c.text(plot.x0 - kTickLength - kTickGap, sy(t) + kTickFont * 0.35, format_tick(t, ystep), kTickFont, "end");
  }
  for (std::size_t k = 0; k < ncat; ++k) {
    const double x = plot.x0 + group * (static_cast<double>(k) + 0.5);
    c.line(x, plot.y1, x, plot.y1 + kTickLength, kInk, 0.8);
    const double y = plot.y1 + kTickLength + kTickGap + kTickFont * 0.8;
    if (rotate)
      c.text(x + 4, y, chart.categories[k], kTickFont, "end", "transform=\"rotate(-45 " + px(x + 4) + " " + px(y) + ")\"");
    else
      c.text(x, y, chart.categories[k], kTickFont, "middle");
  }
  const double centre_x = (plot.x0 + plot.x1) / 2, centre_y = (plot.y0 + plot.y1) / 2;
  if (!chart.x_label.empty()) c.text(centre_x, H - 10, chart.x_label, kLabelFont, "middle");
  if (!chart.y_label.empty())
    c.text(12 + kLabelFont * 0.8, centre_y, chart.y_label, kLabelFont, "middle",
           "transform=\"rotate(-90 " + px(12 + kLabelFont * 0.8) + " " + px(centre_y) + ")\"");
  draw_titles(c, chart.title, chart.subtitle, centre_x);
  if (show_legend) draw_legend(c, legend, ll, plot.x1 + 12, plot.y0);
  return c.finish();
}

// ---- forest plot ----------------------------------------------------------------------------------

std::string render(const ForestChart& chart) {
  const double W = chart.width;
  const std::size_t n = chart.rows.size();
  // Limits: every finite bound and estimate, and the reference line.
  double lo = chart.reference, hi = chart.reference;
  for (const auto& r : chart.rows)
    for (double v : {r.estimate, r.low, r.high})
      if (finite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo == hi) lo -= 1, hi += 1;
  const double pad = 0.06 * (hi - lo);
  lo -= pad, hi += pad;

  double label_w = 0, note_w = 0;
  for (const auto& r : chart.rows) {
    label_w = std::max(label_w, text_width(r.label, kTickFont));
    note_w = std::max(note_w, text_width(r.note, kTickFont));
  }
  const double top = title_height(chart.title, chart.subtitle) + 6;
  const double left = 12 + label_w + 10, right = 12 + note_w + (note_w > 0 ? 12 : 0);
  const double rows_h = chart.row_height * static_cast<double>(std::max<std::size_t>(n, 1));
  const double bottom = 10 + (chart.x_label.empty() ? 0 : kLabelFont + 8) + kTickLength + kTickGap + kTickFont;
  const double H = std::ceil(top + rows_h + bottom);
  const Rect plot{left, top, W - right, top + rows_h};
  const Scale sx{lo, hi, plot.x0, plot.x1};
  const int max_ticks = std::clamp(static_cast<int>((plot.x1 - plot.x0) / 70), 3, 11);
  const std::vector<double> ticks = nice_ticks(lo, hi, max_ticks);
  const double step = nice_step(lo, hi, max_ticks);

  Canvas c(chart.width, static_cast<int>(H));
  for (double t : ticks) c.line(sx(t), plot.y0, sx(t), plot.y1, kGridColor, 0.8);
  c.raw("<line x1=\"" + px(sx(chart.reference)) + "\" y1=\"" + px(plot.y0) + "\" x2=\"" + px(sx(chart.reference)) +
        "\" y2=\"" + px(plot.y1) + "\" stroke=\"" + kSoftInk + "\" stroke-width=\"1\"" + dash_array(Dash::dashed, 1.5) + "/>\n");
  for (std::size_t i = 0; i < n; ++i) {
    const ForestRow& r = chart.rows[i];
    const double y = plot.y0 + chart.row_height * (static_cast<double>(i) + 0.5);
    const std::string color = r.color.empty() ? std::string(kInk) : r.color;
    if (i % 2 == 1) c.rect(plot.x0, y - chart.row_height / 2.0, plot.x1 - plot.x0, chart.row_height, "fill=\"#f6f6f6\"");
    if (finite(r.low) && finite(r.high)) {
      const double x0 = sx(r.low), x1 = sx(r.high), cap = chart.row_height * 0.18;
      c.line(x0, y, x1, y, color, 1.8);
      c.line(x0, y - cap, x0, y + cap, color, 1.8);
      c.line(x1, y - cap, x1, y + cap, color, 1.8);
    }
    if (finite(r.estimate)) {
      const double s = chart.row_height * 0.28;
      c.rect(sx(r.estimate) - s / 2, y - s / 2, s, s, "fill=\"" + color + "\"");
    }
    c.text(plot.x0 - 10, y + kTickFont * 0.35, r.label, kTickFont, "end");
    if (!r.note.empty()) c.text(plot.x1 + 12, y + kTickFont * 0.35, r.note, kTickFont, "start", "fill-opacity=\"0.9\"");
  }
  c.rect(plot.x0, plot.y0, plot.x1 - plot.x0, plot.y1 - plot.y0, "fill=\"none\" stroke=\"" + std::string(kInk) + "\" stroke-width=\"0.8\"");
  for (double t : ticks) {
    c.line(sx(t), plot.y1, sx(t), plot.y1 + kTickLength, kInk, 0.8);
    c.text(sx(t), plot.y1 + kTickLength + kTickGap + kTickFont * 0.8, format_tick(t, step), kTickFont, "middle");
  }
  const double centre_x = (plot.x0 + plot.x1) / 2;
  if (!chart.x_label.empty()) c.text(centre_x, H - 10, chart.x_label, kLabelFont, "middle");
  draw_titles(c, chart.title, chart.subtitle, centre_x);
  return c.finish();
}

}  // namespace nnlab::svg
