// core/gemm: the packed float product against a double reference, over the shapes that exercise its
// edges (tiles of 6 x 16, k blocks of 256, transposed and strided views, accumulate, bias), and the
// property the thread split relies on: a block of C computed alone is bit-identical to the same
// block of the whole product.
#include "core/gemm.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

// The product in double, element by element: the reference.
MatD reference(const MatD& a, const MatD& b) {
  MatD c = MatD::Zero(a.rows(), b.cols());
  for (Index i = 0; i < a.rows(); ++i)
    for (Index j = 0; j < b.cols(); ++j)
      for (Index p = 0; p < a.cols(); ++p) c(i, j) += a(i, p) * b(p, j);
  return c;
}

// |got - want| within float rounding of a k-term sum of products of values in [-1, 1].
void check_close(const MatF& got, const MatD& want, Index k) {
  REQUIRE(got.rows() == want.rows());
  REQUIRE(got.cols() == want.cols());
  const double tolerance = 4e-7 * static_cast<double>(k + 1);
  for (Index i = 0; i < got.rows(); ++i)
    for (Index j = 0; j < got.cols(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      REQUIRE(std::abs(static_cast<double>(got(i, j)) - want(i, j)) <= tolerance);
    }
}

}  // namespace

TEST_CASE("gemm equals the double reference for every transpose, edge tile and k block") {
  MESSAGE("float product: " << gemm_kernel());
  unsigned seed = 1;
  for (Index m : {1, 5, 6, 7, 13, 64, 97})
    for (Index n : {1, 10, 15, 16, 17, 33, 128})
      for (Index k : {1, 9, 128, 255, 257, 784}) {
        for (int transposes = 0; transposes < 4; ++transposes) {
          const bool ta = transposes & 1, tb = transposes & 2;
          // A stored as m x k (or k x m, viewed transposed), B as k x n (or n x k).
          const MatF as = ta ? random_matrix(k, m, ++seed) : random_matrix(m, k, ++seed);
          const MatF bs = tb ? random_matrix(n, k, ++seed) : random_matrix(k, n, ++seed);
          MatrixRef<const float> a = ref(as), b = ref(bs);
          if (ta) a = a.t();
          if (tb) b = b.t();
          const MatD ad = ta ? MatD(as.cast<double>().transpose()) : MatD(as.cast<double>());
          const MatD bd = tb ? MatD(bs.cast<double>().transpose()) : MatD(bs.cast<double>());
          MatF c(m, n);
          gemm(ref(c), a, b);
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(ta);
          CAPTURE(tb);
          check_close(c, reference(ad, bd), k);
        }
      }
}

TEST_CASE("gemm: accumulate adds to C, the bias is added to every row, a strided C is written in place") {
  const MatF a = random_matrix(19, 300, 3), b = random_matrix(300, 21, 4), c0 = random_matrix(19, 21, 5);
  const MatF bias = random_matrix(1, 21, 6);
  MatD want = reference(a.cast<double>(), b.cast<double>());
  MatF c = c0;
  gemm(ref(c), ref(a), ref(b), true);
  check_close(c, want + c0.cast<double>(), 300);
  c = c0;
  gemm(ref(c), ref(a), ref(b), false, bias.data());
  check_close(c, want.rowwise() + bias.cast<double>().row(0), 300);
  // C viewed transposed (column stride != 1): Cᵀ = Bᵀ Aᵀ written into a 21 x 19 matrix.
  MatF ct(21, 19);
  ct.setConstant(7.0f);
  gemm(ref(ct).t(), ref(a), ref(b));
  check_close(MatF(ct.transpose()), want, 300);
  // A block of a wider matrix: the columns beside it are untouched.
  MatF wide = MatF::Constant(19, 40, 3.0f);
  gemm(ref(wide.middleCols(5, 21)), ref(a), ref(b));
  check_close(MatF(wide.middleCols(5, 21)), want, 300);
  CHECK((wide.leftCols(5).array() == 3.0f).all());
  CHECK((wide.rightCols(14).array() == 3.0f).all());
  // k = 0: an empty sum (C = bias, or C unchanged with accumulate).
  MatF e = c0;
  gemm(ref(e), ref(a.leftCols(0)), ref(b.topRows(0)), true);
  CHECK(e == c0);
  gemm(ref(e), ref(a.leftCols(0)), ref(b.topRows(0)), false, bias.data());
  CHECK(e == bias.replicate(19, 1));
}

TEST_CASE("gemm: a row or column block computed alone is bit-identical to the whole product") {
  // The property that makes Dense's products independent of the thread count: each element's sum
  // runs in an order fixed by k alone.
  const MatF x = random_matrix(128, 784, 7), w = random_matrix(256, 784, 8);
  MatF whole(128, 256);
  gemm(ref(whole), ref(x), ref(w).t());
  for (auto [begin, end] : {std::pair<Index, Index>{0, 64}, {64, 128}, {0, 43}, {43, 86}, {86, 128}, {5, 6}}) {
    MatF rows(end - begin, 256);
    gemm(ref(rows), ref(x.middleRows(begin, end - begin)), ref(w).t());
    CHECK(rows == whole.middleRows(begin, end - begin));
    MatF cols(128, end - begin);
    gemm(ref(cols), ref(x), ref(w.middleRows(begin, end - begin)).t());
    CHECK(cols == whole.middleCols(begin, end - begin));
  }
}

TEST_CASE("gemm: shapes that do not agree are refused, naming them") {
  MatF a(3, 4), b(5, 6), c(3, 6);
  CHECK_THROWS_WITH_AS(gemm(ref(c), ref(a), ref(b)), "gemm: 3x4 times 5x6 into 3x6", std::invalid_argument);
  MatD ad(3, 4), bd(4, 6), cd(2, 6);
  CHECK_THROWS_AS(gemm(ref(cd), ref(ad), ref(bd)), std::invalid_argument);
}

TEST_CASE("gemm: double goes through Eigen on the same views") {
  const MatD a = random_matrix(9, 300, 9).cast<double>(), b = random_matrix(300, 11, 10).cast<double>();
  MatD c(9, 11);
  gemm(ref(c), ref(a), ref(b));
  CHECK((c - reference(a, b)).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("parallel_gemm: B packed once and shared gives gemm's result bit for bit, for any thread count") {
  const MatF x = random_matrix(128, 784, 11), w = random_matrix(250, 784, 12), dy = random_matrix(128, 250, 13);
  const MatF bias = random_matrix(1, 250, 14);
  MatF y1(128, 250), dw1(250, 784), dx1(128, 784);
  gemm(ref(y1), ref(x), ref(w).t(), false, bias.data());
  gemm(ref(dw1), ref(dy).t(), ref(x));
  gemm(ref(dx1), ref(dy), ref(w));
  PackedB packed;
  for (int threads : {1, 2, 3}) {
    Threads t(threads);
    CAPTURE(threads);
    MatF y(128, 250), dw(250, 784), dx(128, 784);
    parallel_gemm(ref(y), ref(x), ref(w).t(), packed, false, bias.data());
    parallel_gemm(ref(dw), ref(dy).t(), ref(x), packed);
    parallel_gemm(ref(dx), ref(dy), ref(w), packed);
    CHECK(y == y1);
    CHECK(dw == dw1);
    CHECK(dx == dx1);
    MatF acc = y1;
    parallel_gemm(ref(acc), ref(x), ref(w).t(), packed, true);
    MatF acc1 = y1;
    gemm(ref(acc1), ref(x), ref(w).t(), true);
    CHECK(acc == acc1);
  }
  // Packed by hand in two uneven ranges of panels, on one thread.
  packed.reset(ref(w).t());
  const Index half = packed.panels() / 3;
  packed.pack(half, packed.panels());
  packed.pack(0, half);
  MatF y(128, 250);
  gemm(ref(y), ref(x), packed, false, bias.data());
  CHECK(y == y1);
}

TEST_CASE("PackedB written by the caller row by row gives gemm's result bit for bit") {
  // k spans one and two k blocks, n full panels and a partial one.
  for (auto [m, k, n] : {std::tuple<Index, Index, Index>{64, 288, 196}, {13, 300, 37}, {7, 9, 16}, {30, 196, 288}}) {
    INFO(m << " x " << k << " times " << k << " x " << n);
    const MatF a = random_matrix(m, k, 21), b = random_matrix(k, n, 22), c0 = random_matrix(m, n, 23);
    MatF expected = c0;
    gemm(ref(expected), ref(a), ref(b), true);
    PackedB packed;
    packed.reset(k, n);
    for (Index p = k - 1; p >= 0; --p) packed.set_row(p, b.row(p).data());  // any order
    MatF c1 = c0;
    gemm(ref(c1), ref(a), packed, true);
    CHECK(c1 == expected);
  }
}
