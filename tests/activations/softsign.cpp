#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("softsign: reference values of activations.md §5, f'(0) = 1") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.75, -0.5, -0.3333333333, 0, 0.3333333333, 0.5, 0.75};
  const double d[] = {0.0625, 0.25, 0.4444444444, 1, 0.4444444444, 0.25, 0.0625};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("softsign", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  CHECK(value_and_derivative("softsign", 0.0) == std::pair<double, double>{0.0, 1.0});
  // 0 is listed as a kink only because f'' jumps there (central differences are off by h);
  // a fine central difference confirms f'(0) = 1.
  const double h = 1e-9;
  const double numeric = (value_and_derivative("softsign", h).first - value_and_derivative("softsign", -h).first) / (2 * h);
  CHECK(numeric == doctest::Approx(1.0).epsilon(2e-9));
  CHECK(make_layer<double>("softsign", 1)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("softsign: derivative from the input keeps accuracy where (1 − |y|)² would not") {
  // At x = 1e9, 1 − |y| = 1/(1 + 1e9) is below float64 resolution relative to 1.
  const auto [y, d] = value_and_derivative("softsign", 1e9);
  CHECK(y == doctest::Approx(1e9 / (1 + 1e9)).epsilon(1e-15));
  CHECK(d == doctest::Approx(1 / ((1 + 1e9) * (1 + 1e9))).epsilon(1e-14).scale(0));
}

TEST_CASE("softsign: gradient check") {
  gradcheck_activation("softsign");
  gradcheck_activation("softsign", {}, -50, 50);
}

TEST_CASE("softsign: float32 finite for extreme inputs; saturates at ±1") {
  check_float32_finite("softsign");
  auto layer = make_layer<float>("softsign", 2, {});
  MatF x(1, 2);
  x << std::numeric_limits<float>::max(), -1e30f;
  const MatF y = layer->forward(x, true);
  CHECK(y(0, 0) == 1.0f);
  CHECK(y(0, 1) == -1.0f);
}
