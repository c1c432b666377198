// The command line end to end (plot, list, gradcheck run as the built binary), and the SVG writer.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/report/svg.hpp"
#include "core/registry.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

struct CsvRow {
  std::string activation;
  double x, y, dydx;
};

std::vector<CsvRow> read_csv(const fs::path& p, std::string& header) {
  std::ifstream in(p);
  std::getline(in, header);
  std::vector<CsvRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string a, x, y, d;
    std::getline(ss, a, ','), std::getline(ss, x, ','), std::getline(ss, y, ','), std::getline(ss, d, ',');
    rows.push_back({a, std::stod(x), std::stod(y), std::stod(d)});
  }
  return rows;
}

const CsvRow* find_row(const std::vector<CsvRow>& rows, const std::string& act, double x) {
  for (const auto& r : rows)
    if (r.activation == act && r.x == x) return &r;
  return nullptr;
}

// Minimal well-formedness check: tags nest and close properly, attribute quotes balance.
bool well_formed(const std::string& xml) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  while ((i = xml.find('<', i)) != std::string::npos) {
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = xml.substr(i + 1, end - i - 1);
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return false;
    if (tag.empty()) return false;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return false;
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    }
    i = end + 1;
  }
  return stack.empty();
}

// Every number in the path data ("d" attributes) of an SVG.
std::vector<double> path_numbers(const std::string& svg) {
  std::vector<double> out;
  std::size_t i = 0;
  while ((i = svg.find(" d=\"", i)) != std::string::npos) {
    const std::size_t end = svg.find('"', i + 4);
    std::string d = svg.substr(i + 4, end - i - 4);
    for (char& c : d)
      if (std::isalpha(static_cast<unsigned char>(c))) c = ' ';
    std::stringstream ss(d);
    double v;
    while (ss >> v) out.push_back(v);
    i = end;
  }
  return out;
}

}  // namespace

// ---- the SVG writer ------------------------------------------------------------------------------

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

// ---- the command line ----------------------------------------------------------------------------

TEST_CASE("nnlab plot writes one SVG per activation, an overlay and a full-precision CSV") {
  TempDir dir("cli");
  const fs::path out = dir.path / "plots";
  const auto r = run_nnlab({"plot", "--activations", "relu,sigmoid", "--out", out.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  for (const char* f : {"relu.svg", "sigmoid.svg", "all.svg"}) {
    CAPTURE(f);
    const std::string s = slurp(out / f);
    CHECK(s.rfind("<svg", 0) == 0);
    CHECK(well_formed(s));
  }
  CHECK(slurp(out / "all.svg").find(">sigmoid</text>") != std::string::npos);
  CHECK(r.output().find("activations.csv") != std::string::npos);

  std::string header;
  const auto rows = read_csv(out / "activations.csv", header);
  CHECK(header == "activation,x,y,dydx");
  const int n = 401;  // the default --samples
  CHECK(rows.size() == 2 * n);
  for (const char* act : {"relu", "sigmoid"}) {
    CAPTURE(act);
    CHECK(find_row(rows, act, -10.0) != nullptr);
    CHECK(find_row(rows, act, 10.0) != nullptr);
    CHECK(find_row(rows, act, 0.0) != nullptr);
  }
  const CsvRow* lo = find_row(rows, "relu", -10.0);
  const CsvRow* hi = find_row(rows, "relu", 10.0);
  REQUIRE(lo);
  REQUIRE(hi);
  CHECK(lo->y == 0);
  CHECK(lo->dydx == 0);
  CHECK(hi->y == 10);
  CHECK(hi->dydx == 1);
  const CsvRow* s0 = find_row(rows, "sigmoid", 0.0);
  REQUIRE(s0);
  CHECK(s0->y == 0.5);
  CHECK(s0->dydx == 0.25);
  const CsvRow* s2 = find_row(rows, "sigmoid", 2.0);
  REQUIRE(s2);
  CHECK(s2->y == doctest::Approx(0.8807970779778823).epsilon(1e-15));  // full precision in the CSV
  CHECK(s2->dydx == doctest::Approx(0.10499358540350662).epsilon(1e-14));
}

TEST_CASE("nnlab plot --samples and --range set the grid, endpoints included") {
  TempDir dir("cli");
  const auto r = run_nnlab({"plot", "--activations", "tanh", "--range=-2:3", "--samples", "6", "--out", dir.path.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  std::string header;
  const auto rows = read_csv(dir.path / "activations.csv", header);
  REQUIRE(rows.size() == 6);
  for (int i = 0; i < 6; ++i) CHECK(rows[static_cast<std::size_t>(i)].x == -2 + i);
  CHECK(rows[5].y == doctest::Approx(std::tanh(3.0)).epsilon(1e-15));
  CHECK(rows[5].dydx == doctest::Approx(1 - std::tanh(3.0) * std::tanh(3.0)).epsilon(1e-12));
}

TEST_CASE("nnlab plot --param sets an activation parameter") {
  // Every activation is linked into nnlab (and this test): one that is not registered is a failure.
  REQUIRE_MESSAGE(LayerRegistry::instance().find("squareplus"), "squareplus is not registered");
  TempDir dir("cli");
  auto r = run_nnlab({"plot", "--activations", "squareplus", "--param", "squareplus.b=0.2", "--out", dir.path.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  std::string header;
  auto rows = read_csv(dir.path / "activations.csv", header);
  const CsvRow* z = find_row(rows, "squareplus", 0.0);
  REQUIRE(z);
  CHECK(z->y == doctest::Approx(0.22360679774997896).epsilon(1e-12));  // sqrt(0.2)/2
  CHECK(z->dydx == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(slurp(dir.path / "squareplus.svg").find("squareplus (b=0.2)") != std::string::npos);

  // Unknown parameter: an error naming the valid one.
  r = run_nnlab({"plot", "--activations", "squareplus", "--param", "squareplus.bb=1", "--out", dir.path.string()}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("'b'") != std::string::npos);
}

TEST_CASE("nnlab plot shows row-wise activations as a labelled slice") {
  REQUIRE_MESSAGE(LayerRegistry::instance().find("softmax"), "softmax is not registered");
  TempDir dir("cli");
  const auto r = run_nnlab({"plot", "--activations", "softmax", "--samples", "5", "--range=-2:2", "--out", dir.path.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  std::string header;
  const auto rows = read_csv(dir.path / "activations.csv", header);
  REQUIRE(rows.size() == 5);
  for (const auto& row : rows) {  // softmax([x, 0])_0 = sigmoid(x), diagonal derivative sigma(1 - sigma)
    const double s = 1 / (1 + std::exp(-row.x));
    CHECK(row.y == doctest::Approx(s).epsilon(1e-12));
    CHECK(row.dydx == doctest::Approx(s * (1 - s)).epsilon(1e-12));
  }
  CHECK(slurp(dir.path / "softmax.svg").find("row-wise") != std::string::npos);
}

TEST_CASE("nnlab plot rejects unknown activations, naming the nearest valid one") {
  TempDir dir("cli");
  auto r = run_nnlab({"plot", "--activations", "relu,sigmiod", "--out", dir.path.string()}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("sigmiod") != std::string::npos);
  CHECK(r.output().find("did you mean 'sigmoid'") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "relu.svg"));  // nothing is written when the request is invalid

  r = run_nnlab({"plot", "--activations", "dense", "--out", dir.path.string()}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("not an activation") != std::string::npos);
}

TEST_CASE("nnlab list prints every registry with parameters") {
  TempDir dir("cli");
  auto r = run_nnlab({"list"}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  for (const char* s : {"Activations", "Layers", "Optimizers", "Datasets", "relu", "sigmoid", "dense", "sgd",
                        "out_features", "momentum"})
    CHECK(r.output().find(s) != std::string::npos);
  r = run_nnlab({"list", "optimizers"}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(r.output().find("sgd") != std::string::npos);
  CHECK(r.output().find("relu") == std::string::npos);
  r = run_nnlab({"list", "optimisers"}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("did you mean 'optimizers'") != std::string::npos);
}

TEST_CASE("nnlab gradcheck passes for correct layers and reports each variable") {
  TempDir dir("cli");
  auto r = run_nnlab({"gradcheck", "--activations", "relu,tanh"}, dir.path);
  INFO(r.output());
  CHECK(r.status == 0);
  CHECK(r.output().find("ok") != std::string::npos);
  CHECK(r.output().find("FAIL") == std::string::npos);
  for (const char* s : {"relu", "tanh", "dense", "weight", "bias", "cross_entropy", "mse", "layers.2.weight"})
    CHECK(r.output().find(s) != std::string::npos);

  // A tolerance no finite difference can meet makes it fail with status 1.
  r = run_nnlab({"gradcheck", "--activations", "tanh", "--tolerance", "1e-30"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.output().find("FAIL") != std::string::npos);
  CHECK(r.output().find("checks failed") != std::string::npos);
}
