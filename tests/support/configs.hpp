// Run configs shared by tests in different folders.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace nnlab::test {

// A run with every kind of state a checkpoint must restore: dropout (a random stream), momentum and
// a per-step schedule (optimizer and schedule state), a validation split (best-model bookkeeping).
// On the spirals: 720 training samples, 45 batches of 16 per epoch. Written to `out`.
inline nlohmann::json resumable_config(const std::filesystem::path& out, int epochs) {
  nlohmann::json doc = nlohmann::json::parse(R"({
    "model": {"hidden": [32, 32], "activation": "elu", "dropout": 0.1},
    "data": {"dataset": "spirals", "validation_split": 0.2},
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "schedule": {"type": "cosine", "interval": "step"},
    "train": {"epochs": 6, "batch_size": 16, "seed": 4, "threads": 1}
  })");
  doc["train"]["epochs"] = epochs;
  doc["output"]["dir"] = out.string();
  return doc;
}

}  // namespace nnlab::test
