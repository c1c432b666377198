#include "bench/gemm_floor.hpp"

#include <algorithm>
#include <chrono>

#include "core/gemm.hpp"
#include "core/parallel.hpp"

namespace nnlab::bench {

namespace {

// One Dense layer's operands and results, preallocated.
struct DenseBuffers {
  MatF x, w, y, dy, dw, dx;
};

std::vector<DenseBuffers> dense_buffers(const std::vector<DenseShape>& shapes, Index batch) {
  std::vector<DenseBuffers> L;
  for (const auto& s : shapes)
    L.push_back({MatF::Random(batch, s.in), MatF::Random(s.out, s.in), MatF(batch, s.out), MatF::Random(batch, s.out),
                 MatF(s.out, s.in), MatF(batch, s.in)});
  return L;
}

}  // namespace

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

Sgemm nnlab_sgemm() {
  return [](bool ta, bool tb, Index m, Index n, Index k, const float* a, Index lda, const float* b, Index ldb, float* c,
            Index ldc) {
    MatrixRef<const float> A{a, ta ? k : m, ta ? m : k, lda, 1}, B{b, tb ? n : k, tb ? k : n, ldb, 1};
    gemm(MatrixRef<float>{c, m, n, ldc, 1}, ta ? A.t() : A, tb ? B.t() : B);
  };
}

double gemm_flop(const std::vector<DenseShape>& shapes, Index batch) {
  double f = 0;
  for (const auto& s : shapes) f += 2.0 * static_cast<double>(batch * s.in * s.out) * (s.first ? 2 : 3);
  return f;
}

double epoch_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats,
                          const Sgemm& sgemm, bool split) {
  std::vector<DenseBuffers> L = dense_buffers(shapes, batch);
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

double epoch_dense_gemm_seconds(const std::vector<DenseShape>& shapes, Index batch, Index samples, int repeats) {
  std::vector<DenseBuffers> L = dense_buffers(shapes, batch);
  PackedB packed;
  double best = 1e300;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (Index start = 0; start < samples; start += batch) {
      const Index B = std::min(batch, samples - start);  // the last batch may be smaller
      for (auto& l : L) parallel_gemm(ref(l.y.topRows(B)), ref(l.x.topRows(B)), ref(l.w).t(), packed);
      for (std::size_t i = L.size(); i-- > 0;) {
        auto& l = L[i];
        parallel_gemm(ref(l.dw), ref(l.dy.topRows(B)).t(), ref(l.x.topRows(B)), packed);
        if (!shapes[i].first) parallel_gemm(ref(l.dx.topRows(B)), ref(l.dy.topRows(B)), ref(l.w), packed);
      }
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double gemm_flop(const std::vector<ConvShape>& shapes, Index batch) {
  double f = 0;
  for (const auto& s : shapes)
    f += 2.0 * static_cast<double>(batch * s.filters * s.positions * s.group_inputs) * (s.first ? 2 : 3);
  return f;
}

double epoch_conv_gemm_seconds(const std::vector<ConvShape>& shapes, Index batch, Index samples, int repeats) {
  struct Buffers {
    MatF w, col, y, dw, dcol;  // per layer; col, y, dcol stand for any sample's (they are overwritten)
  };
  // Per thread block, as the layer keeps them (reading and writing the same buffers every sample).
  const int blocks = parallel_block_count(batch, 1e300);
  std::vector<std::vector<Buffers>> L(static_cast<std::size_t>(blocks));
  for (auto& per_block : L)
    for (const auto& s : shapes) {
      const Index fg = s.filters / s.groups;
      per_block.push_back({MatF::Random(s.filters, s.group_inputs), MatF::Random(s.group_inputs, s.positions),
                           MatF::Random(fg, s.positions), MatF::Zero(s.filters, s.group_inputs),
                           MatF(s.group_inputs, s.positions)});
    }
  double best = 1e300;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (Index start = 0; start < samples; start += batch) {
      const Index B = std::min(batch, samples - start);
      for (bool backward : {false, true})
        parallel_blocks(B, 1e300, [&](int block, Index begin, Index end) {
          auto& bufs = L[static_cast<std::size_t>(block)];
          for (std::size_t i = 0; i < shapes.size(); ++i) {
            const ConvShape& s = shapes[i];
            Buffers& b = bufs[i];
            const Index fg = s.filters / s.groups;
            for (Index n = begin; n < end; ++n)
              for (Index g = 0; g < s.groups; ++g) {
                const auto w = b.w.middleRows(g * fg, fg);
                if (!backward) {
                  b.y.noalias() = w * b.col;
                  continue;
                }
                b.dw.middleRows(g * fg, fg).noalias() += b.y * b.col.transpose();
                if (!s.first) b.dcol.noalias() = w.transpose() * b.y;
              }
          }
        });
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace nnlab::bench
