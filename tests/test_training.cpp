// End to end: a run from a config on synthetic data learns, writes its outputs, and is reproducible.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/run/config.hpp"
#include "core/io/fileio.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/trainer.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

RunConfig spiral_config(const fs::path& out, const std::vector<std::string>& overrides = {}) {
  json doc = json::parse(R"({
    "model": {"hidden": [32, 32], "activation": "tanh"},
    "data": {"dataset": "spirals"},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 30, "batch_size": 32, "seed": 5, "threads": 1}
  })");
  doc["output"]["dir"] = out.string();
  for (const auto& o : overrides) apply_override(doc, o);
  return resolve_config(doc, "spirals.json");
}

}  // namespace

TEST_CASE("an MLP learns the spirals from a config and writes config.json, metrics.csv, model.safetensors") {
  TempDir dir("training");
  RunConfig cfg = spiral_config(dir.path);
  const auto history = run_training(cfg);
  REQUIRE(history.size() == 30);
  // Three interleaved spirals are not linearly separable (a linear model gets ~50%); the MLP must.
  CHECK(history.back().test.accuracy >= 0.90);
  CHECK(history.back().train.loss < history.front().train.loss * 0.5);

  const auto csv = file_lines(dir.path / "metrics.csv");
  REQUIRE(csv.size() == 31);
  CHECK(csv[0].rfind("epoch,train_loss,train_acc,test_loss,test_acc,seconds", 0) == 0);
  CHECK(csv[1].rfind("1,", 0) == 0);
  CHECK(file_lines(dir.path / "metrics.jsonl").size() == 30);

  const json saved = json::parse(read_file(dir.path / "config.json"));
  CHECK(saved["train"]["epochs"] == 30);
  CHECK(saved["model"]["input"] == 2);
  CHECK(saved["model"]["classes"] == 3);

  const TensorFile weights = load_safetensors(dir.path / "model.safetensors");
  REQUIRE(weights.tensors.count("layers.0.weight"));
  CHECK(weights.tensors.at("layers.0.weight").shape == std::vector<std::int64_t>{32, 2});
  CHECK(weights.tensors.at("layers.4.bias").shape == std::vector<std::int64_t>{3});
  CHECK(weights.tensors.size() == 6);

  // The saved config runs again as is.
  CHECK_NOTHROW(load_config((dir.path / "config.json").string()));
}

TEST_CASE("same config and seed give bit-identical metrics and weights; another seed differs") {
  TempDir a("training-a"), b("training-b"), c("training-c");
  RunConfig ca = spiral_config(a.path, {"train.epochs=3", "train.threads=2"});
  RunConfig cb = spiral_config(b.path, {"train.epochs=3", "train.threads=2"});
  RunConfig cc = spiral_config(c.path, {"train.epochs=3", "train.threads=2", "train.seed=6"});
  run_training(ca);
  run_training(cb);
  run_training(cc);
  CHECK(metrics_without_time(slurp(a.path / "metrics.csv")) == metrics_without_time(slurp(b.path / "metrics.csv")));
  CHECK(read_file(a.path / "model.safetensors") == read_file(b.path / "model.safetensors"));
  CHECK(read_file(a.path / "model.safetensors") != read_file(c.path / "model.safetensors"));
}

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

TEST_CASE("gradient check of a whole MLP with its loss") {
  const json layers = json::array({json{{"type", "dense"}, {"out_features", 5}}, "tanh",
                                    json{{"type", "dense"}, {"out_features", 4}}, "sigmoid",
                                    json{{"type", "dense"}, {"out_features", 3}}});
  auto model = build_model<double>(layers, 4, 2);
  SoftmaxCrossEntropy<double> ce;
  const MatD x = gradcheck_input(8, 4, 3).bottomRows(5);
  std::vector<std::int32_t> labels = {0, 1, 2, 1, 0};
  GradCheckOptions opt;
  opt.step = 1e-4;
  const auto r = check_model(model, ce, x, {labels, nullptr}, opt);
  INFO(r.format());
  CHECK(r.ok());
  CHECK(r.entries.size() == 7);  // input + 3 weights + 3 biases
}

TEST_CASE("a diverging run stops with a clear error") {
  TempDir dir("training");
  RunConfig cfg = spiral_config(dir.path, {"model.activation=relu", "optimizer.lr=1e30", "train.epochs=2"});
  CHECK_THROWS_WITH_AS(run_training(cfg), doctest::Contains("diverged"), DivergedError);
}

TEST_CASE("validation split holds out the requested fraction, disjoint from training") {
  TempDir dir("training");
  RunConfig cfg = spiral_config(dir.path, {"data.validation_split=0.25"});
  const RunData d = load_run_data(cfg);
  const Index total = d.train.rows + d.validation.rows;
  CHECK(d.validation.rows == static_cast<Index>(std::llround(0.25 * static_cast<double>(total))));
  CHECK(d.test.rows > 0);
  cfg = spiral_config(dir.path, {"data.validation_split=0.25", "train.epochs=2"});
  const auto h = run_training(cfg);
  CHECK(h.back().validation.samples == d.validation.rows);
  CHECK(h.back().validation.accuracy >= 0.0);
}
