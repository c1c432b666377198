// CIFAR-10 / CIFAR-100 binary loaders on tiny files written here in the exact record format
// (label byte(s) + 1024 R + 1024 G + 1024 B), damaged ones included, and the training
// augmentation (random crop with padding, horizontal flip) against a reference written out the
// long way: pad explicitly, cut the window, mirror.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/run/config.hpp"
#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/run/trainer.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

template <typename F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  }
  return "<no error>";
}

DataSplits load(const std::string& name, const nlohmann::json& params) {
  const auto& entry = DatasetRegistry::instance().get(name, "dataset", "data.dataset");
  return entry.load(parse_args(entry.params, params, "data"));
}

std::string load_error(const std::string& name, const fs::path& dir, nlohmann::json params = nlohmann::json::object()) {
  params["path"] = dir.string();
  return data_error([&] { load(name, params); });
}

// ---- tiny CIFAR files ---------------------------------------------------------------------------

constexpr std::size_t plane = 32 * 32, pixels = 3 * plane;

// Pixel value at (channel c, row h, column w) of image `image` (a global id over all files):
// every channel, row and column contributes differently, so a misplaced byte changes the value.
std::uint8_t pixel(std::size_t image, std::size_t c, std::size_t h, std::size_t w) {
  return static_cast<std::uint8_t>((image * 29 + c * 101 + h * 13 + w * 3) % 256);
}

// One record: label bytes, then R, G, B planes, each row-major 32×32.
Bytes record(const Bytes& label_bytes, std::size_t image) {
  Bytes r = label_bytes;
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t h = 0; h < 32; ++h)
      for (std::size_t w = 0; w < 32; ++w) r.push_back(pixel(image, c, h, w));
  return r;
}

// CIFAR-10 labels of image i: chosen so every batch file holds several classes.
std::uint8_t label10(std::size_t image) { return static_cast<std::uint8_t>((image * 7 + 3) % 10); }

// data_batch_1..5.bin with `per_file` records each (images 0..5·per_file−1 in order), test_batch.bin
// with `test_records` records (images 1000, 1001, ...).
void write_cifar10(const fs::path& dir, std::size_t per_file = 5, std::size_t test_records = 5) {
  fs::create_directories(dir);
  for (std::size_t f = 0; f < 5; ++f) {
    Bytes b;
    for (std::size_t k = 0; k < per_file; ++k) {
      const std::size_t image = f * per_file + k;
      const Bytes r = record({label10(image)}, image);
      b.insert(b.end(), r.begin(), r.end());
    }
    write_bytes(dir / ("data_batch_" + std::to_string(f + 1) + ".bin"), b);
  }
  Bytes t;
  for (std::size_t k = 0; k < test_records; ++k) {
    const Bytes r = record({label10(1000 + k)}, 1000 + k);
    t.insert(t.end(), r.begin(), r.end());
  }
  write_bytes(dir / "test_batch.bin", t);
}

// CIFAR-100: coarse label, fine label. Fine labels of the real set map to coarse superclasses;
// here any consistent pair will do: fine = (11·i + 5) % 100, coarse = fine % 20.
std::uint8_t fine100(std::size_t image) { return static_cast<std::uint8_t>((image * 11 + 5) % 100); }
std::uint8_t coarse100(std::size_t image) { return static_cast<std::uint8_t>(fine100(image) % 20); }

void write_cifar100(const fs::path& dir, std::size_t train_records = 7, std::size_t test_records = 4) {
  fs::create_directories(dir);
  for (const auto& [name, count, first] : {std::tuple<const char*, std::size_t, std::size_t>{"train.bin", train_records, 0},
                                           {"test.bin", test_records, 500}}) {
    Bytes b;
    for (std::size_t k = 0; k < count; ++k) {
      const Bytes r = record({coarse100(first + k), fine100(first + k)}, first + k);
      b.insert(b.end(), r.begin(), r.end());
    }
    write_bytes(dir / name, b);
  }
}

std::string name_lines(const std::string& prefix, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) s += prefix + std::to_string(k) + "\n";
  return s;
}

// Normalised value gather() must produce for a raw byte in channel c.
double normalised(std::uint8_t raw, const std::vector<float>& mean, const std::vector<float>& sd, std::size_t c) {
  return (raw / 255.0 - mean[c]) / sd[c];
}

}  // namespace

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
    CHECK_FALSE(d->augments());  // off by default
  }
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
  CHECK(s.train.crop_padding == 4);
  CHECK(s.train.random_flip);
  CHECK(s.train.augments());
  CHECK(s.test.crop_padding == 0);
  CHECK_FALSE(s.test.random_flip);
  CHECK_FALSE(s.test.augments());
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

// ---- CIFAR-100 ----------------------------------------------------------------------------------

TEST_CASE("CIFAR-100: fine labels by default, coarse on request, two label bytes per record") {
  TempDir tmp("cifar");
  write_cifar100(tmp.path, 7, 4);
  const DataSplits fine = load("cifar100", {{"path", tmp.path.string()}});
  const DataSplits coarse = load("cifar100", {{"path", tmp.path.string()}, {"label", "coarse"}});

  CHECK(fine.train.name == "cifar100/train");
  CHECK(fine.test.name == "cifar100/test");
  for (const DataSplits* s : {&fine, &coarse}) {
    CHECK(s->train.rows == 7);
    CHECK(s->test.rows == 4);
    CHECK(s->train.features == 3072);
    CHECK(s->train.channels == 3);
    CHECK(s->train.shape == std::vector<Index>{3, 32, 32});
    CHECK(s->train.mean == std::vector<float>{0.5071f, 0.4865f, 0.4409f});
    CHECK(s->train.stddev == std::vector<float>{0.2673f, 0.2564f, 0.2762f});
    // Both label bytes are skipped: the pixels start right after them.
    for (std::size_t i = 0; i < 7; ++i)
      for (std::size_t c = 0; c < 3; ++c)
        CHECK(s->train.bytes[i * pixels + c * plane + 9 * 32 + 4] == pixel(i, c, 9, 4));
    CHECK(s->test.bytes[3 * pixels + 3071] == pixel(503, 2, 31, 31));
  }
  CHECK(fine.train.classes == 100);
  CHECK(coarse.train.classes == 20);
  CHECK(fine.test.classes == 100);
  CHECK(coarse.test.classes == 20);
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(fine.train.labels[i] == fine100(i));
    CHECK(coarse.train.labels[i] == coarse100(i));
  }
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(fine.test.labels[i] == fine100(500 + i));
    CHECK(coarse.test.labels[i] == coarse100(500 + i));
  }
  // The pair is distinguishable in this data (else the test would prove nothing).
  CHECK(fine.train.labels != coarse.train.labels);

  // Without name files the classes are numbered.
  REQUIRE(fine.train.class_names.size() == 100);
  CHECK(fine.train.class_names[0] == "0");
  CHECK(fine.train.class_names[99] == "99");
  REQUIRE(coarse.train.class_names.size() == 20);
  CHECK(coarse.train.class_names[19] == "19");

  // gather(): per-channel CIFAR-100 constants.
  MatF x;
  std::vector<std::int32_t> y;
  const std::array<Index, 1> idx = {5};
  fine.train.gather(idx, x, y);
  CHECK(y[0] == fine100(5));
  for (std::size_t c = 0; c < 3; ++c)
    CHECK(x(0, static_cast<Index>(c * plane + 20 * 32 + 30)) ==
          doctest::Approx(normalised(pixel(5, c, 20, 30), fine.train.mean, fine.train.stddev, c)).epsilon(1e-6));
}

TEST_CASE("CIFAR-100: class names from fine_label_names.txt / coarse_label_names.txt") {
  TempDir tmp("cifar");
  write_cifar100(tmp.path, 3, 2);
  // The official files end with blank lines; Windows line ends and stray spaces are tolerated.
  write_text(tmp / "fine_label_names.txt", "apple\r\naquarium_fish\n" + name_lines("fine", 98) + "\n\n");
  write_text(tmp / "coarse_label_names.txt", " aquatic_mammals \n" + name_lines("coarse", 19) + "\n");
  const DataSplits fine = load("cifar100", {{"path", tmp.path.string()}});
  REQUIRE(fine.train.class_names.size() == 100);
  CHECK(fine.train.class_names[0] == "apple");
  CHECK(fine.train.class_names[1] == "aquarium_fish");
  CHECK(fine.train.class_names[99] == "fine97");
  CHECK(fine.test.class_names == fine.train.class_names);
  const DataSplits coarse = load("cifar100", {{"path", tmp.path.string()}, {"label", "coarse"}});
  REQUIRE(coarse.train.class_names.size() == 20);
  CHECK(coarse.train.class_names[0] == "aquatic_mammals");
  CHECK(coarse.train.class_names[19] == "coarse18");

  write_text(tmp / "coarse_label_names.txt", name_lines("c", 21));
  CHECK(load_error("cifar100", tmp.path, {{"label", "coarse"}}) ==
        (tmp / "coarse_label_names.txt").string() + ": 21 class names (non-empty lines) for 20 classes");
  // The fine set does not read the coarse names.
  CHECK(load("cifar100", {{"path", tmp.path.string()}}).train.class_names[0] == "apple");
}

TEST_CASE("CIFAR-100: damaged and missing files") {
  TempDir tmp("cifar");
  write_cifar100(tmp.path, 7, 4);
  const fs::path train = tmp / "train.bin";

  SUBCASE("truncated") {
    fs::resize_file(train, 7 * 3074 - 1000);
    CHECK(load_error("cifar100", tmp.path) ==
          train.string() + ": 20518 bytes is not a whole number of 3074-byte records (truncated?)");
  }
  SUBCASE("a CIFAR-10 file: 3073-byte records") {
    write_bytes(train, record({1}, 0));
    CHECK(contains(load_error("cifar100", tmp.path), ": 3073 bytes is not a whole number of 3074-byte records"));
  }
  SUBCASE("coarse label out of range, even when the fine labels are used") {
    Bytes b = record({19, 99}, 0);
    const Bytes bad = record({20, 3}, 1);
    b.insert(b.end(), bad.begin(), bad.end());
    write_bytes(train, b);
    CHECK(load_error("cifar100", tmp.path) == train.string() + ": coarse label 20 of record 1 is outside 0..19");
    CHECK(load_error("cifar100", tmp.path, {{"label", "coarse"}}) ==
          train.string() + ": coarse label 20 of record 1 is outside 0..19");
  }
  SUBCASE("fine label out of range, even when the coarse labels are used") {
    write_bytes(tmp / "test.bin", record({0, 100}, 0));
    CHECK(load_error("cifar100", tmp.path, {{"label", "coarse"}}) ==
          (tmp / "test.bin").string() + ": fine label 100 of record 0 is outside 0..99");
  }
  SUBCASE("empty") {
    write_bytes(tmp / "test.bin", {});
    CHECK(load_error("cifar100", tmp.path) ==
          (tmp / "test.bin").string() + ": file is empty (expected cifar100 records of 3074 bytes)");
  }
  SUBCASE("missing test.bin") {
    fs::remove(tmp / "test.bin");
    const std::string msg = load_error("cifar100", tmp.path);
    CHECK(msg == "data.path: '" + tmp.path.string() +
                     "' has no test.bin (it holds: train.bin); scripts/fetch_data.sh cifar100 downloads and unpacks "
                     "cifar-100-binary.tar.gz");
  }
  SUBCASE("missing directory") {
    CHECK(load_error("cifar100", tmp / "gone") ==
          "data.path: directory '" + (tmp / "gone").string() +
              "' does not exist; scripts/fetch_data.sh cifar100 downloads and unpacks cifar-100-binary.tar.gz");
  }
}

// ---- augmentation -------------------------------------------------------------------------------

namespace {

// A data set description for augment(): C×H×W samples with the given normalisation.
Dataset image_set(Index C, Index H, Index W, int crop_padding, bool random_flip) {
  Dataset d;
  d.name = "toy/train";
  d.features = C * H * W;
  d.channels = static_cast<int>(C);
  d.shape = {C, H, W};
  d.scale = 1.0f / 255.0f;
  d.mean.clear(), d.stddev.clear();
  for (Index c = 0; c < C; ++c) {
    d.mean.push_back(0.3f + 0.1f * static_cast<float>(c));
    d.stddev.push_back(0.2f + 0.05f * static_cast<float>(c));
  }
  d.crop_padding = crop_padding;
  d.random_flip = random_flip;
  return d;
}

// n rows of distinct positive values (row r, feature j) — never equal to a (negative) pad value.
MatF distinct_batch(Index n, Index features) {
  MatF m(n, features);
  for (Index r = 0; r < n; ++r)
    for (Index j = 0; j < features; ++j) m(r, j) = 1.0f + static_cast<float>(r * features + j) * 0.25f;
  return m;
}

// The long way round: build the (H+2p)×(W+2p) padded image, cut the H×W window at (top, left),
// mirror it if asked.
std::vector<float> reference(const Dataset& d, const float* x, Index top, Index left, bool flip) {
  const Index C = d.shape[0], H = d.shape[1], W = d.shape[2], p = d.crop_padding;
  const Index PH = H + 2 * p, PW = W + 2 * p;
  std::vector<float> padded(static_cast<std::size_t>(C * PH * PW));
  for (Index c = 0; c < C; ++c)
    for (Index h = 0; h < PH; ++h)
      for (Index w = 0; w < PW; ++w) {
        const Index sh = h - p, sw = w - p;
        const bool inside = sh >= 0 && sh < H && sw >= 0 && sw < W;
        padded[static_cast<std::size_t>((c * PH + h) * PW + w)] =
            inside ? x[(c * H + sh) * W + sw] : -d.mean[static_cast<std::size_t>(c)] / d.stddev[static_cast<std::size_t>(c)];
      }
  std::vector<float> out(static_cast<std::size_t>(C * H * W));
  for (Index c = 0; c < C; ++c)
    for (Index h = 0; h < H; ++h)
      for (Index w = 0; w < W; ++w) {
        const Index cw = flip ? W - 1 - w : w;
        out[static_cast<std::size_t>((c * H + h) * W + w)] = padded[static_cast<std::size_t>((c * PH + h + top) * PW + cw + left)];
      }
  return out;
}

std::vector<float> row_of(const MatF& m, Index r) {
  return std::vector<float>(m.data() + r * m.cols(), m.data() + (r + 1) * m.cols());
}

}  // namespace

TEST_CASE("augment: flip mirrors every row of every channel, about half the time, as the Rng decides") {
  const Dataset d = image_set(3, 4, 5, 0, true);
  const MatF original = distinct_batch(200, d.features);
  MatF batch = original;
  Rng rng(42, 7);
  d.augment(batch, rng);

  Rng replay(42, 7);  // documented draw order: one uniform() per row, flip when < 0.5
  int flipped = 0;
  for (Index r = 0; r < batch.rows(); ++r) {
    const bool flip = replay.uniform() < 0.5;
    flipped += flip;
    for (Index c = 0; c < 3; ++c)
      for (Index h = 0; h < 4; ++h)
        for (Index w = 0; w < 5; ++w) {
          const Index at = (c * 4 + h) * 5 + w, mirrored = (c * 4 + h) * 5 + (4 - w);
          REQUIRE(batch(r, at) == original(r, flip ? mirrored : at));
        }
  }
  CHECK(rng.state() == replay.state());  // exactly one draw per row
  CHECK(flipped > 70);
  CHECK(flipped < 130);
  // Flipping is an involution: mirroring a mirrored image with the same draws restores it.
  Rng again(42, 7);
  d.augment(batch, again);
  CHECK(batch == original);
}

TEST_CASE("augment: crop with padding shifts the content and fills with the normalised black pixel") {
  const Index C = 3, H = 6, W = 5;
  const int p = 2;
  const Dataset d = image_set(C, H, W, p, false);
  const MatF original = distinct_batch(1, d.features).replicate(500, 1);
  MatF batch = original;
  Rng rng(3, 1);
  d.augment(batch, rng);

  // The pad value is what gather() makes of a 0 byte in each channel: −mean/std.
  Dataset bytes_set = image_set(C, H, W, 0, false);
  bytes_set.rows = 1;
  bytes_set.bytes.assign(static_cast<std::size_t>(d.features), 0);
  bytes_set.labels = {0};
  MatF black;
  std::vector<std::int32_t> y;
  bytes_set.gather(std::array<Index, 1>{0}, black, y);
  std::array<float, 3> pad{};
  for (Index c = 0; c < C; ++c) {
    pad[static_cast<std::size_t>(c)] = black(0, c * H * W);
    CHECK(pad[static_cast<std::size_t>(c)] == -d.mean[static_cast<std::size_t>(c)] / d.stddev[static_cast<std::size_t>(c)]);
    CHECK(pad[static_cast<std::size_t>(c)] < 0);
  }

  // Each row must be the original shifted by exactly one (dy, dx) ∈ [−p, p]², the one the Rng drew.
  Rng replay(3, 1);
  std::set<std::pair<Index, Index>> seen;
  for (Index r = 0; r < batch.rows(); ++r) {
    const Index dy = static_cast<Index>(replay.below(2 * p + 1)) - p;
    const Index dx = static_cast<Index>(replay.below(2 * p + 1)) - p;
    seen.insert({dy, dx});
    int matches = 0;
    for (Index ty = -p; ty <= p; ++ty)
      for (Index tx = -p; tx <= p; ++tx) {
        bool same = true;
        for (Index c = 0; c < C && same; ++c)
          for (Index h = 0; h < H && same; ++h)
            for (Index w = 0; w < W && same; ++w) {
              const Index sh = h + ty, sw = w + tx;
              const float want = (sh >= 0 && sh < H && sw >= 0 && sw < W) ? original(0, (c * H + sh) * W + sw)
                                                                             : pad[static_cast<std::size_t>(c)];
              same = batch(r, (c * H + h) * W + w) == want;
            }
        if (same) {
          ++matches;
          CHECK(ty == dy);
          CHECK(tx == dx);
        }
      }
    REQUIRE(matches == 1);
  }
  CHECK(seen.size() == 25);  // every offset occurs in 500 draws
  CHECK(rng.state() == replay.state());

  // A shift by (+2, −1) spelled out: top two rows come from rows 2, 3; the last two rows and the
  // first column are padding.
  const Dataset one = image_set(1, 4, 3, 2, false);
  MatF img(1, 12);
  for (Index j = 0; j < 12; ++j) img(0, j) = static_cast<float>(j + 1);
  // Find a seed whose first draws are top = 4 (dy = +2), left = 1 (dx = −1).
  std::uint64_t seed = 0;
  for (;; ++seed) {
    Rng probe(seed);
    if (probe.below(5) == 4 && probe.below(5) == 1) break;
  }
  Rng r1(seed);
  one.augment(img, r1);
  const float f = -one.mean[0] / one.stddev[0];
  const std::vector<float> want = {f, 7, 8,  //  row 0 ← source row 2, columns −1, 0, 1
                                   f, 10, 11,
                                   f, f, f,
                                   f, f, f};
  CHECK(row_of(img, 0) == want);
}

TEST_CASE("augment: crop and flip together equal pad → crop → mirror done the long way") {
  for (const int p : {1, 3, 7}) {  // 7 > H and W: some windows are almost all padding
    CAPTURE(p);
    const Dataset d = image_set(3, 5, 6, p, true);
    const MatF original = distinct_batch(300, d.features);
    MatF batch = original;
    Rng rng(11, static_cast<std::uint64_t>(p));
    d.augment(batch, rng);
    Rng replay(11, static_cast<std::uint64_t>(p));
    int flips = 0, shifted = 0;
    for (Index r = 0; r < batch.rows(); ++r) {
      const auto top = static_cast<Index>(replay.below(static_cast<std::uint64_t>(2 * p + 1)));
      const auto left = static_cast<Index>(replay.below(static_cast<std::uint64_t>(2 * p + 1)));
      const bool flip = replay.uniform() < 0.5;
      flips += flip, shifted += (top != p || left != p);
      REQUIRE(row_of(batch, r) == reference(d, original.data() + r * d.features, top, left, flip));
    }
    CHECK(rng.state() == replay.state());
    CHECK(flips > 100);
    CHECK(shifted > 200);
  }
}

TEST_CASE("augment: deterministic for a given Rng, different for another; off means untouched") {
  const Dataset d = image_set(3, 8, 8, 4, true);
  const MatF original = distinct_batch(64, d.features);
  MatF a = original, b = original, c = original;
  Rng ra(5, 2), rb(5, 2), rc(6, 2);
  d.augment(a, ra);
  d.augment(b, rb);
  d.augment(c, rc);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != original);

  {
    const Dataset off = image_set(3, 8, 8, 0, false);
    CHECK_FALSE(off.augments());
    MatF x = original;
    Rng r(5, 2);
    const Rng::State before = r.state();
    off.augment(x, r);
    CHECK(x == original);
    CHECK(r.state() == before);  // nothing drawn
  }
  // Without augmentation any shape is fine (flat features, MNIST-style 1×28×28, ...).
  Dataset flat = image_set(3, 8, 8, 0, false);
  flat.shape = {192};
  MatF x = original;
  Rng r(1);
  CHECK_NOTHROW(flat.augment(x, r));
  CHECK(x == original);
}

TEST_CASE("augment: a sample shape that is not C×H×W is an error when augmentation is requested") {
  Rng rng(1);
  MatF x = distinct_batch(2, 12);
  Dataset d = image_set(3, 2, 2, 0, true);
  d.shape = {12};
  std::string msg = data_error([&] { d.augment(x, rng); });
  CHECK(msg == "toy/train: augmentation (crop_padding = 0, random_flip = true) needs image samples of shape "
               "{channels, height, width}, but the sample shape is {12}");
  d.shape = {};
  d.crop_padding = 4, d.random_flip = false;
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "(crop_padding = 4, random_flip = false) needs image samples"));
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "the sample shape is {}"));
  d.shape = {1, 3, 2, 2};
  CHECK(contains(data_error([&] { d.augment(x, rng); }), "the sample shape is {1, 3, 2, 2}"));
  d.shape = {3, 2, 3};
  CHECK(data_error([&] { d.augment(x, rng); }) == "toy/train: sample shape {3, 2, 3} does not hold its 12 features");
  d.shape = {3, 2, 2};
  MatF wrong = distinct_batch(2, 10);
  CHECK(contains(data_error([&] { d.augment(wrong, rng); }), "cannot augment a batch of 10 columns"));
  CHECK(x == distinct_batch(2, 12));  // the failed calls changed nothing
}

TEST_CASE("augment on real CIFAR layout: the padded border of a gathered batch is the per-channel black value") {
  TempDir tmp("cifar");
  write_cifar10(tmp.path, 4, 1);
  const DataSplits s = load("cifar10", {{"path", tmp.path.string()}, {"crop_padding", 4}});
  std::vector<Index> idx(20);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<Index>(i);
  MatF x;
  std::vector<std::int32_t> y;
  s.train.gather(idx, x, y);
  const MatF before = x;
  Rng rng(9, 9);
  s.train.augment(x, rng);
  Rng replay(9, 9);
  for (Index r = 0; r < x.rows(); ++r) {
    const auto top = static_cast<Index>(replay.below(9)), left = static_cast<Index>(replay.below(9));
    REQUIRE(row_of(x, r) == reference(s.train, before.data() + r * 3072, top, left, false));
  }
}

// ---- end to end ---------------------------------------------------------------------------------

TEST_CASE("configs/cifar10_mlp.json trains on a tiny CIFAR-10 directory, reproducibly, with augmentation") {
  TempDir data("cifar"), out_a("cifar"), out_b("cifar");
  write_cifar10(data.path, 8, 10);
  auto run = [&](const fs::path& out) {
    RunConfig cfg = load_config(std::string(NNLAB_SOURCE_DIR) + "/configs/cifar10_mlp.json",
                                {"data.path=" + data.path.string(), "output.dir=" + out.string(), "train.epochs=2",
                                 "train.threads=1", "train.batch_size=16"});
    CHECK(cfg.data["crop_padding"] == 4);
    CHECK(cfg.data["random_flip"] == true);
    CHECK(cfg.data["dataset"] == "cifar10");
    const RunData d = load_run_data(cfg);
    CHECK(d.train.augments());
    CHECK_FALSE(d.test.augments());
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

// ---- the real files, when present ---------------------------------------------------------------

TEST_CASE("CIFAR-10 / CIFAR-100 from data/ (only when downloaded with scripts/fetch_data.sh)") {
  const fs::path root = fs::path(NNLAB_SOURCE_DIR) / "data";
  bool any = false;
  for (const auto& [name, folder, mean0] : {std::tuple<const char*, const char*, double>{"cifar10", "cifar-10-batches-bin", 0.4914},
                                            {"cifar100", "cifar-100-binary", 0.5071}}) {
    if (!fs::is_directory(root / folder)) continue;
    any = true;
    const DataSplits s = load(name, {{"path", (root / folder).string()}});
    CHECK(s.train.rows == 50000);
    CHECK(s.test.rows == 10000);
    std::vector<double> mean, sd;
    s.train.channel_stats(mean, sd);
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(mean[c] == doctest::Approx(s.train.mean[c]).epsilon(0.003));
      CHECK(sd[c] == doctest::Approx(s.train.stddev[c]).epsilon(0.01));
    }
    CHECK(s.train.mean[0] == doctest::Approx(mean0));
    std::map<int, int> hist;
    for (auto l : s.train.labels) ++hist[l];
    CHECK(static_cast<int>(hist.size()) == s.train.classes);
  }
  if (!any) MESSAGE("skipped: no CIFAR data under " << root.string() << " (scripts/fetch_data.sh cifar10 cifar100)");
}
