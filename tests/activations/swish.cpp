#include "support/activation_checks.hpp"
#include "support/params.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

const nlohmann::json kLearnable15 = {{"beta", 1.5}, {"learnable", true}};

}  // namespace

TEST_CASE("swish: reference values of activations.md §5 (beta = 1.5): f, df/dx, df/dbeta") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double f[] = {-0.03296082789, -0.1824255238, -0.1604106504, 0, 0.3395893496, 0.8175744762, 2.967039172};
  const double d[] = {-0.03791109112, -0.0412941543, 0.1574000555, 0.5, 0.8425999445, 1.041294154, 1.037911091};
  const double db[] = {0.0977960675, 0.1491464521, 0.05447374844, 0, 0.05447374844, 0.1491464521, 0.0977960675};
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << xs[i]);
    for (const bool learnable : {false, true}) {
      const auto [y, dy] = value_and_derivative("swish", xs[i], {{"beta", 1.5}, {"learnable", learnable}});
      CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
      CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
    }
    const double g = param_grad_at("swish", "beta", xs[i], kLearnable15);
    if (db[i] == 0) CHECK(g == 0.0);
    else CHECK(g == doctest::Approx(db[i]).epsilon(1e-9));
  }
}

TEST_CASE("swish: tails accurate to full relative precision (mpmath, beta = 1.5)") {
  // At x = -40: f = -3.50e-25, f' = -5.17e-25 and df/dbeta = 1.40e-23; a derivative built from
  // 1 - s or from f + s(1 - f) (valid only for beta = 1) would lose these.
  auto [y, d] = value_and_derivative("swish", -40.0, kLearnable15);
  CHECK(y == doctest::Approx(-3.5026043050786081e-25).epsilon(1e-13).scale(0));
  CHECK(d == doctest::Approx(-5.166341349990947e-25).epsilon(1e-13).scale(0));
  CHECK(param_grad_at("swish", "beta", -40.0, kLearnable15) == doctest::Approx(1.4010417220314433e-23).epsilon(1e-13).scale(0));
  std::tie(y, d) = value_and_derivative("swish", -30.0, kLearnable15);
  CHECK(y == doctest::Approx(-8.5875557416481809e-19).epsilon(1e-13).scale(0));
  CHECK(d == doctest::Approx(-1.2595081754417332e-18).epsilon(1e-13).scale(0));
}

TEST_CASE("swish: beta = 1 is SiLU, bit for bit, forward and backward") {
  auto swish = make_layer<double>("swish", 7);
  auto silu = make_layer<double>("silu", 7);
  MatD x = gradcheck_input(8, 7, 3, -40, 40);
  x(7, 0) = -745, x(7, 1) = 745, x(7, 2) = -1e300, x(7, 3) = 1e300, x(7, 4) = 1e-300;
  const MatD w = gradcheck_input(8, 7, 4);
  CHECK(swish->forward(x, false) == silu->forward(x, false));
  CHECK(swish->backward(w) == silu->backward(w));
  // and beta -> large approaches ReLU, beta = 0 is x/2
  auto [y, d] = value_and_derivative("swish", 2.0, {{"beta", 100.0}});
  CHECK(y == doctest::Approx(2.0).epsilon(1e-15));
  CHECK(d == doctest::Approx(1.0).epsilon(1e-15));
  std::tie(y, d) = value_and_derivative("swish", -2.0, {{"beta", 100.0}});
  CHECK(std::abs(y) < 1e-80);
  std::tie(y, d) = value_and_derivative("swish", -2.0, {{"beta", 0.0}});
  CHECK(y == -1.0);
  CHECK(d == 0.5);
}

TEST_CASE("swish: learnable beta is parameter 'beta' {1} without weight decay; fixed beta has none") {
  CHECK(make_layer<double>("swish", 3)->parameters().empty());
  CHECK(make_layer<double>("swish", 3, {{"beta", 2.0}})->parameters().empty());
  auto layer = make_layer<double>("swish", 3, kLearnable15);
  auto p = layer->parameters();
  REQUIRE(p.size() == 1);
  CHECK(p[0].name == "beta");
  CHECK(p[0].shape == std::vector<std::int64_t>{1});
  CHECK_FALSE(p[0].weight_decay);
  CHECK((*p[0].value)(0, 0) == 1.5);
  // The layer reads beta at every forward (an optimizer step changes the function).
  MatD x(1, 3);
  x << -1, 0.5, 2;
  const MatD before = layer->forward(x, false);
  (*p[0].value)(0, 0) = 1.0;
  const MatD after = layer->forward(x, false);
  CHECK(after(0, 0) == doctest::Approx(-0.2689414214).epsilon(1e-9));
  CHECK(after(0, 0) != before(0, 0));
}

TEST_CASE("swish: gradient check (input and beta)") {
  gradcheck_activation("swish");
  gradcheck_activation("swish", kLearnable15);
  gradcheck_activation("swish", {{"beta", 0.5}, {"learnable", true}});
  gradcheck_activation("swish", {{"beta", -1.0}, {"learnable", true}});
  gradcheck_activation("swish", {{"beta", 100.0}, {"learnable", true}});
  const auto r = gradcheck_activation("swish", kLearnable15);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[1].name == "beta");
}

TEST_CASE("swish: float32 finite for extreme inputs (beta*x overflowing to inf included)") {
  check_float32_finite("swish");
  check_float32_finite("swish", kLearnable15);
  check_float32_finite("swish", {{"beta", 100.0}, {"learnable", true}});
  check_float32_finite("swish", {{"beta", -100.0}, {"learnable", true}});
}

TEST_CASE("swish: config validation") {
  CHECK_THROWS_AS(make_layer<double>("swish", 2, {{"learnable", 1}}), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("swish", 2, {{"beta", "1"}}), ConfigError);
}
