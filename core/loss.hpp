// Losses. Each returns the mean loss over the batch and then the gradient w.r.t. its input.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace nnlab {

// What a loss compares the network output with: class labels (cross-entropy) or values (MSE).
template <typename T>
struct Target {
  std::span<const std::int32_t> labels;
  const Mat<T>* values = nullptr;
};

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // Mean loss over the batch; remembers what backward needs.
  virtual T forward(const Mat<T>& output, const Target<T>& target) = 0;
  // dL/d(output) for the last forward.
  virtual const Mat<T>& backward() = 0;
};

// Softmax + cross-entropy on logits z, fused (PyTorch nn.CrossEntropyLoss, mean reduction):
//   p_n = softmax(z_n) computed with the row max subtracted (no overflow for any finite logits)
//   L   = (1/N) Σ_n [logsumexp(z_n) − z_{n,t_n}]
//   ∂L/∂z = (p − onehot(t)) / N
// The fused gradient is both cheaper and stabler than softmax followed by log and NLL.
template <typename T>
class SoftmaxCrossEntropy final : public Loss<T> {
 public:
  std::string name() const override { return "cross_entropy"; }
  T forward(const Mat<T>& z, const Target<T>& target) override;
  const Mat<T>& backward() override { return grad_; }

 private:
  Mat<T> grad_;
};

// Mean squared error over all elements (PyTorch nn.MSELoss, mean reduction):
//   L = (1/(N·K)) Σ (y − t)²,   ∂L/∂y = 2(y − t)/(N·K)
// With class labels as target, t is the one-hot encoding.
template <typename T>
class MeanSquaredError final : public Loss<T> {
 public:
  std::string name() const override { return "mse"; }
  T forward(const Mat<T>& y, const Target<T>& target) override;
  const Mat<T>& backward() override { return grad_; }

 private:
  Mat<T> grad_;
};

const std::vector<std::string>& loss_names();
template <typename T>
std::unique_ptr<Loss<T>> make_loss(const std::string& name);

// Number of rows whose arg-max equals the label.
template <typename T>
Index count_correct(const Mat<T>& output, std::span<const std::int32_t> labels);

}  // namespace nnlab
