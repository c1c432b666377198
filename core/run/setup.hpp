// What a training run is made of, built from its spec: the model for the data's shape, the loss,
// the optimizer and the learning-rate schedule. One function, used by `nnlab train` (run.hpp),
// `nnlab bench` and anything else that trains, so they all train the same thing.
#pragma once

#include <memory>

#include "core/dataset.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/run/spec.hpp"
#include "core/schedule.hpp"

namespace nnlab {

struct TrainingSetup {
  ModelSpec model_spec;  // bound to the data (the layers actually built, each with its path)
  Model<float> model;    // freshly initialised from train.seed
  std::unique_ptr<Loss<float>> loss;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Schedule> schedule;  // null: the optimizer's lr throughout
  Index steps_per_epoch = 0;
};

// For a training set `train` (its sample shape, class count and size). Throws ShapeError when the
// model does not fit the data (naming the key of the config), ConfigError for a schedule that cannot
// be built for this run's length.
TrainingSetup make_training(const RunSpec& spec, const Dataset& train);

}  // namespace nnlab
