// Sweep experiments in tests: a tiny base config on the spirals, writing an experiment file next to
// it, runner options that use the built nnlab, and runs.csv without its timing columns.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "apps/sweep/experiment.hpp"
#include "apps/sweep/runner.hpp"
#include "core/error.hpp"
#include "support/files.hpp"

namespace nnlab::test {

// A tiny training config on the spirals: a run takes a fraction of a second.
inline const char* const kBase = R"({
  "model": {"hidden": [12, 12], "activation": "relu"},
  "data": {"dataset": "spirals", "samples": 100, "test_samples": 50},
  "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
  "train": {"epochs": 3, "batch_size": 32, "seed": 1}
})";

// Write base.json and an experiment into dir; returns the experiment loaded.
inline report::Experiment make_experiment(const fs::path& dir, const std::string& experiment, const std::string& base = kBase) {
  write_text(dir / "base.json", base);
  write_text(dir / "exp.json", experiment);
  return report::load_experiment((dir / "exp.json").string());
}

// The message of the ConfigError that expanding the experiment throws ("" if none).
inline std::string error_of(const fs::path& dir, const std::string& experiment) {
  try {
    report::expand(make_experiment(dir, experiment));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Runner options for a sweep into `out`: `jobs` runs at a time, one thread each, the built nnlab.
inline report::RunnerOptions options(const fs::path& out, int jobs = 2) {
  report::RunnerOptions o;
  o.out = out;
  o.jobs = jobs;
  o.threads = 1;
  o.executable = NNLAB_BINARY;
  return o;
}

// runs.csv without the wall-time columns (seconds, act_seconds, act_share), which differ between runs.
inline std::string without_timing(const std::string& csv) {
  std::stringstream in(csv);
  std::string line, out;
  std::vector<bool> keep;
  while (std::getline(in, line)) {
    // Split respecting quotes.
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) cells.push_back(cell), cell.clear();
      else cell += c;
    }
    cells.push_back(cell);
    if (keep.empty())
      for (const auto& h : cells) keep.push_back(h != "seconds" && h != "act_seconds" && h != "act_share");
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (i < keep.size() && keep[i]) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

// Two activations by two seeds, 4 runs.
inline const char* const kTwoByTwo = R"({
  "base": "base.json",
  "activations": ["relu", "tanh"],
  "seeds": [1, 2],
  "target_accuracy": 0.5
})";

}  // namespace nnlab::test
