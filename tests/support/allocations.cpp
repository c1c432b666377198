// The malloc interposer behind allocation_count() (see allocations.hpp), and a check that it sees
// allocations at all, so an allocation test cannot pass by counting nothing.
#include "support/allocations.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#ifdef NNLAB_TEST_CAN_COUNT_ALLOCATIONS

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);

void* malloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void free(void* p) { __libc_free(p); }
void* calloc(std::size_t a, std::size_t b) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}

long nnlab::test::allocation_count() { return g_allocations.load(std::memory_order_relaxed); }

#else

// A sanitizer build: its allocator owns malloc, nothing is interposed, and the executables that
// count allocations are reported as skipped before any test case runs (support/resources.cpp).
// Should one run anyway, it stops here instead of passing with a count of zero.
long nnlab::test::allocation_count() {
  std::fputs("allocation_count(): allocations cannot be counted in this build\n", stderr);
  std::abort();
}

#endif

// Where the self-test below lets an allocation escape (external linkage: the optimiser must keep it).
std::vector<double>* volatile allocation_escape = nullptr;

TEST_CASE("the allocation counter sees malloc, calloc, realloc and operator new") {
  using nnlab::test::allocation_count;
  // Each count is taken before the CHECK (which may allocate itself). volatile and the escaping
  // pointer: the optimiser may not drop an allocation whose result is used.
  void* volatile keep = nullptr;
  long before = allocation_count();
  keep = std::malloc(24);
  const long by_malloc = allocation_count() - before;
  before = allocation_count();
  keep = std::realloc(keep, 4096);
  const long by_realloc = allocation_count() - before;
  std::free(keep);
  before = allocation_count();
  keep = std::calloc(3, 8);
  const long by_calloc = allocation_count() - before;
  std::free(keep);
  before = allocation_count();
  auto v = std::make_unique<std::vector<double>>(1000);
  allocation_escape = v.get();
  const long by_new = allocation_count() - before;
  CHECK(by_malloc == 1);
  CHECK(by_realloc == 1);
  CHECK(by_calloc == 1);
  CHECK(by_new >= 2);  // the vector object and its buffer
}
