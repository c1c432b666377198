// The OpenMP thread count for one test, and seeded random matrices, for the tests of the thread
// partition and of the training loop's buffers.
#pragma once

#include <omp.h>

#include <cstdlib>

#include "core/tensor.hpp"

namespace nnlab::test {

// Sets the OpenMP thread count; restores it when the test (scope) ends.
struct Threads {
  int saved = omp_get_max_threads();
  explicit Threads(int n) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(saved); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;
};

// A matrix of uniform values in [-1, 1] from Eigen's Random, seeded.
inline MatF random_matrix(Index rows, Index cols, unsigned seed) {
  std::srand(seed);
  return MatF::Random(rows, cols);
}

}  // namespace nnlab::test
