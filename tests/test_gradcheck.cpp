// The gradient checker itself, and the gradients of the foundation layers and losses.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/gradcheck/gradcheck.hpp"
#include "core/registry.hpp"

using namespace nnlab;

TEST_CASE("gradient checker proves Dense: input, weight and bias") {
  auto layer = make_layer<double>("dense", 5, {{"out_features", 3}}, 7);
  const MatD x = gradcheck_input(4, 5, 1);
  const auto r = check_layer(*layer, x);
  INFO(r.format());
  CHECK(r.ok());
  REQUIRE(r.entries.size() == 3);
  CHECK(r.entries[0].name == "input");
  CHECK(r.entries[1].name == "weight");
  CHECK(r.entries[2].name == "bias");
  for (const auto& e : r.entries) CHECK(e.compared > 0);
}

TEST_CASE("gradient checker catches a wrong backward") {
  // A layer whose backward is off by a factor of 2 must fail the check.
  struct Wrong final : Layer<double> {
    MatD y, dx;
    const MatD* x = nullptr;
    Wrong() { set_shapes(Shape{3}, Shape{3}); }
    std::string type() const override { return "wrong"; }
    const MatD& forward(const MatD& in, bool) override { x = &in; y = in.array().square(); return y; }
    const MatD& backward(const MatD& dy) override { dx = dy.array() * x->array() * 4.0; return dx; }  // should be 2x
  } wrong;
  const auto r = check_layer(wrong, gradcheck_input(2, 3, 3));
  CHECK_FALSE(r.ok());
  CHECK(r.entries[0].max_error > 0.1);
}

TEST_CASE("gradient checker fails when both gradients are zero everywhere or nothing is compared") {
  struct Zero final : Layer<double> {
    MatD y, dx;
    Zero() { set_shapes(Shape{2}, Shape{2}); }
    std::string type() const override { return "zero"; }
    const MatD& forward(const MatD& in, bool) override { y = MatD::Zero(in.rows(), in.cols()); return y; }
    const MatD& backward(const MatD& dy) override { dx = MatD::Zero(dy.rows(), dy.cols()); return dx; }
  } zero;
  auto r = check_layer(zero, gradcheck_input(2, 2, 3));
  CHECK_FALSE(r.ok());
  CHECK(r.entries[0].problem.find("both zero") != std::string::npos);

  struct AllKinks final : Layer<double> {
    MatD y, dx;
    AllKinks() { set_shapes(Shape{2}, Shape{2}); }
    std::string type() const override { return "kinky"; }
    std::vector<double> kinks() const override { return {0.0}; }
    const MatD& forward(const MatD& in, bool) override { y = in; return y; }
    const MatD& backward(const MatD& dy) override { dx = dy; return dx; }
  } kinky;
  r = check_layer(kinky, MatD::Zero(2, 2));
  CHECK_FALSE(r.ok());
  CHECK(r.entries[0].problem == "compared nothing");
}

TEST_CASE("the checker passes correct layers at random and edge points") {
  for (const char* name : {"relu", "sigmoid", "tanh"}) {
    CAPTURE(name);
    auto layer = make_layer<double>(name, 6);
    const auto r = check_layer(*layer, gradcheck_input(5, 6, 11));
    INFO(r.format());
    CHECK(r.ok());
  }
}

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
