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

TEST_CASE("elu: the float32 expm1 (vectorised: eˣ − 1 beyond |x| = ½, Taylor within) is within 3e-7 relative of float64") {
  // Elementwise::expm1_into, shared by elu, celu, selu and logsigmoid; 4001 points of [−20, 0]
  // and tiny inputs down to −1e−30, where eˣ − 1 would return 0 or lose every digit.
  std::vector<float> xs;
  for (int j = 0; j <= 4000; ++j) xs.push_back(static_cast<float>(-20.0 + 0.005 * j));
  for (float v = -1e-30f; v > -1.0f; v *= 3.0f) xs.push_back(v);
  const Index n = static_cast<Index>(xs.size());
  auto lf = make_layer<float>("elu", n, {});
  auto ld = make_layer<double>("elu", n, {});
  MatF xf(1, n);
  for (Index j = 0; j < n; ++j) xf(0, j) = xs[static_cast<std::size_t>(j)];
  const MatD yf = lf->forward(xf, false).cast<double>(), yd = ld->forward(xf.cast<double>(), false);
  double worst = 0, at = 0;
  for (Index j = 0; j < n; ++j) {
    if (yd(0, j) == 0) continue;
    const double e = std::abs(yf(0, j) - yd(0, j)) / std::abs(yd(0, j));
    if (e > worst) worst = e, at = xf(0, j);
  }
  MESSAGE("float32 elu: worst relative error " << worst << " at x = " << at);
  CHECK(worst < 3e-7);
}
