#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("tanh: reference values, gradient check, float32 extremes") {
  auto [y, d] = value_and_derivative("tanh", 0.5);
  CHECK(y == doctest::Approx(0.4621171573).epsilon(1e-10));
  CHECK(d == doctest::Approx(0.786447733).epsilon(1e-9));
  std::tie(y, d) = value_and_derivative("tanh", -1000.0);
  CHECK(y == -1.0);
  CHECK(d == 0.0);
  gradcheck_activation("tanh");
  check_float32_finite("tanh");
}
