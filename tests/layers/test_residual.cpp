// Residual blocks: gradient checks (identity and projection shortcuts, a learnable activation, two
// blocks in a model), PyTorch-style names, the shape and nested-key errors with their paths, the
// resolved config, distinct init streams, the random state of a dropout inside, input gradients off.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "support/layers_reference.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

LayerPtr<double> residual(const json& params, Index width, std::uint64_t seed = 3) {
  return make_layer<double>("residual", width, params, seed);
}

// check_layer, with every variable present and really compared.
void check_block(Layer<double>& block, const MatD& x, const std::vector<std::string>& names) {
  const auto r = check_layer(block, x);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  std::vector<std::string> got;
  for (const auto& e : r.entries) {
    got.push_back(e.name);
    CHECK(e.compared > 0);
    CHECK(e.max_abs_gradient > 0);
  }
  CHECK(got == names);
}

std::string build_error(const json& layers, Index width) {
  try {
    build_model<double>(layers, width, 1);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("residual with an identity shortcut: y = body(x) + x, gradient-checked") {
  auto block = residual({{"body", json::parse(R"([{"type": "dense", "out_features": 7}, "tanh",
                                                  {"type": "dense", "out_features": 5}])")}},
                        5);
  CHECK(block->type() == "residual");
  CHECK(block->input_shape() == Shape{5});
  CHECK(block->output_shape() == Shape{5});
  const MatD x = gradcheck_input(8, 5, 11);
  // The forward is literally the body plus the input.
  auto body = build_model<double>(json::parse(R"([{"type": "dense", "out_features": 7}, "tanh",
                                                  {"type": "dense", "out_features": 5}])"), 5, 3);
  auto bp = body.parameters();
  auto rp = block->parameters();
  REQUIRE(bp.size() == rp.size());
  for (std::size_t i = 0; i < bp.size(); ++i) *bp[i].value = *rp[i].value;
  const MatD expected = body.forward(x, false) + x;
  CHECK((block->forward(x, false) - expected).cwiseAbs().maxCoeff() == 0.0);
  check_block(*block, x, {"input", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"});
}

TEST_CASE("residual with a dense projection shortcut and an activation after the sum") {
  auto block = residual({{"body", json::parse(R"([{"type": "dense", "out_features": 6}, "tanh",
                                                  {"type": "dense", "out_features": 4}])")},
                         {"shortcut", json::parse(R"([{"type": "dense", "out_features": 4, "bias": false}])")},
                         {"activation", "tanh"}},
                        5);
  CHECK(block->output_shape() == Shape{4});
  check_block(*block, gradcheck_input(8, 5, 12),
              {"input", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "shortcut.0.weight"});
}

TEST_CASE("residual with a PReLU activation: its slopes are checked too") {
  auto block = residual({{"body", json::parse(R"([{"type": "dense", "out_features": 6}, "tanh",
                                                  {"type": "dense", "out_features": 6}])")},
                         {"activation", {{"type", "prelu"}, {"num_parameters", 6}}}},
                        6);
  auto ps = block->parameters();
  REQUIRE(ps.size() == 5);
  CHECK(ps[4].name == "activation.weight");
  CHECK_FALSE(ps[4].weight_decay);  // the activation's own flags survive the renaming
  // PReLU's kink is at z = body(x) + x = 0, which the checker cannot see from x: keep the rows of the
  // test input whose sums all lie clear of it (the same block without its activation gives z).
  auto sum = residual({{"body", json::parse(R"([{"type": "dense", "out_features": 6}, "tanh",
                                                {"type": "dense", "out_features": 6}])")}},
                      6);
  const MatD candidates = gradcheck_input(16, 6, 13);
  const MatD z = sum->forward(candidates, false);
  std::vector<Index> rows;
  for (Index r = 0; r < z.rows(); ++r)
    if (z.row(r).cwiseAbs().minCoeff() > 1e-2) rows.push_back(r);
  REQUIRE(rows.size() >= 6);
  MatD x(static_cast<Index>(rows.size()), 6);
  for (std::size_t i = 0; i < rows.size(); ++i) x.row(static_cast<Index>(i)) = candidates.row(rows[i]);
  CHECK((block->forward(x, false).array() < 0).any());  // both sides of the kink are exercised
  CHECK((block->forward(x, false).array() > 0).any());
  check_block(*block, x, {"input", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "activation.weight"});
}

TEST_CASE("a model with two residual blocks passes the whole-model gradient check; names are PyTorch's") {
  const json layers = json::parse(R"([
    {"type": "dense", "out_features": 6},
    {"type": "residual", "body": [{"type": "dense", "out_features": 6}, "tanh", {"type": "dense", "out_features": 6}],
     "activation": "tanh"},
    {"type": "residual", "body": [{"type": "dense", "out_features": 4}, "sigmoid", {"type": "dense", "out_features": 3}],
     "shortcut": [{"type": "dense", "out_features": 3}]}])");
  auto model = build_model<double>(layers, 4, 7);
  std::vector<std::string> names;
  for (const auto& p : model.parameters()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.body.0.weight",
                                          "layers.1.body.0.bias", "layers.1.body.2.weight", "layers.1.body.2.bias",
                                          "layers.2.body.0.weight", "layers.2.body.0.bias", "layers.2.body.2.weight",
                                          "layers.2.body.2.bias", "layers.2.shortcut.0.weight",
                                          "layers.2.shortcut.0.bias"});
  const MatD x = random_batch<double>(5, 4, 12);
  std::vector<std::int32_t> labels = {0, 2, 1, 1, 0};
  SoftmaxCrossEntropy<double> loss;
  Target<double> t;
  t.labels = labels;
  GradCheckOptions opt;
  opt.step = 1e-5;  // a scalar objective: a larger step against cancellation
  opt.tolerance = 1e-5;
  const auto r = check_model(model, loss, x, t, opt);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
  CHECK(r.entries.size() == names.size() + 1);
}

TEST_CASE("batchnorm buffers inside a residual body are named like PyTorch's and saved with the model") {
  auto model = build_model<float>(json::parse(R"([{"type": "residual",
    "body": [{"type": "dense", "out_features": 3}, "batchnorm"]}])"), 3, 1);
  std::set<std::string> names;
  for (const auto& b : model.buffers()) names.insert(b.name);
  CHECK(names.count("layers.0.body.1.running_mean") == 1);
  CHECK(names.count("layers.0.body.1.running_var") == 1);
}

TEST_CASE("residual: body and shortcut that disagree are a ShapeError naming both shapes and the path") {
  std::string msg = build_error(json::parse(R"([{"type": "dense", "out_features": 8}, "relu",
    {"type": "residual", "body": [{"type": "dense", "out_features": 4}]}])"), 3);
  CHECK(contains(msg, "model.layers[2]: residual body gives [4] but the shortcut gives [8] (the identity"));
  msg = build_error(json::parse(R"([{"type": "residual", "body": [{"type": "dense", "out_features": 4}],
    "shortcut": [{"type": "dense", "out_features": 5}]}])"), 3);
  CHECK(contains(msg, "model.layers[0]: residual body gives [4] but the shortcut gives [5]"));
  CHECK_THROWS_AS(build_model<double>(json::parse(R"([{"type": "residual", "body": [{"type": "dense", "out_features": 4}]}])"), 3, 1),
                  ShapeError);
}

TEST_CASE("residual: errors inside the body, shortcut and activation name the nested key") {
  const auto resolve_error = [](const json& spec) {
    try {
      resolve_layer(spec, "model.layers[3]");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string msg = resolve_error(json::parse(R"({"type": "residual",
    "body": [{"type": "dense", "out_features": 4}, {"type": "dense", "out_featurs": 4}]})"));
  CHECK(contains(msg, "model.layers[3].body[1].out_featurs: unknown key"));
  CHECK(contains(msg, "did you mean 'out_features'"));
  msg = resolve_error(json::parse(R"({"type": "residual", "body": ["relu"], "shortcut": ["rleu"]})"));
  CHECK(contains(msg, "model.layers[3].shortcut[0]: unknown layer 'rleu'"));
  CHECK(contains(msg, "did you mean 'relu'"));
  msg = resolve_error(json::parse(R"({"type": "residual", "body": ["relu"], "activation": {"type": "elu", "alpah": 1}})"));
  CHECK(contains(msg, "model.layers[3].activation.alpah: unknown key"));
  msg = resolve_error(json::parse(R"({"type": "residual", "body": []})"));
  CHECK(contains(msg, "model.layers[3].body: expected a non-empty array of layer specs"));
  msg = resolve_error(json::parse(R"({"type": "residual"})"));
  CHECK(contains(msg, "model.layers[3].body: missing required key"));
  msg = resolve_error(json::parse(R"({"type": "residual", "body": "relu"})"));
  CHECK(contains(msg, "model.layers[3].body: expected an array of layer specs, got a string"));
  msg = resolve_error(json::parse(R"({"type": "residual", "body": ["relu"], "activation": 3})"));
  CHECK(contains(msg, "model.layers[3].activation: expected a layer spec or null"));
  // Errors found while building (a factory's ConfigError, a ShapeError) name the nested key once.
  msg = build_error(json::parse(R"([{"type": "residual", "body": [{"type": "dense", "out_features": 4},
    {"type": "dense", "in_features": 5, "out_features": 3}]}])"), 3);
  CHECK(contains(msg, "model.layers[0].body[1]: in_features is 5 but the input [4] has 4 values"));
  CHECK_FALSE(contains(msg, "model.layers[0]: model.layers[0]"));
  msg = build_error(json::parse(R"([{"type": "residual", "body": [{"type": "dense", "out_features": 3}],
    "activation": {"type": "prelu", "num_parameters": 2}}])"), 3);
  CHECK(contains(msg, "model.layers[0].activation: num_parameters is 2"));
  // Residuals nest, with paths and names to match.
  msg = build_error(json::parse(R"([{"type": "residual", "body": [{"type": "residual",
    "body": [{"type": "dense", "out_features": 2}]}]}])"), 3);
  CHECK(contains(msg, "model.layers[0].body[0]: residual body gives [2] but the shortcut gives [3]"));
}

TEST_CASE("residual: the resolved config spells out nested layers with defaults and input widths") {
  const LayerSpec spec = resolve_layer(json::parse(R"({"type": "residual",
    "body": [{"type": "dense", "out_features": 4}, "relu", {"type": "dense", "out_features": 3}],
    "shortcut": [{"type": "dense", "out_features": 3}], "activation": "relu"})"), "model.layers[0]");
  const json unbuilt = spec.to_json();
  CHECK(unbuilt["body"][0] == json{{"type", "dense"}, {"out_features", 4}, {"in_features", 0}, {"bias", true},
                                  {"init", "pytorch"}});
  CHECK(unbuilt["body"][1] == json{{"type", "relu"}});
  CHECK(unbuilt["activation"] == json{{"type", "relu"}});
  const Shape in{5};
  const json built = spec.to_json(&in);
  CHECK(built["body"][0]["in_features"] == 5);
  CHECK(built["body"][2]["in_features"] == 4);
  CHECK(built["shortcut"][0]["in_features"] == 5);
  // Re-resolving the resolved form gives the same spec (configs are saved and loaded again).
  CHECK(resolve_layer(built, "model.layers[0]").to_json(&in) == built);
  const json none = resolve_layer(json::parse(R"({"type": "residual", "body": ["relu"]})"), "m").to_json();
  CHECK(none["shortcut"] == json::array());
  CHECK(none["activation"].is_null());
}

TEST_CASE("residual: every nested layer draws its own init stream, reproducibly") {
  const json block = json::parse(R"({"type": "residual", "body": [{"type": "dense", "out_features": 4},
                                                                 {"type": "dense", "out_features": 4}]})");
  const json layers = json::array({{{"type", "dense"}, {"out_features", 4}}, block, block});
  auto a = build_model<float>(layers, 4, 9), b = build_model<float>(layers, 4, 9), c = build_model<float>(layers, 4, 10);
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  REQUIRE(pa.size() == 10);
  std::vector<MatF> weights;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    CHECK(*pa[i].value == *pb[i].value);  // same seed: bit-identical
    CHECK(*pa[i].value != *pc[i].value);  // another seed: different
    if (pa[i].name.find("weight") != std::string::npos) weights.push_back(*pa[i].value);
  }
  // The top-level dense and the four nested ones (two blocks, two positions) all differ.
  REQUIRE(weights.size() == 5);
  for (std::size_t i = 0; i < weights.size(); ++i)
    for (std::size_t j = i + 1; j < weights.size(); ++j) CHECK(weights[i] != weights[j]);
  const MatF x = random_batch<float>(6, 4, 2);
  CHECK(a.forward(x, false) == b.forward(x, false));
  // The indices themselves: disjoint from the top level, decodable, and an error past their range.
  CHECK(nested_index(0, 0, 0) == max_top_level_layers);
  CHECK(nested_index(1, 0, 0) != nested_index(0, 1, 0));
  CHECK(nested_index(3, 2, 5) == 4 * max_top_level_layers + 2 * (std::int64_t{1} << 18) + 5);
  const std::int64_t third = nested_index(nested_index(nested_index(0, 0, 0), 0, 0), 0, 0);  // 3 levels deep: fine
  CHECK(third > 0);
  CHECK_THROWS_AS(nested_index(third, 0, 0), ConfigError);
}

TEST_CASE("residual: a dropout inside the body resumes bit-identically from the saved random state") {
  const json spec = json::parse(R"({"body": [{"type": "dense", "out_features": 16}, {"type": "dropout", "p": 0.5},
                                             {"type": "dense", "out_features": 8}],
                                    "activation": "relu"})");
  auto a = make_layer<float>("residual", 8, spec, 4);
  const MatF x = random_batch<float>(8, 8, 5);
  a->forward(x, true);
  const auto saved = a->rng_state();
  REQUIRE(saved.size() == 4);  // the dropout's four xoshiro words
  const MatF y1 = a->forward(x, true), y2 = a->forward(x, true);
  CHECK(y1 != y2);
  auto b = make_layer<float>("residual", 8, spec, 4);
  b->set_rng_state(saved);
  CHECK(b->forward(x, true) == y1);
  CHECK(b->forward(x, true) == y2);
  CHECK(b->rng_state() == a->rng_state());
  CHECK_THROWS_AS(b->set_rng_state({1, 2, 3}), CheckpointError);
  // Without a random layer the state is empty.
  CHECK(make_layer<float>("residual", 3, {{"body", json::array({"relu"})}})->rng_state().empty());
}

TEST_CASE("residual as the first layer without input gradients: same parameter gradients, no dx") {
  const json spec = {{"body", json::parse(R"([{"type": "dense", "out_features": 32}, "relu", {"type": "dense", "out_features": 16}])")},
                     {"shortcut", json::parse(R"([{"type": "dense", "out_features": 16}])")}};
  auto with = make_layer<float>("residual", 16, spec, 1), without = make_layer<float>("residual", 16, spec, 1);
  without->set_input_grad(false);
  const MatF x = random_batch<float>(12, 16, 1), dy = random_batch<float>(12, 16, 2);
  with->forward(x, true);
  without->forward(x, true);
  CHECK(with->backward(dy).rows() == 12);
  CHECK(without->backward(dy).size() == 0);  // never computed, so never even sized
  auto pw = with->parameters(), po = without->parameters();
  REQUIRE(pw.size() == 6);
  for (std::size_t i = 0; i < pw.size(); ++i) CHECK(*pw[i].grad == *po[i].grad);
}

TEST_CASE("residual: buffers keep their storage from one batch to the next; flops add up") {
  auto block = make_layer<float>("residual", 10,
                                 {{"body", json::parse(R"([{"type": "dense", "out_features": 20}, "relu",
                                                            {"type": "dense", "out_features": 10}])")},
                                  {"activation", "relu"}});
  const MatF x = random_batch<float>(16, 10, 3), dy = random_batch<float>(16, 10, 4);
  const float* y0 = block->forward(x, true).data();
  const float* dx0 = block->backward(dy).data();
  const float* y1 = block->forward(x, true).data();
  const float* dx1 = block->backward(dy).data();
  CHECK(y0 == y1);
  CHECK(dx0 == dx1);
  // dense 2·10·20 + relu 20 + dense 2·20·10 + the sum 10 + relu 10.
  CHECK(block->flops() == doctest::Approx(400 + 20 + 400 + 10 + 10));
}
