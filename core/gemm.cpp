// The packed matrix multiply of core/gemm.hpp.
//
// Loop structure (BLIS): for each block of kKc values of p, pack that slice of B into panels of
// kNr columns (p-major: one kNr-vector of B per p), and for each block of kMc rows of A pack it into
// panels of kMr rows (p-major: kMr values of A per p); the micro-kernel then computes a kMr x kNr
// tile of C as kc rank-1 updates, held in registers, and adds it to C once. The A block (kMc x kKc)
// stays in L2 while every B panel passes over it, and one B panel (kKc x kNr) stays in L1 while the
// A panels of the block pass over it. Tiles at the right and bottom edges are computed in full on
// zero-padded panels and only their valid part is stored.
#include "core/gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace nnlab {
namespace {

#if defined(__AVX512F__)
constexpr Index kMr = 8, kNr = 32;
constexpr const char* kKernel = "nnlab avx512 8x32";
#elif defined(__AVX2__) && defined(__FMA__)
constexpr Index kMr = 6, kNr = 16;
constexpr const char* kKernel = "nnlab avx2 6x16";
#else
constexpr Index kMr = 4, kNr = 8;
constexpr const char* kKernel = "nnlab generic 4x8";
#endif
constexpr Index kKc = 256;  // one B panel: 256 x kNr floats = 16 KiB (AVX2) or 32 KiB (AVX-512), in L1
constexpr Index kMc = 96;   // one A block: 96 x 256 floats = 96 KiB, in L2
constexpr Index kNc = 2048; // one B block: 256 x 2048 floats = 2 MiB

// A 64-byte aligned scratch buffer that grows and is kept per thread: no allocation once warm.
struct Scratch {
  float* data = nullptr;
  std::size_t size = 0;
  ~Scratch() { std::free(data); }
  float* get(std::size_t n) {
    if (n > size) {
      std::free(data);
      size = (n + 15) / 16 * 16;
      data = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
      if (!data) throw std::bad_alloc();
    }
    return data;
  }
};

// Packs rows [0, mc) x columns [0, kc) of A (already offset) into panels of kMr rows, p-major,
// zero-padding the last panel.
void pack_a(Index mc, Index kc, MatrixRef<const float> a, float* out) {
  for (Index i0 = 0; i0 < mc; i0 += kMr) {
    const Index mr = std::min(kMr, mc - i0);
    float* panel = out + i0 * kc;
    if (a.cs == 1) {  // rows contiguous: read each row once, write strided
      for (Index i = 0; i < mr; ++i) {
        const float* row = a.data + (i0 + i) * a.rs;
        for (Index p = 0; p < kc; ++p) panel[p * kMr + i] = row[p];
      }
    } else {
      for (Index p = 0; p < kc; ++p)
        for (Index i = 0; i < mr; ++i) panel[p * kMr + i] = a.data[(i0 + i) * a.rs + p * a.cs];
    }
    if (mr < kMr)
      for (Index p = 0; p < kc; ++p)
        for (Index i = mr; i < kMr; ++i) panel[p * kMr + i] = 0.0f;
  }
}

// Packs rows [0, kc) x columns [0, nc) of B (already offset) into panels of kNr columns, p-major.
void pack_b(Index kc, Index nc, MatrixRef<const float> b, float* out) {
  for (Index j0 = 0; j0 < nc; j0 += kNr) {
    const Index nr = std::min(kNr, nc - j0);
    float* panel = out + j0 * kc;
    if (b.cs == 1) {  // rows of B contiguous: copy kNr values per p
      for (Index p = 0; p < kc; ++p) {
        const float* row = b.data + p * b.rs + j0;
        float* dst = panel + p * kNr;
        std::memcpy(dst, row, static_cast<std::size_t>(nr) * sizeof(float));
        for (Index j = nr; j < kNr; ++j) dst[j] = 0.0f;
      }
    } else {  // columns of B contiguous (B = Wᵀ): read each column once, write strided
      for (Index j = 0; j < nr; ++j) {
        const float* col = b.data + (j0 + j) * b.cs;
        for (Index p = 0; p < kc; ++p) panel[p * kNr + j] = col[p * b.rs];
      }
      for (Index p = 0; p < kc; ++p)
        for (Index j = nr; j < kNr; ++j) panel[p * kNr + j] = 0.0f;
    }
  }
}

// The tile Σ_p a[p] ⊗ b[p] over kc packed values (kMr x kNr). With out == nullptr it is stored in
// acc (row-major, for an edge tile); else it is written to the full tile at out (row stride ldc) as
// (out + tile if add, else tile) + bias.
#if defined(__AVX512F__)
// 8 x 32: 16 accumulators (two 16-float vectors per row), 2 loads of B and 8 broadcasts of A per
// step for 16 FMAs. 16 independent chains cover the FMA latency (4 cycles) at 2 FMAs per cycle
// (Intel) as at 1 (AMD Zen 4, which splits each 512-bit FMA in two 256-bit halves).
template <bool kToC>
inline void micro(Index kc, const float* __restrict a, const float* __restrict b, float* __restrict acc, float* out,
                  Index ldc, bool add, const float* bias) {
  __m512 c[kMr][2];
  for (Index i = 0; i < kMr; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (Index p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b + p * kNr), b1 = _mm512_load_ps(b + p * kNr + 16);
    for (Index i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(a[p * kMr + i]);
      c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
    }
  }
  if constexpr (!kToC) {
    for (Index i = 0; i < kMr; ++i) {
      _mm512_store_ps(acc + i * kNr, c[i][0]);
      _mm512_store_ps(acc + i * kNr + 16, c[i][1]);
    }
  } else {
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
    for (Index i = 0; i < kMr; ++i) {
      float* o = out + i * ldc;
      __m512 r0 = c[i][0], r1 = c[i][1];
      if (add) r0 = _mm512_add_ps(_mm512_loadu_ps(o), r0), r1 = _mm512_add_ps(_mm512_loadu_ps(o + 16), r1);
      if (bias) r0 = _mm512_add_ps(r0, bias0), r1 = _mm512_add_ps(r1, bias1);
      _mm512_storeu_ps(o, r0);
      _mm512_storeu_ps(o + 16, r1);
    }
  }
}
#elif defined(__AVX2__) && defined(__FMA__)
template <bool kToC>
inline void micro(Index kc, const float* __restrict a, const float* __restrict b, float* __restrict acc, float* out,
                  Index ldc, bool add, const float* bias) {
  __m256 c[kMr][2];
  for (Index i = 0; i < kMr; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  for (Index p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b + p * kNr), b1 = _mm256_load_ps(b + p * kNr + 8);
    for (Index i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + p * kMr + i);
      c[i][0] = _mm256_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(ai, b1, c[i][1]);
    }
  }
  if constexpr (!kToC) {
    for (Index i = 0; i < kMr; ++i) {
      _mm256_store_ps(acc + i * kNr, c[i][0]);
      _mm256_store_ps(acc + i * kNr + 8, c[i][1]);
    }
  } else {
  const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
  const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
  for (Index i = 0; i < kMr; ++i) {
    float* o = out + i * ldc;
    __m256 r0 = c[i][0], r1 = c[i][1];
    if (add) r0 = _mm256_add_ps(_mm256_loadu_ps(o), r0), r1 = _mm256_add_ps(_mm256_loadu_ps(o + 8), r1);
    if (bias) r0 = _mm256_add_ps(r0, bias0), r1 = _mm256_add_ps(r1, bias1);
    _mm256_storeu_ps(o, r0);
    _mm256_storeu_ps(o + 8, r1);
  }
  }
}
#else
template <bool kToC>
inline void micro(Index kc, const float* __restrict a, const float* __restrict b, float* __restrict acc, float* out,
                  Index ldc, bool add, const float* bias) {
  float c[kMr * kNr] = {};
  for (Index p = 0; p < kc; ++p)
    for (Index i = 0; i < kMr; ++i)
      for (Index j = 0; j < kNr; ++j) c[i * kNr + j] += a[p * kMr + i] * b[p * kNr + j];
  if constexpr (!kToC) {
    std::memcpy(acc, c, sizeof(c));
  } else {
    for (Index i = 0; i < kMr; ++i)
      for (Index j = 0; j < kNr; ++j) {
        float& o = out[i * ldc + j];
        o = (add ? o + c[i * kNr + j] : c[i * kNr + j]) + (bias ? bias[j] : 0.0f);
      }
  }
}
#endif

template <typename T>
void check_shapes(const MatrixRef<T>& c, const MatrixRef<const T>& a, const MatrixRef<const T>& b) {
  if (a.rows != c.rows || b.cols != c.cols || a.cols != b.rows)
    throw std::invalid_argument("gemm: " + std::to_string(a.rows) + "x" + std::to_string(a.cols) + " times " +
                                std::to_string(b.rows) + "x" + std::to_string(b.cols) + " into " +
                                std::to_string(c.rows) + "x" + std::to_string(c.cols));
}

// Eigen's product on the same views (double, and float where Eigen is the chosen backend).
template <typename T>
void eigen_gemm(MatrixRef<T> c, MatrixRef<const T> a, MatrixRef<const T> b, bool accumulate, const T* bias) {
  using Strided = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  using M = Mat<T>;
  const Eigen::Map<const M, 0, Strided> A(a.data, a.rows, a.cols, Strided(a.rs, a.cs));
  const Eigen::Map<const M, 0, Strided> B(b.data, b.rows, b.cols, Strided(b.rs, b.cs));
  Eigen::Map<M, 0, Strided> C(c.data, c.rows, c.cols, Strided(c.rs, c.cs));
  if (accumulate) C.noalias() += A * B;
  else C.noalias() = A * B;
  if (bias) C.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, c.cols);
}

// Which product float uses: nnlab's kernel (AVX-512, AVX2 or generic, by the instruction set the
// compiler targets); CMake's NNLAB_GEMM=eigen selects Eigen's product instead (docs/performance.md:
// on an AMD EPYC with AVX-512 this kernel does one epoch's MLP products at 90-94 GFLOP/s per core,
// Eigen's at 62).
#if defined(NNLAB_GEMM_EIGEN)
constexpr bool kOwnKernel = false;
#else
constexpr bool kOwnKernel = true;
#endif

}  // namespace

const char* gemm_kernel() { return kOwnKernel ? kKernel : "eigen"; }

namespace {

// k in equal blocks of at most kKc (784 = 4 x 196, not 3 x 256 + 16: a short last block is all
// packing and stores). The block boundaries depend on k alone.
Index k_step(Index k) {
  const Index blocks = (k + kKc - 1) / kKc;
  return (k + blocks - 1) / blocks;
}

// C (m x nc) = [C +] A (m x kc) times the packed kc x nc block of B at bp [+ bias]: A packed in
// blocks of kMc rows, then the micro-kernel over every tile. `first`: the first k block (the bias is
// added and, unless accumulate, C is overwritten).
void block_product(Index m, Index nc, Index kc, MatrixRef<const float> a, const float* bp, MatrixRef<float> c,
                   bool first, bool accumulate, const float* bias) {
  // The packed A block on the stack (kMc x kKc floats, 96 KiB): which pool thread runs a block
  // changes from call to call, so a per-thread heap buffer would be allocated whenever a thread
  // first runs one, in any batch (tests/layers/test_cnn_allocations.cpp caught it).
  alignas(64) float ap[kMc * kKc];
  alignas(64) float acc[kMr * kNr];
  const bool add = accumulate || !first;
  const float* bias_here = first ? bias : nullptr;
  for (Index ic = 0; ic < m; ic += kMc) {
    const Index mc = std::min(kMc, m - ic);
    pack_a(mc, kc, {a.data + ic * a.rs, mc, kc, a.rs, a.cs}, ap);
    for (Index jr = 0; jr < nc; jr += kNr) {
      const Index nr = std::min(kNr, nc - jr);
      const float* bj = bias_here ? bias_here + jr : nullptr;
      for (Index ir = 0; ir < mc; ir += kMr) {
        const Index mr = std::min(kMr, mc - ir);
        float* c0 = c.data + (ic + ir) * c.rs + jr * c.cs;
        if (mr == kMr && nr == kNr && c.cs == 1) {
          micro<true>(kc, ap + ir * kc, bp + jr * kc, nullptr, c0, c.rs, add, bj);
          continue;
        }
        micro<false>(kc, ap + ir * kc, bp + jr * kc, acc, nullptr, 0, false, nullptr);
        // The sum of each element is acc (this k block) added to what C holds (earlier blocks, or
        // the caller's C), then the bias: the same order as a full tile's, for every tile and split.
        for (Index i = 0; i < mr; ++i) {
          float* ci = c0 + i * c.rs;
          const float* ai = acc + i * kNr;
          for (Index j = 0; j < nr; ++j) {
            float& cij = ci[j * c.cs];
            cij = (add ? cij + ai[j] : ai[j]) + (bj ? bj[j] : 0.0f);
          }
        }
      }
    }
  }
}

// k = 0: an empty sum.
void empty_product(MatrixRef<float> c, bool accumulate, const float* bias) {
  for (Index i = 0; i < c.rows; ++i)
    for (Index j = 0; j < c.cols; ++j) {
      float& cij = c.data[i * c.rs + j * c.cs];
      cij = (accumulate ? cij : 0.0f) + (bias ? bias[j] : 0.0f);
    }
}

}  // namespace

void gemm(MatrixRef<float> c, MatrixRef<const float> a, MatrixRef<const float> b, bool accumulate, const float* bias) {
  check_shapes(c, a, b);
  if constexpr (!kOwnKernel) {
    eigen_gemm(c, a, b, accumulate, bias);
    return;
  }
  const Index m = c.rows, n = c.cols, k = a.cols;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return empty_product(c, accumulate, bias);
  thread_local Scratch b_buf;
  const Index step = k_step(k);
  for (Index jc = 0; jc < n; jc += kNc) {
    const Index nc = std::min(kNc, n - jc);
    const Index nc_padded = (nc + kNr - 1) / kNr * kNr;
    for (Index pc = 0; pc < k; pc += step) {
      const Index kc = std::min(step, k - pc);
      float* bp = b_buf.get(static_cast<std::size_t>(nc_padded * kKc));
      pack_b(kc, nc, {b.data + pc * b.rs + jc * b.cs, kc, nc, b.rs, b.cs}, bp);
      block_product(m, nc, kc, {a.data + pc * a.cs, m, kc, a.rs, a.cs}, bp, {c.data + jc * c.cs, m, nc, c.rs, c.cs},
                    pc == 0, accumulate, bias ? bias + jc : nullptr);
    }
  }
}

// PackedB: the whole of B in the kernel's panels, k block by k block (block q of kc rows starts at
// pc · n_padded floats, its panel t at t · kNr · kc within it).
void PackedB::reserve(std::size_t need) {
  need = std::max<std::size_t>(need, 1);
  if (need <= size_) return;
  std::free(data_);
  data_ = nullptr;
  size_ = 0;
  data_ = static_cast<float*>(std::aligned_alloc(64, (need + 15) / 16 * 16 * sizeof(float)));
  if (!data_) throw std::bad_alloc();
  size_ = need;
}

void PackedB::reset(MatrixRef<const float> b) {
  b_ = b;
  n_padded_ = (b.cols + kNr - 1) / kNr * kNr;
  if constexpr (kOwnKernel) reserve(static_cast<std::size_t>(b.rows * n_padded_));
}

// The caller's B: the kernel's panels (block q of kc rows at pc · n_padded, its panel t at t · kNr · kc
// within it, row p of the block at p · kNr in the panel), or for Eigen a row-major k x n matrix.
void PackedB::reset(Index k, Index n) {
  n_padded_ = (n + kNr - 1) / kNr * kNr;
  reserve(static_cast<std::size_t>(k * (kOwnKernel ? n_padded_ : n)));
  b_ = {data_, k, n, n, 1};
}

void PackedB::set_row(Index p, const float* values) {
  const Index n = b_.cols;
  if constexpr (!kOwnKernel) {
    std::memcpy(data_ + p * n, values, static_cast<std::size_t>(n) * sizeof(float));
    return;
  }
  const Index step = k_step(b_.rows), pc = p / step * step, kc = std::min(step, b_.rows - pc);
  float* row = data_ + pc * n_padded_ + (p - pc) * kNr;  // row p of panel 0; panel t is t · kNr · kc further
  Index j0 = 0;
  for (; j0 + kNr <= n; j0 += kNr, row += kNr * kc) std::memcpy(row, values + j0, kNr * sizeof(float));
  if (j0 < n) {
    std::memcpy(row, values + j0, static_cast<std::size_t>(n - j0) * sizeof(float));
    for (Index j = n - j0; j < kNr; ++j) row[j] = 0.0f;
  }
}

PackedB::~PackedB() { std::free(data_); }

Index PackedB::panels() const { return kOwnKernel ? n_padded_ / kNr : 0; }

void PackedB::pack(Index first_panel, Index end_panel) {
  if constexpr (!kOwnKernel) return;
  const Index k = b_.rows, step = k_step(std::max<Index>(k, 1));
  const Index j0 = first_panel * kNr, j1 = std::min(b_.cols, end_panel * kNr);
  if (j1 <= j0) return;
  for (Index pc = 0; pc < k; pc += step) {
    const Index kc = std::min(step, k - pc);
    pack_b(kc, j1 - j0, {b_.data + pc * b_.rs + j0 * b_.cs, kc, j1 - j0, b_.rs, b_.cs}, data_ + pc * n_padded_ + j0 * kc);
  }
}

void gemm(MatrixRef<float> c, MatrixRef<const float> a, const PackedB& b, bool accumulate, const float* bias) {
  check_shapes(c, a, b.b_);
  if constexpr (!kOwnKernel) {
    eigen_gemm(c, a, b.b_, accumulate, bias);
    return;
  }
  const Index m = c.rows, n = c.cols, k = a.cols;
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return empty_product(c, accumulate, bias);
  const Index step = k_step(k);
  for (Index pc = 0; pc < k; pc += step) {
    const Index kc = std::min(step, k - pc);
    block_product(m, n, kc, {a.data + pc * a.cs, m, kc, a.rs, a.cs}, b.data_ + pc * b.n_padded_, c, pc == 0,
                  accumulate, bias);
  }
}

void gemm(MatrixRef<double> c, MatrixRef<const double> a, MatrixRef<const double> b, bool accumulate,
          const double* bias) {
  check_shapes(c, a, b);
  eigen_gemm(c, a, b, accumulate, bias);
}

}  // namespace nnlab
