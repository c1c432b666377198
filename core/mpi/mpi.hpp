// Running as one process of an MPI job (mpirun, mpiexec, srun): detection and the job itself.
//
//   const Launch l = detect_launch();   what the launcher put in the environment; MPI is not
//                                       touched, so a plain start costs nothing and prints nothing
//   MpiJob job;                         MPI_Init_thread ... MPI_Finalize (RAII); job.comm() is
//                                       MPI_COMM_WORLD as a Communicator (core/comm.hpp)
//   job.abort(status)                   ends every process of the job (MPI_Abort)
//
// The library is built with MPI when CMake finds it (find_package(MPI), Debian: libopenmpi-dev);
// without it built_with_mpi() is false and MpiJob's constructor throws an Error that says so.
#pragma once

#include <memory>
#include <string>

#include "core/comm.hpp"

namespace nnlab {

struct Launch {
  std::string launcher;  // "" when not started by an MPI launcher; else what set the environment
  int rank = 0, size = 1;
  int local_size = 1;  // the ranks on this node, where the launcher says (OpenMPI, Slurm), else 1
};
Launch detect_launch();

bool built_with_mpi();

class MpiJob {
 public:
  MpiJob();  // MPI_Init_thread (funneled: OpenMP threads never call MPI)
  ~MpiJob();  // MPI_Finalize
  MpiJob(const MpiJob&) = delete;
  MpiJob& operator=(const MpiJob&) = delete;
  Communicator& comm();
  [[noreturn]] void abort(int status);

 private:
  std::unique_ptr<Communicator> comm_;
};

}  // namespace nnlab
