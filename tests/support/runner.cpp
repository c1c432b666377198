// The doctest runner every test executable uses (main.cpp calls it): checks the resources the
// executable declares (tests/CMakeLists.txt, NNLAB_TEST_REQUIRES) before any test case runs, and
// exits with status 77 — CTest's "skipped" (SKIP_RETURN_CODE) — printing "skipped: <reason>" when
// one is missing. Status 77 means exactly that: a test run that ends with 77 is reported as 1.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/resources.hpp"

namespace nnlab::test {

int run_doctest(int argc, char** argv, const char* needed);

namespace {

// Options that only ask doctest something (--count, --list-test-cases, --help, ...): they run no
// test case, so they work whatever is missing.
bool only_a_query(int argc, char** argv) {
  static const std::vector<std::string> queries = {"?", "h", "help", "v", "version", "c", "count", "ltc",
                                                   "list-test-cases", "lts", "list-test-suites", "lr",
                                                   "list-reporters", "ne", "no-run"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a[0] != '-') continue;
    const std::size_t name = a.find_first_not_of('-');
    if (name == std::string::npos) continue;
    a = a.substr(name);
    if (a.rfind("dt-", 0) == 0) a = a.substr(3);
    a = a.substr(0, a.find('='));
    for (const auto& q : queries)
      if (a == q) return true;
  }
  return false;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < list.size()) {
    const std::size_t end = std::min(list.find(',', start), list.size());
    if (end > start) out.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int run_doctest(int argc, char** argv, const char* needed) {
  doctest::Context context(argc, argv);
  if (!only_a_query(argc, argv)) {
    std::string reasons;
    try {
      for (const std::string& r : split(needed))
        if (const std::string why = resource_missing(r); !why.empty()) reasons += (reasons.empty() ? "" : "; ") + why;
    } catch (const std::exception& e) {
      std::cerr << argv[0] << ": " << e.what() << "\n";
      return 1;
    }
    if (!reasons.empty()) {
      std::cout << "skipped: " << reasons << std::endl;
      return 77;
    }
  }
  const int status = context.run();
  if (context.shouldExit()) return status;
  return status == 77 ? 1 : status;
}

}  // namespace nnlab::test
