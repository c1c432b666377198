// nnlab train / eval / predict run as the built binary: outputs, exit codes and one-line errors, and
// a diverging run's exit status 3 with the last good checkpoint kept.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/run/spec.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "datasets/idx.hpp"
#include "support/tensors.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

void write_config(const fs::path& path, const std::string& extra_train = "") {
  std::ofstream(path) << R"({"model": {"hidden": [16], "activation": "tanh"},
    "data": {"dataset": "spirals", "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 4, "batch_size": 32, "seed": 2, "threads": 1)"
                      << extra_train << "}}";
}

}  // namespace

TEST_CASE("train: bad input exits non-zero with a one-line reason") {
  TempDir dir("cli-train-errors");
  ProcessResult r = run_nnlab({"train", (dir / "missing.json").string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("config file not found") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  write_config(dir / "c.json");
  r = run_nnlab({"train", (dir / "c.json").string(), "--set", "train.epoch=3"}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("train.epoch: unknown key (did you mean 'epochs'?)") != std::string::npos);

  r = run_nnlab({"train", (dir / "c.json").string(), "--set", "data.dataset=fashion-mnist", "--set", "data.path=/nonexistent"},
                dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("/nonexistent") != std::string::npos);

  std::ofstream(dir / "broken.json") << "{\"model\": ";
  r = run_nnlab({"train", (dir / "broken.json").string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("not valid JSON") != std::string::npos);
}

TEST_CASE("train then eval and predict a saved model") {
  TempDir dir("cli-train-roundtrip");
  write_config(dir / "c.json");
  const fs::path out = dir / "run";
  ProcessResult r = run_nnlab({"train", (dir / "c.json").string(), "--out", out.string()}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(fs::exists(out / "model.safetensors"));
  CHECK(fs::exists(out / "best.safetensors"));  // validation split: monitor = val_loss
  const auto meta = load_safetensors(out / "model.safetensors").metadata;
  CHECK(meta.at("nnlab.classes") == "3");

  r = run_nnlab({"eval", out.string()}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("accuracy") != std::string::npos);
  CHECK(r.out.find("confusion matrix") != std::string::npos);
  r = run_nnlab({"eval", out.string(), "--split", "validation", "--weights", "best.safetensors"}, dir.path);
  CHECK(r.status == 0);

  // The eval accuracy of the final weights equals the last test accuracy of the run.
  RunSpec cfg = load_config((out / "config.json").string());
  const std::string csv = read_file(out / "metrics.csv");
  const std::string last = csv.substr(csv.rfind('\n', csv.size() - 2) + 1);
  const std::vector<std::string> cells = csv_cells(last);
  r = run_nnlab({"eval", out.string()}, dir.path);
  char acc[32];
  std::snprintf(acc, sizeof acc, "accuracy %.4f", std::stod(cells[4]));
  CHECK(r.out.find(acc) != std::string::npos);

  // predict on an IDX file of 2-value "images" (the spirals' raw features as bytes)
  std::vector<std::uint8_t> bytes = {10, 200, 128, 128, 0, 255};
  write_idx(dir / "points.idx", {3, 2}, bytes);
  r = run_nnlab({"predict", out.string(), (dir / "points.idx").string(), "--top", "2"}, dir.path);
  REQUIRE(r.status == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  write_idx(dir / "wrong.idx", {2, 3}, bytes);
  r = run_nnlab({"predict", out.string(), (dir / "wrong.idx").string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("the model takes 2") != std::string::npos);

  // a damaged weights file is refused with a reason
  const std::string w = read_file(out / "model.safetensors");
  write_file_atomic(out / "model.safetensors", w.substr(0, w.size() / 2));
  r = run_nnlab({"eval", out.string()}, dir.path);
  CHECK(r.status == 1);
  CHECK(r.err.find("model.safetensors") != std::string::npos);
}

TEST_CASE("nnlab train: divergence exits 3 naming epoch, batch and layer; the last good checkpoint is kept") {
  TempDir dir("divergence");
  // Epoch 1 trains normally; from epoch 2 the lr is 1e29 and the first update blows the weights up.
  std::ofstream(dir / "c.json") << R"({
    "model": {"hidden": [16], "activation": "relu"},
    "data": {"dataset": "spirals"},
    "optimizer": {"type": "sgd", "lr": 0.1},
    "schedule": {"type": "multi_step", "milestones": [1], "gamma": 1e30},
    "train": {"epochs": 3, "batch_size": 32, "seed": 2, "threads": 1}})";
  const ProcessResult r = run_nnlab({"train", (dir / "c.json").string(), "--out", (dir / "run").string()}, dir.path);
  CAPTURE(r.err);
  CHECK(r.signal == 0);
  CHECK(r.status == 3);
  const auto lines = lines_of(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("nnlab: error: training diverged at epoch 2, batch 2 of 29: the loss is nan; ", 0) == 0);
  CHECK(lines[0].find("first non-finite value: the output of layer 2 (dense) in the forward pass") != std::string::npos);
  CHECK(lines[0].find("the checkpoint of epoch 1 is kept in " + (dir / "run/checkpoint.safetensors").string()) !=
        std::string::npos);
  CHECK(lines[0].find("train.on_nonfinite=skip") != std::string::npos);

  // The checkpoint is epoch 1's, finite, and holds exactly the weights of a run that stops there.
  const fs::path ck = dir / "run/checkpoint.safetensors";
  REQUIRE(fs::exists(ck));
  CHECK(load_safetensors(ck).metadata.at("nnlab.epoch") == "1");
  CHECK(file_finite(ck));
  CHECK_FALSE(fs::exists(dir / "run/model.safetensors"));
  CHECK(leftover_temporaries(dir.path).empty());
  CHECK(lines_of(slurp(dir / "run/metrics.csv")).size() == 2);  // header and epoch 1

  REQUIRE(run_nnlab({"train", (dir / "c.json").string(), "--out", (dir / "one").string(), "--set", "train.epochs=1"},
                    dir.path).status == 0);
  const auto saved = load_safetensors(ck).tensors;
  for (const auto& [name, t] : load_safetensors(dir / "one/model.safetensors").tensors) {
    CAPTURE(name);
    REQUIRE(saved.count("model." + name));
    CHECK(saved.at("model." + name).data == t.data);
  }
}

TEST_CASE("train never removes a user's file from --out, even when the run then fails") {
  TempDir dir("user-files");
  write_config(dir / "c.json");
  const fs::path out = dir / "run";
  fs::create_directories(out);
  // A pid that ran and is gone, and names that look like temporaries but are the user's.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const std::vector<std::string> users = {"thesis.tmp.20240101", "notes.tmp." + std::to_string(gone),
                                          "model.safetensors.tmp." + std::to_string(gone), ".nnlab-write-test.1",
                                          "x.nnlab-tmp.1.0123456789abcdef"};
  for (const auto& f : users) std::ofstream(out / f) << "the user's " << f;

  // A run that fails (no such data) after preparing the directory ...
  ProcessResult r = run_nnlab({"train", (dir / "c.json").string(), "--out", out.string(), "--set",
                               "data.dataset=fashion-mnist", "--set", "data.path=/nonexistent"},
                              dir.path);
  CHECK(r.status == 1);
  for (const auto& f : users) {
    CAPTURE(f);
    CHECK(slurp(out / f) == "the user's " + f);
  }
  // ... and one that succeeds leave them all; only nnlab's own temporary of a dead writer goes.
  const fs::path stale = out / (".checkpoint.safetensors.nnlab-tmp." + std::to_string(gone) + ".00112233aabbccdd");
  std::ofstream(stale) << "half a checkpoint";
  r = run_nnlab({"train", (dir / "c.json").string(), "--out", out.string()}, dir.path);
  CAPTURE(r.err);
  CHECK(r.status == 0);
  for (const auto& f : users) {
    CAPTURE(f);
    CHECK(slurp(out / f) == "the user's " + f);
  }
  CHECK_FALSE(fs::exists(stale));
}

TEST_CASE("a second nnlab train into a directory in use is refused, naming the directory and the holder's pid") {
  TempDir dir("two-writers");
  std::ofstream(dir / "long.json") << R"({"model": {"hidden": [32, 32], "activation": "tanh"},
    "data": {"dataset": "spirals", "samples": 2000},
    "optimizer": {"type": "sgd", "lr": 0.05},
    "train": {"epochs": 400, "batch_size": 16, "seed": 3, "threads": 1}})";
  write_config(dir / "c.json");
  const fs::path out = dir / "run";
  Process first = start_nnlab({"train", (dir / "long.json").string(), "--out", out.string()}, dir.path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(out / "checkpoint.safetensors") && !first.exited() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE_FALSE(first.exited());
  const ProcessResult second = run_nnlab({"train", (dir / "c.json").string(), "--out", out.string()}, dir.path);
  CAPTURE(second.err);
  CHECK(second.status == 1);
  CHECK(lines_of(second.err).size() == 1);
  CHECK(contains(second.err, "output directory '" + out.string() + "' is in use by another nnlab train (pid " +
                                 std::to_string(first.pid())));
  // Resuming it is just as refused while it runs.
  const ProcessResult resumed = run_nnlab({"train", "--resume", out.string()}, dir.path);
  CHECK(resumed.status == 1);
  CHECK(contains(resumed.err, "is in use by another nnlab train"));
  first.kill(SIGINT);
  const ProcessResult stopped = first.wait();
  CHECK(stopped.status == 130);
  // The first one has ended: its lock is gone with it, also when it is killed outright.
  Process killed = start_nnlab({"train", (dir / "long.json").string(), "--out", out.string()}, dir.path);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  killed.kill(SIGKILL);
  killed.wait();
  const ProcessResult after = run_nnlab({"train", (dir / "c.json").string(), "--out", out.string()}, dir.path);
  CAPTURE(after.err);
  CHECK(after.status == 0);
}
