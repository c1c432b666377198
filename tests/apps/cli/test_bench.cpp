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
