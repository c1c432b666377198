// BatchNorm: parameters and buffers, training output and running statistics, gradient checks alone
// and inside a model, PyTorch's nn.BatchNorm1d (train forward/backward, running stats, eval), config
// errors.
//
// Reference data: tests/data/layers_reference.json (tools/torch_layers_reference.py, PyTorch 1.13),
// compared as in support/layers_reference.hpp with rtol 1e-10 for float64 and 1e-5 for float32 (the
// float32 reference is the correctly rounded answer; PyTorch's own float32 kernel stays within 1.5%
// of that allowance, the generator checks it). The tests print the worst error/allowance and the
// worst plain relative error per precision.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "support/layers_reference.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("batchnorm: parameters, buffers, names, shapes and initial values") {
  auto bn = make_layer<float>("batchnorm", 5);
  CHECK(bn->type() == "batchnorm");
  CHECK(bn->in_features() == 5);
  CHECK(bn->out_features() == 5);
  auto ps = bn->parameters();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].name == "weight");
  CHECK(ps[0].shape == std::vector<std::int64_t>{5});
  CHECK(ps[0].weight_decay);
  CHECK((ps[0].value->array() == 1.0f).all());
  CHECK(ps[1].name == "bias");
  CHECK(ps[1].shape == std::vector<std::int64_t>{5});
  CHECK(ps[1].weight_decay);
  CHECK((ps[1].value->array() == 0.0f).all());
  for (const auto& p : ps) CHECK(p.value->size() == 5);

  auto bs = bn->buffers();
  REQUIRE(bs.size() == 3);
  CHECK(bs[0].name == "running_mean");
  CHECK(bs[0].shape == std::vector<std::int64_t>{5});
  CHECK((bs[0].value->array() == 0.0f).all());
  CHECK(bs[1].name == "running_var");
  CHECK(bs[1].shape == std::vector<std::int64_t>{5});
  CHECK((bs[1].value->array() == 1.0f).all());
  CHECK(bs[2].name == "num_batches_tracked");
  CHECK(bs[2].shape.empty());  // a scalar, as in PyTorch's state_dict
  CHECK(bs[2].value->size() == 1);
  CHECK((*bs[2].value)(0, 0) == 0.0f);

  auto plain = make_layer<float>("batchnorm", 5, {{"affine", false}});
  CHECK(plain->parameters().empty());
  CHECK(plain->buffers().size() == 3);
}

TEST_CASE("batchnorm training output: per-column mean 0 and biased variance v/(v + eps), then γ, β") {
  auto bn = make_layer<double>("batchnorm", 4);
  MatD x = random_batch<double>(64, 4, 3, -1, 3);
  x.col(2).array() = x.col(2).array() * 1000 + 1e4;  // large mean and spread
  const MatD y = bn->forward(x, true);
  for (Index j = 0; j < 4; ++j) {
    const double m = x.col(j).mean();
    const double v = (x.col(j).array() - m).square().mean();
    const double ym = y.col(j).mean();
    const double yv = (y.col(j).array() - ym).square().mean();
    CHECK(std::abs(ym) < 1e-13);
    CHECK(yv == doctest::Approx(v / (v + 1e-5)).epsilon(1e-12));
  }
  // γ and β act per column.
  auto ps = bn->parameters();
  set_values(*ps[0].value, {2.0, -1.0, 0.5, 3.0});
  set_values(*ps[1].value, {1.0, 0.0, -2.0, 0.25});
  const MatD y2 = bn->forward(x, true);
  for (Index j = 0; j < 4; ++j)
    CHECK((y2.col(j).array() - ((*ps[0].value)(0, j) * y.col(j).array() + (*ps[1].value)(0, j))).abs().maxCoeff() < 1e-12);
}

TEST_CASE("batchnorm running statistics: momentum update with the unbiased variance; eval uses them") {
  auto bn = make_layer<double>("batchnorm", 3, {{"momentum", 0.25}});
  const MatD x = random_batch<double>(10, 3, 8);
  bn->forward(x, true);
  const auto bs = bn->buffers();
  for (Index j = 0; j < 3; ++j) {
    const double m = x.col(j).mean();
    const double unbiased = (x.col(j).array() - m).square().sum() / 9.0;
    CHECK((*bs[0].value)(0, j) == doctest::Approx(0.25 * m).epsilon(1e-14));
    CHECK((*bs[1].value)(0, j) == doctest::Approx(0.75 + 0.25 * unbiased).epsilon(1e-14));
  }
  CHECK((*bs[2].value)(0, 0) == 1.0);
  bn->forward(x, true);
  CHECK((*bs[2].value)(0, 0) == 2.0);
  // Eval: uses the running statistics (not the batch's), changes nothing.
  const MatD rm = *bs[0].value, rv = *bs[1].value;
  const MatD y = bn->forward(x, false);
  for (Index j = 0; j < 3; ++j)
    CHECK((y.col(j).array() - (x.col(j).array() - rm(0, j)) / std::sqrt(rv(0, j) + 1e-5)).abs().maxCoeff() < 1e-14);
  CHECK(*bs[0].value == rm);
  CHECK(*bs[1].value == rv);
  CHECK((*bs[2].value)(0, 0) == 2.0);
  // Eval works on a single sample; training does not (PyTorch's rule).
  CHECK_NOTHROW(bn->forward(x.topRows(1), false));
  try {
    bn->forward(x.topRows(1), true);
    FAIL("training on one sample must throw");
  } catch (const ShapeError& e) {
    CHECK(std::string(e.what()).find("more than 1 value per channel") != std::string::npos);
  }
}

TEST_CASE("batchnorm gradient check: training (input, weight, bias) and eval, with and without affine") {
  const MatD x = gradcheck_input(6, 5, 41);
  auto make = [](const json& params) {
    auto bn = make_layer<double>("batchnorm", 5, params);
    auto ps = bn->parameters();
    if (!ps.empty()) {
      set_values(*ps[0].value, {1.5, -0.7, 0.3, 2.0, 1.0});
      set_values(*ps[1].value, {0.2, -0.1, 0.0, 1.0, -3.0});
    }
    return bn;
  };
  double worst_train = 0, worst_eval = 0;
  for (const json& params : {json::object(), json{{"affine", false}}}) {
    CAPTURE(params.dump());
    // training mode: batch statistics, every input of a column reaches every output of it
    auto bn = make(params);
    GradCheckOptions train;
    train.training = true;
    const auto r = check_layer(*bn, x, train);
    INFO(r.format());
    MESSAGE(r.format());
    CHECK(r.ok());
    CHECK(r.entries.size() == (params.empty() ? 3u : 1u));
    for (const auto& e : r.entries) CHECK(e.compared == (e.name == "input" ? x.size() : 5));
    worst_train = std::max(worst_train, r.max_error());

    // eval mode, after a few training batches so the running statistics are not the 0/1 start
    for (std::uint64_t s = 0; s < 3; ++s) bn->forward(random_batch<double>(8, 5, 100 + s, -2, 5), true);
    const auto re = check_layer(*bn, x);
    INFO(re.format());
    MESSAGE(re.format());
    CHECK(re.ok());
    worst_eval = std::max(worst_eval, re.max_error());
  }
  MESSAGE("batchnorm gradcheck worst relative error: training " << worst_train << ", eval " << worst_eval);

  // A batch of two, the smallest allowed. With N = 2, x̂ = ±d/√(d² + eps) (d half the difference)
  // saturates, so the input gradients are ~1e-5 while the outputs are O(β) = O(3): the default
  // step's round-off (~ulp(4)/1e-6 ≈ 1e-9 absolute) would show, so a 10x larger step.
  {
    auto bn = make(json::object());
    GradCheckOptions train;
    train.training = true;
    train.step = 1e-5;
    const auto r = check_layer(*bn, random_batch<double>(2, 5, 5), train);
    INFO(r.format());
    CHECK(r.ok());
  }
  // A constant column (a dead ReLU unit: variance 0, σ = √eps, x̂ = 0 but dx/dx large, ~1/√eps).
  // Here the curvature scale is √eps ≈ 3e-3, so the default small step is the right one.
  {
    MatD xc = random_batch<double>(6, 5, 6);
    xc.col(3).setConstant(0.0);
    auto bn = make(json::object());
    GradCheckOptions train;
    train.training = true;
    const auto r = check_layer(*bn, xc, train);
    INFO(r.format());
    MESSAGE(r.format());
    CHECK(r.ok());
  }
}

TEST_CASE("batchnorm inside a model passes the whole-model gradient check in training mode") {
  auto model = build_model<double>(json::parse(R"([
    {"type": "dense", "out_features": 6}, {"type": "batchnorm"}, "tanh",
    {"type": "dense", "out_features": 3}])"), 4, 7);
  const MatD x = random_batch<double>(5, 4, 12);
  std::vector<std::int32_t> labels = {0, 2, 1, 1, 0};
  SoftmaxCrossEntropy<double> loss;
  Target<double> t;
  t.labels = labels;
  GradCheckOptions opt;
  opt.training = true;
  opt.step = 1e-5;  // a scalar objective: a larger step against cancellation
  opt.tolerance = 1e-5;
  const auto r = check_model(model, loss, x, t, opt);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
}

namespace {

template <typename T>
Deviation batchnorm_reference(const json& bnref, const json& e, double rtol) {
  const Index N = bnref.at("rows").get<Index>(), F = bnref.at("cols").get<Index>();
  auto bn = make_layer<T>("batchnorm", F, {{"eps", bnref.at("eps")}, {"momentum", bnref.at("momentum")}});
  auto ps = bn->parameters();
  REQUIRE(ps.size() == 2);
  *ps[0].value = input_matrix<T>(bnref.at("weight"), 1, F);
  *ps[1].value = input_matrix<T>(bnref.at("bias"), 1, F);
  std::vector<Mat<T>> xs;
  for (const auto& b : bnref.at("x")) xs.push_back(input_matrix<T>(b, N, F));
  const Mat<T> dy = input_matrix<T>(bnref.at("dy"), N, F);

  Deviation d;
  auto step = [&](const std::string& mode, bool training) {
    const json& ref = e.at(mode);
    const json& sc = e.at(mode + "_scale");
    d.add(compare(mode + ".y", bn->forward(xs[0], training), ref.at("y"), sc.at("y"), rtol));
    d.add(compare(mode + ".dx", bn->backward(dy), ref.at("dx"), sc.at("dx"), rtol));
    d.add(compare(mode + ".dweight", *ps[0].grad, ref.at("dweight"), sc.at("dweight"), rtol));
    d.add(compare(mode + ".dbias", *ps[1].grad, ref.at("dbias"), sc.at("dbias"), rtol));
  };
  step("train", true);
  bn->forward(xs[1], true);
  bn->forward(xs[2], true);
  auto bs = bn->buffers();
  d.add(compare("running_mean", *bs[0].value, e.at("running_mean"), e.at("running_mean_scale"), rtol));
  d.add(compare("running_var", *bs[1].value, e.at("running_var"), e.at("running_var_scale"), rtol));
  CHECK((*bs[2].value)(0, 0) == static_cast<T>(e.at("num_batches_tracked").get<int>()));
  step("eval", false);
  return d;
}

}  // namespace

TEST_CASE("batchnorm against PyTorch nn.BatchNorm1d: train forward/backward, running stats, eval") {
  const json& bnref = layers_reference().at("batchnorm");
  const json& entries = bnref.at("entries");
  REQUIRE(entries.size() == 2);
  for (const auto& e : entries) {
    const std::string dtype = e.at("dtype");
    CAPTURE(dtype);
    const Deviation d = dtype == "float64" ? batchnorm_reference<double>(bnref, e, 1e-10)
                                           : batchnorm_reference<float>(bnref, e, 1e-5);
    MESSAGE("batchnorm " << dtype << ": worst error/allowance " << d.ratio << " (" << d.where
                         << "), worst plain relative error " << d.plain << " (" << d.where_plain << ")");
  }
}

TEST_CASE("batchnorm config errors") {
  CHECK_THROWS_WITH_AS(make_layer<float>("batchnorm", 4, {{"eps", 0.0}}), doctest::Contains("eps must be > 0"),
                       ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batchnorm", 4, {{"eps", -1e-5}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batchnorm", 4, {{"momentum", 1.5}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batchnorm", 4, {{"momentum", -0.1}}), ConfigError);
  CHECK_THROWS_AS(make_layer<float>("batchnorm", 4, {{"num_features", 5}}), ShapeError);
  CHECK_NOTHROW(make_layer<float>("batchnorm", 4, {{"num_features", 4}}));
  try {
    build_model<float>(json::parse(R"([{"type": "dense", "out_features": 3}, {"type": "batchnorm", "eps": 0}])"), 4, 1);
    FAIL("eps = 0 must be rejected");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("model.layers[1]") != std::string::npos);
  }
  auto bn = make_layer<float>("batchnorm", 4);
  CHECK_THROWS_AS(bn->forward(MatF::Ones(3, 5), true), ShapeError);
  bn->forward(MatF::Ones(3, 4), true);
  CHECK_THROWS_AS(bn->backward(MatF::Ones(2, 4)), ShapeError);
}
