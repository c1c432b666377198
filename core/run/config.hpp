// Run configs: JSON files with five sections, validated with messages that name the JSON path.
//
//   {
//     "model":     {"input": 784, "hidden": [256, 128], "activation": "relu", "classes": 10, "dropout": 0.2}
//                  or {"input": 784, "layers": [{"type": "dense", "out_features": 256}, "relu", ...]},
//     "data":      {"dataset": "fashion-mnist", "path": "...", "validation_split": 0.1, ...},
//     "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
//     "schedule":  {"type": "cosine", "interval": "step"}             (optional, core/schedule.hpp)
//     "train":     {"epochs": 10, "batch_size": 128, "seed": 1, "threads": 0, "loss": "cross_entropy"},
//     "output":    {"dir": "runs/fashion_mlp"}
//   }
//
// Overrides ("train.epochs=3", "model.activation=elu", "model.hidden=[512,256]") are applied to the
// raw JSON before validation, so they are checked exactly like the file. The MLP shorthand expands to
// the explicit layer list; the resolved config (every default filled in) is what a run saves.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nnlab {

struct TrainSettings {
  int epochs = 10;
  int batch_size = 128;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: all cores
  std::string loss = "cross_entropy";
  bool shuffle = true;
  bool drop_last = false;
  // Model selection: the metric watched for best.safetensors and early stopping. "auto" watches
  // val_loss when there is a validation split and nothing otherwise.
  std::string monitor = "auto";
  int patience = 0;        // stop after this many epochs without improvement (0: never)
  double min_delta = 0.0;  // an improvement must beat the best by more than this
  bool save_best = true;   // write best.safetensors whenever the monitored metric improves
  double clip_grad_norm = 0.0;  // clip the global gradient norm to this before each step (0: off)
  // A batch whose loss or gradients are NaN/Inf: "stop" the run (DivergedError; the last epoch's
  // checkpoint is kept) or "skip" it (no update) and stop only after max_consecutive_skips in a row.
  std::string on_nonfinite = "stop";
  int max_consecutive_skips = 10;
};

struct RunConfig {
  nlohmann::json raw;        // the file after overrides
  nlohmann::json resolved;   // every key, defaults filled in; layers spelled out
  nlohmann::json model;      // model section used to build: {"input": N, "layers": [...], ...}
  nlohmann::json data;       // resolved "data" section
  nlohmann::json optimizer;  // resolved "optimizer" section
  nlohmann::json schedule;   // resolved "schedule" section, null when the lr is constant
  TrainSettings train;
  std::string output_dir;
  std::string source;        // file name, for messages
  bool resume = false;       // continue from <output_dir>/checkpoint.safetensors (not part of the config)
  // With the MLP shorthand: for each expanded layer, the key the user wrote ("model.hidden[0]",
  // "model.activation", "model.dropout", "model.classes"), so messages name that key rather than
  // the expanded model.layers[i]. Empty for an explicit layer list. Set by resolve_data_shape().
  std::vector<std::string> layer_paths;
};

// Apply one "a.b.c=value" override to a JSON document. The value is parsed as JSON when it is valid
// JSON (3, 0.1, true, [256,128], {"type":"elu"}) and taken as a string otherwise (elu).
void apply_override(nlohmann::json& doc, const std::string& assignment);

// Validate and resolve. `source` names the config in messages. Data-set dependent values (input
// width, classes) are filled in later by resolve_data_shape().
RunConfig resolve_config(nlohmann::json doc, const std::string& source);

// Read, override, validate. Throws ConfigError with the JSON path of the first problem.
RunConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Once the data set is known: fill model.input and the classes of the MLP shorthand, or check them.
void resolve_data_shape(RunConfig& cfg, std::int64_t features, int classes);

// A message about "model.layers[i]..." rewritten to name the shorthand key that layer i comes from
// (cfg.layer_paths); unchanged for an explicit layer list or any other message.
std::string name_shorthand_layer(const RunConfig& cfg, const std::string& message);

}  // namespace nnlab
