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
// The thread count is the OpenMP one (set_threads() in core/trainer.hpp sets it from train.threads).
#pragma once

#include <omp.h>

#include <algorithm>

#include "core/tensor.hpp"

namespace nnlab {

inline constexpr double kMinParallelWork = 1 << 15;

// Block boundaries are multiples of `align` (16 floats = one AVX-512 register) except the last.
template <typename F>
void parallel_for_blocks(Index n, double work, F&& f, Index align = 1) {
  const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int threads = work < kMinParallelWork ? 1 : static_cast<int>(std::min<Index>(max_threads, (n + align - 1) / align));
  if (threads <= 1) {
    if (n > 0) f(Index{0}, n);
    return;
  }
  const Index units = (n + align - 1) / align;
#pragma omp parallel num_threads(threads)
  {
    const Index t = omp_get_thread_num(), T = omp_get_num_threads();
    const Index begin = std::min(n, units * t / T * align), end = std::min(n, units * (t + 1) / T * align);
    if (end > begin) f(begin, end);
  }
}

}  // namespace nnlab
