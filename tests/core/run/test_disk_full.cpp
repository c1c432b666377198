// A full disk during a run, on a real file system that fills up: a small tmpfs (support/tmpfs.hpp;
// skipped where mounting is not allowed). Whatever write runs out of space, the run ends with an
// error naming the file and "No space left on device", the checkpoint on disk loads, the metrics
// files agree with it, and once space is freed, resuming produces the model and metrics of a run
// that never ran out of space.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "support/files.hpp"
#include "support/metrics_text.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"
#include "support/tmpfs.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

namespace {

// Small files, several of each per epoch: config, metrics, best (validation split), checkpoint.
json config(const fs::path& out, const json& train_extra = json::object()) {
  json doc = json::parse(R"({
    "model": {"hidden": [24], "activation": "tanh", "dropout": 0.1},
    "data": {"dataset": "spirals", "samples": 60, "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 5, "batch_size": 16, "seed": 9, "threads": 1}
  })");
  for (const auto& [k, v] : train_extra.items()) doc["train"][k] = v;
  doc["output"]["dir"] = out.string();
  return doc;
}

std::size_t metrics_rows(const fs::path& dir) {
  if (!fs::exists(dir / "metrics.csv")) return 0;
  const auto lines = lines_of(slurp(dir / "metrics.csv"));
  return lines.empty() ? 0 : lines.size() - 1;
}

std::size_t jsonl_rows(const fs::path& dir) {
  return fs::exists(dir / "metrics.jsonl") ? lines_of(slurp(dir / "metrics.jsonl")).size() : 0;
}


void run_out_of_space(const json& train_extra, const std::vector<std::string>& must_fail) {
  TempDir ref_dir("disk-full-ref");
  run_training(resolve_config(config(ref_dir.path, train_extra), "c.json"));
  const std::string ref_model = slurp(ref_dir / "model.safetensors");
  const std::string ref_csv = metrics_without_time(slurp(ref_dir / "metrics.csv"));
  const std::string ref_jsonl = jsonl_without_time(slurp(ref_dir / "metrics.jsonl"));

  SmallTmpfs disk(512 * 1024, "disk-full");
  std::set<std::string> failed_files;
  int completed = 0;
  for (std::uint64_t free_pages = 0; free_pages < 48 && completed < 2; ++free_pages) {
    CAPTURE(free_pages);
    const fs::path run = disk / ("run" + std::to_string(free_pages));
    disk.fill(free_pages);
    std::string message;
    try {
      run_training(resolve_config(config(run, train_extra), "c.json"));
      ++completed;  // enough space for the whole run
    } catch (const Error& e) {
      message = e.what();
    }
    CAPTURE(message);
    if (!message.empty()) {
      CHECK(contains(message, "No space left on device"));
      CHECK(contains(message, run.string()));
      failed_files.insert(fs::path(message.substr(0, message.find(':'))).filename().string());
    }
    CHECK(leftover_temporaries(run).empty());
    // The checkpoint on disk (if any) loads, and the metrics files list exactly its epochs.
    std::size_t epochs = 0;
    if (fs::exists(run / "checkpoint.safetensors")) {
      const TensorFile ck = load_safetensors(run / "checkpoint.safetensors");
      epochs = static_cast<std::size_t>(std::stoi(ck.metadata.at("nnlab.epoch")));
    }
    CHECK(metrics_rows(run) == epochs);
    CHECK(jsonl_rows(run) == epochs);

    // Space again: resume (or start again, if not even a checkpoint was written) to the end.
    disk.release();
    const bool resume = fs::exists(run / "checkpoint.safetensors");
    std::string again;
    try {
      run_training(resolve_config(config(run, train_extra), "c.json"), {}, {.resume = resume});
    } catch (const Error& e) {
      again = e.what();
    }
    CAPTURE(again);
    CHECK(again.empty());
    CHECK(slurp(run / "model.safetensors") == ref_model);
    CHECK(metrics_without_time(slurp(run / "metrics.csv")) == ref_csv);
    CHECK(jsonl_without_time(slurp(run / "metrics.jsonl")) == ref_jsonl);
    fs::remove_all(run);
  }
  CHECK(completed > 0);  // the sizes tried reach a run that fits
  // Running out of space hit every kind of file written while space runs out: config, metrics, best,
  // checkpoint. (The final model needs less than the checkpoint just replaced, so it never fails
  // here; test_checkpoint.cpp makes its save fail another way.)
  std::string hit;
  for (const auto& f : failed_files) hit += f + " ";
  CAPTURE(hit);
  for (const auto& name : must_fail) CHECK(failed_files.count(name) == 1);
}

}  // namespace

TEST_CASE("disk full at any write of a run: a named error, consistent files, and a resume to the same model") {
  run_out_of_space(json::object(), {"config.json", "metrics.csv", "best.safetensors", "checkpoint.safetensors"});
}

TEST_CASE("disk full with checkpoints inside epochs too (train.checkpoint_every): the same guarantees") {
  // (Mid-epoch checkpoints take the space first, so the metrics fail only at the smallest sizes.)
  run_out_of_space({{"checkpoint_every", "2 steps"}}, {"config.json", "best.safetensors", "checkpoint.safetensors"});
}
