// The thread count for one test, and seeded random matrices, for the tests of the thread
// partition and of the training loop's buffers.
#pragma once

#include <cstdlib>

#include "core/parallel.hpp"
#include "core/tensor.hpp"

namespace nnlab::test {

// Sets exactly n threads (not clamped to the cores: tests check partitions of 3 and 4 on any
// machine); restores the previous count when the test (scope) ends.
struct Threads {
  int saved = thread_count();
  explicit Threads(int n) { set_thread_count(n); }
  ~Threads() { set_thread_count(saved); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;
};

// A matrix of uniform values in [-1, 1] from Eigen's Random, seeded.
inline MatF random_matrix(Index rows, Index cols, unsigned seed) {
  std::srand(seed);
  return MatF::Random(rows, cols);
}

}  // namespace nnlab::test
