// The model summary (core/run/summary): one row per layer with its config key, output shape,
// parameter count and forward MFLOP; the totals; the exact text of a small model's table.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/run/spec.hpp"
#include "core/run/summary.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

struct Built {
  ModelSpec spec;
  Model<float> model;
};

// The model of the "model" section `model` for data samples of `shape` and `classes` classes.
Built build(const json& model, const Shape& shape, int classes) {
  const json doc = {{"model", model},
                    {"data", {{"dataset", "spirals"}}},
                    {"optimizer", {{"type", "sgd"}, {"lr", 0.1}}},
                    {"train", {{"epochs", 1}}}};
  Built b;
  b.spec = resolve_config(doc, "test.json").model.bind(shape, classes, "test");
  b.model = build_model<float>(b.spec.layers, b.spec.input_shape, 1);
  return b;
}

}  // namespace

TEST_CASE("summary of an MLP: a row per layer with its key, shape, parameters and MFLOP; the totals") {
  Built b = build({{"hidden", {512, 256}}, {"activation", "relu"}, {"dropout", 0.1}}, Shape{3, 32, 32}, 10);
  const std::string text = model_summary(b.model, b.spec.layers);
  INFO(text);
  const auto lines = lines_of(text);
  // header, rule, input, 7 layers (dense relu dropout, twice, then dense), rule, 3 totals
  REQUIRE(lines.size() == 14);
  CHECK(lines[2].find("input") != std::string::npos);
  CHECK(lines[2].find("[3, 32, 32]") != std::string::npos);
  auto row = [&](std::size_t i) { return lines[3 + i]; };
  CHECK(row(0).find("dense    model.hidden[0]") != std::string::npos);
  CHECK(row(0).find("[512]") != std::string::npos);
  CHECK(row(0).find("1,573,376") != std::string::npos);  // 3072·512 + 512
  CHECK(row(0).find("3.146") != std::string::npos);      // 2·3072·512 = 3,145,728
  CHECK(row(1).find("relu     model.activation") != std::string::npos);
  CHECK(row(1).find(" 0 ") != std::string::npos);
  CHECK(row(1).find("0.001") != std::string::npos);  // 512 values
  CHECK(row(2).find("dropout  model.dropout") != std::string::npos);
  CHECK(row(3).find("model.hidden[1]") != std::string::npos);
  CHECK(row(3).find("131,328") != std::string::npos);  // 512·256 + 256
  CHECK(row(6).find("dense    model.classes") != std::string::npos);
  CHECK(row(6).find("[10]") != std::string::npos);
  CHECK(row(6).find("2,570") != std::string::npos);  // 256·10 + 10

  const ModelCost c = model_cost(b.model);
  CHECK(c.parameters == b.model.parameter_count());
  CHECK(c.parameters == 1'707'274);
  double forward = 0;
  for (std::size_t i = 0; i < b.model.size(); ++i) forward += b.model.layer(i).flops();
  CHECK(c.forward_flops == forward);
  CHECK(c.forward_flops == doctest::Approx(2.0 * (3072 * 512 + 512 * 256 + 256 * 10) + 512 + 256));
  CHECK(c.training_flops == doctest::Approx(3 * c.forward_flops - 2.0 * 3072 * 512));
  CHECK(text.find("parameters: 1,707,274\n") != std::string::npos);
}

TEST_CASE("summary: the exact table of a small explicit model") {
  Built b = build({{"layers", {{{"type", "dense"}, {"out_features", 200}}, "tanh", {{"type", "batchnorm"}},
                               {{"type", "dense"}, {"out_features", 10}}}}},
                  Shape{100}, 10);
  const std::string expected =
      "#  layer                       output shape  parameters  MFLOP/sample\n"
      "---------------------------------------------------------------------\n"
      "   input                       [100]\n"
      "0  dense      model.layers[0]  [200]             20,200         0.040\n"
      "1  tanh       model.layers[1]  [200]                  0         0.000\n"
      "2  batchnorm  model.layers[2]  [200]                400         0.000\n"
      "3  dense      model.layers[3]  [10]               2,010         0.004\n"
      "---------------------------------------------------------------------\n"
      "parameters: 22,610\n"
      "forward:  0.044 MFLOP per sample\n"
      "training: 0.093 MFLOP per sample (forward + backward, estimated)\n";
  CHECK(model_summary(b.model, b.spec.layers) == expected);
  // Without specs the rows name only the type.
  CHECK(model_summary(b.model, {}).find("\n0  dense  ") != std::string::npos);
}
