// nnlab gradcheck, run as the built binary: passes for correct layers, reports each variable, fails
// with status 1 when the tolerance cannot be met.
#include <doctest/doctest.h>

#include "support/run_binary.hpp"

using namespace nnlab::test;

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
