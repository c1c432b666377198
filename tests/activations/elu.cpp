#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("elu: reference values of activations.md §5, f'(0) = alpha (PyTorch tests x <= 0)") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.9502129316, -0.6321205588, -0.3934693403, 0, 0.5, 1, 3};
  const double df[] = {0.04978706837, 0.3678794412, 0.6065306597, 1, 1, 1, 1};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("elu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(df[i]).epsilon(1e-9));
  }
  // alpha = 0.5 (mpmath): f(-1) = 0.5(e^-1 - 1), f'(-1) = 0.5 e^-1, f'(0) = alpha.
  const nlohmann::json half = {{"alpha", 0.5}};
  auto [y, d] = value_and_derivative("elu", -1.0, half);
  CHECK(y == doctest::Approx(-0.31606027941427884).epsilon(1e-14));
  CHECK(d == doctest::Approx(0.18393972058572116).epsilon(1e-14));
  std::tie(y, d) = value_and_derivative("elu", 0.0, half);
  CHECK(y == 0.0);
  CHECK(d == 0.5);
  std::tie(y, d) = value_and_derivative("elu", 0.0, {{"alpha", 2.0}});
  CHECK(d == 2.0);
  CHECK(make_layer<double>("elu", 3)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("elu: expm1 accuracy near 0 and no overflow in the discarded branch") {
  // exp(x) - 1 at x = -1e-8 has a relative error near 1e-9; expm1 is exact to rounding.
  auto [y, d] = value_and_derivative("elu", -1e-8);
  CHECK(y == doctest::Approx(-9.9999999500000001667e-9).epsilon(1e-15).scale(0));
  std::tie(y, d) = value_and_derivative("elu", 1000.0);  // exp(1000) = inf must not leak
  CHECK(y == 1000.0);
  CHECK(d == 1.0);
  std::tie(y, d) = value_and_derivative("elu", -1000.0);
  CHECK(y == -1.0);
  CHECK(d == 0.0);
}

TEST_CASE("elu: element-wise order and zeros kept (the tutorial's concatenation bug)") {
  auto layer = make_layer<double>("elu", 5);
  MatD x(1, 5);
  x << 1, -1, 0, 2, -2;
  const MatD y = layer->forward(x, false);
  REQUIRE(y.cols() == 5);
  CHECK(y(0, 0) == 1.0);
  CHECK(y(0, 1) == doctest::Approx(-0.6321205588).epsilon(1e-9));
  CHECK(y(0, 2) == 0.0);
  CHECK(y(0, 3) == 2.0);
  CHECK(y(0, 4) == doctest::Approx(-0.8646647168).epsilon(1e-9));
}

TEST_CASE("elu: gradient check for several alpha") {
  gradcheck_activation("elu");
  gradcheck_activation("elu", {{"alpha", 0.5}});
  gradcheck_activation("elu", {{"alpha", 2.0}});
}

TEST_CASE("elu: float32 finite for extreme inputs") {
  check_float32_finite("elu");
  check_float32_finite("elu", {{"alpha", 0.5}});
  check_float32_finite("elu", {{"alpha", 2.0}});
}

TEST_CASE("elu: config validation") {
  CHECK(make_layer<double>("elu", 2)->parameters().empty());
  CHECK_THROWS_AS(make_layer<double>("elu", 2, {{"alpha", "big"}}), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("elu", 2, {{"alpah", 1.0}}), ConfigError);
}
