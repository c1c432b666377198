// Writes the fuzzers' seed corpus with nnlab's own writers, and their dictionaries:
//
//   fuzz_make_corpus OUT_DIR SOURCE_DIR    (tests/fuzz/make_corpus.sh: OUT_DIR = tests/fuzz, SOURCE_DIR = .)
//
//   corpus/idx/          IDX files of 1 to 4 dimensions, raw and gzip (write_idx)
//   corpus/cifar/        CIFAR-10 and CIFAR-100 files of 1 and 2 records
//   corpus/config/       the run configs in configs/, and small configs using every layer,
//                        activation, optimizer, schedule, data set and loss, some with --set lines
//   corpus/checkpoint/   checkpoints and weights written by run_training() on checkpoint_run_config()
//   corpus/experiment/   the compare experiments in configs/ (their base renamed to the target's
//                        base.json), and small experiments using every key and kind of value
//   corpus/done/         done.json and attempt.json of every status as the runner writes them,
//                        last_sweep.json, and a record with a hand-written metrics.csv after a NUL
//   corpus/weights/      the metadata of a training run's model.safetensors and best.safetensors
//   *.dict               libFuzzer dictionaries: every name and key the parsers know
//
// Every seed is fed through its target before it is written and must be accepted there (the
// checkpoint target runs two loaders; a seed must satisfy at least one), so the corpus is known
// to be valid input.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/loss.hpp"
#include "core/optimizer.hpp"
#include "core/registry.hpp"
#include "core/schedule.hpp"
#include "core/run/run.hpp"
#include "core/run/spec.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "datasets/idx.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

using namespace nnlab;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string read_all(const fs::path& p) { return read_file(p, "file"); }

const std::vector<std::string> kTargets = {"idx", "cifar", "config", "checkpoint", "experiment", "done", "weights"};

// Write `bytes` as corpus/<target>/<name> after checking the target accepts it.
void seed(const fs::path& out, const std::string& target, const std::string& name, const std::string& bytes) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const fuzz::Outcome o = fuzz::target(target).run({p, bytes.size()});
  if (o.accepted == 0)
    throw Error("seed " + target + "/" + name + " is not accepted: " + (o.errors.empty() ? "" : o.errors.front()));
  fs::create_directories(out / "corpus" / target);
  write_file_atomic(out / "corpus" / target / name, bytes);
}

std::string idx_file(const std::vector<std::uint32_t>& dims, bool gzip) {
  std::size_t n = 1;
  for (auto d : dims) n *= d;
  std::vector<std::uint8_t> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 37 % 10);  // valid labels too
  const fs::path tmp = fuzz::scratch_dir() / "seed.idx";
  write_idx(tmp, dims, bytes, gzip);
  return read_all(tmp);
}

void idx_seeds(const fs::path& out) {
  const std::vector<std::pair<std::string, std::vector<std::uint32_t>>> shapes = {
      {"labels_5", {5}}, {"images_3x4x4", {3, 4, 4}}, {"empty_0x2x2", {0, 2, 2}},
      {"matrix_2x3", {2, 3}}, {"tensor_1x2x2x2", {1, 2, 2, 2}}};
  for (const auto& [name, dims] : shapes) {
    seed(out, "idx", name + "-ubyte", idx_file(dims, false));
    seed(out, "idx", name + "-ubyte.gz", idx_file(dims, true));
  }
}

std::string cifar_records(std::size_t n, std::vector<int> labels) {
  std::string out;
  for (std::size_t r = 0; r < n; ++r) {
    for (int l : labels) out.push_back(static_cast<char>(l + static_cast<int>(r)));
    for (std::size_t i = 0; i < 3 * 32 * 32; ++i) out.push_back(static_cast<char>((i / 32 + r) * 8 % 256));
  }
  return out;
}

void cifar_seeds(const fs::path& out) {
  seed(out, "cifar", "cifar10_1.bin", cifar_records(1, {3}));
  seed(out, "cifar", "cifar10_2.bin", cifar_records(2, {9 - 1}));
  seed(out, "cifar", "cifar100_fine_1.bin", cifar_records(1, {4, 42}));
  seed(out, "cifar", "cifar100_coarse_2.bin", cifar_records(2, {18, 98}));
}

json small_config(json model, json extra = json::object()) {
  json c = {{"model", std::move(model)},
            {"data", {{"dataset", "spirals"}, {"samples", 10}}},
            {"train", {{"epochs", 2}, {"batch_size", 8}}}};
  for (const auto& [k, v] : extra.items()) c[k] = v;
  return c;
}

void config_seeds(const fs::path& out, const fs::path& source_dir) {
  for (const auto& entry : fs::directory_iterator(source_dir / "configs")) {
    const std::string text = read_all(entry.path());
    if (!json::parse(text, nullptr, true, true).contains("model")) continue;  // compare specs, not run configs
    seed(out, "config", entry.path().filename().string(), text);
  }
  seed(out, "config", "fashion_mlp_with_set.json",
       read_all(source_dir / "configs" / "fashion_mlp.json") + std::string(1, '\0') +
           "train.epochs=3\nmodel.activation=elu\nmodel.hidden=[64,32]\noptimizer={\"type\":\"adam\"}\n");

  for (const auto* e : LayerRegistry::instance().all())
    if (is_activation(e->kind))
      seed(out, "config", "activation_" + e->name + ".json",
           small_config({{"hidden", {4}}, {"activation", e->name}}).dump() + "\n");
  seed(out, "config", "layers_all.json",
       small_config({{"layers", {"flatten", {{"type", "dense"}, {"out_features", 8}, {"bias", false}},
                                 {{"type", "batchnorm"}, {"momentum", 0.2}}, {{"type", "elu"}, {"alpha", 0.5}},
                                 {{"type", "dropout"}, {"p", 0.1}}, {{"type", "dense"}, {"out_features", 3}}}}})
               .dump(2) +
           "\n");
  for (const auto* e : OptimizerRegistry::instance().all())
    seed(out, "config", "optimizer_" + e->name + ".json",
         small_config({{"hidden", {4}}}, {{"optimizer", {{"type", e->name}, {"lr", 0.01}}}}).dump() + "\n");
  const std::vector<json> schedules = {
      {{"type", "constant"}, {"warmup", {{"total_iters", 2}}}},
      {{"type", "step"}, {"step_size", 1}, {"gamma", 0.5}},
      {{"type", "multi_step"}, {"milestones", {1, 2}}},
      {{"type", "exponential"}, {"gamma", 0.9}, {"interval", "step"}},
      {{"type", "cosine"}, {"T_max", 0}, {"eta_min", 0.001}},
      {{"type", "reduce_on_plateau"}, {"metric", "val_loss"}, {"mode", "min"}, {"patience", 1}}};
  for (const auto& s : schedules) {
    json c = small_config({{"hidden", {4}}}, {{"schedule", s}});
    c["data"]["validation_split"] = 0.2;
    c["train"]["monitor"] = "val_acc";
    c["train"]["patience"] = 2;
    seed(out, "config", "schedule_" + s["type"].get<std::string>() + ".json", c.dump() + "\n");
  }
  seed(out, "config", "xor_mse.json",
       small_config({{"hidden", {3}}, {"init", "he_normal"}, {"dropout", 0.1}},
                    {{"data", {{"dataset", "xor"}, {"noise", 0.2}, {"limit_train", 100}}}})
               .dump() +
           "\n");
  seed(out, "config", "cifar100_coarse.json",
       json{{"model", {{"hidden", {16}}}}, {"data", {{"dataset", "cifar100"}, {"label", "coarse"}, {"crop_padding", 4}}}}
               .dump() +
           "\n");
}

void checkpoint_seeds(const fs::path& out) {
  RunSpec cfg = resolve_config(fuzz::checkpoint_run_config(), "fuzz_checkpoint.json");
  const fs::path run = fuzz::scratch_dir() / "corpus_run";
  cfg.output.dir = run.string();
  RunCallbacks cb;
  std::vector<std::pair<std::string, std::string>> files;
  // on_epoch runs before the epoch's checkpoint is saved: the file then holds the previous epoch.
  cb.on_epoch = [&](const EpochMetrics& m) {
    if (m.epoch > 1) files.emplace_back("checkpoint_epoch" + std::to_string(m.epoch - 1) + ".safetensors",
                                        read_all(run / "checkpoint.safetensors"));
  };
  run_training(cfg, cb);
  files.emplace_back("checkpoint_epoch" + std::to_string(cfg.train.epochs) + ".safetensors",
                     read_all(run / "checkpoint.safetensors"));
  files.emplace_back("model.safetensors", read_all(run / "model.safetensors"));
  files.emplace_back("best.safetensors", read_all(run / "best.safetensors"));
  for (const auto& [name, bytes] : files) seed(out, "checkpoint", name, bytes);
}

void experiment_seeds(const fs::path& out, const fs::path& source_dir) {
  for (const auto& entry : fs::directory_iterator(source_dir / "configs")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("compare_", 0) != 0) continue;
    json e = json::parse(read_all(entry.path()), nullptr, true, true);
    e["base"] = "base.json";
    seed(out, "experiment", name, e.dump(2) + "\n");
  }
  seed(out, "experiment", "minimal.json", R"({"base": "base.json"})" "\n");
  seed(out, "experiment", "every_key.json", R"({
  // comments are allowed, as in configs
  "description": "every key of an experiment file",
  "base": "base.json",
  "set": {"train.epochs": 1, "data.samples": 12},
  "activations": ["relu", {"type": "elu", "alpha": 0.5}, {"type": "squareplus", "b": 4}],
  "sweep": {"optimizer.lr": [0.01, 1e-1], "model.hidden": [[4], [4, 4]]},
  "seeds": [1, 2],
  "target_accuracy": 0.75,
  "output": "runs/every_key"
}
)");
  seed(out, "experiment", "sweep_objects.json", R"({"base": "base.json", "sweep": {"optimizer": [{"type": "adam", "lr": 0.01},
    {"type": "sgd", "lr": 0.1, "momentum": 0.9}], "train.batch_size": [8, 16], "model.activation": ["tanh", "relu"]}, "seeds": [3]})"
                                              "\n");
  seed(out, "experiment", "same_slug.json",
       R"({"base": "base.json", "sweep": {"model.activation": ["relu", {"type": "relu"}], "optimizer.lr": [1e30, 1e+30]}})" "\n");
}

void done_seeds(const fs::path& out) {
  const fuzz::DoneSetup& d = fuzz::done_setup();
  json fingerprint = d.fingerprint;
  fingerprint["base"] = "$BASE";  // the target puts the base config's path of its process there
  // The records as the runner writes them (apps/sweep/runner.cpp write_record()).
  auto record = [&](const std::string& status, int exit_code, const std::string& message) {
    const json rec = {{"id", "s1"},         {"status", status}, {"exit_code", exit_code},
                      {"message", message}, {"seconds", 1.25},  {"threads", 1},
                      {"command", {"nnlab", "train", "$BASE", "--set", "train.seed=1", "--out", "out/runs/s1"}},
                      {"fingerprint", fingerprint}};
    return rec.dump(2) + "\n";
  };
  seed(out, "done", "done_ok.json", record("ok", 0, ""));
  seed(out, "done", "done_diverged.json", record("diverged", 3, "training diverged at epoch 2, batch 3: the loss is nan"));
  seed(out, "done", "attempt_failed.json", record("failed", 1, "data.path x: not found"));
  seed(out, "done", "attempt_interrupted.json",
       record("interrupted", 130, "interrupted by SIGINT during epoch 2, after batch 1 of 2; continue with: ..."));
  report::SweepSummary w;
  w.total = 4, w.skipped = 1, w.started = 3, w.resumed = 1, w.ok = 2, w.failed = 1, w.interrupted = 0, w.seconds = 12.5;
  w.jobs = 2, w.threads = 1;
  report::write_last_sweep(fuzz::scratch_dir(), w);
  seed(out, "done", "last_sweep.json", read_all(fuzz::scratch_dir() / "last_sweep.json"));
  // A record, then (after a NUL) the run's metrics.csv: a shorter, hand-written one.
  seed(out, "done", "done_ok_with_metrics.txt",
       record("ok", 0, "") + std::string(1, '\0') + "epoch,train_loss,test_acc,w1_grad\n1,0.9,0.4,0.1\n2,0.7,0.6,0.05\n");
}

void weights_seeds(const fs::path& out) {
  seed(out, "weights", "model.txt", fuzz::weights_metadata_lines("model.safetensors"));
  seed(out, "weights", "best.txt", fuzz::weights_metadata_lines("best.safetensors"));
  // The same model described as images of 1 x 1 x 2 pixels, without class names.
  std::string image;
  for (const auto& line : split_list(fuzz::weights_metadata_lines("model.safetensors"), '\n')) {
    if (line.rfind("nnlab.shape=", 0) == 0) image += "nnlab.shape=[1,1,2]\n";
    else if (line.rfind("nnlab.class_names=", 0) == 0) image += "nnlab.class_names=[]\n";
    else image += line + "\n";
  }
  seed(out, "weights", "image_shape.txt", image);
  seed(out, "weights", "minimal.txt",
       "nnlab.scale=0.00392156886\n" "nnlab.mean=[0]\n" "nnlab.std=[1]\n" "nnlab.classes=3\n" "nnlab.class_names=[]\n"
       "nnlab.shape=[2]\n");
}

// One "word" per line, as libFuzzer's -dict expects.
void write_dict(const fs::path& path, const std::set<std::string>& words) {
  std::string text = "# generated by tests/fuzz/make_corpus.sh\n";
  for (const auto& w : words) text += json(w).dump() + "\n";
  write_file_atomic(path, text);
}

void dictionaries(const fs::path& out) {
  std::set<std::string> config = {"description", "model", "data", "optimizer", "schedule", "train", "output",
                                  "input", "hidden", "activation", "classes", "init", "dropout", "layers",
                                  "dataset", "validation_split", "normalize", "limit_train", "limit_test",
                                  "type", "interval", "warmup", "total_iters", "start_factor", "epoch", "step",
                                  "dir", "epochs", "batch_size", "seed", "threads", "loss", "shuffle",
                                  "drop_last", "monitor", "patience", "min_delta", "save_best", "clip_grad_norm"};
  auto add_params = [&](const std::vector<ParamSpec>& specs) {
    for (const auto& s : specs) {
      config.insert(s.name);
      for (const auto& c : s.choices) config.insert(c);
    }
  };
  for (const auto* e : LayerRegistry::instance().all()) config.insert(e->name), add_params(e->params);
  for (const auto* e : OptimizerRegistry::instance().all()) config.insert(e->name), add_params(e->params);
  for (const auto* e : ScheduleRegistry::instance().all()) config.insert(e->name), add_params(e->params);
  for (const auto* e : DatasetRegistry::instance().all()) config.insert(e->name), add_params(e->params);
  for (const auto& l : loss_names()) config.insert(l);
  write_dict(out / "config.dict", config);

  std::set<std::string> checkpoint = {"dtype", "shape", "data_offsets", "__metadata__", "F32", "F64", "nan"};
  for (const auto& entry : fs::directory_iterator(out / "corpus" / "checkpoint")) {
    const std::string bytes = read_all(entry.path());
    const TensorFile f = decode_safetensors(bytes, entry.path().string());
    for (const auto& [k, v] : f.metadata) checkpoint.insert(k);
    for (const auto& [k, v] : f.tensors) checkpoint.insert(k);
  }
  write_dict(out / "checkpoint.dict", checkpoint);

  // Experiments: the file's keys, activation names and their parameters, config paths.
  std::set<std::string> experiment = {"description", "base", "set", "activations", "sweep", "seeds", "target_accuracy",
                                      "output", "base.json", "type", "model.activation", "model.hidden", "optimizer.lr",
                                      "train.epochs", "train.seed", "train.batch_size", "data.samples", "optimizer",
                                      "model.layers", "//", "/*", "*/"};
  for (const auto* e : LayerRegistry::instance().all()) {
    if (!is_activation(e->kind)) continue;
    experiment.insert(e->name);
    for (const auto& p : e->params) experiment.insert(p.name);
  }
  write_dict(out / "experiment.dict", experiment);

  // The sweep's records.
  write_dict(out / "done.dict", {"id", "status", "exit_code", "message", "seconds", "threads", "command", "fingerprint",
                                  "base", "base_hash", "overrides", "$BASE", "ok", "diverged", "failed", "interrupted",
                                  "total", "skipped", "started", "resumed", "jobs", "stop_signal", "epoch", "test_acc",
                                  "train_loss", "test_loss", "act1_mean", "act1_dead", "act1_sat", "act1_std", "w1_grad",
                                  "w2_grad", "act_seconds", "act_share", "nan", "inf"});

  // Weights metadata: the keys nnlab writes, and the forms of their values.
  std::set<std::string> weights = {"=", "[", "]", ",", "\"", "1e300", "-1", "0", "4294967296", "nan"};
  for (const auto& [k, v] : load_safetensors(fuzz::weights_run_dir() / "best.safetensors").metadata)
    weights.insert(k + "=");
  write_dict(out / "weights.dict", weights);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_corpus OUT_DIR SOURCE_DIR\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const fs::path out = argv[1], source = argv[2];
  try {
    for (const auto& t : kTargets) fs::remove_all(out / "corpus" / t);
    idx_seeds(out);
    cifar_seeds(out);
    config_seeds(out, source);
    checkpoint_seeds(out);
    experiment_seeds(out, source);
    done_seeds(out);
    weights_seeds(out);
    dictionaries(out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  for (const auto& t : kTargets) {
    std::size_t n = 0, bytes = 0;
    for (const auto& e : fs::directory_iterator(out / "corpus" / t)) ++n, bytes += fs::file_size(e.path());
    std::printf("corpus/%s: %zu files, %zu bytes\n", t.c_str(), n, bytes);
  }
  return 0;
}
