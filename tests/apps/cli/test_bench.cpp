// nnlab bench, run as the built binary: an epoch's time, throughput, GEMM FLOP and floor (bench/),
// and peak memory, as JSON.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/run_binary.hpp"

using namespace nnlab::test;

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

TEST_CASE("nnlab bench on a CNN: the convolutions' products are in the FLOP count and the floor") {
  TempDir dir("speed-bench-cnn");
  write_text(dir / "cnn.json", R"({
      "model": {"layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}, "relu",
                           {"type": "max_pool2d", "kernel_size": 2}, "flatten", {"type": "dense", "out_features": 10}]},
      "data": {"dataset": "shapes", "samples": 100, "test_samples": 20, "size": 16},
      "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
      "train": {"epochs": 1, "batch_size": 50, "seed": 1, "threads": 1}
    })");
  const ProcessResult r = run_nnlab({"bench", (dir / "cnn.json").string(), "--epochs", "1", "--floor-repeats", "1", "--json",
                                     "--per-layer", "--set", "model.activation=\"elu\""},
                                    dir.path);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["activation"] == "elu");  // the swap reaches the explicit list
  // conv 3→4 3×3 on 16×16 as the first layer (forward, dW): 2·F·P·(C·K·K) each; dense 256→10 (+ dx)
  const double flop = 2.0 * 100 * (4 * 256 * 27 * 2 + 256 * 10 * 3);
  CHECK(j["gemm_flop"].get<double>() == doctest::Approx(flop));
  CHECK(j["gemm_floor_seconds"].get<double>() > 0);
  // --per-layer: every layer of the model in order, with its shape, work and both passes timed
  const auto& per = j["per_layer"];
  const double epoch = per["epoch_seconds"].get<double>();
  REQUIRE(per["layers"].size() == 5);
  double in_layers = 0;
  const char* types[] = {"conv2d", "elu", "max_pool2d", "flatten", "dense"};
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& l = per["layers"][i];
    INFO(l.dump());
    CHECK(l["type"] == types[i]);
    CHECK(l["forward_seconds"].get<double>() >= 0);
    CHECK(l["backward_seconds"].get<double>() >= 0);
    in_layers += l["forward_seconds"].get<double>() + l["backward_seconds"].get<double>();
  }
  CHECK(per["layers"][0]["forward_seconds"].get<double>() > 0);  // real work is timed (a flatten may round to 0)
  CHECK(per["layers"][4]["backward_seconds"].get<double>() > 0);
  CHECK(per["layers"][0]["output"] == "[4, 16, 16]");
  CHECK(per["layers"][0]["mflop_per_sample"].get<double>() == doctest::Approx(4 * 256 * (2 * 27 + 1) / 1e6));
  CHECK(in_layers <= epoch);
}
