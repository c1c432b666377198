#include "support/activation_checks.hpp"
#include "support/params.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

const double kXs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};

}  // namespace

TEST_CASE("smu1: reference values of activations.md §5 (alpha = 0.25; mu = 4.35e-9 default and mu = 1)") {
  const double f0[] = {-0.75, -0.25, -0.125, 2.176332997e-09, 0.5, 1, 3};
  const double d0[] = {0.25, 0.25, 0.25, 0.625, 1, 1, 1};
  const double dmu0[] = {9.672591096e-10, 2.901777329e-09, 5.803554658e-09, 0.5,
                         5.803554658e-09, 2.901777329e-09, 9.672591096e-10};
  const double f1[] = {-0.6438927748, 0, 0.2215002341, 0.5, 0.8465002341, 1.25, 3.106107225};
  const double d1[] = {0.2823206693, 0.4, 0.4933287094, 0.625, 0.7566712906, 0.85, 0.9676793307};
  const double dmu1[] = {0.203069233, 0.4, 0.4681645888, 0.5, 0.4681645888, 0.4, 0.203069233};
  const nlohmann::json mu1 = {{"mu", 1.0}};
  const nlohmann::json init = nlohmann::json::object();
  for (int i = 0; i < 7; ++i) {
    INFO("x = " << kXs[i]);
    auto [y, d] = value_and_derivative("smu1", kXs[i]);
    CHECK(y == doctest::Approx(f0[i]).epsilon(1e-9).scale(0));
    CHECK(d == doctest::Approx(d0[i]).epsilon(1e-9));
    CHECK(param_grad_at("smu1", "mu", kXs[i], init) == doctest::Approx(dmu0[i]).epsilon(1e-9).scale(0));
    std::tie(y, d) = value_and_derivative("smu1", kXs[i], mu1);
    if (f1[i] == 0) CHECK(std::abs(y) < 1e-16);  // x = -1: ½(-1.25 + hypot(0.75, 1)) = 0
    else CHECK(y == doctest::Approx(f1[i]).epsilon(1e-9));
    CHECK(d == doctest::Approx(d1[i]).epsilon(1e-9));
    CHECK(param_grad_at("smu1", "mu", kXs[i], mu1) == doctest::Approx(dmu1[i]).epsilon(1e-9));
  }
  CHECK(make_layer<double>("smu1", 2)->kinks().empty());
}

TEST_CASE("smu1: alpha = 0, mu = sqrt(b) is Squareplus(b), including far tails") {
  for (double b : {4.0, 0.2, 1e-6}) {
    const nlohmann::json sp = {{"b", b}};
    const nlohmann::json s1 = {{"alpha", 0.0}, {"mu", std::sqrt(b)}, {"learnable", false}};
    for (double x : {-1e200, -1e8, -100.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 100.0, 1e8, 1e200}) {
      const auto [y, d] = value_and_derivative("smu1", x, s1);
      const auto [ys, ds] = value_and_derivative("squareplus", x, sp);
      INFO("b = " << b << ", x = " << x);
      CHECK(y == doctest::Approx(ys).epsilon(1e-14).scale(0));
      if (ds == 0) CHECK(d == 0.0);
      else CHECK(d == doctest::Approx(ds).epsilon(1e-14).scale(0));
    }
  }
}

TEST_CASE("smu1: no cancellation for small alpha on the negative side (mpmath)") {
  // alpha = 0.01, mu = 1, x = -1e4: f = -99.99997474747481, f' = 0.010000002525252506
  auto [y, d] = value_and_derivative("smu1", -1e4, {{"alpha", 0.01}, {"mu", 1.0}});
  CHECK(y == doctest::Approx(-99.999974747474811888).epsilon(1e-14));
  CHECK(d == doctest::Approx(0.010000002525252505929).epsilon(1e-13));
  // alpha = 0: f = 2.4999999937500e-5, f' = 2.49999998125e-9 (the direct form cancels to ~1e-12 relative)
  std::tie(y, d) = value_and_derivative("smu1", -1e4, {{"alpha", 0.0}, {"mu", 1.0}});
  CHECK(y == doctest::Approx(0.000024999999937500000312).epsilon(1e-14).scale(0));
  CHECK(d == doctest::Approx(2.4999999812500001562e-9).epsilon(1e-14).scale(0));
}

TEST_CASE("smu1: mu = 0 is Leaky ReLU(alpha), with PyTorch's LeakyReLU convention at the kink") {
  const nlohmann::json leaky = {{"mu", 0.0}, {"alpha", 0.25}};
  for (double x : {-2.0, -1e-300, 0.0, 1e-300, 3.0}) {
    const auto [y, d] = value_and_derivative("smu1", x, leaky);
    INFO("x = " << x);
    CHECK(y == doctest::Approx(x > 0 ? x : 0.25 * x).epsilon(1e-15).scale(x == 0 ? 1.0 : 0.0));
    CHECK(d == (x > 0 ? 1.0 : 0.25));
    CHECK(std::isfinite(param_grad_at("smu1", "mu", x, leaky)));
  }
  CHECK(param_grad_at("smu1", "mu", 0.0, leaky) == 0.0);
  CHECK(make_layer<double>("smu1", 2, leaky)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("smu1: learnable mu is parameter 'mu' {1} without weight decay; learnable = false has none") {
  auto layer = make_layer<double>("smu1", 4);
  auto p = layer->parameters();
  REQUIRE(p.size() == 1);
  CHECK(p[0].name == "mu");
  CHECK(p[0].shape == std::vector<std::int64_t>{1});
  CHECK_FALSE(p[0].weight_decay);
  CHECK((*p[0].value)(0, 0) == 4.352665993287951e-9);
  CHECK(make_layer<double>("smu1", 4, {{"learnable", false}})->parameters().empty());
}

TEST_CASE("smu1: gradient check (input and mu)") {
  gradcheck_activation("smu1", {{"mu", 1.0}});
  gradcheck_activation("smu1", {{"mu", 1.0}, {"alpha", 0.1}});
  gradcheck_activation("smu1", {{"mu", 0.3}, {"alpha", 0.0}});
  gradcheck_activation("smu1", {{"mu", 2.0}, {"alpha", 1.0}});
  gradcheck_activation("smu1", {{"mu", 0.0}, {"learnable", false}});  // Leaky ReLU, kink at 0 skipped
}

// At the published init mu = 4.35e-9 the standard check cannot test mu: the checker's step for mu,
// h = 1e-6·max(1, |mu|) = 1e-6, is 230 times mu itself, and f is even in mu, so at x = 0 the quotient
// (f(mu+h) - f(mu-h))/2h = ½(|mu+h| - |mu-h|)/2h = mu/2h instead of ½. So:
//  (1) the input gradient is checked at the standard points with mu fixed (learnable = false);
//  (2) input and mu together are checked on the standard test pattern scaled by 2e-8 into mu's own
//      region (|x| ≲ μ/c = 5.8e-9, where the function bends), with a step of 1e-12 (2.3e-4 of mu and
//      well below the bend width, so truncation errors are ~1e-8 and rounding errors ~1e-12).
TEST_CASE("smu1: gradient check at the published init mu = 4.35e-9") {
  gradcheck_activation("smu1", {{"learnable", false}});

  auto layer = make_layer<double>("smu1", 7);
  const MatD x = 2e-8 * gradcheck_input(6, 7, 42, -1, 1);
  GradCheckOptions opt;
  opt.step = 1e-12;
  const auto r = check_layer(*layer, x, opt);
  INFO(r.format());
  CHECK(r.ok());
  CHECK(r.max_error() <= 1e-6);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[1].name == "mu");
  CHECK(r.entries[1].max_abs_gradient > 0.1);  // mu matters here: mu/2r summed over the pattern
}

TEST_CASE("smu1: float32 finite for extreme inputs (hypot, no squares)") {
  check_float32_finite("smu1");
  check_float32_finite("smu1", {{"mu", 1.0}});
  check_float32_finite("smu1", {{"mu", 1.0}, {"alpha", 0.0}});
  check_float32_finite("smu1", {{"mu", 0.0}});
  check_float32_finite("smu1", {{"mu", 1e19}});
  // f(±FLT_MAX) is FLT_MAX and -FLT_MAX/4: halving before adding keeps it in range.
  const float big = std::numeric_limits<float>::max();
  auto layer = make_layer<float>("smu1", 2);
  MatF x(1, 2);
  x << big, -big;
  const MatF y = layer->forward(x, false);
  CHECK(y(0, 0) == doctest::Approx(big).epsilon(1e-6));
  CHECK(y(0, 1) == doctest::Approx(-0.25 * big).epsilon(1e-6));
}

TEST_CASE("smu1: config validation") {
  CHECK_THROWS_AS(make_layer<double>("smu1", 2, {{"alpha", 2.0}}), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("smu1", 2, {{"mu", -1e-9}}), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("smu1", 2, {{"learnable", "true"}}), ConfigError);
}
