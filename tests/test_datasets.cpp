// Data-set loaders: the IDX reader (raw and gzip, and every way a file can be damaged), the
// MNIST-family directory loader on tiny generated sets, the synthetic sets, and — when the Debian
// package dataset-fashion-mnist is installed — the real Fashion-MNIST files.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numbers>
#include <nlohmann/json.hpp>

#include "core/dataset.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/idx.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"
#include "support/text.hpp"

using namespace nnlab;
using namespace nnlab::test;

namespace {

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// An IDX header: 00 00 type ndims, then big-endian dims.
Bytes idx_header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes h = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<std::uint8_t>(d >> s));
  return h;
}

// An independent gzip encoder (stored, i.e. uncompressed, deflate blocks + CRC-32), so the reader
// is not only tested against our own writer, and so we can gzip deliberately broken IDX contents.
std::uint32_t crc32(const Bytes& b) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::uint8_t x : b) {
    c ^= x;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
Bytes gzip_stored(const Bytes& payload) {
  Bytes g = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};  // magic, deflate, no flags, mtime 0, OS unix
  std::size_t pos = 0;
  do {
    const std::size_t len = std::min<std::size_t>(65535, payload.size() - pos);
    const bool final = pos + len == payload.size();
    g.push_back(final ? 1 : 0);  // BFINAL, BTYPE=00 (stored)
    g.push_back(static_cast<std::uint8_t>(len)), g.push_back(static_cast<std::uint8_t>(len >> 8));
    g.push_back(static_cast<std::uint8_t>(~len)), g.push_back(static_cast<std::uint8_t>(~len >> 8));
    g.insert(g.end(), payload.begin() + static_cast<std::ptrdiff_t>(pos),
             payload.begin() + static_cast<std::ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < payload.size());
  const std::uint32_t crc = crc32(payload), size = static_cast<std::uint32_t>(payload.size());
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<std::uint8_t>(crc >> s));
  for (int s = 0; s < 32; s += 8) g.push_back(static_cast<std::uint8_t>(size >> s));
  return g;
}

Bytes random_bytes(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng.next() >> 56);
  return b;
}

Bytes iota_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return b;
}

// The message of the DataError f() throws ("<no error>" / "<other: ...>" otherwise).
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

std::string read_error(const fs::path& p, const std::string& what = "data") {
  return data_error([&] { read_idx(p, what); });
}

}  // namespace

// ---- IDX: round trips ---------------------------------------------------------------------------

TEST_CASE("IDX round trip, raw and gzip, 1-D to 4-D") {
  TempDir dir("datasets");
  const std::vector<std::vector<std::uint32_t>> shapes = {{7}, {3, 5}, {4, 28, 28}, {2, 3, 4, 5}};
  for (const auto& dims : shapes) {
    std::size_t n = 1;
    for (auto d : dims) n *= d;
    const Bytes data = random_bytes(n, n);
    for (bool gz : {false, true}) {
      CAPTURE(gz);
      CAPTURE(dims.size());
      const fs::path p = dir / "a.idx";
      write_idx(p, dims, data, gz);
      const Bytes file = read_bytes(p);
      if (gz) {
        REQUIRE(file.size() >= 2);
        CHECK((file[0] == 0x1f && file[1] == 0x8b));
      } else {
        CHECK(file.size() == 4 + 4 * dims.size() + n);
        CHECK(Bytes(file.begin(), file.begin() + 4) == Bytes{0, 0, 8, static_cast<std::uint8_t>(dims.size())});
      }
      const IdxArray a = read_idx(p);
      CHECK(a.type == 0x08);
      CHECK(a.dims == dims);
      CHECK(a.data == data);
      CHECK(a.gzipped == gz);
    }
  }
}

TEST_CASE("IDX: gzip is detected by its magic bytes, not by the file name") {
  TempDir dir("datasets");
  const Bytes data = iota_bytes(2 * 3 * 3);
  write_idx(dir / "compressed-but-no-suffix", {2, 3, 3}, data, true);
  write_idx(dir / "raw-but-named.gz", {2, 3, 3}, data, false);
  const IdxArray a = read_idx(dir / "compressed-but-no-suffix");
  const IdxArray b = read_idx(dir / "raw-but-named.gz");
  CHECK(a.gzipped);
  CHECK_FALSE(b.gzipped);
  CHECK(a.data == data);
  CHECK(b.data == data);
}

TEST_CASE("IDX: large files (several read blocks) round trip raw and gzip") {
  TempDir dir("datasets");
  const std::vector<std::uint32_t> dims = {4000, 28, 28};  // 3.1 MB: several 1 MiB input blocks
  const Bytes data = random_bytes(4000 * 28 * 28, 5);
  for (bool gz : {false, true}) {
    write_idx(dir / "big", dims, data, gz);
    const IdxArray a = read_idx(dir / "big");
    CHECK(a.dims == dims);
    CHECK(a.data.size() == data.size());
    CHECK(a.data == data);
    CHECK(a.data.capacity() == data.size());  // no slack left over from growing the buffer
  }
}

TEST_CASE("IDX: a foreign gzip encoder, stored blocks and multi-member gzip files are read") {
  TempDir dir("datasets");
  const Bytes data = random_bytes(3 * 100 * 100, 9);  // 30,000 bytes: one stored block, then more
  const Bytes file = concat(idx_header(8, {3, 100, 100}), data);
  write_bytes(dir / "one.gz", gzip_stored(file));
  CHECK(read_idx(dir / "one.gz").data == data);

  // `cat a.gz b.gz` is a valid gzip file holding the concatenation.
  const Bytes part1(file.begin(), file.begin() + 1000), part2(file.begin() + 1000, file.end());
  write_bytes(dir / "two.gz", concat(gzip_stored(part1), gzip_stored(part2)));
  const IdxArray a = read_idx(dir / "two.gz");
  CHECK(a.dims == std::vector<std::uint32_t>{3, 100, 100});
  CHECK(a.data == data);

  // An empty trailing member is harmless too.
  write_bytes(dir / "three.gz", concat(gzip_stored(file), gzip_stored({})));
  CHECK(read_idx(dir / "three.gz").data == data);
}

TEST_CASE("IDX: a zero item count is an empty array") {
  TempDir dir("datasets");
  write_idx(dir / "empty", {0, 28, 28}, {}, false);
  write_idx(dir / "empty.gz", {0, 28, 28}, {}, true);
  for (const char* name : {"empty", "empty.gz"}) {
    const IdxArray a = read_idx(dir / name);
    CHECK(a.dims == std::vector<std::uint32_t>{0, 28, 28});
    CHECK(a.data.empty());
  }
}

TEST_CASE("write_idx refuses inconsistent arguments") {
  TempDir dir("datasets");
  CHECK(contains(data_error([&] { write_idx(dir / "x", {2, 3}, iota_bytes(5)); }), "need 6 bytes, got 5"));
  CHECK(contains(data_error([&] { write_idx(dir / "x", {}, {}); }), "1 to 4 dimensions"));
  CHECK(contains(data_error([&] { write_idx(dir / "x", {1, 1, 1, 1, 1}, iota_bytes(1)); }), "1 to 4 dimensions"));
  CHECK(contains(data_error([&] { write_idx(dir / "no-such-dir" / "x", {1}, iota_bytes(1)); }), "cannot create"));
}

// ---- IDX: damaged and wrong files ---------------------------------------------------------------

TEST_CASE("IDX: truncated data, raw and gzip, says how much is missing") {
  TempDir dir("datasets");
  const Bytes data = iota_bytes(5 * 28 * 28);  // 3920 bytes after a 16-byte header
  const Bytes full = concat(idx_header(8, {5, 28, 28}), data);
  const Bytes cut(full.begin(), full.begin() + 16 + 1234);
  const std::string expected =
      ": expected 3920 bytes of image data after the 16-byte header, found 1234 (file truncated?)";

  const fs::path raw = dir / "train-images-idx3-ubyte";
  write_bytes(raw, cut);
  std::string msg = read_error(raw, "image data");
  CHECK(starts_with(msg, raw.string() + expected));
  CHECK(contains(msg, "5x28x28"));

  // The same short content, properly gzip-compressed (the download was complete, the file was not).
  const fs::path gz = dir / "train-images-idx3-ubyte.gz";
  write_bytes(gz, gzip_stored(cut));
  msg = read_error(gz, "image data");
  CHECK(starts_with(msg, gz.string() + expected));

  // A .gz file cut in the middle of the compressed stream.
  write_idx(gz, {5, 28, 28}, random_bytes(3920, 1), true);
  fs::resize_file(gz, fs::file_size(gz) / 2);
  msg = read_error(gz, "image data");
  CHECK(starts_with(msg, gz.string() + ": expected 3920 bytes of image data"));
  CHECK(contains(msg, "file truncated?"));
  CHECK(contains(msg, "gzip stream is cut off"));

  // A .gz file missing only its last trailer bytes (all data present, CRC/size trailer cut).
  write_idx(gz, {5, 28, 28}, random_bytes(3920, 1), true);
  fs::resize_file(gz, fs::file_size(gz) - 3);
  msg = read_error(gz, "image data");
  CHECK(starts_with(msg, gz.string() + ":"));
  CHECK(contains(msg, "gzip stream is cut off"));
}

TEST_CASE("IDX: trailing bytes are an error, raw and gzip") {
  TempDir dir("datasets");
  const Bytes full = concat(idx_header(8, {4, 2}), iota_bytes(8));
  const Bytes longer = concat(full, {1, 2, 3});
  write_bytes(dir / "raw", longer);
  std::string msg = read_error(dir / "raw", "label data");
  CHECK(starts_with(msg, (dir / "raw").string() + ": 3 unexpected bytes after the 8 bytes of label data"));
  CHECK(contains(msg, "4x2"));

  write_bytes(dir / "gz", gzip_stored(longer));
  msg = read_error(dir / "gz", "label data");
  CHECK(starts_with(msg, (dir / "gz").string() + ": 3 unexpected bytes after the 8 bytes of label data"));
  CHECK(contains(msg, "after gzip decompression"));

  // Bytes after the end of the gzip stream that are not another gzip member.
  write_bytes(dir / "gz-junk", concat(gzip_stored(full), {'j', 'u', 'n', 'k'}));
  msg = read_error(dir / "gz-junk");
  CHECK(starts_with(msg, (dir / "gz-junk").string() + ":"));
  CHECK(contains(msg, "after the end of the gzip stream"));
}

TEST_CASE("IDX: wrong magic, unsupported and unknown types") {
  TempDir dir("datasets");
  const fs::path p = dir / "f";
  write_bytes(p, {'P', 'K', 3, 4, 0, 0, 0, 0});
  std::string msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": not an IDX file"));
  CHECK(contains(msg, "50 4b 03 04"));
  CHECK(contains(msg, "00 00 <type> <ndims>"));

  write_bytes(p, gzip_stored({'h', 'e', 'l', 'l', 'o'}));
  msg = read_error(p);
  CHECK(contains(msg, "not an IDX file"));
  CHECK(contains(msg, "after gzip decompression"));

  write_bytes(p, concat(idx_header(0x0D, {2}), Bytes(8)));
  msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": IDX element type 0x0d (32-bit float) is not supported"));
  CHECK(contains(msg, "unsigned-byte (0x08)"));

  write_bytes(p, concat(idx_header(0x0B, {2}), Bytes(4)));
  CHECK(contains(read_error(p), "0x0b (16-bit integer) is not supported"));

  write_bytes(p, concat(idx_header(0x42, {2}), Bytes(2)));
  CHECK(starts_with(read_error(p), p.string() + ": unknown IDX element type 0x42"));
}

TEST_CASE("IDX: bad dimensions") {
  TempDir dir("datasets");
  const fs::path p = dir / "f";

  write_bytes(p, {0, 0, 8, 0});
  CHECK(starts_with(read_error(p), p.string() + ": IDX header says 0 dimensions; nnlab reads 1 to 4"));

  write_bytes(p, concat(idx_header(8, {1, 1, 1, 1, 1}), {7}));
  CHECK(starts_with(read_error(p), p.string() + ": IDX header says 5 dimensions; nnlab reads 1 to 4"));

  write_bytes(p, idx_header(8, {5, 0, 28}));
  std::string msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": dimension 2 of 5x0x28 is 0"));

  write_bytes(p, concat(idx_header(8, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}), Bytes(10)));
  msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": IDX dimensions 4294967295x4294967295x4294967295"));
  CHECK(contains(msg, "more than 2^63 bytes"));

  // A header that claims far more than the file holds fails as truncated, without allocating it.
  write_bytes(p, concat(idx_header(8, {0xFFFFFFFFu, 0x7FFFFFFFu}), Bytes(10)));
  msg = read_error(p);
  CHECK(contains(msg, "expected 9223372030412324865 bytes of data"));
  CHECK(contains(msg, "found 10 (file truncated?)"));

  write_bytes(p, {0, 0, 8, 3, 0, 0, 0, 5, 0});
  msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": file ends inside the IDX header"));
  CHECK(contains(msg, "need 16 header bytes, found 9"));

  write_bytes(p, {0, 0});
  CHECK(starts_with(read_error(p), p.string() + ": only 2 bytes"));

  write_bytes(p, {});
  CHECK(starts_with(read_error(p), p.string() + ": file is empty"));
}

TEST_CASE("IDX: corrupt gzip streams") {
  TempDir dir("datasets");
  const fs::path p = dir / "f.gz";

  // A valid gzip header followed by a deflate block of the reserved type 11.
  write_bytes(p, {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  std::string msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": corrupt gzip data"));
  CHECK(contains(msg, "invalid block type"));

  // Intact deflate data but a wrong CRC in the trailer.
  Bytes g = gzip_stored(concat(idx_header(8, {4}), {1, 2, 3, 4}));
  g[g.size() - 8] ^= 0x01;
  write_bytes(p, g);
  msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": corrupt gzip data"));
  CHECK(contains(msg, "incorrect data check"));

  // Bytes flipped in the middle of real compressed data.
  write_idx(p, {50, 28, 28}, random_bytes(50 * 28 * 28, 3), true);
  g = read_bytes(p);
  for (std::size_t i = g.size() / 2; i < g.size() / 2 + 16; ++i) g[i] ^= 0x5a;
  write_bytes(p, g);
  msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ":"));
  CHECK(contains(msg, "corrupt gzip data"));
}

TEST_CASE("IDX: missing file, directory") {
  TempDir dir("datasets");
  const fs::path p = dir / "no-such-file";
  std::string msg = read_error(p);
  CHECK(starts_with(msg, p.string() + ": cannot open"));
  CHECK(contains(msg, "No such file or directory"));
  CHECK(starts_with(read_error(dir.path), dir.path.string() + ": is a directory"));
}

// ---- MNIST directory loader ---------------------------------------------------------------------

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

DataSplits load(const std::string& name, const nlohmann::json& params) {
  const auto& entry = DatasetRegistry::instance().get(name, "dataset", "data.dataset");
  return entry.load(parse_args(entry.params, params, "data"));
}

std::string load_error(const std::string& name, const fs::path& dir) {
  return data_error([&] { load(name, {{"path", dir.string()}}); });
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

// ---- synthetic sets -----------------------------------------------------------------------------

namespace {
std::map<int, int> histogram(const std::vector<std::int32_t>& labels) {
  std::map<int, int> h;
  for (auto l : labels) ++h[l];
  return h;
}
}  // namespace

TEST_CASE("spirals: shapes, balance, interleaving, defaults") {
  const DataSplits s = load("spirals", nlohmann::json::object());
  CHECK(s.train.name == "spirals/train");
  CHECK(s.test.name == "spirals/test");
  CHECK(s.train.rows == 900);  // 3 classes x 300
  CHECK(s.test.rows == 300);   // 3 classes x 100
  for (const Dataset* d : {&s.train, &s.test}) {
    CHECK(d->features == 2);
    CHECK(d->channels == 1);
    CHECK(d->classes == 3);
    CHECK(d->bytes.empty());
    CHECK(d->values.size() == static_cast<std::size_t>(2 * d->rows));
    CHECK(d->scale == 1.0f);
    CHECK(d->mean == std::vector<float>{0.0f});
    CHECK(d->stddev == std::vector<float>{1.0f});
    CHECK_NOTHROW(d->validate());
    for (float v : d->values) CHECK(std::abs(v) <= 1.0f);  // radius <= 1 (noise is on the angle)
  }
  CHECK(histogram(s.train.labels) == std::map<int, int>{{0, 300}, {1, 300}, {2, 300}});
  CHECK(histogram(s.test.labels) == std::map<int, int>{{0, 100}, {1, 100}, {2, 100}});
  CHECK(std::vector<std::int32_t>(s.train.labels.begin(), s.train.labels.begin() + 6) ==
        std::vector<std::int32_t>{0, 1, 2, 0, 1, 2});
}

TEST_CASE("spirals: without noise every point lies on its arm") {
  const int K = 4, n = 50;
  const double turns = 1.5;
  const DataSplits s = load("spirals", {{"classes", K}, {"samples", n}, {"noise", 0.0}, {"turns", turns}});
  REQUIRE(s.train.rows == K * n);
  for (Index row = 0; row < s.train.rows; ++row) {
    const int k = s.train.labels[static_cast<std::size_t>(row)];
    const Index i = row / K;
    CHECK(k == row % K);
    const double x = s.train.values[static_cast<std::size_t>(2 * row)];
    const double y = s.train.values[static_cast<std::size_t>(2 * row + 1)];
    const double r = std::hypot(x, y);
    CHECK(r >= static_cast<double>(i) / n - 1e-6);
    CHECK(r <= static_cast<double>(i + 1) / n + 1e-6);
    // angle ≡ 2π(k/K + turns·r) (mod 2π)
    const double expect = 2 * std::numbers::pi * (static_cast<double>(k) / K + turns * r);
    const double diff = std::remainder(std::atan2(y, x) - expect, 2 * std::numbers::pi);
    CHECK(std::abs(diff) < 1e-3 / std::max(r, 1e-3));
  }
}

TEST_CASE("spirals and xor: deterministic for a seed, different for another, train != test") {
  for (const char* name : {"spirals", "xor"}) {
    CAPTURE(name);
    const DataSplits a = load(name, {{"seed", 7}});
    const DataSplits b = load(name, {{"seed", 7}});
    const DataSplits c = load(name, {{"seed", 8}});
    CHECK(a.train.values == b.train.values);
    CHECK(a.test.values == b.test.values);
    CHECK(a.train.labels == b.train.labels);
    CHECK(a.train.values != c.train.values);
    CHECK(a.test.values != c.test.values);
    // Train and test come from different streams: their first points differ.
    CHECK(std::vector<float>(a.train.values.begin(), a.train.values.begin() + 20) !=
          std::vector<float>(a.test.values.begin(), a.test.values.begin() + 20));
    // Changing the training size leaves the test set unchanged.
    const DataSplits d = load(name, {{"seed", 7}, {"samples", 17}});
    CHECK(d.test.values == a.test.values);
    CHECK(d.train.rows == 17 * a.train.classes);
  }
}

TEST_CASE("spirals and xor: pinned values, so a change in the generator or in Rng is noticed") {
  const DataSplits sp = load("spirals", nlohmann::json::object());
  const DataSplits xo = load("xor", nlohmann::json::object());
  // Tolerance for last-bit differences between platforms' cos/sin/log.
  auto same = [](float v, double pinned) { return std::abs(v - pinned) <= 1e-6 * std::max(1.0, std::abs(pinned)); };
  CHECK(same(sp.train.values[0], 0.00284338277));
  CHECK(same(sp.train.values[1], -0.000346340676));
  CHECK(same(sp.train.values[1000], 0.21834369));
  CHECK(same(sp.test.values[0], 0.00379253319));
  CHECK(same(xo.train.values[0], 0.238261461));
  CHECK(same(xo.train.values[1], 0.159311652));
  CHECK(same(xo.train.values[3], -0.912634194));
  CHECK(same(xo.test.values[0], 0.315202713));
}

TEST_CASE("xor: labels are the XOR of the signs, four balanced quadrants") {
  const DataSplits s = load("xor", {{"samples", 100}, {"test_samples", 40}, {"noise", 0.0}});
  CHECK(s.train.rows == 200);
  CHECK(s.test.rows == 80);
  CHECK(s.train.classes == 2);
  CHECK(s.train.features == 2);
  CHECK(histogram(s.train.labels) == std::map<int, int>{{0, 100}, {1, 100}});
  CHECK(histogram(s.test.labels) == std::map<int, int>{{0, 40}, {1, 40}});
  std::map<std::pair<bool, bool>, int> quadrants;
  for (Index r = 0; r < s.train.rows; ++r) {
    const float x = s.train.values[static_cast<std::size_t>(2 * r)], y = s.train.values[static_cast<std::size_t>(2 * r + 1)];
    CHECK(std::abs(x) <= 1.0f);
    CHECK(std::abs(y) <= 1.0f);
    CHECK(s.train.labels[static_cast<std::size_t>(r)] == ((x > 0) != (y > 0) ? 1 : 0));
    ++quadrants[{x > 0, y > 0}];
  }
  CHECK(quadrants.size() == 4);
  for (const auto& [q, count] : quadrants) CHECK(count == 50);

  // With noise, some points cross the axes (the label stays that of the clean point).
  const DataSplits noisy = load("xor", {{"noise", 0.3}});
  int crossed = 0;
  for (Index r = 0; r < noisy.train.rows; ++r) {
    const float x = noisy.train.values[static_cast<std::size_t>(2 * r)];
    const float y = noisy.train.values[static_cast<std::size_t>(2 * r + 1)];
    crossed += noisy.train.labels[static_cast<std::size_t>(r)] != ((x > 0) != (y > 0) ? 1 : 0);
  }
  CHECK(crossed > 0);
  CHECK(crossed < noisy.train.rows / 4);
}

TEST_CASE("synthetic parameters are range-checked") {
  const auto& spirals = DatasetRegistry::instance().get("spirals", "dataset", "data.dataset");
  CHECK_THROWS_AS(parse_args(spirals.params, {{"classes", 1}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(spirals.params, {{"samples", 0}}, "data"), ConfigError);
  CHECK_THROWS_AS(parse_args(spirals.params, {{"noise", -1}}, "data"), ConfigError);
  const auto& x = DatasetRegistry::instance().get("xor", "dataset", "data.dataset");
  CHECK_THROWS_AS(parse_args(x.params, {{"classes", 2}}, "data"), ConfigError);  // xor has no classes key
}

// ---- the real Fashion-MNIST files (Debian package dataset-fashion-mnist) --------------------------

TEST_CASE("Fashion-MNIST from /usr/share/datasets/fashion-mnist") {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir)) {
    MESSAGE("skipped: " << dir.string() << " is absent (install the Debian package dataset-fashion-mnist)");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const DataSplits s = load("fashion-mnist", nlohmann::json::object());  // the default path
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  MESSAGE("Fashion-MNIST train+test loaded in " << seconds * 1000 << " ms wall, " << cpu * 1000 << " ms CPU");
  CHECK(cpu < 2.0);  // ~0.3 s (zlib inflate of 57 MB); CPU time, so a busy machine does not make it flaky

  CHECK(s.train.rows == 60000);
  CHECK(s.test.rows == 10000);
  CHECK(s.train.features == 784);
  CHECK(s.test.features == 784);
  CHECK(s.train.bytes.size() == 60000u * 784u);
  std::map<int, int> train_hist, test_hist;
  for (int k = 0; k < 10; ++k) train_hist[k] = 6000, test_hist[k] = 1000;
  CHECK(histogram(s.train.labels) == train_hist);
  CHECK(histogram(s.test.labels) == test_hist);
  // The first images of both files are ankle boots; the first training labels are 9 0 0 3 0 2.
  CHECK(std::vector<std::int32_t>(s.train.labels.begin(), s.train.labels.begin() + 6) ==
        std::vector<std::int32_t>{9, 0, 0, 3, 0, 2});
  CHECK(s.test.labels[0] == 9);
  CHECK(s.train.bytes[14 * 28 + 14] == 217);  // centre pixel of the first boot (checked with Python's gzip)

  // The normalisation constants are the training set's pixel statistics.
  std::vector<double> mean, sd;
  s.train.channel_stats(mean, sd);
  CHECK(mean[0] == doctest::Approx(s.train.mean[0]).epsilon(0.002));
  CHECK(sd[0] == doctest::Approx(s.train.stddev[0]).epsilon(0.002));
}
