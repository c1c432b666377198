// The shape of one sample, as PyTorch writes a tensor's dimensions after the batch dimension:
//   {features}                  a feature vector (what Dense reads and writes)
//   {channels, height, width}   an image (NCHW without the N)
//
// A batch is always a row-major matrix with one sample per row (core/tensor.hpp); the shape says
// how a layer reads the row: a {3, 32, 32} sample is 3072 values, channel-major, c·H·W + h·W + w,
// exactly PyTorch's memory layout of a contiguous (N, C, H, W) tensor. Layers are built for an input
// shape and report their output shape, so the model checks that consecutive layers agree before any
// data flows.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace nnlab {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<Index> dims) : dims_(dims) {}
  explicit Shape(std::vector<Index> dims) : dims_(std::move(dims)) {}

  const std::vector<Index>& dims() const { return dims_; }
  std::size_t rank() const { return dims_.size(); }
  bool empty() const { return dims_.empty(); }
  Index operator[](std::size_t i) const { return dims_.at(i); }

  // Values per sample: the product of the dimensions (0 for an empty shape).
  Index numel() const {
    if (dims_.empty()) return 0;
    Index n = 1;
    for (Index d : dims_) n *= d;
    return n;
  }
  // Channels of an image sample (dimension 0), or the features of a feature vector: the "dim 1" of
  // PyTorch's (N, C, ...) that per-channel layers (PReLU, BatchNorm) index.
  Index channels() const { return dims_.empty() ? 0 : dims_[0]; }

  // "[784]", "[3, 32, 32]", as PyTorch prints torch.Size without the batch.
  std::string str() const {
    std::string s = "[";
    for (std::size_t i = 0; i < dims_.size(); ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
    return s + "]";
  }

  bool operator==(const Shape& other) const = default;

 private:
  std::vector<Index> dims_;
};

}  // namespace nnlab
