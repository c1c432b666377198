// The CIFAR-10 binary loader on tiny files written here in the exact record format (label byte +
// 1024 R + 1024 G + 1024 B), damaged ones included; the registry entries of both CIFAR loaders; and
// configs/cifar10_mlp.json training on such a directory with its augmentation.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/run/spec.hpp"
#include "core/run/run.hpp"
#include "support/cifar_files.hpp"
#include "support/datasets.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

// ---- registry -----------------------------------------------------------------------------------

TEST_CASE("cifar10 and cifar100 are registered with their parameters and defaults") {
  const auto& reg = DatasetRegistry::instance();
  const DatasetEntry* c10 = reg.find("cifar10");
  const DatasetEntry* c100 = reg.find("cifar100");
  REQUIRE(c10);
  REQUIRE(c100);
  const Args a = parse_args(c10->params, nlohmann::json::object(), "data");
  CHECK(a.text("path") == "data/cifar-10-batches-bin");
  CHECK(a.integer("crop_padding") == 0);
  CHECK(a.boolean("random_flip") == false);
  CHECK_FALSE(a.has("label"));
  const Args b = parse_args(c100->params, nlohmann::json::object(), "data");
  CHECK(b.text("path") == "data/cifar-100-binary");
  CHECK(b.text("label") == "fine");
  CHECK(b.integer("crop_padding") == 0);
  CHECK(b.boolean("random_flip") == false);

  CHECK_THROWS_AS(parse_args(c100->params, {{"label", "medium"}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(c10->params, {{"crop_padding", -1}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(c10->params, {{"crop_padding", 1.5}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(c10->params, {{"random_flip", "yes"}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(c10->params, {{"label", "fine"}}, "data"), ConfigError);  // CIFAR-10 has one label
}

// ---- CIFAR-10 -----------------------------------------------------------------------------------

TEST_CASE("CIFAR-10: five training batches in order, the test batch, every field") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 5, 5);
  const DataSplits s = load("cifar10", {{"path", tmp.path.string()}});

  CHECK(s.train.name == "cifar10/train");
  CHECK(s.test.name == "cifar10/test");
  CHECK(s.train.rows == 25);
  CHECK(s.test.rows == 5);
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->features == 3072);
    CHECK(d->channels == 3);
    CHECK(d->shape == std::vector<Index>{3, 32, 32});
    CHECK(d->classes == 10);
    CHECK(d->class_names == std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                     "horse", "ship", "truck"});
    CHECK(d->values.empty());
    CHECK(d->bytes.size() == static_cast<std::size_t>(d->rows) * pixels);
    CHECK(d->scale == doctest::Approx(1.0 / 255));
    CHECK(d->mean == std::vector<float>{0.4914f, 0.4822f, 0.4465f});
    CHECK(d->stddev == std::vector<float>{0.2470f, 0.2435f, 0.2616f});
    CHECK_NOTHROW(d->validate());
  }
  CHECK_FALSE(s.augment);  // off by default
  // Labels in file order: data_batch_1 first, record order within each file.
  for (std::size_t i = 0; i < 25; ++i) CHECK(s.train.labels[i] == label10(i));
  for (std::size_t i = 0; i < 5; ++i) CHECK(s.test.labels[i] == label10(1000 + i));
  // The bytes are each record's pixels, CHW, unchanged.
  for (std::size_t i : {std::size_t{0}, std::size_t{7}, std::size_t{24}})
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t h : {0, 5, 31})
        for (std::size_t w : {0, 17, 31}) CHECK(s.train.bytes[i * pixels + c * plane + h * 32 + w] == pixel(i, c, h, w));
  CHECK(s.test.bytes[3 * pixels + 2 * plane + 31 * 32 + 31] == pixel(1003, 2, 31, 31));
}

TEST_CASE("CIFAR-10: gather() places every pixel CHW and normalises it per channel") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 5, 5);
  const DataSplits s = load("cifar10", {{"path", tmp.path.string()}});
  const std::array<Index, 3> idx = {13, 0, 24};  // 13 is record 3 of data_batch_3.bin
  MatF x;
  std::vector<std::int32_t> y;
  s.train.gather(idx, x, y);
  REQUIRE(x.rows() == 3);
  REQUIRE(x.cols() == 3072);
  CHECK(y == std::vector<std::int32_t>{label10(13), label10(0), label10(24)});
  double worst = 0;
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < 3; ++c)
      for (std::size_t h = 0; h < 32; ++h)
        for (std::size_t w = 0; w < 32; ++w) {
          const double want = normalised(pixel(static_cast<std::size_t>(idx[r]), c, h, w), s.train.mean, s.train.stddev, c);
          const double got = x(static_cast<Index>(r), static_cast<Index>(c * plane + h * 32 + w));
          worst = std::max(worst, std::abs(got - want));
        }
  CHECK(worst < 2e-6);
  // One value spelled out: red (channel 0) pixel (row 2, column 1) of image 13 = (13·29 + 2·13 + 3) % 256 = 150.
  CHECK(pixel(13, 0, 2, 1) == 150);
  CHECK(x(0, 2 * 32 + 1) == doctest::Approx((150 / 255.0 - 0.4914) / 0.2470).epsilon(1e-6));
  // The same position in the blue plane uses the blue constants: (377 + 202 + 26 + 3) % 256 = 96.
  CHECK(pixel(13, 2, 2, 1) == 96);
  CHECK(x(0, 2 * 1024 + 2 * 32 + 1) == doctest::Approx((96 / 255.0 - 0.4465) / 0.2616).epsilon(1e-6));
}

TEST_CASE("CIFAR-10: any whole number of records per file; augmentation only on the training split") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 2, 3);
  const DataSplits s =
      load("cifar10", {{"path", tmp.path.string()}, {"crop_padding", 4}, {"random_flip", true}});
  CHECK(s.train.rows == 10);
  CHECK(s.test.rows == 3);
  // The loader returns the augmentation beside the data; the loop applies it to training batches only.
  REQUIRE(s.augment);
  CHECK(s.augment->describe() == "crop_padding = 4, random_flip = true");
}

TEST_CASE("CIFAR-10: damaged and missing files are named, with what is wrong") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 5, 5);
  const std::string dir = tmp.path.string();

  SUBCASE("a truncated record") {
    const fs::path f = tmp / "data_batch_2.bin";
    fs::resize_file(f, 5 * 3073 - 2);
    CHECK(load_error("cifar10", tmp.path) == f.string() + ": 15363 bytes is not a whole number of 3073-byte records (truncated?)");
  }
  SUBCASE("one byte too many (the brief's example size)") {
    const fs::path f = tmp / "test_batch.bin";
    Bytes b;
    for (std::size_t k = 0; k < 10; ++k) {
      const Bytes r = record({1}, k);
      b.insert(b.end(), r.begin(), r.end());
    }
    b.push_back(0);
    write_bytes(f, b);
    CHECK(load_error("cifar10", tmp.path) == f.string() + ": 30731 bytes is not a whole number of 3073-byte records (truncated?)");
  }
  SUBCASE("a CIFAR-100 file in a CIFAR-10 directory does not pass as whole records") {
    const fs::path f = tmp / "data_batch_1.bin";
    write_bytes(f, record({3, 7}, 0));  // 3074 bytes
    CHECK(contains(load_error("cifar10", tmp.path), ": 3074 bytes is not a whole number of 3073-byte records"));
  }
  SUBCASE("a label out of range") {
    const fs::path f = tmp / "data_batch_4.bin";
    Bytes b;
    for (std::size_t k = 0; k < 5; ++k) {
      const Bytes r = record({static_cast<std::uint8_t>(k == 3 ? 10 : 1)}, k);
      b.insert(b.end(), r.begin(), r.end());
    }
    write_bytes(f, b);
    CHECK(load_error("cifar10", tmp.path) == f.string() + ": label 10 of record 3 is outside 0..9");
    b[3 * 3073] = 255;
    write_bytes(f, b);
    CHECK(load_error("cifar10", tmp.path) == f.string() + ": label 255 of record 3 is outside 0..9");
  }
  SUBCASE("data_batch_3.bin missing") {
    fs::remove(tmp / "data_batch_3.bin");
    const std::string msg = load_error("cifar10", tmp.path);
    CHECK(starts_with(msg, "data.path: '" + dir + "' has no data_batch_3.bin (it holds: data_batch_1.bin, "
                                                  "data_batch_2.bin, data_batch_4.bin, data_batch_5.bin, test_batch.bin)"));
    CHECK(contains(msg, "scripts/fetch_data.sh cifar10 downloads and unpacks cifar-10-binary.tar.gz"));
  }
  SUBCASE("every missing file is listed at once") {
    fs::remove(tmp / "data_batch_1.bin");
    fs::remove(tmp / "test_batch.bin");
    CHECK(contains(load_error("cifar10", tmp.path), "has no data_batch_1.bin, test_batch.bin (it holds:"));
  }
  SUBCASE("an empty file") {
    write_bytes(tmp / "data_batch_5.bin", {});
    CHECK(load_error("cifar10", tmp.path) ==
          (tmp / "data_batch_5.bin").string() + ": file is empty (expected cifar10 records of 3073 bytes)");
  }
  SUBCASE("the data file is a directory") {
    fs::remove(tmp / "data_batch_2.bin");
    fs::create_directories(tmp / "data_batch_2.bin");
    CHECK(contains(load_error("cifar10", tmp.path), "has no data_batch_2.bin"));
  }
}

TEST_CASE("CIFAR-10: missing directory, a file instead of one, the archive's parent folder") {
  TempDir tmp("cifar");
  const fs::path nowhere = tmp / "nowhere";
  std::string msg = load_error("cifar10", nowhere);
  CHECK(msg == "data.path: directory '" + nowhere.string() +
                   "' does not exist; scripts/fetch_data.sh cifar10 downloads and unpacks cifar-10-binary.tar.gz");
  msg = data_error([&] { load("cifar10", nlohmann::json::object()); });  // the default, relative path
  CHECK(starts_with(msg, "data.path: directory 'data/cifar-10-batches-bin' does not exist (relative to the working "
                         "directory "));
  CHECK(contains(msg, "scripts/fetch_data.sh cifar10"));

  write_bytes(tmp / "a-file", {1});
  CHECK(starts_with(load_error("cifar10", tmp / "a-file"),
                    "data.path: '" + (tmp / "a-file").string() + "' is not a directory; it should hold the cifar10 "
                                                                 "binary files (data_batch_1.bin"));

  TempDir empty("cifar");
  CHECK(contains(load_error("cifar10", empty.path), "has no data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, "
                                                    "data_batch_4.bin, data_batch_5.bin, test_batch.bin (the directory "
                                                    "is empty)"));

  // data.path pointing at the folder the archive was unpacked into.
  write_cifar10(tmp / "cifar-10-batches-bin", 1, 1);
  msg = load_error("cifar10", tmp.path);
  CHECK(contains(msg, "has no data_batch_1.bin"));
  CHECK(contains(msg, "did you mean data.path = '" + (tmp / "cifar-10-batches-bin").string() + "'?"));
  CHECK(load("cifar10", {{"path", (tmp / "cifar-10-batches-bin").string()}}).train.rows == 5);
}

// ---- end to end ---------------------------------------------------------------------------------

TEST_CASE("configs/cifar10_mlp.json trains on a tiny CIFAR-10 directory, reproducibly, with augmentation") {
  TempDir data("cifar"), out_a("cifar"), out_b("cifar");
  write_cifar10(data.path, 8, 10);
  auto run = [&](const fs::path& out) {
    RunSpec cfg = load_config(std::string(NNLAB_SOURCE_DIR) + "/configs/cifar10_mlp.json",
                                {"data.path=" + data.path.string(), "output.dir=" + out.string(), "train.epochs=2",
                                 "train.threads=1", "train.batch_size=16"});
    CHECK(cfg.data.to_json()["crop_padding"] == 4);
    CHECK(cfg.data.to_json()["random_flip"] == true);
    CHECK(cfg.data.to_json()["dataset"] == "cifar10");
    const RunData d = load_run_data(cfg.data, cfg.train.seed);
    REQUIRE(d.augment);
    CHECK(d.augment->describe() == "crop_padding = 4, random_flip = true");
    return run_training(cfg);
  };
  const auto a = run(out_a.path);
  const auto b = run(out_b.path);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(std::isfinite(a[e].train.loss));
    CHECK(a[e].train.loss == b[e].train.loss);  // augmentation draws are seeded
    CHECK(a[e].test.loss == b[e].test.loss);
  }
  CHECK(a[0].train.samples == 40);
  CHECK(a[0].test.samples == 10);
}
