// One training step told tensor by tensor (core/gradcheck/explain.hpp) and drawn
// (apps/report/explain_html.hpp): a correct network agrees with finite differences everywhere; a
// tanh whose backward uses 1 − x² instead of 1 − y² is WRONG, and the layer named first is that
// tanh, not the dense layer below it that inherits the wrong dL/dy; the optimizer's first update
// of a weight is PyTorch's (SGD with momentum, Adam).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/report/explain_html.hpp"
#include "core/gradcheck/explain.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "support/text.hpp"

using namespace nnlab;

namespace {

// tanh with the classic slip in its backward: the derivative written in terms of the input.
template <typename T>
class SlippedTanh final : public Layer<T> {
 public:
  SlippedTanh(const Args&, const BuildContext& c) { this->set_shapes(c.input, c.input); }
  std::string type() const override { return "slipped_tanh"; }
  const Mat<T>& forward(const Mat<T>& x, bool) override {
    x_ = x;
    y_ = x.array().tanh().matrix();
    return y_;
  }
  const Mat<T>& backward(const Mat<T>& dy) override {
    dx_ = (dy.array() * (T(1) - x_.array().square())).matrix();  // should be 1 − y²
    return dx_;
  }

 private:
  Mat<T> x_, y_, dx_;
};

}  // namespace

NNLAB_REGISTER_LAYER(SlippedTanh, {.name = "slipped_tanh",
                                   .kind = LayerKind::layer,
                                   .summary = "tanh with 1 - x^2 in its backward (a test's mistake)",
                                   .formula = "y = tanh(x)",
                                   .derivative = "dy/dx = 1 − x² (wrong: 1 − y²)",
                                   .params = {}});

namespace {

Model<double> network(const std::string& activation) {
  Model<double> m;
  m.add(make_layer<double>("dense", 3, {{"out_features", 4}}, 1));
  m.add(make_layer<double>(activation, 4, nlohmann::json::object()));
  m.add(make_layer<double>("dense", 4, {{"out_features", 2}}, 2));
  return m;
}

MatD batch() {
  Rng rng(5);
  MatD x(5, 3);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = 2 * rng.uniform() - 1;
  return x;
}

const std::vector<std::int32_t> kLabels{0, 1, 1, 0, 1};

}  // namespace

TEST_CASE("explain_step: a correct network agrees everywhere, and the model keeps its weights and this batch's gradients") {
  Model<double> m = network("tanh");
  const MatD x = batch();
  std::vector<MatD> before;
  for (auto& p : m.parameters()) before.push_back(*p.value);

  const Explanation e = explain_step(m, x, kLabels, "cross_entropy");
  CHECK(e.wrong == 0);
  CHECK(e.culprit == -1);
  REQUIRE(e.layers.size() == 3);
  CHECK(e.layers[1].formula == "y = tanh(x)");
  CHECK(e.layers[1].derivative == layer_entry("tanh").derivative);
  // tanh's dL/dx is dL/dy·(1 − y²), element by element.
  const MatD expect = (e.layers[1].dy.array() * (1 - e.layers[1].output.array().square())).matrix();
  CHECK((e.layers[1].dx - expect).cwiseAbs().maxCoeff() < 1e-15);
  for (const auto& l : e.layers) {
    CHECK(l.dx_check.checked == l.dx.size());  // small tensors: every element
    CHECK(l.dx_check.verdict() != "WRONG");
    CHECK(l.dx_check.max_rel < 1e-6);
    for (const auto& p : l.params) CHECK(p.check.max_rel < 1e-6);
  }
  CHECK(e.input_of(2) == e.layers[1].output);
  std::size_t i = 0;
  for (auto& p : m.parameters()) {
    CHECK(*p.value == before[i]);  // finite differences put every weight back
    const auto& layer = e.layers[p.name[7] - '0'];
    CHECK(*p.grad == layer.params[p.name.back() == 's' ? 1 : 0].grad);  // "layers.K.weight" / "layers.K.bias"
    ++i;
  }
}

TEST_CASE("explain_step: a wrong backward is WRONG at its layer, inherited below it, and that layer is named first") {
  Model<double> m = network("slipped_tanh");
  const Explanation e = explain_step(m, batch(), kLabels, "cross_entropy");
  CHECK(e.layers[2].dx_check.verdict() == "close");   // the top dense layer is right
  CHECK(e.layers[2].params[0].check.verdict() == "close");
  CHECK(e.layers[1].dx_check.verdict() == "WRONG");   // the slip
  CHECK(e.layers[0].params[0].check.verdict() == "WRONG");  // its dL/dy is wrong, its backward is not
  CHECK(e.culprit == 1);
  CHECK(e.wrong >= 3);

  const ExplainedUpdate u = explain_update(resolve_optimizer({{"type", "sgd"}, {"lr", 0.1}}), m);
  const std::string html = report::explain_html(e, u);
  CHECK(html.find("Look first at <b>[1] slipped_tanh</b>") != std::string::npos);
  CHECK(html.find("class=\"bad\"") != std::string::npos);
}

TEST_CASE("explain_update: the first step of SGD with momentum and of Adam, slot by slot, as PyTorch takes it") {
  Model<double> m = network("tanh");
  explain_step(m, batch(), kLabels, "cross_entropy");
  const MatD g = *m.parameters()[0].grad;

  const ExplainedUpdate s = explain_update(resolve_optimizer({{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}}), m);
  CHECK(s.param == "layers.0.weight");
  REQUIRE(s.index.size() == 2);
  // The weight with the largest |gradient|, at its logical index [out][in].
  Index r = 0, c = 0;
  g.cwiseAbs().maxCoeff(&r, &c);
  CHECK(s.index[0] == r);
  CHECK(s.index[1] == c);
  CHECK(s.grad == doctest::Approx(g(r, c)).epsilon(1e-6));
  REQUIRE(s.slots.size() == 1);
  CHECK(s.slots[0].first == "momentum_buffer");
  CHECK(s.slots[0].second == doctest::Approx(s.grad).epsilon(1e-6));  // the first buffer is the gradient
  CHECK(s.new_value == doctest::Approx(s.value - 0.1 * s.grad).epsilon(1e-6));
  CHECK(s.settings.find("momentum=0.9") != std::string::npos);
  CHECK(*m.parameters()[0].grad == g);  // the model is not touched

  const ExplainedUpdate a = explain_update(resolve_optimizer({{"type", "adam"}, {"lr", 0.01}}), m);
  REQUIRE(a.slots.size() >= 2);
  double exp_avg = 0, exp_avg_sq = 0;
  for (const auto& [name, v] : a.slots) {
    if (name == "exp_avg") exp_avg = v;
    if (name == "exp_avg_sq") exp_avg_sq = v;
  }
  CHECK(exp_avg == doctest::Approx(0.1 * a.grad).epsilon(1e-5));  // (1 − β1)·g
  CHECK(exp_avg_sq == doctest::Approx(0.001 * a.grad * a.grad).epsilon(1e-5));  // (1 − β2)·g²
  // Bias-corrected, the first Adam step is lr·sign(g) (up to eps).
  CHECK(a.new_value == doctest::Approx(a.value - 0.01 * (a.grad > 0 ? 1 : -1)).epsilon(1e-4));
}

TEST_CASE("explain_html: the layer graph, the unit graph of a small network, one table per layer and the update") {
  Model<double> m = network("tanh");
  const Explanation e = explain_step(m, batch(), kLabels, "cross_entropy");
  const ExplainedUpdate u = explain_update(resolve_optimizer({{"type", "sgd"}, {"lr", 0.1}}), m);
  const std::string html = report::explain_html(e, u);
  CHECK(html.find("<meta name=\"nnlab-tables\" content=\"4\">") != std::string::npos);
  CHECK(html.find("<meta name=\"nnlab-plots\" content=\"2\">") != std::string::npos);
  CHECK(test::count_of(html, "<table") == 4);
  CHECK(test::count_of(html, "<svg") == 2);
  CHECK(html.find("all agree") != std::string::npos);
  CHECK(html.find("Look first at") == std::string::npos);
  // The unit graph lists the incoming weights of each dense unit: 4 units × 3 inputs, 2 units × 4 inputs.
  CHECK(test::count_of(html, ">w0 ") == 6);
  CHECK(html.find("y = tanh(x)") != std::string::npos);
  CHECK(html.find("momentum_buffer") == std::string::npos);  // plain SGD keeps no state
}
