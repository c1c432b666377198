#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("softshrink: reference values of activations.md §5; f(±λ) = 0 and f'(±λ) = 0") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-2.5, -0.5, 0, 0, 0, 0.5, 2.5};
  const double d[] = {1, 1, 0, 0, 0, 1, 1};
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << xs[i]);
    CHECK(value_and_derivative("softshrink", xs[i]) == std::pair<double, double>{f[i], d[i]});
  }
  const nlohmann::json p = {{"lambd", 1.0}};
  CHECK(value_and_derivative("softshrink", 1.0, p) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("softshrink", -1.0, p) == std::pair<double, double>{0.0, 0.0});
  CHECK(value_and_derivative("softshrink", 1.25, p) == std::pair<double, double>{0.25, 1.0});
  CHECK(value_and_derivative("softshrink", -3.0, p) == std::pair<double, double>{-2.0, 1.0});
  CHECK(make_layer<double>("softshrink", 1)->kinks() == std::vector<double>{-0.5, 0.5});
  // λ = 0 is allowed: the identity (with slope 0 at x = 0).
  CHECK(value_and_derivative("softshrink", 0.25, {{"lambd", 0.0}}) == std::pair<double, double>{0.25, 1.0});
}

TEST_CASE("softshrink: gradient check") {
  gradcheck_activation("softshrink");
  gradcheck_activation("softshrink", {{"lambd", 1.0}});
}

TEST_CASE("softshrink: float32 finite for extreme inputs, NaN propagates (x·0 band)") {
  check_float32_finite("softshrink");
  check_float32_finite("softshrink", {{"lambd", 1.0}});
  CHECK(std::isnan(value_and_derivative("softshrink", std::nan("")).first));
}

TEST_CASE("softshrink: equals x − hardtanh(−λ, λ)(x)") {
  const Index n = 161;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -5.0 + 0.0625 * static_cast<double>(j);
  auto ss = make_layer<double>("softshrink", n, {{"lambd", 1.0}});
  auto ht = make_layer<double>("hardtanh", n, {{"min_val", -1.0}, {"max_val", 1.0}});
  const MatD y = ss->forward(x, false), c = ht->forward(x, false);
  CHECK(y == x - c);
}

TEST_CASE("softshrink: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("softshrink", 3, {{"lambd", -0.5}}), doctest::Contains("lambd"), ConfigError);
  CHECK_THROWS_WITH_AS(make_layer<double>("softshrink", 3, {{"lambda", 0.5}}),
                       doctest::Contains("did you mean 'lambd'"), ConfigError);
}
