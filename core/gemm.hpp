// nnlab's matrix multiply: C = op(A) op(B) [+ C] [+ bias], on one thread.
//
//   gemm(C, A, B, accumulate, bias)
//     C(i, j) = [C(i, j) +] Σ_p A(i, p) B(p, j) [+ bias(j)]       C: m x n, A: m x k, B: k x n
//
// A, B and C are strided views (element (i, j) at data[i·rs + j·cs]): a transpose is the view with
// its strides swapped (ref(W).t()), no copy, so every product of Dense (x Wᵀ, dyᵀ x, dy W) is one
// call. Layers split a product over threads by rows or columns of C (core/parallel.hpp) and call
// gemm on each block.
//
// float runs nnlab's packed kernel (core/gemm.cpp: BLIS's loop structure, a register-blocked
// micro-kernel for AVX-512, for AVX2 + FMA or in plain C++, chosen at compile time by -march=native),
// or Eigen's product if CMake's NNLAB_GEMM=eigen asks for it (gemm_kernel() says which).
// Each C element is summed over p in a fixed order that depends on k alone, never on m, n or on how
// the caller split the product: a row or column block of C computed alone is bit-identical to the
// same block of the whole product, so the thread count does not change a product's rounding.
// double (the gradient checker's precision) runs Eigen's product on the same views.
#pragma once

#include <cstddef>
#include <type_traits>

#include "core/parallel.hpp"
#include "core/tensor.hpp"

namespace nnlab {

// A strided view of a matrix: element (i, j) at data[i * rs + j * cs].
template <typename T>
struct MatrixRef {
  T* data;
  Index rows, cols, rs, cs;
  MatrixRef<T> t() const { return {data, cols, rows, cs, rs}; }  // the transpose
  MatrixRef<T> middle_rows(Index begin, Index count) const { return {data + begin * rs, count, cols, rs, cs}; }
  operator MatrixRef<const T>() const { return {data, rows, cols, rs, cs}; }
};

// The view of a row-major Eigen matrix, map or row/column block of one.
template <typename M>
auto ref(M&& m) {
  using Scalar = std::remove_pointer_t<decltype(m.data())>;
  return MatrixRef<Scalar>{m.data(), m.rows(), m.cols(), m.outerStride(), 1};
}

// C = A B (+ C if accumulate) (+ bias[j] on every row if bias is not null). C must not overlap A or
// B; shapes must agree (m x k times k x n into m x n), else std::invalid_argument.
void gemm(MatrixRef<float> c, MatrixRef<const float> a, MatrixRef<const float> b, bool accumulate = false,
          const float* bias = nullptr);
void gemm(MatrixRef<double> c, MatrixRef<const double> a, MatrixRef<const double> b, bool accumulate = false,
          const double* bias = nullptr);

// B packed once in the kernel's layout, for products that several threads share (each computes a
// block of rows of C against the same B): reset() sizes it for B (kept between calls: no allocation
// once warm), pack() packs a range of its panels (threads split them), and gemm() with a PackedB
// computes exactly what gemm() with B computes, bit for bit. With Eigen as the float product,
// packing does nothing and gemm() reads B itself.
class PackedB {
 public:
  PackedB() = default;
  PackedB(const PackedB&) = delete;
  PackedB& operator=(const PackedB&) = delete;
  ~PackedB();
  void reset(MatrixRef<const float> b);
  Index panels() const;  // pack() takes panel indices in [0, panels())
  void pack(Index first_panel, Index end_panel);

  // B written by the caller straight into the packed layout, never held anywhere else (a
  // convolution's im2col writes its columns here: one copy instead of two). reset(k, n) sizes it for
  // a k x n B; then every row p in [0, k) is written once (n values) before gemm() reads it.
  void reset(Index k, Index n);
  void set_row(Index p, const float* values);

 private:
  friend void gemm(MatrixRef<float>, MatrixRef<const float>, const PackedB&, bool, const float*);
  void reserve(std::size_t floats);
  MatrixRef<const float> b_{nullptr, 0, 0, 0, 0};
  Index n_padded_ = 0;
  float* data_ = nullptr;
  std::size_t size_ = 0;
};
void gemm(MatrixRef<float> c, MatrixRef<const float> a, const PackedB& b, bool accumulate = false,
          const float* bias = nullptr);

// C = A B [+ C] [+ bias] over the pool's threads, each taking a block of rows of C (and of A). float
// packs B once, the threads splitting the panels, then shares it; double splits the rows only.
// Bit-identical to the single-threaded gemm() for any thread count. `packed` is the caller's buffer
// (a layer keeps one).
template <typename T>
void parallel_gemm(MatrixRef<T> c, std::type_identity_t<MatrixRef<const T>> a, std::type_identity_t<MatrixRef<const T>> b,
                   PackedB& packed, bool accumulate = false, const T* bias = nullptr) {
  const double work = 2.0 * static_cast<double>(c.rows) * static_cast<double>(c.cols) * static_cast<double>(a.cols);
  if constexpr (std::is_same_v<T, float>) {
    if (parallel_block_count(c.rows, work) > 1) {
      packed.reset(b);
      parallel_for_blocks(packed.panels(), static_cast<double>(b.rows) * static_cast<double>(b.cols),
                          [&](Index p0, Index p1) { packed.pack(p0, p1); });
      parallel_for_blocks(c.rows, work, [&](Index r, Index end) {
        gemm(c.middle_rows(r, end - r), a.middle_rows(r, end - r), packed, accumulate, bias);
      });
      return;
    }
  }
  (void)packed;
  parallel_for_blocks(c.rows, work, [&](Index r, Index end) {
    gemm(c.middle_rows(r, end - r), a.middle_rows(r, end - r), b, accumulate, bias);
  });
}

// The float product of this build: "nnlab avx512 8x32", "nnlab avx2 6x16", "nnlab generic 4x8" or
// "eigen".
const char* gemm_kernel();

}  // namespace nnlab
