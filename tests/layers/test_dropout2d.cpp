// Dropout2d: whole channels dropped (one draw per sample and channel), the scale 1/(1 − p), eval and
// p = 0 identities, statistics, reproducibility and the random state, gradient checks with a frozen
// mask, PyTorch nn.Dropout2d's scale and eval identity, config errors.
//
// As for dropout, PyTorch's generator cannot be matched: against tests/data/cnn_reference.json
// (tools/torch_cnn_reference.py) the test checks kept channels bit for bit and the eval identity.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
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

// Dropout2d in training mode with a frozen mask (as test_dropout.cpp's): the inner layer's random state
// is restored before every forward, so the checker's repeated forwards see one fixed function.
struct FrozenMask final : Layer<double> {
  LayerPtr<double> inner;
  std::vector<std::uint64_t> state;
  explicit FrozenMask(LayerPtr<double> l) : inner(std::move(l)), state(inner->rng_state()) {
    set_shapes(inner->input_shape(), inner->output_shape());
  }
  std::string type() const override { return "dropout2d(frozen mask)"; }
  const MatD& forward(const MatD& x, bool) override {
    inner->set_rng_state(state);
    return inner->forward(x, true);
  }
  const MatD& backward(const MatD& dy) override { return inner->backward(dy); }
};

// Whether every (sample, channel) block of y is all zero or all x·s; counts the kept channels.
template <typename T>
Index check_channels(const Mat<T>& x, const Mat<T>& y, Index C, T s) {
  const Index hw = x.cols() / C;
  Index kept = 0;
  for (Index n = 0; n < x.rows(); ++n)
    for (Index c = 0; c < C; ++c) {
      const auto yc = y.row(n).segment(c * hw, hw).array();
      if ((yc == T(0)).all()) continue;
      ++kept;
      CHECK((yc == x.row(n).segment(c * hw, hw).array() * s).all());
    }
  return kept;
}

}  // namespace

TEST_CASE("dropout2d: eval and p = 0 are the identity (own buffer, no draws); shapes, no parameters") {
  auto d = make_layer<float>("dropout2d", Shape{3, 4, 4}, {{"p", 0.5}}, 3);
  CHECK(d->type() == "dropout2d");
  CHECK(d->output_shape() == Shape{3, 4, 4});
  CHECK(d->parameters().empty());
  CHECK(d->buffers().empty());
  CHECK(d->flops() == 48.0);
  const MatF x = random_batch<float>(5, 48, 1);
  const auto before = d->rng_state();
  const MatF& y = d->forward(x, false);
  CHECK(&y != &x);
  CHECK(y == x);
  CHECK(d->backward(x) == x);
  CHECK(d->rng_state() == before);
  auto z = make_layer<double>("dropout2d", Shape{3, 4, 4}, {{"p", 0.0}}, 3);
  const MatD xd = random_batch<double>(5, 48, 1);
  CHECK(z->forward(xd, true) == xd);
  CHECK(z->backward(xd) == xd);
}

TEST_CASE("dropout2d zeroes whole channels, scales kept ones by 1/(1-p), and backward applies the same mask") {
  for (double p : {0.2, 0.5, 0.9}) {
    CAPTURE(p);
    const Index C = 8;
    auto d = make_layer<float>("dropout2d", Shape{C, 3, 5}, {{"p", p}}, 9);
    const MatF x = random_batch<float>(40, C * 15, 4, 0.5, 2.0);  // no zeros
    const float s = static_cast<float>(1.0 / (1.0 - p));
    const MatF y = d->forward(x, true);
    const MatF dy = random_batch<float>(40, C * 15, 5);
    const MatF dx = d->backward(dy);
    const Index kept = check_channels(x, y, C, s);
    CHECK(kept > 0);
    CHECK(kept < 40 * C);
    // dx uses the same channels
    for (Index n = 0; n < 40; ++n)
      for (Index c = 0; c < C; ++c) {
        const bool k = y(n, c * 15) != 0.0f;
        const Eigen::ArrayXXf expect = dy.row(n).segment(c * 15, 15).array() * (k ? s : 0.0f);
        CHECK((dx.row(n).segment(c * 15, 15).array() == expect).all());
      }
  }
}

TEST_CASE("dropout2d statistics: fraction of channels kept ≈ 1 − p over 10^5 draws, independent across samples") {
  const Index N = 1000, C = 100;
  const MatF ones = MatF::Ones(N, C * 4);
  for (double p : {0.1, 0.5, 0.9}) {
    CAPTURE(p);
    auto d = make_layer<float>("dropout2d", Shape{C, 2, 2}, {{"p", p}}, 21);
    const MatF& y = d->forward(ones, true);
    Index kept = 0;
    for (Index n = 0; n < N; ++n)
      for (Index c = 0; c < C; ++c) kept += y(n, c * 4) != 0.0f;
    const double n = static_cast<double>(N * C), frac = static_cast<double>(kept) / n;
    MESSAGE("p = " << p << ": kept " << frac << " of the channels (expected " << 1 - p << ")");
    CHECK(std::abs(frac - (1 - p)) < 5 * std::sqrt(p * (1 - p) / n));
  }
}

TEST_CASE("dropout2d reproducibility: same seed and index → same mask; rng_state round trip") {
  const MatD x = MatD::Ones(16, 32);
  auto mask = [&](std::uint64_t seed, int index) {
    BuildContext c;
    c.input = Shape{8, 2, 2}, c.seed = seed, c.index = index;
    auto d = make_layer<double>(json{{"type", "dropout2d"}, {"p", 0.5}}, c);
    return MatD(d->forward(x, true));
  };
  CHECK(mask(5, 1) == mask(5, 1));
  CHECK(mask(5, 1) != mask(6, 1));
  CHECK(mask(5, 1) != mask(5, 2));

  auto a = make_layer<float>("dropout2d", Shape{8, 2, 2}, {{"p", 0.3}}, 42);
  const MatF xf = MatF::Ones(8, 32);
  a->forward(xf, true);
  const auto saved = a->rng_state();
  REQUIRE(saved.size() == 4);
  const MatF m1 = a->forward(xf, true), m2 = a->forward(xf, true);
  CHECK(m1 != m2);
  auto b = make_layer<float>("dropout2d", Shape{8, 2, 2}, {{"p", 0.3}}, 999);
  b->set_rng_state(saved);
  CHECK(b->forward(xf, true) == m1);
  CHECK(b->forward(xf, true) == m2);
  CHECK_THROWS_AS(b->set_rng_state({1, 2, 3}), CheckpointError);
  CHECK_THROWS_AS(b->set_rng_state({0, 0, 0, 0}), CheckpointError);
  // The mask depends only on the stream, not on the thread count.
  for (int t : {1, 2}) {
    Threads threads(t);
    auto c = make_layer<float>("dropout2d", Shape{8, 2, 2}, {{"p", 0.3}}, 42);
    c->set_rng_state(saved);
    CHECK(c->forward(xf, true) == m1);
  }
}

TEST_CASE("dropout2d gradient check: training with a frozen mask, and eval") {
  const Shape in{4, 2, 3};
  const MatD x = gradcheck_input(6, in.numel(), 31);
  for (double p : {0.25, 0.5}) {
    CAPTURE(p);
    FrozenMask frozen(make_layer<double>("dropout2d", in, {{"p", p}}, 17));
    GradCheckOptions opt;
    opt.training = true;
    const auto r = check_layer(frozen, x, opt);
    INFO(r.format());
    CHECK(r.ok());
    REQUIRE(r.entries.size() == 1);
    CHECK(r.entries[0].compared == x.size());
    frozen.forward(x, true);
    const MatD& g = frozen.backward(MatD::Ones(6, in.numel()));
    CHECK((g.array() == 0.0).count() > 0);
    CHECK(((g.array() == 0.0) || (g.array() == 1.0 / (1.0 - p))).all());
  }
  auto d = make_layer<double>("dropout2d", in, {{"p", 0.5}}, 17);
  const auto r = check_layer(*d, x);
  INFO(r.format());
  CHECK(r.ok());
}

TEST_CASE("dropout2d against PyTorch nn.Dropout2d: scale of kept channels (bit for bit) and the eval identity") {
  const json& entries = cnn_reference().at("dropout2d");
  REQUIRE(entries.size() >= 6);
  auto run = [](const json& e, auto zero) {
    using T = decltype(zero);
    const double p = e.at("p").get<double>();
    const Index N = e.at("N"), C = e.at("C"), F = C * e.at("H").get<Index>() * e.at("W").get<Index>();
    const T scale = static_cast<T>(e.at("scale").get<double>());
    const Mat<T> x = input_matrix<T>(e.at("x"), N, F);
    const Mat<T> ty = result_matrix<T>(e.at("y_train"), N, F);
    CHECK(result_matrix<T>(e.at("y_eval"), N, F) == x);
    check_channels(x, ty, C, scale);  // PyTorch's output: whole channels, x · scale
    auto d = make_layer<T>("dropout2d", Shape{C, e.at("H").get<Index>(), e.at("W").get<Index>()}, {{"p", p}}, 77);
    CHECK(d->forward(x, false) == x);
    // nnlab's kept channels equal PyTorch's exactly wherever both kept them.
    Index both = 0;
    for (int draw = 0; draw < 50; ++draw) {
      const Mat<T>& y = d->forward(x, true);
      check_channels(x, y, C, scale);
      for (Index i = 0; i < x.size(); ++i)
        if (y.data()[i] != T(0) && ty.data()[i] != T(0)) {
          CHECK(y.data()[i] == ty.data()[i]);
          ++both;
        }
    }
    CHECK(both > 0);
  };
  for (const auto& e : entries) {
    CAPTURE(e.at("p").get<double>());
    CAPTURE(e.at("dtype").get<std::string>());
    if (e.at("dtype") == "float64") run(e, 0.0);
    else run(e, 0.0f);
  }
}

TEST_CASE("dropout2d config and shape errors") {
  auto msg = [](const json& layers, const Shape& in) {
    try {
      build_model<float>(layers, in, 1);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  const std::string one = msg(json::parse(R"([{"type": "dropout2d", "p": 1}])"), Shape{2, 3, 3});
  CHECK(one.find("model.layers[0]") != std::string::npos);
  CHECK(one.find("p must be < 1") != std::string::npos);
  CHECK(msg(json::parse(R"([{"type": "dropout2d", "p": -0.1}])"), Shape{2, 3, 3}).find("model.layers[0]") != std::string::npos);
  CHECK_THROWS_WITH_AS(make_layer<float>("dropout2d", Shape{12}, json::object()),
                       doctest::Contains("got [12] (a feature vector: use dropout)"), ShapeError);
  auto d = make_layer<float>("dropout2d", Shape{2, 3, 3}, json::object());
  CHECK_THROWS_AS(d->forward(MatF::Ones(2, 17), true), ShapeError);
  d->forward(MatF::Ones(2, 18), true);
  CHECK_THROWS_AS(d->backward(MatF::Ones(3, 18)), ShapeError);
}

TEST_CASE("dropout2d float32: extreme finite and tiny inputs stay finite (kept channels are x·s exactly)") {
  auto d = make_layer<float>("dropout2d", Shape{4, 2, 2}, {{"p", 0.5}}, 5);
  MatF x = random_batch<float>(6, 16, 2, 0.5, 2.0);
  x.topRows(3) *= 1e30f;
  x.bottomRows(3) *= 1e-38f;
  const MatF y = d->forward(x, true);
  CHECK(y.allFinite());
  check_channels(x, y, 4, 2.0f);
  CHECK(d->backward(MatF::Constant(6, 16, 1e30f)).allFinite());
}
