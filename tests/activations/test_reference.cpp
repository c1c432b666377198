// Every activation against PyTorch: forward y, input gradient dx and parameter gradients.
//
// The data is tests/data/activations_reference.json, written by tools/torch_reference.py (PyTorch
// 1.13 autograd; see that script's header for what each entry holds and where PyTorch 1.13's kink
// conventions were overridden). For every entry this test builds the layer with make_layer<float> or
// make_layer<double> from the entry's params, writes the entry's learnable parameter values into
// layer->parameters() (matched by name), runs forward(x) and backward(dy), and compares element-wise:
//
//   y, dx:                      |got − expected| ≤ atol + rtol · |expected|
//   parameter values/gradients: |got − expected| ≤ rtol · max(|expected|, Σ|terms|)
// A parameter gradient is a sum over the batch; Σ|terms| (stored by the generator) measures what the
// summation can lose, so no absolute floor is needed and even SMU's μ-gradient of 1e-13 is compared.
//
// Tolerances (an entry may change them with its own "rtol"/"atol"):
// * float64: rtol 1e-10, atol 1e-12. The reference is PyTorch's float64 result; the slack covers
//   PyTorch 1.13's own deviations from the exact value (exp(x) − 1 in the ELU family, ~1e-9 relative
//   at x = −1e-8, i.e. 1e-17 absolute; 1 + erf cancellation in exact GELU, < 1e-15 absolute) and
//   equivalent stable rewritings in nnlab (expm1, erfc, hypot, output-form derivatives). Observed
//   worst: 9e-15 relative (softmax dx), 1e-16 absolute, so the margin is about 4 orders.
//   hardsigmoid float64 carries rtol 1e-7: PyTorch 1.13 multiplies its backward by float32(1/6).
// * float32: rtol 1e-5, atol 1e-6 (tightened from 2e-5 after measuring). The stored value is the
//   exact result rounded once to float32, so the slack is nnlab's own float32 arithmetic:
//   - rtol: chains of exp/log/erf/tanh accumulate a few ulp (6e-8 each); the worst observed is
//     2.4e-6 (tanh's 1 − y² from the output near |x| = 2, where 1 − y² ≈ 0.06 amplifies the rounding
//     of y by 2y²/(1 − y²) ≈ 30), so 1e-5 leaves a factor 4;
//   - atol: output-form derivatives (tanh 1 − y², sigmoid y(1 − y)) lose ~2 ulp(1) = 1.2e-7 absolute
//     once y is near ±1, times |dy| ≤ 2; the worst observed is 3.2e-7 (tanh dx at x = 6);
//   - PyTorch's own tanh-GELU float32 backward cancels in 1 + tanh u and 1 − tanh² u for x in [−6, −3]
//     (errors up to 1.03e-6·|dy|, measured); nnlab's uses σ(2u) = ½(1 + tanh u) and needs no slack.
// * squareplus, smu, smu1 (both precisions) carry atol 1e-30, i.e. none: their stable forms have no
//   cancellation, and their telling points (|x| ~ 1e-6 for SMU at μ = 1e6, 1e-8 for SMU-1 at its
//   init, x = −1e4 for squareplus b = 0.2) have |y| or |f'| far below the default atol.
// PyTorch's native float32 kernels stay within 0.35 of these allowances (the generator checks it),
// so they are achievable by an ordinary float32 implementation. The test prints the worst observed
// error/allowance per precision and tensor kind.
//
// The test also asserts that every activation registered in LayerRegistry (kind activation) has
// entries in both precisions, so a new activation cannot skip the PyTorch comparison.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/registry.hpp"

using namespace nnlab;
using json = nlohmann::json;

namespace {

const std::string kDataFile = std::string(NNLAB_TEST_DATA_DIR) + "/activations_reference.json";

// The reference file, parsed once.
const json& reference() {
  static const json data = [] {
    std::ifstream in(kDataFile);
    if (!in) return json();
    return json::parse(in);
  }();
  return data;
}

struct Tolerance {
  double rtol, atol;
};

Tolerance tolerance(const json& e) {
  Tolerance t = e.at("dtype") == "float64" ? Tolerance{1e-10, 1e-12} : Tolerance{1e-5, 1e-6};
  if (e.contains("rtol")) t.rtol = e["rtol"].get<double>();
  if (e.contains("atol")) t.atol = e["atol"].get<double>();
  return t;
}

// "elu {"alpha":0.5} float32", for messages.
std::string label(const json& e) {
  return e.at("name").get<std::string>() + " " + e.at("params").dump() + " " + e.at("dtype").get<std::string>();
}

template <typename T>
Mat<T> matrix(const json& values, Index rows, Index cols) {
  REQUIRE(values.size() == static_cast<std::size_t>(rows * cols));
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(values[static_cast<std::size_t>(i)].get<double>());
  return m;
}

// Worst error/allowance seen, per precision and per kind of tensor (printed at the end).
struct Worst {
  double ratio = 0;
  std::string where;
  void update(double r, const std::string& w) {
    if (r > ratio) ratio = r, where = w;
  }
};
using WorstTable = std::map<std::string, Worst>;  // "float32 dx" -> worst

// The element-wise comparison behind check_tensor: counts elements outside the allowance and writes
// llm.c-style "NOT OK" lines (element, its input, expected, got) for the first few of them.
struct Comparison {
  int bad = 0;
  double max_ratio = 0, max_diff = 0;
  std::string report;
};

template <typename T>
Comparison compare(const std::string& tensor, const Mat<T>& got, const json& expected, const json& e,
                   const json* scales = nullptr) {
  const Tolerance tol = tolerance(e);
  const json& x = e.at("x");
  const Index cols = e.at("cols").get<Index>();
  const bool per_element = tensor == "y" || tensor == "dx";
  Comparison c;
  std::ostringstream out;
  out << std::setprecision(std::is_same_v<T, float> ? 9 : 17);
  if (got.size() != static_cast<Index>(expected.size())) {
    c.bad = 1;
    c.report = label(e) + " " + tensor + ": got " + std::to_string(got.size()) + " elements, expected " +
               std::to_string(expected.size());
    return c;
  }
  for (Index i = 0; i < got.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double g = static_cast<double>(got.data()[i]);
    const double want = expected[k].get<double>();
    // Parameter values and gradients: no absolute floor (only the smallest normal number), because
    // `scale` (the sum of the terms' magnitudes) already measures what the summation can lose; so a
    // gradient of 1e-13 (SMU's μ at μ = 1e6) is compared to rtol like any other.
    const bool parameter = !per_element;
    const double scale = scales ? std::max(std::abs(want), (*scales)[k].get<double>()) : std::abs(want);
    const double diff = std::abs(g - want);
    const double floor = parameter ? static_cast<double>(std::numeric_limits<T>::min()) : tol.atol;
    const double allowed = floor + tol.rtol * scale;
    const bool ok = diff <= allowed;  // false for NaN
    c.max_ratio = std::max(c.max_ratio, ok ? diff / allowed : std::numeric_limits<double>::infinity());
    if (std::isfinite(diff)) c.max_diff = std::max(c.max_diff, diff);
    if (!ok && ++c.bad <= 8) {
      out << "NOT OK " << label(e) << " " << tensor;
      if (per_element) out << "[" << i / cols << "," << i % cols << "] x=" << x[k].get<double>();
      else out << "[" << i << "]";
      out << " expected=" << want << " got=" << g << " |diff|=" << diff << " allowed=" << allowed << "\n";
    }
  }
  if (c.bad) {
    out << "TENSOR NOT OK " << label(e) << " " << tensor << ": " << c.bad << " of " << got.size()
        << " elements outside rtol " << tol.rtol;
    if (per_element) out << " atol " << tol.atol;
    else out << " (relative to max(|expected|, sum of |terms|))";
    out << ", maxdiff " << c.max_diff;
    if (e.contains("note")) out << "\n  note: " << e["note"].get<std::string>();
  }
  c.report = out.str();
  return c;
}

// llm.c's check_tensor: compare, record the worst error/allowance, fail with the report on mismatch.
template <typename T>
bool check_tensor(const std::string& tensor, const Mat<T>& got, const json& expected, const json& e,
                  WorstTable& worst, const json* scales = nullptr) {
  const Comparison c = compare<T>(tensor, got, expected, e, scales);
  const bool per_element = tensor == "y" || tensor == "dx";
  worst[e.at("dtype").get<std::string>() + " " + (per_element ? tensor : "parameters")].update(
      c.max_ratio, label(e) + " " + tensor);
  if (c.bad) FAIL_CHECK(c.report);
  return c.bad == 0;
}

// One entry: build, set parameters, forward, backward, compare. Returns false on any mismatch.
template <typename T>
bool check_entry(const json& e, WorstTable& worst) {
  const std::string name = e.at("name");
  const Index rows = e.at("rows").get<Index>(), cols = e.at("cols").get<Index>();
  LayerPtr<T> layer;
  try {
    layer = make_layer<T>(name, cols, e.at("params"));
  } catch (const std::exception& ex) {
    FAIL_CHECK(label(e) << ": make_layer threw: " << ex.what());
    return false;
  }
  CHECK_MESSAGE(is_activation(*layer), label(e) << ": is_activation() is false");

  // Learnable parameters: the same names and shapes as PyTorch's, values written from the entry.
  const json no_params = json::object();
  const json& values = e.contains("param_values") ? e["param_values"] : no_params;
  std::set<std::string> expected_names, got_names;
  for (const auto& [k, v] : values.items()) expected_names.insert(k);
  bool ok = true;
  std::vector<Param<T>> params = layer->parameters();
  for (auto& p : params) {
    got_names.insert(p.name);
    if (!values.contains(p.name)) continue;
    const json& v = values[p.name];
    const auto shape = e.at("param_shapes").at(p.name).template get<std::vector<std::int64_t>>();
    if (p.shape != shape || p.value->size() != static_cast<Index>(v.size())) {
      FAIL_CHECK(label(e) << ": parameter '" << p.name << "' has shape " << json(p.shape).dump() << " and "
                          << p.value->size() << " elements, PyTorch's has shape " << json(shape).dump());
      ok = false;
      continue;
    }
    if (e.value("param_values_are_init", false))
      ok &= check_tensor<T>("initial " + p.name, *p.value, v, e, worst);
    for (Index i = 0; i < p.value->size(); ++i)
      p.value->data()[i] = static_cast<T>(v[static_cast<std::size_t>(i)].get<double>());
  }
  if (got_names != expected_names) {
    FAIL_CHECK(label(e) << ": learnable parameters " << json(got_names).dump() << ", PyTorch reference has "
                        << json(expected_names).dump());
    return false;
  }
  if (!ok) return false;

  const Mat<T> x = matrix<T>(e.at("x"), rows, cols);
  const Mat<T> dy = matrix<T>(e.at("dy"), rows, cols);
  const Mat<T> y = layer->forward(x, true);
  const Mat<T> dx = layer->backward(dy);
  ok &= check_tensor<T>("y", y, e.at("y"), e, worst);
  ok &= check_tensor<T>("dx", dx, e.at("dx"), e, worst);
  for (auto& p : params) {
    const json& scales = e.at("param_grad_scales").at(p.name);
    ok &= check_tensor<T>("grad " + p.name, *p.grad, e.at("param_grads").at(p.name), e, worst, &scales);
  }
  return ok;
}

std::set<std::string> registered_activations() {
  std::set<std::string> names;
  for (const LayerEntry* entry : LayerRegistry::instance().all())
    if (is_activation(entry->kind)) names.insert(entry->name);
  return names;
}

void run_precision(const std::string& dtype) {
  const json& data = reference();
  REQUIRE_MESSAGE(data.is_object(), "cannot read " << kDataFile);
  const auto registered = registered_activations();
  WorstTable worst;
  int entries = 0, passed = 0;
  std::set<std::string> missing;
  for (const json& e : data.at("entries")) {
    if (e.at("dtype") != dtype) continue;
    ++entries;
    if (!registered.count(e.at("name").get<std::string>())) {
      missing.insert(e.at("name").get<std::string>());
      continue;
    }
    const bool ok = dtype == "float64" ? check_entry<double>(e, worst) : check_entry<float>(e, worst);
    passed += ok;
  }
  std::ostringstream summary;
  summary << dtype << ": " << passed << " of " << entries << " reference entries match PyTorch";
  for (const auto& [k, w] : worst)
    summary << "\n  worst " << k << " error/allowed = " << std::setprecision(3) << w.ratio << " (" << w.where << ")";
  MESSAGE(summary.str());
  CHECK_MESSAGE(missing.empty(), "reference entries for activations that are not registered: "
                                     << json(missing).dump() << " (a renamed or missing activation)");
  CHECK(passed == entries);
}

}  // namespace

TEST_CASE("the reference file is found through NNLAB_TEST_DATA_DIR and is well formed") {
  std::ifstream in(kDataFile);
  REQUIRE_MESSAGE(in.good(), "missing " << kDataFile << " (generate it: /usr/bin/python3 tools/torch_reference.py)");
  const json& data = reference();
  REQUIRE(data.is_object());
  REQUIRE(data.at("entries").is_array());
  CHECK(data.at("entries").size() >= 2 * registered_activations().size());
  for (const json& e : data.at("entries")) {
    INFO(label(e));
    const auto n = e.at("rows").get<std::size_t>() * e.at("cols").get<std::size_t>();
    CHECK((e.at("dtype") == "float32" || e.at("dtype") == "float64"));
    for (const char* k : {"x", "dy", "y", "dx"}) CHECK(e.at(k).size() == n);
    if (e.contains("param_values")) {
      for (const auto& [k, v] : e["param_values"].items()) {
        CHECK(e.at("param_grads").at(k).size() == v.size());
        CHECK(e.at("param_grad_scales").at(k).size() == v.size());
      }
    }
  }
}

TEST_CASE("every registered activation has PyTorch reference entries in both precisions") {
  const json& data = reference();
  REQUIRE(data.is_object());
  std::set<std::string> f32, f64;
  for (const json& e : data.at("entries")) (e.at("dtype") == "float32" ? f32 : f64).insert(e.at("name").get<std::string>());
  const auto registered = registered_activations();
  CHECK(registered.size() >= 3);
  const char* regenerate = ": declare its PyTorch form in its registration (LayerEntry::reference) and run "
                           "/usr/bin/python3 tools/torch_reference.py";
  for (const std::string& name : registered) {
    CHECK_MESSAGE(f64.count(name), "activation '" << name << "' has no float64 entry in " << kDataFile << regenerate);
    CHECK_MESSAGE(f32.count(name), "activation '" << name << "' has no float32 entry in " << kDataFile << regenerate);
  }
}

TEST_CASE("the reference data is that of the declared variants (regenerated after every declaration change)") {
  const json& data = reference();
  REQUIRE(data.is_object());
  std::map<std::string, std::set<std::string>> entries;  // name -> params of its entries (one per variant and dtype)
  std::map<std::string, std::size_t> counts;
  for (const json& e : data.at("entries")) {
    entries[e.at("name").get<std::string>()].insert(e.at("params").dump());
    ++counts[e.at("name").get<std::string>()];
  }
  for (const LayerEntry* entry : LayerRegistry::instance().all()) {
    if (!is_activation(entry->kind)) continue;
    CAPTURE(entry->name);
    CHECK_MESSAGE(!entry->reference.torch.empty(), "every activation declares its PyTorch form (LayerEntry::reference.torch)");
    std::set<std::string> declared;
    for (const auto& v : entry->reference.variants) declared.insert(json::parse(v.params).dump());
    CHECK_MESSAGE(entries[entry->name] == declared, "the reference variants of " << entry->name << " changed since "
                                                        << kDataFile << " was written: run /usr/bin/python3 tools/torch_reference.py");
    CHECK(counts[entry->name] == 2 * entry->reference.variants.size());
  }
}

TEST_CASE("every activation matches PyTorch in float64") { run_precision("float64"); }

TEST_CASE("every activation matches PyTorch in float32") { run_precision("float32"); }

TEST_CASE("the comparison catches a wrong value and reports it like check_tensor") {
  // The machinery itself: relu's float64 reference with one output perturbed by 1e-9 (relative) must
  // be reported, so a passing run above is not the result of a comparison that accepts anything.
  const json& data = reference();
  REQUIRE(data.is_object());
  const auto it = std::find_if(data.at("entries").begin(), data.at("entries").end(), [](const json& e) {
    return e.at("name") == "relu" && e.at("dtype") == "float64" && e.at("params").empty();
  });
  REQUIRE(it != data.at("entries").end());
  json e = *it;
  std::size_t changed = 0;
  while (e["y"][changed].get<double>() < 1) ++changed;
  e["y"][changed] = e["y"][changed].get<double>() * (1 + 1e-9);
  auto layer = make_layer<double>("relu", e["cols"].get<Index>(), e["params"]);
  const MatD x = matrix<double>(e["x"], e["rows"].get<Index>(), e["cols"].get<Index>());
  const MatD y = layer->forward(x, false);
  CHECK(compare<double>("y", y, it->at("y"), *it).bad == 0);
  const Comparison c = compare<double>("y", y, e["y"], e);
  CHECK(c.bad == 1);
  CHECK(c.report.find("NOT OK relu {} float64 y[") != std::string::npos);
  CHECK(c.report.find("TENSOR NOT OK") != std::string::npos);
}
