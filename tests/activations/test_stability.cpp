// Numerical stability of every activation in float32: no NaN, no Inf, at extreme inputs.
//
// For every activation registered in LayerRegistry (kind activation), with its default parameters,
// plus the stress settings each declares in its registration (LayerEntry::stress) that push the
// formulas to their limits (SMU μ = 1e6 and 1e-6, SMU-1 μ = 1e6,
// squareplus b = 0 and b = 1e-30, learnable swish β = 100, softplus β = 100, PReLU with per-column
// slopes, GELU-tanh, ...), float32 forward and backward are run on
//   0, ±denorm_min, ±1e-30, ±1, ±20, ±88.8, ±1000, ±1e6, ±1e19, ±1e30, ±FLT_MAX
// (the inputs of nnlab::test::check_float32_finite) and must return finite y, dx and parameter
// gradients. The one exception is principled, not a list of excuses: when the exact result itself
// exceeds FLT_MAX (SELU: λ·FLT_MAX; a log-softmax row spanning −FLT_MAX..FLT_MAX; the PReLU slope
// gradient Σx over two −FLT_MAX entries), ±Inf is IEEE's correctly rounded answer. The exact result
// is taken from the same layer in float64 (whose range covers every value here), so this file knows
// nothing about individual activations.
//
// Finite but wrong is caught too: every float32 value must agree with the float64 layer within
// rtol 1e-4, atol 1e-6 (float32 has 7 digits; the atol absorbs saturated derivatives like
// σ(20)(1 − σ(20)) = 2e-9, which float32 rounds to 0). A naive squareplus that returns 0 at x = −1e4
// (true 1e-4) or a GELU-tanh backward that returns 0·inf passes neither check.
//
// Finally the row-wise activations (softmax, log_softmax) get rows of huge logits, where a softmax
// without max subtraction overflows: [1000, 1001, 1002] must give [0.0900, 0.2447, 0.6652].
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <iomanip>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/registry.hpp"

using namespace nnlab;
using json = nlohmann::json;

namespace {

// check_float32_finite's inputs, in one row and reversed in a second, so a row-wise activation also
// sees each value in a different neighbourhood.
MatF extreme_inputs() {
  const float big = std::numeric_limits<float>::max();
  const float tiny = std::numeric_limits<float>::denorm_min();
  const std::vector<float> xs = {0.0f,   -0.0f,   tiny,   -tiny,  1e-30f, -1e-30f, 1.0f,  -1.0f,
                                 20.0f,  -20.0f,  88.8f,  -88.8f, 1000.0f, -1000.0f, 1e6f, -1e6f,
                                 1e19f,  -1e19f,  1e30f,  -1e30f, big,    -big};
  const Index n = static_cast<Index>(xs.size());
  MatF x(2, n);
  for (Index j = 0; j < n; ++j) x(0, j) = xs[static_cast<std::size_t>(j)], x(1, j) = xs[static_cast<std::size_t>(n - 1 - j)];
  return x;
}

// One value: finite, or ±Inf where the exact (float64) value is beyond float32's range; and close
// to the float64 value. Returns "" when fine, else a description.
std::string judge(float got, double exact) {
  const bool overflows = std::abs(exact) > static_cast<double>(FLT_MAX);
  if (std::isnan(got)) return "NaN";
  if (std::isinf(got) && !overflows) {
    std::ostringstream s;
    s << std::setprecision(9) << (got > 0 ? "+" : "-") << "Inf where the exact value " << exact << " is finite in float32";
    return s.str();
  }
  if (std::isnan(exact)) return "float64 layer gives NaN";
  if (overflows) return (std::isinf(got) || std::abs(got) == FLT_MAX) && std::signbit(got) == std::signbit(exact)
                            ? ""
                            : "expected overflow to " + std::string(exact > 0 ? "+" : "-") + "Inf";
  const double diff = std::abs(static_cast<double>(got) - exact);
  if (!(diff <= 1e-6 + 1e-4 * std::abs(exact))) {
    std::ostringstream s;
    s << std::setprecision(9) << "float32 " << got << " vs float64 " << exact;
    return s.str();
  }
  return "";
}

// Compare a float32 tensor with the float64 one element-wise; report every bad element.
void check_values(const std::string& what, const MatF& got, const MatD& exact, const MatF& x, std::ostringstream& out,
                  int& bad) {
  if (got.rows() != exact.rows() || got.cols() != exact.cols()) {
    out << "  " << what << ": shape " << got.rows() << "x" << got.cols() << " vs " << exact.rows() << "x" << exact.cols() << "\n";
    ++bad;
    return;
  }
  const bool elementwise = got.size() == x.size();
  for (Index i = 0; i < got.size(); ++i) {
    const std::string problem = judge(got.data()[i], exact.data()[i]);
    if (problem.empty()) continue;
    ++bad;
    out << "  " << what << "[" << i << "]";
    if (elementwise) out << " at x=" << std::setprecision(9) << x.data()[i];
    out << ": " << problem << "\n";
  }
}

// Build the activation in both precisions, run forward and backward (dy = 1) on x, judge everything.
void check_stable(const std::string& name, const json& params, const MatF& x) {
  LayerPtr<float> lf;
  LayerPtr<double> ld;
  try {
    lf = make_layer<float>(name, x.cols(), params);
    ld = make_layer<double>(name, x.cols(), params);
  } catch (const std::exception& e) {
    FAIL_CHECK(name << " " << params.dump() << ": make_layer threw: " << e.what());
    return;
  }
  // Same parameter values in both (the layers initialise them from the same config already; copy to
  // be independent of any random initialisation).
  auto pf = lf->parameters();
  auto pd = ld->parameters();
  REQUIRE(pf.size() == pd.size());
  for (std::size_t k = 0; k < pf.size(); ++k) *pd[k].value = pf[k].value->template cast<double>();

  const MatD xd = x.cast<double>();
  const MatF y = lf->forward(x, true);
  const MatF dx = lf->backward(MatF::Ones(x.rows(), x.cols()));
  const MatD yd = ld->forward(xd, true);
  const MatD dxd = ld->backward(MatD::Ones(x.rows(), x.cols()));

  std::ostringstream out;
  int bad = 0;
  check_values("y", y, yd, x, out, bad);
  check_values("dx", dx, dxd, x, out, bad);
  for (std::size_t k = 0; k < pf.size(); ++k) check_values("grad " + pf[k].name, *pf[k].grad, *pd[k].grad, x, out, bad);
  CHECK_MESSAGE(bad == 0, name << " " << params.dump() << ": " << bad << " bad values\n" << out.str());
}

}  // namespace

TEST_CASE("every registered activation is finite in float32 at extreme inputs (default parameters)") {
  int checked = 0;
  for (const LayerEntry* entry : LayerRegistry::instance().all()) {
    if (!is_activation(entry->kind)) continue;
    ++checked;
    CAPTURE(entry->name);
    check_stable(entry->name, json::object(), extreme_inputs());
  }
  CHECK(checked >= 3);
}

TEST_CASE("stress settings stay finite in float32") {
  // Each activation declares its stress settings in its registration (LayerEntry::stress).
  int checked = 0;
  for (const LayerEntry* entry : LayerRegistry::instance().all()) {
    for (const std::string& text : entry->stress) {
      CAPTURE(entry->name);
      CAPTURE(text);
      const json params = json::parse(text);
      REQUIRE(params.is_object());
      ++checked;
      check_stable(entry->name, params, extreme_inputs());
    }
  }
  // The settings of the tutorial's hard cases are declared (SMU, SMU-1, squareplus, swish, PReLU...).
  CHECK(checked >= 21);
}

TEST_CASE("softmax and log_softmax: rows of huge logits") {
  const auto& registry = LayerRegistry::instance();
  REQUIRE_MESSAGE(registry.find("softmax"), "softmax is not registered");
  REQUIRE_MESSAGE(registry.find("log_softmax"), "log_softmax is not registered");
  const float big = FLT_MAX;
  MatF x(7, 3);
  x << 1000, 1001, 1002,          // overflows exp without the max shift
      -1000, -1001, -1002,        // underflows every exp without it
      1e30f, 1e30f, 1e30f,        // equal huge logits: uniform
      big, big, big,              // at the top of the range
      88.8f, 0, -88.8f,           // exp(88.8) is just past FLT_MAX
      -big, -big, -big,           // at the bottom
      0, 0, 0;
  for (const char* name : {"softmax", "log_softmax"}) {
    CAPTURE(name);
    check_stable(name, json::object(), x);
  }

  auto softmax = make_layer<float>("softmax", 3, json::object());
  const MatF y = softmax->forward(x, false);
  CHECK(y(0, 0) == doctest::Approx(0.0900306).epsilon(1e-5));
  CHECK(y(0, 1) == doctest::Approx(0.2447285).epsilon(1e-5));
  CHECK(y(0, 2) == doctest::Approx(0.6652410).epsilon(1e-5));
  CHECK(y(1, 0) == doctest::Approx(0.6652410).epsilon(1e-5));
  CHECK(y(1, 2) == doctest::Approx(0.0900306).epsilon(1e-5));
  for (Index r : {2, 3, 5, 6})
    for (Index c = 0; c < 3; ++c) CHECK(y(r, c) == doctest::Approx(1.0 / 3).epsilon(1e-6));
  for (Index r = 0; r < y.rows(); ++r) CHECK(y.row(r).sum() == doctest::Approx(1.0).epsilon(1e-6));

  auto log_softmax = make_layer<float>("log_softmax", 3, json::object());
  const MatF ly = log_softmax->forward(x, false);
  CHECK(ly(0, 0) == doctest::Approx(-2.4076059).epsilon(1e-6));
  CHECK(ly(0, 1) == doctest::Approx(-1.4076059).epsilon(1e-6));
  CHECK(ly(0, 2) == doctest::Approx(-0.4076059).epsilon(1e-6));
  CHECK(ly(4, 2) == doctest::Approx(-177.6).epsilon(1e-6));

  // A row spanning the whole range: softmax is [1, 0, 0] exactly; log_softmax's last element is
  // −FLT_MAX − FLT_MAX, beyond float32, so −Inf is its correctly rounded value (checked by judge()).
  MatF wide(1, 3);
  wide << big, 0, -big;
  check_stable("softmax", json::object(), wide);
  check_stable("log_softmax", json::object(), wide);
  const MatF yw = softmax->forward(wide, false);
  CHECK(yw(0, 0) == 1.0f);
  CHECK(yw(0, 1) == 0.0f);
  CHECK(yw(0, 2) == 0.0f);
}
