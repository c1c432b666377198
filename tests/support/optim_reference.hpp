// The optimizer tests' PyTorch reference, tests/data/optim_reference.json (written by
// tools/torch_optim_reference.py, PyTorch 1.13): each case is 20 steps of one optimizer (with a
// schedule and/or clip_grad_norm_) on a 2-3-1 network. Problem holds that network's parameters, Run
// a case's optimizer and schedule built from its nnlab configs, fed PyTorch's gradient at every step
// (so the update rule is tested, not the model). The tolerances are explained in
// tests/optim/test_reference.cpp.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/io/safetensors.hpp"
#include "core/optimizer.hpp"
#include "core/schedule.hpp"

namespace nnlab::test {

using json = nlohmann::json;

inline const json& optim_reference() {
  static const json j = [] {
    const std::string path = std::string(NNLAB_TEST_DATA_DIR) + "/optim_reference.json";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path << " (run tools/torch_optim_reference.py)");
    return json::parse(in);
  }();
  return j;
}

inline const json& find_case(const std::string& name) {
  for (const auto& c : optim_reference()["cases"])
    if (c["name"] == name) return c;
  FAIL("no reference case " << name);
  static const json none;
  return none;
}

// The message of the exception f() throws, "(no exception)" if none.
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

// The reference problem's parameters: values and gradients owned here, seen through Param like a
// model's. Parameters keep their addresses (the vectors are filled once, then never resized).
class Problem {
 public:
  Problem() {
    const json& ps = optim_reference()["params"];
    values_.reserve(ps.size());
    grads_.reserve(ps.size());
    for (const auto& p : ps) {
      std::vector<std::int64_t> shape = p["shape"].get<std::vector<std::int64_t>>();
      const Index rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
      values_.emplace_back(rows, cols);
      grads_.emplace_back(MatF::Zero(rows, cols));
      for (Index i = 0; i < values_.back().size(); ++i) values_.back().data()[i] = p["init"][i].get<float>();
      params_.push_back({p["name"].get<std::string>(), nullptr, nullptr, shape, p["weight_decay"].get<bool>()});
    }
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].value = &values_[i], params_[i].grad = &grads_[i];
  }
  Problem(const Problem&) = delete;
  Problem& operator=(const Problem&) = delete;

  std::vector<Param<float>>& params() { return params_; }
  void set_grads(const json& flat) {
    std::size_t k = 0;
    for (MatF& g : grads_)
      for (Index i = 0; i < g.size(); ++i) g.data()[i] = flat[k++].get<float>();
  }
  std::vector<float> flat_values() const { return flatten(values_); }
  std::vector<float> flat_grads() const { return flatten(grads_); }
  void set_values(const std::vector<float>& v) {
    std::size_t k = 0;
    for (MatF& m : values_)
      for (Index i = 0; i < m.size(); ++i) m.data()[i] = v[k++];
  }

 private:
  static std::vector<float> flatten(const std::vector<MatF>& ms) {
    std::vector<float> out;
    for (const MatF& m : ms) out.insert(out.end(), m.data(), m.data() + m.size());
    return out;
  }
  std::vector<MatF> values_, grads_;
  std::vector<Param<float>> params_;
};

// A case's optimizer and schedule, built from its nnlab configs.
struct Run {
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<Schedule> schedule;
  explicit Run(const json& c) : optimizer(make_optimizer(c["optimizer"], c["name"].get<std::string>() + ".optimizer")) {
    if (c.contains("schedule"))
      schedule = make_schedule(c["schedule"], c["name"].get<std::string>() + ".schedule", optimizer->lr());
    if (schedule) optimizer->set_lr(schedule->lr());
  }
  // Steps [from, to) of case c; `on_step(k)` after each optimizer step.
  void steps(const json& c, Problem& p, int from, int to, const std::function<void(int)>& on_step = {}) {
    for (int k = from; k < to; ++k) {
      p.set_grads(c["grads"][k]);
      if (c.contains("clip_max_norm")) last_norm = clip_grad_norm(p.params(), c["clip_max_norm"].get<double>());
      lr_used = optimizer->lr();
      optimizer->step(p.params());
      if (on_step) on_step(k);
      if (schedule) {
        std::optional<double> metric;
        if (c.contains("metrics")) metric = c["metrics"][k].get<double>();
        schedule->step(metric);
        optimizer->set_lr(schedule->lr());
      }
    }
  }
  TensorFile state(Problem& p) const {
    TensorFile f = optimizer->state(p.params());
    if (schedule) schedule->save_state(f);
    return f;
  }
  void load(const TensorFile& f, Problem& p) {
    optimizer->load_state(f, p.params(), "state");
    if (schedule) {
      schedule->load_state(f, "state");
      optimizer->set_lr(schedule->lr());
    }
  }
  double last_norm = 0, lr_used = 0;
};

inline constexpr double kValueAtol = 1e-6, kValueRtol = 1e-6;
inline constexpr double kLrRtol = 1e-12, kNormRtol = 1e-6, kClipRtol = 1e-6, kClipAtol = 1e-12;

}  // namespace nnlab::test
