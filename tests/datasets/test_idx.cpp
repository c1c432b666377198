// The IDX reader: raw and gzip round trips (against its own writer and an independent gzip
// encoder) and every way a file can be damaged, each named with what is wrong.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

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

std::string read_error(const fs::path& p, const std::string& what = "data") {
  return data_error([&] { read_idx(p, what); });
}

}  // namespace

// ---- round trips -------------------------------------------------------------------------------

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

// ---- damaged and wrong files -------------------------------------------------------------------

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
