// Tiny CIFAR-10 / CIFAR-100 binary files written in the exact record format (label byte(s) +
// 1024 R + 1024 G + 1024 B), with pixel values that tell every channel, row and column apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "support/files.hpp"

namespace nnlab::test {

inline constexpr std::size_t plane = 32 * 32, pixels = 3 * plane;

// Pixel value at (channel c, row h, column w) of image `image` (a global id over all files):
// every channel, row and column contributes differently, so a misplaced byte changes the value.
inline std::uint8_t pixel(std::size_t image, std::size_t c, std::size_t h, std::size_t w) {
  return static_cast<std::uint8_t>((image * 29 + c * 101 + h * 13 + w * 3) % 256);
}

// One record: label bytes, then R, G, B planes, each row-major 32×32.
inline Bytes record(const Bytes& label_bytes, std::size_t image) {
  Bytes r = label_bytes;
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t h = 0; h < 32; ++h)
      for (std::size_t w = 0; w < 32; ++w) r.push_back(pixel(image, c, h, w));
  return r;
}

// CIFAR-10 labels of image i: chosen so every batch file holds several classes.
inline std::uint8_t label10(std::size_t image) { return static_cast<std::uint8_t>((image * 7 + 3) % 10); }

// data_batch_1..5.bin with `per_file` records each (images 0..5·per_file−1 in order), test_batch.bin
// with `test_records` records (images 1000, 1001, ...).
inline void write_cifar10(const fs::path& dir, std::size_t per_file = 5, std::size_t test_records = 5) {
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
inline std::uint8_t fine100(std::size_t image) { return static_cast<std::uint8_t>((image * 11 + 5) % 100); }
inline std::uint8_t coarse100(std::size_t image) { return static_cast<std::uint8_t>(fine100(image) % 20); }

inline void write_cifar100(const fs::path& dir, std::size_t train_records = 7, std::size_t test_records = 4) {
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

inline std::string name_lines(const std::string& prefix, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) s += prefix + std::to_string(k) + "\n";
  return s;
}

// Normalised value gather() must produce for a raw byte in channel c.
inline double normalised(std::uint8_t raw, const std::vector<float>& mean, const std::vector<float>& sd, std::size_t c) {
  return (raw / 255.0 - mean[c]) / sd[c];
}

}  // namespace nnlab::test
