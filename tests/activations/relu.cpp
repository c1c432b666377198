#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("relu: values, PyTorch's f'(0) = 0, gradient check, float32 extremes") {
  CHECK(value_and_derivative("relu", -3.0) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("relu", 0.0) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("relu", 0.5) == std::pair<double, double>{0.5, 1.0});
  gradcheck_activation("relu");
  check_float32_finite("relu");
}
