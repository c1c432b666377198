// MaxPool2d: output shapes (PyTorch's formula, ceil_mode and its last-window rule), gradient checks
// over kernel/stride/padding/dilation/ceil_mode including overlapping windows, PyTorch nn.MaxPool2d
// forward and backward (also with ties: the first maximum in scan order takes the gradient), NaN and
// −∞, config and shape errors, float32 extremes, buffers reused across batches, thread counts.
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
#include "core/rng.hpp"
#include "support/layers_reference.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// A batch whose values are all distinct and at least 0.01 apart (a shuffled grid): no window holds two
// maxima within the finite-difference step, so max pooling is differentiable at every point.
MatD distinct_batch(Index rows, Index cols, std::uint64_t seed) {
  Rng rng(seed, Rng::stream_id("test-pool"));
  std::vector<double> v(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (static_cast<double>(i) - static_cast<double>(v.size()) / 2) * 0.01;
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(rng.uniform() * static_cast<double>(i))]);
  MatD m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = v[static_cast<std::size_t>(i)];
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("max_pool2d: output shapes follow PyTorch's formula, ceil_mode and its last-window rule") {
  struct Case {
    json params;
    Shape in, out;
  };
  const std::vector<Case> cases = {
      {{{"kernel_size", 2}}, Shape{3, 6, 6}, Shape{3, 3, 3}},
      {{{"kernel_size", 2}}, Shape{1, 5, 7}, Shape{1, 2, 3}},                      // floor drops the last row/column
      {{{"kernel_size", 2}, {"ceil_mode", true}}, Shape{1, 5, 7}, Shape{1, 3, 4}},  // ceil keeps a partial window
      {{{"kernel_size", 3}, {"stride", 1}}, Shape{2, 5, 6}, Shape{2, 3, 4}},
      {{{"kernel_size", 3}, {"stride", 2}, {"padding", 1}}, Shape{2, 7, 7}, Shape{2, 4, 4}},
      {{{"kernel_size", 3}, {"dilation", 2}, {"padding", 1}, {"stride", 1}}, Shape{2, 7, 8}, Shape{2, 5, 6}},
      // (H + 2p − k + s − 1)/s + 1 = 3 windows, but the third would start at 8 − 1 = 7 ≥ H + p = 7: dropped
      {{{"kernel_size", 2}, {"stride", 4}, {"padding", 1}, {"ceil_mode", true}}, Shape{1, 6, 7}, Shape{1, 2, 2}},
      {{{"kernel_size", 3}}, Shape{4, 3, 3}, Shape{4, 1, 1}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.params.dump());
    auto l = make_layer<float>("max_pool2d", c.in, c.params);
    CHECK(l->type() == "max_pool2d");
    CHECK(l->input_shape() == c.in);
    CHECK(l->output_shape() == c.out);
    CHECK(l->parameters().empty());
    CHECK(l->buffers().empty());
    const Index k = c.params.at("kernel_size").get<Index>();
    CHECK(l->flops() == static_cast<double>(c.out.numel() * k * k));
  }
}

TEST_CASE("max_pool2d gradient check over kernel, stride, padding, dilation and ceil_mode") {
  const Shape in{2, 7, 8};
  const MatD x = distinct_batch(3, in.numel(), 5);
  double worst = 0;
  for (const char* p : {R"({"kernel_size": 2})", R"({"kernel_size": 3, "stride": 1})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1})", R"({"kernel_size": 2, "ceil_mode": true})",
                        R"({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": true})",
                        R"({"kernel_size": 3, "stride": 1, "padding": 1, "dilation": 2})",
                        R"({"kernel_size": 2, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": true})",
                        R"({"kernel_size": 4, "stride": 3, "padding": 2})", R"({"kernel_size": 7, "stride": 1})"}) {
    CAPTURE(p);
    auto l = make_layer<double>("max_pool2d", in, json::parse(p));
    const auto r = check_layer(*l, x);
    INFO(r.format());
    CHECK(r.ok());
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].compared == x.size());
    worst = std::max(worst, r.max_error());
  }
  MESSAGE("max_pool2d gradcheck worst relative error " << worst);
}

TEST_CASE("max_pool2d overlapping windows: an input that is the maximum of several windows gets their summed gradient") {
  // One 3x3 channel, k = 2, s = 1: the centre 9 is the maximum of all four windows.
  auto l = make_layer<double>("max_pool2d", Shape{1, 3, 3}, {{"kernel_size", 2}, {"stride", 1}});
  MatD x(1, 9);
  x << 1, 2, 3, 4, 9, 5, 6, 7, 8;
  CHECK(l->forward(x, true) == (MatD(1, 4) << 9, 9, 9, 9).finished());
  MatD dy(1, 4);
  dy << 1, 10, 100, 1000;
  CHECK(l->backward(dy) == (MatD(1, 9) << 0, 0, 0, 0, 1111, 0, 0, 0, 0).finished());
}

TEST_CASE("max_pool2d ties: the first maximum in row-major window order takes the whole gradient") {
  // PyTorch 1.13 on this input (k = 2, s = 1) returns indices [[1, 1], [3, 7]] and
  // dx = [[0, 2, 0], [1, 0, 0], [0, 1, 0]] for dy = 1 (tools/torch_cnn_reference.py's ties cases
  // check the same against stored data).
  auto l = make_layer<double>("max_pool2d", Shape{1, 3, 3}, {{"kernel_size", 2}, {"stride", 1}});
  MatD x(1, 9);
  x << 1, 3, 3, 3, 2, 1, 0, 3, 1;
  CHECK(l->forward(x, true) == MatD::Constant(1, 4, 3.0));
  CHECK(l->backward(MatD::Ones(1, 4)) == (MatD(1, 9) << 0, 2, 0, 1, 0, 0, 0, 1, 0).finished());
  // All equal: every window's gradient goes to its top-left element.
  auto l2 = make_layer<double>("max_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}});
  l2->forward(MatD::Constant(1, 16, 0.5), true);
  MatD expect = MatD::Zero(1, 16);
  for (Index i : {0, 2, 8, 10}) expect(0, i) = 1;
  CHECK(l2->backward(MatD::Ones(1, 4)) == expect);
}

TEST_CASE("max_pool2d NaN wins (the last NaN of a window takes the gradient) and -inf windows pick their first element") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // PyTorch 1.13: values [[1, nan, 3], [nan, 2, 1], [0, 3, 1]], k = 2, s = 1 -> y = [[nan, nan], [nan, 3]],
  // indices [[3, 1], [3, 7]].
  auto l = make_layer<double>("max_pool2d", Shape{1, 3, 3}, {{"kernel_size", 2}, {"stride", 1}});
  MatD x(1, 9);
  x << 1, nan, 3, nan, 2, 1, 0, 3, 1;
  const MatD y = l->forward(x, true);
  CHECK(std::isnan(y(0, 0)));
  CHECK(std::isnan(y(0, 1)));
  CHECK(std::isnan(y(0, 2)));
  CHECK(y(0, 3) == 3.0);
  MatD dy(1, 4);
  dy << 1, 10, 100, 1000;
  CHECK(l->backward(dy) == (MatD(1, 9) << 0, 10, 0, 101, 0, 0, 0, 1000, 0).finished());
  // A window of −∞ only, with padding: PyTorch returns −∞ and indices [[0, 0, 1, 2], ...] (the first
  // input element of each window).
  auto p = make_layer<double>("max_pool2d", Shape{1, 3, 3}, {{"kernel_size", 2}, {"stride", 1}, {"padding", 1}});
  const MatD yi = p->forward(MatD::Constant(1, 9, -inf), true);
  CHECK((yi.array() == -inf).all());
  const MatD dxi = p->backward(MatD::Ones(1, 16));
  CHECK((dxi.array() == (Eigen::Array<double, 1, 9>() << 4, 2, 2, 2, 1, 1, 2, 1, 1).finished()).all());
}

TEST_CASE_TEMPLATE("max_pool2d 2x2 stride 2 (the unrolled path) follows the scan rules: ties, NaN, -inf, odd sizes", T, float, double) {
  // Values from a small set so that ties are everywhere, with NaNs and -inf sprinkled in; each output
  // is compared with a brute-force scan (first maximum in row-major order, a NaN replaces anything).
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  // Widths up to 64: output rows longer than a 16-lane vector, with and without a partial last group.
  for (auto [H, W] : {std::pair<Index, Index>{4, 6}, {5, 7}, {2, 2}, {9, 4}, {4, 40}, {6, 64}, {3, 35}, {2, 28}, {4, 33}}) {
    const Index C = 3, N = 4, Ho = H / 2, Wo = W / 2;
    auto l = make_layer<T>("max_pool2d", Shape{C, H, W}, {{"kernel_size", 2}});
    REQUIRE(l->output_shape() == Shape{C, Ho, Wo});
    Rng rng(5, Rng::stream_id("ties"));
    Mat<T> x(N, C * H * W);
    for (Index i = 0; i < x.size(); ++i) {
      const double u = rng.uniform();
      x.data()[i] = u < 0.05 ? nan : u < 0.1 ? -inf : static_cast<T>(std::floor(u * 4));
    }
    const Mat<T> y = l->forward(x, true);
    Mat<T> dy(N, l->out_features());
    for (Index i = 0; i < dy.size(); ++i) dy.data()[i] = static_cast<T>(i + 1);  // distinct: shows where each went
    const Mat<T> dx = l->backward(dy);
    Mat<T> expect_dx = Mat<T>::Zero(N, x.cols());
    for (Index n = 0; n < N; ++n)
      for (Index c = 0; c < C; ++c)
        for (Index i = 0; i < Ho; ++i)
          for (Index j = 0; j < Wo; ++j) {
            Index best = (c * H + 2 * i) * W + 2 * j;
            T m = x(n, best);
            for (Index a = 0; a < 2; ++a)
              for (Index b = 0; b < 2; ++b) {
                const Index at = (c * H + 2 * i + a) * W + 2 * j + b;
                if (x(n, at) > m || std::isnan(x(n, at))) m = x(n, at), best = at;
              }
            const Index o = (c * Ho + i) * Wo + j;
            if (std::isnan(m)) CHECK(std::isnan(y(n, o)));
            else CHECK(y(n, o) == m);
            expect_dx(n, best) += dy(n, o);
          }
    CHECK(dx == expect_dx);
  }
}

namespace {

template <typename T>
Deviation max_pool_reference(const json& c, double rtol) {
  const Index N = c.at("N"), C = c.at("C"), H = c.at("H"), W = c.at("W"), Ho = c.at("Ho"), Wo = c.at("Wo");
  auto l = make_layer<T>("max_pool2d", Shape{C, H, W},
                         {{"kernel_size", c.at("kernel_size")}, {"stride", c.at("stride")}, {"padding", c.at("padding")},
                          {"dilation", c.at("dilation")}, {"ceil_mode", c.at("ceil_mode")}});
  REQUIRE(l->output_shape() == Shape{C, Ho, Wo});
  const Mat<T> x = input_matrix<T>(c.at("x"), N, C * H * W);
  const Mat<T> dy = input_matrix<T>(c.at("dy"), N, C * Ho * Wo);
  Deviation d;
  d.add(compare("y", l->forward(x, true), c.at("y"), c.at("y_scale"), rtol));
  d.add(compare("dx", l->backward(dy), c.at("dx"), c.at("dx_scale"), rtol));
  return d;
}

}  // namespace

TEST_CASE("max_pool2d against PyTorch nn.MaxPool2d: forward and backward, with and without ties") {
  const json& cases = cnn_reference().at("max_pool2d");
  REQUIRE(cases.size() >= 10);
  Deviation d64, d32;
  int ties = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    CAPTURE(name);
    ties += name.rfind("ties", 0) == 0;
    d64.add(max_pool_reference<double>(c, 1e-10));
    d32.add(max_pool_reference<float>(c, 1e-5));
  }
  CHECK(ties >= 3);
  MESSAGE("max_pool2d vs PyTorch (" << cases.size() << " cases): float64 worst error/allowance " << d64.ratio << " ("
                                    << d64.where << "), float32 " << d32.ratio << " (" << d32.where << ")");
}

TEST_CASE("max_pool2d config and shape errors name the key, the value and what would fit") {
  const std::string fit = error_of([] { make_layer<float>("max_pool2d", Shape{8, 3, 3}, {{"kernel_size", 5}}); });
  CHECK(fit == "max_pool2d: kernel 5 (dilation 1) does not fit the padded input 3x3 (input [8, 3, 3], padding 0)");
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{8, 3, 3}, {{"kernel_size", 5}}), ShapeError);
  CHECK(error_of([] { make_layer<float>("max_pool2d", Shape{1, 5, 5}, {{"kernel_size", 3}, {"dilation", 3}}); }) ==
        "max_pool2d: kernel 3 (dilation 3) does not fit the padded input 5x5 (input [1, 5, 5], padding 0)");
  const std::string pad = error_of([] { make_layer<float>("max_pool2d", Shape{1, 8, 8}, {{"kernel_size", 3}, {"padding", 2}}); });
  CHECK(pad.find("padding 2 must be at most half of kernel_size 3") != std::string::npos);
  CHECK(pad.find("nearest valid: 1") != std::string::npos);
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{1, 8, 8}, {{"kernel_size", 3}, {"padding", 2}}), ConfigError);
  const std::string flat_in = error_of([] { make_layer<float>("max_pool2d", Shape{784}, {{"kernel_size", 2}}); });
  CHECK(flat_in.find("needs an image input [channels, height, width], got [784]") != std::string::npos);
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{784}, {{"kernel_size", 2}}), ShapeError);
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{1, 4, 4}, json::object()), ConfigError);  // kernel_size required
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{1, 4, 4}, {{"kernel_size", 0}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}, {"stride", -1}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("max_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}, {"dilation", 0}}), ConfigError);
  // In a model the path is named.
  const std::string in_model = error_of([] {
    build_model<float>(json::parse(R"([{"type": "max_pool2d", "kernel_size": 3, "padding": 2}])"), Shape{1, 8, 8}, 1);
  });
  CHECK(in_model.find("model.layers[0]") != std::string::npos);
  const std::string typo = error_of([] {
    build_model<float>(json::parse(R"([{"type": "max_pool2d", "kernel": 3}])"), Shape{1, 8, 8}, 1);
  });
  CHECK(typo.find("kernel_size") != std::string::npos);
  auto l = make_layer<float>("max_pool2d", Shape{1, 4, 4}, {{"kernel_size", 2}});
  CHECK_THROWS_AS(l->forward(MatF::Ones(2, 15), true), ShapeError);
  l->forward(MatF::Ones(2, 16), true);
  CHECK_THROWS_AS(l->backward(MatF::Ones(3, 4)), ShapeError);
  CHECK_THROWS_AS(l->backward(MatF::Ones(2, 5)), ShapeError);
}

TEST_CASE("max_pool2d float32: extreme finite and tiny inputs pass through exactly") {
  auto l = make_layer<float>("max_pool2d", Shape{2, 4, 4}, {{"kernel_size", 3}, {"stride", 1}, {"padding", 1}});
  MatF x = random_batch<float>(3, 32, 9);
  x.row(0) *= 1e30f;
  x.row(1) *= 1e-38f;
  x(2, 5) = -std::numeric_limits<float>::max();
  x(2, 6) = std::numeric_limits<float>::max();
  const MatF y = l->forward(x, true);
  CHECK(y.allFinite());
  CHECK(y.row(0).cwiseAbs().maxCoeff() > 1e29f);
  const MatF dx = l->backward(MatF::Constant(3, l->out_features(), 1e30f));
  CHECK(dx.allFinite());
  // every output value is one of its row's inputs
  for (Index n = 0; n < 3; ++n)
    for (Index o = 0; o < y.cols(); ++o) CHECK((x.row(n).array() == y(n, o)).any());
}

TEST_CASE("max_pool2d reuses its buffers across batches and gives the same result for any thread count") {
  auto l = make_layer<float>("max_pool2d", Shape{4, 16, 16}, {{"kernel_size", 3}, {"stride", 2}, {"padding", 1}});
  const MatF x = random_batch<float>(64, 4 * 16 * 16, 3);
  const MatF dy = random_batch<float>(64, l->out_features(), 4);
  const MatF& y0 = l->forward(x, true);
  const float* yp = y0.data();
  const MatF y1 = y0;
  const MatF dx1 = l->backward(dy);
  const float* dxp = l->backward(dy).data();
  for (int t : {1, 2, 3}) {
    Threads threads(t);
    CHECK(l->forward(x, true) == y1);
    CHECK(l->forward(x, true).data() == yp);  // no reallocation for a batch of the same size
    CHECK(l->backward(dy) == dx1);
    CHECK(l->backward(dy).data() == dxp);
  }
}
