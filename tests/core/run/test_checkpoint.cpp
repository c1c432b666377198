// Checkpoints and resume (core/run/checkpoint.cpp): an interrupted run continued with resume ends
// with weights bit-identical to an uninterrupted run with the same thread count; a checkpoint of
// another config, a damaged one or none is refused. (Killing the nnlab process itself:
// tests/apps/cli/test_interrupt.cpp.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/run/checkpoint.hpp"
#include "core/run/spec.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "support/configs.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;
using json = nlohmann::json;

TEST_CASE("interrupting mid-epoch and resuming gives bit-identical weights and metrics") {
  TempDir a_dir("resume-a"), b_dir("resume-b");
  const fs::path a = a_dir.path, b = b_dir.path;
  RunSpec full = resolve_config(resumable_config(a, 6), "r.json");
  run_training(full);

  RunSpec part = resolve_config(resumable_config(b, 6), "r.json");
  RunCallbacks cb;
  int batches = 0;
  cb.loop.should_stop = [&] { return ++batches == 3 * 45 + 7; };  // 720 training samples / 16 = 45 batches per epoch
  CHECK_THROWS_AS(run_training(part, cb), InterruptedError);
  CHECK(fs::exists(b / "checkpoint.safetensors"));
  CHECK_FALSE(fs::exists(b / "model.safetensors"));
  CHECK(load_safetensors(b / "checkpoint.safetensors").metadata.at("nnlab.epoch") == "3");

  RunSpec resumed = resolve_config(resumable_config(b, 6), "r.json");
  const auto h = run_training(resumed, {}, {.resume = true});
  CHECK(h.size() == 3);  // epochs 4..6
  CHECK(read_file(a / "model.safetensors") == read_file(b / "model.safetensors"));
  CHECK(read_file(a / "best.safetensors") == read_file(b / "best.safetensors"));
  CHECK(metrics_without_time(read_file(a / "metrics.csv")) == metrics_without_time(read_file(b / "metrics.csv")));
}

TEST_CASE("resume refuses a different config and damaged checkpoints") {
  TempDir dir("resume-refuse");
  const fs::path d = dir.path;
  RunSpec cfg = resolve_config(resumable_config(d, 2), "r.json");
  run_training(cfg);
  json other = resumable_config(d, 2);
  other["optimizer"]["lr"] = 0.2;
  RunSpec changed = resolve_config(other, "r.json");
  CHECK_THROWS_WITH_AS(run_training(changed, {}, {.resume = true}), doctest::Contains("different config"), CheckpointError);

  // More epochs is allowed: the run is extended.
  RunSpec longer = resolve_config(resumable_config(d, 3), "r.json");
  CHECK(run_training(longer, {}, {.resume = true}).size() == 1);

  const std::string bytes = read_file(d / "checkpoint.safetensors");
  write_file_atomic(d / "checkpoint.safetensors", bytes.substr(0, bytes.size() - 100));
  RunSpec again = resolve_config(resumable_config(d, 4), "r.json");
  CHECK_THROWS_WITH_AS(run_training(again, {}, {.resume = true}), doctest::Contains("checkpoint.safetensors"), CheckpointError);

  TempDir empty("resume-empty");
  RunSpec none = resolve_config(resumable_config(empty.path, 2), "r.json");
  CHECK_THROWS_WITH_AS(run_training(none, {}, {.resume = true}), doctest::Contains("no checkpoint"), CheckpointError);
}
