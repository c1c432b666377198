#include "support/activation_checks.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {
constexpr double kLambda = 1.0507009873554804934193349852946;
constexpr double kLambdaAlpha = 1.7580993408473766;
}  // namespace

TEST_CASE("selu: reference values of activations.md §5, PyTorch's f'(0) = λα") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-1.670568729, -1.111330738, -0.6917581878, 0, 0.5253504937, 1.050700987, 3.152102962};
  const double d[] = {0.08753061208, 0.646768603, 1.066341153, 1.758099341, 1.050700987, 1.050700987, 1.050700987};
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("selu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
  const auto [y0, d0] = value_and_derivative("selu", 0.0);
  CHECK(y0 == 0.0);
  CHECK(d0 == doctest::Approx(kLambdaAlpha).epsilon(1e-15));  // λα, not λ
  const auto [yp, dp] = value_and_derivative("selu", 1e-300);
  CHECK(dp == doctest::Approx(kLambda).epsilon(1e-15));
  CHECK(yp > 0.0);
  // Saturates at −λα; the derivative from the input stays accurate where y + λα would cancel.
  const auto [yn, dn] = value_and_derivative("selu", -40.0);
  CHECK(yn == doctest::Approx(-kLambdaAlpha).epsilon(1e-15));
  CHECK(dn == doctest::Approx(kLambdaAlpha * std::exp(-40.0)).epsilon(1e-14).scale(0));
  // Accurate near 0 (expm1, not exp − 1): f(−1e−10) = λα·(−1e−10 + 5e−21).
  const auto [ys, ds] = value_and_derivative("selu", -1e-10);
  CHECK(ys == doctest::Approx(kLambdaAlpha * std::expm1(-1e-10)).epsilon(1e-15).scale(0));
  CHECK(make_layer<double>("selu", 1)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("selu: gradient check") {
  gradcheck_activation("selu");
  gradcheck_activation("selu", {}, -30, 30);
}

TEST_CASE("selu: float32 finite for extreme inputs; λx saturates at FLT_MAX instead of overflowing") {
  check_float32_finite("selu");
  const float big = std::numeric_limits<float>::max();
  auto layer = make_layer<float>("selu", 4, {});
  MatF x(1, 4);
  x << big, 1e30f, -big, 3e38f;
  const MatF y = layer->forward(x, true);
  const MatF dx = layer->backward(MatF::Ones(1, 4));
  CHECK(y(0, 0) == big);
  CHECK(y(0, 1) == doctest::Approx(kLambda * 1e30).epsilon(1e-6));
  CHECK(y(0, 2) == doctest::Approx(-kLambdaAlpha).epsilon(1e-6));
  CHECK(y(0, 3) == doctest::Approx(kLambda * 3e38).epsilon(1e-6));  // just below the saturation
  CHECK(dx(0, 0) == static_cast<float>(kLambda));
  CHECK(dx(0, 2) == 0.0f);
}
