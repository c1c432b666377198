// Dense: with its input gradient turned off (the first layer of a model) it computes the same
// parameter gradients and no dx.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/registry.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("dense without input gradient: same parameter gradients, dx not computed") {
  auto with = make_layer<float>("dense", 784, {{"out_features", 256}});
  auto without = make_layer<float>("dense", 784, {{"out_features", 256}});
  without->set_input_grad(false);
  const MatF x = random_matrix(128, 784, 1), dy = random_matrix(128, 256, 2);
  with->forward(x, true);
  without->forward(x, true);
  const MatF dx = with->backward(dy);
  const MatF& skipped = without->backward(dy);
  CHECK(dx.rows() == 128);
  CHECK(skipped.size() == 0);  // never computed, so never even sized
  auto pw = with->parameters(), po = without->parameters();
  REQUIRE(pw.size() == 2);
  for (std::size_t i = 0; i < pw.size(); ++i) CHECK(*pw[i].grad == *po[i].grad);
}
