#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("hardshrink: reference values of activations.md §5; f(±λ) = 0 and f'(±λ) = 0") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-3, -1, 0, 0, 0, 1, 3};
  const double d[] = {1, 1, 0, 0, 0, 1, 1};
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << xs[i]);
    CHECK(value_and_derivative("hardshrink", xs[i]) == std::pair<double, double>{f[i], d[i]});
  }
  const nlohmann::json p = {{"lambd", 1.0}};
  CHECK(value_and_derivative("hardshrink", 1.0, p) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("hardshrink", -1.0, p) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("hardshrink", 1.25, p) == std::pair<double, double>{1.25, 1.0});
  CHECK(value_and_derivative("hardshrink", -0.75, p) == std::pair<double, double>{0.0, 0.0});
  CHECK(make_layer<double>("hardshrink", 1, p)->kinks() == std::vector<double>{-1.0, 1.0});
}

TEST_CASE("hardshrink: gradient check") {
  gradcheck_activation("hardshrink");
  gradcheck_activation("hardshrink", {{"lambd", 1.0}});
}

TEST_CASE("hardshrink: float32 finite for extreme inputs, NaN propagates") {
  check_float32_finite("hardshrink");
  check_float32_finite("hardshrink", {{"lambd", 1.0}});
  CHECK(std::isnan(value_and_derivative("hardshrink", std::nan("")).first));
}

TEST_CASE("hardshrink: keeps x exactly where softshrink is nonzero, zero elsewhere") {
  const Index n = 161;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -5.0 + 0.0625 * static_cast<double>(j);
  auto hs = make_layer<double>("hardshrink", n, {}), ss = make_layer<double>("softshrink", n, {});
  const MatD h = hs->forward(x, false), s = ss->forward(x, false);
  for (Index j = 0; j < n; ++j) {
    INFO("x = " << x(0, j));
    CHECK(h(0, j) == (s(0, j) != 0.0 ? x(0, j) : 0.0));
  }
}

TEST_CASE("hardshrink: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("hardshrink", 3, {{"lambd", -1.0}}), doctest::Contains("lambd"), ConfigError);
}
