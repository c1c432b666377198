// Per-epoch diagnostics of a model's hidden layers, measured on a fixed probe batch.
// (Interface used by `nnlab train --diagnostics` and `nnlab compare`.)
#pragma once

#include "core/trainer.hpp"

namespace nnlab {

// Measure the diagnostics on `model` and append them to m.extra as named columns.
void add_diagnostics(EpochMetrics& m, Model<float>& model, const RunData& data, const TrainSettings& settings);

}  // namespace nnlab
