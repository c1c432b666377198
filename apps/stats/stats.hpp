// Statistics for paired comparisons: is setting A better than setting B, and by how much?
//
// Every function takes the *paired differences* d_i = a_i − b_i (one per seed: for one seed both
// settings start from the same weights and see the same data order, so the seed is the pair). The
// distributions come from Boost.Math (Student t, non-central t, normal); nothing here is a
// hand-written special function. tools/stats_reference.py computes the same quantities with SciPy
// and writes tests/data/stats_reference.json, which tests/apps/stats/test_stats.cpp compares at
// 1e-9 relative.
//
//   paired t       n ≥ 2 differences, mean m, sample sd s (n − 1), se = s/√n, t = m/se, df = n − 1,
//                  two-sided p = 2·P(T_df > |t|), confidence interval m ± t_{df, 1−α/2}·se
//                  (scipy.stats.ttest_rel and t.ppf). Cohen's d_z = m/s (the paired effect size).
//                  All differences zero: p = 1, t and d_z NaN (nothing differs; SciPy gives NaN).
//                  s = 0 with m ≠ 0: p = 0, t = ±inf.
//   Wilcoxon       signed-rank test, zero differences dropped ("wilcox", SciPy's default).
//                  W = min(R+, R−). Exact null distribution when there are n ≤ 50 differences, none
//                  zero and all |d| distinct (as SciPy's "exact"); otherwise the normal approximation
//                  with the tie correction, without a continuity correction (SciPy's "approx"). With ties SciPy's
//                  "auto" still uses the exact table, on a truncated rank sum; ties are common here
//                  (accuracies are multiples of 1/N), so this follows the approximation instead.
//                  All differences zero: p = 1.
//   Holm           step-down adjustment of m p-values: sort ascending, p'_(i) = max_{j≤i} min(1,
//                  (m − j + 1)·p_(j)); NaN p-values are kept NaN and not counted in m.
//   power          of the two-sided paired t-test with n pairs for a true difference δ and paired
//                  sd σ: P(|T| > t_{n−1, 1−α/2}) with T non-central t (df n − 1, λ = √n·δ/σ).
//   seeds needed   the smallest n ≥ 2 whose power reaches the target (G*Power's "a priori"
//                  answer; δ = σ at α = 0.05, power 0.8 gives 10).
#pragma once

#include <span>
#include <vector>

namespace nnlab::stats {

struct PairedT {
  int n = 0;            // number of differences
  double mean = 0;      // mean difference
  double sd = 0;        // sample standard deviation of the differences (n − 1); NaN when n < 2
  double se = 0;        // sd / √n
  double t = 0;         // mean / se
  double df = 0;        // n − 1
  double p = 0;         // two-sided
  double ci_low = 0, ci_high = 0;  // mean ± t_{df,1−α/2}·se at the requested confidence
  double cohen_d = 0;   // d_z = mean / sd
};

// The paired t-test and confidence interval (confidence in (0, 1), e.g. 0.95). With n < 2 every
// field but n and mean is NaN.
PairedT paired_t(std::span<const double> differences, double confidence = 0.95);

struct SignedRank {
  int n = 0;             // nonzero differences used
  double statistic = 0;  // W = min(R+, R−)
  double p = 0;          // two-sided
  bool exact = false;    // exact null distribution (else the normal approximation)
};

// The Wilcoxon signed-rank test (two-sided). NaN p with no differences at all.
SignedRank wilcoxon(std::span<const double> differences);

// Holm–Bonferroni adjusted p-values, in the input order.
std::vector<double> holm(std::span<const double> p);

// The q-quantile of Student's t with df degrees of freedom (df > 0, q in (0, 1)).
double t_quantile(double df, double q);

// Power of the two-sided paired t-test at level alpha with n ≥ 2 pairs, for a true mean difference
// delta and paired standard deviation sd (> 0).
double paired_power(int n, double delta, double sd, double alpha = 0.05);

// The smallest n ≥ 2 with paired_power(n, ...) ≥ power, or -1 if more than max_n would be needed
// (or sd is not positive and finite, or delta is 0).
int seeds_needed(double delta, double sd, double alpha = 0.05, double power = 0.8, int max_n = 100000);

// The smallest true difference the paired t-test detects with the given power at n pairs (the
// inverse of paired_power in delta, by bisection to 1e-10 relative); NaN when n < 2 or sd ≤ 0.
double detectable_difference(int n, double sd, double alpha = 0.05, double power = 0.8);

// The binomial standard error of an accuracy p measured on n samples: sqrt(p(1 − p)/n), the
// seed-to-seed spread a test set of that size alone produces (Jordan 2024).
double accuracy_noise(double p, double n);

}  // namespace nnlab::stats
