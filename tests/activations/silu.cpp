#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("silu: reference values of activations.md §5, f'(0) = 1/2") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.1422776195, -0.2689414214, -0.1887703344, 0, 0.3112296656, 0.7310585786, 2.85772238};
  const double d[] = {-0.08810410602, 0.07232948813, 0.2600388127, 0.5, 0.7399611873, 0.9276705119, 1.088104106};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("silu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  CHECK(make_layer<double>("silu", 2)->kinks().empty());
  CHECK(make_layer<double>("silu", 2)->parameters().empty());
}

TEST_CASE("silu: minimum -0.27846 at x = -1.27846 (mpmath), and accurate tails") {
  const double xmin = -1.2784645427610737951;
  auto [y, d] = value_and_derivative("silu", xmin);
  CHECK(y == doctest::Approx(-0.27846454276107379511).epsilon(1e-15));
  CHECK(std::abs(d) < 1e-15);
  // x = -40: f = -1.70e-16, f' = -1.66e-16 (mpmath), no cancellation.
  std::tie(y, d) = value_and_derivative("silu", -40.0);
  CHECK(y == doctest::Approx(-1.6993417021166356e-16).epsilon(1e-13).scale(0));
  CHECK(d == doctest::Approx(-1.6568581595637197e-16).epsilon(1e-13).scale(0));
  std::tie(y, d) = value_and_derivative("silu", -372.5);
  CHECK(y == doctest::Approx(-6.2579453780378007e-160).epsilon(1e-12).scale(0));
  CHECK(d == doctest::Approx(-6.2411455246739408e-160).epsilon(1e-12).scale(0));
  std::tie(y, d) = value_and_derivative("silu", 40.0);
  CHECK(y == 40.0);
  CHECK(d == doctest::Approx(1.0000000000000002).epsilon(1e-15));
  std::tie(y, d) = value_and_derivative("silu", -1000.0);  // e^1000 = inf: -1000/inf = -0
  CHECK(y == 0.0);
  CHECK(d == 0.0);
}

TEST_CASE("silu: gradient check") {
  gradcheck_activation("silu");
  gradcheck_activation("silu", {}, -40, 40);
}

TEST_CASE("silu: float32 finite for extreme inputs") { check_float32_finite("silu"); }
