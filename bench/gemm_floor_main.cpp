// gemm_floor: one training epoch's matrix multiplies alone, through Eigen or OpenBLAS.
//
//   gemm_floor [--backend nnlab|eigen|openblas] [--split|--no-split] [--threads N]
//              [--widths 784,256,128,10] [--batch 128] [--samples 60000] [--repeats 3]
//
// Prints one JSON line: seconds (best of the repeats), FLOP and GFLOP/s. The products are those of
// apps/gemm_floor.hpp (forward, dW, and dx except for the first layer). --split cuts each product
// into one block per thread as nnlab's Dense does (the BLAS then runs single-threaded in each
// block); --no-split makes one call per product and lets the library thread it. OpenBLAS reads
// OPENBLAS_CORETYPE when it loads: bench/compare.sh runs this once per kernel setting and takes the
// fastest as the floor ("the fastest BLAS on the machine").
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/gemm_floor.hpp"

#include "core/parallel.hpp"

#ifdef NNLAB_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef NNLAB_HAVE_OPENMP
#include <omp.h>
#endif

using namespace nnlab;

namespace {

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "gemm_floor: %s\nusage: gemm_floor [--backend nnlab|eigen|openblas] [--split|--no-split] [--threads N] "
               "[--widths 784,256,128,10] [--batch 128] [--samples 60000] [--repeats 3]\n", msg);
  std::exit(2);
}

std::vector<Index> parse_widths(const std::string& s) {
  std::vector<Index> w;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = s.find(',', at);
    const std::string part = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    const long v = std::strtol(part.c_str(), nullptr, 10);
    if (v <= 0) usage(("bad width '" + part + "'").c_str());
    w.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (w.size() < 2) usage("--widths needs at least two numbers");
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend = "eigen";
  bool split = true;
  int threads = 2, repeats = 3;
  Index batch = 128, samples = 60000;
  std::vector<Index> widths = {784, 256, 128, 10};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--backend") backend = value();
    else if (a == "--split") split = true;
    else if (a == "--no-split") split = false;
    else if (a == "--threads") threads = std::atoi(value().c_str());
    else if (a == "--repeats") repeats = std::atoi(value().c_str());
    else if (a == "--batch") batch = std::atol(value().c_str());
    else if (a == "--samples") samples = std::atol(value().c_str());
    else if (a == "--widths") widths = parse_widths(value());
    else usage(("unknown argument " + a).c_str());
  }
  if (threads < 1 || repeats < 1 || batch < 1 || samples < 1) usage("numbers must be positive");
  set_thread_count(threads);  // nnlab's pool: the --split blocks
#ifdef NNLAB_HAVE_OPENMP
  omp_set_num_threads(threads);  // OpenBLAS's own threads (--no-split)
#endif

  bench::Sgemm sgemm;
  if (backend == "nnlab") {
    sgemm = bench::nnlab_sgemm();
  } else if (backend == "eigen") {
    sgemm = bench::eigen_sgemm();
  } else if (backend == "openblas") {
#ifdef NNLAB_HAVE_OPENBLAS
    openblas_set_num_threads(split ? 1 : threads);
    sgemm = [](bool ta, bool tb, Index m, Index n, Index k, const float* a, Index lda, const float* b, Index ldb,
               float* c, Index ldc) {
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f,
                  c, static_cast<int>(ldc));
    };
#else
    usage("built without OpenBLAS (install libopenblas-openmp-dev and re-run cmake)");
#endif
  } else {
    usage(("unknown backend " + backend).c_str());
  }

  std::vector<bench::DenseShape> shapes;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) shapes.push_back({widths[i], widths[i + 1], i == 0});
  const Index batches = (samples + batch - 1) / batch;
  const double flop = bench::gemm_flop(shapes, batch) * static_cast<double>(samples) / static_cast<double>(batch);
  // nnlab's split is Dense's: the shared right-hand side packed once per product (parallel_gemm).
  const double s = backend == "nnlab" && split ? bench::epoch_dense_gemm_seconds(shapes, batch, samples, repeats)
                                               : bench::epoch_gemm_seconds(shapes, batch, samples, repeats, sgemm, split);
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("{\"kind\": \"gemm_floor\", \"backend\": \"%s\", \"split\": %s, \"threads\": %d, \"openblas_coretype\": %s%s%s, "
              "\"batch\": %ld, \"batches\": %ld, \"seconds\": %.6f, \"flop\": %.6g, \"gflops\": %.2f}\n",
              backend.c_str(), split ? "true" : "false", threads, coretype ? "\"" : "", coretype ? coretype : "null",
              coretype ? "\"" : "", static_cast<long>(batch), static_cast<long>(batches), s, flop, flop / s / 1e9);
  return 0;
}
