#include "core/mpi/mpi.hpp"

#include <climits>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

#ifdef NNLAB_WITH_MPI
#include <mpi.h>
#endif

namespace nnlab {

Launch detect_launch() {
  auto env = [](const char* name) -> const char* { return std::getenv(name); };
  auto number = [](const char* text, int fallback) {
    if (!text) return fallback;
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    return end != text && *end == '\0' && v >= 0 && v < INT_MAX ? static_cast<int>(v) : fallback;
  };
  Launch l;
  // OpenMPI's mpirun/mpiexec; PMIx (srun --mpi=pmix, OpenMPI 5); PMI-1/2 (MPICH's hydra, srun --mpi=pmi2).
  if (env("OMPI_COMM_WORLD_SIZE")) {
    l.launcher = "mpirun (OpenMPI)";
    l.size = number(env("OMPI_COMM_WORLD_SIZE"), 1), l.rank = number(env("OMPI_COMM_WORLD_RANK"), 0);
    l.local_size = number(env("OMPI_COMM_WORLD_LOCAL_SIZE"), 1);
  } else if (env("PMIX_RANK")) {
    l.launcher = "a PMIx launcher (srun --mpi=pmix)";
    l.rank = number(env("PMIX_RANK"), 0), l.size = number(env("SLURM_NTASKS"), l.rank + 1);
    l.local_size = number(env("SLURM_NTASKS_PER_NODE"), 1);
  } else if (env("PMI_RANK")) {
    l.launcher = "a PMI launcher (mpiexec, srun --mpi=pmi2)";
    l.rank = number(env("PMI_RANK"), 0), l.size = number(env("PMI_SIZE"), l.rank + 1);
  }
  return l;
}

#ifdef NNLAB_WITH_MPI

namespace {

// MPI counts are int: longer buffers go in pieces (every rank cuts them the same way).
template <typename T>
void allreduce(std::span<T> values, MPI_Datatype type, MPI_Op op) {
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  for (std::size_t at = 0; at < values.size(); at += kPiece) {
    const std::size_t n = std::min(kPiece, values.size() - at);
    MPI_Allreduce(MPI_IN_PLACE, values.data() + at, static_cast<int>(n), type, op, MPI_COMM_WORLD);
  }
}

class World final : public Communicator {
 public:
  World() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> v) override { allreduce(v, MPI_FLOAT, MPI_SUM); }
  void sum(std::span<double> v) override { allreduce(v, MPI_DOUBLE, MPI_SUM); }
  void max(std::span<double> v) override { allreduce(v, MPI_DOUBLE, MPI_MAX); }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

MpiJob::MpiJob() {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw Error("MPI could not be initialised (MPI_Init_thread failed)");
  // An error inside MPI (a peer that died) ends the job rather than returning codes nobody checks.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  comm_ = std::make_unique<World>();
}

MpiJob::~MpiJob() {
  comm_.reset();
  MPI_Finalize();
}

void MpiJob::abort(int status) {
  MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status);  // not reached
}

#else

bool built_with_mpi() { return false; }

MpiJob::MpiJob() {
  throw Error("this nnlab was built without MPI, so it cannot join an MPI job (install libopenmpi-dev, e.g. with "
              "scripts/setup.sh, then configure and build again; CMake reports 'MPI: found')");
}

MpiJob::~MpiJob() = default;

void MpiJob::abort(int status) { std::_Exit(status); }

#endif

Communicator& MpiJob::comm() { return comm_ ? *comm_ : local_process(); }

}  // namespace nnlab
