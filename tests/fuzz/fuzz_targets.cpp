// The fuzz targets' bodies; see fuzz_targets.hpp.
#include "tests/fuzz/fuzz_targets.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "apps/report/html.hpp"
#include "apps/report/results.hpp"
#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "core/error.hpp"
#include "core/io/fileio.hpp"
#include "core/io/safetensors.hpp"
#include "core/run/run.hpp"
#include "core/run/checkpoint.hpp"
#include "core/run/data.hpp"
#include "core/run/model_file.hpp"
#include "core/run/setup.hpp"
#include "core/run/spec.hpp"
#include "datasets/idx.hpp"

namespace nnlab::fuzz {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct Scratch {
  fs::path path;
  Scratch() {
    path = fs::temp_directory_path() / ("nnlab_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// The harness's own I/O failing is not a finding in nnlab, but it must not pass silently either: a
// std::runtime_error is not an nnlab::Error, so it stops the fuzzer.
void write_bytes(const fs::path& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path.string());
}

void write_bytes(const fs::path& path, Input data) { write_bytes(path, data.data(), data.size()); }
void write_text(const fs::path& path, const std::string& s) { write_bytes(path, s.data(), s.size()); }

// Run one loader: an nnlab::Error is an answer, anything else propagates.
template <typename F>
void attempt(Outcome& o, F&& load) {
  try {
    load();
    ++o.accepted;
  } catch (const Error& e) {
    o.errors.emplace_back(e.what());
  }
}

// ---- cifar ----------------------------------------------------------------------------------

constexpr std::size_t cifar_pixels = 3 * 32 * 32;

// n records of a CIFAR file with `label_bytes` label bytes each (labels k % 10, pixel ramps).
std::string cifar_records(std::size_t n, std::size_t label_bytes) {
  std::string out;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < label_bytes; ++k) out.push_back(static_cast<char>((r + k) % 10));
    for (std::size_t i = 0; i < cifar_pixels; ++i) out.push_back(static_cast<char>((i + 7 * r) % 256));
  }
  return out;
}

RunSpec cifar_config(const fs::path& dir, const std::string& dataset, const std::string& label) {
  json data = {{"dataset", dataset}, {"path", dir.string()}};
  if (!label.empty()) data["label"] = label;
  return resolve_config(json{{"model", json::object()}, {"data", data}}, "fuzz_cifar.json");
}

struct CifarSetup {
  fs::path dir10 = scratch_dir() / "cifar-10-batches-bin";
  fs::path dir100 = scratch_dir() / "cifar-100-binary";
  RunSpec cifar10, cifar100_fine, cifar100_coarse;
  CifarSetup() {
    // Every file but the fuzzed one holds one valid record.
    fs::create_directories(dir10);
    for (const char* f : {"data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"})
      write_text(dir10 / f, cifar_records(1, 1));
    fs::create_directories(dir100);
    write_text(dir100 / "test.bin", cifar_records(1, 2));
    std::string fine, coarse;
    for (int k = 0; k < 100; ++k) fine += "fine_" + std::to_string(k) + "\n";
    for (int k = 0; k < 20; ++k) coarse += "coarse_" + std::to_string(k) + "\n";
    write_text(dir100 / "fine_label_names.txt", fine);
    write_text(dir100 / "coarse_label_names.txt", coarse);
    cifar10 = cifar_config(dir10, "cifar10", "");
    cifar100_fine = cifar_config(dir100, "cifar100", "fine");
    cifar100_coarse = cifar_config(dir100, "cifar100", "coarse");
  }
};

// ---- config ---------------------------------------------------------------------------------

// What the configured data set would report, without reading its files: sample width, classes and
// training rows (for the schedule's steps per epoch). Unknown data sets: nullopt.
struct DataShape {
  Index features = 0;
  int classes = 0;
  Index rows = 0;
  std::vector<Index> shape;  // the sample shape the loader reports ({} for a feature vector)
};

std::optional<DataShape> data_shape(const json& data) {
  const std::string name = data["dataset"].get<std::string>();
  DataShape s;
  if (name == "mnist" || name == "fashion-mnist") s = {784, 10, 60000, {1, 28, 28}};
  else if (name == "cifar10") s = {3072, 10, 50000, {3, 32, 32}};
  else if (name == "cifar100") s = {3072, data["label"].get<std::string>() == "coarse" ? 20 : 100, 50000, {3, 32, 32}};
  else if (name == "spirals") {
    s.features = 2, s.classes = static_cast<int>(data["classes"].get<std::int64_t>());
    s.rows = s.classes * data["samples"].get<Index>();
  } else if (name == "xor") s = {2, 2, 2 * data["samples"].get<Index>()};
  else return std::nullopt;
  const Index limit = data["limit_train"].get<Index>();
  if (limit > 0) s.rows = std::min(s.rows, limit);
  s.rows -= static_cast<Index>(std::llround(data["validation_split"].get<double>() * static_cast<double>(s.rows)));
  return s;
}

// Weights of the dense layers of a resolved layer list (its widths chained from `input`).
double dense_weights(const json& layers, Index input) {
  double total = 0, width = static_cast<double>(input);
  for (const auto& l : layers)
    if (l.is_object() && l.contains("out_features") && l["out_features"].is_number()) {
      const double out = l["out_features"].get<double>();
      total += width * out;
      width = out;
    }
  return total;
}

// A config may ask for a model of any size, and a huge one is a legitimate request (it fails with
// an allocation error, or trains slowly), not a parser bug; the target stops before allocating one
// so the fuzzer's memory limit keeps meaning "a file made nnlab allocate what it did not describe".
constexpr double max_weights = 1 << 24;

// ---- checkpoint -----------------------------------------------------------------------------

struct CheckpointSetup {
  RunSpec spec;
  RunData data;
  nlohmann::json resolved;  // as run_training() has it when it loads a checkpoint
  fs::path run_dir = scratch_dir() / "run";
  CheckpointSetup() {
    spec = resolve_config(checkpoint_run_config(), "fuzz_checkpoint.json");
    data = load_run_data(spec.data, spec.train.seed);
    TrainingSetup s = make_training(spec, data.train);
    RunSpec bound = spec;
    bound.model = s.model_spec;
    resolved = bound.to_json(&s.model);
    fs::create_directories(run_dir);
    write_file_atomic(run_dir / "config.json", resolved.dump(2) + "\n");  // what nnlab eval reads
  }
};

}  // namespace

const fs::path& scratch_dir() {
  static const Scratch s;
  return s.path;
}

json checkpoint_run_config() {
  return json::parse(R"({
    "description": "the run whose checkpoints tests/fuzz loads",
    "model": {"input": 2, "layers": [{"type": "dense", "out_features": 6}, "batchnorm", "tanh",
                                     {"type": "dropout", "p": 0.25}, {"type": "dense", "out_features": 3}]},
    "data": {"dataset": "spirals", "samples": 24, "test_samples": 8, "validation_split": 0.25},
    "optimizer": {"type": "adam", "lr": 0.01},
    "schedule": {"type": "reduce_on_plateau", "metric": "train_loss", "patience": 0, "warmup": {"total_iters": 1}},
    "train": {"epochs": 3, "batch_size": 16, "seed": 7, "threads": 1},
    "output": {"dir": "runs/fuzz_checkpoint"}
  })");
}

Outcome run_idx(Input data) {
  const fs::path path = scratch_dir() / "input-idx-ubyte";
  write_bytes(path, data);
  Outcome o;
  attempt(o, [&] { read_idx(path, "data"); });
  return o;
}

Outcome run_cifar(Input data) {
  static const CifarSetup setup;
  constexpr std::size_t record100 = 2 + cifar_pixels;
  Outcome o;
  if (!data.empty() && data.size() % record100 == 0) {
    write_bytes(setup.dir100 / "train.bin", data);
    const RunSpec& spec = (data.size() / record100) % 2 ? setup.cifar100_fine : setup.cifar100_coarse;
    attempt(o, [&] { load_run_data(spec.data, spec.train.seed); });
  } else {
    write_bytes(setup.dir10 / "data_batch_1.bin", data);
    attempt(o, [&] { load_run_data(setup.cifar10.data, setup.cifar10.train.seed); });
  }
  return o;
}

namespace {

void load_config_as_train_does(Input data) {
  const auto nul = std::find(data.begin(), data.end(), std::uint8_t{0});
  std::vector<std::string> overrides;
  if (nul != data.end()) {
    std::string line;
    for (auto it = nul + 1; it != data.end(); ++it) {
      if (*it != '\n') line.push_back(static_cast<char>(*it));
      if (*it == '\n' || it + 1 == data.end()) {
        if (!line.empty()) overrides.push_back(line);
        line.clear();
      }
    }
  }
  const fs::path path = scratch_dir() / "config.json";
  write_bytes(path, data.data(), static_cast<std::size_t>(nul - data.begin()));

  // As run_training() does, minus reading the data set's files and training.
  const RunSpec spec = load_config(path.string(), overrides);
  const std::optional<DataShape> shape = data_shape(spec.data.to_json());
  if (!shape) return;
  Dataset stub;
  stub.features = shape->features;
  stub.classes = shape->classes;
  stub.rows = shape->rows;
  stub.shape = shape->shape;
  const ModelSpec bound = spec.model.bind(stub.sample_shape(), stub.classes, spec.data.dataset());
  json layers = json::array();
  for (const auto& l : bound.layers) layers.push_back(l.to_json());
  if (dense_weights(layers, shape->features) > max_weights) return;
  TrainingSetup setup = make_training(spec, stub);
  RunSpec resolved = spec;
  resolved.model = setup.model_spec;
  (void)resolved.to_json(&setup.model).dump(2);  // written as the run's config.json
}

}  // namespace

Outcome run_config(Input data) {
  Outcome o;
  attempt(o, [&] { load_config_as_train_does(data); });
  return o;
}

Outcome run_checkpoint(Input data) {
  static const CheckpointSetup setup;
  const fs::path path = setup.run_dir / "checkpoint.safetensors";
  write_bytes(path, data);
  Outcome o;
  // 1. nnlab train --resume: into a freshly built model, optimizer and schedule, as run_training().
  attempt(o, [&] {
    TrainingSetup s = make_training(setup.spec, setup.data.train);
    load_checkpoint(path, s.model, *s.optimizer, s.schedule.get(), setup.resolved);
  });
  // 2. nnlab eval / predict with the file as the weights.
  attempt(o, [&] { load_saved_run(setup.run_dir.string(), path.filename().string()); });
  return o;
}

// ---- experiment, done, weights ------------------------------------------------------------

const char* sweep_base_config() {
  return R"({
  "model": {"hidden": [6], "activation": "relu"},
  "data": {"dataset": "spirals", "samples": 20, "test_samples": 10},
  "optimizer": {"type": "sgd", "lr": 0.1},
  "train": {"epochs": 2, "batch_size": 16, "seed": 1}
}
)";
}

namespace {

fs::path experiment_dir() {
  static const fs::path dir = [] {
    const fs::path d = scratch_dir() / "experiment";
    fs::create_directories(d);
    write_text(d / "base.json", sweep_base_config());
    return d;
  }();
  return dir;
}

// What `nnlab compare --dry-run` does with the file, short of printing.
void dry_run(const fs::path& path) {
  const report::Experiment e = report::load_experiment(path.string());
  (void)e.doc.dump(2);  // written as DIR/experiment.json
  if (report::planned_runs(e) > kMaxFuzzRuns) return;
  const report::Plan plan = report::expand(e);
  const fs::path out = e.output;
  for (const auto& r : plan.runs) {
    (void)report::run_arguments(e, r, out, 1);
    (void)report::run_arguments(e, r, out, 2, /*resume=*/true);
  }
}

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
  return text;
}

struct DoneState {
  DoneSetup setup;
  report::Experiment experiment;
  report::Plan plan;
  json fingerprint;
  DoneState() {
    setup.dir = scratch_dir() / "sweep";
    fs::create_directories(setup.dir);
    write_text(setup.dir / "base.json", sweep_base_config());
    write_text(setup.dir / "exp.json", R"({"base": "base.json", "seeds": [1], "target_accuracy": 0.5})");
    experiment = report::load_experiment((setup.dir / "exp.json").string());
    plan = report::expand(experiment);
    setup.out = setup.dir / "out";
    setup.run_dir = report::run_directory(setup.out, plan.runs.at(0));
    fs::create_directories(setup.run_dir);
    fingerprint = report::run_fingerprint(experiment, plan.runs.at(0));
    setup.fingerprint = fingerprint;
    // Three epochs as nnlab train --diagnostics writes them (a hidden layer, two weight matrices).
    for (int epoch = 1; epoch <= 3; ++epoch) {
      EpochMetrics m;
      m.epoch = epoch;
      m.train = {1.0 / epoch, 0.3 * epoch, 20, 0};
      m.test = {1.1 / epoch, 0.25 * epoch, 10, 0};
      m.seconds = 0.01 * epoch;
      m.lr = 0.1;
      m.extra = {{activation_column(1, ActivationStat::mean), 0.4},
                 {activation_column(1, ActivationStat::std), 0.2},
                 {activation_column(1, ActivationStat::dead), 0.1 * epoch},
                 {activation_column(1, ActivationStat::sat), 0.0},
                 {weight_grad_column(1), 0.01 / epoch},
                 {weight_grad_column(2), 0.1 / epoch},
                 {kActSeconds, epoch == 1 ? std::nan("") : 0.001},
                 {kActShare, epoch == 1 ? std::nan("") : 0.2}};
      if (epoch == 1) setup.valid_metrics = metrics_csv_header(m);
      setup.valid_metrics += metrics_csv_row(m);
    }
  }
};

const DoneState& done_state() {
  static const DoneState s;
  return s;
}

struct WeightsSetup {
  fs::path run_dir = scratch_dir() / "weights_run";
  TensorFile model;  // model.safetensors as training wrote it
  WeightsSetup() {
    RunSpec spec = resolve_config(checkpoint_run_config(), "fuzz_weights.json");
    spec.train.epochs = 1;
    spec.output.dir = run_dir.string();
    run_training(spec, {});
    model = load_safetensors(run_dir / "model.safetensors");
  }
};

const WeightsSetup& weights_setup() {
  static const WeightsSetup s;
  return s;
}

// `text` as nlohmann will write it: bytes that are not UTF-8 replaced (a file's header is JSON, so
// it cannot hold them; the checkpoint target covers headers that are not JSON).
std::string utf8(const std::string& text) {
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

}  // namespace

Outcome run_experiment(Input data) {
  const fs::path path = experiment_dir() / "exp.json";
  write_bytes(path, data);
  Outcome o;
  attempt(o, [&] { dry_run(path); });
  return o;
}

const DoneSetup& done_setup() { return done_state().setup; }

Outcome run_done(Input data) {
  const DoneState& st = done_state();
  const auto nul = std::find(data.begin(), data.end(), std::uint8_t{0});
  const std::string record = replace_all(std::string(data.begin(), nul), "$BASE", st.experiment.base.string());
  const std::string metrics = nul == data.end() ? st.setup.valid_metrics : std::string(nul + 1, data.end());
  const fs::path& rd = st.setup.run_dir;
  write_text(rd / "metrics.csv", metrics);
  Outcome o;
  auto count = [&](const auto& got, const std::string& why) {
    if (got) ++o.accepted;
    else o.errors.push_back(why);
  };
  std::string why;
  // 1. done.json, as the sweep and the report read it (attempt.json absent).
  std::error_code ec;
  fs::remove(rd / "attempt.json", ec);
  write_text(rd / "done.json", record);
  count(report::read_done(rd, st.fingerprint, &why), why);
  // 2. attempt.json of a run that did not finish (done.json absent): the report reads it too.
  fs::remove(rd / "done.json", ec);
  write_text(rd / "attempt.json", record);
  count(report::read_attempt(rd, st.fingerprint, &why), why);
  // 3. last_sweep.json.
  write_text(st.setup.out / "last_sweep.json", record);
  count(report::read_last_sweep(st.setup.out, &why), why);
  // The report over the run as the record left it (done.json and attempt.json both, as a run that
  // was resumed and then finished may briefly have): nothing in a run directory may make it throw.
  write_text(rd / "done.json", record);
  const auto results = report::collect_results(st.experiment, st.plan, st.setup.out);
  const auto summary = report::summarize(st.experiment, st.plan, results);
  (void)report::runs_csv(st.plan, results);
  (void)report::summary_csv(st.plan, summary);
  (void)report::summary_md(st.experiment, st.plan, summary, results);
  (void)report::layer_table(summary).to_html();
  (void)report::gradient_table(summary).to_markdown();
  report::ReportInfo info;
  if (const auto last = report::read_last_sweep(st.setup.out)) info.sweep = *last;
  const auto comparisons = report::compare_settings(st.experiment, st.plan, results);
  (void)report::comparisons_csv(st.plan, comparisons);
  const auto plots = report::make_plots(st.experiment, st.plan, summary, comparisons);
  (void)report::report_html(st.experiment, st.plan, summary, results, comparisons, plots, info);
  return o;
}

fs::path weights_run_dir() { return weights_setup().run_dir; }

std::string weights_metadata_lines(const std::string& file) {
  std::string lines;
  for (const auto& [k, v] : load_safetensors(weights_run_dir() / file).metadata) lines += k + "=" + v + "\n";
  return lines;
}

Outcome run_weights(Input data) {
  const WeightsSetup& st = weights_setup();
  TensorFile f;
  f.tensors = st.model.tensors;
  std::string line;
  auto add = [&] {
    const auto eq = line.find('=');
    if (eq != std::string::npos) f.metadata[utf8(line.substr(0, eq))] = utf8(line.substr(eq + 1));
    line.clear();
  };
  for (const std::uint8_t c : data) {
    if (c == '\n') add();
    else line.push_back(static_cast<char>(c));
  }
  add();
  const fs::path path = st.run_dir / "fuzz.safetensors";
  write_text(path, encode_safetensors(f));
  Outcome o;
  attempt(o, [&] {
    SavedRun run = load_saved_run(st.run_dir.string(), path.filename().string());
    // nnlab predict: two images of raw bytes normalised with the file's metadata, then the model.
    const Index F = run.model.in_features();
    Dataset d;
    d.name = "images";
    d.rows = 2, d.features = F, d.classes = run.info.classes;
    d.channels = static_cast<int>(run.info.mean.size());
    d.scale = run.info.scale, d.mean = run.info.mean, d.stddev = run.info.stddev;
    d.bytes.resize(static_cast<std::size_t>(2 * F));
    for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = static_cast<std::uint8_t>(i * 37);
    d.labels.assign(2, 0);
    MatF x;
    std::vector<std::int32_t> labels;
    const std::vector<Index> idx = {0, 1};
    d.gather(idx, x, labels);
    (void)run.model.forward(x, false);
  });
  return o;
}

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {{"idx", run_idx},       {"cifar", run_cifar},           {"config", run_config},
                                        {"checkpoint", run_checkpoint}, {"experiment", run_experiment},
                                        {"done", run_done},     {"weights", run_weights}};
  return t;
}

const Target& target(const std::string& name) {
  for (const auto& t : targets())
    if (name == t.name) return t;
  throw std::invalid_argument("no fuzz target '" + name + "'");
}

}  // namespace nnlab::fuzz
