// A small SVG chart writer: line plots (with optional shaded bands), bar charts and forest plots, no
// dependencies.
//
// The style follows matplotlib's defaults: white background, the "tab10" categorical palette,
// DejaVu Sans text, outward ticks at "nice" values (1, 2 or 5 times a power of ten), a light grid
// and a legend box placed where it covers the fewest data points. Every chart renders to a
// std::string; write_file() stores one atomically (temporary file + rename).
//
//   svg::LineChart c;
//   c.title = "relu";
//   c.axes_through_origin = true;
//   c.series.push_back(svg::line("f(x)", xs, ys));
//   c.series.push_back(svg::line("f'(x)", xs, dys, svg::Dash::dashed));
//   svg::write_file("plots/relu.svg", svg::render(c));
//
// Data rules: a point whose x or y is NaN or ±inf (or beyond ±1e300) is skipped and breaks the line there; when the
// limits are fixed (x_min/x_max/y_min/y_max), lines and bands are clipped exactly at the frame.
// All text is XML-escaped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nnlab::svg {

enum class Dash { solid, dashed, dotted, dash_dot };

// Where the legend goes. `best` picks the inside corner/edge covering the fewest data points
// (matplotlib's loc="best"); `outside_right` puts it in a column right of the plot (for many series).
enum class LegendPos { best, upper_left, upper_right, lower_left, lower_right, outside_right, none };

struct Series {
  std::string name;            // legend label ("" = not listed in the legend)
  std::vector<double> x, y;
  std::string color;           // any SVG colour; "" = the palette colour of the series' index
  Dash dash = Dash::solid;
  double line_width = 1.75;
  std::vector<double> lower, upper;  // optional shaded band (same length as x), e.g. mean ± std
};

// A plain line series (no band, palette colour).
Series line(std::string name, std::vector<double> x, std::vector<double> y, Dash dash = Dash::solid);

struct LineChart {
  std::string title;
  std::string subtitle;  // a smaller grey line under the title (what the chart shows, caveats)
  std::string x_label, y_label;
  int width = 640, height = 480;
  std::vector<Series> series;
  // true: draw the x axis at y = 0 and the y axis at x = 0 when 0 lies inside the range, with the
  // tick labels along them (the classic activation-function figure); false: axes on the frame edge.
  bool axes_through_origin = false;
  bool grid = true;
  std::optional<double> x_min, x_max, y_min, y_max;  // fixed limits (data outside is clipped)
  double x_margin = 0.0, y_margin = 0.05;  // padding of automatic limits, as a fraction of the span
  bool x_integer_ticks = false;  // x ticks only at whole numbers (epochs, layer indices)
  LegendPos legend = LegendPos::best;
};

// Bar chart: one group of bars per category, one bar per series in each group.
struct BarSeries {
  std::string name;             // legend label (the legend is shown when there are 2+ series)
  std::vector<double> values;   // one per category; NaN = no bar
  std::vector<double> errors;   // optional ± error bar half-lengths (empty = none; NaN = none)
  std::string color;            // "" = palette colour
};

struct BarChart {
  std::string title, subtitle, x_label, y_label;
  int width = 640, height = 480;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  std::optional<double> y_min, y_max;  // default: from 0 (or the data minimum if negative) to the data maximum
  bool grid = true;
  bool value_labels = false;  // print each bar's value above it
};

// Forest plot: one row per comparison, its interval [low, high] as a horizontal bar with a square at
// the estimate, and a dashed vertical line at `reference` (0: no difference). Row labels on the
// left, an optional note per row on the right (e.g. the verdict). The height follows the rows.
struct ForestRow {
  std::string label;
  double estimate = 0, low = 0, high = 0;  // NaN bounds: only the estimate is drawn
  std::string note;
  std::string color;  // "" = ink
};

struct ForestChart {
  std::string title, subtitle, x_label;
  int width = 900;
  int row_height = 26;
  double reference = 0;
  std::vector<ForestRow> rows;
};

std::string render(const LineChart& chart);
std::string render(const BarChart& chart);
std::string render(const ForestChart& chart);

// Write `content` to `path` atomically: a temporary file in the same directory, then rename.
// Creates missing parent directories. Throws nnlab::Error on failure.
void write_file(const std::string& path, const std::string& content);

// ---- building blocks (public for reuse and tests) -----------------------------------------------

// matplotlib's "tab10" palette.
const std::vector<std::string>& palette();

// Tick values covering [lo, hi]: every multiple of a step of 1, 2 or 5 times a power of ten inside
// the interval, the step chosen so that there are at most `max_ticks` ticks (and at least two
// whenever lo < hi).
std::vector<double> nice_ticks(double lo, double hi, int max_ticks);

// The step nice_ticks() uses (the difference between consecutive ticks).
double nice_step(double lo, double hi, int max_ticks);

// A tick label: as many decimals as `step` needs, "−" (U+2212) for negatives, never "-0".
std::string format_tick(double value, double step);

// Escape & < > " ' for use in SVG text and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace nnlab::svg
