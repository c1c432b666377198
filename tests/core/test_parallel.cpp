// The thread partition (core/parallel.hpp) must not change results: parallel_blocks covers every
// index once, and layers and optimizer updates split over threads agree with one thread (to
// rounding; a fixed thread count repeats bit for bit).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/gemm.hpp"
#include "core/optimizer.hpp"
#include "core/parallel.hpp"
#include "core/registry.hpp"
#include "support/threads.hpp"

using namespace nnlab;
using namespace nnlab::test;

TEST_CASE("parallel_blocks covers [0, n) exactly once, in aligned blocks, one per thread at most") {
  for (int threads : {1, 2, 3, 4}) {
    Threads t(threads);
    for (Index n : {0, 1, 5, 15, 16, 17, 100, 1000, 4097}) {
      for (Index align : {1, 16}) {
        std::vector<int> hits(static_cast<std::size_t>(n), 0);
        std::vector<std::pair<Index, Index>> blocks(8, {-1, -1});
        parallel_blocks(n, 1e9, [&](int b, Index begin, Index end) {
          blocks[static_cast<std::size_t>(b)] = {begin, end};
          for (Index i = begin; i < end; ++i) ++hits[static_cast<std::size_t>(i)];
        }, align);
        CAPTURE(threads);
        CAPTURE(n);
        CAPTURE(align);
        for (int h : hits) CHECK(h == 1);
        const int count = parallel_block_count(n, 1e9, align);
        CHECK(count <= threads);
        CHECK(count >= 1);
        Index expected_begin = 0;
        for (int b = 0; b < count && n > 0; ++b) {
          const auto [begin, end] = blocks[static_cast<std::size_t>(b)];
          if (begin < 0) continue;  // an empty block is not called
          CHECK(begin == expected_begin);
          CHECK(begin % align == 0);
          expected_begin = end;
        }
        if (n > 0) CHECK(expected_begin == n);
      }
    }
  }
  // Too little work: one block on the calling thread.
  Threads t(2);
  int calls = 0;
  parallel_blocks(1000, kMinParallelWork - 1, [&](int b, Index begin, Index end) {
    ++calls;
    CHECK(b == 0);
    CHECK(begin == 0);
    CHECK(end == 1000);
  });
  CHECK(calls == 1);
}

TEST_CASE("dense and activations: 1 and 2 threads agree to rounding; a fixed thread count repeats bit for bit") {
  const MatF x = random_matrix(128, 784, 5), dy1 = random_matrix(128, 256, 6);
  auto run = [&](int threads) {
    Threads t(threads);
    auto dense = make_layer<float>("dense", 784, {{"out_features", 256}});
    auto act = make_layer<float>("elu", 256);
    const MatF y = act->forward(dense->forward(x, true), true);
    const MatF dx = dense->backward(act->backward(dy1));
    const MatF dw = *dense->parameters()[0].grad;
    return std::vector<MatF>{y, dx, dw};
  };
  const auto one = run(1), two = run(2), two_again = run(2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    CAPTURE(i);
    CHECK(two[i] == two_again[i]);
    CHECK((two[i] - one[i]).cwiseAbs().maxCoeff() <= 1e-4f * std::max(1.0f, one[i].cwiseAbs().maxCoeff()));
    // nnlab's product sums each element in an order fixed by k alone (core/gemm.hpp): then the
    // thread count does not change Dense's results at all.
    if (std::string(gemm_kernel()).starts_with("nnlab")) CHECK(two[i] == one[i]);
  }
  if (std::string(gemm_kernel()).starts_with("nnlab")) CHECK(run(3)[2] == one[2]);
}

TEST_CASE("optimizer updates split over threads give the same parameters as one thread") {
  for (const char* spec : {R"({"type": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01})",
                           R"({"type": "adam", "lr": 0.01})", R"({"type": "rmsprop", "lr": 0.01, "centered": true})"}) {
    CAPTURE(spec);
    auto run = [&](int threads) {
      Threads t(threads);
      MatF w = random_matrix(300, 200, 8), g = random_matrix(300, 200, 9), b = random_matrix(1, 300, 10),
           gb = random_matrix(1, 300, 11);
      std::vector<Param<float>> params{{"w", &w, &g, {300, 200}, true}, {"b", &b, &gb, {300}, false}};
      auto opt = make_optimizer(nlohmann::json::parse(spec));
      for (int step = 0; step < 5; ++step) opt->step(params);
      return std::pair{w, b};
    };
    const auto [w1, b1] = run(1);
    const auto [w2, b2] = run(2);
    CHECK((w1 - w2).cwiseAbs().maxCoeff() <= 1e-6f);
    CHECK((b1 - b2).cwiseAbs().maxCoeff() <= 1e-6f);
  }
}

TEST_CASE("set_threads: 0 is every available CPU, more than that is clamped with a warning") {
  const int cpus = available_cpus();
  REQUIRE(cpus >= 1);
  Threads keep(1);
  CHECK(set_threads(0) == cpus);
  CHECK(thread_count() == cpus);
  CHECK(set_threads(1) == 1);
  CHECK(threads_warning(cpus).empty());
  CHECK(set_threads(cpus + 7) == cpus);
  const std::string w = threads_warning(cpus + 7);
  CHECK(w.find("threads is " + std::to_string(cpus + 7)) != std::string::npos);
  CHECK(w.find("using " + std::to_string(cpus) + " threads") != std::string::npos);
}

TEST_CASE("the pool: nested loops run serially, an exception reaches the caller, concurrent callers all finish") {
  Threads t(3);
  // Nested: inside a block the thread count is 1, so the inner loop is one block on that thread.
  std::vector<int> inner_blocks(3, 0);
  parallel_blocks(3, 1e9, [&](int b, Index, Index) {
    CHECK(thread_count() == 1);
    parallel_blocks(100, 1e9, [&](int ib, Index begin, Index end) {
      CHECK(ib == 0);
      CHECK(begin == 0);
      CHECK(end == 100);
      ++inner_blocks[static_cast<std::size_t>(b)];
    });
  });
  CHECK(inner_blocks == std::vector<int>{1, 1, 1});
  CHECK(thread_count() == 3);
  // An exception in any block is rethrown by parallel_blocks after every block has finished.
  std::atomic<int> finished{0};
  CHECK_THROWS_WITH_AS(parallel_blocks(3, 1e9, [&](int b, Index, Index) {
                         if (b == 1) throw std::runtime_error("block 1 failed");
                         ++finished;
                       }),
                       "block 1 failed", std::runtime_error);
  CHECK(finished == 2);
  // Still usable afterwards, and from two threads at once (the second runs its blocks itself).
  std::atomic<long> total{0};
  auto sum = [&] {
    for (int rep = 0; rep < 200; ++rep)
      parallel_for_blocks(3000, 1e9, [&](Index begin, Index end) { total += end - begin; });
  };
  std::thread other(sum);
  sum();
  other.join();
  CHECK(total == 2L * 200 * 3000);
}
