#include "core/run/divergence.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

#include "core/parallel.hpp"

namespace nnlab {

namespace {

std::string layer_name(Model<float>& model, std::size_t i) {
  return "layer " + std::to_string(i) + " (" + model.layer(i).type() + ")";
}

}  // namespace

bool all_finite(const MatF& m) {
  // Per block (one per thread, core/parallel.hpp): Eigen's vectorised sum, ~8 µs for 235k floats
  // on one core; NaN and ±Inf always make it non-finite. Only then are the values looked at one by
  // one, since finite values can overflow the sum.
  std::atomic<bool> finite{true};
  const float* data = m.data();
  parallel_for_blocks(
      m.size(), static_cast<double>(m.size()),
      [&](Index begin, Index end) {
        if (std::isfinite(Eigen::Map<const Eigen::ArrayXf>(data + begin, end - begin).sum())) return;
        for (Index i = begin; i < end; ++i)
          if (!std::isfinite(data[i])) {
            finite = false;
            return;
          }
      },
      16);
  return finite;
}

bool gradients_finite(const std::vector<Param<float>>& params) {
  for (const auto& p : params)
    if (!all_finite(*p.grad)) return false;
  return true;
}

bool values_finite(const std::vector<Param<float>>& params) {
  for (const auto& p : params)
    if (!all_finite(*p.value)) return false;
  return true;
}

std::string layer_with_nonfinite_weights(Model<float>& model, bool buffers) {
  for (std::size_t i = 0; i < model.size(); ++i) {
    for (const auto& p : model.layer(i).parameters())
      if (!all_finite(*p.value)) return layer_name(model, i) + " (its " + p.name + ")";
    if (!buffers) continue;
    for (const auto& b : model.layer(i).buffers())
      if (!all_finite(*b.value)) return layer_name(model, i) + " (its " + b.name + ")";
  }
  return "";
}

std::string locate_nonfinite(Model<float>& model, Loss<float>& loss, const MatF& x,
                             std::span<const std::int32_t> labels) {
  const std::string bad_weights = layer_with_nonfinite_weights(model, /*buffers=*/false);
  if (!bad_weights.empty()) return "the weights of " + bad_weights + ", made non-finite by an earlier update";
  if (!all_finite(x)) return "the input batch itself (the data holds NaN or Inf)";
  // Forward, layer by layer. Each layer's output buffer stays valid until its next forward, so the
  // chain of references is the same as in Model::forward.
  const MatF* h = &x;
  for (std::size_t i = 0; i < model.size(); ++i) {
    h = &model.layer(i).forward(*h, /*training=*/true);
    if (!all_finite(*h)) {
      std::string detail = "its input was finite";
      float largest = 0;
      for (const auto& p : model.layer(i).parameters()) largest = std::max(largest, p.value->cwiseAbs().maxCoeff());
      if (largest > 0) {
        char b[64];
        std::snprintf(b, sizeof b, ", its largest weight is %.3g in magnitude", static_cast<double>(largest));
        detail += b;
      }
      return "the output of " + layer_name(model, i) + " in the forward pass (" + detail + ")";
    }
  }
  const float l = loss.forward(*h, {labels, nullptr});
  if (!std::isfinite(l)) return "the loss (" + loss.name() + ") of finite network outputs";
  const MatF* g = &loss.backward();
  if (!all_finite(*g)) return "the gradient of the loss (" + loss.name() + ")";
  for (std::size_t i = model.size(); i-- > 0;) {
    g = &model.layer(i).backward(*g);
    for (const auto& p : model.layer(i).parameters())
      if (!all_finite(*p.grad))
        return "the gradient of the " + p.name + " of " + layer_name(model, i) + " in the backward pass";
    // (layer 0's input gradient is computed but used by nothing)
    if (i > 0 && !all_finite(*g)) return "the input gradient of " + layer_name(model, i) + " in the backward pass";
  }
  return "no value when the batch was run again (a random effect such as dropout?)";
}

}  // namespace nnlab
