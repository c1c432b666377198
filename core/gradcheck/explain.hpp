// One training step told tensor by tensor: what `nnlab explain` prints and draws.
//
// explain_step runs one forward and one backward pass of a double-precision model on a batch, in
// evaluation mode (Dropout off, BatchNorm on its running statistics, so the loss is a deterministic
// function of every tensor), keeps every layer's input, output, dL/dy, dL/dx and dL/dθ, and checks
// each gradient against central finite differences of the loss (the makemore "backprop ninja"
// check): exact / close / WRONG, with the largest absolute and relative differences.
//
//   * finite differences are taken at every element of a tensor of at most 4·kProbe values and at
//     kProbe evenly spaced elements of a larger one;
//   * the step is h = 1e-6·max(1, |v|): in a CNN one weight feeds thousands of ReLU and max-pool
//     units, and a larger step would move some across their kinks; the cancellation error of
//     (L(v+h) − L(v−h)) is about 1e-16·|L|/h = 1e-10, far below the gradients compared;
//   * an element where the loss has a kink within the step (its left and right differences
//     disagree by more than 1e-3 relative: a ReLU unit or a max-pool choice switches) has no
//     derivative to compare; it is counted, not compared.
//
// explain_update then writes out what the configured optimizer does with one weight: it copies
// the model's parameters and gradients to float (optimizers update float parameters), takes one
// step, and reports the weight with the largest gradient in the first parameter: its value,
// gradient, every state slot after the step (PyTorch's names: momentum_buffer, exp_avg, ...), and
// its new value.
//
// The result is plain data; apps/cli prints it and apps/report draws it (explain_html).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"

namespace nnlab {

inline constexpr Index kExplainProbe = 16;  // finite differences at this many elements of a large tensor
inline constexpr Index kExplainShowAll = 24;  // tensors of at most this many values are shown whole

// How a larger tensor is shown: its shape ("[4, 784]") and summary statistics.
std::string shape_text(const MatD& m);
struct TensorSummary {
  double mean = 0, std = 0, min = 0, max = 0;  // std: the population standard deviation
};
TensorSummary summarize(const MatD& m);

// A gradient against finite differences.
struct GradientCheck {
  double max_abs = 0, max_rel = 0;
  Index checked = 0;  // elements compared
  Index of = 0;       // elements of the tensor
  Index kinks = 0;    // probed elements where the loss is not differentiable (not compared)
  // exact: identical; close: within 1e-3 relative (finite differences in double agree to 1e-6 or
  // better where the loss is smooth; a BatchNorm scale in a CNN feeds thousands of ReLU units, and
  // the few that switch within the step leave up to ~3e-4); WRONG: a derivation error is O(1);
  // "not compared": every probed element sat at a kink.
  std::string verdict() const;
  bool wrong() const { return checked > 0 && max_rel > 1e-3; }
};

struct ExplainedParam {
  std::string name;  // the layer's own name: "weight"
  MatD value, grad;
  GradientCheck check;
};

struct ExplainedLayer {
  std::string type, summary, formula, derivative;  // from the registry (core/registry.hpp)
  Shape input_shape, output_shape;                 // of one sample
  MatD output;                                     // y, one sample per row
  MatD dy, dx;                                     // dL/dy arriving, dL/dx leaving
  GradientCheck dx_check;
  std::vector<ExplainedParam> params;
  int wrong() const;  // its gradients (dL/dx and every dL/dθ) marked WRONG
};

struct Explanation {
  std::string model_summary;
  MatD x;                            // the batch
  std::vector<std::int32_t> labels;  // its labels
  std::string loss_name;
  double loss = 0;
  std::vector<ExplainedLayer> layers;  // in forward order
  int wrong = 0;                       // gradients marked WRONG
  // The layer to look at first when some are WRONG: the last in forward order with a WRONG
  // gradient. Backward runs from the top, so a wrong dL/dx there reaches every layer below it as
  // a wrong dL/dy and makes their gradients WRONG too, though their backward is right. -1: none.
  int culprit = -1;
  const MatD& input_of(std::size_t layer) const { return layer == 0 ? x : layers[layer - 1].output; }
};

// One forward/backward pass of `model` on x (see the header comment). Leaves the model's
// parameters as they were and their gradients those of this batch.
Explanation explain_step(Model<double>& model, const MatD& x, const std::vector<std::int32_t>& labels,
                         const std::string& loss_name, const MatD* onehot = nullptr);

struct ExplainedUpdate {
  std::string optimizer, summary;  // registry name and summary
  std::string settings;            // its resolved arguments, "lr=0.1 momentum=0.9 ..."
  double lr = 0;
  std::string param;  // the model's name of the parameter, "layers.0.weight"
  std::vector<std::int64_t> index;  // of the weight, in the parameter's logical shape
  double value = 0, grad = 0, new_value = 0;
  bool weight_decay = true;  // whether this parameter gets the optimizer's weight decay
  std::vector<std::pair<std::string, double>> slots;  // state after the step, by PyTorch's name
};

// The optimizer's first update of the weight with the largest |gradient| in the model's first
// parameter, after explain_step set the gradients. Throws Error when the model has no parameters.
ExplainedUpdate explain_update(const OptimizerSpec& spec, Model<double>& model);

}  // namespace nnlab
