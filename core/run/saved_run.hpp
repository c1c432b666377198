// A finished (or interrupted) run directory, loaded back: its resolved config, the model it
// describes, and a weights file (model.safetensors, best.safetensors, ...) loaded into it.
#pragma once

#include <string>
#include <vector>

#include "core/run/config.hpp"
#include "core/model.hpp"
#include "core/io/safetensors.hpp"

namespace nnlab {

struct SavedRun {
  RunConfig cfg;
  TensorFile weights;  // as read (metadata included)
  Model<float> model;  // built from the config, weights loaded
  std::vector<float> mean, stddev;
  float scale = 1.0f;
  int classes = 0;
  std::vector<std::string> class_names;
  std::vector<Index> shape;
};

// `weights` is a file name inside `dir` or a path. `overrides` are --set assignments applied to
// the saved config (e.g. data.path=...).
SavedRun load_saved_run(const std::string& dir, const std::string& weights,
                        const std::vector<std::string>& overrides = {});

}  // namespace nnlab
