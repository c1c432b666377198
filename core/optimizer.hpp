// The optimizer interface and its registry. Optimizers update float parameters in place from the
// gradients that backward wrote; per-parameter state (momentum buffers, moments) lives inside.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/params.hpp"
#include "core/registry.hpp"

namespace nnlab {

class Optimizer {
 public:
  explicit Optimizer(double lr) : lr_(lr) {}
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // One update of every parameter from its gradient. `params` must be the same list, in the same
  // order, at every call (state is kept per position).
  virtual void step(std::vector<Param<float>>& params) = 0;

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }  // for learning-rate schedules

 protected:
  double lr_;
};

struct OptimizerEntry {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Optimizer>(const Args&)> make;
};
using OptimizerRegistry = Registry<OptimizerEntry>;

// From a config object {"type": "sgd", "lr": 0.05, ...}; `path` names it in messages.
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, const std::string& path = "optimizer");

}  // namespace nnlab

#define NNLAB_REGISTER_OPTIMIZER(Class, name, summary, ...)                                         \
  namespace {                                                                                      \
  [[maybe_unused]] const bool NNLAB_CONCAT(nnlab_registered_opt_, __LINE__) =                      \
      ::nnlab::OptimizerRegistry::instance().add(::nnlab::OptimizerEntry{                          \
          name, summary, std::vector<::nnlab::ParamSpec> __VA_ARGS__,                              \
          [](const ::nnlab::Args& a) -> std::unique_ptr<::nnlab::Optimizer> {                      \
            return std::make_unique<Class>(a);                                                     \
          }});                                                                                     \
  }
