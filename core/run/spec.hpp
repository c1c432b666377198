// Run configs: JSON files with five sections, resolved once into typed specs.
//
//   {
//     "model":     {"input": 784, "hidden": [256, 128], "activation": "relu", "classes": 10, "dropout": 0.2}
//                  or {"input": 784, "layers": [{"type": "dense", "out_features": 256}, "relu", ...]},
//                  or {"cnn": [32, 64], "hidden": [128]}, or {"resnet": {"depth": 20, "width": 16}},
//     "data":      {"dataset": "fashion-mnist", "path": "...", "validation_split": 0.1, ...},
//     "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
//     "schedule":  {"type": "cosine", "interval": "step"}             (optional, core/schedule.hpp)
//     "train":     {"epochs": 10, "batch_size": 128, "seed": 1, "threads": 0, "loss": "cross_entropy"},
//     "output":    {"dir": "runs/fashion_mlp"}
//   }
//
// resolve_config() parses and validates the whole document once: every section becomes a spec
// (ModelSpec of LayerSpecs, DataSpec, OptimizerSpec, ScheduleSpec, TrainSpec, OutputSpec) holding
// registry entries and validated Args, each layer with the JSON path the user wrote, so every later
// message names that path without re-reading the JSON. Overrides ("train.epochs=3",
// "model.activation=elu") are applied to the raw JSON before, so they are checked like the file.
//
// What depends on the data (the input shape, the class count) is bound later by a pure function,
// ModelSpec::bind(): it expands the shorthands (MLP, CNN, ResNet) into layers. The resolved config that a run saves
// (config.json) is written from the specs by RunSpec::to_json().
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/params.hpp"
#include "core/registry.hpp"
#include "core/schedule.hpp"
#include "core/shape.hpp"

namespace nnlab {

// The "train" section.
struct TrainSpec {
  int epochs = 10;
  int batch_size = 128;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  std::string loss = "cross_entropy";
  bool shuffle = true;
  bool drop_last = false;
  // Model selection: the metric watched for best.safetensors and early stopping. "auto" (in the
  // file) resolves to val_loss when there is a validation split and to "none" otherwise.
  std::string monitor = "none";
  int patience = 0;        // stop after this many epochs without improvement (0: never)
  double min_delta = 0.0;  // an improvement must beat the best by more than this
  bool save_best = true;   // write best.safetensors whenever the monitored metric improves
  double clip_grad_norm = 0.0;  // clip the global gradient norm to this before each step (0: off)
  // A batch whose loss or gradients are NaN/Inf: "stop" the run (DivergedError; the last epoch's
  // checkpoint is kept) or "skip" it (no update) and stop only after max_consecutive_skips in a row.
  std::string on_nonfinite = "stop";
  int max_consecutive_skips = 10;
  // How often a checkpoint is written besides every epoch's end (what a SIGKILL or power loss can
  // lose at most): "epoch" (only then), "<N> steps" or "<N> s" (seconds of wall time).
  std::string checkpoint_every = "epoch";
  std::int64_t checkpoint_steps = 0;   // from checkpoint_every; 0: not by steps
  double checkpoint_seconds = 0;       // 0: not by time

  // Optimizer steps (batches) per epoch over `rows` training samples.
  Index steps_per_epoch(Index rows) const;
  nlohmann::json to_json() const;
};

// The "data" section: a registered format with its own keys, and the keys every format shares.
struct DataSpec {
  const DatasetEntry* format = nullptr;
  Args format_args;  // the format's own keys (path, label, ...)
  double validation_split = 0;
  bool normalize = true;
  Index limit_train = 0;  // 0: all
  Index limit_test = 0;

  const std::string& dataset() const { return format->name; }
  nlohmann::json to_json() const;
};

// The MLP shorthand: dense(hidden[0]) act [dropout] ... dense(classes).
struct MlpSpec {
  std::vector<Index> hidden;
  LayerSpec activation;  // path "model.activation"
  std::string init = "pytorch";
  double dropout = 0;
  Index classes = 0;  // 0: the data set's class count

  // The layers, each with the path of the key it comes from (classes must be bound, > 0).
  std::vector<LayerSpec> expand() const;
};

// The CNN shorthand (model.cnn): for each stage, conv2d(width, kernel_size, padding kernel_size/2)
// [batch_norm2d] act per width, then one 2x2 pool; flatten; dense(hidden[i]) act [dropout] ...;
// dense(classes). An entry of model.cnn is a width (a stage of one conv) or a list of widths.
struct CnnSpec {
  std::vector<std::vector<Index>> stages;
  std::vector<Index> hidden;
  LayerSpec activation;  // path "model.activation"
  Index kernel_size = 3;
  std::string pool = "max";  // "max", "avg" or "none"
  bool batch_norm = false;
  double dropout = 0;
  std::string init = "pytorch";
  Index classes = 0;

  std::vector<LayerSpec> expand() const;
};

// The ResNet shorthand (model.resnet): the CIFAR ResNet of He et al. 2016 §4.2, depth = 6n + 2:
// conv3x3(width) bn act, three stages of n residual blocks (widths width, 2 width, 4 width; the
// first block of stages 2 and 3 with stride 2 and a 1x1 conv + bn projection shortcut), global
// average pooling, flatten, dense(classes).
struct ResNetSpec {
  Index depth = 20;
  Index width = 16;
  LayerSpec activation;  // path "model.activation"
  Index classes = 0;

  std::vector<LayerSpec> expand() const;
};

// Every activation layer (registry kind != layer) of a list of layer specs replaced by `activation`,
// also inside layers that hold layers (a residual's body, shortcut and activation), except an output
// softmax/log_softmax: a rowwise activation that is the last layer of the list. What model.activation
// does to an explicit model.layers list. Entries that name no known layer are left for resolve_layer
// to report.
nlohmann::json swap_activations(const nlohmann::json& layers, const nlohmann::json& activation);

// The "model" section. Before bind(): `layers` holds an explicit list (or nothing for the shorthand).
// After bind(shape, classes): `input` and the shorthand's `classes` are the data's, and `layers` is
// the list to build, every layer with the path of the key it comes from.
struct ModelSpec {
  Index input = 0;  // 0: the data's width
  std::optional<MlpSpec> mlp;
  std::optional<CnnSpec> cnn;
  std::optional<ResNetSpec> resnet;
  std::vector<LayerSpec> layers;
  Shape input_shape;  // set by bind()

  // The model for data of this sample shape and class count (pure: `*this` is unchanged). Throws
  // ShapeError when model.input or model.classes contradict the data. `dataset` names it in messages.
  ModelSpec bind(const Shape& data, int classes, const std::string& dataset) const;
  // The "model" section of the resolved config. With the built model (after bind), explicit layers
  // show their real input widths instead of 0.
  nlohmann::json to_json(const Model<float>* built = nullptr) const;
};

struct OutputSpec {
  std::string dir;
};

// A whole run config, resolved.
struct RunSpec {
  std::string source;  // the config file, for messages
  std::optional<nlohmann::json> description;
  ModelSpec model;
  DataSpec data;
  OptimizerSpec optimizer;
  std::optional<ScheduleSpec> schedule;
  TrainSpec train;
  OutputSpec output;

  // The resolved config: every key, defaults filled in (what a run saves as config.json and what a
  // checkpoint must match). `built`: see ModelSpec::to_json.
  nlohmann::json to_json(const Model<float>* built = nullptr) const;
};

// Apply one "a.b.c=value" override to a JSON document. The value is parsed as JSON when it is valid
// JSON (3, 0.1, true, [256,128], {"type":"elu"}) and taken as a string otherwise (elu).
void apply_override(nlohmann::json& doc, const std::string& assignment);

// Validate and resolve. `source` names the config in messages (and gives the default output.dir,
// runs/<stem>). Throws ConfigError with the JSON path of the first problem.
RunSpec resolve_config(nlohmann::json doc, const std::string& source);

// Read, override, resolve.
RunSpec load_config(const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace nnlab
