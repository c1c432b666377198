#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

void check_squareplus_table(double b, const double (&f)[7], const double (&d)[7]) {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("squareplus", xs[i], {{"b", b}});
    INFO("b = " << b << ", x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
}

}  // namespace

TEST_CASE("squareplus: reference values of activations.md §5, b = 4 (default) and the tutorial's b = 0.2") {
  check_squareplus_table(4.0,
                         {0.3027756377, 0.6180339887, 0.7807764064, 1, 1.280776406, 1.618033989, 3.302775638},
                         {0.08397485283, 0.2763932023, 0.3787321875, 0.5, 0.6212678125, 0.7236067977, 0.9160251472});
  check_squareplus_table(0.2,
                         {0.01657508881, 0.04772255751, 0.08541019662, 0.2236067977, 0.5854101966, 1.047722558,
                          3.016575089},
                         {0.005464644953, 0.04356453541, 0.1273220038, 0.5, 0.8726779962, 0.9564354646,
                          0.994535355});
  // The default is b = 4 (JAX, Keras): f(0) = sqrt(b)/2 = 1.
  CHECK(value_and_derivative("squareplus", 0.0).first == 1.0);
  CHECK(make_layer<double>("squareplus", 2)->kinks().empty());
  CHECK(make_layer<double>("squareplus", 2)->parameters().empty());
}

TEST_CASE("squareplus: stable negative branch (no cancellation, no overflow of x^2)") {
  // Naive (x + sqrt(x^2 + b))/2 returns 0 here; the true value is b/(2(r - x)) ≈ 5e-10.
  auto [y, d] = value_and_derivative("squareplus", -1e8, {{"b", 0.2}});
  CHECK(y == doctest::Approx(5e-10).epsilon(1e-13).scale(0));
  CHECK(d == doctest::Approx(5e-18).epsilon(1e-13).scale(0));
  std::tie(y, d) = value_and_derivative("squareplus", -1e200, {{"b", 4.0}});  // x^2 overflows float64
  CHECK(y == doctest::Approx(1e-200).epsilon(1e-13).scale(0));
  CHECK(d == 0.0);  // b/(4x^2) = 1e-400 underflows
  std::tie(y, d) = value_and_derivative("squareplus", 1e200, {{"b", 4.0}});
  CHECK(y == 1e200);
  CHECK(d == 1.0);

  // float32: naive gives 0 at x = -1e4 (true 1e-4 for b = 4) and +inf below -1.8e19.
  auto layer = make_layer<float>("squareplus", 3);
  MatF x(1, 3);
  x << -1e4f, -1e20f, -3.0f;
  const MatF yf = layer->forward(x, false);
  CHECK(yf(0, 0) == doctest::Approx(1e-4).epsilon(1e-6));
  CHECK(yf(0, 1) == doctest::Approx(1e-20).epsilon(1e-6));
  CHECK(yf(0, 2) == doctest::Approx(0.3027756377).epsilon(1e-6));
}

TEST_CASE("squareplus: b = 0 is ReLU exactly, with ReLU's f'(0) = 0 and a kink only then") {
  const nlohmann::json relu = {{"b", 0.0}};
  for (double x : {-3.0, -1e-300, 0.0, 1e-300, 0.5, 3.0}) {
    const auto [y, d] = value_and_derivative("squareplus", x, relu);
    const auto [yr, dr] = value_and_derivative("relu", x);
    INFO("x = " << x);
    CHECK(y == yr);
    CHECK(d == dr);
  }
  CHECK(make_layer<double>("squareplus", 2, relu)->kinks() == std::vector<double>{0.0});
  // Tiny b is smooth, with f'(0) = 1/2.
  CHECK(value_and_derivative("squareplus", 0.0, {{"b", 1e-6}}).second == 0.5);
}

TEST_CASE("squareplus: gradient check for several b") {
  gradcheck_activation("squareplus");
  gradcheck_activation("squareplus", {{"b", 0.2}});
  gradcheck_activation("squareplus", {{"b", 0.0}});
  gradcheck_activation("squareplus", {{"b", 100.0}});
  gradcheck_activation("squareplus", {{"b", 4.0}}, -1e6, 1e6);
}

TEST_CASE("squareplus: float32 finite for extreme inputs") {
  check_float32_finite("squareplus");
  check_float32_finite("squareplus", {{"b", 0.2}});
  check_float32_finite("squareplus", {{"b", 0.0}});
  check_float32_finite("squareplus", {{"b", 1e-6}});
  check_float32_finite("squareplus", {{"b", 1e30}});
}

TEST_CASE("squareplus: config validation") {
  try {
    make_layer<double>("squareplus", 2, {{"b", -1.0}});
    FAIL("b = -1 must be rejected");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("squareplus.b") != std::string::npos);
  }
  CHECK_THROWS_AS(make_layer<double>("squareplus", 2, {{"beta", 4.0}}), ConfigError);
}
