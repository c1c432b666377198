// IDX files: the array format of MNIST, Fashion-MNIST, EMNIST, KMNIST.
//
//   offset 0   0x00 0x00          two zero bytes
//          2   type               0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
//                                 0x0D float32, 0x0E float64 (nnlab reads 0x08 only)
//          3   ndims              number of dimensions (nnlab accepts 1..4)
//          4   dims[ndims]        big-endian uint32 each
//   4+4·ndims  data               prod(dims) elements, row-major (last index fastest)
//
// e.g. train-images-idx3-ubyte = 00 00 08 03 | 60000 28 28 | 47,040,000 pixel bytes.
//
// read_idx() accepts the raw file or a gzip-compressed one (recognised by its magic bytes 1f 8b, not
// by the file name) and checks everything a damaged or wrong file can get wrong: the magic, the
// element type, ndims, zero or overflowing dimensions, and that the data is EXACTLY prod(dims)
// bytes long: a short file (interrupted download) and trailing bytes are both errors, as are a
// corrupt or cut-off gzip stream. Every message starts with the file's path.
//
// Dimensions: the first one (the item count N) may be 0, an empty list; a 0 in any other
// dimension (an item with no values) is rejected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace nnlab {

inline constexpr std::uint8_t idx_ubyte = 0x08;
inline constexpr int idx_max_dims = 4;

struct IdxArray {
  std::uint8_t type = idx_ubyte;
  std::vector<std::uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<std::uint8_t> data;   // prod(dims) bytes, row-major
  bool gzipped = false;             // the file was gzip-compressed

  std::size_t header_bytes() const { return 4 + 4 * dims.size(); }
  std::string dims_string() const;  // "60000x28x28"
};

// Read an IDX file (raw or gzip). `what` names the payload in messages about its length
// ("image data", "label data"). Throws DataError with a message that starts with the path.
IdxArray read_idx(const std::filesystem::path& path, const std::string& what = "data");

// Write an unsigned-byte IDX file (raw, or gzip-compressed when gzip is true). bytes.size() must
// equal prod(dims). Throws DataError if the arguments are inconsistent or the file cannot be written.
void write_idx(const std::filesystem::path& path, const std::vector<std::uint32_t>& dims,
               std::span<const std::uint8_t> bytes, bool gzip = false);

}  // namespace nnlab
