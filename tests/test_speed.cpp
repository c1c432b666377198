// The speed machinery must not change results: the thread partition (core/parallel.hpp), the
// first layer's skipped dx, and `nnlab bench`'s accounting.
#include <doctest/doctest.h>
#include <omp.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/loss.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/parallel.hpp"
#include "core/registry.hpp"
#include "core/run/trainer.hpp"
#include "support/run_binary.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

// Restores the OpenMP thread count when a test ends.
struct Threads {
  int saved = omp_get_max_threads();
  explicit Threads(int n) { omp_set_num_threads(n); }
  ~Threads() { omp_set_num_threads(saved); }
};

MatF random_matrix(Index rows, Index cols, unsigned seed) {
  std::srand(seed);
  return MatF::Random(rows, cols);
}

}  // namespace

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

TEST_CASE("dense without input gradient: same parameter gradients, dx not computed") {
  auto with = make_layer<float>("dense", 784, {{"out_features", 256}});
  auto without = make_layer<float>("dense", 784, {{"out_features", 256}});
  without->set_input_grad(false);
  const MatF x = random_matrix(128, 784, 1), dy = random_matrix(128, 256, 2);
  with->forward(x, true);
  without->forward(x, true);
  const MatF dx = with->backward(dy);
  const MatF& skipped = without->backward(dy);
  CHECK(dx.rows() == 128);
  CHECK(skipped.size() == 0);  // never computed, so never even sized
  auto pw = with->parameters(), po = without->parameters();
  REQUIRE(pw.size() == 2);
  for (std::size_t i = 0; i < pw.size(); ++i) CHECK(*pw[i].grad == *po[i].grad);
}

TEST_CASE("Model::set_input_grad(false) turns off only the first layer's dx; parameter gradients unchanged") {
  const auto spec = nlohmann::json::parse(R"([{"type": "dense", "out_features": 16}, {"type": "tanh"},
                                             {"type": "dense", "out_features": 3}])");
  Model<float> a = build_model<float>(spec, 8, 7), b = build_model<float>(spec, 8, 7);
  b.set_input_grad(false);
  CHECK(a.layer(0).input_grad());
  CHECK_FALSE(b.layer(0).input_grad());
  CHECK(b.layer(1).input_grad());
  CHECK(b.layer(2).input_grad());
  const MatF x = random_matrix(5, 8, 3), dy = random_matrix(5, 3, 4);
  CHECK(a.forward(x, true) == b.forward(x, true));
  CHECK(a.backward(dy).rows() == 5);
  b.backward(dy);
  auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(*pa[i].grad == *pb[i].grad);
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
  }
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

TEST_CASE("nnlab bench reports an epoch's time, throughput, GEMM FLOP and floor, and peak memory") {
  TempDir dir("speed-bench");
  write_text(dir / "tiny.json", R"({
      "model": {"hidden": [32, 16], "activation": "tanh"},
      "data": {"dataset": "spirals", "classes": 2, "samples": 200, "test_samples": 50},
      "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
      "train": {"epochs": 1, "batch_size": 64, "seed": 1, "threads": 1}
    })");
  const ProcessResult r = run_nnlab({"bench", (dir / "tiny.json").string(), "--epochs", "2", "--floor-repeats", "1", "--json",
                                 "--set", "model.activation=\"relu\""},
                                dir.path);
  INFO(r.err);
  CHECK(r.status == 0);
  const std::string out = r.out;
  const auto j = nlohmann::json::parse(out);
  CHECK(j["activation"] == "relu");  // --set applies
  CHECK(j["threads"] == 1);
  CHECK(j["batch"] == 64);
  CHECK(j["batches"] == 7);  // 2 classes x 200 samples = 400, ceil(400 / 64)
  CHECK(j["seconds"].size() == 2);
  CHECK(j["seconds_median"].get<double>() > 0);
  CHECK(j["gemm_floor_seconds"].get<double>() > 0);
  // spirals have 2 features and 2 classes: dense 2→32 (forward, dW), 32→16 and 16→2 (+ dx), 400 samples
  const double flop = 2.0 * 400 * (2 * 32 * 2 + 32 * 16 * 3 + 16 * 2 * 3);
  CHECK(j["gemm_flop"].get<double>() == doctest::Approx(flop));
  CHECK(j["images_per_second"].get<double>() == doctest::Approx(400 / j["seconds_median"].get<double>()));
  CHECK(j["peak_rss_mb"].get<double>() > 1);
  CHECK(j["peak_rss_mb"].get<double>() < 1000);
}

// Counting allocations: malloc is interposed in this test program (not under AddressSanitizer,
// which owns malloc itself). Eigen's aligned buffers and std containers both end in malloc.
#if !defined(__SANITIZE_ADDRESS__)
extern "C" void* __libc_malloc(std::size_t);
namespace {
std::atomic<long> g_mallocs{0};
}
extern "C" void* malloc(std::size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}

TEST_CASE("a training epoch allocates nothing per batch (buffers sized once, product scratch on the stack)") {
  Dataset data;
  data.name = "random";
  data.rows = 64 * 40, data.features = 784, data.classes = 10, data.channels = 1;
  data.bytes.resize(static_cast<std::size_t>(data.rows * data.features));
  data.labels.resize(static_cast<std::size_t>(data.rows));
  for (std::size_t i = 0; i < data.bytes.size(); ++i) data.bytes[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 24);
  for (std::size_t i = 0; i < data.labels.size(); ++i) data.labels[i] = static_cast<std::int32_t>(i % 10);
  data.mean = {0.5f}, data.stddev = {0.25f}, data.scale = 1.0f / 255.0f;
  const auto spec = nlohmann::json::parse(R"([{"type": "dense", "out_features": 256}, {"type": "relu"},
      {"type": "dense", "out_features": 128}, {"type": "elu"}, {"type": "dense", "out_features": 10}])");
  for (int threads : {1, 2})
  for (std::string on_nonfinite : {"stop", "skip"}) {  // skip: the per-batch gradient check too
    Threads t(threads);
    Model<float> model = build_model<float>(spec, 784, 1);
    auto loss = make_loss<float>("cross_entropy");
    auto opt = make_optimizer(nlohmann::json::parse(R"({"type": "sgd", "lr": 0.01, "momentum": 0.9})"));
    TrainSettings settings;
    settings.batch_size = 64;
    settings.on_nonfinite = on_nonfinite;
    Trainer trainer(model, *loss, *opt, settings);
    trainer.train_epoch(data, 1);  // sizes every buffer
    const long before = g_mallocs.load();
    trainer.train_epoch(data, 2);  // 40 batches
    const long per_epoch = g_mallocs.load() - before;
    CAPTURE(threads);
    CAPTURE(on_nonfinite);
    CHECK(per_epoch < 10);  // the epoch's shuffled order, not one per batch
  }
}
#endif
