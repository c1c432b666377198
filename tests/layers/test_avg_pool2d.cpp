// AvgPool2d: output shapes, PyTorch's divisors (count_include_pad both ways, ceil_mode windows that run
// past the padded input), gradient checks over kernel/stride/padding/ceil_mode/count_include_pad,
// PyTorch nn.AvgPool2d forward and backward, config and shape errors, float32 extremes, buffers reused
// across batches, thread counts.
//
// Reference data: tests/data/cnn_reference.json (tools/torch_cnn_reference.py, PyTorch 1.13), compared
// as in support/layers_reference.hpp with rtol 1e-10 for float64 and 1e-5 for float32.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "support/layers_reference.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("avg_pool2d: output shapes, no parameters, flops") {
  auto l = make_layer<float>("avg_pool2d", Shape{3, 6, 6}, {{"kernel_size", 2}});
  CHECK(l->type() == "avg_pool2d");
  CHECK(l->output_shape() == Shape{3, 3, 3});
  CHECK(l->parameters().empty());
  CHECK(l->buffers().empty());
  CHECK(l->flops() == 27.0 * 4);
  CHECK(make_layer<float>("avg_pool2d", Shape{1, 5, 7}, {{"kernel_size", 2}})->output_shape() == Shape{1, 2, 3});
  CHECK(make_layer<float>("avg_pool2d", Shape{1, 5, 7}, {{"kernel_size", 2}, {"ceil_mode", true}})->output_shape() ==
        Shape{1, 3, 4});
  CHECK(make_layer<float>("avg_pool2d", Shape{2, 7, 7}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}})->output_shape() ==
        Shape{2, 4, 4});
  CHECK(make_layer<float>("avg_pool2d", Shape{1, 6, 7}, {{"kernel_size", 2}, {"stride", 4}, {"padding", 1}, {"ceil_mode", true}})
            ->output_shape() == Shape{1, 2, 2});
}

TEST_CASE("avg_pool2d divisors: padding counts or not, and a ceil_mode window past the padded input is shorter") {
  // One 1x4 row... as a 1-channel 4x4 image of ones, k = 3, s = 2, p = 1, ceil_mode: Ho = Wo = 3.
  // Row windows start at −1, 1, 3: [−1, 2), [1, 4), [3, 5) clipped to the padded input [−1, 5) → lengths
  // 3, 3, 2, inside the input 2, 3, 1.
  const MatD ones = MatD::Ones(1, 16);
  auto incl = make_layer<double>("avg_pool2d", Shape{1, 4, 4},
                                 {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}});
  auto excl = make_layer<double>("avg_pool2d", Shape{1, 4, 4},
                                 {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}, {"count_include_pad", false}});
  REQUIRE(incl->output_shape() == Shape{1, 3, 3});
  const double in_len[3] = {2, 3, 1}, pad_len[3] = {3, 3, 2};
  const MatD yi = incl->forward(ones, false), ye = excl->forward(ones, false);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(yi(0, i * 3 + j) == doctest::Approx(in_len[i] * in_len[j] / (pad_len[i] * pad_len[j])).epsilon(1e-15));
      CHECK(ye(0, i * 3 + j) == 1.0);  // the mean of the elements inside: exactly 1
    }
}

TEST_CASE("avg_pool2d gradient check over kernel, stride, padding, ceil_mode and count_include_pad") {
  const Shape in{2, 7, 8};
  const MatD x = gradcheck_input(3, in.numel(), 21);
  double worst = 0;
  for (const char* p : {R"({"kernel_size": 2})", R"({"kernel_size": 3, "stride": 1})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": false})",
                        R"({"kernel_size": 2, "ceil_mode": true})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true, "count_include_pad": false})",
                        R"({"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": true})",
                        R"({"kernel_size": 7, "stride": 1})"}) {
    CAPTURE(p);
    auto l = make_layer<double>("avg_pool2d", in, json::parse(p));
    const auto r = check_layer(*l, x);
    INFO(r.format());
    CHECK(r.ok());
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].compared == x.size());
    worst = std::max(worst, r.max_error());
  }
  MESSAGE("avg_pool2d gradcheck worst relative error " << worst);
}

namespace {

template <typename T>
Deviation avg_pool_reference(const json& c, double rtol) {
  const Index N = c.at("N"), C = c.at("C"), H = c.at("H"), W = c.at("W"), Ho = c.at("Ho"), Wo = c.at("Wo");
  auto l = make_layer<T>("avg_pool2d", Shape{C, H, W},
                         {{"kernel_size", c.at("kernel_size")}, {"stride", c.at("stride")}, {"padding", c.at("padding")},
                          {"ceil_mode", c.at("ceil_mode")}, {"count_include_pad", c.at("count_include_pad")}});
  REQUIRE(l->output_shape() == Shape{C, Ho, Wo});
  const Mat<T> x = input_matrix<T>(c.at("x"), N, C * H * W);
  const Mat<T> dy = input_matrix<T>(c.at("dy"), N, C * Ho * Wo);
  Deviation d;
  d.add(compare("y", l->forward(x, true), c.at("y"), c.at("y_scale"), rtol));
  d.add(compare("dx", l->backward(dy), c.at("dx"), c.at("dx_scale"), rtol));
  return d;
}

}  // namespace

TEST_CASE("avg_pool2d against PyTorch nn.AvgPool2d: forward and backward, divisors with padding and ceil_mode") {
  const json& cases = cnn_reference().at("avg_pool2d");
  REQUIRE(cases.size() >= 10);
  Deviation d64, d32;
  for (const auto& c : cases) {
    CAPTURE(c.at("name").get<std::string>());
    d64.add(avg_pool_reference<double>(c, 1e-10));
    d32.add(avg_pool_reference<float>(c, 1e-5));
  }
  MESSAGE("avg_pool2d vs PyTorch (" << cases.size() << " cases): float64 worst error/allowance " << d64.ratio << " ("
                                    << d64.where << "), float32 " << d32.ratio << " (" << d32.where << ")");
}

TEST_CASE("avg_pool2d config and shape errors") {
  CHECK(error_of([] { make_layer<float>("avg_pool2d", Shape{8, 3, 3}, {{"kernel_size", 5}}); }) ==
        "avg_pool2d: kernel 5 does not fit the padded input 3x3 (input [8, 3, 3], padding 0)");
  CHECK_THROWS_AS(make_layer<float>("avg_pool2d", Shape{8, 3, 3}, {{"kernel_size", 5}}), ShapeError);
  CHECK_NOTHROW(make_layer<float>("avg_pool2d", Shape{8, 3, 3}, {{"kernel_size", 5}, {"padding", 1}}));
  const std::string pad = error_of([] { make_layer<float>("avg_pool2d", Shape{1, 8, 8}, {{"kernel_size", 2}, {"padding", 2}}); });
  CHECK(pad.find("padding 2 must be at most half of kernel_size 2") != std::string::npos);
  CHECK(pad.find("nearest valid: 1") != std::string::npos);
  CHECK_THROWS_AS(make_layer<float>("avg_pool2d", Shape{1, 8, 8}, {{"kernel_size", 2}, {"padding", 2}}), ConfigError);
  CHECK(error_of([] { make_layer<float>("avg_pool2d", Shape{10}, {{"kernel_size", 2}}); })
            .find("needs an image input [channels, height, width], got [10]") != std::string::npos);
  CHECK_THROWS_AS(make_layer<float>("avg_pool2d", Shape{1, 4, 4}, json::object()), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("avg_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}, {"dilation", 2}}), ConfigError);
  CHECK(error_of([] {
          build_model<float>(json::parse(R"([{"type": "avg_pool2d", "kernel_size": 2, "count_include_pads": true}])"),
                             Shape{1, 8, 8}, 1);
        }).find("count_include_pad") != std::string::npos);
  auto l = make_layer<float>("avg_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}});
  CHECK_THROWS_AS(l->forward(MatF::Ones(2, 17), true), ShapeError);
  l->forward(MatF::Ones(2, 16), true);
  CHECK_THROWS_AS(l->backward(MatF::Ones(3, 4)), ShapeError);
}

TEST_CASE("avg_pool2d float32: extreme finite and tiny inputs stay finite") {
  auto l = make_layer<float>("avg_pool2d", Shape{2, 4, 4}, {{"kernel_size", 3}, {"stride", 1}, {"padding", 1}});
  MatF x = random_batch<float>(3, 32, 9);
  x.row(0) *= 1e30f;
  x.row(1) *= 1e-38f;
  x.row(2).setConstant(3e37f);  // 9 of these sum to 2.7e38 < FLT_MAX
  const MatF y = l->forward(x, true);
  CHECK(y.allFinite());
  CHECK(y.row(2).maxCoeff() == doctest::Approx(3e37).epsilon(1e-6));
  CHECK(l->backward(MatF::Constant(3, l->out_features(), 1e30f)).allFinite());
}

TEST_CASE("avg_pool2d reuses its buffers across batches and gives the same result for any thread count") {
  auto l = make_layer<float>("avg_pool2d", Shape{4, 16, 16}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}});
  const MatF x = random_batch<float>(64, 4 * 16 * 16, 3);
  const MatF dy = random_batch<float>(64, l->out_features(), 4);
  const MatF y1 = l->forward(x, true);
  const float* yp = l->forward(x, true).data();
  const MatF dx1 = l->backward(dy);
  const float* dxp = l->backward(dy).data();
  for (int t : {1, 2, 3}) {
    Threads threads(t);
    CHECK(l->forward(x, true) == y1);
    CHECK(l->forward(x, true).data() == yp);
    CHECK(l->backward(dy) == dx1);
    CHECK(l->backward(dy).data() == dxp);
  }
}
