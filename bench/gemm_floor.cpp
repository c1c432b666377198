#include "bench/gemm_floor.hpp"

#include <algorithm>
#include <chrono>

#include "core/parallel.hpp"

namespace nnlab::bench {

Sgemm eigen_sgemm() {
  return [](bool ta, bool tb, Index m, Index n, Index k, const float* a, Index lda, const float* b, Index ldb, float* c,
            Index ldc) {
    using Stride = Eigen::OuterStride<>;
    using In = Eigen::Map<const MatF, 0, Stride>;
    Eigen::Map<MatF, 0, Stride> C(c, m, n, Stride(ldc));
    const In A(a, ta ? k : m, ta ? m : k, Stride(lda)), B(b, tb ? n : k, tb ? k : n, Stride(ldb));
    if (ta && tb) C.noalias() = A.transpose() * B.transpose();
    else if (ta) C.noalias() = A.transpose() * B;
    else if (tb) C.noalias() = A * B.transpose();
    else C.noalias() = A * B;
  };
}

double gemm_flop(const std::vector<DenseShape>& shapes, Index batch) {
  double f = 0;
  for (const auto& s : shapes) f += 2.0 * static_cast<double>(batch * s.in * s.out) * (s.first ? 2 : 3);
  return f;
}

double epoch_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats,
                          const Sgemm& sgemm, bool split) {
  struct Buffers {
    MatF x, w, y, dy, dw, dx;
  };
  std::vector<Buffers> L;
  for (const auto& s : shapes)
    L.push_back({MatF::Random(batch, s.in), MatF::Random(s.out, s.in), MatF(batch, s.out), MatF::Random(batch, s.out),
                 MatF(s.out, s.in), MatF(batch, s.in)});
  // Runs f(begin, end) over [0, n) in one block per thread, or as one block.
  auto blocks = [&](Index n, double work, auto&& f) {
    if (split) parallel_for_blocks(n, work, f);
    else f(Index{0}, n);
  };
  double best = 1e300;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (Index start = 0; start < samples; start += batch) {
      const Index B = std::min(batch, samples - start);  // the last batch may be smaller
      for (auto& l : L) {  // y = x·Wᵀ over row blocks of the batch
        const Index in = l.w.cols(), out = l.w.rows();
        blocks(B, 2.0 * static_cast<double>(B * in * out), [&](Index r, Index e) {
          sgemm(false, true, e - r, out, in, l.x.data() + r * in, in, l.w.data(), in, l.y.data() + r * out, out);
        });
      }
      for (std::size_t i = L.size(); i-- > 0;) {
        auto& l = L[i];
        const Index in = l.w.cols(), out = l.w.rows();
        const double work = 2.0 * static_cast<double>(B * in * out);
        blocks(out, work, [&](Index j, Index e) {  // dW = dyᵀ·x over blocks of output units
          sgemm(true, false, e - j, in, B, l.dy.data() + j, out, l.x.data(), in, l.dw.data() + j * in, in);
        });
        if (shapes[i].first) continue;
        blocks(B, work, [&](Index r, Index e) {  // dx = dy·W over row blocks of the batch
          sgemm(false, false, e - r, in, out, l.dy.data() + r * out, out, l.w.data(), in, l.dx.data() + r * in, in);
        });
      }
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace nnlab::bench
