// Weights files (model.safetensors, best.safetensors): a model's tensors plus the metadata that
// make the file usable on its own (nnlab eval, nnlab predict). The one owner of these keys: training
// writes them here and eval/predict read them back here.
//
//   format                  "pt" (what PyTorch's safetensors loader expects)
//   nnlab.format_version    2 (core/io/safetensors.hpp owns the key and the version; files without
//                           it are version 1 and read the same, with defaults for what they lack,
//                           e.g. nnlab.shape; a newer version is refused, naming it)
//   nnlab.architecture      Model::summary(), e.g. "dense(784->256) relu dense(256->10)"
//   nnlab.dataset           the training set's name ("fashion-mnist/train")
//   nnlab.scale             x' = (x·scale − mean[c]) / std[c]: scale, a JSON number
//   nnlab.mean, nnlab.std   per-channel normalisation, JSON lists
//   nnlab.classes           the class count, decimal
//   nnlab.class_names       JSON list of strings (may be empty)
//   nnlab.shape             the sample shape, JSON list ([1, 28, 28])
//   nnlab.epoch             the epoch the weights are from, decimal
//   nnlab.<monitor>         best.safetensors only: the monitored metric's value there
//
// Every value read back is checked for the form and range nnlab needs, and against the model it
// describes, before it is used: a weights file may come from anywhere.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/model.hpp"
#include "core/run/spec.hpp"
#include "core/state.hpp"

namespace nnlab {

struct ModelInfo {
  std::string dataset;
  float scale = 1.0f;
  std::vector<float> mean, stddev;
  int classes = 0;
  std::vector<std::string> class_names;
  std::vector<Index> shape;  // may be empty in files that predate it: then the first weight's width
  Shape sample_shape(Index features) const { return shape.empty() ? Shape{features} : Shape(shape); }
};

// What the training set says about its samples.
ModelInfo model_info(const Dataset& train);

// The weights file of `model` trained on data described by `info`, from epoch `epoch`, with
// `extra` metadata (best.safetensors: nnlab.<monitor>).
TensorFile weights_file(Model<float>& model, const ModelInfo& info, int epoch,
                        const std::map<std::string, std::string>& extra = {});

// Reads and validates the metadata of a weights file (CheckpointError naming the key otherwise).
ModelInfo read_model_info(const TensorFile& file, const std::string& source);

// A finished (or interrupted) run directory, loaded back: its resolved config, the model it
// describes, and a weights file (model.safetensors, best.safetensors, ...) loaded into it.
struct SavedRun {
  RunSpec spec;
  TensorFile weights;  // as read (metadata included)
  ModelInfo info;
  Model<float> model;  // built from the config for the file's sample shape, weights loaded
};

// `weights` is a file name inside `dir` or a path. `overrides` are --set assignments applied to
// the saved config (e.g. data.path=...). Throws when the metadata disagree with the model the
// config describes (class count, input shape).
SavedRun load_saved_run(const std::string& dir, const std::string& weights,
                        const std::vector<std::string>& overrides = {});

}  // namespace nnlab
