#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("log_softmax: [1000, 1001, 1002] -> x - m - log sum e^(x-m), exact for far-apart values") {
  auto layer = make_layer<double>("log_softmax", 3);
  MatD x(3, 3);
  x << 1000, 1001, 1002,  //
      0, 1, 2,            //
      -1e4, 0, 1e4;
  const MatD y = layer->forward(x, false);
  const double want[] = {-2.4076059644443803, -1.4076059644443803, -0.4076059644443803};
  for (Index r = 0; r < 2; ++r)
    for (Index j = 0; j < 3; ++j) CHECK(y(r, j) == doctest::Approx(want[j]).epsilon(1e-14));
  // log(softmax) would be log(0) = -inf here; log-softmax keeps the exact -2e4.
  CHECK(y(2, 0) == -2e4);
  CHECK(y(2, 1) == -1e4);
  CHECK(y(2, 2) == 0.0);
  CHECK(is_activation(*layer));
  CHECK(layer->kinks().empty());
  CHECK(layer->parameters().empty());
}

TEST_CASE("log_softmax: exp(log_softmax) == softmax and log sum exp(y) = 0 per row") {
  auto ls = make_layer<double>("log_softmax", 6);
  auto sm = make_layer<double>("softmax", 6);
  MatD x = gradcheck_input(5, 6, 9, -50, 50);
  x.row(4) << 1000, 1001, 999, -1000, 0, 1002;
  const MatD y = ls->forward(x, false);
  const MatD p = sm->forward(x, false);
  const MatD e = y.unaryExpr([](double v) { return std::exp(v); });
  CHECK(e.isApprox(p, 1e-14));
  for (Index r = 0; r < x.rows(); ++r) CHECK(std::abs(std::log(e.row(r).sum())) < 1e-15);
}

TEST_CASE("log_softmax: backward is g − e^y Σg per row") {
  auto layer = make_layer<double>("log_softmax", 3);
  MatD x(1, 3);
  x << 0, 1, 2;
  const MatD y = layer->forward(x, false);
  MatD g(1, 3);
  g << 0.5, -1, 2;
  const MatD dx = layer->backward(g);
  for (Index j = 0; j < 3; ++j) CHECK(dx(0, j) == doctest::Approx(g(0, j) - std::exp(y(0, j)) * 1.5).epsilon(1e-14));
}

TEST_CASE("log_softmax: gradient check, ordinary rows and rows with large values") {
  gradcheck_activation("log_softmax");
  gradcheck_activation("log_softmax", {}, -5, 5, 3);
  gradcheck_activation("log_softmax", {}, -1e4, 1e4);  // rows dominated by one entry

  // Rows with large values. The checker's step is relative (h = 1e-6·|x|), right for element-wise
  // functions whose features scale with x, but it is shift-invariant: its curvature near x = 1e5 is
  // the same as near 0, so h = 0.1 there (or 1e-3 near 1000) would mostly measure truncation error.
  // Nor can the step be absolute: x + h is rounded to a multiple of ulp(1e5) = 1.5e-11, so h must
  // stay ≫ 1e-11. Step 1e-9 (h = 1e-4 at 1e5) balances truncation (~1e-9) against that rounding (~1e-7).
  GradCheckOptions opt;
  opt.step = 1e-9;
  auto layer = make_layer<double>("log_softmax", 7);
  const MatD shifted = gradcheck_input(6, 7, 42, -5, 5).array() + 1000.0;  // the standard pattern + 1000
  const auto r1000 = check_layer(*layer, shifted, opt);
  INFO(r1000.format());
  CHECK(r1000.ok());
  CHECK(r1000.max_error() <= 1e-6);
  layer = make_layer<double>("log_softmax", 4);
  MatD x(3, 4);
  x << 1000, 1001, 1002, 1000.5,  //
      -1000, -999, -1001, -1000,  //
      1e5, 1e5 + 1, 1e5 - 0.5, 1e5 + 0.25;
  const auto r = check_layer(*layer, x, opt);
  INFO(r.format());
  CHECK(r.ok());
  CHECK(r.max_error() <= 1e-6);
}

// check_float32_finite cannot pass for log_softmax: its test rows hold both +FLT_MAX and -FLT_MAX,
// and the true output there, -FLT_MAX - FLT_MAX, is not a float32. What must hold instead: outputs
// are finite whenever the true value is representable, the output is -inf only where the true value
// is below -FLT_MAX, and the gradient is always finite.
TEST_CASE("log_softmax: float32 extremes") {
  const float big = std::numeric_limits<float>::max();
  const float xs[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f, 88.8f, -88.8f, 1e19f, -1e19f,
                      1e30f, -1e30f, big / 2, -big / 2};
  const Index n = static_cast<Index>(std::size(xs));
  auto layer = make_layer<float>("log_softmax", n);
  MatF x(2, n);
  for (Index j = 0; j < n; ++j) x(0, j) = xs[j], x(1, j) = xs[n - 1 - j];
  MatF y = layer->forward(x, true);
  MatF dx = layer->backward(MatF::Ones(2, n));
  INFO("y = " << y << "\ndx = " << dx);
  CHECK(y.allFinite());
  CHECK(dx.allFinite());
  CHECK(y.maxCoeff() == 0.0f);
  CHECK(y.minCoeff() == -big);  // -big/2 - big/2, exactly representable

  x(0, 0) = big, x(1, 0) = -big;  // now the rows hold ±FLT_MAX
  y = layer->forward(x, true);
  dx = layer->backward(MatF::Ones(2, n));
  CHECK(dx.allFinite());
  for (Index r = 0; r < 2; ++r)
    for (Index j = 0; j < n; ++j) {
      const double exact = static_cast<double>(x(r, j)) - static_cast<double>(x.row(r).maxCoeff());
      INFO("row " << r << ", x = " << x(r, j) << ", exact " << exact << ", got " << y(r, j));
      CHECK_FALSE(std::isnan(y(r, j)));
      if (std::isfinite(y(r, j))) CHECK(y(r, j) == doctest::Approx(exact).epsilon(1e-6));
      else CHECK((y(r, j) < 0 && exact < -static_cast<double>(big)));  // -inf only where the truth is out of range
    }
  CHECK(y.array().isInf().any());  // the ±FLT_MAX row does reach that limit
}

TEST_CASE("log_softmax: buffers are reused across batches of the same size") {
  auto layer = make_layer<double>("log_softmax", 5);
  const MatD x = gradcheck_input(3, 5, 1);
  const double* y0 = layer->forward(x, true).data();
  const double* dx0 = layer->backward(MatD::Ones(3, 5)).data();
  CHECK(layer->forward(x, true).data() == y0);
  CHECK(layer->backward(MatD::Ones(3, 5)).data() == dx0);
}
