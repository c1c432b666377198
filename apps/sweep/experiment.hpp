// Comparison experiments: a JSON file naming a base training config and the axes to sweep.
//
//   {
//     "description": "the eleven tutorial activations on the Fashion-MNIST MLP",
//     "base": "fashion_mlp.json",                  // training config, relative to this file
//     "set": {"train.epochs": 3},                  // fixed overrides for every run (optional)
//     "activations": ["relu", {"type": "elu", "alpha": 0.5}],   // model.activation values (optional)
//     "sweep": {"model.hidden": [[64], [64, 64]], "optimizer.lr": [0.01, 0.1]},  // (optional)
//     "seeds": [1, 2, 3],                          // default: the base config's train.seed
//     "target_accuracy": 0.85,                     // for "epochs to reach" (default 0.85)
//     "output": "runs/compare_fashion",            // default output directory
//     "baseline": "relu",                          // paired comparisons against this value of the first
//                                                  // swept axis (default: its first value)
//     "compare": "baseline",                       // or "all": every pair of settings
//     "metric": "selected_test_acc",               // what is compared (comparison_metrics())
//     "alpha": 0.05,                               // significance level of the verdicts
//     "detect": 0.2,                               // difference (accuracy points) the seed count should detect
//     "tune": {"path": "optimizer.lr",             // tuned per setting on the validation split (optional):
//              "values": [0.01, 0.03, 0.1],        //   the candidates
//              "seeds": [1001, 1002],              //   the tuning runs' own seeds (default [1001, 1002])
//              "set": {"train.epochs": 3}}         //   overrides for the tuning runs only (epoch budget)
//   }
//
// Tuning. With "tune", every setting first trains once per candidate value and tuning seed (the
// tuning plan, expand_tuning(), in DIR/tune/), each scored by its best validation accuracy; the
// value with the highest mean score over the tuning seeds is that setting's (choose_tuned() in
// apps/report/tuning.hpp), and the final seeded runs use it (expand(e, tuned)). So every
// activation gets its own learning rate, chosen without looking at the test set.
//
// The runs are the cross product activations × sweep values (in file order) × seeds. A *setting* is
// one combination of swept values; its runs differ only in the seed, and the summary averages over
// them. Every run is `nnlab train BASE --set <set...> --set model.activation=A --set <path>=V ...
// --set train.seed=S`, so a run's config is validated exactly like a --set on the command line;
// expand() validates all of them before anything runs (a typo in a path fails at once, with the
// nearest valid key).
//
// Run ids are readable slugs of the swept values and the seed, e.g. "relu_s1",
// "elu-alpha0.5_hidden64x64_lr0.1_s2".
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nnlab::report {

// One swept axis other than the activation: a --set path and its values.
struct Axis {
  std::string path;                  // "optimizer.lr"
  std::vector<nlohmann::json> values;
};

// The "tune" key: one axis searched per setting on the validation split.
struct Tune {
  std::string path;                       // a --set path, e.g. "optimizer.lr"
  std::vector<nlohmann::json> values;     // candidates, in file order
  std::vector<std::uint64_t> seeds = {1001, 1002};
  std::vector<std::string> fixed;         // "path=json" overrides for the tuning runs only
};

struct Experiment {
  std::string source;                // the experiment file, for messages
  std::string name;                  // its stem: "compare_fashion"
  std::string description;
  std::filesystem::path base;        // the base training config (absolute)
  std::vector<std::string> fixed;    // "path=json" overrides from "set", applied first
  std::vector<nlohmann::json> activations;  // empty: the activation is not swept
  std::vector<Axis> sweep;
  std::vector<std::uint64_t> seeds;
  double target_accuracy = 0.85;
  std::string output;                // default output directory
  // Paired comparisons (apps/report/paired.hpp).
  nlohmann::json baseline;           // a value of the first swept axis; null: its first value
  bool all_pairs = false;            // "compare": "all"
  std::string metric = "selected_test_acc";
  double alpha = 0.05;
  double detect = 0.2;               // accuracy points
  std::optional<Tune> tune;
  nlohmann::json doc;                // the file as read
};

// What a comparison compares, per run (apps/report/results.hpp computes them):
//   selected_test_acc   test accuracy at the epoch with the highest validation accuracy (the first
//                       such epoch); needs data.validation_split (without one the report falls back
//                       to final_test_acc and says so)
//   final_test_acc      test accuracy after the last epoch
//   best_test_acc       the highest test accuracy over the epochs: the epoch is picked on the test
//                       set, so it is optimistic (reported, labelled so; comparable only loosely)
const std::vector<std::string>& comparison_metrics();

// One run of the sweep.
struct PlannedRun {
  std::string id;                      // "elu-alpha0.5_lr0.1_s1"
  std::size_t setting = 0;             // index into Plan::settings
  std::vector<std::string> values;     // display value per axis (Plan::axes), e.g. "elu(alpha=0.5)", "0.1"
  std::uint64_t seed = 0;
  std::vector<std::string> overrides;  // --set arguments, in order (threads and output excluded)
};

struct Plan {
  std::vector<std::string> axes;       // column names: "activation" and the sweep paths
  std::vector<std::string> settings;   // setting labels: "relu", "elu(alpha=0.5), lr=0.1"; "base" if nothing is swept
  std::vector<PlannedRun> runs;           // settings-major, seeds innermost
};

// The most runs one experiment may plan: a plan is built, and every run's config validated, before
// anything runs, so an absurd cross product (10^6 runs took 47 s and 760 MB before --dry-run
// printed) is refused up front, naming its axes and their sizes. A sweep that really needs more
// runs is several experiment files (each its own resumable directory).
inline constexpr std::size_t max_planned_runs = 10000;
// An experiment file is a few hundred bytes; anything over this is not one.
inline constexpr std::uintmax_t max_experiment_bytes = std::uintmax_t{64} << 20;

// Read and validate an experiment file (unknown keys get the nearest valid one). Errors are
// ConfigErrors naming the file: not found, not a regular file, not valid JSON (also: nested deeper
// than max_json_depth), an invalid key or value, more than max_planned_runs runs.
Experiment load_experiment(const std::string& path);

// Validate an experiment document (ordered: the sweep keeps the file order of its axes); `dir`
// resolves the relative base path.
Experiment parse_experiment(const nlohmann::ordered_json& doc, const std::string& source,
                            const std::filesystem::path& dir);

// The number of runs the experiment plans (activations × sweep values × seeds), saturating at
// SIZE_MAX; computed without building anything.
std::size_t planned_runs(const Experiment& e);

// Throws ConfigError naming the axes and their sizes when planned_runs(e) > max_planned_runs.
void check_plan_size(const Experiment& e);

// The cross product, with ids and every run's config validated. Throws ConfigError naming the run
// (and, first, check_plan_size()). `tuned` (one value per setting, from choose_tuned()) adds
// "<tune.path>=<value>" to each setting's runs; empty: the experiment is not tuned (or, for a
// plan listed before the tuning ran, not yet).
Plan expand(const Experiment& e, const std::vector<nlohmann::json>& tuned = {});

// The tuning plan of an experiment with "tune": one "setting" per (setting of expand(e), candidate
// value), setting index = s · values + v, runs over the tuning seeds with the tuning overrides.
// Ids: "tune_<setting id>_<value>_s<seed>". Throws ConfigError when the runs have no validation
// split to select on, or a run's config is invalid.
Plan expand_tuning(const Experiment& e);

// "elu(alpha=0.5)" for {"type": "elu", "alpha": 0.5}; "relu" for "relu"; "[64,64]" for arrays.
std::string display_value(const nlohmann::json& v);

// A file-name-safe slug: letters, digits, '.', '-' kept; '+' dropped; anything else becomes '-'.
std::string slug(const std::string& text);

}  // namespace nnlab::report
