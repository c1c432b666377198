// nnlab list, run as the built binary: every registry with its parameters, one registry, a typo.
#include <doctest/doctest.h>

#include "support/run_binary.hpp"

using namespace nnlab::test;

TEST_CASE("nnlab list prints every registry with parameters") {
  TempDir dir("cli");
  auto r = run_nnlab({"list"}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  for (const char* s : {"Activations", "Layers", "Optimizers", "Datasets", "relu", "sigmoid", "dense", "sgd",
                        "out_features", "momentum"})
    CHECK(r.output().find(s) != std::string::npos);
  r = run_nnlab({"list", "optimizers"}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(r.output().find("sgd") != std::string::npos);
  CHECK(r.output().find("relu") == std::string::npos);
  r = run_nnlab({"list", "optimisers"}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("did you mean 'optimizers'") != std::string::npos);
}
