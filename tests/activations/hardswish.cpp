#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("hardswish: reference values of activations.md §5, PyTorch >= 2.7 kinks f'(-3) = 0, f'(3) = 1") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {0, -0.3333333333, -0.2083333333, 0, 0.2916666667, 0.6666666667, 3};
  const double d[] = {0, 0.1666666667, 0.3333333333, 0.5, 0.6666666667, 0.8333333333, 1};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("hardswish", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  // Exactly at the kinks (the values PyTorch <= 2.6 got wrong: -0.5 and 1.5).
  CHECK(value_and_derivative("hardswish", -3.0) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("hardswish", 3.0) == std::pair<double, double>{3.0, 1.0});
  // Just inside the kinks the slope is the quadratic's: -0.5 and 1.5.
  CHECK(value_and_derivative("hardswish", -3.0 + 1e-12).second == doctest::Approx(-0.5).epsilon(1e-9));
  CHECK(value_and_derivative("hardswish", 3.0 - 1e-12).second == doctest::Approx(1.5).epsilon(1e-9));
  // Minimum −3/8 at −1.5.
  CHECK(value_and_derivative("hardswish", -1.5) == std::pair<double, double>{-0.375, 0.0});
  CHECK(make_layer<double>("hardswish", 1)->kinks() == std::vector<double>{-3.0, 3.0});
}

TEST_CASE("hardswish: gradient check") {
  gradcheck_activation("hardswish");
  gradcheck_activation("hardswish", {}, -4, 4);
}

TEST_CASE("hardswish: float32 finite for extreme inputs; f(x) = x exactly for x >= 3") {
  check_float32_finite("hardswish");
  const float big = std::numeric_limits<float>::max();
  auto layer = make_layer<float>("hardswish", 3, {});
  MatF x(1, 3);
  x << big, 1e30f, -big;
  const MatF y = layer->forward(x, true);
  CHECK(y(0, 0) == big);
  CHECK(y(0, 1) == 1e30f);
  CHECK(y(0, 2) == 0.0f);
}

TEST_CASE("hardswish: equals x · hardsigmoid(x)") {
  const Index n = 161;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -4.0 + 0.05 * static_cast<double>(j);
  auto hs = make_layer<double>("hardswish", n, {}), hsig = make_layer<double>("hardsigmoid", n, {});
  const MatD y = hs->forward(x, false), s = hsig->forward(x, false);
  const MatD product = x.array() * s.array();
  CHECK(y == product);
}
