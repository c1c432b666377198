// Bad checkpoints and model files through the real nnlab binary (support/bad_inputs.hpp; the table:
// apps/cli/bad_inputs/checkpoint_cases.cpp).
#include <doctest/doctest.h>

#include "support/bad_inputs.hpp"

using namespace nnlab::test;

TEST_CASE("bad checkpoints and model files: non-zero exit, one line naming the file and the tensor, nothing written") {
  const auto cases = checkpoint_cases();
  for (const auto& c : cases) check_case(c);
}
