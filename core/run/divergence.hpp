// Non-finite values (NaN, ±Inf) during training: cheap checks for the batch loop, and a diagnosis
// that says where a failed batch first went non-finite.
//
// The batch loop checks the loss of every batch (free: one float). The gradients are checked when
// they are looked at anyway (train.clip_grad_norm computes their norm) or when train.on_nonfinite
// is "skip" (one summing pass over them, split over the threads: about 8 µs on one core for the
// 235k gradients of the 784-256-128-10 MLP, 0.6% of a batch of 128; 0.3-1.3% of epoch time
// measured end to end). The weights are checked once per epoch, before anything is saved, so a
// checkpoint or model file never holds a NaN.
//
// Only when a check fails does locate_nonfinite() re-examine the batch: the weights, then the
// forward outputs layer by layer, the loss, then the gradients layer by layer from the last layer,
// naming the first layer whose values are not finite.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/loss.hpp"
#include "core/model.hpp"

namespace nnlab {

// True if every element is finite. Fast path: the sum of all elements (NaN and ±Inf propagate into
// it); only if the sum is not finite are the elements looked at one by one (a sum of huge finite
// values can overflow).
bool all_finite(const MatF& m);
bool gradients_finite(const std::vector<Param<float>>& params);
bool values_finite(const std::vector<Param<float>>& params);

// The first layer whose parameters (and, with buffers = true, buffers such as BatchNorm's running
// statistics) are not finite, as "layer 2 (dense) (its weight)", or "" if all are finite. A training
// forward pass updates the buffers, so after a failed batch only the parameters tell whether an
// earlier update is to blame.
std::string layer_with_nonfinite_weights(Model<float>& model, bool buffers = true);

// Re-run one batch (x, labels) through the model in training mode and describe the first
// non-finite value: "the weights of layer 0 (dense)", "the output of layer 3 (exp) in the forward
// pass", "the loss (cross_entropy) of finite outputs", "the weight gradient of layer 2 (dense) in
// the backward pass", ... Leaves the layers' buffers overwritten (like any forward/backward).
std::string locate_nonfinite(Model<float>& model, Loss<float>& loss, const MatF& x,
                             std::span<const std::int32_t> labels);

}  // namespace nnlab
