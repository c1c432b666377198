#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("hardtanh: reference values of activations.md §5, gradient 0 at both bounds") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-1, -1, -0.5, 0, 0.5, 1, 1};
  const double d[] = {0, 0, 1, 1, 1, 0, 0};
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << xs[i]);
    CHECK(value_and_derivative("hardtanh", xs[i]) == std::pair<double, double>{f[i], d[i]});
  }
  const nlohmann::json p = {{"min_val", -2.0}, {"max_val", 3.0}};
  CHECK(value_and_derivative("hardtanh", -2.0, p) == std::pair<double, double>{-2.0, 0.0});
  CHECK(value_and_derivative("hardtanh", -1.999, p) == std::pair<double, double>{-1.999, 1.0});
  CHECK(value_and_derivative("hardtanh", 3.0, p) == std::pair<double, double>{3.0, 0.0});
  CHECK(value_and_derivative("hardtanh", 7.0, p) == std::pair<double, double>{3.0, 0.0});
  CHECK(make_layer<double>("hardtanh", 1)->kinks() == std::vector<double>{-1.0, 1.0});
  CHECK(make_layer<double>("hardtanh", 1, p)->kinks() == std::vector<double>{-2.0, 3.0});
}

TEST_CASE("hardtanh: gradient check") {
  gradcheck_activation("hardtanh");
  gradcheck_activation("hardtanh", {{"min_val", -2.0}, {"max_val", 3.0}});
}

TEST_CASE("hardtanh: float32 finite for extreme inputs, and NaN propagates like PyTorch's clamp") {
  check_float32_finite("hardtanh");
  check_float32_finite("hardtanh", {{"min_val", -2.0}, {"max_val", 3.0}});
  CHECK(std::isnan(value_and_derivative("hardtanh", std::nan("")).first));
}

TEST_CASE("hardtanh: hardtanh(0, 6) equals relu6, values and gradients (kinks included)") {
  const Index n = 97;
  MatD x(1, n);
  for (Index j = 0; j < n; ++j) x(0, j) = -3.0 + 0.125 * static_cast<double>(j);  // [−3, 9], holds 0 and 6 exactly
  CHECK((x.array() == 0.0).any());
  CHECK((x.array() == 6.0).any());
  auto ht = make_layer<double>("hardtanh", n, {{"min_val", 0.0}, {"max_val", 6.0}});
  auto r6 = make_layer<double>("relu6", n, {});
  CHECK(ht->forward(x, false) == r6->forward(x, false));
  const MatD dy = MatD::Random(1, n);
  CHECK(ht->backward(dy) == r6->backward(dy));
}

TEST_CASE("hardtanh: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("hardtanh", 3, {{"min_val", 1.0}, {"max_val", 1.0}}),
                       doctest::Contains("min_val"), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("hardtanh", 3, {{"min_val", 2.0}, {"max_val", -2.0}}), ConfigError);
  CHECK_THROWS_WITH_AS(make_layer<double>("hardtanh", 3, {{"max", 2.0}}), doctest::Contains("max_val"), ConfigError);
}
