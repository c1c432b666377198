// Paired statistics on Boost.Math's distributions (see stats.hpp for the definitions).
#include "apps/stats/stats.hpp"

#include <algorithm>
#include <boost/math/distributions/non_central_t.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace nnlab::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
namespace bm = boost::math;

// Mean and sample standard deviation, two passes (the differences are small numbers near each other).
void mean_sd(std::span<const double> d, double& mean, double& sd) {
  const double n = static_cast<double>(d.size());
  mean = std::accumulate(d.begin(), d.end(), 0.0) / n;
  double sq = 0;
  for (double x : d) sq += (x - mean) * (x - mean);
  sd = d.size() >= 2 ? std::sqrt(sq / (n - 1)) : kNaN;
}

// Average ranks (1-based) of v, ties sharing the mean of their positions.
std::vector<double> average_ranks(const std::vector<double>& v, std::vector<int>* tie_sizes) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + j) + 1.0;  // mean of positions i+1 .. j+1
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
    if (j > i && tie_sizes) tie_sizes->push_back(static_cast<int>(j - i + 1));
    i = j + 1;
  }
  return rank;
}

// P(R+ = k) for k = 0 .. n(n+1)/2 under the null: the number of subsets of {1..n} with sum k, / 2^n.
// Counts stay below 2^50 for n ≤ 50, so doubles hold them exactly.
std::vector<double> signed_rank_pmf(int n) {
  const int top = n * (n + 1) / 2;
  std::vector<double> count(static_cast<std::size_t>(top) + 1, 0.0);
  count[0] = 1;
  for (int r = 1; r <= n; ++r)
    for (int k = top; k >= r; --k) count[static_cast<std::size_t>(k)] += count[static_cast<std::size_t>(k - r)];
  const double total = std::ldexp(1.0, n);
  for (double& c : count) c /= total;
  return count;
}

}  // namespace

PairedT paired_t(std::span<const double> d, double confidence) {
  PairedT r;
  r.n = static_cast<int>(d.size());
  if (d.empty()) {
    r.mean = r.sd = r.se = r.t = r.df = r.p = r.ci_low = r.ci_high = r.cohen_d = kNaN;
    return r;
  }
  mean_sd(d, r.mean, r.sd);
  if (r.n < 2) {
    r.se = r.t = r.df = r.p = r.ci_low = r.ci_high = r.cohen_d = kNaN;
    return r;
  }
  r.df = r.n - 1;
  r.se = r.sd / std::sqrt(static_cast<double>(r.n));
  const double half = t_quantile(r.df, 0.5 + 0.5 * confidence) * r.se;
  r.ci_low = r.mean - half;
  r.ci_high = r.mean + half;
  if (r.sd == 0) {
    // Every difference equal: none at all (p = 1), or the same nonzero one every time (p = 0).
    r.t = r.mean == 0 ? kNaN : std::copysign(std::numeric_limits<double>::infinity(), r.mean);
    r.p = r.mean == 0 ? 1.0 : 0.0;
    r.cohen_d = r.t;
    return r;
  }
  r.t = r.mean / r.se;
  r.cohen_d = r.mean / r.sd;
  try {
    r.p = std::min(1.0, 2.0 * bm::cdf(bm::complement(bm::students_t(r.df), std::fabs(r.t))));
  } catch (const std::exception&) {
    r.p = std::isfinite(r.t) ? 0.0 : kNaN;  // |t| beyond what the series handle: p underflows
  }
  return r;
}

SignedRank wilcoxon(std::span<const double> d) {
  SignedRank r;
  if (d.empty()) {
    r.statistic = r.p = kNaN;
    return r;
  }
  std::vector<double> nonzero, magnitude;
  for (double x : d)
    if (x != 0) nonzero.push_back(x), magnitude.push_back(std::fabs(x));
  r.n = static_cast<int>(nonzero.size());
  if (r.n == 0) {  // nothing differs
    r.statistic = 0;
    r.p = 1;
    return r;
  }
  std::vector<int> ties;
  const std::vector<double> rank = average_ranks(magnitude, &ties);
  double plus = 0, minus = 0;
  for (std::size_t i = 0; i < nonzero.size(); ++i) (nonzero[i] > 0 ? plus : minus) += rank[i];
  r.statistic = std::min(plus, minus);
  const double n = r.n;
  if (r.n <= 50 && ties.empty() && nonzero.size() == d.size()) {
    r.exact = true;
    const std::vector<double> pmf = signed_rank_pmf(r.n);
    // R+ is a whole number without ties. At the centre both tails exceed 1/2, so p clamps to 1.
    const auto k = static_cast<std::size_t>(std::lround(plus));
    double less = 0, greater = 0;
    for (std::size_t i = 0; i <= k; ++i) less += pmf[i];
    for (std::size_t i = k; i < pmf.size(); ++i) greater += pmf[i];
    r.p = std::clamp(2.0 * std::min(less, greater), 0.0, 1.0);
    return r;
  }
  const double mean = n * (n + 1) / 4;
  double var = n * (n + 1) * (2 * n + 1);
  for (int t : ties) var -= 0.5 * t * (static_cast<double>(t) * t - 1);
  const double se = std::sqrt(var / 24);
  const double z = (r.statistic - mean) / se;  // no continuity correction (SciPy's default)
  r.p = std::min(1.0, 2.0 * bm::cdf(bm::complement(bm::normal(), std::fabs(z))));
  return r;
}

std::vector<double> holm(std::span<const double> p) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.begin(), p.end());
  const double m = static_cast<double>(order.size());
  double running = 0;
  for (std::size_t j = 0; j < order.size(); ++j) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(j)) * p[order[j]]));
    out[order[j]] = running;
  }
  return out;
}

double t_quantile(double df, double q) {
  if (!(df > 0) || !(q > 0 && q < 1)) return kNaN;
  try {
    return bm::quantile(bm::students_t(df), q);
  } catch (const std::exception&) {
    return kNaN;
  }
}

double paired_power(int n, double delta, double sd, double alpha) {
  if (n < 2 || !(sd > 0) || !std::isfinite(sd) || !std::isfinite(delta) || !(alpha > 0 && alpha < 1)) return kNaN;
  const double df = n - 1;
  const double crit = t_quantile(df, 1 - alpha / 2);
  const double lambda = std::sqrt(static_cast<double>(n)) * std::fabs(delta) / sd;
  if (lambda == 0) return alpha;
  // Boost evaluates the non-central t by series that give up (throw) for a huge non-centrality,
  // e.g. a difference 10^8 times the paired sd. There the normal approximation of T ≈ Z + λ is
  // exact to many digits.
  if (lambda > 200) return std::min(1.0, bm::cdf(bm::complement(bm::normal(), crit - lambda)) + bm::cdf(bm::normal(), -crit - lambda));
  try {
    const bm::non_central_t dist(df, lambda);
    return bm::cdf(bm::complement(dist, crit)) + bm::cdf(dist, -crit);
  } catch (const std::exception&) {
    return std::min(1.0, bm::cdf(bm::complement(bm::normal(), crit - lambda)) + bm::cdf(bm::normal(), -crit - lambda));
  }
}

int seeds_needed(double delta, double sd, double alpha, double power, int max_n) {
  if (!(sd > 0) || !std::isfinite(sd) || !(std::fabs(delta) > 0) || !std::isfinite(delta) || !(power > 0 && power < 1))
    return -1;
  auto enough = [&](int n) { return paired_power(n, delta, sd, alpha) >= power; };
  // Power grows with n: double until enough, then bisect for the first n that is.
  int lo = 1, hi = 2;
  while (!enough(hi)) {
    if (hi >= max_n) return -1;
    lo = hi;
    hi = std::min(max_n, hi * 2);
  }
  while (hi - lo > 1) {
    const int mid = lo + (hi - lo) / 2;
    (enough(mid) ? hi : lo) = mid;
  }
  return hi;
}

double detectable_difference(int n, double sd, double alpha, double power) {
  if (n < 2 || !(sd > 0) || !std::isfinite(sd) || !(power > alpha && power < 1)) return kNaN;
  double lo = 0, hi = sd;
  while (paired_power(n, hi, sd, alpha) < power) hi *= 2;
  while (hi - lo > 1e-10 * hi) {
    const double mid = 0.5 * (lo + hi);
    (paired_power(n, mid, sd, alpha) >= power ? hi : lo) = mid;
  }
  return hi;
}

double accuracy_noise(double p, double n) {
  if (!(n > 0) || !(p >= 0 && p <= 1)) return kNaN;
  return std::sqrt(p * (1 - p) / n);
}

}  // namespace nnlab::stats
