#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

MatD row(Index n, double lo, double step) {
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = lo + step * static_cast<double>(j);
  return x;
}

}  // namespace

TEST_CASE("softplus: reference values of activations.md §5") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {0.04858735157, 0.3132616875, 0.4740769842, 0.6931471806, 0.9740769842, 1.313261688, 3.048587352};
  const double d[] = {0.04742587318, 0.2689414214, 0.3775406688, 0.5, 0.6224593312, 0.7310585786, 0.9525741268};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("softplus", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  // β = 2: f(x) = log(1 + e^{2x})/2, f' = σ(2x).
  const auto [y, dy] = value_and_derivative("softplus", -0.5, {{"beta", 2.0}, {"threshold", 5.0}});
  CHECK(y == doctest::Approx(std::log1p(std::exp(-1.0)) / 2).epsilon(1e-14));
  CHECK(dy == doctest::Approx(sigmoid(-1.0)).epsilon(1e-14));
}

TEST_CASE("softplus: PyTorch's strict switch βx > threshold; at βx == threshold the log branch is used") {
  // Defaults: threshold 20 at x = 20.
  auto [y, d] = value_and_derivative("softplus", 20.0);
  CHECK(y == doctest::Approx(20 + std::log1p(std::exp(-20.0))).epsilon(1e-15));
  CHECK(y > 20.0);  // log branch: 20 + 2.06e-9, not the identity
  CHECK(d == doctest::Approx(sigmoid(20.0)).epsilon(1e-15));
  CHECK(d < 1.0);
  std::tie(y, d) = value_and_derivative("softplus", 20.000001);
  CHECK(y == 20.000001);
  CHECK(d == 1.0);
  // β = 2, threshold 5: the switch is at x = 2.5 (β·x, not x, is compared).
  const nlohmann::json p = {{"beta", 2.0}, {"threshold", 5.0}};
  std::tie(y, d) = value_and_derivative("softplus", 2.5, p);
  CHECK(y == doctest::Approx((5 + std::log1p(std::exp(-5.0))) / 2).epsilon(1e-15));
  CHECK(d == doctest::Approx(sigmoid(5.0)).epsilon(1e-15));
  std::tie(y, d) = value_and_derivative("softplus", 2.6, p);
  CHECK(y == 2.6);
  CHECK(d == 1.0);
  CHECK(make_layer<double>("softplus", 1)->kinks() == std::vector<double>{20.0});
  CHECK(make_layer<double>("softplus", 1, p)->kinks() == std::vector<double>{2.5});
}

TEST_CASE("softplus: accurate in the left tail where log(1 + e^x) rounds to 0") {
  const auto [y, d] = value_and_derivative("softplus", -100.0);
  CHECK(y == doctest::Approx(3.720075976020836e-44).epsilon(1e-13).scale(0));
  CHECK(d == doctest::Approx(3.720075976020836e-44).epsilon(1e-13).scale(0));
}

TEST_CASE("softplus: gradient check for several beta / threshold") {
  gradcheck_activation("softplus");
  gradcheck_activation("softplus", {}, -40, 40);
  gradcheck_activation("softplus", {{"beta", 2.0}, {"threshold", 5.0}});
  gradcheck_activation("softplus", {{"beta", 0.5}, {"threshold", 3.0}});
  gradcheck_activation("softplus", {{"beta", -1.0}});  // allowed, as in PyTorch
}

TEST_CASE("softplus: float32 finite for extreme inputs, also when beta·x overflows") {
  check_float32_finite("softplus");
  check_float32_finite("softplus", {{"beta", 2.0}, {"threshold", 5.0}});
  check_float32_finite("softplus", {{"beta", 0.5}});
  check_float32_finite("softplus", {{"threshold", 200.0}});  // PyTorch's backward is NaN here
}

TEST_CASE("softplus: softplus(x) − softplus(−x) == x") {
  const Index n = 401;
  for (const nlohmann::json& p : {nlohmann::json::object(), nlohmann::json{{"beta", 2.0}, {"threshold", 5.0}}}) {
    const double beta = p.value("beta", 1.0), thr = p.value("threshold", 20.0);
    auto a = make_layer<double>("softplus", n, p), b = make_layer<double>("softplus", n, p);
    const MatD x = row(n, -40, 0.2);
    const MatD neg = -x;
    const MatD ya = a->forward(x, false), yb = b->forward(neg, false);
    for (Index j = 0; j < n; ++j) {
      const double xv = x(0, j), diff = ya(0, j) - yb(0, j);
      INFO(p.dump() << " x = " << xv << " difference " << diff - xv);
      // Exact up to rounding while both sides use the log branch; beyond the switch the one side
      // drops log1p(e^{−threshold})/β (2.06e−9 at the defaults).
      if (std::abs(beta * xv) <= thr) CHECK(std::abs(diff - xv) <= 1e-14 * (1 + std::abs(xv)));
      else CHECK(std::abs(diff - xv) <= std::log1p(std::exp(-thr)) / beta + 1e-14 * std::abs(xv));
    }
  }
}

TEST_CASE("softplus: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("softplus", 3, {{"beta", 0.0}}), doctest::Contains("beta"), ConfigError);
  CHECK_THROWS_WITH_AS(make_layer<double>("softplus", 3, {{"treshold", 5.0}}),
                       doctest::Contains("did you mean 'threshold'"), ConfigError);
}
