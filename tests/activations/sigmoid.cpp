#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("sigmoid: reference values, gradient check, float32 extremes") {
  auto [y, d] = value_and_derivative("sigmoid", -3.0);
  CHECK(y == doctest::Approx(0.04742587318).epsilon(1e-10));
  CHECK(d == doctest::Approx(0.04517665973).epsilon(1e-10));
  std::tie(y, d) = value_and_derivative("sigmoid", 0.0);
  CHECK(y == 0.5);
  CHECK(d == 0.25);
  std::tie(y, d) = value_and_derivative("sigmoid", -1000.0);
  CHECK(y == 0.0);
  CHECK(d == 0.0);
  gradcheck_activation("sigmoid");
  check_float32_finite("sigmoid");
}
