#include "core/parallel.hpp"

#include <Eigen/Core>
#include <thread>

namespace nnlab {

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
  return threads;
}

}  // namespace nnlab
