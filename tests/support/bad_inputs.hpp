// The bad-input tables (tests/apps/cli/test_bad_inputs_*.cpp): every case runs the real `nnlab`
// binary on one broken config, data set or checkpoint and requires
//   * a non-zero exit status (never a crash: no signal),
//   * exactly one line on stderr, "nnlab: error: ...", holding the words that matter (the key or
//     file, the nearest valid name) and none of the words that would mislead,
//   * that the failed run wrote nothing: no file of the case directory is created, changed or
//     removed (so no model file, no half-written file, no temporary, no empty output directory).
// The tables themselves are in tests/apps/cli/bad_inputs/, compiled once into a library that the
// four test executables share, so that each table runs in its own test and one test can still
// count them all.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/run_binary.hpp"

namespace nnlab::test {

using json = nlohmann::json;

// A small valid config: trains in milliseconds.
inline const char* const base_config = R"({
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
inline const Golden& golden() {
  static const Golden g;
  return g;
}

// The safetensors bytes for a header given as JSON text and the data bytes that follow it.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  const std::uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

// The golden checkpoint (or model) with `edit` applied to its decoded contents.
inline std::string edited(const std::string& bytes, const std::function<void(TensorFile&)>& edit) {
  TensorFile f = decode_safetensors(bytes, "golden");
  edit(f);
  return encode_safetensors(f);
}

// The header JSON and the data bytes of a safetensors file.
inline std::pair<json, std::string> split_safetensors(const std::string& bytes) {
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

// The golden checkpoint with its header edited as JSON (the data bytes kept).
inline std::string header_edited(const std::string& bytes, const std::function<void(json&)>& edit) {
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
inline std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? slurp(e.path()) : "<dir>";
  return files;
}

// The tables (tests/apps/cli/bad_inputs/*.cpp).
std::vector<Case> config_cases();
std::vector<Case> data_cases();
std::vector<Case> checkpoint_cases();
std::vector<Case> io_cases();
std::vector<Case> robustness_cases();

inline void check_case(const Case& c) {
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

}  // namespace nnlab::test
