// Checkpoints and resume: an interrupted run (Ctrl-C or SIGKILL) continued with --resume ends with
// weights bit-identical to an uninterrupted run with the same thread count.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/run/checkpoint.hpp"
#include "core/run/config.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/trainer.hpp"

namespace fs = std::filesystem;
using namespace nnlab;
using json = nlohmann::json;

namespace {

fs::path temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("nnlab-resume-" + std::to_string(::getpid()) + "-" + tag);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Dropout (a random stream that must be restored), momentum and a per-step schedule (state that
// must be restored), a validation split (best-model bookkeeping).
json config(const fs::path& out, int epochs) {
  json doc = json::parse(R"({
    "model": {"hidden": [32, 32], "activation": "elu", "dropout": 0.1},
    "data": {"dataset": "spirals", "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "schedule": {"type": "cosine", "interval": "step"},
    "train": {"epochs": 6, "batch_size": 16, "seed": 4, "threads": 1}
  })");
  doc["train"]["epochs"] = epochs;
  doc["output"]["dir"] = out.string();
  return doc;
}

std::string without_time(const std::string& csv) {
  std::string out;
  std::stringstream in(csv);
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    int i = 0;
    for (std::string c; std::getline(cells, c, ','); ++i)
      if (i != 5) out += c + ",";
    out += "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("interrupting mid-epoch and resuming gives bit-identical weights and metrics") {
  const fs::path a = temp_dir("a"), b = temp_dir("b");
  RunConfig full = resolve_config(config(a, 6), "r.json");
  run_training(full);

  RunConfig part = resolve_config(config(b, 6), "r.json");
  RunCallbacks cb;
  int batches = 0;
  cb.should_stop = [&] { return ++batches == 3 * 45 + 7; };  // 720 training samples / 16 = 45 batches per epoch
  CHECK_THROWS_AS(run_training(part, cb), InterruptedError);
  CHECK(fs::exists(b / "checkpoint.safetensors"));
  CHECK_FALSE(fs::exists(b / "model.safetensors"));
  CHECK(load_safetensors(b / "checkpoint.safetensors").metadata.at("nnlab.epoch") == "3");

  RunConfig resumed = resolve_config(config(b, 6), "r.json");
  resumed.resume = true;
  const auto h = run_training(resumed);
  CHECK(h.size() == 3);  // epochs 4..6
  CHECK(read_file(a / "model.safetensors") == read_file(b / "model.safetensors"));
  CHECK(read_file(a / "best.safetensors") == read_file(b / "best.safetensors"));
  CHECK(without_time(read_file(a / "metrics.csv")) == without_time(read_file(b / "metrics.csv")));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_CASE("resume refuses a different config and damaged checkpoints") {
  const fs::path d = temp_dir("refuse");
  RunConfig cfg = resolve_config(config(d, 2), "r.json");
  run_training(cfg);
  json other = config(d, 2);
  other["optimizer"]["lr"] = 0.2;
  RunConfig changed = resolve_config(other, "r.json");
  changed.resume = true;
  CHECK_THROWS_WITH_AS(run_training(changed), doctest::Contains("different config"), CheckpointError);

  // More epochs is allowed: the run is extended.
  RunConfig longer = resolve_config(config(d, 3), "r.json");
  longer.resume = true;
  CHECK(run_training(longer).size() == 1);

  const std::string bytes = read_file(d / "checkpoint.safetensors");
  write_file_atomic(d / "checkpoint.safetensors", bytes.substr(0, bytes.size() - 100));
  RunConfig again = resolve_config(config(d, 4), "r.json");
  again.resume = true;
  CHECK_THROWS_WITH_AS(run_training(again), doctest::Contains("checkpoint.safetensors"), CheckpointError);

  RunConfig none = resolve_config(config(temp_dir("empty"), 2), "r.json");
  none.resume = true;
  CHECK_THROWS_WITH_AS(run_training(none), doctest::Contains("no checkpoint"), CheckpointError);
  fs::remove_all(d);
}

TEST_CASE("nnlab train killed with SIGKILL resumes to the same weights") {
  const fs::path d = temp_dir("kill");
  std::ofstream(d / "c.json") << config(d / "ref", 8).dump();
  auto run = [&](const std::string& args) {
    return std::system((std::string(NNLAB_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
  };
  REQUIRE(run("train " + (d / "c.json").string() + " --out " + (d / "ref").string()) == 0);

  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const std::string cfg = (d / "c.json").string(), out = (d / "killed").string();
    ::freopen("/dev/null", "w", stdout);
    ::freopen("/dev/null", "w", stderr);
    ::execl(NNLAB_BINARY, NNLAB_BINARY, "train", cfg.c_str(), "--out", out.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it once it has checkpointed at least one epoch (or finished, if the machine is fast).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(d / "killed" / "checkpoint.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(fs::exists(d / "killed" / "checkpoint.safetensors"));
  REQUIRE(run("train --resume " + (d / "killed").string()) == 0);
  CHECK(read_file(d / "ref" / "model.safetensors") == read_file(d / "killed" / "model.safetensors"));
  fs::remove_all(d);
}
