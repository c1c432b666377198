// The sweep report in a real browser: headless Chromium loads report.html and builds a DOM with
// every table and plot the page declares (scripts/check_report.sh's render check). Requires the
// resource chromium (tests/CMakeLists.txt; NNLAB_TEST_CHROMIUM names another browser): reported as
// skipped without it. The checks that need no browser: apps/report/test_report.cpp.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "apps/report/html.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "support/resources.hpp"
#include "support/run_binary.hpp"
#include "support/sweep.hpp"

using namespace nnlab;
using namespace nnlab::report;
using namespace nnlab::test;

TEST_CASE("headless Chromium loads report.html and builds a DOM with every table and plot") {
  TempDir dir("report-chromium");
  const Experiment e = make_experiment(dir.path, kTwoByTwo);
  const Plan plan = expand(e);
  const fs::path out = dir.path / "out";
  ReportInfo info;
  info.sweep = run_sweep(e, plan, options(out));
  write_report(e, plan, out, info);

  // check_report.sh looks the browser up on PATH as `chromium`: put the one this test resolved first.
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  fs::create_symlink(resource_location("chromium"), bin / "chromium");
  const char* path = std::getenv("PATH");
  const ProcessResult check =
      run_program({"bash", std::string(NNLAB_SOURCE_DIR) + "/scripts/check_report.sh", (out / "report.html").string()},
                  dir.path, {"PATH=" + bin.string() + ":" + (path ? path : "/usr/bin:/bin")});
  INFO(check.output());
  CHECK(check.signal == 0);
  CHECK(check.status == 0);
  CHECK(contains(check.out, "chromium: DOM has 5 tables and 9 plots"));  // the counts test_report.cpp asserts
  CHECK(contains(check.out, "report ok"));
}
