// Tensors: plain Eigen matrices in batch-major row layout.
//
// A batch of N samples with F features is a Mat<T> of N rows and F columns, stored row-major, so
// one sample is one contiguous row (the layout of PyTorch's (N, F) tensors and of the files we
// read). Weights use PyTorch's (out_features, in_features) layout, so a safetensors file written by
// nnlab holds the same bytes as the PyTorch state_dict of the same network.
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace nnlab {

using Index = Eigen::Index;

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

using MatF = Mat<float>;
using MatD = Mat<double>;

// A matrix's elements seen as one flat 1-D array (for element-wise kernels).
template <typename T>
inline auto flat(Mat<T>& m) {
  return Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(m.data(), m.size());
}
template <typename T>
inline auto flat(const Mat<T>& m) {
  return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(m.data(), m.size());
}

}  // namespace nnlab
