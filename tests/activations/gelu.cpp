#include "support/activation_checks.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

const double kX[] = {-3, -1, -0.5, 0, 0.5, 1, 3};

// activations.md §5 rows at x = −3, −1, −0.5, 0, 0.5, 1, 3 (10 significant digits).
void check_reference(const nlohmann::json& params, const double (&f)[7], const double (&d)[7]) {
  for (int i = 0; i < 7; ++i) {
    const auto [y, dy] = value_and_derivative("gelu", kX[i], params);
    INFO("gelu " << params.dump() << " at x = " << kX[i]);
    CHECK(y == doctest::Approx(f[i]).epsilon(1e-9));
    CHECK(dy == doctest::Approx(d[i]).epsilon(1e-9));
  }
}

// The layer's output on a whole row of inputs.
std::vector<double> outputs(const nlohmann::json& params, const std::vector<double>& xs) {
  auto layer = make_layer<double>("gelu", static_cast<Index>(xs.size()), params);
  MatD x(1, static_cast<Index>(xs.size()));
  for (std::size_t i = 0; i < xs.size(); ++i) x(0, static_cast<Index>(i)) = xs[i];
  const MatD& y = layer->forward(x, false);
  return {y.data(), y.data() + y.size()};
}

}  // namespace

TEST_CASE("gelu: reference values of activations.md §5, exact (erf) and tanh approximation") {
  check_reference({},
                  {-0.004049694095, -0.1586552539, -0.1542687694, 0, 0.3457312306, 0.8413447461, 2.995950306},
                  {-0.0119456472, -0.08331547059, 0.1325048753, 0.5, 0.8674951247, 1.083315471, 1.011945647});
  check_reference({{"approximate", "tanh"}},
                  {-0.003637392082, -0.1588080094, -0.1542859902, 0, 0.3457140098, 0.8411919906, 2.996362608},
                  {-0.01158416663, -0.08296408385, 0.1326300965, 0.5, 0.8673699035, 1.082964084, 1.011584167});
  // Minimum −0.16997 at x = −0.75179, where f' changes sign.
  const auto [ymin, dmin] = value_and_derivative("gelu", -0.75179152469356446);
  CHECK(ymin == doctest::Approx(-0.16997120747990366).epsilon(1e-14));
  CHECK(std::abs(dmin) < 1e-15);
}

TEST_CASE("gelu: the erfc form keeps relative accuracy far in the left tail") {
  // PyTorch's ½x(1 + erf(x/√2)) returns −0 at x = −10; the true value is −10·Φ(−10).
  const double phi_cdf = 7.619853024160527e-24;  // Φ(−10)
  const double phi_pdf = 7.694598626706421e-23;  // φ(10)
  const auto [y, d] = value_and_derivative("gelu", -10.0);
  CHECK(y == doctest::Approx(-10 * phi_cdf).epsilon(1e-12).scale(0));
  CHECK(d == doctest::Approx(phi_cdf - 10 * phi_pdf).epsilon(1e-12).scale(0));
}

TEST_CASE("gelu: gradient check, exact and tanh, including beyond the tanh guard at |x| = 10") {
  gradcheck_activation("gelu");
  gradcheck_activation("gelu", {{"approximate", "tanh"}});
  gradcheck_activation("gelu", {}, -15, 15);
  gradcheck_activation("gelu", {{"approximate", "tanh"}}, -15, 15);
}

TEST_CASE("gelu: float32 forward and backward are finite for extreme inputs") {
  check_float32_finite("gelu");
  check_float32_finite("gelu", {{"approximate", "tanh"}});
}

TEST_CASE("gelu: x / −0 and slopes 1 / 0 for huge |x| in float32 (tanh: the guard beyond |x| = 10)") {
  const float big = std::numeric_limits<float>::max();
  for (const std::string approx : {"tanh", "none"}) {
    std::vector<float> xs = {1e19f, -1e19f, 1e30f, -1e30f, big, -big};
    if (approx == "tanh") xs.insert(xs.end(), {10.5f, -10.5f, 1000.0f, -1000.0f});
    const Index n = static_cast<Index>(xs.size());
    auto layer = make_layer<float>("gelu", n, {{"approximate", approx}});
    MatF x(1, n);
    for (Index j = 0; j < n; ++j) x(0, j) = xs[static_cast<std::size_t>(j)];
    const MatF y = layer->forward(x, true);
    const MatF dx = layer->backward(MatF::Ones(1, n));
    for (Index j = 0; j < n; ++j) {
      INFO(approx << " x = " << x(0, j));
      CHECK(y(0, j) == (x(0, j) > 0 ? x(0, j) : 0.0f));
      CHECK(dx(0, j) == (x(0, j) > 0 ? 1.0f : 0.0f));
    }
  }
}

TEST_CASE("gelu: the tanh form keeps relative accuracy in the left tail (σ(2u), not 1 + tanh u)") {
  // ½x(1 + tanh u) to 17 digits (mpmath, 100-digit arithmetic); PyTorch's float64 formula returns −0
  // at x = −8 and −10.
  const double xs[] = {-4.0, -6.0, -8.0, -10.0};
  const double ref[] = {-7.024594819237269e-05, -8.4396467007622971e-11, -3.1077829375011112e-21,
                        -1.204092348209806e-37};
  for (int i = 0; i < 4; ++i) {
    INFO("x = " << xs[i]);
    CHECK(value_and_derivative("gelu", xs[i], {{"approximate", "tanh"}}).first ==
          doctest::Approx(ref[i]).epsilon(1e-12).scale(0));
  }
}

TEST_CASE("gelu: float32 agrees with float64 to 2e-5 relative, tails included") {
  for (const std::string approx : {"none", "tanh"}) {
    auto lf = make_layer<float>("gelu", 201, {{"approximate", approx}});
    auto ld = make_layer<double>("gelu", 201, {{"approximate", approx}});
    MatF xf(1, 201);
    for (Index j = 0; j < 201; ++j) xf(0, j) = static_cast<float>(-10.0 + 0.1 * static_cast<double>(j));
    const MatD xd = xf.cast<double>();
    const MatD yf = lf->forward(xf, false).cast<double>(), yd = ld->forward(xd, false);
    const MatD gf = lf->backward(MatF::Ones(1, 201)).cast<double>(), gd = ld->backward(MatD::Ones(1, 201));
    for (Index j = 0; j < 201; ++j) {
      INFO(approx << " x = " << xd(0, j));
      CHECK(std::abs(yf(0, j) - yd(0, j)) <= 2e-5 * std::abs(yd(0, j)) + 1e-30);
      CHECK(std::abs(gf(0, j) - gd(0, j)) <= 2e-5 * std::abs(gd(0, j)) + 2e-7);
    }
  }
}

TEST_CASE("gelu: the float32 exact form (vectorised erfc) is within 2e-6 relative of float64 down to the subnormals") {
  // Its erfc is Numerical Recipes' erfcc in float with e^(−z²) split (activations/gelu.cpp): 6e−7
  // measured. 20001 points of [−13, 5]; below x ≈ −13 the values are float subnormals.
  constexpr Index n = 20001;
  auto lf = make_layer<float>("gelu", n, {});
  auto ld = make_layer<double>("gelu", n, {});
  MatF xf(1, n);
  for (Index j = 0; j < n; ++j) xf(0, j) = static_cast<float>(-13.0 + 18.0 * static_cast<double>(j) / (n - 1));
  const MatD xd = xf.cast<double>();
  const MatD yf = lf->forward(xf, false).cast<double>(), yd = ld->forward(xd, false);
  const MatD gf = lf->backward(MatF::Ones(1, n)).cast<double>(), gd = ld->backward(MatD::Ones(1, n));
  double worst_y = 0, worst_g = 0, at_y = 0, at_g = 0;
  for (Index j = 0; j < n; ++j) {
    if (std::abs(yd(0, j)) < 1e-36) continue;  // subnormal in float32
    const double ey = std::abs(yf(0, j) - yd(0, j)) / std::abs(yd(0, j));
    // f' = Φ(x) + x·φ(x) crosses 0 at x = −0.75179 (GELU's minimum): relative to its terms' size.
    const double x = xd(0, j), terms = 0.5 * std::erfc(-x / std::sqrt(2.0)) + std::abs(x) * std::exp(-x * x / 2) / std::sqrt(2 * M_PI);
    const double eg = std::abs(gf(0, j) - gd(0, j)) / terms;
    if (ey > worst_y) worst_y = ey, at_y = xd(0, j);
    if (eg > worst_g) worst_g = eg, at_g = xd(0, j);
  }
  CHECK(worst_y < 2e-6);
  CHECK(worst_g < 2e-6);
  MESSAGE("float32 exact gelu: worst relative error " << worst_y << " at x = " << at_y << " (forward), " << worst_g
                                                      << " at x = " << at_g << " (backward)");
}

TEST_CASE("gelu: the tanh approximation stays within 4.8e-4 of the exact GELU") {
  std::vector<double> xs;
  for (int i = -2000; i <= 2000; ++i) xs.push_back(i * 0.005);  // [−10, 10]
  const auto exact = outputs({}, xs), approx = outputs({{"approximate", "tanh"}}, xs);
  double worst = 0, at = 0;
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (std::abs(exact[i] - approx[i]) > worst) worst = std::abs(exact[i] - approx[i]), at = xs[i];
  INFO("max |exact − tanh| = " << worst << " at x = " << at);
  CHECK(worst <= 4.8e-4);
  CHECK(worst >= 4.7e-4);  // the documented 4.73e-4, so the two modes really differ
  CHECK(std::abs(at) == doctest::Approx(2.70).epsilon(0.01));  // the difference is even in x
}

TEST_CASE("gelu: config errors") {
  CHECK_THROWS_WITH_AS(make_layer<double>("gelu", 3, {{"approximate", "tanhh"}}),
                       doctest::Contains("did you mean 'tanh'"), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("gelu", 3, {{"approximate", true}}), ConfigError);
  CHECK(make_layer<double>("gelu", 3)->kinks().empty());
}
