// The model summary: a Keras-style table of a built model, one row per layer, printed by
// `nnlab train` before training and by `nnlab list --model CONFIG` instead of training.
//
//    #  layer                    output shape   parameters  MFLOP/sample
//   ---------------------------------------------------------------------
//       input                    [2]
//    0  dense  model.hidden[0]   [16]                   48         0.000
//    1  relu   model.activation  [16]                    0         0.000
//    2  dense  model.classes     [3]                    51         0.000
//   ---------------------------------------------------------------------
//   parameters: 99
//   forward:  0.000 MFLOP per sample
//   training: 0.000 MFLOP per sample (forward + backward, estimated)
//
// A row is the layer's type and the config key it comes from (LayerSpec::path), its output shape
// per sample (Shape::str()), its learnable values (the sizes of parameters(), buffers such as
// running statistics not counted, as in PyTorch's sum(p.numel() for p in parameters())) and its
// forward cost Layer::flops() in millions of floating-point operations per sample (a multiply-add
// is two). Only Layer's interface is used, so composite layers (residual blocks) are one row with
// their totals.
//
// The training estimate. For a layer y = f(x; θ) the backward pass computes dL/dx and dL/dθ; for
// a matrix product each costs as much as the forward product (dx = dy·Wᵀ, dW = xᵀ·dy against
// y = x·W), and for an element-wise layer dx = dy ⊙ f'(x) costs about what f did. So backward ≈ 2×
// forward, and a training step ≈ 3× forward — less the first layer's dL/dx, which the model never
// computes while training (Model::set_input_grad), about one forward of that layer:
//     training ≈ 3·Σᵢ Fᵢ − F₀
#pragma once

#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/registry.hpp"

namespace nnlab {

// The totals of the table.
struct ModelCost {
  std::size_t parameters = 0;
  double forward_flops = 0;   // per sample
  double training_flops = 0;  // per sample, forward + backward, estimated as above
};

ModelCost model_cost(Model<float>& model);

// The table, lines ending in '\n'. `layers` are the specs the model was built from (for the config
// paths); a model built otherwise may pass none, and the path column is left empty.
std::string model_summary(Model<float>& model, const std::vector<LayerSpec>& layers);

}  // namespace nnlab
