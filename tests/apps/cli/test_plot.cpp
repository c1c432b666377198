// nnlab plot, run as the built binary: one SVG per activation, an overlay and a full-precision CSV;
// the grid, parameters, row-wise activations, and unknown names rejected.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "support/run_binary.hpp"
#include "support/svg_checks.hpp"

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

}  // namespace

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
