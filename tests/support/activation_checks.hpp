// Shared checks for activation tests (tests/activations/*.cpp).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/gradcheck/gradcheck.hpp"
#include "core/registry.hpp"

namespace nnlab::test {

// Gradient check in double precision, input and every learnable parameter, at the edge points
// (0, ±1e-4, ±1, ±20, ±100) and random points in [lo, hi]. Tolerance 1e-6 (max relative error).
inline GradCheckReport gradcheck_activation(const std::string& name, const nlohmann::json& params = {},
                                            double lo = -5, double hi = 5, Index cols = 7) {
  auto layer = make_layer<double>(name, cols, params.is_null() ? nlohmann::json::object() : params);
  const MatD x = gradcheck_input(6, cols, 42, lo, hi);
  GradCheckReport r = check_layer(*layer, x);
  INFO(name << " " << params.dump() << "\n" << r.format());
  CHECK(r.ok());
  CHECK(r.max_error() <= 1e-6);
  return r;
}

// float32 forward and backward give no NaN/Inf for extreme finite inputs.
inline void check_float32_finite(const std::string& name, const nlohmann::json& params = {}) {
  const float big = std::numeric_limits<float>::max();
  const float tiny = std::numeric_limits<float>::denorm_min();
  const float xs[] = {0.0f, -0.0f, tiny, -tiny, 1e-30f, -1e-30f, 1.0f, -1.0f, 20.0f, -20.0f, 88.8f, -88.8f,
                      1000.0f, -1000.0f, 1e6f, -1e6f, 1e19f, -1e19f, 1e30f, -1e30f, big, -big};
  const Index n = static_cast<Index>(std::size(xs));
  auto layer = make_layer<float>(name, n, params.is_null() ? nlohmann::json::object() : params);
  MatF x(2, n);
  for (Index j = 0; j < n; ++j) x(0, j) = xs[j], x(1, j) = xs[n - 1 - j];
  const MatF y = layer->forward(x, true);
  MatF dy = MatF::Ones(2, n);
  const MatF dx = layer->backward(dy);
  INFO(name << " " << params.dump() << "\n x=" << x << "\n y=" << y << "\n dx=" << dx);
  CHECK(y.allFinite());
  CHECK(dx.allFinite());
  for (auto& p : layer->parameters()) {
    INFO("parameter " << p.name << " grad " << *p.grad);
    CHECK(p.grad->allFinite());
  }
}

// f and f' at a point, float64 (through the layer, with upstream gradient 1).
inline std::pair<double, double> value_and_derivative(const std::string& name, double x,
                                                      const nlohmann::json& params = {}) {
  auto layer = make_layer<double>(name, 1, params.is_null() ? nlohmann::json::object() : params);
  MatD in(1, 1);
  in(0, 0) = x;
  const double y = layer->forward(in, false)(0, 0);
  const double d = layer->backward(MatD::Ones(1, 1))(0, 0);
  return {y, d};
}

}  // namespace nnlab::test
