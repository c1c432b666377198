// The "GEMM floor" of a training epoch: the time its matrix multiplies take alone.
//
// For every Dense layer (in → out) and batch B one training step multiplies
//   forward   y  = x·Wᵀ    (B×in)(in×out)     2·B·in·out FLOP
//   backward  dW = dyᵀ·x   (out×B)(B×in)      2·B·in·out FLOP
//             dx = dy·W    (B×out)(out×in)    2·B·in·out FLOP, skipped for the first layer
// epoch_gemm_seconds() runs exactly these products for a whole epoch on preallocated buffers, through
// a row-major sgemm given as a function (nnlab's, Eigen's, or a BLAS's in bench/gemm_floor.cpp), either split
// over threads the way layers/dense.cpp splits them or as one call per product (the library's own
// threading). What an epoch takes beyond this is everything else: activations, loss, optimizer, data.
//
// A Conv2d layer (F filters over C/g·K·K inputs per group, P = Ho·Wo output positions) multiplies,
// per sample and group (layers/conv2d.cpp):
//   forward   Y_g    = W_g·col        (F/g × C/g·K·K)(C/g·K·K × P)   2·F·P·C/g·K·K FLOP in all groups
//   backward  dW_g  += dY_g·colᵀ      (F/g × P)(P × C/g·K·K)         the same
//             dcol   = W_gᵀ·dY_g      (C/g·K·K × F/g)(F/g × P)       the same, skipped for the first layer
// epoch_conv_gemm_seconds() runs these per sample, the samples split over threads as the layer
// splits them; im2col and col2im are not part of the floor.
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.hpp"

namespace nnlab::bench {

struct DenseShape {
  Index in = 0, out = 0;
  bool first = false;  // the first layer computes no dx
};

struct ConvShape {
  Index filters = 0, group_inputs = 0, groups = 1, positions = 0;  // F, C/g·K·K, g, Ho·Wo
  bool first = false;
};

// C(m×n) = op(A)·op(B), row-major, op = transpose when the flag is set; lda/ldb/ldc are row strides.
using Sgemm = std::function<void(bool ta, bool tb, Index m, Index n, Index k, const float* a, Index lda, const float* b,
                                 Index ldb, float* c, Index ldc)>;

// Eigen's product on mapped blocks (single-threaded: nnlab is built with EIGEN_DONT_PARALLELIZE).
Sgemm eigen_sgemm();
// The product nnlab's layers use (core/gemm.hpp: nnlab's packed kernel or Eigen, per gemm_kernel()).
Sgemm nnlab_sgemm();

// FLOP of one batch's products (see above).
double gemm_flop(const std::vector<DenseShape>& shapes, Index batch);

// Best of `repeats` timings of one epoch (`samples` in batches of `batch`) of the products. split = true: each
// product is cut into one block per thread (rows of y and dx, rows of dW) as nnlab's Dense does;
// false: one sgemm call per product.
double epoch_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats,
                          const Sgemm& sgemm, bool split);

// The same products exactly as layers/dense.cpp computes them: core/gemm.hpp's parallel_gemm (the
// right-hand side packed once per product and shared by the threads).
double epoch_dense_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats);

// The same for convolutions: FLOP of one batch, and the best of `repeats` timed epochs through Eigen.
double gemm_flop(const std::vector<ConvShape>& shapes, Index batch);
double epoch_conv_gemm_seconds(const std::vector<ConvShape>& shapes, Index batch, Index samples, int repeats);

}  // namespace nnlab::bench
