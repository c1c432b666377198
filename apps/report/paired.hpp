// Paired comparisons of a sweep's settings: is setting A better than B, by how much, and are there
// enough seeds to tell?
//
// Pairing. For one seed every setting starts from the same initial weights and sees the data in
// the same order (docs/comparison.md), so the seed pairs the runs: the difference d_i = m_A(seed i)
// − m_B(seed i) of the experiment's metric (comparison_metrics(), in accuracy points) cancels what
// the two runs share. Only seeds with a finished run on both sides count.
//
// Which pairs. The first swept axis (the activation, else the first "sweep" path) is compared;
// the other axes group the settings, and only settings of one group are compared. With
// "compare": "baseline" (the default) every value of the first axis is compared with the baseline
// value (the experiment's "baseline", default the first value) of its group; with "all", every
// pair of the group (the later setting minus the earlier).
//
// Per comparison (apps/stats/stats.hpp): the mean difference with its 95 % t confidence interval,
// the paired t-test, the Wilcoxon signed-rank test with at least 6 pairs, Cohen's d_z, and both
// p-values Holm-adjusted across the comparisons of the table. The verdict uses the Holm-adjusted
// t-test at the experiment's alpha: "better" or "worse" when it rejects (by the sign of the mean),
// "not distinguishable" otherwise, "too few seeds" with one pair, "no finished pairs" with none. Power (80 %) from the observed
// paired standard deviation: the smallest difference the current pairs would detect, and the seeds
// needed to detect the experiment's "detect" points (unadjusted alpha, so a lower bound under Holm).
//
// Noise. The test set's binomial floor sqrt(p(1 − p)/N) at the baseline's mean accuracy p (N from
// the runs' test_samples column), next to the baseline's seed-to-seed standard deviation: when the
// two are close, most of the spread between seeds is the finite test set (Jordan 2024), and only
// pairing or a larger test set shrinks it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/report/results.hpp"
#include "apps/stats/stats.hpp"

namespace nnlab::report {

struct PairedComparison {
  std::size_t setting = 0, baseline = 0;  // indices into Plan::settings: the difference is setting − baseline
  std::vector<std::uint64_t> seeds;       // seeds with a finished run on both sides, in plan order
  std::vector<double> differences;        // accuracy points, per seed
  stats::PairedT t;
  stats::SignedRank wilcoxon;             // with ≥ kMinWilcoxonPairs pairs; else p is NaN
  double p_holm = kNaN, wilcoxon_holm = kNaN;
  double detectable = kNaN;               // points detectable with 80 % power at these pairs
  int seeds_needed = -1;                  // to detect ± detect points with 80 % power (-1: undefined)
  std::string verdict;                    // "better", "worse", "not distinguishable", "too few seeds", "no finished pairs"
};

inline constexpr int kMinWilcoxonPairs = 6;
inline constexpr double kPower = 0.8;

struct Comparisons {
  std::string metric;        // the metric compared (after the fallback below)
  bool fell_back = false;    // selected_test_acc was asked for, but no run has a validation split
  double alpha = 0.05, detect = 0.2;
  std::size_t baseline_value = 0;  // index of the baseline among the first axis' values
  std::string axis;                // the compared axis ("activation", "optimizer.lr")
  std::vector<PairedComparison> rows;
  // Noise, for the first group's baseline setting.
  double test_samples = kNaN;   // N
  double accuracy = kNaN;       // its mean metric (fraction)
  double noise_floor = kNaN;    // sqrt(p(1 − p)/N), points
  double seed_sd = kNaN;        // its seed-to-seed standard deviation, points
};

// "swish − relu", with the group's other values when there are any: "elu − relu (lr=0.1)".
std::string comparison_label(const Plan& plan, const PairedComparison& r);

// A human label of a comparison metric: "test accuracy at the best-validation epoch".
std::string metric_label(const std::string& metric);

Comparisons compare_settings(const Experiment& e, const Plan& plan, const std::vector<RunResult>& results);

// The verdict table (one row per comparison) and the same numbers as CSV (comparisons.csv).
Table verdict_table(const Plan& plan, const Comparisons& c);
std::string comparisons_csv(const Plan& plan, const Comparisons& c);
// What the table rests on, in sentences: metric, alpha and Holm, noise floor vs seed spread.
std::string comparisons_note(const Comparisons& c);

}  // namespace nnlab::report
