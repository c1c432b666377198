// The losses (core/loss.hpp): their gradients against finite differences, and cross-entropy's
// stability for huge logits against the closed form.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"

using namespace nnlab;

TEST_CASE("losses pass the gradient check") {
  const MatD z = gradcheck_input(6, 5, 2, -3, 3).bottomRows(3);  // random logits (edge points are in rows 0-1)
  std::vector<std::int32_t> labels = {0, 4, 2};
  // A scalar objective cannot be differenced per output, so use a larger step against cancellation.
  GradCheckOptions opt;
  opt.step = 1e-4;
  SoftmaxCrossEntropy<double> ce;
  auto r = check_loss(ce, z, {labels, nullptr}, opt);
  INFO(r.format());
  CHECK(r.ok());
  MeanSquaredError<double> mse;
  MatD t = MatD::Constant(3, 5, 0.25);
  r = check_loss(mse, z, {{}, &t}, opt);
  INFO(r.format());
  CHECK(r.ok());
}

TEST_CASE("cross-entropy is stable for huge logits and matches the closed form") {
  SoftmaxCrossEntropy<float> ce;
  MatF z(2, 3);
  z << 1000, 1001, 1002, -1e30f, 0, 1e30f;
  std::vector<std::int32_t> labels = {2, 0};
  const float loss = ce.forward(z, {labels, nullptr});
  CHECK(std::isfinite(loss));
  CHECK(ce.backward().allFinite());
  // Row 0: log(e^-2 + e^-1 + 1) = 0.40760596; row 1: label logit is 2e30 below the max.
  SoftmaxCrossEntropy<double> ced;
  MatD zd(1, 3);
  zd << 1000, 1001, 1002;
  std::vector<std::int32_t> l0 = {2};
  CHECK(ced.forward(zd, {l0, nullptr}) == doctest::Approx(0.4076059644443803).epsilon(1e-12));
}
