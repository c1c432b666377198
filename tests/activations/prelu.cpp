#include "support/activation_checks.hpp"
#include "support/params.hpp"

#include "core/error.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("prelu: reference values of activations.md §5 (a = 0.25), f'(0) = a, df/da(0) = 0") {
  const double xs[] = {-3, -1, -0.5, 0, 0.5, 1, 3};
  const double da[] = {-3, -1, -0.5, 0, 0, 0, 0};
  for (int i = 0; i < 7; ++i) {
    const auto [y, d] = value_and_derivative("prelu", xs[i]);
    INFO("x = " << xs[i]);
    CHECK(y == (xs[i] > 0 ? xs[i] : 0.25 * xs[i]));
    CHECK(d == (xs[i] > 0 ? 1.0 : 0.25));
    CHECK(param_grad_at("prelu", "weight", xs[i]) == da[i]);
  }
  CHECK(value_and_derivative("prelu", 0.0, {{"init", 0.7}}).second == 0.7);
  CHECK(make_layer<double>("prelu", 3)->kinks() == std::vector<double>{0.0});
}

TEST_CASE("prelu: parameter 'weight', shape {num_parameters}, no weight decay") {
  auto shared = make_layer<double>("prelu", 7);
  auto p = shared->parameters();
  REQUIRE(p.size() == 1);
  CHECK(p[0].name == "weight");
  CHECK(p[0].shape == std::vector<std::int64_t>{1});
  CHECK_FALSE(p[0].weight_decay);
  CHECK((*p[0].value)(0, 0) == 0.25);
  CHECK(is_activation(*shared));

  auto per_column = make_layer<double>("prelu", 7, {{"num_parameters", 7}, {"init", 0.1}});
  p = per_column->parameters();
  REQUIRE(p.size() == 1);
  CHECK(p[0].name == "weight");
  CHECK(p[0].shape == std::vector<std::int64_t>{7});
  CHECK(p[0].value->size() == 7);
  CHECK((p[0].value->array() == 0.1).all());
}

TEST_CASE("prelu: one slope per feature column, including a > 1 and a < 0 (not max(x, a*x))") {
  auto layer = make_layer<double>("prelu", 4, {{"num_parameters", 4}});
  auto p = layer->parameters();
  *p[0].value << 0.25, 1.5, -0.5, 0.0;
  MatD x(2, 4);
  x << -2, -2, -2, -2,  //
      1, -1, 0, 3;
  const MatD y = layer->forward(x, true);
  MatD want(2, 4);
  want << -0.5, -3, 1, 0,  // max(x, 1.5x) would give -2 in column 1
      1, -1.5, 0, 3;
  CHECK(y == want);
  MatD dy(2, 4);
  dy << 1, 2, 3, 4,  //
      5, 6, 7, 8;
  const MatD dx = layer->backward(dy);
  MatD want_dx(2, 4);
  want_dx << 0.25, 3, -1.5, 0,  //
      5, 9, -3.5, 8;              // x = 0 in column 2 takes the slope (-0.5)
  CHECK(dx == want_dx);
  // dL/da_c = sum over the column of dy*x where x <= 0.
  MatD want_da(1, 4);
  want_da << -2, -4 - 6, -6 + 0, -8;
  CHECK(*p[0].grad == want_da);
}

TEST_CASE("prelu: gradient check, shared slope and distinct per-column slopes") {
  gradcheck_activation("prelu");
  gradcheck_activation("prelu", {{"init", 1.5}});
  gradcheck_activation("prelu", {{"init", -0.3}});
  gradcheck_activation("prelu", {{"num_parameters", 7}});

  auto layer = make_layer<double>("prelu", 7, {{"num_parameters", 7}});
  *layer->parameters()[0].value << 0.25, 1.5, -0.5, 0.0, 2.0, -1.0, 0.01;
  const auto r = check_layer(*layer, gradcheck_input(6, 7, 42, -5, 5));
  INFO(r.format());
  CHECK(r.ok());
  CHECK(r.max_error() <= 1e-6);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.entries[1].name == "weight");
  CHECK(r.entries[1].compared == 7);
}

TEST_CASE("prelu: float32 extremes") {
  // One slope per column: every column of the test matrix holds at most one ±FLT_MAX.
  check_float32_finite("prelu", {{"num_parameters", 22}});
  check_float32_finite("prelu", {{"num_parameters", 22}, {"init", -1.0}});

  // One shared slope: dL/da is the sum of every x <= 0, here −2·FLT_MAX − 2e30 − ..., which is not
  // representable in float32. −inf is then the correctly rounded answer (PyTorch gives the same);
  // outputs and input gradients stay finite.
  const float big = std::numeric_limits<float>::max();
  auto layer = make_layer<float>("prelu", 3);
  MatF x(2, 3);
  x << -big, 1.0f, big, 0.0f, -big, -1.0f;
  const MatF y = layer->forward(x, true);
  const MatF dx = layer->backward(MatF::Ones(2, 3));
  CHECK(y.allFinite());
  CHECK(dx.allFinite());
  CHECK((*layer->parameters()[0].grad)(0, 0) == -std::numeric_limits<float>::infinity());
  // Half as far out, the true sum is representable and so is the gradient.
  x << -big / 4, 1.0f, big, 0.0f, -big / 4, -1.0f;
  layer->forward(x, true);
  layer->backward(MatF::Ones(2, 3));
  CHECK(std::isfinite((*layer->parameters()[0].grad)(0, 0)));
}

TEST_CASE("prelu: buffers are reused across batches of the same size") {
  auto layer = make_layer<double>("prelu", 5, {{"num_parameters", 5}});
  const MatD x = gradcheck_input(3, 5, 1);
  const double* y0 = layer->forward(x, true).data();
  const double* dx0 = layer->backward(MatD::Ones(3, 5)).data();
  CHECK(layer->forward(x, true).data() == y0);
  CHECK(layer->backward(MatD::Ones(3, 5)).data() == dx0);
}

TEST_CASE("prelu: config errors") {
  try {
    make_layer<double>("prelu", 7, {{"num_parameters", 3}});
    FAIL("num_parameters = 3 on width 7 must be rejected");
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("num_parameters") != std::string::npos);
    CHECK(msg.find('7') != std::string::npos);
  }
  CHECK_THROWS_AS(make_layer<double>("prelu", 7, {{"num_parameters", 0}}), ConfigError);
  CHECK_THROWS_AS(make_layer<double>("prelu", 7, {{"num_parameters", 1.5}}), ConfigError);
  CHECK_NOTHROW(make_layer<double>("prelu", 7, {{"num_parameters", 7}}));
}
