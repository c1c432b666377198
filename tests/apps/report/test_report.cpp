// The sweep report (apps/report/html.cpp): report.html is one self-contained page with every table
// and plot it declares, and scripts/check_report.sh agrees. (Its render check in a browser, which
// the script skips without Chromium, is apps/report/test_report_chromium.cpp: reported as skipped
// there when Chromium is missing.)
#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "apps/report/html.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "support/run_binary.hpp"
#include "support/sweep.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("report.html is one self-contained page with every table and plot; check_report.sh agrees") {
  TempDir dir("compare");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  const SweepSummary sum = run_sweep(e, plan, options(out));
  ReportInfo info;
  info.sweep = sum;
  write_report(e, plan, out, info);
  for (const char* f : {"runs.csv", "summary.csv", "summary.md", "comparisons.csv", "report.html"}) CHECK(fs::exists(out / f));
  int svgs = 0;
  for (const auto& p : fs::directory_iterator(out / "plots")) svgs += p.path().extension() == ".svg";
  CHECK(svgs == 9);  // 8 + the forest plot of the paired differences

  const std::string html = slurp(out / "report.html");
  std::smatch m;
  REQUIRE(std::regex_search(html, m, std::regex("<meta name=\"nnlab-tables\" content=\"(\\d+)\">")));
  const int tables = std::stoi(m[1]);
  REQUIRE(std::regex_search(html, m, std::regex("<meta name=\"nnlab-plots\" content=\"(\\d+)\">")));
  const int plots = std::stoi(m[1]);
  CHECK(tables == 5);  // summary, verdicts, layers, gradients, runs
  CHECK(plots == 9);
  CHECK(count_of(html, "<table") == tables);
  CHECK(count_of(html, "<svg") == plots);
  CHECK(count_of(html, "</svg>") == plots);
  // Self-contained: no scripts, no links or sources, no URL but the SVG namespace.
  CHECK(count_of(html, "<script") == 0);
  CHECK(count_of(html, "src=") == 0);
  CHECK(count_of(html, "href=") == 0);
  CHECK(count_of(html, "http") == count_of(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(html.find("relu") != std::string::npos);
  CHECK(html.find("tanh_s2") != std::string::npos);

  // The checker script: counts, and the DOM headless Chromium builds (skipped without Chromium).
  const ProcessResult check =
      run_program({"bash", std::string(NNLAB_SOURCE_DIR) + "/scripts/check_report.sh", (out / "report.html").string()}, dir.path);
  INFO(check.output());
  CHECK(check.signal == 0);
  CHECK(check.status == 0);
  CHECK(check.output().find("report ok") != std::string::npos);
}
