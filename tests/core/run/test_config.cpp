// Config validation: every mistake names its JSON path and, for typos, the nearest valid name.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/run/config.hpp"
#include "core/error.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "model": {"hidden": [16, 8], "activation": "relu", "classes": 3},
    "data": {"dataset": "spirals"},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 2, "batch_size": 32, "seed": 3}
  })");
}

// The message of the ConfigError that resolving `doc` throws ("" if none).
std::string error_of(json doc, const std::vector<std::string>& overrides = {}) {
  try {
    for (const auto& o : overrides) apply_override(doc, o);
    resolve_config(doc, "test.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a valid config resolves with every default filled in") {
  RunConfig cfg = resolve_config(base(), "configs/example.json");
  CHECK(cfg.train.epochs == 2);
  CHECK(cfg.train.batch_size == 32);
  CHECK(cfg.train.seed == 3);
  CHECK(cfg.train.loss == "cross_entropy");
  CHECK(cfg.optimizer["nesterov"] == false);
  CHECK(cfg.optimizer["weight_decay"] == 0.0);
  CHECK(cfg.data["validation_split"] == 0.0);
  CHECK(cfg.output_dir == "runs/example");
  CHECK(cfg.resolved["model"]["activation"]["type"] == "relu");
}

TEST_CASE("misspelt keys name the path and the nearest valid key") {
  json doc = base();
  doc["train"]["epoch"] = 3;
  std::string msg = error_of(doc);
  CHECK(contains(msg, "train.epoch: unknown key"));
  CHECK(contains(msg, "did you mean 'epochs'"));

  doc = base();
  doc["optimiser"] = doc["optimizer"];
  msg = error_of(doc);
  CHECK(contains(msg, "optimiser: unknown key"));
  CHECK(contains(msg, "did you mean 'optimizer'"));

  msg = error_of(base(), {"optimizer.momentun=0.5"});
  CHECK(contains(msg, "optimizer.momentun"));
  CHECK(contains(msg, "did you mean 'momentum'"));

  msg = error_of(base(), {"model.hiden=[4]"});
  CHECK(contains(msg, "model.hiden"));
  CHECK(contains(msg, "did you mean 'hidden'"));
}

TEST_CASE("unknown names of activations, optimizers and data sets suggest the nearest") {
  std::string msg = error_of(base(), {"model.activation=rleu"});
  CHECK(contains(msg, "model.activation"));
  CHECK(contains(msg, "did you mean 'relu'"));

  msg = error_of(base(), {"optimizer.type=sdg"});
  CHECK(contains(msg, "optimizer.type"));
  CHECK(contains(msg, "did you mean 'sgd'"));

  msg = error_of(base(), {"data.dataset=spiral"});
  CHECK(contains(msg, "data.dataset"));
  CHECK(contains(msg, "did you mean 'spirals'"));

  json doc = base();
  doc["model"]["activation"] = json{{"type", "relu"}, {"alpah", 1}};
  msg = error_of(doc);
  CHECK(contains(msg, "model.activation.alpah: unknown key"));
}

TEST_CASE("wrong types and impossible values are errors with the path") {
  std::string msg = error_of(base(), {"train.epochs=\"ten\""});
  CHECK(contains(msg, "train.epochs: expected an integer, got a string"));

  msg = error_of(base(), {"train.epochs=2.5"});
  CHECK(contains(msg, "train.epochs: expected an integer"));

  msg = error_of(base(), {"train.batch_size=0"});
  CHECK(contains(msg, "train.batch_size: 0 is out of range"));

  msg = error_of(base(), {"optimizer.lr=-1"});
  CHECK(contains(msg, "optimizer.lr: -1 is out of range"));

  msg = error_of(base(), {"model.hidden=[16, -2]"});
  CHECK(contains(msg, "model.hidden[1]"));

  msg = error_of(base(), {"train.loss=crossentropy"});
  CHECK(contains(msg, "did you mean 'cross_entropy'"));

  msg = error_of(base(), {"optimizer.nesterov=true"});  // momentum 0.9 is set: fine
  CHECK(msg.empty());
  msg = error_of(base(), {"optimizer.nesterov=true", "optimizer.momentum=0"});
  CHECK(contains(msg, "nesterov"));

  json doc = base();
  doc["model"]["layers"] = json::array({"relu"});
  msg = error_of(doc);
  CHECK(contains(msg, "MLP shorthand"));

  doc = base();
  doc.erase("model");
  CHECK(contains(error_of(doc), "model: missing"));
}

TEST_CASE("overrides: numbers, strings, arrays, objects and nested paths") {
  json doc = base();
  apply_override(doc, "train.epochs=7");
  apply_override(doc, "model.activation=elu");
  apply_override(doc, "model.activation.alpha=0.5");  // a bare name becomes {"type": ...}
  apply_override(doc, "model.hidden=[32,16,8]");
  apply_override(doc, "output.dir=/tmp/x");
  CHECK(doc["train"]["epochs"] == 7);
  CHECK(doc["model"]["activation"] == json{{"type", "elu"}, {"alpha", 0.5}});
  CHECK(doc["model"]["hidden"] == json::array({32, 16, 8}));
  CHECK(doc["output"]["dir"] == "/tmp/x");
  CHECK_THROWS_AS(apply_override(doc, "train.epochs"), ConfigError);
  CHECK_THROWS_AS(apply_override(doc, "model.hidden.x=1"), ConfigError);
}

TEST_CASE("the MLP shorthand expands to dense/activation layers and model.activation swaps them all") {
  RunConfig cfg = resolve_config(base(), "t.json");
  resolve_data_shape(cfg, 2, 3);
  const json& layers = cfg.model["layers"];
  REQUIRE(layers.size() == 5);
  CHECK(layers[0]["type"] == "dense");
  CHECK(layers[0]["out_features"] == 16);
  CHECK(layers[1]["type"] == "relu");
  CHECK(layers[3]["type"] == "relu");
  CHECK(layers[4]["out_features"] == 3);

  json doc = base();
  apply_override(doc, "model.activation=elu");
  cfg = resolve_config(doc, "t.json");
  resolve_data_shape(cfg, 2, 3);
  CHECK(cfg.model["layers"][1]["type"] == "elu");
  CHECK(cfg.model["layers"][1]["alpha"] == 1.0);
  CHECK(cfg.model["layers"][3]["type"] == "elu");

  // The data decides the input width; a contradicting model.input is an error.
  doc = base();
  doc["model"]["input"] = 5;
  cfg = resolve_config(doc, "t.json");
  CHECK_THROWS_WITH_AS(resolve_data_shape(cfg, 2, 3), doctest::Contains("model.input is 5"), ShapeError);
}

TEST_CASE("missing or malformed config files") {
  CHECK_THROWS_WITH_AS(load_config("/nonexistent/x.json"), doctest::Contains("config file not found"), ConfigError);
}
