// Ctrl-C and SIGTERM: nnlab train finishes the batch in progress, writes a checkpoint at that batch
// (also in epoch 1), says how to continue, and exits with 128 + the signal number (130, 143); the
// run then resumes from that batch to the same weights and metrics as an uninterrupted one. Killed with SIGKILL, it resumes from its
// last checkpoint to the same weights as an uninterrupted run.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "support/configs.hpp"
#include "support/resources.hpp"
#include "support/run_binary.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

// Long enough to be interrupted mid-run, short enough for CI: `samples` points per class.
std::string config(int samples = 2000, int epochs = 400) {
  return R"({
  "model": {"hidden": [32, 32], "activation": "tanh"},
  "data": {"dataset": "spirals", "samples": )" + std::to_string(samples) + R"(},
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "train": {"epochs": )" + std::to_string(epochs) + R"(, "batch_size": 16, "seed": 3, "threads": 1}})";
}

// Start `nnlab args`, wait until `file` exists, send `sig`, and return the outcome.
ProcessResult interrupt_when(const std::vector<std::string>& args, const fs::path& file, int sig, const fs::path& scratch) {
  Process nnlab = start_nnlab(args, scratch);
  REQUIRE(nnlab.pid() > 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool exited = false;
  while (!fs::exists(file) && std::chrono::steady_clock::now() < deadline) {
    if (nnlab.exited()) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!exited) nnlab.kill(sig);
  return nnlab.wait();
}


}  // namespace

TEST_CASE("SIGINT: the batch is finished, a checkpoint written at it, exit status 130, then --resume") {
  TempDir dir("sigint");
  std::ofstream(dir / "c.json") << config();
  const fs::path run = dir / "run";
  const ProcessResult r = interrupt_when({"train", (dir / "c.json").string(), "--out", run.string()},
                                     run / "checkpoint.safetensors", SIGINT, dir.path);
  CAPTURE(r.err);
  CHECK(r.signal == 0);
  REQUIRE(r.status == 130);
  const auto lines = lines_of(r.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("nnlab: error: interrupted by SIGINT during epoch ", 0) == 0);
  CHECK(lines[0].find(", after batch ") != std::string::npos);
  CHECK(lines[0].find("; the checkpoint at that batch is saved in " + (run / "checkpoint.safetensors").string()) !=
        std::string::npos);
  CHECK(lines[0].find("; continue with: nnlab train --resume " + run.string()) != std::string::npos);
  CHECK(leftover_temporaries(dir.path).empty());
  CHECK_FALSE(fs::exists(run / "model.safetensors"));
  // The checkpoint is at the batch the message names.
  const auto meta = load_safetensors(run / "checkpoint.safetensors").metadata;
  const std::string epoch = meta.at("nnlab.epoch");
  CHECK(lines[0].find("during epoch " + std::to_string(std::stoi(epoch) + 1) + ", after batch " + meta.at("nnlab.batch") +
                      " of ") != std::string::npos);

  // A temporary left by a process killed while writing (its pid gone) is cleaned up by the resume.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const fs::path stale = run / (".model.safetensors.nnlab-tmp." + std::to_string(gone) + ".0123456789abcdef");
  std::ofstream(stale) << "half a file";

  // Resume for a few more epochs only: the interrupted run goes on from its checkpoint.
  const int more = std::stoi(epoch) + 2;
  const ProcessResult resumed =
      run_nnlab({"train", "--resume", run.string(), "--set", "train.epochs=" + std::to_string(more)}, dir.path);
  CAPTURE(resumed.err);
  CHECK(resumed.status == 0);
  CHECK(load_safetensors(run / "model.safetensors").metadata.at("nnlab.epoch") == std::to_string(more));
  CHECK_FALSE(fs::exists(stale));
  CHECK(leftover_temporaries(dir.path).empty());
}

TEST_CASE("SIGTERM: exit status 143 and the same clean stop") {
  TempDir dir("sigterm");
  std::ofstream(dir / "c.json") << config();
  const fs::path run = dir / "run";
  const ProcessResult r = interrupt_when({"train", (dir / "c.json").string(), "--out", run.string()},
                                     run / "checkpoint.safetensors", SIGTERM, dir.path);
  CAPTURE(r.err);
  CHECK(r.status == 143);
  CHECK(r.err.find("nnlab: error: interrupted by SIGTERM during epoch ") == 0);
  CHECK(leftover_temporaries(dir.path).empty());
}

TEST_CASE("SIGINT in epoch 1: a checkpoint at that batch, and --resume ends bit-identical to an uninterrupted run") {
  TempDir dir("sigint-early");
  nlohmann::json doc = nlohmann::json::parse(config(20000));  // epochs of about a second
  doc["train"]["epochs"] = 2;
  std::ofstream(dir / "c.json") << doc.dump();
  REQUIRE(run_nnlab({"train", (dir / "c.json").string(), "--out", (dir / "ref").string()}, dir.path).status == 0);
  const fs::path run = dir / "run";
  // config.json is written once the data is loaded and the model built, before the first batch.
  const ProcessResult r = interrupt_when({"train", (dir / "c.json").string(), "--out", run.string()}, run / "config.json",
                                     SIGINT, dir.path);
  CAPTURE(r.err);
  CHECK(r.status == 130);
  CHECK(r.err.find("interrupted by SIGINT during epoch 1, after batch ") != std::string::npos);
  CHECK(r.err.find("; the checkpoint at that batch is saved in " + (run / "checkpoint.safetensors").string() +
                   "; continue with: nnlab train --resume " + run.string()) != std::string::npos);
  const auto meta = load_safetensors(run / "checkpoint.safetensors").metadata;
  CHECK(meta.at("nnlab.epoch") == "0");
  CHECK(std::stoi(meta.at("nnlab.batch")) > 0);
  CHECK_FALSE(fs::exists(run / "metrics.csv"));

  const ProcessResult resumed = run_nnlab({"train", "--resume", run.string()}, dir.path);
  CAPTURE(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(read_file(dir / "ref" / "model.safetensors") == read_file(run / "model.safetensors"));
  CHECK(metrics_without_time(read_file(dir / "ref" / "metrics.csv")) == metrics_without_time(read_file(run / "metrics.csv")));
}

TEST_CASE("train.checkpoint_every: killed with SIGKILL inside an epoch, the run resumes from there to the same weights") {
  TempDir dir("kill-every");
  nlohmann::json doc = nlohmann::json::parse(config(20000));
  doc["train"]["epochs"] = 2;
  std::ofstream(dir / "ref.json") << doc.dump();
  REQUIRE(run_nnlab({"train", (dir / "ref.json").string(), "--out", (dir / "ref").string()}, dir.path).status == 0);
  doc["train"]["checkpoint_every"] = "100 steps";
  std::ofstream(dir / "c.json") << doc.dump();
  const fs::path run = dir / "run";
  const ProcessResult r =
      interrupt_when({"train", (dir / "c.json").string(), "--out", run.string()}, run / "checkpoint.safetensors", SIGKILL, dir.path);
  CHECK(r.signal == SIGKILL);
  const auto meta = load_safetensors(run / "checkpoint.safetensors").metadata;
  // Killed just after a checkpoint every 100 steps (the first, 100 steps into epoch 1, unless the
  // machine is slow to notice), which resume goes on from.
  const int steps = std::stoi(meta.at("optimizer.step"));
  CHECK(steps > 0);
  CHECK(steps % 100 == 0);
  CHECK(meta.at("nnlab.batch") != "0");
  const ProcessResult resumed = run_nnlab({"train", "--resume", run.string()}, dir.path);
  CAPTURE(resumed.err);
  REQUIRE(resumed.status == 0);
  CHECK(read_file(dir / "ref" / "model.safetensors") == read_file(run / "model.safetensors"));
  CHECK(metrics_without_time(read_file(dir / "ref" / "metrics.csv")) == metrics_without_time(read_file(run / "metrics.csv")));
}

TEST_CASE("nnlab train killed with SIGKILL resumes to the same weights") {
  TempDir dir("resume-kill");
  const fs::path d = dir.path;
  std::ofstream(d / "c.json") << resumable_config(d / "ref", 8).dump();
  REQUIRE(run_nnlab({"train", (d / "c.json").string(), "--out", (d / "ref").string()}, d).status == 0);

  Process killed = start_nnlab({"train", (d / "c.json").string(), "--out", (d / "killed").string()}, d);
  REQUIRE(killed.pid() > 0);
  // Kill it once it has checkpointed at least one epoch (or finished, if the machine is fast).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(d / "killed" / "checkpoint.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  killed.kill(SIGKILL);
  killed.wait();
  REQUIRE(fs::exists(d / "killed" / "checkpoint.safetensors"));
  REQUIRE(run_nnlab({"train", "--resume", (d / "killed").string()}, d).status == 0);
  CHECK(read_file(d / "ref" / "model.safetensors") == read_file(d / "killed" / "model.safetensors"));
}

TEST_CASE("a signal sent twice at once (coreutils timeout signals the process and then its group) still stops cleanly") {
  TempDir dir("double-term");
  std::ofstream(dir / "c.json") << config();
  for (int attempt = 0; attempt < 4; ++attempt) {
    CAPTURE(attempt);
    const fs::path run = dir / ("run" + std::to_string(attempt));
    Process nnlab = start_nnlab({"train", (dir / "c.json").string(), "--out", run.string()}, dir.path);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(run / "checkpoint.safetensors") && !nnlab.exited() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    // The second copy arrives after the handler has seen the first: within a few milliseconds.
    nnlab.kill(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt));
    nnlab.kill(SIGTERM);
    const ProcessResult r = nnlab.wait();
    CAPTURE(r.err);
    CHECK(r.signal == 0);
    CHECK(r.status == 143);
    CHECK(contains(r.err, "nnlab: error: interrupted by SIGTERM during epoch "));
  }
}

TEST_CASE("nnlab train under coreutils timeout ends with its message and a checkpoint to resume") {
  REQUIRE_FALSE(find_on_path("timeout").empty());  // coreutils
  TempDir dir("timeout");
  std::ofstream(dir / "c.json") << config(2000, 100000);  // minutes of work: the timeout always comes first
  for (int attempt = 0; attempt < 3; ++attempt) {
    CAPTURE(attempt);
    const fs::path run = dir / ("run" + std::to_string(attempt));
    const ProcessResult r = run_program(
        {"timeout", "--preserve-status", "1.5", NNLAB_BINARY, "train", (dir / "c.json").string(), "--out", run.string()},
        dir.path);
    CAPTURE(r.err);
    CHECK(r.status == 143);
    CHECK(contains(r.err, "nnlab: error: interrupted by SIGTERM during epoch "));
    CHECK(fs::exists(run / "checkpoint.safetensors"));
  }
}
