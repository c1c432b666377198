// Checkpoints and resume (core/run/checkpoint.cpp): an interrupted run continued with resume ends
// with weights bit-identical to an uninterrupted run with the same thread count; a checkpoint of
// another config, a damaged one or none is refused. (Killing the nnlab process itself:
// tests/apps/cli/test_interrupt.cpp.)
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <limits>
#include <sstream>

#include "core/run/checkpoint.hpp"
#include "core/run/model_file.hpp"
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

namespace {

// A run with a state of every kind to damage: BatchNorm buffers (layer 1), a dropout stream
// (layer 3), momentum buffers; no schedule, so the optimizer's lr is the config's.
json plain_config(const fs::path& out, int epochs) {
  json doc = json::parse(R"({
    "model": {"input": 2, "layers": [{"type": "dense", "out_features": 8}, "batchnorm", "tanh",
                                     {"type": "dropout", "p": 0.2}, {"type": "dense", "out_features": 3}]},
    "data": {"dataset": "spirals", "samples": 40},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "train": {"epochs": 2, "batch_size": 16, "seed": 5, "threads": 1}
  })");
  doc["train"]["epochs"] = epochs;
  doc["output"]["dir"] = out.string();
  return doc;
}

TensorFile checkpoint_of(const fs::path& dir) { return load_safetensors(dir / "checkpoint.safetensors"); }
void replace_checkpoint(const fs::path& dir, const TensorFile& f) {
  write_file_atomic(dir / "checkpoint.safetensors", encode_safetensors(f));
}

// What resuming `doc` says: the message of the error it throws, or that it resumed.
std::string resume_error(const json& doc) {
  RunSpec spec = resolve_config(doc, "r.json");
  try {
    run_training(spec, {}, {.resume = true});
  } catch (const Error& e) {
    return e.what();
  }
  return "(resumed without an error)";
}

}  // namespace

TEST_CASE("resume validates everything a checkpoint holds and names what is wrong") {
  TempDir dir("ck-validate");
  const fs::path d = dir.path;
  RunSpec spec = resolve_config(plain_config(d, 2), "r.json");
  run_training(spec);
  TensorFile ck = checkpoint_of(d);
  std::vector<std::string> expected;
  SUBCASE("a negative BatchNorm running variance") {
    ck.tensors.at("model.layers.1.running_var").data[2] = -0.5f;
    expected = {"layers.1.running_var", "-0.5", "below"};
  }
  SUBCASE("a fractional batch count") {
    ck.tensors.at("model.layers.1.num_batches_tracked").data[0] = 2.5f;
    expected = {"layers.1.num_batches_tracked", "whole number"};
  }
  SUBCASE("a negative epoch") {
    ck.metadata["nnlab.epoch"] = "-3";
    expected = {"nnlab.epoch", "'-3'"};
  }
  SUBCASE("an epoch with trailing junk") {
    ck.metadata["nnlab.epoch"] = "1junk";
    expected = {"nnlab.epoch", "'1junk'"};
  }
  SUBCASE("an epoch the optimizer's step count contradicts") {
    ck.metadata["nnlab.epoch"] = "7";
    expected = {"nnlab.epoch", "optimizer.step"};
  }
  SUBCASE("a best epoch after the last epoch") {
    ck.metadata["nnlab.best_epoch"] = "9";
    expected = {"nnlab.best_epoch"};
  }
  SUBCASE("random-state words that are not unsigned 64-bit numbers") {
    ck.metadata["nnlab.rng.3"] = "-1 -2 -3 -4";
    expected = {"nnlab.rng.3", "'-1 -2 -3 -4'"};
  }
  SUBCASE("random state of the wrong length") {
    ck.metadata["nnlab.rng.3"] = "1 2 3";
    expected = {"checkpoint.safetensors", "nnlab.rng.3"};
  }
  SUBCASE("a stored lr that is not the config's") {
    ck.metadata["optimizer.lr"] = "1e30";
    expected = {"optimizer.lr", "1e30", "0.1"};
  }
  SUBCASE("a NaN in a momentum buffer") {
    ck.tensors.at("optimizer.layers.0.weight.momentum_buffer").data[1] = std::nanf("");
    expected = {"optimizer.layers.0.weight.momentum_buffer", "NaN or infinite"};
  }
  SUBCASE("an infinite momentum buffer") {
    ck.tensors.at("optimizer.layers.4.bias.momentum_buffer").data[0] = std::numeric_limits<float>::infinity();
    expected = {"optimizer.layers.4.bias.momentum_buffer", "NaN or infinite"};
  }
  SUBCASE("unknown metadata") {
    ck.metadata["nnlab.epochs"] = "2";
    expected = {"nnlab.epochs", "unexpected"};
  }
  SUBCASE("a newer format version") {
    ck.metadata["nnlab.format_version"] = "3";
    expected = {"format version 3", "newer"};
  }
  SUBCASE("a format version that is not a number") {
    ck.metadata["nnlab.format_version"] = "two";
    expected = {"format version", "'two'"};
  }
  replace_checkpoint(d, ck);
  const std::string msg = resume_error(plain_config(d, 3));
  CAPTURE(msg);
  CHECK(contains(msg, (d / "checkpoint.safetensors").string()));
  for (const auto& part : expected) CHECK(contains(msg, part));
}

TEST_CASE("resume checks the schedule's state and the lr against the schedule") {
  TempDir dir("ck-validate-schedule");
  const fs::path d = dir.path;
  json doc = resumable_config(d, 2);
  std::vector<std::string> expected;
  SUBCASE("an lr the cosine schedule does not give at that step") {
    run_training(resolve_config(doc, "r.json"));
    TensorFile ck = checkpoint_of(d);
    ck.metadata["optimizer.lr"] = "0.5";
    replace_checkpoint(d, ck);
    expected = {"optimizer.lr", "'0.5'", "schedule"};
  }
  SUBCASE("schedule ticks that disagree with the optimizer's steps") {
    run_training(resolve_config(doc, "r.json"));
    TensorFile ck = checkpoint_of(d);
    ck.metadata["schedule.ticks"] = "3";
    replace_checkpoint(d, ck);
    expected = {"schedule.ticks", "3"};
  }
  SUBCASE("a reduce_on_plateau lr above anything the config can reach") {
    doc["schedule"] = {{"type", "reduce_on_plateau"}, {"metric", "val_loss"}, {"patience", 0}};
    run_training(resolve_config(doc, "r.json"));
    TensorFile ck = checkpoint_of(d);
    ck.metadata["schedule.lr"] = "1e30";
    ck.metadata["optimizer.lr"] = "1e30";
    replace_checkpoint(d, ck);
    expected = {"schedule.lr", "1e30", "0.1"};
  }
  json longer = doc;
  longer["train"]["epochs"] = 3;
  const std::string msg = resume_error(longer);
  CAPTURE(msg);
  for (const auto& part : expected) CHECK(contains(msg, part));
}

TEST_CASE("resuming with fewer epochs than completed is refused, and nothing is changed") {
  TempDir dir("ck-fewer");
  const fs::path d = dir.path;
  run_training(resolve_config(plain_config(d, 3), "r.json"));
  const std::string config = read_file(d / "config.json"), metrics = read_file(d / "metrics.csv"),
                    checkpoint = read_file(d / "checkpoint.safetensors"), model = read_file(d / "model.safetensors");
  RunSpec fewer = resolve_config(plain_config(d, 2), "r.json");
  const std::string refusal = "train.epochs is 2, but the run in " + d.string() + " has completed 3 epochs";
  CHECK_THROWS_WITH_AS(run_training(fewer, {}, {.resume = true}), doctest::Contains(refusal.c_str()), ConfigError);
  CHECK(read_file(d / "config.json") == config);
  CHECK(read_file(d / "metrics.csv") == metrics);
  CHECK(read_file(d / "checkpoint.safetensors") == checkpoint);
  CHECK(read_file(d / "model.safetensors") == model);
  // The same number of epochs: nothing to do, nothing changed.
  RunSpec same = resolve_config(plain_config(d, 3), "r.json");
  CHECK(run_training(same, {}, {.resume = true}).empty());
  CHECK(read_file(d / "metrics.csv") == metrics);
  CHECK(read_file(d / "model.safetensors") == model);
}

TEST_CASE("a failed final save is made good by resume, which writes model.safetensors") {
  TempDir ref_dir("ck-final-ref"), dir("ck-final");
  const fs::path d = dir.path;
  run_training(resolve_config(plain_config(ref_dir.path, 3), "r.json"));
  // Something in the way of the final save only (as a full disk would be): a non-empty directory.
  fs::create_directories(d / "model.safetensors" / "in-the-way");
  CHECK_THROWS_WITH_AS(run_training(resolve_config(plain_config(d, 3), "r.json")),
                       doctest::Contains((d / "model.safetensors").string().c_str()), Error);
  CHECK(checkpoint_of(d).metadata.at("nnlab.epoch") == "3");
  fs::remove_all(d / "model.safetensors");
  CHECK(run_training(resolve_config(plain_config(d, 3), "r.json"), {}, {.resume = true}).empty());
  CHECK(read_file(d / "model.safetensors") == read_file(ref_dir.path / "model.safetensors"));
  // A model.safetensors that is not the checkpoint's weights (stale, or damaged) is replaced too.
  write_file_atomic(d / "model.safetensors", "stale");
  run_training(resolve_config(plain_config(d, 3), "r.json"), {}, {.resume = true});
  CHECK(read_file(d / "model.safetensors") == read_file(ref_dir.path / "model.safetensors"));
}

TEST_CASE("metrics rows after the checkpoint's epoch (a crash between the two) are cut on resume") {
  TempDir ref_dir("ck-cut-ref"), dir("ck-cut");
  const fs::path d = dir.path;
  run_training(resolve_config(plain_config(ref_dir.path, 3), "r.json"));
  run_training(resolve_config(plain_config(d, 2), "r.json"));
  const TensorFile ck = checkpoint_of(d);
  CHECK(std::stoull(ck.metadata.at("nnlab.metrics_csv_bytes")) == fs::file_size(d / "metrics.csv"));
  CHECK(std::stoull(ck.metadata.at("nnlab.metrics_jsonl_bytes")) == fs::file_size(d / "metrics.jsonl"));
  // As if epoch 3's rows were appended and the process then killed before its checkpoint.
  {
    std::ofstream(d / "metrics.csv", std::ios::app) << "3,1,2,3,4,5,,,0.1\n";
    std::ofstream(d / "metrics.jsonl", std::ios::app) << "{\"epoch\":3}\n";
  }
  run_training(resolve_config(plain_config(d, 3), "r.json"), {}, {.resume = true});
  CHECK(metrics_without_time(read_file(d / "metrics.csv")) ==
        metrics_without_time(read_file(ref_dir.path / "metrics.csv")));
  CHECK(lines_of(read_file(d / "metrics.jsonl")).size() == 3);
  CHECK(read_file(d / "model.safetensors") == read_file(ref_dir.path / "model.safetensors"));
  // Metrics shorter than the checkpoint says: refused, naming the file.
  write_file_atomic(d / "metrics.csv", "epoch\n");
  const std::string msg = resume_error(plain_config(d, 4));
  CHECK(contains(msg, (d / "metrics.csv").string()));
  CHECK(contains(msg, "missing"));
}

TEST_CASE("a format-1 checkpoint (no nnlab.format_version, metrics text inside) still resumes") {
  TempDir ref_dir("ck-v1-ref"), dir("ck-v1");
  const fs::path d = dir.path;
  run_training(resolve_config(plain_config(ref_dir.path, 3), "r.json"));
  run_training(resolve_config(plain_config(d, 2), "r.json"));
  TensorFile ck = checkpoint_of(d);
  // What nnlab wrote before format versions: the metrics whole, no length, no early-stop flag.
  ck.metadata.erase("nnlab.format_version");
  ck.metadata.erase("nnlab.metrics_csv_bytes");
  ck.metadata.erase("nnlab.metrics_jsonl_bytes");
  for (const char* key : {"nnlab.stopped_early", "nnlab.batch", "nnlab.epoch_loss_sum", "nnlab.epoch_correct",
                          "nnlab.epoch_seen", "nnlab.epoch_skipped", "nnlab.skips_in_a_row", "nnlab.epoch_lr",
                          "nnlab.rng.augment"})
    ck.metadata.erase(key);
  ck.metadata["nnlab.metrics_csv"] = read_file(d / "metrics.csv");
  ck.metadata["nnlab.metrics_jsonl"] = read_file(d / "metrics.jsonl");
  replace_checkpoint(d, ck);
  fs::remove(d / "metrics.csv");  // rewritten from the checkpoint's text
  run_training(resolve_config(plain_config(d, 3), "r.json"), {}, {.resume = true});
  CHECK(read_file(d / "model.safetensors") == read_file(ref_dir.path / "model.safetensors"));
  CHECK(metrics_without_time(read_file(d / "metrics.csv")) ==
        metrics_without_time(read_file(ref_dir.path / "metrics.csv")));
  // The new checkpoint is format 2.
  CHECK(checkpoint_of(d).metadata.at("nnlab.format_version") == "2");
}

TEST_CASE("a run ended by early stopping stays ended on resume") {
  TempDir dir("ck-early");
  const fs::path d = dir.path;
  json doc = plain_config(d, 30);
  doc["train"]["monitor"] = "train_loss";
  doc["train"]["patience"] = 1;
  doc["train"]["min_delta"] = 10;  // no epoch improves by that much: stops at epoch 2
  const auto h = run_training(resolve_config(doc, "r.json"));
  REQUIRE(h.size() == 2);
  CHECK(checkpoint_of(d).metadata.at("nnlab.stopped_early") == "1");
  const std::string model = read_file(d / "model.safetensors");
  CHECK(run_training(resolve_config(doc, "r.json"), {}, {.resume = true}).empty());
  CHECK(read_file(d / "model.safetensors") == model);
}

TEST_CASE("a checkpoint written before format versions (tests/data/checkpoint_v1, config lacking later keys) resumes") {
  TempDir dir("ck-v1-real");
  const fs::path d = dir.path;
  const fs::path data = fs::path(NNLAB_TEST_DATA_DIR) / "checkpoint_v1";
  const TensorFile old = load_safetensors(data / "checkpoint_epoch1.safetensors");
  REQUIRE(old.metadata.count("nnlab.format_version") == 0);
  fs::copy_file(data / "checkpoint_epoch1.safetensors", d / "checkpoint.safetensors");
  json doc = json::parse(old.metadata.at("nnlab.config"));
  doc["train"]["epochs"] = 3;
  doc["output"]["dir"] = d.string();
  CHECK(run_training(resolve_config(doc, "r.json"), {}, {.resume = true}).size() == 2);
  // The model of that run (the nnlab of then evaluated slightly differently, so the values after
  // epoch 1 are today's: names and shapes are compared), and its metrics continued.
  const TensorFile want = load_safetensors(data / "model.safetensors");
  const TensorFile got = load_safetensors(d / "model.safetensors");
  REQUIRE(got.tensors.size() == want.tensors.size());
  for (const auto& [name, t] : want.tensors) {
    CAPTURE(name);
    REQUIRE(got.tensors.count(name) == 1);
    CHECK(got.tensors.at(name).shape == t.shape);
  }
  CHECK(read_file(d / "metrics.csv").rfind(old.metadata.at("nnlab.metrics_csv"), 0) == 0);
  CHECK(lines_of(read_file(d / "metrics.csv")).size() == 4);  // header, epoch 1 from the old file, 2, 3
}

TEST_CASE("weights files carry the format version; older ones load, newer ones are refused by version") {
  TempDir dir("weights-version");
  const fs::path d = dir.path;
  run_training(resolve_config(plain_config(d, 1), "r.json"));
  TensorFile w = load_safetensors(d / "model.safetensors");
  CHECK(w.metadata.at("nnlab.format_version") == "2");
  w.metadata.erase("nnlab.format_version");  // as before versions: version 1
  write_file_atomic(d / "old.safetensors", encode_safetensors(w));
  CHECK(load_saved_run(d.string(), "old.safetensors").info.classes == 3);
  w.metadata["nnlab.format_version"] = "7";
  write_file_atomic(d / "new.safetensors", encode_safetensors(w));
  const std::string refusal = (d / "new.safetensors").string() + ": format version 7 is newer";
  CHECK_THROWS_WITH_AS(load_saved_run(d.string(), "new.safetensors"), doctest::Contains(refusal.c_str()), CheckpointError);
}
