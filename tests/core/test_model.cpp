// Model: built from a config layer list (dense, activations, flatten, batchnorm, dropout), its
// initial weights by seed, the first layer's skipped input gradient, training a small model of
// every layer kind, and its weights and buffers through safetensors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/registry.hpp"
#include "core/rng.hpp"
#include "core/state.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("the same seed gives the same initial weights whatever the activation") {
  const json layers_relu = json::array({json{{"type", "dense"}, {"out_features", 8}}, "relu",
                                        json{{"type", "dense"}, {"out_features", 3}}});
  json layers_elu = layers_relu;
  layers_elu[1] = "elu";
  auto m1 = build_model<float>(layers_relu, 4, 9);
  auto m2 = build_model<float>(layers_elu, 4, 9);
  auto m3 = build_model<float>(layers_relu, 4, 10);
  CHECK(*m1.parameters()[0].value == *m2.parameters()[0].value);
  CHECK(*m1.parameters()[2].value == *m2.parameters()[2].value);
  CHECK(*m1.parameters()[0].value != *m3.parameters()[0].value);
}

TEST_CASE("Model::set_input_grad(false) turns off only the first layer's dx; parameter gradients unchanged") {
  const auto spec = nlohmann::json::parse(R"([{"type": "dense", "out_features": 16}, {"type": "tanh"},
                                             {"type": "dense", "out_features": 3}])");
  Model<float> a = build_model<float>(spec, 8, 7), b = build_model<float>(spec, 8, 7);
  b.set_input_grad(false);
  CHECK(a.layer(0).input_grad());
  CHECK_FALSE(b.layer(0).input_grad());
  CHECK(b.layer(1).input_grad());
  CHECK(b.layer(2).input_grad());
  const MatF x = random_matrix(5, 8, 3), dy = random_matrix(5, 3, 4);
  CHECK(a.forward(x, true) == b.forward(x, true));
  CHECK(a.backward(dy).rows() == 5);
  b.backward(dy);
  auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(*pa[i].grad == *pb[i].grad);
}

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
