// The SVG writer (apps/report/svg.cpp): well-formed charts with escaped text, non-finite points
// skipped, clipping to fixed limits, nice ticks, bar charts, atomic file writes.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/report/svg.hpp"
#include "support/files.hpp"
#include "support/svg_checks.hpp"
#include "support/temp_dir.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("svg: a line chart is well-formed, lists its series and escapes text") {
  svg::LineChart c;
  c.title = "f < g & h";
  c.x_label = "x \"in\" 'units'";
  c.series.push_back(svg::line("alpha <beta> & gamma", {0, 1, 2, 3}, {0, 1, 4, 9}));
  c.series.push_back(svg::line("second", {0, 1, 2, 3}, {1, 1, 1, 1}, svg::Dash::dashed));
  const std::string s = svg::render(c);
  CHECK(s.rfind("<svg", 0) == 0);
  CHECK(s.find("</svg>") != std::string::npos);
  CHECK(well_formed(s));
  CHECK(s.find("alpha &lt;beta&gt; &amp; gamma") != std::string::npos);
  CHECK(s.find("second") != std::string::npos);
  CHECK(s.find("f &lt; g &amp; h") != std::string::npos);
  CHECK(s.find("x &quot;in&quot; &apos;units&apos;") != std::string::npos);
  CHECK(s.find("<beta>") == std::string::npos);
  CHECK(s.find("stroke-dasharray") != std::string::npos);  // the dashed series
}

TEST_CASE("svg: NaN, infinite and absurdly large points are skipped and break the line") {
  const double nan = std::nan(""), inf = INFINITY;
  svg::LineChart c;
  c.series.push_back(svg::line("broken", {0, 1, 2, 3, 4, 5, 6, 7, 8}, {0, 1, nan, 3, 4, inf, 6, 1e308, -1e308}));
  const std::string s = svg::render(c);
  CHECK(well_formed(s));
  for (const char* bad : {"nan", "NaN", "inf", "Inf"}) CHECK(s.find(bad) == std::string::npos);
  // Segments 0-1 and 3-4 survive as two sub-paths; the lone point 6 draws nothing.
  const auto at = s.find("stroke=\"#1f77b4\"");
  REQUIRE(at != std::string::npos);
  const std::string path = s.substr(s.rfind("<path", at), at - s.rfind("<path", at));
  CHECK(std::count(path.begin(), path.end(), 'M') == 2);
  CHECK(std::count(path.begin(), path.end(), 'L') == 2);
}

TEST_CASE("svg: fixed y limits clip lines and bands to the frame") {
  svg::LineChart c;
  c.width = 400, c.height = 300;
  c.y_min = -1, c.y_max = 1;
  std::vector<double> x, y, lo, hi;
  for (int i = 0; i <= 100; ++i) {
    x.push_back(i / 10.0), y.push_back(std::exp(x.back()));  // up to e^10 = 22026
    lo.push_back(y.back() - 1), hi.push_back(y.back() + 1);
  }
  svg::Series s = svg::line("exp", x, y);
  s.lower = lo, s.upper = hi;
  c.series.push_back(s);
  const std::string out = svg::render(c);
  CHECK(well_formed(out));
  CHECK(out.find("fill-opacity=\"0.2\"") != std::string::npos);  // the band
  const auto nums = path_numbers(out);
  REQUIRE(!nums.empty());
  for (double v : nums) {
    CHECK(v >= 0);
    CHECK(v <= 400);
  }
}

TEST_CASE("svg: ticks are nice numbers") {
  CHECK(svg::nice_ticks(-10, 10, 11) == std::vector<double>{-10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10});
  CHECK(svg::nice_ticks(0, 1, 6) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1});
  CHECK(svg::nice_ticks(0.3, 0.7, 5) == std::vector<double>{0.3, 0.4, 0.5, 0.6, 0.7});
  const double ranges[][2] = {{-1.05, 1.05}, {0, 401}, {-0.0123, 0.0456}, {1e-9, 3e-9}, {-7e5, 2e6}, {0.97, 1.03}};
  for (const auto& r : ranges) {
    for (int max_ticks : {3, 5, 8, 11}) {
      CAPTURE(r[0]);
      CAPTURE(r[1]);
      CAPTURE(max_ticks);
      const auto t = svg::nice_ticks(r[0], r[1], max_ticks);
      const double step = svg::nice_step(r[0], r[1], max_ticks);
      CHECK(t.size() >= 2);
      CHECK(t.size() <= static_cast<std::size_t>(max_ticks));
      const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-12));
      CHECK((std::abs(mantissa - 1) < 1e-9 || std::abs(mantissa - 2) < 1e-9 || std::abs(mantissa - 5) < 1e-9));
      for (double v : t) {
        CHECK(v >= r[0] - 1e-12 * std::abs(r[0]));
        CHECK(v <= r[1] + 1e-12 * std::abs(r[1]));
        CHECK(std::abs(v / step - std::round(v / step)) < 1e-9);  // a multiple of the step
      }
      for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == doctest::Approx(step));
    }
  }
  CHECK(svg::format_tick(0.1 * 3, 0.1) == "0.3");
  CHECK(svg::format_tick(-0.5, 0.1) == "\u22120.5");
  CHECK(svg::format_tick(-1e-18, 0.2) == "0");
  CHECK(svg::format_tick(400, 100) == "400");
  CHECK(svg::format_tick(0.05, 0.05) == "0.05");
}

TEST_CASE("svg: origin axes, legend placement and a bar chart with error bars") {
  svg::LineChart c;
  c.axes_through_origin = true;
  std::vector<double> x, y;
  for (int i = -10; i <= 10; ++i) x.push_back(i), y.push_back(std::max(0, i));
  c.series.push_back(svg::line("relu", x, y));
  const std::string s = svg::render(c);
  CHECK(well_formed(s));
  CHECK(s.find(">relu</text>") != std::string::npos);
  CHECK(s.find(">\u22122</text>") != std::string::npos);  // tick labels with a real minus sign

  svg::BarChart b;
  b.title = "accuracy";
  b.categories = {"relu", "gelu", "a & b"};
  b.series.push_back({"seed mean", {0.9, 0.92, std::nan("")}, {0.01, 0.02, 0.0}, ""});
  b.series.push_back({"best", {0.91, 0.93, 0.5}, {}, ""});
  const std::string bs = svg::render(b);
  CHECK(bs.rfind("<svg", 0) == 0);
  CHECK(well_formed(bs));
  CHECK(bs.find("a &amp; b") != std::string::npos);
  CHECK(bs.find("seed mean") != std::string::npos);
  CHECK(bs.find("nan") == std::string::npos);
}

TEST_CASE("svg: write_file replaces the file atomically and leaves no temporary behind") {
  TempDir dir("cli");
  const fs::path p = dir.path / "sub" / "chart.svg";
  svg::write_file(p.string(), "first");
  svg::write_file(p.string(), "<svg/>");
  CHECK(slurp(p) == "<svg/>");
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(p.parent_path())) ++files;
  CHECK(files == 1);
}

TEST_CASE("svg: x_integer_ticks puts ticks on whole epochs only") {
  svg::LineChart c;
  c.series.push_back(svg::line("a", {1, 2, 3}, {0.1, 0.5, 0.4}));
  const std::string plain = svg::render(c);
  CHECK(plain.find(">1.2<") != std::string::npos);
  c.x_integer_ticks = true;
  const std::string integer = svg::render(c);
  CHECK(integer.find(">1.2<") == std::string::npos);
  CHECK(integer.find(">1.5<") == std::string::npos);
  CHECK(integer.find(">1<") != std::string::npos);
  CHECK(integer.find(">2<") != std::string::npos);
  CHECK(integer.find(">3<") != std::string::npos);
}
