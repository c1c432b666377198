// The data of a run: the configured format loaded through the data-set registry, with the
// generic data settings applied (limits, normalisation, validation split).
#pragma once

#include <cstdint>
#include <memory>

#include "core/dataset.hpp"
#include "core/run/spec.hpp"

namespace nnlab {

struct RunData {
  Dataset train, validation, test;  // validation.rows == 0 without a split
  std::shared_ptr<const BatchTransform> augment;  // the format's training augmentation (null: none)
};

// Load train and test sets of `spec.format`, keep the first limit_train / limit_test samples, turn
// normalisation off if asked, and hold out validation_split of the training set (a random subset
// drawn from Rng(seed, "validation-split"), both parts kept in file order). Throws DataError,
// ConfigError (a split that leaves a part empty).
RunData load_run_data(const DataSpec& spec, std::uint64_t seed);

}  // namespace nnlab
