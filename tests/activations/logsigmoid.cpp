#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("logsigmoid: reference values of activations.md §5") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-3.048587352, -1.313261688, -0.9740769842, -0.6931471806, -0.4740769842, -0.3132616875, -0.04858735157};
  const double d[] = {0.9525741268, 0.7310585786, 0.6224593312, 0.5, 0.3775406688, 0.2689414214, 0.04742587318};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("logsigmoid", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  CHECK(make_layer<double>("logsigmoid", 1)->kinks().empty());
}

TEST_CASE("logsigmoid: full accuracy in both tails (naive log(σ(x)) is −inf / 0 there)") {
  auto [y, d] = value_and_derivative("logsigmoid", -1000.0);
  CHECK(y == -1000.0);
  CHECK(d == 1.0);
  std::tie(y, d) = value_and_derivative("logsigmoid", 50.0);
  CHECK(y == doctest::Approx(-1.9287498479639178e-22).epsilon(1e-14).scale(0));
  CHECK(d == doctest::Approx(1.9287498479639178e-22).epsilon(1e-14).scale(0));
  std::tie(y, d) = value_and_derivative("logsigmoid", 700.0);
  CHECK(y == doctest::Approx(-std::exp(-700.0)).epsilon(1e-14).scale(0));
  CHECK(d == doctest::Approx(std::exp(-700.0)).epsilon(1e-14).scale(0));
}

TEST_CASE("logsigmoid: gradient check") {
  gradcheck_activation("logsigmoid");
  gradcheck_activation("logsigmoid", {}, -60, 60);
}

TEST_CASE("logsigmoid: float32 finite for extreme inputs, and f(x) = x for x ≪ 0") {
  check_float32_finite("logsigmoid");
  auto layer = make_layer<float>("logsigmoid", 2, {});
  MatF x(1, 2);
  x << -std::numeric_limits<float>::max(), -1e30f;
  const MatF y = layer->forward(x, true);
  const MatF d = layer->backward(MatF::Ones(1, 2));
  CHECK(y == x);
  CHECK(d == MatF::Ones(1, 2));
}

TEST_CASE("logsigmoid: logsigmoid(x) == −softplus(−x)") {
  const Index n = 401;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -40.0 + 0.2 * static_cast<double>(j);
  auto ls = make_layer<double>("logsigmoid", n, {});
  auto sp = make_layer<double>("softplus", n, {});
  const MatD neg = -x;
  const MatD y = ls->forward(x, false), s = sp->forward(neg, false);
  const MatD g = ls->backward(MatD::Ones(1, n)), gs = sp->backward(MatD::Ones(1, n));
  for (Index j = 0; j < n; ++j) {
    const double xv = x(0, j);
    INFO("x = " << xv);
    // Exact up to rounding while softplus uses its log branch (−x ≤ 20); past its switch softplus
    // is the identity and drops log1p(e^{−20}) = 2.06e−9.
    if (-xv <= 20) CHECK(std::abs(y(0, j) + s(0, j)) <= 1e-15 * (1 + std::abs(xv)));
    else CHECK(std::abs(y(0, j) + s(0, j)) <= 2.1e-9);
    // d/dx logsigmoid(x) = σ(−x) = softplus'(−x).
    CHECK(std::abs(g(0, j) - gs(0, j)) <= 1e-15 + (-xv > 20 ? 2.1e-9 : 0.0));
  }
}
