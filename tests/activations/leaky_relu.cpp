#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("leaky_relu: reference values of activations.md §5, f'(0) = slope (PyTorch)") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.03, -0.01, -0.005, 0, 0.5, 1, 3};
  const double d[] = {0.01, 0.01, 0.01, 0.01, 1, 1, 1};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("leaky_relu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-15));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-15));
  }
  // The kink: PyTorch tests x > 0, so x = 0 takes the slope branch, for any slope.
  CHECK(value_and_derivative("leaky_relu", 0.0, {{"negative_slope", 0.2}}).second == 0.2);
  CHECK(value_and_derivative("leaky_relu", 1e-300).second == 1.0);
  CHECK(make_layer<double>("leaky_relu", 3)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("leaky_relu: a select on x > 0, not max(x, s*x) (which is wrong for s > 1 or s < 0)") {
  // s = 2: max(-1, -2) = -1, but the definition gives s*x = -2.
  auto [y, d] = value_and_derivative("leaky_relu", -1.0, {{"negative_slope", 2.0}});
  CHECK(y == -2.0);
  CHECK(d == 2.0);
  std::tie(y, d) = value_and_derivative("leaky_relu", 3.0, {{"negative_slope", 2.0}});
  CHECK(y == 3.0);
  CHECK(d == 1.0);
  // s = -0.5: the negative side is mirrored upwards; the derivative keeps its sign.
  std::tie(y, d) = value_and_derivative("leaky_relu", -2.0, {{"negative_slope", -0.5}});
  CHECK(y == 1.0);
  CHECK(d == -0.5);
  // s = 0 is ReLU except at the kink convention (0 there too, as the slope).
  std::tie(y, d) = value_and_derivative("leaky_relu", -2.0, {{"negative_slope", 0.0}});
  CHECK(y == 0.0);
  CHECK(d == 0.0);
}

TEST_CASE("leaky_relu: gradient check for several slopes") {
  gradcheck_activation("leaky_relu");
  gradcheck_activation("leaky_relu", {{"negative_slope", 0.2}});
  gradcheck_activation("leaky_relu", {{"negative_slope", 2.0}});
  gradcheck_activation("leaky_relu", {{"negative_slope", -0.5}});
}

TEST_CASE("leaky_relu: float32 finite for extreme inputs") {
  check_float32_finite("leaky_relu");
  check_float32_finite("leaky_relu", {{"negative_slope", 0.2}});
  check_float32_finite("leaky_relu", {{"negative_slope", 1.0}});
}

TEST_CASE("leaky_relu: config validation") {
  CHECK(make_layer<double>("leaky_relu", 4)->parameters().empty());
  CHECK(is_activation(*make_layer<double>("leaky_relu", 4)));
  try {
    make_layer<double>("leaky_relu", 4, {{"slope", 0.1}});
    FAIL("an unknown key must be rejected");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("negative_slope") != std::string::npos);  // "did you mean"
  }
  CHECK_THROWS_AS(make_layer<double>("leaky_relu", 4, {{"negative_slope", "0.1"}}), ConfigError);
}
