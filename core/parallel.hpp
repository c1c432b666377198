// Data-parallel loops over a batch, with a partition that depends only on the thread count.
//
//   parallel_for_blocks(n, work, f)   calls f(begin, end) on consecutive blocks [begin, end) that
//                                     cover [0, n), one block per thread, in parallel
//
// nnlab does its own threading (Eigen's internal GEMM threading is switched off with
// EIGEN_DONT_PARALLELIZE): a layer splits its batch rows (or its output units) into one block per
// thread and runs single-threaded Eigen kernels on each block. Every output element is computed by
// exactly one thread with a fixed block boundary, so results are bit-identical for a fixed thread
// count. `work` is a rough operation count: below `kMinParallelWork` the loop runs on the calling
// thread, because waking a second thread costs more than it saves.
//
// The thread count is the OpenMP one (set_threads() below; a run sets it from train.threads).
#pragma once

#include <omp.h>

#include <algorithm>

#include "core/tensor.hpp"

namespace nnlab {

inline constexpr double kMinParallelWork = 1 << 15;

// Set the number of threads used by OpenMP and Eigen (0: all cores). Returns the count in effect.
int set_threads(int threads);

// The number of blocks parallel_blocks() will use for (n, work, align): at most the thread count.
inline int parallel_block_count(Index n, double work, Index align = 1) {
  const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  return work < kMinParallelWork ? 1 : static_cast<int>(std::max<Index>(1, std::min<Index>(max_threads, (n + align - 1) / align)));
}

// Calls f(block, begin, end) for block = 0 .. parallel_block_count() − 1, each on its own thread.
// Block boundaries are multiples of `align` (16 floats = one AVX-512 register) except the last.
// The block index lets a caller keep one partial result per block and combine them in block order
// (a deterministic reduction).
template <typename F>
void parallel_blocks(Index n, double work, F&& f, Index align = 1) {
  const int blocks = parallel_block_count(n, work, align);
  if (blocks <= 1) {
    if (n > 0) f(0, Index{0}, n);
    return;
  }
  const Index units = (n + align - 1) / align;
#pragma omp parallel num_threads(blocks)
  {
    const Index t = omp_get_thread_num(), T = omp_get_num_threads();
    const Index begin = std::min(n, units * t / T * align), end = std::min(n, units * (t + 1) / T * align);
    if (end > begin) f(static_cast<int>(t), begin, end);
  }
}

// f(begin, end) on one block per thread.
template <typename F>
void parallel_for_blocks(Index n, double work, F&& f, Index align = 1) {
  parallel_blocks(n, work, [&](int, Index begin, Index end) { f(begin, end); }, align);
}

}  // namespace nnlab
