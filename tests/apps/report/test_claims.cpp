// The claims section (apps/report/claims.cpp): each claim appears with the figures of the settings
// that measured it, in the figure's order, and is left out when the sweep did not measure it.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "apps/report/claims.hpp"

using namespace nnlab;
using namespace nnlab::report;

namespace {

Stat stat(double mean) { return Stat{mean, kNaN, 3}; }

SettingSummary setting(const std::string& label, double w1, double wlast, double dead, double mean, double sat, double act_s,
                       double share) {
  SettingSummary x;
  x.label = label;
  x.ok = 3;
  x.grad_first = {stat(w1), stat(1.0), stat(wlast)};
  x.layer_dead = stat(dead);
  x.layer_mean = stat(mean);
  x.layer_sat = stat(sat);
  x.act_seconds = stat(act_s);
  x.act_share = stat(share);
  return x;
}

const Claim* find(const std::vector<Claim>& claims, const std::string& topic) {
  for (const auto& c : claims)
    if (c.topic == topic) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("claims quote the measured figures per setting, in order, with the ratio between the extremes") {
  const std::vector<SettingSummary> s = {setting("sigmoid", 0.01, 1.0, 0.0, 0.45, 0.30, 0.020, 0.05),
                                         setting("relu", 0.5, 1.0, 0.04, 0.31, 0.79, 0.010, 0.012),
                                         setting("elu", 0.4, 1.0, 0.0, -0.02, 0.001, 0.040, 0.077)};
  Plan plan;
  plan.settings = {"sigmoid", "relu", "elu"};
  Comparisons c;
  PairedComparison worse;
  worse.setting = 0;
  worse.t.mean = -6.9;
  worse.verdict = "worse";
  PairedComparison same;
  same.setting = 2;
  same.t.mean = 0.88;
  same.verdict = "not distinguishable";
  c.rows = {worse, same};
  c.metric = "selected_test_acc";
  const auto claims = make_claims(plan, s, c);

  const Claim* v = find(claims, "Vanishing gradients");
  REQUIRE(v);
  CHECK(v->measured.find("‖∂L/∂W₁‖ / ‖∂L/∂W_3‖, 3 weight layers") != std::string::npos);
  CHECK(v->measured.find("sigmoid 0.01, elu 0.4 and relu 0.5") != std::string::npos);
  CHECK(v->measured.find("sigmoid's ratio is 50 times smaller than relu's") != std::string::npos);

  const Claim* d = find(claims, "Dead units");
  REQUIRE(d);
  CHECK(d->measured.find("relu 4.0%; none in sigmoid, elu") != std::string::npos);

  const Claim* z = find(claims, "Zero-centred outputs");
  REQUIRE(z);
  CHECK(z->measured.find("elu -0.020, relu 0.310 and sigmoid 0.450") != std::string::npos);  // by |mean|

  const Claim* t = find(claims, "Cost of exp");
  REQUIRE(t);
  CHECK(t->measured.find("relu 1.00x, sigmoid 2.00x and elu 4.00x") != std::string::npos);
  CHECK(t->measured.find("relu 1.2%, sigmoid 5.0% and elu 7.7%") != std::string::npos);

  const Claim* a = find(claims, "Accuracy");
  REQUIRE(a);
  CHECK(a->measured.find("worse: sigmoid (−6.90); not distinguishable: elu (+0.88)") != std::string::npos);

  const std::string md = claims_md(claims);
  CHECK(md.find("### Dead units\n\n> ReLU units can die") != std::string::npos);
}

TEST_CASE("a claim the sweep did not measure is left out") {
  SettingSummary a, b;
  a.label = "relu", b.label = "tanh";
  a.ok = b.ok = 2;  // no diagnostics: every statistic NaN
  Plan plan;
  plan.settings = {"relu", "tanh"};
  CHECK(make_claims(plan, {a, b}, Comparisons{}).empty());
  // One setting alone cannot be compared with anything.
  const auto one = make_claims(plan, {setting("relu", 0.5, 1.0, 0.04, 0.31, 0.79, 0.010, 0.012)}, Comparisons{});
  CHECK(one.empty());
}
