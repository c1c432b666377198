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

TEST_CASE("nnlab gradcheck NAME: positional names; a failing activation gets a diagnosis with its worst points") {
  TempDir dir("cli");
  auto r = run_nnlab({"gradcheck", "elu"}, dir.path);
  INFO(r.output());
  CHECK(r.status == 0);
  CHECK(r.out.find("elu ") != std::string::npos);
  CHECK(r.out.find("diagnosis") == std::string::npos);  // nothing to diagnose when it passes
  // At a tolerance finite differences cannot meet, the input gradient "fails": the diagnosis lists
  // the worst points and finds none of the usual mistakes (the errors are noise, not a pattern).
  r = run_nnlab({"gradcheck", "sigmoid", "--tolerance", "1e-13"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.out.find("diagnosis: sigmoid: ") != std::string::npos);
  CHECK(r.out.find("follow none of the usual patterns") != std::string::npos);
  CHECK(r.out.find("analytic          numeric        ratio") != std::string::npos);
  // A misspelt name gets the nearest one.
  r = run_nnlab({"gradcheck", "relux"}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.err.find("unknown activation 'relux' (did you mean 'relu'?)") != std::string::npos);
}
