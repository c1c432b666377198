// Learnable parameters in tests: find one by name, and the gradient of a one-parameter activation
// at a single input.
#pragma once

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace nnlab::test {

// The parameter called `name` among `params` (the test stops if there is none).
template <typename T>
Param<T>& find_param(std::vector<Param<T>>& params, const std::string& name) {
  for (auto& p : params)
    if (p.name == name) return p;
  FAIL("no parameter named '" << name << "'");
  return params.front();  // not reached: FAIL throws
}

// dL/d<param> for one element x with upstream gradient 1, through `activation` (a layer of width 1
// built with `args`) whose only learnable parameter is called `param` (e.g. prelu's "weight",
// swish's "beta", smu's and smu1's "mu").
inline double param_grad_at(const std::string& activation, const std::string& param, double x,
                            const nlohmann::json& args = nlohmann::json::object()) {
  auto layer = make_layer<double>(activation, 1, args);
  MatD in(1, 1);
  in(0, 0) = x;
  layer->forward(in, false);
  layer->backward(MatD::Ones(1, 1));
  auto p = layer->parameters();
  REQUIRE(p.size() == 1);
  return (*find_param(p, param).grad)(0, 0);
}

}  // namespace nnlab::test
