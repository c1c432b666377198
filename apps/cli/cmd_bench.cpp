// nnlab bench CONFIG [--set k=v ...] [--epochs N] [--threads N] [--per-layer] [--json]
//
// Speed of one training configuration, measured the way `nnlab train` runs it but without
// evaluation or output files:
//   seconds per training epoch (median of the timed epochs, after one warm-up epoch), images per
//   second, the GFLOP/s of the epoch's matrix multiplies, peak resident memory of the process, and
//   the "GEMM floor": the time of that epoch's matrix multiplies alone with nnlab's product (core/gemm.hpp) at the same batch
//   size and thread count (bench/gemm_floor.hpp; Dense and Conv2d products), i.e. what the epoch would take if everything but
//   the matrix multiplies were free. bench/gemm_floor times the same products through OpenBLAS;
//   bench/compare.sh puts all of it beside PyTorch's figures.
// --per-layer adds one more epoch with the model's per-layer timers on (core/model.hpp) and prints
// each layer's forward and backward seconds, its share of that epoch and its GFLOP/s; what no layer
// accounts for is the loss, the optimizer step and the batch gather.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apps/cli/command.hpp"
#include "bench/gemm_floor.hpp"
#include "core/gemm.hpp"
#include "core/parallel.hpp"
#include "core/run/data.hpp"
#include "core/run/loop.hpp"
#include "core/run/setup.hpp"

namespace nnlab::app {
namespace {

struct BenchArgs {
  std::string config;
  std::vector<std::string> overrides;
  int epochs = 3, threads = -1, floor_repeats = 3;
  bool json = false, per_layer = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The machine a figure was measured on: /proc/cpuinfo's model name and the widest vector ISA.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string m = line.substr(line.find(':') + 1);
      m.erase(0, m.find_first_not_of(" \t"));
      return m;
    }
  return "unknown CPU";
}

std::string cpu_isa() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2+fma";
  if (__builtin_cpu_supports("avx")) return "avx";
  return "sse";
#else
  return "not x86-64";
#endif
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

void run_bench(const BenchArgs& a) {
  require_utf8("config", a.config);
  const RunSpec spec = load_config(a.config, a.overrides);
  const int requested = a.threads >= 0 ? a.threads : spec.train.threads;
  if (const std::string w = threads_warning(requested); !w.empty()) spdlog::warn("{}", w);
  const int threads = set_threads(requested);
  const auto t_load = std::chrono::steady_clock::now();
  const RunData data = load_run_data(spec.data, spec.train.seed);
  const double load_seconds = seconds_since(t_load);
  TrainingSetup setup = make_training(spec, data.train);  // exactly what nnlab train trains
  Model<float>& model = setup.model;
  // The batches training really forms: at most the training set (a batch_size beyond it is one batch).
  const Index B = std::min<Index>(spec.train.batch_size, data.train.rows);
  const Index batches = setup.steps_per_epoch;
  Trainer trainer(model, *setup.loss, *setup.optimizer, spec.train, setup.schedule.get());

  std::vector<bench::DenseShape> shapes;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (model.layer(i).type() == "dense")
      shapes.push_back({model.layer(i).in_features(), model.layer(i).out_features(), shapes.empty() && i == 0});
  // Convolutions: F, C/g·K·K and g from the weight's shape {F, C/g, K, K} and the input's channels.
  std::vector<bench::ConvShape> convs;
  for (std::size_t i = 0; i < model.size(); ++i) {
    Layer<float>& l = model.layer(i);
    if (l.type() != "conv2d") continue;
    const std::vector<std::int64_t> w = l.parameters().at(0).shape;  // a copy: parameters() is a temporary
    const Shape& out = l.output_shape();
    convs.push_back({w[0], w[1] * w[2] * w[3], l.input_shape().channels() / w[1], out[1] * out[2], i == 0});
  }
  const Index samples = batches == data.train.rows / B ? batches * B : data.train.rows;  // drop_last drops the rest
  const double flop_per_epoch =
      (bench::gemm_flop(shapes, B) + bench::gemm_flop(convs, B)) * static_cast<double>(samples) / static_cast<double>(B);

  std::vector<double> epoch_seconds;
  double warmup = 0, last_loss = 0;
  for (int e = 0; e <= a.epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    last_loss = trainer.train_epoch(data.train, e + 1, data.augment.get()).loss;
    (e == 0 ? warmup : epoch_seconds.emplace_back()) = seconds_since(t0);
  }
  nlohmann::json layers = nlohmann::json::array();
  double timed_epoch = 0;
  if (a.per_layer) {
    model.reset_timing();
    model.set_timing(true);
    const auto t0 = std::chrono::steady_clock::now();
    trainer.train_epoch(data.train, a.epochs + 2, data.augment.get());
    timed_epoch = seconds_since(t0);
    model.set_timing(false);
    for (std::size_t i = 0; i < model.size(); ++i)
      layers.push_back({{"index", i},
                        {"type", model.layer(i).type()},
                        {"output", model.layer(i).output_shape().str()},
                        {"mflop_per_sample", model.layer(i).flops() / 1e6},
                        {"forward_seconds", model.forward_seconds()[i]},
                        {"backward_seconds", model.backward_seconds()[i]}});
  }
  const double s = median(epoch_seconds);
  const double floor = bench::epoch_dense_gemm_seconds(shapes, B, samples, a.floor_repeats) +
                       (convs.empty() ? 0.0 : bench::epoch_conv_gemm_seconds(convs, B, samples, a.floor_repeats));
  const double rss = peak_rss_mb();
  std::string activation;  // the first activation's name, the thing comparisons vary
  for (std::size_t i = 0; i < model.size() && activation.empty(); ++i)
    if (is_activation(model.layer(i))) activation = model.layer(i).type();

  nlohmann::json j = {{"kind", "epoch"},
                      {"config", a.config},
                      {"activation", activation},
                      {"architecture", model.summary()},
                      {"threads", threads},
                      {"cpu", cpu_model()},
                      {"isa", cpu_isa()},
                      {"gemm_kernel", gemm_kernel()},
                      {"batch", B},
                      {"batches", batches},
                      {"seconds_median", s},
                      {"seconds_min", *std::min_element(epoch_seconds.begin(), epoch_seconds.end())},
                      {"seconds", epoch_seconds},
                      {"warmup_seconds", warmup},
                      {"images_per_second", static_cast<double>(samples) / s},
                      {"gemm_flop", flop_per_epoch},
                      {"gemm_gflops", flop_per_epoch / s / 1e9},
                      {"gemm_floor_seconds", floor},
                      {"gemm_floor_gflops", flop_per_epoch / floor / 1e9},
                      {"epoch_over_floor", s / floor},
                      {"peak_rss_mb", rss},
                      {"data_load_seconds", load_seconds},
                      {"train_loss", last_loss}};
  if (a.per_layer) j["per_layer"] = {{"epoch_seconds", timed_epoch}, {"layers", layers}};
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("%s  (%s, batch %ld, %d thread%s)\n", a.config.c_str(), model.summary().c_str(), static_cast<long>(B), threads,
              threads == 1 ? "" : "s");
  std::printf("  machine             %s (%s); matrix product: %s\n", cpu_model().c_str(), cpu_isa().c_str(), gemm_kernel());
  std::printf("  seconds per epoch   %.3f  (median of %d after a %.3f s warm-up; min %.3f)\n", s, a.epochs, warmup,
              j["seconds_min"].get<double>());
  std::printf("  images per second   %.0f\n", static_cast<double>(samples) / s);
  std::printf("  matrix multiplies   %.3g FLOP per epoch, %.1f GFLOP/s in training\n", flop_per_epoch, flop_per_epoch / s / 1e9);
  std::printf("  GEMM floor          %.3f s (%.1f GFLOP/s); the epoch takes %.2fx the floor\n", floor,
              flop_per_epoch / floor / 1e9, s / floor);
  std::printf("  peak memory         %.0f MB resident\n", rss);
  std::printf("  data loading        %.2f s\n", load_seconds);
  if (!a.per_layer) return;
  // Forward GFLOP/s counts the layer's own flops() per sample; backward does about twice that work.
  std::printf("\n  per layer, one more epoch with timers on (%.3f s)\n", timed_epoch);
  std::printf("  %3s  %-22s %-14s %9s %9s %9s %6s %9s\n", "#", "layer", "output", "MFLOP/smp", "fwd s", "bwd s", "share",
              "fwd GF/s");
  double in_layers = 0;
  for (const auto& l : layers) {
    const double f = l["forward_seconds"].get<double>(), b = l["backward_seconds"].get<double>();
    const double mflop = l["mflop_per_sample"].get<double>();
    in_layers += f + b;
    const std::string rate = f > 0 && mflop > 0 ? std::to_string(static_cast<int>(mflop * 1e6 * samples / f / 1e9)) : "-";
    std::printf("  %3d  %-22s %-14s %9.3f %9.3f %9.3f %5.1f%% %9s\n", l["index"].get<int>(), l["type"].get<std::string>().c_str(),
                l["output"].get<std::string>().c_str(), mflop, f, b, 100.0 * (f + b) / timed_epoch, rate.c_str());
  }
  std::printf("  %3s  %-22s %-14s %9s %19.3f %5.1f%%\n", "", "rest (loss, optimizer, batch gather)", "", "",
              timed_epoch - in_layers, 100.0 * (timed_epoch - in_layers) / timed_epoch);
}

void setup(CLI::App& sub) {
  auto a = std::make_shared<BenchArgs>();
  sub.add_option("config", a->config, "training config (JSON)")->required()->check(CLI::ExistingFile);
  sub.add_option("--set", a->overrides, "override a config value, e.g. model.activation=tanh");
  sub.add_option("--epochs", a->epochs, "timed epochs (after one warm-up epoch)")->check(CLI::Range(1, 1000));
  sub.add_option("--threads", a->threads, "CPU threads (default: the config's train.threads; 0: all cores)")->check(CLI::Range(0, 1024));
  sub.add_option("--floor-repeats", a->floor_repeats, "GEMM floor: best of this many timed epochs")->check(CLI::Range(1, 100));
  sub.add_flag("--per-layer", a->per_layer, "one more epoch with per-layer timers: each layer's forward and backward seconds");
  sub.add_flag("--json", a->json, "print one JSON line instead of the table");
  sub.callback([a] { run_bench(*a); });
}

}  // namespace

NNLAB_COMMAND("bench", "Time training epochs of a config: s/epoch, images/s, GFLOP/s, GEMM floor, peak memory", setup);

}  // namespace nnlab::app
