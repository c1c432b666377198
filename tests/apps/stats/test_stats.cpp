// The comparison statistics (apps/stats) against SciPy (tests/data/stats_reference.json, written by
// tools/stats_reference.py) at 1e-9 relative, and against cases worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/stats/stats.hpp"

using namespace nnlab::stats;
using json = nlohmann::json;

namespace {

json reference() {
  std::ifstream in(std::string(NNLAB_TEST_DATA_DIR) + "/stats_reference.json");
  REQUIRE(in.good());
  return json::parse(in);
}

// |a − b| ≤ 1e-9·|b| (plus a floor for values that are 0 in the reference).
bool close(double a, double b, double rel = 1e-9) { return std::fabs(a - b) <= rel * std::fabs(b) + 1e-300; }

}  // namespace

TEST_CASE("paired t-test, confidence intervals and Cohen's d_z equal SciPy's ttest_rel and t.ppf") {
  const json ref = reference();
  REQUIRE(ref["cases"].size() >= 10);
  for (const auto& c : ref["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const std::vector<double> d = c["d"].get<std::vector<double>>();
    const auto& r = c["t_test"];
    const PairedT t = paired_t(d, 0.95);
    CHECK(t.n == r["n"].get<int>());
    CHECK(close(t.mean, r["mean"]));
    CHECK(close(t.sd, r["sd"]));
    CHECK(close(t.t, r["t"]));
    CHECK(close(t.p, r["p"]));
    CHECK(close(t.cohen_d, r["cohen_d"]));
    CHECK(close(t.ci_low, r["ci95"][0]));
    CHECK(close(t.ci_high, r["ci95"][1]));
    const PairedT t99 = paired_t(d, 0.99);
    CHECK(close(t99.ci_low, r["ci99"][0]));
    CHECK(close(t99.ci_high, r["ci99"][1]));
  }
}

TEST_CASE("Wilcoxon signed-rank test equals SciPy's (exact without ties or zeros, normal approximation otherwise)") {
  const json ref = reference();
  int exact = 0, approx = 0;
  for (const auto& c : ref["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const std::vector<double> d = c["d"].get<std::vector<double>>();
    const auto& r = c["wilcoxon"];
    const SignedRank w = wilcoxon(d);
    CHECK(w.exact == (r["method"] == "exact"));
    CHECK(close(w.statistic, r["statistic"]));
    CHECK(close(w.p, r["p"]));
    (w.exact ? exact : approx)++;
  }
  CHECK(exact >= 5);   // both branches are exercised
  CHECK(approx >= 3);
}

TEST_CASE("Holm–Bonferroni adjustment equals the definition's values; NaN p-values stay out") {
  const json ref = reference();
  for (const auto& c : ref["holm"]) {
    const auto adjusted = holm(c["p"].get<std::vector<double>>());
    const auto expected = c["adjusted"].get<std::vector<double>>();
    REQUIRE(adjusted.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(close(adjusted[i], expected[i]));
  }
  // By hand: p = (0.01, NaN, 0.04, 0.03) → m = 3; sorted 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → max 0.06.
  const auto h = holm(std::vector<double>{0.01, NAN, 0.04, 0.03});
  CHECK(h[0] == doctest::Approx(0.03));
  CHECK(std::isnan(h[1]));
  CHECK(h[2] == doctest::Approx(0.06));
  CHECK(h[3] == doctest::Approx(0.06));
}

TEST_CASE("power, seeds needed and the detectable difference equal SciPy's non-central t") {
  const json ref = reference();
  for (const auto& c : ref["power"]) {
    CAPTURE(c.dump());
    CHECK(close(paired_power(c["n"], c["delta"], c["sd"], c["alpha"]), c["power"]));
  }
  for (const auto& c : ref["seeds_needed"]) {
    CAPTURE(c.dump());
    CHECK(seeds_needed(c["delta"], c["sd"], c["alpha"], c["power"]) == c["n"].get<int>());
  }
  for (const auto& c : ref["detectable"]) {
    CAPTURE(c.dump());
    CHECK(close(detectable_difference(c["n"], c["sd"], c["alpha"], c["power"]), c["delta"], 1e-8));
  }
}

TEST_CASE("seeds needed against the closed form computed by hand") {
  // The normal approximation n ≈ ((z_{0.975} + z_{0.8})·σ/δ)² with z_{0.975} = 1.959964, z_{0.8} =
  // 0.841621: for σ/δ = 5 that is (2.801585·5)² = 196.22. The t-test needs slightly more (its
  // critical value exceeds z), by about z²_{0.975}/2 ≈ 1.9 pairs: 198 or 199.
  const double z = 1.959964 + 0.841621;
  const double normal_n = std::pow(z * 5.0, 2);
  CHECK(normal_n == doctest::Approx(196.22).epsilon(1e-4));
  const int n = seeds_needed(0.1, 0.5);
  CHECK(n >= 197);
  CHECK(n <= 199);
  // Power at that n reaches 0.8 and one pair fewer does not.
  CHECK(paired_power(n, 0.1, 0.5) >= 0.8);
  CHECK(paired_power(n - 1, 0.1, 0.5) < 0.8);
  // G*Power's tabulated a-priori answer for d_z = 1, α = 0.05 two-tailed, power 0.8: 10 pairs.
  CHECK(seeds_needed(1.0, 1.0) == 10);
  // Undefined inputs give -1 rather than a loop or an exception.
  CHECK(seeds_needed(0.0, 1.0) == -1);
  CHECK(seeds_needed(0.1, 0.0) == -1);
  CHECK(seeds_needed(0.1, NAN) == -1);
  CHECK(seeds_needed(1e-9, 1.0, 0.05, 0.8, 1000) == -1);
  // A difference 10^8 times the paired spread (equal runs up to rounding): 2 seeds, no exception
  // from Boost's series for the non-central t (an ASan run of the compare test hit one).
  CHECK(seeds_needed(0.2, 1e-9) == 2);
  CHECK(paired_power(2, 0.2, 1e-9) == doctest::Approx(1.0));
  CHECK(paired_power(3, 1.0, 1e-4) == doctest::Approx(1.0));
  CHECK(detectable_difference(5, 1e-9) > 0);
  CHECK(detectable_difference(5, 1e-9) < 1e-8);
}

TEST_CASE("edge cases: fewer than two differences, nothing differs, a constant difference") {
  const PairedT one = paired_t(std::vector<double>{0.4});
  CHECK(one.n == 1);
  CHECK(one.mean == 0.4);
  CHECK(std::isnan(one.p));
  CHECK(std::isnan(one.ci_low));
  CHECK(std::isnan(paired_t(std::vector<double>{}).mean));

  const PairedT zero = paired_t(std::vector<double>{0, 0, 0, 0});
  CHECK(zero.p == 1.0);
  CHECK(zero.ci_low == 0.0);
  CHECK(zero.ci_high == 0.0);
  CHECK(wilcoxon(std::vector<double>{0, 0, 0}).p == 1.0);
  CHECK(std::isnan(wilcoxon(std::vector<double>{}).p));

  const PairedT constant = paired_t(std::vector<double>{0.3, 0.3, 0.3});
  CHECK(constant.p == 0.0);
  CHECK(std::isinf(constant.t));

  // The binomial noise floor of an accuracy: 88 % on 10 000 test samples is ±0.325 points.
  CHECK(accuracy_noise(0.88, 10000) == doctest::Approx(std::sqrt(0.88 * 0.12 / 10000)));
  CHECK(accuracy_noise(0.88, 10000) * 100 == doctest::Approx(0.325).epsilon(1e-3));
  CHECK(std::isnan(accuracy_noise(0.5, 0)));
  CHECK(std::isnan(detectable_difference(1, 1.0)));
}
