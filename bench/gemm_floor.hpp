// The "GEMM floor" of a training epoch: the time its matrix multiplies take alone.
//
// For every Dense layer (in → out) and batch B one training step multiplies
//   forward   y  = x·Wᵀ    (B×in)(in×out)     2·B·in·out FLOP
//   backward  dW = dyᵀ·x   (out×B)(B×in)      2·B·in·out FLOP
//             dx = dy·W    (B×out)(out×in)    2·B·in·out FLOP, skipped for the first layer
// epoch_gemm_seconds() runs exactly these products for a whole epoch on preallocated buffers, through
// a row-major sgemm given as a function (Eigen's, or a BLAS's in bench/gemm_floor.cpp), either split
// over threads the way layers/dense.cpp splits them or as one call per product (the library's own
// threading). What an epoch takes beyond this is everything else: activations, loss, optimizer, data.
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.hpp"

namespace nnlab::bench {

struct DenseShape {
  Index in = 0, out = 0;
  bool first = false;  // the first layer computes no dx
};

// C(m×n) = op(A)·op(B), row-major, op = transpose when the flag is set; lda/ldb/ldc are row strides.
using Sgemm = std::function<void(bool ta, bool tb, Index m, Index n, Index k, const float* a, Index lda, const float* b,
                                 Index ldb, float* c, Index ldc)>;

// Eigen's product on mapped blocks (single-threaded: nnlab is built with EIGEN_DONT_PARALLELIZE).
Sgemm eigen_sgemm();

// FLOP of one batch's products (see above).
double gemm_flop(const std::vector<DenseShape>& shapes, Index batch);

// Best of `repeats` timings of one epoch (`samples` in batches of `batch`) of the products. split = true: each
// product is cut into one block per thread (rows of y and dx, rows of dW) as nnlab's Dense does;
// false: one sgemm call per product.
double epoch_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats,
                          const Sgemm& sgemm, bool split);

}  // namespace nnlab::bench
