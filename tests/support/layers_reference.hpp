// The layer tests' PyTorch reference (tests/data/layers_reference.json, written by
// tools/torch_layers_reference.py, PyTorch 1.13) and how values are compared with it:
//     |got − expected| ≤ rtol · max(|expected|, scale)
// where `scale` (stored per element by the generator) is the magnitude of the terms that formed the
// value: Σ|terms| for the batch sums, the operands of the cancellations x − μ and N·dy − Σdy − x̂·Σdy·x̂.
// Also random batches and setting values, for the dropout, batchnorm and flatten tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "core/rng.hpp"
#include "core/tensor.hpp"

namespace nnlab::test {

inline const nlohmann::json& layers_reference() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(NNLAB_TEST_DATA_DIR) + "/layers_reference.json");
    REQUIRE_MESSAGE(in.good(), "tests/data/layers_reference.json missing (run tools/torch_layers_reference.py)");
    return nlohmann::json::parse(in);
  }();
  return data;
}

// The CNN layers' reference (tests/data/cnn_reference.json, written by tools/torch_cnn_reference.py),
// read once per test executable and compared the same way.
inline const nlohmann::json& cnn_reference() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(NNLAB_TEST_DATA_DIR) + "/cnn_reference.json");
    REQUIRE_MESSAGE(in.good(), "tests/data/cnn_reference.json missing (run tools/torch_cnn_reference.py)");
    return nlohmann::json::parse(in);
  }();
  return data;
}

// Inputs in the reference file are float32 values in their shortest form: read them through float so
// that the float64 tests use exactly the same numbers.
template <typename T>
Mat<T> input_matrix(const nlohmann::json& values, Index rows, Index cols) {
  REQUIRE(static_cast<Index>(values.size()) == rows * cols);
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(static_cast<float>(values[i].get<double>()));
  return m;
}

// Results: read as double, rounded once to T (exact for the stored float32 values).
template <typename T>
Mat<T> result_matrix(const nlohmann::json& values, Index rows, Index cols) {
  REQUIRE(static_cast<Index>(values.size()) == rows * cols);
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(values[i].get<double>());
  return m;
}

struct Deviation {
  double ratio = 0;    // worst |got − expected| / (rtol · max(|expected|, scale))
  double plain = 0;    // worst |got − expected| / |expected| over nonzero expected values
  std::string where;   // the tensor with the worst ratio
  std::string where_plain;
  void add(const Deviation& d) {
    if (d.ratio > ratio) ratio = d.ratio, where = d.where;
    if (d.plain > plain) plain = d.plain, where_plain = d.where_plain;
  }
};

template <typename T>
Deviation compare(const std::string& what, const Mat<T>& got, const nlohmann::json& expected, const nlohmann::json& scale,
                  double rtol) {
  Deviation d;
  d.where = what;
  const auto n = static_cast<Index>(expected.size());
  REQUIRE_MESSAGE(got.size() == n, what);
  for (Index i = 0; i < n; ++i) {
    const double g = static_cast<double>(got.data()[i]);
    const double e = static_cast<double>(static_cast<T>(expected[i].get<double>()));
    const double s = scale[i].get<double>();
    const double err = std::abs(g - e);
    const double allowed = rtol * std::max(std::abs(e), s);
    const double ratio = err == 0 ? 0.0 : (allowed == 0 ? INFINITY : err / allowed);
    if (e != 0 && err / std::abs(e) > d.plain) {
      d.plain = err / std::abs(e);
      d.where_plain = what + "[" + std::to_string(i) + "] = " + std::to_string(e) + ", scale " + std::to_string(s);
    }
    if (!(ratio <= 1.0)) FAIL_CHECK(what << "[" << i << "]: got " << g << ", expected " << e << " (allowed " << allowed << ")");
    d.ratio = std::max(d.ratio, ratio);
  }
  return d;
}

template <typename T>
void set_values(Mat<T>& m, std::initializer_list<double> v) {
  REQUIRE(static_cast<std::size_t>(m.size()) == v.size());
  std::size_t i = 0;
  for (double x : v) m.data()[i++] = static_cast<T>(x);
}

// A random (rows, cols) batch, uniform in [lo, hi).
template <typename T>
Mat<T> random_batch(Index rows, Index cols, std::uint64_t seed, double lo = -2, double hi = 2) {
  Rng rng(seed, Rng::stream_id("test-layers"));
  Mat<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(lo, hi));
  return m;
}

}  // namespace nnlab::test
