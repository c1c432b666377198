// Adversarial inputs through the real nnlab binary (support/bad_inputs.hpp; the table:
// apps/cli/bad_inputs/robustness_cases.cpp): impossible sizes, special files, non-UTF-8 bytes and
// control characters, integers beyond their type, metadata that disagree with the model.
#include <doctest/doctest.h>

#include "support/bad_inputs.hpp"

using namespace nnlab::test;

TEST_CASE("adversarial inputs: non-zero exit, one line naming the key or file, no hang, nothing written") {
  const auto cases = robustness_cases();
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) check_case(c);
}
