#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("hardsigmoid: reference values of activations.md §5, gradient 0 at ±3") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {0, 0.3333333333, 0.4166666667, 0.5, 0.5833333333, 0.6666666667, 1};
  const double d[] = {0, 0.1666666667, 0.1666666667, 0.1666666667, 0.1666666667, 0.1666666667, 0};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("hardsigmoid", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  CHECK(value_and_derivative("hardsigmoid", -3.0) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("hardsigmoid", 3.0) == std::pair<double, double>{1.0, 0.0});
  CHECK(value_and_derivative("hardsigmoid", 2.999).second == 1.0 / 6.0);
  CHECK(value_and_derivative("hardsigmoid", -10.0) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("hardsigmoid", 10.0) == std::pair<double, double>{1.0, 0.0});
  CHECK(make_layer<double>("hardsigmoid", 1)->kinks() == std::vector<double>{-3.0, 3.0});
}

TEST_CASE("hardsigmoid: gradient check") {
  gradcheck_activation("hardsigmoid");
  gradcheck_activation("hardsigmoid", {}, -4, 4);
}

TEST_CASE("hardsigmoid: float32 finite for extreme inputs") { check_float32_finite("hardsigmoid"); }

TEST_CASE("hardsigmoid: equals relu6(x + 3)/6, and propagates NaN") {
  const Index n = 161;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -4.0 + 0.05 * static_cast<double>(j);
  auto hsig = make_layer<double>("hardsigmoid", n, {}), relu6 = make_layer<double>("relu6", n, {});
  const MatD shifted = x.array() + 3.0;
  const MatD y = hsig->forward(x, false), r = relu6->forward(shifted, false);
  CHECK((y - r / 6.0).cwiseAbs().maxCoeff() == 0.0);
  CHECK(std::isnan(value_and_derivative("hardsigmoid", std::nan("")).first));
}
