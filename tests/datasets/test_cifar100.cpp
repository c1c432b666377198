// The CIFAR-100 binary loader on tiny files written here in the exact record format (coarse label,
// fine label, 1024 R + 1024 G + 1024 B), damaged ones included, and its class-name files.
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
#include "support/cifar_files.hpp"
#include "support/datasets.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

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
