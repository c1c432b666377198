// Gradient clipping by global norm (clip_grad_norm, core/optimizer.cpp) with
// torch.nn.utils.clip_grad_norm_'s semantics, on a reference case's gradients.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "support/optim_reference.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("clip_grad_norm: torch.nn.utils.clip_grad_norm_ semantics") {
  Problem p;
  const json& c = find_case("clip_adam");
  p.set_grads(c["grads"][0]);
  const std::vector<float> g0 = p.flat_grads();
  double sum = 0;
  for (float g : g0) sum += static_cast<double>(g) * g;
  const double norm = std::sqrt(sum);
  REQUIRE(norm > 0.5);

  SUBCASE("below max_norm the gradients are untouched, bit for bit") {
    CHECK(clip_grad_norm(p.params(), norm * 2) == norm);
    const std::vector<float> g = p.flat_grads();
    CHECK(std::memcmp(g.data(), g0.data(), g.size() * sizeof(float)) == 0);
  }
  SUBCASE("above, they are scaled to max_norm and the norm before clipping is returned") {
    CHECK(clip_grad_norm(p.params(), 0.25) == norm);
    double after = 0;
    for (float g : p.flat_grads()) after += static_cast<double>(g) * g;
    CHECK(std::sqrt(after) == doctest::Approx(0.25 / (1 + 1e-6 / norm)).epsilon(1e-6));
    const std::vector<float> g = p.flat_grads();
    for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(g0[i] * 0.25 / (norm + 1e-6)).epsilon(1e-6));
  }
  SUBCASE("zero gradients stay zero") {
    p.set_grads(json(std::vector<double>(g0.size(), 0.0)));
    CHECK(clip_grad_norm(p.params(), 1.0) == 0.0);
    for (float g : p.flat_grads()) CHECK(g == 0.0f);
  }
  SUBCASE("a non-finite gradient: the norm says so and nothing is scaled") {
    (*p.params()[1].grad)(0, 1) = std::numeric_limits<float>::infinity();
    CHECK(std::isinf(clip_grad_norm(p.params(), 1.0)));
    (*p.params()[1].grad)(0, 1) = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(clip_grad_norm(p.params(), 1.0)));
    const std::vector<float> g = p.flat_grads();
    CHECK(g[0] == g0[0]);
    CHECK(g.back() == g0.back());
  }
  SUBCASE("max_norm must be positive") {
    CHECK(contains(message_of([&] { clip_grad_norm(p.params(), 0.0); }), "max_norm must be > 0"));
  }
}
