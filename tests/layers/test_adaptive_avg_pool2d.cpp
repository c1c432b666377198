// AdaptiveAvgPool2d: PyTorch's windows (floor/ceil bounds, uneven and larger-than-input outputs),
// global average pooling, gradient checks, PyTorch nn.AdaptiveAvgPool2d forward and backward, errors,
// float32 extremes, and a small CNN (batch_norm2d, relu, max_pool2d, flatten, dense) through the
// whole-model gradient check.
//
// Reference data: tests/data/cnn_reference.json (tools/torch_cnn_reference.py, PyTorch 1.13), compared
// as in support/layers_reference.hpp with rtol 1e-10 for float64 and 1e-5 for float32.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "support/layers_reference.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("adaptive_avg_pool2d: global average pooling is the per-channel mean; shapes and defaults") {
  auto l = make_layer<double>("adaptive_avg_pool2d", Shape{3, 5, 4}, json::object());
  CHECK(l->type() == "adaptive_avg_pool2d");
  CHECK(l->output_shape() == Shape{3, 1, 1});
  CHECK(l->parameters().empty());
  CHECK(l->flops() == 60.0);
  const MatD x = random_batch<double>(2, 60, 4);
  const MatD y = l->forward(x, false);
  for (Index n = 0; n < 2; ++n)
    for (Index c = 0; c < 3; ++c) CHECK(y(n, c) == doctest::Approx(x.row(n).segment(c * 20, 20).mean()).epsilon(1e-15));
  const MatD dx = l->backward(MatD::Constant(2, 3, 20.0));
  CHECK((dx.array() == 1.0).all());
  CHECK(make_layer<float>("adaptive_avg_pool2d", Shape{2, 7, 5}, {{"output_size", 3}})->output_shape() == Shape{2, 3, 3});
  CHECK(make_layer<float>("adaptive_avg_pool2d", Shape{2, 3, 3}, {{"output_size", 4}})->output_shape() == Shape{2, 4, 4});
}

TEST_CASE("adaptive_avg_pool2d windows: [floor(i·H/out), ceil((i+1)·H/out)) overlap where out does not divide H") {
  // H = W = 5, out = 3: windows [0, 2), [1, 4), [3, 5) (the middle one has 3 rows).
  auto l = make_layer<double>("adaptive_avg_pool2d", Shape{1, 5, 5}, {{"output_size", 3}});
  MatD x(1, 25);
  for (Index i = 0; i < 25; ++i) x(0, i) = static_cast<double>(i);  // x_hw = 5h + w
  const MatD y = l->forward(x, false);
  const double centre[3] = {0.5, 2.0, 3.5};  // the mean row (and column) index of each window
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(y(0, i * 3 + j) == doctest::Approx(5 * centre[i] + centre[j]).epsilon(1e-15));
  // dx counts the windows holding each element, weighted by 1/|window|: element (1, 1) is in windows
  // (0,0), (0,1), (1,0), (1,1) of sizes 4, 6, 6, 9.
  const MatD dx = l->backward(MatD::Ones(1, 9));
  CHECK(dx(0, 6) == doctest::Approx(1.0 / 4 + 2.0 / 6 + 1.0 / 9).epsilon(1e-15));
  CHECK(dx(0, 0) == doctest::Approx(0.25).epsilon(1e-15));
}

TEST_CASE("adaptive_avg_pool2d gradient check for several output sizes") {
  const Shape in{2, 7, 5};
  const MatD x = gradcheck_input(3, in.numel(), 8);
  for (int out : {1, 2, 3, 5, 8}) {
    CAPTURE(out);
    auto l = make_layer<double>("adaptive_avg_pool2d", in, {{"output_size", out}});
    const auto r = check_layer(*l, x);
    INFO(r.format());
    CHECK(r.ok());
    CHECK(r.entries.at(0).compared == x.size());
  }
}

namespace {

template <typename T>
Deviation adaptive_reference(const json& c, double rtol) {
  const Index N = c.at("N"), C = c.at("C"), H = c.at("H"), W = c.at("W"), o = c.at("output_size");
  auto l = make_layer<T>("adaptive_avg_pool2d", Shape{C, H, W}, {{"output_size", o}});
  REQUIRE(l->output_shape() == Shape{C, o, o});
  const Mat<T> x = input_matrix<T>(c.at("x"), N, C * H * W);
  const Mat<T> dy = input_matrix<T>(c.at("dy"), N, C * o * o);
  Deviation d;
  d.add(compare("y", l->forward(x, true), c.at("y"), c.at("y_scale"), rtol));
  d.add(compare("dx", l->backward(dy), c.at("dx"), c.at("dx_scale"), rtol));
  return d;
}

}  // namespace

TEST_CASE("adaptive_avg_pool2d against PyTorch nn.AdaptiveAvgPool2d") {
  const json& cases = cnn_reference().at("adaptive_avg_pool2d");
  REQUIRE(cases.size() >= 4);
  Deviation d64, d32;
  for (const auto& c : cases) {
    CAPTURE(c.at("name").get<std::string>());
    d64.add(adaptive_reference<double>(c, 1e-10));
    d32.add(adaptive_reference<float>(c, 1e-5));
  }
  MESSAGE("adaptive_avg_pool2d vs PyTorch (" << cases.size() << " cases): float64 worst error/allowance " << d64.ratio
                                             << ", float32 " << d32.ratio << " (" << d32.where << ")");
}

TEST_CASE("adaptive_avg_pool2d errors and float32 extremes") {
  CHECK_THROWS_WITH_AS(make_layer<float>("adaptive_avg_pool2d", Shape{64}, json::object()),
                       doctest::Contains("needs an image input [channels, height, width], got [64]"), ShapeError);
  CHECK_THROWS_AS(make_layer<float>("adaptive_avg_pool2d", Shape{1, 4, 4}, {{"output_size", 0}}), ConfigError);
  // An output that cannot fit is refused before anything is allocated (not std::bad_alloc).
  CHECK_THROWS_WITH_AS(make_layer<float>("adaptive_avg_pool2d", Shape{64, 4, 4}, {{"output_size", 2000000000}}),
                       doctest::Contains("adaptive_avg_pool2d(output_size 2000000000) on [64, 4, 4]"), Error);
  auto l = make_layer<float>("adaptive_avg_pool2d", Shape{2, 4, 4}, {{"output_size", 1}});
  CHECK_THROWS_AS(l->forward(MatF::Ones(2, 31), true), ShapeError);
  MatF x = random_batch<float>(3, 32, 9);
  x.row(0) *= 1e30f;
  x.row(1) *= 1e-38f;
  const MatF y = l->forward(x, true);
  CHECK(y.allFinite());
  CHECK(l->backward(MatF::Constant(3, 2, 1e30f)).allFinite());
  CHECK_THROWS_AS(l->backward(MatF::Ones(2, 2)), ShapeError);
}

TEST_CASE("adaptive_avg_pool2d gives the same result for any thread count, into the same buffers") {
  auto l = make_layer<float>("adaptive_avg_pool2d", Shape{8, 7, 7}, {{"output_size", 3}});
  const MatF x = random_batch<float>(64, 8 * 49, 3);
  const MatF dy = random_batch<float>(64, l->out_features(), 4);
  const MatF y1 = l->forward(x, true);
  const float* yp = l->forward(x, true).data();
  const MatF dx1 = l->backward(dy);
  for (int t : {1, 2, 3}) {
    Threads threads(t);
    CHECK(l->forward(x, true) == y1);
    CHECK(l->forward(x, true).data() == yp);
    CHECK(l->backward(dy) == dx1);
  }
}

TEST_CASE("a small CNN (batch_norm2d, relu, max_pool2d, flatten, dense) passes the whole-model gradient check") {
  for (const char* layers :
       {R"([{"type": "batch_norm2d"}, "relu", {"type": "max_pool2d", "kernel_size": 2}, "flatten",
            {"type": "dense", "out_features": 3}])",
        R"([{"type": "batch_norm2d"}, "tanh", {"type": "avg_pool2d", "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "dropout2d", "p": 0.0}, {"type": "adaptive_avg_pool2d", "output_size": 2}, "flatten",
            {"type": "dense", "out_features": 3}])"}) {
    const std::string spec = layers;
    CAPTURE(spec);
    auto model = build_model<double>(json::parse(layers), Shape{2, 6, 6}, 7);
    CHECK(model.output_shape() == Shape{3});
    const MatD x = random_batch<double>(4, 72, 12);
    SoftmaxCrossEntropy<double> loss;
    Target<double> t;
    const std::vector<std::int32_t> labels = {0, 2, 1, 1};
    t.labels = labels;
    GradCheckOptions opt;
    opt.training = true;
    opt.step = 1e-5;  // a scalar objective: a larger step against cancellation (as test_batchnorm.cpp)
    opt.tolerance = 1e-5;
    const auto r = check_model(model, loss, x, t, opt);
    INFO(r.format());
    MESSAGE(r.format());
    CHECK(r.ok());
  }
}
