// Conv2d: shapes, parameters and FLOPs; gradient checks (double) of the input and every parameter
// over stride, padding, dilation, groups (depthwise included), 1×1 and rectangular inputs; PyTorch's
// F.conv2d forward, input and parameter gradients; the first-layer shortcut; thread-count
// determinism; config and shape errors.
//
// Reference data: the "conv2d" cases of tests/data/cnn_reference.json (tools/torch_cnn_reference.py,
// PyTorch 1.13), compared as in support/layers_reference.hpp, |got − expected| ≤ rtol·max(|expected|,
// scale) with scale the same convolution on absolute values: rtol 1e-12 in double, 2e-6 in float.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

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

namespace {

template <typename T>
LayerPtr<T> conv(const Shape& in, const json& params, std::uint64_t seed = 1) {
  return make_layer<T>("conv2d", in, params, seed);
}

// A gradient check of conv2d(params) on a batch of `n` samples of shape `in`, both precisions of the
// checker's edge points and random values.
void gradcheck(const Shape& in, const json& params, Index n = 2) {
  auto layer = conv<double>(in, params, 7);
  const MatD x = gradcheck_input(n, in.numel(), 11);
  const auto r = check_layer(*layer, x);
  INFO(params.dump() << " on " << in.str() << "\n" << r.format());
  CHECK(r.ok());
  // input, weight and (with bias) bias
  CHECK(r.entries.size() == (params.value("bias", true) ? 3u : 2u));
}

}  // namespace

TEST_CASE("conv2d: output shape, parameter shapes (PyTorch's layout), FLOPs, resolved in_channels") {
  auto c = conv<float>(Shape{3, 32, 32}, {{"out_channels", 16}, {"kernel_size", 3}, {"padding", 1}});
  CHECK(c->type() == "conv2d");
  CHECK(c->output_shape() == Shape{16, 32, 32});
  auto ps = c->parameters();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].name == "weight");
  CHECK(ps[0].shape == std::vector<std::int64_t>{16, 3, 3, 3});
  CHECK(ps[0].value->rows() == 16);
  CHECK(ps[0].value->cols() == 27);
  CHECK(ps[1].name == "bias");
  CHECK(ps[1].shape == std::vector<std::int64_t>{16});
  // 2·F·Ho·Wo·(C·K·K) multiply-adds plus one bias add per output value
  CHECK(c->flops() == doctest::Approx(16.0 * 32 * 32 * (2 * 27 + 1)));
  // PyTorch's default init: U(−1/√fan_in, 1/√fan_in), fan_in = C·K·K = 27
  const float bound = 1.0f / std::sqrt(27.0f);
  CHECK(ps[0].value->cwiseAbs().maxCoeff() <= bound);
  CHECK(ps[0].value->cwiseAbs().maxCoeff() > 0.9f * bound);

  // stride 2, padding 1, dilation 2, groups, no bias
  auto s = conv<float>(Shape{4, 9, 7}, {{"out_channels", 6}, {"kernel_size", 3}, {"stride", 2}, {"padding", 1},
                                        {"dilation", 2}, {"groups", 2}, {"bias", false}});
  CHECK(s->output_shape() == Shape{6, 4, 3});  // the kernel spans d(K − 1) + 1 = 5: ⌊(9 + 2 − 5)/2⌋ + 1 = 4, ⌊(7 + 2 − 5)/2⌋ + 1 = 3
  CHECK(s->parameters().size() == 1);
  CHECK(s->parameters()[0].shape == std::vector<std::int64_t>{6, 2, 3, 3});

  const LayerSpec spec = resolve_layer(json{{"type", "conv2d"}, {"out_channels", 8}, {"kernel_size", 3}}, "model.layers[0]");
  const Shape in{5, 10, 10};
  CHECK(spec.to_json(&in)["in_channels"] == 5);  // the input's channels, not its 500 values
}

TEST_CASE("conv2d gradient check: input, weight and bias over stride, padding, dilation, groups") {
  gradcheck(Shape{3, 7, 6}, {{"out_channels", 4}, {"kernel_size", 3}});
  gradcheck(Shape{2, 5, 5}, {{"out_channels", 3}, {"kernel_size", 3}, {"padding", 1}});
  gradcheck(Shape{2, 8, 7}, {{"out_channels", 2}, {"kernel_size", 3}, {"stride", 2}, {"padding", 1}});
  gradcheck(Shape{2, 9, 9}, {{"out_channels", 3}, {"kernel_size", 3}, {"dilation", 2}, {"padding", 2}});
  gradcheck(Shape{4, 6, 6}, {{"out_channels", 6}, {"kernel_size", 3}, {"groups", 2}, {"padding", 1}, {"bias", false}});
  gradcheck(Shape{3, 6, 5}, {{"out_channels", 3}, {"kernel_size", 3}, {"groups", 3}, {"padding", 1}});  // depthwise
  gradcheck(Shape{5, 4, 4}, {{"out_channels", 3}, {"kernel_size", 1}});                              // pointwise
  gradcheck(Shape{4, 5, 6}, {{"out_channels", 4}, {"kernel_size", 1}, {"stride", 2}, {"groups", 2}});  // 1×1 stride 2
  gradcheck(Shape{2, 11, 10}, {{"out_channels", 2}, {"kernel_size", 5}, {"stride", 3}, {"padding", 2}});
  gradcheck(Shape{2, 3, 9}, {{"out_channels", 2}, {"kernel_size", 3}});                               // rectangular
  gradcheck(Shape{1, 4, 4}, {{"out_channels", 2}, {"kernel_size", 4}, {"padding", 3}});               // mostly padding
  gradcheck(Shape{2, 6, 6}, {{"out_channels", 2}, {"kernel_size", 2}, {"stride", 3}}, 5);             // gaps between windows
  // "same" padding (stride 1, output as wide as the input): im2col and col2im copy whole runs of a
  // channel, then fix the padding columns; a 5×5 kernel over few rows, and one whose outer taps
  // see no pixel at all.
  gradcheck(Shape{2, 3, 7}, {{"out_channels", 2}, {"kernel_size", 5}, {"padding", 2}});
  gradcheck(Shape{1, 2, 2}, {{"out_channels", 2}, {"kernel_size", 5}, {"padding", 2}});
}

TEST_CASE("conv2d inside a model: conv, relu, conv with stride, flatten, dense, cross-entropy") {
  Model<double> m = build_model<double>(json::parse(R"([
      {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, "tanh",
      {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "groups": 1}, "elu",
      "flatten", {"type": "dense", "out_features": 3}])"),
                                        Shape{2, 7, 7}, 5);
  CHECK(m.layer(2).output_shape() == Shape{4, 3, 3});
  SoftmaxCrossEntropy<double> loss;
  const MatD x = gradcheck_input(3, 2 * 7 * 7, 3, -2, 2);
  const std::vector<std::int32_t> labels = {0, 2, 1};
  Target<double> t;
  t.labels = labels;
  GradCheckOptions opt;
  opt.step = 1e-5;  // a scalar objective: a larger step against cancellation
  opt.tolerance = 1e-5;
  const auto r = check_model(m, loss, x, t, opt);
  INFO(r.format());
  CHECK(r.ok());
}

TEST_CASE_TEMPLATE("conv2d matches PyTorch's F.conv2d: output, input gradient, weight and bias gradients", T, double, float) {
  const double rtol = std::is_same_v<T, double> ? 1e-12 : 2e-6;
  Deviation worst;
  for (const json& c : cnn_reference().at("conv2d")) {
    const std::string name = c.at("name");
    INFO("case " << name);
    const Index N = c.at("N"), C = c.at("C"), H = c.at("H"), W = c.at("W"), F = c.at("out_channels");
    const bool bias = c.at("bias");
    auto layer = conv<T>(Shape{C, H, W}, {{"out_channels", F},
                                          {"kernel_size", c.at("kernel_size")},
                                          {"stride", c.at("stride")},
                                          {"padding", c.at("padding")},
                                          {"dilation", c.at("dilation")},
                                          {"groups", c.at("groups")},
                                          {"bias", bias}});
    auto ps = layer->parameters();
    REQUIRE(ps.size() == (bias ? 2u : 1u));
    *ps[0].value = input_matrix<T>(c.at("weight"), ps[0].value->rows(), ps[0].value->cols());
    if (bias) *ps[1].value = input_matrix<T>(c.at("bias_values"), 1, F);
    const Mat<T> x = input_matrix<T>(c.at("x"), N, C * H * W);
    const Mat<T> dy = input_matrix<T>(c.at("dy"), N, layer->out_features());
    const Mat<T> y = layer->forward(x, true);
    const Mat<T> dx = layer->backward(dy);
    worst.add(compare(name + ".y", y, c.at("y"), c.at("y_scale"), rtol));
    worst.add(compare(name + ".dx", dx, c.at("dx"), c.at("dx_scale"), rtol));
    worst.add(compare(name + ".dweight", *ps[0].grad, c.at("dweight"), c.at("dweight_scale"), rtol));
    if (bias) worst.add(compare(name + ".dbias", *ps[1].grad, c.at("dbias"), c.at("dbias_scale"), rtol));
  }
  MESSAGE("conv2d vs PyTorch (" << (std::is_same_v<T, double> ? "float64" : "float32") << "): worst error/allowed "
                                << worst.ratio << " at " << worst.where << "; worst relative error " << worst.plain
                                << " at " << worst.where_plain);
  CHECK(worst.ratio > 0);  // the comparison measured something
}

TEST_CASE("conv2d in float on the packed product (C/g·K·K >= 64 or F/g >= 16: im2col fused into it) equals double") {
  // The float path of these shapes runs core/gemm's packed kernel with the columns written straight
  // into its packed right-hand side; double runs Eigen on an im2col buffer. Same weights, same data:
  // the results agree to float rounding, over padding, stride, dilation, groups, and position
  // counts that are not a multiple of the kernel's panel width.
  for (const auto& [in, p] : {std::pair{Shape{8, 20, 20}, json{{"out_channels", 16}, {"kernel_size", 3}, {"padding", 1}}},
                              std::pair{Shape{16, 9, 11}, json{{"out_channels", 6}, {"kernel_size", 3}, {"stride", 2}}},
                              std::pair{Shape{8, 10, 10}, json{{"out_channels", 4}, {"kernel_size", 3}, {"padding", 2},
                                                               {"dilation", 2}}},
                              std::pair{Shape{16, 8, 8}, json{{"out_channels", 8}, {"kernel_size", 3}, {"padding", 1},
                                                              {"groups", 2}, {"bias", false}}},
                              std::pair{Shape{32, 7, 7}, json{{"out_channels", 20}, {"kernel_size", 3}, {"padding", 1}}},
                              // first layers: few columns, many filters
                              std::pair{Shape{1, 12, 12}, json{{"out_channels", 32}, {"kernel_size", 3}, {"padding", 1}}},
                              std::pair{Shape{3, 9, 9}, json{{"out_channels", 16}, {"kernel_size", 3}, {"stride", 2}}}}) {
    INFO(p.dump() << " on " << in.str());
    auto f = conv<float>(in, p, 5);
    auto d = conv<double>(in, p, 5);
    auto pf = f->parameters();
    auto pd = d->parameters();
    for (std::size_t i = 0; i < pf.size(); ++i) *pd[i].value = pf[i].value->cast<double>();
    const MatF x = random_matrix(3, in.numel(), 6), dy = random_matrix(3, f->out_features(), 7);
    const MatF y = f->forward(x, true), dx = f->backward(dy);
    const MatD xd = x.cast<double>(), dyd = dy.cast<double>();  // forward keeps a pointer to its input
    const MatD yd = d->forward(xd, true), dxd = d->backward(dyd);
    auto close = [](const MatF& got, const MatD& want) {
      return (got.cast<double>() - want).cwiseAbs().maxCoeff() <= 1e-5 * std::max(1.0, want.cwiseAbs().maxCoeff());
    };
    CHECK(close(y, yd));
    CHECK(close(dx, dxd));
    for (std::size_t i = 0; i < pf.size(); ++i) {
      INFO(pf[i].name << ": worst difference " << (pf[i].grad->cast<double>() - *pd[i].grad).cwiseAbs().maxCoeff()
                      << ", largest value " << pd[i].grad->cwiseAbs().maxCoeff());
      CHECK(close(*pf[i].grad, *pd[i].grad));
    }
  }
}

TEST_CASE("conv2d as the first layer: same parameter gradients without the input gradient") {
  // 3 channels: 27 columns (Eigen's products); 8 channels: 72 (the packed forward, Eigen's backward).
  for (const Shape& in : {Shape{3, 12, 12}, Shape{8, 12, 12}}) {
    INFO(in.str());
    const json p = {{"out_channels", 8}, {"kernel_size", 3}, {"padding", 1}};
    auto with = conv<float>(in, p), without = conv<float>(in, p);
    without->set_input_grad(false);
    const MatF x = random_matrix(6, in.numel(), 1), dy = random_matrix(6, with->out_features(), 2);
    with->forward(x, true), without->forward(x, true);
    const MatF dx = with->backward(dy);
    CHECK(without->backward(dy).size() == 0);  // never computed
    CHECK(dx.rows() == 6);
    auto pw = with->parameters(), po = without->parameters();
    for (std::size_t i = 0; i < pw.size(); ++i) CHECK(*pw[i].grad == *po[i].grad);
  }
}

TEST_CASE("conv2d: bit-identical for a fixed thread count, and 1 vs 2 threads agree to rounding") {
  const Shape in{8, 14, 14};  // 72 columns: the packed float path
  const json p = {{"out_channels", 16}, {"kernel_size", 3}, {"padding", 1}, {"stride", 1}};
  const MatF x = random_matrix(64, in.numel(), 3), dy = random_matrix(64, 16 * 14 * 14, 4);
  auto run = [&](int threads) {
    Threads t(threads);
    auto c = conv<float>(in, p, 9);
    const MatF y = c->forward(x, true);
    const MatF dx = c->backward(dy);
    return std::tuple{y, dx, MatF(*c->parameters()[0].grad), MatF(*c->parameters()[1].grad)};
  };
  const auto a = run(2), b = run(2), one = run(1);
  CHECK(std::get<0>(a) == std::get<0>(b));
  CHECK(std::get<1>(a) == std::get<1>(b));
  CHECK(std::get<2>(a) == std::get<2>(b));
  CHECK(std::get<3>(a) == std::get<3>(b));
  // y and dx are per sample (the same arithmetic whatever the split); dW sums blocks in another order
  CHECK(std::get<0>(a) == std::get<0>(one));
  CHECK(std::get<1>(a) == std::get<1>(one));
  CHECK(std::get<2>(a).isApprox(std::get<2>(one), 1e-5f));
  CHECK(std::get<3>(a).isApprox(std::get<3>(one), 1e-5f));
}

TEST_CASE("conv2d: clear errors for impossible shapes and settings") {
  auto message = [](const Shape& in, const json& p) -> std::string {
    try {
      conv<float>(in, p);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message(Shape{8, 3, 3}, {{"out_channels", 4}, {"kernel_size", 5}}) ==
        "conv2d: kernel 5 (dilation 1, spans 5) does not fit the padded input 3x3 (input [8, 3, 3], padding 0)");
  CHECK(message(Shape{8, 5, 5}, {{"out_channels", 4}, {"kernel_size", 3}, {"dilation", 3}}) ==
        "conv2d: kernel 3 (dilation 3, spans 7) does not fit the padded input 5x5 (input [8, 5, 5], padding 0)");
  CHECK(message(Shape{6, 8, 8}, {{"out_channels", 4}, {"kernel_size", 3}, {"groups", 4}}) ==
        "conv2d: groups 4 must divide both in_channels 6 and out_channels 4 (each group convolves C/groups input channels "
        "into F/groups outputs); groups that divide both: 1, 2");
  CHECK(message(Shape{784}, {{"out_channels", 4}, {"kernel_size", 3}}) ==
        "conv2d needs an image input [channels, height, width], got [784] (a feature vector: convolutions go before "
        "flatten and dense layers)");
  CHECK(message(Shape{3, 8, 8}, {{"out_channels", 4}, {"kernel_size", 3}, {"in_channels", 1}}) ==
        "in_channels is 1 but the input [3, 8, 8] has 3 channels");
  // parameter ranges come from the ParamSpecs
  CHECK(message(Shape{3, 8, 8}, {{"out_channels", 4}, {"kernel_size", 3}, {"stride", 0}}).find("stride") != std::string::npos);
  CHECK(message(Shape{3, 8, 8}, {{"out_channels", 4}}).find("kernel_size") != std::string::npos);

  // In a model: the path of the layer is named, and a dense layer whose in_features the shape does
  // not reach names both.
  try {
    build_model<float>(json::parse(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}, "flatten",
                                       {"type": "dense", "in_features": 100, "out_features": 2}])"),
                       Shape{1, 8, 8}, 1);
    FAIL("no error");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()) == "model.layers[2]: in_features is 100 but the input [144] has 144 values");
  }
}
