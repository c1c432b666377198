#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("mish: reference values of activations.md §5") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.1456474613, -0.3034014614, -0.2207437747, 0, 0.3752452113, 0.8650983883, 2.986535005};
  const double d[] = {-0.09339311453, 0.05921675588, 0.2895106779, 0.6, 0.8864243754, 1.04903622, 1.021106911};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("mish", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  // Minimum −0.30884 at x = −1.19243, where f' changes sign.
  const auto [ymin, dmin] = value_and_derivative("mish", -1.1924);
  CHECK(ymin == doctest::Approx(-0.30884).epsilon(1e-5));
  CHECK(std::abs(dmin) < 1e-4);
}

TEST_CASE("mish: matches x·tanh(softplus(x)) from the softplus layer, tails included") {
  const Index n = 241;
  auto mish = make_layer<double>("mish", n, {});
  auto softplus = make_layer<double>("softplus", n, {{"threshold", 1000.0}});  // no identity switch
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -60.0 + 0.5 * static_cast<double>(j);  // [−60, 60]
  const MatD y = mish->forward(x, false);
  const MatD sp = softplus->forward(x, false);
  for (Index j = 0; j < n; ++j) {
    const double expected = x(0, j) * std::tanh(sp(0, j));
    INFO("x = " << x(0, j));
    CHECK(std::abs(y(0, j) - expected) <= 1e-14 * std::abs(expected));
  }
  // Past the cut-off at 20 the function is the identity and the slope exactly 1.
  const auto [y25, d25] = value_and_derivative("mish", 25.0);
  CHECK(y25 == 25.0);
  CHECK(d25 == 1.0);
}

TEST_CASE("mish: gradient check, also across the x = 20 cut-off") {
  gradcheck_activation("mish");
  gradcheck_activation("mish", {}, -40, 40);
  CHECK(make_layer<double>("mish", 1)->kinks().empty());
}

TEST_CASE("mish: float32 finite for extreme inputs, and close to float64") {
  check_float32_finite("mish");
  const Index n = 161;
  auto lf = make_layer<float>("mish", n, {});
  auto ld = make_layer<double>("mish", n, {});
  MatF xf(1, n);
  for (Index j = 0; j < n; ++j) xf(0, j) = static_cast<float>(-40.0 + 0.5 * static_cast<double>(j));
  const MatD xd = xf.cast<double>();
  const MatD yf = lf->forward(xf, false).cast<double>(), yd = ld->forward(xd, false);
  const MatD gf = lf->backward(MatF::Ones(1, n)).cast<double>(), gd = ld->backward(MatD::Ones(1, n));
  for (Index j = 0; j < n; ++j) {
    INFO("x = " << xd(0, j));
    CHECK(std::abs(yf(0, j) - yd(0, j)) <= 1e-6 * std::abs(yd(0, j)) + 1e-30);
    CHECK(std::abs(gf(0, j) - gd(0, j)) <= 2e-5 * std::abs(gd(0, j)) + 2e-7);  // f' crosses 0 at −1.19
  }
}
