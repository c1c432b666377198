#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("relu6: reference values of activations.md §5, gradient 0 at 0 and 6") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {0, 0, 0, 0, 0.5, 1, 3};
  const double d[] = {0, 0, 0, 0, 1, 1, 1};
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << xs[i]);
    CHECK(value_and_derivative("relu6", xs[i]) == std::pair<double, double>{f[i], d[i]});
  }
  CHECK(value_and_derivative("relu6", 6.0) == std::pair<double, double>{6.0, 0.0});
  CHECK(value_and_derivative("relu6", 5.999) == std::pair<double, double>{5.999, 1.0});
  CHECK(value_and_derivative("relu6", 100.0) == std::pair<double, double>{6.0, 0.0});
  CHECK(make_layer<double>("relu6", 1)->kinks() == std::vector<double>{0.0, 6.0});
}

TEST_CASE("relu6: gradient check") {
  gradcheck_activation("relu6");
  gradcheck_activation("relu6", {}, -2, 8);
}

TEST_CASE("relu6: float32 finite for extreme inputs, NaN propagates") {
  check_float32_finite("relu6");
  CHECK(std::isnan(value_and_derivative("relu6", std::nan("")).first));
}
