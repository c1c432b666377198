#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("identity: f(x) = x, f'(x) = 1 everywhere") {
  for (double x : {-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, -1e300, 1e300}) {
    INFO("x = " << x);
    CHECK(value_and_derivative("identity", x) == std::pair<double, double>{x, 1.0});
  }
  CHECK(make_layer<double>("identity", 1)->kinks().empty());
  CHECK(is_activation(*make_layer<double>("identity", 1)));
}

TEST_CASE("identity: gradient check") { gradcheck_activation("identity"); }

TEST_CASE("identity: float32 finite for extreme inputs; passes upstream gradients through") {
  check_float32_finite("identity");
  auto layer = make_layer<float>("identity", 3, {});
  MatF x(2, 3);
  x << 1, 2, 3, std::numeric_limits<float>::max(), -1e30f, 0;
  CHECK(layer->forward(x, true) == x);
  MatF dy(2, 3);
  dy << 0.5f, -2, 7, 1e-30f, 3, -4;
  CHECK(layer->backward(dy) == dy);
}

TEST_CASE("identity: takes no parameters") {
  CHECK_THROWS_AS(make_layer<double>("identity", 3, {{"alpha", 1.0}}), ConfigError);
}
