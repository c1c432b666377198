// Bad configs through the real nnlab binary (support/bad_inputs.hpp; the table:
// apps/cli/bad_inputs/config_cases.cpp), and the size of all the bad-input tables together.
#include <doctest/doctest.h>

#include "support/bad_inputs.hpp"

using namespace nnlab::test;

TEST_CASE("bad configs: non-zero exit, one line naming the key and the nearest valid name, nothing written") {
  const auto cases = config_cases();
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("the tables cover at least 140 bad inputs") {
  const std::size_t n = config_cases().size() + data_cases().size() + checkpoint_cases().size() + io_cases().size() +
                        robustness_cases().size();
  MESSAGE("bad-input cases: " << n);
  CHECK(n >= 140);
}
