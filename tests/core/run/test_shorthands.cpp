// The CNN and ResNet shorthands (model.cnn, model.resnet): their keys validated like the MLP
// shorthand's, saved as written, and expanded by a pure function into the expected layer list, each
// layer with the path of the key it comes from. The expansion cases need conv2d, the pooling layers,
// batch_norm2d and adaptive_avg_pool2d registered.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gradcheck/gradcheck.hpp"
#include "core/loss.hpp"
#include "core/run/spec.hpp"
#include "support/layers_reference.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

json with_model(const json& model) {
  json doc = json::parse(R"({"data": {"dataset": "spirals"}, "optimizer": {"type": "sgd", "lr": 0.1}})");
  doc["model"] = model;
  return doc;
}

std::string error_of(const json& model, const std::vector<std::string>& overrides = {}) {
  json doc = with_model(model);
  try {
    for (const auto& o : overrides) apply_override(doc, o);
    resolve_config(doc, "test.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// "type" of each layer, and one parameter per layer where it matters, for comparing lists.
std::vector<std::string> types(const std::vector<LayerSpec>& layers) {
  std::vector<std::string> out;
  for (const auto& l : layers) out.push_back(l.entry->name);
  return out;
}

}  // namespace

TEST_CASE("shorthand keys: typos, wrong types, impossible values and mixed forms name the key") {
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "kernal_size": 5})")),
                 "model.kernal_size: unknown key (did you mean 'kernel_size'?)"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32, 0]})")), "model.cnn[1]: expected a positive integer (output channels), got 0"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32, [64, "x"]]})")), "model.cnn[1][1]: expected a positive integer"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [[]]})")), "model.cnn[0]: expected a width or a non-empty list"));
  CHECK(contains(error_of(json::parse(R"({"cnn": 32})")), "model.cnn: expected an array of convolution widths"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "pool": "maxx"})")), "model.pool: 'maxx' is not one of max, avg, none"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "kernel_size": 0})")), "model.kernel_size: 0 is out of range"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "batch_norm": 1})")), "model.batch_norm: expected a boolean"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "hidden": [0]})")), "model.hidden[0]: expected a positive integer"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "activation": "dense"})")), "'dense' is a layer, not an activation"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [32], "dropout": 1})")), "model.dropout: expected a probability"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"depth": 21}})")),
                 "model.resnet.depth: 21 is not 6n+2"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"depth": 21}})")), "nearest: 20 or 26"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"depth": 10}})")), "nearest: 8 or 14"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"depth": 4}})")), "model.resnet.depth: 4 is out of range"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"dept": 20}})")), "model.resnet.dept: unknown key (did you mean 'depth'?)"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {"width": 0}})")), "model.resnet.width: 0 is out of range"));
  CHECK(contains(error_of(json::parse(R"({"resnet": 20})")), "model.resnet: expected an object like"));
  CHECK(contains(error_of(json::parse(R"({"resnet": {}, "hidden": [8]})")),
                 "model.hidden: belongs to the MLP shorthand and the CNN shorthand (model.cnn), not the ResNet shorthand"));
  CHECK(contains(error_of(json::parse(R"({"hidden": [8], "pool": "avg"})")),
                 "model.pool: belongs to the CNN shorthand (model.cnn), not the MLP shorthand"));
  CHECK(contains(error_of(json::parse(R"({"cnn": [8], "resnet": {}})")), "model.resnet: the model is given twice, by model.cnn and model.resnet"));
  CHECK(contains(error_of(json::parse(R"({"layers": ["relu"], "cnn": [8]})")), "the model is given twice, by model.layers and model.cnn"));
  CHECK(contains(error_of(json::parse(R"({"layers": ["relu"], "kernel_size": 3})")),
                 "model.kernel_size: belongs to the CNN shorthand (model.cnn); with an explicit \"layers\" list"));
  CHECK(error_of(json::parse(R"({"cnn": [32, [64, 64]], "hidden": [128], "pool": "avg", "batch_norm": true})")).empty());
  CHECK(error_of(json::parse(R"({"resnet": {"depth": 32, "width": 8}, "activation": "elu"})")).empty());
}

TEST_CASE("shorthands are saved as written (defaults filled in) and --set works on the saved form") {
  const RunSpec cnn = resolve_config(with_model(json::parse(R"({"cnn": [32, [64, 64]], "hidden": [128]})")), "t.json");
  const json saved = cnn.model.to_json();
  CHECK(saved == json::parse(R"({"input": 0, "cnn": [32, [64, 64]], "hidden": [128], "activation": {"type": "relu"},
                                 "kernel_size": 3, "pool": "max", "batch_norm": false, "dropout": 0.0,
                                 "init": "pytorch", "classes": 0})"));
  json again = with_model(saved);
  apply_override(again, "model.activation=elu");
  const RunSpec elu = resolve_config(again, "config.json");
  CHECK(elu.model.cnn->activation.entry->name == "elu");
  CHECK(elu.model.cnn->stages == std::vector<std::vector<Index>>{{32}, {64, 64}});

  const RunSpec resnet = resolve_config(with_model(json::parse(R"({"resnet": {"depth": 14}})")), "t.json");
  CHECK(resnet.model.to_json() ==
        json::parse(R"({"input": 0, "resnet": {"depth": 14, "width": 16}, "activation": {"type": "relu"}, "classes": 0})"));
  CHECK(resolve_config(with_model(resnet.model.to_json()), "config.json").model.to_json() == resnet.model.to_json());
}

// ---- expansion (needs conv2d, max_pool2d, avg_pool2d, batch_norm2d, adaptive_avg_pool2d) ----------

TEST_CASE("model.cnn expands to conv/act/pool stages, flatten and the dense head (fashion_cnn's net)") {
  const RunSpec cfg = resolve_config(with_model(json::parse(R"({"cnn": [32, 64], "hidden": [128]})")), "t.json");
  const ModelSpec bound = cfg.model.bind(Shape{1, 28, 28}, 10, "fashion-mnist");
  CHECK(types(bound.layers) == std::vector<std::string>{"conv2d", "relu", "max_pool2d", "conv2d", "relu", "max_pool2d",
                                                        "flatten", "dense", "relu", "dense"});
  const auto& l = bound.layers;
  CHECK(l[0].args.integer("out_channels") == 32);
  CHECK(l[0].args.integer("kernel_size") == 3);
  CHECK(l[0].args.integer("padding") == 1);
  CHECK(l[2].args.integer("kernel_size") == 2);
  CHECK(l[3].args.integer("out_channels") == 64);
  CHECK(l[7].args.integer("out_features") == 128);
  CHECK(l[9].args.integer("out_features") == 10);
  CHECK(l[0].path == "model.cnn[0]");
  CHECK(l[1].path == "model.activation");
  CHECK(l[2].path == "model.pool");
  CHECK(l[3].path == "model.cnn[1]");
  CHECK(l[7].path == "model.hidden[0]");
  CHECK(l[9].path == "model.classes");
  Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
  CHECK(model.layer(7).in_features() == 3136);  // 64 channels of 7x7
  // conv 1->32 3x3 (320), conv 32->64 3x3 (18,496), dense 3136->128 (401,536), dense 128->10 (1,290).
  CHECK(model.parameter_count() == 320 + 18496 + 401536 + 1290);
  CHECK(cfg.model.bind(Shape{1, 28, 28}, 10, "fashion-mnist").to_json() == bound.to_json());  // pure
  // The same layers as configs/fashion_cnn.json's explicit list.
  const RunSpec file = load_config(std::string(NNLAB_SOURCE_DIR) + "/configs/fashion_cnn.json");
  REQUIRE(file.model.layers.size() == bound.layers.size());
  for (std::size_t i = 0; i < bound.layers.size(); ++i) CHECK(file.model.layers[i].to_json() == bound.layers[i].to_json());
}

TEST_CASE("model.cnn stages, batch norm, avg pooling, no pooling, dropout and kernel size") {
  const RunSpec cfg = resolve_config(with_model(json::parse(R"({"cnn": [[16, 16], 32], "hidden": [64], "kernel_size": 5,
    "pool": "avg", "batch_norm": true, "dropout": 0.25, "activation": "elu", "init": "he_normal"})")), "t.json");
  const ModelSpec bound = cfg.model.bind(Shape{3, 16, 16}, 4, "cifar");
  CHECK(types(bound.layers) ==
        std::vector<std::string>{"conv2d", "batch_norm2d", "elu", "conv2d", "batch_norm2d", "elu", "avg_pool2d", "conv2d",
                                 "batch_norm2d", "elu", "avg_pool2d", "flatten", "dense", "elu", "dropout", "dense"});
  CHECK(bound.layers[0].path == "model.cnn[0][0]");
  CHECK(bound.layers[3].path == "model.cnn[0][1]");
  CHECK(bound.layers[7].path == "model.cnn[1]");
  CHECK(bound.layers[1].path == "model.batch_norm");
  CHECK(bound.layers[0].args.integer("padding") == 2);
  CHECK(bound.layers[0].args.text("init") == "he_normal");
  CHECK(bound.layers[12].args.text("init") == "he_normal");
  CHECK(bound.layers[14].args.number("p") == 0.25);
  Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
  CHECK(model.layer(12).in_features() == 32 * 4 * 4);

  const RunSpec flat = resolve_config(with_model(json::parse(R"({"cnn": [8], "pool": "none"})")), "t.json");
  CHECK(types(flat.model.bind(Shape{1, 6, 6}, 3, "x").layers) ==
        std::vector<std::string>{"conv2d", "relu", "flatten", "dense"});
}

TEST_CASE("model.resnet expands to He et al.'s CIFAR ResNet (option B shortcuts)") {
  const RunSpec cfg = resolve_config(with_model(json::parse(R"({"resnet": {"depth": 20, "width": 16}})")), "t.json");
  const ModelSpec bound = cfg.model.bind(Shape{3, 32, 32}, 10, "cifar10");
  std::vector<std::string> expected = {"conv2d", "batch_norm2d", "relu"};
  for (int i = 0; i < 9; ++i) expected.push_back("residual");
  for (const char* t : {"adaptive_avg_pool2d", "flatten", "dense"}) expected.push_back(t);
  CHECK(types(bound.layers) == expected);
  const auto& l = bound.layers;
  CHECK(l[0].path == "model.resnet.width");
  CHECK(l[3].path == "model.resnet.depth");
  CHECK(l[14].path == "model.classes");
  CHECK(l[0].args.boolean("bias") == false);
  // Block 4 (the first of stage 2): stride 2, 32 channels, a 1x1 projection shortcut with batch norm.
  const json b = l[6].to_json();
  CHECK(b["body"][0]["stride"] == 2);
  CHECK(b["body"][0]["out_channels"] == 32);
  CHECK(b["body"][3]["stride"] == 1);
  CHECK(b["shortcut"].size() == 2);
  CHECK(b["shortcut"][0]["kernel_size"] == 1);
  CHECK(b["shortcut"][0]["stride"] == 2);
  CHECK(b["shortcut"][1]["type"] == "batch_norm2d");
  CHECK(b["activation"]["type"] == "relu");
  CHECK(l[4].to_json()["shortcut"].empty());  // identity inside a stage
  Model<float> model = build_model<float>(bound.layers, bound.input_shape, 1);
  CHECK(model.output_shape() == Shape{10});
  // 269,722 parameters with identity (option A) shortcuts, as in the paper's 0.27M; the two
  // projections add 16·32 + 32·64 weights and their batch norms 2·(32 + 64).
  CHECK(model.parameter_count() == 269722 + 512 + 2048 + 192);
  // model.activation swaps the stem's, every block's body and block activation.
  json doc = with_model(json::parse(R"({"resnet": {"depth": 8}})"));
  apply_override(doc, "model.activation=elu");
  const ModelSpec elu = resolve_config(doc, "t.json").model.bind(Shape{3, 8, 8}, 10, "cifar10");
  CHECK(elu.layers[2].entry->name == "elu");
  CHECK(elu.layers[3].to_json()["body"][2]["type"] == "elu");
  CHECK(elu.layers[3].to_json()["activation"]["type"] == "elu");
}

TEST_CASE("a small ResNet passes the whole-model gradient check in training mode") {
  const RunSpec cfg = resolve_config(with_model(json::parse(R"({"resnet": {"depth": 8, "width": 2}, "activation": "tanh"})")), "t.json");
  const ModelSpec bound = cfg.model.bind(Shape{2, 6, 6}, 3, "x");
  Model<double> model = build_model<double>(bound.layers, bound.input_shape, 3);
  const MatD x = random_batch<double>(4, 72, 5);
  std::vector<std::int32_t> labels = {0, 2, 1, 1};
  SoftmaxCrossEntropy<double> loss;
  Target<double> t;
  t.labels = labels;
  GradCheckOptions opt;
  opt.training = true;
  opt.step = 1e-5;
  opt.tolerance = 1e-5;
  const auto r = check_model(model, loss, x, t, opt);
  INFO(r.format());
  MESSAGE(r.format());
  CHECK(r.ok());
}
