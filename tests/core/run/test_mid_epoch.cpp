// Mid-epoch checkpoints (core/run/run.cpp, checkpoint.cpp): training stopped inside an epoch
// (should_stop: SIGINT/SIGTERM in nnlab train) writes a checkpoint at that batch, and a resume goes
// on from it bit-identically to a run never stopped; train.checkpoint_every bounds what a SIGKILL
// loses, and a resume after one also ends with identical weights.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "support/configs.hpp"
#include "support/files.hpp"
#include "support/metrics_text.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

constexpr int kBatches = 45;  // resumable_config: 720 training samples / 16

struct RunFiles {
  std::string model, best, csv, jsonl;
};


RunFiles outputs_of(const fs::path& d) {
  return {read_file(d / "model.safetensors"), read_file(d / "best.safetensors"),
          metrics_without_time(read_file(d / "metrics.csv")), jsonl_without_time(read_file(d / "metrics.jsonl"))};
}

void check_same(const RunFiles& a, const RunFiles& b) {
  CHECK(a.model == b.model);
  CHECK(a.best == b.best);
  CHECK(a.csv == b.csv);
  CHECK(a.jsonl == b.jsonl);
}

RunFiles reference(int epochs) {
  TempDir ref("mid-ref");
  run_training(resolve_config(resumable_config(ref.path, epochs), "r.json"));
  return outputs_of(ref.path);
}

}  // namespace

TEST_CASE("stopped inside an epoch (epoch 1 and later): a checkpoint at that batch, and a bit-identical resume") {
  const RunFiles ref = reference(4);
  for (const int stop_at : {7, 2 * kBatches + 30, 3 * kBatches + 1}) {
    CAPTURE(stop_at);
    TempDir dir("mid-stop");
    const fs::path d = dir.path;
    RunCallbacks cb;
    int batches = 0;
    cb.loop.should_stop = [&] { return ++batches == stop_at; };
    CHECK_THROWS_WITH_AS(run_training(resolve_config(resumable_config(d, 4), "r.json"), cb),
                         doctest::Contains("the checkpoint at that batch is saved in"), InterruptedError);
    const TensorFile ck = load_safetensors(d / "checkpoint.safetensors");
    CHECK(ck.metadata.at("nnlab.epoch") == std::to_string(stop_at / kBatches));
    CHECK(ck.metadata.at("nnlab.batch") == std::to_string(stop_at % kBatches));
    CHECK(ck.metadata.at("optimizer.step") == std::to_string(stop_at));
    const std::size_t rows = fs::exists(d / "metrics.jsonl") ? lines_of(read_file(d / "metrics.jsonl")).size() : 0;
    CHECK(rows == static_cast<std::size_t>(stop_at / kBatches));
    CHECK_FALSE(fs::exists(d / "model.safetensors"));
    // Stopped again in the resumed epoch, then resumed to the end.
    RunCallbacks again;
    int more = 0;
    again.loop.should_stop = [&] { return ++more == 5; };
    CHECK_THROWS_AS(run_training(resolve_config(resumable_config(d, 4), "r.json"), again, {.resume = true}),
                    InterruptedError);
    CHECK(load_safetensors(d / "checkpoint.safetensors").metadata.at("optimizer.step") == std::to_string(stop_at + 5));
    run_training(resolve_config(resumable_config(d, 4), "r.json"), {}, {.resume = true});
    check_same(outputs_of(d), ref);
  }
}

TEST_CASE("a mid-epoch checkpoint is checked like any other") {
  TempDir dir("mid-damaged");
  const fs::path d = dir.path;
  RunCallbacks cb;
  int batches = 0;
  cb.loop.should_stop = [&] { return ++batches == kBatches + 9; };
  CHECK_THROWS_AS(run_training(resolve_config(resumable_config(d, 3), "r.json"), cb), InterruptedError);
  const TensorFile good = load_safetensors(d / "checkpoint.safetensors");
  auto resume_error = [&](const TensorFile& ck, int epochs = 3) -> std::string {
    write_file_atomic(d / "checkpoint.safetensors", encode_safetensors(ck));
    try {
      run_training(resolve_config(resumable_config(d, epochs), "r.json"), {}, {.resume = true});
    } catch (const Error& e) {
      return e.what();
    }
    return "(resumed)";
  };
  TensorFile ck = good;
  ck.metadata["nnlab.batch"] = std::to_string(kBatches);
  CHECK(contains(resume_error(ck), "nnlab.batch '45' is not a whole number from 0 to 44"));
  ck = good;
  ck.metadata["nnlab.batch"] = "10";  // one more than the optimizer stepped
  const std::string steps = resume_error(ck);
  CAPTURE(steps);
  CHECK(contains(steps, "optimizer.step"));
  ck = good;
  ck.metadata["nnlab.epoch_seen"] = "100000";
  CHECK(contains(resume_error(ck), "nnlab.epoch_seen '100000'"));
  ck = good;
  ck.metadata["nnlab.rng.augment"] = "1 2";
  CHECK(contains(resume_error(ck), "nnlab.rng.augment"));
  ck = good;
  ck.metadata["nnlab.epoch_loss_sum"] = "nan";
  CHECK(contains(resume_error(ck), "nnlab.epoch_loss_sum 'nan'"));
  // Inside epoch 2: a run of 1 epoch cannot be what it is part of.
  const std::string fewer = resume_error(good, 1);
  CHECK(contains(fewer, "has completed 1 epochs and batch 9 of epoch 2"));
  CHECK(contains(resume_error(good), "(resumed)"));
}

TEST_CASE("train.checkpoint_every: SIGKILL loses at most that many steps, and the resume ends identically") {
  const RunFiles ref = reference(4);
  TempDir dir("mid-kill");
  const fs::path d = dir.path;
  constexpr int kill_at = 2 * kBatches + 17, every = 10;
  json doc = resumable_config(d, 4);
  doc["train"]["checkpoint_every"] = std::to_string(every) + " steps";
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    RunCallbacks cb;
    int batches = 0;
    cb.loop.on_batch = [&](const BatchProgress&) {
      if (++batches == kill_at) ::raise(SIGKILL);
    };
    try {
      run_training(resolve_config(doc, "r.json"), cb);
    } catch (...) {
    }
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  const TensorFile ck = load_safetensors(d / "checkpoint.safetensors");
  const int steps = std::stoi(ck.metadata.at("optimizer.step"));
  CAPTURE(steps);
  CHECK(kill_at - steps < every);  // the batch being killed in was never finished: at most every - 1 more
  CHECK(steps > 2 * kBatches);     // inside epoch 3, not its start
  run_training(resolve_config(doc, "r.json"), {}, {.resume = true});
  const RunFiles got = outputs_of(d);
  CHECK(got.model == ref.model);
  CHECK(got.csv == ref.csv);
  CHECK(got.jsonl == ref.jsonl);
}

TEST_CASE("train.checkpoint_every is validated with the valid forms named") {
  TempDir dir("mid-config");
  for (const char* bad : {"5 minutes", "0 steps", "1.5 steps", "steps", "abc s", "-1 s", "0 s", "10", "1e13 steps"}) {
    CAPTURE(bad);
    json doc = resumable_config(dir.path, 2);
    doc["train"]["checkpoint_every"] = bad;
    const std::string named = "train.checkpoint_every: '" + std::string(bad) + "'";
    CHECK_THROWS_WITH_AS(resolve_config(doc, "r.json"), doctest::Contains(named.c_str()), ConfigError);
  }
  for (const char* good : {"epoch", "500 steps", "1 step", "60 s", "0.5 seconds"}) {
    json doc = resumable_config(dir.path, 2);
    doc["train"]["checkpoint_every"] = good;
    CHECK(resolve_config(doc, "r.json").train.checkpoint_every == good);
  }
  // A different checkpoint_every on resume is the same run.
  json doc = resumable_config(dir.path, 1);
  run_training(resolve_config(doc, "r.json"));
  doc["train"]["checkpoint_every"] = "3 steps";
  doc["train"]["epochs"] = 2;
  CHECK(run_training(resolve_config(doc, "r.json"), {}, {.resume = true}).size() == 1);
}

TEST_CASE("train.checkpoint_every in seconds: a checkpoint once that much wall time has passed") {
  TempDir dir("mid-seconds");
  json doc = resumable_config(dir.path, 2);
  doc["train"]["checkpoint_every"] = "0.05 s";
  RunCallbacks cb;
  int batches = 0;
  struct Killed {};
  cb.loop.on_batch = [&](const BatchProgress&) {
    ++batches;
    if (batches == 6) std::this_thread::sleep_for(std::chrono::milliseconds(60));  // the interval passes here
    if (batches == 9) throw Killed{};  // as if killed: nothing more is written
  };
  CHECK_THROWS_AS(run_training(resolve_config(doc, "r.json"), cb), Killed);
  REQUIRE(fs::exists(dir / "checkpoint.safetensors"));
  const TensorFile ck = load_safetensors(dir / "checkpoint.safetensors");
  CHECK(ck.metadata.at("nnlab.epoch") == "0");
  const int batch = std::stoi(ck.metadata.at("nnlab.batch"));
  CHECK(batch >= 6);
  CHECK(batch < 9);
}
