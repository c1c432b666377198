// Per-setting tuning (the experiment's "tune", apps/sweep/experiment.hpp): the tuning runs read
// back, each candidate value scored per setting, the value each setting uses, and the table and
// sensitivity plot of the report.
//
// Score. A tuning run's score is its best validation accuracy over the epochs (selection on the
// validation split; the test set is not looked at). A candidate's score for a setting is the mean
// over the tuning seeds' finished runs (diverged or failed runs are left out and counted); the
// chosen value is the highest mean (the first of equal ones). A setting none of whose tuning runs
// finished cannot be chosen for: choose_tuned() refuses, naming it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/report/results.hpp"
#include "apps/report/svg.hpp"

namespace nnlab::report {

struct TunedSetting {
  std::string label;            // the setting of the final plan ("relu")
  std::vector<Stat> scores;     // per candidate: best validation accuracy, mean ± std over tuning seeds
  std::vector<int> failed;      // per candidate: tuning runs that did not finish ok
  int chosen = -1;              // index of the chosen candidate, -1 when none finished
};

struct Tuning {
  std::string path;                   // "optimizer.lr"
  std::vector<nlohmann::json> values;  // candidates
  std::vector<std::uint64_t> seeds;
  std::vector<TunedSetting> settings;
  int runs = 0, ok = 0;
};

// Read the tuning plan's results (collect_results() over DIR/tune) into scores and choices.
Tuning summarize_tuning(const Experiment& e, const Plan& tune_plan, const std::vector<RunResult>& results);

// The chosen value per setting, for expand(e, tuned). Throws Error naming the settings that have no
// finished tuning run.
std::vector<nlohmann::json> choose_tuned(const Tuning& t);

// A warning for the settings whose chosen value is the smallest or the largest numeric candidate
// (their best value may lie outside the grid), e.g. "sigmoid chose optimizer.lr = 0.2, the largest
// candidate: its best value may lie beyond the grid; widen it"; "" when none did.
std::string edge_warning(const Tuning& t);

// A warning for the settings whose best score is shared by another candidate (the first was taken,
// which is arbitrary: typically nothing was learned within the tuning budget); "" when none.
std::string tie_warning(const Tuning& t);

// setting | chosen value | its validation accuracy | every candidate's score.
Table tuning_table(const Tuning& t);

// Validation accuracy against the tuned value, one line per setting (log10 axis for positive values
// spanning 10x or more, e.g. learning rates), the band ± 1 std over the tuning seeds.
svg::LineChart sensitivity_chart(const Tuning& t);

}  // namespace nnlab::report
