// The optimizer interface, its registry, and gradient clipping by global norm.
//
// Optimizers update float parameters in place from the gradients that backward wrote, with
// PyTorch's update rules and defaults (torch.optim 1.13; each optim/<name>.cpp starts with its rule).
// Per-parameter state (momentum buffers, moments) lives inside, in named slots that use PyTorch's
// state names ("momentum_buffer", "exp_avg", ...), and is sized once, at the first step: a step
// allocates nothing after that.
//
// Checkpoints. state(params) returns everything needed to continue bit-identically, as a
// TensorFile (core/state.hpp), every name under "optimizer.":
//   tensors   "optimizer.<param name>.<slot>"  e.g. "optimizer.layers.0.weight.exp_avg": float32,
//             the parameter's shape; none before the first step
//   metadata  "optimizer.type"  registry name ("adam")
//             "optimizer.step"  steps taken, decimal integer
//             "optimizer.lr"    current learning rate, the shortest decimal that reads back exactly
// load_state(file, params, source) checks all of it against this optimizer and these parameters
// and throws CheckpointError("<source>: ...") naming what is wrong (another optimizer's state, a
// missing, unexpected or misshapen tensor, a NaN or infinite value, a negative value in a slot
// that cannot be negative, malformed metadata), changing nothing then. Tensors and
// metadata outside "optimizer." are ignored, so the model's weights and a schedule's state
// (core/schedule.hpp) can share the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/parallel.hpp"
#include "core/params.hpp"
#include "core/registry.hpp"
#include "core/state.hpp"

namespace nnlab {

class Optimizer {
 public:
  explicit Optimizer(double lr) : lr_(lr) {}
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // One update of every parameter from its gradient. `params` must be the same list, in the same
  // order and with the same shapes, at every call (state is kept per position); a parameter with
  // weight_decay == false gets no weight decay.
  void step(std::vector<Param<float>>& params);

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }  // for learning-rate schedules
  std::int64_t steps() const { return steps_; }  // updates done so far

  // Checkpoint state (see the header comment). `params` names the tensors.
  TensorFile state(const std::vector<Param<float>>& params) const;
  void load_state(const TensorFile& file, const std::vector<Param<float>>& params, const std::string& source);

 protected:
  // The update rule. steps() already counts this update (1 at the first); every slot holds one
  // buffer per parameter, sized like it and zero-filled at the first step (or as init_state left it).
  virtual void update(std::vector<Param<float>>& params) = 0;
  // Called once after the slots are allocated and zeroed, before the first update (Adagrad's
  // initial accumulator value).
  virtual void init_state() {}

  // Runs f(i, offset, count) over the elements of every parameter: the parameters laid end to end
  // and cut into one contiguous range per thread (core/parallel.hpp), so f sees parameter i's
  // flattened elements [offset, offset + count). Update rules are element-wise, so splitting them
  // changes nothing but the speed. seg(m, offset, count) is that range of a parameter-shaped matrix.
  template <typename F>
  static void for_each_block(const std::vector<Param<float>>& params, F&& f) {
    Index total = 0;
    for (const auto& p : params) total += p.value->size();
    parallel_for_blocks(
        total, static_cast<double>(total),
        [&](Index begin, Index end) {
          Index base = 0;
          for (std::size_t i = 0; i < params.size(); ++i) {
            const Index n = params[i].value->size(), lo = std::max(begin, base), hi = std::min(end, base + n);
            if (hi > lo) f(i, lo - base, hi - lo);
            base += n;
          }
        },
        16);
  }
  static auto seg(MatF& m, Index offset, Index count) { return flat(m).segment(offset, count); }

  // Declare a state slot (in the constructor). Returns its index for slot(). A slot that can never
  // be negative (a running sum of squares) says so, and load_state refuses negative values there.
  enum class SlotRange { any, non_negative };
  std::size_t add_slot(std::string name, SlotRange range = SlotRange::any);
  std::vector<MatF>& slot(std::size_t index) { return slots_[index].buffers; }

  double lr_;

 private:
  struct Slot {
    std::string name;
    std::vector<MatF> buffers;  // one per parameter; empty until the first step
    SlotRange range = SlotRange::any;
  };
  void allocate(const std::vector<Param<float>>& params);
  std::vector<Slot> slots_;
  std::int64_t steps_ = 0;
};

struct OptimizerEntry {
  std::string name;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<Optimizer>(const Args&)> make;
};
using OptimizerRegistry = Registry<OptimizerEntry>;

// An "optimizer" section resolved: the registry entry and its validated arguments. Rules between
// arguments (Adam's betas < 1, SGD's Nesterov needing momentum) live in the optimizer's constructor,
// their one owner, so resolving also constructs one instance and drops it (an optimizer holds no
// state before its first step: nothing is allocated).
struct OptimizerSpec {
  const OptimizerEntry* entry = nullptr;
  Args args;
  std::string path = "optimizer";

  std::unique_ptr<Optimizer> make() const;
  double lr() const { return args.number("lr"); }
  nlohmann::json to_json() const;  // {"type": ..., every parameter} for the resolved config
};

// From a config object {"type": "sgd", "lr": 0.05, ...}; `path` names it in messages.
OptimizerSpec resolve_optimizer(const nlohmann::json& spec, const std::string& path = "optimizer");
// resolve_optimizer(spec, path).make()
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, const std::string& path = "optimizer");

// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_(params, max_norm):
//
//   n = sqrt(Σ_params Σ_i g_i²)               (all gradients seen as one vector; summed in double)
//   c = max_norm / (n + 1e-6)
//   g ← g · c   when c < 1  (PyTorch multiplies by min(c, 1); a factor of 1 changes nothing)
//
// Returns n, the norm before clipping. A non-finite n (a NaN or infinite gradient) leaves the
// gradients untouched (PyTorch would turn them all into NaN or 0): the caller should treat it as
// divergence. max_norm must be > 0.
double clip_grad_norm(std::vector<Param<float>>& params, double max_norm);

// Checkpoint metadata values (also used by core/schedule.cpp): the shortest decimal that reads back
// as exactly the same double ("0.1", "1e-08", "inf"), and strict parsers that accept only such
// text (no spaces, no trailing characters) and otherwise throw CheckpointError("<what>: ...").
std::string exact_decimal(double x);
double parse_decimal(const std::string& text, const std::string& what);
std::int64_t parse_count(const std::string& text, const std::string& what);  // an integer >= 0

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
