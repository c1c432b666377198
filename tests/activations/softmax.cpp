#include "support/activation_checks.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("softmax: max-subtracted, [1000, 1001, 1002] -> [0.0900, 0.2447, 0.6652] (naive: NaN)") {
  auto layer = make_layer<double>("softmax", 3);
  MatD x(2, 3);
  x << 1000, 1001, 1002,  //
      0, 1, 2;
  const MatD y = layer->forward(x, false);
  const double want[] = {0.090030573170380458, 0.24472847105479765, 0.66524095577482189};
  for (Index r = 0; r < 2; ++r)
    for (Index j = 0; j < 3; ++j) CHECK(y(r, j) == doctest::Approx(want[j]).epsilon(1e-14));
  CHECK(is_activation(*layer));
  CHECK(layer->kinks().empty());  // smooth everywhere, unlike ReLU
  CHECK(layer->parameters().empty());
}

TEST_CASE("softmax: row-wise over features (rows are samples), rows sum to 1, shift invariant") {
  auto layer = make_layer<double>("softmax", 5);
  MatD x = gradcheck_input(4, 5, 7, -30, 30);
  x.row(3) << -1e300, 1e300, 0, 5, -5;
  const MatD y = layer->forward(x, false);
  CHECK(y.allFinite());
  for (Index r = 0; r < 4; ++r) CHECK(y.row(r).sum() == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(y(3, 1) == 1.0);
  CHECK(y(3, 0) == 0.0);
  // Columns are not distributions (normalising over the batch would be the classic bug).
  CHECK(std::abs(y.col(0).sum() - 1.0) > 1e-3);
  // Each row on its own: softmax of a 1-row batch equals the same row in a bigger batch.
  MatD one = x.row(1);
  CHECK(layer->forward(one, false).row(0).isApprox(y.row(1), 1e-15));
  // Adding a constant to a row changes nothing.
  MatD shifted = x.topRows(3).array() + 1000.0;
  const MatD ys = make_layer<double>("softmax", 5)->forward(shifted, false);
  CHECK(ys.isApprox(y.topRows(3), 1e-12));
}

TEST_CASE("softmax: backward is y ⊙ (g − <g, y>) per row") {
  auto layer = make_layer<double>("softmax", 3);
  MatD x(1, 3);
  x << 0, 1, 2;
  const MatD y = layer->forward(x, false);
  MatD g(1, 3);
  g << 1, 0, 0;  // dL/dy_0: the Jacobian's first row y_0(δ_0j − y_j)
  const MatD dx = layer->backward(g);
  for (Index j = 0; j < 3; ++j)
    CHECK(dx(0, j) == doctest::Approx(y(0, 0) * ((j == 0 ? 1.0 : 0.0) - y(0, j))).epsilon(1e-14));
  CHECK(std::abs(dx.sum()) < 1e-16);  // rows of the Jacobian sum to 0
}

TEST_CASE("softmax: gradient check, ordinary rows and rows with large values") {
  gradcheck_activation("softmax");
  gradcheck_activation("softmax", {}, -5, 5, 3);
  gradcheck_activation("softmax", {}, -1e4, 1e4);  // rows dominated by one entry

  // Rows with large values. The checker's step is relative (h = 1e-6·|x|), right for element-wise
  // functions whose features scale with x, but it is shift-invariant: its curvature near x = 1e5 is
  // the same as near 0, so h = 0.1 there (or 1e-3 near 1000) would mostly measure truncation error.
  // Nor can the step be absolute: x + h is rounded to a multiple of ulp(1e5) = 1.5e-11, so h must
  // stay ≫ 1e-11. Step 1e-9 (h = 1e-4 at 1e5) balances truncation (~1e-9) against that rounding (~1e-7).
  GradCheckOptions opt;
  opt.step = 1e-9;
  auto layer = make_layer<double>("softmax", 7);
  const MatD shifted = gradcheck_input(6, 7, 42, -5, 5).array() + 1000.0;  // the standard pattern + 1000
  const auto r1000 = check_layer(*layer, shifted, opt);
  INFO(r1000.format());
  CHECK(r1000.ok());
  CHECK(r1000.max_error() <= 1e-6);
  layer = make_layer<double>("softmax", 4);
  MatD x(3, 4);
  x << 1000, 1001, 1002, 1000.5,  //
      -1000, -999, -1001, -1000,  //
      1e5, 1e5 + 1, 1e5 - 0.5, 1e5 + 0.25;
  const auto r = check_layer(*layer, x, opt);
  INFO(r.format());
  CHECK(r.ok());
  CHECK(r.max_error() <= 1e-6);
}

TEST_CASE("softmax: float32 extremes, and an all -inf row is NaN (as in PyTorch)") {
  check_float32_finite("softmax");
  auto layer = make_layer<float>("softmax", 3);
  MatF x(2, 3);
  const float inf = std::numeric_limits<float>::infinity();
  x << -inf, -inf, -inf,  //
      -inf, 0.0f, 1.0f;
  const MatF y = layer->forward(x, false);
  CHECK(y.row(0).array().isNaN().all());
  CHECK(y.row(1).allFinite());  // a -inf entry among finite ones is just probability 0
  CHECK(y(1, 0) == 0.0f);
}

TEST_CASE("softmax: buffers are reused across batches of the same size") {
  auto layer = make_layer<double>("softmax", 5);
  const MatD x = gradcheck_input(3, 5, 1);
  const double* y0 = layer->forward(x, true).data();
  const double* dx0 = layer->backward(MatD::Ones(3, 5)).data();
  CHECK(layer->forward(x, true).data() == y0);
  CHECK(layer->backward(MatD::Ones(3, 5)).data() == dx0);
}

TEST_CASE("softmax: takes no parameters (no dim: rows are always samples)") {
  CHECK_THROWS_AS(make_layer<double>("softmax", 3, {{"dim", 1}}), ConfigError);
}
