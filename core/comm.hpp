// The processes of one job and what they do together: the contract between data-parallel training
// and whatever connects the processes (MPI: core/mpi/, linked only by programs that use it).
//
//   comm.rank(), comm.size()        this process's index in the job and how many processes there are
//   comm.sum(values)                element-wise sum over every process, in place; every process
//                                   gets the same values (an all-reduce)
//   comm.max(values)                likewise, the maximum
//
// A collective must be called by every process, in the same order, with the same lengths; a process
// that stops calling them (it died, it threw) leaves the others waiting, so the program that owns
// the communicator ends the whole job when one of its processes fails (apps/cli/main.cpp).
//
// One process on its own is a job of size 1: local_process() is that communicator, whose
// collectives change nothing, so code written for a job runs unchanged without one.
#pragma once

#include <cstddef>
#include <span>

namespace nnlab {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  virtual void max(std::span<double> values) = 0;
};

// The job of one process (rank 0 of 1).
Communicator& local_process();

// The rows [begin, end) of `n` that rank `rank` of `size` takes: contiguous slices in rank order,
// sizes differing by at most one (rank r: n·r/size to n·(r+1)/size).
struct RowSlice {
  std::ptrdiff_t begin = 0, end = 0;  // (the type of Index, core/tensor.hpp)
};
inline RowSlice row_slice(std::ptrdiff_t n, int rank, int size) {
  return {n * rank / size, n * (rank + 1) / size};
}

}  // namespace nnlab
