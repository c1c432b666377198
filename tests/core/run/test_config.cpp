// Config validation: every mistake names its JSON path and, for typos, the nearest valid name.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "apps/sweep/experiment.hpp"
#include "core/io/fileio.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "core/error.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;
namespace fs = std::filesystem;

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
  RunSpec cfg = resolve_config(base(), "configs/example.json");
  CHECK(cfg.train.epochs == 2);
  CHECK(cfg.train.batch_size == 32);
  CHECK(cfg.train.seed == 3);
  CHECK(cfg.train.loss == "cross_entropy");
  CHECK(cfg.optimizer.args.boolean("nesterov") == false);
  CHECK(cfg.optimizer.args.number("weight_decay") == 0.0);
  CHECK(cfg.data.validation_split == 0.0);
  CHECK(cfg.output.dir == "runs/example");
  const json resolved = cfg.to_json();
  CHECK(resolved["model"]["activation"]["type"] == "relu");
  CHECK(resolved["optimizer"]["nesterov"] == false);
  CHECK(resolved["data"]["validation_split"] == 0.0);
  CHECK(resolved["train"]["monitor"] == "none");  // "auto" without a validation split
  CHECK(resolved["output"]["dir"] == "runs/example");
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
  const RunSpec cfg = resolve_config(base(), "t.json");
  CHECK(cfg.model.layers.empty());  // the shorthand is expanded only for a data shape
  const ModelSpec bound = cfg.model.bind(Shape{2}, 3, "spirals");
  const auto& layers = bound.layers;
  REQUIRE(layers.size() == 5);
  CHECK(layers[0].entry->name == "dense");
  CHECK(layers[0].args.integer("out_features") == 16);
  CHECK(layers[1].entry->name == "relu");
  CHECK(layers[3].entry->name == "relu");
  CHECK(layers[4].args.integer("out_features") == 3);
  // Each expanded layer names the key it comes from (so messages name what the user wrote).
  CHECK(layers[0].path == "model.hidden[0]");
  CHECK(layers[1].path == "model.activation");
  CHECK(layers[2].path == "model.hidden[1]");
  CHECK(layers[4].path == "model.classes");
  // bind is pure: the spec is unchanged, and binding again gives the same layers.
  CHECK(cfg.model.layers.empty());
  CHECK(cfg.model.input == 0);
  CHECK(bound.input == 2);
  CHECK(cfg.model.bind(Shape{2}, 3, "spirals").to_json() == bound.to_json());

  json doc = base();
  apply_override(doc, "model.activation=elu");
  const ModelSpec elu = resolve_config(doc, "t.json").model.bind(Shape{2}, 3, "spirals");
  CHECK(elu.layers[1].entry->name == "elu");
  CHECK(elu.layers[1].args.number("alpha") == 1.0);
  CHECK(elu.layers[3].entry->name == "elu");
  // The saved config keeps the shorthand, with the data's input width and class count.
  const json saved = elu.to_json();
  CHECK(saved["activation"]["type"] == "elu");
  CHECK(saved["input"] == 2);
  CHECK(saved["classes"] == 3);
  CHECK_FALSE(saved.contains("layers"));

  // The data decides the input width; a contradicting model.input or model.classes is an error.
  doc = base();
  doc["model"]["input"] = 5;
  const RunSpec wrong = resolve_config(doc, "t.json");
  CHECK_THROWS_WITH_AS(wrong.model.bind(Shape{2}, 3, "spirals"), doctest::Contains("model.input is 5"), ShapeError);
  CHECK_THROWS_WITH_AS(cfg.model.bind(Shape{2}, 4, "spirals"), doctest::Contains("model.classes is 3"), ShapeError);
}

TEST_CASE("explicit layers: resolved once with their paths; the saved config shows real input widths") {
  json doc = base();
  doc["model"] = json::parse(R"({"layers": [{"type": "dense", "out_features": 6}, "tanh", "batchnorm",
                                            {"type": "dense", "out_features": 3}]})");
  const RunSpec cfg = resolve_config(doc, "t.json");
  REQUIRE(cfg.model.layers.size() == 4);
  CHECK(cfg.model.layers[2].path == "model.layers[2]");
  CHECK(cfg.model.to_json()["layers"][0]["in_features"] == 0);  // not built yet: "from the input"
  const ModelSpec bound = cfg.model.bind(Shape{2}, 3, "spirals");
  const Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
  const json saved = bound.to_json(&model);
  CHECK(saved["input"] == 2);
  CHECK(saved["layers"][0]["in_features"] == 2);
  CHECK(saved["layers"][2]["num_features"] == 6);
  CHECK(saved["layers"][3]["in_features"] == 6);
  // A factory's error names the layer's path.
  doc["model"]["layers"][3]["in_features"] = 5;
  const ModelSpec bad = resolve_config(doc, "t.json").model.bind(Shape{2}, 3, "spirals");
  CHECK_THROWS_WITH_AS(build_model<float>(bad.layers, bad.input_shape, 1),
                       doctest::Contains("model.layers[3]: in_features is 5 but the input [6] has 6 values"), ShapeError);
}

namespace {

// An explicit list with activations at the top level, in a residual's body and as its activation,
// and an output log_softmax.
json explicit_model() {
  json doc = base();
  doc["model"] = json::parse(R"({"layers": [
    {"type": "dense", "out_features": 8}, "relu",
    {"type": "residual", "body": [{"type": "dense", "out_features": 8}, {"type": "elu", "alpha": 0.5},
                                  {"type": "dense", "out_features": 8}], "activation": "relu"},
    {"type": "dense", "out_features": 3}, "log_softmax"]})");
  return doc;
}

}  // namespace

TEST_CASE("model.activation on an explicit list swaps every activation but an output softmax") {
  json doc = explicit_model();
  apply_override(doc, R"(model.activation={"type": "leaky_relu", "negative_slope": 0.2})");
  const RunSpec cfg = resolve_config(doc, "t.json");
  const auto& layers = cfg.model.layers;
  REQUIRE(layers.size() == 5);
  CHECK(layers[1].entry->name == "leaky_relu");
  CHECK(layers[1].args.number("negative_slope") == 0.2);
  CHECK(layers[4].entry->name == "log_softmax");  // the output activation stays
  const json block = layers[2].to_json();
  CHECK(block["body"][1] == json{{"type", "leaky_relu"}, {"negative_slope", 0.2}});
  CHECK(block["activation"] == json{{"type", "leaky_relu"}, {"negative_slope", 0.2}});
  CHECK(block["body"][0]["type"] == "dense");  // layers that are not activations are untouched
  // The saved config lists the swapped layers and no model.activation: loading it again gives the
  // same spec, and model.activation swaps them again.
  const ModelSpec bound = cfg.model.bind(Shape{2}, 3, "spirals");
  const Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
  const json saved = cfg.to_json(&model);
  CHECK_FALSE(saved["model"].contains("activation"));
  CHECK(saved["model"]["layers"][2]["body"][0]["in_features"] == 8);
  const RunSpec again = resolve_config(saved, "config.json");
  CHECK(again.model.bind(Shape{2}, 3, "spirals").layers.size() == 5);
  CHECK(again.to_json(&model) == saved);
  json swapped = saved;
  apply_override(swapped, "model.activation=tanh");
  const json tanh = resolve_config(swapped, "config.json").model.to_json();
  CHECK(tanh["layers"][1]["type"] == "tanh");
  CHECK(tanh["layers"][2]["body"][1]["type"] == "tanh");
  CHECK(tanh["layers"][2]["activation"]["type"] == "tanh");
  CHECK(tanh["layers"][4]["type"] == "log_softmax");
  // A softmax that is not the last layer is swapped like any activation.
  const json inner = swap_activations(json::array({"softmax", "dense"}), "relu");
  CHECK(inner == json::array({"relu", "dense"}));
  // The activation is checked as in the shorthand: its name, then its parameters, at model.activation.
  CHECK(contains(error_of(explicit_model(), {"model.activation=rleu"}), "model.activation: unknown activation 'rleu'"));
  CHECK(contains(error_of(explicit_model(), {"model.activation=dense"}), "'dense' is a layer, not an activation"));
  CHECK(contains(error_of(explicit_model(), {"model.activation=elu", "model.activation.alpah=1"}),
                 "model.activation.alpah: unknown key"));
  // The shorthand's other keys still do not mix with a list.
  CHECK(contains(error_of(explicit_model(), {"model.hidden=[4]"}),
                 "model.hidden: belongs to the MLP shorthand and the CNN shorthand (model.cnn); with an explicit \"layers\" list"));
}

TEST_CASE("a compare experiment over 2 activations on an explicit-list model builds 2 different models") {
  TempDir dir("activation-sweep");
  json cfg = explicit_model();
  cfg["model"]["layers"][2]["activation"] = nullptr;
  write_text(dir.path / "base.json", cfg.dump());
  const auto e = report::parse_experiment(nlohmann::ordered_json::parse(R"({"base": "base.json",
    "activations": ["tanh", {"type": "elu", "alpha": 0.5}], "seeds": [1]})"), "exp.json", dir.path);
  const report::Plan plan = report::expand(e);
  REQUIRE(plan.runs.size() == 2);
  std::vector<std::vector<std::string>> types;
  std::vector<MatF> outputs;
  const MatF x = MatF::Random(4, 2);
  for (const auto& r : plan.runs) {
    const RunSpec spec = load_config((dir.path / "base.json").string(), r.overrides);
    const ModelSpec bound = spec.model.bind(Shape{2}, 3, "spirals");
    Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
    std::vector<std::string> t;
    for (std::size_t i = 0; i < model.size(); ++i) t.push_back(model.layer(i).type());
    types.push_back(t);
    outputs.push_back(model.forward(x, false));
    CHECK(bound.layers[2].to_json()["activation"].is_null());  // none stays none
  }
  CHECK(types[0] == std::vector<std::string>{"dense", "tanh", "residual", "dense", "log_softmax"});
  CHECK(types[1] == std::vector<std::string>{"dense", "elu", "residual", "dense", "log_softmax"});
  CHECK(outputs[0] != outputs[1]);
  const RunSpec elu = load_config((dir.path / "base.json").string(), plan.runs[1].overrides);
  CHECK(elu.model.layers[2].to_json()["body"][1] == json{{"type", "elu"}, {"alpha", 0.5}});
}

TEST_CASE("a model.activation swap on an explicit list trains, and resumes from its saved config") {
  TempDir dir("activation-resume");
  json doc = explicit_model();
  doc["model"]["layers"][2]["body"][1] = {{"type", "dropout"}, {"p", 0.2}};  // a random stream inside the block
  doc["data"] = {{"dataset", "spirals"}, {"samples", 100}};
  doc["train"] = {{"epochs", 2}, {"batch_size", 32}, {"seed", 5}, {"threads", 1}};
  doc["output"]["dir"] = (dir.path / "run").string();
  apply_override(doc, "model.activation=elu");
  run_training(resolve_config(doc, "t.json"));
  // The saved config resolves to itself and resumes: one more epoch on the same checkpoint.
  json saved = json::parse(read_file(dir.path / "run" / "config.json", "config"));
  CHECK_FALSE(saved["model"].contains("activation"));
  CHECK(saved["model"]["layers"][1]["type"] == "elu");
  saved["train"]["epochs"] = 3;
  const auto resumed = run_training(resolve_config(saved, "config.json"), {}, {.resume = true});
  CHECK(resumed.size() == 1);
  // And the original config with the same override resumes too (they resolve alike).
  doc["train"]["epochs"] = 4;
  CHECK(run_training(resolve_config(doc, "t.json"), {}, {.resume = true}).size() == 1);
}

TEST_CASE("missing or malformed config files") {
  CHECK_THROWS_WITH_AS(load_config("/nonexistent/x.json"), doctest::Contains("config file not found"), ConfigError);
}
