// nnlab list --model CONFIG, run as the built binary: the model summary without training, the
// same table `nnlab train` prints, --set overrides, and mistakes.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/run_binary.hpp"

using namespace nnlab::test;

namespace {

const char* const kConfig = R"({
  "model": {"hidden": [64, 32], "activation": "elu"},
  "data": {"dataset": "shapes", "samples": 20, "test_samples": 10, "size": 16},
  "optimizer": {"type": "sgd", "lr": 0.05},
  "train": {"epochs": 1, "batch_size": 10, "threads": 1}
})";

}  // namespace

TEST_CASE("nnlab list --model prints the model summary of a config without training") {
  TempDir dir("cli");
  const auto cfg = dir.path / "shapes_mlp.json";
  write_text(cfg, kConfig);
  auto r = run_nnlab({"list", "--model", cfg.string()}, dir.path);
  INFO(r.output());
  REQUIRE(r.status == 0);
  const std::string& out = r.out;
  CHECK(out.find("for shapes (samples [3, 16, 16], 10 classes)") != std::string::npos);
  CHECK(out.find("   input                    [3, 16, 16]\n") != std::string::npos);
  CHECK(out.find("0  dense  model.hidden[0]   [64]") != std::string::npos);
  CHECK(out.find("49,216") != std::string::npos);  // 768·64 + 64
  CHECK(out.find("1  elu    model.activation  [64]") != std::string::npos);
  CHECK(out.find("4  dense  model.classes     [10]") != std::string::npos);
  CHECK(out.find("parameters: 51,626\n") != std::string::npos);  // 49,216 + 2,080 + 330
  CHECK(out.find("training:") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.path / "runs"));  // nothing trained, nothing written

  // --set applies as in train; `nnlab train` prints the same table in its log.
  r = run_nnlab({"list", "--model", cfg.string(), "--set", "model.hidden=[8]"}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("0  dense  model.hidden[0]   [8]") != std::string::npos);
  CHECK(r.out.find("model.hidden[1]") == std::string::npos);
  const std::string table = r.out.substr(r.out.find('\n') + 1);
  r = run_nnlab({"train", cfg.string(), "--set", "model.hidden=[8]", "--out", (dir.path / "run").string()}, dir.path);
  REQUIRE(r.status == 0);
  for (const auto& line : lines_of(table)) {
    CAPTURE(line);
    CHECK(r.output().find("] " + line + "\n") != std::string::npos);
  }
}

TEST_CASE("nnlab list --model: a bad config, a section or --json with it, --set without it") {
  TempDir dir("cli");
  const auto cfg = dir.path / "shapes_mlp.json";
  write_text(cfg, kConfig);
  auto r = run_nnlab({"list", "--model", (dir.path / "missing.json").string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.output().find("missing.json") != std::string::npos);
  r = run_nnlab({"list", "--model", cfg.string(), "--set", "model.activation=rleu"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.output().find("did you mean 'relu'") != std::string::npos);
  r = run_nnlab({"list", "layers", "--model", cfg.string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.output().find("takes no section") != std::string::npos);
  r = run_nnlab({"list", "--set", "train.epochs=2"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.output().find("--set applies to --model CONFIG") != std::string::npos);
}
