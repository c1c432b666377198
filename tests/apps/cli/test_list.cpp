// nnlab list, run as the built binary: every registry with its parameters, the layers' formulas (also in
// --json), one registry, a typo.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

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
  // Under its summary line each layer and activation shows its formula and backward (the registry's
  // .formula and .derivative), aligned with its parameter rows.
  CHECK(r.out.find("  relu         Rectified linear unit max(0, x)\n"
                   "               forward:   y = max(0, x)\n"
                   "               backward:  dy/dx = 1 if x > 0, else 0 (0 at x = 0, as PyTorch)\n") != std::string::npos);
  CHECK(r.out.find("forward:   y = x Wᵀ + b\n") != std::string::npos);
  r = run_nnlab({"list", "optimizers"}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(r.output().find("sgd") != std::string::npos);
  CHECK(r.output().find("relu") == std::string::npos);
  CHECK(r.output().find("forward:") == std::string::npos);  // optimizers have no formula
  r = run_nnlab({"list", "optimisers"}, dir.path);
  CHECK(r.status != 0);
  CHECK(r.output().find("did you mean 'optimizers'") != std::string::npos);
}

TEST_CASE("nnlab list --json gives every layer and activation its formula and derivative") {
  TempDir dir("cli");
  const auto r = run_nnlab({"list", "activations", "--json"}, dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  bool seen = false;
  for (const auto& a : j.at("activations")) {
    INFO(a.at("name"));
    CHECK(!a.at("formula").get<std::string>().empty());
    CHECK(!a.at("derivative").get<std::string>().empty());
    if (a.at("name") == "swish") {
      seen = true;
      CHECK(a.at("formula") == "y = x·σ(βx)");
      CHECK(a.at("derivative") == "dy/dx = σ(βx)(1 + βx(1 − σ(βx))); dL/dβ = Σ dy·x²·σ'(βx)");
    }
  }
  CHECK(seen);
}
