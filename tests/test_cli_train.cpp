// nnlab train / eval / predict run as the built binary: outputs, exit codes and one-line errors.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/run/config.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/trainer.hpp"
#include "datasets/idx.hpp"

namespace fs = std::filesystem;
using namespace nnlab;

namespace {

struct Result {
  int status;
  std::string out, err;
};

fs::path temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("nnlab-cli-train-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Result run(const std::string& args, const fs::path& dir) {
  const std::string cmd = std::string(NNLAB_BINARY) + " " + args + " >" + (dir / "out.txt").string() + " 2>" +
                          (dir / "err.txt").string();
  const int rc = std::system(cmd.c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_file(dir / "out.txt"), read_file(dir / "err.txt")};
}

void write_config(const fs::path& path, const std::string& extra_train = "") {
  std::ofstream(path) << R"({"model": {"hidden": [16], "activation": "tanh"},
    "data": {"dataset": "spirals", "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 4, "batch_size": 32, "seed": 2, "threads": 1)"
                      << extra_train << "}}";
}

}  // namespace

TEST_CASE("train: bad input exits non-zero with a one-line reason") {
  const fs::path dir = temp_dir("errors");
  Result r = run("train " + (dir / "missing.json").string(), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("config file not found") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  write_config(dir / "c.json");
  r = run("train " + (dir / "c.json").string() + " --set train.epoch=3", dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("train.epoch: unknown key (did you mean 'epochs'?)") != std::string::npos);

  r = run("train " + (dir / "c.json").string() + " --set data.dataset=fashion-mnist --set data.path=/nonexistent", dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("/nonexistent") != std::string::npos);

  std::ofstream(dir / "broken.json") << "{\"model\": ";
  r = run("train " + (dir / "broken.json").string(), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("not valid JSON") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("train then eval and predict a saved model") {
  const fs::path dir = temp_dir("roundtrip");
  write_config(dir / "c.json");
  const fs::path out = dir / "run";
  Result r = run("train " + (dir / "c.json").string() + " --out " + out.string(), dir);
  REQUIRE(r.status == 0);
  CHECK(fs::exists(out / "model.safetensors"));
  CHECK(fs::exists(out / "best.safetensors"));  // validation split: monitor = val_loss
  const auto meta = load_safetensors(out / "model.safetensors").metadata;
  CHECK(meta.at("nnlab.classes") == "3");

  r = run("eval " + out.string(), dir);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("accuracy") != std::string::npos);
  CHECK(r.out.find("confusion matrix") != std::string::npos);
  r = run("eval " + out.string() + " --split validation --weights best.safetensors", dir);
  CHECK(r.status == 0);

  // The eval accuracy of the final weights equals the last test accuracy of the run.
  RunConfig cfg = load_config((out / "config.json").string());
  const std::string csv = read_file(out / "metrics.csv");
  const std::string last = csv.substr(csv.rfind('\n', csv.size() - 2) + 1);
  std::vector<std::string> cells;
  std::stringstream ss(last);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  r = run("eval " + out.string(), dir);
  char acc[32];
  std::snprintf(acc, sizeof acc, "accuracy %.4f", std::stod(cells[4]));
  CHECK(r.out.find(acc) != std::string::npos);

  // predict on an IDX file of 2-value "images" (the spirals' raw features as bytes)
  std::vector<std::uint8_t> bytes = {10, 200, 128, 128, 0, 255};
  write_idx(dir / "points.idx", {3, 2}, bytes);
  r = run("predict " + out.string() + " " + (dir / "points.idx").string() + " --top 2", dir);
  REQUIRE(r.status == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  write_idx(dir / "wrong.idx", {2, 3}, bytes);
  r = run("predict " + out.string() + " " + (dir / "wrong.idx").string(), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("the model takes 2") != std::string::npos);

  // a damaged weights file is refused with a reason
  const std::string w = read_file(out / "model.safetensors");
  write_file_atomic(out / "model.safetensors", w.substr(0, w.size() / 2));
  r = run("eval " + out.string(), dir);
  CHECK(r.status == 1);
  CHECK(r.err.find("model.safetensors") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("early stopping stops after `patience` epochs without improvement") {
  const fs::path dir = temp_dir("early");
  write_config(dir / "c.json", R"(, "patience": 2, "monitor": "val_loss")");
  nlohmann::json doc = nlohmann::json::parse(read_file(dir / "c.json"));
  doc["optimizer"]["lr"] = 0.0;  // nothing improves after epoch 1
  doc["optimizer"]["momentum"] = 0.0;
  doc["train"]["epochs"] = 10;
  doc["output"]["dir"] = (dir / "run").string();
  RunConfig cfg = resolve_config(doc, "early.json");
  int stopped = 0;
  RunCallbacks cb;
  cb.on_early_stop = [&](int epoch, int best_epoch, double) { stopped = epoch * 100 + best_epoch; };
  const auto h = run_training(cfg, cb);
  CHECK(h.size() == 3);
  CHECK(stopped == 301);
  fs::remove_all(dir);
}
