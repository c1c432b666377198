// No allocation in an optimizer step after the first: every reference case's optimizer, schedule
// and clipping (support/optim_reference.hpp).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/optimizer.hpp"
#include "core/schedule.hpp"
#include "support/optim_reference.hpp"

using namespace nnlab;
using namespace nnlab::test;

// ---- allocation counting ----------------------------------------------------------------------
// Every heap allocation (operator new and Eigen's aligned_malloc both end in malloc) is counted
// while `counting` is set, by interposing glibc's malloc family. Sanitizer builds bring their own
// allocator, so there the check is skipped.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define NNLAB_COUNT_ALLOCATIONS 1
namespace {
std::atomic<long> allocations{0};
std::atomic<bool> counting{false};
}  // namespace
extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* malloc(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) ++allocations;
  return __libc_malloc(n);
}
void free(void* p) { __libc_free(p); }
void* calloc(std::size_t a, std::size_t b) {
  if (counting.load(std::memory_order_relaxed)) ++allocations;
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) ++allocations;
  return __libc_realloc(p, n);
}
}
#endif

#ifdef NNLAB_COUNT_ALLOCATIONS
TEST_CASE("no allocation in a step after the first (optimizers, schedules, clipping)") {
  for (const auto& c : reference()["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    Problem p;
    Run run(c);
    std::vector<std::vector<float>> grads;  // parsed before counting (JSON access allocates)
    for (const auto& g : c["grads"]) grads.push_back(g.get<std::vector<float>>());
    std::vector<std::optional<double>> metrics(grads.size());
    if (c.contains("metrics"))
      for (std::size_t k = 0; k < grads.size(); ++k) metrics[k] = c["metrics"][k].get<double>();
    const double max_norm = c.value("clip_max_norm", 0.0);
    long during = 0;
    for (std::size_t k = 0; k < grads.size(); ++k) {
      std::size_t i = 0;
      for (auto& param : p.params())
        for (Index j = 0; j < param.grad->size(); ++j) param.grad->data()[j] = grads[k][i++];
      if (k > 0) allocations = 0, counting = true;
      if (max_norm > 0) clip_grad_norm(p.params(), max_norm);
      run.optimizer->step(p.params());
      if (run.schedule) {
        run.schedule->step(metrics[k]);
        run.optimizer->set_lr(run.schedule->lr());
      }
      counting = false;
      if (k > 0) during += allocations;
    }
    CHECK(during == 0);
  }
}
#endif
