// nnlab's thread pool: the workers behind parallel_blocks() (core/parallel.hpp).
//
// One job runs at a time. The caller publishes it (function, context, block count) and bumps a
// 64-bit state word that holds the job's generation in its high half and the next unclaimed block
// in its low half; every thread, the caller included, claims blocks by compare-and-swap on that
// word until none are left, and the caller waits until all claimed blocks are done. A claim only
// succeeds while the generation is the one the thread read the job for, so a late worker can never
// run a block of a newer job with an older job's description. Idle workers spin for
// kSpinMicroseconds, then sleep on a futex (std::atomic::wait) until the next job.
#include "core/parallel.hpp"

#include <sched.h>

#include <Eigen/Core>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NNLAB_PAUSE() _mm_pause()
#else
#define NNLAB_PAUSE() ((void)0)
#endif

namespace nnlab {
namespace {

thread_local bool t_in_block = false;  // nested parallel loops run serially

// A spinning waiter checks for new work for this long before it sleeps: long enough to bridge the
// serial gaps of a training step (loss, small products: a few µs to tens of µs), short enough not to
// burn a core another process needs. Chosen, not yet measured against other values (issue 17).
constexpr int kSpinMicroseconds = 100;

// Spin on `ready()` for kSpinMicroseconds; true if it became true.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicroseconds);
  for (int i = 0;; ++i) {
    if (ready()) return true;
    NNLAB_PAUSE();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

class Pool {
 public:
  ~Pool() { resize(1); }

  int threads() const { return threads_; }

  void resize(int threads) {
    std::lock_guard<std::mutex> lock(run_mutex_);
    if (threads == threads_) return;
    stop_.store(true);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    stop_.store(false);
    threads_ = std::max(1, threads);
    // A worker starts from the wake count of its creation, not of its first instruction: a job (or the
    // stop) published before the new thread first runs must not be mistaken for the past.
    const unsigned start = wake_.load(std::memory_order_acquire);
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, start] { work_loop(start); });
  }

  void run(int blocks, detail::BlockFn fn, void* context) {
    std::unique_lock<std::mutex> lock(run_mutex_, std::try_to_lock);
    // No workers, or another thread's job is running: this caller does its blocks alone (the same
    // blocks, so the same results).
    if (!lock.owns_lock() || workers_.empty()) {
      run_serially(blocks, fn, context);
      return;
    }
    fn_.store(fn, std::memory_order_relaxed);
    context_.store(context, std::memory_order_relaxed);
    blocks_.store(blocks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    const std::uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store(generation << 32, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();  // a system call only when a worker sleeps
    claim_and_run(generation);
    if (!spin_until([&] { return done_.load(std::memory_order_acquire) == blocks; }))
      for (int d; (d = done_.load(std::memory_order_acquire)) != blocks;) done_.wait(d, std::memory_order_acquire);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static void run_serially(int blocks, detail::BlockFn fn, void* context) {
    const bool outer = t_in_block;
    t_in_block = true;
    try {
      for (int b = 0; b < blocks; ++b) fn(context, b);
    } catch (...) {
      t_in_block = outer;
      throw;
    }
    t_in_block = outer;
  }

  // Claims and runs blocks of job `generation` until none are left (or a newer job has started).
  void claim_and_run(std::uint64_t generation) {
    const detail::BlockFn fn = fn_.load(std::memory_order_relaxed);
    void* const context = context_.load(std::memory_order_relaxed);
    const int blocks = blocks_.load(std::memory_order_relaxed);
    t_in_block = true;
    std::uint64_t s = state_.load(std::memory_order_acquire);
    while ((s >> 32) == generation && static_cast<int>(s & 0xffffffffu) < blocks) {
      if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      try {
        fn(context, static_cast<int>(s & 0xffffffffu));
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == blocks) done_.notify_one();
      s = state_.load(std::memory_order_acquire);
    }
    t_in_block = false;
  }

  void work_loop(unsigned seen) {
    for (;;) {
      if (stop_.load()) return;
      if (!spin_until([&] { return wake_.load(std::memory_order_acquire) != seen; }))
        wake_.wait(seen, std::memory_order_acquire);
      seen = wake_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      claim_and_run(state_.load(std::memory_order_acquire) >> 32);
    }
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, error_mutex_;
  std::atomic<std::uint64_t> state_{0};  // generation << 32 | next unclaimed block
  std::atomic<unsigned> wake_{0};        // bumped for every job (and to stop): what idle workers wait on
  std::atomic<int> done_{0};
  std::atomic<detail::BlockFn> fn_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<int> blocks_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int set_threads(int requested) {
  const int cpus = available_cpus();
  const int threads = requested <= 0 ? cpus : std::min(requested, cpus);
  set_thread_count(threads);
  return threads;
}

std::string threads_warning(int requested) {
  const int cpus = available_cpus();
  if (requested <= cpus) return {};
  return "threads is " + std::to_string(requested) + " but this process may use " + std::to_string(cpus) +
         " CPU" + (cpus == 1 ? "" : "s") + ": using " + std::to_string(cpus) +
         " threads (more threads than cores only wait for each other; results are bit-identical for the same "
         "thread count, so set threads: " + std::to_string(cpus) + " to reproduce this run elsewhere)";
}

void set_thread_count(int n) {
  pool().resize(std::max(1, n));
  Eigen::setNbThreads(1);
}

int thread_count() { return t_in_block ? 1 : pool().threads(); }

namespace detail {
void run_blocks(int blocks, BlockFn fn, void* context) { pool().run(blocks, fn, context); }
}  // namespace detail

}  // namespace nnlab
