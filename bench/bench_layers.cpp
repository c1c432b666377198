// Micro-benchmarks (Google Benchmark): every registered activation's forward and backward, Dense
// forward/backward at the shapes of the Fashion-MNIST MLP, and Conv2d forward/backward at the shapes
// of the shipped CNN configs (configs/fashion_cnn.json, the CIFAR VGG and ResNet-20 stages), and
// 2x2 max-pooling forward/backward at fashion_cnn's two pools (bytes moved per second).
//
//   build/bench/bench_layers [--benchmark_filter=relu] [--benchmark_min_time=0.2]
//   NNLAB_THREADS=2 build/bench/bench_layers      (default 1 thread: the kernels' own speed)
//
// Activations run on float32 batches of two sizes: 128 x 256 (32 Ki elements, 128 KiB: the MLP's
// first hidden layer, fits in L2) and 1024 x 4096 (4 Mi elements, 16 MiB: does not). Counters:
// elements per second (items_per_second) and bytes moved per second. Dense reports FLOP/s.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/registry.hpp"
#include "core/parallel.hpp"

using namespace nnlab;

namespace {

MatF random_batch(Index rows, Index cols, unsigned seed) {
  std::srand(seed);
  MatF m = MatF::Random(rows, cols) * 3.0f;  // inputs in [-3, 3]: both sides of every kink
  return m;
}

void activation_forward(benchmark::State& state, const std::string& name) {
  const Index rows = state.range(0), cols = state.range(1);
  auto layer = make_layer<float>(name, cols);
  const MatF x = random_batch(rows, cols, 1);
  for (auto _ : state) benchmark::DoNotOptimize(layer->forward(x, true).data());
  state.SetItemsProcessed(state.iterations() * x.size());
  state.SetBytesProcessed(state.iterations() * x.size() * 2 * static_cast<std::int64_t>(sizeof(float)));
}

void activation_backward(benchmark::State& state, const std::string& name) {
  const Index rows = state.range(0), cols = state.range(1);
  auto layer = make_layer<float>(name, cols);
  const MatF x = random_batch(rows, cols, 1), dy = random_batch(rows, cols, 2);
  layer->forward(x, true);
  for (auto _ : state) benchmark::DoNotOptimize(layer->backward(dy).data());
  state.SetItemsProcessed(state.iterations() * x.size());
  state.SetBytesProcessed(state.iterations() * x.size() * 4 * static_cast<std::int64_t>(sizeof(float)));
}

void dense_forward(benchmark::State& state) {
  const Index batch = state.range(0), in = state.range(1), out = state.range(2);
  auto layer = make_layer<float>("dense", in, {{"out_features", out}});
  const MatF x = random_batch(batch, in, 1);
  for (auto _ : state) benchmark::DoNotOptimize(layer->forward(x, true).data());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(batch * in * out) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

// range(3) = 1: also dx (a hidden layer); 0: parameter gradients only (the first layer in training).
void dense_backward(benchmark::State& state) {
  const Index batch = state.range(0), in = state.range(1), out = state.range(2);
  auto layer = make_layer<float>("dense", in, {{"out_features", out}});
  layer->set_input_grad(state.range(3) != 0);
  const MatF x = random_batch(batch, in, 1), dy = random_batch(batch, out, 2);
  layer->forward(x, true);
  for (auto _ : state) benchmark::DoNotOptimize(layer->backward(dy).data());
  const double products = state.range(3) != 0 ? 2.0 : 1.0;
  state.counters["FLOP/s"] = benchmark::Counter(
      products * 2.0 * static_cast<double>(batch * in * out) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Conv2d on a batch of range(0) samples [range(1), range(2), range(2)] -> range(3) channels, kernel
// range(4), padding range(4)/2, stride range(5); range(6) = 1: backward computes dx too.
nlohmann::json conv_params(const benchmark::State& state) {
  return {{"out_channels", state.range(3)}, {"kernel_size", state.range(4)}, {"padding", state.range(4) / 2},
          {"stride", state.range(5)}};
}

void conv_forward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto layer = make_layer<float>("conv2d", Shape{state.range(1), state.range(2), state.range(2)}, conv_params(state));
  const MatF x = random_batch(batch, layer->in_features(), 1);
  for (auto _ : state) benchmark::DoNotOptimize(layer->forward(x, true).data());
  state.counters["FLOP/s"] = benchmark::Counter(layer->flops() * static_cast<double>(batch * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void conv_backward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto layer = make_layer<float>("conv2d", Shape{state.range(1), state.range(2), state.range(2)}, conv_params(state));
  layer->set_input_grad(state.range(6) != 0);
  const MatF x = random_batch(batch, layer->in_features(), 1), dy = random_batch(batch, layer->out_features(), 2);
  layer->forward(x, true);
  for (auto _ : state) benchmark::DoNotOptimize(layer->backward(dy).data());
  const double products = state.range(6) != 0 ? 2.0 : 1.0;
  state.counters["FLOP/s"] = benchmark::Counter(products * layer->flops() * static_cast<double>(batch * state.iterations()),
                                                benchmark::Counter::kIsRate);
}

// max_pool2d 2x2, stride 2, on range(0) samples [range(1), range(2), range(2)]; the bytes counted are
// the input and output once each (forward: x in, y and the argmax out; backward: dy and argmax in,
// dx out).
void pool_forward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto layer = make_layer<float>("max_pool2d", Shape{state.range(1), state.range(2), state.range(2)}, {{"kernel_size", 2}});
  const MatF x = random_batch(batch, layer->in_features(), 1);
  for (auto _ : state) benchmark::DoNotOptimize(layer->forward(x, true).data());
  state.SetBytesProcessed(state.iterations() * batch * (layer->in_features() + 2 * layer->out_features()) * 4);
}

void pool_backward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto layer = make_layer<float>("max_pool2d", Shape{state.range(1), state.range(2), state.range(2)}, {{"kernel_size", 2}});
  const MatF x = random_batch(batch, layer->in_features(), 1), dy = random_batch(batch, layer->out_features(), 2);
  layer->forward(x, true);
  for (auto _ : state) benchmark::DoNotOptimize(layer->backward(dy).data());
  state.SetBytesProcessed(state.iterations() * batch * (layer->in_features() + 2 * layer->out_features()) * 4);
}

}  // namespace

int main(int argc, char** argv) {
  const char* t = std::getenv("NNLAB_THREADS");
  set_threads(t ? std::atoi(t) : 1);
  for (const auto* e : LayerRegistry::instance().all()) {
    if (!is_activation(e->kind)) continue;
    for (auto [kind, fn] : {std::pair{"forward", &activation_forward}, std::pair{"backward", &activation_backward}}) {
      benchmark::RegisterBenchmark(("activation/" + e->name + "/" + kind).c_str(), fn, e->name)
          ->Args({128, 256})
          ->Args({1024, 4096})
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (auto shape : {std::vector<std::int64_t>{128, 784, 256}, {128, 256, 128}, {128, 128, 10}}) {
    benchmark::RegisterBenchmark("dense/forward", dense_forward)->Args(shape)->Unit(benchmark::kMicrosecond);
    for (std::int64_t dx : {0, 1}) {
      auto args = shape;
      args.push_back(dx);
      benchmark::RegisterBenchmark("dense/backward", dense_backward)->Args(args)->Unit(benchmark::kMicrosecond);
    }
  }
  // batch, in channels, side, out channels, kernel, stride, (backward: dx)
  for (auto shape : {std::vector<std::int64_t>{128, 1, 28, 32, 3, 1, 0},  // fashion_cnn conv1 (first layer: no dx)
                     {128, 32, 14, 64, 3, 1, 1},                          // fashion_cnn conv2
                     {128, 16, 32, 16, 3, 1, 1},                          // ResNet-20 stage 1
                     {128, 32, 16, 32, 3, 1, 1},                          // ResNet-20 stage 2
                     {128, 64, 8, 64, 3, 1, 1},                           // ResNet-20 stage 3
                     {128, 16, 32, 32, 1, 2, 1}}) {                       // a projection shortcut
    benchmark::RegisterBenchmark("conv2d/forward", conv_forward)
        ->Args({shape.begin(), shape.end() - 1})
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("conv2d/backward", conv_backward)->Args(shape)->Unit(benchmark::kMicrosecond);
  }
  for (auto shape : {std::vector<std::int64_t>{128, 32, 28}, {128, 64, 14}}) {  // fashion_cnn's pools
    benchmark::RegisterBenchmark("max_pool2d/forward", pool_forward)->Args(shape)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("max_pool2d/backward", pool_backward)->Args(shape)->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
