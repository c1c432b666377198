// Dropout, BatchNorm and Flatten: gradient checks, behaviour, PyTorch reference values, configs.
//
// Reference data: tests/data/layers_reference.json, written by tools/torch_layers_reference.py
// (PyTorch 1.13). BatchNorm values are compared with
//     |got − expected| ≤ rtol · max(|expected|, scale)
// where `scale` (stored per element by the generator) is the magnitude of the terms that formed the
// value: Σ|terms| for the batch sums, the operands of the cancellations x − μ and N·dy − Σdy − x̂·Σdy·x̂.
// rtol is 1e-10 for float64 and 1e-5 for float32 (the float32 reference is the correctly rounded
// answer; PyTorch's own float32 kernel stays within 1.5% of that allowance, the generator checks it).
// The tests print the worst error/allowance and the worst plain relative error per precision.
//
// Dropout cannot match PyTorch's random generator; against PyTorch the tests check the scale of kept
// elements (bit-identical) and the eval identity; the rest is statistics and reproducibility.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "core/io/safetensors.hpp"

using namespace nnlab;
using json = nlohmann::json;

namespace {

const json& reference() {
  static const json data = [] {
    std::ifstream in(std::string(NNLAB_TEST_DATA_DIR) + "/layers_reference.json");
    REQUIRE_MESSAGE(in.good(), "tests/data/layers_reference.json missing (run tools/torch_layers_reference.py)");
    return json::parse(in);
  }();
  return data;
}

// Inputs in the reference file are float32 values in their shortest form: read them through float so
// that the float64 tests use exactly the same numbers.
template <typename T>
Mat<T> input_matrix(const json& values, Index rows, Index cols) {
  REQUIRE(static_cast<Index>(values.size()) == rows * cols);
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(static_cast<float>(values[i].get<double>()));
  return m;
}

// Results: read as double, rounded once to T (exact for the stored float32 values).
template <typename T>
Mat<T> result_matrix(const json& values, Index rows, Index cols) {
  REQUIRE(static_cast<Index>(values.size()) == rows * cols);
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(values[i].get<double>());
  return m;
}

struct Deviation {
  double ratio = 0;    // worst |got − expected| / (rtol · max(|expected|, scale))
  double plain = 0;    // worst |got − expected| / |expected| over nonzero expected values
  std::string where;   // the tensor with the worst ratio
  std::string where_plain;
  void add(const Deviation& d) {
    if (d.ratio > ratio) ratio = d.ratio, where = d.where;
    if (d.plain > plain) plain = d.plain, where_plain = d.where_plain;
  }
};

template <typename T>
Deviation compare(const std::string& what, const Mat<T>& got, const json& expected, const json& scale, double rtol) {
  Deviation d;
  d.where = what;
  const auto n = static_cast<Index>(expected.size());
  REQUIRE_MESSAGE(got.size() == n, what);
  for (Index i = 0; i < n; ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double e = static_cast<double>(static_cast<T>(expected[i].get<double>()));
    const double s = scale[i].get<double>();
    const double err = std::abs(g - e);
    const double allowed = rtol * std::max(std::abs(e), s);
    const double ratio = err == 0 ? 0.0 : (allowed == 0 ? INFINITY : err / allowed);
    if (e != 0 && err / std::abs(e) > d.plain) {
      d.plain = err / std::abs(e);
      d.where_plain = what + "[" + std::to_string(i) + "] = " + std::to_string(e) + ", scale " + std::to_string(s);
    }
    if (!(ratio <= 1.0)) FAIL_CHECK(what << "[" << i << "]: got " << g << ", expected " << e << " (allowed " << allowed << ")");
    d.ratio = std::max(d.ratio, ratio);
  }
  return d;
}

template <typename T>
void set_values(Mat<T>& m, std::initializer_list<double> v) {
  REQUIRE(static_cast<std::size_t>(m.size()) == v.size());
  std::size_t i = 0;
  for (double x : v) m.data()[i++] = static_cast<T>(x);
}

// A random (rows, cols) batch, uniform in [lo, hi).
template <typename T>
Mat<T> random_batch(Index rows, Index cols, std::uint64_t seed, double lo = -2, double hi = 2) {
  Rng rng(seed, Rng::stream_id("test-layers"));
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(lo, hi));
  return m;
}

// Dropout in training mode with a frozen mask: restores the inner layer's random state before every
// forward, so each call draws the same mask. This turns training-mode dropout into the fixed function
// x ↦ x ⊙ m·s that the finite-difference checker can probe (it calls forward many times).
struct FrozenMask final : Layer<double> {
  LayerPtr<double> inner;
  std::vector<std::uint64_t> state;
  explicit FrozenMask(LayerPtr<double> l) : inner(std::move(l)), state(inner->rng_state()) {
    set_shapes(inner->input_shape(), inner->output_shape());
  }
  std::string type() const override { return "dropout(frozen mask)"; }
  const MatD& forward(const MatD& x, bool) override {
    inner->set_rng_state(state);
    return inner->forward(x, true);
  }
  const MatD& backward(const MatD& dy) override { return inner->backward(dy); }
};

}  // namespace

// =====================================================================================================
// Dropout
// =====================================================================================================

TEST_CASE("dropout: eval is the identity, into the layer's own buffer, and so is its backward") {
  auto d = make_layer<float>("dropout", 7, {{"p", 0.5}}, 3);
  const MatF x = random_batch<float>(5, 7, 1);
  const MatF& y = d->forward(x, false);
  CHECK(&y != &x);
  CHECK(y == x);
  const MatF dy = random_batch<float>(5, 7, 2);
  CHECK(d->backward(dy) == dy);
  CHECK(d->type() == "dropout");
  CHECK(d->in_features() == 7);
  CHECK(d->out_features() == 7);
  CHECK(d->parameters().empty());
  CHECK(d->buffers().empty());
  CHECK_FALSE(is_activation(*d));
}

TEST_CASE("dropout: p = 0 in training is the identity and draws no random numbers") {
  auto d = make_layer<double>("dropout", 4, {{"p", 0.0}}, 3);
  const auto before = d->rng_state();
  const MatD x = random_batch<double>(6, 4, 1);
  CHECK(d->forward(x, true) == x);
  CHECK(d->backward(x) == x);
  CHECK(d->rng_state() == before);
}

TEST_CASE("dropout: kept elements are x/(1-p), dropped are 0, and backward applies the same mask") {
  for (double p : {0.2, 0.5, 0.9}) {
    CAPTURE(p);
    auto d = make_layer<float>("dropout", 50, {{"p", p}}, 9);
    const MatF x = random_batch<float>(40, 50, 4, 0.5, 2.0);  // no zeros: a zero output means dropped
    const float s = static_cast<float>(1.0 / (1.0 - p));
    const MatF y = d->forward(x, true);
    const MatF dy = random_batch<float>(40, 50, 5);
    const MatF dx = d->backward(dy);
    Index kept = 0;
    for (Index i = 0; i < x.size(); ++i) {
      if (y.data()[i] == 0.0f) {
        CHECK(dx.data()[i] == 0.0f);
      } else {
        ++kept;
        CHECK(y.data()[i] == x.data()[i] * s);
        CHECK(dx.data()[i] == dy.data()[i] * s);
      }
    }
    CHECK(kept > 0);
    CHECK(kept < x.size());
  }
}

TEST_CASE("dropout statistics: fraction kept ≈ 1 − p and the mean is preserved over 10^6 elements") {
  const Index rows = 1000, cols = 1000;
  const double n = static_cast<double>(rows * cols);
  const MatF ones = MatF::Ones(rows, cols);
  for (double p : {0.1, 0.2, 0.5, 0.9}) {
    CAPTURE(p);
    auto d = make_layer<float>("dropout", cols, {{"p", p}}, 21);
    const MatF& y = d->forward(ones, true);
    const double kept = static_cast<double>((y.array() != 0.0f).count()) / n;
    const double mean = y.cast<double>().mean();
    // Binomial: sd of the kept fraction sqrt(p(1−p)/n); each y is s·Bernoulli(1−p) with s = 1/(1−p),
    // variance p/(1−p), so the sd of the mean is sqrt(p/((1−p) n)). Allow 5 sd.
    const double sd_kept = std::sqrt(p * (1 - p) / n), sd_mean = std::sqrt(p / ((1 - p) * n));
    MESSAGE("p = " << p << ": kept " << kept << " (expected " << 1 - p << "), mean " << mean);
    CHECK(std::abs(kept - (1 - p)) < 5 * sd_kept);
    CHECK(std::abs(mean - 1.0) < 5 * sd_mean);
    // Masks are independent across draws: a second forward agrees with the first on ≈ p² + (1−p)² of
    // the elements, not on all of them.
    const MatF y1 = y;
    const MatF& y2 = d->forward(ones, true);
    const double agree = static_cast<double>(((y1.array() != 0.0f) == (y2.array() != 0.0f)).count()) / n;
    const double expect = p * p + (1 - p) * (1 - p);
    CHECK(std::abs(agree - expect) < 5 * std::sqrt(expect * (1 - expect) / n));
  }
}

TEST_CASE("dropout reproducibility: same seed and index → same mask; other seed or index → other mask") {
  const MatD x = MatD::Ones(16, 32);
  auto mask = [&](std::uint64_t seed, int index) {
    BuildContext c;
    c.input = Shape{32}, c.seed = seed, c.index = index;
    auto d = make_layer<double>(json{{"type", "dropout"}, {"p", 0.5}}, c);
    return MatD(d->forward(x, true));
  };
  CHECK(mask(5, 1) == mask(5, 1));
  CHECK(mask(5, 1) != mask(6, 1));
  CHECK(mask(5, 1) != mask(5, 2));
}

TEST_CASE("dropout rng_state round trip reproduces the next masks, also in a fresh layer") {
  const MatF x = MatF::Ones(8, 64);
  auto a = make_layer<float>("dropout", 64, {{"p", 0.3}}, 42);
  a->forward(x, true);  // advance the stream past its start
  const auto saved = a->rng_state();
  REQUIRE(saved.size() == 4);
  const MatF m1 = a->forward(x, true);
  const MatF m2 = a->forward(x, true);
  CHECK(m1 != m2);
  CHECK(a->rng_state() != saved);

  a->set_rng_state(saved);
  CHECK(a->forward(x, true) == m1);
  CHECK(a->forward(x, true) == m2);

  // A "resumed" layer built with another seed continues exactly where the saved one was.
  auto b = make_layer<float>("dropout", 64, {{"p", 0.3}}, 999);
  b->set_rng_state(saved);
  CHECK(b->forward(x, true) == m1);
  CHECK(b->forward(x, true) == m2);
  CHECK(b->rng_state() == a->rng_state());

  // Eval forwards draw nothing.
  const auto s = b->rng_state();
  b->forward(x, false);
  CHECK(b->rng_state() == s);

  CHECK_THROWS_AS(b->set_rng_state({1, 2, 3}), CheckpointError);
  CHECK_THROWS_AS(b->set_rng_state({0, 0, 0, 0}), CheckpointError);
}

TEST_CASE("dropout gradient check: training with a frozen mask, and eval") {
  const MatD x = gradcheck_input(6, 9, 31);
  for (double p : {0.2, 0.5}) {
    CAPTURE(p);
    FrozenMask frozen(make_layer<double>("dropout", 9, {{"p", p}}, 17));
    GradCheckOptions opt;
    opt.training = true;
    const auto r = check_layer(frozen, x, opt);
    INFO(r.format());
    MESSAGE(r.format());
    CHECK(r.ok());
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].compared == x.size());
    CHECK(r.entries[0].max_abs_gradient > 0);
    // The mask really is in play: the analytic input gradient has exact zeros (dropped elements)
    // and nonzeros (kept ones, scaled by 1/(1−p)).
    const MatD w = MatD::Ones(6, 9);
    frozen.forward(x, true);
    const MatD& g = frozen.backward(w);
    const Index zeros = (g.array() == 0.0).count();
    CHECK(zeros > 0);
    CHECK(zeros < g.size());
    CHECK(((g.array() == 0.0) || (g.array() == 1.0 / (1.0 - p))).all());
  }
  // Without the frozen mask every forward draws a new mask, the finite differences see a different
  // function each time, and the checker must notice.
  {
    auto raw = make_layer<double>("dropout", 9, {{"p", 0.5}}, 17);
    GradCheckOptions opt;
    opt.training = true;
    CHECK_FALSE(check_layer(*raw, x, opt).ok());
  }
  auto d = make_layer<double>("dropout", 9, {{"p", 0.5}}, 17);
  const auto r = check_layer(*d, x);
  INFO(r.format());
  MESSAGE("eval: " << r.format());
  CHECK(r.ok());
}

TEST_CASE("dropout against PyTorch: the scale of kept elements (bit for bit) and the eval identity") {
  const json& entries = reference().at("dropout");
  REQUIRE(entries.size() >= 8);
  auto run = [](const json& e, auto zero) {
    using T = decltype(zero);
    const double p = e.at("p").get<double>();
    const T scale = static_cast<T>(e.at("scale").get<double>());
    const Index n = static_cast<Index>(e.at("x").size());
    const Mat<T> x = input_matrix<T>(e.at("x"), 1, n);
    const Mat<T> ty = result_matrix<T>(e.at("y_train"), 1, n);
    CHECK(result_matrix<T>(e.at("y_eval"), 1, n) == x);  // PyTorch's eval is the identity too
    auto d = make_layer<T>("dropout", n, {{"p", p}}, 77);
    CHECK(d->forward(x, false) == x);
    // nnlab's own scale equals PyTorch's (float32(1/(1 − p)), e.g. 1.1111112 for p = 0.1).
    const Mat<T> ones = Mat<T>::Ones(1, 1000);
    auto o = make_layer<T>("dropout", 1000, {{"p", p}}, 77);
    const Mat<T>& yo = o->forward(ones, true);
    CHECK((yo.array() == T(0) || yo.array() == scale).all());
    CHECK((yo.array() == scale).any());
    // Every element PyTorch kept: once nnlab keeps it too, the two outputs are identical.
    std::vector<char> seen(static_cast<std::size_t>(n), 0);
    for (int draw = 0; draw < 400; ++draw) {
      const Mat<T>& y = d->forward(x, true);
      for (Index i = 0; i < n; ++i) {
        if (ty(0, i) != T(0)) CHECK(ty(0, i) == x(0, i) * scale);
        if (y(0, i) != T(0) && ty(0, i) != T(0)) {
          CHECK(y(0, i) == ty(0, i));
          seen[static_cast<std::size_t>(i)] = 1;
        }
      }
    }
    for (Index i = 0; i < n; ++i)
      if (ty(0, i) != T(0)) CHECK_MESSAGE(seen[static_cast<std::size_t>(i)], "element " << i << " never kept by both");
  };
  for (const auto& e : entries) {
    CAPTURE(e.at("p").get<double>());
    CAPTURE(e.at("dtype").get<std::string>());
    if (e.at("dtype") == "float64") run(e, 0.0);
    else run(e, 0.0f);
  }
}

TEST_CASE("dropout config errors: p = 1 and p outside [0, 1) are rejected with their JSON path") {
  auto msg = [](const json& layers) {
    try {
      build_model<float>(layers, 4, 1);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string one = msg(json::parse(R"([{"type": "dense", "out_features": 3}, {"type": "dropout", "p": 1}])"));
  CHECK(one.find("model.layers[1]") != std::string::npos);
  CHECK(one.find("p must be < 1") != std::string::npos);
  CHECK(msg(json::parse(R"([{"type": "dropout", "p": 1.5}])")).find("model.layers[0]") != std::string::npos);
  CHECK(msg(json::parse(R"([{"type": "dropout", "p": -0.1}])")).find("model.layers[0]") != std::string::npos);
  CHECK(msg(json::parse(R"([{"type": "dropout", "rate": 0.1}])")).find("rate") != std::string::npos);
  CHECK_NOTHROW(make_layer<float>("dropout", 4, {{"p", 0.999}}));
  CHECK_THROWS_AS(make_layer<float>("dropout", 4)->forward(MatF::Ones(2, 5), true), ShapeError);
}

// =====================================================================================================
// BatchNorm
// =====================================================================================================

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
  const json& bnref = reference().at("batchnorm");
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

// =====================================================================================================
// Flatten
// =====================================================================================================

TEST_CASE("flatten: the identity on (N, F) batches, own buffers, gradient check, shape checks") {
  auto f = make_layer<double>("flatten", 6);
  CHECK(f->type() == "flatten");
  CHECK(f->in_features() == 6);
  CHECK(f->out_features() == 6);
  CHECK(f->parameters().empty());
  CHECK(f->buffers().empty());
  const MatD x = random_batch<double>(3, 6, 2);
  for (bool training : {false, true}) {
    const MatD& y = f->forward(x, training);
    CHECK(&y != &x);
    CHECK(y == x);
    const MatD dy = random_batch<double>(3, 6, 9);
    CHECK(f->backward(dy) == dy);
  }
  const auto r = check_layer(*f, gradcheck_input(4, 6, 3));
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  CHECK_THROWS_AS(f->forward(MatD::Ones(2, 5), false), ShapeError);
  CHECK_THROWS_AS(make_layer<float>("flatten", 4, {{"start_dim", 1}}), ConfigError);
}

// =====================================================================================================
// A model with all three, built from a config layer list and trained
// =====================================================================================================

TEST_CASE("a model with flatten, batchnorm and dropout builds from a config list and trains without NaN") {
  const json layers = json::parse(R"([
    "flatten",
    {"type": "dense", "out_features": 32}, {"type": "batchnorm"}, "relu", {"type": "dropout", "p": 0.2},
    {"type": "dense", "out_features": 16}, {"type": "batchnorm", "momentum": 0.2}, "relu", {"type": "dropout"},
    {"type": "dense", "out_features": 3}])");
  Model<float> model = build_model<float>(layers, 8, 11);
  REQUIRE(model.size() == 10);
  CHECK(model.summary().find("batchnorm(32->32)") != std::string::npos);
  CHECK(model.layer(4).rng_state().size() == 4);
  CHECK(model.layer(4).rng_state() != model.layer(8).rng_state());  // each dropout has its own stream

  std::vector<std::string> names;
  for (const auto& b : model.buffers()) names.push_back(b.name);
  CHECK(names == std::vector<std::string>{"layers.2.running_mean", "layers.2.running_var",
                                          "layers.2.num_batches_tracked", "layers.6.running_mean",
                                          "layers.6.running_var", "layers.6.num_batches_tracked"});
  names.clear();
  for (const auto& p : model.parameters()) names.push_back(p.name);
  CHECK(std::find(names.begin(), names.end(), "layers.2.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "layers.6.bias") != names.end());

  // Three Gaussian blobs in 8 dimensions, centres ±2 apart.
  const Index n = 96;
  Rng rng(3, Rng::stream_id("blobs"));
  MatF x(n, 8);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const auto c = static_cast<std::int32_t>(i % 3);
    labels[static_cast<std::size_t>(i)] = c;
    for (Index j = 0; j < 8; ++j) x(i, j) = static_cast<float>(rng.normal() + (j % 3 == c ? 2.0 : 0.0));
  }
  SoftmaxCrossEntropy<float> loss;
  Target<float> all;
  all.labels = labels;
  const float initial = loss.forward(model.forward(x, false), all);
  auto params = model.parameters();
  const Index batch = 32;
  for (int step = 0; step < 60; ++step) {
    const Index start = (step % 3) * batch;
    const MatF xb = x.middleRows(start, batch);
    Target<float> tb;
    tb.labels = std::span<const std::int32_t>(labels).subspan(static_cast<std::size_t>(start), batch);
    const float l = loss.forward(model.forward(xb, true), tb);
    REQUIRE(std::isfinite(l));
    model.backward(loss.backward());
    for (auto& p : params) {
      REQUIRE(p.grad->allFinite());
      *p.value -= 0.1f * *p.grad;  // plain SGD
    }
  }
  for (const auto& p : model.parameters()) CHECK(p.value->allFinite());
  for (const auto& b : model.buffers()) CHECK(b.value->allFinite());
  CHECK((*model.buffers()[2].value)(0, 0) == 60.0f);
  const float final_loss = loss.forward(model.forward(x, false), all);
  MESSAGE("eval loss " << initial << " -> " << final_loss << " after 60 steps");
  CHECK(std::isfinite(final_loss));
  CHECK(final_loss < 0.5f * initial);
  CHECK(count_correct(model.forward(x, false), std::span<const std::int32_t>(labels)) >= 85);

  // Weights and buffers (num_batches_tracked is a scalar, shape []) survive a safetensors round trip.
  const TensorFile file = decode_safetensors(encode_safetensors(model_tensors(model)), "memory");
  CHECK(file.tensors.at("layers.2.num_batches_tracked").shape.empty());
  Model<float> copy = build_model<float>(layers, 8, 12345);
  load_model_tensors(copy, file, "memory");
  CHECK(copy.forward(x, false) == model.forward(x, false));
}
