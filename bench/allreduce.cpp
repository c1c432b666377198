// bench/allreduce: the time of the gradient all-reduce of data-parallel training (core/run/loop.hpp:
// one MPI_Allreduce of every parameter gradient, float32, summed in place), for buffers of the sizes
// of nnlab's configs. Run under mpirun; rank 0 prints one line per size (the median of --repeats):
//
//   mpirun -np 2 build/bench/allreduce [--floats N,N,...] [--repeats R]
//
// Defaults: 235,146 floats (configs/fashion_mlp.json) and 272,474 (configs/cifar10_resnet20.json).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<long> sizes = {235146, 272474};
  int repeats = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--repeats") repeats = std::max(1, std::atoi(argv[i + 1]));
    if (key == "--floats") {
      sizes.clear();
      for (std::string list = argv[i + 1]; !list.empty();) {
        const auto comma = list.find(',');
        sizes.push_back(std::atol(list.substr(0, comma).c_str()));
        list = comma == std::string::npos ? "" : list.substr(comma + 1);
      }
    }
  }
  if (rank == 0) std::printf("ranks %d, float32 sum in place, median of %d\n", size, repeats);
  for (const long n : sizes) {
    std::vector<float> buffer(static_cast<std::size_t>(n), 1.0f);
    std::vector<double> seconds;
    for (int r = 0; r < repeats + 5; ++r) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, buffer.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      if (r >= 5) seconds.push_back(MPI_Wtime() - t0);
    }
    std::nth_element(seconds.begin(), seconds.begin() + static_cast<long>(seconds.size() / 2), seconds.end());
    const double median = seconds[seconds.size() / 2];
    if (rank == 0)
      std::printf("%10ld floats (%7.3f MB): %8.3f ms, %6.2f GB/s of buffer\n", n, 4.0 * static_cast<double>(n) / 1e6,
                  median * 1e3, 4.0 * static_cast<double>(n) / median / 1e9);
  }
  MPI_Finalize();
  return 0;
}
