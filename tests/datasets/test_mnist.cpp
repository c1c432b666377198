// The MNIST-family directory loader (mnist, fashion-mnist) on tiny generated sets, files mixed raw
// and gzip: what it reads, and how it names a missing or inconsistent file.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "datasets/idx.hpp"
#include "support/datasets.hpp"
#include "support/files.hpp"
#include "support/idx_files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

constexpr std::uint32_t side = 28;

// Pixel j of image i of a tiny generated set.
std::uint8_t pixel(std::uint32_t i, std::uint32_t j, std::uint32_t salt) {
  return static_cast<std::uint8_t>((i * 31 + j * 7 + salt) % 256);
}

Bytes images(std::uint32_t n, std::uint32_t salt, std::uint32_t h = side, std::uint32_t w = side) {
  Bytes b(static_cast<std::size_t>(n) * h * w);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t j = 0; j < h * w; ++j) b[static_cast<std::size_t>(i) * h * w + j] = pixel(i, j, salt);
  return b;
}

const Bytes train_labels = {3, 1, 4, 1, 5};
const Bytes test_labels = {9, 2, 6};

// 5 training and 3 test images, files mixed raw and gzip.
void write_tiny_mnist(const fs::path& dir) {
  fs::create_directories(dir);
  write_idx(dir / "train-images-idx3-ubyte.gz", {5, side, side}, images(5, 0), true);
  write_idx(dir / "train-labels-idx1-ubyte", {5}, train_labels, false);
  write_idx(dir / "t10k-images-idx3-ubyte", {3, side, side}, images(3, 100), false);
  write_idx(dir / "t10k-labels-idx1-ubyte.gz", {3}, test_labels, true);
}

}  // namespace

TEST_CASE("mnist and fashion-mnist are registered with a path parameter and their defaults") {
  const auto& reg = DatasetRegistry::instance();
  const DatasetEntry* m = reg.find("mnist");
  const DatasetEntry* f = reg.find("fashion-mnist");
  REQUIRE(m);
  REQUIRE(f);
  const Args ma = parse_args(m->params, nlohmann::json::object(), "data");
  const Args fa = parse_args(f->params, nlohmann::json::object(), "data");
  CHECK(ma.text("path") == "data/mnist");
  CHECK(fa.text("path") == "/usr/share/datasets/fashion-mnist");
  CHECK_THROWS_AS(parse_args(m->params, {{"pth", "x"}}, "data"), ConfigError);
}

TEST_CASE("MNIST loader reads a tiny mixed raw/gzip directory") {
  TempDir tmp("datasets");
  write_tiny_mnist(tmp.path);
  const DataSplits s = load("mnist", {{"path", tmp.path.string()}});

  CHECK(s.train.name == "mnist/train");
  CHECK(s.test.name == "mnist/test");
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->features == 784);
    CHECK(d->channels == 1);
    CHECK(d->classes == 10);
    CHECK(d->shape == std::vector<Index>{1, 28, 28});
    CHECK(d->values.empty());
    CHECK(d->scale == doctest::Approx(1.0 / 255));
    REQUIRE(d->class_names.size() == 10);
    CHECK(d->class_names[0] == "0");
    CHECK(d->class_names[9] == "9");
    CHECK(d->mean == std::vector<float>{0.1307f});
    CHECK(d->stddev == std::vector<float>{0.3081f});
  }
  CHECK(s.train.rows == 5);
  CHECK(s.test.rows == 3);
  CHECK(s.train.labels == std::vector<std::int32_t>{3, 1, 4, 1, 5});
  CHECK(s.test.labels == std::vector<std::int32_t>{9, 2, 6});
  CHECK(s.train.bytes == images(5, 0));
  CHECK(s.test.bytes == images(3, 100));

  // gather() normalises (x/255 − mean)/std; pixel (row 14, column 9) of training image 2.
  const std::array<Index, 2> idx = {2, 0};
  MatF x;
  std::vector<std::int32_t> y;
  s.train.gather(idx, x, y);
  REQUIRE(x.rows() == 2);
  REQUIRE(x.cols() == 784);
  CHECK(y == std::vector<std::int32_t>{4, 3});
  const std::uint32_t j = 14 * 28 + 9;
  const double raw = pixel(2, j, 0);
  CHECK(raw == 53);  // (2·31 + 401·7) % 256
  CHECK(x(0, j) == doctest::Approx((raw / 255.0 - 0.1307) / 0.3081).epsilon(1e-5));
  CHECK(x(1, 0) == doctest::Approx((0.0 / 255.0 - 0.1307) / 0.3081).epsilon(1e-5));
}

TEST_CASE("fashion-mnist loader: names, classes and constants") {
  TempDir tmp("datasets");
  write_tiny_mnist(tmp.path);
  const DataSplits s = load("fashion-mnist", {{"path", tmp.path.string()}});
  CHECK(s.train.name == "fashion-mnist/train");
  CHECK(s.test.name == "fashion-mnist/test");
  CHECK(s.train.class_names == std::vector<std::string>{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"});
  CHECK(s.train.mean == std::vector<float>{0.2860f});
  CHECK(s.train.stddev == std::vector<float>{0.3530f});
  CHECK(s.test.labels == std::vector<std::int32_t>{9, 2, 6});
}

TEST_CASE("MNIST loader: raw file preferred over .gz; other image sizes are accepted") {
  TempDir tmp("datasets");
  write_tiny_mnist(tmp.path);
  write_bytes(tmp / "train-labels-idx1-ubyte.gz", {'n', 'o', 't', ' ', 'r', 'e', 'a', 'd'});
  CHECK(load("mnist", {{"path", tmp.path.string()}}).train.labels.size() == 5);

  TempDir small("datasets");
  fs::create_directories(small.path);
  write_idx(small / "train-images-idx3-ubyte", {5, 8, 6}, images(5, 0, 8, 6));
  write_idx(small / "train-labels-idx1-ubyte", {5}, train_labels);
  write_idx(small / "t10k-images-idx3-ubyte", {3, 8, 6}, images(3, 0, 8, 6));
  write_idx(small / "t10k-labels-idx1-ubyte", {3}, test_labels);
  const DataSplits s = load("mnist", {{"path", small.path.string()}});
  CHECK(s.train.features == 48);
  CHECK(s.train.shape == std::vector<Index>{1, 8, 6});

  // ... but train and test must agree.
  write_idx(small / "t10k-images-idx3-ubyte", {3, 6, 8}, images(3, 0, 6, 8));
  const std::string msg = load_error("mnist", small.path);
  CHECK(starts_with(msg, (small / "t10k-images-idx3-ubyte").string() + ": images are 6x8"));
  CHECK(contains(msg, "are 8x6"));
}

TEST_CASE("MNIST loader: missing directory, with the right hint") {
  TempDir tmp("datasets");
  const fs::path nowhere = tmp / "nowhere";
  std::string msg = load_error("fashion-mnist", nowhere);
  CHECK(starts_with(msg, "data.path: directory '" + nowhere.string() + "' does not exist"));
  CHECK(contains(msg, "install the Debian package dataset-fashion-mnist or set data.path"));

  msg = load_error("mnist", nowhere);
  CHECK(starts_with(msg, "data.path: directory '" + nowhere.string() + "' does not exist"));
  CHECK(contains(msg, "scripts/fetch_data.sh downloads it"));

  msg = data_error([&] { load("mnist", {{"path", "surely/not/here"}}); });
  CHECK(contains(msg, "relative to the working directory"));

  write_bytes(tmp / "a-file", {1});
  msg = load_error("mnist", tmp / "a-file");
  CHECK(starts_with(msg, "data.path: '" + (tmp / "a-file").string() + "' is not a directory"));
}

TEST_CASE("MNIST loader: a missing file is named with both accepted spellings") {
  TempDir tmp("datasets");
  write_tiny_mnist(tmp.path);
  fs::remove(tmp / "t10k-labels-idx1-ubyte.gz");
  const std::string msg = load_error("mnist", tmp.path);
  CHECK(starts_with(msg, "data.path: '" + tmp.path.string() + "' has no t10k-labels-idx1-ubyte or " +
                             "t10k-labels-idx1-ubyte.gz"));
  CHECK(contains(msg, "it holds: t10k-images-idx3-ubyte, train-images-idx3-ubyte.gz, train-labels-idx1-ubyte"));

  TempDir empty("datasets");
  CHECK(contains(load_error("mnist", empty.path), "has no train-images-idx3-ubyte or train-images-idx3-ubyte.gz "
                                                  "(the directory is empty)"));
}

TEST_CASE("MNIST loader: inconsistent files") {
  TempDir tmp("datasets");
  write_tiny_mnist(tmp.path);
  const fs::path labels = tmp / "train-labels-idx1-ubyte";
  const fs::path imgs = tmp / "train-images-idx3-ubyte.gz";

  SUBCASE("fewer labels than images") {
    write_idx(labels, {4}, Bytes{3, 1, 4, 1});
    const std::string msg = load_error("mnist", tmp.path);
    CHECK(starts_with(msg, labels.string() + ": 4 labels for the 5 images in " + imgs.string()));
  }
  SUBCASE("label out of range") {
    write_idx(labels, {5}, Bytes{3, 1, 10, 1, 5});
    CHECK(starts_with(load_error("mnist", tmp.path), labels.string() + ": label 10 of sample 2 is outside 0..9"));
  }
  SUBCASE("labels not 1-D") {
    write_idx(labels, {5, 1}, train_labels);
    CHECK(starts_with(load_error("mnist", tmp.path), labels.string() + ": expected 1-D labels (count), found a 2-D "
                                                                       "array 5x1"));
  }
  SUBCASE("images not 3-D") {
    write_idx(imgs, {5, 784}, images(5, 0), true);
    CHECK(starts_with(load_error("mnist", tmp.path),
                      imgs.string() + ": expected 3-D images (count x height x width), found a 2-D array 5x784"));
  }
  SUBCASE("no images") {
    write_idx(imgs, {0, 28, 28}, {}, true);
    CHECK(starts_with(load_error("mnist", tmp.path), imgs.string() + ": holds no images"));
  }
  SUBCASE("truncated image file names the file and the shortfall") {
    write_bytes(imgs, gzip_stored(concat(idx_header(8, {5, 28, 28}), Bytes(100))));
    CHECK(starts_with(load_error("mnist", tmp.path),
                      imgs.string() + ": expected 3920 bytes of image data after the 16-byte header, found 100"));
  }
}
