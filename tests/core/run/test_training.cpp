// A training run (core/run/trainer.cpp) from a config on synthetic data: it learns, writes its outputs,
// is reproducible, stops on divergence and early, and holds out a validation split.
#include <doctest/doctest.h>

#include <algorithm>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/run/spec.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

RunSpec spiral_config(const fs::path& out, const std::vector<std::string>& overrides = {}) {
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
  RunSpec cfg = spiral_config(dir.path);
  const auto history = run_training(cfg);
  REQUIRE(history.size() == 30);
  // Three interleaved spirals are not linearly separable (a linear model gets ~50%); the MLP must.
  // At lr 0.1 with momentum the last epochs swing by several points (seeds 1-8: final 0.88-0.97,
  // best 0.96-0.98), so the best epoch is held to 0.90 and the last to well above a linear model.
  double best = 0;
  for (const auto& m : history) best = std::max(best, m.test.accuracy);
  CHECK(best >= 0.90);
  CHECK(history.back().test.accuracy >= 0.80);
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
  RunSpec ca = spiral_config(a.path, {"train.epochs=3", "train.threads=2"});
  RunSpec cb = spiral_config(b.path, {"train.epochs=3", "train.threads=2"});
  RunSpec cc = spiral_config(c.path, {"train.epochs=3", "train.threads=2", "train.seed=6"});
  run_training(ca);
  run_training(cb);
  run_training(cc);
  CHECK(metrics_without_time(slurp(a.path / "metrics.csv")) == metrics_without_time(slurp(b.path / "metrics.csv")));
  CHECK(read_file(a.path / "model.safetensors") == read_file(b.path / "model.safetensors"));
  CHECK(read_file(a.path / "model.safetensors") != read_file(c.path / "model.safetensors"));
}

TEST_CASE("a diverging run stops with a clear error") {
  TempDir dir("training");
  RunSpec cfg = spiral_config(dir.path, {"model.activation=relu", "optimizer.lr=1e30", "train.epochs=2"});
  CHECK_THROWS_WITH_AS(run_training(cfg), doctest::Contains("diverged"), DivergedError);
}

TEST_CASE("validation split holds out the requested fraction, disjoint from training") {
  TempDir dir("training");
  RunSpec cfg = spiral_config(dir.path, {"data.validation_split=0.25"});
  const RunData d = load_run_data(cfg.data, cfg.train.seed);
  const Index total = d.train.rows + d.validation.rows;
  CHECK(d.validation.rows == static_cast<Index>(std::llround(0.25 * static_cast<double>(total))));
  CHECK(d.test.rows > 0);
  cfg = spiral_config(dir.path, {"data.validation_split=0.25", "train.epochs=2"});
  const auto h = run_training(cfg);
  CHECK(h.back().validation.samples == d.validation.rows);
  CHECK(h.back().validation.accuracy >= 0.0);
}

TEST_CASE("early stopping stops after `patience` epochs without improvement") {
  TempDir dir("training-early");
  json doc = json::parse(R"({"model": {"hidden": [16], "activation": "tanh"},
    "data": {"dataset": "spirals", "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 4, "batch_size": 32, "seed": 2, "threads": 1, "patience": 2, "monitor": "val_loss"}})");
  doc["optimizer"]["lr"] = 0.0;  // nothing improves after epoch 1
  doc["optimizer"]["momentum"] = 0.0;
  doc["train"]["epochs"] = 10;
  doc["output"]["dir"] = (dir / "run").string();
  RunSpec cfg = resolve_config(doc, "early.json");
  int stopped = 0;
  RunCallbacks cb;
  cb.on_early_stop = [&](int epoch, int best_epoch, double) { stopped = epoch * 100 + best_epoch; };
  const auto h = run_training(cfg, cb);
  CHECK(h.size() == 3);
  CHECK(stopped == 301);
}
