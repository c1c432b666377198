#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("tanhshrink: reference values of activations.md §5") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-2.004945246, -0.238405844, -0.03788284274, 0, 0.03788284274, 0.238405844, 2.004945246};
  const double d[] = {0.9901339628, 0.5800256584, 0.213552267, 0, 0.213552267, 0.5800256584, 0.9901339628};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("tanhshrink", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  CHECK(make_layer<double>("tanhshrink", 1)->kinks().empty());
}

TEST_CASE("tanhshrink: gradient check") {
  gradcheck_activation("tanhshrink");
  gradcheck_activation("tanhshrink", {}, -30, 30);
}

TEST_CASE("tanhshrink: float32 finite for extreme inputs; slope 1 where x − tanh x rounds to x") {
  check_float32_finite("tanhshrink");
  auto layer = make_layer<float>("tanhshrink", 3, {});
  MatF x(1, 3);
  x << 1e30f, -1e8f, std::numeric_limits<float>::max();
  const MatF y = layer->forward(x, true);
  const MatF d = layer->backward(MatF::Ones(1, 3));
  CHECK(y == x);                     // x ∓ 1 rounds to x in float32
  CHECK(d == MatF::Ones(1, 3));      // tanh²x, not (x − y)² = 0
}
