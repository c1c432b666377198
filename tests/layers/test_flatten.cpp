// Flatten: the identity on (N, F) batches into its own buffers, gradient check, shape checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "support/layers_reference.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("flatten: the identity on (N, F) batches, no copy, gradient check, shape checks") {
  auto f = make_layer<double>("flatten", 6);
  CHECK(f->type() == "flatten");
  CHECK(f->in_features() == 6);
  CHECK(f->out_features() == 6);
  CHECK(f->parameters().empty());
  CHECK(f->buffers().empty());
  const MatD x = random_batch<double>(3, 6, 2);
  for (bool training : {false, true}) {
    const MatD& y = f->forward(x, training);
    CHECK(&y == &x);  // moves nothing: the next layer reads x itself
    CHECK(y == x);
    const MatD dy = random_batch<double>(3, 6, 9);
    CHECK(&f->backward(dy) == &dy);
  }
  const auto r = check_layer(*f, gradcheck_input(4, 6, 3));
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  CHECK_THROWS_AS(f->forward(MatD::Ones(2, 5), false), ShapeError);
  CHECK_THROWS_AS(make_layer<float>("flatten", 4, {{"start_dim", 1}}), ConfigError);
}
