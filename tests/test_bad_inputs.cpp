// Bad input, table-driven: every case runs the real `nnlab` binary on one broken config, data set
// or checkpoint and requires
//   * a non-zero exit status (never a crash: no signal),
//   * exactly one line on stderr, "nnlab: error: ...", holding the words that matter (the key or
//     file, the nearest valid name) and none of the words that would mislead,
//   * that the failed run wrote nothing: no file of the case directory is created, changed or
//     removed (so no model file, no half-written file, no temporary, no empty output directory).
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// A small valid config: trains in milliseconds.
const char* const base_config = R"({
  "model": {"hidden": [8], "activation": "relu"},
  "data": {"dataset": "spirals", "samples": 40, "test_samples": 10},
  "optimizer": {"type": "sgd", "lr": 0.1},
  "train": {"epochs": 1, "batch_size": 16, "seed": 1, "threads": 1}
})";

// A run trained once, whose files the checkpoint cases damage.
struct Golden {
  TempDir dir{"bad-inputs-golden"};
  std::string config, checkpoint, model;
  Golden() {
    std::ofstream(dir / "c.json") << base_config;
    const ProcessResult r = run_nnlab({"train", (dir / "c.json").string(), "--out", (dir / "run").string()}, dir.path);
    if (r.status != 0) throw std::runtime_error("golden run failed: " + r.err);
    config = slurp(dir / "run/config.json");
    checkpoint = slurp(dir / "run/checkpoint.safetensors");
    model = slurp(dir / "run/model.safetensors");
  }
};
const Golden& golden() {
  static const Golden g;
  return g;
}

// The safetensors bytes for a header given as JSON text and the data bytes that follow it.
std::string raw_safetensors(const std::string& header, const std::string& data) {
  const std::uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

// The golden checkpoint (or model) with `edit` applied to its decoded contents.
std::string edited(const std::string& bytes, const std::function<void(TensorFile&)>& edit) {
  TensorFile f = decode_safetensors(bytes, "golden");
  edit(f);
  return encode_safetensors(f);
}

// The header JSON and the data bytes of a safetensors file.
std::pair<json, std::string> split_safetensors(const std::string& bytes) {
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

// The golden checkpoint with its header edited as JSON (the data bytes kept).
std::string header_edited(const std::string& bytes, const std::function<void(json&)>& edit) {
  auto [header, data] = split_safetensors(bytes);
  edit(header);
  return raw_safetensors(header.dump(), data);
}

// One case's working directory and the ways of running nnlab in it.
struct Fixture {
  fs::path dir;

  fs::path write(const std::string& name, const std::string& bytes) const {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return dir / name;
  }
  // nnlab train on the base config (or `config`) with these --set overrides, into dir/run.
  std::vector<std::string> train(const std::vector<std::string>& sets, const std::string& config = base_config) const {
    std::vector<std::string> args = {"train", write("c.json", config).string(), "--out", (dir / "run").string()};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    return args;
  }
  // A run directory holding the golden config and this checkpoint; resumed for a second epoch.
  std::vector<std::string> resume(const std::string& checkpoint) const {
    write("run/config.json", golden().config);
    write("run/checkpoint.safetensors", checkpoint);
    return {"train", "--resume", (dir / "run").string(), "--set", "train.epochs=2"};
  }
  // A run directory holding the golden config and these final weights, evaluated.
  std::vector<std::string> eval(const std::string& model) const {
    write("run/config.json", golden().config);
    write("run/model.safetensors", model);
    return {"eval", (dir / "run").string()};
  }
  // MNIST-format IDX files in dir/data: n_train/n_test images of h x w, labels i % 10.
  std::string mnist_files(std::uint32_t n_train = 20, std::uint32_t n_test = 10, std::uint32_t h = 4,
                          std::uint32_t w = 4) const {
    for (const auto& [prefix, n] : {std::pair<std::string, std::uint32_t>{"train", n_train}, {"t10k", n_test}}) {
      std::vector<std::uint8_t> pixels(static_cast<std::size_t>(n) * h * w), labels(n);
      for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 37);
      for (std::uint32_t i = 0; i < n; ++i) labels[i] = static_cast<std::uint8_t>(i % 10);
      fs::create_directories(dir / "data");
      write_idx(dir / "data" / (prefix + "-images-idx3-ubyte"), {n, h, w}, pixels);
      write_idx(dir / "data" / (prefix + "-labels-idx1-ubyte"), {n}, labels);
    }
    return (dir / "data").string();
  }
  // nnlab train on the base config with its data section replaced.
  std::vector<std::string> train_data(const json& data) const {
    json doc = json::parse(base_config);
    doc["data"] = data;
    return train({}, doc.dump());
  }
  std::vector<std::string> train_mnist(const std::string& data_path) const {
    return train_data({{"dataset", "mnist"}, {"path", data_path}});
  }
  std::vector<std::string> train_cifar(const std::string& data_path) const {
    return train_data({{"dataset", "cifar10"}, {"path", data_path}});
  }
  // CIFAR-10 binary files in dir/cifar: `records` records per file with label `label`.
  std::string cifar_files(std::size_t records = 2, std::uint8_t label = 3) const {
    std::string rec(1 + 3072, '\x40');
    rec[0] = static_cast<char>(label);
    std::string file;
    for (std::size_t i = 0; i < records; ++i) file += rec;
    for (const char* f : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                          "data_batch_5.bin", "test_batch.bin"})
      write(std::string("cifar/") + f, file);
    return (dir / "cifar").string();
  }
};

struct Case {
  std::string name;
  std::function<std::vector<std::string>(Fixture&)> setup;  // writes the bad input, returns nnlab's arguments
  std::vector<std::string> expect;                          // words the error line must contain
  std::vector<std::string> reject = {};                     // words it must not contain
};

// Every file under dir and its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? slurp(e.path()) : "<dir>";
  return files;
}

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
       {"model.layers[2]", "in_features is 4 but the input has 8 features"}},
      {"model.layers widths do not chain (prelu)", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, {"type": "prelu", "num_parameters": 5},
                               {"type": "dense", "out_features": 3}]}, "data": {"dataset": "spirals"}})"); },
       {"model.layers[1]: num_parameters is 5", "input width 8"}},
      {"model.layers output does not match the classes", [](Fixture& f) {
         return f.train({}, R"({"model": {"layers": [{"type": "dense", "out_features": 8}, "relu", {"type": "dense", "out_features": 5}]},
                               "data": {"dataset": "spirals"}})"); },
       {"the model has 5 outputs but the data set has 3 classes"}},
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

std::vector<Case> data_cases() {
  return {
      {"data directory missing", [](Fixture& f) { return f.train_mnist((f.dir / "nowhere").string()); },
       {"data.path: directory '", "nowhere' does not exist"}},
      {"data path is a file", [](Fixture& f) { return f.train_mnist(f.write("file", "x").string()); },
       {"data.path: '", "file' is not a directory"}},
      {"data file missing", [](Fixture& f) {
         const std::string d = f.mnist_files();
         fs::remove(fs::path(d) / "t10k-labels-idx1-ubyte");
         return f.train_mnist(d); },
       {"has no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz", "it holds: "}},
      {"IDX wrong magic", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/train-images-idx3-ubyte", "PK\x03\x04 this is a zip file, not IDX");
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: not an IDX file"}},
      {"IDX empty file", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/train-labels-idx1-ubyte", "");
         return f.train_mnist(d); },
       {"train-labels-idx1-ubyte: file is empty"}},
      {"IDX truncated data", [](Fixture& f) {
         const std::string d = f.mnist_files();
         const std::string bytes = slurp(fs::path(d) / "train-images-idx3-ubyte");
         f.write("data/train-images-idx3-ubyte", bytes.substr(0, bytes.size() - 7));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: expected 320 bytes of image data"}},
      {"IDX truncated header", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/t10k-images-idx3-ubyte", slurp(fs::path(d) / "t10k-images-idx3-ubyte").substr(0, 9));
         return f.train_mnist(d); },
       {"t10k-images-idx3-ubyte: file ends inside the IDX header"}},
      {"IDX trailing bytes", [](Fixture& f) {
         const std::string d = f.mnist_files();
         f.write("data/t10k-labels-idx1-ubyte", slurp(fs::path(d) / "t10k-labels-idx1-ubyte") + "xyz");
         return f.train_mnist(d); },
       {"t10k-labels-idx1-ubyte: 3 unexpected bytes after the"}},
      {"IDX gzip cut off", [](Fixture& f) {
         const std::string d = f.mnist_files();
         std::vector<std::uint8_t> pixels(20 * 16, 7);
         write_idx(fs::path(d) / "gz.tmp", {20, 4, 4}, pixels, /*gzip=*/true);
         const std::string gz = slurp(fs::path(d) / "gz.tmp");
         fs::remove(fs::path(d) / "gz.tmp");
         fs::remove(fs::path(d) / "train-images-idx3-ubyte");
         f.write("data/train-images-idx3-ubyte.gz", gz.substr(0, gz.size() - 12));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte.gz", "gzip"}},
      {"IDX label out of range", [](Fixture& f) {
         const std::string d = f.mnist_files();
         std::vector<std::uint8_t> labels(20, 1);
         labels[13] = 12;
         write_idx(fs::path(d) / "train-labels-idx1-ubyte", {20}, labels);
         return f.train_mnist(d); },
       {"train-labels-idx1-ubyte: label 12 of sample 13 is outside 0..9"}},
      {"IDX image and label counts differ", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "t10k-labels-idx1-ubyte", {9}, std::vector<std::uint8_t>(9, 1));
         return f.train_mnist(d); },
       {"t10k-labels-idx1-ubyte: 9 labels for the 10 images in", "t10k-images-idx3-ubyte"}},
      {"IDX images of the wrong rank", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "train-images-idx3-ubyte", {20, 16}, std::vector<std::uint8_t>(320, 1));
         return f.train_mnist(d); },
       {"train-images-idx3-ubyte: expected 3-D images", "2-D array 20x16"}},
      {"IDX train and test image sizes differ", [](Fixture& f) {
         const std::string d = f.mnist_files();
         write_idx(fs::path(d) / "t10k-images-idx3-ubyte", {10, 5, 5}, std::vector<std::uint8_t>(250, 1));
         return f.train_mnist(d); },
       {"t10k-images-idx3-ubyte: images are 5x5 but the training images", "are 4x4"}},
      {"CIFAR truncated record", [](Fixture& f) {
         const std::string d = f.cifar_files();
         f.write("cifar/data_batch_3.bin", std::string(3073 + 100, '\x01'));
         return f.train_cifar(d); },
       {"data_batch_3.bin: 3173 bytes is not a whole number of 3073-byte records"}},
      {"CIFAR label out of range", [](Fixture& f) {
         const std::string d = f.cifar_files(2, 11);
         return f.train_cifar(d); },
       {"data_batch_1.bin: label 11 of record 0 is outside 0..9"}},
      {"CIFAR file missing", [](Fixture& f) {
         const std::string d = f.cifar_files();
         fs::remove(fs::path(d) / "test_batch.bin");
         return f.train_cifar(d); },
       {"has no test_batch.bin"}},
  };
}

std::vector<Case> checkpoint_cases() {
  const std::string& ck = golden().checkpoint;
  const std::string& model = golden().model;
  return {
      {"resume without a checkpoint", [](Fixture& f) {
         f.write("run/config.json", golden().config);
         return std::vector<std::string>{"train", "--resume", (f.dir / "run").string()}; },
       {"checkpoint.safetensors: no checkpoint to resume from"}},
      {"checkpoint truncated in the data", [ck](Fixture& f) { return f.resume(ck.substr(0, ck.size() - 100)); },
       {"checkpoint.safetensors", "outside the", "truncated file?"}},
      {"checkpoint truncated in the header", [ck](Fixture& f) { return f.resume(ck.substr(0, 60)); },
       {"checkpoint.safetensors: header length", "exceeds the file size 60"}},
      {"checkpoint shorter than its length field", [](Fixture& f) { return f.resume(std::string("\x10\x00\x00", 3)); },
       {"checkpoint.safetensors: truncated: 3 bytes"}},
      {"checkpoint header not JSON", [](Fixture& f) { return f.resume(raw_safetensors("{not json at all}       ", "")); },
       {"checkpoint.safetensors: header is not valid JSON"}},
      {"checkpoint wrong dtype", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.weight"]["dtype"] = "F16"; })); },
       {"checkpoint.safetensors: tensor 'model.layers.0.weight': dtype F16 is not supported"}},
      {"checkpoint offsets beyond the data", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.bias"]["data_offsets"] = {1000000, 1000032}; })); },
       {"tensor 'model.layers.0.bias': data_offsets [1000000, 1000032) outside the"}},
      {"checkpoint offsets overlap", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.bias"]["data_offsets"] = h["model.layers.0.weight"]["data_offsets"]; h["model.layers.0.bias"]["shape"] = h["model.layers.0.weight"]["shape"]; })); },
       {"checkpoint.safetensors: tensor data ranges overlap"}},
      {"checkpoint byte count does not match the shape", [ck](Fixture& f) {
         return f.resume(header_edited(ck, [](json& h) { h["model.layers.0.weight"]["shape"] = {9, 2}; })); },
       {"tensor 'model.layers.0.weight'", "bytes do not hold 18 F32 values"}},
      {"checkpoint tensor shape does not match the config", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) {
           t.tensors["model.layers.0.weight"] = {{4, 2}, std::vector<float>(8, 0.5f)}; })); },
       {"checkpoint.safetensors: tensor 'layers.0.weight' has shape [4,2], the model needs [8,2]"}},
      {"checkpoint tensor missing", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors.erase("model.layers.2.bias"); })); },
       {"checkpoint.safetensors: tensor 'layers.2.bias' is missing"}},
      {"checkpoint tensor of another model", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors["model.layers.3.weight"] = {{1}, {1.0f}}; })); },
       {"tensor 'layers.3.weight' does not belong to this model", "did you mean"}},
      {"checkpoint holding NaN", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.tensors["model.layers.0.weight"].data[3] = std::nanf(""); })); },
       {"tensor 'layers.0.weight' holds NaN or infinite values"}},
      {"checkpoint of a different config", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) {
           json c = json::parse(t.metadata["nnlab.config"]);
           c["optimizer"]["lr"] = 0.5;
           t.metadata["nnlab.config"] = c.dump(); })); },
       {"checkpoint.safetensors: the checkpoint was written by a different config"}},
      {"checkpoint metadata missing", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.metadata.erase("nnlab.epoch"); })); },
       {"checkpoint.safetensors: metadata 'nnlab.epoch' is missing"}},
      {"checkpoint metadata malformed", [ck](Fixture& f) {
         return f.resume(edited(ck, [](TensorFile& t) { t.metadata["nnlab.best_epoch"] = "first"; })); },
       {"checkpoint.safetensors: malformed epoch or best-metric metadata"}},
      {"model file truncated", [model](Fixture& f) { return f.eval(model.substr(0, model.size() / 2)); },
       {"model.safetensors", "truncated"}},
      {"model file of a different shape", [model](Fixture& f) {
         return f.eval(edited(model, [](TensorFile& t) { t.tensors["layers.2.weight"] = {{3, 5}, std::vector<float>(15, 0.1f)}; })); },
       {"model.safetensors: tensor 'layers.2.weight' has shape [3,5], the model needs [3,8]"}},
      {"model file missing", [](Fixture& f) {
         f.write("run/config.json", golden().config);
         return std::vector<std::string>{"eval", (f.dir / "run").string()}; },
       {"model.safetensors: no such file"}},
  };
}

// The data section points nowhere: seeing the output directory's error rather than the data's shows
// that the directory is checked before the data is loaded.
std::vector<Case> io_cases() {
  return {
      {"output directory under a regular file", [](Fixture& f) {
         f.write("plain-file", "not a directory");
         auto args = f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}});
         args[3] = (f.dir / "plain-file" / "run").string();
         return args; },
       {"output directory '", "plain-file' is a file, not a directory"}},
      {"output directory is a file", [](Fixture& f) {
         f.write("run", "a file where the run directory should be");
         return f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}}); },
       {"run' is a file, not a directory"}},
      {"output directory empty", [](Fixture& f) {
         json doc = json::parse(base_config);
         doc["data"] = {{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}};
         doc["output"]["dir"] = "";
         return std::vector<std::string>{"train", f.write("c.json", doc.dump()).string()}; },
       {"the output directory is an empty path"}},
      {"output directory cannot be created", [](Fixture& f) {
         auto args = f.train_data({{"dataset", "mnist"}, {"path", "/nonexistent/mnist"}});
         args[3] = "/proc/nnlab-cannot-create-this/run";
         return args; },
       {"output directory '/proc/nnlab-cannot-create-this/run' cannot be created"}},
  };
}

void check_case(const Case& c) {
  CAPTURE(c.name);
  TempDir tmp("bad-input");
  Fixture f{tmp.path / "case"};
  fs::create_directories(f.dir);
  const std::vector<std::string> args = c.setup(f);
  const auto before = snapshot(f.dir);
  const ProcessResult r = run_nnlab(args, tmp.path);
  CAPTURE(r.err);
  CHECK(r.signal == 0);  // never a crash
  CHECK(r.status == 1);
  const auto lines = lines_of(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("nnlab: error: ", 0) == 0);
  for (const auto& word : c.expect) {
    CAPTURE(word);
    CHECK(lines[0].find(word) != std::string::npos);
  }
  for (const auto& word : c.reject) {
    CAPTURE(word);
    CHECK(lines[0].find(word) == std::string::npos);
  }
  // Nothing written: every file as it was (no model, no temporary, no new empty directory).
  CHECK(snapshot(f.dir) == before);
  CHECK(leftover_temporaries(tmp.path).empty());
}

}  // namespace

TEST_CASE("bad configs: non-zero exit, one line naming the key and the nearest valid name, nothing written") {
  const auto cases = config_cases();
  CHECK(cases.size() >= 40);
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("bad data files: non-zero exit, one line naming the file and what is wrong, nothing written") {
  const auto cases = data_cases();
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("bad checkpoints and model files: non-zero exit, one line naming the file and the tensor, nothing written") {
  const auto cases = checkpoint_cases();
  for (const auto& c : cases) check_case(c);
}

TEST_CASE("an output directory that cannot be written is reported before the data is loaded") {
  for (const auto& c : io_cases()) check_case(c);
}

TEST_CASE("the table covers at least 40 bad inputs") {
  const std::size_t n = config_cases().size() + data_cases().size() + checkpoint_cases().size() + io_cases().size();
  MESSAGE("bad-input cases: " << n);
  CHECK(n >= 40);
}
