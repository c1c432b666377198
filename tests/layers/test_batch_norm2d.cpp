// BatchNorm2d: parameters and buffers (PyTorch's names and shapes), per-channel statistics over N·H·W,
// running statistics with the unbiased M/(M − 1) factor, gradient checks in training and eval mode,
// PyTorch nn.BatchNorm2d (train forward/backward, running stats, eval), config and shape errors,
// float32 extremes, thread counts and buffer reuse.
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
#include "core/model.hpp"
#include "core/registry.hpp"
#include "support/layers_reference.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// The M = N·H·W values of channel c of a batch, as one vector.
Eigen::ArrayXd channel(const MatD& x, Index c, Index hw) {
  Eigen::ArrayXd v(x.rows() * hw);
  for (Index n = 0; n < x.rows(); ++n) v.segment(n * hw, hw) = x.row(n).segment(c * hw, hw).transpose().array();
  return v;
}

}  // namespace

TEST_CASE("batch_norm2d: parameters, buffers, names, shapes and initial values") {
  auto bn = make_layer<float>("batch_norm2d", Shape{5, 3, 4}, json::object());
  CHECK(bn->type() == "batch_norm2d");
  CHECK(bn->input_shape() == Shape{5, 3, 4});
  CHECK(bn->output_shape() == Shape{5, 3, 4});
  CHECK(bn->flops() == 4.0 * 60);
  auto ps = bn->parameters();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].name == "weight");
  CHECK(ps[0].shape == std::vector<std::int64_t>{5});
  CHECK((ps[0].value->array() == 1.0f).all());
  CHECK(ps[0].value->size() == 5);
  CHECK(ps[1].name == "bias");
  CHECK(ps[1].shape == std::vector<std::int64_t>{5});
  CHECK((ps[1].value->array() == 0.0f).all());
  auto bs = bn->buffers();
  REQUIRE(bs.size() == 3);
  CHECK(bs[0].name == "running_mean");
  CHECK(bs[0].shape == std::vector<std::int64_t>{5});
  CHECK((bs[0].value->array() == 0.0f).all());
  CHECK(bs[1].name == "running_var");
  CHECK(bs[1].shape == std::vector<std::int64_t>{5});
  CHECK((bs[1].value->array() == 1.0f).all());
  CHECK(bs[1].min == 0.0);
  CHECK(bs[2].name == "num_batches_tracked");
  CHECK(bs[2].shape.empty());
  CHECK(bs[2].integral);
  CHECK(bs[2].value->size() == 1);
  CHECK(make_layer<float>("batch_norm2d", Shape{5, 3, 4}, {{"affine", false}})->parameters().empty());
  CHECK_NOTHROW(make_layer<float>("batch_norm2d", Shape{5, 3, 4}, {{"num_features", 5}}));
}

TEST_CASE("batch_norm2d training: each channel has mean 0 and variance v/(v + eps) over N·H·W; running stats unbiased") {
  const Index C = 3, hw = 6;
  auto bn = make_layer<double>("batch_norm2d", Shape{C, 2, 3}, {{"momentum", 0.25}});
  MatD x = random_batch<double>(5, C * hw, 3, -1, 3);
  for (Index n = 0; n < 5; ++n) x.row(n).segment(hw, hw).array() = x.row(n).segment(hw, hw).array() * 1000 + 1e4;
  const MatD y = bn->forward(x, true);
  const auto bs = bn->buffers();
  for (Index c = 0; c < C; ++c) {
    CAPTURE(c);
    const Eigen::ArrayXd xc = channel(x, c, hw), yc = channel(y, c, hw);
    const double M = static_cast<double>(xc.size()), m = xc.mean(), v = (xc - m).square().mean();
    CHECK(std::abs(yc.mean()) < 1e-13);
    CHECK((yc - yc.mean()).square().mean() == doctest::Approx(v / (v + 1e-5)).epsilon(1e-12));
    CHECK((*bs[0].value)(0, c) == doctest::Approx(0.25 * m).epsilon(1e-14));
    CHECK((*bs[1].value)(0, c) == doctest::Approx(0.75 + 0.25 * v * M / (M - 1)).epsilon(1e-14));
  }
  CHECK((*bs[2].value)(0, 0) == 1.0);
  // γ and β act per channel, the same at every position.
  auto ps = bn->parameters();
  set_values(*ps[0].value, {2.0, -1.0, 0.5});
  set_values(*ps[1].value, {1.0, 0.0, -2.0});
  const MatD y2 = bn->forward(x, true);
  for (Index c = 0; c < C; ++c)
    CHECK((channel(y2, c, hw) - ((*ps[0].value)(0, c) * channel(y, c, hw) + (*ps[1].value)(0, c))).abs().maxCoeff() < 1e-12);
  // Eval uses the running statistics and leaves them alone.
  const MatD rm = *bs[0].value, rv = *bs[1].value;
  const MatD ye = bn->forward(x, false);
  for (Index c = 0; c < C; ++c) {
    const Eigen::ArrayXd expect = (channel(x, c, hw) - rm(0, c)) / std::sqrt(rv(0, c) + 1e-5) * (*ps[0].value)(0, c) +
                                  (*ps[1].value)(0, c);
    CHECK((channel(ye, c, hw) - expect).abs().maxCoeff() < 1e-10);
  }
  CHECK(*bs[0].value == rm);
  CHECK((*bs[2].value)(0, 0) == 2.0);
  // One sample is enough for training when H·W > 1 (M = H·W values per channel); a 1x1 map is not.
  CHECK_NOTHROW(bn->forward(x.topRows(1), true));
  auto one = make_layer<double>("batch_norm2d", Shape{4, 1, 1}, json::object());
  CHECK_THROWS_WITH_AS(one->forward(MatD::Ones(1, 4), true), doctest::Contains("more than 1 value per channel"), ShapeError);
  CHECK_NOTHROW(one->forward(MatD::Ones(1, 4), false));
  CHECK_NOTHROW(one->forward(random_batch<double>(2, 4, 1), true));
}

TEST_CASE("batch_norm2d gradient check: training (input, weight, bias) and eval, with and without affine") {
  const Shape in{3, 3, 4};
  const MatD x = gradcheck_input(4, in.numel(), 41);
  double worst_train = 0, worst_eval = 0;
  for (const json& params : {json::object(), json{{"affine", false}}}) {
    CAPTURE(params.dump());
    auto bn = make_layer<double>("batch_norm2d", in, params);
    auto ps = bn->parameters();
    if (!ps.empty()) set_values(*ps[0].value, {1.5, -0.7, 0.3}), set_values(*ps[1].value, {0.2, -0.1, 1.0});
    GradCheckOptions train;
    train.training = true;
    // Every input of a channel reaches all M = 48 outputs of it, so the finite difference of the
    // weighted outputs carries ~M·ulp/2h ≈ 1e-9 of round-off at the default step, while the input
    // gradients of the ±100 edge points are ~1e-3 (x̂ saturates there): a 10x larger step.
    train.step = 1e-5;
    // Training-mode output depends on the batch statistics only (the running statistics change on
    // every forward but are not used), so the checker's repeated forwards see one fixed function.
    const auto r = check_layer(*bn, x, train);
    INFO(r.format());
    MESSAGE(r.format());
    CHECK(r.ok());
    CHECK(r.entries.size() == (params.empty() ? 3u : 1u));
    for (const auto& e : r.entries) CHECK(e.compared == (e.name == "input" ? x.size() : 3));
    worst_train = std::max(worst_train, r.max_error());
    // eval, after a few training batches so the running statistics are not the 0/1 start
    for (std::uint64_t s = 0; s < 3; ++s) bn->forward(random_batch<double>(5, in.numel(), 100 + s, -2, 5), true);
    const auto re = check_layer(*bn, x);
    INFO(re.format());
    CHECK(re.ok());
    worst_eval = std::max(worst_eval, re.max_error());
  }
  // A constant (dead) channel: variance 0, σ = √eps.
  {
    MatD xc = random_batch<double>(3, in.numel(), 6);
    for (Index n = 0; n < 3; ++n) xc.row(n).segment(12, 12).setZero();
    auto bn = make_layer<double>("batch_norm2d", in, json::object());
    GradCheckOptions train;
    train.training = true;
    const auto r = check_layer(*bn, xc, train);
    INFO(r.format());
    CHECK(r.ok());
  }
  MESSAGE("batch_norm2d gradcheck worst relative error: training " << worst_train << ", eval " << worst_eval);
}

namespace {

template <typename T>
Deviation batch_norm2d_reference(const json& ref, double rtol) {
  const Index N = ref.at("N"), C = ref.at("C"), H = ref.at("H"), W = ref.at("W"), F = C * H * W;
  auto bn = make_layer<T>("batch_norm2d", Shape{C, H, W}, {{"eps", ref.at("eps")}, {"momentum", ref.at("momentum")}});
  auto ps = bn->parameters();
  REQUIRE(ps.size() == 2);
  *ps[0].value = input_matrix<T>(ref.at("weight"), 1, C);
  *ps[1].value = input_matrix<T>(ref.at("bias"), 1, C);
  std::vector<Mat<T>> xs;
  for (const auto& b : ref.at("x")) xs.push_back(input_matrix<T>(b, N, F));
  const Mat<T> dy = input_matrix<T>(ref.at("dy"), N, F);
  Deviation d;
  auto step = [&](const std::string& mode, bool training) {
    const json& r = ref.at(mode);
    const json& sc = ref.at(mode + "_scale");
    d.add(compare(mode + ".y", bn->forward(xs[0], training), r.at("y"), sc.at("y"), rtol));
    d.add(compare(mode + ".dx", bn->backward(dy), r.at("dx"), sc.at("dx"), rtol));
    d.add(compare(mode + ".dweight", *ps[0].grad, r.at("dweight"), sc.at("dweight"), rtol));
    d.add(compare(mode + ".dbias", *ps[1].grad, r.at("dbias"), sc.at("dbias"), rtol));
  };
  step("train", true);
  bn->forward(xs[1], true);
  bn->forward(xs[2], true);
  auto bs = bn->buffers();
  d.add(compare("running_mean", *bs[0].value, ref.at("running_mean"), ref.at("running_mean_scale"), rtol));
  d.add(compare("running_var", *bs[1].value, ref.at("running_var"), ref.at("running_var_scale"), rtol));
  CHECK((*bs[2].value)(0, 0) == static_cast<T>(ref.at("num_batches_tracked").get<int>()));
  step("eval", false);
  return d;
}

}  // namespace

TEST_CASE("batch_norm2d against PyTorch nn.BatchNorm2d: train forward/backward, running stats, eval") {
  const json& ref = cnn_reference().at("batch_norm2d");
  const Deviation d64 = batch_norm2d_reference<double>(ref, 1e-10);
  const Deviation d32 = batch_norm2d_reference<float>(ref, 1e-5);
  MESSAGE("batch_norm2d float64: worst error/allowance " << d64.ratio << " (" << d64.where << "), plain relative " << d64.plain);
  MESSAGE("batch_norm2d float32: worst error/allowance " << d32.ratio << " (" << d32.where << "), plain relative " << d32.plain);
}

TEST_CASE("batch_norm2d config and shape errors") {
  CHECK_THROWS_WITH_AS(make_layer<float>("batch_norm2d", Shape{16}, json::object()),
                       doctest::Contains("got [16] (a feature vector: use batchnorm)"), ShapeError);
  CHECK_THROWS_WITH_AS(make_layer<float>("batch_norm2d", Shape{4, 5, 5}, {{"num_features", 3}}),
                       doctest::Contains("num_features is 3 but the input [4, 5, 5] has 4 channels"), ShapeError);
  CHECK_THROWS_WITH_AS(make_layer<float>("batch_norm2d", Shape{4, 5, 5}, {{"eps", 0.0}}), doctest::Contains("eps must be > 0"),
                       ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batch_norm2d", Shape{4, 5, 5}, {{"momentum", 1.5}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batch_norm2d", Shape{4, 5, 5}, {{"num_features", -1}}), ConfigError);
  try {
    build_model<float>(json::parse(R"([{"type": "batch_norm2d", "eps": 0}])"), Shape{2, 3, 3}, 1);
    FAIL("eps = 0 must be rejected");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("model.layers[0]") != std::string::npos);
  }
  auto bn = make_layer<float>("batch_norm2d", Shape{2, 2, 2}, json::object());
  CHECK_THROWS_AS(bn->forward(MatF::Ones(3, 9), true), ShapeError);
  bn->forward(MatF::Ones(3, 8), true);
  CHECK_THROWS_AS(bn->backward(MatF::Ones(2, 8)), ShapeError);
}

TEST_CASE("batch_norm2d float32: extreme finite and tiny inputs give finite, normalised outputs") {
  auto bn = make_layer<float>("batch_norm2d", Shape{3, 4, 4}, json::object());
  MatF x = random_batch<float>(8, 48, 5);
  for (Index n = 0; n < 8; ++n) {
    x.row(n).segment(0, 16) *= 1e30f;   // channel 0: huge values (their square overflows float, not double)
    x.row(n).segment(16, 16) *= 1e-30f;  // channel 1: tiny (variance far below eps)
  }
  const MatF y = bn->forward(x, true);
  CHECK(y.allFinite());
  CHECK(y.cwiseAbs().maxCoeff() < 10.0f);
  const MatF dx = bn->backward(random_batch<float>(8, 48, 6));
  CHECK(dx.allFinite());
  CHECK(bn->forward(x, false).allFinite());
  CHECK(bn->backward(random_batch<float>(8, 48, 6)).allFinite());
}

TEST_CASE("batch_norm2d: bit-identical for any thread count (channels split), buffers reused across batches") {
  auto make = [] {
    auto bn = make_layer<float>("batch_norm2d", Shape{16, 8, 8}, json::object());
    auto ps = bn->parameters();
    for (Index c = 0; c < 16; ++c) (*ps[0].value)(0, c) = 0.5f + 0.1f * static_cast<float>(c);
    return bn;
  };
  const MatF x = random_batch<float>(32, 16 * 64, 3, -1, 4);
  const MatF dy = random_batch<float>(32, 16 * 64, 4);
  MatF y1, dx1, dw1, rv1;
  for (int t : {1, 2, 3}) {
    CAPTURE(t);
    Threads threads(t);
    auto bn = make();
    const MatF y = bn->forward(x, true);
    const float* yp = bn->forward(x, true).data();
    const MatF dx = bn->backward(dy);
    const float* dxp = bn->backward(dy).data();
    CHECK(bn->forward(x, true).data() == yp);
    CHECK(bn->backward(dy).data() == dxp);
    const MatF dw = *bn->parameters()[0].grad, rv = *bn->buffers()[1].value;
    if (t == 1) {
      y1 = y, dx1 = dx, dw1 = dw, rv1 = rv;
    } else {
      CHECK(y == y1);
      CHECK(dx == dx1);
      CHECK(dw == dw1);
      CHECK(rv == rv1);
    }
  }
}
