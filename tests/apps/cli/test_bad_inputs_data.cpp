// Bad data files and unwritable output directories through the real nnlab binary
// (support/bad_inputs.hpp; the tables: apps/cli/bad_inputs/data_cases.cpp).
#include <doctest/doctest.h>

#include "support/bad_inputs.hpp"

using namespace nnlab::test;

TEST_CASE("bad data files: non-zero exit, one line naming the file and what is wrong, nothing written") {
  const auto cases = data_cases();
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("an output directory that cannot be written is reported before the data is loaded") {
  for (const auto& c : io_cases()) check_case(c);
}
