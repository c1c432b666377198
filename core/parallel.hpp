// Data-parallel loops over a batch, with a partition that depends only on the thread count.
//
//   parallel_for_blocks(n, work, f)   calls f(begin, end) on consecutive blocks [begin, end) that
//                                     cover [0, n), at most one block per thread, in parallel
//
// nnlab does its own threading (Eigen's internal GEMM threading is switched off with
// EIGEN_DONT_PARALLELIZE): a layer splits its batch rows (or its output units) into one block per
// thread and runs single-threaded Eigen kernels on each block. Every output element is computed by
// exactly one block with a fixed boundary, so results are bit-identical for a fixed thread count,
// whichever thread happens to run a block. `work` is a rough operation count: below
// `kMinParallelWork` the loop runs on the calling thread, because waking a second thread costs more
// than it saves.
//
// The threads are nnlab's own pool (core/parallel.cpp), not OpenMP's, so that a machine shared with
// other processes stays usable:
//   - never more threads than the CPUs this process may run on (set_threads clamps, and
//     threads_warning() says so);
//   - a waiting thread spins only briefly (core/parallel.cpp), then sleeps in the kernel (a futex)
//     and leaves its core to whoever needs it;
//   - blocks are taken from a shared counter, the calling thread included, so a block whose thread
//     has not been scheduled yet is run by a thread that is free (a descheduled helper delays the
//     step by at most the blocks it already started, never by the time it waits for a core).
#pragma once

#include <algorithm>
#include <string>

#include "core/tensor.hpp"

namespace nnlab {

inline constexpr double kMinParallelWork = 1 << 15;

// The CPUs this process may run on (its affinity mask, so taskset and cgroup cpusets count).
int available_cpus();

// Set the thread count from a configuration's value: 0 means all available CPUs, and a value above
// that is clamped to it (threads that share a core only wait for each other). Returns the count in
// effect; results are bit-identical for the same count.
int set_threads(int requested);

// Empty, or the warning to show when `requested` threads were clamped by set_threads().
std::string threads_warning(int requested);

// Set exactly n threads, without clamping (tests and benchmarks that need a given partition).
void set_thread_count(int n);

// The thread count in effect (1 inside a parallel block: nested loops run serially).
int thread_count();

namespace detail {
using BlockFn = void (*)(void* context, int block);
// Calls fn(context, b) for every b in [0, blocks), spread over the pool; returns when all are done.
void run_blocks(int blocks, BlockFn fn, void* context);
}  // namespace detail

// The number of blocks parallel_blocks() will use for (n, work, align): at most the thread count.
inline int parallel_block_count(Index n, double work, Index align = 1) {
  return work < kMinParallelWork
             ? 1
             : static_cast<int>(std::max<Index>(1, std::min<Index>(thread_count(), (n + align - 1) / align)));
}

// Calls f(block, begin, end) for block = 0 .. parallel_block_count() − 1, in parallel.
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
  struct Context {
    F& f;
    Index n, units, align, blocks;
  } context{f, n, (n + align - 1) / align, align, blocks};
  detail::run_blocks(blocks, [](void* p, int b) {
    auto& c = *static_cast<Context*>(p);
    const Index begin = std::min(c.n, c.units * b / c.blocks * c.align);
    const Index end = std::min(c.n, c.units * (b + 1) / c.blocks * c.align);
    if (end > begin) c.f(b, begin, end);
  }, &context);
}

// f(begin, end) on one block per thread.
template <typename F>
void parallel_for_blocks(Index n, double work, F&& f, Index align = 1) {
  parallel_blocks(n, work, [&](int, Index begin, Index end) { f(begin, end); }, align);
}

}  // namespace nnlab
