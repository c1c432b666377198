// Dropout: the identity in eval, masks and their scale in training, statistics over 10^6 elements,
// reproducibility and the random state, gradient checks, PyTorch's scale, config errors.
//
// Dropout cannot match PyTorch's random generator; against PyTorch (tests/data/layers_reference.json)
// the tests check the scale of kept elements (bit-identical) and the eval identity; the rest is
// statistics and reproducibility.
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

namespace {

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
  const json& entries = layers_reference().at("dropout");
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
