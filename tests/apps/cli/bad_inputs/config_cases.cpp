// Bad configs: unknown keys, wrong types, impossible values, broken files and --set arguments (see support/bad_inputs.hpp).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/bad_inputs.hpp"

namespace nnlab::test {
namespace {

// A config of these layers on small `shapes` images (3x16x16, 10 classes).
std::string cnn_config(const std::string& layers) {
  return R"({"model": {"layers": )" + layers + R"(}, "data": {"dataset": "shapes", "samples": 20, "test_samples": 10,
            "size": 16}, "train": {"epochs": 1, "batch_size": 10, "threads": 1}})";
}

}  // namespace

std::vector<Case> config_cases() {
  return {
      {"unknown top-level key", [](Fixture& f) { return f.train({"trian.epochs=3"}); },
       {"trian: unknown key", "did you mean 'train'"}},
      {"unknown train key", [](Fixture& f) { return f.train({"train.epoch=3"}); },
       {"train.epoch: unknown key", "did you mean 'epochs'"}},
      {"train.epochs wrong type", [](Fixture& f) { return f.train({"train.epochs=ten"}); },
       {"train.epochs: expected an integer, got a string"}},
      {"train.epochs out of range", [](Fixture& f) { return f.train({"train.epochs=0"}); },
       {"train.epochs: 0 is out of range"}},
      {"train.batch_size not whole", [](Fixture& f) { return f.train({"train.batch_size=2.5"}); },
       {"train.batch_size: expected an integer"}},
      {"train.seed negative", [](Fixture& f) { return f.train({"train.seed=-1"}); }, {"train.seed: -1 is out of range"}},
      {"train.threads too many", [](Fixture& f) { return f.train({"train.threads=5000"}); },
       {"train.threads: 5000 is out of range"}},
      {"train.loss unknown", [](Fixture& f) { return f.train({"train.loss=crossentropy"}); },
       {"train.loss", "did you mean 'cross_entropy'"}},
      {"train.shuffle wrong type", [](Fixture& f) { return f.train({"train.shuffle=yes"}); },
       {"train.shuffle: expected a boolean"}},
      {"train.drop_last wrong type", [](Fixture& f) { return f.train({"train.drop_last=1"}); },
       {"train.drop_last: expected a boolean, got an integer"}},
      {"train.monitor needs validation", [](Fixture& f) { return f.train({"train.monitor=val_acc"}); },
       {"train.monitor", "needs a validation set", "data.validation_split"}},
      {"train.monitor typo", [](Fixture& f) { return f.train({"train.monitor=val_los"}); },
       {"train.monitor", "did you mean 'val_loss'"}},
      {"train.patience negative", [](Fixture& f) { return f.train({"train.patience=-1"}); },
       {"train.patience: -1 is out of range"}},
      {"train.min_delta negative", [](Fixture& f) { return f.train({"train.min_delta=-0.5"}); },
       {"train.min_delta: -0.5 is out of range"}},
      {"train.save_best wrong type", [](Fixture& f) { return f.train({"train.save_best=\"no\""}); },
       {"train.save_best: expected a boolean, got a string"}},
      {"train.clip_grad_norm negative", [](Fixture& f) { return f.train({"train.clip_grad_norm=-1"}); },
       {"train.clip_grad_norm: -1 is out of range"}},
      {"train.on_nonfinite unknown", [](Fixture& f) { return f.train({"train.on_nonfinite=skp"}); },
       {"train.on_nonfinite", "not one of stop, skip", "did you mean 'skip'"}},
      {"train.max_consecutive_skips zero", [](Fixture& f) { return f.train({"train.max_consecutive_skips=0"}); },
       {"train.max_consecutive_skips: 0 is out of range"}},
      {"model not an object", [](Fixture& f) { return f.train({"model=3"}); }, {"model: expected an object"}},
      {"model.hidden not an array", [](Fixture& f) { return f.train({"model.hidden=8"}); },
       {"model.hidden: expected an array", "got 8"}},
      {"model.hidden zero width", [](Fixture& f) { return f.train({"model.hidden=[8,0]"}); },
       {"model.hidden[1]: expected a positive integer, got 0"}},
      {"model.activation unknown", [](Fixture& f) { return f.train({"model.activation=relux"}); },
       {"model.activation: unknown activation 'relux'", "did you mean 'relu'", "known activations: "},
       {"unknown layer", "dense", "dropout", "batchnorm"}},
      {"model.activation is a layer", [](Fixture& f) { return f.train({"model.activation=dense"}); },
       {"model.activation: 'dense' is a layer, not an activation", "relu"},
       {"out_features", "missing"}},
      {"model.activation parameter typo", [](Fixture& f) { return f.train({"model.activation=elu", "model.activation.alpah=1"}); },
       {"model.activation.alpah: unknown key", "did you mean 'alpha'"}},
      {"model.activation impossible parameter", [](Fixture& f) {
         return f.train({"model.activation=softplus", "model.activation.beta=0"}); },
       {"model.activation: beta must be nonzero"}, {"model.layers"}},
      {"model.init unknown", [](Fixture& f) { return f.train({"model.init=kaiming"}); },
       {"model.init: unknown scheme 'kaiming'", "he_uniform"}},
      {"model.dropout out of range", [](Fixture& f) { return f.train({"model.dropout=1.5"}); },
       {"model.dropout: expected a probability in [0, 1), got 1.5"}},
      {"model.classes negative", [](Fixture& f) { return f.train({"model.classes=-1"}); },
       {"model.classes: expected a non-negative integer", "got -1"}, {"positive"}},
      {"model.classes disagrees with the data", [](Fixture& f) { return f.train({"model.classes=5"}); },
       {"model.classes is 5 but the data set has 3 classes"}},
      {"model.input disagrees with the data", [](Fixture& f) { return f.train({"model.input=7"}); },
       {"model.input is 7", "'spirals' has 2 features"}},
      {"model.layers empty", [](Fixture& f) { return f.train({}, R"({"model": {"layers": []}})"); },
       {"model.layers: expected a non-empty array"}},
      {"model.layers unknown layer", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, "relux", {"type": "dense", "out_features": 3}]},
                               "data": {"dataset": "spirals"}})"); },
       {"model.layers[1]: unknown layer 'relux'", "did you mean 'relu'"}},
      {"model.layers shorthand mixed in", [](Fixture& f) {
         return f.train({}, R"({"model": {"hidden": [8], "layers": [{"type": "dense", "out_features": 3}]}})"); },
       {"model.hidden: belongs to the MLP shorthand"}},
      {"model.layers missing width", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense"}, "relu", {"type": "dense", "out_features": 3}]},
                               "data": {"dataset": "spirals"}})"); },
       {"model.layers[0].out_features: missing required key"}},
      {"model.layers widths do not chain (in_features)", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, "relu",
                               {"type": "dense", "in_features": 4, "out_features": 3}]}, "data": {"dataset": "spirals"}})"); },
       {"model.layers[2]", "in_features is 4 but the input [8] has 8 values"}},
      {"model.layers widths do not chain (prelu)", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, {"type": "prelu", "num_parameters": 5},
                               {"type": "dense", "out_features": 3}]}, "data": {"dataset": "spirals"}})"); },
       {"model.layers[1]: num_parameters is 5", "input width 8"}},
      {"model.layers output does not match the classes", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, "relu", {"type": "dense", "out_features": 5}]},
                               "data": {"dataset": "spirals"}})"); },
       {"the model has 5 outputs but the data set has 3 classes"}},
      // Convolutional networks: shapes that cannot work are refused when the model is built, naming the layer.
      {"conv2d kernel larger than the padded input", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 20}, "relu", "flatten",
                                          {"type": "dense", "out_features": 10}])")); },
       {"model.layers[0]", "kernel 20", "does not fit the padded input 16x16", "[3, 16, 16]"}},
      {"conv2d groups do not divide the channels", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "groups": 2}, "flatten",
                                          {"type": "dense", "out_features": 10}])")); },
       {"model.layers[0]: groups 2 must divide both in_channels 3 and out_channels 4", "groups that divide both: 1"}},
      {"conv2d output does not reach the dense width", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3}, "relu", "flatten",
                                          {"type": "dense", "in_features": 100, "out_features": 10}])")); },
       {"model.layers[3]: in_features is 100 but the input [784] has 784 values"}},
      {"conv2d after a dense layer", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "dense", "out_features": 10}, {"type": "conv2d", "out_channels": 4,
                                          "kernel_size": 3}])")); },
       {"model.layers[1]: conv2d needs an image input [channels, height, width], got [10]"}},
      {"residual body and shortcut shapes differ", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
                                          {"type": "residual", "body": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}]},
                                          "flatten", {"type": "dense", "out_features": 10}])")); },
       {"model.layers[1]: residual body gives [8, 16, 16] but the shortcut gives [4, 16, 16]", "1x1 conv2d"}},
      {"max_pool2d window larger than the input", [](Fixture& f) {
         return f.train({}, cnn_config(R"([{"type": "max_pool2d", "kernel_size": 40}, "flatten", {"type": "dense", "out_features": 10}])")); },
       {"model.layers[0]: max_pool2d: kernel 40", "does not fit the padded input 16x16"}},
      {"optimizer.type unknown", [](Fixture& f) { return f.train({"optimizer.type=adamm"}); },
       {"optimizer.type: unknown optimizer 'adamm'", "did you mean 'adam'"}},
      {"optimizer.lr negative", [](Fixture& f) { return f.train({"optimizer.lr=-1"}); }, {"optimizer.lr: -1 is out of range"}},
      {"optimizer.momentum wrong type", [](Fixture& f) { return f.train({"optimizer.momentum=high"}); },
       {"optimizer.momentum: expected a number, got a string"}},
      {"optimizer key typo", [](Fixture& f) { return f.train({"optimizer.momentun=0.5"}); },
       {"optimizer.momentun: unknown key", "did you mean 'momentum'"}},
      {"schedule.type unknown", [](Fixture& f) { return f.train({"schedule.type=cosin"}); },
       {"schedule.type: unknown schedule 'cosin'", "did you mean 'cosine'"}},
      {"schedule required key missing", [](Fixture& f) { return f.train({"schedule.type=step"}); },
       {"schedule.step_size: missing required key"}},
      {"data.dataset unknown", [](Fixture& f) { return f.train({"data.dataset=spiral"}); },
       {"data.dataset: unknown dataset 'spiral'", "did you mean 'spirals'"}},
      {"data.validation_split out of range", [](Fixture& f) { return f.train({"data.validation_split=0.95"}); },
       {"data.validation_split: 0.95 is out of range"}},
      {"data.normalize wrong type", [](Fixture& f) { return f.train({"data.normalize=\"true\""}); },
       {"data.normalize: expected a boolean, got a string"}},
      {"data.limit_train negative", [](Fixture& f) { return f.train({"data.limit_train=-5"}); },
       {"data.limit_train: -5 is out of range"}},
      {"data set parameter out of range", [](Fixture& f) { return f.train({"data.samples=0"}); },
       {"data.samples: 0 is out of range"}},
      {"data set parameter typo", [](Fixture& f) { return f.train({"data.sample=10"}); },
       {"data.sample: unknown key", "did you mean 'samples'"}},
      {"output.dir wrong type", [](Fixture& f) {
         return std::vector<std::string>{"train", f.write("c.json", R"({"model": {"hidden": [8]}, "data": {"dataset": "spirals"},
                                                  "output": {"dir": 5}})").string()}; },
       {"output.dir: expected a string, got an integer"}},
      {"config not JSON", [](Fixture& f) { return f.train({}, R"({"model": {"hidden": [8],}})"); },
       {"c.json: not valid JSON", "line 1"}},
      {"config is not an object", [](Fixture& f) { return f.train({}, "[1, 2]"); }, {"the config must be a JSON object"}},
      {"config file missing", [](Fixture& f) {
         return std::vector<std::string>{"train", (f.dir / "nonexistent.json").string()}; },
       {"nonexistent.json: config file not found"}},
      {"--set without a value", [](Fixture& f) { return f.train({"train.epochs"}); },
       {"--set train.epochs: expected key.path=value"}},
      {"--set index out of range", [](Fixture& f) { return f.train({"model.hidden.3=4"}); },
       {"--set model.hidden.3=4: model.hidden has 1 entries"}},
  };
}

}  // namespace nnlab::test
