#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

MatD grid(Index n, double lo, double step) {
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = lo + step * static_cast<double>(j);
  return x;
}

}  // namespace

TEST_CASE("celu: reference values of activations.md §5 (alpha = 1) and alpha = 2") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double fs[] = {-0.9502129316, -0.6321205588, -0.3934693403, 0, 0.5, 1, 3};
  const double ds[] = {0.04978706837, 0.3678794412, 0.6065306597, 1, 1, 1, 1};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("celu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(fs[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(ds[i]).epsilon(1e-9));
  }
  // alpha = 2: f(x) = 2(e^{x/2} − 1), f' = e^{x/2} for x ≤ 0.
  auto [y, d] = value_and_derivative("celu", -1.0, {{"alpha", 2.0}});
  CHECK(y == doctest::Approx(-0.7869386805747332).epsilon(1e-14));
  CHECK(d == doctest::Approx(0.6065306597126334).epsilon(1e-14));
  std::tie(y, d) = value_and_derivative("celu", -3.0, {{"alpha", 0.5}});
  CHECK(y == doctest::Approx(0.5 * std::expm1(-6.0)).epsilon(1e-14));
  CHECK(d == doctest::Approx(std::exp(-6.0)).epsilon(1e-14));
}

TEST_CASE("celu: f'(0) = 1 for every alpha (C¹ at 0), confirmed by a fine central difference") {
  for (double alpha : {1.0, 2.0, 0.5, 0.01}) {
    const nlohmann::json p = {{"alpha", alpha}};
    const auto [y0, d0] = value_and_derivative("celu", 0.0, p);
    INFO("alpha = " << alpha);
    CHECK(y0 == 0.0);
    CHECK(d0 == 1.0);
    const double h = 1e-9;
    const double numeric = (value_and_derivative("celu", h, p).first - value_and_derivative("celu", -h, p).first) / (2 * h);
    CHECK(numeric == doctest::Approx(1.0).epsilon(1e-6 + h / (4 * alpha)));
  }
  CHECK(make_layer<double>("celu", 1)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("celu: gradient check for several alpha") {
  gradcheck_activation("celu");
  gradcheck_activation("celu", {{"alpha", 2.0}});
  gradcheck_activation("celu", {{"alpha", 0.5}});
  gradcheck_activation("celu", {{"alpha", 0.05}});
}

TEST_CASE("celu: float32 finite for extreme inputs") {
  check_float32_finite("celu");
  check_float32_finite("celu", {{"alpha", 2.0}});
  check_float32_finite("celu", {{"alpha", 0.01}});
}

TEST_CASE("celu: CELU(alpha = 1) equals ELU(1) when 'elu' is registered; CELU is an ELU of x/α scaled by α") {
  const Index n = 161;
  const MatD x = grid(n, -8, 0.1);
  // Every activation is linked into the tests: 'elu' not registered is a failure, not a skip.
  REQUIRE_MESSAGE(LayerRegistry::instance().find("elu"), "'elu' is not registered");
  auto celu = make_layer<double>("celu", n, {}), elu = make_layer<double>("elu", n, {});
  const MatD yc = celu->forward(x, false), ye = elu->forward(x, false);
  CHECK((yc - ye).cwiseAbs().maxCoeff() <= 1e-15);
  // Within this file: celu_α(x) = α·celu_1(x/α).
  auto c2 = make_layer<double>("celu", n, {{"alpha", 2.0}}), c1 = make_layer<double>("celu", n, {});
  const MatD half = x / 2.0;
  const MatD y2 = c2->forward(x, false), y1 = c1->forward(half, false);
  CHECK((y2 - 2.0 * y1).cwiseAbs().maxCoeff() <= 1e-15);
}

TEST_CASE("celu: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("celu", 3, {{"alpha", 0.0}}), doctest::Contains("alpha"), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("celu", 3, {{"alpha", "one"}}), ConfigError);
}
